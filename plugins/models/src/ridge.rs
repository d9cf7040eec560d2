//! Ridge regression (L2 penalty), optionally with non-negative coefficients.
//!
//! Ref: scikit-learn `linear_model.Ridge(alpha, fit_intercept=True)` (objective and intercept by
//! centering); non-negative media coefficients as in Robyn (glmnet with `lower.limits = 0`).

use crate::common::{
    check_problem, collinear_columns, gram, nonneg_qp, r_squared, x_mul, xt_vec, Centered,
    Positivity,
};
use crate::fixed_effects::{check_options, fit_within, is_default, GeoMode, Slopes};
use mmm_core::model::{Coefficient, FitProblem, FittedModel, Model, KIND};
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::{MmmError, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Ridge regression: least squares with an L2 penalty on every coefficient but the intercept.
///
/// # Formula
/// ```text
/// minimize  ‖y − X·b − b₀‖² + α·‖b‖²        (b_j ≥ 0 for the columns `positive` names)
/// b₀ = ȳ − x̄·b   (the intercept column, if the design has one, is fitted by centering)
/// unconstrained:  b = (X̃'X̃ + α·I)⁻¹ X̃'ỹ,  X̃, ỹ centered (Cholesky)
/// standardize:    X̃_j ← X̃_j / sd_j before penalizing, b_j reported as b̃_j / sd_j
///                 (the default, glmnet's and Robyn's convention); equivalently, with
///                 D = diag(sd_j), sd_j² = (X̃'X̃)_jj / n (population sd):
///                 (X̃'X̃ + α·D²) b = X̃'ỹ   — the penalty α·sd_j²·b_j² on the original scale
/// ```
/// The second form is what the tuning fast path ([`Model::fit_gram`]) solves: standardizing
/// changes only the diagonal penalty, so the standardized ridge stays on the Gram path.
/// Bounded fits are solved exactly by an active-set method on the same quadratic. No standard
/// errors or intervals are reported (the penalized estimator defines none without further
/// assumptions).
///
/// With `"geo": "fixed_effects"` a panel's geos are fitted jointly with one intercept per geo,
/// which the penalty does not touch (the within-geo demeaned fit, [`crate::fixed_effects`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ridge {
    /// Penalty weight α ≥ 0 on the squared coefficients (sklearn's `alpha`); 0 is least squares.
    #[schemars(range(min = 0.0))]
    pub alpha: f64,
    /// Which coefficients are kept non-negative: "none", "media" (default) or "all".
    #[serde(default)]
    pub positive: Positivity,
    /// Scale each column by its standard deviation (population sd) before penalizing, so that
    /// α penalizes every column alike whatever its units (glmnet's and Robyn's convention);
    /// coefficients are reported on the original scale. Default true; `false` penalizes the
    /// raw coefficients (scikit-learn's `Ridge` alone), where a Hill column in [0, 1] with a
    /// coefficient near 10⁴ is shrunk far more than a control in its own units.
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

impl Ridge {
    const PARAMS: &'static [ParamSpec] = &[ParamSpec::closed("alpha", 0.0, f64::INFINITY)];
}

#[typetag::serde(name = "ridge")]
impl Model for Ridge {
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
    fn fit_gram(
        &self,
        system: &mut mmm_core::gram::GramSystem<'_>,
        beta: &mut [f64],
        ws: &mut mmm_core::gram::GramWorkspace,
    ) -> Option<Result<()>> {
        if self.fits_geos() {
            // the national normal equations are not the panel's: tuning refits the geos
            return None;
        }
        let k = system.k;
        let n = system.n as f64;
        for j in 0..k {
            let d = system.h[j + j * k];
            // standardized: penalty α·sd_j² with sd_j² = H_jj / n (columns without spread
            // keep α, as standardize_columns leaves them unscaled)
            let weight = if self.standardize && d > 0.0 {
                d / n
            } else {
                1.0
            };
            system.h[j + j * k] = d + self.alpha * weight;
        }
        let mut constrained = [false; 256];
        if k > constrained.len() {
            return None;
        }
        for (c, role) in constrained.iter_mut().zip(system.roles) {
            *c = self.positive.constrains(*role);
        }
        let ok = if constrained[..k].iter().any(|c| *c) {
            mmm_core::gram::nonneg_quadratic(system.h, system.g, k, &constrained[..k], beta, ws)
        } else {
            mmm_core::gram::solve(system.h, system.g, k, beta, ws)
        };
        Some(if ok {
            Ok(())
        } else {
            Err(MmmError::Compute(format!(
                "ridge: X'X + alpha·I is singular (alpha = {})",
                self.alpha
            )))
        })
    }

    fn fit(&self, problem: &FitProblem<'_>) -> Result<FittedModel> {
        self.validate()?;
        if self.fits_geos() && problem.geos.len() > 1 {
            let national = Ridge {
                geo: GeoMode::National,
                slopes: Slopes::Pooled,
                ..self.clone()
            };
            let parameters = serde_json::to_value(self).unwrap_or_default();
            return fit_within(problem, self.slopes, "ridge", parameters, |p| {
                national.fit(p)
            });
        }
        let design = problem.design;
        let y = problem.y;
        check_problem(design, y, "ridge")?;
        let mut c = Centered::new(design, y);
        let q = c.cols.len();
        let scale = if self.standardize {
            crate::common::standardize_columns(&mut c.x)
        } else {
            vec![1.0; q]
        };
        let mut h = gram(&c.x);
        for k in 0..q {
            h[(k, k)] += self.alpha;
        }
        let g = xt_vec(&c.x, &c.y);
        let mask: Vec<bool> = c
            .cols
            .iter()
            .map(|&j| self.positive.constrains(design.columns[j].role))
            .collect();
        let solved = if q == 0 {
            Some(nalgebra::DVector::zeros(0))
        } else if mask.iter().any(|m| *m) {
            nonneg_qp(&h, &g, &mask)
        } else {
            crate::common::cholesky(&h).map(|ch| ch.solve(&g))
        };
        let Some(b) = solved else {
            return Err(MmmError::Compute(format!(
                "ridge: X'X + alpha·I is singular (alpha = {}); {}",
                self.alpha,
                collinear_columns(design, &c.cols)
            )));
        };
        let b: Vec<f64> = b.iter().zip(&scale).map(|(v, s)| v / s).collect();
        let beta = c.full_beta(design.n_cols(), &b);
        let fitted = x_mul(&design.x, &beta);
        let coefficients = design
            .columns
            .iter()
            .zip(&beta)
            .map(|(col, &v)| Coefficient::point(&col.name, col.role, v))
            .collect();
        let statistics = BTreeMap::from([("r2".to_string(), r_squared(y, &fitted))]);
        Ok(FittedModel {
            coefficients,
            fitted,
            fitted_interval: None,
            interval_level: 0.95,
            coefficient_draws: None,
            statistics,
            column_statistics: BTreeMap::new(),
            parameters: serde_json::to_value(self).unwrap_or_default(),
        })
    }
}

mmm_core::register!(
    KIND,
    Ridge,
    "ridge",
    "Ridge regression (glmnet-like: penalty on standardized columns by default, intercept unpenalized), optionally non-negative media coefficients",
    r#"{"alpha": 1.0, "positive": "media"}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::model::{Column, Design, Role};
    use nalgebra::DMatrix;

    fn problem_design() -> (Design, Vec<f64>) {
        let n = 30;
        let x = DMatrix::from_fn(n, 3, |i, j| match j {
            0 => 1.0,
            1 => (i as f64 * 0.37).sin() * 10.0 + 20.0,
            _ => ((i * 13) % 7) as f64,
        });
        let y = (0..n)
            .map(|i| 5.0 + 0.3 * x[(i, 1)] - 0.8 * x[(i, 2)] + ((i * 5) % 3) as f64 * 0.1)
            .collect();
        let columns = vec![
            Column {
                name: "const".into(),
                role: Role::Intercept,
                channel: None,
            },
            Column {
                name: "tv".into(),
                role: Role::Media,
                channel: Some(0),
            },
            Column {
                name: "radio".into(),
                role: Role::Media,
                channel: Some(1),
            },
        ];
        (Design { columns, x }, y)
    }

    #[test]
    fn media_coefficients_stay_non_negative() {
        let (d, y) = problem_design();
        let p = FitProblem {
            design: &d,
            y: &y,
            media: &[],
            seed: 0,
            calibration: &[],
            geos: &[],
        };
        let m = Ridge {
            alpha: 1.0,
            positive: Positivity::Media,
            standardize: false,
            geo: GeoMode::National,
            slopes: Slopes::Pooled,
        };
        let f = m.fit(&p).unwrap();
        assert_eq!(f.coefficients[2].estimate, 0.0);
        assert!(f.coefficients[1].estimate > 0.0);
        assert!(f.coefficients[1].std_error.is_none());
        let free = Ridge {
            positive: Positivity::None,
            ..m
        }
        .fit(&p)
        .unwrap();
        assert!(free.coefficients[2].estimate < 0.0);
    }

    #[test]
    fn invalid_alpha_names_the_field() {
        let e = Ridge {
            alpha: -1.0,
            positive: Positivity::None,
            standardize: false,
            geo: GeoMode::National,
            slopes: Slopes::Pooled,
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("/alpha"), "{e}");
        assert!(Ridge {
            alpha: f64::NAN,
            positive: Positivity::None,
            standardize: false,
            geo: GeoMode::National,
            slopes: Slopes::Pooled,
        }
        .validate()
        .is_err());
    }

    /// The tuning fast path (centered normal equations, penalty α·sd_j² when standardized)
    /// gives the general path's coefficients, standardized or not, bounded or not.
    #[test]
    fn gram_path_equals_the_general_fit() {
        let (d, y) = problem_design();
        let p = FitProblem {
            design: &d,
            y: &y,
            media: &[],
            seed: 0,
            calibration: &[],
            geos: &[],
        };
        let n = y.len();
        let cols = [1usize, 2];
        let mean = |j: usize| d.x.column(j).sum() / n as f64;
        let ybar = y.iter().sum::<f64>() / n as f64;
        let k = cols.len();
        let roles = [Role::Media, Role::Media];
        for standardize in [true, false] {
            for positive in [Positivity::None, Positivity::Media] {
                for alpha in [0.5, 30.0] {
                    let m = Ridge {
                        alpha,
                        positive,
                        standardize,
                        geo: GeoMode::National,
                        slopes: Slopes::Pooled,
                    };
                    let mut h = vec![0.0; k * k];
                    let mut g = vec![0.0; k];
                    for (a, &ja) in cols.iter().enumerate() {
                        for (b, &jb) in cols.iter().enumerate() {
                            h[a + b * k] = (0..n)
                                .map(|i| (d.x[(i, ja)] - mean(ja)) * (d.x[(i, jb)] - mean(jb)))
                                .sum();
                        }
                        g[a] = (0..n)
                            .map(|i| (d.x[(i, ja)] - mean(ja)) * (y[i] - ybar))
                            .sum();
                    }
                    let mut sys = mmm_core::gram::GramSystem {
                        h: &mut h,
                        g: &mut g,
                        k,
                        n,
                        roles: &roles,
                    };
                    let mut beta = vec![0.0; k];
                    let mut ws = mmm_core::gram::GramWorkspace::new(k);
                    m.fit_gram(&mut sys, &mut beta, &mut ws).unwrap().unwrap();
                    let f = m.fit(&p).unwrap();
                    for (a, &j) in cols.iter().enumerate() {
                        let e = f.coefficients[j].estimate;
                        assert!(
                            (beta[a] - e).abs() <= 1e-9 * (1.0 + e.abs()),
                            "standardize {standardize}, {positive:?}, alpha {alpha}: {} vs {e}",
                            beta[a]
                        );
                    }
                }
            }
        }
    }

    /// Standardized, α penalizes a column the same whatever its units: rescaling a regressor
    /// by 1000 rescales its coefficient by 1/1000 and leaves the fit unchanged.
    #[test]
    fn standardized_penalty_does_not_depend_on_units() {
        let (d, y) = problem_design();
        let mut scaled = d.clone();
        for v in scaled.x.column_mut(1).iter_mut() {
            *v *= 1000.0;
        }
        let m = Ridge {
            alpha: 5.0,
            positive: Positivity::None,
            standardize: true,
            geo: GeoMode::National,
            slopes: Slopes::Pooled,
        };
        let fit = |d: &Design| {
            m.fit(&FitProblem {
                design: d,
                y: &y,
                media: &[],
                seed: 0,
                calibration: &[],
                geos: &[],
            })
            .unwrap()
        };
        let (a, b) = (fit(&d), fit(&scaled));
        let (ea, eb) = (a.coefficients[1].estimate, b.coefficients[1].estimate);
        assert!((ea - 1000.0 * eb).abs() < 1e-9 * ea.abs(), "{ea} vs {eb}");
        let raw = Ridge {
            standardize: false,
            geo: GeoMode::National,
            slopes: Slopes::Pooled,
            ..m
        };
        let raw_fit = |d: &Design| {
            raw.fit(&FitProblem {
                design: d,
                y: &y,
                media: &[],
                seed: 0,
                calibration: &[],
                geos: &[],
            })
            .unwrap()
            .coefficients[1]
                .estimate
        };
        let (ra, rb) = (raw_fit(&d), raw_fit(&scaled));
        assert!(
            (ra - 1000.0 * rb).abs() > 1e-6 * ra.abs(),
            "the raw penalty depends on the units"
        );
    }
}
