//! Speed of `bayesian_mmm` on PyMC-Marketing's example (`examples/pymc-parity`, 179 weeks,
//! 15 parameters): one log-density + gradient evaluation, then the whole fit (4 chains ×
//! (1000 tune + 1000 draws)). Reports gradient evaluations per second, minimum bulk ESS and
//! ESS per second. Run with `cargo bench -p mmm-bayes --bench nuts`.

use mmm_bayes::nuts::LogDensity;
use mmm_bayes::BayesianMmm;
use mmm_core::dataset::ModelData;
use mmm_core::model::{FitProblem, Model};
use mmm_data::dataset::FromSpec;
use mmm_data::spec::load_spec;
use std::path::Path;
use std::time::Instant;

use mmm_causal as _;
use mmm_transforms as _;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let loaded = load_spec(&root.join("examples/pymc-parity/spec.json")).expect("spec");
    let data = ModelData::from_spec(&loaded).expect("data");
    let design = data.design(&data.all_channels(), &[]);
    let mut spec_model = serde_json::to_value(&loaded.spec.model).expect("model");
    spec_model.as_object_mut().expect("object").remove("type");
    let mut model: BayesianMmm = serde_json::from_value(spec_model).expect("bayesian_mmm");
    model.progress = false;
    let problem = FitProblem {
        design: &design,
        y: &data.y,
        media: &data.media,
        seed: loaded.spec.seed,
        calibration: &[],
        geos: &[],
    };

    // 1. one log-density + gradient evaluation
    let (mut f, ..) = model.density(&problem).expect("density");
    let d = f.dim();
    let u: Vec<f64> = (0..d).map(|k| 0.1 * (k as f64).sin()).collect();
    let mut g = vec![0.0; d];
    let mut sink = 0.0;
    for _ in 0..10_000 {
        sink += f.logp_grad(&u, &mut g);
    }
    let n = 200_000;
    let t = Instant::now();
    for _ in 0..n {
        sink += f.logp_grad(&u, &mut g);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "logp+gradient ({} weeks, {d} parameters): {:.3} µs/evaluation, {:.0} evaluations/s (checksum {:.3e})",
        f.y.len(),
        1e6 * secs / n as f64,
        n as f64 / secs,
        sink
    );

    // 2. the whole fit
    for run in 0..3 {
        let t = Instant::now();
        let fitted = model.fit(&problem).expect("fit");
        let wall = t.elapsed().as_secs_f64();
        let s = &fitted.statistics;
        let ess = s["min_ess_bulk"];
        let evals = s["gradient_evaluations"];
        let sampling = s["sampling_seconds"];
        println!(
            "fit {run}: {wall:.3} s ({sampling:.3} s sampling), {evals:.0} gradient evaluations ({:.0}/s over {} threads), min bulk ESS {ess:.0}, ESS/s {:.0}, max R-hat {:.4}, divergences {}",
            evals / sampling,
            rayon::current_num_threads(),
            ess / wall,
            s["max_r_hat"],
            s["divergences"]
        );
    }
}
