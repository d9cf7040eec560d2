//! Robyn's Hill saturation, with the inflexion point placed within the training data's range.
//!
//! Ref: Robyn (facebookexperimental/Robyn, `R/R/transformation.R`, `saturation_hill`): since
//! v3.12 (PR #1132, Dec 2024) `inflexion <- max(x) * gamma`; up to v3.11
//! `inflexion <- c(range(x) %*% c(1 - gamma, gamma))`. Both are offered.

use crate::util::{hill_dparams_series, hill_jvp_series, hill_series};
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::transform::{Transform, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the inflexion point is placed within the learned data range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Inflexion {
    /// `I = γ·max(x)` (Robyn ≥ 3.12).
    #[default]
    Max,
    /// `I = (1 − γ)·min(x) + γ·max(x)` (Robyn ≤ 3.11).
    Range,
}

/// Robyn's Hill saturation: the half-saturation point is a share `gamma` of the training
/// input's range, learned from the input of this transform (the adstocked series).
///
/// # Formula
/// ```text
/// I = γ·max(x_train)                          ("max", Robyn ≥ 3.12, default)
/// I = (1−γ)·min(x_train) + γ·max(x_train)     ("range", Robyn ≤ 3.11)
/// h(x) = x^α / (x^α + I^α) = 1 / (1 + (I/x)^α)      (x ≤ 0 ↦ 0;  I = 0 ↦ h = 1 for x > 0)
/// ∂h/∂x = α·h·(1−h) / x        (x = 0: 0 if α > 1, 1/I if α = 1, +∞ if α < 1)
/// ∂h/∂α = h·(1−h)·ln(x/I)
/// ∂h/∂γ = −α·h·(1−h)/I · ∂I/∂γ,   ∂I/∂γ = max(x_train)  or  max(x_train) − min(x_train)
/// ```
/// `min`/`max` are learned by [`Transform::learn`] on the training input of this transform
/// (in Robyn: the adstocked series over the modelling window) and then held fixed, also in the
/// derivatives (the dependence of `I` on upstream parameters through the training series is
/// not differentiated, as in Robyn, where the inflexion is recomputed per hyperparameter draw).
/// Before `learn`, `min = 0` and `max = 1`, i.e. `I = γ` (inputs on a 0–1 scale). Where Robyn
/// gives NaN (`0/0` at x = 0 when I = 0) mmm gives 0; derivatives where `I = 0` are 0.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HillRobyn {
    /// Shape α, > 0: above 1 the curve is S-shaped, at or below 1 it is concave.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub alpha: f64,
    /// Position of the inflexion within the training input's range, in [0, 1].
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gamma: f64,
    /// "max" (I = gamma·max, Robyn ≥ 3.12, default) or "range" (I = (1 − gamma)·min + gamma·max, Robyn ≤ 3.11).
    #[serde(default)]
    pub inflexion: Inflexion,
    /// Learned `(min, max)` of the training input.
    #[serde(skip)]
    #[schemars(skip)]
    range: Option<(f64, f64)>,
}

impl HillRobyn {
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::positive("alpha"),
        ParamSpec::closed("gamma", 0.0, 1.0),
    ];

    /// A Robyn Hill saturation with nothing learned yet.
    pub fn new(alpha: f64, gamma: f64, inflexion: Inflexion) -> Self {
        HillRobyn {
            alpha,
            gamma,
            inflexion,
            range: None,
        }
    }

    /// The inflexion point `I` and `∂I/∂γ`.
    fn inflexion_point(&self) -> (f64, f64) {
        let (lo, hi) = self.range.unwrap_or((0.0, 1.0));
        match self.inflexion {
            Inflexion::Max => (self.gamma * hi, hi),
            Inflexion::Range => ((1.0 - self.gamma) * lo + self.gamma * hi, hi - lo),
        }
    }
}

#[typetag::serde(name = "hill_robyn")]
impl Transform for HillRobyn {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.alpha;
        out[1] = self.gamma;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.alpha = values[0];
        self.gamma = values[1];
    }
    fn validate(&self) -> Result<()> {
        check_all(Self::PARAMS, &[self.alpha, self.gamma])
    }
    fn learn(&mut self, x: &[f64]) {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &v in x.iter().filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if lo <= hi {
            self.range = Some((lo, hi));
        }
    }
    fn learned(&self) -> Option<Vec<f64>> {
        self.range.map(|(lo, hi)| vec![lo, hi])
    }
    fn set_learned(&mut self, values: &[f64]) {
        if let [lo, hi] = values {
            self.range = Some((*lo, *hi));
        }
    }
    fn is_elementwise(&self) -> bool {
        true
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        let (i, _) = self.inflexion_point();
        hill_series(x, i.max(0.0), self.alpha, out);
    }
    fn jvp_input(&self, x: &[f64], dx: &[f64], out: &mut [f64]) {
        let (i, _) = self.inflexion_point();
        hill_jvp_series(x, dx, i, self.alpha, out);
    }
    fn d_params(&self, x: &[f64], out: &mut [f64]) {
        let n = x.len();
        let (i, di) = self.inflexion_point();
        let (da, dg) = out[..2 * n].split_at_mut(n);
        // ∂h/∂γ = (−α·∂I/∂γ / I)·h(1−h),  ∂h/∂α = h(1−h)·ln(x/I);  all 0 when I ≤ 0
        hill_dparams_series(x, i, self.alpha, -self.alpha * di / i, dg, da);
    }
}

mmm_core::register!(
    KIND,
    HillRobyn,
    "hill_robyn",
    "Robyn's Hill saturation x^alpha / (x^alpha + I^alpha), inflexion I = gamma·max of the training input",
    r#"{"alpha": 2.0, "gamma": 0.5}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::transform::conformance;

    fn learned(alpha: f64, gamma: f64, inflexion: Inflexion) -> HillRobyn {
        let mut t = HillRobyn::new(alpha, gamma, inflexion);
        t.learn(&conformance::test_series(40));
        t
    }

    #[test]
    fn conformance_several_settings() {
        for t in [
            learned(2.0, 0.5, Inflexion::Max),
            learned(0.8, 0.3, Inflexion::Max),
            learned(3.0, 0.7, Inflexion::Range),
            learned(1.0, 0.1, Inflexion::Range),
            HillRobyn::new(1.5, 0.5, Inflexion::Max),
        ] {
            conformance::check(&t, true).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        }
    }

    #[test]
    fn inflexion_conventions() {
        let x = [1.0, 3.0, 5.0];
        let mut t = HillRobyn::new(2.0, 0.25, Inflexion::Max);
        t.learn(&x);
        assert_eq!(t.inflexion_point(), (1.25, 5.0));
        t.inflexion = Inflexion::Range;
        assert_eq!(t.inflexion_point(), (2.0, 4.0));
        // h(I) = 1/2, and later calls on other spend reuse the learned range
        let mut y = [0.0; 2];
        t.apply(&[2.0, 100.0], &mut y);
        assert!((y[0] - 0.5).abs() < 1e-15 && y[1] < 1.0);
        // before learn: I = gamma
        let u = HillRobyn::new(2.0, 0.25, Inflexion::Range);
        assert_eq!(u.inflexion_point().0, 0.25);
    }

    #[test]
    fn zero_inflexion_is_finite() {
        let mut t = HillRobyn::new(0.5, 0.0, Inflexion::Max);
        t.learn(&[0.0, 1.0, 2.0]);
        let x = [0.0, 1.0, 2.0];
        let mut y = [9.0; 3];
        t.apply(&x, &mut y);
        assert_eq!(y, [0.0, 1.0, 1.0]);
        let mut dp = [9.0; 6];
        t.d_params(&x, &mut dp);
        t.jvp_input(&x, &[0.0, 1.0, 1.0], &mut y);
        assert!(dp.iter().chain(&y).all(|v| v.is_finite()));
    }

    #[test]
    fn rejects_bad_fields() {
        let e = HillRobyn::new(1.0, 1.5, Inflexion::Max)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("/gamma") && e.contains("[0, 1]"), "{e}");
        let e = HillRobyn::new(-1.0, 0.5, Inflexion::Max)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("/alpha") && e.contains("(0, ∞)"), "{e}");
    }
}
