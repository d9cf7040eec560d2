//! Lasso: least squares with an L1 penalty, by coordinate descent.
//!
//! Ref: scikit-learn `linear_model.Lasso` (= `ElasticNet` with `l1_ratio = 1`); Tibshirani (1996),
//! "Regression Shrinkage and Selection via the Lasso".

use crate::coordinate_descent::{check_tol, default_max_iter, default_tol, fit_enet, EnetSettings};
use crate::fixed_effects::{check_options, fit_within, is_default, GeoMode, Slopes};
use mmm_core::model::{FitProblem, FittedModel, Model, KIND};
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Lasso regression (the intercept column, if any, is unpenalized).
///
/// # Formula
/// ```text
/// minimize  1/(2n)·‖y − X·b − b₀‖² + α·‖b‖₁      (b ≥ 0 if positive)
/// b₀ = ȳ − x̄·b
/// update:   b_j ← S(x̃_j'r_j, n·α) / x̃_j'x̃_j,   S(z, γ) = sign(z)·max(|z| − γ, 0)
/// stop:     duality gap ≤ tol·‖y − ȳ‖²   (checked as sklearn does)
/// ```
/// No standard errors or intervals are reported. With `"geo": "fixed_effects"` a panel's geos
/// are fitted jointly with one unpenalized intercept per geo (the within-geo demeaned fit,
/// [`crate::fixed_effects`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lasso {
    /// Penalty weight α > 0 on the absolute coefficients (sklearn's `alpha`; use `ols` for 0).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub alpha: f64,
    /// Keep every coefficient but the intercept non-negative (sklearn's `positive=True`).
    #[serde(default)]
    pub positive: bool,
    /// Convergence tolerance on the duality gap, relative to ‖y − ȳ‖² (default 1e-4).
    #[serde(default = "default_tol")]
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub tol: f64,
    /// Maximum number of coordinate-descent sweeps (default 1000).
    #[serde(default = "default_max_iter")]
    #[schemars(range(min = 1, max = 1000000))]
    pub max_iter: u64,
    /// Scale every penalized column to unit variance before fitting, as sklearn's
    /// `make_pipeline(StandardScaler(), …)`; coefficients are reported on the original scale.
    /// Default true (glmnet's and Robyn's convention): columns of very different units (spend in
    /// thousands next to saturated media in [0, 1]) are penalized alike. `false` is sklearn's
    /// estimator alone, where the penalty falls unevenly on them.
    #[serde(default = "crate::common::default_true")]
    pub standardize: bool,
    /// How a geo panel (`data.geo`) is fitted: "national" (default: the geos' national sums)
    /// or "fixed_effects" (the geos jointly, one unpenalized intercept per geo; see
    /// docs/geo.md).
    #[serde(default, skip_serializing_if = "is_default")]
    pub geo: GeoMode,
    /// With fixed effects: "pooled" (default: one coefficient per channel, shared by the geos)
    /// or "per_geo" (one per channel and geo).
    #[serde(default, skip_serializing_if = "is_default")]
    pub slopes: Slopes,
}

impl Lasso {
    const PARAMS: &'static [ParamSpec] = &[ParamSpec::positive("alpha")];
}

#[typetag::serde(name = "lasso")]
impl Model for Lasso {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.alpha;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.alpha = values[0];
    }
    fn validate(&self) -> Result<()> {
        check_all(Self::PARAMS, &[self.alpha])?;
        check_tol(self.tol, self.max_iter)?;
        check_options(self.geo, self.slopes)
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
            let national = Self {
                geo: GeoMode::National,
                slopes: Slopes::Pooled,
                ..self.clone()
            };
            let parameters = serde_json::to_value(self).unwrap_or_default();
            return fit_within(problem, self.slopes, "lasso", parameters, |p| {
                national.fit(p)
            });
        }
        let s = EnetSettings {
            alpha: self.alpha,
            l1_ratio: 1.0,
            positive: self.positive,
            tol: self.tol,
            max_iter: usize::try_from(self.max_iter).unwrap_or(usize::MAX),
            standardize: self.standardize,
        };
        let params = serde_json::to_value(self).unwrap_or_default();
        fit_enet(problem.design, problem.y, &s, "lasso", params)
    }
}

mmm_core::register!(
    KIND,
    Lasso,
    "lasso",
    "Lasso by coordinate descent (sklearn's objective and stopping rule), optionally non-negative",
    r#"{"alpha": 0.1}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_field() {
        let m = Lasso {
            alpha: 0.1,
            positive: true,
            tol: 1e-4,
            max_iter: 10,
            standardize: false,
            geo: GeoMode::National,
            slopes: Slopes::Pooled,
        };
        assert!(m.validate().is_ok());
        let e = Lasso {
            alpha: -0.1,
            ..m.clone()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("/alpha"), "{e}");
        let e = Lasso { tol: 0.0, ..m }.validate().unwrap_err().to_string();
        assert!(e.contains("/tol"), "{e}");
    }
}
