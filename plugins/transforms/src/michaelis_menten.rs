//! Michaelis–Menten saturation.
//!
//! Ref: Michaelis & Menten (1913); PyMC-Marketing `michaelis_menten(x, alpha, lam)`
//! (`alpha·x/(lam + x)`) and Robyn's `mic_men(x, Vmax, Km)` (`Vmax·x/(Km + x)`).

use crate::util::mul_deriv;
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::transform::{Transform, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Michaelis–Menten saturation, elementwise: concave, from 0 towards `vmax`.
///
/// # Formula
/// ```text
/// y = v·x / (k + x)        (x ≤ 0 ↦ 0),   y ∈ [0, v)
/// ∂y/∂x = v·k / (k + x)²
/// ∂y/∂v = x / (k + x)
/// ∂y/∂k = −v·x / (k + x)²
/// ```
/// where `v` is `vmax` (PyMC-Marketing's `alpha`, Robyn's `Vmax`) and `k` is the input at
/// half of `vmax` (PyMC-Marketing's `lam`, Robyn's `Km`). Spend is non-negative; negative input
/// is treated as 0 (the formula has a pole at x = −k).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MichaelisMenten {
    /// Asymptotic maximum response v, > 0.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub vmax: f64,
    /// Input at which the response is half of vmax (k), > 0, in the units of the input.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub k: f64,
}

impl MichaelisMenten {
    const PARAMS: &'static [ParamSpec] = &[ParamSpec::positive("vmax"), ParamSpec::positive("k")];
}

#[typetag::serde(name = "michaelis_menten")]
impl Transform for MichaelisMenten {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.vmax;
        out[1] = self.k;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.vmax = values[0];
        self.k = values[1];
    }
    fn validate(&self) -> Result<()> {
        check_all(Self::PARAMS, &[self.vmax, self.k])
    }
    fn is_elementwise(&self) -> bool {
        true
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        for (o, &xi) in out.iter_mut().zip(x) {
            let xi = xi.max(0.0);
            *o = self.vmax * xi / (self.k + xi);
        }
    }
    fn jvp_input(&self, x: &[f64], dx: &[f64], out: &mut [f64]) {
        for ((o, &xi), &d) in out.iter_mut().zip(x).zip(dx) {
            let (xi, dxi) = if xi < 0.0 { (0.0, 0.0) } else { (xi, d) };
            let den = self.k + xi;
            *o = mul_deriv(self.vmax * self.k / (den * den), dxi);
        }
    }
    fn d_params(&self, x: &[f64], out: &mut [f64]) {
        let n = x.len();
        let (dv, dk) = out[..2 * n].split_at_mut(n);
        for (t, &xi) in x.iter().enumerate() {
            let xi = xi.max(0.0);
            let den = self.k + xi;
            dv[t] = xi / den;
            dk[t] = -self.vmax * xi / (den * den);
        }
    }
}

mmm_core::register!(
    KIND,
    MichaelisMenten,
    "michaelis_menten",
    "Michaelis–Menten saturation vmax·x / (k + x), in [0, vmax)",
    r#"{"vmax": 1.0, "k": 0.5}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::transform::conformance;

    fn make(vmax: f64, k: f64) -> MichaelisMenten {
        MichaelisMenten { vmax, k }
    }

    #[test]
    fn conformance_several_settings() {
        for t in [make(1.0, 0.5), make(3.0, 2.0), make(0.2, 10.0)] {
            conformance::check(&t, true).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        }
    }

    #[test]
    fn below_vmax_and_half_at_k() {
        let t = make(2.5, 0.8);
        let x = [0.0, 0.8, 5.0, 1e6];
        let mut y = [0.0; 4];
        t.apply(&x, &mut y);
        assert_eq!(y[0], 0.0);
        assert!((y[1] - 1.25).abs() < 1e-15);
        assert!(y.iter().all(|v| *v < 2.5));
    }

    #[test]
    fn rejects_bad_fields() {
        let e = make(0.0, 1.0).validate().unwrap_err().to_string();
        assert!(e.contains("/vmax") && e.contains("(0, ∞)"), "{e}");
        let e = make(1.0, -1.0).validate().unwrap_err().to_string();
        assert!(e.contains("/k"), "{e}");
    }
}
