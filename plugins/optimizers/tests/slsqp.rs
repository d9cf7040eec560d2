//! Our optimum against scipy's SLSQP (best of many starts) on analytic Hill curves; the fixture
//! is written by `tools/fixtures/optimizers.py`.

use mmm_core::optimizer::Optimizer;
use mmm_optimizers::max_response::MaxResponse;
use mmm_optimizers::testing::HillCurves;
use serde_json::{json, Value};

fn fixture() -> Value {
    let text = include_str!("fixtures/slsqp.json");
    serde_json::from_str(text).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn matches_scipy_slsqp() {
    let fx = fixture();
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let chans: Vec<(f64, f64, f64, f64)> = case["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    f(&c["current"]),
                    f(&c["beta"]),
                    f(&c["half"]),
                    f(&c["shape"]),
                )
            })
            .collect();
        let curves = HillCurves::new(&chans, case["horizon"].as_u64().unwrap() as usize);
        let budget = f(&case["budget"]);
        let mut per = serde_json::Map::new();
        for i in 0..chans.len() {
            per.insert(
                format!("c{i}"),
                json!({"min": f(&case["lo"][i]), "max": f(&case["hi"][i])}),
            );
        }
        let o: MaxResponse = serde_json::from_value(
            json!({"budget": {"total": budget}, "bounds": {"channels": per}}),
        )
        .unwrap();
        o.validate().unwrap();
        let r = o.optimize(&curves).unwrap();
        let theirs = f(&case["objective"]);
        let ours = r.expected_kpi_optimal;
        assert!(
            ours >= theirs * (1.0 - 1e-6),
            "{name}: ours {ours} < scipy {theirs}"
        );
        assert!(
            (r.total_budget - budget).abs() <= 1e-9 * budget,
            "{name}: budget"
        );
        let spend: Vec<f64> = r.channels.iter().map(|p| p.optimal_spend).collect();
        if case["unique"].as_bool().unwrap() {
            for (i, s) in spend.iter().enumerate() {
                let t = f(&case["spend"][i]);
                assert!(
                    (s - t).abs() <= 1e-3 * t.abs().max(1e-3 * budget),
                    "{name}: channel {i}: ours {s} vs scipy {t} ({spend:?})"
                );
            }
        }
        eprintln!(
            "{name}: ours {ours:.9} scipy {theirs:.9} via {}",
            r.details["method"]
        );
    }
}
