//! Exponential prior.

use crate::prior::{check_positive, Prior, Support, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Exponential prior (rate λ) on `(0, ∞)`.
/// # Formula
/// ```text
/// log p(x) = log λ − λ·x        d/dx = −λ
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exponential {
    /// Rate λ > 0 (mean 1/λ).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub lam: f64,
}

#[typetag::serde(name = "exponential")]
impl Prior for Exponential {
    fn validate(&self) -> Result<()> {
        check_positive("lam", self.lam)
    }
    fn support(&self) -> Support {
        Support::POSITIVE
    }
    fn log_density(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return f64::NEG_INFINITY;
        }
        self.lam.ln() - self.lam * x
    }
    fn d_log_density(&self, _x: f64) -> f64 {
        -self.lam
    }
    fn center(&self) -> f64 {
        1.0 / self.lam
    }
}

mmm_core::register!(
    KIND,
    Exponential,
    "exponential",
    "Exponential(rate lam) on (0, inf)",
    r#"{"lam":1.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let p: Box<dyn Prior> =
            serde_json::from_str(r#"{"type":"exponential","lam":1.0}"#).unwrap();
        crate::prior::conformance::check(p.as_ref()).unwrap();
    }
}
