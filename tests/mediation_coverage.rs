//! Coverage of the mediated structure's bootstrap intervals over replicate data sets with a
//! known truth: seed 002's simulation (social → google → revenue, 156 weeks, saturating
//! transforms) redrawn with other seeds, fitted by OLS with the true transforms. Each
//! replicate's nominal 95% intervals of every driver's total contribution and of google's total
//! effect either hold the truth or not; `docs/methods.md` ("Bootstrap intervals") reports the
//! figures of the full study (`mediated_coverage_study`, ignored: 400 replicates).

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::Path;

const CHANNELS: [&str; 5] = ["facebook", "tiktok", "instagram", "snapchat", "google"];

/// Simulates replicate `seed` into `dir` and fits it with `interval`; per channel in
/// [`CHANNELS`], whether the interval holds the truth (drivers: total contribution; google:
/// total effect).
fn replicate(dir: &Path, seed: u64, resamples: u32, intervals: &[&str]) -> Vec<Vec<bool>> {
    let folder = root().join("examples/simulations/seed002");
    let mut simspec: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("simspec.json")).unwrap())
            .unwrap();
    simspec["seed"] = json!(seed);
    let (sim, truth) = simulate(dir, &format!("sim{seed}"), &simspec);
    let true_of = |name: &str| {
        let c = truth["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        c["total_effect"]
            .as_f64()
            .unwrap_or_else(|| c["contribution"].as_f64().unwrap())
    };
    let mut spec: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("spec.json")).unwrap()).unwrap();
    spec["data"]["path"] = json!(sim.join("data.csv").to_str().unwrap());
    spec["seed"] = json!(seed);
    spec["causal"]["bootstrap"]["resamples"] = json!(resamples);
    intervals
        .iter()
        .map(|interval| {
            spec["causal"]["bootstrap"]["interval"] = json!(interval);
            let p = sim.join(format!("spec-{interval}.json"));
            std::fs::write(&p, spec.to_string()).unwrap();
            let r = run_ok(&p, &sim.join(format!("out-{interval}")));
            CHANNELS
                .iter()
                .map(|name| {
                    let c = r["channels"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|c| c["name"] == *name)
                        .unwrap();
                    let (lo, hi) = if *name == "google" {
                        (&c["total_effect_ci_low"], &c["total_effect_ci_high"])
                    } else {
                        (&c["contribution_ci_low"], &c["contribution_ci_high"])
                    };
                    let t = true_of(name);
                    lo.as_f64().unwrap() <= t && t <= hi.as_f64().unwrap()
                })
                .collect()
        })
        .collect()
}

/// Per interval method, per channel: the share of replicates whose interval holds the truth.
fn coverage(reps: u64, resamples: u32, intervals: &[&str]) -> Vec<Vec<f64>> {
    let dir = tempfile::tempdir().unwrap();
    let mut hits = vec![vec![0usize; CHANNELS.len()]; intervals.len()];
    for seed in 0..reps {
        let r = replicate(dir.path(), 1000 + seed, resamples, intervals);
        for (m, per) in r.iter().enumerate() {
            for (c, hit) in per.iter().enumerate() {
                hits[m][c] += *hit as usize;
            }
        }
    }
    hits.iter()
        .map(|h| h.iter().map(|k| *k as f64 / reps as f64).collect())
        .collect()
}

/// Small enough for CI: 24 replicates, 200 resamples; the expanded intervals of all five
/// effects together hold the truth at least 93% of the time. Per channel the guarantee is not
/// met for tiktok (0.915 over 200 replicates, the others 0.935–0.965): its indirect effect is
/// estimated through a linear stage 1 on the saturated mediator and is biased low by 0.3
/// bootstrap sd, which no interval rule or block length measured removed (docs/methods.md,
/// "Bootstrap intervals").
#[test]
fn mediated_expanded_intervals_cover_the_truth() {
    let c = coverage(24, 200, &["expanded"]);
    let pooled = c[0].iter().sum::<f64>() / c[0].len() as f64;
    eprintln!(
        "coverage per channel {CHANNELS:?}: {:?}; pooled {pooled}",
        c[0]
    );
    assert!(pooled >= 0.93, "pooled coverage {pooled}: {:?}", c[0]);
}

/// The full study (`cargo test --release --test mediation_coverage -- --ignored --nocapture`;
/// `MMM_COVERAGE_REPS` replicates, default 400): coverage per channel of the percentile and
/// the expanded percentile intervals.
#[test]
#[ignore]
fn mediated_coverage_study() {
    let reps = std::env::var("MMM_COVERAGE_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let methods = ["percentile", "expanded"];
    let c = coverage(reps, 200, &methods);
    for (m, per) in methods.iter().zip(&c) {
        println!("{m}: {CHANNELS:?} {per:?}");
    }
}
