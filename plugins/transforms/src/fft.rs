//! Causal convolution by FFT for long lag windows (crate-private).
//!
//! `y = w ∗ x` (first `n` outputs of the linear convolution) through real FFTs of a length
//! `N ≥ n + L − 1`, each computed as a complex FFT of length `M = N/2` of the even/odd-packed
//! series (`c_j = v_{2j} + i·v_{2j+1}`) plus an O(M) split, so the whole convolution costs three
//! complex FFTs of length `M`:
//!
//! ```text
//! C = DFT_M(c),  E_k = (C_k + C̄_{M−k})/2,  O_k = (C_k − C̄_{M−k})/(2i),
//! V_k = E_k + t_k·O_k  (k = 0 … M),  t_k = e^{−2πik/N}          (forward, for x and for w)
//! Y_k = X_k·W_k
//! E_k = (Y_k + Ȳ_{M−k})/2,  O_k = (Y_k − Ȳ_{M−k})·t̄_k/2,  D_k = E_k + i·O_k   (k < M)
//! y_{2j} + i·y_{2j+1} = IDFT_M(D)_j / M                          (inverse)
//! ```
//!
//! The FFTs are `rustfft`'s *scalar* planner (`FftPlannerScalar`): pure `f64` arithmetic,
//! the same algorithm for a given length on every machine, so results are bit-identical on
//! every x86-64 (its SSE/AVX planners are chosen by CPU and the AVX one uses fused
//! multiply–adds, which would make the bits depend on the machine). Lengths are `2^a`,
//! `3·2^a` or `9·2^a` (radix 2/3/4 butterflies, 0.55–0.6 ns·M·log₂M on the project's Zen 3).
//!
//! Accuracy: the error of an FFT convolution is relative to the norms of the whole series,
//! not to each output: `|Δy_t| ≲ c·log₂N·u·‖w‖₂·‖x‖₂`, tested to be below 1e-12·max|y| (and
//! far below the 1e-9 of the reference fixtures). Outputs before the first nonzero input are
//! exactly 0 (the leading zeros are not transformed).
//!
//! Plans, twiddles and buffers are kept per thread and grow to the longest length seen, so
//! the steady state allocates nothing.

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlannerScalar};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

type C64 = Complex<f64>;

/// Forward and inverse plans of one complex length `M` and the split twiddles
/// `t_k = e^{−2πik/(2M)}`, `k = 0 … M`.
struct Plan {
    fwd: Arc<dyn Fft<f64>>,
    inv: Arc<dyn Fft<f64>>,
    tw: Vec<C64>,
}

/// Per-thread plans (by `M`) and buffers.
#[derive(Default)]
struct Cache {
    planner: Option<FftPlannerScalar<f64>>,
    plans: HashMap<usize, Plan>,
    bx: Vec<C64>,
    bw: Vec<C64>,
    scratch: Vec<C64>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// The smallest FFT length `N = 2M ≥ len` with `M` a power of two times 1, 3 or 9.
pub(crate) fn fft_len(len: usize) -> usize {
    let m_min = len.div_ceil(2).max(1);
    let mut best = usize::MAX;
    for f in [1usize, 3, 9] {
        let mut m = f;
        while m < m_min {
            m *= 2;
        }
        best = best.min(m);
    }
    2 * best
}

/// Estimated time in ns of [`convolve_fft`] for `n` outputs and `l` lags: three complex FFTs
/// of length `M` (≈ 0.65 ns·M·log₂M each) and the O(M) packing, splitting and product
/// (≈ 7 ns per `k`), fitted to timings on the project's Zen 3 (the ignored test
/// `util::tests::crossover` prints them).
pub(crate) fn fft_cost_ns(n: usize, l: usize) -> f64 {
    let m = (fft_len(n + l - 1) / 2) as f64;
    3.0 * 0.65 * m * m.log2().max(1.0) + 7.0 * m
}

/// Forward real FFT of `v` (zero-padded to `2M`) into `buf[0 ..= M]` (see the module docs).
fn forward(v: &[f64], plan: &Plan, buf: &mut [C64], scratch: &mut [C64]) {
    let m = plan.tw.len() - 1;
    let (pairs, rest) = v.split_at(v.len() & !1);
    let used = pairs.len() / 2;
    for (b, p) in buf[..used].iter_mut().zip(pairs.chunks_exact(2)) {
        *b = C64::new(p[0], p[1]);
    }
    let mut used = used;
    if let [last] = rest {
        buf[used] = C64::new(*last, 0.0);
        used += 1;
    }
    buf[used..m].fill(C64::new(0.0, 0.0));
    plan.fwd.process_with_scratch(&mut buf[..m], scratch);
    // split in place, k and M − k together (buf[M] receives k = M)
    let c0 = buf[0];
    buf[0] = C64::new(c0.re + c0.im, 0.0);
    buf[m] = C64::new(c0.re - c0.im, 0.0);
    let (lo, hi) = buf[1..m].split_at_mut(m / 2);
    // lo[i] = C_{1+i}, hi reversed: hi[len−1−i] = C_{M−1−i}; pair k = 1+i with M − k
    let tw = &plan.tw;
    for (i, a_ref) in lo.iter_mut().enumerate() {
        let k = i + 1;
        let a = *a_ref;
        if k == m - k {
            *a_ref = split(a, a, tw[k]);
            continue;
        }
        let b_ref = &mut hi[m - k - 1 - m / 2];
        let b = *b_ref;
        *a_ref = split(a, b, tw[k]);
        *b_ref = split(b, a, tw[m - k]);
    }
}

/// `V_k = E_k + t·O_k`, `E_k = (a + b̄)/2`, `O_k = (a − b̄)/(2i)` for `a = C_k`, `b = C_{M−k}`.
#[inline(always)]
fn split(a: C64, b: C64, t: C64) -> C64 {
    let (er, ei) = (0.5 * (a.re + b.re), 0.5 * (a.im - b.im));
    // (a − b̄)/(2i) = ((a.im + b.im) − i·(a.re − b.re))/2
    let (or, oi) = (0.5 * (a.im + b.im), -0.5 * (a.re - b.re));
    C64::new(er + (t.re * or - t.im * oi), ei + (t.re * oi + t.im * or))
}

/// `out_t = Σ_{l < min(L, t+1)} w_l·x_{t−l}` for `t < n = min(x.len(), out.len())` by FFT
/// (see the module docs). Needs `1 ≤ L ≤ n`.
pub(crate) fn convolve_fft(x: &[f64], w: &[f64], out: &mut [f64]) {
    let n = x.len().min(out.len());
    // outputs before the first nonzero input are exactly 0, and need no transform
    let Some(first) = x[..n].iter().position(|v| *v != 0.0) else {
        out[..n].fill(0.0);
        return;
    };
    out[..first].fill(0.0);
    let (x, out) = (&x[first..n], &mut out[first..n]);
    let n = x.len();
    let w = &w[..w.len().min(n)];
    let big_n = fft_len(n + w.len() - 1);
    let m = big_n / 2;
    CACHE.with_borrow_mut(|cache| {
        let Cache {
            planner,
            plans,
            bx,
            bw,
            scratch,
        } = cache;
        let plan = plans.entry(m).or_insert_with(|| {
            let p = planner.get_or_insert_with(FftPlannerScalar::new);
            let tw = (0..=m)
                .map(|k| {
                    let a = -std::f64::consts::PI * k as f64 / m as f64;
                    C64::new(a.cos(), a.sin())
                })
                .collect();
            Plan {
                fwd: p.plan_fft_forward(m),
                inv: p.plan_fft_inverse(m),
                tw,
            }
        });
        let need = plan
            .fwd
            .get_inplace_scratch_len()
            .max(plan.inv.get_inplace_scratch_len());
        if scratch.len() < need {
            scratch.resize(need, C64::new(0.0, 0.0));
        }
        if bx.len() < m + 1 {
            bx.resize(m + 1, C64::new(0.0, 0.0));
            bw.resize(m + 1, C64::new(0.0, 0.0));
        }
        let (bx, bw, scratch) = (&mut bx[..m + 1], &mut bw[..m + 1], &mut scratch[..need]);
        forward(x, plan, bx, scratch);
        forward(w, plan, bw, scratch);
        for (a, b) in bx.iter_mut().zip(bw.iter()) {
            *a *= *b;
        }
        // inverse split into bw[..M]: D_k = E_k + i·O_k, E_k = (a + b)/2, O_k = (a − b)·t̄_k/2
        // with a = Y_k, b = Ȳ_{M−k}
        for (k, (d, t)) in bw[..m].iter_mut().zip(&plan.tw[..m]).enumerate() {
            let (a, y) = (bx[k], bx[m - k]);
            let (er, ei) = (0.5 * (a.re + y.re), 0.5 * (a.im - y.im));
            let (dr, di) = (0.5 * (a.re - y.re), 0.5 * (a.im + y.im));
            let (or, oi) = (dr * t.re + di * t.im, di * t.re - dr * t.im);
            *d = C64::new(er - oi, ei + or);
        }
        plan.inv.process_with_scratch(&mut bw[..m], scratch);
        let scale = 1.0 / m as f64;
        for (o, d) in out.chunks_mut(2).zip(bw.iter()) {
            o[0] = d.re * scale;
            if let Some(o1) = o.get_mut(1) {
                *o1 = d.im * scale;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_smooth_and_large_enough() {
        assert_eq!(fft_len(1), 2);
        assert_eq!(fft_len(1349), 1536);
        assert_eq!(fft_len(1025), 1152);
        assert_eq!(fft_len(2048), 2048);
        for len in 1..3000 {
            let n = fft_len(len);
            assert!(n >= len && n.is_multiple_of(2));
        }
    }
}
