//! Sales (KPI) maximization at a fixed total budget.
//!
//! Ref: the budget allocators of Robyn (`max_response`), PyMC-Marketing
//! (`BudgetOptimizer`) and LightweightMMM (`optimize_media`), which maximize the summed response
//! under a budget equality and per-channel bounds (seed 004: min 5% / max 60% of the budget;
//! seed 001: ±20% of current spend).

use crate::bounds::{Bounds, Budget, ChannelBounds};
use crate::plan;
use mmm_core::optimizer::{OptimizationResult, Optimizer, ResponseCurves, KIND};
use mmm_core::window::PlanningWindow;
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Maximizes the expected KPI at a fixed total budget per period.
///
/// # Formula
/// ```text
/// maximize  Σ_i r_i(s_i)   subject to  Σ_i s_i = B,   lo_i ≤ s_i ≤ hi_i
/// KKT:      r_i'(s_i)/H = λ  for lo_i < s_i < hi_i,   ≤ λ at lo_i,   ≥ λ at hi_i
/// ```
/// where `r_i` is channel `i`'s response over the horizon `H`, `s_i` its spend per period and
/// `λ` the common marginal ROI. Concave curves are solved exactly by bisection on `λ`;
/// S-shaped curves by a grid dynamic programme plus multi-start local refinement.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaxResponse {
    /// Total budget per period (over the window with a planning window): {"total": amount} or
    /// {"multiple_of_current": m} (default 1.0).
    #[serde(default)]
    pub budget: Budget,
    /// Per-channel spend bounds per period (min/max, min_share/max_share, min_change/max_change).
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

#[typetag::serde(name = "max_response")]
impl Optimizer for MaxResponse {
    fn validate(&self) -> Result<()> {
        self.budget.validate("/budget")?;
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
        let budget = self.budget.resolve(current_total);
        let (sol, r) = plan::allocate(curves, &per, budget)?;
        let details = json!({
            "budget": budget,
            "method": sol.method.name(),
            "roi_current": plan::roi(curves, &plan::current(curves)),
            "roi_optimal": plan::roi(curves, &sol.spend),
            "binding": plan::binding(curves, &sol.spend, &r),
        });
        Ok(plan::result(curves, "max_response", &sol.spend, details))
    }
}

mmm_core::register!(
    KIND,
    MaxResponse,
    "max_response",
    "Maximize the expected KPI at a fixed total budget, with per-channel bounds",
    r#"{"budget": {"multiple_of_current": 1.0}, "bounds": {"default": {"min_change": -0.2, "max_change": 0.2}}}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::ChannelBounds;
    use crate::testing::HillCurves;
    use mmm_core::MmmError;

    fn curves() -> HillCurves {
        HillCurves::new(
            &[
                (100.0, 50.0, 80.0, 1.0),
                (100.0, 30.0, 200.0, 0.8),
                (100.0, 40.0, 60.0, 1.0),
            ],
            10,
        )
    }

    fn parse(v: serde_json::Value) -> MaxResponse {
        serde_json::from_value(v).unwrap()
    }

    fn opt(v: serde_json::Value, c: &HillCurves) -> Result<OptimizationResult> {
        let o = parse(v);
        o.validate()?;
        o.optimize(c)
    }

    #[test]
    fn example_deserializes_through_the_trait() {
        let d = mmm_core::registry::find(KIND, "max_response").unwrap();
        let o: Box<dyn Optimizer> = serde_json::from_value(d.tagged_example().unwrap()).unwrap();
        o.validate().unwrap();
        let r = o.optimize(&curves()).unwrap();
        assert!((r.total_budget - 300.0).abs() < 1e-9);
    }

    #[test]
    fn equal_marginals_at_interior_optimum() {
        let c = curves();
        let r = opt(json!({}), &c).unwrap();
        assert!((r.total_budget - 300.0).abs() < 1e-9, "{}", r.total_budget);
        let m: Vec<f64> = r.channels.iter().map(|p| p.mroi).collect();
        for x in &m {
            assert!((x - m[0]).abs() < 1e-8 * m[0], "{m:?}");
        }
        assert!(r.expected_kpi_optimal >= r.expected_kpi_current);
        assert_eq!(r.details["method"], "equal_marginal");
    }

    #[test]
    fn total_budget_form() {
        let c = curves();
        let r = opt(json!({"budget": {"total": 450.0}}), &c).unwrap();
        assert!((r.total_budget - 450.0).abs() < 1e-9);
        let r = opt(json!({"budget": {"multiple_of_current": 0.5}}), &c).unwrap();
        assert!((r.total_budget - 150.0).abs() < 1e-9);
    }

    #[test]
    fn change_bounds_hold() {
        let c = curves();
        let r = opt(
            json!({"bounds": {"default": {"min_change": -0.2, "max_change": 0.2}}}),
            &c,
        )
        .unwrap();
        for p in &r.channels {
            assert!(
                p.optimal_spend >= 80.0 - 1e-9 && p.optimal_spend <= 120.0 + 1e-9,
                "{p:?}"
            );
        }
        assert!(r.details["binding"]
            .as_object()
            .is_some_and(|m| !m.is_empty()));
    }

    /// A channel whose first unit of spend returns less than the others' last is cut to 0, and
    /// `details.binding` says so (it sits at its lower bound, spend ≥ 0).
    #[test]
    fn a_channel_cut_to_zero_is_binding() {
        let c = HillCurves::new(
            &[
                (100.0, 50.0, 80.0, 1.0),
                (100.0, 30.0, 200.0, 0.8),
                (100.0, 0.01, 1000.0, 1.0),
            ],
            10,
        );
        let r = opt(json!({}), &c).unwrap();
        assert!(r.channels[2].optimal_spend.abs() < 1e-9, "{:?}", r.channels);
        let why = r.details["binding"]["c2"].as_str().unwrap_or_default();
        assert!(why.starts_with("min: spend ≥ 0"), "{}", r.details);
    }

    #[test]
    fn share_bounds_hold() {
        let c = curves();
        let r = opt(
            json!({"budget": {"total": 1000.0},
                   "bounds": {"default": {"min_share": 0.05, "max_share": 0.6}}}),
            &c,
        )
        .unwrap();
        for p in &r.channels {
            assert!(
                p.optimal_spend >= 50.0 - 1e-9 && p.optimal_spend <= 600.0 + 1e-9,
                "{p:?}"
            );
        }
        // the same plan as the equivalent absolute bounds
        let a = opt(
            json!({"budget": {"total": 1000.0},
                   "bounds": {"default": {"min": 50.0, "max": 600.0}}}),
            &c,
        )
        .unwrap();
        for (p, q) in r.channels.iter().zip(&a.channels) {
            assert!(
                (p.optimal_spend - q.optimal_spend).abs() < 1e-9,
                "{p:?} {q:?}"
            );
        }
    }

    #[test]
    fn bound_forms_agree_and_mix() {
        let c = curves();
        let rel = opt(
            json!({"bounds": {"default": {"min_change": -0.2, "max_change": 0.2}}}),
            &c,
        )
        .unwrap();
        let abs = opt(
            json!({"bounds": {"default": {"min": 80.0, "max": 120.0}}}),
            &c,
        )
        .unwrap();
        for (p, q) in rel.channels.iter().zip(&abs.channels) {
            assert!(
                (p.optimal_spend - q.optimal_spend).abs() < 1e-9,
                "{p:?} {q:?}"
            );
        }
        // mixed: the tighter of max_change 0.2 (120) and max_share 0.35 (105) applies
        let r = opt(
            json!({"bounds": {"default": {"max_change": 0.2, "max_share": 0.35}}}),
            &c,
        )
        .unwrap();
        assert!(r.channels.iter().all(|p| p.optimal_spend <= 105.0 + 1e-9));
        let why = r.details["binding"].to_string();
        assert!(why.contains("max_share"), "{why}");
    }

    #[test]
    fn absolute_bounds_and_channel_overrides() {
        let c = curves();
        let r = opt(
            json!({"bounds": {"default": {"min": 10.0},
                              "channels": {"c0": {"min": 150.0, "max": 160.0}}}}),
            &c,
        )
        .unwrap();
        let s0 = r.channels[0].optimal_spend;
        assert!((150.0 - 1e-9..=160.0 + 1e-9).contains(&s0), "{s0}");
        assert!(r.channels[1].optimal_spend >= 10.0 - 1e-9);
        let e = opt(json!({"bounds": {"channels": {"tv": {"max": 1.0}}}}), &c).unwrap_err();
        assert!(e.to_string().contains("/bounds/channels/tv"), "{e}");
    }

    #[test]
    fn infeasible_constraints_name_the_numbers() {
        let c = curves();
        let e = opt(json!({"bounds": {"default": {"min": 150.0}}}), &c).unwrap_err();
        assert!(matches!(e, MmmError::Infeasible(_)), "{e}");
        assert_eq!(e.exit_code(), 2);
        let s = e.to_string();
        assert!(
            s.contains("minimums sum to 450") && s.contains("300"),
            "{s}"
        );
        let e = opt(json!({"bounds": {"default": {"max_change": 0.1}}, "budget": {"multiple_of_current": 1.5}}), &c)
            .unwrap_err();
        assert!(e.to_string().contains("maximums sum to 330"), "{e}");
        let e = opt(
            json!({"bounds": {"default": {"min": 50.0, "max_change": -0.6}}}),
            &c,
        )
        .unwrap_err();
        assert!(e.to_string().contains("channel 'c0'"), "{e}");
    }

    #[test]
    fn invalid_params_are_rejected() {
        for (v, ptr) in [
            (json!({"budget": {"total": -1.0}}), "/budget/total"),
            (
                json!({"bounds": {"default": {"min": 5.0, "max": 1.0}}}),
                "/bounds/default/min",
            ),
            (
                json!({"bounds": {"default": {"max_share": 1.5}}}),
                "/bounds/default/max_share",
            ),
            (
                json!({"bounds": {"channels": {"c0": {"min_change": -2.0}}}}),
                "/bounds/channels/c0/min_change",
            ),
        ] {
            let e = parse(v).validate().unwrap_err().to_string();
            assert!(e.contains(ptr), "{e}");
        }
        assert!(serde_json::from_value::<MaxResponse>(json!({"budgt": {}})).is_err());
        assert!(
            serde_json::from_value::<MaxResponse>(json!({"bounds": {"default": {"mn": 1}}}))
                .is_err()
        );
        let b = ChannelBounds {
            min: Some(f64::NAN),
            ..Default::default()
        };
        assert!(b.validate("/x").is_err());
    }

    #[test]
    fn zero_budget_spends_nothing() {
        let c = curves();
        let r = opt(json!({"budget": {"total": 0.0}}), &c).unwrap();
        assert!(r.channels.iter().all(|p| p.optimal_spend == 0.0));
    }
}
