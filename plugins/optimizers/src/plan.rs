//! Turning an allocation into an [`OptimizationResult`], and the allocation step shared by the
//! optimizers (bounds → solve).

use crate::bounds::{self, ChannelBounds};
use crate::solver::{self, Solution};
use mmm_core::optimizer::{ChannelPlan, OptimizationResult, ResponseCurves};
use mmm_core::Result;
use serde_json::{json, Map, Value};

/// Current spend per period of every channel.
pub fn current(curves: &dyn ResponseCurves) -> Vec<f64> {
    (0..curves.n_channels())
        .map(|i| curves.current_spend(i))
        .collect()
}

/// Return on investment of a plan: `Σ response / (horizon · Σ spend)` (same units as the
/// marginal ROI; with a planning window, incremental KPI over the window's spend); `None`
/// when nothing is spent.
pub fn roi(curves: &dyn ResponseCurves, spend: &[f64]) -> Option<f64> {
    let total: f64 = spend.iter().sum();
    (total > 0.0)
        .then(|| solver::objective(curves, spend) / (total * curves.horizon().max(1) as f64))
}

/// Percent change from `from` to `to` (`None` when `from` is 0 and `to` is not).
pub fn pct(from: f64, to: f64) -> Option<f64> {
    if from != 0.0 {
        Some((to - from) / from.abs() * 100.0)
    } else if to == 0.0 {
        Some(0.0)
    } else {
        None
    }
}

/// Return on ad spend of a plan: `revenue_per_kpi · ROI`, or the ROI itself when the KPI is
/// money (no `revenue_per_kpi`); `None` when nothing is spent.
pub fn roas(curves: &dyn ResponseCurves, spend: &[f64]) -> Option<f64> {
    roi(curves, spend).map(|r| r * curves.revenue_per_kpi().unwrap_or(1.0))
}

/// `{channel: spend}` as JSON.
pub fn spend_map(curves: &dyn ResponseCurves, spend: &[f64]) -> Value {
    let mut m = Map::new();
    for (i, s) in spend.iter().enumerate() {
        m.insert(curves.name(i).to_string(), json!(s));
    }
    Value::Object(m)
}

/// The best allocation of `budget` per period under `bounds` (one entry per channel).
///
/// # Errors
/// [`mmm_core::MmmError::Infeasible`] when the bounds cannot sum to the budget.
pub fn allocate(
    curves: &dyn ResponseCurves,
    bounds: &[&ChannelBounds],
    budget: f64,
) -> Result<(Solution, bounds::Resolved)> {
    let r = bounds::resolve(bounds, curves, budget)?;
    let sol = solver::solve(curves, &r.lo, &r.hi, budget);
    Ok((sol, r))
}

/// Which bound each channel sits at (`{channel: "min (…)"}`), for `details.binding`.
pub fn binding(curves: &dyn ResponseCurves, spend: &[f64], r: &bounds::Resolved) -> Value {
    let mut m = Map::new();
    for (i, &s) in spend.iter().enumerate() {
        let tol = 1e-9
            * (r.hi[i] - r.lo[i])
                .abs()
                .max(1e-9 * r.hi[i].abs())
                .max(1e-300);
        // a channel cut to 0 sits at its lower bound too ("min: spend ≥ 0")
        let at = if s <= r.lo[i] + tol {
            Some(format!("min: {}", r.lo_why[i]))
        } else if s >= r.hi[i] - tol {
            Some(format!("max: {}", r.hi_why[i]))
        } else {
            None
        };
        if let Some(a) = at {
            m.insert(curves.name(i).to_string(), Value::String(a));
        }
    }
    Value::Object(m)
}

/// The result for allocation `spend`.
pub fn result(
    curves: &dyn ResponseCurves,
    objective: &str,
    spend: &[f64],
    details: Value,
) -> OptimizationResult {
    let cur = current(curves);
    let channels: Vec<ChannelPlan> = (0..curves.n_channels())
        .map(|i| ChannelPlan {
            name: curves.name(i).to_string(),
            current_spend: cur[i],
            optimal_spend: spend[i],
            change_pct: pct(cur[i], spend[i]).unwrap_or(f64::NAN),
            expected_contribution: curves.response(i, spend[i]),
            mroi: curves.marginal(i, spend[i]),
            window: None,
        })
        .collect();
    let kc = solver::objective(curves, &cur);
    let ko = solver::objective(curves, spend);
    let mut details = details;
    let scenarios = details.as_object_mut().and_then(|o| o.remove("scenarios"));
    OptimizationResult {
        objective: objective.to_string(),
        total_budget: spend.iter().sum(),
        channels,
        expected_kpi_current: kc,
        expected_kpi_optimal: ko,
        lift_pct: pct(kc, ko).unwrap_or(f64::NAN),
        scenarios,
        details,
        window: None,
        geo_plan: None,
    }
}
