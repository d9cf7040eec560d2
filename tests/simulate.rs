//! `mmm simulate`: determinism, truth against recomputation, spend pattern shapes, bad specs.

mod common;

use common::{assert_simulation_regenerates, mmm, root, stderr};
use mmm::core::optimizer::ResponseCurves;
use mmm::core::transform::{ChainWorkspace, TransformChain};
use mmm::engine::response::ChannelCurves;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;

fn base_simspec() -> Value {
    json!({
        "name": "t", "seed": 7, "periods": 60, "frequency": "weekly", "start": "2022-01-03",
        "intercept": 1000.0, "trend": 2.0, "seasonality": {"yearly": 50.0}, "noise_sd": 10.0,
        "channels": [
            {"name": "tv", "spend": {"type": "flighted", "mean": 500.0, "on_periods": 3, "off_periods": 2, "noise": 50.0},
             "transforms": [{"type": "geometric_adstock", "decay": 0.6}, {"type": "hill", "half_saturation": 600.0, "shape": 1.5}],
             "coefficient": 800.0},
            {"name": "mail", "spend": {"type": "pulses", "amount": 300.0, "every_periods": 4, "offset": 1},
             "transforms": [{"type": "geometric_adstock", "decay": 0.3}],
             "coefficient": 1.5},
            {"name": "search", "spend": {"type": "always_on", "mean": 200.0, "noise_sd": 40.0},
             "transforms": [{"type": "scale", "by": "max"}, {"type": "logistic", "lam": 2.0}],
             "coefficient": 300.0}
        ],
        "controls": [
            {"type": "series", "name": "price", "pattern": {"type": "random_walk", "start": 5.0, "step_sd": 0.1, "min": 4.0}, "coefficient": -20.0},
            {"type": "promotion", "name": "promo", "probability": 0.3, "effect": 40.0},
            {"type": "holidays", "name": "holiday", "calendar": ["christmas", "black_friday"], "dates": ["2022-07-04"], "effect": 90.0}
        ]
    })
}

fn simulate(dir: &Path, spec: &Value) -> std::process::Output {
    let p = dir.join("simspec.json");
    std::fs::write(&p, serde_json::to_string_pretty(spec).unwrap()).unwrap();
    mmm(&[
        "-q",
        "simulate",
        p.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ])
}

/// Columns of a CSV by header.
fn columns(path: &Path) -> HashMap<String, Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let mut cols: HashMap<String, Vec<String>> =
        header.iter().map(|h| (h.clone(), Vec::new())).collect();
    for l in lines {
        for (h, v) in header.iter().zip(l.split(',')) {
            cols.get_mut(h).unwrap().push(v.to_string());
        }
    }
    cols
}

fn numbers(v: &[String]) -> Vec<f64> {
    v.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn same_spec_gives_identical_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    assert!(simulate(a.path(), &base_simspec()).status.success());
    assert!(simulate(b.path(), &base_simspec()).status.success());
    for f in ["data.csv", "truth.json"] {
        let x = std::fs::read(a.path().join("out").join(f)).unwrap();
        let y = std::fs::read(b.path().join("out").join(f)).unwrap();
        assert_eq!(x, y, "{f} differs between two runs");
    }
    // A different seed gives different data.
    let c = tempfile::tempdir().unwrap();
    let mut s = base_simspec();
    s["seed"] = json!(8);
    assert!(simulate(c.path(), &s).status.success());
    assert_ne!(
        std::fs::read(a.path().join("out/data.csv")).unwrap(),
        std::fs::read(c.path().join("out/data.csv")).unwrap()
    );
}

#[test]
fn truth_equals_recomputation_from_the_data() {
    let d = tempfile::tempdir().unwrap();
    let spec = base_simspec();
    let o = simulate(d.path(), &spec);
    assert!(o.status.success(), "{}", stderr(&o));
    let cols = columns(&d.path().join("out/data.csv"));
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("out/truth.json")).unwrap())
            .unwrap();
    let n = 60;
    let mut chains = Vec::new();
    let mut names = Vec::new();
    let mut coefs = Vec::new();
    let mut means = Vec::new();
    for (i, c) in spec["channels"].as_array().unwrap().iter().enumerate() {
        let name = c["name"].as_str().unwrap();
        let x = numbers(&cols[name]);
        let mut chain: TransformChain = serde_json::from_value(c["transforms"].clone()).unwrap();
        let mut out = vec![0.0; n];
        let mut ws = ChainWorkspace::new(&chain, n);
        chain.learn_apply(&x, &mut out, &mut ws);
        let coef = c["coefficient"].as_f64().unwrap();
        let contribution = coef * out.iter().sum::<f64>();
        let spend: f64 = x.iter().sum();
        let t = &truth["channels"][i];
        assert_eq!(t["name"], name);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        assert!(
            close(t["contribution"].as_f64().unwrap(), contribution),
            "{name} contribution"
        );
        assert!(close(t["spend"].as_f64().unwrap(), spend), "{name} spend");
        assert!(
            close(t["roi"].as_f64().unwrap(), contribution / spend),
            "{name} roi"
        );
        names.push(name.to_string());
        chains.push(chain);
        coefs.push(coef);
        means.push(spend / n as f64);
    }
    let curves = ChannelCurves::from_parts(names, chains, coefs, means.clone(), n);
    for (i, m) in means.iter().enumerate() {
        let mroi = curves.marginal(i, *m);
        let t = truth["channels"][i]["mroi"].as_f64().unwrap();
        assert!(
            (mroi - t).abs() <= 1e-9 * mroi.abs().max(1.0),
            "channel {i}: mroi {mroi} vs truth {t}"
        );
    }
    // The target is the sum of its parts up to the noise: residual sd close to noise_sd.
    assert_eq!(truth["noise_sd"], 10.0);
    let realized = truth["noise_realized_sd"].as_f64().unwrap();
    assert!(
        realized > 5.0 && realized < 15.0,
        "realized noise sd {realized}"
    );
    assert_eq!(truth["parameters"], spec);
}

#[test]
fn spend_patterns_have_the_shape_asked() {
    let d = tempfile::tempdir().unwrap();
    assert!(simulate(d.path(), &base_simspec()).status.success());
    let cols = columns(&d.path().join("out/data.csv"));
    // flighted: 3 on, 2 off.
    let tv = numbers(&cols["tv"]);
    for (t, v) in tv.iter().enumerate() {
        if t % 5 < 3 {
            assert!(*v > 0.0, "tv should be on in period {t}");
        } else {
            assert_eq!(*v, 0.0, "tv should be off in period {t}");
        }
    }
    // pulses: 300 every 4 periods from period 1, exactly (no noise).
    let mail = numbers(&cols["mail"]);
    for (t, v) in mail.iter().enumerate() {
        let expect = if t >= 1 && (t - 1) % 4 == 0 {
            300.0
        } else {
            0.0
        };
        assert_eq!(*v, expect, "mail in period {t}");
    }
    // always on: positive, mean near 200.
    let search = numbers(&cols["search"]);
    assert!(search.iter().all(|v| *v > 0.0));
    let mean = search.iter().sum::<f64>() / search.len() as f64;
    assert!((mean - 200.0).abs() < 20.0, "mean {mean}");
    // random walk within its floor; promotions 0/1; holidays on the right weeks.
    assert!(numbers(&cols["price"]).iter().all(|v| *v >= 4.0));
    assert!(cols["promo"].iter().all(|v| v == "0" || v == "1"));
    let dates = &cols["date"];
    let hol = &cols["holiday"];
    let on: Vec<&str> = dates
        .iter()
        .zip(hol)
        .filter(|(_, h)| *h == "1")
        .map(|(d, _)| d.as_str())
        .collect();
    // Weeks start on Mondays: 2022-07-04 (July 4), 2022-11-21 (Black Friday Nov 25),
    // 2022-12-19 (Christmas Dec 25).
    assert_eq!(on, vec!["2022-07-04", "2022-11-21", "2022-12-19"]);
}

#[test]
fn mediator_truth_has_direct_indirect_and_total() {
    let d = tempfile::tempdir().unwrap();
    let mut s = base_simspec();
    s["mediator"] = json!({
        "name": "google", "base": {"type": "always_on", "mean": 100.0, "noise_sd": 10.0},
        "drivers": [{"channel": "tv", "coefficient": 150.0}],
        "transforms": [], "coefficient": 2.0
    });
    let o = simulate(d.path(), &s);
    assert!(o.status.success(), "{}", stderr(&o));
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("out/truth.json")).unwrap())
            .unwrap();
    let m = &truth["mediation"];
    assert_eq!(m["mediator"], "google");
    let drv = &m["drivers"][0];
    let (direct, indirect, total) = (
        drv["direct"].as_f64().unwrap(),
        drv["indirect"].as_f64().unwrap(),
        drv["total"].as_f64().unwrap(),
    );
    assert!((direct + indirect - total).abs() < 1e-6 * total.abs());
    // Linear mediator chain: indirect = b · a · Σ f_tv (up to the rounding of the mediator column).
    let tv = &truth["channels"][0];
    let sum_f = tv["direct_contribution"].as_f64().unwrap() / 800.0;
    let expect = 2.0 * 150.0 * sum_f;
    assert!(
        (indirect - expect).abs() < 1e-3 * expect,
        "indirect {indirect} vs {expect}"
    );
    assert_eq!(tv["contribution"].as_f64().unwrap(), total);
    assert_eq!(truth["channels"][3]["name"], "google");
    assert_eq!(truth["channels"][3]["mediator"], true);
    let cols = columns(&d.path().join("out/data.csv"));
    assert!(cols.contains_key("google"));
}

fn bad(spec: Value, pointer: &str) {
    let d = tempfile::tempdir().unwrap();
    let o = simulate(d.path(), &spec);
    assert_eq!(
        o.status.code(),
        Some(2),
        "expected exit 2 for {pointer}; stderr: {}",
        stderr(&o)
    );
    let e = stderr(&o);
    assert!(e.contains(pointer), "stderr should name {pointer}: {e}");
    assert!(
        !d.path().join("out").exists(),
        "nothing is written for an invalid spec"
    );
}

#[test]
fn bad_simspecs_name_the_pointer_and_exit_2() {
    let mut s = base_simspec();
    s["channels"][0]["transforms"][0]["decay"] = json!(1.3);
    bad(s, "/channels/0/transforms/0/decay");

    let mut s = base_simspec();
    s["channels"][1]["spend"]["every_periods"] = json!(0);
    bad(s, "/channels/1/spend/every_periods");

    let mut s = base_simspec();
    s["channels"][0]["colour"] = json!("red");
    bad(s, "unknown field `colour`");

    let mut s = base_simspec();
    s["start"] = json!("2022-13-01");
    bad(s, "/start");

    let mut s = base_simspec();
    s["seasonality"]["weekend"] = json!(5.0);
    bad(s, "/seasonality/weekend");

    let mut s = base_simspec();
    s["channels"][2]["name"] = json!("tv");
    bad(s, "/channels/2/name");

    let mut s = base_simspec();
    s["mediator"] = json!({"name": "g", "base": {"type": "always_on", "mean": 1.0},
        "drivers": [{"channel": "radio", "coefficient": 1.0}], "coefficient": 1.0});
    bad(s, "/mediator/drivers/0/channel");

    let mut s = base_simspec();
    s["controls"][1]["probability"] = json!(1.5);
    bad(s, "/controls/1/probability");
}

#[test]
fn examples_regenerate_byte_for_byte_and_their_specs_validate() {
    let dir = root().join("examples/simulations");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let folder = entry.unwrap().path();
        let simspec = folder.join("simspec.json");
        if !simspec.exists() {
            continue;
        }
        n += 1;
        assert_simulation_regenerates(&folder);
        let spec = folder.join("spec.json");
        if spec.exists() {
            let o = mmm(&["validate", spec.to_str().unwrap()]);
            assert!(o.status.success(), "{}: {}", spec.display(), stderr(&o));
        }
    }
    assert!(n >= 5, "expected the five seed scenarios, found {n}");
}

#[test]
fn printed_schema_accepts_every_example_and_rejects_a_bad_one() {
    let o = mmm(&["simulate", "--schema"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let schema: Value = serde_json::from_slice(&o.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for s in ["seed000", "seed001", "seed002", "seed003", "seed004"] {
        let p = root()
            .join("examples/simulations")
            .join(s)
            .join("simspec.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", p.display());
    }
    let mut bad = base_simspec();
    bad["channels"][0]["transforms"][0]["decay"] = json!(1.3);
    assert!(!validator.is_valid(&bad));
}

/// A daily simspec with campaign rows for channels `a` and `b`.
fn campaign_simspec() -> Value {
    json!({
        "seed": 3, "periods": 20, "frequency": "daily", "start": "2024-01-01",
        "target": "revenue", "intercept": 100.0, "noise_sd": 1.0,
        "channels": [
            {"name": "a", "spend": {"type": "always_on", "mean": 50.0, "noise_sd": 5.0}, "coefficient": 0.5},
            {"name": "b", "spend": {"type": "always_on", "mean": 30.0, "noise_sd": 5.0}, "coefficient": 1.0}
        ],
        "campaign_rows": {
            "funnel": {"cpm": 10.0, "ctr": 0.1, "cvr": 0.2},
            "inject": [
                {"type": "missing", "campaign": "a", "date": "2024-01-03", "column": "clicks"},
                {"type": "set", "campaign": "b", "date": "2024-01-04", "column": "spend", "value": -1.0},
                {"type": "drop_row", "campaign": "b", "date": "2024-01-05"}
            ]
        }
    })
}

#[test]
fn campaign_rows_split_the_target_and_inject_problems() {
    let d = tempfile::tempdir().unwrap();
    let o = simulate(d.path(), &campaign_simspec());
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(d.path().join("out/data.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "date,campaign_name,spend,impressions,clicks,conversions,revenue"
    );
    assert_eq!(
        lines.len(),
        1 + 2 * 20 - 1,
        "one row per date and campaign, one dropped"
    );
    assert!(lines.iter().any(|l| l.starts_with("2024-01-04,b,-1,")));
    assert!(!lines.iter().any(|l| l.starts_with("2024-01-05,b,")));
    let a3: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("2024-01-03,a,"))
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(a3[4], "", "clicks emptied");
    // without noise on the funnel: impressions = spend / cpm · 1000, clicks = 10%, conversions = 20%
    let a1: Vec<f64> = lines[1]
        .split(',')
        .skip(2)
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(a1[1], (a1[0] / 10.0 * 1000.0).round());
    assert_eq!(a1[2], (a1[1] * 0.1).round());
    assert_eq!(a1[3], (a1[2] * 0.2).round());
    // revenue summed over campaigns is the target: intercept + effects + noise ≈ 100 + …
    let rev: f64 = lines[1..3]
        .iter()
        .map(|l| l.split(',').nth(6).unwrap().parse::<f64>().unwrap())
        .sum();
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("out/truth.json")).unwrap())
            .unwrap();
    let day1_effects: f64 =
        0.5 * a1[0] + 1.0 * lines[2].split(',').nth(2).unwrap().parse::<f64>().unwrap();
    assert!(
        (rev - 100.0 - day1_effects).abs() < 5.0,
        "{rev} vs {day1_effects}"
    );
    assert_eq!(truth["channels"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_campaign_rows_name_the_pointer() {
    let mut s = campaign_simspec();
    s["target"] = json!("sales");
    bad(s, "/target");
    let mut s = campaign_simspec();
    s["campaign_rows"]["inject"][0]["campaign"] = json!("zz");
    bad(s, "/campaign_rows/inject/0/campaign");
    let mut s = campaign_simspec();
    s["campaign_rows"]["inject"][1]["date"] = json!("2025-01-01");
    bad(s, "/campaign_rows/inject/1/date");
    let mut s = campaign_simspec();
    s["campaign_rows"]["inject"][0]["column"] = json!("cost");
    bad(s, "/campaign_rows/inject/0/column");
    let mut s = campaign_simspec();
    s["campaign_rows"]["funnels"] = json!({"zz": {"cpm": 1.0, "ctr": 0.1, "cvr": 0.1}});
    bad(s, "/campaign_rows/funnels/zz");
    let mut s = campaign_simspec();
    s["controls"] = json!([{"type": "promotion", "name": "p", "probability": 0.5, "effect": 1.0}]);
    bad(s, "/controls");
}

/// A geo panel (`examples/geo/simspec.json`): every geo's true contributions recomputed from
/// `data.csv` as a model reads it — the geo's spend divided by its relative size, through the
/// spec's chain, times the geo's coefficient, times the size — equal `truth.json`'s; the
/// national figures are the sums over the geos.
#[test]
fn geo_truth_is_recomputed_from_the_panel() {
    let dir = tempfile::tempdir().unwrap();
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/geo/simspec.json")).unwrap(),
    )
    .unwrap();
    let o = simulate(dir.path(), &spec);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("out");
    let cols = columns(&out.join("data.csv"));
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("truth.json")).unwrap()).unwrap();
    let geos = truth["geos"].as_array().unwrap();
    let periods = spec["periods"].as_u64().unwrap() as usize;
    assert_eq!(cols["geo"].len(), geos.len() * periods);
    for (i, ch) in spec["channels"].as_array().unwrap().iter().enumerate() {
        let name = ch["name"].as_str().unwrap();
        let chain: TransformChain = serde_json::from_value(ch["transforms"].clone()).unwrap();
        let spend = numbers(&cols[name]);
        let mut national = 0.0;
        for (g, geo) in geos.iter().enumerate() {
            assert!(cols["geo"][g * periods..(g + 1) * periods]
                .iter()
                .all(|v| *v == geo["name"].as_str().unwrap()));
            let r = geo["relative_size"].as_f64().unwrap();
            let per_capita: Vec<f64> = spend[g * periods..(g + 1) * periods]
                .iter()
                .map(|x| x / r)
                .collect();
            let mut c = chain.clone();
            let mut f = vec![0.0; periods];
            let mut ws = ChainWorkspace::new(&c, periods);
            c.learn_apply(&per_capita, &mut f, &mut ws);
            let t = &geo["channels"][i];
            let want = t["contribution"].as_f64().unwrap();
            let got = t["coefficient"].as_f64().unwrap() * f.iter().sum::<f64>() * r;
            assert!(
                (got - want).abs() <= 1e-9 * want.abs(),
                "{name} in {}: {got} vs {want}",
                geo["name"]
            );
            national += got;
        }
        let want = truth["channels"][i]["contribution"].as_f64().unwrap();
        assert!(
            (national - want).abs() <= 1e-9 * want.abs(),
            "{name}: {national} vs {want}"
        );
    }
}
