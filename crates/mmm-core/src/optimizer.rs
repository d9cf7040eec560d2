//! The `Optimizer` trait: allocates a budget across channels from their response curves.
//!
//! A [`ResponseCurves`] gives, for each channel, the expected KPI over the planning horizon as a
//! function of spend per period (steady state, carry-over counted) and its derivative (marginal
//! ROI). Optimizers see nothing else, so they work the same on any model or causal structure.

use crate::error::Result;
use serde::Serialize;
use std::fmt::Debug;

/// The plugin kind name of optimizers.
pub const KIND: &str = "optimizer";

/// Response curves of every channel.
pub trait ResponseCurves: Sync {
    /// Number of channels.
    fn n_channels(&self) -> usize;
    /// Channel name.
    fn name(&self, channel: usize) -> &str;
    /// Current spend per period.
    fn current_spend(&self, channel: usize) -> f64;
    /// Expected KPI over the horizon when the channel spends `spend` per period.
    fn response(&self, channel: usize, spend: f64) -> f64;
    /// Derivative of [`ResponseCurves::response`] in total horizon spend (marginal ROI).
    fn marginal(&self, channel: usize, spend: f64) -> f64;
    /// Number of periods in the planning horizon.
    fn horizon(&self) -> usize;
}

/// One channel of an optimized plan.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelPlan {
    /// Channel name.
    pub name: String,
    /// Current spend per period.
    pub current_spend: f64,
    /// Optimal spend per period.
    pub optimal_spend: f64,
    /// Change in percent.
    pub change_pct: f64,
    /// Expected contribution over the horizon at the optimal spend.
    pub expected_contribution: f64,
    /// Marginal ROI at the optimal spend.
    pub mroi: f64,
}

/// The result of an optimizer.
#[derive(Debug, Clone, Serialize)]
pub struct OptimizationResult {
    /// What was optimized.
    pub objective: String,
    /// Total budget per period of the plan.
    pub total_budget: f64,
    /// Per-channel plan.
    pub channels: Vec<ChannelPlan>,
    /// Expected media-driven KPI at current spend.
    pub expected_kpi_current: f64,
    /// Expected media-driven KPI at the optimal plan.
    pub expected_kpi_optimal: f64,
    /// Lift in percent.
    pub lift_pct: f64,
    /// A budget sweep, one row per level: `total_budget`, `expected_kpi`, `roi`, per-channel
    /// `spend` (sweeping optimizers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenarios: Option<serde_json::Value>,
    /// Extra, optimizer-specific results (budget cut, ROI gain, method…).
    pub details: serde_json::Value,
}

/// A budget optimizer.
#[typetag::serde(tag = "type")]
pub trait Optimizer: Send + Sync + Debug + dyn_clone::DynClone {
    /// Checks the parameters.
    fn validate(&self) -> Result<()>;
    /// Optimizes the allocation.
    fn optimize(&self, curves: &dyn ResponseCurves) -> Result<OptimizationResult>;
}

dyn_clone::clone_trait_object!(Optimizer);
crate::plugin_kind_schema!(Optimizer, KIND, "Optimizer");
