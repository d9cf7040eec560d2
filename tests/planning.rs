//! Saved models (`model.json`), provenance (`results.json` → `provenance`, `run.json`) and
//! `mmm predict`: a forecast of held-out weeks against the simulation's noise-free truth, the
//! byte-identity of the deterministic outputs, and clear errors for bad plans and models.

mod common;

use common::{mmm, root, small_spec, stderr, weekly_csv, write_case};
use serde_json::Value;
use std::path::Path;

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn ok(args: &[&str]) {
    let o = mmm(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
}

/// Splits a CSV text after `keep` data rows: (first part with header, the rest as a plan
/// without `drop` column).
fn split_csv(csv: &str, keep: usize, drop: &[&str]) -> (String, String) {
    let lines: Vec<&str> = csv.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let fit = lines[..=keep].join("\n") + "\n";
    let cols: Vec<usize> = (0..header.len())
        .filter(|&i| !drop.contains(&header[i]))
        .collect();
    let pick = |l: &str| {
        let v: Vec<&str> = l.split(',').collect();
        cols.iter().map(|&i| v[i]).collect::<Vec<_>>().join(",")
    };
    let mut plan = pick(lines[0]) + "\n";
    for l in &lines[keep + 1..] {
        plan.push_str(&pick(l));
        plan.push('\n');
    }
    (fit, plan)
}

/// Simulates seed000 (156 weeks, noise sd 600) and its noise-free twin (noise sd 0: the
/// expected KPI), fits the seed000 spec on the first 143 weeks and forecasts the last 13 from
/// the plan of their spend and controls, with OLS (prediction interval) and with
/// `bayesian_linear` (posterior interval of the expected KPI): every week's noise-free KPI lies
/// within the forecast's 95% interval, and the forecast is within 0.5% of it on average.
#[test]
fn forecast_of_the_last_13_weeks_agrees_with_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sim = root().join("examples/simulations/seed000");
    let mut simspec = read_json(&sim.join("simspec.json"));
    std::fs::write(d.join("simspec.json"), simspec.to_string()).unwrap();
    simspec["noise_sd"] = 0.0.into();
    std::fs::write(d.join("simspec0.json"), simspec.to_string()).unwrap();
    let p = |s: &str| d.join(s).to_str().unwrap().to_string();
    ok(&["-q", "simulate", &p("simspec.json"), "--out", &p("sim")]);
    ok(&["-q", "simulate", &p("simspec0.json"), "--out", &p("sim0")]);
    let csv = std::fs::read_to_string(d.join("sim/data.csv")).unwrap();
    let (fit, plan) = split_csv(&csv, 143, &["revenue"]);
    std::fs::create_dir(d.join("case")).unwrap();
    std::fs::write(d.join("case/data.csv"), fit).unwrap();
    std::fs::write(d.join("plan.csv"), plan).unwrap();
    for (model, kind) in [
        (serde_json::json!({"type": "ols"}), "prediction"),
        (serde_json::json!({"type": "bayesian_linear"}), "posterior"),
    ] {
        let mut spec = read_json(&sim.join("spec.json"));
        spec["model"] = model;
        forecast_against_truth(d, &spec, kind);
    }
}

fn forecast_against_truth(d: &Path, spec: &Value, kind: &str) {
    let p = |s: &str| d.join(s).to_str().unwrap().to_string();
    let _ = std::fs::remove_dir_all(d.join("fc2"));
    std::fs::write(d.join("case/spec.json"), spec.to_string()).unwrap();
    ok(&["-q", "run", &p("case/spec.json"), "--out", &p("fit")]);
    ok(&[
        "-q",
        "predict",
        &p("fit"),
        "--plan",
        &p("plan.csv"),
        "--out",
        &p("fc"),
    ]);

    let truth: Vec<f64> = std::fs::read_to_string(d.join("sim0/data.csv"))
        .unwrap()
        .lines()
        .skip(1 + 143)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let fc = std::fs::read_to_string(d.join("fc/forecast.csv")).unwrap();
    let rows: Vec<Vec<f64>> = fc
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 13);
    assert_eq!(truth.len(), 13);
    let mut rel = 0.0;
    for (r, y) in rows.iter().zip(&truth) {
        let (e, lo, hi) = (r[0], r[1], r[2]);
        assert!(lo <= *y && *y <= hi, "truth {y} outside [{lo}, {hi}]");
        // the parts sum to the expected KPI
        let parts: f64 = r[3..].iter().sum();
        assert!((parts - e).abs() < 1e-6 * e.abs(), "{parts} vs {e}");
        rel += (e - y).abs() / y / 13.0;
    }
    assert!(rel < 0.005, "mean relative error {rel}");

    let f = read_json(&d.join("fc/forecast.json"));
    assert_eq!(f["window"]["periods"], 13);
    assert_eq!(f["window"]["start"], "2023-10-02");
    assert_eq!(f["interval"]["kind"], kind);
    let t = &f["totals"];
    let sum: f64 = rows.iter().map(|r| r[0]).sum();
    assert!((t["expected"].as_f64().unwrap() - sum).abs() < 1e-6 * sum);
    for c in f["channels"].as_array().unwrap() {
        let g = |k: &str| c[k].as_f64().unwrap();
        // incremental = contribution − from history + carry-out, ROI = incremental / spend
        assert!(
            (g("incremental") - (g("contribution") - g("from_history") + g("carry_out"))).abs()
                < 1e-6 * g("contribution")
        );
        assert!((g("roi") - g("incremental") / g("spend")).abs() < 1e-12);
        assert!(g("from_history") > 0.0 && g("carry_out") > 0.0, "{c}");
        if kind == "posterior" {
            assert!(
                g("incremental_low") <= g("incremental")
                    && g("incremental") <= g("incremental_high"),
                "{c}"
            );
            assert!(g("roi_low") <= g("roi") && g("roi") <= g("roi_high"), "{c}");
        }
    }
    // the same model and plan give the same bytes
    ok(&[
        "-q",
        "predict",
        &p("fit"),
        "--plan",
        &p("plan.csv"),
        "--out",
        &p("fc2"),
    ]);
    for name in ["forecast.csv", "forecast.json"] {
        assert_eq!(
            std::fs::read(d.join("fc").join(name)).unwrap(),
            std::fs::read(d.join("fc2").join(name)).unwrap(),
            "{name}"
        );
    }
}

/// Two runs of one spec on one data set write byte-identical results.json, model.json and
/// report.html; provenance names the tool version, the command, the seed, the data's SHA-256
/// and the resolved spec; the wall time and the command line are in run.json only.
#[test]
fn provenance_and_model_are_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_case(dir.path(), &weekly_csv(60), &small_spec());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        ok(&[
            "-q",
            "run",
            spec.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
    }
    for name in [
        "results.json",
        "model.json",
        "report.html",
        "decomposition.csv",
    ] {
        assert_eq!(
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap(),
            "{name} differs between two runs"
        );
    }
    let r = read_json(&a.join("results.json"));
    let p = &r["provenance"];
    assert_eq!(p["tool"], "mmm");
    assert_eq!(p["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(p["command"], "mmm run");
    assert_eq!(p["seed"], 0);
    assert_eq!(p["spec"]["name"], "small");
    let data_hash = mmm::engine::saved_model::sha256_file(&dir.path().join("data.csv")).unwrap();
    assert_eq!(p["inputs"][0]["path"], "data.csv");
    assert_eq!(p["inputs"][0]["sha256"], data_hash.as_str());
    let m = read_json(&a.join("model.json"));
    assert_eq!(m["format_version"], 1);
    assert_eq!(m["inputs"], p["inputs"]);
    assert_eq!(m["data"]["n_obs"], 60);
    // coefficients are the ones results.json reports
    for (c, rc) in m["columns"]
        .as_array()
        .unwrap()
        .iter()
        .zip(r["coefficients"].as_array().unwrap())
    {
        assert_eq!(c["name"], rc["name"]);
        assert_eq!(c["coefficient"], rc["estimate"]);
    }
    let run = read_json(&a.join("run.json"));
    assert!(run["wall_seconds"].as_f64().unwrap() >= 0.0);
    assert!(run["command"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v == "run"));
    assert!(run["started_utc"].as_str().unwrap().ends_with('Z'));
}

/// A plan that lacks a control, names an unseen level, starts within the data or skips a
/// week, and a model of another format version: exit code 2 with a message naming the
/// problem, and nothing written.
#[test]
fn bad_plans_and_models_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = weekly_csv(70);
    let (fit, plan) = split_csv(&csv, 60, &["sales"]);
    let spec = write_case(d, &fit, &small_spec());
    let model = d.join("fit");
    ok(&[
        "-q",
        "run",
        spec.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    let m = model.to_str().unwrap();
    let out = d.join("fc");
    let o = out.to_str().unwrap();
    let write = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    // the good plan works, with the categorical control's levels
    let good = write("good.csv", &plan);
    ok(&["-q", "predict", m, "--plan", &good, "--out", o]);
    assert!(out.join("forecast.csv").is_file());
    std::fs::remove_dir_all(&out).unwrap();

    let no_price: String = plan
        .lines()
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            [v[0], v[1], v[2], v[4]].join(",")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let level = plan.replacen(",no\n", ",maybe\n", 1);
    let inside = csv
        .lines()
        .take(1)
        .chain(csv.lines().skip(55).take(3))
        .collect::<Vec<_>>()
        .join("\n");
    let gap: String = plan
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, l)| l)
        .collect::<Vec<_>>()
        .join("\n");
    for (file, text, needles) in [
        ("a.csv", no_price, vec!["control 'price'"]),
        ("b.csv", level, vec!["'maybe'", "promo", "no, yes"]),
        ("c.csv", inside, vec!["within the data", "week"]),
        ("d.csv", gap, vec!["consecutive", "line 3"]),
    ] {
        let p = write(file, &text);
        let r = mmm(&["-q", "predict", m, "--plan", &p, "--out", o]);
        assert_eq!(r.status.code(), Some(2), "{file}: {}", stderr(&r));
        for n in needles {
            assert!(stderr(&r).contains(n), "{file}: {n} not in {}", stderr(&r));
        }
        assert!(
            !out.exists(),
            "{file}: a failed predict wrote {}",
            out.display()
        );
    }
    // another format version
    let mut saved = read_json(&model.join("model.json"));
    saved["format_version"] = 7.into();
    std::fs::write(model.join("model.json"), saved.to_string()).unwrap();
    let r = mmm(&["-q", "predict", m, "--plan", &good, "--out", o]);
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("version 7"), "{}", stderr(&r));
    assert!(
        stderr(&r).contains(env!("CARGO_PKG_VERSION")),
        "{}",
        stderr(&r)
    );
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Month `k` after January 2020, dated by its first or last day.
fn month_date(k: usize, end: bool) -> String {
    let (y, m) = (2020 + (k / 12) as i32, (k % 12) as u32 + 1);
    let d = if end { days_in_month(y, m) } else { 1 };
    format!("{y:04}-{m:02}-{d:02}")
}

/// Monthly data (month starts and month ends, through a leap February): the design is
/// recovered from a known linear truth (`y = 500 + 2·adstock(tv; 0.5) + 1.5·radio +
/// 100·sin(2πt/12)` plus a small deterministic wobble), `results.json` says `monthly`, and the
/// forecast of the next 6 months — on the month grid, with tv's carry-over — is within 0.5% of
/// the truth and covers it; a date off the month grid is an error naming its line.
#[test]
fn monthly_data_fit_and_forecast() {
    for end in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let n = 48;
        let total = n + 6;
        let tv: Vec<f64> = (0..total)
            .map(|t| 100.0 + 60.0 * ((t as f64) * 1.3).sin().abs() + ((t * 7) % 5) as f64 * 9.0)
            .collect();
        let radio: Vec<f64> = (0..total)
            .map(|t| 40.0 + 25.0 * ((t as f64) * 0.7).cos().abs() + ((t * 3) % 4) as f64 * 6.0)
            .collect();
        let mut a = 0.0;
        let truth: Vec<f64> = (0..total)
            .map(|t| {
                a = tv[t] + 0.5 * a;
                500.0
                    + 2.0 * a
                    + 1.5 * radio[t]
                    + 100.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin()
            })
            .collect();
        let mut data = String::from("month,sales,tv,radio\n");
        for t in 0..n {
            let wobble = ((t * 5) % 7) as f64 - 3.0;
            data.push_str(&format!(
                "{},{},{},{}\n",
                month_date(t, end),
                truth[t] + wobble,
                tv[t],
                radio[t]
            ));
        }
        let mut plan = String::from("month,tv,radio\n");
        for t in n..total {
            plan.push_str(&format!("{},{},{}\n", month_date(t, end), tv[t], radio[t]));
        }
        let spec = serde_json::json!({
            "name": "monthly",
            "data": {"path": "data.csv", "date": "month", "target": "sales"},
            "media": [
                {"name": "tv", "spend": "tv", "transforms": [{"type": "geometric_adstock", "decay": 0.5}]},
                {"name": "radio", "spend": "radio"}
            ],
            "baseline": {"seasonality": {"period": 12, "order": 1}},
            "model": {"type": "ols"}
        });
        let spec = write_case(d, &data, &spec);
        std::fs::write(d.join("plan.csv"), &plan).unwrap();
        let p = |s: &str| d.join(s).to_str().unwrap().to_string();
        ok(&["-q", "run", spec.to_str().unwrap(), "--out", &p("fit")]);
        let r = read_json(&d.join("fit/results.json"));
        assert_eq!(r["data"]["frequency"], "monthly");
        for c in r["coefficients"].as_array().unwrap() {
            let (name, est) = (c["name"].as_str().unwrap(), c["estimate"].as_f64().unwrap());
            let want = match name {
                "tv" => 2.0,
                "radio" => 1.5,
                "sin_12_1" => 100.0,
                _ => continue,
            };
            assert!((est - want).abs() < 0.05 * want, "{name}: {est} vs {want}");
        }
        ok(&[
            "-q",
            "predict",
            &p("fit"),
            "--plan",
            &p("plan.csv"),
            "--out",
            &p("fc"),
        ]);
        let fc = std::fs::read_to_string(d.join("fc/forecast.csv")).unwrap();
        let rows: Vec<Vec<String>> = fc
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect();
        assert_eq!(rows.len(), 6);
        for (k, row) in rows.iter().enumerate() {
            let y = truth[n + k];
            assert_eq!(row[0], month_date(n + k, end));
            let (e, lo, hi): (f64, f64, f64) = (
                row[1].parse().unwrap(),
                row[2].parse().unwrap(),
                row[3].parse().unwrap(),
            );
            assert!((e - y).abs() < 0.005 * y, "{}: {e} vs {y}", row[0]);
            assert!(lo <= y && y <= hi, "{}: {y} outside [{lo}, {hi}]", row[0]);
        }
        // a date off the month grid
        let bad = data.replacen(&month_date(5, end), "2020-06-15", 1);
        std::fs::write(d.join("data.csv"), bad).unwrap();
        let o = mmm(&["-q", "run", spec.to_str().unwrap(), "--out", &p("fit2")]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains("2020-06-15") && stderr(&o).contains("line 7"),
            "{}",
            stderr(&o)
        );
    }
}

/// A conversion KPI with `data.revenue_per_kpi`: a number scales ROI into money exactly and
/// gives CPA = spend / contribution; a column gives `Σ_t r_t·c_t` with `c_t` the channel's
/// column of decomposition.csv; a negative value is an error naming its line.
#[test]
fn revenue_per_kpi_reports_roi_in_money_and_cpa() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // sales as conversions; a value per conversion that varies by week
    let csv = weekly_csv(60);
    let mut lines = csv.lines();
    let mut with_value = format!("{},value\n", lines.next().unwrap());
    for (t, l) in lines.enumerate() {
        with_value.push_str(&format!("{l},{}\n", 20.0 + (t % 4) as f64 * 2.5));
    }
    let mut spec = small_spec();
    spec["data"]["revenue_per_kpi"] = 25.0.into();
    let path = write_case(d, &with_value, &spec);
    let p = |s: &str| d.join(s).to_str().unwrap().to_string();
    ok(&["-q", "run", path.to_str().unwrap(), "--out", &p("a")]);
    let r = read_json(&d.join("a/results.json"));
    assert_eq!(r["revenue_per_kpi"]["value"], 25.0);
    for c in r["channels"].as_array().unwrap() {
        let g = |k: &str| c[k].as_f64().unwrap();
        assert!((g("revenue_roi") - 25.0 * g("roi")).abs() < 1e-9 * g("revenue_roi").abs());
        assert!(
            (g("revenue_roi_ci_low") - 25.0 * g("roi_ci_low")).abs()
                < 1e-9 * g("revenue_roi").abs()
        );
        assert!((g("cpa") - g("spend") / g("contribution")).abs() < 1e-9 * g("cpa"));
        assert!(
            g("cpa_ci_low") <= g("cpa") && g("cpa") <= g("cpa_ci_high"),
            "{c}"
        );
    }

    spec["data"]["revenue_per_kpi"] = "value".into();
    std::fs::write(&path, spec.to_string()).unwrap();
    ok(&["-q", "run", path.to_str().unwrap(), "--out", &p("b")]);
    let r = read_json(&d.join("b/results.json"));
    let dec = std::fs::read_to_string(d.join("b/decomposition.csv")).unwrap();
    let header: Vec<&str> = dec.lines().next().unwrap().split(',').collect();
    let values: Vec<f64> = with_value
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    for c in r["channels"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let j = header.iter().position(|h| *h == name).unwrap();
        let money: f64 = dec
            .lines()
            .skip(1)
            .zip(&values)
            .map(|(l, v)| l.split(',').nth(j).unwrap().parse::<f64>().unwrap() * v)
            .sum();
        let got = c["revenue_contribution"].as_f64().unwrap();
        assert!(
            (got - money).abs() < 1e-9 * money.abs(),
            "{name}: {got} vs {money}"
        );
    }
    assert!(r["revenue_per_kpi"]["mean"].as_f64().unwrap() > 20.0);

    let bad = with_value.replacen(",20\n", ",-1\n", 1);
    std::fs::write(d.join("data.csv"), bad).unwrap();
    let o = mmm(&["-q", "run", path.to_str().unwrap(), "--out", &p("c")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("value") && stderr(&o).contains("line 2"),
        "{}",
        stderr(&o)
    );
}

/// The report's first screen (seed000's sales plan, OLS): a "Decision" section before the
/// summary, with the plan in sentences and a table of spend share (spend over total spend),
/// effect share (as results.json), ROI and marginal ROI; with a lift interval that includes 0
/// it says that the data cannot support a reallocation.
#[test]
fn report_first_screen_recommends_in_sentences() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let spec = root().join("examples/simulations/seed000/sales_plan.json");
    ok(&[
        "-q",
        "run",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let r = read_json(&out.join("results.json"));
    let at = |id: &str| html.find(&format!("id=\"{id}\"")).unwrap();
    assert!(at("section-decision") < at("section-summary"));
    let decision = &html[at("section-decision")..at("section-summary")];
    let total: f64 = r["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["spend"].as_f64().unwrap())
        .sum();
    for c in r["channels"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let row = decision
            .split(&format!("<tr data-row=\"{name}\""))
            .nth(1)
            .unwrap()
            .split("</tr>")
            .next()
            .unwrap();
        let value = |key: &str| -> f64 {
            row.split(&format!("data-key=\"{key}\" data-value=\""))
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        assert!((value("spend_share") - c["spend"].as_f64().unwrap() / total).abs() < 1e-12);
        assert_eq!(value("effect_share"), c["share"].as_f64().unwrap());
        assert_eq!(value("mroi"), c["mroi"].as_f64().unwrap());
    }
    for p in r["optimization"]["channels"].as_array().unwrap() {
        let change = p["change_pct"].as_f64().unwrap();
        if change.abs() >= 5.0 {
            let verb = if change > 0.0 { "aise" } else { "ut" };
            assert!(
                decision.contains(&format!(
                    "{verb} <strong>{}</strong>",
                    p["name"].as_str().unwrap()
                )),
                "{p}"
            );
        }
    }
    assert!(!decision.contains("cannot support"));
    // the waterfall: the parts add up to the predicted KPI over the data, and each channel's
    // part is its contribution
    let predicted: f64 = std::fs::read_to_string(out.join("decomposition.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse::<f64>().unwrap())
        .sum();
    let part = |row: &str| -> f64 {
        decision
            .split(&format!("<tr data-row=\"{row}\" data-part="))
            .nth(1)
            .unwrap()
            .split("data-key=\"total\" data-value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!((part("Predicted KPI") - predicted).abs() < 1e-9 * predicted);
    assert!(decision.contains("id=\"chart-waterfall\""));
    for c in r["channels"].as_array().unwrap() {
        let (name, v) = (
            c["name"].as_str().unwrap(),
            c["contribution"].as_f64().unwrap(),
        );
        assert!((part(name) - v).abs() < 1e-9 * v.abs(), "{name}");
    }
    // numbers for people: no long float tails in the sentences
    let text: String = decision.split("<table").next().unwrap().to_string();
    assert!(
        !text.contains("999999") && !text.contains("000000"),
        "{text}"
    );

    // a Bayesian plan whose lift interval includes 0
    let mut v = r.clone();
    v["optimization"]["details"] = serde_json::json!({
        "posterior_lift": {"level": 0.94, "lift_pct": 1.1, "lift_pct_low": -0.8, "lift_pct_high": 3.0}
    });
    let input = mmm_report::RunInput {
        results: mmm_report::input::parse_results(&v.to_string(), Path::new("results.json"))
            .unwrap(),
        decomposition: None,
        draws: None,
        refresh: None,
    };
    let s = mmm_report::decision::decision(&input).unwrap();
    assert!(
        s.body.contains("cannot support a reallocation"),
        "{}",
        s.body
    );
    assert!(
        s.body.contains("94% interval, -0.8% to +3.0%"),
        "{}",
        s.body
    );
}

/// Fits `examples/planning` with `optimizer` in place of none; returns the run's folder and
/// the process output.
fn run_planning_with(
    d: &Path,
    name: &str,
    optimizer: Value,
    extra: &[(&str, Value)],
) -> (std::path::PathBuf, std::process::Output) {
    let ex = root().join("examples/planning");
    let mut spec = read_json(&ex.join("spec.json"));
    spec["data"]["path"] = ex.join("data.csv").to_str().unwrap().into();
    spec["optimizer"] = optimizer;
    for (k, v) in extra {
        spec["data"][*k] = v.clone();
    }
    let file = d.join(format!("{name}.json"));
    std::fs::write(&file, spec.to_string()).unwrap();
    let out = d.join(name);
    let o = mmm(&[
        "-q",
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    (out, o)
}

fn optimization(out: &Path) -> Value {
    read_json(&out.join("results.json"))["optimization"].clone()
}

/// A window of history (`{"last": 13}`, Robyn's `date_range`): the reference plan is what was
/// spent, so its contribution in the window — with the carry-over of the weeks before — is
/// the fitted decomposition's media column over those weeks (the chain over the whole data),
/// and the plan re-spends the same money.
#[test]
fn history_window_reproduces_the_decomposition() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (out, o) = run_planning_with(
        d,
        "last13",
        serde_json::json!({"type": "max_response", "window": {"last": 13}}),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let opt = optimization(&out);
    assert_eq!(opt["window"]["kind"], "history");
    assert_eq!(opt["window"]["start"], "2023-07-03");
    assert_eq!(opt["window"]["reference"]["start"], "2023-07-03");
    let text = std::fs::read_to_string(out.join("decomposition.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    for c in opt["channels"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let j = header.iter().position(|h| *h == name).unwrap();
        let want: f64 = lines[lines.len() - 13..]
            .iter()
            .map(|l| l.split(',').nth(j).unwrap().parse::<f64>().unwrap())
            .sum();
        let got = c["window"]["reference"]["contribution"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9 * want, "{name}: {got} vs {want}");
        assert!(c["window"]["reference"]["carry_in"].as_f64().unwrap() > 0.0);
    }
    assert!(opt["expected_kpi_optimal"].as_f64() > opt["expected_kpi_current"].as_f64());
}

/// `target_roas` over the quarter: the plan's ROAS (incremental revenue over spend, carry-over
/// out counted) is the target, 0.1% more budget optimally spent falls below it; the same
/// target stated in money for a conversion KPI worth 2 per unit, or as a CPA, gives the same
/// budget; an unreachable target names the best ROAS and its budget.
#[test]
fn target_roas_over_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let window = serde_json::json!({"start": "2023-10-02", "end": "2023-12-25"});
    let (out, o) = run_planning_with(
        d,
        "roas",
        serde_json::json!({"type": "target_efficiency", "goal": {"target_roas": 1.5}, "window": window}),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let opt = optimization(&out);
    let roi = opt["window"]["plan"]["roi"].as_f64().unwrap();
    assert!((1.5..1.5 + 1e-8).contains(&roi), "{roi}");
    assert!((opt["details"]["roas_optimal"].as_f64().unwrap() - roi).abs() < 1e-12);
    let budget = opt["total_budget"].as_f64().unwrap();
    let (more, o) = run_planning_with(
        d,
        "more",
        serde_json::json!({"type": "max_response", "budget": {"total": budget * 1.001}, "window": window}),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        optimization(&more)["window"]["plan"]["roi"]
            .as_f64()
            .unwrap()
            < 1.5
    );
    for (name, goal, rpk) in [
        ("money", serde_json::json!({"target_roas": 3.0}), Some(2.0)),
        ("cpa", serde_json::json!({"target_cpa": 1.0 / 1.5}), None),
    ] {
        let extra: Vec<(&str, Value)> = rpk
            .map(|v| ("revenue_per_kpi", v.into()))
            .into_iter()
            .collect();
        let (out, o) = run_planning_with(
            d,
            name,
            serde_json::json!({"type": "target_efficiency", "goal": goal, "window": window}),
            &extra,
        );
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let opt = optimization(&out);
        let b = opt["total_budget"].as_f64().unwrap();
        assert!(
            (b - budget).abs() < 1e-6 * budget,
            "{name}: {b} vs {budget}"
        );
        if rpk.is_some() {
            assert_eq!(opt["window"]["revenue_per_kpi"], 2.0);
            let roas = opt["window"]["plan"]["roas"].as_f64().unwrap();
            assert!((roas - 3.0).abs() < 1e-6, "{roas}");
        }
    }
    let (_, o) = run_planning_with(
        d,
        "unreachable",
        serde_json::json!({"type": "target_efficiency", "goal": {"target_roas": 10.0}, "window": window}),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("/optimizer") && e.contains("no budget reaches ROAS 10; the best achievable is"),
        "{e}"
    );
}

/// Bad windows fail before the fit, exit code 2, with the spec pointer of the field.
#[test]
fn bad_windows_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (k, (window, pointer, text)) in [
        (
            serde_json::json!({"start": "2023-10-03", "end": "2023-12-25"}),
            "/optimizer/window/start",
            "not on the data's weekly grid",
        ),
        (
            serde_json::json!({"start": "2023-09-18", "end": "2023-12-25"}),
            "/optimizer/window/start",
            "within the data",
        ),
        (
            serde_json::json!({"last": 500}),
            "/optimizer/window/last",
            "more than the 143 periods",
        ),
        (
            serde_json::json!({"last": 13, "reference": {"start": "2023-09-04"}}),
            "/optimizer/window/reference/start",
            "after the data's end",
        ),
        (
            serde_json::json!({"last": 0}),
            "/optimizer/window/last",
            "less than the minimum of 1",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (out, o) = run_planning_with(
            d,
            &format!("bad{k}"),
            serde_json::json!({"type": "max_response", "window": window}),
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{window}");
        let e = stderr(&o);
        assert!(e.contains(pointer) && e.contains(text), "{window}: {e}");
        assert!(!out.join("results.json").exists());
        // mmm validate finds it too
        let o = mmm(&["validate", d.join(format!("bad{k}.json")).to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{window}");
        assert!(stderr(&o).contains(pointer), "{window}: {}", stderr(&o));
    }
}

/// A Bayesian model with sampled adstock and saturation (`examples/pymc-parity`, a short
/// run): the window's curves are the mean over the posterior's draws, so the lift over the
/// draws averages to the plan's lift, its interval holds it, and each channel's figures add up.
#[test]
fn bayesian_window_has_a_posterior_lift() {
    let dir = tempfile::tempdir().unwrap();
    let ex = root().join("examples/pymc-parity");
    let mut spec = read_json(&ex.join("spec.json"));
    spec.as_object_mut().unwrap().remove("$schema");
    spec["data"]["path"] = ex.join("data.csv").to_str().unwrap().into();
    for (k, v) in [("chains", 2), ("tune", 300), ("draws", 300)] {
        spec["model"][k] = v.into();
    }
    spec["optimizer"] = serde_json::json!({"type": "max_response", "window": {"last": 8},
        "bounds": {"default": {"min_change": -0.3, "max_change": 0.3}}});
    let file = dir.path().join("spec.json");
    std::fs::write(&file, spec.to_string()).unwrap();
    let out = dir.path().join("out");
    let o = mmm(&[
        "-q",
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let opt = optimization(&out);
    let lift = &opt["details"]["posterior_lift"];
    let (cur, best) = (
        opt["expected_kpi_current"].as_f64().unwrap(),
        opt["expected_kpi_optimal"].as_f64().unwrap(),
    );
    let l = lift["lift"].as_f64().unwrap();
    assert!(
        (l - (best - cur)).abs() < 1e-6 * cur,
        "{l} vs {}",
        best - cur
    );
    assert!(lift["lift_low"].as_f64().unwrap() <= l && l <= lift["lift_high"].as_f64().unwrap());
    assert_eq!(lift["draws"], 200);
    for c in opt["channels"].as_array().unwrap() {
        let p = &c["window"]["plan"];
        let f = |k: &str| p[k].as_f64().unwrap();
        assert!(
            (f("contribution") - f("carry_in") + f("carry_out") - f("incremental")).abs()
                < 1e-9 * f("incremental").abs().max(1.0)
        );
        assert!(
            (f("incremental") - c["expected_contribution"].as_f64().unwrap()).abs()
                < 1e-9 * f("incremental").abs().max(1.0)
        );
    }
}
