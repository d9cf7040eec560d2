//! `mmm study`: recovery on simulated data, shards merged byte for byte, bad studies.

mod common;

use common::{mmm, stderr, stdout};
use serde_json::{json, Value};
use std::path::Path;

/// Four weekly channels with known geometric adstock and Hill saturation.
fn simspec() -> Value {
    json!({
        "name": "study-test", "seed": 11, "periods": 156, "frequency": "weekly", "start": "2021-01-04",
        "target": "revenue", "intercept": 50000.0, "trend": 30.0, "seasonality": {"yearly": 3000.0},
        "noise_sd": 500.0,
        "channels": [
            {"name": "tv", "spend": {"type": "flighted", "mean": 12000.0, "on_periods": 6, "off_periods": 3, "noise": 2500.0},
             "transforms": [{"type": "geometric_adstock", "decay": 0.6}, {"type": "hill", "half_saturation": 20000.0, "shape": 1.5}],
             "coefficient": 30000.0},
            {"name": "digital", "spend": {"type": "always_on", "mean": 6000.0, "noise_sd": 1800.0},
             "transforms": [{"type": "geometric_adstock", "decay": 0.2}, {"type": "hill", "half_saturation": 6000.0, "shape": 1.2}],
             "coefficient": 20000.0},
            {"name": "print", "spend": {"type": "pulses", "amount": 8000.0, "every_periods": 4, "noise_sd": 1000.0},
             "transforms": [{"type": "geometric_adstock", "decay": 0.8}, {"type": "hill", "half_saturation": 9000.0, "shape": 1.0}],
             "coefficient": 12000.0},
            {"name": "radio", "spend": {"type": "always_on", "mean": 3000.0, "noise_sd": 1200.0},
             "transforms": [{"type": "geometric_adstock", "decay": 0.5}, {"type": "hill", "half_saturation": 5000.0, "shape": 1.3}],
             "coefficient": 9000.0}
        ],
        "controls": [{"type": "promotion", "name": "promo", "probability": 0.15, "effect": 3000.0}]
    })
}

/// The experiment with the true transform families and parameters.
fn base_spec(sim: &Value) -> Value {
    let media: Vec<Value> = sim["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({"name": c["name"], "spend": c["name"], "transforms": c["transforms"]}))
        .collect();
    json!({
        "name": "base", "data": {"path": "sim/data.csv", "date": "date", "target": "revenue"},
        "media": media, "controls": ["promo"],
        "baseline": {"intercept": true, "trend": true, "seasonality": {"period": 52.18, "order": 2}},
        "model": {"type": "ols"}
    })
}

fn study() -> Value {
    json!({
        "name": "recovery",
        "base": "spec.json",
        "truth": "sim/truth.json",
        "variants": [{"name": "true-families", "set": {}}],
        "grid": [
            {"path": "/model", "values": [{"type": "ols"}, {"type": "ridge", "alpha": 10.0}]},
            {"path": "/media/*/transforms/0", "values": [
                {"type": "geometric_adstock", "decay": 0.1},
                {"type": "weibull_adstock", "shape": 2.0, "scale": 0.2, "variant": "pdf"}
            ]},
            {"path": "/media/*/transforms/1", "values": [
                {"type": "logistic", "lam": 0.0001},
                {"type": "hill", "half_saturation": 50000.0, "shape": 3.0}
            ], "labels": ["logistic", "hill-far"]}
        ]
    })
}

/// Simulates into `dir/sim` and writes `dir/spec.json` and `dir/study.json`.
fn setup(dir: &Path) -> std::path::PathBuf {
    let sim = simspec();
    std::fs::write(dir.join("simspec.json"), sim.to_string()).unwrap();
    let o = mmm(&[
        "-q",
        "simulate",
        dir.join("simspec.json").to_str().unwrap(),
        "--out",
        dir.join("sim").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(
        dir.join("spec.json"),
        serde_json::to_string_pretty(&base_spec(&sim)).unwrap(),
    )
    .unwrap();
    let p = dir.join("study.json");
    std::fs::write(&p, serde_json::to_string_pretty(&study()).unwrap()).unwrap();
    p
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn true_families_recover_every_roi_and_rank_first() {
    let d = tempfile::tempdir().unwrap();
    let study = setup(d.path());
    let out = d.path().join("out");
    let o = mmm(&[
        "study",
        study.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("true-families"));
    let c = read_json(&out.join("comparison.json"));
    let variants = c["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 9, "1 listed + 2×2×2 grid variants");
    assert_eq!(c["variant_count"], 9);
    // Names come from the axes' values.
    let names: Vec<&str> = variants
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[1], "ols__geometric_adstock__logistic");
    assert_eq!(names[8], "ridge__weibull_adstock__hill-far");
    let best = &variants[0];
    assert_eq!(best["name"], "true-families");
    assert_eq!(best["status"], "ok");
    assert_eq!(best["rank"], 1, "the true families rank first: {c:#}");
    for ch in best["channels"].as_array().unwrap() {
        let e = ch["roi_error"].as_f64().unwrap();
        assert!(e.abs() < 0.15, "{}: ROI error {e}", ch["name"]);
    }
    // Every variant has its results, fit metrics read generically, and a rank.
    for v in variants {
        let name = v["name"].as_str().unwrap();
        assert!(
            out.join("variants")
                .join(name)
                .join("results.json")
                .exists(),
            "{name}"
        );
        assert!(v["metrics"]["fit.r2"].is_number());
        assert!(v["rank"].is_number());
    }
    // By default the ranks follow the spend-weighted error, recomputed here from the channels.
    assert_eq!(c["ranking"], "spend_weighted");
    let weighted = |v: &Value| {
        let (mut num, mut den) = (0.0, 0.0);
        for ch in v["channels"].as_array().unwrap() {
            let s = ch["spend"].as_f64().unwrap();
            num += s * (ch["roi"].as_f64().unwrap() - ch["true_roi"].as_f64().unwrap()).abs();
            den += s;
        }
        num / den
    };
    let mut by_error: Vec<&Value> = variants.iter().collect();
    by_error.sort_by(|a, b| weighted(a).total_cmp(&weighted(b)));
    for (i, v) in by_error.iter().enumerate() {
        let reported = v["roi_error_spend_weighted"].as_f64().unwrap();
        assert!((reported - weighted(v)).abs() <= 1e-12 * reported.abs().max(1.0));
        assert_eq!(v["rank"], i + 1, "{}", v["name"]);
    }
    let csv = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    for col in [
        "name",
        "rank",
        "roi_error_spend_weighted",
        "mean_abs_roi_error_absolute",
        "mean_abs_roi_error",
        "fit.r2",
        "roi.tv",
        "contribution.tv",
        "roi_error.radio",
    ] {
        assert!(
            header.split(',').any(|h| h == col),
            "missing column {col} in {header}"
        );
    }
    assert_eq!(csv.lines().count(), 10);
    study_sqlite_equals_comparison(&out, &c);
}

/// The study's `results.sqlite` holds one row per variant, per variant and metric, and per
/// variant and channel, with the figures of comparison.json.
fn study_sqlite_equals_comparison(out: &Path, c: &Value) {
    let db = rusqlite::Connection::open(out.join("results.sqlite")).unwrap();
    let variants = c["variants"].as_array().unwrap();
    let n: i64 = db
        .query_row("SELECT COUNT(*) FROM study_variants", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n as usize, variants.len());
    for v in variants {
        let i = v["index"].as_i64().unwrap();
        type Row = (String, Option<i64>, Option<f64>, Option<f64>);
        let (name, rank, err, weighted): Row = db
            .query_row(
                "SELECT name, rank, mean_abs_roi_error, roi_error_spend_weighted \
                 FROM study_variants WHERE variant = ?1",
                [i],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(name, v["name"].as_str().unwrap());
        assert_eq!(rank, v["rank"].as_i64());
        assert_eq!(err, v["mean_abs_roi_error"].as_f64());
        assert_eq!(weighted, v["roi_error_spend_weighted"].as_f64());
        let r2: f64 = db
            .query_row(
                "SELECT value FROM study_metrics WHERE variant = ?1 AND metric = 'fit.r2'",
                [i],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(r2, v["metrics"]["fit.r2"].as_f64().unwrap());
        for ch in v["channels"].as_array().unwrap() {
            let (roi, true_roi, e): (f64, f64, f64) = db
                .query_row(
                    "SELECT roi, true_roi, roi_error FROM study_channels WHERE variant = ?1 AND channel = ?2",
                    rusqlite::params![i, ch["name"].as_str().unwrap()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap();
            assert_eq!(roi, ch["roi"].as_f64().unwrap());
            assert_eq!(true_roi, ch["true_roi"].as_f64().unwrap());
            assert_eq!(e, ch["roi_error"].as_f64().unwrap());
        }
    }
}

#[test]
fn shards_merge_into_the_same_bytes_as_one_run() {
    let d = tempfile::tempdir().unwrap();
    let study = setup(d.path());
    let s = study.to_str().unwrap();
    let whole = d.path().join("whole");
    assert!(mmm(&["-q", "study", s, "--out", whole.to_str().unwrap()])
        .status
        .success());
    let mut shard_dirs = Vec::new();
    for i in 0..4 {
        let dir = d.path().join(format!("shard-{i}"));
        let o = mmm(&[
            "-q",
            "study",
            s,
            "--shard",
            &format!("{i}/4"),
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let part = read_json(&dir.join("comparison.json"));
        for v in part["variants"].as_array().unwrap() {
            assert_eq!(
                v["index"].as_u64().unwrap() % 4,
                i,
                "variant k runs in shard k mod N (0-based)"
            );
        }
        shard_dirs.push(dir);
    }
    let merged = d.path().join("merged");
    let mut args = vec!["-q", "study", "merge"];
    let dirs: Vec<String> = shard_dirs
        .iter()
        .rev()
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    args.extend(dirs.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap()]);
    let o = mmm(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["comparison.csv", "comparison.json", "results.sqlite"] {
        assert_eq!(
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(merged.join(f)).unwrap(),
            "{f}: merged shards differ from one run"
        );
    }
    assert!(merged.join("variants/true-families/results.json").exists());

    // A missing shard is an input error naming the missing variants.
    let o = mmm(&[
        "study",
        "merge",
        &dirs[0],
        &dirs[1],
        "--out",
        d.path().join("m2").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no shard output holds variants"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("shards 0/4, 1/4 are missing"),
        "{}",
        stderr(&o)
    );

    // A shard folder its task never wrote: named, with the shard to rerun; nothing written.
    let never = d.path().join("never-ran");
    let m3 = d.path().join("m3");
    let o = mmm(&[
        "study",
        "merge",
        &dirs[0],
        &dirs[1],
        &dirs[2],
        never.to_str().unwrap(),
        "--out",
        m3.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("shard 0/4 is missing: rerun `mmm study STUDY --shard 0/4 --out DIR`"),
        "{e}"
    );
    assert!(
        e.contains(&format!("{} has no comparison.json", never.display())),
        "{e}"
    );
    assert!(!m3.exists(), "a failed merge wrote {}", m3.display());
}

#[test]
fn bad_variants_are_reported_before_anything_runs() {
    let d = tempfile::tempdir().unwrap();
    let study = setup(d.path());
    let mut s = read_json(&study);
    s["variants"] = json!([
        {"name": "ok", "set": {}},
        {"name": "bad-decay", "set": {"/media/0/transforms/0/decay": 1.3}},
        {"name": "bad-pointer", "set": {"/media/9/transforms/0/decay": 0.3}},
        {"name": "bad name!", "set": {}}
    ]);
    s["grid"] = json!([]);
    std::fs::write(&study, s.to_string()).unwrap();
    let out = d.path().join("out");
    let o = mmm(&[
        "study",
        study.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("/variants/1") && e.contains("/media/0/transforms/0/decay"),
        "{e}"
    );
    assert!(
        e.contains("/variants/2/set/~1media~19~1transforms~10~1decay"),
        "{e}"
    );
    assert!(e.contains("/variants/3/name"), "{e}");
    assert!(!out.exists(), "nothing runs when a variant is invalid");
}

#[test]
fn bad_shard_is_a_usage_error() {
    let o = mmm(&["study", "x.json", "--shard", "4/4", "--out", "y"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("0-based"), "{}", stderr(&o));
}

#[test]
fn example_study_runs_and_ranks_the_true_transforms_first() {
    let d = tempfile::tempdir().unwrap();
    let study = common::root().join("examples/simulations/seed000/study.json");
    let o = mmm(&[
        "-q",
        "study",
        study.to_str().unwrap(),
        "--out",
        d.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = read_json(&d.path().join("comparison.json"));
    let best = c["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["rank"] == 1)
        .unwrap();
    assert_eq!(best["name"], "true-transforms", "{c:#}");
}

#[test]
fn scale_out_manifests_agree_on_the_shard_count() {
    let dir = common::root().join("examples/scale-out");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let job = read("k8s-study-job.yaml");
    assert!(job.contains("completionMode: Indexed"));
    assert!(job.contains("--shard \"${JOB_COMPLETION_INDEX}/${SHARDS}\""));
    let completions = job
        .lines()
        .find_map(|l| l.trim().strip_prefix("completions: "))
        .unwrap();
    let shards_env = |text: &str| {
        let lines: Vec<&str> = text.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.trim() == "- name: SHARDS")
            .unwrap();
        lines[i + 1]
            .trim()
            .trim_start_matches("value: ")
            .trim_matches('"')
            .to_string()
    };
    assert_eq!(shards_env(&job), completions);
    assert_eq!(shards_env(&read("k8s-merge-job.yaml")), completions);
    let sbatch = read("slurm-study.sbatch");
    assert!(sbatch.contains("#SBATCH --array=0-7"));
    assert!(sbatch.contains("SHARDS=${SHARDS:-8}"));
    assert!(read("slurm-merge.sbatch").contains("SHARDS=${SHARDS:-8}"));
}

#[test]
fn inline_base_and_numeric_axis_values() {
    let d = tempfile::tempdir().unwrap();
    setup(d.path());
    let base = base_spec(&simspec());
    let study = json!({
        "base": base,
        "grid": [{"path": "/media/0/transforms/0/decay", "values": [0.3, 0.6]}]
    });
    let p = d.path().join("inline.json");
    std::fs::write(&p, study.to_string()).unwrap();
    let out = d.path().join("out");
    let o = mmm(&[
        "-q",
        "study",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = read_json(&out.join("comparison.json"));
    let names: Vec<&str> = c["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["0.3", "0.6"]);
    assert_eq!(c["with_truth"], false);
    assert!(c["variants"][0]["rank"].is_null(), "no truth, no ranks");
    let r = read_json(&out.join("variants/0.6/results.json"));
    assert_eq!(r["channels"][0]["name"], "tv");
}
