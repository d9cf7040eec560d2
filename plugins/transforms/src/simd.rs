//! Vectorizable elementary functions and a runtime AVX2 dispatch for elementwise loops
//! (crate-private).
//!
//! `f64::exp`, `ln`, `powf` and `tanh` are calls into the platform's libm, one element at a
//! time, and dominate the saturations' cost. The functions here are branch-free (every special
//! case is a select), use only `+ − × ÷`, bit operations on `u64` and comparisons, and are
//! `#[inline(always)]`, so a loop over a slice that calls them is auto-vectorized by LLVM: two
//! lanes with the x86-64 baseline (SSE2), four when compiled for AVX2, which [`map`] does at
//! run time when the CPU has it. No fused multiply–add is used (Rust never contracts `a·b + c`),
//! so both paths give bit-identical results on every machine.
//!
//! # Algorithms and error bounds (relative, `u = 2⁻⁵³ ≈ 1.11e-16`)
//! The bounds below are the largest differences from the platform's libm (itself within about
//! 1u of the exact value) that the tests allow over a million random inputs per function across
//! the domain; the largest seen are given in brackets. All are far below 1e-14.
//! * [`exp`]: `x = k·ln2 + r`, `|r| ≤ ln2/2` (Cody–Waite with a two-part `ln 2`, exact first
//!   step), `e^r − 1` by its Taylor polynomial of degree 13 (truncation < 1.5e-17 relative),
//!   `2^k` built from exponent bits in two halves (so `k = 1024` and subnormal results work).
//!   ≤ 2.5u [2.0u] for results in the normal range; `x > 709.78` gives `+∞`, `x < −745.2`
//!   gives `0`, NaN stays NaN.
//! * [`exp_m1`]: same reduction, `e^x − 1 = 2^k·p + (2^k − 1)` with `p = e^r − 1`: exactly `p`
//!   for `|x| ≤ ln2/2` (no cancellation near 0). ≤ 3u [2.4u].
//! * [`ln`]: musl/fdlibm `log` (`x = 2^k·m`, `m ∈ [√2/2, √2)`, `s = (m−1)/(m+1)`, minimax
//!   polynomial in `s²` of degree 7 with error < 2⁻⁵⁸·⁴⁵), made branch-free. ≤ 2.5u [2.0u].
//!   `ln 0 = −∞`, `ln x = NaN` for `x < 0`, `ln ∞ = ∞`, subnormals handled.
//! * [`ln_1p`]: `ln(w) + (t − (w − 1))/w` with `w = 1 + t` (the classic correction: the exact
//!   rounding error of `1 + t` for `|t| ≤ 1`). ≤ 2.5u [2.0u] for `t ≥ 0`.
//! * [`pow`]: `b^e = exp(e·ln b)` for `b ≥ 0`. Its error is that of the composition,
//!   ≤ (2 + 2·|e·ln b|)·u: the exact power of `b` with the exponent perturbed by a few ulps
//!   (the condition number of `b^e` in `e` is `|e·ln b|`). Below 1e-14 while `|e·ln b| ≤ 40`
//!   (results between 4e-18 and 2e17) and below 1.7e-13 everywhere (beyond `|e·ln b| ≈ 745` the
//!   result is 0 or ∞).
//! * [`tanh`]: `tanh|u| = −m/(2 + m)`, `m = e^{−2|u|} − 1` by [`exp_m1`], sign restored
//!   (`|∂ln tanh/∂ln m| ≤ 2`). ≤ 6u [4.4u].

/// `1.5·2⁵²`: adding it rounds a float of magnitude < 2⁵¹ to an integer, held in the low bits.
const SHIFT: f64 = 6_755_399_441_055_744.0;
/// High part of `ln 2` (32 significant bits, so `k·LN2_HI` is exact for `|k| < 2²¹`).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// `ln 2 − LN2_HI`.
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// `1/n!` for `n = 2 … 13`: the Taylor coefficients of `e^r − 1 − r`.
const INV_FACT: [f64; 12] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// `x = k·ln2 + r` with `|r| ≤ ln2/2`: returns `(e^r − 1, 2^k1, 2^k2)`, `k1 + k2 = k`, so that
/// every `k` of `x ∈ [−746, 710]` (the caller's clamp) is a product of two normal powers of two.
#[inline(always)]
fn reduce(x: f64) -> (f64, f64, f64) {
    let t = x * std::f64::consts::LOG2_E + SHIFT;
    let kf = t - SHIFT;
    // k as an integer: the low mantissa bits of t (|k| ≤ 1077 here)
    let k = t.to_bits().wrapping_sub(SHIFT.to_bits()) as i64;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    // e^r − 1 = r + r²·q(r), q(r) = Σ_{i<12} r^i/(i+2)!, by Estrin's scheme (a shorter
    // dependency chain than Horner's, the same number of operations)
    let c = INV_FACT;
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let b0 = (c[0] + c[1] * r) + (c[2] + c[3] * r) * r2;
    let b1 = (c[4] + c[5] * r) + (c[6] + c[7] * r) * r2;
    let b2 = (c[8] + c[9] * r) + (c[10] + c[11] * r) * r2;
    let q = (b0 + b1 * r4) + b2 * r8;
    let p = r + r2 * q;
    // 2^k = 2^k1 · 2^k2 with k1 = ⌊k/2⌋ (logical shifts only: SSE2/AVX2 have no 64-bit
    // arithmetic shift), each in [−539, 512]
    let k1 = (((k + 2048) as u64) >> 1) as i64 - 1024;
    let k2 = k - k1;
    let s1 = f64::from_bits(((k1 + 1023) as u64) << 52);
    let s2 = f64::from_bits(((k2 + 1023) as u64) << 52);
    (p, s1, s2)
}

/// Clamps `x` to `[−746, 710]` (beyond which `e^x` is 0 or ∞ anyway) and keeps NaN.
#[inline(always)]
fn clamp_exp_arg(x: f64) -> f64 {
    let x = if x < -746.0 { -746.0 } else { x };
    if x > 710.0 {
        710.0
    } else {
        x
    }
}

/// `e^x`, vectorizable; within 2.5·2⁻⁵³ relative (see the module docs).
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    let (p, s1, s2) = reduce(clamp_exp_arg(x));
    ((1.0 + p) * s1) * s2
}

/// `e^x − 1`, vectorizable and accurate near 0; within 3·2⁻⁵³ relative (see the module docs).
#[inline(always)]
pub(crate) fn exp_m1(x: f64) -> f64 {
    let x = clamp_exp_arg(x);
    let (p, s1, s2) = reduce(x);
    let s = s1 * s2; // 2^k, exact for x ≤ 709 (k ≤ 1023)
    let y = s * p + (s - 1.0);
    // beyond 2^60, e^x − 1 rounds to e^x (and 2^k alone may overflow before the product)
    if x > 42.0 {
        ((1.0 + p) * s1) * s2
    } else {
        y
    }
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

/// Natural logarithm, vectorizable; within 2.5·2⁻⁵³ relative (see the module docs).
#[inline(always)]
pub(crate) fn ln(x: f64) -> f64 {
    // subnormal (and ≤ 0, fixed up below): scale by 2^54
    let tiny = x < f64::MIN_POSITIVE;
    let xs = if tiny {
        x * 18_014_398_509_481_984.0
    } else {
        x
    };
    let bias = if tiny { 54.0 + 1023.0 } else { 1023.0 };
    let u = xs.to_bits();
    // reduce into m ∈ [√2/2, √2): move the mantissa's top part so that the exponent field
    // counts from √2/2
    let hx = (u >> 32) + (0x3ff0_0000 - 0x3fe6_a09e);
    let e = hx >> 20; // biased exponent of x, plus one when its mantissa is ≥ √2
    let hm = (hx & 0x000f_ffff) + 0x3fe6_a09e;
    let m = f64::from_bits((hm << 32) | (u & 0xffff_ffff));
    // e as a float without an int → float conversion (none exists for 64-bit lanes in AVX2)
    let k = (f64::from_bits(SHIFT.to_bits().wrapping_add(e)) - SHIFT) - bias;
    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG[1] + w * (LG[3] + w * LG[5]));
    let t2 = z * (LG[0] + w * (LG[2] + w * (LG[4] + w * LG[6])));
    let r = t2 + t1;
    let y = s * (hfsq + r) + k * LN2_LO - hfsq + f + k * LN2_HI;
    let y = if x == f64::INFINITY { x } else { y };
    let y = if x == 0.0 { f64::NEG_INFINITY } else { y };
    // x < 0 or NaN (one comparison; `x < 0 || x.is_nan()` compiles to integer class tests)
    if x >= 0.0 {
        y
    } else {
        f64::NAN
    }
}

/// `ln(1 + t)` for `t ≥ 0`, vectorizable and accurate near 0; within 2.5·2⁻⁵³ relative.
#[inline(always)]
pub(crate) fn ln_1p(t: f64) -> f64 {
    let w = 1.0 + t;
    // w − 1 is exact and t − (w − 1) is the rounding error of 1 + t when |t| ≤ 1; above, the
    // correction is below the rounding of ln w ≥ ln 2 anyway
    let c = (t - (w - 1.0)) / w;
    let y = ln(w) + c;
    if t == f64::INFINITY {
        t
    } else {
        y
    }
}

/// `b^e` for `b ≥ 0` and `e ≠ 0` as `exp(e·ln b)`, vectorizable; within (2 + 2|e·ln b|)·2⁻⁵³
/// (see the module docs). `0^e = 0` and `∞^e = ∞` for `e > 0`.
#[inline(always)]
pub(crate) fn pow(b: f64, e: f64) -> f64 {
    exp(e * ln(b))
}

/// `tanh u`, vectorizable and accurate near 0; within 6·2⁻⁵³ relative (see the module docs).
#[inline(always)]
pub(crate) fn tanh(u: f64) -> f64 {
    let m = exp_m1(-2.0 * u.abs());
    (-m / (2.0 + m)).copysign(u)
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
}
