//! The `Optimizer` trait: allocates a budget across channels from their response curves.
//!
//! A [`ResponseCurves`] gives, for each channel, the expected KPI over the planning horizon as a
//! function of spend per period (steady state, carry-over counted) and its derivative (marginal
//! ROI). Optimizers see nothing else, so they work the same on any model or causal structure.
//!
//! With a planning window (`optimizer.window`, see [`crate::window`]) the curves are the
//! window's: a channel's spend is its total over the window, its response the incremental KPI
//! of that spend (carry-over in excluded, carry-over out included) and the horizon 1, so the
//! optimizers run unchanged and every amount they see or report is a window total.

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
    /// Number of periods in the planning horizon (1 for a planning window, whose spend is a
    /// total over the window).
    fn horizon(&self) -> usize;
    /// Money per unit of the KPI (`data.revenue_per_kpi`), when the KPI is not money; the
    /// ROAS of a plan is then `revenue_per_kpi · Σ response / (H · Σ spend)`.
    fn revenue_per_kpi(&self) -> Option<f64> {
        None
    }
    /// The unit of spend amounts, for messages: `per period`, or `over the window`.
    fn spend_unit(&self) -> &str {
        "per period"
    }
    /// For curves whose entries are channel × geo pairs (an optimizer's `geo_allocation`):
    /// the channel and the geo of entry `channel`; `None` (the default) for curves of whole
    /// channels. Bounds use it to apply per-geo entries; nothing else needs it.
    fn pair(&self, _channel: usize) -> Option<(&str, &str)> {
        None
    }
}

/// Curves with a revenue per KPI unit attached (everything else delegated).
pub struct Priced<'a> {
    /// The curves.
    pub curves: &'a dyn ResponseCurves,
    /// Money per unit of the KPI.
    pub revenue_per_kpi: Option<f64>,
}

impl ResponseCurves for Priced<'_> {
    fn n_channels(&self) -> usize {
        self.curves.n_channels()
    }
    fn name(&self, channel: usize) -> &str {
        self.curves.name(channel)
    }
    fn current_spend(&self, channel: usize) -> f64 {
        self.curves.current_spend(channel)
    }
    fn response(&self, channel: usize, spend: f64) -> f64 {
        self.curves.response(channel, spend)
    }
    fn marginal(&self, channel: usize, spend: f64) -> f64 {
        self.curves.marginal(channel, spend)
    }
    fn horizon(&self) -> usize {
        self.curves.horizon()
    }
    fn revenue_per_kpi(&self) -> Option<f64> {
        self.revenue_per_kpi
    }
    fn spend_unit(&self) -> &str {
        self.curves.spend_unit()
    }
    fn pair(&self, channel: usize) -> Option<(&str, &str)> {
        self.curves.pair(channel)
    }
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
    /// With a planning window: the plan's and the reference plan's figures over the window
    /// (spend, contribution in the window, carry-over in and out, incremental KPI, ROI, mROI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<crate::window::ChannelWindowPlan>,
}

/// One channel × geo of a plan allocated per geo (an optimizer's `geo_allocation`).
#[derive(Debug, Clone, Serialize)]
pub struct GeoChannelPlan {
    /// Channel name.
    pub channel: String,
    /// Geo name, as the data's geo column spells it.
    pub geo: String,
    /// Current spend per period: the geo's mean spend on the channel over the data.
    pub current_spend: f64,
    /// Optimal spend per period in this geo.
    pub optimal_spend: f64,
    /// Change in percent.
    pub change_pct: f64,
    /// The geo's expected contribution over the horizon at the optimal spend.
    pub expected_contribution: f64,
    /// Marginal ROI of the geo's spend at the optimal spend.
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
    /// With a planning window: its dates, the reference plan, totals and the plan per period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<crate::window::WindowReport>,
    /// With `geo_allocation`: the plan per channel × geo (channel order, then geo order);
    /// `channels` then holds each channel's national totals (sums over its geos).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo_plan: Option<Vec<GeoChannelPlan>>,
}

/// A budget optimizer.
#[typetag::serde(tag = "type")]
pub trait Optimizer: Send + Sync + Debug + dyn_clone::DynClone {
    /// Checks the parameters.
    fn validate(&self) -> Result<()>;
    /// Optimizes the allocation.
    fn optimize(&self, curves: &dyn ResponseCurves) -> Result<OptimizationResult>;
    /// The planning window, when the optimizer plans one (the curves it is given are then the
    /// window's, see [`crate::window::WindowCurves`]).
    fn window(&self) -> Option<&crate::window::PlanningWindow> {
        None
    }
    /// Whether the optimizer allocates every channel's budget across geos (`geo_allocation`):
    /// the engine then gives it curves whose entries are channel × geo pairs (see
    /// [`ResponseCurves::pair`]) and folds the plan back into national totals per channel.
    fn geo_allocation(&self) -> bool {
        false
    }
    /// Checks the settings that depend on the channels' names (bounds by channel, pair or
    /// geo) and current spends against `curves` before any fitting: the engine passes curves
    /// whose responses are not known yet (0), so only names, pairs and current spends count.
    /// The default checks nothing; [`Optimizer::optimize`] checks again.
    fn check_channels(&self, _curves: &dyn ResponseCurves) -> Result<()> {
        Ok(())
    }
}

dyn_clone::clone_trait_object!(Optimizer);
crate::plugin_kind_schema!(Optimizer, KIND, "Optimizer");
