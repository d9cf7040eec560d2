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
//! with the outcome stage's coefficients, except that a media column whose transforms were
//! sampled (a Bayesian posterior with per-draw chain parameters) enters as the posterior mean of
//! its per-draw terms, `(1/D)·Σ_d β^(d)·f(c·x; θ^(d))_t` (`c` the model's spend scaling), and a
//! joint geo fit predicts each geo and sums them ([`predict_geos`]).

use mmm_core::causal::{CausalEstimate, CausalInput, CausalStructure};
use mmm_core::dataset::ModelData;
use mmm_core::error::{MmmError, Result};
use mmm_core::metrics::{decomp_rssd, fit_metrics, FitMetrics};
use mmm_core::model::Model;
use mmm_core::transform::ChainWorkspace;
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

/// Predictions over all periods of `data` from the outcome stage's coefficients (for a joint
/// geo fit, the sum of the geos' predictions, [`predict_geos`]).
pub fn predict(data: &ModelData, est: &CausalEstimate) -> Result<Vec<f64>> {
    let stage = est
        .outcome_stage()
        .ok_or_else(|| MmmError::Compute("no outcome stage".into()))?;
    let posterior = stage.fitted.posterior();
    if let Some(post) = posterior.as_ref().filter(|p| p.is_geo()) {
        return predict_geos(data, &stage.design, post);
    }
    let mut pred = vec![0.0; data.n_obs()];
    for (j, (col, coef)) in stage
        .design
        .columns
        .iter()
        .zip(&stage.fitted.coefficients)
        .enumerate()
    {
        // a media column with sampled transforms: its per-draw terms, not the spec's chain
        let sampled = posterior.as_ref().and_then(|p| {
            p.media.iter().find(|m| {
                m.column == j
                    && !m.coefficient.is_empty()
                    && m.chain_params.len() == m.coefficient.len()
            })
        });
        if let Some(m) = sampled {
            let term = media_term(data, m, &data.media[m.channel].spend, m.input_scale, None);
            for (p, v) in pred.iter_mut().zip(term) {
                *p += v;
            }
            continue;
        }
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

/// Predictions of a joint geo fit over all periods of `data`: per geo its non-media columns'
/// coefficients on its own values and, per posterior draw, each channel's term on its own spend,
/// summed over the geos and averaged over the draws:
///
/// ```text
/// ŷ_t = Σ_g [ Σ_j b_{g,j}·v_{g,t,j} + (1/D)·Σ_d Σ_c β^(d)_{g,c}·f_c(a_{g,c}·x_{g,c}; θ^(d)_{g,c})_t ]
/// ```
///
/// (`b` = [`mmm_core::model::PosteriorGeo::coefficients`], `a` =
/// [`mmm_core::model::PosteriorMediaGeo::spend_scale`]; a fixed-effects fit's draws are those of
/// its sampling distribution, whose mean is its estimate); the chains run over the whole series,
/// so carry-over from the training periods reaches the test periods.
pub fn predict_geos(
    data: &ModelData,
    design: &mmm_core::model::Design,
    post: &mmm_core::model::Posterior,
) -> Result<Vec<f64>> {
    let n = data.n_obs();
    let unable = |why: &str| {
        MmmError::Compute(format!(
            "validation cannot predict the geo fit outside its training periods: {why}"
        ))
    };
    if post.geos.len() != data.geos.len() {
        return Err(unable("its geos are not the data's"));
    }
    let non_media: Vec<usize> = (0..design.n_cols())
        .filter(|&j| design.columns[j].channel.is_none())
        .collect();
    let mut pred = vec![0.0; n];
    for (pg, series) in post.geos.iter().zip(data.geos.iter()) {
        if pg.coefficients.len() != design.n_cols() || series.regressors.len() != non_media.len() {
            return Err(unable("the model gives no per-geo coefficients"));
        }
        for (values, &j) in series.regressors.iter().zip(&non_media) {
            let b = pg.coefficients[j];
            for (p, v) in pred.iter_mut().zip(values) {
                *p += b * v;
            }
        }
    }
    for m in &post.media {
        for (mg, series) in m.geos.iter().zip(data.geos.iter()) {
            let draws = mg.coefficient.len();
            if mg.spend_scale <= 0.0 || draws == 0 {
                return Err(unable("the model gives no per-geo spend scale"));
            }
            if mg.chain_params.len() != draws && m.chain_params.len() != draws {
                return Err(unable("the posterior has no chain parameters"));
            }
            let spend = &series.spend[m.channel];
            let term = media_term(data, m, spend, mg.spend_scale, Some(mg));
            for (p, v) in pred.iter_mut().zip(term) {
                *p += v;
            }
        }
    }
    Ok(pred)
}

/// `(1/D)·Σ_d β^(d)·f(a·x; θ^(d))_t` of a sampled media column over the series `x` (the
/// channel's, or one geo's with that geo's coefficients and, when it has its own, chains).
fn media_term(
    data: &ModelData,
    m: &mmm_core::model::PosteriorMedia,
    spend: &[f64],
    scale: f64,
    geo: Option<&mmm_core::model::PosteriorMediaGeo>,
) -> Vec<f64> {
    let n = spend.len();
    let coefficient = geo.map_or(&m.coefficient, |g| &g.coefficient);
    let draws = coefficient.len();
    let mut chain = data.media[m.channel].chain.clone();
    let mut ws = ChainWorkspace::new(&chain, n);
    let x: Vec<f64> = spend.iter().map(|s| scale * s).collect();
    let mut f = vec![0.0; n];
    let mut out = vec![0.0; n];
    let mut previous: Option<&Vec<f64>> = None;
    for d in 0..draws {
        let own = geo.and_then(|g| g.chain_params.get(d));
        let theta = own.or(m.chain_params.get(d));
        // draws that share their chain parameters (a fixed-effects fit's, all of them) share
        // its output: the chain runs once per distinct parameter vector in a row
        if d == 0 || theta != previous {
            if let Some(theta) = theta {
                chain.set_params(theta);
            }
            chain.apply(&x, &mut f, &mut ws);
        }
        previous = theta;
        let w = coefficient[d] / draws as f64;
        for (o, v) in out.iter_mut().zip(&f) {
            *o += w * v;
        }
    }
    out
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
