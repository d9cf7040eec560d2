//! Tanh saturation.
//!
//! Ref: PyMC-Marketing, `pymc_marketing.mmm.transformers.tanh_saturation(x, b, c)`
//! (`b·tanh(x/(b·c))`: `b` the saturation level, `c` the initial cost per acquisition).

use crate::simd::{self, Kernel};
use crate::util::{fast_tanh, mul_deriv};
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::transform::{Transform, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Tanh saturation, elementwise: slope `1/c` at zero, levelling off at `b`.
///
/// # Formula
/// ```text
/// u = x / (b·c),   y = b·tanh(u),   y ∈ [0, b) for x ≥ 0
/// ∂y/∂x = (1 − tanh²u) / c
/// ∂y/∂b = tanh u − u·(1 − tanh²u)
/// ∂y/∂c = −b·u·(1 − tanh²u) / c
/// ```
/// where `b` is the saturation level (the maximum response) and `c` the cost per unit of
/// response at zero spend (PyMC-Marketing's "initial cost per acquisition"). The curve is odd
/// and defined for every input.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tanh {
    /// Saturation level b, > 0: the response approaches b for large input.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub b: f64,
    /// Initial cost per unit of response c, > 0: the slope at zero input is 1/c.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub c: f64,
}

impl Tanh {
    const PARAMS: &'static [ParamSpec] = &[ParamSpec::positive("b"), ParamSpec::positive("c")];
}

#[typetag::serde(name = "tanh")]
impl Transform for Tanh {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.b;
        out[1] = self.c;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.b = values[0];
        self.c = values[1];
    }
    fn validate(&self) -> Result<()> {
        check_all(Self::PARAMS, &[self.b, self.c])
    }
    fn is_elementwise(&self) -> bool {
        true
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        let inv = 1.0 / (self.b * self.c);
        simd::map(TanhKernel { b: self.b, inv }, x, out);
    }
    fn jvp_input(&self, x: &[f64], dx: &[f64], out: &mut [f64]) {
        let inv = 1.0 / (self.b * self.c);
        for ((o, &xi), &d) in out.iter_mut().zip(x).zip(dx) {
            let th = fast_tanh(xi * inv);
            *o = mul_deriv((1.0 - th * th) / self.c, d);
        }
    }
    fn d_params(&self, x: &[f64], out: &mut [f64]) {
        let n = x.len();
        let inv = 1.0 / (self.b * self.c);
        let (db, dc) = out[..2 * n].split_at_mut(n);
        for (t, &xi) in x.iter().enumerate() {
            let u = xi * inv;
            let th = fast_tanh(u);
            let s = 1.0 - th * th;
            db[t] = th - u * s;
            dc[t] = -self.b * u * s / self.c;
        }
    }
}

/// `b·tanh(x·inv)`, vectorizable.
#[derive(Clone, Copy)]
struct TanhKernel {
    b: f64,
    inv: f64,
}

impl Kernel for TanhKernel {
    #[inline(always)]
    fn eval(self, x: f64) -> f64 {
        self.b * simd::tanh(x * self.inv)
    }
}

mmm_core::register!(
    KIND,
    Tanh,
    "tanh",
    "Tanh saturation b·tanh(x / (b·c)), in [0, b) (PyMC-Marketing)",
    r#"{"b": 1.0, "c": 0.5}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::transform::conformance;

    fn make(b: f64, c: f64) -> Tanh {
        Tanh { b, c }
    }

    #[test]
    fn conformance_several_settings() {
        for t in [make(1.0, 0.5), make(3.0, 0.2), make(0.5, 4.0)] {
            conformance::check(&t, true).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        }
    }

    #[test]
    fn slope_and_bound() {
        let t = make(2.0, 0.25);
        let mut j = [0.0];
        t.jvp_input(&[0.0], &[1.0], &mut j);
        assert!((j[0] - 4.0).abs() < 1e-15);
        let x = [0.0, 0.1, 1.0, 5.0];
        let mut y = [0.0; 4];
        t.apply(&x, &mut y);
        assert!(y.iter().all(|v| (0.0..2.0).contains(v)));
    }

    #[test]
    fn rejects_bad_fields() {
        let e = make(-1.0, 1.0).validate().unwrap_err().to_string();
        assert!(e.contains("/b") && e.contains("(0, ∞)"), "{e}");
        let e = make(1.0, 0.0).validate().unwrap_err().to_string();
        assert!(e.contains("/c"), "{e}");
    }
}
