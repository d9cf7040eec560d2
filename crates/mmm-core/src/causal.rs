//! The `CausalStructure` trait: turns the spec's channels and controls into one or more model
//! stages, and reports each channel's effect and contribution.
//!
//! Every structure built so far is linear in each channel's transformed spend `f_i(x_i)` once the
//! stages are composed, so a channel's expected KPI is `m_i · Σ_t f_i(x_i)_t` with a *total
//! coefficient* `m_i` (the channel's own coefficient in a direct structure; direct plus
//! indirect paths in a mediated one). Response curves, marginal ROI and budget optimizers use
//! `m_i` and the channel's transform chain.
//!
//! A mediator's own effect is partly induced by its drivers; that part is credited to them
//! (it is in their `m_i`) and the mediator keeps only its exogenous part ([`Credit`]), so that
//! channel contributions sum to the model's media effect.

use crate::dataset::ModelData;
use crate::error::Result;
use crate::model::{Design, FittedModel, Model};
use std::fmt::Debug;

/// The plugin kind name of causal structures.
pub const KIND: &str = "causal";

/// What a causal structure is given.
#[derive(Debug, Clone, Copy)]
pub struct CausalInput<'a> {
    /// The assembled data (target, baseline, controls, media with their chains).
    pub data: &'a ModelData,
    /// The model from the spec (a structure may use it for every stage, or its own).
    pub model: &'a dyn Model,
    /// Seed for random choices (bootstrap).
    pub seed: u64,
}

/// One fitted stage of a structure.
#[derive(Debug, Clone)]
pub struct Stage {
    /// What the stage explains (`"revenue"`, `"google_spend"`…).
    pub name: String,
    /// The stage's target.
    pub y: Vec<f64>,
    /// The stage's design.
    pub design: Design,
    /// The fitted model.
    pub fitted: FittedModel,
}

/// A channel's estimated effect.
#[derive(Debug, Clone)]
pub struct ChannelEffect {
    /// Channel index in the spec's media.
    pub channel: usize,
    /// Total coefficient `m_i` on the channel's transformed spend (see module docs).
    pub total_coefficient: f64,
    /// Draws of `m_i` (posterior or bootstrap), when the structure has them.
    pub total_coefficient_draws: Option<Vec<f64>>,
    /// Interval of `m_i` at the reported level, when defined.
    pub total_coefficient_interval: Option<(f64, f64)>,
    /// Direct part of the effect (same units as `m_i`), for structures with paths.
    pub direct_coefficient: Option<f64>,
    /// Indirect part of the effect (through mediators), for structures with paths.
    pub indirect_coefficient: Option<f64>,
    /// Interval of `direct_coefficient` at the reported level (bootstrap), when defined.
    pub direct_interval: Option<(f64, f64)>,
    /// Interval of `indirect_coefficient` at the reported level (bootstrap), when defined.
    pub indirect_interval: Option<(f64, f64)>,
    /// The channel's own credit when it differs from `m_i·f_i(x_i)_t`: a mediator whose
    /// transformed spend its drivers partly induced (see [`Credit`]).
    pub credit: Option<Credit>,
}

/// The credit of a channel other channels drive (a mediator): only the part of its effect its
/// drivers did not induce, so that contributions partition the media effect.
///
/// # Formula
/// ```text
/// g_t = γ'z_t + Σ_{i∈D} a_i·f_i(x_i)_t + u_t                   (stage 1, transformed mediator)
/// exogenous level   e_t = g_t − Σ_{i∈D} a_i·f_i(x_i)_t
/// credited effect   b·e_t (mediator observed in stage 2),  b·û_t (residual entry)
/// induced by i      b·a_i·f_i(x_i)_t                           (credited to driver i)
/// ```
#[derive(Debug, Clone)]
pub struct Credit {
    /// The channel's credited effect per period, in KPI units; its sum is the contribution.
    pub effect: Vec<f64>,
    /// Interval of the contribution `Σ_t effect_t` at the reported level, when defined.
    pub contribution_interval: Option<(f64, f64)>,
    /// Mean per period of the exogenous transformed level `e_t`: the mediator's own lever,
    /// inverted through its chain into an exogenous spend for response curves and optimizers.
    pub exogenous_level: f64,
    /// The effect its drivers induced through it, `b·Σ_i a_i·Σ_t f_i(x_i)_t` (already in the
    /// drivers' contributions).
    pub induced_contribution: f64,
}

impl ChannelEffect {
    /// The channel's effect in period `t`, given its transformed spend series: the credited
    /// effect when the structure gives one, `m_i·f_i(x_i)_t` otherwise.
    pub fn effect_at(&self, transformed: &[f64], t: usize) -> f64 {
        match &self.credit {
            Some(c) => c.effect[t],
            None => self.total_coefficient * transformed[t],
        }
    }

    /// The channel's contribution `Σ_t effect_t` (see [`ChannelEffect::effect_at`]).
    pub fn contribution(&self, transformed: &[f64]) -> f64 {
        match &self.credit {
            Some(c) => c.effect.iter().sum(),
            None => self.total_coefficient * transformed.iter().sum::<f64>(),
        }
    }
}

/// What a causal structure returns.
#[derive(Debug, Clone)]
pub struct CausalEstimate {
    /// The stages, the last explaining the target.
    pub stages: Vec<Stage>,
    /// One effect per spec channel, in spec order.
    pub effects: Vec<ChannelEffect>,
    /// Interval level of every reported interval.
    pub interval_level: f64,
    /// Per period, the part of the outcome stage's mediator column credited to the mediator
    /// itself (its exogenous effect); the rest of the column, induced by its drivers, is in
    /// their columns of the decomposition. `None` for structures without a mediator.
    pub mediator_exogenous: Option<Vec<f64>>,
}

impl CausalEstimate {
    /// The stage that explains the target (the last one).
    pub fn outcome_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }
}

/// The columns of an experiment that a causal structure checks itself against
/// ([`CausalStructure::validate`]): the target, the date, the controls and the channels. The
/// experiment spec of the data layer implements it (`mmm_data::spec::ExperimentSpec`).
pub trait ExperimentColumns {
    /// The target column (`/data/target`).
    fn target(&self) -> &str;
    /// The date column (`/data/date`).
    fn date(&self) -> &str;
    /// The column of every control, in spec order (`/controls/<j>`).
    fn control_columns(&self) -> Vec<&str>;
    /// Every channel's name and spend column, in spec order (`/media/<i>`).
    fn channels(&self) -> Vec<ChannelColumns<'_>>;
}

/// A channel as [`ExperimentColumns`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelColumns<'a> {
    /// The channel's name (`/media/<i>/name`).
    pub name: &'a str,
    /// Its spend column (`/media/<i>/spend`).
    pub spend: &'a str,
}

/// A causal structure.
#[typetag::serde(tag = "type")]
pub trait CausalStructure: Send + Sync + Debug + dyn_clone::DynClone {
    /// Checks the structure against the spec (the channels it names exist…).
    fn validate(&self, spec: &dyn ExperimentColumns) -> Result<()>;
    /// Fits the stages and reports every channel's effect.
    fn estimate(&self, input: &CausalInput<'_>) -> Result<CausalEstimate>;
    /// Whether the structure is one stage of the target on every regressor and channel with
    /// each channel's effect its own coefficient; tuning then uses its allocation-free fast path.
    fn is_single_stage(&self) -> bool {
        false
    }
}

dyn_clone::clone_trait_object!(CausalStructure);
crate::plugin_kind_schema!(CausalStructure, KIND, "CausalStructure");
