//! Half-Cauchy prior.

use crate::prior::{check_positive, Prior, Support, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Half-Cauchy prior on `(0, ∞)`.
/// # Formula
/// ```text
/// log p(x) = log 2 − log π − log β − log(1 + (x/β)²)        d/dx = −2x/(β² + x²)
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HalfCauchy {
    /// Scale β > 0.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub beta: f64,
}

#[typetag::serde(name = "half_cauchy")]
impl Prior for HalfCauchy {
    fn validate(&self) -> Result<()> {
        check_positive("beta", self.beta)
    }
    fn support(&self) -> Support {
        Support::POSITIVE
    }
    fn log_density(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return f64::NEG_INFINITY;
        }
        let z = x / self.beta;
        std::f64::consts::LN_2 - std::f64::consts::PI.ln() - self.beta.ln() - (z * z).ln_1p()
    }
    fn d_log_density(&self, x: f64) -> f64 {
        -2.0 * x / (self.beta * self.beta + x * x)
    }
    fn center(&self) -> f64 {
        self.beta
    }
}

mmm_core::register!(
    KIND,
    HalfCauchy,
    "half_cauchy",
    "Half-Cauchy(beta) on (0, inf)",
    r#"{"beta":1.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let p: Box<dyn Prior> =
            serde_json::from_str(r#"{"type":"half_cauchy","beta":1.0}"#).unwrap();
        crate::prior::conformance::check(p.as_ref()).unwrap();
    }
}
