//! Seed 001's workflow with the Bayesian MMM (`examples/seed001-bayesian`): eight channels
//! (TV, search, programmatic, social, CTV, direct mail, DOOH, billboard), 104 weeks, holidays
//! and price as controls, NUTS over every adstock and saturation parameter, then a reallocation
//! at the current total with every channel within ±20% of its current spend, optimized on the
//! posterior, with the lift's credible interval. The data is `mmm simulate`'s, with its truth.

mod common;
use common::*;
use serde_json::Value;

#[test]
fn seed001_bayesian_workflow() {
    let root = root().join("examples/seed001-bayesian");
    let tmp = tempfile::tempdir().unwrap();

    // the committed data and truth are what `mmm simulate` writes from the committed simspec
    assert_simulation_regenerates(&root);

    let r = run_ok(&root.join("spec.json"), &tmp.path().join("out"));
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("truth.json")).unwrap()).unwrap();
    let f = |v: &Value| v.as_f64().unwrap();

    // the posterior: no sampler failure, and the true contribution of at least 6 of the 8
    // channels inside its 94% HDI. Even a correctly specified model covers 7 or more of 8 with
    // 94% HDIs only ~91% of the time (6 or more: ~99%); this one is not (the model's logistic
    // saturation and normalized adstock are not the simulation's Hill and plain geometric)
    let stats = &r["model"]["statistics"];
    assert!(f(&stats["max_r_hat"]) < 1.05, "{stats}");
    let channels = r["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 8);
    let truth_of = |c: &Value| {
        truth["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == c["name"])
            .unwrap()
    };
    let mut inside = 0;
    for c in channels {
        let t = truth_of(c);
        let (lo, hi, want) = (
            f(&c["contribution_ci_low"]),
            f(&c["contribution_ci_high"]),
            f(&t["contribution"]),
        );
        assert!(lo < f(&c["contribution"]) && f(&c["contribution"]) < hi);
        inside += (lo <= want && want <= hi) as usize;
    }
    assert!(
        inside >= 6,
        "true contribution inside the HDI for {inside} of 8 channels"
    );

    // marginal ROI at current spend from the posterior: the simulation's true mROI (the same
    // steady-state definition) inside the credible interval for at least 6 of 8 channels
    let mut inside = 0;
    for c in channels {
        let t = truth_of(c);
        let (lo, hi, want) = (f(&c["mroi_ci_low"]), f(&c["mroi_ci_high"]), f(&t["mroi"]));
        assert!(lo < f(&c["mroi"]) && f(&c["mroi"]) < hi, "{c}");
        inside += (lo <= want && want <= hi) as usize;
    }
    assert!(
        inside >= 6,
        "true mROI inside the interval for {inside} of 8 channels"
    );

    // adstock weights come from the posterior: per channel the posterior mean of each draw's
    // normalized geometric weights, so the lag-0 weight (1 − d)/(1 − d¹²) lies between its
    // values at the decay HDI's ends, inside its own HDI, and differs between channels
    let params = &r["posterior"]["diagnostics"]["parameters"];
    let w0 = |d: f64| (1.0 - d) / (1.0 - d.powi(12));
    let mut firsts = vec![];
    for c in r["response_curves"].as_array().unwrap() {
        let name = c["channel"].as_str().unwrap();
        let decay = &params[format!("{name}.geometric_adstock.decay")];
        let (lo, hi) = (f(&decay["hdi_low"]), f(&decay["hdi_high"]));
        let first = f(&c["adstock_weights"][0]);
        assert!(
            w0(hi) - 0.02 <= first && first <= w0(lo) + 0.02,
            "{name}: lag-0 weight {first}, decay HDI [{lo}, {hi}]"
        );
        assert!(
            f(&c["adstock_weights_low"][0]) <= first && first <= f(&c["adstock_weights_high"][0])
        );
        firsts.push(first);
    }
    let spread = firsts.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - firsts.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(spread > 0.1, "lag-0 weights {firsts:?}");

    // the plan: total unchanged, every channel within ±20% of its current spend
    let opt = &r["optimization"];
    let plan = opt["channels"].as_array().unwrap();
    let (mut now, mut new) = (0.0, 0.0);
    for c in plan {
        let (cur, best) = (f(&c["current_spend"]), f(&c["optimal_spend"]));
        assert!(
            best >= 0.8 * cur * (1.0 - 1e-9) && best <= 1.2 * cur * (1.0 + 1e-9),
            "{}: {best} vs current {cur}",
            c["name"]
        );
        now += cur;
        new += best;
    }
    assert!((now - new).abs() < 1e-6 * now, "total {new} vs {now}");

    // the lift with its credible interval, from the draws
    let lift = &opt["details"]["posterior_lift"];
    assert_eq!(lift["draws"], 200);
    let (m, lo, hi) = (
        f(&lift["lift_pct"]),
        f(&lift["lift_pct_low"]),
        f(&lift["lift_pct_high"]),
    );
    assert!(lo < m && m < hi, "{lift}");
    assert!(
        lo > 0.0,
        "the reallocation should help in 94% of the posterior: {lift}"
    );
    assert!(f(&lift["probability_positive"]) > 0.97);
    // the optimizer's own figure is the posterior-mean lift
    assert!((f(&opt["lift_pct"]) - m).abs() < 0.1 * m.abs(), "{opt}");
}
