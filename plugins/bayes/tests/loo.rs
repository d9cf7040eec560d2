//! PSIS-LOO equals ArviZ's `loo` on `fixtures/psis_loo.json` (from
//! `tools/fixtures/psis_loo.py`): elpd_loo, its SE, p_loo and every Pareto k.

use mmm_bayes::loo::loo;
use serde_json::Value;
use std::path::Path;

#[test]
fn psis_loo_equals_arviz() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/psis_loo.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let ll: Vec<Vec<f64>> = case["log_lik"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            })
            .collect();
        let r = loo(&ll, case["reff"].as_f64().unwrap());
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-8 * b.abs().max(1.0);
        for (what, got, want) in [
            ("elpd_loo", r.elpd_loo, case["elpd_loo"].as_f64().unwrap()),
            ("se", r.se, case["se"].as_f64().unwrap()),
            ("p_loo", r.p_loo, case["p_loo"].as_f64().unwrap()),
        ] {
            assert!(close(got, want), "{name} {what}: ours {got} ArviZ {want}");
        }
        for (i, (k, want)) in r
            .pareto_k
            .iter()
            .zip(case["pareto_k"].as_array().unwrap())
            .enumerate()
        {
            let want = want.as_f64().unwrap();
            assert!(close(*k, want), "{name} k[{i}]: ours {k} ArviZ {want}");
        }
        println!(
            "{name}: elpd {} se {} max k {}",
            r.elpd_loo, r.se, r.max_pareto_k
        );
    }
}
