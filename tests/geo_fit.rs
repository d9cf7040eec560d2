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

/// A JSON file of the project, by its path from the root.
fn read_json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join(path)).unwrap()).unwrap()
}

/// Simulates the example panel (`examples/geo/simspec.json`) with `GEOS` geos × `PERIODS`
/// weeks, after `edit` changes its simspec, into `dir/name`: the data's folder and truth.json.
fn simulate_panel(dir: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> (PathBuf, Value) {
    let mut simspec = read_json("examples/geo/simspec.json");
    simspec["periods"] = json!(PERIODS);
    simspec["geos"]["count"] = json!(GEOS);
    edit(&mut simspec);
    simulate(dir, name, &simspec)
}

/// Simulates the example panel with `GEOS` geos × `PERIODS` weeks into `dir/sim` and returns
/// the example spec pointed at it with short chains.
fn simulate_and_spec(dir: &Path) -> (Value, Value) {
    let (sim, truth) = simulate_panel(dir, "sim", |_| {});
    let mut spec = read_json("examples/geo/simulated/spec.json");
    spec["data"]["path"] = json!(sim.join("data.csv").to_str().unwrap());
    spec["model"]["chains"] = json!(2);
    spec["model"]["tune"] = json!(400);
    spec["model"]["draws"] = json!(300);
    (spec, truth)
}

/// Writes `spec` to `dir/<name>.json`, runs it into `dir/out-<name>` and returns results.json.
fn fit_spec(dir: &Path, name: &str, spec: &Value) -> Value {
    run_ok(
        &write_spec(dir, &format!("{name}.json"), spec),
        &dir.join(format!("out-{name}")),
    )
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
    let cases = [(
        "media_prior",
        json!({"model": {"media_prior": "contribution_share"}}),
        "/model/media_prior",
    )];
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
    // an option of the joint fit on a national fit is a mistake, not silently ignored
    for option in ["geo_transforms", "geo_controls", "geo_noise"] {
        let mut s = spec.clone();
        s["model"]["geo"] = json!("national");
        s["model"][option] = json!("per_geo");
        let p = write_spec(dir.path(), &format!("{option}.json"), &s);
        let out = dir.path().join(format!("out-{option}"));
        let path = format!("/model/{option}");
        expect_run_refused(option, &p, &out, &[&path, "\"geo\": \"hierarchical\""]);
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

/// `"likelihood": "student_t"` on the hierarchical fit: with one row in 29 of the panel's KPI
/// raised by half (outliers), the Student-t fit's national ROIs stay with those of a normal fit
/// on the clean data, and so do its intervals, while a normal fit on the outliers moves and
/// widens (measured: distances 0.08 against 0.58; mean HDI widths 0.64, clean 0.59, against 1.95).
#[test]
fn student_t_noise_resists_outliers() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spec, _) = simulate_and_spec(dir.path());
    spec.as_object_mut().unwrap().remove("optimizer");
    let clean = fit_spec(dir.path(), "clean", &spec);
    let path = spec["data"]["path"].as_str().unwrap().to_string();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let sales = header.split(',').position(|h| h == "sales").unwrap();
    let mut dirty = format!("{header}\n");
    for (i, line) in lines.enumerate() {
        let mut row: Vec<String> = line.split(',').map(String::from).collect();
        if i % 29 == 7 {
            row[sales] = format!("{:.4}", row[sales].parse::<f64>().unwrap() * 1.5);
        }
        dirty += &(row.join(",") + "\n");
    }
    let dirty_path = dir.path().join("dirty.csv");
    std::fs::write(&dirty_path, dirty).unwrap();
    spec["data"]["path"] = json!(dirty_path.to_str().unwrap());
    let normal = fit_spec(dir.path(), "normal", &spec);
    spec["model"]["likelihood"] = json!("student_t");
    let robust = fit_spec(dir.path(), "student", &spec);
    let rois = |r: &Value| -> Vec<[f64; 3]> {
        r["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let f = |k: &str| c[k].as_f64().unwrap();
                [f("roi"), f("roi_ci_low"), f("roi_ci_high")]
            })
            .collect()
    };
    let (c, n, t) = (rois(&clean), rois(&normal), rois(&robust));
    let distance =
        |a: &[[f64; 3]]| -> f64 { a.iter().zip(&c).map(|(x, y)| (x[0] - y[0]).abs()).sum() };
    let width =
        |a: &[[f64; 3]]| -> f64 { a.iter().map(|x| x[2] - x[1]).sum::<f64>() / a.len() as f64 };
    eprintln!(
        "distance to the clean fit's ROIs: student-t {:.3}, normal {:.3}; mean HDI width: \
         clean {:.3}, student-t {:.3}, normal {:.3}",
        distance(&t),
        distance(&n),
        width(&c),
        width(&t),
        width(&n)
    );
    assert!(distance(&t) < 0.5 * distance(&n));
    assert!(width(&t) < 1.5 * width(&c) && width(&t) < 0.6 * width(&n));
    assert_national_contributions_sum_over_geos(&robust);
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
    let (sim, truth) = simulate_panel(dir.path(), "sim-controls", |s| {
        s["geos"]["control_sd_log"] = json!(0.5);
        s["geos"]["trend_sd_log"] = json!(0.5);
    });
    spec["data"]["path"] = json!(sim.join("data.csv").to_str().unwrap());
    let national = fit_spec(dir.path(), "national-controls", &spec);
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
        price_error(&dir.path().join("out-national-controls")),
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

/// A fit's per-geo scores against a panel's truth: how many geo × channel adstock decays
/// its HDIs hold, the mean absolute decay error and the mean relative ROI error (a shared
/// decay is scored against every geo's own).
fn transform_scores(truth: &Value, r: &Value) -> (usize, f64, f64) {
    let params = &r["posterior"]["diagnostics"]["parameters"];
    let (mut held, mut decay_err, mut roi_err, mut n) = (0, 0.0, 0.0, 0.0);
    for g in truth["geos"].as_array().unwrap() {
        let geo = g["name"].as_str().unwrap();
        let fit = r["geos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == geo);
        for t in g["transforms"].as_array().unwrap() {
            let ch = t["channel"].as_str().unwrap();
            let want = t["params"]["geometric_adstock.decay"].as_f64().unwrap();
            let own = format!("{ch}.{geo}.geometric_adstock.decay");
            let p = match params[&own].is_object() {
                true => &params[&own],
                false => &params[format!("{ch}.geometric_adstock.decay")],
            };
            let f = |k: &str| p[k].as_f64().unwrap();
            held += (f("hdi_low") <= want && want <= f("hdi_high")) as usize;
            decay_err += (f("mean") - want).abs();
            let roi_of = |geo: &Value| {
                geo["channels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["name"] == ch)
                    .unwrap()["roi"]
                    .as_f64()
                    .unwrap()
            };
            roi_err += (roi_of(fit.unwrap()) / roi_of(g) - 1.0).abs();
            n += 1.0;
        }
    }
    (held, decay_err / n, roi_err / n)
}

/// `geo_transforms: "per_geo"` on a panel whose geos differ in carry-over and saturation
/// (`transform_sd` 0.5): each geo samples its own chain parameters
/// (`<channel>.<geo>.<transform>.<param>`), whose HDIs hold the simulated decays where one
/// shared set cannot, and each geo's ROI is closer to the truth than with shared transforms
/// (figures printed; on this panel per-geo decay HDIs hold 14 of 15 truths against 10,
/// mean absolute decay error 0.055 against 0.098, mean relative ROI error 0.28 against 0.61).
/// A channel-level prior (`search.geometric_adstock.decay`) applies to every geo's parameter,
/// the per-geo optimizer plans on each geo's own curves, no national lag profile is reported
/// (each geo has its own), and a prior key for a geo the panel lacks is a clear error.
#[test]
fn per_geo_transform_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spec, _) = simulate_and_spec(dir.path());
    let (sim, truth) = simulate_panel(dir.path(), "sim-transforms", |s| {
        s["geos"]["transform_sd"] = json!(0.5);
    });
    spec["data"]["path"] = json!(sim.join("data.csv").to_str().unwrap());
    spec.as_object_mut().unwrap().remove("optimizer");
    let shared = fit_spec(dir.path(), "shared", &spec);
    spec["model"]["geo_transforms"] = json!("per_geo");
    let per_geo = fit_spec(dir.path(), "per-geo", &spec);
    let (a, b) = (
        transform_scores(&truth, &shared),
        transform_scores(&truth, &per_geo),
    );
    eprintln!(
        "shared transforms: decays held {}/15, decay error {:.3}, ROI error {:.3}",
        a.0, a.1, a.2
    );
    eprintln!(
        "per-geo transforms: decays held {}/15, decay error {:.3}, ROI error {:.3}",
        b.0, b.1, b.2
    );
    assert!(
        b.0 >= 11 && b.0 > a.0,
        "per-geo decay HDIs held {} of 15",
        b.0
    );
    assert!(b.1 < a.1 && b.2 < a.2, "per geo {b:?} vs shared {a:?}");
    let params = &per_geo["posterior"]["diagnostics"]["parameters"];
    assert!(params["tv.geometric_adstock.decay"].is_null());
    assert!(params["social.Geo4.hill.shape"]["mean"].is_number());
    assert_national_contributions_sum_over_geos(&per_geo);
    for c in per_geo["response_curves"].as_array().unwrap() {
        assert!(c["adstock_weights"].is_null(), "{}", c["channel"]);
        assert!(c["current_response"].as_f64().unwrap() > 0.0);
    }
    assert!(shared["response_curves"][0]["adstock_weights"].is_array());

    // a channel-level prior reaches every geo; the optimizer plans on the geos' own curves
    let mut pinned = spec.clone();
    pinned["model"]["chains"] = json!(1);
    pinned["model"]["tune"] = json!(300);
    pinned["model"]["draws"] = json!(200);
    pinned["model"]["priors"] =
        json!({"search.geometric_adstock.decay": {"type": "beta", "alpha": 300.0, "beta": 700.0}});
    pinned["optimizer"] = json!({"type": "max_response", "budget": {"multiple_of_current": 1.0},
        "geo_allocation": true, "bounds": {"default": {"min_change": -0.2, "max_change": 0.2}}});
    let r = fit_spec(dir.path(), "pinned", &pinned);
    let params = &r["posterior"]["diagnostics"]["parameters"];
    for g in 0..GEOS {
        let m = params[format!("search.Geo{g}.geometric_adstock.decay")]["mean"]
            .as_f64()
            .unwrap();
        assert!(
            (m - 0.3).abs() < 0.05,
            "Geo{g}: search decay {m} under Beta(300, 700)"
        );
    }
    let mut national_plan = pinned.clone();
    national_plan["optimizer"]["geo_allocation"] = json!(false);
    let n = fit_spec(dir.path(), "pinned-national", &national_plan);
    assert_geo_plan_adds_up(
        "per-geo transforms",
        &n["optimization"],
        &r["optimization"],
        GEOS,
    );

    let mut bad = spec.clone();
    bad["model"]["priors"] =
        json!({"tv.Atlantis.geometric_adstock.decay": {"type": "beta", "alpha": 2.0, "beta": 2.0}});
    let p = write_spec(dir.path(), "bad-prior.json", &bad);
    expect_run_refused(
        "bad-prior",
        &p,
        &dir.path().join("out-bad-prior"),
        &[
            "/model/priors/tv.Atlantis.geometric_adstock.decay",
            "tv.Geo0.geometric_adstock.decay",
        ],
    );
}

/// The per-geo transform study behind docs/geo.md's figures (`cargo test --release --test
/// geo_fit -- --ignored per_geo_transforms_study --nocapture`): `MMM_GEO_REPS` replicates
/// (default 3) of the example panel (12 geos × 104 weeks) with `transform_sd` 0.4, each fitted
/// with shared and with per-geo transforms (the example's 4 chains × (1,000 + 1,000)), scored
/// by [`transform_scores`].
#[test]
#[ignore]
fn per_geo_transforms_study() {
    let reps: u64 = std::env::var("MMM_GEO_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let mut totals = [(0usize, 0.0f64, 0.0f64); 2];
    let mut pairs = 0;
    for rep in 0..reps {
        let mut simspec = read_json("examples/geo/simspec.json");
        simspec["seed"] = json!(100 + rep);
        simspec["geos"]["transform_sd"] = json!(0.4);
        let (sim, truth) = simulate(dir.path(), &format!("sim{rep}"), &simspec);
        pairs += truth["geos"].as_array().unwrap().len() * 3;
        let mut spec = read_json("examples/geo/simulated/spec.json");
        spec["seed"] = json!(rep);
        spec["data"]["path"] = json!(sim.join("data.csv").to_str().unwrap());
        spec.as_object_mut().unwrap().remove("optimizer");
        for (k, mode) in ["national", "per_geo"].into_iter().enumerate() {
            spec["model"]["geo_transforms"] = json!(mode);
            let name = format!("rep{rep}-{mode}");
            let r = run_ok(
                &write_spec(dir.path(), &format!("{name}.json"), &spec),
                &dir.path().join(name),
            );
            let s = transform_scores(&truth, &r);
            let d = &r["posterior"]["diagnostics"];
            eprintln!(
                "replicate {rep}, {mode}: decays held {}, decay error {:.3}, ROI error {:.3}; \
                 divergences {}, max R-hat {:.3}, min bulk ESS {:.0}",
                s.0,
                s.1,
                s.2,
                d["divergences"],
                d["parameters"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|p| p["r_hat"].as_f64().unwrap_or(1.0))
                    .fold(0.0, f64::max),
                d["parameters"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|p| p["ess_bulk"].as_f64().unwrap_or(f64::INFINITY))
                    .fold(f64::INFINITY, f64::min),
            );
            totals[k].0 += s.0;
            totals[k].1 += s.1 / reps as f64;
            totals[k].2 += s.2 / reps as f64;
        }
    }
    for (k, mode) in ["shared", "per-geo"].into_iter().enumerate() {
        eprintln!(
            "{mode} transforms over {reps} replicates: decays held {}/{pairs}, mean decay error \
             {:.3}, mean ROI error {:.3}",
            totals[k].0, totals[k].1, totals[k].2
        );
    }
    assert!(totals[1].2 < totals[0].2);
}

/// Lift tests on the hierarchical fit: a holdout of social in two geos and a national cut of
/// search, simulated on the panel with their true lifts (`mmm simulate` `lift_tests` with
/// `geos`), enter the likelihood (`calibration.fitted_to_tests`); each test's model lift has an
/// HDI holding the true lift, and social's national ROI moves towards the truth with a narrower
/// interval than without the tests (measured: 0.766 [0.607, 0.915] against 0.603 [0.244,
/// 1.035], truth 0.799). The same tests on a national fit of the panel run too (the holdout is
/// then a cut of the national spend by the two geos' spend); a test naming a geo the panel lacks,
/// or geos on national data, is a clear error.
#[test]
fn lift_tests_calibrate_the_hierarchical_fit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spec, _) = simulate_and_spec(dir.path());
    let (sim, truth) = simulate_panel(dir.path(), "sim-lifts", |s| {
        s["lift_tests"] = json!([
            {"channel": "social", "start": "2023-06-05", "end": "2023-07-10", "holdout": true,
             "standard_error": 3000.0, "geos": ["Geo1", "Geo3"]},
            {"channel": "search", "start": "2023-09-04", "end": "2023-10-09",
             "spend_change": -20000.0, "standard_error": 3000.0}
        ]);
    });
    spec["data"]["path"] = json!(sim.join("data.csv").to_str().unwrap());
    spec.as_object_mut().unwrap().remove("optimizer");
    let plain = fit_spec(dir.path(), "plain", &spec);
    let tests: Value =
        serde_json::from_str(&std::fs::read_to_string(sim.join("calibration.json")).unwrap())
            .unwrap();
    spec["calibration"] = tests.clone();
    let r = fit_spec(dir.path(), "calibrated", &spec);
    let cal = &r["calibration"];
    assert_eq!(cal["fitted_to_tests"], true);
    let f = |v: &Value| v.as_f64().unwrap();
    for (k, t) in cal["tests"].as_array().unwrap().iter().enumerate() {
        let want = f(&truth["lift_tests"][k]["true_lift"]);
        assert!(
            f(&t["model_lift_ci_low"]) <= want && want <= f(&t["model_lift_ci_high"]),
            "{t} vs true lift {want}"
        );
    }
    assert!(cal["tests"][0]["name"]
        .as_str()
        .unwrap()
        .ends_with("in Geo1, Geo3"));
    let roi = |r: &Value| -> [f64; 3] {
        let c = r["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "social")
            .unwrap();
        [f(&c["roi"]), f(&c["roi_ci_low"]), f(&c["roi_ci_high"])]
    };
    let want = truth["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "social")
        .unwrap()["roi"]
        .as_f64()
        .unwrap();
    let (a, b) = (roi(&plain), roi(&r));
    eprintln!("social ROI: without tests {a:?}, with {b:?}, truth {want}");
    assert!(b[1] <= want && want <= b[2]);
    assert!((b[0] - want).abs() < (a[0] - want).abs());
    assert!(b[2] - b[1] < 0.6 * (a[2] - a[1]));
    assert_national_contributions_sum_over_geos(&r);

    // the national fit of the panel takes the same tests
    let mut national = spec.clone();
    national["model"]["geo"] = json!("national");
    national["model"]["tune"] = json!(300);
    national["model"]["draws"] = json!(200);
    let n = fit_spec(dir.path(), "national-calibrated", &national);
    assert_eq!(n["calibration"]["tests"].as_array().unwrap().len(), 2);

    let mut bad = spec.clone();
    bad["calibration"][0]["geos"] = json!(["Geo1", "Atlantis"]);
    let p = write_spec(dir.path(), "bad-geo.json", &bad);
    expect_run_refused(
        "bad-geo",
        &p,
        &dir.path().join("out-bad-geo"),
        &["/calibration/0/geos/1", "no geo 'Atlantis'"],
    );
    let mut flat = spec.clone();
    let d = flat["data"].as_object_mut().unwrap();
    d.remove("geo");
    d.remove("population");
    flat["model"]["geo"] = json!("national");
    // the panel's rows without its geo column are not a national table: use one geo's rows
    let data = std::fs::read_to_string(sim.join("data.csv")).unwrap();
    let mut lines = data.lines();
    let header = lines.next().unwrap();
    let mut one = format!("{header}\n");
    for l in lines.filter(|l| l.starts_with("Geo0,")) {
        one += &(l.to_string() + "\n");
    }
    let one_path = dir.path().join("one-geo.csv");
    std::fs::write(&one_path, one).unwrap();
    flat["data"]["path"] = json!(one_path.to_str().unwrap());
    let p = write_spec(dir.path(), "no-panel.json", &flat);
    expect_run_refused(
        "no-panel",
        &p,
        &dir.path().join("out-no-panel"),
        &["/calibration/0/geos", "not a panel"],
    );
}

/// Out-of-sample validation of the hierarchical fit: trained on the first 85% of every geo's
/// weeks, it predicts the rest from each geo's own coefficients and chains (carry-over from the
/// training weeks included); its training metrics are those of a fit on the training weeks, and
/// it predicts the held-out national KPI at least as well as the national fit of the same panel
/// (measured: test MAPE 1.1% against 1.4%). The national Bayesian fit's validation predicts
/// with its sampled transforms (its training R² was −22.7 when the spec's chain was used).
#[test]
fn validation_predicts_held_out_weeks_of_every_geo() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spec, _) = simulate_and_spec(dir.path());
    spec.as_object_mut().unwrap().remove("optimizer");
    spec["validation"] = json!({"test_fraction": 0.15});
    let joint = fit_spec(dir.path(), "joint", &spec);
    spec["model"]["geo"] = json!("national");
    let national = fit_spec(dir.path(), "national", &spec);
    let f = |v: &Value| v.as_f64().unwrap();
    let split = |r: &Value| r["validation"]["split"].clone();
    let (a, b) = (split(&joint), split(&national));
    eprintln!(
        "train R² {:.4} / {:.4}, test MAPE {:.4} / {:.4} (joint / national)",
        f(&a["train"]["r2"]),
        f(&b["train"]["r2"]),
        f(&a["test"]["mape"]),
        f(&b["test"]["mape"])
    );
    assert_eq!(f(&a["n_test"]) as usize, 12);
    for s in [&a, &b] {
        assert!(f(&s["train"]["r2"]) > 0.97, "{s}");
        assert!(f(&s["test"]["mape"]) < 0.03, "{s}");
    }
    assert!(f(&a["test"]["mape"]) <= f(&b["test"]["mape"]));
}
