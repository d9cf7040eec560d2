//! Geometric adstock (carry-over).
//!
//! Ref: Jin et al. (2017), "Bayesian Methods for Media Mix Modeling with Carryover and Shape
//! Effects"; unnormalized form as in Robyn, normalized form as in PyMC-Marketing and
//! LightweightMMM.

use crate::util::{convolve, with_scratch2};
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::transform::{Transform, KIND};
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Geometric adstock: each period carries a share `θ` (`decay`) of the last period's adstock.
///
/// # Formula
/// ```text
/// without l_max:  a_t = x_t + θ·a_{t−1},  a_{−1} = 0
/// with l_max L:   a_t = Σ_{l<L} w_l·x_{t−l},  w_l = θ^l            (normalize: w_l = θ^l / Σ_{k<L} θ^k)
/// ∂a_t/∂x_{t−l} = w_l
/// ∂a_t/∂θ       = Σ_l ∂w_l/∂θ · x_{t−l},   ∂θ^l/∂θ = l·θ^{l−1}
///                 (normalized: ∂w_l/∂θ = (l·θ^{l−1} − w_l·Σ_k k·θ^{k−1}) / Σ_k θ^k)
/// ```
/// where `θ ∈ [0, 1)` is `decay`. Without `l_max` the recursion is exact for the infinite
/// filter started at zero; `normalize` needs `l_max`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeometricAdstock {
    /// Share of last period's adstock carried into this period, in [0, 1).
    #[schemars(range(min = 0.0), extend("exclusiveMaximum" = 1.0))]
    pub decay: f64,
    /// Longest lag, in periods (weights at lags ≥ l_max are zero). Default: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub l_max: Option<u32>,
    /// Divide the weights by their sum over l_max lags, so total effect equals total input
    /// (PyMC-Marketing / LightweightMMM). Requires `l_max`.
    #[serde(default)]
    pub normalize: bool,
}

impl GeometricAdstock {
    const PARAMS: &'static [ParamSpec] = &[ParamSpec::upper_open("decay", 0.0, 1.0)];

    /// Weights `w_l` and their derivatives in θ for `l < n`.
    fn weights(&self, n: usize, w: &mut [f64], dw: &mut [f64]) {
        let th = self.decay;
        let mut p = 1.0; // θ^l
        let mut dp = 0.0; // l·θ^{l−1}
        let (mut s, mut ds) = (0.0, 0.0);
        for l in 0..n {
            w[l] = p;
            dw[l] = dp;
            s += p;
            ds += dp;
            dp = p + th * dp; // d(θ^{l+1}) = θ^l + θ·d(θ^l)
            p *= th;
        }
        if self.normalize {
            for l in 0..n {
                dw[l] = (dw[l] - w[l] * ds / s) / s;
                w[l] /= s;
            }
        }
    }

    fn lags(&self, n: usize) -> Option<usize> {
        self.l_max.map(|l| (l as usize).min(n.max(1)))
    }
}

#[typetag::serde(name = "geometric_adstock")]
impl Transform for GeometricAdstock {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.decay;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.decay = values[0];
    }
    fn validate(&self) -> Result<()> {
        check_all(Self::PARAMS, &[self.decay])?;
        if self.normalize && self.l_max.is_none() {
            return Err(mmm_core::MmmError::param(
                "/normalize",
                "normalize = true needs l_max",
            ));
        }
        Ok(())
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        match self.lags(x.len()) {
            None => {
                let mut a = 0.0;
                for (o, xi) in out.iter_mut().zip(x) {
                    a = xi + self.decay * a;
                    *o = a;
                }
            }
            Some(l) => with_scratch2(l, |w, dw| {
                self.weights(l, w, dw);
                convolve(x, w, out);
            }),
        }
    }
    fn jvp_input(&self, _x: &[f64], dx: &[f64], out: &mut [f64]) {
        // linear filter: J·dx = filter(dx)
        self.apply(dx, out);
    }
    fn d_params(&self, x: &[f64], out: &mut [f64]) {
        match self.lags(x.len()) {
            None => {
                // a_t = x_t + θ a_{t−1};  d_t = a_{t−1} + θ d_{t−1}
                let (mut a, mut d) = (0.0, 0.0);
                for (o, xi) in out.iter_mut().zip(x) {
                    d = a + self.decay * d;
                    a = xi + self.decay * a;
                    *o = d;
                }
            }
            Some(l) => with_scratch2(l, |w, dw| {
                self.weights(l, w, dw);
                convolve(x, dw, &mut out[..x.len()]);
            }),
        }
    }
    fn lag_weights(&self, n: usize) -> Option<Vec<f64>> {
        let l = self.lags(n).unwrap_or(n);
        let mut w = vec![0.0; n];
        let mut dw = vec![0.0; n];
        self.weights(l, &mut w[..l], &mut dw[..l]);
        Some(w)
    }
}

mmm_core::register!(
    KIND,
    GeometricAdstock,
    "geometric_adstock",
    "Geometric carry-over: a_t = x_t + decay·a_{t−1} (optionally truncated at l_max and normalized)",
    r#"{"decay": 0.5}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::transform::conformance;

    fn make(decay: f64, l_max: Option<u32>, normalize: bool) -> GeometricAdstock {
        GeometricAdstock {
            decay,
            l_max,
            normalize,
        }
    }

    #[test]
    fn conformance_all_forms() {
        for t in [
            make(0.6, None, false),
            make(0.3, Some(8), false),
            make(0.7, Some(8), true),
        ] {
            conformance::check(&t, true).unwrap();
        }
    }

    #[test]
    fn recursion_matches_closed_form() {
        let x = [1.0, 0.0, 0.0, 2.0];
        let mut y = [0.0; 4];
        make(0.5, None, false).apply(&x, &mut y);
        assert_eq!(y, [1.0, 0.5, 0.25, 2.125]);
    }

    #[test]
    fn normalized_preserves_mass_away_from_the_end() {
        let mut x = vec![0.0; 30];
        x[3] = 10.0;
        let mut y = vec![0.0; 30];
        make(0.8, Some(12), true).apply(&x, &mut y);
        assert!((y.iter().sum::<f64>() - 10.0).abs() < 1e-12);
    }

    #[test]
    fn rejects_out_of_range_decay() {
        let e = make(1.0, None, false).validate().unwrap_err().to_string();
        assert!(e.contains("/decay") && e.contains("[0, 1)"), "{e}");
        assert!(make(f64::NAN, None, false).validate().is_err());
        assert!(make(0.5, None, true).validate().is_err());
    }
}
