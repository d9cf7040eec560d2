//! Power (root) saturation.
//!
//! Ref: the constant-elasticity response curve of classical econometric MMM (e.g. Hanssens,
//! Parsons & Schultz, "Market Response Models", 2001); PyMC-Marketing's `root_saturation`.

use crate::simd::{self, BlockKernel, BlockKernel2, Real};
use crate::util::benign;
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::transform::{Transform, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Power saturation, elementwise: constant elasticity `p`, unbounded, concave for `p < 1`.
///
/// # Formula
/// ```text
/// y = x^p               (x ≤ 0 ↦ 0)
/// ∂y/∂x = p·x^{p−1}     (x = 0: 1 if p = 1, +∞ if p < 1)
/// ∂y/∂p = x^p·ln x      (0 at x = 0, its limit)
/// ```
/// where `p` is `exponent` in (0, 1]. The input derivative at x = 0 is +∞ for p < 1;
/// Jacobian–vector products give 0 where `dx = 0` and are never NaN.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Power {
    /// Exponent p (the elasticity of response to input), in (0, 1].
    #[schemars(range(max = 1.0), extend("exclusiveMinimum" = 0.0))]
    pub exponent: f64,
}

impl Power {
    const PARAMS: &'static [ParamSpec] = &[ParamSpec::lower_open("exponent", 0.0, 1.0)];
}

#[typetag::serde(name = "power")]
impl Transform for Power {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.exponent;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.exponent = values[0];
    }
    fn validate(&self) -> Result<()> {
        check_all(Self::PARAMS, &[self.exponent])
    }
    fn is_elementwise(&self) -> bool {
        true
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        if self.exponent == 1.0 {
            for (o, &xi) in out.iter_mut().zip(x) {
                *o = if xi > 0.0 { xi } else { 0.0 };
            }
        } else {
            simd::map_blocks(PowerKernel { p: self.exponent }, x, out);
        }
    }
    fn jvp_input(&self, x: &[f64], dx: &[f64], out: &mut [f64]) {
        let p = self.exponent;
        let g0 = if p < 1.0 { f64::INFINITY } else { 1.0 };
        simd::map2_blocks(PowerJvp { p, g0 }, x, dx, out);
    }
    fn d_params(&self, x: &[f64], out: &mut [f64]) {
        let n = x.len();
        simd::map_blocks(PowerDp { p: self.exponent }, x, &mut out[..n]);
    }
}

/// `x^p = exp(p·ln x)` for `x > 0`, else 0, on blocks (the formula of `simd::pow`: within 1e-14 relative
/// of `powf` for results between 4e-18 and 2e17).
#[derive(Clone, Copy)]
struct PowerKernel {
    p: f64,
}

impl BlockKernel for PowerKernel {
    #[inline(always)]
    fn eval<T: Real>(self, x: T) -> T {
        let pos = T::splat(0.0).lt(x);
        let y = simd::exp(T::splat(self.p) * simd::ln_pos(benign(pos, x, 1.0)));
        T::select(pos, y, T::splat(0.0))
    }
}

/// `d·∂y/∂x`: `∂y/∂x = p·x^{p−1} = p·exp((p−1)·ln x)` for `x > 0` (no division), `g0` (+∞ for
/// `p < 1`, 1 for `p = 1`) at `x = 0`, 0 for `x < 0`; 0 wherever `d = 0`.
#[derive(Clone, Copy)]
struct PowerJvp {
    p: f64,
    g0: f64,
}

impl BlockKernel2 for PowerJvp {
    #[inline(always)]
    fn eval<T: Real>(self, x: T, d: T) -> T {
        let zero = T::splat(0.0);
        let l = simd::ln_pos(benign(zero.lt(x), x, 1.0));
        let g = T::splat(self.p) * simd::exp(T::splat(self.p - 1.0) * l);
        let g = T::select(
            zero.lt(x),
            g,
            T::select(x.eq(zero), T::splat(self.g0), zero),
        );
        T::select(d.eq(zero), zero, g * d)
    }
}

/// `∂y/∂p = x^p·ln x = exp(p·l)·l`, `l = ln x`, for `x > 0` (one `ln`, one `exp`), else 0.
#[derive(Clone, Copy)]
struct PowerDp {
    p: f64,
}

impl BlockKernel for PowerDp {
    #[inline(always)]
    fn eval<T: Real>(self, x: T) -> T {
        let pos = T::splat(0.0).lt(x);
        let l = simd::ln_pos(benign(pos, x, 1.0));
        let y = simd::exp(T::splat(self.p) * l) * l;
        T::select(pos, y, T::splat(0.0))
    }
}

mmm_core::register!(
    KIND,
    Power,
    "power",
    "Power saturation x^exponent, exponent in (0, 1] (constant elasticity)",
    r#"{"exponent": 0.5}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::transform::conformance;

    #[test]
    fn conformance_several_settings() {
        for exponent in [0.2, 0.5, 0.85, 1.0] {
            conformance::check(&Power { exponent }, true)
                .unwrap_or_else(|e| panic!("{exponent}: {e}"));
        }
    }

    #[test]
    fn values_and_zero_handling() {
        let t = Power { exponent: 0.5 };
        let mut y = [9.0; 3];
        t.apply(&[0.0, 4.0, -1.0], &mut y);
        assert_eq!(y, [0.0, 2.0, 0.0]);
        t.jvp_input(&[0.0, 4.0, 0.0], &[1.0, 1.0, 0.0], &mut y);
        assert_eq!(y, [f64::INFINITY, 0.25, 0.0]);
        let mut dp = [9.0; 2];
        t.d_params(&[0.0, 1.0], &mut dp);
        assert_eq!(dp, [0.0, 0.0]);
    }

    #[test]
    fn rejects_bad_fields() {
        let e = Power { exponent: 1.5 }.validate().unwrap_err().to_string();
        assert!(e.contains("/exponent") && e.contains("(0, 1]"), "{e}");
        assert!(Power { exponent: 0.0 }.validate().is_err());
    }
}
