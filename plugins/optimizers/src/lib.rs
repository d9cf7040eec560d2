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

#[cfg(test)]
mod tests {
    use mmm_core::optimizer::KIND;

    #[test]
    fn registered_with_schemas_and_examples() {
        let tags: Vec<&str> = mmm_core::registry::plugins(KIND)
            .iter()
            .map(|d| d.tag)
            .collect();
        for t in ["max_response", "scenarios", "target_efficiency"] {
            assert!(tags.contains(&t), "{tags:?}");
            let d = mmm_core::registry::find(KIND, t).unwrap();
            let mut g = schemars::SchemaGenerator::default();
            let s = d.tagged_schema(&mut g);
            assert_eq!(s["additionalProperties"], false, "{t}: {s}");
            for (name, p) in s["properties"].as_object().unwrap() {
                assert!(
                    name == "type" || p.get("description").is_some(),
                    "{t}/{name}: {p}"
                );
            }
            let ex = d.tagged_example().unwrap();
            let o: Box<dyn mmm_core::optimizer::Optimizer> = serde_json::from_value(ex).unwrap();
            o.validate().unwrap();
        }
    }
}
