//! The `CausalStructure` trait: turns the spec's channels and controls into one or more model
//! stages, and reports each channel's effect and contribution.
//!
//! A direct structure is linear in each channel's transformed spend `f_i(x_i)`, so a channel's
//! expected KPI is `m_i · Σ_t f_i(x_i)_t` with a *total coefficient* `m_i`, and response curves,
//! marginal ROI and budget optimizers use `m_i` and the channel's transform chain.
//!
//! A mediated structure is not: a driver moves the mediator's *spend*, which the mediator's own
//! chain transforms, so a driver's effect per period is a series ([`ChannelEffect::effect`]),
//! its `m_i` the effective coefficient `contribution_i / Σ_t f_i(x_i)_t`, and the curves follow
//! the mediation paths ([`MediationPaths`]). A mediator's own effect is partly induced by its
//! drivers; that part is credited to them and the mediator keeps the rest ([`Credit`]), so that
//! channel contributions sum to the model's media effect.

use crate::dataset::ModelData;
use crate::error::Result;
use crate::model::{Design, FittedModel, Model};
use crate::transform::TransformChain;
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
    /// Total coefficient `m_i` on the channel's transformed spend (see module docs); for a
    /// channel with an [`effect`](ChannelEffect::effect) series, the effective coefficient
    /// `Σ_t effect_t / Σ_t f_i(x_i)_t`.
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
    /// spend its drivers partly induced (see [`Credit`]).
    pub credit: Option<Credit>,
    /// The channel's effect per period in KPI units when it is not `m_i·f_i(x_i)_t`: a
    /// mediated driver's direct effect plus what it induces through the mediator's chain
    /// (see [`MediationPaths`]). `None` for a mediator (see `credit`) and every linear effect.
    pub effect: Option<Vec<f64>>,
}

/// The credit of a channel other channels drive (a mediator): only the part of its effect its
/// drivers did not induce, so that contributions partition the media effect.
///
/// # Formula
/// ```text
/// M_t = γ'z_t + Σ_{i∈D} a_i·f_i(x_i)_t + u_t           (stage 1, the mediator's spend M)
/// M⁻ⁱ_t = max(0, M_t − a_i·f_i(x_i)_t)                  (M without driver i's induced spend)
/// induced by i   I_it = b·[f_M(M)_t − f_M(M⁻ⁱ)_t]        (credited to driver i)
/// credited       b·f_M(M)_t − Σ_{i∈D} I_it  (observed entry),  b·r_t  (residual entry)
/// ```
#[derive(Debug, Clone)]
pub struct Credit {
    /// The channel's credited effect per period, in KPI units; its sum is the contribution.
    pub effect: Vec<f64>,
    /// Interval of the contribution `Σ_t effect_t` at the reported level, when defined.
    pub contribution_interval: Option<(f64, f64)>,
    /// The effect its drivers induced through it, `Σ_{i∈D} Σ_t I_it` (already in the drivers'
    /// contributions).
    pub induced_contribution: f64,
}

/// The paths of a mediated structure, for response curves and optimizers: moving driver `i`'s
/// spend moves its transformed spend `f_i`, which moves the mediator's spend by `a_i` per unit
/// (stage 1), which the mediator's chain `f_M` transforms into the target (stage 2, `b`).
///
/// # Formula
/// ```text
/// steady state at spends s:  M̄(s) = ē + Σ_{i∈D} a_i·F_i(s_i),   F = f(s·1)_∞
/// effect per period          Σ_i c_i·F_i(s_i) + b·F_M(M̄(s))
/// ```
/// with `ē` the mean exogenous mediator spend `(1/n)·Σ_t (M_t − Σ_i a_i·f_i(x_i)_t)`.
#[derive(Debug, Clone)]
pub struct MediationPaths {
    /// The mediator's index in the spec's media, when it is a paid channel.
    pub mediator: Option<usize>,
    /// The mediator's chain `f_M`, with what it learned on the observed mediator.
    pub chain: TransformChain,
    /// The stage-2 coefficient `b` of the transformed mediator.
    pub b: f64,
    /// Per driver: its index in the spec's media and `a_i`, mediator spend per unit of `f_i`.
    pub drivers: Vec<(usize, f64)>,
    /// Mean exogenous mediator spend per period `ē`.
    pub exogenous_spend: f64,
    /// Whether the drivers' curves carry the path through the mediator (observed entry; with
    /// the residual entry a driver's stage-2 coefficient is already its total).
    pub drivers_carry_path: bool,
}

impl ChannelEffect {
    /// The channel's effect in period `t`, given its transformed spend series: the credited
    /// effect when the structure gives one, `m_i·f_i(x_i)_t` otherwise.
    pub fn effect_at(&self, transformed: &[f64], t: usize) -> f64 {
        match (&self.credit, &self.effect) {
            (Some(c), _) => c.effect[t],
            (None, Some(e)) => e[t],
            (None, None) => self.total_coefficient * transformed[t],
        }
    }

    /// The channel's contribution `Σ_t effect_t` (see [`ChannelEffect::effect_at`]).
    pub fn contribution(&self, transformed: &[f64]) -> f64 {
        match (&self.credit, &self.effect) {
            (Some(c), _) => c.effect.iter().sum(),
            (None, Some(e)) => e.iter().sum(),
            (None, None) => self.total_coefficient * transformed.iter().sum::<f64>(),
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
    /// The mediation paths, for curves and optimizers; `None` without a mediator.
    pub mediation: Option<MediationPaths>,
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
