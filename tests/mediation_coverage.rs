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
        if std::env::var_os("MMM_COVERAGE_PROGRESS").is_some() {
            eprintln!("replicate {}: hits so far {hits:?}", seed + 1);
        }
    }
    hits.iter()
        .map(|h| h.iter().map(|k| *k as f64 / reps as f64).collect())
        .collect()
}

/// `P(X ≤ k)` for `X ~ Binomial(n, p)`.
fn binomial_cdf(k: u64, n: u64, p: f64) -> f64 {
    let mut log_choose = 0.0; // ln C(n, j), built up from j = 0
    let mut sum = 0.0;
    for j in 0..=k.min(n) {
        if j > 0 {
            log_choose += ((n - j + 1) as f64).ln() - (j as f64).ln();
        }
        sum += (log_choose + j as f64 * p.ln() + (n - j) as f64 * (1.0 - p).ln()).exp();
    }
    sum.min(1.0)
}

/// Replicates of the CI test.
const CI_REPS: u64 = 24;
/// The coverage the issue asks for.
const REQUIRED: f64 = 0.93;
/// Significance of the per-channel test.
const ALPHA: f64 = 0.01;

/// Small enough for CI: 24 replicates, 200 resamples. The expanded intervals of all five
/// effects together hold the truth at least 93% of the time, and so does each channel's as
/// far as 24 replicates can tell: a channel fails when its hits `k` make a coverage of 0.93
/// implausible, `P(Binomial(24, 0.93) ≤ k) < 0.01` (at most 5 misses pass; a per-channel
/// `k/24 ≥ 0.93` would fail a channel with exactly 95% coverage one time in three).
#[test]
fn mediated_expanded_intervals_cover_the_truth() {
    let c = coverage(CI_REPS, 200, &["expanded"]);
    let pooled = c[0].iter().sum::<f64>() / c[0].len() as f64;
    eprintln!(
        "coverage per channel {CHANNELS:?}: {:?}; pooled {pooled}",
        c[0]
    );
    assert!(pooled >= REQUIRED, "pooled coverage {pooled}: {:?}", c[0]);
    for (name, cov) in CHANNELS.iter().zip(&c[0]) {
        let hits = (cov * CI_REPS as f64).round() as u64;
        let p = binomial_cdf(hits, CI_REPS, REQUIRED);
        assert!(
            p >= ALPHA,
            "{name}: coverage {cov} ({hits}/{CI_REPS}) is below {REQUIRED} (one-sided binomial p = {p:.4})"
        );
    }
}

#[test]
fn binomial_cdf_matches_known_values() {
    // P(Bin(24, 0.93) ≤ 18) = 0.005271, ≤ 19 = 0.023264 (exact sums)
    assert!((binomial_cdf(18, 24, 0.93) - 0.005271).abs() < 1e-5);
    assert!((binomial_cdf(19, 24, 0.93) - 0.023264).abs() < 1e-5);
    assert!((binomial_cdf(24, 24, 0.93) - 1.0).abs() < 1e-12);
}

/// The full study (`cargo test --release --test mediation_coverage -- --ignored --nocapture`;
/// `MMM_COVERAGE_REPS` replicates, default 400): coverage per channel of the percentile and
/// the expanded percentile intervals, with each channel's one-sided binomial p-value against
/// 0.93.
#[test]
#[ignore]
fn mediated_coverage_study() {
    let reps = std::env::var("MMM_COVERAGE_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let methods_env =
        std::env::var("MMM_COVERAGE_METHODS").unwrap_or_else(|_| "percentile,expanded".into());
    let methods: Vec<&str> = methods_env.split(',').collect();
    let c = coverage(reps, 200, &methods);
    for (m, per) in methods.iter().zip(&c) {
        println!("{m}: {CHANNELS:?} {per:?}");
        let p: Vec<String> = per
            .iter()
            .map(|cov| {
                let hits = (cov * reps as f64).round() as u64;
                format!("{:.3}", binomial_cdf(hits, reps, REQUIRED))
            })
            .collect();
        println!("{m}: P(Binomial({reps}, {REQUIRED}) <= hits) {p:?}");
    }
}
