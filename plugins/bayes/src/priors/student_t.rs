//! Student-t prior.

use crate::prior::{check_finite, check_positive, ln_gamma, Prior, Support, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Student-t prior with `ν` degrees of freedom.
/// # Formula
/// ```text
/// z = (x − μ)/σ
/// log p(x) = log Γ((ν+1)/2) − log Γ(ν/2) − ½·log(νπ) − log σ − (ν+1)/2·log(1 + z²/ν)
/// d/dx     = −(ν + 1)·z / (σ·(ν + z²))
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StudentT {
    /// Degrees of freedom ν > 0.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub nu: f64,
    /// Location μ.
    pub mu: f64,
    /// Scale σ > 0.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub sigma: f64,
}

#[typetag::serde(name = "student_t")]
impl Prior for StudentT {
    fn validate(&self) -> Result<()> {
        check_positive("nu", self.nu)?;
        check_finite("mu", self.mu)?;
        check_positive("sigma", self.sigma)
    }
    fn support(&self) -> Support {
        Support::REAL
    }
    fn log_density(&self, x: f64) -> f64 {
        let z = (x - self.mu) / self.sigma;
        let n = self.nu;
        ln_gamma(0.5 * (n + 1.0))
            - ln_gamma(0.5 * n)
            - 0.5 * (n * std::f64::consts::PI).ln()
            - self.sigma.ln()
            - 0.5 * (n + 1.0) * (z * z / n).ln_1p()
    }
    fn d_log_density(&self, x: f64) -> f64 {
        let z = (x - self.mu) / self.sigma;
        -(self.nu + 1.0) * z / (self.sigma * (self.nu + z * z))
    }
    fn center(&self) -> f64 {
        self.mu
    }
}

mmm_core::register!(
    KIND,
    StudentT,
    "student_t",
    "Student-t(nu, mu, sigma) on the real line",
    r#"{"nu":4.0,"mu":0.0,"sigma":1.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let p: Box<dyn Prior> =
            serde_json::from_str(r#"{"type":"student_t","nu":4.0,"mu":0.0,"sigma":1.0}"#).unwrap();
        crate::prior::conformance::check(p.as_ref()).unwrap();
    }
}
