//! `"media_prior": "roi"`: with an informative ROI prior and data that cannot see the channel,
//! the posterior ROI is the prior; with informative data it follows the data.

use mmm_bayes::model::{BayesianMmm, MediaPrior};
use mmm_core::dataset::ModelData;
use mmm_core::model::{FitProblem, Model};
use mmm_data::dataset::FromSpec;
use mmm_data::spec::load_spec;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde_json::json;

use mmm_causal as _;
use mmm_transforms as _;

/// Writes weekly data `y = 100 + roi·spend + ε` (`ε ~ N(0, noise)`, spend ~ U(0, 2·level)) and
/// fits a linear channel (no transforms) with `media_prior: roi` and the given ROI prior;
/// returns the ROI draws (contribution over spend per draw).
fn roi_draws(level: f64, roi: f64, noise: f64, prior: serde_json::Value) -> Vec<f64> {
    let n = 104;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let e = Normal::new(0.0, noise).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("date,y,tv\n");
    let start = chrono::NaiveDate::from_ymd_opt(2022, 1, 3).unwrap();
    for t in 0..n {
        let s: f64 = level * 2.0 * rand::Rng::random::<f64>(&mut rng);
        let y = 100.0 + roi * s + e.sample(&mut rng);
        let d = start + chrono::Days::new(7 * t as u64);
        csv.push_str(&format!("{d},{y},{s}\n"));
    }
    std::fs::write(dir.path().join("data.csv"), csv).unwrap();
    let spec = json!({
        "name": "roi", "seed": 3,
        "data": {"path": "data.csv", "date": "date", "target": "y"},
        "media": [{"name": "tv", "spend": "tv", "transforms": []}],
        "baseline": {"intercept": true},
        "model": {"type": "bayesian_mmm", "chains": 2, "tune": 400, "draws": 500,
                  "progress": false, "media_prior": "roi", "priors": {"tv.roi": prior}}
    });
    std::fs::write(dir.path().join("spec.json"), spec.to_string()).unwrap();
    let loaded = load_spec(&dir.path().join("spec.json")).unwrap();
    let data = ModelData::from_spec(&loaded).unwrap();
    let design = data.design(&data.all_channels(), &[]);
    let mut v = serde_json::to_value(&loaded.spec.model).unwrap();
    v.as_object_mut().unwrap().remove("type");
    let model: BayesianMmm = serde_json::from_value(v).unwrap();
    assert_eq!(model.media_prior, MediaPrior::Roi);
    let fit = model
        .fit(&FitProblem {
            design: &design,
            y: &data.y,
            media: &data.media,
            seed: 3,
            calibration: &[],
            geos: &[],
        })
        .unwrap();
    let post = fit.posterior().unwrap();
    let spend: f64 = data.media[0].spend.iter().sum();
    post.media[0]
        .contribution
        .iter()
        .map(|c| c / spend)
        .collect()
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64;
    (m, var.sqrt())
}

#[test]
fn uninformative_data_return_the_roi_prior() {
    // spend of 0.01 a week against noise of 5: a ROI of 3 moves y by 0.03
    let (mu, sigma) = (2f64.ln(), 0.1);
    let draws = roi_draws(
        0.01,
        3.0,
        5.0,
        json!({"type": "log_normal", "mu": mu, "sigma": sigma}),
    );
    let (m, sd) = mean_sd(&draws);
    let (pm, psd) = (
        (mu + 0.5 * sigma * sigma).exp(),
        (mu + 0.5 * sigma * sigma).exp() * ((sigma * sigma).exp() - 1.0).sqrt(),
    );
    println!("posterior ROI {m:.4} ± {sd:.4}; prior {pm:.4} ± {psd:.4}");
    assert!((m - pm).abs() < 0.03 * pm, "mean {m} vs prior {pm}");
    assert!((sd - psd).abs() < 0.15 * psd, "sd {sd} vs prior {psd}");
}

#[test]
fn informative_data_override_the_roi_prior() {
    // spend around 20 a week, noise 1: the data pin the ROI of 3 down; prior says 2 ± 0.2
    let draws = roi_draws(
        20.0,
        3.0,
        1.0,
        json!({"type": "log_normal", "mu": 2f64.ln(), "sigma": 0.1}),
    );
    let (m, sd) = mean_sd(&draws);
    let (lo, hi) = mmm_core::interval::hdi(&draws, 0.94);
    println!("posterior ROI {m:.4} ± {sd:.4}, HDI [{lo:.4}, {hi:.4}]");
    assert!((m - 3.0).abs() < 0.05 * 3.0, "{m}");
    assert!(lo < 3.0 && 3.0 < hi, "[{lo}, {hi}]");
}
