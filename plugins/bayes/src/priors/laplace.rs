//! Laplace prior.

use crate::prior::{check_finite, check_positive, Prior, Support, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Laplace (double exponential) prior.
/// # Formula
/// ```text
/// log p(x) = −log 2b − |x − μ|/b        d/dx = −sign(x − μ)/b   (0 at x = μ)
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Laplace {
    /// Location μ.
    pub mu: f64,
    /// Scale b > 0.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub b: f64,
}

#[typetag::serde(name = "laplace")]
impl Prior for Laplace {
    fn validate(&self) -> Result<()> {
        check_finite("mu", self.mu)?;
        check_positive("b", self.b)
    }
    fn support(&self) -> Support {
        Support::REAL
    }
    fn log_density(&self, x: f64) -> f64 {
        -(2.0 * self.b).ln() - (x - self.mu).abs() / self.b
    }
    fn d_log_density(&self, x: f64) -> f64 {
        let d = x - self.mu;
        if d > 0.0 {
            -1.0 / self.b
        } else if d < 0.0 {
            1.0 / self.b
        } else {
            0.0
        }
    }
    fn center(&self) -> f64 {
        self.mu
    }
}

mmm_core::register!(
    KIND,
    Laplace,
    "laplace",
    "Laplace(mu, b) on the real line",
    r#"{"mu":0.0,"b":1.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let p: Box<dyn Prior> =
            serde_json::from_str(r#"{"type":"laplace","mu":0.0,"b":1.0}"#).unwrap();
        crate::prior::conformance::check(p.as_ref()).unwrap();
    }
}
