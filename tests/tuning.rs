//! Tuning: the fast path gives the generic path's objectives; results do not depend on the
//! thread count; ranges are validated; the chosen candidate is refitted and reported.

mod common;
use common::*;
use mmm_data::dataset::FromSpec;
use mmm_data::spec::load_spec;
use mmm_engine::experiment::causal_of;
use serde_json::{json, Value};

use mmm as _;

fn tuning_spec(on: &str, positive: &str) -> Value {
    json!({
        "name": "tune",
        "seed": 3,
        "data": {"path": "data.csv", "date": "week", "target": "sales"},
        "media": [
            {"name": "tv", "spend": "tv", "transforms": [
                {"type": "geometric_adstock", "decay": {"range": [0.0, 0.8]}},
                {"type": "hill_robyn", "alpha": {"range": [0.5, 3.0]}, "gamma": {"range": [0.3, 1.0]}}]},
            {"name": "radio", "spend": "radio", "transforms": [
                {"type": "geometric_adstock", "decay": {"range": [0.0, 0.5]}}]}
        ],
        "controls": ["price"],
        "baseline": {"trend": true},
        "model": {"type": "ridge", "alpha": {"range": [0.01, 100.0], "scale": "log"}, "positive": positive},
        "validation": {"test_fraction": 0.25, "folds": 3},
        "tuning": {"strategy": {"type": "latin_hypercube"}, "evaluations": 200,
                   "objectives": ["nrmse", "decomp_rssd", "mape", "r2", "mape_lift"], "on": on},
        // a cut of tv in weeks 10–13 (its carry-over to the end) and one of radio in weeks
        // 50–53 (its window only): the first is in every fold's training periods, the second not
        "calibration": [
            {"channel": "tv", "start": "2021-03-15", "end": "2021-04-05", "spend_change": -200.0,
             "lift": -400.0, "standard_error": 50.0},
            {"channel": "radio", "start": "2021-12-20", "end": "2022-01-10", "holdout": true,
             "lift": -150.0, "standard_error": 30.0, "scope": "window"}
        ]
    })
}

fn histories(on: &str, positive: &str) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let dir = tempfile::tempdir().unwrap();
    let p = write_case(dir.path(), &weekly_csv(80), &tuning_spec(on, positive));
    let loaded = load_spec(&p).unwrap();
    let data = mmm_core::dataset::ModelData::from_spec(&loaded).unwrap();
    let causal = causal_of(&loaded).unwrap();
    let t = loaded.spec.tuning.as_ref().unwrap();
    let run = |fast: bool| {
        let r = mmm_engine::tuning::tune_with(
            t,
            loaded.spec.validation.as_ref(),
            &data,
            causal.as_ref(),
            loaded.spec.model.as_ref(),
            &loaded.search,
            5,
            fast,
        )
        .unwrap();
        r.history
    };
    (run(true), run(false))
}

#[test]
fn fast_path_matches_generic_path() {
    for (on, positive) in [
        ("validation", "media"),
        ("folds", "media"),
        ("in_sample", "none"),
        ("in_sample", "media"),
    ] {
        let (fast, slow) = histories(on, positive);
        assert_eq!(fast.len(), 200);
        for (a, b) in fast.iter().zip(&slow) {
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= 1e-6 * y.abs().max(1e-3),
                    "{on}/{positive}: fast {a:?} vs generic {b:?}"
                );
            }
        }
    }
}

/// On a bootstrap resample of periods (repeats count twice), the fast path's frequency
/// weights give the objectives of the general path's fit of the selected rows.
#[test]
fn fast_path_matches_generic_path_on_a_resample_of_periods() {
    let dir = tempfile::tempdir().unwrap();
    for positive in ["none", "media"] {
        let mut spec = tuning_spec("in_sample", positive);
        spec["tuning"]["objectives"] = json!(["nrmse", "decomp_rssd", "mape", "r2", "mae"]);
        let p = write_case(dir.path(), &weekly_csv(80), &spec);
        let loaded = load_spec(&p).unwrap();
        let data = mmm_core::dataset::ModelData::from_spec(&loaded).unwrap();
        let causal = causal_of(&loaded).unwrap();
        let t = loaded.spec.tuning.as_ref().unwrap();
        let mut rows = mmm_core::resample::block_resample(data.n_obs(), 5, 11, 2);
        rows.sort_unstable();
        assert!(rows.windows(2).any(|w| w[0] == w[1]), "no period repeated");
        let run = |fast: bool| {
            mmm_engine::tuning::tune_on_rows(
                t,
                loaded.spec.validation.as_ref(),
                &data,
                causal.as_ref(),
                loaded.spec.model.as_ref(),
                &loaded.search,
                5,
                fast,
                &rows,
            )
            .unwrap()
            .history
        };
        let (fast, slow) = (run(true), run(false));
        let (all, _) = histories("in_sample", positive);
        assert_eq!(fast.len(), 200);
        for ((a, b), c) in fast.iter().zip(&slow).zip(&all) {
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= 1e-6 * y.abs().max(1e-3),
                    "{positive}: fast {a:?} vs generic {b:?}"
                );
            }
            // the resample is scored, not the data
            assert_ne!(a[0], c[0]);
        }
    }
}

/// Scoring on folds is its own objective: the mean over the rolling-origin folds, not the
/// single hold-out's score.
#[test]
fn folds_score_differs_from_the_single_split() {
    let (folds, _) = histories("folds", "media");
    let (split, _) = histories("validation", "media");
    assert!(folds.iter().zip(&split).any(|(a, b)| a[0] != b[0]));
    // the same spec without folds in its validation section is refused, naming the pointer
    let dir = tempfile::tempdir().unwrap();
    let mut spec = tuning_spec("folds", "media");
    spec["validation"] = json!({"test_fraction": 0.25});
    let p = write_case(dir.path(), &weekly_csv(80), &spec);
    let o = mmm(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("/tuning/on"), "{}", stderr(&o));
}

#[test]
fn tuned_run_is_thread_count_independent_and_reports_pareto() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = tuning_spec("validation", "media");
    spec["tuning"]["strategy"] = json!({"type": "differential_evolution"});
    spec["tuning"]["objectives"] = json!(["nrmse", "decomp_rssd"]);
    spec["tuning"]["evaluations"] = json!(600);
    let p = write_case(dir.path(), &weekly_csv(80), &spec);
    let mut outputs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = dir.path().join(format!("out{threads}"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_mmm"))
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "run",
                p.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "-q",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        outputs.push(std::fs::read(out.join("results.json")).unwrap());
    }
    assert!(
        outputs.windows(2).all(|w| w[0] == w[1]),
        "results differ with the thread count"
    );
    let r: Value = serde_json::from_slice(&outputs[0]).unwrap();
    let t = &r["tuning"];
    assert_eq!(t["evaluations"], 600);
    let pareto = t["pareto"].as_array().unwrap();
    assert!(!pareto.is_empty());
    // no front member dominates another
    let objs: Vec<(f64, f64)> = pareto
        .iter()
        .map(|e| {
            (
                e["objectives"]["nrmse"].as_f64().unwrap(),
                e["objectives"]["decomp_rssd"].as_f64().unwrap(),
            )
        })
        .collect();
    for a in &objs {
        for b in &objs {
            assert!(
                !(b.0 <= a.0 && b.1 <= a.1 && (b.0 < a.0 || b.1 < a.1)),
                "{b:?} dominates {a:?}"
            );
        }
    }
    // the reported model uses the chosen parameters
    let alpha = t["best"]["parameters"]["/model/alpha"].as_f64().unwrap();
    assert_eq!(r["model"]["parameters"]["alpha"].as_f64().unwrap(), alpha);
    assert!(r["validation"]["split"]["test"]["nrmse"].is_number());
}

#[test]
fn bad_ranges_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = tuning_spec("validation", "media");
    spec["media"][0]["transforms"][0]["decay"] = json!({"range": [0.5, 1.5]});
    spec["media"][1]["transforms"][0]["decay"] = json!({"range": [0.4, 0.2]});
    let p = write_case(dir.path(), &weekly_csv(80), &spec);
    let o = mmm(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("/media/1/transforms/0/decay/range") && e.contains("empty"),
        "{e}"
    );
    let mut spec = tuning_spec("validation", "media");
    spec["media"][0]["transforms"][0]["decay"] = json!({"range": [0.5, 1.5]});
    let p = write_case(dir.path(), &weekly_csv(80), &spec);
    let e = stderr(&mmm(&["validate", p.to_str().unwrap()]));
    assert!(
        e.contains("/media/0/transforms/0/decay/range") && e.contains("[0, 1)"),
        "{e}"
    );
    let mut spec = tuning_spec("validation", "media");
    spec.as_object_mut().unwrap().remove("tuning");
    let p = write_case(dir.path(), &weekly_csv(80), &spec);
    let e = stderr(&mmm(&["validate", p.to_str().unwrap()]));
    assert!(e.contains("needs a 'tuning' section"), "{e}");
}
