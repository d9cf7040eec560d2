//! Hill saturation.
//!
//! Ref: Hill (1910); Jin et al. (2017), "Bayesian Methods for Media Mix Modeling with Carryover
//! and Shape Effects", eq. (3) (`K` = half saturation, `S` = shape); the same curve as
//! LightweightMMM's `hill` and PyMC-Marketing's `hill_function`.

use crate::util::{hill_all_series, hill_dparams_series, hill_jvp_series, hill_series};
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::transform::{Transform, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Hill saturation with a fixed half-saturation point, elementwise.
///
/// # Formula
/// ```text
/// h(x) = x^s / (x^s + K^s) = 1 / (1 + (K/x)^s)        (x ≤ 0 ↦ 0),   h ∈ [0, 1)
/// ∂h/∂x = s·h·(1−h) / x         (x = 0: 0 if s > 1, 1/K if s = 1, +∞ if s < 1)
/// ∂h/∂K = −s·h·(1−h) / K
/// ∂h/∂s = h·(1−h)·ln(x/K)       (0 at x = 0)
/// ```
/// where `K` is `half_saturation` (h(K) = 1/2) and `s` is `shape` (s > 1: S-shaped; s ≤ 1:
/// concave). The form with `(K/x)^s` neither overflows nor divides 0 by 0. Spend is
/// non-negative; negative input is treated as 0. At x = 0 with s < 1 the input derivative is
/// +∞; Jacobian–vector products give 0 where `dx = 0` and never NaN. For very large `x/K`, `h`
/// rounds to 1 in floating point.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hill {
    /// Input at which the response is half of its maximum (K), > 0, in the units of the input.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub half_saturation: f64,
    /// Steepness s, > 0: above 1 the curve is S-shaped, at or below 1 it is concave.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub shape: f64,
}

impl Hill {
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::positive("half_saturation"),
        ParamSpec::positive("shape"),
    ];
}

#[typetag::serde(name = "hill")]
impl Transform for Hill {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.half_saturation;
        out[1] = self.shape;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.half_saturation = values[0];
        self.shape = values[1];
    }
    fn validate(&self) -> Result<()> {
        check_all(Self::PARAMS, &[self.half_saturation, self.shape])
    }
    fn is_elementwise(&self) -> bool {
        true
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        hill_series(x, self.half_saturation, self.shape, out);
    }
    fn jvp_input(&self, x: &[f64], dx: &[f64], out: &mut [f64]) {
        hill_jvp_series(x, dx, self.half_saturation, self.shape, out);
    }
    fn d_params(&self, x: &[f64], out: &mut [f64]) {
        let n = x.len();
        let (k, s) = (self.half_saturation, self.shape);
        let (dk, ds) = out[..2 * n].split_at_mut(n);
        // ∂h/∂K = (−s/K)·h(1−h),  ∂h/∂s = h(1−h)·ln(x/K)
        hill_dparams_series(x, k, s, -s / k, dk, ds);
    }
    fn apply_derivatives(
        &self,
        x: &[f64],
        out: &mut [f64],
        d_input: &mut [f64],
        d_params: &mut [f64],
    ) -> bool {
        let n = x.len();
        let (dk, ds) = d_params[..2 * n].split_at_mut(n);
        hill_all_series(x, self.half_saturation, self.shape, [out, d_input, dk, ds])
    }
}

mmm_core::register!(
    KIND,
    Hill,
    "hill",
    "Hill saturation x^shape / (x^shape + half_saturation^shape), in [0, 1)",
    r#"{"half_saturation": 1.0, "shape": 2.0}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::transform::conformance;

    fn make(k: f64, s: f64) -> Hill {
        Hill {
            half_saturation: k,
            shape: s,
        }
    }

    #[test]
    fn conformance_several_settings() {
        for t in [
            make(1.0, 2.0),
            make(0.5, 0.7),
            make(2.0, 1.0),
            make(1.3, 4.5),
        ] {
            conformance::check(&t, true).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        }
    }

    #[test]
    fn textbook_values_and_bounds() {
        let t = make(2.0, 3.0);
        let x = [0.0, 1.0, 2.0, 4.0, 1e3, 1e300, f64::MAX];
        let mut y = [0.0; 7];
        t.apply(&x, &mut y);
        assert_eq!(y[0], 0.0);
        assert!((y[1] - 1.0 / 9.0).abs() < 1e-15);
        assert!((y[2] - 0.5).abs() < 1e-15);
        assert!((y[3] - 64.0 / 72.0).abs() < 1e-15);
        assert!(y.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(y[..5].iter().all(|v| *v < 1.0));
    }

    #[test]
    fn derivatives_at_zero_are_finite_or_documented() {
        let x = [0.0, 0.0];
        let mut j = [9.0; 2];
        make(1.0, 2.0).jvp_input(&x, &[1.0, 0.0], &mut j);
        assert_eq!(j, [0.0, 0.0]);
        make(2.0, 1.0).jvp_input(&x, &[1.0, 0.0], &mut j);
        assert_eq!(j, [0.5, 0.0]);
        make(1.0, 0.5).jvp_input(&x, &[1.0, 0.0], &mut j);
        assert_eq!(j, [f64::INFINITY, 0.0]);
        let mut dp = [9.0; 4];
        make(1.0, 0.5).d_params(&x, &mut dp);
        assert_eq!(dp, [0.0; 4]);
    }

    /// `apply_derivatives` gives the bits of `apply`, `jvp_input` (dx = 1) and `d_params`, and
    /// a chain's `apply_d_params` through it the bits of the stage-by-stage chain rule, zero
    /// spend and a concave curve's infinite slope at 0 included.
    #[test]
    fn fused_derivatives_are_the_separate_ones() {
        let x: Vec<f64> = (0..37)
            .map(|i| {
                if i % 5 == 0 {
                    0.0
                } else {
                    0.1 + (i as f64 * 0.37).sin().abs() * 3.0
                }
            })
            .collect();
        let n = x.len();
        for t in [make(1.3, 1.7), make(0.4, 0.6), make(2.0, 4.2)] {
            let (mut y, mut dy, mut dp) = (vec![0.0; n], vec![0.0; n], vec![0.0; 2 * n]);
            assert!(t.apply_derivatives(&x, &mut y, &mut dy, &mut dp));
            let (mut y2, mut dy2, mut dp2) = (vec![0.0; n], vec![0.0; n], vec![0.0; 2 * n]);
            t.apply(&x, &mut y2);
            t.jvp_input(&x, &vec![1.0; n], &mut dy2);
            t.d_params(&x, &mut dp2);
            let bits = |v: &[f64]| v.iter().map(|a| a.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&y2), "{t:?}");
            assert_eq!(bits(&dy), bits(&dy2), "{t:?}");
            assert_eq!(bits(&dp), bits(&dp2), "{t:?}");
            // through a chain: adstock's decay derivative pushed through the curve
            let chain: mmm_core::transform::TransformChain =
                serde_json::from_value(serde_json::json!([
                    {"type": "geometric_adstock", "decay": 0.45},
                    {"type": "hill", "half_saturation": t.half_saturation, "shape": t.shape}
                ]))
                .unwrap();
            let mut ws = mmm_core::transform::ChainWorkspace::new(&chain, n);
            let (mut f, mut df) = (vec![0.0; n], vec![0.0; 3 * n]);
            chain.apply_d_params(&x, &mut f, &mut df, &mut ws);
            let (mut a, mut da) = (vec![0.0; n], vec![0.0; n]);
            chain.0[0].apply(&x, &mut a);
            chain.0[0].d_params(&x, &mut da);
            let (mut want, mut want_d) = (vec![0.0; n], vec![0.0; 3 * n]);
            chain.0[1].apply(&a, &mut want);
            chain.0[1].jvp_input(&a, &da, &mut want_d[..n]);
            chain.0[1].d_params(&a, &mut want_d[n..]);
            assert_eq!(bits(&f), bits(&want), "{t:?}");
            assert_eq!(bits(&df), bits(&want_d), "{t:?}");
            assert!(df.iter().all(|v| v.is_finite()), "{t:?}");
        }
        // shapes computed by multiplications keep the separate path
        let mut buf = vec![0.0; 2 * n];
        let (mut y, mut dy) = (vec![0.0; n], vec![0.0; n]);
        assert!(!make(1.0, 2.0).apply_derivatives(&x, &mut y, &mut dy, &mut buf));
    }

    #[test]
    fn rejects_bad_fields() {
        let e = make(0.0, 1.0).validate().unwrap_err().to_string();
        assert!(
            e.contains("/half_saturation") && e.contains("(0, ∞)"),
            "{e}"
        );
        let e = make(1.0, f64::NAN).validate().unwrap_err().to_string();
        assert!(e.contains("/shape"), "{e}");
    }
}
