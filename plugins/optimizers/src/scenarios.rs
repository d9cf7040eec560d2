//! Budget scenarios: the optimal allocation at each of several total budgets.
//!
//! Ref: seed 004's scenario analysis (90%, 100%, 110%, 120% and 150% of the current budget,
//! each optimized with min 5% / max 60% per channel); Robyn's and Meridian's budget sweeps.

use crate::bounds::{Bounds, ChannelBounds};
use crate::plan;
use mmm_core::optimizer::{OptimizationResult, Optimizer, ResponseCurves, KIND};
use mmm_core::window::PlanningWindow;
use mmm_core::{MmmError, Result};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The total budgets of a sweep, per period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Levels {
    /// Multiples of the current total spend (1.0 = current); at most 1000 levels.
    MultiplesOfCurrent(#[schemars(length(max = 1000))] Vec<f64>),
    /// Total budgets per period (over the window with a planning window); at most 1000 levels.
    Totals(#[schemars(length(max = 1000))] Vec<f64>),
}

impl Default for Levels {
    fn default() -> Self {
        Levels::MultiplesOfCurrent(vec![0.9, 1.0, 1.1, 1.2, 1.5])
    }
}

/// Optimizes the allocation at each total budget of a sweep.
///
/// # Formula
/// ```text
/// for each level B_l:   maximize Σ_i r_i(s_i)  s.t.  Σ_i s_i = B_l,  lo_i(B_l) ≤ s_i ≤ hi_i(B_l)
/// roi_l = Σ_i r_i(s_i) / (H·B_l)
/// ```
/// as in `max_response` (share bounds scale with each level). The main result fields describe
/// the level 1.0 of `multiples_of_current` when present and feasible, else the first feasible
/// level; every level is in `scenarios`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenarios {
    /// Budgets to sweep: {"multiples_of_current": [...]} (default [0.9, 1, 1.1, 1.2, 1.5]) or
    /// {"totals": [...]} per period (over the window with a planning window).
    #[serde(default)]
    pub levels: Levels,
    /// Per-channel spend bounds per period, applied at every level.
    #[serde(default)]
    pub bounds: Bounds,
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

impl Scenarios {
    fn values(&self) -> (&[f64], &'static str) {
        match &self.levels {
            Levels::MultiplesOfCurrent(v) => (v, "multiples_of_current"),
            Levels::Totals(v) => (v, "totals"),
        }
    }
}

#[typetag::serde(name = "scenarios")]
impl Optimizer for Scenarios {
    fn validate(&self) -> Result<()> {
        let (v, key) = self.values();
        if v.is_empty() || v.len() > 10_000 {
            return Err(MmmError::param(
                format!("/levels/{key}"),
                format!("{key} needs between 1 and 10000 levels, found {}", v.len()),
            ));
        }
        for (k, x) in v.iter().enumerate() {
            if !x.is_finite() || *x < 0.0 {
                return Err(MmmError::param(
                    format!("/levels/{key}/{k}"),
                    format!("level {x} must be a finite number ≥ 0"),
                ));
            }
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
        let current_total: f64 = plan::current(curves).iter().sum();
        let (v, key) = self.values();
        let multiples = key == "multiples_of_current";
        let budgets: Vec<f64> = v
            .iter()
            .map(|&x| if multiples { x * current_total } else { x })
            .collect();
        let solved: Vec<_> = budgets
            .par_iter()
            .map(|&b| plan::allocate(curves, &per, b))
            .collect();
        let mut main: Option<usize> = None;
        let mut rows = Vec::with_capacity(v.len());
        for (k, (s, &b)) in solved.iter().zip(&budgets).enumerate() {
            let mut row = json!({"level": v[k], "total_budget": b});
            match s {
                Ok((sol, _)) => {
                    row["feasible"] = json!(true);
                    row["expected_kpi"] = json!(sol.objective);
                    row["roi"] = json!(plan::roi(curves, &sol.spend));
                    row["lift_pct"] = json!(plan::pct(
                        crate::solver::objective(curves, &plan::current(curves)),
                        sol.objective
                    ));
                    row["method"] = json!(sol.method.name());
                    row["spend"] = plan::spend_map(curves, &sol.spend);
                    let is_one = multiples && (v[k] - 1.0).abs() < 1e-12;
                    if main.is_none() || is_one {
                        main = Some(k);
                    }
                }
                Err(e) => {
                    row["feasible"] = json!(false);
                    row["reason"] = json!(e.to_string());
                }
            }
            rows.push(row);
        }
        let Some(m) = main else {
            let reasons: Vec<String> = solved
                .iter()
                .filter_map(|s| s.as_ref().err().map(|e| e.to_string()))
                .collect();
            return Err(MmmError::Infeasible(format!(
                "no budget level of the sweep is feasible: {}",
                reasons.join("; ")
            )));
        };
        let (sol, r) = solved[m]
            .as_ref()
            .map_err(|e| MmmError::Compute(e.to_string()))?;
        let details = json!({
            "main_level": v[m],
            "method": sol.method.name(),
            "binding": plan::binding(curves, &sol.spend, r),
            "scenarios": Value::Array(rows),
        });
        Ok(plan::result(curves, "scenarios", &sol.spend, details))
    }
}

mmm_core::register!(
    KIND,
    Scenarios,
    "scenarios",
    "Optimal allocations over a sweep of total budgets (e.g. 90% to 150% of current)",
    r#"{"levels": {"multiples_of_current": [0.9, 1.0, 1.1, 1.2, 1.5]}, "bounds": {"default": {"min_share": 0.05, "max_share": 0.6}}}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::HillCurves;

    fn curves() -> HillCurves {
        HillCurves::new(
            &[
                (100.0, 50.0, 80.0, 1.0),
                (100.0, 30.0, 200.0, 2.0),
                (100.0, 40.0, 60.0, 1.5),
            ],
            4,
        )
    }

    #[test]
    fn example_sweep() {
        let d = mmm_core::registry::find(KIND, "scenarios").unwrap();
        let o: Box<dyn Optimizer> = serde_json::from_value(d.tagged_example().unwrap()).unwrap();
        o.validate().unwrap();
        let r = o.optimize(&curves()).unwrap();
        let rows = r.scenarios.as_ref().unwrap().as_array().unwrap();
        assert_eq!(rows.len(), 5);
        assert!((r.total_budget - 300.0).abs() < 1e-9);
        assert_eq!(r.details["main_level"], 1.0);
        let kpis: Vec<f64> = rows
            .iter()
            .map(|x| x["expected_kpi"].as_f64().unwrap())
            .collect();
        assert!(kpis.windows(2).all(|w| w[1] >= w[0] - 1e-9), "{kpis:?}");
        for row in rows {
            let b = row["total_budget"].as_f64().unwrap();
            let spend = row["spend"].as_object().unwrap();
            let sum: f64 = spend.values().map(|x| x.as_f64().unwrap()).sum();
            assert!((sum - b).abs() < 1e-6 * b);
            for s in spend.values() {
                let s = s.as_f64().unwrap();
                assert!(s >= 0.05 * b - 1e-9 && s <= 0.6 * b + 1e-9);
            }
        }
    }

    #[test]
    fn totals_and_infeasible_levels() {
        let o: Scenarios = serde_json::from_value(json!({
            "levels": {"totals": [200.0, 300.0, 400.0]},
            "bounds": {"default": {"min_change": -0.2, "max_change": 0.2}}
        }))
        .unwrap();
        let r = o.optimize(&curves()).unwrap();
        let rows = r.scenarios.as_ref().unwrap().as_array().unwrap();
        assert_eq!(rows[0]["feasible"], false);
        assert!(rows[0]["reason"]
            .as_str()
            .unwrap()
            .contains("minimums sum to 240"));
        assert_eq!(rows[1]["feasible"], true);
        assert_eq!(rows[2]["feasible"], false);
        assert!(rows[2]["reason"]
            .as_str()
            .unwrap()
            .contains("maximums sum to 360"));
        assert_eq!(r.details["main_level"], 300.0);
        assert!((r.total_budget - 300.0).abs() < 1e-9);
        let o: Scenarios = serde_json::from_value(
            json!({"levels": {"totals": [200.0]}, "bounds": {"default": {"min": 100.0}}}),
        )
        .unwrap();
        assert!(matches!(
            o.optimize(&curves()),
            Err(MmmError::Infeasible(_))
        ));
    }

    #[test]
    fn invalid_levels() {
        let o: Scenarios = serde_json::from_value(json!({"levels": {"totals": []}})).unwrap();
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("/levels/totals"));
        let o: Scenarios =
            serde_json::from_value(json!({"levels": {"multiples_of_current": [1.0, -0.5]}}))
                .unwrap();
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("/levels/multiples_of_current/1"));
    }
}
