//! The `CausalStructure` trait: turns the spec's channels and controls into one or more model
//! stages, and reports each channel's effect and contribution.
//!
//! Every structure built so far is linear in each channel's transformed spend `f_i(x_i)` once the
//! stages are composed, so a channel's expected KPI is `m_i · Σ_t f_i(x_i)_t` with a *total
//! coefficient* `m_i` (the channel's own coefficient in a direct structure; direct plus
//! indirect paths in a mediated one). Response curves, marginal ROI and budget optimizers use
//! `m_i` and the channel's transform chain.

use crate::dataset::ModelData;
use crate::error::Result;
use crate::model::{Design, FittedModel, Model};
use crate::spec::ExperimentSpec;
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
}

impl CausalEstimate {
    /// The stage that explains the target (the last one).
    pub fn outcome_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }
}

/// A causal structure.
#[typetag::serde(tag = "type")]
pub trait CausalStructure: Send + Sync + Debug + dyn_clone::DynClone {
    /// Checks the structure against the spec (the channels it names exist…).
    fn validate(&self, spec: &ExperimentSpec) -> Result<()>;
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
