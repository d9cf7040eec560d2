//! Delayed adstock (carry-over with a delayed peak).
//!
//! Ref: Jin et al. (2017), "Bayesian Methods for Media Mix Modeling with Carryover and Shape
//! Effects", eq. (2); the normalized form is LightweightMMM's `carryover` and PyMC-Marketing's
//! `delayed_adstock(..., normalize=True)`.

use crate::util::{convolve, with_scratch2};
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::transform::{Transform, KIND};
use mmm_core::{MmmError, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Delayed adstock: the effect of spend peaks `theta` periods later and decays on both sides
/// of the peak at rate `decay` per squared period.
///
/// # Formula
/// ```text
/// y_t = Σ_{l<L} w_l·x_{t−l},   u_l = δ^{(l−θ)²},   l = 0 … L−1
/// normalize:  w_l = u_l / Σ_k u_k        otherwise  w_l = u_l
/// ∂y_t/∂x_{t−l} = w_l
/// ∂y_t/∂θ_p     = Σ_l ∂w_l/∂θ_p · x_{t−l}, with  g_l = ∂ln u_l/∂θ_p:
///     ∂ln u_l/∂δ = (l−θ)²/δ,   ∂ln u_l/∂θ = −2(l−θ)·ln δ
///     normalize:  ∂w_l = w_l·(g_l − Σ_k w_k g_k)     otherwise  ∂w_l = u_l·g_l
/// ```
/// where `δ ∈ [0, 1)` is `decay`, `θ` is `theta` and `L` is `l_max`. The weights are computed
/// as `δ^{(l−θ)² − min_k (k−θ)²}` before normalizing, so they never all underflow (no 0/0,
/// whatever `θ`). At the boundary `δ = 0` the weights are a unit spike at the lag nearest `θ`;
/// the derivatives there are reported as 0 (they are 0 or +∞ depending on `θ`), so they are
/// never NaN.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelayedAdstock {
    /// Retention rate δ: weight of a lag one period away from the peak, relative to the peak, in [0, 1).
    #[schemars(range(min = 0.0), extend("exclusiveMaximum" = 1.0))]
    pub decay: f64,
    /// Delay of the peak effect θ, in periods, in [0, l_max − 1] (the schema bound 999 is the largest l_max − 1).
    #[schemars(range(min = 0.0, max = 999.0))]
    pub theta: f64,
    /// Number of lags L (weights at lags ≥ l_max are zero). Default: 12.
    #[serde(default = "default_l_max")]
    #[schemars(range(min = 1, max = 1000))]
    pub l_max: u32,
    /// Divide the weights by their sum, so total effect equals total input (LightweightMMM;
    /// PyMC-Marketing with normalize=True). Default: true.
    #[serde(default = "default_normalize")]
    pub normalize: bool,
}

fn default_l_max() -> u32 {
    12
}

fn default_normalize() -> bool {
    true
}

impl DelayedAdstock {
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::upper_open("decay", 0.0, 1.0),
        ParamSpec::closed("theta", 0.0, 999.0),
    ];

    /// Number of lags used on a series of length `n`.
    fn lags(&self, n: usize) -> usize {
        (self.l_max.max(1) as usize).min(n.max(1))
    }

    /// Weights `w_l`; when `dw` is `Some((p, dw))`, also `∂w_l/∂θ_p` for parameter `p`.
    /// The weights are those of all `l_max` lags (normalized over all of them), truncated to
    /// `w.len()` when the series is shorter than `l_max`.
    fn weights(&self, w: &mut [f64], dw: Option<(usize, &mut [f64])>) {
        let (d, th) = (self.decay, self.theta);
        let l_all = self.l_max.max(1) as usize;
        // min_l (l−θ)² over 0..L, at the lag nearest θ (only needed to avoid underflow)
        let nearest = th.round().clamp(0.0, (l_all - 1) as f64);
        let dmin = if self.normalize {
            (nearest - th) * (nearest - th)
        } else {
            0.0
        };
        let ln_d = d.ln();
        let p = dw.as_ref().map(|(p, _)| *p);
        // g_l = ∂ln u_l/∂θ_p (0 at the boundary δ = 0, see the type's docs)
        let g = |l: usize| -> f64 {
            let dl = l as f64 - th;
            match p {
                _ if d <= 0.0 => 0.0,
                Some(0) => (dl * dl - dmin).max(0.0) / d,
                Some(_) => -2.0 * dl * ln_d,
                None => 0.0,
            }
        };
        let (mut s, mut sg) = (0.0, 0.0);
        for l in 0..l_all {
            let dl = l as f64 - th;
            let u = d.powf((dl * dl - dmin).max(0.0));
            s += u;
            if p.is_some() && u > 0.0 {
                sg += u * g(l);
            }
            if l < w.len() {
                w[l] = u;
            }
        }
        let (norm, mean_g) = if self.normalize && s > 0.0 {
            (s, sg / s)
        } else {
            (1.0, 0.0)
        };
        if let Some((_, dw)) = dw {
            for (l, (dwl, wl)) in dw.iter_mut().zip(w.iter()).enumerate() {
                let v = if *wl > 0.0 {
                    wl / norm * (g(l) - mean_g)
                } else {
                    0.0
                };
                *dwl = if v.is_finite() { v } else { 0.0 };
            }
        }
        for wl in w.iter_mut() {
            *wl /= norm;
        }
    }
}

#[typetag::serde(name = "delayed_adstock")]
impl Transform for DelayedAdstock {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.decay;
        out[1] = self.theta;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.decay = values[0];
        self.theta = values[1];
    }
    fn validate(&self) -> Result<()> {
        check_all(Self::PARAMS, &[self.decay, self.theta])?;
        if !(1..=1000).contains(&self.l_max) {
            return Err(MmmError::param(
                "/l_max",
                format!(
                    "l_max = {} is outside its valid range [1, 1000]",
                    self.l_max
                ),
            ));
        }
        let top = f64::from(self.l_max - 1);
        if self.theta > top {
            return Err(MmmError::param(
                "/theta",
                format!("theta = {} must be at most l_max − 1 = {top}", self.theta),
            ));
        }
        Ok(())
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        let l = self.lags(x.len());
        with_scratch2(l, |w, _| {
            self.weights(w, None);
            convolve(x, w, out);
        });
    }
    fn jvp_input(&self, _x: &[f64], dx: &[f64], out: &mut [f64]) {
        self.apply(dx, out);
    }
    fn d_params(&self, x: &[f64], out: &mut [f64]) {
        let n = x.len();
        let l = self.lags(n);
        for p in 0..2 {
            with_scratch2(l, |w, dw| {
                self.weights(w, Some((p, dw)));
                convolve(x, dw, &mut out[p * n..(p + 1) * n]);
            });
        }
    }
    fn lag_weights(&self, n: usize) -> Option<Vec<f64>> {
        let mut w = vec![0.0; n];
        let l = (self.l_max as usize).min(n);
        self.weights(&mut w[..l], None);
        Some(w)
    }
}

mmm_core::register!(
    KIND,
    DelayedAdstock,
    "delayed_adstock",
    "Delayed carry-over: weights decay^((l − theta)²) over l_max lags, peak at theta, normalized",
    r#"{"decay": 0.6, "theta": 2.0, "l_max": 12}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::transform::conformance;

    fn make(decay: f64, theta: f64, l_max: u32, normalize: bool) -> DelayedAdstock {
        DelayedAdstock {
            decay,
            theta,
            l_max,
            normalize,
        }
    }

    #[test]
    fn conformance_several_settings() {
        for t in [
            make(0.6, 2.0, 12, true),
            make(0.3, 0.0, 8, true),
            make(0.8, 4.3, 12, true),
            make(0.5, 1.5, 6, false),
            make(0.9, 10.7, 12, true),
        ] {
            conformance::check(&t, true).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        }
    }

    #[test]
    fn weights_peak_at_theta_and_sum_to_one() {
        let w = make(0.5, 3.0, 12, true).lag_weights(12).unwrap();
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let argmax = (0..12).max_by(|&a, &b| w[a].total_cmp(&w[b])).unwrap();
        assert_eq!(argmax, 3);
        // textbook weights
        let u: Vec<f64> = (0..12)
            .map(|l| 0.5f64.powf((l as f64 - 3.0).powi(2)))
            .collect();
        let s: f64 = u.iter().sum();
        for l in 0..12 {
            assert!((w[l] - u[l] / s).abs() < 1e-15);
        }
    }

    #[test]
    fn normalized_preserves_mass_away_from_the_end() {
        let mut x = vec![0.0; 40];
        x[3] = 10.0;
        x[10] = 4.0;
        let mut y = vec![0.0; 40];
        make(0.7, 2.5, 12, true).apply(&x, &mut y);
        assert!((y.iter().sum::<f64>() - 14.0).abs() < 1e-12);
    }

    #[test]
    fn extreme_settings_stay_finite() {
        let x = conformance::test_series(30);
        let mut y = vec![0.0; 30];
        let mut dp = vec![0.0; 60];
        for t in [
            make(0.0, 2.4, 12, true),
            make(1e-300, 7.5, 12, true),
            make(0.0, 0.0, 1, false),
        ] {
            t.apply(&x, &mut y);
            t.d_params(&x, &mut dp);
            assert!(y.iter().chain(&dp).all(|v| v.is_finite()), "{t:?}");
        }
        // θ beyond the window (only reachable via set_params): still finite and normalized
        let t = make(0.1, 500.0, 12, true);
        t.apply(&x, &mut y);
        assert!(y.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn rejects_bad_fields() {
        let e = make(1.0, 0.0, 12, true).validate().unwrap_err().to_string();
        assert!(e.contains("/decay") && e.contains("[0, 1)"), "{e}");
        let e = make(0.5, 12.0, 12, true)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("/theta") && e.contains("l_max − 1"), "{e}");
        let e = make(0.5, -1.0, 12, true)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("/theta"), "{e}");
        assert!(make(f64::NAN, 0.0, 12, true).validate().is_err());
        let e = make(0.5, 0.0, 0, true).validate().unwrap_err().to_string();
        assert!(e.contains("/l_max"), "{e}");
    }

    #[test]
    fn defaults_from_json() {
        let t: Box<dyn Transform> =
            serde_json::from_str(r#"{"type":"delayed_adstock","decay":0.5,"theta":1}"#).unwrap();
        let w = t.lag_weights(20).unwrap();
        assert!(w[11] > 0.0 && w[12] == 0.0);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
