//! Truncated normal prior.

use crate::prior::{check_finite, check_positive, Prior, Support, HALF_LN_2PI, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Normal `N(μ, σ)` truncated to `(lower, upper)` (either end may be omitted: unbounded).
/// # Formula
/// ```text
/// log p(x) = −½·((x − μ)/σ)² − log σ − ½·log 2π − log(Φ((upper − μ)/σ) − Φ((lower − μ)/σ))
/// d/dx     = −(x − μ)/σ²
/// ```
/// where `Φ` is the standard normal CDF.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TruncatedNormal {
    /// Mean μ of the untruncated normal.
    pub mu: f64,
    /// Standard deviation σ > 0.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub sigma: f64,
    /// Lower end (default −∞).
    #[serde(default = "neg_inf", skip_serializing_if = "is_neg_inf")]
    #[schemars(with = "Option<f64>")]
    pub lower: f64,
    /// Upper end (default ∞).
    #[serde(default = "pos_inf", skip_serializing_if = "is_pos_inf")]
    #[schemars(with = "Option<f64>")]
    pub upper: f64,
}

fn neg_inf() -> f64 {
    f64::NEG_INFINITY
}
fn pos_inf() -> f64 {
    f64::INFINITY
}
fn is_neg_inf(v: &f64) -> bool {
    *v == f64::NEG_INFINITY
}
fn is_pos_inf(v: &f64) -> bool {
    *v == f64::INFINITY
}

impl TruncatedNormal {
    /// `log(Φ(b) − Φ(a))` with standardized ends, computed on the side with more precision.
    fn log_mass(&self) -> f64 {
        let a = (self.lower - self.mu) / self.sigma;
        let b = (self.upper - self.mu) / self.sigma;
        let phi = |z: f64| 0.5 * statrs::function::erf::erfc(-z / std::f64::consts::SQRT_2);
        let m = if a > 0.0 {
            phi(-a) - phi(-b)
        } else {
            phi(b) - phi(a)
        };
        m.max(1e-300).ln()
    }
}

#[typetag::serde(name = "truncated_normal")]
impl Prior for TruncatedNormal {
    fn validate(&self) -> Result<()> {
        check_finite("mu", self.mu)?;
        check_positive("sigma", self.sigma)?;
        if self.lower.is_nan() || self.upper.is_nan() || self.upper <= self.lower {
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
        let z = (x - self.mu) / self.sigma;
        -0.5 * z * z - self.sigma.ln() - HALF_LN_2PI - self.log_mass()
    }
    fn d_log_density(&self, x: f64) -> f64 {
        -(x - self.mu) / (self.sigma * self.sigma)
    }
    fn center(&self) -> f64 {
        self.mu.clamp(self.lower, self.upper).clamp(
            self.lower + 0.01 * self.sigma,
            self.upper - 0.01 * self.sigma,
        )
    }
}

mmm_core::register!(
    KIND,
    TruncatedNormal,
    "truncated_normal",
    "Normal(mu, sigma) truncated to (lower, upper)",
    r#"{"mu":0.0,"sigma":1.0,"lower":0.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms() {
        let p: Box<dyn Prior> =
            serde_json::from_str(r#"{"type":"truncated_normal","mu":0.0,"sigma":1.0,"lower":0.0}"#)
                .unwrap();
        crate::prior::conformance::check(p.as_ref()).unwrap();
    }
}
