//! Numerical helpers shared by the transform plugins (crate-private).

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

/// Causal convolution `out_t = Σ_{l < min(L, t+1)} w_l·x_{t−l}` (`L = w.len()`), written as a
/// sum of scaled copies of `w` (one axpy per non-zero input, which vectorizes well and skips
/// the zero spend that media series are full of). Trailing exact zeros of `w` are skipped.
pub(crate) fn convolve(x: &[f64], w: &[f64], out: &mut [f64]) {
    let n = x.len().min(out.len());
    let out = &mut out[..n];
    out.fill(0.0);
    let l = w.iter().rposition(|v| *v != 0.0).map_or(0, |i| i + 1);
    let w = &w[..l];
    for (s, &xs) in x[..n].iter().enumerate() {
        if xs == 0.0 {
            continue;
        }
        let m = l.min(n - s);
        for (o, wl) in out[s..s + m].iter_mut().zip(&w[..m]) {
            *o += xs * wl;
        }
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

/// `b^e` for `b ≥ 0`, with multiplications for the common exponents 1, 2 and 3.
#[inline]
pub(crate) fn pow(b: f64, e: f64) -> f64 {
    if e == 1.0 {
        b
    } else if e == 2.0 {
        b * b
    } else if e == 3.0 {
        b * b * b
    } else {
        b.powf(e)
    }
}

/// Hill curve `h = 1 / (1 + (k/x)^s) = x^s / (x^s + k^s)` and `q = h·(1 − h)`, for `x ≥ 0`
/// (`x ≤ 0` gives `h = 0`). Written with `(k/x)^s` so that it neither overflows for large `x`
/// nor gives `0/0`; `k = 0` gives `h = 1` for every `x > 0`.
#[inline]
pub(crate) fn hill(x: f64, k: f64, s: f64) -> (f64, f64) {
    if x <= 0.0 || x.is_nan() {
        return (0.0, 0.0);
    }
    let r = pow(k / x, s);
    let h = 1.0 / (1.0 + r);
    // h(1−h) = r/(1+r)^2; compute without cancellation when h ≈ 1.
    let q = if r.is_finite() { h * h * r } else { 0.0 };
    (h, q)
}

/// `∂h/∂x` of [`hill`]: `s·h(1−h)/x` for `x > 0`; at `x = 0` the one-sided limit
/// (`0` for `s > 1`, `1/k` for `s = 1`, `+∞` for `s < 1`); `0` when `k = 0` or `x < 0`.
#[inline]
pub(crate) fn hill_dx(x: f64, k: f64, s: f64) -> f64 {
    if k <= 0.0 || x < 0.0 || x.is_nan() {
        return 0.0;
    }
    if x > 0.0 {
        let (_, q) = hill(x, k, s);
        s * q / x
    } else if s > 1.0 {
        0.0
    } else if s == 1.0 {
        1.0 / k
    } else {
        f64::INFINITY
    }
}

#[cfg(test)]
mod tests {
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
    fn scratch_sizes() {
        for n in [0, 1, 64, 65, 1024, 1025] {
            with_scratch2(n, |a, b| assert!(a.len() == n && b.len() == n));
        }
    }
}
