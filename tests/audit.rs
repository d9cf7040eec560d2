//! `mmm audit`: a replicate's refit equals a standalone `mmm run` of the same replicate data;
//! merged shards equal one run byte for byte; the example runs; bad input is exit code 2.

mod common;

use common::{mmm, root, stderr};
use serde_json::Value;
use std::path::Path;

fn audit_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("audit.json")).unwrap()).unwrap()
}

fn run_audit(args: &[&str], out: &Path) {
    let spec = root().join("examples/audit/spec.json");
    let mut all = vec![
        "audit",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    all.extend_from_slice(args);
    let o = mmm(&all);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_replicate_refit_equals_a_standalone_run_of_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit");
    run_audit(&["--replicates", "3", "--seed", "9"], &out);
    let audit = audit_json(&out);
    assert!(out.join("audit.sqlite").is_file());

    // rebuild replicate 2's data and spec with the library, run them with `mmm run`
    let loaded = mmm::data::spec::load_spec(&root().join("examples/audit/spec.json")).unwrap();
    let truth = mmm_audit::fit_truth(&loaded).unwrap();
    let options =
        mmm_audit::AuditOptions::resolve(&loaded, truth.fitted.len(), Some(3), Some(9), None)
            .unwrap();
    let y = mmm_audit::replicate_target(&truth, &options, 2);
    let data = dir.path().join("rep/data.csv");
    std::fs::create_dir_all(data.parent().unwrap()).unwrap();
    std::fs::write(&data, mmm_audit::replicate_csv(&truth, &y).unwrap()).unwrap();
    let spec = mmm_audit::replicate_spec(&loaded, &data, mmm_audit::replicate_seed(9, 2));
    let spec_path = dir.path().join("rep/spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let run_out = dir.path().join("run");
    let o = mmm(&[
        "run",
        spec_path.to_str().unwrap(),
        "--out",
        run_out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(run_out.join("results.json")).unwrap())
            .unwrap();
    let rep = &audit["replicates"][2];
    assert_eq!(rep["status"], "ok");
    for (a, r) in rep["channels"]
        .as_array()
        .unwrap()
        .iter()
        .zip(results["channels"].as_array().unwrap())
    {
        assert_eq!(a["name"], r["name"]);
        for (k, rk) in [
            ("roi", "roi"),
            ("contribution", "contribution"),
            ("mroi", "mroi"),
        ] {
            assert_eq!(a[k].as_f64(), r[rk].as_f64(), "{k} of {}", a["name"]);
        }
        assert_eq!(a["roi_ci"][0].as_f64(), r["roi_ci_low"].as_f64());
        assert_eq!(a["roi_ci"][1].as_f64(), r["roi_ci_high"].as_f64());
    }
    // the optimizer's recommendation is the standalone run's
    let plan = results["optimization"]["channels"].as_array().unwrap();
    let rec = rep["decision"]["optimal_spend"].as_array().unwrap();
    for (p, x) in plan.iter().zip(rec) {
        assert_eq!(p["optimal_spend"].as_f64(), x.as_f64());
    }
}

#[test]
fn merged_shards_equal_one_run_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    run_audit(&["--replicates", "5"], &whole);
    let s0 = dir.path().join("s0");
    let s1 = dir.path().join("s1");
    run_audit(&["--replicates", "5", "--shard", "0/2"], &s0);
    run_audit(&["--replicates", "5", "--shard", "1/2"], &s1);
    assert!(audit_json(&s0)["summary"].is_null());
    let merged = dir.path().join("merged");
    let o = mmm(&[
        "audit",
        "merge",
        s1.to_str().unwrap(),
        s0.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["audit.json", "audit.sqlite"] {
        assert!(
            std::fs::read(whole.join(f)).unwrap() == std::fs::read(merged.join(f)).unwrap(),
            "{f} differs"
        );
    }
    // a missing shard is refused
    let o = mmm(&[
        "audit",
        "merge",
        s0.to_str().unwrap(),
        "--out",
        dir.path().join("m2").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("in no shard"), "{}", stderr(&o));
}

#[test]
fn the_seed000_example_is_identified_and_its_reallocation_supported() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit");
    run_audit(&["--replicates", "12"], &out);
    let a = audit_json(&out);
    let s = &a["summary"];
    assert_eq!(s["n_failed"], 0);
    for c in s["channels"].as_array().unwrap() {
        assert_ne!(c["verdict"], "not identified", "{c}");
    }
    let d = &s["decision"];
    assert!(d["share_raising_kpi"].as_f64().unwrap() >= 0.0, "{d}");
    assert_eq!(d["moves"].as_array().unwrap().len(), 4);
    // the fit's outputs and the report with its audit section: first when the verdict is weak
    assert!(out.join("results.json").is_file());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let audit_at = html
        .find("<section id=\"section-audit\"")
        .expect("audit section");
    let summary_at = html
        .find("<section id=\"section-summary\"")
        .expect("summary");
    assert_eq!(
        audit_at < summary_at,
        s["verdict"] == "weak",
        "{}",
        s["verdict"]
    );
    assert!(html.contains("id=\"chart-audit-bias\""));
    assert!(html.contains("id=\"chart-audit-lift\""));
}

#[test]
fn bad_audit_settings_are_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let spec = root().join("examples/audit/spec.json");
    let o = mmm(&[
        "audit",
        spec.to_str().unwrap(),
        "--replicates",
        "1",
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("/audit/replicates"), "{}", stderr(&o));
    assert!(!dir.path().join("o").exists());
}
