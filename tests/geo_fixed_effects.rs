//! `ols`/`ridge` with geo fixed effects (`"geo": "fixed_effects"`), end to end through the
//! CLI on simulated panels with a known truth (`examples/geo/simspec.json`, 5 geos × 78
//! weeks): national figures are the sums of the geos', the decomposition has one row per geo ×
//! period and adds up, SQLite and the report carry the geos, the optimizer works on the sum of
//! the geos' curves, the truth is recovered with the true transforms, tuning refits the
//! geos, what the fit does not offer is a clear error (exit 2), and one geo is the national
//! fit. The closed-form checks (statsmodels with geo dummies, the within estimator, CR1) are
//! in `plugins/models/tests/fixed_effects.rs`.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const GEOS: usize = 5;
const PERIODS: usize = 78;

/// The simulation's true transforms (`examples/geo/simspec.json`) in spec form.
fn true_transforms(simspec: &Value, channel: usize) -> Value {
    let mut t = simspec["channels"][channel]["transforms"].clone();
    t[0]["l_max"] = json!(8);
    t
}

/// Simulates the example panel (`GEOS` × `PERIODS`, geo effects spread by `effect_sd_log`)
/// into `dir/sim` and returns the fixed-effects example spec pointed at it with the true
/// transforms and no tuning, and the truth.
fn simulate_and_spec(dir: &Path, effect_sd_log: f64) -> (Value, Value) {
    let mut simspec: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/geo/simspec.json")).unwrap(),
    )
    .unwrap();
    simspec["periods"] = json!(PERIODS);
    simspec["geos"]["count"] = json!(GEOS);
    simspec["geos"]["effect_sd_log"] = json!(effect_sd_log);
    let (sim, truth) = simulate(dir, "sim", &simspec);
    let mut spec: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/geo/simulated/fixed_effects.json")).unwrap(),
    )
    .unwrap();
    spec["data"]["path"] = json!(sim.join("data.csv").to_str().unwrap());
    for c in 0..3 {
        spec["media"][c]["transforms"] = true_transforms(&simspec, c);
    }
    spec.as_object_mut().unwrap().remove("tuning");
    (spec, truth)
}

fn write_spec(dir: &Path, name: &str, spec: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(spec).unwrap()).unwrap();
    p
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn true_roi(list: &Value, name: &str) -> f64 {
    f(&list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()["roi"])
}

/// National channels are the geos' sums, the decomposition has one row per geo × period whose
/// parts sum to its prediction and whose channel columns sum to the national contributions,
/// the optimizer's current KPI is the sum of the curves, SQLite and the report hold the geos.
fn check_sums(r: &Value, out: &Path, intervals: bool) {
    let geos = r["geos"].as_array().expect("results.json geos");
    assert_eq!(geos.len(), GEOS);
    let channels = r["channels"].as_array().unwrap();
    for (c, ch) in channels.iter().enumerate() {
        let name = ch["name"].as_str().unwrap();
        let (mut contribution, mut spend) = (0.0, 0.0);
        for g in geos {
            let gc = &g["channels"][c];
            assert_eq!(gc["name"], name);
            contribution += f(&gc["contribution"]);
            spend += f(&gc["spend"]);
            if intervals {
                let roi = f(&gc["roi"]);
                assert!(f(&gc["roi_ci_low"]) <= roi && roi <= f(&gc["roi_ci_high"]));
            } else {
                assert!(gc["roi_ci_low"].is_null() && gc["contribution_ci_high"].is_null());
            }
        }
        assert!(
            close(contribution, f(&ch["contribution"]), 1e-9),
            "{name}: geos sum to {contribution}, national {}",
            ch["contribution"]
        );
        assert!(close(spend, f(&ch["spend"]), 1e-9));
        assert_eq!(ch["roi_ci_low"].is_null(), !intervals, "{name}");
    }
    let text = std::fs::read_to_string(out.join("decomposition.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..4], ["date", "geo", "actual", "predicted"]);
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), GEOS * PERIODS);
    let num = |s: &str| s.parse::<f64>().unwrap();
    for row in &rows {
        let parts: f64 = row[4..].iter().map(|v| num(v)).sum();
        assert!(close(parts, num(&row[3]), 1e-9), "{row:?}");
    }
    for ch in channels {
        let name = ch["name"].as_str().unwrap();
        let j = header.iter().position(|h| *h == name).unwrap();
        let total: f64 = rows.iter().map(|r| num(&r[j])).sum();
        assert!(close(total, f(&ch["contribution"]), 1e-6), "{name}");
    }
    let opt = &r["optimization"];
    let current: f64 = r["response_curves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| f(&c["current_response"]))
        .sum();
    assert!(close(f(&opt["expected_kpi_current"]), current, 1e-6));
    assert!(f(&opt["expected_kpi_optimal"]) >= current * (1.0 - 1e-9));
    let db = rusqlite::Connection::open(out.join("results.sqlite")).unwrap();
    let n: i64 = db
        .query_row("SELECT COUNT(*) FROM geo_channels", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n as usize, GEOS * channels.len());
    let n: i64 = db
        .query_row(
            "SELECT COUNT(DISTINCT geo) FROM decomposition WHERE geo IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n as usize, GEOS);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("id=\"section-geos\"") && html.contains("geo fixed effects"));
    assert_eq!(html.matches("data-geo=\"").count(), GEOS);
    // a frequentist fit: no posterior, review, sampler section or draws.csv
    assert!(r.get("posterior").is_none_or(Value::is_null));
    assert!(r.get("review").is_none_or(Value::is_null));
    assert!(!out.join("draws.csv").exists());
    assert!(!html.contains("id=\"section-bayes\""));
}

/// Per-geo slopes on a panel whose geos' effects differ (the example's spread, 0.25 on the log
/// scale), with the true transforms: sums hold, every national ROI lies inside its 95%
/// interval and within 20% of the truth (tv, flighted, within 5%), and at least 80% of the
/// per-geo ROI intervals hold the geo's true ROI (measured: 13 of 15; ROIs tv 1.145 vs 1.170,
/// search 1.411 vs 1.290, social 0.661 vs 0.799).
#[test]
fn per_geo_slopes_add_up_and_recover_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, truth) = simulate_and_spec(dir.path(), 0.25);
    assert_eq!(spec["model"]["slopes"], "per_geo");
    let p = write_spec(dir.path(), "spec.json", &spec);
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    check_sums(&r, &out, true);
    for ch in r["channels"].as_array().unwrap() {
        let name = ch["name"].as_str().unwrap();
        let t = true_roi(&truth["channels"], name);
        let (roi, lo, hi) = (f(&ch["roi"]), f(&ch["roi_ci_low"]), f(&ch["roi_ci_high"]));
        eprintln!("{name}: ROI {roi} [{lo}, {hi}], truth {t}");
        assert!(lo <= t && t <= hi, "{name}: {t} outside [{lo}, {hi}]");
        let tol = if name == "tv" { 0.05 } else { 0.2 };
        assert!((roi / t - 1.0).abs() < tol, "{name}: ROI {roi} vs {t}");
    }
    let mut inside = 0;
    for g in r["geos"].as_array().unwrap() {
        let tg = truth["geos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == g["name"])
            .unwrap();
        for c in g["channels"].as_array().unwrap() {
            let t = true_roi(&tg["channels"], c["name"].as_str().unwrap());
            inside += (f(&c["roi_ci_low"]) <= t && t <= f(&c["roi_ci_high"])) as usize;
        }
    }
    assert!(
        inside * 5 >= 4 * GEOS * 3,
        "{inside} per-geo intervals hold the truth"
    );
    assert_eq!(r["model"]["parameters"]["geo"], "fixed_effects");
}

/// Pooled slopes on a panel whose geos share one effect per channel (`effect_sd_log` 0), with
/// classical and cluster-robust intervals: every national ROI inside its interval and within
/// 15% of the truth (measured: tv 1.267 vs 1.286, search 1.298 vs 1.247, social 0.743 vs 0.850).
#[test]
fn pooled_slopes_recover_a_pooled_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spec, truth) = simulate_and_spec(dir.path(), 0.0);
    spec["model"] = json!({"type": "ols", "geo": "fixed_effects"});
    for covariance in ["classical", "cluster_geo"] {
        spec["model"]["covariance"] = json!(covariance);
        let p = write_spec(dir.path(), &format!("{covariance}.json"), &spec);
        let out = dir.path().join(covariance);
        let r = run_ok(&p, &out);
        check_sums(&r, &out, true);
        for ch in r["channels"].as_array().unwrap() {
            let name = ch["name"].as_str().unwrap();
            let t = true_roi(&truth["channels"], name);
            let (roi, lo, hi) = (f(&ch["roi"]), f(&ch["roi_ci_low"]), f(&ch["roi_ci_high"]));
            eprintln!("{covariance} {name}: ROI {roi} [{lo}, {hi}], truth {t}");
            assert!(
                lo <= t && t <= hi,
                "{covariance} {name}: {t} outside [{lo}, {hi}]"
            );
            assert!((roi / t - 1.0).abs() < 0.15, "{name}: ROI {roi} vs {t}");
        }
        assert_eq!(r["model"]["statistics"]["geos"], json!(GEOS as f64));
    }
}

/// Ridge with fixed effects reports the point estimate: sums hold, no intervals.
#[test]
fn ridge_with_fixed_effects_adds_up_without_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spec, _) = simulate_and_spec(dir.path(), 0.25);
    spec["model"] = json!({"type": "ridge", "alpha": 0.01, "geo": "fixed_effects"});
    let p = write_spec(dir.path(), "spec.json", &spec);
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    check_sums(&r, &out, false);
}

/// Tuning refits the geos per candidate: the search runs on the stacked panel and its chosen
/// decay of the flighted channel is near the truth (0.5).
#[test]
fn tuning_refits_the_geos() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spec, _) = simulate_and_spec(dir.path(), 0.25);
    spec["media"][0]["transforms"][0]["decay"] = json!({"range": [0.0, 0.9]});
    spec["tuning"] = json!({"strategy": {"type": "differential_evolution"}, "evaluations": 60,
                            "objectives": ["nrmse"], "on": "in_sample"});
    let p = write_spec(dir.path(), "spec.json", &spec);
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    let decay = f(&r["tuning"]["best"]["parameters"]["/media/0/transforms/0/decay"]);
    assert!((decay - 0.5).abs() < 0.1, "tuned decay {decay}");
    assert_eq!(r["geos"].as_array().unwrap().len(), GEOS);
}

/// What a fixed-effects fit does not offer is refused before any fitting (exit 2), naming the
/// spec path and the way out.
#[test]
fn unsupported_options_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, _) = simulate_and_spec(dir.path(), 0.25);
    let mut tuned = spec.clone();
    tuned["media"][0]["transforms"][0]["decay"] = json!({"range": [0.0, 0.9]});
    tuned["tuning"] = json!({"strategy": {"type": "differential_evolution"}, "evaluations": 10,
                            "uncertainty": {"bootstrap": 10}});
    let mut cluster = spec.clone();
    cluster["model"]["covariance"] = json!("cluster_geo");
    let mut national = spec.clone();
    national["model"] = json!({"type": "ols", "slopes": "per_geo"});
    for (name, s, path, way_out) in [
        ("uncertainty", tuned, "/tuning/uncertainty", "\"national\""),
        ("cluster", cluster, "/covariance", "classical"),
        ("national", national, "/slopes", "fixed_effects"),
    ] {
        let p = write_spec(dir.path(), &format!("{name}.json"), &s);
        let out = dir.path().join(format!("out-{name}"));
        expect_run_refused(name, &p, &out, &[path, way_out]);
    }
}

/// Out-of-sample validation predicts each geo's held-out weeks from its own intercept,
/// controls and media terms and sums them: the training periods' metrics are exactly those of
/// a fit on the truncated panel (OLS's fitted values do not depend on how the calendar and
/// control columns are centred or scaled), and the held-out weeks are predicted to within the
/// simulation's noise, for pooled and per-geo slopes and for the penalized ridge.
#[test]
fn validation_predicts_held_out_weeks_of_every_geo() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, _) = simulate_and_spec(dir.path(), 0.25);
    let mut spec = spec;
    spec.as_object_mut().unwrap().remove("optimizer");
    let n_train = PERIODS - 12; // test_fraction 0.15 of 78 periods: 12 held out
                                // the same panel cut after the training periods
    let csv = std::fs::read_to_string(dir.path().join("sim/data.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let date_col = header.split(',').position(|h| h == "date").unwrap();
    let mut dates: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(date_col).unwrap())
        .collect();
    dates.sort_unstable();
    dates.dedup();
    assert_eq!(dates.len(), PERIODS);
    let cut: Vec<&str> = std::iter::once(header)
        .chain(lines.filter(|l| l.split(',').nth(date_col).unwrap() < dates[n_train]))
        .collect();
    let truncated = dir.path().join("train.csv");
    std::fs::write(&truncated, cut.join("\n") + "\n").unwrap();
    for (name, model) in [
        ("pooled", json!({"type": "ols", "geo": "fixed_effects"})),
        (
            "per_geo",
            json!({"type": "ols", "geo": "fixed_effects", "slopes": "per_geo"}),
        ),
        (
            "ridge",
            json!({"type": "ridge", "alpha": 0.01, "geo": "fixed_effects"}),
        ),
    ] {
        let mut s = spec.clone();
        s["model"] = model;
        s["validation"] = json!({"test_fraction": 0.15});
        let r = run_ok(
            &write_spec(dir.path(), &format!("{name}.json"), &s),
            &dir.path().join(format!("out-{name}")),
        );
        let split = &r["validation"]["split"];
        assert_eq!(f(&split["n_test"]) as usize, PERIODS - n_train, "{name}");
        assert_eq!(split["test_start"], dates[n_train], "{name}");
        let (train, test) = (&split["train"], &split["test"]);
        eprintln!(
            "{name}: train R² {:.4}, test R² {:.4}, test MAPE {:.4}",
            f(&train["r2"]),
            f(&test["r2"]),
            f(&test["mape"])
        );
        assert!(f(&test["mape"]) < 0.03, "{name}: {split}");
        assert!(f(&test["r2"]) > 0.8, "{name}: {split}");
        if name == "ridge" {
            continue;
        }
        s.as_object_mut().unwrap().remove("validation");
        s["data"]["path"] = json!(truncated.to_str().unwrap());
        let fit = run_ok(
            &write_spec(dir.path(), &format!("{name}-train.json"), &s),
            &dir.path().join(format!("out-{name}-train")),
        );
        for metric in ["r2", "rmse", "mae"] {
            let (a, b) = (f(&train[metric]), f(&fit["fit"][metric]));
            assert!(
                close(a, b, 1e-8),
                "{name} {metric}: {a} in validation, {b} fitted"
            );
        }
    }
}

/// A panel of one geo: the fixed-effects fit is the national fit (one intercept), with a
/// warning, and its results equal plain `ols`'s.
#[test]
fn one_geo_is_the_national_fit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spec, _) = simulate_and_spec(dir.path(), 0.25);
    let csv = std::fs::read_to_string(dir.path().join("sim/data.csv")).unwrap();
    let one: Vec<&str> = csv
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.starts_with("Geo0,"))
        .map(|(_, l)| l)
        .collect();
    let path = dir.path().join("one.csv");
    std::fs::write(&path, one.join("\n") + "\n").unwrap();
    spec["data"]["path"] = json!(path.to_str().unwrap());
    let p = write_spec(dir.path(), "fe.json", &spec);
    let fe = run_ok(&p, &dir.path().join("fe"));
    assert!(fe["geos"].is_null());
    assert!(
        fe["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("1 geo(s)")),
        "{}",
        fe["warnings"]
    );
    spec["model"] = json!({"type": "ols"});
    let p = write_spec(dir.path(), "national.json", &spec);
    let national = run_ok(&p, &dir.path().join("national"));
    assert_eq!(fe["channels"], national["channels"]);
    assert_eq!(fe["coefficients"], national["coefficients"]);
}

/// `"geo_allocation": true` on a fixed-effects fit (per-geo slopes with OLS, and ridge's point
/// estimate): every channel × geo pair is planned, the pairs' spends and contributions sum to
/// the national plan, and the per-geo optimum brings at least the national-share optimum's KPI
/// at the same budget.
#[test]
fn geo_allocation_plans_a_fixed_effects_fit() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, _) = simulate_and_spec(dir.path(), 0.25);
    let mut ridge = spec.clone();
    ridge["model"] = json!({"type": "ridge", "alpha": 0.01, "geo": "fixed_effects",
                            "slopes": "per_geo"});
    for (name, base) in [("ols", spec), ("ridge", ridge)] {
        let national = run_ok(
            &write_spec(dir.path(), &format!("{name}-national.json"), &base),
            &dir.path().join(format!("{name}-national")),
        );
        let mut geo = base.clone();
        geo["optimizer"]["geo_allocation"] = json!(true);
        let r = run_ok(
            &write_spec(dir.path(), &format!("{name}-geo.json"), &geo),
            &dir.path().join(format!("{name}-geo")),
        );
        assert_geo_plan_adds_up(name, &national["optimization"], &r["optimization"], GEOS);
    }
}
