//! Mediated causal structure on simulated data with known direct and indirect effects
//! (linear, no adstock, 104 weeks): totals per dollar recovered within 10% for every channel with
//! a total of at least 0.5, and every true total inside its 95% bootstrap interval, under both
//! ways of entering the mediator.

mod common;
use common::*;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde_json::{json, Value};

const DRIVERS: [&str; 4] = ["facebook", "tiktok", "instagram", "snapchat"];
const A: [f64; 4] = [0.3, 0.2, 0.5, 0.1]; // social → search
const C: [f64; 4] = [0.8, 0.5, 0.2, 1.0]; // social → revenue, direct
const B: f64 = 2.0; // search → revenue

fn simulate() -> String {
    let n = 104;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2024);
    let spend = Normal::<f64>::new(1000.0, 300.0).unwrap();
    let e_search = Normal::new(0.0, 30.0).unwrap();
    let e_rev = Normal::new(0.0, 50.0).unwrap();
    let mut csv = format!("week,revenue,search,{},price\n", DRIVERS.join(","));
    for t in 0..n {
        let social: Vec<f64> = (0..4).map(|_| spend.sample(&mut rng).max(0.0)).collect();
        let price = 20.0 + ((t * 5) % 9) as f64;
        let search =
            500.0 + (0..4).map(|i| A[i] * social[i]).sum::<f64>() + e_search.sample(&mut rng);
        let revenue = 5000.0 - 40.0 * price
            + (0..4).map(|i| C[i] * social[i]).sum::<f64>()
            + B * search
            + e_rev.sample(&mut rng);
        csv.push_str(&format!(
            "{},{revenue},{search},{},{price}\n",
            add_days((2022, 1, 3), 7 * t as i64),
            social
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    csv
}

fn spec(entry: &str) -> Value {
    let mut media: Vec<Value> = DRIVERS
        .iter()
        .map(|d| json!({"name": d, "spend": d}))
        .collect();
    media.push(json!({"name": "search", "spend": "search"}));
    json!({
        "name": "mediation",
        "seed": 11,
        "data": {"path": "data.csv", "date": "week", "target": "revenue"},
        "media": media,
        "controls": ["price"],
        "model": {"type": "ols"},
        "causal": {
            "type": "mediated",
            "mediator": {"column": "search", "channel": "search", "drivers": DRIVERS},
            "entry": entry,
            "bootstrap": {"resamples": 400, "block_length": 4}
        }
    })
}

fn check(entry: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = write_case(dir.path(), &simulate(), &spec(entry));
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    let channels = r["channels"].as_array().unwrap();
    for (i, d) in DRIVERS.iter().enumerate() {
        let ch = channels.iter().find(|c| c["name"] == *d).unwrap();
        let truth = C[i] + A[i] * B;
        // no transforms: the total effect per dollar is the ROI
        let roi = ch["roi"].as_f64().unwrap();
        let (lo, hi) = (
            ch["roi_ci_low"].as_f64().unwrap(),
            ch["roi_ci_high"].as_f64().unwrap(),
        );
        if truth >= 0.5 {
            assert!(
                (roi - truth).abs() <= 0.1 * truth,
                "{entry} {d}: total {roi} vs true {truth}"
            );
        }
        assert!(
            lo <= truth && truth <= hi,
            "{entry} {d}: true total {truth} outside [{lo}, {hi}]"
        );
        let direct = ch["direct_coefficient"].as_f64().unwrap();
        let indirect = ch["indirect_coefficient"].as_f64().unwrap();
        assert!((direct + indirect - roi).abs() < 1e-9 * roi.abs().max(1.0));
        assert!(
            (indirect - A[i] * B).abs() < 0.25,
            "{entry} {d}: indirect {indirect} vs {}",
            A[i] * B
        );
        assert!(ch["share_mediated"].is_number());
    }
    let search = channels.iter().find(|c| c["name"] == "search").unwrap();
    assert!(
        (search["roi"].as_f64().unwrap() - B).abs() < 0.15 * B,
        "search {}",
        search["roi"]
    );
}

#[test]
fn mediated_observed_recovers_totals() {
    check("observed");
}

#[test]
fn mediated_residual_recovers_totals() {
    check("residual");
}

#[test]
fn mediated_bootstrap_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_case(dir.path(), &simulate(), &spec("observed"));
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    assert!(mmm(&[
        "run",
        p.to_str().unwrap(),
        "--out",
        a.to_str().unwrap(),
        "-q"
    ])
    .status
    .success());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mmm"))
        .env("RAYON_NUM_THREADS", "1")
        .args([
            "run",
            p.to_str().unwrap(),
            "--out",
            b.to_str().unwrap(),
            "-q",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(
        std::fs::read(a.join("results.json")).unwrap(),
        std::fs::read(b.join("results.json")).unwrap()
    );
}

#[test]
fn mediated_names_unknown_driver() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec("observed");
    s["causal"]["mediator"]["drivers"][1] = json!("tiktokk");
    let p = write_case(dir.path(), &simulate(), &s);
    let o = mmm(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/causal/mediator/drivers/1") && stderr(&o).contains("tiktokk"),
        "{}",
        stderr(&o)
    );
}
