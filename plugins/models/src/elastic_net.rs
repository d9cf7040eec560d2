//! Elastic net: least squares with a mix of L1 and L2 penalties, by coordinate descent.
//!
//! Ref: scikit-learn `linear_model.ElasticNet` (objective, scaling, intercept by centering,
//! cyclic coordinate descent and its duality-gap stopping rule); Friedman, Hastie & Tibshirani
//! (2010), "Regularization Paths for Generalized Linear Models via Coordinate Descent".

use crate::coordinate_descent::{check_tol, default_max_iter, default_tol, fit_enet, EnetSettings};
use crate::fixed_effects::{check_options, fit_within, is_default, GeoMode, Slopes};
use mmm_core::model::{FitProblem, FittedModel, Model, KIND};
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Elastic net regression (the intercept column, if any, is unpenalized).
///
/// # Formula
/// ```text
/// minimize  1/(2n)·‖y − X·b − b₀‖² + α·ρ·‖b‖₁ + ½·α·(1 − ρ)·‖b‖²      (b ≥ 0 if positive)
/// b₀ = ȳ − x̄·b
/// update:   b_j ← S(x̃_j'r_j, n·α·ρ) / (x̃_j'x̃_j + n·α·(1 − ρ)),   S(z, γ) = sign(z)·max(|z| − γ, 0)
/// stop:     duality gap ≤ tol·‖y − ȳ‖²   (checked as sklearn does)
/// ```
/// where `α` is `alpha` and `ρ` is `l1_ratio`. No standard errors or intervals are reported.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElasticNet {
    /// Overall penalty weight α > 0 (sklearn's `alpha`).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub alpha: f64,
    /// Share ρ of the L1 penalty in [0, 1] (1 = lasso, 0 = ridge with sklearn's 1/(2n) scaling).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub l1_ratio: f64,
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

impl ElasticNet {
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::positive("alpha"),
        ParamSpec::closed("l1_ratio", 0.0, 1.0),
    ];
}

#[typetag::serde(name = "elastic_net")]
impl Model for ElasticNet {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.alpha;
        out[1] = self.l1_ratio;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.alpha = values[0];
        self.l1_ratio = values[1];
    }
    fn validate(&self) -> Result<()> {
        check_all(Self::PARAMS, &[self.alpha, self.l1_ratio])?;
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
            return fit_within(problem, self.slopes, "elastic_net", parameters, |p| {
                national.fit(p)
            });
        }
        let s = EnetSettings {
            alpha: self.alpha,
            l1_ratio: self.l1_ratio,
            positive: self.positive,
            tol: self.tol,
            max_iter: usize::try_from(self.max_iter).unwrap_or(usize::MAX),
            standardize: self.standardize,
        };
        let params = serde_json::to_value(self).unwrap_or_default();
        fit_enet(problem.design, problem.y, &s, "elastic_net", params)
    }
}

mmm_core::register!(
    KIND,
    ElasticNet,
    "elastic_net",
    "Elastic net by coordinate descent (sklearn's objective and stopping rule), optionally non-negative",
    r#"{"alpha": 0.1, "l1_ratio": 0.5}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    fn make(alpha: f64, l1_ratio: f64) -> ElasticNet {
        ElasticNet {
            alpha,
            l1_ratio,
            positive: false,
            tol: 1e-4,
            max_iter: 1000,
            standardize: false,
            geo: GeoMode::National,
            slopes: Slopes::Pooled,
        }
    }

    #[test]
    fn validate_names_the_field() {
        assert!(make(0.1, 0.5).validate().is_ok());
        let e = make(0.0, 0.5).validate().unwrap_err().to_string();
        assert!(e.contains("/alpha"), "{e}");
        let e = make(0.1, 1.5).validate().unwrap_err().to_string();
        assert!(e.contains("/l1_ratio") && e.contains("[0, 1]"), "{e}");
        let e = ElasticNet {
            tol: -1.0,
            ..make(0.1, 0.5)
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("/tol"), "{e}");
        let e = ElasticNet {
            max_iter: 0,
            ..make(0.1, 0.5)
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("/max_iter"), "{e}");
    }

    #[test]
    fn defaults_are_sklearns() {
        let m: ElasticNet = serde_json::from_str(r#"{"alpha": 1, "l1_ratio": 0.5}"#).unwrap();
        assert_eq!((m.tol, m.max_iter, m.positive), (1e-4, 1000, false));
        assert!(
            serde_json::from_str::<ElasticNet>(r#"{"alpha": 1, "l1_ratio": 0.5, "x": 1}"#).is_err()
        );
    }
}
