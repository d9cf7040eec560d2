//! Moving-block bootstrap for time series (Künsch 1989), seeded per resample so that results do
//! not depend on the number of threads.
//!
//! A resample of `n` periods concatenates blocks of `block_length` consecutive periods whose
//! starts are drawn uniformly from `0 … n − block_length`, truncated to `n` rows.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Row indices of bootstrap resample number `b` (deterministic in `seed` and `b`).
pub fn block_resample(n: usize, block_length: usize, seed: u64, b: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(b + 1);
    let l = block_length.clamp(1, n.max(1));
    let mut rows = Vec::with_capacity(n + l);
    while rows.len() < n {
        let start = rng.random_range(0..=n - l);
        rows.extend(start..start + l);
    }
    rows.truncate(n);
    rows
}

/// Default block length `⌈n^(1/3)⌉`, the usual rate for the moving-block bootstrap.
pub fn default_block_length(n: usize) -> usize {
    (n as f64).cbrt().ceil() as usize
}

/// The `q`-quantile of `v` (linear interpolation between order statistics, numpy's default).
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(|a, b| a.total_cmp(b));
    let pos = q * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resamples_are_blocks_and_deterministic() {
        let a = block_resample(50, 5, 3, 7);
        assert_eq!(a.len(), 50);
        assert_eq!(a, block_resample(50, 5, 3, 7));
        assert_ne!(a, block_resample(50, 5, 3, 8));
        for chunk in a.chunks(5) {
            for w in chunk.windows(2) {
                assert_eq!(w[1], w[0] + 1);
            }
        }
    }

    #[test]
    fn quantile_matches_numpy_linear() {
        // numpy.quantile([1, 2, 3, 4], 0.25) == 1.75
        assert!((quantile(&[4.0, 1.0, 3.0, 2.0], 0.25) - 1.75).abs() < 1e-12);
        assert_eq!(quantile(&[5.0], 0.9), 5.0);
    }
}
