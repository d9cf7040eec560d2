//! Response curves and marginal ROI, from any fitted causal structure.
//!
//! A channel's expected KPI is `m_i · f_i(x)` summed over periods (see [`crate::causal`]). At a
//! constant spend `s` per period, carry-over reaches a steady state, so the per-period effect is
//! `g_i(s) = m_i · f_i(s·1)_∞` (the chain applied to a long constant series, last value).
//!
//! # Formula
//! ```text
//! response_i(s) = H · g_i(s)                       expected KPI over a horizon of H periods
//! mROI_i(s)     = d response_i / d(H·s) = g_i'(s)  KPI per extra unit of total spend
//! breakeven_i   = the spend on the decreasing branch of mROI_i where mROI_i = 1
//! ```
//! `g_i'` comes from the chain's Jacobian–vector product along a constant direction, so it is
//! exact, not a finite difference. The horizon defaults to the data's length; current spend is
//! the mean spend per period over the data.

use crate::causal::CausalEstimate;
use crate::dataset::ModelData;
use crate::optimizer::ResponseCurves;
use crate::transform::{ChainWorkspace, TransformChain};
use serde::Serialize;
use std::sync::Mutex;

/// Length of the constant series used to reach the steady state (carry-over beyond it is
/// below 1e-6 of the total for a geometric decay of 0.95).
pub const STEADY_STATE_PERIODS: usize = 280;

/// Response curves of every channel of a fitted structure.
#[derive(Debug)]
pub struct ChannelCurves {
    names: Vec<String>,
    chains: Vec<TransformChain>,
    coefficients: Vec<f64>,
    current: Vec<f64>,
    horizon: usize,
    buffers: Vec<Mutex<Buffers>>,
}

#[derive(Debug)]
struct Buffers {
    x: Vec<f64>,
    ones: Vec<f64>,
    y: Vec<f64>,
    dy: Vec<f64>,
    ws: ChainWorkspace,
}

impl ChannelCurves {
    /// Curves from a fitted estimate, with the data's learned chains; horizon = data length.
    pub fn new(data: &ModelData, estimate: &CausalEstimate) -> Self {
        let coefficients: Vec<f64> = estimate
            .effects
            .iter()
            .map(|e| e.total_coefficient)
            .collect();
        let chains: Vec<TransformChain> = estimate
            .effects
            .iter()
            .map(|e| data.media[e.channel].chain.clone())
            .collect();
        let names = estimate
            .effects
            .iter()
            .map(|e| data.media[e.channel].name.clone())
            .collect();
        let current = estimate
            .effects
            .iter()
            .map(|e| {
                let s = &data.media[e.channel].spend;
                s.iter().sum::<f64>() / s.len() as f64
            })
            .collect();
        Self::from_parts(names, chains, coefficients, current, data.n_obs())
    }

    /// Curves from explicit parts.
    pub fn from_parts(
        names: Vec<String>,
        chains: Vec<TransformChain>,
        coefficients: Vec<f64>,
        current: Vec<f64>,
        horizon: usize,
    ) -> Self {
        let n = STEADY_STATE_PERIODS;
        let buffers = chains
            .iter()
            .map(|c| {
                Mutex::new(Buffers {
                    x: vec![0.0; n],
                    ones: vec![1.0; n],
                    y: vec![0.0; n],
                    dy: vec![0.0; n],
                    ws: ChainWorkspace::new(c, n),
                })
            })
            .collect();
        ChannelCurves {
            names,
            chains,
            coefficients,
            current,
            horizon,
            buffers,
        }
    }

    /// Per-period steady-state transformed value `f(s·1)_∞` and its derivative in `s`.
    pub fn steady_state(&self, channel: usize, spend: f64) -> (f64, f64) {
        let mut guard = match self.buffers[channel].lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let b = &mut *guard;
        b.x.iter_mut().for_each(|v| *v = spend);
        self.chains[channel].apply_jvp(&b.x, &b.ones, &mut b.y, &mut b.dy, &mut b.ws);
        let last = b.y.len() - 1;
        (b.y[last], b.dy[last])
    }

    /// The spend per period on the decreasing branch of mROI where mROI = `level`, searched up
    /// to `limit`; `None` if mROI never reaches `level` there or stays above it.
    pub fn spend_at_mroi(&self, channel: usize, level: f64, limit: f64) -> Option<f64> {
        // locate the peak of mROI on a grid, then bisect on the decreasing side
        let grid = 200;
        let mut peak = (0.0, f64::NEG_INFINITY);
        for k in 0..=grid {
            let s = limit * k as f64 / grid as f64;
            let m = self.marginal(channel, s);
            if m > peak.1 {
                peak = (s, m);
            }
        }
        if peak.1 < level || self.marginal(channel, limit) > level {
            return None;
        }
        let (mut lo, mut hi) = (peak.0, limit);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if self.marginal(channel, mid) > level {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(0.5 * (lo + hi))
    }
}

impl ResponseCurves for ChannelCurves {
    fn n_channels(&self) -> usize {
        self.names.len()
    }
    fn name(&self, channel: usize) -> &str {
        &self.names[channel]
    }
    fn current_spend(&self, channel: usize) -> f64 {
        self.current[channel]
    }
    fn response(&self, channel: usize, spend: f64) -> f64 {
        self.horizon as f64 * self.coefficients[channel] * self.steady_state(channel, spend).0
    }
    fn marginal(&self, channel: usize, spend: f64) -> f64 {
        self.coefficients[channel] * self.steady_state(channel, spend).1
    }
    fn horizon(&self) -> usize {
        self.horizon
    }
}

/// One sampled point of a response curve.
#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint {
    /// Spend per period.
    pub spend: f64,
    /// Expected KPI over the horizon.
    pub response: f64,
    /// Marginal ROI at this spend.
    pub mroi: f64,
}

/// A channel's sampled response curve.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseCurve {
    /// Channel name.
    pub channel: String,
    /// Current (mean) spend per period.
    pub current_spend: f64,
    /// Expected KPI over the horizon at current spend.
    pub current_response: f64,
    /// Marginal ROI at current spend.
    pub mroi: f64,
    /// Spend per period where marginal ROI falls to 1 (null when it never does within 10×
    /// current spend, or never reaches 1).
    pub breakeven_spend: Option<f64>,
    /// Points from 0 to 3× current spend.
    pub points: Vec<CurvePoint>,
    /// Lag weights `w_0, w_1, …` of the channel's carry-over (the adstocks of its chain
    /// combined, `y_t = Σ_l w_l x_{t−l}`), trailing weights below 1e-4 of the largest dropped;
    /// absent when the chain has no adstock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adstock_weights: Option<Vec<f64>>,
}

/// Most lags reported in [`ResponseCurve::adstock_weights`].
pub const ADSTOCK_MAX_LAGS: usize = 52;

/// The combined lag weights of the chain's carry-over transforms (those that are not
/// elementwise and report [`crate::transform::Transform::lag_weights`]), convolved in chain
/// order and cut to `n` lags; `None` when there are none.
pub fn adstock_weights(chain: &TransformChain, n: usize) -> Option<Vec<f64>> {
    let mut combined: Option<Vec<f64>> = None;
    for t in chain.0.iter().filter(|t| !t.is_elementwise()) {
        let Some(w) = t.lag_weights(n) else { continue };
        combined = Some(match combined {
            None => w,
            Some(c) => (0..n)
                .map(|l| {
                    (0..=l)
                        .map(|k| {
                            c.get(k).copied().unwrap_or(0.0) * w.get(l - k).copied().unwrap_or(0.0)
                        })
                        .sum()
                })
                .collect(),
        });
    }
    let mut w = combined?;
    let max = w.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    while w.len() > 1 && w.last().is_some_and(|v| v.abs() < 1e-4 * max) {
        w.pop();
    }
    Some(w)
}

/// Samples every channel's curve at `n_points` spends from 0 to 3× current spend.
pub fn sample_curves(curves: &ChannelCurves, n_points: usize) -> Vec<ResponseCurve> {
    (0..curves.n_channels())
        .map(|i| {
            let cur = curves.current_spend(i);
            let top = 3.0 * cur;
            let points = (0..n_points)
                .map(|k| {
                    let s = top * k as f64 / (n_points - 1).max(1) as f64;
                    CurvePoint {
                        spend: s,
                        response: curves.response(i, s),
                        mroi: curves.marginal(i, s),
                    }
                })
                .collect();
            ResponseCurve {
                channel: curves.name(i).to_string(),
                current_spend: cur,
                current_response: curves.response(i, cur),
                mroi: curves.marginal(i, cur),
                breakeven_spend: curves.spend_at_mroi(i, 1.0, 10.0 * cur),
                points,
                adstock_weights: adstock_weights(
                    &curves.chains[i],
                    ADSTOCK_MAX_LAGS.min(curves.horizon.max(1)),
                ),
            }
        })
        .collect()
}
