//! Half-normal prior.

use crate::prior::{check_positive, Prior, Support, HALF_LN_2PI, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Half-normal prior on `(0, ∞)`.
/// # Formula
/// ```text
/// log p(x) = log 2 − ½·log 2π − log σ − ½·(x/σ)²        d/dx = −x/σ²
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HalfNormal {
    /// Scale σ > 0.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub sigma: f64,
}

#[typetag::serde(name = "half_normal")]
impl Prior for HalfNormal {
    fn validate(&self) -> Result<()> {
        check_positive("sigma", self.sigma)
    }
    fn support(&self) -> Support {
        Support::POSITIVE
    }
    fn log_density(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return f64::NEG_INFINITY;
        }
        let z = x / self.sigma;
        std::f64::consts::LN_2 - HALF_LN_2PI - self.sigma.ln() - 0.5 * z * z
    }
    fn d_log_density(&self, x: f64) -> f64 {
        -x / (self.sigma * self.sigma)
    }
    fn center(&self) -> f64 {
        self.sigma * (2.0 / std::f64::consts::PI).sqrt()
    }
}

mmm_core::register!(
    KIND,
    HalfNormal,
    "half_normal",
    "Half-normal(sigma) on (0, inf)",
    r#"{"sigma":2.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let p: Box<dyn Prior> =
            serde_json::from_str(r#"{"type":"half_normal","sigma":2.0}"#).unwrap();
        crate::prior::conformance::check(p.as_ref()).unwrap();
    }
}
