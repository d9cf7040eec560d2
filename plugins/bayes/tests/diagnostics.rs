//! The diagnostics against ArviZ 0.23 on numpy-generated chains
//! (`tools/fixtures/bayes_diagnostics.py` → `tests/fixtures/bayes_diagnostics.json`).

use mmm_bayes::diagnostics::{bfmi, ess_bulk, ess_mean, ess_tail, hdi, mcse_mean, rhat_rank};
use serde_json::Value;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-12)
}

#[test]
fn matches_arviz() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bayes_diagnostics.json"
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    for case in v["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let chains: Vec<Vec<f64>> = case["draws"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                c.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            })
            .collect();
        let f = |k: &str| case[k].as_f64().unwrap();
        let checks = [
            ("r_hat", rhat_rank(&chains), f("r_hat")),
            ("ess_bulk", ess_bulk(&chains), f("ess_bulk")),
            ("ess_tail", ess_tail(&chains), f("ess_tail")),
            ("ess_mean", ess_mean(&chains), f("ess_mean")),
            ("mcse_mean", mcse_mean(&chains), f("mcse_mean")),
        ];
        for (what, ours, theirs) in checks {
            assert!(
                close(ours, theirs, 1e-8),
                "{name} {what}: ours {ours}, arviz {theirs}"
            );
        }
        let flat: Vec<f64> = chains.iter().flatten().copied().collect();
        let (lo, hi) = hdi(&flat, 0.94);
        assert!(
            close(lo, case["hdi_94"][0].as_f64().unwrap(), 1e-12),
            "{name} hdi low"
        );
        assert!(
            close(hi, case["hdi_94"][1].as_f64().unwrap(), 1e-12),
            "{name} hdi high"
        );
        for (c, b) in chains.iter().zip(case["bfmi"].as_array().unwrap()) {
            assert!(close(bfmi(c), b.as_f64().unwrap(), 1e-10), "{name} bfmi");
        }
    }
}
