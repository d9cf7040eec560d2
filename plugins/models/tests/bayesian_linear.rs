//! bayesian_linear against the closed-form conjugate posterior (fixtures of
//! tools/fixtures/models.py), untruncated (`positive: "none"`).

use mmm_core::model::{FitProblem, Model};
use mmm_models as _;

mod common;
use common::{dataset, fit, fixture, floats};

#[test]
fn posterior_matches_closed_form() {
    for case in fixture("bayesian_linear.json").as_array().unwrap() {
        let name = case["dataset"].as_str().unwrap();
        let (design, y) = dataset(name);
        let f = fit(&case["params"], &design, &y, 2024);
        let draws = case["params"]["draws"].as_f64().unwrap();
        let mean = floats(&case["expected"]["mean"]);
        let sd = floats(&case["expected"]["sd"]);
        for ((c, m), s) in f.coefficients.iter().zip(&mean).zip(&sd) {
            let mcse = s / draws.sqrt();
            assert!(
                (c.estimate - m).abs() < 3.0 * mcse,
                "{name} {}: mean {} vs {m} (3 MCSE = {})",
                c.name,
                c.estimate,
                3.0 * mcse
            );
            let got_sd = c.std_error.unwrap();
            assert!(
                (got_sd / s - 1.0).abs() < 0.05,
                "{name} {}: sd {got_sd} vs {s}",
                c.name
            );
            assert!(c.ci_low.unwrap() < c.estimate && c.estimate < c.ci_high.unwrap());
            assert!(c.p_value.is_none());
        }
        let d = f.coefficient_draws.as_ref().unwrap();
        assert_eq!(d.shape(), (draws as usize, design.n_cols()));
        let (lo, hi) = f.fitted_interval.as_ref().unwrap();
        // the 95% posterior predictive interval should cover about 95% of the data
        let covered = (0..y.len())
            .filter(|&i| lo[i] <= y[i] && y[i] <= hi[i])
            .count();
        let share = covered as f64 / y.len() as f64;
        assert!(share > 0.85, "{name}: predictive coverage {share}");
        assert_eq!(f.column_statistics["ci90_low"].len(), design.n_cols());
        assert_eq!(f.interval_level, 0.95);
    }
}

#[test]
fn deterministic_given_seed() {
    let (design, y) = dataset("mmm");
    let params = serde_json::json!({"type": "bayesian_linear", "draws": 200});
    let a = fit(&params, &design, &y, 7);
    let b = fit(&params, &design, &y, 7);
    assert_eq!(a.beta(), b.beta());
    assert_eq!(a.coefficient_draws, b.coefficient_draws);
}

#[test]
fn truncation_keeps_media_non_negative() {
    let (design, y) = dataset("mmm");
    // "social" has a negative effect in the data: its posterior is pushed onto [0, ∞)
    let params = serde_json::json!({"type": "bayesian_linear", "draws": 300, "positive": "media"});
    let model: Box<dyn Model> = serde_json::from_value(params).unwrap();
    match model.fit(&FitProblem {
        design: &design,
        y: &y,
        media: &[],
        seed: 3,
        calibration: &[],
        geos: &[],
    }) {
        Ok(f) => {
            let d = f.coefficient_draws.unwrap();
            for (j, c) in design.columns.iter().enumerate() {
                if c.role == mmm_core::model::Role::Media {
                    assert!(d.column(j).iter().all(|v| *v >= 0.0));
                }
            }
        }
        Err(e) => {
            // acceptable only as the documented rejection failure
            let s = e.to_string();
            assert!(s.contains("positivity constraint"), "{s}");
        }
    }
}

#[test]
fn invalid_params_name_the_field() {
    let bad = serde_json::json!({"type": "bayesian_linear", "draws": 5});
    let model: Box<dyn Model> = serde_json::from_value(bad).unwrap();
    assert!(model.validate().unwrap_err().to_string().contains("/draws"));
    let bad =
        serde_json::json!({"type": "bayesian_linear", "priors": {"tv": {"mean": 0, "scale": 1}}});
    assert!(serde_json::from_value::<Box<dyn Model>>(bad).is_err());
}
