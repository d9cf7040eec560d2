//! Normal prior.

use crate::prior::{check_finite, check_positive, Prior, Support, HALF_LN_2PI, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Normal prior `N(μ, σ)`.
/// # Formula
/// ```text
/// log p(x) = −½·((x − μ)/σ)² − log σ − ½·log 2π        d/dx = −(x − μ)/σ²
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Normal {
    /// Mean μ.
    pub mu: f64,
    /// Standard deviation σ > 0.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub sigma: f64,
}

#[typetag::serde(name = "normal")]
impl Prior for Normal {
    fn validate(&self) -> Result<()> {
        check_finite("mu", self.mu)?;
        check_positive("sigma", self.sigma)
    }
    fn support(&self) -> Support {
        Support::REAL
    }
    fn log_density(&self, x: f64) -> f64 {
        let z = (x - self.mu) / self.sigma;
        -0.5 * z * z - self.sigma.ln() - HALF_LN_2PI
    }
    fn d_log_density(&self, x: f64) -> f64 {
        -(x - self.mu) / (self.sigma * self.sigma)
    }
    fn center(&self) -> f64 {
        self.mu
    }
}

mmm_core::register!(
    KIND,
    Normal,
    "normal",
    "Normal(mu, sigma) on the real line",
    r#"{"mu":0.0,"sigma":2.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let p: Box<dyn Prior> =
            serde_json::from_str(r#"{"type":"normal","mu":0.0,"sigma":2.0}"#).unwrap();
        crate::prior::conformance::check(p.as_ref()).unwrap();
    }
}
