//! Sums and dot products for hot loops: four independent partial sums, so the compiler keeps
//! them in vector registers instead of waiting on every addition of one serial sum (a
//! 4-cycle latency per element). The summation order is fixed, so results are deterministic,
//! though not bit-identical to a serial `iter().sum()`.
//!
//! # Formula
//! ```text
//! dot(a, b) = (s₀ + s₁) + (s₂ + s₃) + Σ_{i ≥ 4⌊n/4⌋} aᵢ·bᵢ,    s_k = Σ_{j} a_{4j+k}·b_{4j+k}
//! sum(a)    = dot(a, 1)   (the same order)
//! ```

/// `Σ aᵢ·bᵢ` over the shorter of the two slices (see the module formula).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// `Σ aᵢ` (see the module formula).
#[inline]
pub fn sum(a: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut c = a.chunks_exact(4);
    for x in &mut c {
        for k in 0..4 {
            acc[k] += x[k];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + c.remainder().iter().sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact on integers (every partial sum representable), for every length around the
    /// block size, and over the shorter slice.
    #[test]
    fn dot_and_sum_are_exact_on_integers() {
        for n in 0..13 {
            let a: Vec<f64> = (0..n).map(|i| (i * 3 + 1) as f64).collect();
            let b: Vec<f64> = (0..n + 2).map(|i| (7 - i as i64) as f64).collect();
            let want: f64 = (0..n).map(|i| a[i] * b[i]).sum();
            assert_eq!(dot(&a, &b), want, "n = {n}");
            assert_eq!(sum(&a), a.iter().sum::<f64>(), "n = {n}");
        }
    }
}
