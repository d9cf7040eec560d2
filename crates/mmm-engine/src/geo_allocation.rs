//! Per-geo budget allocation (an optimizer's `"geo_allocation": true`, joint geo fits only):
//! every channel × geo pair is its own decision variable, so the optimizer can move a channel's
//! budget between geos as well as between channels, under the national total budget.
//!
//! Without it, a jointly fitted panel's curves ([`PosteriorCurves`]) give each channel one
//! national curve, the sum of its geos' responses when every geo receives its current share
//! `w_ik` of the channel's national spend. [`PosteriorCurves::per_geo`] splits them into one
//! curve per channel × geo, a function of that geo's own spend, and the optimizers run on it
//! unchanged (they see `G·C` channels named `channel / geo`, see [`PAIR_SEPARATOR`]).
//! [`GeoPairCurves::fold`] then turns the plan back into national totals per channel, with the
//! per-geo plan in [`OptimizationResult::geo_plan`].
//!
//! # Formula
//! ```text
//! w_ik        = Σ_t x_ikt / Σ_{h,t} x_iht       geo k's share of channel i's spend (population
//!                                              share p_k/P when the channel never spends)
//! c_ik        = w_ik/(p_k·s_i)                  the fit's input scale of geo k (PosteriorCurves)
//! a_ik        = c_ik / w_ik = 1/(p_k·s_i)       scale of the geo's own spend
//! r_ik(x)     = (1/D)·Σ_d H·β_ik^(d)·f_i(a_ik·x·1; θ_i^(d))_∞          response of pair (i, k)
//! mROI_ik(x)  = (1/D)·Σ_d β_ik^(d)·a_ik·f_i'(a_ik·x; θ_i^(d))_∞
//! x̄_ik        = (1/T)·Σ_t x_ikt                  current spend of the pair (Σ_k x̄_ik = x̄_i)
//!
//! maximize Σ_{i,k} r_ik(x_ik)  subject to  Σ_{i,k} x_ik = B,  lo_ik ≤ x_ik ≤ hi_ik
//! ```
//! At the current split (`x_ik = w_ik·s`) `r_ik(w_ik·s)` is geo `k`'s component of the national
//! curve, so `Σ_k r_ik(w_ik·s) = r_i(s)`: the current expected KPI is the national one, and the
//! national-share plan is one feasible per-geo plan (more freedom, at least as much KPI). For a
//! geo that never spent on the channel (`w_ik = 0`) `a_ik` comes from another geo of the channel:
//! `a_ik = a_ij·p_j/p_k` (populations as the fit used them, 1 when unknown).
//!
//! National totals of a per-geo plan: spend, current spend and contribution are sums over the
//! channel's geos; the channel's marginal ROI is that of one more unit of spend split as the plan
//! splits it, `mROI_i = Σ_k mROI_ik(x_ik)·x_ik / Σ_k x_ik` (current spend shares when the plan
//! spends nothing on the channel).

use crate::response::{lift_summary, PosteriorCurves, STEADY_STATE_PERIODS};
use mmm_core::dataset::ModelData;
use mmm_core::error::{MmmError, Result};
use mmm_core::optimizer::{ChannelPlan, GeoChannelPlan, OptimizationResult, ResponseCurves};
use mmm_core::transform::ChainWorkspace;
use serde_json::Value;
use std::sync::Mutex;

/// Between a channel's and a geo's name in the name of a pair (`tv / Geo3`).
pub const PAIR_SEPARATOR: &str = " / ";

/// Index of channel `name` in `data.media`; [`MmmError::Compute`] when it is not there (a bug:
/// the curves' channels come from the data).
fn media_index(data: &ModelData, name: &str) -> Result<usize> {
    data.media
        .iter()
        .position(|m| m.name == name)
        .ok_or_else(|| MmmError::Compute(format!("channel '{name}' is not in the data")))
}

/// The name of channel × geo pair: `channel / geo`.
pub fn pair_name(channel: &str, geo: &str) -> String {
    format!("{channel}{PAIR_SEPARATOR}{geo}")
}

/// The channel × geo pairs of a panel, from the data alone: names, channel and geo of each pair
/// (channel order, then geo order) and current spends `x̄_ik` (module formula). Response and
/// marginal ROI are 0: the engine checks an optimizer's names (bounds by channel, pair and geo)
/// and budget against it before any fitting.
#[derive(Debug, Clone)]
pub struct GeoPairs {
    names: Vec<String>,
    pairs: Vec<(String, String)>,
    /// `(channel index in the curves, geo index)` of each pair.
    index: Vec<(usize, usize)>,
    current: Vec<f64>,
    horizon: usize,
}

impl GeoPairs {
    /// The pairs of `channels` (names of `data.media`) in every geo of `data`.
    ///
    /// # Errors
    /// [`MmmError::Compute`] when a channel is not in the data (a bug) or the data have no geos.
    pub fn new(data: &ModelData, channels: &[&str]) -> Result<Self> {
        if data.geos.is_empty() {
            return Err(MmmError::Compute(
                "per-geo allocation needs a panel (data.geo)".into(),
            ));
        }
        let (mut names, mut pairs, mut index, mut current) = (vec![], vec![], vec![], vec![]);
        for (i, name) in channels.iter().enumerate() {
            let m = media_index(data, name)?;
            for (k, g) in data.geos.iter().enumerate() {
                let s = &g.spend[m];
                names.push(pair_name(name, &g.name));
                pairs.push((name.to_string(), g.name.clone()));
                index.push((i, k));
                current.push(s.iter().sum::<f64>() / s.len().max(1) as f64);
            }
        }
        Ok(GeoPairs {
            names,
            pairs,
            index,
            current,
            horizon: data.n_obs(),
        })
    }

    /// The pairs of every media channel of the data.
    pub fn of_data(data: &ModelData) -> Result<Self> {
        let channels: Vec<&str> = data.media.iter().map(|m| m.name.as_str()).collect();
        Self::new(data, &channels)
    }
}

impl ResponseCurves for GeoPairs {
    fn n_channels(&self) -> usize {
        self.names.len()
    }
    fn name(&self, channel: usize) -> &str {
        &self.names[channel]
    }
    fn current_spend(&self, channel: usize) -> f64 {
        self.current[channel]
    }
    fn response(&self, _channel: usize, _spend: f64) -> f64 {
        0.0
    }
    fn marginal(&self, _channel: usize, _spend: f64) -> f64 {
        0.0
    }
    fn horizon(&self) -> usize {
        self.horizon
    }
    fn pair(&self, channel: usize) -> Option<(&str, &str)> {
        let (c, g) = &self.pairs[channel];
        Some((c, g))
    }
}

#[derive(Debug)]
struct PairBuffers {
    x: Vec<f64>,
    ones: Vec<f64>,
    y: Vec<f64>,
    dy: Vec<f64>,
    ws: ChainWorkspace,
}

/// A jointly fitted panel's posterior curves with one entry per channel × geo pair, each a
/// function of the geo's own spend (module formula); built by [`PosteriorCurves::per_geo`].
#[derive(Debug)]
pub struct GeoPairCurves<'a> {
    curves: &'a PosteriorCurves,
    pairs: GeoPairs,
    /// `a_ik` of each pair.
    scale: Vec<f64>,
    buffers: Vec<Mutex<PairBuffers>>,
}

impl PosteriorCurves {
    /// The curves per channel × geo of a jointly fitted panel (see [`crate::geo_allocation`]):
    /// `data` is the panel the curves were fitted on.
    ///
    /// # Errors
    /// [`MmmError::Compute`] when the curves are not a geo fit's or do not match the data's geos.
    pub fn per_geo(&self, data: &ModelData) -> Result<GeoPairCurves<'_>> {
        let channels: Vec<&str> = (0..self.n_channels()).map(|i| self.name(i)).collect();
        let pairs = GeoPairs::new(data, &channels)?;
        let g_len = data.geos.len();
        if self.input_scale.iter().any(|c| c.len() != g_len) {
            return Err(MmmError::Compute(format!(
                "per-geo allocation needs the curves of a joint geo fit with {g_len} geos"
            )));
        }
        let population: Vec<f64> = data
            .geos
            .iter()
            .map(|g| g.population.unwrap_or(1.0))
            .collect();
        let total_population: f64 = population.iter().sum();
        let mut scale = Vec::with_capacity(pairs.index.len());
        for (i, name) in channels.iter().enumerate() {
            let m = media_index(data, name)?;
            let totals: Vec<f64> = data
                .geos
                .iter()
                .map(|g| g.spend[m].iter().sum::<f64>())
                .collect();
            let all: f64 = totals.iter().sum();
            let share: Vec<f64> = (0..g_len)
                .map(|k| {
                    if all > 0.0 {
                        totals[k] / all
                    } else {
                        population[k] / total_population
                    }
                })
                .collect();
            let c = &self.input_scale[i];
            // 1/s_i from a geo with spend (a_ij·p_j), for geos without
            let per_capita = (0..g_len)
                .find(|&j| share[j] > 0.0)
                .map(|j| c[j] / share[j] * population[j])
                .unwrap_or(0.0);
            scale.extend((0..g_len).map(|k| {
                if share[k] > 0.0 {
                    c[k] / share[k]
                } else {
                    per_capita / population[k]
                }
            }));
        }
        let n = STEADY_STATE_PERIODS;
        let buffers = pairs
            .index
            .iter()
            .map(|&(i, _)| {
                Mutex::new(PairBuffers {
                    x: vec![0.0; n],
                    ones: vec![1.0; n],
                    y: vec![0.0; n],
                    dy: vec![0.0; n],
                    ws: ChainWorkspace::new(self.chain(i, 0, 0), n),
                })
            })
            .collect();
        Ok(GeoPairCurves {
            curves: self,
            pairs,
            scale,
            buffers,
        })
    }
}

impl GeoPairCurves<'_> {
    /// Draw `d`'s response over the horizon and marginal ROI of pair `pair` at `spend` per
    /// period in its geo.
    pub fn draw_response(&self, pair: usize, draw: usize, spend: f64) -> (f64, f64) {
        let mut guard = match self.buffers[pair].lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let b = &mut *guard;
        let (i, k) = self.pairs.index[pair];
        let betas = &self.curves.draws[i][draw].0;
        let chain = self.curves.chain(i, draw, k);
        let a = self.scale[pair];
        b.x.iter_mut().for_each(|v| *v = a * spend);
        chain.apply_jvp(&b.x, &b.ones, &mut b.y, &mut b.dy, &mut b.ws);
        let last = b.y.len() - 1;
        let h = self.pairs.horizon as f64;
        (h * betas[k] * b.y[last], betas[k] * a * b.dy[last])
    }

    /// Per draw, the media-driven KPI over the horizon at `spend` (one value per pair).
    pub fn kpi_draws(&self, spend: &[f64]) -> Vec<f64> {
        (0..self.curves.n_draws())
            .map(|d| {
                (0..spend.len())
                    .map(|j| self.draw_response(j, d, spend[j]).0)
                    .sum()
            })
            .collect()
    }

    /// The lift of per-pair plan `optimal` over `current` per draw, summarized as
    /// [`PosteriorCurves::lift`] does.
    pub fn lift(&self, current: &[f64], optimal: &[f64], level: f64) -> Value {
        lift_summary(&self.kpi_draws(current), &self.kpi_draws(optimal), level)
    }

    /// Turns an optimizer's result on these curves (one entry per pair) into national totals
    /// per channel in `channels` (module formula) with the per-pair plan in `geo_plan`; a
    /// sweep's rows get national `spend` and the per-pair `spend_by_geo`.
    pub fn fold(&self, mut r: OptimizationResult) -> OptimizationResult {
        let mut national: Vec<ChannelPlan> = Vec::new();
        let mut geo_plan = Vec::with_capacity(r.channels.len());
        let mut weights: Vec<(f64, f64)> = Vec::new(); // per channel Σ mROI·x and Σ x
        for (j, p) in r.channels.iter().enumerate() {
            let (i, _) = self.pairs.index[j];
            let (channel, geo) = &self.pairs.pairs[j];
            geo_plan.push(GeoChannelPlan {
                channel: channel.clone(),
                geo: geo.clone(),
                current_spend: p.current_spend,
                optimal_spend: p.optimal_spend,
                change_pct: p.change_pct,
                expected_contribution: p.expected_contribution,
                mroi: p.mroi,
            });
            if national.len() <= i {
                national.push(ChannelPlan {
                    name: channel.clone(),
                    current_spend: 0.0,
                    optimal_spend: 0.0,
                    change_pct: f64::NAN,
                    expected_contribution: 0.0,
                    mroi: 0.0,
                    window: None,
                });
                weights.push((0.0, 0.0));
            }
            let c = &mut national[i];
            c.current_spend += p.current_spend;
            c.optimal_spend += p.optimal_spend;
            c.expected_contribution += p.expected_contribution;
            let w = if p.optimal_spend > 0.0 {
                p.optimal_spend
            } else {
                0.0
            };
            weights[i].0 += p.mroi * w;
            weights[i].1 += w;
        }
        for (i, c) in national.iter_mut().enumerate() {
            c.change_pct = pct(c.current_spend, c.optimal_spend);
            c.mroi = if weights[i].1 > 0.0 {
                weights[i].0 / weights[i].1
            } else {
                // nothing planned: split one more unit as the current spend is split
                let rows: Vec<&GeoChannelPlan> = geo_plan
                    .iter()
                    .zip(&self.pairs.index)
                    .filter(|(_, &(ci, _))| ci == i)
                    .map(|(g, _)| g)
                    .collect();
                let total: f64 = rows.iter().map(|g| g.current_spend).sum();
                if total > 0.0 {
                    rows.iter().map(|g| g.mroi * g.current_spend).sum::<f64>() / total
                } else {
                    rows.iter().map(|g| g.mroi).sum::<f64>() / rows.len().max(1) as f64
                }
            };
        }
        if let Some(Value::Array(rows)) = r.scenarios.as_mut() {
            for row in rows {
                let Some(spend) = row.get("spend").and_then(Value::as_object).cloned() else {
                    continue;
                };
                let mut totals = serde_json::Map::new();
                for c in &national {
                    totals.insert(c.name.clone(), serde_json::json!(0.0));
                }
                for (j, (channel, _)) in self.pairs.pairs.iter().enumerate() {
                    let v = spend
                        .get(&self.pairs.names[j])
                        .and_then(Value::as_f64)
                        .unwrap_or(0.0);
                    if let Some(t) = totals.get_mut(channel) {
                        *t = serde_json::json!(t.as_f64().unwrap_or(0.0) + v);
                    }
                }
                row["spend_by_geo"] = Value::Object(spend);
                row["spend"] = Value::Object(totals);
            }
        }
        if let Some(d) = r.details.as_object_mut() {
            d.insert(
                "geo_allocation".into(),
                serde_json::json!({
                    "pairs": self.pairs.names.len(),
                    "geos": self.pairs.names.len() / national.len().max(1),
                    "note": "every channel × geo is a decision variable; `channels` holds national \
                             totals, `geo_plan` the plan per channel × geo, and `binding` names pairs",
                }),
            );
        }
        r.channels = national;
        r.geo_plan = Some(geo_plan);
        r
    }
}

/// Percent change, NaN when `from` is 0 and `to` is not (as the optimizers report it).
fn pct(from: f64, to: f64) -> f64 {
    if from != 0.0 {
        (to - from) / from.abs() * 100.0
    } else if to == 0.0 {
        0.0
    } else {
        f64::NAN
    }
}

impl ResponseCurves for GeoPairCurves<'_> {
    fn n_channels(&self) -> usize {
        self.pairs.n_channels()
    }
    fn name(&self, channel: usize) -> &str {
        self.pairs.name(channel)
    }
    fn current_spend(&self, channel: usize) -> f64 {
        self.pairs.current_spend(channel)
    }
    fn response(&self, channel: usize, spend: f64) -> f64 {
        let d = self.curves.n_draws();
        (0..d)
            .map(|k| self.draw_response(channel, k, spend).0)
            .sum::<f64>()
            / d as f64
    }
    fn marginal(&self, channel: usize, spend: f64) -> f64 {
        let d = self.curves.n_draws();
        (0..d)
            .map(|k| self.draw_response(channel, k, spend).1)
            .sum::<f64>()
            / d as f64
    }
    fn horizon(&self) -> usize {
        self.pairs.horizon
    }
    fn pair(&self, channel: usize) -> Option<(&str, &str)> {
        self.pairs.pair(channel)
    }
}
