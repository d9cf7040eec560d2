//! Credible intervals from posterior draws.
//!
//! # Formula
//! The highest density interval of probability `p` over `S` finite draws, sorted as
//! `x_(0) ≤ … ≤ x_(S−1)`, is the narrowest window of `k + 1` consecutive draws,
//! ```text
//! HDI_p = [x_(i*), x_(i*+k)],   k = min(⌊p·S⌋, S − 1),   i* = argmin_i (x_(i+k) − x_(i))
//! ```
//! the convention of ArviZ's unimodal `hdi` (which PyMC-Marketing reports); ties go to the
//! lowest `i`.

/// Highest density interval of probability `prob` over the finite values of `draws`
/// (see the module docs); `(NaN, NaN)` when no value is finite.
pub fn hdi(draws: &[f64], prob: f64) -> (f64, f64) {
    let mut s: Vec<f64> = draws.iter().copied().filter(|v| v.is_finite()).collect();
    if s.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    let k = ((prob * n as f64).floor() as usize).min(n - 1);
    let mut best = (f64::INFINITY, 0);
    for i in 0..n - k {
        let width = s[i + k] - s[i];
        if width < best.0 {
            best = (width, i);
        }
    }
    (s[best.1], s[best.1 + k])
}

#[cfg(test)]
mod tests {
    use super::hdi;

    #[test]
    fn narrowest_window_of_floor_p_s_plus_one_draws() {
        // 10 draws, p = 0.5: windows of 6 draws; the dense cluster 1.0..1.5 wins
        let d = [9.0, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 5.0, 7.0, 8.0];
        assert_eq!(hdi(&d, 0.5), (1.0, 1.5));
        // p = 1 keeps every draw
        assert_eq!(hdi(&d, 1.0), (1.0, 9.0));
    }

    #[test]
    fn skips_non_finite_draws_and_handles_empty_input() {
        let d = [f64::NAN, 2.0, f64::INFINITY, 3.0];
        assert_eq!(hdi(&d, 0.9), (2.0, 3.0));
        let (a, b) = hdi(&[f64::NAN], 0.9);
        assert!(a.is_nan() && b.is_nan());
    }

    #[test]
    fn matches_the_normal_quantiles_for_many_symmetric_draws() {
        // evenly spaced normal quantiles: the 90% HDI is close to ±1.6449
        let s = 20_001;
        let draws: Vec<f64> = (0..s)
            .map(|i| {
                let u = (i as f64 + 0.5) / s as f64;
                statrs::function::erf::erfc_inv(2.0 * (1.0 - u)) * std::f64::consts::SQRT_2
            })
            .collect();
        let (lo, hi) = hdi(&draws, 0.9);
        assert!(
            (lo + 1.644_854).abs() < 2e-3 && (hi - 1.644_854).abs() < 2e-3,
            "{lo} {hi}"
        );
    }
}
