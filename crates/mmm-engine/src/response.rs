//! Response curves and marginal ROI, from any fitted causal structure.
//!
//! A channel's expected KPI is `m_i · f_i(x)` summed over periods (see [`mmm_core::causal`]). At a
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

use mmm_core::causal::CausalEstimate;
use mmm_core::dataset::ModelData;
use mmm_core::optimizer::ResponseCurves;
use mmm_core::transform::{ChainWorkspace, TransformChain};
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
    /// Constant added to a channel's response (a mediator's exogenous lever; 0 otherwise).
    offsets: Vec<f64>,
    buffers: Vec<Mutex<Buffers>>,
    /// The mediation paths of a mediated structure (see [`ChannelCurves::set_mediation`]).
    mediation: Option<Box<CurveMediation>>,
}

/// A mediated structure's paths as the curves use them (channel indices are curve indices).
#[derive(Debug)]
struct CurveMediation {
    /// The mediator's chain `f_M`.
    chain: TransformChain,
    buffers: Mutex<Buffers>,
    /// Stage-2 coefficient of the transformed mediator.
    b: f64,
    /// The paid mediator's curve, if any.
    mediator: Option<usize>,
    /// Per curve: `a_i` when it is a driver whose curve carries the path through the mediator.
    a: Vec<Option<f64>>,
    /// Per curve: `a_i·F_i(s̄_i)`, the driver's induced mediator spend at current spend (0 for
    /// other channels).
    own: Vec<f64>,
    /// Steady-state mediator spend at current spends, `ē + Σ_j a_j·F_j(s̄_j)`.
    operating: f64,
}

#[derive(Debug)]
struct Buffers {
    x: Vec<f64>,
    ones: Vec<f64>,
    y: Vec<f64>,
    dy: Vec<f64>,
    ws: ChainWorkspace,
    /// For a channel whose draws share their chain parameters (a fixed-effects fit): the
    /// spend (its bits) last evaluated and each component's steady state `(f, f')` there, so
    /// that the chains run once per spend instead of once per draw.
    shared_at: Option<(u64, Vec<(f64, f64)>)>,
}

impl ChannelCurves {
    /// Curves from a fitted estimate, with the data's learned chains; horizon = data length.
    pub fn new(data: &ModelData, estimate: &CausalEstimate) -> Self {
        let carry = estimate
            .mediation
            .as_ref()
            .filter(|m| m.drivers_carry_path)
            .map(|m| m.drivers.iter().map(|d| d.0).collect::<Vec<_>>())
            .unwrap_or_default();
        // a driver whose curve carries the mediator path keeps its direct coefficient here
        let coefficients: Vec<f64> = estimate
            .effects
            .iter()
            .map(|e| match e.direct_coefficient {
                Some(c) if carry.contains(&e.channel) => c,
                _ => e.total_coefficient,
            })
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
        let mut curves = Self::from_parts(names, chains, coefficients, current, data.n_obs());
        if let Some(m) = &estimate.mediation {
            let index = |ch: usize| estimate.effects.iter().position(|e| e.channel == ch);
            let mediator = m.mediator.and_then(|ch| {
                let i = index(ch)?;
                let e = &estimate.effects[i];
                Some((i, e.contribution(&data.transformed[e.channel])))
            });
            let drivers = m
                .drivers
                .iter()
                .filter_map(|&(ch, a)| index(ch).map(|i| (i, a)))
                .collect::<Vec<_>>();
            curves.set_mediation(
                m.chain.clone(),
                m.b,
                &drivers,
                m.exogenous_spend,
                m.drivers_carry_path,
                mediator,
            );
        }
        curves
    }

    /// Gives the curves a mediated structure's paths: a driver's curve (when `carry`, the
    /// observed entry) adds what its spend induces through the mediator, the other drivers
    /// held at current spend, and a paid mediator's curve (`mediator`: its curve and its
    /// credited contribution) is over its *exogenous* spend `e`, shifted so that at current
    /// spend it equals that contribution.
    ///
    /// # Formula
    /// ```text
    /// M̄          = ē + Σ_{j∈D} a_j·F_j(s̄_j)                 steady-state mediator spend now
    /// response_i(s) = H·c_i·F_i(s) + H·b·[F_M(M̄ − a_i·F_i(s̄_i) + a_i·F_i(s)) − F_M(M̄ − a_i·F_i(s̄_i))]
    /// mROI_i(s)     = c_i·F_i'(s) + b·F_M'(M̄ − a_i·F_i(s̄_i) + a_i·F_i(s))·a_i·F_i'(s)
    /// response_M(e) = H·b·F_M(e + M̄ − ē) + δ,   δ = contribution_M − H·b·F_M(M̄)
    /// mROI_M(e)     = b·F_M'(e + M̄ − ē)
    /// ```
    /// with `F = f(s·1)_∞` the steady state, `ē = max(0, exogenous)` the mediator's current
    /// lever, `c_i` the curve's coefficient (the driver's direct one) and mediator spends below
    /// 0 taken as 0. At current spend the curves add up to the model's steady-state media and
    /// mediator effect, the induced part counted once (in the drivers'). Each driver's curve
    /// holds the others at current spend: a plan that moves several drivers at once is valued
    /// as the sum of their separate effects through the mediator (exact without saturation).
    pub fn set_mediation(
        &mut self,
        chain: TransformChain,
        b: f64,
        drivers: &[(usize, f64)],
        exogenous: f64,
        carry: bool,
        mediator: Option<(usize, f64)>,
    ) {
        let n = STEADY_STATE_PERIODS;
        let k = self.names.len();
        let mut a = vec![None; k];
        let mut own = vec![0.0; k];
        let mut induced = 0.0;
        for &(i, a_i) in drivers {
            let v = a_i * self.steady_state(i, self.current[i]).0;
            own[i] = v;
            induced += v;
            if carry {
                a[i] = Some(a_i);
            }
        }
        let lever = exogenous.max(0.0);
        self.mediation = Some(Box::new(CurveMediation {
            buffers: Mutex::new(Buffers {
                x: vec![0.0; n],
                ones: vec![1.0; n],
                y: vec![0.0; n],
                dy: vec![0.0; n],
                ws: ChainWorkspace::new(&chain, n),
                shared_at: None,
            }),
            chain,
            b,
            mediator: mediator.map(|m| m.0),
            a,
            own,
            operating: lever + induced,
        }));
        if let Some((i, contribution)) = mediator {
            self.current[i] = lever;
            self.offsets[i] = 0.0;
            self.offsets[i] = contribution - self.response(i, lever);
        }
    }

    /// The mediator's steady state `(F_M(s), F_M'(s))` at mediator spend `s` (below 0: at 0,
    /// slope 0).
    fn mediator_steady_state(m: &CurveMediation, spend: f64) -> (f64, f64) {
        let mut guard = match m.buffers.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let b = &mut *guard;
        b.x.iter_mut().for_each(|v| *v = spend.max(0.0));
        m.chain
            .apply_jvp(&b.x, &b.ones, &mut b.y, &mut b.dy, &mut b.ws);
        let last = b.y.len() - 1;
        (b.y[last], if spend < 0.0 { 0.0 } else { b.dy[last] })
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
                    shared_at: None,
                })
            })
            .collect();
        ChannelCurves {
            mediation: None,
            offsets: vec![0.0; names.len()],
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
    /// to `limit`; `None` if mROI never reaches `level` there or stays above it (see
    /// [`spend_at_mroi`]).
    pub fn spend_at_mroi(&self, channel: usize, level: f64, limit: f64) -> Option<f64> {
        spend_at_mroi(self, channel, level, limit, 200)
    }
}

/// The spend per period on the decreasing branch of `curves`' marginal ROI where it equals
/// `level`, searched up to `limit`: the peak of mROI is located on a grid of `grid` + 1 spends,
/// then the crossing is bisected on its decreasing side (to `limit`/2^60). `None` if mROI never
/// reaches `level` or is still above it at `limit`.
pub fn spend_at_mroi<C: ResponseCurves + ?Sized>(
    curves: &C,
    channel: usize,
    level: f64,
    limit: f64,
    grid: usize,
) -> Option<f64> {
    let grid = grid.max(1);
    let mut peak = (0.0, f64::NEG_INFINITY);
    for k in 0..=grid {
        let s = limit * k as f64 / grid as f64;
        let m = curves.marginal(channel, s);
        if m > peak.1 {
            peak = (s, m);
        }
    }
    if peak.1 < level || curves.marginal(channel, limit) > level {
        return None;
    }
    let (mut lo, mut hi) = (peak.0, limit);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if curves.marginal(channel, mid) > level {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
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
        let h = self.horizon as f64;
        if let Some(m) = &self.mediation {
            if m.mediator == Some(channel) {
                let at = spend + m.operating - self.current[channel];
                return h * m.b * Self::mediator_steady_state(m, at).0 + self.offsets[channel];
            }
            if let Some(a) = m.a[channel] {
                let f = self.steady_state(channel, spend).0;
                let rest = m.operating - m.own[channel];
                let path = Self::mediator_steady_state(m, rest + a * f).0
                    - Self::mediator_steady_state(m, rest).0;
                return h * (self.coefficients[channel] * f + m.b * path) + self.offsets[channel];
            }
        }
        h * self.coefficients[channel] * self.steady_state(channel, spend).0 + self.offsets[channel]
    }
    fn marginal(&self, channel: usize, spend: f64) -> f64 {
        if let Some(m) = &self.mediation {
            if m.mediator == Some(channel) {
                let at = spend + m.operating - self.current[channel];
                return m.b * Self::mediator_steady_state(m, at).1;
            }
            if let Some(a) = m.a[channel] {
                let (f, df) = self.steady_state(channel, spend);
                let rest = m.operating - m.own[channel];
                let dm = Self::mediator_steady_state(m, rest + a * f).1;
                return self.coefficients[channel] * df + m.b * dm * a * df;
            }
        }
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
    /// Credible interval of the response (Bayesian models: HDI over the posterior draws at the
    /// run's interval level); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_low: Option<f64>,
    /// High end of the response's credible interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_high: Option<f64>,
    /// Credible interval of the marginal ROI (Bayesian models); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mroi_low: Option<f64>,
    /// High end of the marginal ROI's credible interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mroi_high: Option<f64>,
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
    /// Credible interval of the marginal ROI at current spend (Bayesian models); absent
    /// otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mroi_low: Option<f64>,
    /// High end of the marginal ROI's credible interval at current spend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mroi_high: Option<f64>,
    /// Spend per period where marginal ROI falls to 1 (null when it never does within 10×
    /// current spend, or never reaches 1).
    pub breakeven_spend: Option<f64>,
    /// Points from 0 to 3× current spend.
    pub points: Vec<CurvePoint>,
    /// Lag weights `w_0, w_1, …` of the channel's carry-over (the adstocks of its chain
    /// combined, `y_t = Σ_l w_l x_{t−l}`), trailing weights below 1e-4 of the largest dropped;
    /// absent when the chain has no adstock.
    /// For a Bayesian model the posterior mean weight per lag (each draw's chain parameters);
    /// absent for a geo fit with per-geo transforms (each geo has its own lag profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adstock_weights: Option<Vec<f64>>,
    /// Low end of each lag weight's credible interval (HDI over the posterior draws, Bayesian
    /// models only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adstock_weights_low: Option<Vec<f64>>,
    /// High end of each lag weight's credible interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adstock_weights_high: Option<Vec<f64>>,
}

/// Most lags reported in [`ResponseCurve::adstock_weights`].
pub const ADSTOCK_MAX_LAGS: usize = 52;

/// The combined lag weights of the chain's carry-over transforms (those that are not
/// elementwise and report [`mmm_core::transform::Transform::lag_weights`]), convolved in chain
/// order and cut to `n` lags; `None` when there are none.
pub fn adstock_weights(chain: &TransformChain, n: usize) -> Option<Vec<f64>> {
    let mut w = adstock_weights_uncut(chain, n)?;
    trim_weights(&mut w);
    Some(w)
}

/// Drops trailing weights below 1e-4 of the largest (keeps at least one).
fn trim_weights(w: &mut Vec<f64>) {
    let max = w.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    while w.len() > 1 && w.last().is_some_and(|v| v.abs() < 1e-4 * max) {
        w.pop();
    }
}

/// [`adstock_weights`] without the trailing cut (at most `n` lags).
fn adstock_weights_uncut(chain: &TransformChain, n: usize) -> Option<Vec<f64>> {
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
    w.resize(n, 0.0);
    Some(w)
}

/// Posterior lag weights of channel `i`: per lag the mean over the draws of each draw's
/// combined weights ([`adstock_weights`] of the chain with that draw's parameters) and the
/// HDI at `level`; lags past the point where the mean falls below 1e-4 of its largest are cut.
/// `None` when the chain has no carry-over.
fn posterior_adstock_weights(
    curves: &PosteriorCurves,
    i: usize,
    n: usize,
    level: f64,
) -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    // with a chain per geo there is no one national lag profile (each geo's is its own)
    let per: Vec<Vec<f64>> = curves.draws[i]
        .iter()
        .map(|(_, chains)| match chains.as_slice() {
            [chain] => adstock_weights_uncut(chain, n),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    let len = per.iter().map(|w| w.len()).max()?;
    let mut mean = Vec::with_capacity(len);
    let (mut lo, mut hi) = (Vec::with_capacity(len), Vec::with_capacity(len));
    for l in 0..len {
        let v: Vec<f64> = per
            .iter()
            .map(|w| w.get(l).copied().unwrap_or(0.0))
            .collect();
        mean.push(v.iter().sum::<f64>() / v.len().max(1) as f64);
        let (a, b) = mmm_core::interval::hdi(&v, level);
        lo.push(a);
        hi.push(b);
    }
    trim_weights(&mut mean);
    lo.truncate(mean.len());
    hi.truncate(mean.len());
    Some((mean, lo, hi))
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
                        response_low: None,
                        response_high: None,
                        mroi_low: None,
                        mroi_high: None,
                    }
                })
                .collect();
            ResponseCurve {
                channel: curves.name(i).to_string(),
                current_spend: cur,
                current_response: curves.response(i, cur),
                mroi: curves.marginal(i, cur),
                mroi_low: None,
                mroi_high: None,
                breakeven_spend: curves.spend_at_mroi(i, 1.0, 10.0 * cur),
                points,
                adstock_weights: adstock_weights(
                    &curves.chains[i],
                    ADSTOCK_MAX_LAGS.min(curves.horizon.max(1)),
                ),
                adstock_weights_low: None,
                adstock_weights_high: None,
            }
        })
        .collect()
}

/// Response curves on the posterior of a Bayesian model: every channel's curve is the mean of
/// its per-draw curves (each draw has its own coefficient and chain parameters), so optimizers
/// maximize the posterior-mean response; [`PosteriorCurves::lift`] then gives the lift of a plan
/// per draw, for its credible interval.
///
/// # Formula
/// ```text
/// r_i^(d)(s) = H·Σ_k β_ik^(d)·f_i(c_ik·s·1; θ_ik^(d))_∞,   response_i(s) = (1/D)·Σ_d r_i^(d)(s)
/// mROI_i(s)  = (1/D)·Σ_d Σ_k β_ik^(d)·c_ik·f_i'(c_ik·s; θ_ik^(d))_∞
/// lift^(d)   = Σ_i r_i^(d)(s_i*) − Σ_i r_i^(d)(s_i⁰)
/// ```
/// with one component `k` for a national fit (`c_i` the model's spend scaling) and one per geo
/// for a jointly fitted panel (`c_ik = w_k/(p_k·s_i)`: national spend reaches geo `k` in its
/// current share `w_k`, per capita, over the channel's scale; `β_ik` in national KPI units), so
/// that a geo model's national curve is the sum of its geos' curves; `θ_ik^(d) = θ_i^(d)` unless
/// each geo has its own transform parameters. `D` is at most
/// `max_draws` draws, evenly thinned.
#[derive(Debug)]
pub struct PosteriorCurves {
    names: Vec<String>,
    current: Vec<f64>,
    horizon: usize,
    /// Per channel, the spend scale `c_ik` of each component.
    pub(crate) input_scale: Vec<Vec<f64>>,
    /// `draws[i][d] = (β_ik^(d) per component, chains with θ^(d))`: one chain shared by the
    /// components, or one per component when each geo has its own transforms (`θ_ik^(d)`,
    /// see [`PosteriorCurves::chain`]).
    pub(crate) draws: Vec<Vec<(Vec<f64>, Vec<TransformChain>)>>,
    /// Per channel: whether every draw has the same chain parameters (then the chains'
    /// steady state at a spend is computed once for all draws, [`Buffers::shared_at`]).
    shared: Vec<bool>,
    buffers: Vec<Mutex<Buffers>>,
}

impl PosteriorCurves {
    /// Curves from a posterior (channels in the order of `estimate.effects`); `None` when the
    /// posterior lacks per-draw chain parameters for one of them.
    pub fn new(
        data: &ModelData,
        estimate: &CausalEstimate,
        posterior: &mmm_core::model::Posterior,
        max_draws: usize,
    ) -> Option<Self> {
        let n = STEADY_STATE_PERIODS;
        let (mut names, mut current, mut input_scale, mut draws, mut buffers) =
            (vec![], vec![], vec![], vec![], vec![]);
        let mut shared = vec![];
        for e in &estimate.effects {
            let m = posterior.media.iter().find(|m| m.channel == e.channel)?;
            let total = m.coefficient.len();
            // each geo its own chain parameters, or the channel's shared by all
            let per_geo =
                !m.geos.is_empty() && m.geos.iter().all(|g| g.chain_params.len() == total);
            if total == 0 || (!per_geo && m.chain_params.len() != total) {
                return None;
            }
            if m.geos.iter().any(|g| g.coefficient.len() != total) {
                return None;
            }
            // every draw with the same chain parameters (per geo when each has its own)
            let same = |p: &[Vec<f64>]| p.iter().all(|q| *q == p[0]);
            let shared_params = match per_geo {
                true => m.geos.iter().all(|g| same(&g.chain_params)),
                false => same(&m.chain_params),
            };
            let keep = total.min(max_draws.max(1));
            let base = &data.media[e.channel].chain;
            let with = |theta: &[f64]| {
                let mut chain = base.clone();
                chain.set_params(theta);
                chain
            };
            let per: Vec<(Vec<f64>, Vec<TransformChain>)> = (0..keep)
                .map(|k| {
                    let d = k * total / keep;
                    let chains = match per_geo {
                        true => m.geos.iter().map(|g| with(&g.chain_params[d])).collect(),
                        false => vec![with(&m.chain_params[d])],
                    };
                    let betas = if m.geos.is_empty() {
                        vec![m.coefficient[d]]
                    } else {
                        m.geos.iter().map(|g| g.coefficient[d]).collect()
                    };
                    (betas, chains)
                })
                .collect();
            let spend = &data.media[e.channel].spend;
            names.push(data.media[e.channel].name.clone());
            current.push(spend.iter().sum::<f64>() / spend.len() as f64);
            input_scale.push(if m.geos.is_empty() {
                vec![m.input_scale]
            } else {
                m.geos.iter().map(|g| g.input_scale).collect()
            });
            buffers.push(Mutex::new(Buffers {
                x: vec![0.0; n],
                ones: vec![1.0; n],
                y: vec![0.0; n],
                dy: vec![0.0; n],
                ws: ChainWorkspace::new(base, n),
                shared_at: None,
            }));
            draws.push(per);
            shared.push(shared_params);
        }
        Some(PosteriorCurves {
            names,
            current,
            horizon: data.n_obs(),
            input_scale,
            draws,
            shared,
            buffers,
        })
    }

    /// Number of draws per channel.
    pub fn n_draws(&self) -> usize {
        self.draws.first().map_or(0, |d| d.len())
    }

    /// Whether the curves are of a jointly fitted geo panel (several components per channel).
    pub fn is_geo(&self) -> bool {
        self.input_scale.iter().any(|c| c.len() > 1)
    }

    /// Draw `draw`'s chain of component `k` of channel `channel` (the shared chain unless each
    /// geo has its own).
    pub(crate) fn chain(&self, channel: usize, draw: usize, k: usize) -> &TransformChain {
        let chains = &self.draws[channel][draw].1;
        &chains[k.min(chains.len() - 1)]
    }

    /// Draw `d`'s response over the horizon and marginal ROI of `channel` at `spend` per period
    /// (summed over the channel's components, see the type's formula).
    pub fn draw_response(&self, channel: usize, draw: usize, spend: f64) -> (f64, f64) {
        let mut guard = match self.buffers[channel].lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let b = &mut *guard;
        let betas = &self.draws[channel][draw].0;
        let last = b.y.len() - 1;
        let scales = &self.input_scale[channel];
        let steady = |b: &mut Buffers, k: usize, c: f64| {
            b.x.iter_mut().for_each(|v| *v = c * spend);
            let chain = self.chain(channel, draw, k);
            chain.apply_jvp(&b.x, &b.ones, &mut b.y, &mut b.dy, &mut b.ws);
            (b.y[last], b.dy[last])
        };
        if self.shared[channel] {
            let fresh = b
                .shared_at
                .as_ref()
                .is_none_or(|(at, _)| *at != spend.to_bits());
            if fresh {
                let values: Vec<(f64, f64)> = scales
                    .iter()
                    .enumerate()
                    .map(|(k, &c)| steady(b, k, c))
                    .collect();
                b.shared_at = Some((spend.to_bits(), values));
            }
        }
        let (mut response, mut marginal) = (0.0, 0.0);
        for (k, (beta, &c)) in betas.iter().zip(scales).enumerate() {
            let (f, df) = match &b.shared_at {
                Some((_, values)) if self.shared[channel] => values[k],
                _ => steady(b, k, c),
            };
            response += self.horizon as f64 * beta * f;
            marginal += beta * c * df;
        }
        (response, marginal)
    }

    /// Per draw, the media-driven KPI over the horizon at `spend` (one value per channel).
    pub fn kpi_draws(&self, spend: &[f64]) -> Vec<f64> {
        (0..self.n_draws())
            .map(|d| {
                (0..self.names.len())
                    .map(|i| self.draw_response(i, d, spend[i]).0)
                    .sum()
            })
            .collect()
    }

    /// The lift of plan `optimal` over `current` spend per draw, summarized: mean and HDI at
    /// `level` of the absolute lift and of the lift in percent of the current KPI, and the
    /// probability that the lift is positive.
    pub fn lift(&self, current: &[f64], optimal: &[f64], level: f64) -> serde_json::Value {
        lift_summary(&self.kpi_draws(current), &self.kpi_draws(optimal), level)
    }
}

/// Summary of a plan's lift from per-draw KPIs at current (`now`) and optimal (`opt`) spend:
/// mean and HDI at `level` of the absolute lift `opt − now` and of the lift in percent of
/// `now`, the probability that the lift is positive, and the HDIs of both KPIs.
pub fn lift_summary(now: &[f64], opt: &[f64], level: f64) -> serde_json::Value {
    let abs: Vec<f64> = opt.iter().zip(now).map(|(o, n)| o - n).collect();
    let pct: Vec<f64> = opt
        .iter()
        .zip(now)
        .map(|(o, n)| 100.0 * (o - n) / n)
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (a_lo, a_hi) = mmm_core::interval::hdi(&abs, level);
    let (p_lo, p_hi) = mmm_core::interval::hdi(&pct, level);
    let (now_lo, now_hi) = mmm_core::interval::hdi(now, level);
    let (opt_lo, opt_hi) = mmm_core::interval::hdi(opt, level);
    serde_json::json!({
        "draws": abs.len(),
        "level": level,
        "lift": mean(&abs),
        "lift_low": a_lo,
        "lift_high": a_hi,
        "lift_pct": mean(&pct),
        "lift_pct_low": p_lo,
        "lift_pct_high": p_hi,
        "probability_positive": abs.iter().filter(|v| **v > 0.0).count() as f64 / abs.len().max(1) as f64,
        "expected_kpi_current_low": now_lo,
        "expected_kpi_current_high": now_hi,
        "expected_kpi_optimal_low": opt_lo,
        "expected_kpi_optimal_high": opt_hi,
    })
}

/// Samples every channel's posterior curve at `n_points` spends from 0 to 3× current spend:
/// per point the posterior mean of the response and of the marginal ROI (as
/// [`PosteriorCurves`] defines them) and their HDIs at `level` over the draws; the break-even
/// spend is that of the posterior-mean mROI (grid of 40, see [`spend_at_mroi`]). Channels run in
/// parallel; the result does not depend on the thread count.
pub fn sample_posterior_curves(
    curves: &PosteriorCurves,
    n_points: usize,
    level: f64,
) -> Vec<ResponseCurve> {
    use rayon::prelude::*;
    let summarize = |i: usize, s: f64| {
        let (r, m): (Vec<f64>, Vec<f64>) = (0..curves.n_draws())
            .map(|d| curves.draw_response(i, d, s))
            .unzip();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        // one draw (a penalized fit's point estimate): no interval
        let interval = |v: &[f64]| (v.len() > 1).then(|| mmm_core::interval::hdi(v, level));
        let (r_ci, m_ci) = (interval(&r), interval(&m));
        CurvePoint {
            spend: s,
            response: mean(&r),
            mroi: mean(&m),
            response_low: r_ci.map(|c| c.0),
            response_high: r_ci.map(|c| c.1),
            mroi_low: m_ci.map(|c| c.0),
            mroi_high: m_ci.map(|c| c.1),
        }
    };
    (0..curves.n_channels())
        .into_par_iter()
        .map(|i| {
            let cur = curves.current_spend(i);
            let top = 3.0 * cur;
            let points: Vec<CurvePoint> = (0..n_points)
                .map(|k| summarize(i, top * k as f64 / (n_points - 1).max(1) as f64))
                .collect();
            let at_current = summarize(i, cur);
            let weights = posterior_adstock_weights(
                curves,
                i,
                ADSTOCK_MAX_LAGS.min(curves.horizon.max(1)),
                level,
            );
            let (adstock_weights, adstock_weights_low, adstock_weights_high) = match weights {
                Some((m, lo, hi)) => (Some(m), Some(lo), Some(hi)),
                None => (None, None, None),
            };
            ResponseCurve {
                channel: curves.name(i).to_string(),
                current_spend: cur,
                current_response: at_current.response,
                mroi: at_current.mroi,
                mroi_low: at_current.mroi_low,
                mroi_high: at_current.mroi_high,
                breakeven_spend: spend_at_mroi(curves, i, 1.0, 10.0 * cur, 40),
                points,
                adstock_weights,
                adstock_weights_low,
                adstock_weights_high,
            }
        })
        .collect()
}

impl ResponseCurves for PosteriorCurves {
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
        let d = self.n_draws();
        (0..d)
            .map(|k| self.draw_response(channel, k, spend).0)
            .sum::<f64>()
            / d as f64
    }
    fn marginal(&self, channel: usize, spend: f64) -> f64 {
        let d = self.n_draws();
        (0..d)
            .map(|k| self.draw_response(channel, k, spend).1)
            .sum::<f64>()
            / d as f64
    }
    fn horizon(&self) -> usize {
        self.horizon
    }
}
