//! A panel fitted jointly (`bayesian_mmm` with `geo: "hierarchical"`), end to end through the
//! CLI on a simulated panel with a known truth (`examples/geo/simspec.json`, made smaller for
//! CI): national figures are the sums of the geos', the decomposition has one row per geo ×
//! period and adds up, SQLite and the report carry the geos, the optimizer works on the sum
//! of the geos' curves, the truth is recovered, and what a geo fit does not offer yet is a
//! clear error (exit 2).

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const GEOS: usize = 5;
const PERIODS: usize = 78;

/// Simulates the example panel with `GEOS` geos × `PERIODS` weeks into `dir/sim` and returns
/// the example spec pointed at it with short chains.
fn simulate_and_spec(dir: &Path) -> (Value, Value) {
    let mut simspec: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/geo/simspec.json")).unwrap(),
    )
    .unwrap();
    simspec["periods"] = json!(PERIODS);
    simspec["geos"]["count"] = json!(GEOS);
    let (sim, truth) = simulate(dir, "sim", &simspec);
    let mut spec: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/geo/simulated/spec.json")).unwrap(),
    )
    .unwrap();
    spec["data"]["path"] = json!(sim.join("data.csv").to_str().unwrap());
    spec["model"]["chains"] = json!(2);
    spec["model"]["tune"] = json!(400);
    spec["model"]["draws"] = json!(300);
    (spec, truth)
}

fn write_spec(dir: &Path, name: &str, spec: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(spec).unwrap()).unwrap();
    p
}

/// Every national channel's contribution is the sum of its geos' in results.json.
fn assert_national_contributions_sum_over_geos(r: &Value) {
    let geos = r["geos"].as_array().expect("results.json geos");
    for (c, ch) in r["channels"].as_array().unwrap().iter().enumerate() {
        let sum: f64 = geos
            .iter()
            .map(|g| g["channels"][c]["contribution"].as_f64().unwrap())
            .sum();
        assert!(close(ch["contribution"].as_f64().unwrap(), sum, 1e-9));
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn a_panel_fitted_jointly_adds_up_and_recovers_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, truth) = simulate_and_spec(dir.path());
    let spec_path = write_spec(dir.path(), "spec.json", &spec);
    let out = dir.path().join("out");
    let r = run_ok(&spec_path, &out);

    // national channels are the sums of the geos'
    let geos = r["geos"].as_array().expect("results.json geos");
    assert_eq!(geos.len(), GEOS);
    let channels = r["channels"].as_array().unwrap();
    for (c, ch) in channels.iter().enumerate() {
        let name = ch["name"].as_str().unwrap();
        let (mut contribution, mut spend) = (0.0, 0.0);
        for g in geos {
            let gc = &g["channels"][c];
            assert_eq!(gc["name"], name);
            contribution += gc["contribution"].as_f64().unwrap();
            spend += gc["spend"].as_f64().unwrap();
            let roi = gc["roi"].as_f64().unwrap();
            assert!(gc["roi_ci_low"].as_f64().unwrap() <= roi);
            assert!(roi <= gc["roi_ci_high"].as_f64().unwrap());
        }
        assert!(
            close(contribution, ch["contribution"].as_f64().unwrap(), 1e-9),
            "{name}: geos sum to {contribution}, national {}",
            ch["contribution"]
        );
        assert!(close(spend, ch["spend"].as_f64().unwrap(), 1e-9));
    }

    // decomposition: one row per geo × period, a channel's column sums to its contribution,
    // and each row's parts sum to its prediction
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
        assert!(
            close(total, ch["contribution"].as_f64().unwrap(), 1e-6),
            "{name}: decomposition {total} vs {}",
            ch["contribution"]
        );
    }

    // the optimizer plans on the sum of the geos' curves: its current KPI is the curves' sum
    let opt = &r["optimization"];
    let current: f64 = r["response_curves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["current_response"].as_f64().unwrap())
        .sum();
    assert!(
        close(opt["expected_kpi_current"].as_f64().unwrap(), current, 1e-6),
        "{} vs {current}",
        opt["expected_kpi_current"]
    );
    assert!(opt["expected_kpi_optimal"].as_f64().unwrap() >= current * (1.0 - 1e-9));

    // SQLite and the report carry the geos
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
    assert!(html.contains("id=\"section-geos\""));
    assert_eq!(html.matches("data-geo=\"").count(), GEOS);

    // the truth: the flighted channel's national ROI within 10%, the truth inside the national
    // 94% intervals for at least two of the three channels (one seed; the always-on channels
    // are biased low by the Hill priors, docs/geo.md "Known limits"), and most per-geo ROIs
    // inside theirs
    let true_roi = |list: &Value, name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["roi"]
            .as_f64()
            .unwrap()
    };
    let mut national_inside = 0;
    for ch in channels {
        let name = ch["name"].as_str().unwrap();
        let t = true_roi(&truth["channels"], name);
        let (roi, lo, hi) = (
            ch["roi"].as_f64().unwrap(),
            ch["roi_ci_low"].as_f64().unwrap(),
            ch["roi_ci_high"].as_f64().unwrap(),
        );
        eprintln!("{name}: ROI {roi} [{lo}, {hi}], truth {t}");
        if name == "tv" {
            // flighted (on five weeks, off three): identified, within 10%
            assert!(
                (roi / t - 1.0).abs() < 0.1,
                "{name}: ROI {roi} vs truth {t}"
            );
        }
        national_inside += (lo <= t && t <= hi) as usize;
    }
    assert!(
        national_inside + 1 >= channels.len(),
        "{national_inside} national intervals hold the truth"
    );
    let mut inside = 0;
    for g in geos {
        let tg = truth["geos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == g["name"])
            .unwrap();
        for c in g["channels"].as_array().unwrap() {
            let t = true_roi(&tg["channels"], c["name"].as_str().unwrap());
            inside += (c["roi_ci_low"].as_f64().unwrap() <= t
                && t <= c["roi_ci_high"].as_f64().unwrap()) as usize;
        }
    }
    let pairs = GEOS * channels.len();
    assert!(
        inside as f64 >= 0.8 * pairs as f64,
        "{inside} of {pairs} per-geo ROI intervals hold the truth"
    );

    // the saved model is a geo fit, which mmm predict refuses clearly
    let plan = dir.path().join("plan.csv");
    std::fs::write(&plan, "date,tv,search,social\n2024-07-01,1,1,1\n").unwrap();
    let o = mmm(&[
        "predict",
        out.to_str().unwrap(),
        "--plan",
        plan.to_str().unwrap(),
        "--out",
        dir.path().join("pred").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("joint geo fit"), "{}", stderr(&o));
}

/// What a joint geo fit does not offer yet is refused before any fitting, naming the spec path
/// and the way out.
#[test]
fn unsupported_options_of_a_geo_fit_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, _) = simulate_and_spec(dir.path());
    let cases = [
        (
            "validation",
            json!({"validation": {"test_fraction": 0.2}}),
            "/validation",
        ),
        (
            "media_prior",
            json!({"model": {"media_prior": "contribution_share"}}),
            "/model/media_prior",
        ),
        (
            "likelihood",
            json!({"model": {"likelihood": "student_t"}}),
            "/model/likelihood",
        ),
    ];
    for (name, patch, path) in cases {
        let mut s = spec.clone();
        for (k, v) in patch.as_object().unwrap() {
            match (s.get_mut(k), v) {
                (Some(Value::Object(o)), Value::Object(p)) => {
                    for (pk, pv) in p {
                        o.insert(pk.clone(), pv.clone());
                    }
                }
                _ => {
                    s[k] = v.clone();
                }
            }
        }
        let p = write_spec(dir.path(), &format!("{name}.json"), &s);
        let out = dir.path().join(format!("out-{name}"));
        expect_run_refused(name, &p, &out, &[path, "\"national\""]);
    }
}

/// `media_prior: "roi"` on the hierarchical fit (Meridian's ROI parameterization): the
/// national ROI `<channel>.roi` is sampled, and the national ROI reported per channel (the
/// geos' contributions over the channel's national spend, per draw) is that same quantity, so
/// their posterior means agree; the truth lies inside the national 94% intervals (all but at
/// most one channel, as for the coefficient priors). The centred geo effects refuse it.
#[test]
fn roi_priors_on_the_hierarchical_fit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spec, truth) = simulate_and_spec(dir.path());
    spec["model"]["media_prior"] = json!("roi");
    spec["model"]["draws"] = json!(250);
    let spec_path = write_spec(dir.path(), "roi.json", &spec);
    let r = run_ok(&spec_path, &dir.path().join("out"));
    let params = &r["posterior"]["diagnostics"]["parameters"];
    let channels = r["channels"].as_array().unwrap();
    let mut inside = 0;
    for ch in channels {
        let name = ch["name"].as_str().unwrap();
        let sampled = params[&format!("{name}.roi")]["mean"]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}.roi not in the posterior: {params}"));
        assert!(params[&format!("{name}.log_median_beta")].is_null());
        let (roi, lo, hi) = (
            ch["roi"].as_f64().unwrap(),
            ch["roi_ci_low"].as_f64().unwrap(),
            ch["roi_ci_high"].as_f64().unwrap(),
        );
        assert!(
            close(roi, sampled, 1e-6),
            "{name}: reported ROI {roi}, posterior mean of {name}.roi {sampled}"
        );
        let t = truth["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["roi"]
            .as_f64()
            .unwrap();
        eprintln!("{name}: ROI {roi} [{lo}, {hi}], sampled {sampled}, truth {t}");
        inside += (lo <= t && t <= hi) as usize;
    }
    assert!(
        inside + 1 >= channels.len(),
        "{inside} national intervals hold the truth"
    );

    spec["model"]["geo_effects"] = json!("centered");
    let p = write_spec(dir.path(), "roi-centred.json", &spec);
    let out = dir.path().join("out-centred");
    expect_run_refused("roi-centred", &p, &out, &["/model/geo_effects"]);
}

/// `geo_noise: "per_geo"` gives each geo its own noise scale (`sigma.<geo>` in the posterior
/// diagnostics, no shared `sigma`), and the national figures still add up over the geos.
#[test]
fn per_geo_noise_scales_are_sampled_per_geo() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spec, _) = simulate_and_spec(dir.path());
    spec["model"]["geo_noise"] = json!("per_geo");
    let spec_path = write_spec(dir.path(), "per-geo-noise.json", &spec);
    let r = run_ok(&spec_path, &dir.path().join("out"));
    let params = &r["posterior"]["diagnostics"]["parameters"];
    let geos = r["geos"].as_array().unwrap();
    for g in geos {
        let name = format!("sigma.{}", g["name"].as_str().unwrap());
        assert!(params[&name]["mean"].as_f64().unwrap() > 0.0, "{name}");
    }
    assert!(params["sigma"].is_null());
    assert_national_contributions_sum_over_geos(&r);
}

/// `"geo_allocation": true`: every channel × geo is a decision variable. Against the same fit
/// planned nationally (each geo at its current share): the per-geo current spends sum to the
/// national ones and the current expected KPI is the same, the per-geo optimum brings at least
/// as much KPI at the same budget, and every pair keeps its bounds (a geo's own entry, the
/// default elsewhere). The per-geo plan reaches results.json, SQLite and the report; a geo name
/// that is not in the panel, and geo_allocation without a joint geo fit, fail before the fit.
#[test]
fn geo_allocation_plans_every_channel_in_every_geo() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spec, _) = simulate_and_spec(dir.path());
    spec["model"]["tune"] = json!(300);
    spec["model"]["draws"] = json!(200);
    let national_path = write_spec(dir.path(), "national.json", &spec);
    let national = run_ok(&national_path, &dir.path().join("out-national"));
    let geo_names: Vec<String> = national["geos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(geo_names.len(), GEOS);
    let loose = geo_names[1].clone();
    let mut geo_spec = spec.clone();
    geo_spec["optimizer"]["geo_allocation"] = json!(true);
    geo_spec["optimizer"]["bounds"]["geos"] =
        json!({ loose.as_str(): {"min_change": -0.5, "max_change": 0.5} });
    let geo_path = write_spec(dir.path(), "geo.json", &geo_spec);
    let out = dir.path().join("out-geo");
    let r = run_ok(&geo_path, &out);

    let (a, b) = (&national["optimization"], &r["optimization"]);
    let f = |v: &Value| v.as_f64().unwrap();
    // same curves and budget, sums per channel, at least the national-share optimum's KPI
    let plan = assert_geo_plan_adds_up("hierarchical", a, b, GEOS);
    // every pair within its bounds: ±50% in the loose geo, ±20% elsewhere
    let mut moved_beyond_default = 0;
    for p in &plan {
        let (cur, opt) = (f(&p["current_spend"]), f(&p["optimal_spend"]));
        let limit = if p["geo"] == loose.as_str() { 0.5 } else { 0.2 };
        let tol = 1e-9 * cur.max(1.0);
        assert!(
            opt >= (1.0 - limit) * cur - tol && opt <= (1.0 + limit) * cur + tol,
            "{p}"
        );
        moved_beyond_default += ((opt / cur - 1.0).abs() > 0.2 + 1e-6) as usize;
    }
    eprintln!("{moved_beyond_default} pairs of {loose} moved by more than 20%");
    assert!(b["details"]["posterior_lift"]["lift"].is_number());

    // SQLite and the report carry the per-geo plan
    let db = rusqlite::Connection::open(out.join("results.sqlite")).unwrap();
    let n: i64 = db
        .query_row("SELECT COUNT(*) FROM budget_optimization_geo", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n as usize, plan.len());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("id=\"table-budget-geo\""));
    assert_eq!(html.matches("data-pair=\"").count(), plan.len());

    // (3) clear errors before any fitting
    let mut bad = geo_spec.clone();
    bad["optimizer"]["bounds"]["geos"] = json!({"Atlantis": {"max_change": 0.1}});
    let mut national_fit = geo_spec.clone();
    national_fit["model"]["geo"] = json!("national");
    let mut bad_pair = geo_spec.clone();
    bad_pair["optimizer"]["bounds"]["channels"] = json!({"tv / Atlantis": {"max": 1.0}});
    for (name, s, fragments) in [
        (
            "bad-geo",
            &bad,
            vec!["/optimizer/bounds/geos/Atlantis", "no geo 'Atlantis'"],
        ),
        (
            "bad-pair",
            &bad_pair,
            vec!["/optimizer/bounds/channels/tv / Atlantis", "no channel"],
        ),
        (
            "national-fit",
            &national_fit,
            vec!["/optimizer/geo_allocation", "joint geo fit"],
        ),
    ] {
        let p = write_spec(dir.path(), &format!("{name}.json"), s);
        let o_dir = dir.path().join(format!("out-{name}"));
        expect_run_refused(name, &p, &o_dir, &fragments);
    }
}

/// `geo_controls`/`geo_trend: "per_geo"` on a panel whose geos differ in price effect and
/// trend (`control_sd_log`, `trend_sd_log` 0.5): each geo gets its own price coefficient and
/// trend slope around the national ones (`price.spread`, `price.<geo>.offset`, `trend.spread`,
/// …), and each geo's price coefficient (its decomposition column over its price) is closer to
/// the truth than with national controls (measured on the 12 × 104 panel: mean relative error
/// 0.112 against 0.455); the decomposition's parts add up to each geo × period's prediction,
/// each geo's predictions are centred on its data (the derived intercepts hold the per-geo
/// control terms), and the national figures are the geos' sums. Without a trend, `geo_trend` is
/// a clear error before any fitting.
#[test]
fn per_geo_control_and_trend_coefficients() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spec, _) = simulate_and_spec(dir.path());
    let mut simspec: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/geo/simspec.json")).unwrap(),
    )
    .unwrap();
    simspec["periods"] = json!(PERIODS);
    simspec["geos"]["count"] = json!(GEOS);
    simspec["geos"]["control_sd_log"] = json!(0.5);
    simspec["geos"]["trend_sd_log"] = json!(0.5);
    let (sim, truth) = simulate(dir.path(), "sim-controls", &simspec);
    spec["data"]["path"] = json!(sim.join("data.csv").to_str().unwrap());
    let national = run_ok(
        &write_spec(dir.path(), "national-controls.json", &spec),
        &dir.path().join("out-national"),
    );
    assert!(national["geos"].is_array());
    spec["model"]["geo_controls"] = json!("per_geo");
    spec["model"]["geo_trend"] = json!("per_geo");
    let spec_path = write_spec(dir.path(), "per-geo-controls.json", &spec);
    let out = dir.path().join("out");
    let r = run_ok(&spec_path, &out);
    // per-geo price coefficients in the data's units: the decomposition's price column over
    // the geo's price, against r_g·γ_{g,price}
    let price_error = |out: &Path| -> f64 {
        let data = std::fs::read_to_string(sim.join("data.csv")).unwrap();
        let mut lines = data.lines();
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        let (gi, pi) = (0, head.iter().position(|h| *h == "price").unwrap());
        let mut price_sum = std::collections::BTreeMap::<String, f64>::new();
        for l in lines {
            let row: Vec<&str> = l.split(',').collect();
            *price_sum.entry(row[gi].to_string()).or_default() += row[pi].parse::<f64>().unwrap();
        }
        let dec = std::fs::read_to_string(out.join("decomposition.csv")).unwrap();
        let mut lines = dec.lines();
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        let pj = head.iter().position(|h| *h == "price").unwrap();
        let mut col_sum = std::collections::BTreeMap::<String, f64>::new();
        for l in lines {
            let row: Vec<&str> = l.split(',').collect();
            *col_sum.entry(row[1].to_string()).or_default() += row[pj].parse::<f64>().unwrap();
        }
        let geos = truth["geos"].as_array().unwrap();
        geos.iter()
            .map(|g| {
                let name = g["name"].as_str().unwrap();
                let t = g["controls"][0]["coefficient"].as_f64().unwrap()
                    * g["relative_size"].as_f64().unwrap();
                (col_sum[name] / price_sum[name] / t - 1.0).abs()
            })
            .sum::<f64>()
            / geos.len() as f64
    };
    let (per_geo, pooled) = (
        price_error(&out),
        price_error(&dir.path().join("out-national")),
    );
    eprintln!(
        "per-geo price coefficients, mean relative error: per geo {per_geo}, national {pooled}"
    );
    assert!(per_geo < pooled, "per geo {per_geo} vs national {pooled}");
    let params = &r["posterior"]["diagnostics"]["parameters"];
    let geos = r["geos"].as_array().unwrap();
    for column in ["price", "trend"] {
        assert!(params[format!("{column}.spread")]["mean"].as_f64().unwrap() > 0.0);
        for g in geos {
            let name = format!("{column}.{}.offset", g["name"].as_str().unwrap());
            assert!(params[&name]["mean"].is_number(), "{name}");
        }
    }
    assert!(params["sin_52.18_1.spread"].is_null());
    assert_national_contributions_sum_over_geos(&r);
    let text = std::fs::read_to_string(out.join("decomposition.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..4], ["date", "geo", "actual", "predicted"]);
    let mut by_geo: std::collections::BTreeMap<String, (f64, f64, usize)> = Default::default();
    for line in lines {
        let row: Vec<&str> = line.split(',').collect();
        let num = |s: &str| s.parse::<f64>().unwrap();
        let parts: f64 = row[4..].iter().map(|v| num(v)).sum();
        assert!(close(parts, num(row[3]), 1e-9), "{line}");
        let e = by_geo.entry(row[1].to_string()).or_default();
        e.0 += num(row[2]);
        e.1 += num(row[3]);
        e.2 += 1;
    }
    assert_eq!(by_geo.len(), GEOS);
    for (geo, (actual, predicted, n)) in by_geo {
        assert_eq!(n, PERIODS);
        assert!(
            (actual - predicted).abs() < 0.02 * actual.abs(),
            "{geo}: mean actual {} vs predicted {}",
            actual / n as f64,
            predicted / n as f64
        );
    }

    let mut no_trend = spec.clone();
    no_trend["baseline"]["trend"] = json!(false);
    let p = write_spec(dir.path(), "no-trend.json", &no_trend);
    let o_dir = dir.path().join("out-no-trend");
    expect_run_refused("no-trend", &p, &o_dir, &["/model/geo_trend"]);
}
