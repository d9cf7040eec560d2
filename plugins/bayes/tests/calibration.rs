//! Lift tests in the Bayesian density: the gradient of the lift terms against finite
//! differences, the terms' value against the closed form, and the model's lift against the
//! core's independent computation.

mod common;

use mmm_bayes::nuts::LogDensity;
use mmm_bayes::BayesianMmm;
use mmm_core::calibration::{LiftBuffers, LiftScope, LiftTest};
use mmm_core::model::FitProblem;
use mmm_core::transform::ChainWorkspace;
use mmm_data::calibration::{resolve, LiftTestSpec};

/// A holdout of x1 (carry-over to the end of the data) and a cut of x2 (its window only).
fn tests(example: &common::Example) -> Vec<LiftTest> {
    let spec =
        |channel: &str, start: &str, end: &str, change: Option<f64>, lift: f64| LiftTestSpec {
            name: None,
            channel: channel.into(),
            start: start.into(),
            end: end.into(),
            spend_change: change,
            holdout: change.is_none(),
            lift,
            standard_error: 0.1 * lift.abs(),
            scope: if channel == "x2" {
                LiftScope::Window
            } else {
                LiftScope::Total
            },
            geos: vec![],
        };
    let d = &example.data;
    let names: Vec<String> = d.media.iter().map(|m| m.name.clone()).collect();
    let spends: Vec<Vec<f64>> = d.media.iter().map(|m| m.spend.clone()).collect();
    resolve(
        &[
            spec("x1", "2019-01-07", "2019-02-04", None, -900.0),
            spec("x2", "2020-03-02", "2020-03-30", Some(-1.0), -400.0),
        ],
        &names,
        &d.dates,
        &spends,
        &[],
    )
    .unwrap()
}

fn problem<'a>(example: &'a common::Example, tests: &'a [LiftTest]) -> FitProblem<'a> {
    FitProblem {
        calibration: tests,
        geos: &[],
        ..example.problem(1)
    }
}

fn point(d: usize) -> Vec<f64> {
    (0..d)
        .map(|k| 0.3 * ((k as f64) * 1.7).sin() - 0.5)
        .collect()
}

#[test]
fn lift_terms_have_the_analytic_gradient() {
    use mmm_bayes::model::{Defaults, MediaPrior};
    let example = common::Example::load();
    let tests = tests(&example);
    assert_eq!(tests.len(), 2);
    for (defaults, media_prior) in [
        (Defaults::PymcMarketing, MediaPrior::Coefficient),
        (Defaults::Robust, MediaPrior::Coefficient),
        (Defaults::Robust, MediaPrior::Roi),
        (Defaults::Robust, MediaPrior::ContributionShare),
    ] {
        let model = BayesianMmm {
            progress: false,
            defaults,
            media_prior,
            ..Default::default()
        };
        // the lift terms alone: the analytic part is (with − without); the finite differences
        // are of Σ_k log N(L_k | λ_k(u), s_k) evaluated on its own, so that they are not
        // drowned by the rounding of the whole log density (≈ 3·10⁶ here)
        let (mut f, ..) = model.density(&problem(&example, &tests)).unwrap();
        let (mut f0, ..) = model.density(&example.problem(1)).unwrap();
        assert_eq!(f.lifts.len(), 2);
        let d = f.dim();
        let u = point(d);
        let names: Vec<String> = f.params.iter().map(|p| p.name.clone()).collect();
        let (mut g, mut g0) = (vec![0.0; d], vec![0.0; d]);
        f.logp_grad(&u, &mut g);
        f0.logp_grad(&u, &mut g0);
        let obs: Vec<(f64, f64)> = f.lifts.iter().map(|l| (l.lift, l.sd)).collect();
        let mut lift_ll = |v: &[f64]| {
            let mut x = vec![0.0; d];
            f.constrain(v, &mut x);
            let mut lambda = vec![0.0; obs.len()];
            f.model_lifts(&x, &mut lambda);
            obs.iter()
                .zip(&lambda)
                .map(|((l, s), m)| -0.5 * ((l - m) / s).powi(2) - s.ln())
                .sum::<f64>()
        };
        for k in 0..d {
            let h = 1e-5;
            let mut up = u.clone();
            up[k] += h;
            let lp = lift_ll(&up);
            up[k] -= 2.0 * h;
            let lm = lift_ll(&up);
            let fd = (lp - lm) / (2.0 * h);
            let analytic = g[k] - g0[k];
            assert!(
                (fd - analytic).abs() < 1e-6 * fd.abs().max(1e-2),
                "{defaults:?} {media_prior:?} {}: analytic {analytic} fd {fd}",
                names[k],
            );
        }
    }
}

/// The lift terms add exactly `Σ_k log N(L_k | λ_k, s_k)` (scaled units) to the log density,
/// and `λ_k·s_y` is the lift the core computes from the same parameters.
#[test]
fn lift_terms_are_normal_log_densities_of_the_core_lift() {
    let example = common::Example::load();
    let tests = tests(&example);
    let model = BayesianMmm {
        progress: false,
        ..Default::default()
    };
    let (mut with, _, _, scales, s_y) = model.density(&problem(&example, &tests)).unwrap();
    let (mut without, ..) = model.density(&example.problem(1)).unwrap();
    let d = with.dim();
    let u = point(d);
    let mut g = vec![0.0; d];
    let diff = with.logp_grad(&u, &mut g) - without.logp_grad(&u, &mut g);
    let mut x = vec![0.0; d];
    with.constrain(&u, &mut x);
    let mut lambda = vec![0.0; tests.len()];
    with.model_lifts(&x, &mut lambda);
    let mut want = 0.0;
    let mut ws = ChainWorkspace::default();
    let mut buf = LiftBuffers::default();
    for (k, t) in tests.iter().enumerate() {
        let (l, s) = (t.lift / s_y, t.standard_error / s_y);
        let r = l - lambda[k];
        want += -s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() - 0.5 * r * r / (s * s);
        // the core's lift: the chain with these parameters on spend scaled as the model does
        let i = t.channel;
        let mut chain = example.data.media[i].chain.clone();
        let theta: Vec<f64> = with.media_theta_indices(i).iter().map(|&k| x[k]).collect();
        chain.set_params(&theta);
        let beta = x[with.media_coef_index(i)];
        let core = t.model_lift(
            &chain,
            beta * s_y,
            &example.data.media[i].spend,
            1.0 / scales[i],
            &mut ws,
            &mut buf,
        );
        assert!(
            (core - lambda[k] * s_y).abs() < 1e-9 * core.abs().max(1.0),
            "test {k}: core {core}, density {}",
            lambda[k] * s_y
        );
        assert!(core < 0.0, "a cut lowers the KPI: {core}");
    }
    assert!((diff - want).abs() < 1e-9, "{diff} vs {want}");
}
