//! Planning windows for the budget optimizers (`optimizer.window`).
//!
//! Without a window the optimizers work on steady-state spend per period over the data's
//! length, with the data's mean spend as "current". With a window they plan a stretch of
//! periods: either future dates on the model's grid (`{"start", "end"}`, after the data) or the
//! last `N` periods of history (`{"last": N}`, Robyn's `date_range = "last_N"`: what the same
//! money would have done spent differently). A channel's lever is its **total spend over the
//! window** `S_i`, spread over the window's periods by a pattern `w_i` (`Σ_t w_{i,t} = 1`):
//! the reference window's own weekly pattern (default) or flat. The "current" plan is the
//! historical spend of a **reference window** of the same length (default: the last
//! window-length periods of the data for a future window, the window itself for `last`),
//! unscaled.
//!
//! Response over the window reuses the forecast's carry-over ([`crate::predict`]): for channel
//! `i` the chain runs over `[h_i, 0, S_i·w_i, 0]` (history, gap without spend, the window, `L_i`
//! periods after it) and over `[h_i, 0, 0, 0]`:
//!
//! ```text
//! contribution_i(S) = Σ_{t∈W} m_i·f_i([h, 0, S·w, 0])_t           (carry-over in included)
//! carry_in_i        = Σ_{t∈W} m_i·f_i([h, 0, 0, 0])_t             (history alone; no S)
//! carry_out_i(S)    = Σ_{t>W} m_i·(f_i([h, 0, S·w, 0])_t − f_i([h, 0, 0, 0])_t)
//! r_i(S)            = contribution_i(S) − carry_in_i + carry_out_i(S)   (incremental KPI)
//! mROI_i(S)         = d r_i / dS = Σ_{t≥W} m_i·(J_f · (c·w))_t       (exact, Jacobian–vector)
//! ROI_i             = r_i(S) / S,          ROAS = revenue_per_kpi · Σ r_i / Σ S
//! ```
//!
//! so [`WindowCurves`] is a [`ResponseCurves`] whose spend is `S_i`, whose horizon is 1 and
//! whose current spend is the reference total: the optimizers run unchanged and every amount
//! (budget, bounds, plan) is a total over the window. For a Bayesian model every figure is the
//! mean over the posterior draws (each with its coefficient and transform parameters), as
//! [`crate::response::PosteriorCurves`] does for steady state.

use crate::predict::{ChannelWindow, WindowLayout};
use crate::response::PosteriorCurves;
use mmm_core::causal::CausalEstimate;
use mmm_core::dataset::ModelData;
use mmm_core::error::{MmmError, Result};
use mmm_core::optimizer::{OptimizationResult, ResponseCurves};
use mmm_core::transform::{ChainWorkspace, TransformChain};
use mmm_core::window::{
    ChannelWindowPlan, PlanPeriod, ResolvedWindow, SpendPattern, WindowFigures, WindowReport,
};
use std::sync::Mutex;

/// One posterior draw (or the point estimate) of one channel.
#[derive(Debug)]
struct Draw {
    m: f64,
    chain: TransformChain,
    scale: f64,
    /// `f([h, 0, 0, 0])` over the layout: history alone.
    base: Vec<f64>,
}

#[derive(Debug)]
struct Channel {
    name: String,
    history: Vec<f64>,
    layout: WindowLayout,
    weights: Vec<f64>,
    reference: Vec<f64>,
    draws: Vec<Draw>,
}

#[derive(Debug)]
struct Buffers {
    x: Vec<f64>,
    dx: Vec<f64>,
    y: Vec<f64>,
    dy: Vec<f64>,
    ws: ChainWorkspace,
}

/// Response curves over a planning window (see the module doc): spend is a channel's total
/// over the window, response its incremental KPI with carry-over in and out, horizon 1.
#[derive(Debug)]
pub struct WindowCurves {
    window: ResolvedWindow,
    channels: Vec<Channel>,
    revenue_per_kpi: Option<f64>,
    buffers: Vec<Mutex<Buffers>>,
}

/// One channel's parts for [`WindowCurves::new`]: name, spend over the data, and per draw
/// `(coefficient m, chain, spend scaling c)` (one draw for a point estimate).
pub type ChannelParts = (String, Vec<f64>, Vec<(f64, TransformChain, f64)>);

impl WindowCurves {
    /// Window curves from explicit parts. Carry-over out is counted over
    /// the chain's carry-over length (lag weights down to 1e-10 of their peak, at most the
    /// data's length; the longest over the draws), as `model.json` does for forecasts.
    pub fn new(window: ResolvedWindow, parts: Vec<ChannelParts>) -> Self {
        let n = window.n_data;
        let t = window.periods;
        let mut buffers = Vec::with_capacity(parts.len());
        let channels = parts
            .into_iter()
            .map(|(name, spend, draws)| {
                let history = spend[..window.history_len()].to_vec();
                let reference: Vec<f64> =
                    spend[window.reference_start..window.reference_start + t].to_vec();
                let total: f64 = reference.iter().sum();
                let weights = match window.pattern {
                    SpendPattern::Reference if total > 0.0 => {
                        reference.iter().map(|v| v / total).collect()
                    }
                    _ => vec![1.0 / t as f64; t],
                };
                let after = draws
                    .iter()
                    .map(|(_, c, _)| crate::saved_model::carry_periods(c, n.max(1)))
                    .max()
                    .unwrap_or(1);
                let layout = WindowLayout {
                    history: history.len(),
                    gap: window.gap(),
                    periods: t,
                    after,
                };
                let len = layout.len();
                let mut ws = draws
                    .first()
                    .map(|d| ChainWorkspace::new(&d.1, len))
                    .unwrap_or_default();
                let mut x = vec![0.0; len];
                let draws = draws
                    .into_iter()
                    .map(|(m, chain, scale)| {
                        let mut base = vec![0.0; len];
                        layout.fill(scale, &history, None, &mut x);
                        chain.apply(&x, &mut base, &mut ws);
                        Draw {
                            m,
                            chain,
                            scale,
                            base,
                        }
                    })
                    .collect();
                buffers.push(Mutex::new(Buffers {
                    x: vec![0.0; len],
                    dx: vec![0.0; len],
                    y: vec![0.0; len],
                    dy: vec![0.0; len],
                    ws,
                }));
                Channel {
                    name,
                    history,
                    layout,
                    weights,
                    reference,
                    draws,
                }
            })
            .collect();
        WindowCurves {
            window,
            channels,
            revenue_per_kpi: None,
            buffers,
        }
    }

    /// Window curves of a fitted single-stage structure: the point estimate's coefficients and
    /// learned chains, or a posterior's draws (`posterior`, as its steady-state curves thin
    /// them). A structure with a mediator is refused (its future values would need a forecast
    /// of their own).
    pub fn from_fit(
        data: &ModelData,
        estimate: &CausalEstimate,
        posterior: Option<&PosteriorCurves>,
        window: ResolvedWindow,
    ) -> Result<Self> {
        if estimate.effects.iter().any(|e| e.credit.is_some()) || estimate.stages.len() > 1 {
            return Err(MmmError::param(
                "/window",
                "planning windows need a single-stage causal structure (the mediator's future \
                 values would need a forecast of their own); drop the window to optimize \
                 steady-state spend",
            ));
        }
        if posterior.is_some_and(|pc| pc.is_geo()) {
            return Err(MmmError::param(
                "/window",
                "planning windows are not available yet for a geo-hierarchical fit (its \
                 channels respond as the sum of their geos); drop the window to optimize \
                 steady-state national spend, or set model.geo to \"national\"",
            ));
        }
        let parts = estimate
            .effects
            .iter()
            .enumerate()
            .map(|(k, e)| {
                let media = &data.media[e.channel];
                let draws = match posterior {
                    Some(pc) => pc.draws[k]
                        .iter()
                        .map(|(b, c)| (b[0], c[0].clone(), pc.input_scale[k][0]))
                        .collect(),
                    None => vec![(e.total_coefficient, media.chain.clone(), 1.0)],
                };
                (media.name.clone(), media.spend.clone(), draws)
            })
            .collect();
        Ok(Self::new(window, parts))
    }

    /// Sets the money per KPI unit (ROAS and the `target_roas` goal).
    pub fn set_revenue_per_kpi(&mut self, value: Option<f64>) {
        self.revenue_per_kpi = value;
    }

    /// The resolved window.
    pub fn window(&self) -> &ResolvedWindow {
        &self.window
    }

    /// Number of draws per channel (1 for a point estimate).
    pub fn n_draws(&self) -> usize {
        self.channels.first().map_or(0, |c| c.draws.len())
    }

    /// Runs draw `d` of channel `i` at window total `total` and hands the chain's output and
    /// its derivative along the pattern to `f`.
    fn with_draw<R>(
        &self,
        i: usize,
        d: usize,
        total: f64,
        f: impl FnOnce(&Channel, &Draw, &[f64], &[f64]) -> R,
    ) -> R {
        let ch = &self.channels[i];
        let draw = &ch.draws[d];
        let mut guard = match self.buffers[i].lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let b = &mut *guard;
        let plan: Vec<f64> = ch.weights.iter().map(|w| total * w).collect();
        ch.layout
            .fill(draw.scale, &ch.history, Some(&plan), &mut b.x);
        ch.layout
            .fill(draw.scale, &[], Some(&ch.weights), &mut b.dx);
        draw.chain
            .apply_jvp(&b.x, &b.dx, &mut b.y, &mut b.dy, &mut b.ws);
        f(ch, draw, &b.y, &b.dy)
    }

    /// Draw `d`'s incremental KPI of channel `i` at window total `total` and its derivative
    /// in `total`: `m·Σ_{t≥W}(f_t − f0_t)` (= [`ChannelWindow::incremental`]) and
    /// `m·Σ_{t≥W} (J·c·w)_t`.
    pub fn draw_response(&self, i: usize, d: usize, total: f64) -> (f64, f64) {
        self.with_draw(i, d, total, |ch, draw, y, dy| {
            let off = ch.layout.offset();
            let inc: f64 = y[off..]
                .iter()
                .zip(&draw.base[off..])
                .map(|(a, b)| a - b)
                .sum();
            (draw.m * inc, draw.m * dy[off..].iter().sum::<f64>())
        })
    }

    /// Draw `d`'s figures of channel `i` at window total `total` (the forecast's definitions).
    pub fn draw_parts(&self, i: usize, d: usize, total: f64) -> ChannelWindow {
        self.with_draw(i, d, total, |ch, draw, y, _| {
            ChannelWindow::from_series(&ch.layout, draw.m, y, &draw.base)
        })
    }

    /// Per draw, the plan's incremental KPI (spend = window totals per channel).
    pub fn kpi_draws(&self, spend: &[f64]) -> Vec<f64> {
        (0..self.n_draws())
            .map(|d| {
                (0..self.channels.len())
                    .map(|i| self.draw_response(i, d, spend[i]).0)
                    .sum()
            })
            .collect()
    }

    /// The lift of `optimal` over `current` per draw, summarized as for steady-state curves
    /// ([`crate::response::lift_summary`]).
    pub fn lift(&self, current: &[f64], optimal: &[f64], level: f64) -> serde_json::Value {
        crate::response::lift_summary(&self.kpi_draws(current), &self.kpi_draws(optimal), level)
    }

    /// Channel `i`'s figures at window total `total` (means over the draws).
    pub fn figures(&self, i: usize, total: f64) -> WindowFigures {
        let nd = self.n_draws().max(1) as f64;
        let (mut con, mut cin, mut cout) = (0.0, 0.0, 0.0);
        for d in 0..self.n_draws() {
            let p = self.draw_parts(i, d, total);
            con += p.contribution_total();
            cin += p.from_history;
            cout += p.carry_out;
        }
        let (con, cin, cout) = (con / nd, cin / nd, cout / nd);
        self.figures_of(total, con, cin, cout, Some(self.marginal(i, total)))
    }

    fn figures_of(
        &self,
        spend: f64,
        contribution: f64,
        carry_in: f64,
        carry_out: f64,
        mroi: Option<f64>,
    ) -> WindowFigures {
        let incremental = contribution - carry_in + carry_out;
        let roi = (spend > 0.0).then(|| incremental / spend);
        WindowFigures {
            spend,
            spend_per_period: spend / self.window.periods as f64,
            contribution,
            carry_in,
            carry_out,
            incremental,
            roi,
            roas: self.revenue_per_kpi.and_then(|r| roi.map(|v| r * v)),
            mroi,
        }
    }

    fn total(&self, per: &[&WindowFigures]) -> WindowFigures {
        let s = |f: fn(&WindowFigures) -> f64| per.iter().map(|x| f(x)).sum::<f64>();
        self.figures_of(
            s(|x| x.spend),
            s(|x| x.contribution),
            s(|x| x.carry_in),
            s(|x| x.carry_out),
            None,
        )
    }

    /// Adds the window's figures to an optimizer's result: per channel the plan's and the
    /// reference plan's spend, contribution in the window, carry-over in and out, incremental
    /// KPI, ROI and mROI; the totals; the reference window; and the plan period by period.
    pub fn report(&self, r: &mut OptimizationResult) {
        let w = &self.window;
        let mut plans = Vec::with_capacity(r.channels.len());
        for (i, c) in r.channels.iter_mut().enumerate() {
            let plan = self.figures(i, c.optimal_spend);
            let reference = self.figures(i, c.current_spend);
            plans.push((plan.clone(), reference.clone()));
            c.window = Some(ChannelWindowPlan { plan, reference });
        }
        let plan_total = self.total(&plans.iter().map(|p| &p.0).collect::<Vec<_>>());
        let ref_total = self.total(&plans.iter().map(|p| &p.1).collect::<Vec<_>>());
        let schedule = (0..w.periods)
            .map(|k| PlanPeriod {
                date: w.date(w.start + k).to_string(),
                spend: r
                    .channels
                    .iter()
                    .zip(&self.channels)
                    .map(|(c, ch)| {
                        (
                            c.name.clone(),
                            serde_json::json!(c.optimal_spend * ch.weights[k]),
                        )
                    })
                    .collect(),
            })
            .collect();
        r.window = Some(WindowReport {
            kind: w.kind,
            start: w.date(w.start).to_string(),
            end: w.date(w.start + w.periods - 1).to_string(),
            periods: w.periods,
            gap_periods: w.gap(),
            spend_unit: "total over the window",
            pattern: w.pattern.name(),
            reference: serde_json::json!({
                "start": w.date(w.reference_start).to_string(),
                "end": w.date(w.reference_start + w.periods - 1).to_string(),
                "periods": w.periods,
                "source": w.reference_source,
            }),
            revenue_per_kpi: self.revenue_per_kpi,
            plan: plan_total,
            reference_plan: ref_total,
            carry_out_periods: self
                .channels
                .iter()
                .map(|c| (c.name.clone(), serde_json::json!(c.layout.after)))
                .collect(),
            schedule,
        });
    }

    /// The reference window's spend of channel `i`, period by period.
    pub fn reference_spend(&self, i: usize) -> &[f64] {
        &self.channels[i].reference
    }

    /// Channel `i`'s pattern `w_t` (sums to 1).
    pub fn pattern(&self, i: usize) -> &[f64] {
        &self.channels[i].weights
    }
}

impl ResponseCurves for WindowCurves {
    fn n_channels(&self) -> usize {
        self.channels.len()
    }
    fn name(&self, channel: usize) -> &str {
        &self.channels[channel].name
    }
    fn current_spend(&self, channel: usize) -> f64 {
        self.channels[channel].reference.iter().sum()
    }
    fn response(&self, channel: usize, spend: f64) -> f64 {
        let d = self.n_draws();
        (0..d)
            .map(|k| self.draw_response(channel, k, spend).0)
            .sum::<f64>()
            / d.max(1) as f64
    }
    fn marginal(&self, channel: usize, spend: f64) -> f64 {
        let d = self.n_draws();
        (0..d)
            .map(|k| self.draw_response(channel, k, spend).1)
            .sum::<f64>()
            / d.max(1) as f64
    }
    fn horizon(&self) -> usize {
        1
    }
    fn revenue_per_kpi(&self) -> Option<f64> {
        self.revenue_per_kpi
    }
    fn spend_unit(&self) -> &str {
        "over the window"
    }
}

/// The optimized plan period by period as CSV (`window_plan.csv`): `date`, then one column per
/// channel (named by the channel, in `channels` order) with its spend. Add the model's controls
/// and it is a plan for `mmm predict`.
pub fn plan_csv(report: &WindowReport, channels: &[String]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| MmmError::Compute(format!("writing window_plan.csv: {e}"));
    let mut header = vec!["date".to_string()];
    header.extend(channels.iter().cloned());
    w.write_record(&header).map_err(err)?;
    for p in &report.schedule {
        let mut row = vec![p.date.clone()];
        row.extend(channels.iter().map(|c| {
            p.spend
                .get(c)
                .and_then(|v| v.as_f64())
                .map_or_else(String::new, |v| format!("{v}"))
        }));
        w.write_record(&row).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| MmmError::Compute(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| MmmError::Compute(e.to_string()))
}
