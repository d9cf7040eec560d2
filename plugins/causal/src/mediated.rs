//! Two-stage mediation (seed 002): driver channels (social) raise a mediator (search), which
//! drives the target; drivers may also drive the target directly.
//!
//! Ref: Baron & Kenny (1986) product-of-coefficients; Imai, Keele & Tingley (2010) for the
//! linear-SEM identification assumptions (no unmeasured mediator–outcome confounding).

use crate::bootstrap::{block_resample, default_block_length, BootstrapInterval, IntervalMethod};
use mmm_core::causal::{
    CausalEstimate, CausalInput, CausalStructure, ChannelEffect, Credit, ExperimentColumns, Stage,
    KIND,
};
use mmm_core::dataset::ModelData;
use mmm_core::model::{Column, Design, FitProblem, Model, Role};
use mmm_core::transform::{ChainWorkspace, Transform, TransformChain};
use mmm_core::{MmmError, Result};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the mediator enters the outcome stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediatorEntry {
    /// The mediator as observed (transformed as its channel is): the drivers' coefficients in
    /// stage 2 are their *direct* effects.
    Observed,
    /// The mediator's residual from stage 1 (the seed's approach): the part of the mediator the
    /// drivers do not explain. The drivers' coefficients in stage 2 are then their *total*
    /// effects (exactly so for OLS: the residual design spans the same space).
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
        }
    }
}

/// Two-stage mediation.
///
/// # Formula
/// ```text
/// stage 1:  g(M)_t = Σ_j γ_j·z_tj + Σ_{i∈D} a_i·f_i(x_i)_t + u_t
/// stage 2:  y_t    = Σ_j β_j·z_tj + Σ_i c_i·f_i(x_i)_t + b·m_t + ε_t
///           m_t = g(M)_t (observed)  or  g(M)_t − ĝ(M)_t (residual)
/// observed: direct_i = c_i,          indirect_i = a_i·b,  total_i = c_i + a_i·b
/// residual: total_i  = c_i,          indirect_i = a_i·b,  direct_i = c_i − a_i·b
/// share mediated_i = indirect_i / total_i
/// ```
/// where `z` are baseline and control columns, `D` the drivers, `f_i` a channel's transform
/// chain and `g` the mediator's. Totals are per unit of `f_i(x_i)`: contribution and ROI follow
/// as in the direct structure. Intervals come from a moving-block bootstrap of the periods
/// (both stages refitted on every resample, in parallel, seeded per resample).
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

/// A channel's (total, direct, indirect) coefficient.
type PathEffects = (f64, Option<f64>, Option<f64>);

/// Everything one fit of both stages yields.
struct TwoStage {
    stage1: Stage,
    stage2: Stage,
    /// Per spec channel: (total, direct, indirect) coefficient.
    effects: Vec<PathEffects>,
    /// The mediator's split, evaluated on all periods.
    split: MediatorSplit,
}

/// The mediator's effect split into its exogenous part and the part its drivers induced,
/// evaluated on every period of the data (also for a bootstrap resample's coefficients).
struct MediatorSplit {
    /// `b·e_t` (observed entry) or `b·û_t` (residual entry): the mediator's own credit.
    credited: Vec<f64>,
    /// Mean of `e_t = g_t − Σ_i a_i·f_i(x_i)_t`.
    exogenous_level: f64,
    /// `b·Σ_i a_i·Σ_t f_i(x_i)_t`.
    induced: f64,
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

    /// The mediator as it enters the stages: `g(M)`.
    fn mediator_series(&self, data: &ModelData) -> Result<Vec<f64>> {
        if let Some(ch) = &self.mediator.channel {
            let i = Self::channel_index(data, ch)?;
            return Ok(data.transformed[i].clone());
        }
        let raw = data.table.numeric(&self.mediator.column)?;
        let mut chain = TransformChain(self.mediator.transforms.clone());
        let mut out = vec![0.0; raw.len()];
        let mut ws = ChainWorkspace::new(&chain, raw.len());
        chain.learn_apply(&raw, &mut out, &mut ws);
        Ok(out)
    }

    /// Fits both stages on the rows `rows` (all rows for the point estimate).
    fn fit_two_stage(
        &self,
        input: &CausalInput<'_>,
        drivers: &[usize],
        outcome_channels: &[usize],
        mediator_channel: Option<usize>,
        g: &[f64],
        rows: Option<&[usize]>,
    ) -> Result<TwoStage> {
        let data = input.data;
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
        let d1 = select(data.design(drivers, &[]));
        let g_rows = pick(g);
        let fit1 = stage1_model.fit(&FitProblem {
            design: &d1,
            y: &g_rows,
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

        let m_values: Vec<f64> = match self.entry {
            MediatorEntry::Observed => g_rows.clone(),
            MediatorEntry::Residual => g_rows
                .iter()
                .zip(&fit1.fitted)
                .map(|(a, b)| a - b)
                .collect(),
        };
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
        let y_rows = pick(&data.y);
        let fit2 = input.model.fit(&FitProblem {
            design: &d2,
            y: &y_rows,
            media: &data.media,
            seed: input.seed,
            calibration: &[],
            geos: &[],
        })?;
        let b = fit2.coefficients[k].estimate;

        let mut effects = vec![(0.0, None, None); data.media.len()];
        for (j, col) in d2.columns.iter().enumerate() {
            if let Some(ch) = col.channel {
                let c = fit2.coefficients[j].estimate;
                let a_i = a.iter().find(|(i, _)| *i == ch).map(|(_, v)| *v);
                effects[ch] = match (a_i, self.entry) {
                    (Some(a_i), MediatorEntry::Observed) => (c + a_i * b, Some(c), Some(a_i * b)),
                    (Some(a_i), MediatorEntry::Residual) => (c, Some(c - a_i * b), Some(a_i * b)),
                    (None, _) => (c, Some(c), Some(0.0)),
                };
            }
        }
        if let Some(mc) = mediator_channel {
            effects[mc] = (b, Some(b), Some(0.0));
        }
        let split = self.split(data, &d1.columns, &fit1.beta(), drivers, b, g);
        let stage1 = Stage {
            name: self.mediator.column.clone(),
            y: g_rows,
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

    /// The mediator's split on every period, from the stage-1 coefficients `beta1` (on the
    /// columns `columns1` of the stage-1 design) and the stage-2 mediator coefficient `b`.
    fn split(
        &self,
        data: &ModelData,
        columns1: &[Column],
        beta1: &[f64],
        drivers: &[usize],
        b: f64,
        g: &[f64],
    ) -> MediatorSplit {
        let n = g.len();
        let full1 = data.design(drivers, &[]);
        let mut induced_t = vec![0.0; n];
        let mut fitted_t = vec![0.0; n];
        for (j, (col, k)) in columns1.iter().zip(beta1).enumerate() {
            for t in 0..n {
                let v = k * full1.x[(t, j)];
                fitted_t[t] += v;
                if col.channel.is_some() {
                    induced_t[t] += v;
                }
            }
        }
        let exogenous: Vec<f64> = g.iter().zip(&induced_t).map(|(g, i)| g - i).collect();
        let credited = match self.entry {
            MediatorEntry::Observed => exogenous.iter().map(|e| b * e).collect(),
            MediatorEntry::Residual => g.iter().zip(&fitted_t).map(|(g, f)| b * (g - f)).collect(),
        };
        MediatorSplit {
            credited,
            exogenous_level: exogenous.iter().sum::<f64>() / n.max(1) as f64,
            induced: b * induced_t.iter().sum::<f64>(),
        }
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
        let g = self.mediator_series(data)?;
        let point = self.fit_two_stage(
            input,
            &drivers,
            &outcome_channels,
            mediator_channel,
            &g,
            None,
        )?;

        let n = data.n_obs();
        let block = self
            .bootstrap
            .block_length
            .map(|b| b as usize)
            .unwrap_or_else(|| default_block_length(n));
        let draws: Vec<Draw> = (0..self.bootstrap.resamples as u64)
            .into_par_iter()
            .filter_map(|b| {
                let rows = block_resample(n, block, input.seed, b);
                self.fit_two_stage(
                    input,
                    &drivers,
                    &outcome_channels,
                    mediator_channel,
                    &g,
                    Some(&rows),
                )
                .ok()
                .map(|s| Draw {
                    credited: s.split.credited.iter().sum(),
                    effects: s.effects,
                })
            })
            .collect();
        // residual degrees of freedom of the larger stage, for the small-sample expansion
        let p = point
            .stage2
            .design
            .x
            .ncols()
            .max(point.stage1.design.x.ncols());
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
                        exogenous_level: point.split.exogenous_level,
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
