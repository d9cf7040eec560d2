//! Moving-block bootstrap for time series (Künsch 1989), seeded per resample so that results do
//! not depend on the number of threads.
//!
//! A resample of `n` periods concatenates blocks of `block_length` consecutive periods whose
//! starts are drawn uniformly from `0 … n − block_length`, truncated to `n` rows.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// How bootstrap draws become an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    /// The percentile interval widened for small samples (Hesterberg 2015's expanded
    /// percentile interval, with the regression's residual degrees of freedom).
    #[default]
    Expanded,
    /// The plain percentile interval `[q_{α/2}, q_{1−α/2}]` of the draws.
    Percentile,
}

/// An interval rule: the quantile levels at which the draws are read.
///
/// # Formula
/// ```text
/// percentile:  [q(α/2), q(1 − α/2)]
/// expanded:    [q(α'/2), q(1 − α'/2)],   Φ⁻¹(1 − α'/2) = √(n/ν) · t_ν⁻¹(1 − α/2),   ν = n − p
/// ```
/// with `α = 1 − level`, `q` the draws' quantile, `n` the periods and `p` the coefficients of
/// the larger stage. A percentile interval is too narrow in small samples for two reasons the
/// expansion undoes (Hesterberg 2015, "What teachers should know about the bootstrap", The
/// American Statistician 69(4), §3.5): the bootstrap spread is the plug-in (divisor-`n`) spread,
/// like the HC0 sandwich variance a pairs bootstrap of a regression reproduces, which the
/// factor `√(n/ν)` corrects as HC1 does (MacKinnon & White 1985); and it takes normal
/// quantiles where a studentized statistic has `t_ν` ones. Hesterberg's rule uses `ν = n − 1`
/// for a mean; a regression with `p` coefficients has `ν = n − p`.
#[derive(Debug, Clone, Copy)]
pub struct BootstrapInterval {
    lower: f64,
    upper: f64,
}

impl BootstrapInterval {
    /// The rule for `method` at `level` with `n` periods and `p` coefficients.
    pub fn new(method: IntervalMethod, level: f64, n: usize, p: usize) -> Self {
        let alpha = 1.0 - level;
        let tail = match method {
            IntervalMethod::Percentile => alpha / 2.0,
            IntervalMethod::Expanded => expanded_tail(alpha, n, p),
        };
        BootstrapInterval {
            lower: tail,
            upper: 1.0 - tail,
        }
    }

    /// The quantile levels `(lower, upper)` the draws are read at.
    pub fn levels(&self) -> (f64, f64) {
        (self.lower, self.upper)
    }

    /// The interval of `draws` (non-finite draws ignored). `_point` is the estimate the draws
    /// scatter around (kept for rules that center on it).
    pub fn interval(&self, draws: &[f64], _point: f64) -> (f64, f64) {
        (quantile(draws, self.lower), quantile(draws, self.upper))
    }
}

/// The expanded percentile interval's tail probability `α'/2` (see [`BootstrapInterval`]);
/// `α/2` when `ν = n − p < 1`.
pub fn expanded_tail(alpha: f64, n: usize, p: usize) -> f64 {
    if n <= p {
        return alpha / 2.0;
    }
    let nu = (n - p) as f64;
    let z = match StudentsT::new(0.0, 1.0, nu) {
        Ok(t) => (n as f64 / nu).sqrt() * t.inverse_cdf(1.0 - alpha / 2.0),
        Err(_) => return alpha / 2.0,
    };
    match Normal::new(0.0, 1.0) {
        Ok(normal) => 1.0 - normal.cdf(z),
        Err(_) => alpha / 2.0,
    }
}

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
    fn expanded_tail_matches_scipy() {
        // scipy: z = sqrt(156/141)*t.ppf(0.975, 141); 1 - norm.cdf(z)
        let tail = expanded_tail(0.05, 156, 15);
        let reference = 0.018_788_910_325_688_413;
        assert!((tail - reference).abs() < 1e-9, "{tail}");
        // Hesterberg's mean case (p = 1) at n = 10
        assert!((expanded_tail(0.05, 10, 1) - 0.008_550_639_024_406_337).abs() < 1e-9);
        assert_eq!(expanded_tail(0.05, 5, 5), 0.025);
        let pct = BootstrapInterval::new(IntervalMethod::Percentile, 0.9, 100, 3).levels();
        assert!((pct.0 - 0.05).abs() < 1e-15 && (pct.1 - 0.95).abs() < 1e-15);
    }

    #[test]
    fn quantile_matches_numpy_linear() {
        // numpy.quantile([1, 2, 3, 4], 0.25) == 1.75
        assert!((quantile(&[4.0, 1.0, 3.0, 2.0], 0.25) - 1.75).abs() < 1e-12);
        assert_eq!(quantile(&[5.0], 0.9), 5.0);
    }
}
