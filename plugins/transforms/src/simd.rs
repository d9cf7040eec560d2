//! Vectorizable elementary functions and a runtime AVX2 dispatch for elementwise loops
//! (crate-private).
//!
//! `f64::exp`, `ln`, `powf` and `tanh` are calls into the platform's libm, one element at a
//! time, and dominate the saturations' cost. The functions here are branch-free (every special
//! case is a select), use only `+ − × ÷`, bit operations on `u64` and comparisons, and are
//! `#[inline(always)]`. They are written once, generically over [`Real`], which is implemented
//! by `f64` (a loop over a slice that calls them is auto-vectorized by LLVM) and by the lane
//! block [`F`] of [`W`] = 8 values, whose every operation is a short loop over its lanes that
//! LLVM turns into two AVX2 (or four SSE2) instructions side by side: two independent
//! dependency chains per step, which the long `ln`/`exp` chains need to keep the core busy
//! ([`map_blocks`]; 2× faster than the auto-vectorized loop for `pow`). Loops are compiled twice,
//! for the x86-64 baseline (SSE2) and for AVX2, chosen at run time ([`map`], [`map_blocks`]).
//! No fused multiply–add is used (Rust never contracts `a·b + c`) and every lane does the same
//! IEEE operations in the same order, so scalar code, blocks, SSE2 and AVX2 give bit-identical
//! results on every machine.
//!
//! # Algorithms and error bounds (relative, `u = 2⁻⁵³ ≈ 1.11e-16`)
//! The bounds below are the largest differences from the platform's libm (itself within about
//! 1u of the exact value) that the tests allow over a million random inputs per function across
//! the domain. All are far below 1e-14.
//! * [`exp`]: `x = k·ln2 + r`, `|r| ≤ ln2/2` (Cody–Waite with a two-part `ln 2`, exact first
//!   step), `e^r ≈ 1 + r + r²·q(r)` with `q` the degree-9 Chebyshev (near-minimax) fit of
//!   `(e^r − 1 − r)/r²` (truncation < 0.15u; degree 11 in all, two coefficients fewer than the
//!   Taylor polynomial of the same accuracy), `2^k` built from exponent bits in two halves (so
//!   `k = 1024` and subnormal results work). ≤ 2.5u for results in the normal range;
//!   `x > 709.78` gives `+∞`, `x < −745.2` gives `0`, NaN stays NaN. [`exp_neg`] is the same for
//!   `x ≤ 0` with one scaling by `2^{k+64}` and one by `2⁻⁶⁴`.
//! * [`exp_m1`]: same reduction, `e^x − 1 = 2^k·p + (2^k − 1)` with `p = e^r − 1`: exactly `p`
//!   for `|x| ≤ ln2/2` (no cancellation near 0). ≤ 3u.
//! * [`ln`]: musl/fdlibm `log` (`x = 2^k·m`, `m ∈ [√2/2, √2)`, `s = (m−1)/(m+1)`, minimax
//!   polynomial in `s²` of degree 7 with error < 2⁻⁵⁸·⁴⁵), made branch-free. ≤ 2.5u.
//!   `ln 0 = −∞`, `ln x = NaN` for `x < 0`, `ln ∞ = ∞`, subnormals handled.
//! * [`LnRatio`]: `ln(x/K) = (k_x − k_K)·ln2 + (ln m_x − ln m_K)` for a fixed `K` split the same
//!   way once: the exponents cancel exactly, so the absolute error is ≈ (1 + |ln(x/K)|)·u
//!   whatever the size of `K` (`ln x − ln K` would lose `|ln K|·u`, and `ln(x/K)` the rounding
//!   of `x/K`), and no division `x/K` is needed.
//! * [`ln_1p`]: `ln(w) + (t − (w − 1))/w` with `w = 1 + t` (the classic correction: the exact
//!   rounding error of `1 + t` for `|t| ≤ 1`). ≤ 2.5u for `t ≥ 0`.
//! * [`pow`]: `b^e = exp(e·ln b)` for `b ≥ 0`. Its error is that of the composition,
//!   ≤ (2 + 2·|e·ln b|)·u: the exact power of `b` with the exponent perturbed by a few ulps
//!   (the condition number of `b^e` in `e` is `|e·ln b|`). Below 1e-14 while `|e·ln b| ≤ 40`
//!   (results between 4e-18 and 2e17) and below 1.7e-13 everywhere (beyond `|e·ln b| ≈ 745` the
//!   result is 0 or ∞).
//! * [`tanh`]: `tanh|u| = −m/(2 + m)`, `m = e^{−2|u|} − 1` by [`exp_m1`], sign restored
//!   (`|∂ln tanh/∂ln m| ≤ 2`). ≤ 6u.
//! * [`hill`]: `h = x^s/(x^s + K^s) = 1/(1 + e^{−y})`, `y = s·ln(x/K)` by [`LnRatio`], evaluated
//!   as `e = e^{−|y|}` ([`exp_neg`], never overflows), `h = 1/(1 + e)` for `y ≥ 0` and
//!   `e/(1 + e)` for `y < 0`: one `ln`, one `exp` and one division per value (plus the
//!   division inside `ln`'s reduction; three divisions before, with `K/x`).
//!   ≤ (4 + 2|y|)·u from the libm formula `1/(1 + (K/x)^s)`, which is itself the less accurate
//!   of the two near `x = K` (it rounds `K/x` first).

use std::ops::{Add, Div, Mul, Neg, Sub};

/// Lane-wise integer operations on the bit patterns of [`Real`] values (wrapping, logical
/// shifts), for the exponent manipulations of `exp` and `ln`.
pub(crate) trait Int: Copy {
    /// Every lane `v`.
    fn splat(v: u64) -> Self;
    /// `a + b` modulo 2⁶⁴.
    fn add(self, o: Self) -> Self;
    /// `a − b` modulo 2⁶⁴.
    fn sub(self, o: Self) -> Self;
    /// Logical shift right by `n`.
    fn shr(self, n: u32) -> Self;
    /// Shift left by `n`.
    fn shl(self, n: u32) -> Self;
    /// Bitwise and.
    fn and(self, o: Self) -> Self;
    /// Bitwise or.
    fn or(self, o: Self) -> Self;
}

/// A value type the elementary functions are written for: `f64` (one value) or [`F`] (a block
/// of [`W`] values, every operation lane by lane). Comparisons give a mask, [`Real::select`]
/// picks lane by lane.
pub(crate) trait Real:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The bit patterns (`u64` per lane).
    type Bits: Int;
    /// The result of a comparison (`bool` per lane).
    type Mask: Copy;
    /// Every lane `v`.
    fn splat(v: f64) -> Self;
    /// The IEEE-754 bit patterns.
    fn to_bits(self) -> Self::Bits;
    /// The values of the bit patterns `b`.
    fn from_bits(b: Self::Bits) -> Self;
    /// `self < o` (false for NaN).
    fn lt(self, o: Self) -> Self::Mask;
    /// `self ≥ o` (false for NaN).
    fn ge(self, o: Self) -> Self::Mask;
    /// `self == o`.
    fn eq(self, o: Self) -> Self::Mask;
    /// `m ? a : b`, lane by lane.
    fn select(m: Self::Mask, a: Self, b: Self) -> Self;
    /// `|self|`.
    fn abs(self) -> Self;
}

impl Int for u64 {
    #[inline(always)]
    fn splat(v: u64) -> Self {
        v
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self.wrapping_sub(o)
    }
    #[inline(always)]
    fn shr(self, n: u32) -> Self {
        self >> n
    }
    #[inline(always)]
    fn shl(self, n: u32) -> Self {
        self << n
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        self & o
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        self | o
    }
}

impl Real for f64 {
    type Bits = u64;
    type Mask = bool;
    #[inline(always)]
    fn splat(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
    #[inline(always)]
    fn from_bits(b: u64) -> Self {
        f64::from_bits(b)
    }
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        self < o
    }
    #[inline(always)]
    fn ge(self, o: Self) -> bool {
        self >= o
    }
    #[inline(always)]
    fn eq(self, o: Self) -> bool {
        self == o
    }
    #[inline(always)]
    fn select(m: bool, a: Self, b: Self) -> Self {
        if m {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f64::abs(self)
    }
}

/// Lanes of a block [`F`]: eight, i.e. two AVX2 registers (four SSE2 ones) per operation.
/// Measured on the Hill kernel: 4 lanes 3.8 µs, 8 lanes 3.4 µs, 16 lanes 4.0 µs (register
/// spills) per 1,000 values.
pub(crate) const W: usize = 8;

/// A block of [`W`] `f64` lanes; arithmetic is lane by lane (see [`Real`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct F(pub [f64; W]);

/// The bit patterns of an [`F`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct U(pub [u64; W]);

macro_rules! lanewise_op {
    ($tr:ident, $m:ident, $op:tt, $assign:tt) => {
        impl $tr for F {
            type Output = F;
            #[inline(always)]
            fn $m(self, o: F) -> F {
                let mut r = self.0;
                for (a, b) in r.iter_mut().zip(o.0) {
                    *a $assign b;
                }
                F(r)
            }
        }
    };
}
lanewise_op!(Add, add, +, +=);
lanewise_op!(Sub, sub, -, -=);
lanewise_op!(Mul, mul, *, *=);
lanewise_op!(Div, div, /, /=);

impl Neg for F {
    type Output = F;
    #[inline(always)]
    fn neg(self) -> F {
        let mut r = self.0;
        for a in &mut r {
            *a = -*a;
        }
        F(r)
    }
}

macro_rules! lanewise_int {
    ($m:ident, $f:expr) => {
        #[inline(always)]
        fn $m(self, o: U) -> U {
            let mut r = self.0;
            for (a, b) in r.iter_mut().zip(o.0) {
                *a = $f(*a, b);
            }
            U(r)
        }
    };
}

impl Int for U {
    #[inline(always)]
    fn splat(v: u64) -> Self {
        U([v; W])
    }
    lanewise_int!(add, u64::wrapping_add);
    lanewise_int!(sub, u64::wrapping_sub);
    lanewise_int!(and, |a: u64, b: u64| a & b);
    lanewise_int!(or, |a: u64, b: u64| a | b);
    #[inline(always)]
    fn shr(self, n: u32) -> Self {
        let mut r = self.0;
        for a in &mut r {
            *a >>= n;
        }
        U(r)
    }
    #[inline(always)]
    fn shl(self, n: u32) -> Self {
        let mut r = self.0;
        for a in &mut r {
            *a <<= n;
        }
        U(r)
    }
}

macro_rules! lanewise_cmp {
    ($m:ident, $op:tt) => {
        #[inline(always)]
        fn $m(self, o: F) -> [bool; W] {
            let mut r = [false; W];
            for ((m, a), b) in r.iter_mut().zip(self.0).zip(o.0) {
                *m = a $op b;
            }
            r
        }
    };
}

impl Real for F {
    type Bits = U;
    type Mask = [bool; W];
    #[inline(always)]
    fn splat(v: f64) -> Self {
        F([v; W])
    }
    #[inline(always)]
    fn to_bits(self) -> U {
        U(self.0.map(f64::to_bits))
    }
    #[inline(always)]
    fn from_bits(b: U) -> Self {
        F(b.0.map(f64::from_bits))
    }
    lanewise_cmp!(lt, <);
    lanewise_cmp!(ge, >=);
    lanewise_cmp!(eq, ==);
    #[inline(always)]
    fn select(m: [bool; W], a: F, b: F) -> F {
        let mut r = b.0;
        for ((v, m), a) in r.iter_mut().zip(m).zip(a.0) {
            if m {
                *v = a;
            }
        }
        F(r)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        F(self.0.map(f64::abs))
    }
}

/// `1.5·2⁵²`: adding it rounds a float of magnitude < 2⁵¹ to an integer, held in the low bits.
const SHIFT: f64 = 6_755_399_441_055_744.0;
/// High part of `ln 2` (32 significant bits, so `k·LN2_HI` is exact for `|k| < 2²¹`).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// `ln 2 − LN2_HI`.
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// `q(r) = Σ_{i<10} c_i·r^i ≈ (e^r − 1 − r)/r²` on `|r| ≤ ln2/2`: the Chebyshev fit of degree 9
/// (mpmath `chebyfit`, rounded to `f64`); `1 + r + r²·q(r)` is within 0.15u of `e^r`.
const EXP_Q: [f64; 10] = [
    f64::from_bits(0x3fe0_0000_0000_0001), // ≈ 1/2
    f64::from_bits(0x3fc5_5555_5555_5556), // ≈ 1/6
    f64::from_bits(0x3fa5_5555_5555_3d68), // ≈ 1/24
    f64::from_bits(0x3f81_1111_1111_09b5), // ≈ 1/120
    f64::from_bits(0x3f56_c16c_1788_9ef1), // ≈ 1/720
    f64::from_bits(0x3f2a_01a0_1a7c_2efe), // ≈ 1/5040
    f64::from_bits(0x3efa_019b_9149_a41c), // ≈ 1/40320
    f64::from_bits(0x3ec7_1de0_db2f_6b19), // ≈ 1/362880
    f64::from_bits(0x3e92_8917_c89a_43a7), // ≈ 1/3628800
    f64::from_bits(0x3e5a_f389_ecfc_4b9c), // ≈ 1/39916800
];

/// `x = k·ln2 + r` with `|r| ≤ ln2/2`: returns `(e^r − 1, k + bias)`, with `k + bias` as the
/// integer bits of each lane (`|k| ≤ 1077` after the callers' clamps).
#[inline(always)]
fn reduce<T: Real>(x: T, bias: u64) -> (T, T::Bits) {
    let t = x * T::splat(std::f64::consts::LOG2_E) + T::splat(SHIFT);
    let kf = t - T::splat(SHIFT);
    // k as an integer: the low mantissa bits of t
    let k = t
        .to_bits()
        .sub(T::Bits::splat(SHIFT.to_bits().wrapping_sub(bias)));
    let r = (x - kf * T::splat(LN2_HI)) - kf * T::splat(LN2_LO);
    // e^r − 1 = r + r²·q(r) by Estrin's scheme (a shorter dependency chain than Horner's, the
    // same number of operations)
    let c = |i: usize| T::splat(EXP_Q[i]);
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let b0 = (c(0) + c(1) * r) + (c(2) + c(3) * r) * r2;
    let b1 = (c(4) + c(5) * r) + (c(6) + c(7) * r) * r2;
    let b2 = c(8) + c(9) * r;
    let q = (b0 + b1 * r4) + b2 * r8;
    (r + r2 * q, k)
}

/// `(2^k1, 2^k2)` with `k1 = ⌊k/2⌋`, `k2 = k − k1`, each in [−539, 512] for the `k` of
/// `x ∈ [−746, 710]`: both normal, so `k = 1024` and subnormal results work. `kb = k + 2048`.
#[inline(always)]
fn two_pow_halves<T: Real>(kb: T::Bits) -> (T, T) {
    // logical shifts only: SSE2/AVX2 have no 64-bit arithmetic shift
    let k1b = kb.shr(1); // k1 + 1024
    let k2b = kb.sub(k1b); // k2 + 1024
    let s1 = T::from_bits(k1b.sub(T::Bits::splat(1)).shl(52));
    let s2 = T::from_bits(k2b.sub(T::Bits::splat(1)).shl(52));
    (s1, s2)
}

/// Clamps `x` to `[−746, 710]` (beyond which `e^x` is 0 or ∞ anyway) and keeps NaN.
#[inline(always)]
fn clamp_exp_arg<T: Real>(x: T) -> T {
    let x = T::select(x.lt(T::splat(-746.0)), T::splat(-746.0), x);
    T::select(T::splat(710.0).lt(x), T::splat(710.0), x)
}

/// `e^x`, vectorizable; within 2.5·2⁻⁵³ relative (see the module docs).
#[inline(always)]
pub(crate) fn exp<T: Real>(x: T) -> T {
    let (p, kb) = reduce(clamp_exp_arg(x), 2048);
    let (s1, s2) = two_pow_halves::<T>(kb);
    ((T::splat(1.0) + p) * s1) * s2
}

/// `e^x` for `x ≤ 600` (and NaN), vectorizable; the same values as [`exp`] with a cheaper
/// scaling: `(1 + p)·2^{k+64}` is exact and normal (`k ≤ 866`), one multiplication by `2⁻⁶⁴`
/// rounds subnormal results once. Larger `x` give wrong values: callers bound their arguments
/// (or use [`exp_capped`]).
#[inline(always)]
pub(crate) fn exp_neg<T: Real>(x: T) -> T {
    let x = T::select(x.lt(T::splat(-746.0)), T::splat(-746.0), x);
    let (p, kb) = reduce(x, 1023 + 64);
    let s = T::from_bits(kb.shl(52));
    ((T::splat(1.0) + p) * s) * T::splat(f64::from_bits((1023 - 64) << 52))
}

/// `e^{min(x, 600)}`, vectorizable: [`exp_neg`] after one clamp, for arguments whose
/// exponential beyond `e^600` means the same as `∞` to the caller (it only ever feeds
/// `e^{−z}`, say); the same values as [`exp`] up to 600.
#[inline(always)]
pub(crate) fn exp_capped<T: Real>(x: T) -> T {
    exp_neg(T::select(T::splat(600.0).lt(x), T::splat(600.0), x))
}

/// `e^x − 1`, vectorizable and accurate near 0; within 3·2⁻⁵³ relative (see the module docs).
#[inline(always)]
pub(crate) fn exp_m1<T: Real>(x: T) -> T {
    let x = clamp_exp_arg(x);
    let (p, kb) = reduce(x, 2048);
    let (s1, s2) = two_pow_halves::<T>(kb);
    let s = s1 * s2; // 2^k, exact for x ≤ 709 (k ≤ 1023)
    let y = s * p + (s - T::splat(1.0));
    // beyond 2^60, e^x − 1 rounds to e^x (and 2^k alone may overflow before the product)
    T::select(T::splat(42.0).lt(x), ((T::splat(1.0) + p) * s1) * s2, y)
}

/// musl's `log` coefficients `Lg1 … Lg7`.
const LG: [f64; 7] = [
    f64::from_bits(0x3fe5_5555_5555_5593),
    f64::from_bits(0x3fd9_9999_9997_fa04),
    f64::from_bits(0x3fd2_4924_9422_9359),
    f64::from_bits(0x3fcc_71c5_1d8e_78af),
    f64::from_bits(0x3fc7_4664_96cb_03de),
    f64::from_bits(0x3fc3_9a09_d078_c69f),
    f64::from_bits(0x3fc2_f112_df3e_5244),
];

/// The parts of musl's `log` for `x > 0` (subnormals included): `x = 2^k·m` with
/// `m ∈ [√2/2, √2)`, `f = m − 1`, and `ln m = f − hfsq + t` with `hfsq = f²/2`,
/// `t = s·(hfsq + R(s²))`, `s = f/(2 + f)`. Returns `(k, f, hfsq, t)`; `x ≤ 0`, `∞` and NaN
/// give finite garbage (the callers select).
#[inline(always)]
fn ln_parts<T: Real>(x: T) -> (T, T, T, T) {
    // subnormal (and ≤ 0): scale by 2^54
    let tiny = x.lt(T::splat(f64::MIN_POSITIVE));
    let xs = T::select(tiny, x * T::splat(18_014_398_509_481_984.0), x);
    let bias = T::select(tiny, T::splat(54.0 + 1023.0), T::splat(1023.0));
    let u = xs.to_bits();
    // reduce into m ∈ [√2/2, √2): move the mantissa's top part so that the exponent field
    // counts from √2/2
    let hx = u.shr(32).add(T::Bits::splat(0x3ff0_0000 - 0x3fe6_a09e));
    let e = hx.shr(20); // biased exponent of x, plus one when its mantissa is ≥ √2
    let hm = hx
        .and(T::Bits::splat(0x000f_ffff))
        .add(T::Bits::splat(0x3fe6_a09e));
    let m = T::from_bits(hm.shl(32).or(u.and(T::Bits::splat(0xffff_ffff))));
    // e as a float without an int → float conversion (none exists for 64-bit lanes in AVX2)
    let k = (T::from_bits(T::Bits::splat(SHIFT.to_bits()).add(e)) - T::splat(SHIFT)) - bias;
    let f = m - T::splat(1.0);
    let hfsq = T::splat(0.5) * f * f;
    let s = f / (T::splat(2.0) + f);
    let z = s * s;
    let w = z * z;
    let l = |i: usize| T::splat(LG[i]);
    let t1 = w * (l(1) + w * (l(3) + w * l(5)));
    let t2 = z * (l(0) + w * (l(2) + w * (l(4) + w * l(6))));
    (k, f, hfsq, s * (hfsq + (t2 + t1)))
}

/// Natural logarithm, vectorizable; within 2.5·2⁻⁵³ relative (see the module docs).
#[inline(always)]
pub(crate) fn ln<T: Real>(x: T) -> T {
    let y = ln_pos(x);
    let y = T::select(x.eq(T::splat(0.0)), T::splat(f64::NEG_INFINITY), y);
    // x < 0 or NaN (one comparison)
    T::select(x.ge(T::splat(0.0)), y, T::splat(f64::NAN))
}

/// `ln x` for `x > 0` and `x = ∞` (as [`ln`]); `x ≤ 0` and NaN give garbage (for callers that
/// select those away: one comparison and select instead of three).
#[inline(always)]
pub(crate) fn ln_pos<T: Real>(x: T) -> T {
    let (k, f, hfsq, t) = ln_parts(x);
    let y = t + k * T::splat(LN2_LO) - hfsq + f + k * T::splat(LN2_HI);
    let inf = T::splat(f64::INFINITY);
    T::select(x.eq(inf), inf, y)
}

/// `ln(x/K)` for a fixed `K > 0` without dividing (see the module docs):
/// `ln(x/K) = (k_x − k_K)·ln 2 + (ln m_x − ln m_K)`, absolute error ≈ (1 + |ln(x/K)|)·2⁻⁵³.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LnRatio {
    /// The exponent `k_K` of `K = 2^{k_K}·m_K`, `m_K ∈ [√2/2, √2)`.
    k: f64,
    /// `ln m_K` (|·| ≤ ln2/2).
    c: f64,
}

impl LnRatio {
    /// The split of `K` (`K > 0` finite; `K = 0` gives finite garbage: callers special-case it).
    pub(crate) fn new(big_k: f64) -> Self {
        let (k, f, hfsq, t) = ln_parts(big_k);
        LnRatio {
            k,
            c: (t - hfsq) + f,
        }
    }

    /// `ln(x/K)` for `x > 0`; `x = ∞` gives `∞`; `x ≤ 0` and NaN give garbage (callers select).
    #[inline(always)]
    pub(crate) fn eval<T: Real>(self, x: T) -> T {
        let (k, f, hfsq, t) = ln_parts(x);
        let k = k - T::splat(self.k); // exact
        let y = (((t + k * T::splat(LN2_LO)) - T::splat(self.c)) - hfsq) + f + k * T::splat(LN2_HI);
        let inf = T::splat(f64::INFINITY);
        T::select(x.eq(inf), inf, y)
    }
}

/// `ln(1 + t)` for `t ≥ 0`, vectorizable and accurate near 0; within 2.5·2⁻⁵³ relative.
#[inline(always)]
pub(crate) fn ln_1p<T: Real>(t: T) -> T {
    let w = T::splat(1.0) + t;
    // w − 1 is exact and t − (w − 1) is the rounding error of 1 + t when |t| ≤ 1; above, the
    // correction is below the rounding of ln w ≥ ln 2 anyway
    let c = (t - (w - T::splat(1.0))) / w;
    let y = ln(w) + c;
    T::select(t.eq(T::splat(f64::INFINITY)), t, y)
}

/// `b^e` for `b ≥ 0` and `e ≠ 0` as `exp(e·ln b)`, vectorizable; within (2 + 2|e·ln b|)·2⁻⁵³
/// (see the module docs). `0^e = 0` and `∞^e = ∞` for `e > 0`. The kernels inline this
/// formula with their own handling of zeros; this function carries its accuracy test.
#[cfg(test)]
#[inline(always)]
pub(crate) fn pow<T: Real>(b: T, e: f64) -> T {
    exp(T::splat(e) * ln(b))
}

/// `tanh u`, vectorizable and accurate near 0; within 6·2⁻⁵³ relative (see the module docs).
#[inline(always)]
pub(crate) fn tanh(u: f64) -> f64 {
    let m = exp_m1(-2.0 * u.abs());
    (-m / (2.0 + m)).copysign(u)
}

/// The Hill curve `h = x^s/(x^s + K^s) = 1/(1 + (K/x)^s)` for `K > 0`, with its parts:
/// `y = s·ln(x/K)` ([`LnRatio`]), `e = e^{−|y|}` and `1 − h` (see the module docs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct HillParts<T> {
    /// `ln(x/K)`.
    pub(crate) ln_ratio: T,
    /// `e^{−|s·ln(x/K)|}`, in [0, 1].
    pub(crate) e: T,
    /// `h = (y ≥ 0 ? 1 : e)/(1 + e)`.
    pub(crate) h: T,
}

/// [`HillParts`] of `x > 0` (`x = ∞` gives `h = 1`, `x = 0` and `x < 0` garbage: the callers
/// select) for the split `lr` of `K` and the shape `s > 0`.
#[inline(always)]
pub(crate) fn hill<T: Real>(x: T, lr: LnRatio, s: f64) -> HillParts<T> {
    let l = lr.eval(x);
    let y = T::splat(s) * l;
    let e = exp_neg(-y.abs());
    let num = T::select(y.lt(T::splat(0.0)), e, T::splat(1.0));
    HillParts {
        ln_ratio: l,
        e,
        h: num / (T::splat(1.0) + e),
    }
}

/// A function of one `f64` to map over a slice; implementors mark `eval` `#[inline(always)]`
/// so that [`map`] can compile it into its AVX2 loop.
pub(crate) trait Kernel: Copy {
    /// The value at `x`.
    fn eval(self, x: f64) -> f64;
}

/// `out_i = f(x_i)` for `i < min(len)`, vectorized with AVX2 when the CPU has it (SSE2
/// otherwise); identical results either way.
pub(crate) fn map<K: Kernel>(f: K, x: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `map_avx2` is only compiled for AVX2, which the CPU was just found to have.
            unsafe { map_avx2(f, x, out) };
            return;
        }
    }
    map_kernel(f, x, out);
}

/// [`map_kernel`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map_avx2<K: Kernel>(f: K, x: &[f64], out: &mut [f64]) {
    map_kernel(f, x, out)
}

#[inline(always)]
fn map_kernel<K: Kernel>(f: K, x: &[f64], out: &mut [f64]) {
    for (o, &xi) in out.iter_mut().zip(x) {
        *o = f.eval(xi);
    }
}

/// A function of two `f64` (a value and a tangent, typically) to map over two slices; see
/// [`Kernel`].
pub(crate) trait Kernel2: Copy {
    /// The value at `(x, d)`.
    fn eval(self, x: f64, d: f64) -> f64;
}

/// `out_i = f(x_i, d_i)` for `i < min(len)`, vectorized with AVX2 when the CPU has it (SSE2
/// otherwise); identical results either way.
pub(crate) fn map2<K: Kernel2>(f: K, x: &[f64], d: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `map2_avx2` is only compiled for AVX2, which the CPU was just found to have.
            unsafe { map2_avx2(f, x, d, out) };
            return;
        }
    }
    map2_kernel(f, x, d, out);
}

/// [`map2_kernel`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map2_avx2<K: Kernel2>(f: K, x: &[f64], d: &[f64], out: &mut [f64]) {
    map2_kernel(f, x, d, out)
}

#[inline(always)]
fn map2_kernel<K: Kernel2>(f: K, x: &[f64], d: &[f64], out: &mut [f64]) {
    for ((o, &xi), &di) in out.iter_mut().zip(x).zip(d) {
        *o = f.eval(xi, di);
    }
}

/// Loads `W` values into a block.
#[inline(always)]
fn load(s: &[f64]) -> F {
    let mut a = [0.0; W];
    a.copy_from_slice(s);
    F(a)
}

/// The last, partial block of `s` (`s.len() < W`), padded with ones.
#[inline(always)]
fn load_tail(s: &[f64]) -> F {
    let mut a = [1.0; W];
    a[..s.len()].copy_from_slice(s);
    F(a)
}

// The drivers below compute `out_i = f(x_i, …)` for `i < n` (the shortest slice), `W` values at
// a time as `F` blocks; the last, partial block is padded with ones and only its valid lanes
// are written, so every value goes through the same operations wherever it falls. They are
// written with `chunks_exact` so that LLVM also vectorizes *across* blocks (each lane of a
// block becomes a vector of that lane over four blocks: eight independent dependency chains
// instead of two, measured 2× faster for `pow` on this Zen 3; an indexed loop over the same
// blocks was not vectorized so and ran at the speed of the plain loop). The bits are the same
// either way: every lane does the same IEEE operations.

/// One input, one output.
#[inline(always)]
fn drive1(x: &[f64], out: &mut [f64], f: impl Fn(F) -> F) {
    let n = x.len().min(out.len());
    let m = n - n % W;
    let (xs, xt) = x[..n].split_at(m);
    let (os, ot) = out[..n].split_at_mut(m);
    for (xc, oc) in xs.chunks_exact(W).zip(os.chunks_exact_mut(W)) {
        oc.copy_from_slice(&f(load(xc)).0);
    }
    if !xt.is_empty() {
        ot.copy_from_slice(&f(load_tail(xt)).0[..xt.len()]);
    }
}

/// Two inputs, one output.
#[inline(always)]
fn drive2(x: &[f64], d: &[f64], out: &mut [f64], f: impl Fn(F, F) -> F) {
    let n = x.len().min(d.len()).min(out.len());
    let m = n - n % W;
    let (xs, xt) = x[..n].split_at(m);
    let (ds, dt) = d[..n].split_at(m);
    let (os, ot) = out[..n].split_at_mut(m);
    for ((xc, dc), oc) in xs
        .chunks_exact(W)
        .zip(ds.chunks_exact(W))
        .zip(os.chunks_exact_mut(W))
    {
        oc.copy_from_slice(&f(load(xc), load(dc)).0);
    }
    if !xt.is_empty() {
        ot.copy_from_slice(&f(load_tail(xt), load_tail(dt)).0[..xt.len()]);
    }
}

/// One input, two outputs.
#[inline(always)]
fn drive_pair(x: &[f64], a: &mut [f64], b: &mut [f64], f: impl Fn(F) -> (F, F)) {
    let n = x.len().min(a.len()).min(b.len());
    let m = n - n % W;
    let (xs, xt) = x[..n].split_at(m);
    let (as_, at) = a[..n].split_at_mut(m);
    let (bs, bt) = b[..n].split_at_mut(m);
    for ((xc, ac), bc) in xs
        .chunks_exact(W)
        .zip(as_.chunks_exact_mut(W))
        .zip(bs.chunks_exact_mut(W))
    {
        let (p, q) = f(load(xc));
        ac.copy_from_slice(&p.0);
        bc.copy_from_slice(&q.0);
    }
    if !xt.is_empty() {
        let (p, q) = f(load_tail(xt));
        at.copy_from_slice(&p.0[..xt.len()]);
        bt.copy_from_slice(&q.0[..xt.len()]);
    }
}

/// A function of one value written for any [`Real`], so that [`map_blocks`] evaluates it on
/// blocks of [`W`] lanes; implementors mark `eval` `#[inline(always)]`.
pub(crate) trait BlockKernel: Copy {
    /// The value at `x`.
    fn eval<T: Real>(self, x: T) -> T;
}

/// `out_i = f(x_i)` for `i < min(len)`, [`W`] lanes at a time (AVX2 when the CPU has it);
/// the same bits as `f.eval::<f64>` on each value.
pub(crate) fn map_blocks<K: BlockKernel>(f: K, x: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `map_blocks_avx2` is only compiled for AVX2, which the CPU was just found
            // to have.
            unsafe { map_blocks_avx2(f, x, out) };
            return;
        }
    }
    drive1(
        x,
        out,
        #[inline(always)]
        |v| f.eval(v),
    );
}

/// [`map_blocks`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map_blocks_avx2<K: BlockKernel>(f: K, x: &[f64], out: &mut [f64]) {
    drive1(
        x,
        out,
        #[inline(always)]
        |v| f.eval(v),
    );
}

/// A function of two values (a value and a tangent, typically); see [`BlockKernel`].
pub(crate) trait BlockKernel2: Copy {
    /// The value at `(x, d)`.
    fn eval<T: Real>(self, x: T, d: T) -> T;
}

/// `out_i = f(x_i, d_i)` for `i < min(len)`, [`W`] lanes at a time; see [`map_blocks`].
pub(crate) fn map2_blocks<K: BlockKernel2>(f: K, x: &[f64], d: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `map2_blocks_avx2` is only compiled for AVX2, which the CPU was just
            // found to have.
            unsafe { map2_blocks_avx2(f, x, d, out) };
            return;
        }
    }
    drive2(
        x,
        d,
        out,
        #[inline(always)]
        |v, w| f.eval(v, w),
    );
}

/// [`map2_blocks`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map2_blocks_avx2<K: BlockKernel2>(f: K, x: &[f64], d: &[f64], out: &mut [f64]) {
    drive2(
        x,
        d,
        out,
        #[inline(always)]
        |v, w| f.eval(v, w),
    );
}

/// A function of one value with two results (two parameter derivatives, typically); see
/// [`BlockKernel`].
pub(crate) trait BlockKernelPair: Copy {
    /// The two values at `x`.
    fn eval<T: Real>(self, x: T) -> (T, T);
}

/// `(a_i, b_i) = f(x_i)` for `i < min(len)`, [`W`] lanes at a time; see [`map_blocks`].
pub(crate) fn map_blocks_pair<K: BlockKernelPair>(f: K, x: &[f64], a: &mut [f64], b: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `map_blocks_pair_avx2` is only compiled for AVX2, which the CPU was just
            // found to have.
            unsafe { map_blocks_pair_avx2(f, x, a, b) };
            return;
        }
    }
    drive_pair(
        x,
        a,
        b,
        #[inline(always)]
        |v| f.eval(v),
    );
}

/// [`map_blocks_pair`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map_blocks_pair_avx2<K: BlockKernelPair>(f: K, x: &[f64], a: &mut [f64], b: &mut [f64]) {
    drive_pair(
        x,
        a,
        b,
        #[inline(always)]
        |v| f.eval(v),
    );
}

/// A function of one value with four results (a curve, its input derivative and two parameter
/// derivatives, typically); see [`BlockKernel`].
pub(crate) trait BlockKernelQuad: Copy {
    /// The four values at `x`.
    fn eval<T: Real>(self, x: T) -> [T; 4];
}

/// One input, four outputs.
#[inline(always)]
fn drive_quad(x: &[f64], out: [&mut [f64]; 4], f: impl Fn(F) -> [F; 4]) {
    let n = out.iter().fold(x.len(), |n, o| n.min(o.len()));
    let m = n - n % W;
    let [o0, o1, o2, o3] = out;
    let (xs, xt) = x[..n].split_at(m);
    let (a, at) = o0[..n].split_at_mut(m);
    let (b, bt) = o1[..n].split_at_mut(m);
    let (c, ct) = o2[..n].split_at_mut(m);
    let (d, dt) = o3[..n].split_at_mut(m);
    for ((((xc, ac), bc), cc), dc) in xs
        .chunks_exact(W)
        .zip(a.chunks_exact_mut(W))
        .zip(b.chunks_exact_mut(W))
        .zip(c.chunks_exact_mut(W))
        .zip(d.chunks_exact_mut(W))
    {
        let [p, q, r, s] = f(load(xc));
        ac.copy_from_slice(&p.0);
        bc.copy_from_slice(&q.0);
        cc.copy_from_slice(&r.0);
        dc.copy_from_slice(&s.0);
    }
    if !xt.is_empty() {
        let k = xt.len();
        let [p, q, r, s] = f(load_tail(xt));
        at.copy_from_slice(&p.0[..k]);
        bt.copy_from_slice(&q.0[..k]);
        ct.copy_from_slice(&r.0[..k]);
        dt.copy_from_slice(&s.0[..k]);
    }
}

/// `[a_i, b_i, c_i, d_i] = f(x_i)` for `i < min(len)`, [`W`] lanes at a time; see
/// [`map_blocks`]. Each lane gets the same bits as `f.eval::<f64>`.
pub(crate) fn map_blocks_quad<K: BlockKernelQuad>(f: K, x: &[f64], out: [&mut [f64]; 4]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `map_blocks_quad_avx2` is only compiled for AVX2, which the CPU was just
            // found to have.
            unsafe { map_blocks_quad_avx2(f, x, out) };
            return;
        }
    }
    drive_quad(
        x,
        out,
        #[inline(always)]
        |v| f.eval(v),
    );
}

/// [`map_blocks_quad`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map_blocks_quad_avx2<K: BlockKernelQuad>(f: K, x: &[f64], out: [&mut [f64]; 4]) {
    drive_quad(
        x,
        out,
        #[inline(always)]
        |v| f.eval(v),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const U: f64 = f64::EPSILON / 2.0;

    /// Largest `|a − b| / |b|` in units of `u` over `xs` (exact matches of 0 and ∞ count as 0).
    fn max_rel_err(xs: &[f64], f: impl Fn(f64) -> f64, reference: impl Fn(f64) -> f64) -> f64 {
        let mut worst = 0.0f64;
        for &x in xs {
            let (a, b) = (f(x), reference(x));
            if a == b || (a.is_nan() && b.is_nan()) {
                continue;
            }
            let e = ((a - b) / b).abs() / U;
            assert!(e.is_finite(), "x = {x:e}: {a:e} vs {b:e}");
            worst = worst.max(e);
        }
        worst
    }

    /// `n` values uniform in `[lo, hi]`.
    fn uniform(n: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(lo..=hi)).collect()
    }

    /// `n` positive values log-uniform in `[2^lo, 2^hi]`.
    fn log_uniform(n: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
        uniform(n, lo, hi, seed)
            .into_iter()
            .map(f64::exp2)
            .collect()
    }

    const N: usize = 1_000_000;

    #[test]
    fn exp_close_to_libm() {
        let xs = uniform(N, -708.0, 709.7, 1);
        assert!(max_rel_err(&xs, exp, f64::exp) <= 2.5);
        let small = uniform(N, -1.0, 1.0, 2);
        assert!(max_rel_err(&small, exp, f64::exp) <= 2.5);
    }

    #[test]
    fn exp_edges() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(-746.0), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        // overflow threshold, subnormal results (absolute error below the smallest normal)
        assert!((exp(709.78) / f64::exp(709.78) - 1.0).abs() < 4.0 * U);
        for x in [-710.0, -720.0, -740.0, -745.0] {
            assert!((exp(x) - f64::exp(x)).abs() <= 2.0 * 4.9e-324, "{x}");
        }
    }

    #[test]
    fn exp_m1_close_to_libm() {
        let xs = uniform(N, -40.0, 40.0, 3);
        assert!(max_rel_err(&xs, exp_m1, f64::exp_m1) <= 3.0);
        let tiny: Vec<f64> = log_uniform(N, -60.0, 0.0, 4)
            .into_iter()
            .enumerate()
            .map(|(i, v)| if i % 2 == 0 { v } else { -v })
            .collect();
        assert!(max_rel_err(&tiny, exp_m1, f64::exp_m1) <= 3.0);
        assert_eq!(exp_m1(0.0), 0.0);
        assert_eq!(exp_m1(-800.0), -1.0);
        assert_eq!(exp_m1(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn ln_close_to_libm() {
        let xs = log_uniform(N, -1074.0, 1023.9, 5);
        assert!(max_rel_err(&xs, ln, f64::ln) <= 2.5);
        let near_one = uniform(N, 0.5, 2.0, 6);
        assert!(max_rel_err(&near_one, ln, f64::ln) <= 2.5);
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        assert!(ln(-1.0).is_nan() && ln(f64::NAN).is_nan());
        assert_eq!(ln(f64::MAX), f64::MAX.ln());
        assert_eq!(ln(4.9e-324), f64::ln(4.9e-324));
    }

    #[test]
    fn ln_1p_close_to_libm() {
        let xs = log_uniform(N, -80.0, 80.0, 7);
        assert!(max_rel_err(&xs, ln_1p, f64::ln_1p) <= 2.5);
        assert_eq!(ln_1p(0.0), 0.0);
        assert_eq!(ln_1p(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn pow_within_its_bound_of_libm() {
        // the bound (2 + 2|e·ln b|)·u, checked pointwise, and 1e-14 where |e·ln b| ≤ 40
        let b = log_uniform(N, -60.0, 60.0, 8);
        let e = uniform(N, 0.05, 6.0, 9);
        for (&b, &e) in b.iter().zip(&e) {
            let (a, r) = (pow(b, e), b.powf(e));
            let y = (e * b.ln()).abs();
            let err = ((a - r) / r).abs();
            assert!(err <= (2.0 + 2.0 * y) * U, "{b:e}^{e}: {a:e} vs {r:e}");
            if y <= 40.0 {
                assert!(err < 1e-14);
            }
        }
        assert_eq!(pow(0.0, 0.7), 0.0);
        assert_eq!(pow(f64::INFINITY, 0.7), f64::INFINITY);
        assert_eq!(pow(1.0, 3.3), 1.0);
    }

    #[test]
    fn tanh_close_to_libm() {
        let xs = uniform(N, -25.0, 25.0, 10);
        assert!(max_rel_err(&xs, tanh, f64::tanh) <= 6.0);
        let tiny = log_uniform(N, -60.0, 1.0, 11);
        assert!(max_rel_err(&tiny, tanh, f64::tanh) <= 6.0);
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(800.0), 1.0);
        assert_eq!(tanh(-800.0), -1.0);
        assert_eq!(tanh(f64::INFINITY), 1.0);
    }

    #[derive(Clone, Copy)]
    struct Square;
    impl Kernel for Square {
        #[inline(always)]
        fn eval(self, x: f64) -> f64 {
            x * x
        }
    }

    #[test]
    fn map_applies_the_kernel_elementwise() {
        let x: Vec<f64> = (0..37).map(f64::from).collect();
        let mut y = vec![0.0; 37];
        map(Square, &x, &mut y);
        assert!(y.iter().zip(&x).all(|(a, b)| *a == b * b));
    }

    /// Awkward inputs for the bit-for-bit checks: zeros, infinities, NaN, subnormals, negative
    /// values, the clamps' edges, and random values over the whole range.
    fn awkward(n: usize, seed: u64) -> Vec<f64> {
        let mut v = vec![
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            4.9e-324,
            1e-310,
            f64::MIN_POSITIVE,
            f64::MAX,
            -1.0,
            1.0,
            709.78,
            710.0,
            -745.1,
            -746.0,
            42.0,
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        while v.len() < n {
            let m: f64 = rng.random_range(-1.0..1.0);
            let e: i32 = rng.random_range(-1074..1024);
            v.push(m * 2f64.powi(e));
            v.push(rng.random_range(-800.0..800.0));
        }
        v.truncate(n);
        v
    }

    /// `map_blocks` (AVX2 here), the baseline-compiled driver and the scalar function agree bit
    /// for bit, also in the padded last block.
    fn check_bits<K: BlockKernel>(k: K, xs: &[f64], label: &str) {
        let n = xs.len();
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        map_blocks(k, xs, &mut a);
        drive1(xs, &mut b, |v| k.eval(v));
        for (i, &x) in xs.iter().enumerate() {
            let s = k.eval(x);
            assert!(
                a[i].to_bits() == s.to_bits() && b[i].to_bits() == s.to_bits(),
                "{label}({x:e}): {:e} {:e} {s:e}",
                a[i],
                b[i]
            );
        }
    }

    macro_rules! kernel {
        ($name:ident, |$x:ident| $body:expr) => {
            #[derive(Clone, Copy)]
            struct $name;
            impl BlockKernel for $name {
                #[inline(always)]
                fn eval<T: Real>(self, $x: T) -> T {
                    $body
                }
            }
        };
    }
    kernel!(ExpK, |x| exp(x));
    kernel!(ExpNegK, |x| exp_neg(x));
    kernel!(ExpCappedK, |x| exp_capped(x));
    kernel!(ExpM1K, |x| exp_m1(x));
    kernel!(LnK, |x| ln(x));
    kernel!(Ln1pK, |x| ln_1p(x));
    kernel!(PowK, |x| pow(x, 0.7));

    #[derive(Clone, Copy)]
    struct RatioK(LnRatio);
    impl BlockKernel for RatioK {
        #[inline(always)]
        fn eval<T: Real>(self, x: T) -> T {
            self.0.eval(x)
        }
    }

    #[derive(Clone, Copy)]
    struct HillK(LnRatio, f64);
    impl BlockKernel for HillK {
        #[inline(always)]
        fn eval<T: Real>(self, x: T) -> T {
            let p = hill(x, self.0, self.1);
            p.h + p.e + p.ln_ratio
        }
    }

    #[test]
    fn blocks_scalar_sse2_and_avx2_agree_bit_for_bit() {
        // 100_003: not a multiple of the block width
        let xs = awkward(100_003, 12);
        let pos: Vec<f64> = xs.iter().map(|x| x.abs()).collect();
        let neg: Vec<f64> = pos.iter().map(|x| -x).collect();
        check_bits(ExpK, &xs, "exp");
        check_bits(ExpNegK, &neg, "exp_neg");
        check_bits(ExpCappedK, &xs, "exp_capped");
        check_bits(ExpM1K, &xs, "exp_m1");
        check_bits(LnK, &xs, "ln");
        check_bits(Ln1pK, &pos, "ln_1p");
        check_bits(PowK, &pos, "pow");
        for k in [1e-300, 0.37, 1.0, 60.0, 3.7e4, 1e300] {
            check_bits(RatioK(LnRatio::new(k)), &pos, "ln_ratio");
            check_bits(HillK(LnRatio::new(k), 0.7), &pos, "hill");
            check_bits(HillK(LnRatio::new(k), 2.3), &pos, "hill");
        }
    }

    #[test]
    fn exp_neg_close_to_libm() {
        let xs = uniform(N, -708.0, 0.0, 13);
        assert!(max_rel_err(&xs, exp_neg, f64::exp) <= 2.5);
        for x in [-709.0, -710.0, -720.0, -740.0, -745.0, -745.2, -800.0] {
            assert!((exp_neg(x) - f64::exp(x)).abs() <= 4.9e-324, "{x}");
        }
        assert_eq!(exp_neg(0.0), 1.0);
        assert_eq!(exp_neg(f64::NEG_INFINITY), 0.0);
        // the same bits as exp up to 600, and exp_capped caps there
        for x in uniform(100_000, -760.0, 600.0, 14) {
            assert_eq!(exp_neg(x).to_bits(), exp(x).to_bits(), "{x}");
            assert_eq!(exp_capped(x).to_bits(), exp(x).to_bits(), "{x}");
        }
        for x in [600.0, 600.5, 709.0, 1e10, f64::INFINITY] {
            assert_eq!(exp_capped(x), exp(600.0), "{x}");
        }
        assert!(exp_capped(f64::NAN).is_nan());
        assert!(exp_neg(f64::NAN).is_nan());
    }

    #[test]
    fn ln_ratio_close_to_libm() {
        // absolute error in units of u: ≤ 2.5 + 2|L| (libm's ln(x/K) rounds x/K first)
        for (i, k) in [1e-200, 1e-3, 0.37, 1.0, 60.0, 3.7e4, 1e6, 1e200]
            .into_iter()
            .enumerate()
        {
            let lr = LnRatio::new(k);
            let xs: Vec<f64> = log_uniform(N / 8, -40.0, 40.0, 20 + i as u64)
                .into_iter()
                .map(|v| v * k)
                .collect();
            for x in xs {
                let (a, r) = (lr.eval(x), (x / k).ln());
                assert!(
                    (a - r).abs() <= (2.5 + 2.0 * r.abs()) * U,
                    "{x:e}/{k:e}: {a:e} {r:e}"
                );
            }
            assert_eq!(lr.eval(k), 0.0);
            assert_eq!(lr.eval(f64::INFINITY), f64::INFINITY);
        }
    }

    #[test]
    fn hill_close_to_libm() {
        // relative error in units of u: ≤ 4 + 2|y| against 1/(1 + (K/x)^s) (whose own error
        // near x = K is the larger part: it rounds K/x)
        for (i, (k, s)) in [
            (60.0, 0.7),
            (1e6, 2.3),
            (0.3, 0.2),
            (1e-3, 5.0),
            (3.7e4, 1.5),
        ]
        .into_iter()
        .enumerate()
        {
            let lr = LnRatio::new(k);
            let xs: Vec<f64> = log_uniform(N / 5, -60.0, 60.0, 30 + i as u64)
                .into_iter()
                .map(|v| v * k)
                .collect();
            for x in xs {
                let p = hill(x, lr, s);
                let r = 1.0 / (1.0 + (k / x).powf(s));
                let y = (s * (x / k).ln()).abs();
                if r < 1e-300 {
                    assert!(p.h < 1e-290);
                    continue;
                }
                let err = ((p.h - r) / r).abs() / U;
                assert!(
                    err <= 4.0 + 2.0 * y,
                    "K={k} s={s} x={x:e}: {:e} vs {r:e}",
                    p.h
                );
                // 1 − h = e/(1+e) for y ≥ 0, 1/(1+e) for y < 0
                assert!(p.e >= 0.0 && p.e <= 1.0);
            }
            let p = hill(k, lr, s);
            assert_eq!(p.h, 0.5);
            assert_eq!(hill(f64::INFINITY, lr, s).h, 1.0);
        }
    }
}
