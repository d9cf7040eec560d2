//! Log-normal prior.

use crate::prior::{check_finite, check_positive, Prior, Support, HALF_LN_2PI, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Log-normal prior: `log x ~ N(μ, σ)`.
/// # Formula
/// ```text
/// log p(x) = −log x − log σ − ½·log 2π − ½·((log x − μ)/σ)²
/// d/dx     = −1/x − (log x − μ)/(σ²·x)
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogNormal {
    /// Mean μ of log x.
    pub mu: f64,
    /// Standard deviation σ > 0 of log x.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub sigma: f64,
}

#[typetag::serde(name = "log_normal")]
impl Prior for LogNormal {
    fn validate(&self) -> Result<()> {
        check_finite("mu", self.mu)?;
        check_positive("sigma", self.sigma)
    }
    fn support(&self) -> Support {
        Support::POSITIVE
    }
    fn log_density(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return f64::NEG_INFINITY;
        }
        let z = (x.ln() - self.mu) / self.sigma;
        -x.ln() - self.sigma.ln() - HALF_LN_2PI - 0.5 * z * z
    }
    fn d_log_density(&self, x: f64) -> f64 {
        -1.0 / x - (x.ln() - self.mu) / (self.sigma * self.sigma * x)
    }
    fn center(&self) -> f64 {
        self.mu.exp()
    }
}

mmm_core::register!(
    KIND,
    LogNormal,
    "log_normal",
    "Log-normal(mu, sigma) on (0, inf)",
    r#"{"mu":0.0,"sigma":1.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let p: Box<dyn Prior> =
            serde_json::from_str(r#"{"type":"log_normal","mu":0.0,"sigma":1.0}"#).unwrap();
        crate::prior::conformance::check(p.as_ref()).unwrap();
    }
}
