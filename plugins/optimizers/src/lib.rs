//! Built-in budget optimizer plugins of mmm.
//!
//! - [`max_response::MaxResponse`] (`max_response`): the most KPI for a fixed budget.
//! - [`target_efficiency::TargetEfficiency`] (`target_efficiency`): the most efficient budget
//!   (best ROI, least budget for a KPI target, or spend down to a marginal-ROI threshold).
//! - [`scenarios::Scenarios`] (`scenarios`): a sweep of total budgets.
//!
//! Budgets and bounds are per period, in the units of the current spend. The shared solver is in
//! [`solver`]; [`testing`] has analytic Hill curves for tests and benchmarks.
#![deny(missing_docs)]

pub mod bounds;
pub mod max_response;
pub mod plan;
pub mod scenarios;
pub mod solver;
pub mod target_efficiency;
pub mod testing;
