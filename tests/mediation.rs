//! Mediated causal structure on simulated data with known direct and indirect effects
//! (linear, no adstock, 104 weeks): totals per dollar recovered within 10% for every channel with
//! a total of at least 0.5, and every true total inside its 95% bootstrap interval, under both
//! ways of entering the mediator; contributions that partition the model's media effect, and
//! optimizers that start from it.

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
    // The mediator is credited only its exogenous part (docs/methods.md, "Mediated
    // attribution"): its effect per unit is `direct_coefficient`, no longer its ROI, which is
    // now its exogenous contribution over all of its spend.
    let search = channels.iter().find(|c| c["name"] == "search").unwrap();
    let b = search["direct_coefficient"].as_f64().unwrap();
    assert!((b - B).abs() < 0.15 * B, "search {b}");
    if entry == "observed" {
        // no transforms: each exogenous dollar of search returns b
        let exo_roi = search["exogenous_roi"].as_f64().unwrap();
        assert!((exo_roi - b).abs() < 1e-6 * b, "{exo_roi} vs {b}");
    }
    check_partition(&r, &out);
}

/// Channel contributions partition the model's media effect: each channel's column of
/// `decomposition.csv` sums to its contribution, the channels' and the mediator's columns sum to
/// the contributions' sum, shares sum to 1, and the parts sum to the prediction.
fn check_partition(r: &Value, out: &std::path::Path) {
    let channels = r["channels"].as_array().unwrap();
    let text = std::fs::read_to_string(out.join("decomposition.csv")).unwrap();
    let mut rows = text.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let mut sums = vec![0.0; header.len()];
    for line in rows {
        let v: Vec<f64> = line
            .split(',')
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect();
        let parts: f64 = v[2..].iter().sum();
        assert!((parts - v[1]).abs() < 1e-8 * v[1].abs().max(1.0), "{line}");
        for (k, x) in v.iter().enumerate() {
            sums[k + 1] += x;
        }
    }
    let col = |name: &str| sums[header.iter().position(|h| *h == name).unwrap()];
    let mut total = 0.0;
    for c in channels {
        let name = c["name"].as_str().unwrap();
        let contribution = c["contribution"].as_f64().unwrap();
        let column = if name == "search" {
            header
                .iter()
                .find(|h| h.starts_with("search"))
                .map(|h| col(h))
                .unwrap()
        } else {
            col(name)
        };
        assert!(
            (column - contribution).abs() < 1e-9 * contribution.abs(),
            "{name}: column {column} vs contribution {contribution}"
        );
        total += contribution;
    }
    let media: f64 = header
        .iter()
        .enumerate()
        .filter(|(_, h)| DRIVERS.contains(h) || h.starts_with("search"))
        .map(|(k, _)| sums[k])
        .sum();
    assert!(
        (total - media).abs() < 1e-9 * media.abs(),
        "contributions {total} vs decomposition's media effect {media}"
    );
    let shares: f64 = channels.iter().map(|c| c["share"].as_f64().unwrap()).sum();
    assert!((shares - 1.0).abs() < 1e-12, "shares sum to {shares}");
    // each driver's total is its direct plus its indirect contribution, per dollar too
    for c in channels.iter().filter(|c| c["name"] != "search") {
        let d = c["direct_roi"].as_f64().unwrap();
        let i = c["indirect_roi"].as_f64().unwrap();
        let roi = c["roi"].as_f64().unwrap();
        assert!((d + i - roi).abs() < 1e-9 * roi.abs(), "{c}");
        for k in ["direct_roi", "indirect_roi"] {
            let (lo, hi) = (
                c[format!("{k}_ci_low")].as_f64().unwrap(),
                c[format!("{k}_ci_high")].as_f64().unwrap(),
            );
            let v = c[k].as_f64().unwrap();
            assert!(lo < v && v < hi, "{k} {v} outside [{lo}, {hi}]");
        }
    }
}

/// The optimizers see the mediated structure without double counting: at current spend every
/// optimizer's expected KPI is the fitted model's media effect (exactly, as these channels
/// have no transforms), and the mediator's lever is its exogenous spend.
#[test]
fn mediated_optimizers_start_from_the_fitted_media_effect() {
    let optimizers = [
        json!({"type": "max_response"}),
        json!({"type": "target_efficiency", "goal": "max_roi",
               "bounds": {"default": {"min_change": -0.5, "max_change": 0.5}}}),
        json!({"type": "scenarios", "levels": {"multiples_of_current": [0.9, 1.0, 1.2]}}),
    ];
    for entry in ["observed", "residual"] {
        for o in &optimizers {
            let dir = tempfile::tempdir().unwrap();
            let mut s = spec(entry);
            s["causal"]["bootstrap"]["resamples"] = json!(0);
            s["optimizer"] = o.clone();
            let p = write_case(dir.path(), &simulate(), &s);
            let r = run_ok(&p, &dir.path().join("out"));
            let fitted: f64 = r["channels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["contribution"].as_f64().unwrap())
                .sum();
            let current = r["optimization"]["expected_kpi_current"].as_f64().unwrap();
            assert!(
                (current - fitted).abs() < 1e-9 * fitted,
                "{entry} {}: expected_kpi_current {current} vs fitted media effect {fitted}",
                o["type"]
            );
            let search = r["channels"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "search")
                .unwrap();
            let plan = r["optimization"]["channels"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "search")
                .unwrap();
            // the lever is the exogenous spend, not the observed spend
            let exogenous = search["exogenous_spend"].as_f64().unwrap() / 104.0;
            let observed = search["spend"].as_f64().unwrap() / 104.0;
            assert!(
                (plan["current_spend"].as_f64().unwrap() - exogenous).abs() < 1e-9 * observed,
                "{plan}"
            );
            if entry == "observed" {
                assert!(exogenous < 0.5 * observed, "{exogenous} vs {observed}");
            }
        }
    }
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

/// Seed 002 (social → google → revenue, saturating transforms, known truth): contributions
/// partition the fitted media effect, every true contribution (google: its exogenous part) lies
/// in its bootstrap interval and all but at most one of the drivers' true direct and indirect
/// contributions in theirs, the
/// large channels are within 20% of the truth (instagram: 15.1%, 0.9 bootstrap sd), and
/// `max_response` starts from the fitted media
/// effect: exactly the sum of the curves at current spend, and within 3% of the decomposition
/// (the steady state at mean spend of saturating chains; 2.0% here); the report's media ROI is
/// the model's.
#[test]
fn seed002_partition_recovers_truth_and_optimizer_starts_from_the_fit() {
    let folder = root().join("examples/simulations/seed002");
    let dir = tempfile::tempdir().unwrap();
    let mut s: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("spec.json")).unwrap()).unwrap();
    s["data"]["path"] = json!(folder.join("data.csv").to_str().unwrap());
    s["optimizer"] = json!({"type": "max_response"});
    let p = dir.path().join("spec.json");
    std::fs::write(&p, s.to_string()).unwrap();
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("truth.json")).unwrap()).unwrap();
    let channels = r["channels"].as_array().unwrap();
    let fitted: f64 = channels
        .iter()
        .map(|c| c["contribution"].as_f64().unwrap())
        .sum();
    // partition: every column sums to its contribution, shares to 1
    let text = std::fs::read_to_string(out.join("decomposition.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut sums = vec![0.0; header.len()];
    for line in lines {
        for (k, x) in line.split(',').enumerate().skip(1) {
            sums[k] += x.parse::<f64>().unwrap();
        }
    }
    let mut media = 0.0;
    for c in channels {
        let name = c["name"].as_str().unwrap();
        let k = header.iter().position(|h| *h == name).unwrap();
        let contribution = c["contribution"].as_f64().unwrap();
        assert!((sums[k] - contribution).abs() < 1e-9 * contribution.abs());
        media += sums[k];
    }
    assert!((media - fitted).abs() < 1e-9 * fitted);
    let shares: f64 = channels.iter().map(|c| c["share"].as_f64().unwrap()).sum();
    assert!((shares - 1.0).abs() < 1e-12);
    // recovery
    let mut path_misses = Vec::new();
    for t in truth["channels"].as_array().unwrap() {
        let c = channels.iter().find(|c| c["name"] == t["name"]).unwrap();
        let (est, lo, hi) = (
            c["contribution"].as_f64().unwrap(),
            c["contribution_ci_low"].as_f64().unwrap(),
            c["contribution_ci_high"].as_f64().unwrap(),
        );
        let tc = t["contribution"].as_f64().unwrap();
        assert!(
            lo <= tc && tc <= hi,
            "{}: {tc} outside [{lo}, {hi}]",
            t["name"]
        );
        if c["share"].as_f64().unwrap() > 0.1 {
            assert!((est - tc).abs() < 0.2 * tc, "{}: {est} vs {tc}", t["name"]);
        }
        let spend = c["spend"].as_f64().unwrap();
        for (path, field) in [
            ("direct", "direct_contribution"),
            ("indirect", "indirect_contribution"),
        ] {
            if let Some(tv) = t[field].as_f64() {
                let lo = c[format!("{path}_roi_ci_low")].as_f64().unwrap() * spend;
                let hi = c[format!("{path}_roi_ci_high")].as_f64().unwrap() * spend;
                if !(lo <= tv && tv <= hi) {
                    path_misses.push(format!("{} {path}: {tv} outside [{lo}, {hi}]", t["name"]));
                }
            }
        }
    }
    // 8 path intervals at 95% on one data set: one or more misses are expected 34% of the time (tiktok's
    // indirect on this one: 119.6k, interval [132.6k, 259.4k]), two or more 6%
    assert!(path_misses.len() <= 1, "{path_misses:?}");
    let google = channels.iter().find(|c| c["name"] == "google").unwrap();
    let t_total = truth["channels"][4]["total_effect"].as_f64().unwrap();
    let (lo, hi) = (
        google["total_effect_ci_low"].as_f64().unwrap(),
        google["total_effect_ci_high"].as_f64().unwrap(),
    );
    assert!(
        lo <= t_total && t_total <= hi,
        "google total {t_total} outside [{lo}, {hi}]"
    );
    // the optimizer
    let current = r["optimization"]["expected_kpi_current"].as_f64().unwrap();
    let curves: f64 = r["response_curves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["current_response"].as_f64().unwrap())
        .sum();
    assert!((current - curves).abs() < 1e-9 * curves);
    assert!(
        (current - fitted).abs() < 0.03 * fitted,
        "expected_kpi_current {current} vs fitted media effect {fitted}"
    );
    assert_eq!(
        r["optimization"]["details"]["mediator"]["channel"],
        "google"
    );
    // the report's media ROI is the model's: decomposition media effect over all spend
    let spend: f64 = channels.iter().map(|c| c["spend"].as_f64().unwrap()).sum();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let key = "data-key=\"media.roi\" data-value=\"";
    let at = html.find(key).expect("the summary's media ROI") + key.len();
    let shown: f64 = html[at..at + html[at..].find('"').unwrap()]
        .parse()
        .unwrap();
    assert!(
        (shown - media / spend).abs() < 1e-9 * shown,
        "report media ROI {shown} vs model {}",
        media / spend
    );
}

/// A planning window needs a single-stage structure: with a mediator the run fails with the
/// window's pointer (exit code 2) and writes nothing.
#[test]
fn mediated_refuses_a_planning_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec("observed");
    s["causal"]["bootstrap"]["resamples"] = json!(0);
    s["optimizer"] = json!({"type": "max_response", "window": {"last": 8}});
    let p = write_case(dir.path(), &simulate(), &s);
    let out = dir.path().join("out");
    let o = mmm(&[
        "-q",
        "run",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("/optimizer/window") && e.contains("single-stage causal structure"),
        "{e}"
    );
    assert!(!out.join("results.json").exists());
}
