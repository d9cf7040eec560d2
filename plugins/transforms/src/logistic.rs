//! Logistic saturation.
//!
//! Ref: PyMC-Marketing, `pymc_marketing.mmm.transformers.logistic_saturation`
//! (`(1 − e^{−λx}) / (1 + e^{−λx})`); Jin et al. (2017) discuss the family.

use crate::simd::{self, Kernel, Kernel2};
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::transform::{Transform, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Logistic saturation, elementwise; concave for spend ≥ 0, from 0 towards 1.
///
/// # Formula
/// ```text
/// y = (1 − e^{−λx}) / (1 + e^{−λx}) = tanh(λx/2),   y ∈ [0, 1) for x ≥ 0
/// ∂y/∂x = λ/2·(1 − y²)
/// ∂y/∂λ = x/2·(1 − y²)
/// ```
/// where `λ` is `lam` (the slope at 0 is λ/2; with inputs scaled to [0, 1], λ ≈ 1–5 spans
/// mild to strong saturation). Computed as `tanh(λx/2) = −m/(2+m)` with `m = expm1(−λ|x|)`,
/// which equals PyMC-Marketing's form but has no cancellation near 0 and no overflow for
/// negative inputs (the curve is odd).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Logistic {
    /// Saturation speed λ, > 0, in 1/(units of the input): larger saturates sooner.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub lam: f64,
}

impl Logistic {
    const PARAMS: &'static [ParamSpec] = &[ParamSpec::positive("lam")];
}

#[typetag::serde(name = "logistic")]
impl Transform for Logistic {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.lam;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.lam = values[0];
    }
    fn validate(&self) -> Result<()> {
        check_all(Self::PARAMS, &[self.lam])
    }
    fn is_elementwise(&self) -> bool {
        true
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        simd::map(LogisticKernel { h: 0.5 * self.lam }, x, out);
    }
    fn jvp_input(&self, x: &[f64], dx: &[f64], out: &mut [f64]) {
        simd::map2(LogisticJvp { h: 0.5 * self.lam }, x, dx, out);
    }
    fn d_params(&self, x: &[f64], out: &mut [f64]) {
        simd::map(LogisticDLam { h: 0.5 * self.lam }, x, out);
    }
}

/// `∂f/∂x · dx = h·(1 − tanh²(h·x))·dx`, `h = λ/2` (0 when `dx = 0`).
#[derive(Clone, Copy)]
struct LogisticJvp {
    h: f64,
}

impl Kernel2 for LogisticJvp {
    #[inline(always)]
    fn eval(self, x: f64, dx: f64) -> f64 {
        let y = simd::tanh(self.h * x);
        let v = self.h * (1.0 - y * y) * dx;
        if dx == 0.0 {
            0.0
        } else {
            v
        }
    }
}

/// `∂f/∂λ = ½·x·(1 − tanh²(h·x))`.
#[derive(Clone, Copy)]
struct LogisticDLam {
    h: f64,
}

impl Kernel for LogisticDLam {
    #[inline(always)]
    fn eval(self, x: f64) -> f64 {
        let y = simd::tanh(self.h * x);
        0.5 * x * (1.0 - y * y)
    }
}

/// `tanh(h·x)` with `h = λ/2`, vectorizable.
#[derive(Clone, Copy)]
struct LogisticKernel {
    h: f64,
}

impl Kernel for LogisticKernel {
    #[inline(always)]
    fn eval(self, x: f64) -> f64 {
        simd::tanh(self.h * x)
    }
}

mmm_core::register!(
    KIND,
    Logistic,
    "logistic",
    "Logistic saturation (1 − e^(−lam·x)) / (1 + e^(−lam·x)), in [0, 1) (PyMC-Marketing)",
    r#"{"lam": 2.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::transform::conformance;

    #[test]
    fn conformance_several_settings() {
        for lam in [0.3, 1.0, 2.5, 8.0] {
            conformance::check(&Logistic { lam }, true).unwrap_or_else(|e| panic!("{lam}: {e}"));
        }
    }

    #[test]
    fn matches_pymc_form_and_is_bounded() {
        let t = Logistic { lam: 1.7 };
        let x = [0.0, 0.1, 1.0, 3.0, 10.0];
        let mut y = [0.0; 5];
        t.apply(&x, &mut y);
        for (xi, yi) in x.iter().zip(&y) {
            let e = (-1.7 * xi).exp();
            assert!((yi - (1.0 - e) / (1.0 + e)).abs() < 1e-15);
            assert!((0.0..1.0).contains(yi));
        }
    }

    #[test]
    fn rejects_bad_fields() {
        let e = Logistic { lam: 0.0 }.validate().unwrap_err().to_string();
        assert!(e.contains("/lam") && e.contains("(0, ∞)"), "{e}");
        assert!(Logistic { lam: f64::INFINITY }.validate().is_err());
    }
}
