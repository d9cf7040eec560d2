//! `mmm audit` of a Bayesian model: several posterior draws as truths. The truths are distinct
//! draws, each replicate is simulated from truth `r mod K` and scored against it, a truth's
//! fitted values and contributions are its draw's (checked against the fit's own per-draw
//! figures and posterior mean), and the audit is the same bytes twice, with 1 or 2 threads, and
//! merged from shards.

mod common;

use common::{mmm, stderr, weekly_csv, write_case};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn bayes_spec(model: Value) -> Value {
    let mut s = common::small_spec();
    s["name"] = json!("bayes-audit");
    s["seed"] = json!(3);
    s["model"] = model;
    s["audit"] = json!({"replicates": 8, "truths": 4});
    s
}

fn linear_case(dir: &Path) -> PathBuf {
    let spec = bayes_spec(json!({"type": "bayesian_linear", "draws": 40}));
    write_case(dir, &weekly_csv(104), &spec)
}

fn audit(spec: &Path, out: &Path, extra: &[&str], threads: Option<&str>) -> Value {
    let mut args = vec![
        "audit",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    args.extend_from_slice(extra);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mmm"));
    cmd.args(&args);
    if let Some(t) = threads {
        cmd.env("RAYON_NUM_THREADS", t);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&std::fs::read_to_string(out.join("audit.json")).unwrap()).unwrap()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn a_bayesian_audit_has_k_distinct_truths_and_scores_each_replicate_against_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let spec = linear_case(dir.path());
    let a = audit(&spec, &dir.path().join("a"), &[], Some("2"));
    let truths = a["truths"].as_array().unwrap();
    assert_eq!(truths.len(), 4);
    // evenly spaced draws of 40: ⌊(2i+1)·40/8⌋ = 5, 15, 25, 35
    let draws: Vec<u64> = truths.iter().map(|t| t["draw"].as_u64().unwrap()).collect();
    assert_eq!(draws, vec![5, 15, 25, 35]);
    // distinct truths: every channel's ROI differs between truths
    for k in 0..2 {
        let rois: Vec<f64> = truths
            .iter()
            .map(|t| t["channels"][k]["roi"].as_f64().unwrap())
            .collect();
        for i in 0..rois.len() {
            for j in i + 1..rois.len() {
                assert_ne!(rois[i], rois[j], "channel {k}: truths {i} and {j}");
            }
        }
    }
    let reps = a["replicates"].as_array().unwrap();
    assert_eq!(reps.len(), 8);
    for r in reps {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["truth"].as_u64(), Some(r["index"].as_u64().unwrap() % 4));
    }
    // the scores, recomputed independently against each replicate's own truth
    let s = &a["summary"];
    for (k, c) in s["channels"].as_array().unwrap().iter().enumerate() {
        let own: Vec<f64> = reps
            .iter()
            .map(|r| {
                truths[r["truth"].as_u64().unwrap() as usize]["channels"][k]["roi"]
                    .as_f64()
                    .unwrap()
            })
            .collect();
        let est: Vec<f64> = reps
            .iter()
            .map(|r| r["channels"][k]["roi"].as_f64().unwrap())
            .collect();
        let errors: Vec<f64> = est.iter().zip(&own).map(|(e, t)| e - t).collect();
        let roi = &c["roi"];
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()));
        assert!(close(roi["truth"].as_f64().unwrap(), mean(&own)), "{roi}");
        assert!(close(roi["bias"].as_f64().unwrap(), mean(&errors)), "{roi}");
        assert!(close(roi["mean"].as_f64().unwrap(), mean(&est)), "{roi}");
        let covered = reps
            .iter()
            .zip(&own)
            .filter(|(r, t)| {
                let ci = &r["channels"][k]["roi_ci"];
                ci[0].as_f64().unwrap() <= **t && **t <= ci[1].as_f64().unwrap()
            })
            .count() as f64
            / reps.len() as f64;
        assert_eq!(roi["coverage"].as_f64().unwrap(), covered, "{roi}");
        // the truths' own spread is reported
        let spread = &c["truth_roi"];
        assert_eq!(spread["n"], 4);
        let rois: Vec<f64> = truths
            .iter()
            .map(|t| t["channels"][k]["roi"].as_f64().unwrap())
            .collect();
        assert!(close(spread["mean"].as_f64().unwrap(), mean(&rois)));
        assert!(spread["min"].as_f64().unwrap() < spread["max"].as_f64().unwrap());
    }
}

#[test]
fn a_bayesian_audit_is_the_same_bytes_twice_with_any_thread_count_and_from_shards() {
    let dir = tempfile::tempdir().unwrap();
    let spec = linear_case(dir.path());
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    audit(&spec, &one, &[], Some("1"));
    audit(&spec, &two, &[], Some("2"));
    let s0 = dir.path().join("s0");
    let s1 = dir.path().join("s1");
    audit(&spec, &s0, &["--shard", "0/3"], None);
    audit(&spec, &s1, &["--shard", "1/3"], None);
    let s2 = dir.path().join("s2");
    audit(&spec, &s2, &["--shard", "2/3"], Some("1"));
    let merged = dir.path().join("merged");
    let o = mmm(&[
        "audit",
        "merge",
        s2.to_str().unwrap(),
        s0.to_str().unwrap(),
        s1.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["audit.json", "audit.sqlite"] {
        let base = std::fs::read(one.join(f)).unwrap();
        assert!(
            base == std::fs::read(two.join(f)).unwrap(),
            "{f}: 1 vs 2 threads"
        );
        assert!(
            base == std::fs::read(merged.join(f)).unwrap(),
            "{f}: merged"
        );
    }
    // the whole audit again, same bytes
    let again = dir.path().join("again");
    audit(&spec, &again, &[], None);
    assert!(
        std::fs::read(one.join("audit.json")).unwrap()
            == std::fs::read(again.join("audit.json")).unwrap()
    );
}

#[test]
fn truths_one_keeps_the_posterior_mean_and_a_ridge_model_refuses_more() {
    let dir = tempfile::tempdir().unwrap();
    let spec = linear_case(dir.path());
    let a = audit(&spec, &dir.path().join("a"), &["--truths", "1"], None);
    assert!(a.get("truths").is_none());
    assert!(a["replicates"][0].get("truth").is_none());
    assert!(a["summary"]["channels"][0].get("truth_roi").is_none());

    let mut ridge = bayes_spec(json!({"type": "ridge", "alpha": 1.0}));
    ridge["audit"] = json!({"replicates": 2, "truths": 3});
    let d2 = dir.path().join("ridge");
    std::fs::create_dir_all(&d2).unwrap();
    let spec = write_case(&d2, &weekly_csv(60), &ridge);
    let o = mmm(&[
        "audit",
        spec.to_str().unwrap(),
        "--out",
        d2.join("o").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("/audit/truths"), "{}", stderr(&o));
    assert!(!d2.join("o").exists());
}

/// A truth's fitted values and contributions are its draw's: for `bayesian_mmm` (sampled
/// transforms) each draw's contribution equals the one the model reports for that draw, and
/// the mean over all draws of the truths' fitted values is the fit's posterior-mean fit.
#[test]
fn every_draw_as_a_truth_reproduces_the_fit_s_draws_and_its_mean() {
    let dir = tempfile::tempdir().unwrap();
    let spec = bayes_spec(json!({"type": "bayesian_mmm", "chains": 2, "tune": 30, "draws": 10}));
    let spec = write_case(dir.path(), &weekly_csv(60), &spec);
    let loaded = mmm::data::spec::load_spec(&spec).unwrap();
    let truth = mmm_audit::fit_truth_with(&loaded, Some(20)).unwrap();
    assert_eq!(truth.draws.len(), 20);
    let stage = truth.output.estimate.outcome_stage().unwrap();
    let post = stage.fitted.posterior().unwrap();
    for (i, t) in truth.draws.iter().enumerate() {
        assert_eq!(t.draw, i);
        for m in &post.media {
            let k = m.channel;
            let (a, b) = (t.channels[k].contribution, m.contribution[i]);
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "draw {i} channel {k}: {a} vs {b}"
            );
        }
        // residuals are centred
        assert!(mean(&t.residuals).abs() < 1e-9 * mean(&stage.y).abs());
    }
    for (s, f) in stage.fitted.fitted.iter().enumerate() {
        let m = mean(&truth.draws.iter().map(|t| t.fitted[s]).collect::<Vec<_>>());
        assert!(
            (m - f).abs() <= 1e-9 * f.abs().max(1.0),
            "period {s}: {m} vs {f}"
        );
    }
    // an audit of it runs, each replicate on its own truth
    let opts = mmm_audit::AuditOptions::resolve(&loaded, 60, Some(2), Some(1), None).unwrap();
    let y0 = mmm_audit::replicate_target(&truth, &opts, 0);
    let y1 = mmm_audit::replicate_target(&truth, &opts, 1);
    assert_ne!(y0, y1);
}
