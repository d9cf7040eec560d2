//! Two-stage mediation (seed 002): driver channels (social) raise a mediator's spend (search),
//! whose transformed spend drives the target; drivers may also drive the target directly.
//! Stage 1 explains the mediator's spend *before* its transforms, as the seed writes it
//! (`Google Spend = α + Σ β_i·Social_i + ε`); the indirect effects are counterfactuals through
//! the mediator's adstock and saturation.
//!
//! Ref: Baron & Kenny (1986) product-of-coefficients; Imai, Keele & Tingley (2010) for the
//! linear-SEM identification assumptions (no unmeasured mediator–outcome confounding).

use crate::bootstrap::{block_resample, default_block_length, BootstrapInterval, IntervalMethod};
use mmm_core::causal::{
    CausalEstimate, CausalInput, CausalStructure, ChannelEffect, Credit, ExperimentColumns,
    MediationPaths, Stage, KIND,
};
use mmm_core::dataset::ModelData;
use mmm_core::model::{Column, Design, FitProblem, Model, Role};
use mmm_core::transform::{ChainWorkspace, Transform, TransformChain};
use mmm_core::tuning::ResampleScheme;
use mmm_core::{MmmError, Result};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the mediator enters the outcome stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediatorEntry {
    /// The mediator as observed, `f_M(M)` (transformed as its channel is): the drivers'
    /// coefficients in stage 2 are their *direct* effects.
    Observed,
    /// The part of the transformed mediator its drivers do not explain (the seed's approach),
    /// `f_M(M) − f_M(M̂)` with `M̂` stage 1's fitted spend. The drivers' coefficients in stage 2
    /// are then their *total* effects (exactly so for OLS and chains without saturation, where
    /// the residual design spans the same space as the observed one).
    Residual,
}

/// The mediator and the channels that drive it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MediatorSpec {
    /// The mediator's data column (search spend, searches…).
    pub column: String,
    /// The spec channel that *is* the mediator, when it is a paid channel (its transforms are
    /// applied, and its own ROI is reported from the mediator's coefficient). Omit for an
    /// unpaid mediator (organic searches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Transforms of an unpaid mediator (ignored when `channel` is set).
    #[serde(default)]
    pub transforms: Vec<Box<dyn Transform>>,
    /// Names of the channels that drive the mediator.
    #[schemars(length(min = 1))]
    pub drivers: Vec<String>,
}

/// Bootstrap settings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BootstrapSpec {
    /// Number of resamples (0 turns the bootstrap off).
    #[serde(default = "default_resamples")]
    #[schemars(range(max = 100000))]
    pub resamples: u32,
    /// Block length in periods (default ⌈n^(1/3)⌉); 1 gives the i.i.d. bootstrap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub block_length: Option<u32>,
    /// Interval level (default 0.95).
    #[serde(default = "default_level")]
    #[schemars(extend("exclusiveMinimum" = 0.0, "exclusiveMaximum" = 1.0))]
    pub level: f64,
    /// How draws become an interval (default `expanded`: the percentile interval widened for
    /// small samples, see `docs/methods.md`; `percentile`: the plain percentile interval).
    #[serde(default)]
    pub interval: IntervalMethod,
    /// What is resampled (default `residuals`): `residuals`, moving blocks of the two stages'
    /// residual pairs (same blocks for both, each rescaled by `√(n/(n−p))`) around the point
    /// fit, the design held fixed (`M* = M̂ + u*`, `y* = ŷ(f_M(M*)) + e*`); `periods`, moving
    /// blocks of whole periods (pairs bootstrap). See `docs/methods.md` ("Bootstrap intervals").
    #[serde(default = "default_resample")]
    pub resample: ResampleScheme,
}

fn default_resample() -> ResampleScheme {
    ResampleScheme::Residuals
}

fn default_resamples() -> u32 {
    500
}
fn default_level() -> f64 {
    0.95
}

impl Default for BootstrapSpec {
    fn default() -> Self {
        BootstrapSpec {
            resamples: default_resamples(),
            block_length: None,
            level: default_level(),
            interval: IntervalMethod::default(),
            resample: default_resample(),
        }
    }
}

/// Two-stage mediation.
///
/// # Formula
/// ```text
/// stage 1:  M_t = Σ_j γ_j·z_tj + Σ_{i∈D} a_i·f_i(x_i)_t + u_t          (the mediator's spend)
/// stage 2:  y_t = Σ_j β_j·z_tj + Σ_i c_i·f_i(x_i)_t + b·m_t + ε_t
///           m_t = f_M(M)_t (observed)  or  f_M(M)_t − f_M(max(0, M̂))_t (residual)
/// M⁻ⁱ_t     = max(0, M_t − a_i·f_i(x_i)_t)                      (M without driver i's part)
/// I_it      = b·[f_M(M)_t − f_M(M⁻ⁱ)_t],   indirect_i = Σ_t I_it
/// observed: direct_i = c_i·Σ_t f_i(x_i)_t,  total_i = direct_i + indirect_i
/// residual: total_i  = c_i·Σ_t f_i(x_i)_t,  direct_i = total_i − indirect_i
/// share mediated_i = indirect_i / total_i
/// ```
/// where `z` are baseline and control columns, `D` the drivers, `f_i` a channel's transform
/// chain and `f_M` the mediator's (with what it learned on the observed `M`). Per unit of
/// `f_i(x_i)` (the reported coefficients) the paths are divided by `Σ_t f_i(x_i)_t`; per
/// dollar by the driver's spend `Σ_t x_it`. Intervals come from a moving-block bootstrap of
/// the two stages' residual pairs around the point fit (default) or of the periods (both
/// stages refitted on every resample, in parallel, seeded per resample; the counterfactuals of
/// each resample evaluated on every observed period).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mediated {
    /// The mediator and its drivers.
    pub mediator: MediatorSpec,
    /// How the mediator enters stage 2 (default `observed`).
    #[serde(default = "default_entry")]
    pub entry: MediatorEntry,
    /// Model of stage 1 (default: the spec's model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage1_model: Option<Box<dyn Model>>,
    /// Bootstrap for intervals.
    #[serde(default)]
    pub bootstrap: BootstrapSpec,
}

fn default_entry() -> MediatorEntry {
    MediatorEntry::Observed
}

/// A channel's (total, direct, indirect) effect per unit of its transformed spend.
type PathEffects = (f64, Option<f64>, Option<f64>);

/// Everything one fit of both stages yields.
struct TwoStage {
    stage1: Stage,
    stage2: Stage,
    /// Per spec channel: (total, direct, indirect) effect per unit of `Σ_t f_i(x_i)_t`.
    effects: Vec<PathEffects>,
    /// The mediator's split, evaluated on all periods.
    split: MediatorSplit,
}

/// The mediator: its spend `M` before its transforms, its chain `f_M` (learned on `M`) and
/// `f_M(M)`.
struct MediatorSeries {
    spend: Vec<f64>,
    chain: TransformChain,
    transformed: Vec<f64>,
}

/// The mediator's effect split into the parts its drivers induced and the rest, evaluated on
/// every period of the data (also for a bootstrap resample's coefficients).
struct MediatorSplit {
    /// `b·f_M(M)_t − Σ_i I_it` (observed entry) or `b·m_t` (residual entry): the mediator's
    /// own credit.
    credited: Vec<f64>,
    /// Observed entry: per driver, its effect per period `c_i·f_i(x_i)_t + I_it`.
    driver_effects: Vec<(usize, Vec<f64>)>,
    /// Mean of the exogenous spend `e_t = M_t − Σ_i a_i·f_i(x_i)_t`.
    exogenous_spend: f64,
    /// `Σ_i Σ_t I_it`.
    induced: f64,
    /// Per driver: `a_i`.
    a: Vec<(usize, f64)>,
    /// The stage-2 coefficient of the mediator.
    b: f64,
}

/// A residual-bootstrap world: the mediator's spend `M*` (and `f_M(M*)`) and the target `y*`
/// the two stages are refitted on (the counterfactuals stay on the observed mediator).
struct World {
    mediator: MediatorSeries,
    y: Vec<f64>,
}

/// What the two stages are fitted on.
#[derive(Clone, Copy)]
enum Sample<'a> {
    /// The data (the point estimate).
    Data,
    /// These rows of the data (pairs bootstrap).
    Periods(&'a [usize]),
    /// A residual-bootstrap world.
    Residuals(&'a World),
}

/// What one bootstrap resample yields.
struct Draw {
    effects: Vec<PathEffects>,
    credited: f64,
}

impl Mediated {
    fn channel_index(data: &ModelData, name: &str) -> Result<usize> {
        data.media
            .iter()
            .position(|m| m.name == name)
            .ok_or_else(|| {
                MmmError::param(
                    "/mediator",
                    format!(
                        "no channel named '{name}'; the channels are: {}",
                        data.media
                            .iter()
                            .map(|m| m.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }

    /// The mediator's spend `M`, its learned chain and `f_M(M)`: a paid mediator's spend and
    /// chain as its channel has them, an unpaid one's column through its own transforms.
    fn mediator_series(&self, data: &ModelData) -> Result<MediatorSeries> {
        if let Some(ch) = &self.mediator.channel {
            let i = Self::channel_index(data, ch)?;
            return Ok(MediatorSeries {
                spend: data.media[i].spend.clone(),
                chain: data.media[i].chain.clone(),
                transformed: data.transformed[i].clone(),
            });
        }
        let raw = data.table.numeric(&self.mediator.column)?;
        let mut chain = TransformChain(self.mediator.transforms.clone());
        let mut out = vec![0.0; raw.len()];
        let mut ws = ChainWorkspace::new(&chain, raw.len());
        chain.learn_apply(&raw, &mut out, &mut ws);
        Ok(MediatorSeries {
            spend: raw.to_vec(),
            chain,
            transformed: out,
        })
    }

    /// Fits both stages on the rows `rows` (all rows for the point estimate).
    fn fit_two_stage(
        &self,
        input: &CausalInput<'_>,
        drivers: &[usize],
        outcome_channels: &[usize],
        mediator_channel: Option<usize>,
        med: &MediatorSeries,
        sample: Sample<'_>,
    ) -> Result<TwoStage> {
        let data = input.data;
        let (rows, world) = match sample {
            Sample::Data => (None, None),
            Sample::Periods(r) => (Some(r), None),
            Sample::Residuals(w) => (None, Some(w)),
        };
        // what the stages are fitted on: the data, or a residual-bootstrap world
        let (fit_med, fit_y) = match world {
            Some(w) => (&w.mediator, w.y.as_slice()),
            None => (med, data.y.as_slice()),
        };
        let pick = |v: &[f64]| -> Vec<f64> {
            match rows {
                Some(r) => r.iter().map(|&i| v[i]).collect(),
                None => v.to_vec(),
            }
        };
        let select = |d: Design| -> Design {
            match rows {
                Some(r) => Design {
                    columns: d.columns,
                    x: d.x.select_rows(r.iter()),
                },
                None => d,
            }
        };
        let stage1_model: &dyn Model = self.stage1_model.as_deref().unwrap_or(input.model);
        let full1 = data.design(drivers, &[]);
        let d1 = select(full1.clone());
        let m_rows = pick(&fit_med.spend);
        let fit1 = stage1_model.fit(&FitProblem {
            design: &d1,
            y: &m_rows,
            media: &data.media,
            seed: input.seed,
            calibration: &[],
            geos: &[],
        })?;
        let a: Vec<(usize, f64)> = d1
            .columns
            .iter()
            .zip(&fit1.coefficients)
            .filter_map(|(c, k)| c.channel.map(|ch| (ch, k.estimate)))
            .collect();

        let n_all = med.spend.len();
        let mut ws = ChainWorkspace::new(&med.chain, n_all);
        let transform = |x: &[f64], ws: &mut ChainWorkspace| -> Vec<f64> {
            let mut out = vec![0.0; x.len()];
            med.chain.apply(x, &mut out, ws);
            out
        };
        // the mediator column on every period (adstock needs the whole series), then the rows
        let m_all: Vec<f64> = match self.entry {
            MediatorEntry::Observed => fit_med.transformed.clone(),
            MediatorEntry::Residual => {
                let beta1 = fit1.beta();
                let fitted: Vec<f64> = (0..n_all)
                    .map(|t| {
                        let v: f64 = (0..full1.x.ncols())
                            .map(|j| beta1[j] * full1.x[(t, j)])
                            .sum();
                        v.max(0.0)
                    })
                    .collect();
                let f_fitted = transform(&fitted, &mut ws);
                fit_med
                    .transformed
                    .iter()
                    .zip(&f_fitted)
                    .map(|(g, h)| g - h)
                    .collect()
            }
        };
        let m_values = pick(&m_all);
        let med_name = match self.entry {
            MediatorEntry::Observed => self
                .mediator
                .channel
                .clone()
                .unwrap_or_else(|| self.mediator.column.clone()),
            MediatorEntry::Residual => format!(
                "{}_residual",
                self.mediator
                    .channel
                    .as_deref()
                    .unwrap_or(&self.mediator.column)
            ),
        };
        let mut d2 = select(data.design(outcome_channels, &[]));
        let n = d2.x.nrows();
        let k = d2.x.ncols();
        d2.x = d2.x.insert_column(k, 0.0);
        for (t, v) in m_values.iter().enumerate().take(n) {
            d2.x[(t, k)] = *v;
        }
        d2.columns.push(Column {
            name: med_name,
            role: Role::Mediator,
            channel: None,
        });
        let y_rows = pick(fit_y);
        let fit2 = input.model.fit(&FitProblem {
            design: &d2,
            y: &y_rows,
            media: &data.media,
            seed: input.seed,
            calibration: &[],
            geos: &[],
        })?;
        let b = fit2.coefficients[k].estimate;

        // counterfactuals on every period: the mediator without each driver's induced spend
        let induced_by: Vec<(usize, Vec<f64>)> = a
            .iter()
            .map(|&(ch, a_i)| {
                let without: Vec<f64> = med
                    .spend
                    .iter()
                    .zip(&data.transformed[ch])
                    .map(|(m, f)| (m - a_i * f).max(0.0))
                    .collect();
                let g0 = transform(&without, &mut ws);
                let effect = med
                    .transformed
                    .iter()
                    .zip(&g0)
                    .map(|(g, h)| b * (g - h))
                    .collect();
                (ch, effect)
            })
            .collect();
        let c_of = |ch: usize| -> Option<f64> {
            d2.columns
                .iter()
                .position(|c| c.channel == Some(ch))
                .map(|j| fit2.coefficients[j].estimate)
        };

        let mut effects = vec![(0.0, None, None); data.media.len()];
        for &ch in outcome_channels {
            let Some(c) = c_of(ch) else { continue };
            let mass: f64 = data.transformed[ch].iter().sum();
            let indirect = induced_by
                .iter()
                .find(|(i, _)| *i == ch)
                .map(|(_, e)| e.iter().sum::<f64>());
            effects[ch] = match (indirect, self.entry) {
                (Some(ind), _) if mass == 0.0 || !ind.is_finite() => (c, Some(c), Some(0.0)),
                (Some(ind), MediatorEntry::Observed) => (c + ind / mass, Some(c), Some(ind / mass)),
                (Some(ind), MediatorEntry::Residual) => (c, Some(c - ind / mass), Some(ind / mass)),
                (None, _) => (c, Some(c), Some(0.0)),
            };
        }
        if let Some(mc) = mediator_channel {
            effects[mc] = (b, Some(b), Some(0.0));
        }

        let induced_t: Vec<f64> = (0..n_all)
            .map(|t| induced_by.iter().map(|(_, e)| e[t]).sum())
            .collect();
        let credited: Vec<f64> = match self.entry {
            MediatorEntry::Observed => med
                .transformed
                .iter()
                .zip(&induced_t)
                .map(|(g, i)| b * g - i)
                .collect(),
            MediatorEntry::Residual => m_all.iter().map(|m| b * m).collect(),
        };
        let driver_effects = match self.entry {
            MediatorEntry::Observed => induced_by
                .iter()
                .filter_map(|(ch, ind)| {
                    let c = c_of(*ch)?;
                    let f = &data.transformed[*ch];
                    Some((*ch, f.iter().zip(ind).map(|(f, i)| c * f + i).collect()))
                })
                .collect(),
            MediatorEntry::Residual => vec![],
        };
        let exogenous: f64 = (0..n_all)
            .map(|t| {
                med.spend[t]
                    - a.iter()
                        .map(|&(ch, a_i)| a_i * data.transformed[ch][t])
                        .sum::<f64>()
            })
            .sum();
        let split = MediatorSplit {
            credited,
            driver_effects,
            exogenous_spend: exogenous / n_all.max(1) as f64,
            induced: induced_t.iter().sum(),
            a,
            b,
        };
        let stage1 = Stage {
            name: self.mediator.column.clone(),
            y: m_rows,
            design: d1,
            fitted: fit1,
        };
        let stage2 = Stage {
            name: data.target_name.clone(),
            y: y_rows,
            design: d2,
            fitted: fit2,
        };
        Ok(TwoStage {
            stage1,
            stage2,
            effects,
            split,
        })
    }
}

impl Mediated {
    /// One column, one role: the mediator is not the date, the target, a control, or (unless
    /// it is that channel) a channel's spend.
    fn check_mediator_role(&self, spec: &dyn ExperimentColumns) -> Result<()> {
        let m = &self.mediator.column;
        let clash = |other: String| {
            Err(MmmError::param(
                "/mediator/column",
                format!(
                    "column '{m}' is already {other}; the mediator must be a column of its own"
                ),
            ))
        };
        if m.as_str() == spec.target() {
            return clash("the target (/data/target)".into());
        }
        if m.as_str() == spec.date() {
            return clash("the date (/data/date)".into());
        }
        if let Some(j) = spec.control_columns().iter().position(|c| *c == m.as_str()) {
            return clash(format!("a control (/controls/{j})"));
        }
        for (i, ch) in spec.channels().iter().enumerate() {
            if ch.spend == m.as_str() && self.mediator.channel.as_deref() != Some(ch.name) {
                return clash(format!(
                    "the spend of channel '{}' (/media/{i}/spend); to mediate through a paid \
                     channel set \"channel\": \"{}\"",
                    ch.name, ch.name
                ));
            }
        }
        Ok(())
    }
}

#[typetag::serde(name = "mediated")]
impl CausalStructure for Mediated {
    fn validate(&self, spec: &dyn ExperimentColumns) -> Result<()> {
        self.check_mediator_role(spec)?;
        let names: Vec<&str> = spec.channels().iter().map(|c| c.name).collect();
        for (i, d) in self.mediator.drivers.iter().enumerate() {
            if self.mediator.drivers[..i].contains(d) {
                return Err(MmmError::param(
                    format!("/mediator/drivers/{i}"),
                    format!("driver '{d}' is listed twice"),
                ));
            }
            if !names.contains(&d.as_str()) {
                return Err(MmmError::param(
                    format!("/mediator/drivers/{i}"),
                    format!(
                        "no channel named '{d}'; the channels are: {}",
                        names.join(", ")
                    ),
                ));
            }
            if Some(d) == self.mediator.channel.as_ref() {
                return Err(MmmError::param(
                    format!("/mediator/drivers/{i}"),
                    "the mediator cannot drive itself",
                ));
            }
        }
        if let Some(c) = &self.mediator.channel {
            if !names.contains(&c.as_str()) {
                return Err(MmmError::param(
                    "/mediator/channel",
                    format!(
                        "no channel named '{c}'; the channels are: {}",
                        names.join(", ")
                    ),
                ));
            }
        }
        for (j, t) in self.mediator.transforms.iter().enumerate() {
            t.validate()
                .map_err(|e| e.at(&format!("/mediator/transforms/{j}")))?;
        }
        if let Some(m) = &self.stage1_model {
            m.validate().map_err(|e| e.at("/stage1_model"))?;
        }
        if !(self.bootstrap.level > 0.0 && self.bootstrap.level < 1.0) {
            return Err(MmmError::param(
                "/bootstrap/level",
                "level must be in (0, 1)",
            ));
        }
        Ok(())
    }

    fn estimate(&self, input: &CausalInput<'_>) -> Result<CausalEstimate> {
        let data = input.data;
        let drivers: Vec<usize> = self
            .mediator
            .drivers
            .iter()
            .map(|d| Self::channel_index(data, d))
            .collect::<Result<_>>()?;
        let mediator_channel = match &self.mediator.channel {
            Some(c) => Some(Self::channel_index(data, c)?),
            None => None,
        };
        let outcome_channels: Vec<usize> = (0..data.media.len())
            .filter(|i| Some(*i) != mediator_channel)
            .collect();
        let med = self.mediator_series(data)?;
        let point = self.fit_two_stage(
            input,
            &drivers,
            &outcome_channels,
            mediator_channel,
            &med,
            Sample::Data,
        )?;

        let n = data.n_obs();
        let block = self
            .bootstrap
            .block_length
            .map(|b| b as usize)
            .unwrap_or_else(|| default_block_length(n));
        let p1 = point.stage1.design.x.ncols();
        let p2 = point.stage2.design.x.ncols();
        // the residual bootstrap's pieces: each stage's fitted values and centred residuals,
        // rescaled by √(n/(n−p)) (Davison & Hinkley 1997, eq. 6.9)
        let centred = |y: &[f64], f: &[f64], p: usize| -> Vec<f64> {
            let r: Vec<f64> = y.iter().zip(f).map(|(y, f)| y - f).collect();
            let mean = r.iter().sum::<f64>() / n.max(1) as f64;
            let scale = (n as f64 / (n.saturating_sub(p)).max(1) as f64).sqrt();
            r.iter().map(|e| scale * (e - mean)).collect()
        };
        let fitted1 = &point.stage1.fitted.fitted;
        let fitted2 = &point.stage2.fitted.fitted;
        let residual_world = self.bootstrap.resample == ResampleScheme::Residuals
            && fitted1.len() == n
            && fitted2.len() == n;
        let (u, e) = if residual_world {
            (
                centred(&med.spend, fitted1, p1),
                centred(&data.y, fitted2, p2),
            )
        } else {
            (vec![], vec![])
        };
        let b_hat = point.split.b;
        let world = |rows: &[usize]| -> World {
            let spend: Vec<f64> = (0..n).map(|t| (fitted1[t] + u[rows[t]]).max(0.0)).collect();
            let mut transformed = vec![0.0; n];
            let mut ws = ChainWorkspace::new(&med.chain, n);
            med.chain.apply(&spend, &mut transformed, &mut ws);
            let y = (0..n)
                .map(|t| fitted2[t] + b_hat * (transformed[t] - med.transformed[t]) + e[rows[t]])
                .collect();
            World {
                mediator: MediatorSeries {
                    spend,
                    chain: med.chain.clone(),
                    transformed,
                },
                y,
            }
        };
        let draws: Vec<Draw> = (0..self.bootstrap.resamples as u64)
            .into_par_iter()
            .filter_map(|b| {
                let rows = block_resample(n, block, input.seed, b);
                let w = residual_world.then(|| world(&rows));
                let sample = match &w {
                    Some(w) => Sample::Residuals(w),
                    None => Sample::Periods(&rows),
                };
                self.fit_two_stage(
                    input,
                    &drivers,
                    &outcome_channels,
                    mediator_channel,
                    &med,
                    sample,
                )
                .ok()
                .map(|s| Draw {
                    credited: s.split.credited.iter().sum(),
                    effects: s.effects,
                })
            })
            .collect();
        // residual degrees of freedom of the larger stage, for the small-sample expansion
        let p = p1.max(p2);
        let ci = BootstrapInterval::new(self.bootstrap.interval, self.bootstrap.level, n, p);
        let enough = draws.len() >= 20;
        let interval = |v: Vec<f64>, point: f64| enough.then(|| ci.interval(&v, point));
        let effects = point
            .effects
            .iter()
            .enumerate()
            .map(|(ch, (total, direct, indirect))| {
                let totals: Vec<f64> = draws.iter().map(|d| d.effects[ch].0).collect();
                let path = |k: usize, point: Option<f64>| {
                    point.and_then(|p| {
                        let v: Vec<f64> = draws
                            .iter()
                            .filter_map(|d| {
                                if k == 1 {
                                    d.effects[ch].1
                                } else {
                                    d.effects[ch].2
                                }
                            })
                            .collect();
                        (v.len() == draws.len())
                            .then_some(v)
                            .and_then(|v| interval(v, p))
                    })
                };
                let credit = (Some(ch) == mediator_channel).then(|| {
                    let contribution: f64 = point.split.credited.iter().sum();
                    Credit {
                        effect: point.split.credited.clone(),
                        contribution_interval: interval(
                            draws.iter().map(|d| d.credited).collect(),
                            contribution,
                        ),
                        induced_contribution: point.split.induced,
                    }
                });
                let is_mediator = Some(ch) == mediator_channel;
                ChannelEffect {
                    channel: ch,
                    total_coefficient: *total,
                    total_coefficient_interval: interval(totals.clone(), *total),
                    total_coefficient_draws: (!totals.is_empty()).then_some(totals),
                    direct_coefficient: *direct,
                    indirect_coefficient: *indirect,
                    direct_interval: path(1, *direct),
                    indirect_interval: if is_mediator {
                        None
                    } else {
                        path(2, *indirect)
                    },
                    credit,
                    effect: point
                        .split
                        .driver_effects
                        .iter()
                        .find(|(i, _)| *i == ch)
                        .map(|(_, e)| e.clone()),
                }
            })
            .collect();
        let mut stage2 = point.stage2;
        stage2
            .fitted
            .statistics
            .insert("bootstrap_resamples_used".into(), draws.len() as f64);
        Ok(CausalEstimate {
            stages: vec![point.stage1, stage2],
            effects,
            interval_level: self.bootstrap.level,
            mediator_exogenous: Some(point.split.credited),
            mediation: Some(MediationPaths {
                mediator: mediator_channel,
                chain: med.chain,
                b: point.split.b,
                drivers: point.split.a,
                exogenous_spend: point.split.exogenous_spend,
                drivers_carry_path: self.entry == MediatorEntry::Observed,
            }),
        })
    }
}

mmm_core::register!(
    KIND,
    Mediated,
    "mediated",
    "Two-stage mediation: drivers → mediator → target, with direct, indirect and total effects and block-bootstrap intervals",
    r#"{"mediator": {"column": "search_spend", "drivers": ["facebook"]}, "bootstrap": {"resamples": 200}}"#
);
