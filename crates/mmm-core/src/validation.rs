//! Honest validation: chronological train/test split and rolling-origin cross-validation.
//! Never a random split: a marketing time series has carry-over and trend, so the test periods
//! always come after the training periods.
//!
//! ```text
//! split:    train = periods [0, n − h),  test = [n − h, n),  h = round(test_fraction · n)
//! rolling:  fold f = 0…k−1:  test = [s_f, s_f + w_f),  train = [0, s_f),
//!           w_f = ⌊h / k⌋ + [f < h mod k],  s_f = n − h + Σ_{g<f} w_g
//!           (the folds' test windows tile the last h periods exactly; k ≤ h)
//! ```
//! Transforms keep what they learned on the full series (adstock carries spend from training
//! periods into test periods, as it does in reality). Test predictions are `ŷ_t = Σ_j β_j·x_tj`
//! with the outcome stage's coefficients.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The spec's `validation` section.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationSpec {
    /// Share of the last periods held out as the test set (default 0.2).
    #[serde(default = "default_test_fraction")]
    #[schemars(extend("exclusiveMinimum" = 0.0, "exclusiveMaximum" = 1.0))]
    pub test_fraction: f64,
    /// Number of rolling-origin folds over the test periods (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub folds: Option<u32>,
}

fn default_test_fraction() -> f64 {
    0.2
}

impl ValidationSpec {
    /// Number of test periods `h`.
    pub fn n_test(&self, n: usize) -> usize {
        ((self.test_fraction * n as f64).round() as usize).clamp(1, n.saturating_sub(2))
    }

    /// `(n_train, n_test)` of the split and of each fold.
    pub fn windows(&self, n: usize) -> (usize, Vec<(usize, usize)>) {
        let h = self.n_test(n);
        let folds = match self.folds {
            Some(k) if k > 0 => {
                // at most one fold per test period; the first h mod k folds get one period more
                let k = (k as usize).min(h);
                let (base, extra) = (h / k, h % k);
                let mut start = n - h;
                (0..k)
                    .map(|f| {
                        let w = base + usize::from(f < extra);
                        let fold = (start, w);
                        start += w;
                        fold
                    })
                    .filter(|(tr, _)| *tr > 1)
                    .collect()
            }
            _ => vec![],
        };
        (n - h, folds)
    }
}
