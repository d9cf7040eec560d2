//! Calibration with lift tests (`calibration` in the spec): the model's lift against closed
//! forms, bad tests named by pointer (exit 2), MAPE.LIFT in tuning as the refitted model reports
//! it, the simulator's confounder and lift tests. The worked example (a confounded channel
//! recovered by calibration) is `examples/calibration`, run by `tests/examples.rs`.

mod common;
use common::*;
use serde_json::{json, Value};

/// `small_spec` (OLS on `weekly_csv`: tv with geometric adstock 0.3, radio untransformed) with
/// lift tests.
fn spec_with(calibration: Value) -> Value {
    let mut s = small_spec();
    s["calibration"] = calibration;
    s
}

fn coefficient(r: &Value, name: &str) -> (f64, f64, f64) {
    let c = r["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap();
    (
        c["estimate"].as_f64().unwrap(),
        c["ci_low"].as_f64().unwrap(),
        c["ci_high"].as_f64().unwrap(),
    )
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-9)
}

/// The weekly_csv spend column `col` (1 = tv, 2 = radio after date and sales).
fn spend(csv: &str, col: usize) -> Vec<f64> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').nth(col + 1).unwrap().parse().unwrap())
        .collect()
}

/// For a point model the lift is the coefficient times the chain's difference: for radio
/// (no transform) `m·Δ`; for tv's geometric adstock θ with the window's spend removed,
/// `m·Σ_{s∈W} −x_s·(1 − θ^{T−s})/(1 − θ)` with `T` the window's end (scope `window`) or the
/// data's (scope `total`). Intervals are the coefficient's scaled by the difference.
#[test]
fn point_model_lifts_match_the_closed_form() {
    let dir = tempfile::tempdir().unwrap();
    let n = 60;
    let csv = weekly_csv(n);
    // weeks 10–12 and 20–22 (2021-01-04 + 7·t)
    let spec = spec_with(json!([
        {"channel": "radio", "start": "2021-03-15", "end": "2021-03-29", "spend_change": -100.0,
         "lift": -120.0, "standard_error": 10.0},
        {"name": "tv holdout", "channel": "tv", "start": "2021-05-24", "end": "2021-06-07",
         "holdout": true, "lift": -700.0, "standard_error": 50.0, "scope": "window"},
        {"channel": "tv", "start": "2021-05-24", "end": "2021-06-07", "holdout": true,
         "lift": -900.0, "standard_error": 50.0}
    ]));
    let p = write_case(dir.path(), &csv, &spec);
    let r = run_ok(&p, &dir.path().join("out"));
    let c = &r["calibration"];
    assert_eq!(c["fitted_to_tests"], false, "{c}");
    // the report's table shows the same numbers
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(html.contains("id=\"section-calibration\""));
    assert!(
        html.contains("<tr data-row=\"tv holdout\" data-test=\"tv holdout\"><th>tv holdout</th>")
    );
    assert!(html.contains(&format!(
        "data-key=\"model_lift\" data-value=\"{}\"",
        c["tests"][1]["model_lift"].as_f64().unwrap()
    )));
    let tests = c["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 3);

    let (m_radio, lo_r, hi_r) = coefficient(&r, "radio");
    let t0 = &tests[0];
    assert_eq!(t0["name"], "radio 2021-03-15–2021-03-29");
    assert_eq!(t0["periods"], 3);
    assert!(
        close(t0["model_lift"].as_f64().unwrap(), -100.0 * m_radio, 1e-9),
        "{t0}"
    );
    assert!(close(
        t0["model_lift_ci_low"].as_f64().unwrap(),
        -100.0 * hi_r,
        1e-9
    ));
    assert!(close(
        t0["model_lift_ci_high"].as_f64().unwrap(),
        -100.0 * lo_r,
        1e-9
    ));

    let (m_tv, _, _) = coefficient(&r, "tv");
    let x = spend(&csv, 1);
    let theta: f64 = 0.3;
    let diff = |end: usize| -> f64 {
        (20..=22)
            .map(|s| -x[s] * (1.0 - theta.powi((end - s) as i32)) / (1.0 - theta))
            .sum()
    };
    let (window, total) = (m_tv * diff(23), m_tv * diff(n));
    assert_eq!(tests[1]["name"], "tv holdout");
    assert!(
        close(tests[1]["model_lift"].as_f64().unwrap(), window, 1e-9),
        "{}",
        tests[1]
    );
    assert!(
        close(tests[2]["model_lift"].as_f64().unwrap(), total, 1e-9),
        "{}",
        tests[2]
    );
    let spent: f64 = x[20..=22].iter().sum();
    assert!(close(
        tests[1]["spend_change"].as_f64().unwrap(),
        -spent,
        1e-12
    ));
    assert!(close(
        tests[1]["window_spend"].as_f64().unwrap(),
        spent,
        1e-12
    ));

    // MAPE.LIFT and z from the same numbers
    let lifts = [-120.0, -700.0, -900.0];
    let models = [-100.0 * m_radio, window, total];
    let mape: f64 = lifts
        .iter()
        .zip(&models)
        .map(|(l, m)| (m - l).abs() / l.abs())
        .sum::<f64>()
        / 3.0;
    assert!(close(c["mape_lift"].as_f64().unwrap(), mape, 1e-9));
    assert!(close(
        tests[0]["z"].as_f64().unwrap(),
        (-100.0 * m_radio + 120.0) / 10.0,
        1e-9
    ));
}

fn assert_rejected(spec: &Value, csv: &str, pointer: &str, words: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = write_case(dir.path(), csv, spec);
    for cmd in ["validate", "run"] {
        let out = dir.path().join("out");
        let o = if cmd == "run" {
            mmm(&["run", p.to_str().unwrap(), "--out", out.to_str().unwrap()])
        } else {
            mmm(&["validate", p.to_str().unwrap()])
        };
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd} {pointer}: {e}");
        assert!(e.contains(pointer), "{cmd}: expected {pointer} in: {e}");
        assert!(e.contains(words), "{cmd}: expected '{words}' in: {e}");
        assert!(!out.exists(), "{cmd} {pointer}: wrote {}", out.display());
    }
}

#[test]
fn bad_lift_tests_are_named_by_pointer() {
    let csv = weekly_csv(60);
    let test = json!({"channel": "tv", "start": "2021-03-15", "end": "2021-03-29",
                      "spend_change": -100.0, "lift": -120.0, "standard_error": 10.0});
    let with = |f: &dyn Fn(&mut Value)| {
        let mut t = test.clone();
        f(&mut t);
        spec_with(json!([test.clone(), t]))
    };
    assert_rejected(
        &with(&|t| t["channel"] = json!("tvv")),
        &csv,
        "/calibration/1/channel",
        "no channel named 'tvv'; the channels are: tv, radio",
    );
    assert_rejected(
        &with(&|t| t["standard_error"] = json!(0.0)),
        &csv,
        "/calibration/1/standard_error",
        "",
    );
    assert_rejected(
        &with(&|t| t["end"] = json!("2021-03-01")),
        &csv,
        "/calibration/1/end",
        "before it starts",
    );
    // weekly_csv(60) runs from 2021-01-04 to 2022-02-21
    assert_rejected(
        &with(&|t| {
            t["start"] = json!("2022-02-14");
            t["end"] = json!("2022-03-14")
        }),
        &csv,
        "/calibration/1/end",
        "outside the data's periods (2021-01-04 to 2022-02-21)",
    );
    assert_rejected(
        &with(&|t| t["start"] = json!("2020-12-28")),
        &csv,
        "/calibration/1/start",
        "outside the data's periods",
    );
    assert_rejected(
        &with(&|t| t["spend_change"] = json!(-1e6)),
        &csv,
        "/calibration/1/spend_change",
        "spend cannot become negative",
    );
    assert_rejected(
        &with(&|t| t["holdout"] = json!(true)),
        &csv,
        "/calibration/1/spend_change",
        "not both",
    );
    assert_rejected(
        &with(&|t| {
            t.as_object_mut().unwrap().remove("spend_change");
        }),
        &csv,
        "/calibration/1",
        "\"holdout\": true",
    );
    // a window between two weekly dates holds no period
    assert_rejected(
        &with(&|t| {
            t["start"] = json!("2021-03-16");
            t["end"] = json!("2021-03-20")
        }),
        &csv,
        "/calibration/1",
        "no period of the data has a date from 2021-03-16 to 2021-03-20",
    );
    // mape_lift without lift tests
    let mut s = small_spec();
    s["media"][0]["transforms"][0]["decay"] = json!({"range": [0.0, 0.8]});
    s["tuning"] = json!({"strategy": {"type": "random"}, "evaluations": 10,
                         "objectives": ["nrmse", "mape_lift"]});
    assert_rejected(&s, &csv, "/tuning/objectives/1", "no 'calibration' section");
}

/// A Bayesian model fits the tests in the direct structure only: a mediated structure is
/// refused at `/calibration` before any data is read.
#[test]
fn bayesian_calibration_needs_the_direct_structure() {
    let csv = weekly_csv(60);
    let mut s = spec_with(
        json!([{"channel": "tv", "start": "2021-03-15", "end": "2021-03-29",
        "holdout": true, "lift": -120.0, "standard_error": 10.0}]),
    );
    s["model"] = json!({"type": "bayesian_mmm", "chains": 1, "tune": 10, "draws": 10});
    s["causal"] = json!({"type": "mediated",
                         "mediator": {"column": "radio", "channel": "radio", "drivers": ["tv"]}});
    let dir = tempfile::tempdir().unwrap();
    let p = write_case(dir.path(), &csv, &s);
    let o = mmm(&["validate", p.to_str().unwrap()]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("/calibration:") && e.contains("'direct'"), "{e}");
}

/// The tuning objective `mape_lift` is the MAPE.LIFT that results.json reports for the
/// refitted model at the chosen candidate (in sample, the same fit).
#[test]
fn mape_lift_objective_is_what_the_refitted_model_reports() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec_with(json!([
        {"channel": "tv", "start": "2021-03-15", "end": "2021-04-05", "spend_change": -200.0,
         "lift": -500.0, "standard_error": 50.0},
        {"channel": "radio", "start": "2021-06-07", "end": "2021-06-21", "holdout": true,
         "lift": -150.0, "standard_error": 30.0, "scope": "window"}
    ]));
    s["media"][0]["transforms"][0]["decay"] = json!({"range": [0.0, 0.9]});
    s["model"] = json!({"type": "ridge", "alpha": {"range": [0.01, 100.0], "scale": "log"}});
    s["tuning"] = json!({"strategy": {"type": "latin_hypercube"}, "evaluations": 60,
                         "objectives": ["mape_lift", "nrmse"], "on": "in_sample"});
    let p = write_case(dir.path(), &weekly_csv(80), &s);
    let r = run_ok(&p, &dir.path().join("out"));
    let best = r["tuning"]["best"]["objectives"]["mape_lift"]
        .as_f64()
        .unwrap();
    let reported = r["calibration"]["mape_lift"].as_f64().unwrap();
    assert!(close(best, reported, 1e-6), "{best} vs {reported}");
    // the front holds the candidate that matches the tests best
    let front = r["tuning"]["pareto"].as_array().unwrap();
    let min_front = front
        .iter()
        .map(|e| e["objectives"]["mape_lift"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert!(min_front <= best);
}

/// The simulator's confounder is left out of data.csv unless observed; a lift test of an
/// untransformed channel has the true lift `β·Δ`; calibration.json is a valid `calibration`.
#[test]
fn simulated_lift_tests_and_confounder() {
    let dir = tempfile::tempdir().unwrap();
    let simspec = json!({
        "seed": 5, "periods": 30, "frequency": "weekly", "start": "2024-01-01",
        "intercept": 100.0, "noise_sd": 1.0,
        "channels": [
            {"name": "a", "spend": {"type": "always_on", "mean": 50.0, "noise_sd": 5.0}, "coefficient": 0.5},
            {"name": "b", "spend": {"type": "always_on", "mean": 30.0, "noise_sd": 5.0},
             "transforms": [{"type": "geometric_adstock", "decay": 0.4}], "coefficient": 1.0}
        ],
        "controls": [
            {"type": "confounder", "name": "demand", "channel": "a", "noise_sd": 0.02, "coefficient": 20.0},
            {"type": "confounder", "name": "seen", "channel": "b", "coefficient": 5.0, "observed": true}
        ],
        "lift_tests": [
            {"channel": "a", "start": "2024-02-05", "end": "2024-02-26", "spend_change": 40.0, "standard_error": 2.0},
            {"channel": "b", "start": "2024-03-04", "end": "2024-03-11", "holdout": true, "standard_error": 1.0, "scope": "window"}
        ]
    });
    let sp = dir.path().join("simspec.json");
    std::fs::write(&sp, simspec.to_string()).unwrap();
    let out = dir.path().join("sim");
    let o = mmm(&[
        "-q",
        "simulate",
        sp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("data.csv")).unwrap();
    assert_eq!(csv.lines().next().unwrap(), "date,sales,a,b,seen");
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("truth.json")).unwrap()).unwrap();
    let demand = &truth["controls"][0];
    assert_eq!(demand["observed"], false);
    assert!(demand["correlation"].as_f64().unwrap() > 0.9, "{demand}");
    let t = &truth["lift_tests"];
    assert!(
        close(t[0]["true_lift"].as_f64().unwrap(), 0.5 * 40.0, 1e-12),
        "{t}"
    );
    assert!((t[0]["lift"].as_f64().unwrap() - 20.0).abs() < 4.0 * 2.0);
    // b's holdout over two weeks, window scope: −β·(x_s + (x_s−1... )): x9 + (θ·x9 + x10)
    let b = spend(&csv, 2);
    let want = -(b[9] + 0.4 * b[9] + b[10]);
    assert!(
        close(t[1]["true_lift"].as_f64().unwrap(), want, 1e-9),
        "{t}"
    );
    // calibration.json is the spec's calibration list, with the measured lifts
    let cal: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("calibration.json")).unwrap())
            .unwrap();
    assert_eq!(cal[1]["holdout"], true);
    assert_eq!(cal[1]["scope"], "window");
    assert_eq!(cal[0]["lift"], t[0]["lift"]);
    let spec = json!({
        "name": "sim", "data": {"path": out.join("data.csv").to_str().unwrap(), "date": "date", "target": "sales"},
        "media": [{"name": "a", "spend": "a"},
                  {"name": "b", "spend": "b", "transforms": [{"type": "geometric_adstock", "decay": 0.4}]}],
        "controls": ["seen"], "model": {"type": "ols"}, "calibration": cal
    });
    let p = dir.path().join("spec.json");
    std::fs::write(&p, spec.to_string()).unwrap();
    let o = mmm(&["validate", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // a test of a channel the simulation does not have is named by pointer
    let mut bad = simspec.clone();
    bad["lift_tests"][0]["channel"] = json!("c");
    bad["lift_tests"][1]["end"] = json!("2025-01-06");
    std::fs::write(&sp, bad.to_string()).unwrap();
    let o = mmm(&[
        "simulate",
        sp.to_str().unwrap(),
        "--out",
        dir.path().join("bad").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("/lift_tests/0/channel") && e.contains("/lift_tests/1/end"),
        "{e}"
    );
}
