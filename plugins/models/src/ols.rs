//! Ordinary least squares, with the inference and diagnostics of statsmodels' `OLS(...).fit()`.
//!
//! Ref: statsmodels `regression.linear_model.OLS` / `RegressionResults` (pinv solve, nonrobust
//! covariance, t intervals) and `stats.outliers_influence.variance_inflation_factor`
//! (statsmodels ≥ 0.15, `standardize=True`).

use crate::common::{check_problem, collinear_columns, gram};
use crate::fixed_effects::{check_options, is_default, Covariance, GeoMode, Panel, Slopes};
use mmm_core::model::{Coefficient, Design, FitProblem, FittedModel, Model, KIND};
use mmm_core::params::ParamSpec;
use mmm_core::{MmmError, Result};
use nalgebra::{DMatrix, DVector};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, FisherSnedecor, StudentsT};
use std::collections::BTreeMap;

/// Ordinary least squares with statsmodels' inference.
///
/// # Formula
/// ```text
/// β̂ = X⁺y  (pseudo-inverse by SVD, X = U·S·V')          cov(β̂) = σ̂²·V·S⁻²·V'
/// σ̂² = SSR/(n − p)      t_j = β̂_j/se_j      p_j = 2·P(T_{n−p} > |t_j|)
/// CI  = β̂_j ± t_{0.975, n−p}·se_j
/// R²  = 1 − SSR/TSS (TSS centered when X holds a constant, uncentered otherwise)
/// F   = (ESS/df_model)/(SSR/df_resid),  df_model = p − k_const
/// llf = −n/2·(ln 2π + ln(SSR/n) + 1),  AIC = −2 llf + 2p,  BIC = −2 llf + ln(n)·p
/// condition number = s_max/s_min of X as given (constant included)
/// residual tests: skew, kurtosis, Jarque–Bera, omnibus K², Breusch–Pagan
///   (see [`crate::residual_tests`])
/// VIF_j = 1/(1 − R²_j), R²_j of x_j on the other columns after standardizing non-constant columns
/// ```
/// The fit fails with [`MmmError::Compute`] when X is rank deficient, naming the collinear columns.
///
/// With `"geo": "fixed_effects"` a panel's geos are fitted jointly: the same OLS on the stacked
/// geo × period rows (per-average-geo scale) with one intercept per geo, and intervals from
/// the `covariance` of the stacked estimate; formulas in [`crate::fixed_effects`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ols {
    /// How a geo panel (`data.geo`) is fitted: "national" (default: the geos' national sums)
    /// or "fixed_effects" (the geos jointly, one intercept per geo; see docs/geo.md).
    #[serde(default, skip_serializing_if = "is_default")]
    pub geo: GeoMode,
    /// With fixed effects: "pooled" (default: one coefficient per channel, shared by the geos)
    /// or "per_geo" (one per channel and geo).
    #[serde(default, skip_serializing_if = "is_default")]
    pub slopes: Slopes,
    /// With fixed effects: the coefficients' covariance, "classical" (default: σ̂²·(X'X)⁻¹ on
    /// the stacked rows) or "cluster_geo" (cluster-robust by geo, CR1 with G − 1 degrees of
    /// freedom; pooled slopes only).
    #[serde(default, skip_serializing_if = "is_default")]
    pub covariance: Covariance,
}

/// numpy's `matrix_rank` tolerance: `s_max · max(n, p) · ε`.
fn rank_of(s: &DVector<f64>, n: usize, p: usize) -> usize {
    let smax = s.amax();
    let tol = smax * n.max(p) as f64 * f64::EPSILON;
    s.iter().filter(|v| **v > tol).count()
}

/// Whether statsmodels would find a constant in `x` (explicit: a constant non-zero column;
/// implicit: a column of ones adds no rank).
pub(crate) fn has_constant(x: &DMatrix<f64>) -> bool {
    let n = x.nrows();
    for c in x.column_iter() {
        let (lo, hi) = c
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        if lo == hi && c.sum() / n as f64 != 0.0 {
            return true;
        }
    }
    // implicit constant
    let p = x.ncols();
    let r0 = rank_of(&x.clone().svd(false, false).singular_values, n, p);
    let aug = DMatrix::from_fn(n, p + 1, |i, j| if j == 0 { 1.0 } else { x[(i, j - 1)] });
    let r1 = rank_of(&aug.svd(false, false).singular_values, n, p + 1);
    r0 == r1
}

/// VIF of every column as statsmodels ≥ 0.15 computes it (`standardize=True`): non-constant
/// columns are standardized (population sd), constant ones kept; `R²_j` is centered when the other
/// columns hold a constant and uncentered otherwise; `R²` is clipped to `[0, 1 − 1e-15]`.
/// Condition number of the design on standardized columns: every column with spread centered
/// and divided by its population sd, constant columns (the intercept) dropped,
///
/// ```text
/// κ_std = σ_max(Z) / σ_min(Z),   Z_j = (x_j − x̄_j) / sd_j
/// ```
///
/// Unlike the raw `condition_number` (statsmodels' `condition_number`, σ_max/σ_min of X), it
/// does not grow with the columns' units (a Hill column in [0, 1] beside spend in thousands), so
/// it measures collinearity alone. NaN when fewer than one column has spread.
pub(crate) fn standardized_condition_number(x: &DMatrix<f64>) -> f64 {
    let (n, p) = x.shape();
    let nf = n as f64;
    let mut cols = Vec::new();
    for j in 0..p {
        let c = x.column(j);
        let m = c.sum() / nf;
        let sd = (c.iter().map(|v| (v - m).powi(2)).sum::<f64>() / nf).sqrt();
        if sd > 1e-12 * (1.0 + m.abs()) {
            cols.push(c.map(|v| (v - m) / sd));
        }
    }
    if cols.is_empty() {
        return f64::NAN;
    }
    let z = DMatrix::from_columns(&cols);
    let sv = z.singular_values();
    sv.max() / sv.min()
}

pub(crate) fn vif(x: &DMatrix<f64>) -> Vec<f64> {
    let (n, p) = x.shape();
    let nf = n as f64;
    let mut w = x.clone();
    let mut is_const = vec![false; p];
    for (j, flag) in is_const.iter_mut().enumerate() {
        let c = x.column(j);
        let m = c.sum() / nf;
        let sd = (c.iter().map(|v| (v - m).powi(2)).sum::<f64>() / nf).sqrt();
        if sd > 1e-10 {
            for v in w.column_mut(j).iter_mut() {
                *v = (*v - m) / sd;
            }
        }
        let (lo, hi) = c
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        *flag = lo == hi && m != 0.0;
    }
    if p < 2 {
        return vec![f64::NAN; p];
    }
    let Some(inv) = w.tr_mul(&w).try_inverse() else {
        return vec![f64::NAN; p];
    };
    (0..p)
        .map(|j| {
            let rss = 1.0 / inv[(j, j)];
            let others_const = (0..p).any(|k| k != j && is_const[k]);
            let c = w.column(j);
            let tss = if others_const {
                let m = c.sum() / nf;
                c.iter().map(|v| (v - m).powi(2)).sum::<f64>()
            } else {
                c.iter().map(|v| v * v).sum::<f64>()
            };
            let r2 = (1.0 - rss / tss).clamp(0.0, 1.0 - 1e-15);
            1.0 / (1.0 - r2)
        })
        .collect()
}

impl Ols {
    const PARAMS: &'static [ParamSpec] = &[];

    /// The fixed-effects fit of a panel of at least two geos (see [`crate::fixed_effects`]).
    fn fit_fixed_effects(&self, problem: &FitProblem<'_>) -> Result<FittedModel> {
        let panel = Panel::build(problem, self.slopes, "ols")?;
        // the dense solve of a large stacked panel can take minutes: say what is being done
        let (rows, cols) = panel.design.x.shape();
        let progress = mmm_core::progress::bar(2, "fixed effects");
        progress.set_message(format!(
            "fixed effects: solving {} geos' stacked design ({rows} rows × {cols} columns)",
            panel.geos
        ));
        let fit = Self::fit_design(&panel.design, &panel.y)?;
        progress.inc(1);
        progress.set_message("fixed effects: covariance and intervals");
        let theta = fit.beta();
        let x = &panel.design.x;
        let (n, k) = x.shape();
        let bread = crate::common::cholesky(&gram(x))
            .map(|c| c.inverse())
            .ok_or_else(|| MmmError::Compute("ols: the stacked design is singular".into()))?;
        let sigma = fit.statistics.get("sigma").copied().unwrap_or(f64::NAN);
        let (v, df) = match self.covariance {
            Covariance::Classical => (&bread * (sigma * sigma), (n - k) as f64),
            Covariance::ClusterGeo => {
                if self.slopes == Slopes::PerGeo {
                    return Err(MmmError::param(
                        "/covariance",
                        "cluster-robust standard errors by geo are not defined for per-geo \
                         slopes (a geo's own slopes are estimated from its cluster alone, whose \
                         score sums are zero); use \"classical\"",
                    ));
                }
                let g_len = panel.geos;
                let t_len = panel.periods;
                let resid: Vec<f64> = panel
                    .y
                    .iter()
                    .zip(crate::common::x_mul(x, &theta))
                    .map(|(a, b)| a - b)
                    .collect();
                let mut meat = DMatrix::zeros(k, k);
                for g in 0..g_len {
                    let rows = g * t_len..(g + 1) * t_len;
                    let score = DVector::from_fn(k, |j, _| {
                        rows.clone().map(|i| x[(i, j)] * resid[i]).sum::<f64>()
                    });
                    meat += &score * score.transpose();
                }
                let (gf, nf, kf) = (g_len as f64, n as f64, k as f64);
                let c = gf / (gf - 1.0) * (nf - 1.0) / (nf - kf);
                (&bread * meat * &bread * c, gf - 1.0)
            }
        };
        let mut statistics = fit.statistics;
        statistics.insert("geos".into(), panel.geos as f64);
        statistics.insert("interval_df".into(), df);
        let parameters = serde_json::to_value(self).unwrap_or_default();
        let fitted = panel.assemble(problem, &theta, Some((&v, df)), statistics, parameters);
        progress.finish_and_clear();
        fitted
    }

    /// The fit itself (shared with the benchmark through `Model::fit`).
    fn fit_design(design: &Design, y: &[f64]) -> Result<FittedModel> {
        check_problem(design, y, "ols")?;
        let x = &design.x;
        let (n, p) = x.shape();
        if n <= p {
            return Err(MmmError::Compute(format!(
                "ols: {n} observations are too few for {p} coefficients (need n > p)"
            )));
        }
        let svd = x.clone().svd(true, true);
        let s = &svd.singular_values;
        let rank = rank_of(s, n, p);
        if rank < p {
            let all: Vec<usize> = (0..p).collect();
            return Err(MmmError::Compute(format!(
                "ols: the design is singular (rank {rank} < {p} columns); {}",
                collinear_columns(design, &all)
            )));
        }
        let (Some(u), Some(vt)) = (svd.u.as_ref(), svd.v_t.as_ref()) else {
            return Err(MmmError::Compute("ols: SVD failed".into()));
        };
        let yv = DVector::from_column_slice(y);
        // β = V S⁻¹ U'y
        let uty = u.tr_mul(&yv);
        let mut z = uty.clone();
        for k in 0..p {
            z[k] /= s[k];
        }
        let beta = vt.tr_mul(&z);
        // (X'X)⁻¹ = V S⁻² V'
        let mut vs = vt.transpose();
        for k in 0..p {
            let f = 1.0 / (s[k] * s[k]);
            for v in vs.column_mut(k).iter_mut() {
                *v *= f;
            }
        }
        let cov_unscaled = vs * vt;
        let fitted = x * &beta;
        let resid: Vec<f64> = y.iter().zip(fitted.iter()).map(|(a, b)| a - b).collect();
        let ssr: f64 = resid.iter().map(|e| e * e).sum();
        let nf = n as f64;
        let df_resid = (n - rank) as f64;
        let k_const = usize::from(has_constant(x));
        let df_model = (rank - k_const) as f64;
        let scale = ssr / df_resid;
        let ybar = y.iter().sum::<f64>() / nf;
        let tss = if k_const == 1 {
            y.iter().map(|v| (v - ybar).powi(2)).sum::<f64>()
        } else {
            y.iter().map(|v| v * v).sum::<f64>()
        };
        let r2 = 1.0 - ssr / tss;
        let adj_r2 = 1.0 - (nf - k_const as f64) / df_resid * (1.0 - r2);
        let ess = tss - ssr;
        let (fvalue, f_pvalue) = if df_model > 0.0 {
            let f = (ess / df_model) / scale;
            let pv = FisherSnedecor::new(df_model, df_resid)
                .map(|d| sf(&d, f))
                .unwrap_or(f64::NAN);
            (f, pv)
        } else {
            (f64::NAN, f64::NAN)
        };
        let llf = -nf / 2.0 * ((2.0 * std::f64::consts::PI).ln() + (ssr / nf).ln() + 1.0);
        let k = df_model + k_const as f64;
        let aic = -2.0 * llf + 2.0 * k;
        let bic = -2.0 * llf + nf.ln() * k;
        let dw = mmm_core::metrics::durbin_watson(y, fitted.as_slice());
        let cond = s.max() / s.min();
        let cond_std = standardized_condition_number(x);
        let rt = crate::residual_tests::residual_tests(&resid, x, k_const == 1);

        let tdist = StudentsT::new(0.0, 1.0, df_resid)
            .map_err(|e| MmmError::Compute(format!("ols: t distribution: {e}")))?;
        let q = tdist.inverse_cdf(0.975);
        let coefficients = design
            .columns
            .iter()
            .enumerate()
            .map(|(j, c)| {
                let b = beta[j];
                let se = (scale * cov_unscaled[(j, j)]).sqrt();
                let t = b / se;
                let pv = 2.0 * sf(&tdist, t.abs());
                Coefficient {
                    name: c.name.clone(),
                    role: c.role,
                    estimate: b,
                    std_error: Some(se),
                    t_value: Some(t),
                    p_value: Some(pv),
                    ci_low: Some(b - q * se),
                    ci_high: Some(b + q * se),
                }
            })
            .collect();
        let statistics = BTreeMap::from([
            ("r2".to_string(), r2),
            ("adj_r2".to_string(), adj_r2),
            ("durbin_watson".to_string(), dw),
            ("condition_number".to_string(), cond),
            ("condition_number_standardized".to_string(), cond_std),
            ("f_statistic".to_string(), fvalue),
            ("f_pvalue".to_string(), f_pvalue),
            ("log_likelihood".to_string(), llf),
            ("aic".to_string(), aic),
            ("bic".to_string(), bic),
            ("sigma".to_string(), scale.sqrt()),
            ("df_resid".to_string(), df_resid),
            ("df_model".to_string(), df_model),
            ("n_obs".to_string(), nf),
            ("skew".to_string(), rt.skew),
            ("kurtosis".to_string(), rt.kurtosis),
            ("jarque_bera".to_string(), rt.jarque_bera),
            ("jarque_bera_pvalue".to_string(), rt.jarque_bera_pvalue),
            ("omnibus".to_string(), rt.omnibus),
            ("omnibus_pvalue".to_string(), rt.omnibus_pvalue),
            ("breusch_pagan".to_string(), rt.breusch_pagan),
            ("breusch_pagan_pvalue".to_string(), rt.breusch_pagan_pvalue),
        ]);
        let column_statistics = BTreeMap::from([("vif".to_string(), vif(x))]);
        Ok(FittedModel {
            coefficients,
            fitted: fitted.as_slice().to_vec(),
            fitted_interval: None,
            interval_level: 0.95,
            coefficient_draws: None,
            statistics,
            column_statistics,
            parameters: serde_json::json!({}),
        })
    }
}

/// `P(X > x)`, or NaN when `x` is NaN (a constant or overflowing target gives a NaN
/// statistic; statrs panics on it). The result is reported as null, with a warning.
fn sf(d: &impl ContinuousCDF<f64, f64>, x: f64) -> f64 {
    if x.is_nan() {
        f64::NAN
    } else {
        d.sf(x)
    }
}

#[typetag::serde(name = "ols")]
impl Model for Ols {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn validate(&self) -> Result<()> {
        check_options(self.geo, self.slopes)?;
        if self.geo == GeoMode::National && self.covariance != Covariance::Classical {
            return Err(MmmError::param(
                "/covariance",
                "a covariance other than \"classical\" needs \"geo\": \"fixed_effects\"",
            ));
        }
        Ok(())
    }
    fn fits_geos(&self) -> bool {
        self.geo == GeoMode::FixedEffects
    }
    fn tunes_geos(&self) -> bool {
        self.fits_geos()
    }
    fn predicts_geos(&self) -> bool {
        self.fits_geos()
    }
    fn fit(&self, problem: &FitProblem<'_>) -> Result<FittedModel> {
        self.validate()?;
        if self.fits_geos() && problem.geos.len() > 1 {
            return self.fit_fixed_effects(problem);
        }
        Self::fit_design(problem.design, problem.y)
    }
}

mmm_core::register!(
    KIND,
    Ols,
    "ols",
    "Ordinary least squares with statsmodels' standard errors, t/p values, 95% intervals, VIF and fit statistics",
    r#"{}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::model::{Column, Role};

    fn design(cols: &[(&str, Role)], x: DMatrix<f64>) -> Design {
        Design {
            columns: cols
                .iter()
                .map(|(n, r)| Column {
                    name: n.to_string(),
                    role: *r,
                    channel: None,
                })
                .collect(),
            x,
        }
    }

    #[test]
    fn exact_line() {
        let x = DMatrix::from_fn(10, 2, |i, j| if j == 0 { 1.0 } else { i as f64 });
        let d = design(&[("const", Role::Intercept), ("t", Role::Baseline)], x);
        let y: Vec<f64> = (0..10)
            .map(|i| 2.0 + 3.0 * i as f64 + if i % 2 == 0 { 0.1 } else { -0.1 })
            .collect();
        let f = Ols::fit_design(&d, &y).unwrap();
        assert!((f.coefficients[1].estimate - 3.0).abs() < 0.05);
        assert_eq!(f.interval_level, 0.95);
        assert!(f.statistics["r2"] > 0.99);
        assert_eq!(f.column_statistics["vif"].len(), 2);
    }

    #[test]
    fn a_statistic_that_cannot_be_computed_is_nan_not_a_panic() {
        // a zero target (0/0 F ratio) and a target near f64::MAX (overflowing sums): statrs
        // panics on a NaN argument; the statistics are NaN (null in results.json)
        let x = DMatrix::from_fn(10, 2, |i, j| if j == 0 { 1.0 } else { i as f64 });
        let d = design(&[("const", Role::Intercept), ("t", Role::Baseline)], x);
        let zero = vec![0.0; 10];
        let f = Ols::fit_design(&d, &zero).unwrap();
        assert!(f.statistics["f_statistic"].is_nan() && f.statistics["f_pvalue"].is_nan());
        let mut huge: Vec<f64> = (0..10).map(|i| i as f64).collect();
        huge[3] = 1e308;
        let f = Ols::fit_design(&d, &huge).unwrap();
        assert!(f.statistics["f_pvalue"].is_nan());
    }

    #[test]
    fn singular_design_names_the_columns() {
        let x = DMatrix::from_fn(12, 4, |i, j| match j {
            0 => 1.0,
            1 => i as f64,
            2 => (i * i) as f64 % 7.0,
            _ => 2.0 * i as f64 + 1.0,
        });
        let d = design(
            &[
                ("const", Role::Intercept),
                ("trend", Role::Baseline),
                ("c", Role::Control),
                ("tv", Role::Media),
            ],
            x,
        );
        let y: Vec<f64> = (0..12).map(|i| i as f64).collect();
        let e = Ols::fit_design(&d, &y).unwrap_err().to_string();
        assert!(
            e.contains("singular")
                && e.contains("'trend'")
                && e.contains("'tv'")
                && e.contains("'const'"),
            "{e}"
        );
        assert!(!e.contains("'c'"), "{e}");
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let d = design(
            &[("const", Role::Intercept)],
            DMatrix::from_element(5, 1, 1.0),
        );
        assert!(Ols::fit_design(&d, &[1.0, 2.0]).is_err());
    }

    /// Two columns with sample correlation r: Z'Z/n = [[1, r], [r, 1]], so
    /// κ_std = √((1 + r)/(1 − r)) whatever the columns' units and the constant.
    #[test]
    fn standardized_condition_number_is_the_closed_form() {
        let n = 40;
        let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
        let b: Vec<f64> = (0..n)
            .map(|i| 0.6 * a[i] + 0.5 * (i as f64 * 1.3).cos())
            .collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
        let (ma, mb) = (mean(&a), mean(&b));
        let cov: f64 = (0..n).map(|i| (a[i] - ma) * (b[i] - mb)).sum();
        let va: f64 = a.iter().map(|v| (v - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|v| (v - mb).powi(2)).sum();
        let r = cov / (va * vb).sqrt();
        let expected = ((1.0 + r) / (1.0 - r)).sqrt();
        for scale in [1.0, 1e4] {
            let x = DMatrix::from_fn(n, 3, |i, j| match j {
                0 => 1.0,
                1 => a[i] * scale,
                _ => b[i] + 500.0,
            });
            let k = standardized_condition_number(&x);
            assert!((k - expected).abs() < 1e-10, "{k} vs {expected}");
        }
    }
}
