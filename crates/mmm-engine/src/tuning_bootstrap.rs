//! Uncertainty that includes the search (`tuning.uncertainty`): the whole search re-run on
//! moving-block bootstrap resamples, so that the intervals of ROI, contribution, share and mROI
//! account for the hyperparameters having been chosen on the same data.
//!
//! Intervals computed at tuned values treat them as known; the search picked them because they
//! fit this sample best, so they are too narrow and centred on an overfitted answer. Robyn
//! reports bootstrap intervals for the same reason.
//!
//! # Formula
//! ```text
//! r*_b                  = moving blocks of the periods 0 … n − 1 of length L, starts uniform on
//!                         0 … n − L (ChaCha8 stream b of the tuning seed), cut at n, sorted
//! resample: periods     (default, the pairs bootstrap) the search fits and scores
//!                         (y_t, x_t(θ)), t ∈ r*_b, x(θ) transformed on the whole series
//!                         (the fast path: frequency weights w_t = #{t in r*_b})
//! resample: residuals   y*_b = ŷ + ẽ_{r*_b}, ŷ and ẽ = y − ŷ − mean(y − ŷ) of the tuned fit;
//!                         the search on (y*_b, x(θ)) over all periods
//! for b = 1 … B:        θ*_b = the search on resample b, seed splitmix(seed, b), same strategy,
//!                              evaluations, objectives and scoring window
//!                       refit at θ*_b on the resample: β*_b
//!                       contribution*_{b,c} = β*_{b,c}·Σ_{t=1…n} x_{tc}(θ*_b)   (all periods)
//!                       roi*_{b,c} = contribution*_{b,c} / spend_c,
//!                       share*_{b,c} = contribution*_{b,c} / Σ_k contribution*_{b,k},
//!                       mroi*_{b,c} = the refit's marginal ROI at current spend
//! interval              = [q(α'/2), q(1 − α'/2)] of the B values (type-7 quantiles), the
//!                         expanded percentile rule of [`mmm_core::resample::BootstrapInterval`]
//!                         (α = 1 − level, ν = n − p), L = ⌈n^(1/3)⌉ by default
//! ```
//! Resamples run in parallel; each is seeded by its index alone, so the result does not
//! depend on the thread count.
//!
//! Why periods by default: a residual resample's world is the tuned fit's, so its searches
//! scatter around the tuned values. For a weakly identified channel the search's error depends
//! on where the truth is (seed 000's print, true decay 0.8: the tuned decay is pulled down to
//! about 0.6, but a world whose decay is 0.6 does not pull it further), and the residual
//! resamples cannot show the spread that matters. A resample of periods keeps the data's own
//! relation between target and spend, so its searches meet the same flat objective the search
//! on the data met. The transforms run on the whole series (carry-over is never cut at a
//! block's edge); the resample chooses which periods the fit sees, as the mediated structure's
//! bootstrap does. With `on: validation` or `folds`, a resample's sorted rows are split by
//! position as the data's periods are.

use crate::response::ChannelCurves;
use crate::tuning::{max_param_count, search, set_candidate};
use mmm_core::causal::{CausalEstimate, CausalInput, CausalStructure};
use mmm_core::dataset::ModelData;
use mmm_core::error::{MmmError, Result};
use mmm_core::model::Model;
use mmm_core::optimizer::ResponseCurves;
use mmm_core::resample::{block_resample, default_block_length, BootstrapInterval, IntervalMethod};
use mmm_core::search::SearchParam;
use mmm_core::transform::ChainWorkspace;
use mmm_core::tuning::{ResampleScheme, TuningSpec};
use mmm_core::validation::ValidationSpec;
use rayon::prelude::*;
use serde::Serialize;

/// A percentile summary `(low, median, high)` of bootstrap values.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// Lower end of the interval.
    pub low: f64,
    /// Median of the resamples.
    pub median: f64,
    /// Upper end of the interval.
    pub high: f64,
}

/// One channel's intervals over the search.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelSpread {
    /// Channel name.
    pub name: String,
    /// ROI (contribution per unit of spend).
    pub roi: Spread,
    /// Contribution over the data.
    pub contribution: Spread,
    /// Share of the media effect.
    pub share: Spread,
    /// Marginal ROI at current spend.
    pub mroi: Spread,
    /// The ROI interval of the tuned fit alone (conditional on the tuned values), for
    /// comparison; null where the model gives none.
    pub conditional_roi_ci_low: Option<f64>,
    /// Upper end of the conditional ROI interval.
    pub conditional_roi_ci_high: Option<f64>,
}

/// A searched parameter's spread over the resamples: how firmly the data pin it down.
#[derive(Debug, Clone, Serialize)]
pub struct ParameterSpread {
    /// The parameter's JSON pointer in the spec.
    pub pointer: String,
    /// Its tuned value on the data.
    pub tuned: f64,
    /// Its re-tuned values over the resamples.
    #[serde(flatten)]
    pub spread: Spread,
}

/// The results.json `tuning.uncertainty` section.
#[derive(Debug, Clone, Serialize)]
pub struct UncertaintyResult {
    /// `moving_block_bootstrap_of_periods` (default) or `moving_block_residual_bootstrap`.
    pub method: &'static str,
    /// `expanded_percentile`.
    pub interval: &'static str,
    /// Interval level.
    pub level: f64,
    /// Resamples asked for.
    pub resamples: usize,
    /// Resamples whose search found no model that could be fitted (left out).
    pub failed: usize,
    /// Block length in periods.
    pub block_length: usize,
    /// Per channel, in spec order.
    pub channels: Vec<ChannelSpread>,
    /// Per searched parameter, in search order.
    pub parameters: Vec<ParameterSpread>,
}

/// One resample's figures: per channel `(contribution, share, mroi)`, and the re-tuned
/// parameter values.
struct Replicate {
    contribution: Vec<f64>,
    share: Vec<f64>,
    mroi: Vec<f64>,
    parameters: Vec<f64>,
}

/// SplitMix64 of `seed` and `b`: the search seed of resample `b`.
fn resample_seed(seed: u64, b: u64) -> u64 {
    let mut z = seed ^ (b + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The inputs of the bootstrap over the search.
pub struct BootstrapInput<'a> {
    /// The tuning section (its `uncertainty` must be set).
    pub tuning: &'a TuningSpec,
    /// The spec's validation section (for `on: validation` or `folds`).
    pub validation: Option<&'a ValidationSpec>,
    /// The data as fitted at the tuned values.
    pub data: &'a ModelData,
    /// The tuned fit.
    pub estimate: &'a CausalEstimate,
    /// The causal structure.
    pub causal: &'a dyn CausalStructure,
    /// The model at the tuned values.
    pub model: &'a (dyn Model + 'static),
    /// The search ranges.
    pub params: &'a [SearchParam],
    /// The tuned values, in search order.
    pub tuned: Vec<f64>,
    /// The tuning seed.
    pub seed: u64,
}

/// Runs the bootstrap over the search (see the module docs). Errors (exit 2, at
/// `/tuning/uncertainty`) for structures with several stages and for models with a
/// posterior, whose intervals this does not cover.
pub fn bootstrap(input: &BootstrapInput<'_>) -> Result<UncertaintyResult> {
    let spec = input
        .tuning
        .uncertainty
        .as_ref()
        .ok_or_else(|| MmmError::Compute("no tuning.uncertainty section".into()))?;
    let here = |m: String| MmmError::param("/tuning/uncertainty", m);
    let estimate = input.estimate;
    let stage = estimate
        .outcome_stage()
        .ok_or_else(|| MmmError::Compute("the causal structure fitted no stage".into()))?;
    if estimate.stages.len() > 1 {
        return Err(here(
            "the bootstrap over the search supports single-stage structures; a mediated \
             structure's intervals come from its own bootstrap (causal.bootstrap)"
                .into(),
        ));
    }
    if stage.fitted.posterior().is_some() {
        return Err(here(
            "a Bayesian model's intervals are posterior intervals; the bootstrap over the \
             search is for point models (remove tuning.uncertainty)"
                .into(),
        ));
    }
    let data = input.data;
    let n = data.n_obs();
    if stage.y.len() != n || stage.fitted.fitted.len() != n {
        return Err(here(
            "the model does not fit the target period by period on its own scale".into(),
        ));
    }
    let block_length = spec.block_length.unwrap_or_else(|| default_block_length(n));
    if block_length == 0 || block_length > n {
        return Err(MmmError::param(
            "/tuning/uncertainty/block_length",
            format!("must be between 1 and the number of periods ({n}), got {block_length}"),
        ));
    }
    let fitted = &stage.fitted.fitted;
    let residuals: Vec<f64> = stage.y.iter().zip(fitted).map(|(y, f)| y - f).collect();
    let mean = residuals.iter().sum::<f64>() / n as f64;
    let centred: Vec<f64> = residuals.iter().map(|e| e - mean).collect();
    let b_count = spec.bootstrap as usize;
    let channels: Vec<usize> = estimate.effects.iter().map(|e| e.channel).collect();
    let spend: Vec<f64> = channels
        .iter()
        .map(|&c| data.media[c].spend.iter().sum())
        .collect();

    let pb = mmm_core::progress::bar(b_count as u64, "bootstrap");
    let replicates: Vec<Option<Replicate>> = (0..b_count)
        .into_par_iter()
        .map(|b| {
            let mut rows = block_resample(n, block_length, input.seed, b as u64);
            let mut d = data.clone();
            let periods = match spec.resample {
                ResampleScheme::Periods => {
                    rows.sort_unstable();
                    Some(rows.as_slice())
                }
                ResampleScheme::Residuals => {
                    d.y = fitted
                        .iter()
                        .zip(&rows)
                        .map(|(f, &r)| f + centred[r])
                        .collect();
                    None
                }
            };
            let seed = resample_seed(input.seed, b as u64);
            let r = one_resample(input, &mut d, &channels, seed, periods).ok();
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();
    let ok: Vec<&Replicate> = replicates.iter().flatten().collect();
    let failed = b_count - ok.len();
    if ok.len() < 2 {
        return Err(here(format!(
            "{failed} of {b_count} bootstrap resamples found no model that could be fitted"
        )));
    }
    let p = stage.fitted.coefficients.len();
    let rule = BootstrapInterval::new(IntervalMethod::Expanded, estimate.interval_level, n, p);
    let (lo_q, hi_q) = rule.levels();
    let spread = |mut v: Vec<f64>| -> Spread {
        v.retain(|x| x.is_finite());
        v.sort_by(f64::total_cmp);
        Spread {
            low: mmm_data::cleaning::quantile(&v, lo_q),
            median: mmm_data::cleaning::quantile(&v, 0.5),
            high: mmm_data::cleaning::quantile(&v, hi_q),
        }
    };
    let channel_spreads = channels
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let contribution = spread(ok.iter().map(|r| r.contribution[i]).collect());
            let per_spend = |x: f64| x / spend[i];
            ChannelSpread {
                name: data.media[c].name.clone(),
                roi: Spread {
                    low: per_spend(contribution.low),
                    median: per_spend(contribution.median),
                    high: per_spend(contribution.high),
                },
                contribution,
                share: spread(ok.iter().map(|r| r.share[i]).collect()),
                mroi: spread(ok.iter().map(|r| r.mroi[i]).collect()),
                conditional_roi_ci_low: None,
                conditional_roi_ci_high: None,
            }
        })
        .collect();
    let parameters = input
        .params
        .iter()
        .enumerate()
        .map(|(k, p)| ParameterSpread {
            pointer: p.pointer.clone(),
            tuned: input.tuned.get(k).copied().unwrap_or(f64::NAN),
            spread: spread(ok.iter().map(|r| r.parameters[k]).collect()),
        })
        .collect();
    Ok(UncertaintyResult {
        method: match spec.resample {
            ResampleScheme::Periods => "moving_block_bootstrap_of_periods",
            ResampleScheme::Residuals => "moving_block_residual_bootstrap",
        },
        interval: "expanded_percentile",
        level: estimate.interval_level,
        resamples: b_count,
        failed,
        block_length,
        channels: channel_spreads,
        parameters,
    })
}

/// Searches resample `d` (its target already replaced for a residual resample; the periods
/// `rows` for a resample of periods), refits at the chosen candidate (on `rows`) and returns
/// its figures, contributions summed over every period of the data.
fn one_resample(
    input: &BootstrapInput<'_>,
    d: &mut ModelData,
    channels: &[usize],
    seed: u64,
    rows: Option<&[usize]>,
) -> Result<Replicate> {
    let r = search(
        input.tuning,
        input.validation,
        d,
        input.causal,
        input.model,
        input.params,
        seed,
        true,
        false,
        rows,
    )?;
    let mut model = dyn_clone::clone_box(input.model);
    let mut values = vec![0.0; max_param_count(&d.media, input.model)];
    let mut ws = ChainWorkspace::default();
    set_candidate(
        input.params,
        &r.best_unit,
        &mut d.media,
        &mut d.transformed,
        &mut model,
        &mut values,
        &mut ws,
    );
    let est = match rows {
        Some(rows) => input.causal.estimate(&CausalInput {
            data: &d.subset(rows),
            model: model.as_ref(),
            seed,
        })?,
        None => input.causal.estimate(&CausalInput {
            data: d,
            model: model.as_ref(),
            seed,
        })?,
    };
    let contribution: Vec<f64> = est
        .effects
        .iter()
        .map(|e| e.contribution(&d.transformed[e.channel]))
        .collect();
    if est.effects.len() != channels.len() {
        return Err(MmmError::Compute(
            "a resample's fit has other channels".into(),
        ));
    }
    let total: f64 = contribution.iter().sum();
    let share = contribution
        .iter()
        .map(|c| if total != 0.0 { c / total } else { f64::NAN })
        .collect();
    let curves = ChannelCurves::new(d, &est);
    let mroi = (0..est.effects.len())
        .map(|i| curves.marginal(i, curves.current_spend(i)))
        .collect();
    let parameters = input
        .params
        .iter()
        .zip(&r.best_unit)
        .map(|(p, u)| p.value_at(*u))
        .collect();
    Ok(Replicate {
        contribution,
        share,
        mroi,
        parameters,
    })
}

#[cfg(test)]
mod tests {
    use super::resample_seed;

    #[test]
    fn resample_seeds_differ_and_repeat() {
        assert_eq!(resample_seed(7, 3), resample_seed(7, 3));
        assert_ne!(resample_seed(7, 3), resample_seed(7, 4));
        assert_ne!(resample_seed(7, 3), resample_seed(8, 3));
    }
}
