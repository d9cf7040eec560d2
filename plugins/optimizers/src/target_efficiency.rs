//! Efficiency goals: the best ROI, the least budget for a KPI target, or spend down to a
//! marginal-ROI threshold.
//!
//! Ref: seed 000's "ROI optimization" (cut the budget 60% while ROI rose 113%), Robyn's
//! `target_efficiency` scenario (target ROAS / CPA), and the classic profit rule
//! "spend until marginal ROI = 1".

use crate::bounds::{channel_interval, Bounds, ChannelBounds};
use crate::plan;
use crate::solver::{self, Solution};
use mmm_core::optimizer::{OptimizationResult, Optimizer, ResponseCurves, KIND};
use mmm_core::window::PlanningWindow;
use mmm_core::{MmmError, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What "efficient" means.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Goal {
    /// Highest total ROI `Σ response / (H·Σ spend)` over total budgets between
    /// `min_budget_multiple` and 1.0 times the current total.
    MaxRoi,
    /// Least total budget whose optimal allocation reaches this expected KPI over the horizon.
    TargetKpi(f64),
    /// Spend on each channel until its marginal ROI falls to this threshold (e.g. 1.0).
    MinMroi(f64),
    /// Largest total budget whose optimal allocation keeps the plan's total ROAS — revenue
    /// (`revenue_per_kpi ·` KPI, or the KPI itself when it is money) over spend — at or above
    /// this target.
    TargetRoas(f64),
    /// Largest total budget whose optimal allocation keeps the cost per KPI unit (spend / KPI,
    /// e.g. cost per acquisition for a conversion KPI) at or below this target.
    TargetCpa(f64),
}

/// Finds the most efficient budget and its allocation.
///
/// # Formula
/// ```text
/// V(B)       = max { Σ_i r_i(s_i) : Σ_i s_i = B, lo_i ≤ s_i ≤ hi_i }        (as max_response)
/// max_roi:     B* = argmax_{B ∈ [m·C, C]} V(B) / (H·B)                    (grid + golden section)
/// target_kpi:  B* = min { B : V(B) ≥ K }                                  (bisection, V non-decreasing)
/// min_mroi:    s_i* = argmax_{lo_i ≤ s ≤ hi_i} r_i(s) − θ·H·s,  so r_i'(s_i*)/H = θ when interior
/// target_roas: B* = max { B ≤ M·C : ρ·V(B)/(H·B) ≥ X }                 (grid of 41, then bisection)
/// target_cpa:  B* = max { B ≤ M·C : H·B/V(B) ≤ X }   = target_roas with ρ = 1, X → 1/X
/// ```
/// where `C` is the current total per period, `m` is `min_budget_multiple`, `M` is
/// `max_budget_multiple`, `H` the horizon, `K` the KPI target, `θ` the marginal-ROI threshold,
/// `ρ` the revenue per KPI unit (1 when the KPI is money) and `X` the ROAS or CPA target.
/// With a planning window, `H = 1` and every amount is a total over the window.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetEfficiency {
    /// "max_roi", {"target_kpi": kpi over the horizon}, {"min_mroi": threshold},
    /// {"target_roas": revenue per unit of spend} or {"target_cpa": spend per KPI unit}.
    pub goal: Goal,
    /// Per-channel spend bounds per period (share bounds are not allowed with min_mroi).
    #[serde(default)]
    pub bounds: Bounds,
    /// Smallest total budget max_roi considers, as a multiple of current (default 0.1).
    #[serde(default = "default_min_multiple")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_budget_multiple: f64,
    /// Largest total budget target_kpi, target_roas and target_cpa (and, per channel, min_mroi)
    /// consider, as a multiple of the current total (default 10).
    #[serde(default = "default_max_multiple")]
    #[schemars(range(min = 0.0))]
    pub max_budget_multiple: f64,
    /// Planning window: {"start": date, "end": date} (future, on the model's grid) or
    /// {"last": N} (the last N periods of history), optional "reference" and "pattern"; every
    /// amount is then a total over the window. Default: steady state per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<PlanningWindow>,
    /// Allocate every channel's budget across geos (joint geo fits only, `"geo":
    /// "hierarchical"`): every channel × geo is its own decision variable (named "channel / geo"
    /// in bounds and details) under the national total budget, and `bounds.geos` bounds geos.
    /// Default false: every geo keeps its current share of its channel's budget.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub geo_allocation: bool,
}

fn default_min_multiple() -> f64 {
    0.1
}

fn default_max_multiple() -> f64 {
    10.0
}

/// Sums of the channel minimums and maximums for total budget `b`.
fn sums(per: &[&ChannelBounds], cur: &[f64], b: f64) -> (f64, f64) {
    per.iter().zip(cur).fold((0.0, 0.0), |(l, h), (bd, &c)| {
        let (lo, _, hi, _) = channel_interval(bd, c, Some(b), b);
        (l + lo, h + hi)
    })
}

/// Smallest `b ∈ [a, z]` with `Σ lo(b) ≤ b` and largest with `Σ hi(b) ≥ b` (bisection).
fn feasible_range(per: &[&ChannelBounds], cur: &[f64], a: f64, z: f64) -> Option<(f64, f64)> {
    let ok_lo = |b: f64| sums(per, cur, b).0 <= b * (1.0 + 1e-12) + 1e-12;
    let ok_hi = |b: f64| sums(per, cur, b).1 >= b * (1.0 - 1e-12) - 1e-12;
    let bisect = |mut x: f64, mut y: f64, good_at_y: bool, f: &dyn Fn(f64) -> bool| {
        // invariant: f(x) != good_at_y side … returns the boundary on the good side
        for _ in 0..200 {
            let m = 0.5 * (x + y);
            if f(m) == good_at_y {
                y = m;
            } else {
                x = m;
            }
            if (y - x).abs() <= 1e-13 * y.abs().max(1e-300) {
                break;
            }
        }
        y
    };
    let lo = if ok_lo(a) {
        a
    } else if ok_lo(z) {
        bisect(a, z, true, &ok_lo)
    } else {
        return None;
    };
    let hi = if ok_hi(z) {
        z
    } else if ok_hi(lo) {
        bisect(z, lo, true, &ok_hi)
    } else {
        return None;
    };
    (lo <= hi).then_some((lo, hi))
}

/// Golden-section search for the maximum of `f` on `[x, y]`, to `tol`: `(argmax, max)` of the
/// points it evaluated (the ends excluded) and the midpoint of the final bracket.
fn golden_max(f: &dyn Fn(f64) -> f64, mut x: f64, mut y: f64, tol: f64) -> (f64, f64) {
    let phi = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = y - phi * (y - x);
    let mut d = x + phi * (y - x);
    let (mut fc, mut fd) = (f(c), f(d));
    let mut best = if fc > fd { (c, fc) } else { (d, fd) };
    for _ in 0..60 {
        if y - x <= tol {
            break;
        }
        if fc > fd {
            y = d;
            d = c;
            fd = fc;
            c = y - phi * (y - x);
            fc = f(c);
            if fc > best.1 {
                best = (c, fc);
            }
        } else {
            x = c;
            c = d;
            fc = fd;
            d = x + phi * (y - x);
            fd = f(d);
            if fd > best.1 {
                best = (d, fd);
            }
        }
    }
    let mid = 0.5 * (x + y);
    let fm = f(mid);
    if fm > best.1 {
        (mid, fm)
    } else {
        best
    }
}

/// `x` with 4 significant digits (for messages).
fn sig(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}

/// The efficiency a target is stated in: ROAS (at least `X`) or CPA (at most `X`).
#[derive(Debug, Clone, Copy)]
enum Efficiency {
    Roas { target: f64, revenue_per_kpi: f64 },
    Cpa { target: f64 },
}

impl Efficiency {
    /// The ROI (KPI per unit of spend) the target means.
    fn roi_threshold(self) -> f64 {
        match self {
            Efficiency::Roas {
                target,
                revenue_per_kpi,
            } => target / revenue_per_kpi,
            Efficiency::Cpa { target } => 1.0 / target,
        }
    }
    /// The ROI in the target's units.
    fn of_roi(self, roi: f64) -> f64 {
        match self {
            Efficiency::Roas {
                revenue_per_kpi, ..
            } => revenue_per_kpi * roi,
            Efficiency::Cpa { .. } => 1.0 / roi,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Efficiency::Roas { .. } => "roas",
            Efficiency::Cpa { .. } => "cpa",
        }
    }
}

impl TargetEfficiency {
    /// The largest total budget whose optimal allocation keeps ROI ≥ the target's threshold
    /// (see [`TargetEfficiency`]): ROI at 41 budgets from the smallest feasible one to the
    /// search limit; the largest that meets the target and the next above it bracket the
    /// crossing, found by bisection. When no budget meets it, the error names the best
    /// efficiency (golden section around the best grid point) and its budget.
    fn target_efficiency(
        &self,
        curves: &dyn ResponseCurves,
        per: &[&ChannelBounds],
        current_total: f64,
        eff: Efficiency,
    ) -> Result<(Solution, Value)> {
        let cur = plan::current(curves);
        let h = curves.horizon().max(1) as f64;
        let unit = curves.spend_unit().to_string();
        let goal = format!("target_{}", eff.name());
        let ceiling = self.max_budget_multiple * current_total;
        let Some((a, z)) = feasible_range(per, &cur, 0.0, ceiling).filter(|r| r.1 > 0.0) else {
            return Err(MmmError::Infeasible(format!(
                "{goal}: no positive total budget up to {ceiling} {unit} (max_budget_multiple = \
                 {} × current {current_total}) satisfies the channel bounds",
                self.max_budget_multiple
            )));
        };
        let theta = eff.roi_threshold();
        let roi_at = |b: f64| -> Option<(Solution, f64)> {
            if b <= 0.0 {
                return None;
            }
            let (sol, _) = plan::allocate(curves, per, b).ok()?;
            let roi = sol.objective / (h * b);
            Some((sol, roi))
        };
        let lo = a.max(1e-9 * z);
        const K: usize = 40;
        let grid: Vec<f64> = (0..=K)
            .map(|k| lo + (z - lo) * k as f64 / K as f64)
            .collect();
        let vals: Vec<f64> = grid
            .iter()
            .map(|&b| roi_at(b).map_or(f64::NEG_INFINITY, |x| x.1))
            .collect();
        let Some(k) = (0..=K).rev().find(|&k| vals[k] >= theta) else {
            let mut k = 0;
            for q in 1..=K {
                if vals[q] > vals[k] {
                    k = q;
                }
            }
            let f = |b: f64| roi_at(b).map_or(f64::NEG_INFINITY, |v| v.1);
            let (x, y) = (grid[k.saturating_sub(1)], grid[(k + 1).min(K)]);
            let (mut best_b, mut best) = golden_max(&f, x, y, 1e-9 * z);
            if vals[k] >= best {
                (best_b, best) = (grid[k], vals[k]);
            }
            let (what, target) = match eff {
                Efficiency::Roas { target, .. } => ("ROAS", target),
                Efficiency::Cpa { target } => ("a CPA as low as", target),
            };
            let at = if best_b <= lo * (1.0 + 1e-6) {
                "as the budget goes to 0 (the return of the first unit)".to_string()
            } else {
                format!("at budget {} {unit}", sig(best_b))
            };
            return Err(MmmError::Infeasible(format!(
                "{goal}: no budget reaches {what} {target}; the best achievable is {} {at} \
                 (searched up to {} = max_budget_multiple {} × current {}, within the channel \
                 bounds)",
                sig(eff.of_roi(best)),
                sig(z),
                self.max_budget_multiple,
                sig(current_total)
            )));
        };
        let info = |b: f64, roi: f64, at_limit: bool| {
            json!({
                "search_range": [lo, z],
                goal.clone(): match eff {
                    Efficiency::Roas { target, .. } | Efficiency::Cpa { target } => target,
                },
                format!("{}_optimal", eff.name()): eff.of_roi(roi),
                "revenue_per_kpi": curves.revenue_per_kpi(),
                "at_search_limit": at_limit,
                "budget": b,
            })
        };
        if k == K {
            let (sol, roi) = roi_at(z).ok_or_else(|| {
                MmmError::Compute(format!("{goal}: the search limit is not feasible"))
            })?;
            return Ok((sol, info(z, roi, true)));
        }
        let (mut x, mut y) = (grid[k], grid[k + 1]);
        let (mut best, mut best_roi) = roi_at(x)
            .ok_or_else(|| MmmError::Compute(format!("{goal}: a feasible budget failed")))?;
        for _ in 0..100 {
            if y - x <= 1e-12 * y.max(1e-300) {
                break;
            }
            let m = 0.5 * (x + y);
            match roi_at(m) {
                Some((s, r)) if r >= theta => {
                    x = m;
                    best = s;
                    best_roi = r;
                }
                _ => y = m,
            }
        }
        Ok((best, info(x, best_roi, false)))
    }

    fn max_roi(
        &self,
        curves: &dyn ResponseCurves,
        per: &[&ChannelBounds],
        current_total: f64,
    ) -> Result<(Solution, Value)> {
        let cur = plan::current(curves);
        let h = curves.horizon().max(1) as f64;
        let floor = self.min_budget_multiple * current_total;
        let Some((a, z)) = feasible_range(per, &cur, floor, current_total) else {
            return Err(MmmError::Infeasible(format!(
                "max_roi: no total budget between {floor} and the current {current_total} per \
                 period satisfies the channel bounds"
            )));
        };
        let roi_at = |b: f64| -> Option<(Solution, f64)> {
            if b <= 0.0 {
                return None;
            }
            let (sol, _) = plan::allocate(curves, per, b).ok()?;
            let roi = sol.objective / (h * b);
            Some((sol, roi))
        };
        const K: usize = 40;
        let grid: Vec<f64> = (0..=K).map(|k| a + (z - a) * k as f64 / K as f64).collect();
        let vals: Vec<f64> = grid
            .iter()
            .map(|&b| roi_at(b).map_or(f64::NEG_INFINITY, |x| x.1))
            .collect();
        let mut k = 0;
        for q in 1..=K {
            if vals[q] > vals[k] {
                k = q;
            }
        }
        if !vals[k].is_finite() {
            return Err(MmmError::Infeasible(format!(
                "max_roi: no positive total budget between {a} and {z} per period is feasible"
            )));
        }
        let (x, y) = (grid[k.saturating_sub(1)], grid[(k + 1).min(K)]);
        let f = |b: f64| roi_at(b).map_or(f64::NEG_INFINITY, |v| v.1);
        let (mut best_b, mut best) = (grid[k], vals[k]);
        let (g, fg) = golden_max(&f, x, y, 1e-9 * z.max(1e-300));
        if fg > best {
            best_b = g;
            best = fg;
        }
        let (sol, _) = roi_at(best_b)
            .ok_or_else(|| MmmError::Compute("max_roi: the best budget is not feasible".into()))?;
        let info = json!({
            "search_range": [a, z],
            "at_search_floor": (best_b - a).abs() <= 1e-6 * z.max(1e-300) && a > 0.0,
            "roi_best": best,
        });
        Ok((sol, info))
    }

    fn target_kpi(
        &self,
        curves: &dyn ResponseCurves,
        per: &[&ChannelBounds],
        current_total: f64,
        target: f64,
    ) -> Result<(Solution, Value)> {
        let cur = plan::current(curves);
        let ceiling = self.max_budget_multiple * current_total;
        let Some((a, z)) = feasible_range(per, &cur, 0.0, ceiling) else {
            return Err(MmmError::Infeasible(format!(
                "target_kpi: no total budget up to {ceiling} per period (max_budget_multiple = {} × \
                 current {current_total}) satisfies the channel bounds",
                self.max_budget_multiple
            )));
        };
        let top = plan::allocate(curves, per, z)?.0;
        if top.objective < target {
            return Err(MmmError::Infeasible(format!(
                "target_kpi = {target} is unreachable: the best plan at the largest budget \
                 considered, {z} per period (max_budget_multiple = {} × current {current_total}, \
                 within the channel maximums), reaches {}",
                self.max_budget_multiple, top.objective
            )));
        }
        let bottom = plan::allocate(curves, per, a)?.0;
        if bottom.objective >= target {
            return Ok((
                bottom,
                json!({"search_range": [a, z], "target_kpi": target}),
            ));
        }
        let (mut x, mut y, mut best) = (a, z, top);
        for _ in 0..100 {
            if y - x <= 1e-11 * y.max(1e-300) {
                break;
            }
            let m = 0.5 * (x + y);
            let s = plan::allocate(curves, per, m)?.0;
            if s.objective >= target {
                y = m;
                best = s;
            } else {
                x = m;
            }
        }
        Ok((best, json!({"search_range": [a, z], "target_kpi": target})))
    }

    fn min_mroi(
        &self,
        curves: &dyn ResponseCurves,
        per: &[&ChannelBounds],
        current_total: f64,
        theta: f64,
    ) -> Result<(Solution, Value)> {
        let cap = self.max_budget_multiple * current_total;
        let n = curves.n_channels();
        let mut spend = Vec::with_capacity(n);
        let mut capped = Vec::new();
        for (i, b) in per.iter().enumerate() {
            let (lo, lw, hi, hw) = channel_interval(b, curves.current_spend(i), None, cap);
            if lo > hi * (1.0 + 1e-12) + 1e-12 {
                return Err(MmmError::Infeasible(format!(
                    "channel '{}': its minimum spend {lo} per period ({lw}) is above its maximum \
                     {hi} ({hw})",
                    curves.name(i)
                )));
            }
            let s = solver::best_net(curves, i, lo, hi.max(lo), theta);
            if b.max.is_none() && b.max_change.is_none() && s >= hi && curves.marginal(i, s) > theta
            {
                capped.push(curves.name(i).to_string());
            }
            spend.push(s);
        }
        let objective = solver::objective(curves, &spend);
        let sol = Solution {
            spend,
            objective,
            method: solver::Method::EqualMarginal,
        };
        Ok((
            sol,
            json!({"min_mroi": theta, "search_limit_per_channel": cap, "capped_at_search_limit": capped}),
        ))
    }
}

#[typetag::serde(name = "target_efficiency")]
impl Optimizer for TargetEfficiency {
    fn validate(&self) -> Result<()> {
        match self.goal {
            Goal::TargetKpi(k) if !k.is_finite() => {
                return Err(MmmError::param(
                    "/goal/target_kpi",
                    format!("target_kpi = {k} must be finite"),
                ))
            }
            Goal::MinMroi(t) if !t.is_finite() || t < 0.0 => {
                return Err(MmmError::param(
                    "/goal/min_mroi",
                    format!("min_mroi = {t} must be a finite number ≥ 0"),
                ))
            }
            Goal::TargetRoas(x) if !(x.is_finite() && x > 0.0) => {
                return Err(MmmError::param(
                    "/goal/target_roas",
                    format!(
                        "target_roas = {x} must be a positive number (revenue per unit of spend)"
                    ),
                ))
            }
            Goal::TargetCpa(x) if !(x.is_finite() && x > 0.0) => {
                return Err(MmmError::param(
                    "/goal/target_cpa",
                    format!("target_cpa = {x} must be a positive number (spend per KPI unit)"),
                ))
            }
            Goal::MinMroi(_) if self.bounds.has_shares() => {
                return Err(MmmError::param(
                    "/bounds",
                    "min_share/max_share need a fixed total budget, and goal min_mroi has none; \
                     use min/max or min_change/max_change",
                ))
            }
            _ => {}
        }
        if !(0.0..=1.0).contains(&self.min_budget_multiple) {
            return Err(MmmError::param(
                "/min_budget_multiple",
                format!(
                    "min_budget_multiple = {} must be in [0, 1]",
                    self.min_budget_multiple
                ),
            ));
        }
        if !(self.max_budget_multiple.is_finite() && self.max_budget_multiple >= 0.0) {
            return Err(MmmError::param(
                "/max_budget_multiple",
                format!(
                    "max_budget_multiple = {} must be a finite number ≥ 0",
                    self.max_budget_multiple
                ),
            ));
        }
        if let Some(w) = &self.window {
            w.validate("/window")?;
        }
        crate::bounds::validate_geo_allocation(self.geo_allocation, self.window.is_some())?;
        self.bounds.validate("/bounds")
    }

    fn window(&self) -> Option<&PlanningWindow> {
        self.window.as_ref()
    }

    fn geo_allocation(&self) -> bool {
        self.geo_allocation
    }

    fn check_channels(&self, curves: &dyn ResponseCurves) -> Result<()> {
        self.bounds.per_channel(curves, "/bounds").map(|_| ())
    }

    fn optimize(&self, curves: &dyn ResponseCurves) -> Result<OptimizationResult> {
        self.validate()?;
        let owned = self.bounds.per_channel(curves, "/bounds")?;
        let per: Vec<&ChannelBounds> = owned.iter().collect();
        let cur = plan::current(curves);
        let current_total: f64 = cur.iter().sum();
        let (sol, info, name) = match self.goal {
            Goal::MaxRoi => {
                let (s, i) = self.max_roi(curves, &per, current_total)?;
                (s, i, "max_roi")
            }
            Goal::TargetKpi(k) => {
                let (s, i) = self.target_kpi(curves, &per, current_total, k)?;
                (s, i, "target_kpi")
            }
            Goal::MinMroi(t) => {
                let (s, i) = self.min_mroi(curves, &per, current_total, t)?;
                (s, i, "min_mroi")
            }
            Goal::TargetRoas(x) => {
                let eff = Efficiency::Roas {
                    target: x,
                    revenue_per_kpi: curves.revenue_per_kpi().unwrap_or(1.0),
                };
                let (s, i) = self.target_efficiency(curves, &per, current_total, eff)?;
                (s, i, "target_roas")
            }
            Goal::TargetCpa(x) => {
                let (s, i) = self.target_efficiency(
                    curves,
                    &per,
                    current_total,
                    Efficiency::Cpa { target: x },
                )?;
                (s, i, "target_cpa")
            }
        };
        let total: f64 = sol.spend.iter().sum();
        let roi_cur = plan::roi(curves, &cur);
        let roi_opt = plan::roi(curves, &sol.spend);
        let roi_gain = match (roi_cur, roi_opt) {
            (Some(a), Some(b)) => plan::pct(a, b),
            _ => None,
        };
        let details = json!({
            "goal": name,
            "method": sol.method.name(),
            "total_budget_current": current_total,
            "total_budget_optimal": total,
            "budget_cut": current_total - total,
            "budget_cut_pct": plan::pct(current_total, total).map(|p| -p),
            "roi_current": roi_cur,
            "roi_optimal": roi_opt,
            "roi_gain_pct": roi_gain,
            "roas_current": plan::roas(curves, &cur),
            "roas_optimal": plan::roas(curves, &sol.spend),
            "search": info,
        });
        Ok(plan::result(
            curves,
            &format!("target_efficiency:{name}"),
            &sol.spend,
            details,
        ))
    }
}

mmm_core::register!(
    KIND,
    TargetEfficiency,
    "target_efficiency",
    "Most efficient budget: best ROI, least budget for a KPI target, or spend to a marginal-ROI threshold",
    r#"{"goal": "max_roi", "bounds": {"default": {"min_change": -0.9, "max_change": 0.5}}}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::HillCurves;
    use mmm_core::optimizer::ResponseCurves;

    fn curves() -> HillCurves {
        // S-shaped curves with an interior best ROI
        HillCurves::new(
            &[
                (300.0, 400.0, 100.0, 2.0),
                (200.0, 200.0, 80.0, 1.8),
                (100.0, 100.0, 50.0, 2.5),
            ],
            12,
        )
    }

    fn parse(v: Value) -> TargetEfficiency {
        let o: TargetEfficiency = serde_json::from_value(v).unwrap();
        o.validate().unwrap();
        o
    }

    #[test]
    fn example_runs() {
        let d = mmm_core::registry::find(KIND, "target_efficiency").unwrap();
        let o: Box<dyn Optimizer> = serde_json::from_value(d.tagged_example().unwrap()).unwrap();
        o.validate().unwrap();
        let r = o.optimize(&curves()).unwrap();
        assert!(r.details["roi_optimal"].as_f64() >= r.details["roi_current"].as_f64());
    }

    #[test]
    fn max_roi_beats_every_budget_on_a_grid() {
        let c = curves();
        let r = parse(json!({"goal": "max_roi"})).optimize(&c).unwrap();
        let best = r.details["roi_optimal"].as_f64().unwrap();
        assert!(r.total_budget < 600.0);
        for k in 1..=100 {
            let b = 60.0 + 540.0 * k as f64 / 100.0;
            let d = ChannelBounds::default();
            let per = vec![&d; 3];
            let (s, _) = plan::allocate(&c, &per, b).unwrap();
            assert!(
                s.objective / (12.0 * b) <= best * (1.0 + 1e-9),
                "budget {b}"
            );
        }
        let cut = r.details["budget_cut"].as_f64().unwrap();
        assert!((cut - (600.0 - r.total_budget)).abs() < 1e-9);
        assert!(r.details["budget_cut_pct"].as_f64().unwrap() > 0.0);
        assert!(r.details["roi_gain_pct"].as_f64().unwrap() > 0.0);
    }

    #[test]
    fn max_roi_concave_stops_at_floor() {
        let c = HillCurves::new(&[(100.0, 50.0, 80.0, 1.0), (100.0, 30.0, 200.0, 0.7)], 4);
        let r = parse(json!({"goal": "max_roi", "min_budget_multiple": 0.25}))
            .optimize(&c)
            .unwrap();
        assert!((r.total_budget - 50.0).abs() < 1e-6, "{}", r.total_budget);
        assert_eq!(r.details["search"]["at_search_floor"], true);
    }

    #[test]
    fn target_kpi_is_the_least_budget() {
        let c = curves();
        let d = ChannelBounds::default();
        let per = vec![&d; 3];
        let target = 0.8 * plan::allocate(&c, &per, 600.0).unwrap().0.objective;
        let r = parse(json!({"goal": {"target_kpi": target}}))
            .optimize(&c)
            .unwrap();
        assert!(r.expected_kpi_optimal >= target - 1e-9);
        let less = plan::allocate(&c, &per, r.total_budget * (1.0 - 1e-6))
            .unwrap()
            .0;
        assert!(less.objective < target);
    }

    #[test]
    fn target_kpi_unreachable() {
        let c = curves();
        let e = parse(json!({"goal": {"target_kpi": 1e9}}))
            .optimize(&c)
            .unwrap_err();
        assert!(matches!(e, MmmError::Infeasible(_)));
        assert!(e.to_string().contains("unreachable"), "{e}");
        let e = parse(json!({"goal": {"target_kpi": 1e4}, "bounds": {"default": {"max": 10.0}}}))
            .optimize(&c)
            .unwrap_err();
        assert!(e.to_string().contains("30"), "{e}");
    }

    #[test]
    fn min_mroi_equalizes_marginals_at_threshold() {
        let c = curves();
        let r = parse(
            json!({"goal": {"min_mroi": 1.0}, "bounds": {"channels": {"c2": {"max": 40.0}}}}),
        )
        .optimize(&c)
        .unwrap();
        for p in &r.channels[..2] {
            assert!((p.mroi - 1.0).abs() < 1e-8, "{p:?}");
        }
        // c2 is capped at 40: on [0, 40] its S-curve never pays back, so it stops; the net
        // gain r(s) − θ·H·s of every channel beats a fine grid
        assert_eq!(r.channels[2].optimal_spend, 0.0);
        for (i, p) in r.channels.iter().enumerate() {
            let net = |s: f64| c.response(i, s) - 12.0 * s;
            let top = if i == 2 { 40.0 } else { 6000.0 };
            let grid = (0..=60_000)
                .map(|k| net(top * k as f64 / 60_000.0))
                .fold(f64::MIN, f64::max);
            assert!(net(p.optimal_spend) >= grid - 1e-9, "{p:?}");
        }
        let r = parse(
            json!({"goal": {"min_mroi": 1.0}, "bounds": {"channels": {"c2": {"max": 70.0}}}}),
        )
        .optimize(&c)
        .unwrap();
        assert!((r.channels[2].mroi - 1.0).abs() < 1e-8 || r.channels[2].optimal_spend == 70.0);
        // concave case
        let c = HillCurves::new(&[(100.0, 50.0, 80.0, 1.0), (100.0, 30.0, 200.0, 0.7)], 4);
        let r = parse(json!({"goal": {"min_mroi": 0.1}}))
            .optimize(&c)
            .unwrap();
        for p in &r.channels {
            assert!((p.mroi - 0.1).abs() < 1e-9, "{p:?}");
        }
    }

    #[test]
    fn min_mroi_rejects_shares_and_bad_values() {
        let o: TargetEfficiency = serde_json::from_value(
            json!({"goal": {"min_mroi": 1.0}, "bounds": {"default": {"max_share": 0.5}}}),
        )
        .unwrap();
        assert!(o.validate().unwrap_err().to_string().contains("/bounds"));
        let o: TargetEfficiency =
            serde_json::from_value(json!({"goal": {"min_mroi": -1.0}})).unwrap();
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("/goal/min_mroi"));
        assert!(serde_json::from_value::<TargetEfficiency>(json!({"goal": "max_rio"})).is_err());
    }

    /// Two identical Michaelis–Menten channels, `r(s) = H·β·s/(s + K)`: the plan's ROI at `s`
    /// per channel is `β/(s + K)`, so ROAS `X` is reached at `s* = β/X − K` each.
    #[test]
    fn target_roas_matches_the_closed_form() {
        let c = HillCurves::new(&[(100.0, 50.0, 80.0, 1.0), (100.0, 50.0, 80.0, 1.0)], 10);
        let x = 0.25; // s* = 50/0.25 − 80 = 120 per channel
        let r = parse(json!({"goal": {"target_roas": x}}))
            .optimize(&c)
            .unwrap();
        assert!((r.total_budget - 240.0).abs() < 1e-6, "{}", r.total_budget);
        let roas = r.details["roas_optimal"].as_f64().unwrap();
        assert!(roas >= x && roas - x < 1e-9, "{roas}");
        assert_eq!(r.details["search"]["target_roas"], x);
        assert_eq!(r.details["search"]["at_search_limit"], false);
        // a slightly larger budget falls below the target
        let d = ChannelBounds::default();
        let per = vec![&d; 2];
        let more = plan::allocate(&c, &per, r.total_budget * 1.001).unwrap().0;
        assert!(more.objective / (10.0 * r.total_budget * 1.001) < x);
        // the same target in money: revenue 2 per KPI unit halves the ROI needed
        let priced = mmm_core::optimizer::Priced {
            curves: &c,
            revenue_per_kpi: Some(2.0),
        };
        let r = parse(json!({"goal": {"target_roas": 2.0 * x}}))
            .optimize(&priced)
            .unwrap();
        assert!((r.total_budget - 240.0).abs() < 1e-6, "{}", r.total_budget);
        // CPA 4 = ROI 1/4
        let r = parse(json!({"goal": {"target_cpa": 4.0}}))
            .optimize(&c)
            .unwrap();
        assert!((r.total_budget - 240.0).abs() < 1e-6, "{}", r.total_budget);
        let cpa = r.details["search"]["cpa_optimal"].as_f64().unwrap();
        assert!(cpa <= 4.0 && 4.0 - cpa < 1e-8, "{cpa}");
    }

    /// S-shaped curves: the answer is the largest budget on a fine grid whose best allocation
    /// keeps ROAS at the target.
    #[test]
    fn target_roas_is_the_largest_budget_on_a_fine_grid() {
        let c = curves();
        let d = ChannelBounds::default();
        let per = vec![&d; 3];
        let roi = |b: f64| plan::allocate(&c, &per, b).unwrap().0.objective / (12.0 * b);
        let best = parse(json!({"goal": "max_roi"})).optimize(&c).unwrap();
        let peak = best.details["roi_optimal"].as_f64().unwrap();
        let x = 0.6 * peak;
        let r = parse(json!({"goal": {"target_roas": x}}))
            .optimize(&c)
            .unwrap();
        assert!(roi(r.total_budget) >= x);
        let top = (1..=2000)
            .map(|k| 6000.0 * k as f64 / 2000.0)
            .filter(|&b| roi(b) >= x)
            .fold(0.0, f64::max);
        assert!(
            r.total_budget >= top && r.total_budget <= top + 3.0 + 1e-9,
            "{} vs grid {top}",
            r.total_budget
        );
        assert!(roi(r.total_budget * 1.001) < x);
    }

    #[test]
    fn target_roas_unreachable_names_the_best() {
        let c = HillCurves::new(&[(100.0, 50.0, 80.0, 1.0), (100.0, 50.0, 80.0, 1.0)], 10);
        // the best ROI is β/K = 0.625 at a vanishing budget
        let e = parse(json!({"goal": {"target_roas": 1.0}}))
            .optimize(&c)
            .unwrap_err();
        assert!(matches!(e, MmmError::Infeasible(_)), "{e}");
        let s = e.to_string();
        assert!(
            s.contains("no budget reaches ROAS 1;") && s.contains("the best achievable is 0.62"),
            "{s}"
        );
        // a target every budget meets stops at the search limit and says so
        let r = parse(json!({"goal": {"target_roas": 0.01}}))
            .optimize(&c)
            .unwrap();
        assert!((r.total_budget - 2000.0).abs() < 1e-6, "{}", r.total_budget);
        assert_eq!(r.details["search"]["at_search_limit"], true);
        for (v, ptr) in [
            (json!({"goal": {"target_roas": 0.0}}), "/goal/target_roas"),
            (json!({"goal": {"target_cpa": -1.0}}), "/goal/target_cpa"),
        ] {
            let o: TargetEfficiency = serde_json::from_value(v).unwrap();
            assert!(o.validate().unwrap_err().to_string().contains(ptr));
        }
    }
}
