//! The `bayesian_mmm` log density is PyMC-Marketing's: at the unconstrained points of
//! `fixtures/pymc_parity_logp.json` (PyMC's `model.compile_logp(jacobian=True)` and
//! `compile_dlogp`, from `tools/fixtures/pymc_parity_logp.py`), the log density (normalizing
//! constants included) and its gradient agree to 1e-8 (relative). Any mismatch in scaling,
//! priors, Fourier terms, controls, adstock or saturation fails this test.

mod common;

use mmm_bayes::nuts::LogDensity;
use serde_json::Value;

#[test]
fn log_density_equals_pymc_marketing() {
    let example = common::Example::load();
    let (mut f, ..) = example.model.density(&example.problem(1)).unwrap();
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::root().join("plugins/bayes/tests/fixtures/pymc_parity_logp.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let d = f.dim();
    let names: Vec<String> = f.params.iter().map(|p| p.name.clone()).collect();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut bad = Vec::new();
    for point in fixture["points"].as_array().unwrap() {
        let u: Vec<f64> = names
            .iter()
            .map(|n| {
                point["u"][n]
                    .as_f64()
                    .unwrap_or_else(|| panic!("fixture has no '{n}'"))
            })
            .collect();
        assert_eq!(point["u"].as_object().unwrap().len(), d);
        let mut g = vec![0.0; d];
        let lp = f.logp_grad(&u, &mut g);
        for (k, n) in names.iter().enumerate() {
            let want = point["grad"][n].as_f64().unwrap();
            if (g[k] - want).abs() > 1e-8 * want.abs().max(1.0) {
                bad.push(format!("gradient of {n}: ours {} PyMC {want}", g[k]));
            }
        }
        ours.push(lp);
        theirs.push(point["logp"].as_f64().unwrap());
    }
    for i in 1..ours.len() {
        println!(
            "Δ ours {} theirs {}",
            ours[i] - ours[0],
            theirs[i] - theirs[0]
        );
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    for i in 1..ours.len() {
        let (a, b) = (ours[i] - ours[0], theirs[i] - theirs[0]);
        println!("point {i}: ours Δ {a:.10} PyMC Δ {b:.10}");
        assert!(
            (a - b).abs() <= 1e-8 * b.abs().max(1.0),
            "point {i}: log-density difference ours {a} PyMC {b}"
        );
    }
    // the constant too: both sides keep every normalizing term
    let offset = ours[0] - theirs[0];
    println!("constant offset {offset}");
    assert!(
        offset.abs() <= 1e-8 * theirs[0].abs().max(1.0),
        "offset {offset}"
    );
}
