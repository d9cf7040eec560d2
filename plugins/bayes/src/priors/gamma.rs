//! Gamma prior.

use crate::prior::{check_positive, ln_gamma, Prior, Support, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Gamma prior (shape α, rate β) on `(0, ∞)`.
/// # Formula
/// ```text
/// log p(x) = α·log β − log Γ(α) + (α − 1)·log x − β·x        d/dx = (α − 1)/x − β
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gamma {
    /// Shape α > 0.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub alpha: f64,
    /// Rate β > 0 (mean α/β).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub beta: f64,
}

#[typetag::serde(name = "gamma")]
impl Prior for Gamma {
    fn validate(&self) -> Result<()> {
        check_positive("alpha", self.alpha)?;
        check_positive("beta", self.beta)
    }
    fn support(&self) -> Support {
        Support::POSITIVE
    }
    fn log_density(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return f64::NEG_INFINITY;
        }
        self.alpha * self.beta.ln() - ln_gamma(self.alpha) + (self.alpha - 1.0) * x.ln()
            - self.beta * x
    }
    fn d_log_density(&self, x: f64) -> f64 {
        (self.alpha - 1.0) / x - self.beta
    }
    fn center(&self) -> f64 {
        self.alpha / self.beta
    }
}

mmm_core::register!(
    KIND,
    Gamma,
    "gamma",
    "Gamma(alpha, rate beta) on (0, inf)",
    r#"{"alpha":3.0,"beta":1.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let p: Box<dyn Prior> =
            serde_json::from_str(r#"{"type":"gamma","alpha":3.0,"beta":1.0}"#).unwrap();
        crate::prior::conformance::check(p.as_ref()).unwrap();
    }
}
