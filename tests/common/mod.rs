//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `mmm` binary with `args`.
pub fn mmm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmm"))
        .args(args)
        .output()
        .expect("mmm runs")
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A small, valid weekly data set: `n` rows with date, sales, tv, radio, price, promo.
pub fn weekly_csv(n: usize) -> String {
    let mut s = String::from("week,sales,tv,radio,price,promo\n");
    let start = chrono_like_date(2021, 1, 4);
    for t in 0..n {
        let tv = 100.0 + 50.0 * ((t as f64) * 0.9).sin().abs() + (t % 5) as f64 * 7.0;
        let radio = 40.0 + 30.0 * ((t as f64) * 0.4).cos().abs() + (t % 3) as f64 * 5.0;
        let price = 10.0 + ((t * 7) % 11) as f64 * 0.1;
        let promo = if t % 6 == 0 { "yes" } else { "no" };
        let sales = 1000.0 + 2.0 * tv + 1.0 * radio - 20.0 * price + ((t * 13) % 17) as f64;
        s.push_str(&format!(
            "{},{sales},{tv},{radio},{price},{promo}\n",
            add_days(start, 7 * t as i64)
        ));
    }
    s
}

fn chrono_like_date(y: i32, m: u32, d: u32) -> (i32, u32, u32) {
    (y, m, d)
}

/// ISO date `days` after `(y, m, d)` (proleptic Gregorian).
pub fn add_days((y, m, d): (i32, u32, u32), days: i64) -> String {
    let jd = days_from_civil(y, m, d) + days;
    let (y, m, d) = civil_from_days(jd);
    format!("{y:04}-{m:02}-{d:02}")
}

fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y } as i64;
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A spec for [`weekly_csv`] data, fitted by OLS.
pub fn small_spec() -> serde_json::Value {
    serde_json::json!({
        "name": "small",
        "data": {"path": "data.csv", "date": "week", "target": "sales"},
        "media": [
            {"name": "tv", "spend": "tv", "transforms": [{"type": "geometric_adstock", "decay": 0.3}]},
            {"name": "radio", "spend": "radio"}
        ],
        "controls": ["price", {"column": "promo", "categorical": true, "reference": "no"}],
        "model": {"type": "ols"}
    })
}

/// Runs `mmm run SPEC --out OUT --quiet`, asserts success, and returns `results.json`.
pub fn run_ok(spec: &Path, out: &Path) -> serde_json::Value {
    let o = mmm(&[
        "run",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}: {}", spec.display(), stderr(&o));
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

/// Runs `mmm run` on the case and asserts exit code 2, every expected fragment in stderr, and
/// an output folder that was never created.
pub fn expect_rejected(csv: &str, spec: &serde_json::Value, fragments: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let spec_path = write_case(dir.path(), csv, spec);
    let out = dir.path().join("out");
    let o = mmm(&[
        "run",
        spec_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    for f in fragments {
        assert!(err.contains(f), "expected '{f}' in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !out.exists(),
        "output folder was created for a rejected input"
    );
    let v = mmm(&["validate", spec_path.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(2), "validate: {}", stderr(&v));
}

/// Runs `mmm run SPEC --out OUT -q` on a written spec and asserts exit code 2, every fragment
/// in stderr (`label` names the case in failures), no panic, and an output folder that was
/// never created.
pub fn expect_run_refused(label: &str, spec: &Path, out: &Path, fragments: &[&str]) {
    let o = mmm(&[
        "run",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{label}: {err}");
    for f in fragments {
        assert!(err.contains(f), "{label}: expected '{f}' in: {err}");
    }
    assert!(!err.contains("panicked"), "{label}: {err}");
    assert!(!out.exists(), "{label}: output written");
}

/// Per-geo budget allocation against the same fit planned at national shares (the
/// `optimization` objects of results.json, `national` without and `per_geo` with
/// `"geo_allocation": true`): the same current KPI and budget; `geos` plan rows per channel
/// whose current and optimal spends and contributions sum to the channel's national figures
/// (and the current spends to the national plan's); the whole budget spent; and at least the
/// national-share optimum's expected KPI. Returns the per-geo plan.
pub fn assert_geo_plan_adds_up(
    label: &str,
    national: &serde_json::Value,
    per_geo: &serde_json::Value,
    geos: usize,
) -> Vec<serde_json::Value> {
    let f = |v: &serde_json::Value| {
        v.as_f64()
            .unwrap_or_else(|| panic!("{label}: not a number: {v}"))
    };
    let close = |a: f64, b: f64, rel: f64| (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300);
    let (a, b) = (national, per_geo);
    assert!(
        close(
            f(&a["expected_kpi_current"]),
            f(&b["expected_kpi_current"]),
            1e-6
        ),
        "{label}: current KPI: national {} vs per geo {}",
        a["expected_kpi_current"],
        b["expected_kpi_current"]
    );
    let plan = b["geo_plan"].as_array().expect("optimization.geo_plan");
    let channels = b["channels"].as_array().unwrap();
    assert_eq!(plan.len(), geos * channels.len(), "{label}");
    for (c, ch) in channels.iter().enumerate() {
        let name = ch["name"].as_str().unwrap();
        assert_eq!(a["channels"][c]["name"], name, "{label}");
        let rows: Vec<&serde_json::Value> = plan.iter().filter(|p| p["channel"] == name).collect();
        assert_eq!(rows.len(), geos, "{label}: {name}");
        let sum = |k: &str| rows.iter().map(|p| f(&p[k])).sum::<f64>();
        assert!(close(
            sum("current_spend"),
            f(&a["channels"][c]["current_spend"]),
            1e-9
        ));
        assert!(close(sum("current_spend"), f(&ch["current_spend"]), 1e-9));
        assert!(close(sum("optimal_spend"), f(&ch["optimal_spend"]), 1e-9));
        assert!(close(
            sum("expected_contribution"),
            f(&ch["expected_contribution"]),
            1e-9
        ));
    }
    assert!(
        close(f(&a["total_budget"]), f(&b["total_budget"]), 1e-9),
        "{label}"
    );
    let spent: f64 = plan.iter().map(|p| f(&p["optimal_spend"])).sum();
    assert!(close(spent, f(&b["total_budget"]), 1e-9), "{label}");
    eprintln!(
        "{label}: expected KPI: current {}, national-share optimum {}, per-geo optimum {}",
        a["expected_kpi_current"], a["expected_kpi_optimal"], b["expected_kpi_optimal"]
    );
    assert!(
        f(&b["expected_kpi_optimal"]) >= f(&a["expected_kpi_optimal"]) * (1.0 - 1e-9),
        "{label}: per geo {} < national shares {}",
        b["expected_kpi_optimal"],
        a["expected_kpi_optimal"]
    );
    plan.clone()
}

/// Writes `data.csv` and `spec.json` into `dir`; returns the spec path.
pub fn write_case(dir: &Path, csv: &str, spec: &serde_json::Value) -> PathBuf {
    std::fs::write(dir.join("data.csv"), csv).unwrap();
    let p = dir.join("spec.json");
    std::fs::write(&p, serde_json::to_string_pretty(spec).unwrap()).unwrap();
    p
}

/// A small, valid long-format data set: `days` daily rows for each of the campaigns `A` and
/// `B` from Monday 2024-01-01, with spend, impressions, clicks, conversions and revenue.
pub fn long_csv(days: usize) -> String {
    let mut s = String::from("date,campaign_name,spend,impressions,clicks,conversions,revenue\n");
    for t in 0..days {
        let date = add_days((2024, 1, 1), t as i64);
        for (k, c) in ["A", "B"].iter().enumerate() {
            let spend = 100.0
                + 40.0 * ((t as f64) * (0.5 + 0.3 * k as f64)).sin().abs()
                + ((t * 7 + k * 3) % 11) as f64;
            let impressions = (spend * 90.0).round();
            let clicks = (impressions * 0.02).round() + (t % 3) as f64;
            let conversions = (clicks * 0.05).round() + (t % 2) as f64;
            let revenue = 500.0 + 2.5 * spend + ((t * 13 + k) % 17) as f64;
            s.push_str(&format!(
                "{date},{c},{spend},{impressions},{clicks},{conversions},{revenue}\n"
            ));
        }
    }
    s
}

/// A spec for [`long_csv`] data, fitted by OLS.
pub fn long_spec() -> serde_json::Value {
    serde_json::json!({
        "name": "long",
        "data": {"path": "data.csv", "format": "long", "date": "date", "target": "revenue"},
        "media": [
            {"name": "A", "spend": "A.spend"},
            {"name": "B", "spend": "B.spend"}
        ],
        "model": {"type": "ols"}
    })
}

/// Checks that an example folder's committed `data.csv` and `truth.json` (those it has) are
/// what `mmm simulate` writes from its `simspec.json`, byte for byte.
pub fn assert_simulation_regenerates(folder: &Path) {
    let simspec = folder.join("simspec.json");
    let out = tempfile::tempdir().unwrap();
    let o = mmm(&[
        "-q",
        "simulate",
        simspec.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}: {}", simspec.display(), stderr(&o));
    for f in ["data.csv", "truth.json", "calibration.json"] {
        let committed = folder.join(f);
        if committed.exists() {
            assert_eq!(
                std::fs::read(&committed).unwrap(),
                std::fs::read(out.path().join(f)).unwrap(),
                "{} is out of date: rerun `mmm simulate {} --out {}`",
                committed.display(),
                simspec.display(),
                folder.display()
            );
        }
    }
}

/// Writes `simspec` beside `dir/<name>` (the output folder may not hold its inputs), runs
/// `mmm simulate` into `dir/<name>`, and returns that folder and its `truth.json`.
pub fn simulate(
    dir: &Path,
    name: &str,
    simspec: &serde_json::Value,
) -> (PathBuf, serde_json::Value) {
    let simspec_path = dir.join(format!("{name}.simspec.json"));
    std::fs::write(&simspec_path, simspec.to_string()).unwrap();
    let sim = dir.join(name);
    let o = mmm(&[
        "-q",
        "simulate",
        simspec_path.to_str().unwrap(),
        "--out",
        sim.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let truth =
        serde_json::from_str(&std::fs::read_to_string(sim.join("truth.json")).unwrap()).unwrap();
    (sim, truth)
}
