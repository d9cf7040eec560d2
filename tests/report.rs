//! The HTML report (`DIR/report.html`, `mmm report DIR`): which sections and charts each kind
//! of run shows, and that the figures in it are those of results.json.

mod common;

use common::{long_csv, long_spec, mmm, root, run_ok, small_spec, stderr, weekly_csv, write_case};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn report(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("report.html")).expect("report.html written")
}

/// The `data-value` of the cell `key` in the row `row` of the table `table`.
fn cell(html: &str, table: &str, row: &str, key: &str) -> Option<f64> {
    let t = html.find(&format!("<table id=\"{table}\""))?;
    let end = t + html[t..].find("</table>")?;
    let body = &html[t..end];
    let r = body.find(&format!("<tr data-row=\"{}\"", esc(row)))?;
    let r_end = r + body[r..].find("</tr>")?;
    let tr = &body[r..r_end];
    let k = tr.find(&format!("data-key=\"{}\" data-value=\"", esc(key)))?;
    let rest = &tr[k..];
    let v = rest.split("data-value=\"").nth(1)?.split('"').next()?;
    v.parse().ok()
}

/// The `data-value` of a headline card.
fn card(html: &str, key: &str) -> Option<f64> {
    let k = html.find(&format!("class=\"kpi\" data-key=\"{key}\" data-value=\""))?;
    html[k..]
        .split("data-value=\"")
        .nth(1)?
        .split('"')
        .next()?
        .parse()
        .ok()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn has(html: &str, id: &str) -> bool {
    html.contains(&format!("id=\"{id}\""))
}

/// A number of results.json (panics on null, so that a comparison is never vacuous).
fn num(v: &Value) -> Option<f64> {
    Some(v.as_f64().unwrap_or_else(|| panic!("{v} is not a number")))
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Runs the quickstart with a changed model (and optional optimizer) into `out`.
fn quickstart_variant(dir: &Path, model: Value, optimizer: Option<Value>) -> PathBuf {
    let mut spec: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/quickstart/spec.json")).unwrap(),
    )
    .unwrap();
    spec["data"]["path"] = json!(root().join("examples/quickstart/data.csv"));
    spec["model"] = model;
    if let Some(o) = optimizer {
        spec["optimizer"] = o;
    }
    spec.as_object_mut().unwrap().remove("$schema");
    let p = dir.join("spec.json");
    std::fs::write(&p, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
    p
}

#[test]
fn quickstart_report_has_its_sections_and_the_figures_of_results_json() {
    let d = tmp();
    let out = d.path().join("out");
    let r = run_ok(&root().join("examples/quickstart/spec.json"), &out);
    let html = report(&out);
    for id in [
        "section-summary",
        "section-fit",
        "section-decomposition",
        "section-channels",
        "section-response",
        "section-adstock",
        "section-diagnostics",
        "chart-fit",
        "chart-residuals",
        "chart-decomposition",
        "chart-contribution",
        "chart-roi",
        "chart-response",
        "chart-adstock",
    ] {
        assert!(has(&html, id), "{id} missing");
    }
    // sections without data are absent
    for id in [
        "section-bayes",
        "section-budget",
        "section-tuning",
        "section-data-quality",
    ] {
        assert!(!has(&html, id), "{id} present without data");
    }
    // self-contained: no scripts, no external resources
    for external in ["<script", "<link", "src=", "href=\"http", "url(", "@import"] {
        assert!(!html.contains(external), "report refers to {external}");
    }
    for c in r["channels"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        for key in [
            "spend",
            "contribution",
            "share",
            "roi",
            "mroi",
            "breakeven_spend",
        ] {
            assert_eq!(
                cell(&html, "table-channels", name, key),
                num(&c[key]),
                "{name}.{key}"
            );
        }
    }
    for rc in r["response_curves"].as_array().unwrap() {
        let name = rc["channel"].as_str().unwrap();
        assert_eq!(
            cell(&html, "table-response", name, "current_spend"),
            num(&rc["current_spend"])
        );
        let w = rc["adstock_weights"].as_array().expect("adstock weights");
        assert_eq!(cell(&html, "table-adstock", name, "w0"), num(&w[0]));
        assert_eq!(
            cell(&html, "table-adstock", name, "lags"),
            Some(w.len() as f64)
        );
    }
    for key in ["r2", "nrmse", "mape", "durbin_watson", "rmse"] {
        assert_eq!(
            cell(&html, "table-fit", key, &format!("fit.{key}")),
            num(&r["fit"][key]),
            "{key}"
        );
    }
    assert_eq!(card(&html, "fit.r2"), num(&r["fit"]["r2"]));
    for c in r["coefficients"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        assert_eq!(
            cell(&html, "table-coefficients", name, "estimate"),
            num(&c["estimate"]),
            "{name}"
        );
    }
    // the rendered number matches the rule of the format module
    let tv = &r["channels"][0];
    let shown = mmm_report::format::ratio(tv["roi"].as_f64());
    assert!(html.contains(&format!(
        "data-key=\"roi\" data-value=\"{}\">{shown}</td>",
        tv["roi"].as_f64().unwrap()
    )));

    // rebuilding from the files gives the same bytes
    let o = mmm(&["report", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(report(&out), html);
}

#[test]
fn ols_report_shows_vif_and_condition_number() {
    let d = tmp();
    let spec = write_case(d.path(), &weekly_csv(60), &small_spec());
    let out = d.path().join("out");
    let r = run_ok(&spec, &out);
    let html = report(&out);
    for c in r["coefficients"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        assert_eq!(
            cell(&html, "table-coefficients", name, "vif"),
            c["vif"].as_f64(),
            "{name}"
        );
        assert_eq!(
            cell(&html, "table-coefficients", name, "p_value"),
            c["p_value"].as_f64(),
            "{name}"
        );
    }
    assert!(
        r["coefficients"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["vif"].is_number()),
        "OLS reports VIFs"
    );
    let cond = &r["model"]["statistics"]["condition_number"];
    assert!(cond.is_number());
    assert_eq!(
        cell(
            &html,
            "table-statistics",
            "condition_number",
            "condition_number"
        ),
        num(cond)
    );
}

#[test]
fn tuning_report_shows_the_pareto_front_and_the_chosen_candidate() {
    let d = tmp();
    let out = d.path().join("out");
    let r = run_ok(&root().join("examples/tuning/spec.json"), &out);
    let html = report(&out);
    for id in [
        "section-tuning",
        "chart-pareto",
        "table-tuning-best",
        "section-diagnostics",
    ] {
        assert!(has(&html, id), "{id} missing");
    }
    let t = &r["tuning"];
    assert_eq!(card(&html, "tuning.evaluations"), num(&t["evaluations"]));
    assert_eq!(
        card(&html, "tuning.pareto"),
        Some(t["pareto"].as_array().unwrap().len() as f64)
    );
    for (k, v) in t["best"]["objectives"].as_object().unwrap() {
        assert_eq!(
            cell(&html, "table-tuning-best", &format!("objective:{k}"), k),
            num(v)
        );
    }
    for (k, v) in t["best"]["parameters"].as_object().unwrap() {
        assert_eq!(cell(&html, "table-tuning-best", k, k), num(v), "{k}");
    }
    // validation split: train and test columns
    let split = &r["validation"]["split"];
    assert_eq!(
        cell(&html, "table-fit", "r2", "test.r2"),
        num(&split["test"]["r2"])
    );
    assert_eq!(
        cell(&html, "table-fit", "nrmse", "train.nrmse"),
        num(&split["train"]["nrmse"])
    );
}

#[test]
fn bayesian_linear_report_shows_intervals_and_the_budget() {
    let d = tmp();
    let spec = quickstart_variant(
        d.path(),
        json!({"type": "bayesian_linear", "draws": 500}),
        Some(json!({"type": "scenarios", "levels": {"multiples_of_current": [0.8, 1.0, 1.2]}})),
    );
    let out = d.path().join("out");
    let r = run_ok(&spec, &out);
    let html = report(&out);
    for id in [
        "chart-fit",
        "chart-contribution",
        "chart-roi",
        "section-budget",
        "chart-budget",
        "chart-scenarios",
        "table-scenarios",
    ] {
        assert!(has(&html, id), "{id} missing");
    }
    // the fit chart has the predictive band
    let decomposition = std::fs::read_to_string(out.join("decomposition.csv")).unwrap();
    assert!(decomposition.starts_with("date,actual,predicted,predicted_low,predicted_high"));
    assert!(html.contains("95% predictive interval"));
    for c in r["channels"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        assert!(c["roi_ci_low"].is_number());
        let row = html
            .split(&format!("<tr data-row=\"{name}\" data-channel=\"{name}\">"))
            .nth(1)
            .unwrap();
        let row = row.split("</tr>").next().unwrap();
        let low = mmm_report::format::ratio(c["roi_ci_low"].as_f64());
        let high = mmm_report::format::ratio(c["roi_ci_high"].as_f64());
        assert!(row.contains(&format!("[{low}, {high}]")), "{name}: {row}");
    }
    let o = &r["optimization"];
    assert_eq!(card(&html, "optimization.lift_pct"), num(&o["lift_pct"]));
    for c in o["channels"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        assert_eq!(
            cell(&html, "table-budget", name, "optimal_spend"),
            num(&c["optimal_spend"])
        );
    }
    for (k, s) in o["scenarios"].as_array().unwrap().iter().enumerate() {
        assert_eq!(
            cell(&html, "table-scenarios", &k.to_string(), "expected_kpi"),
            num(&s["expected_kpi"])
        );
    }
}

#[test]
fn bayesian_mmm_report_shows_sampler_diagnostics_trace_and_posterior() {
    let d = tmp();
    let spec = quickstart_variant(
        d.path(),
        json!({"type": "bayesian_mmm", "chains": 2, "tune": 60, "draws": 60}),
        None,
    );
    let out = d.path().join("out");
    let r = run_ok(&spec, &out);
    assert!(out.join("draws.csv").is_file());
    let html = report(&out);
    for id in [
        "section-bayes",
        "chart-trace",
        "chart-posterior",
        "table-posterior",
        "table-chains",
    ] {
        assert!(has(&html, id), "{id} missing");
    }
    let diag = &r["posterior"]["diagnostics"];
    for (name, p) in diag["parameters"].as_object().unwrap() {
        assert_eq!(
            cell(&html, "table-posterior", name, "r_hat"),
            num(&p["r_hat"]),
            "{name}"
        );
        assert_eq!(
            cell(&html, "table-posterior", name, "ess_bulk"),
            num(&p["ess_bulk"]),
            "{name}"
        );
    }
    let div: f64 = diag["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .sum();
    assert_eq!(card(&html, "posterior.divergences"), Some(div));
}

#[test]
fn study_report_has_the_comparison_and_the_recovery_chart() {
    let d = tmp();
    let out = d.path().join("study");
    let o = mmm(&[
        "study",
        root()
            .join("examples/simulations/seed000/study.json")
            .to_str()
            .unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = report(&out);
    let c: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("comparison.json")).unwrap())
            .unwrap();
    for id in [
        "section-study",
        "section-recovery",
        "chart-recovery",
        "table-study",
    ] {
        assert!(has(&html, id), "{id} missing");
    }
    for v in c["variants"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        assert_eq!(
            cell(&html, "table-study", name, "mean_abs_roi_error"),
            num(&v["mean_abs_roi_error"]),
            "{name}"
        );
        for ch in v["channels"].as_array().unwrap() {
            let row = format!("{name}/{}", ch["name"].as_str().unwrap());
            assert_eq!(
                cell(&html, "table-recovery", &row, "roi_error"),
                num(&ch["roi_error"])
            );
        }
    }
}

#[test]
fn data_quality_counts_are_shown_when_results_have_them() {
    let d = tmp();
    let spec = write_case(d.path(), &weekly_csv(40), &small_spec());
    let out = d.path().join("out");
    let mut r = run_ok(&spec, &out);
    r["data_quality"] = json!([
        {"column": "tv", "rule": "forward_fill", "count": 3},
        {"column": "radio", "rule": "clip_to_zero", "count": 1}
    ]);
    std::fs::write(out.join("results.json"), serde_json::to_string(&r).unwrap()).unwrap();
    let o = mmm(&["report", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = report(&out);
    assert!(has(&html, "section-data-quality"));
    assert_eq!(
        cell(&html, "table-data-quality", "tv:forward_fill", "count"),
        Some(3.0)
    );
    assert_eq!(
        cell(&html, "table-data-quality", "radio:clip_to_zero", "count"),
        Some(1.0)
    );
}

#[test]
fn report_of_a_folder_without_results_is_a_clear_error_with_exit_code_2() {
    let d = tmp();
    let o = mmm(&["report", d.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("results.json"), "{}", stderr(&o));
    assert!(!d.path().join("report.html").exists());

    std::fs::write(d.path().join("results.json"), "{\"name\": 3").unwrap();
    let o = mmm(&["report", d.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("results.json"), "{}", stderr(&o));
    assert!(!d.path().join("report.html").exists());

    let o = mmm(&["report", d.path().join("missing").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    let o = mmm(&["report", "--help"]);
    assert!(o.status.success());
    assert!(common::stdout(&o).contains("report.html"));
}

#[test]
fn cleaning_counts_of_a_long_format_run_are_shown() {
    let d = tmp();
    // a negative spend on line 9 (day 4 of campaign B), clipped by the spec
    let csv: String = long_csv(28)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == 9 {
                let mut c: Vec<&str> = l.split(',').collect();
                c[2] = "-3";
                c.join(",") + "\n"
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let mut spec = long_spec();
    spec["data"]["cleaning"] = json!({"negative_spend": "clip_to_zero"});
    let p = write_case(d.path(), &csv, &spec);
    let out = d.path().join("out");
    let r = run_ok(&p, &out);
    let html = report(&out);
    assert!(has(&html, "section-data-quality"));
    for c in r["data_quality"]["changes"].as_array().unwrap() {
        let key = format!(
            "{}:{}",
            c["column"].as_str().unwrap(),
            c["rule"].as_str().unwrap()
        );
        assert_eq!(
            cell(&html, "table-data-quality", &key, "count"),
            c["count"].as_f64(),
            "{key}"
        );
    }
    assert_eq!(
        cell(
            &html,
            "table-data-quality",
            "B.spend:negative_clip_to_zero",
            "count"
        ),
        Some(1.0)
    );
    // the summary is a sentence, not rows of the table
    assert_eq!(
        cell(&html, "table-data-quality", "rows_read:", "count"),
        None
    );
    assert!(html.contains("long format, 56 rows read"));
}
