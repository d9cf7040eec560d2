//! Numerical helpers shared by the transform plugins (crate-private).

use crate::fft;
use crate::simd::{
    self, BlockKernel, BlockKernel2, BlockKernelPair, BlockKernelQuad, Kernel, LnRatio, Real,
};
use std::cell::RefCell;

/// Calls `f` with two zeroed scratch buffers of length `n`, on the stack when `n ≤ 1024`
/// (64 or 1024 slots, so short adstocks do not clear 16 KiB per call), otherwise on the heap
/// (the documented rare fallback of windows longer than 1024 periods).
pub(crate) fn with_scratch2<R>(n: usize, f: impl FnOnce(&mut [f64], &mut [f64]) -> R) -> R {
    if n <= 64 {
        let (mut a, mut b) = ([0.0; 64], [0.0; 64]);
        f(&mut a[..n], &mut b[..n])
    } else if n <= 1024 {
        let (mut a, mut b) = ([0.0; 1024], [0.0; 1024]);
        f(&mut a[..n], &mut b[..n])
    } else {
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        f(&mut a, &mut b)
    }
}

/// Trailing lag weights below this share of the largest weight are skipped by [`convolve`]: the
/// change is at most `2^-64·max|w|·Σ|x|`, below the rounding error of the sum itself.
pub(crate) const NEGLIGIBLE: f64 = 1.0 / 18_446_744_073_709_551_616.0;

/// Outputs computed together by [`convolve`]: 32 accumulators, eight AVX2 registers (enough
/// independent additions per lag to hide their latency).
const BLOCK: usize = 32;

thread_local! {
    /// The zero-padded input of [`convolve`], kept between calls so that it allocates only when
    /// a longer series than before comes along.
    static PADDED: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    /// Lag weights of the adstocks' `apply` (see [`with_weights`]).
    static WEIGHTS: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    /// `ln j` for `j = 0, 1, …` (see [`with_ln_integers`]).
    static LN_INTEGERS: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// `ln x` for `x > 0`, vectorizable.
#[derive(Clone, Copy)]
struct LnKernel;

impl BlockKernel for LnKernel {
    #[inline(always)]
    fn eval<T: Real>(self, x: T) -> T {
        simd::ln_pos(x)
    }
}

/// Calls `f` with this thread's table of `ln j` for `j = 0 … m` (at least; entry 0 is
/// `ln 1 = 0`, a placeholder), computed once per thread for the longest `m` seen, so that lag
/// weights of the form `g(ln(j/λ))` cost no logarithm per lag.
pub(crate) fn with_ln_integers<R>(m: usize, f: impl FnOnce(&[f64]) -> R) -> R {
    LN_INTEGERS.with_borrow_mut(|table| {
        if table.len() <= m {
            let from = table.len();
            let len = (m + 1).max(2 * from);
            let j: Vec<f64> = (from..len).map(|j| j.max(1) as f64).collect();
            table.resize(len, 0.0);
            simd::map_blocks(LnKernel, &j, &mut table[from..]);
        }
        f(table)
    })
}

/// Calls `f` with this thread's reusable (empty on entry) weight buffer, so that adstocks of any
/// window length allocate only the first time a window that long is seen.
pub(crate) fn with_weights<R>(f: impl FnOnce(&mut Vec<f64>) -> R) -> R {
    WEIGHTS.with_borrow_mut(|w| {
        w.clear();
        f(w)
    })
}

/// Time of the direct convolution per multiply–add, in ns (measured on the project's Zen 3
/// with AVX2: ≈ 6.4 multiply–adds per cycle at 2.45 GHz), for [`uses_fft`].
const DIRECT_NS_PER_MAC: f64 = 0.064;

/// [`uses_fft`] takes the FFT path only when its estimate is below this share of the direct
/// sum's: the estimate is for an input whose spectrum is kept (fitting, where the same spend
/// series is transformed again and again), and a new input costs 2–3 times as much; the
/// margin also keeps the direct sum's tighter rounding where the gain would be small.
const FFT_MARGIN: f64 = 0.75;

/// Whether [`convolve`] takes the FFT path for `n` outputs and `l` lags that matter: when
/// its estimated cost ([`fft::fft_cost_ns`]) is below [`FFT_MARGIN`] of that of the direct
/// sum (`n·l·`[`DIRECT_NS_PER_MAC`]); about 40 lags and more at `n` = 1,000. A pure function
/// of `(n, l)`, so the choice is the same on every machine and thread.
///
/// Cheap to ask: below [`FFT_MIN_LAGS`] lags the answer is no without an estimate, and the
/// answers are kept per thread in a small direct-mapped table (the estimate scans a few
/// dozen FFT layouts, ≈ 1 µs, as much as a short adstock itself).
pub(crate) fn uses_fft(n: usize, l: usize) -> bool {
    if l < FFT_MIN_LAGS {
        return false;
    }
    let slot = (n.wrapping_mul(0x9E37_79B9) ^ l) % CROSSOVER_SLOTS;
    CROSSOVER.with_borrow_mut(|table| match table[slot] {
        Some((tn, tl, answer)) if (tn, tl) == (n, l) => answer,
        _ => {
            let answer = fft::fft_cost_ns(n, l) < FFT_MARGIN * DIRECT_NS_PER_MAC * (n * l) as f64;
            table[slot] = Some((n, l, answer));
            answer
        }
    })
}

/// Below this many lags the direct sum is always cheaper: every FFT layout costs at least
/// 0.7 ns per output (the O(M) product and overlap–add of blocks no longer than `2M`, and the
/// passes over the series, see `fft::Layout::cost_ns`), and `FFT_MARGIN·0.064·l` ns is less
/// than that for `l ≤ 14`.
const FFT_MIN_LAGS: usize = 15;

/// Slots of the per-thread table of [`uses_fft`] answers.
const CROSSOVER_SLOTS: usize = 64;

thread_local! {
    /// `(n, l, uses_fft(n, l))` by slot (see [`uses_fft`]).
    static CROSSOVER: RefCell<[Option<(usize, usize, bool)>; CROSSOVER_SLOTS]> =
        const { RefCell::new([None; CROSSOVER_SLOTS]) };
}

/// Causal convolution `out_t = Σ_{l < min(L, t+1)} w_l·x_{t−l}` (`L = w.len()`). Trailing
/// weights that are zero or below [`NEGLIGIBLE`] of the largest are skipped (long Weibull
/// windows decay far below it). With `L_eff` lags left, the sum is computed directly
/// (`n·L_eff` multiply–adds) or, when [`uses_fft`] says it is cheaper (long windows: about
/// `L_eff ≥ 300` for `n = 1000`), by FFT ([`fft::convolve_fft`], O(n log n), error below
/// 1e-12 of the largest output).
///
/// Direct: the input is copied behind `L − 1` zeros (so every output is the same loop, without
/// a ragged head) and the outputs are computed [`BLOCK`] at a time: for each lag, one weight
/// times [`BLOCK`] consecutive inputs is added into as many accumulators, which vectorizes
/// (AVX2 when the CPU has it, with identical results) and keeps the accumulators in registers.
pub(crate) fn convolve(x: &[f64], w: &[f64], out: &mut [f64]) {
    let n = x.len().min(out.len());
    let l = effective_lags(w).min(n);
    if uses_fft(n, l) {
        fft::convolve_fft(&x[..n], &w[..l], &mut out[..n]);
    } else {
        convolve_direct(x, &w[..l], out);
    }
}

/// The number of leading weights of `w` that matter: up to the last one above [`NEGLIGIBLE`]
/// of the largest `|w_l|` (0 if all are zero).
fn effective_lags(w: &[f64]) -> usize {
    let wmax = max_abs(w);
    w.iter()
        .rposition(|v| v.abs() > wmax * NEGLIGIBLE)
        .map_or(0, |i| i + 1)
}

/// `max |w_l|` (0 for an empty slice; NaNs are ignored, as by `f64::max`), with eight
/// independent running maxima so that the loop vectorizes instead of waiting on one chain of
/// comparisons (the maximum does not depend on the order).
fn max_abs(w: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = w.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a = if v.abs() > *a { v.abs() } else { *a };
        }
    }
    let m = tail.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    acc.iter().fold(m, |m, v| m.max(*v))
}

/// The direct sum of [`convolve`] over all of `w` (no truncation).
pub(crate) fn convolve_direct(x: &[f64], w: &[f64], out: &mut [f64]) {
    let n = x.len().min(out.len());
    let l = w.len().min(n);
    if l == 0 {
        out[..n].fill(0.0);
        return;
    }
    if l == 1 {
        for (o, xi) in out[..n].iter_mut().zip(x) {
            *o = w[0] * xi;
        }
        return;
    }
    PADDED.with_borrow_mut(|xp| {
        let len = (l - 1) + n.div_ceil(BLOCK) * BLOCK;
        if xp.len() < len {
            xp.resize(len, 0.0);
        }
        xp[..l - 1].fill(0.0);
        xp[l - 1..l - 1 + n].copy_from_slice(&x[..n]);
        xp[l - 1 + n..len].fill(0.0);
        convolve_padded(&xp[..len], &w[..l], &mut out[..n]);
    });
}

/// [`convolve_blocks`], with AVX2 when the CPU has it.
fn convolve_padded(xp: &[f64], w: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `convolve_avx2` is only compiled for AVX2, which the CPU was just found
            // to have.
            unsafe { convolve_avx2(xp, w, out) };
            return;
        }
    }
    convolve_blocks(xp, w, out);
}

/// [`convolve_blocks`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn convolve_avx2(xp: &[f64], w: &[f64], out: &mut [f64]) {
    convolve_blocks(xp, w, out)
}

/// `out_t = Σ_l w_l·xp_{t + L − 1 − l}` for an input `xp` padded with `L − 1` zeros in front
/// and to a whole number of blocks behind.
#[inline(always)]
fn convolve_blocks(xp: &[f64], w: &[f64], out: &mut [f64]) {
    let l = w.len();
    for (b, ob) in out.chunks_mut(BLOCK).enumerate() {
        let t0 = b * BLOCK;
        let mut acc = [0.0; BLOCK];
        for (lag, &wl) in w.iter().enumerate() {
            let start = t0 + l - 1 - lag;
            let xs = &xp[start..start + BLOCK];
            for (a, xv) in acc.iter_mut().zip(xs) {
                *a += wl * xv;
            }
        }
        ob.copy_from_slice(&acc[..ob.len()]);
    }
}

/// `tanh(u)` through one `expm1` (cheaper than `f64::tanh`, accurate near 0, odd):
/// `tanh(u) = −m / (2 + m)` with `m = expm1(−2|u|)`.
#[inline]
pub(crate) fn fast_tanh(u: f64) -> f64 {
    let m = (-2.0 * u.abs()).exp_m1();
    let t = -m / (2.0 + m);
    if u < 0.0 {
        -t
    } else {
        t
    }
}

/// `d·dx`, defined as 0 when `dx = 0` even if the derivative `d` is infinite (the one-sided
/// derivative of a power `x^s`, `s < 1`, at `x = 0`), so that a Jacobian–vector product is
/// never NaN.
#[inline]
pub(crate) fn mul_deriv(d: f64, dx: f64) -> f64 {
    if dx == 0.0 {
        0.0
    } else {
        d * dx
    }
}

/// The Hill curve of [`hill_series`] for a general shape `s` and `K > 0`, on blocks
/// ([`simd::hill`]: one `ln`, one `exp`, one division per value).
#[derive(Clone, Copy)]
struct HillKernel {
    lr: LnRatio,
    s: f64,
    k: f64,
}

impl BlockKernel for HillKernel {
    #[inline(always)]
    fn eval<T: Real>(self, x: T) -> T {
        let pos = T::splat(0.0).lt(x);
        let h = simd::hill(benign(pos, x, self.k), self.lr, self.s).h;
        T::select(pos, h, T::splat(0.0))
    }
}

/// `x` where `pos`, else `k`: lanes whose result is selected away afterwards (spend ≤ 0) are
/// computed at a harmless point instead of `ln 0`'s garbage, whose huge exponents give
/// subnormal intermediates, which cost this CPU a slow microcode assist each (zero spend is
/// common: `hill_robyn` with α = 2.3 ran 25% slower before).
#[inline(always)]
pub(crate) fn benign<T: Real>(pos: T::Mask, x: T, k: f64) -> T {
    T::select(pos, x, T::splat(k))
}

/// The Hill curve for an integer shape `N`, by multiplications: `1/(1 + (K/x)^N)`.
#[derive(Clone, Copy)]
struct HillIntKernel<const N: u32> {
    k: f64,
}

impl<const N: u32> Kernel for HillIntKernel<N> {
    #[inline(always)]
    fn eval(self, x: f64) -> f64 {
        let q = self.k / x;
        let r = match N {
            1 => q,
            2 => q * q,
            _ => q * q * q,
        };
        let h = 1.0 / (1.0 + r);
        if x > 0.0 {
            h
        } else {
            0.0
        }
    }
}

/// Hill curve `out_t = h(x_t) = x^s/(x^s + K^s) = 1/(1 + (K/x)^s)` for `x > 0`, `0` for
/// `x ≤ 0` (and NaN); `K = 0` gives `h = 1` for every `x > 0`. Shapes 1, 2 and 3 by
/// multiplications (exact to the rounding of `K/x`, its power and `1/(1 + r)`); other shapes as
/// `1/(1 + e^{−y})`, `y = s·ln(x/K)` ([`simd::hill`]): within (4 + 2|y|)·2⁻⁵³ relative of the
/// libm formula, i.e. below 1e-14 wherever `h > 4e-18`, never overflowing.
pub(crate) fn hill_series(x: &[f64], k: f64, s: f64, out: &mut [f64]) {
    if s == 1.0 || k <= 0.0 {
        simd::map(HillIntKernel::<1> { k: k.max(0.0) }, x, out);
    } else if s == 2.0 {
        simd::map(HillIntKernel::<2> { k }, x, out);
    } else if s == 3.0 {
        simd::map(HillIntKernel::<3> { k }, x, out);
    } else {
        simd::map_blocks(
            HillKernel {
                lr: LnRatio::new(k),
                s,
                k,
            },
            x,
            out,
        );
    }
}

/// `d·∂h/∂x` of [`hill_series`], never NaN: `∂h/∂x = s·h(1−h)/x = s·e/((1+e)²·x)` for `x > 0`
/// (`e = e^{−|y|}`, one division); at `x = 0` the one-sided limit `g0`; 0 for `x < 0`; and 0
/// wherever `d = 0` (even where `∂h/∂x = ∞`).
#[derive(Clone, Copy)]
struct HillJvp {
    lr: LnRatio,
    s: f64,
    g0: f64,
    k: f64,
}

impl BlockKernel2 for HillJvp {
    #[inline(always)]
    fn eval<T: Real>(self, x: T, d: T) -> T {
        let zero = T::splat(0.0);
        let p = simd::hill(benign(zero.lt(x), x, self.k), self.lr, self.s);
        let one_e = T::splat(1.0) + p.e;
        let g = (T::splat(self.s) * p.e) / ((one_e * one_e) * x);
        let g = T::select(
            zero.lt(x),
            g,
            T::select(x.eq(zero), T::splat(self.g0), zero),
        );
        T::select(d.eq(zero), zero, g * d)
    }
}

/// `out_t = dx_t·∂h/∂x(x_t)` of [`hill_series`] (`K`, `s`), vectorized ([`simd::map2_blocks`]):
/// `∂h/∂x = s·h(1−h)/x` for `x > 0`; at `x = 0` the one-sided limit (`0` for `s > 1`, `1/K`
/// for `s = 1`, `+∞` for `s < 1`); `0` for `x < 0` or `K = 0`; and `0` wherever `dx_t = 0`.
pub(crate) fn hill_jvp_series(x: &[f64], dx: &[f64], k: f64, s: f64, out: &mut [f64]) {
    let n = x.len().min(dx.len()).min(out.len());
    if k.is_nan() || k <= 0.0 {
        out[..n].fill(0.0);
        return;
    }
    let g0 = if s > 1.0 {
        0.0
    } else if s == 1.0 {
        1.0 / k
    } else {
        f64::INFINITY
    };
    let f = HillJvp {
        lr: LnRatio::new(k),
        s,
        g0,
        k,
    };
    simd::map2_blocks(f, &x[..n], &dx[..n], &mut out[..n]);
}

/// `(c·q, q·ln(x/K))` with `q = h(1−h) = e/(1+e)²` for `x > 0`, `(0, 0)` otherwise (and the
/// second 0 where `q` underflows to 0).
#[derive(Clone, Copy)]
struct HillDParams {
    lr: LnRatio,
    s: f64,
    c: f64,
    k: f64,
}

impl BlockKernelPair for HillDParams {
    #[inline(always)]
    fn eval<T: Real>(self, x: T) -> (T, T) {
        let zero = T::splat(0.0);
        let pos = zero.lt(x);
        let p = simd::hill(benign(pos, x, self.k), self.lr, self.s);
        let inv = T::splat(1.0) / (T::splat(1.0) + p.e);
        let q = (p.e * inv) * inv;
        let a = T::select(pos, q * T::splat(self.c), zero);
        let b = T::select(zero.lt(q), q * p.ln_ratio, zero);
        (a, T::select(pos, b, zero))
    }
}

/// Parameter derivatives of [`hill_series`] (`K > 0`, `s`), vectorized
/// ([`simd::map_blocks_pair`]): `out_c_t = c·h(1−h)` (with `c = −s/K` this is `∂h/∂K`) and
/// `out_s_t = h(1−h)·ln(x/K) = ∂h/∂s`, with `h(1−h) = e/(1+e)²` (no cancellation), both 0 for
/// `x ≤ 0` and where `h(1−h)` underflows; all 0 when `K = 0`.
pub(crate) fn hill_dparams_series(
    x: &[f64],
    k: f64,
    s: f64,
    c: f64,
    out_c: &mut [f64],
    out_s: &mut [f64],
) {
    let n = x.len().min(out_c.len()).min(out_s.len());
    if k.is_nan() || k <= 0.0 {
        out_c[..n].fill(0.0);
        out_s[..n].fill(0.0);
        return;
    }
    let f = HillDParams {
        lr: LnRatio::new(k),
        s,
        c,
        k,
    };
    simd::map_blocks_pair(f, &x[..n], &mut out_c[..n], &mut out_s[..n]);
}

/// [`HillKernel`], [`HillJvp`] (at `d = 1`) and [`HillDParams`] of one value from one
/// [`simd::hill`]: the same operations as the three, so the same bits, for a third of the
/// `ln`/`exp` work.
#[derive(Clone, Copy)]
struct HillAll {
    lr: LnRatio,
    s: f64,
    k: f64,
    g0: f64,
    c: f64,
}

impl BlockKernelQuad for HillAll {
    #[inline(always)]
    fn eval<T: Real>(self, x: T) -> [T; 4] {
        let zero = T::splat(0.0);
        let pos = zero.lt(x);
        let p = simd::hill(benign(pos, x, self.k), self.lr, self.s);
        let h = T::select(pos, p.h, zero);
        let one_e = T::splat(1.0) + p.e;
        let g = (T::splat(self.s) * p.e) / ((one_e * one_e) * x);
        let g = T::select(pos, g, T::select(x.eq(zero), T::splat(self.g0), zero));
        let inv = T::splat(1.0) / one_e;
        let q = (p.e * inv) * inv;
        let dk = T::select(pos, q * T::splat(self.c), zero);
        let ds = T::select(zero.lt(q), q * p.ln_ratio, zero);
        [h, g, dk, T::select(pos, ds, zero)]
    }
}

/// [`hill_series`], its input derivative `∂h/∂x` (as [`hill_jvp_series`] with `dx = 1`) and
/// its parameter derivatives (`∂h/∂K`, `∂h/∂s`, as [`hill_dparams_series`] with `c = −s/K`) in
/// one pass, bit for bit the same values. Only for the general shape with `K > 0` (the curve
/// [`hill_series`] computes with [`simd::hill`]); returns `false`, writing nothing, for
/// `s ∈ {1, 2, 3}`, `K ≤ 0` or NaN parameters, where the callers use the three functions.
pub(crate) fn hill_all_series(x: &[f64], k: f64, s: f64, out: [&mut [f64]; 4]) -> bool {
    if s == 1.0 || s == 2.0 || s == 3.0 || k.is_nan() || s.is_nan() || k <= 0.0 {
        return false;
    }
    let g0 = if s > 1.0 { 0.0 } else { f64::INFINITY };
    let f = HillAll {
        lr: LnRatio::new(k),
        s,
        k,
        g0,
        c: -s / k,
    };
    simd::map_blocks_quad(f, x, out);
    true
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn convolve_matches_direct_sum() {
        let x = [1.0, 0.0, 2.0, 3.0, 0.0, 1.0];
        let w = [0.5, 0.25, 0.125, 0.0];
        let mut y = [0.0; 6];
        convolve(&x, &w, &mut y);
        for t in 0..6 {
            let mut s = 0.0;
            for l in 0..w.len().min(t + 1) {
                s += w[l] * x[t - l];
            }
            assert!((y[t] - s).abs() < 1e-15);
        }
    }

    #[test]
    fn max_abs_is_the_sequential_maximum() {
        let mut state = 9u64;
        for len in [0, 1, 7, 8, 9, 63, 384, 1001] {
            let mut w: Vec<f64> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e3
                })
                .collect();
            let fold = |w: &[f64]| w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert_eq!(max_abs(&w), fold(&w), "len {len}");
            if len > 3 {
                w[len / 2] = f64::NAN;
                w[len - 1] = -2e3;
                assert_eq!(max_abs(&w), 2e3, "len {len}, NaN ignored, sign dropped");
            }
        }
    }

    #[test]
    fn fast_tanh_matches_std() {
        for u in [0.0, 1e-300, 1e-8, 0.3, -0.3, 1.0, 5.0, -20.0, 400.0, -800.0] {
            let (a, b) = (fast_tanh(u), f64::tanh(u));
            assert!(
                (a - b).abs() <= 4.0 * f64::EPSILON * b.abs(),
                "{u}: {a} {b}"
            );
        }
    }

    #[test]
    fn convolve_long_and_short_inputs() {
        let x: Vec<f64> = (0..50).map(|i| ((i * 7) % 5) as f64).collect();
        let w: Vec<f64> = (0..80).map(|l| 0.9f64.powi(l)).collect();
        let mut y = vec![0.0; 50];
        convolve(&x, &w, &mut y);
        for t in 0..50 {
            let s: f64 = (0..=t).map(|l| w[l] * x[t - l]).sum();
            assert!((y[t] - s).abs() < 1e-12 * s.max(1.0));
        }
    }

    #[test]
    fn scratch_sizes() {
        for n in [0, 1, 64, 65, 1024, 1025] {
            with_scratch2(n, |a, b| assert!(a.len() == n && b.len() == n));
        }
    }
    /// Random series and weights for the FFT checks: sparse bursty spend (zeros, spikes) and
    /// decaying or hump-shaped weights, some with negative values (derivative weights).
    fn random_case(n: usize, l: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let x = (0..n)
            .map(|_| {
                let u: f64 = rng.random();
                if u < 0.2 {
                    0.0
                } else if u < 0.25 {
                    rng.random_range(100.0..1000.0)
                } else {
                    rng.random_range(0.0..100.0)
                }
            })
            .collect();
        let peak = rng.random_range(0.0..l as f64);
        let signed = seed.is_multiple_of(3);
        let w = (0..l)
            .map(|i| {
                let d = (i as f64 - peak) / (1.0 + l as f64 / 4.0);
                let v = (-d * d).exp() * rng.random_range(0.5..1.0);
                if signed && i % 2 == 1 {
                    -v
                } else {
                    v
                }
            })
            .collect();
        (x, w)
    }

    #[test]
    fn fft_convolution_matches_direct() {
        let mut cases = vec![
            (1000, 350),
            (1000, 1000),
            (777, 123),
            (52, 52),
            (3, 2),
            (2, 2),
        ];
        // series shorter than the window, l_max 1, odd lengths, lengths at FFT sizes
        cases.extend([(10, 40), (1, 5), (5, 1), (1536, 600), (1537, 300), (64, 9)]);
        for (i, (n, l)) in cases.into_iter().enumerate() {
            let (x, w) = random_case(n, l, i as u64);
            let m = l.min(n);
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            convolve_direct(&x, &w, &mut a);
            fft::convolve_fft(&x, &w[..m], &mut b);
            let ymax = a.iter().fold(0.0f64, |s, v| s.max(v.abs()));
            for t in 0..n {
                assert!(
                    (a[t] - b[t]).abs() <= 1e-12 * ymax,
                    "n={n} l={l} t={t}: {:e} vs {:e}",
                    a[t],
                    b[t]
                );
            }
            // the same input gives the same bits, also on another thread
            let mut c = vec![0.0; n];
            fft::convolve_fft(&x, &w[..m], &mut c);
            assert!(b.iter().zip(&c).all(|(p, q)| p.to_bits() == q.to_bits()));
            let (x2, w2) = (x.clone(), w[..m].to_vec());
            let d = std::thread::spawn(move || {
                let mut d = vec![0.0; x2.len()];
                fft::convolve_fft(&x2, &w2, &mut d);
                d
            })
            .join()
            .expect("thread");
            assert!(b.iter().zip(&d).all(|(p, q)| p.to_bits() == q.to_bits()));
        }
    }

    #[test]
    fn fft_planners_agree_and_kept_spectra_change_nothing() {
        let (x, w) = random_case(1000, 350, 11);
        let mut direct = vec![0.0; 1000];
        convolve_direct(&x, &w, &mut direct);
        let ymax = direct.iter().fold(0.0f64, |s, v| s.max(v.abs()));
        let run = |scalar: bool| {
            fft::use_scalar_planner(scalar);
            let mut y = vec![0.0; 1000];
            fft::convolve_fft(&x, &w, &mut y);
            y
        };
        let (scalar, detected) = (run(true), run(false));
        for t in 0..1000 {
            assert!((scalar[t] - direct[t]).abs() <= 1e-12 * ymax, "t={t}");
            assert!((detected[t] - direct[t]).abs() <= 1e-12 * ymax, "t={t}");
        }
        // more inputs than kept spectra, each convolved twice with different weights and
        // interleaved: every result has the bits of a computation with an empty cache
        let inputs: Vec<Vec<f64>> = (0..12).map(|s| random_case(1000, 1, 100 + s).0).collect();
        let weights = [
            w.clone(),
            w.iter().map(|v| v * 0.5 + 0.1).collect::<Vec<_>>(),
        ];
        let fresh = |x: &[f64], w: &[f64]| {
            fft::use_scalar_planner(false);
            let mut y = vec![0.0; x.len()];
            fft::convolve_fft(x, w, &mut y);
            y
        };
        let expected: Vec<Vec<Vec<f64>>> = inputs
            .iter()
            .map(|x| weights.iter().map(|w| fresh(x, w)).collect())
            .collect();
        fft::use_scalar_planner(false);
        for round in 0..2 {
            for (i, x) in inputs.iter().enumerate() {
                for (j, w) in weights.iter().enumerate() {
                    let mut y = vec![0.0; 1000];
                    fft::convolve_fft(x, w, &mut y);
                    let same = y
                        .iter()
                        .zip(&expected[i][j])
                        .all(|(p, q)| p.to_bits() == q.to_bits());
                    assert!(same, "round {round} input {i} weights {j}");
                }
            }
        }
        // a series that differs from a kept one in one value is not mistaken for it
        let mut x2 = inputs[11].clone();
        x2[500] += 1.0;
        let mut y = vec![0.0; 1000];
        fft::convolve_fft(&x2, &w, &mut y);
        let mut d = vec![0.0; 1000];
        convolve_direct(&x2, &w, &mut d);
        let dmax = d.iter().fold(0.0f64, |s, v| s.max(v.abs()));
        assert!(y.iter().zip(&d).all(|(p, q)| (p - q).abs() <= 1e-12 * dmax));
    }

    #[test]
    fn kept_spectra_stay_within_their_byte_budget() {
        // four long series, each about 3 MB of spectra: fewer are kept, and results do not
        // depend on which are
        let n = 200_000;
        let inputs: Vec<Vec<f64>> = (0..4).map(|s| random_case(n, 1, 300 + s).0).collect();
        let (_, w) = random_case(n, 350, 5);
        let mut first = Vec::new();
        for round in 0..2 {
            for (i, x) in inputs.iter().enumerate() {
                let mut y = vec![0.0; n];
                fft::convolve_fft(x, &w, &mut y);
                let (kept, bytes) = fft::kept_spectra();
                assert!(
                    kept >= 1 && bytes <= fft::KEPT_BYTES.max(bytes / kept),
                    "{kept} {bytes}"
                );
                if round == 0 {
                    let mut d = vec![0.0; n];
                    convolve_direct(x, &w, &mut d);
                    let dmax = d.iter().fold(0.0f64, |s, v| s.max(v.abs()));
                    assert!(y.iter().zip(&d).all(|(p, q)| (p - q).abs() <= 1e-12 * dmax));
                    first.push(y);
                } else {
                    let same = y
                        .iter()
                        .zip(&first[i])
                        .all(|(p, q)| p.to_bits() == q.to_bits());
                    assert!(same, "series {i}");
                }
            }
        }
    }

    #[test]
    fn fft_convolution_edge_cases() {
        // all-zero input: exactly zero; leading zeros: exactly zero outputs before the first
        // spend
        let w: Vec<f64> = (0..300).map(|l| 0.99f64.powi(l)).collect();
        let mut y = vec![1.0; 1000];
        fft::convolve_fft(&[0.0; 1000], &w, &mut y);
        assert!(y.iter().all(|v| *v == 0.0));
        let mut x = vec![0.0; 1000];
        x[400] = 2.0;
        x[401] = 1.0;
        fft::convolve_fft(&x, &w, &mut y);
        assert!(y[..400].iter().all(|v| *v == 0.0));
        assert!((y[400] - 2.0).abs() < 1e-13 && (y[401] - (2.0 * 0.99 + 1.0)).abs() < 1e-13);
        // one lag: a scaling
        fft::convolve_fft(&x, &[0.5], &mut y);
        assert!((y[400] - 1.0).abs() < 1e-15 && y[402].abs() < 1e-15);
        // the dispatcher takes the FFT path for long windows only
        assert!(uses_fft(1000, 350) && uses_fft(1000, 1000) && uses_fft(1000, 70));
        assert!(!uses_fft(1000, 30) && !uses_fft(52, 52) && !uses_fft(1000, 12));
    }

    #[test]
    fn fft_path_from_a_few_dozen_lags_on_long_series() {
        // weekly series of a year: always direct; from 500 periods on, the FFT path from
        // 30–60 lags, and for every longer window too
        assert!((2..=52).all(|l| !uses_fft(52, l)));
        for n in [500, 1000, 2000, 5000] {
            let first = (2..=n)
                .find(|&l| uses_fft(n, l))
                .expect("some window takes the FFT");
            assert!((30..=60).contains(&first), "n={n}: FFT from {first} lags");
            assert!((first..=n).all(|l| uses_fft(n, l)), "n={n}");
        }
    }

    /// Times every FFT layout against the cost model (run with
    /// `cargo test --release -p mmm-transforms layouts -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn layouts() {
        for (n, l) in [
            (1000, 350),
            (997, 350),
            (997, 89),
            (1000, 150),
            (200, 75),
            (5000, 300),
        ] {
            let (x, w) = random_case(n, l, 7);
            let mut y = vec![0.0; n];
            println!("n {n} l {l}: chosen {:?}", fft::Layout::choose(n, l));
            for cand in fft::Layout::candidates(n, l) {
                let t = best_of_us(50, &mut || {
                    fft::convolve_fft_in(&x, &w, &mut y, Some(cand.m))
                });
                println!(
                    "n {n} l {l} {cand:?}: {t:.2} µs, model {:.2}",
                    cand.cost_ns(n) / 1e3
                );
            }
        }
    }

    /// The best time in µs per call of `f` over `runs` runs of 20 calls: the minimum over many
    /// short runs is robust to other load on the machine.
    pub(crate) fn best_of_us(runs: usize, f: &mut dyn FnMut()) -> f64 {
        let mut best = f64::INFINITY;
        for _ in 0..runs {
            let t = std::time::Instant::now();
            for _ in 0..20 {
                f();
            }
            best = best.min(t.elapsed().as_secs_f64() / 20.0);
        }
        best * 1e6
    }

    /// Times the direct and FFT paths around the crossover (run with
    /// `cargo test --release -p mmm-transforms crossover -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn crossover() {
        let time = |f: &mut dyn FnMut()| best_of_us(50, f);
        for n in [200, 500, 1000, 2000, 5000] {
            for l in [30, 50, 70, 100, 150, 200, 250, 300, 400, 600, 1000] {
                if l > n {
                    continue;
                }
                let (x, w) = random_case(n, l, 7);
                let mut y = vec![0.0; n];
                let d = time(&mut || convolve_direct(&x, &w, &mut y));
                let f = time(&mut || fft::convolve_fft(&x, &w, &mut y));
                let cold = time(&mut || {
                    fft::forget_spectra();
                    fft::convolve_fft(&x, &w, &mut y)
                });
                println!(
                    "n {n:5} l {l:5}: direct {d:8.2} µs  fft {f:8.2} µs (new input {cold:8.2})  model: direct {:8.2} fft {:8.2} -> {}",
                    DIRECT_NS_PER_MAC * (n * l) as f64 / 1000.0,
                    fft::fft_cost_ns(n, l) / 1000.0,
                    if uses_fft(n, l) { format!("fft {:?}", fft::Layout::choose(n, l)) } else { "direct".into() }
                );
            }
        }
    }
}
