//! Logarithmic saturation.
//!
//! Ref: the semi-log response model of classical econometric MMM (e.g. Hanssens, Parsons &
//! Schultz, "Market Response Models", 2001); `log1p` of scaled spend as in many in-house MMMs.

use crate::simd::{self, Kernel};
use crate::util::mul_deriv;
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::transform::{Transform, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Logarithmic saturation, elementwise: `log(1 + x/scale)`, unbounded and concave.
///
/// # Formula
/// ```text
/// y = ln(1 + x/s)              (x ≤ 0 ↦ 0)
/// ∂y/∂x = 1 / (s + x)
/// ∂y/∂s = −x / (s·(s + x))
/// ```
/// where `s` is `scale` (default 1): the input at which the response is ln 2, i.e. where
/// diminishing returns set in. Spend is non-negative; negative input is treated as 0 (the
/// formula is undefined for x ≤ −s).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Log {
    /// Input scale s, > 0, in the units of the input. Default: 1.
    #[serde(default = "default_scale")]
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub scale: f64,
}

fn default_scale() -> f64 {
    1.0
}

impl Log {
    const PARAMS: &'static [ParamSpec] = &[ParamSpec::positive("scale")];
}

#[typetag::serde(name = "log")]
impl Transform for Log {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.scale;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.scale = values[0];
    }
    fn validate(&self) -> Result<()> {
        check_all(Self::PARAMS, &[self.scale])
    }
    fn is_elementwise(&self) -> bool {
        true
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        simd::map(
            LogKernel {
                inv: 1.0 / self.scale,
            },
            x,
            out,
        );
    }
    fn jvp_input(&self, x: &[f64], dx: &[f64], out: &mut [f64]) {
        for ((o, &xi), &d) in out.iter_mut().zip(x).zip(dx) {
            *o = if xi < 0.0 {
                0.0
            } else {
                mul_deriv(1.0 / (self.scale + xi), d)
            };
        }
    }
    fn d_params(&self, x: &[f64], out: &mut [f64]) {
        let s = self.scale;
        for (o, &xi) in out.iter_mut().zip(x) {
            let xi = xi.max(0.0);
            *o = -xi / (s * (s + xi));
        }
    }
}

/// `ln(1 + max(x, 0)·inv)` (NaN ↦ 0), vectorizable.
#[derive(Clone, Copy)]
struct LogKernel {
    inv: f64,
}

impl Kernel for LogKernel {
    #[inline(always)]
    fn eval(self, x: f64) -> f64 {
        let x = if x > 0.0 { x } else { 0.0 };
        simd::ln_1p(x * self.inv)
    }
}

mmm_core::register!(
    KIND,
    Log,
    "log",
    "Logarithmic saturation ln(1 + x/scale)",
    r#"{"scale": 1.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::transform::conformance;

    #[test]
    fn conformance_several_settings() {
        for scale in [0.1, 1.0, 7.0] {
            conformance::check(&Log { scale }, true).unwrap_or_else(|e| panic!("{scale}: {e}"));
        }
    }

    #[test]
    fn values_and_default() {
        let t: Box<dyn Transform> = serde_json::from_str(r#"{"type":"log"}"#).unwrap();
        let mut y = [0.0; 3];
        t.apply(&[0.0, 1.0, std::f64::consts::E - 1.0], &mut y);
        assert_eq!(y[0], 0.0);
        assert!((y[1] - 2f64.ln()).abs() < 1e-15 && (y[2] - 1.0).abs() < 1e-15);
    }

    #[test]
    fn rejects_bad_fields() {
        let e = Log { scale: 0.0 }.validate().unwrap_err().to_string();
        assert!(e.contains("/scale") && e.contains("(0, ∞)"), "{e}");
    }
}
