//! Several posterior draws as alternative truths, for a Bayesian model.
//!
//! A Bayesian fit is a distribution, not one model: the audit takes `K` of its posterior draws
//! as `K` alternative truths and assigns replicate `r` to truth `r mod K`. Each truth is a
//! whole parameter vector of one draw `d`: every coefficient `β_d` and, for a model that
//! samples them (`bayesian_mmm`), every channel's transform parameters `θ_d`. Its fitted
//! values are
//!
//! ```text
//! ŷ_d,t = Σ_{j not sampled media} β_d,j · x_j,t  +  Σ_{sampled media i} β_d,i · f_i(c_i · s_i; θ_d,i)_t
//! ```
//!
//! (`x_j` the design column, `s_i` the channel's spend, `c_i` the model's spend scaling, `f_i`
//! the channel's transform chain), and its noise is the moving-block bootstrap of its own
//! centred residuals `e_d,t = y_t − ŷ_d,t − mean_t(y_t − ŷ_d,t)`, **not inflated**: a posterior
//! draw is not the least-squares fit, and under a flat prior
//! `E‖y − Xβ_d‖² = ‖y − Xβ̂‖² + E‖X(β̂ − β_d)‖² ≈ (n − p)σ² + pσ² = nσ²`, so its residuals
//! already carry the noise variance (the inflation `√(n/(n − p))` of the single truth
//! restores exactly the `pσ²` the fit absorbed). See `docs/audit.md`.

use crate::TruthChannel;
use mmm_core::causal::CausalEstimate;
use mmm_core::dataset::ModelData;
use mmm_core::error::{MmmError, Result};
use mmm_core::model::{FittedModel, Posterior, PosteriorMedia, Role};
use mmm_core::optimizer::ResponseCurves;
use mmm_core::transform::ChainWorkspace;
use mmm_engine::response::{ChannelCurves, PosteriorCurves};
use serde::{Deserialize, Serialize};

/// Default number of posterior draws taken as truths (`audit.truths`, `--truths`).
pub const DEFAULT_TRUTHS: usize = 8;

/// One posterior draw taken as a truth.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthDraw {
    /// The draw's row in the posterior (chains stacked in order).
    pub draw: usize,
    /// Its fitted values `ŷ_d,t`.
    pub fitted: Vec<f64>,
    /// Its centred residuals `e_d,t` (not inflated, see the module docs).
    pub residuals: Vec<f64>,
    /// Its truth per channel (spec order).
    pub channels: Vec<TruthChannel>,
}

/// One truth as `audit.json` records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditTruth {
    /// The draw's row in the posterior (chains stacked in order).
    pub draw: usize,
    /// Its truth per channel (spec order).
    pub channels: Vec<TruthChannel>,
}

/// The `k` draws of `n_draws` taken as truths, evenly spaced through the (thinned, chains
/// stacked) draws: `d_i = ⌊(2i + 1) · n_draws / (2k)⌋`, `i = 0 … k − 1` (distinct when
/// `k ≤ n_draws`; with two chains of equal length, half from each).
pub fn draw_indices(n_draws: usize, k: usize) -> Vec<usize> {
    let k = k.min(n_draws);
    (0..k).map(|i| (2 * i + 1) * n_draws / (2 * k)).collect()
}

/// The posterior of draw `d` only (what [`PosteriorCurves`] needs for that draw's curves).
fn single_draw(post: &Posterior, d: usize) -> Posterior {
    Posterior {
        media: post
            .media
            .iter()
            .map(|m| PosteriorMedia {
                column: m.column,
                channel: m.channel,
                input_scale: m.input_scale,
                coefficient: vec![m.coefficient[d]],
                chain_params: m.chain_params.get(d).cloned().into_iter().collect(),
                contribution: vec![m.contribution[d]],
                geos: m
                    .geos
                    .iter()
                    .map(|g| mmm_core::model::PosteriorMediaGeo {
                        input_scale: g.input_scale,
                        coefficient: vec![g.coefficient[d]],
                        contribution: vec![g.contribution[d]],
                        chain_params: g.chain_params.get(d).cloned().into_iter().collect(),
                        spend_scale: g.spend_scale,
                    })
                    .collect(),
            })
            .collect(),
        ..Default::default()
    }
}

/// The response curves of draw `d`: `r_i(s) = H · β_d,i · f_i(c_i · s · 1; θ_d,i)_∞` for a model
/// with sampled transforms (a one-draw [`PosteriorCurves`]), `H · β_d,i · f_i(s · 1)_∞` with the
/// fit's transforms otherwise (a [`ChannelCurves`] with draw `d`'s media coefficients).
pub fn draw_curves(
    data: &ModelData,
    estimate: &CausalEstimate,
    fitted: &FittedModel,
    d: usize,
) -> Result<Box<dyn ResponseCurves + Send>> {
    let stage = estimate
        .outcome_stage()
        .ok_or_else(|| MmmError::Compute("the causal structure fitted no stage".into()))?;
    if let Some(post) = fitted.posterior().filter(|p| !p.media.is_empty()) {
        return PosteriorCurves::new(data, estimate, &single_draw(&post, d), 1)
            .map(|c| Box::new(c) as Box<dyn ResponseCurves + Send>)
            .ok_or_else(|| {
                MmmError::Compute(
                    "the posterior lacks a channel's per-draw transform parameters".into(),
                )
            });
    }
    let draws = fitted
        .coefficient_draws
        .as_ref()
        .ok_or_else(|| MmmError::Compute("the model has no coefficient draws".into()))?;
    let mut est = estimate.clone();
    for e in &mut est.effects {
        let j = stage
            .design
            .columns
            .iter()
            .position(|c| c.role == Role::Media && c.channel == Some(e.channel))
            .ok_or_else(|| {
                MmmError::Compute(format!("channel {} has no design column", e.channel))
            })?;
        e.total_coefficient = draws[(d, j)];
    }
    Ok(Box::new(ChannelCurves::new(data, &est)))
}

/// Draw `d` as a truth: fitted values, centred residuals against `y`, and per channel its
/// contribution `Σ_t β_d,i f_i(·)_t`, ROI (over `spend`, the fit's truth's spend per channel) and
/// marginal ROI at current spend on [`draw_curves`].
pub fn truth_draw(
    data: &ModelData,
    estimate: &CausalEstimate,
    base: &[TruthChannel],
    d: usize,
) -> Result<TruthDraw> {
    let stage = estimate
        .outcome_stage()
        .ok_or_else(|| MmmError::Compute("the causal structure fitted no stage".into()))?;
    let fitted = &stage.fitted;
    let draws = fitted
        .coefficient_draws
        .as_ref()
        .ok_or_else(|| MmmError::Compute("the model has no coefficient draws".into()))?;
    let post = fitted.posterior();
    let design = &stage.design;
    let n = design.n_obs();
    let mut yhat = vec![0.0; n];
    let mut contribution = vec![0.0; data.media.len()];
    let mut series = vec![0.0; n];
    let mut input = vec![0.0; n];
    for (j, col) in design.columns.iter().enumerate() {
        let sampled = post
            .as_ref()
            .and_then(|p| p.media.iter().find(|m| m.column == j));
        let coef = match sampled {
            Some(m) => {
                let media = &data.media[m.channel];
                let mut chain = media.chain.clone();
                chain.set_params(&m.chain_params[d]);
                for (v, s) in input.iter_mut().zip(&media.spend) {
                    *v = m.input_scale * s;
                }
                let mut ws = ChainWorkspace::new(&chain, n);
                chain.apply(&input, &mut series, &mut ws);
                m.coefficient[d]
            }
            None => {
                for (t, v) in series.iter_mut().enumerate() {
                    *v = design.x[(t, j)];
                }
                draws[(d, j)]
            }
        };
        for (y, x) in yhat.iter_mut().zip(&series) {
            *y += coef * x;
        }
        if let (Role::Media, Some(ch)) = (col.role, col.channel) {
            contribution[ch] += coef * series.iter().sum::<f64>();
        }
    }
    let raw: Vec<f64> = stage.y.iter().zip(&yhat).map(|(y, f)| y - f).collect();
    let mean = raw.iter().sum::<f64>() / n as f64;
    let residuals = raw.iter().map(|e| e - mean).collect();
    let curves = draw_curves(data, estimate, fitted, d)?;
    let channels = base
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let ch = estimate.effects[k].channel;
            let c = contribution[ch];
            TruthChannel {
                name: t.name.clone(),
                spend: t.spend,
                contribution: c,
                roi: if t.spend != 0.0 {
                    c / t.spend
                } else {
                    f64::NAN
                },
                mroi: curves.marginal(k, curves.current_spend(k)),
                current_spend: curves.current_spend(k),
            }
        })
        .collect();
    Ok(TruthDraw {
        draw: d,
        fitted: yhat,
        residuals,
        channels,
    })
}
