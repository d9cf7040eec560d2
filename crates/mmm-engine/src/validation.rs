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

use mmm_core::causal::{CausalEstimate, CausalInput, CausalStructure};
use mmm_core::dataset::ModelData;
use mmm_core::error::{MmmError, Result};
use mmm_core::metrics::{decomp_rssd, fit_metrics, FitMetrics};
use mmm_core::model::Model;
use mmm_core::validation::ValidationSpec;
use serde::Serialize;

/// Metrics of one train/test fit.
#[derive(Debug, Clone, Serialize)]
pub struct SplitMetrics {
    /// Number of training periods.
    pub n_train: usize,
    /// Number of test periods.
    pub n_test: usize,
    /// First test date.
    pub test_start: String,
    /// Metrics on the training periods.
    pub train: FitMetrics,
    /// Metrics on the test periods (out of sample); `adj_r2` is null there (the adjustment for
    /// fitted parameters has no meaning on held-out periods).
    pub test: FitMetrics,
    /// Robyn's DECOMP.RSSD on the training periods.
    pub decomp_rssd: f64,
}

/// The results.json `validation` section.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationResult {
    /// The chronological split.
    pub split: SplitMetrics,
    /// Rolling-origin folds, when asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub folds: Vec<SplitMetrics>,
    /// Mean test metrics over folds (RMSE, NRMSE, MAPE), when there are folds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folds_mean: Option<FoldsMean>,
}

/// Mean test metrics over rolling-origin folds.
#[derive(Debug, Clone, Serialize)]
pub struct FoldsMean {
    /// Mean test RMSE.
    pub rmse: f64,
    /// Mean test NRMSE.
    pub nrmse: f64,
    /// Mean test MAE.
    pub mae: f64,
    /// Mean test MAPE (folds where it is defined).
    pub mape: Option<f64>,
}

/// Fits the structure on the first `n_train` periods and scores the next `n_test`.
pub fn fit_split(
    data: &ModelData,
    causal: &dyn CausalStructure,
    model: &dyn Model,
    seed: u64,
    n_train: usize,
    n_test: usize,
) -> Result<(SplitMetrics, CausalEstimate)> {
    let train_rows: Vec<usize> = (0..n_train).collect();
    let train = data.subset(&train_rows);
    let est = causal.estimate(&CausalInput {
        data: &train,
        model,
        seed,
    })?;
    let pred = predict(data, &est)?;
    let stage = est
        .outcome_stage()
        .ok_or_else(|| MmmError::Compute("no outcome stage".into()))?;
    let k = stage.fitted.coefficients.len();
    let train_m = fit_metrics(&data.y[..n_train], &pred[..n_train], k);
    let end = n_train + n_test;
    let mut test_m = fit_metrics(&data.y[n_train..end], &pred[n_train..end], k);
    // adjusting R² for the parameters fitted has no meaning on held-out periods
    test_m.adj_r2 = None;
    let contributions: Vec<f64> = est
        .effects
        .iter()
        .map(|e| e.contribution(&train.transformed[e.channel]))
        .collect();
    let spends: Vec<f64> = est
        .effects
        .iter()
        .map(|e| train.media[e.channel].spend.iter().sum())
        .collect();
    Ok((
        SplitMetrics {
            n_train,
            n_test,
            test_start: data.dates[n_train].to_string(),
            train: train_m,
            test: test_m,
            decomp_rssd: decomp_rssd(&contributions, &spends),
        },
        est,
    ))
}

/// Predictions over all periods of `data` from the outcome stage's coefficients.
pub fn predict(data: &ModelData, est: &CausalEstimate) -> Result<Vec<f64>> {
    let stage = est
        .outcome_stage()
        .ok_or_else(|| MmmError::Compute("no outcome stage".into()))?;
    let mut pred = vec![0.0; data.n_obs()];
    for (col, coef) in stage.design.columns.iter().zip(&stage.fitted.coefficients) {
        let v = data.column_values(col).ok_or_else(|| {
            MmmError::Compute(format!(
                "validation cannot predict column '{}' outside the training periods",
                col.name
            ))
        })?;
        for (p, x) in pred.iter_mut().zip(v) {
            *p += coef.estimate * x;
        }
    }
    Ok(pred)
}

/// Runs the split and every fold.
pub fn validate(
    spec: &ValidationSpec,
    data: &ModelData,
    causal: &dyn CausalStructure,
    model: &dyn Model,
    seed: u64,
) -> Result<ValidationResult> {
    let n = data.n_obs();
    let (n_train, folds) = spec.windows(n);
    let (split, _) = fit_split(data, causal, model, seed, n_train, n - n_train)?;
    let folds: Vec<SplitMetrics> = folds
        .iter()
        .map(|&(tr, te)| fit_split(data, causal, model, seed, tr, te).map(|r| r.0))
        .collect::<Result<_>>()?;
    let folds_mean = (!folds.is_empty()).then(|| {
        let k = folds.len() as f64;
        let mapes: Vec<f64> = folds.iter().filter_map(|f| f.test.mape).collect();
        FoldsMean {
            rmse: folds.iter().map(|f| f.test.rmse).sum::<f64>() / k,
            nrmse: folds.iter().map(|f| f.test.nrmse).sum::<f64>() / k,
            mae: folds.iter().map(|f| f.test.mae).sum::<f64>() / k,
            mape: (!mapes.is_empty()).then(|| mapes.iter().sum::<f64>() / mapes.len() as f64),
        }
    });
    Ok(ValidationResult {
        split,
        folds,
        folds_mean,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The folds' test windows tile the last h periods exactly, in order, for any h and k
    /// (h = 31, k = 3 used to leave one period in no fold).
    #[test]
    fn folds_tile_the_test_periods() {
        for n in [40usize, 104, 156] {
            for fraction in [0.1, 0.2, 0.3] {
                for k in 1..=12u32 {
                    let spec = ValidationSpec {
                        test_fraction: fraction,
                        folds: Some(k),
                    };
                    let (n_train, folds) = spec.windows(n);
                    let h = n - n_train;
                    assert_eq!(folds.len(), (k as usize).min(h));
                    let mut next = n_train;
                    for (start, w) in &folds {
                        assert_eq!(*start, next, "n {n}, h {h}, k {k}: {folds:?}");
                        assert!(*w >= h / folds.len() && *w <= h.div_ceil(folds.len()));
                        next = start + w;
                    }
                    assert_eq!(next, n, "n {n}, h {h}, k {k}: {folds:?}");
                }
            }
        }
        let (n_train, folds) = ValidationSpec {
            test_fraction: 31.0 / 156.0,
            folds: Some(3),
        }
        .windows(156);
        assert_eq!(n_train, 125);
        assert_eq!(folds, vec![(125, 11), (136, 10), (146, 10)]);
    }
}
