//! Beta prior.

use crate::prior::{check_positive, ln_gamma, Prior, Support, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Beta prior on `(0, 1)`.
/// # Formula
/// ```text
/// log p(x) = (α − 1)·log x + (β − 1)·log(1 − x) − log B(α, β)
/// d/dx     = (α − 1)/x − (β − 1)/(1 − x),     log B(α, β) = log Γ(α) + log Γ(β) − log Γ(α + β)
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Beta {
    /// Shape α > 0.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub alpha: f64,
    /// Shape β > 0.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub beta: f64,
}

#[typetag::serde(name = "beta")]
impl Prior for Beta {
    fn validate(&self) -> Result<()> {
        check_positive("alpha", self.alpha)?;
        check_positive("beta", self.beta)
    }
    fn support(&self) -> Support {
        Support::UNIT
    }
    fn log_density(&self, x: f64) -> f64 {
        if x <= 0.0 || x >= 1.0 {
            return f64::NEG_INFINITY;
        }
        let lb = ln_gamma(self.alpha) + ln_gamma(self.beta) - ln_gamma(self.alpha + self.beta);
        (self.alpha - 1.0) * x.ln() + (self.beta - 1.0) * (-x).ln_1p() - lb
    }
    fn d_log_density(&self, x: f64) -> f64 {
        (self.alpha - 1.0) / x - (self.beta - 1.0) / (1.0 - x)
    }
    fn center(&self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }
}

mmm_core::register!(
    KIND,
    Beta,
    "beta",
    "Beta(alpha, beta) on (0, 1)",
    r#"{"alpha":1.0,"beta":3.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let p: Box<dyn Prior> =
            serde_json::from_str(r#"{"type":"beta","alpha":1.0,"beta":3.0}"#).unwrap();
        crate::prior::conformance::check(p.as_ref()).unwrap();
    }
}
