//! Uniform prior.

use crate::prior::{check_finite, Prior, Support, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Uniform prior on `(lower, upper)`.
/// # Formula
/// ```text
/// log p(x) = −log(upper − lower) inside, −∞ outside        d/dx = 0
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Uniform {
    /// Lower end.
    pub lower: f64,
    /// Upper end (> lower).
    pub upper: f64,
}

#[typetag::serde(name = "uniform")]
impl Prior for Uniform {
    fn validate(&self) -> Result<()> {
        check_finite("lower", self.lower)?;
        check_finite("upper", self.upper)?;
        if self.upper <= self.lower {
            return Err(mmm_core::MmmError::param(
                "/upper",
                format!(
                    "upper = {} must be greater than lower = {}",
                    self.upper, self.lower
                ),
            ));
        }
        Ok(())
    }
    fn support(&self) -> Support {
        Support {
            lower: self.lower,
            upper: self.upper,
        }
    }
    fn log_density(&self, x: f64) -> f64 {
        if x <= self.lower || x >= self.upper {
            return f64::NEG_INFINITY;
        }
        -(self.upper - self.lower).ln()
    }
    fn d_log_density(&self, _x: f64) -> f64 {
        0.0
    }
    fn center(&self) -> f64 {
        0.5 * (self.lower + self.upper)
    }
}

mmm_core::register!(
    KIND,
    Uniform,
    "uniform",
    "Uniform(lower, upper)",
    r#"{"lower":0.0,"upper":1.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let p: Box<dyn Prior> =
            serde_json::from_str(r#"{"type":"uniform","lower":0.0,"upper":1.0}"#).unwrap();
        crate::prior::conformance::check(p.as_ref()).unwrap();
    }
}
