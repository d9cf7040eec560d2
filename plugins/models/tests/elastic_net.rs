//! Lasso and elastic net against scikit-learn (fixtures of tools/fixtures/models.py).

use mmm_core::model::{FitProblem, Model};
use mmm_models as _;

mod common;
use common::{assert_close, dataset, fit, fixture, floats};

#[test]
fn lasso_and_elastic_net_match_sklearn() {
    for case in fixture("elastic_net.json").as_array().unwrap() {
        let name = case["dataset"].as_str().unwrap();
        let (design, y) = dataset(name);
        // scikit-learn penalizes the raw columns: mmm's `standardize: false`
        let mut params = case["params"].clone();
        if params.get("standardize").is_none() {
            params["standardize"] = serde_json::json!(false);
        }
        let f = fit(&params, &design, &y, 0);
        let want = floats(&case["expected"]["params"]);
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (c, w) in f.coefficients.iter().zip(&want) {
            assert_close(
                &format!("{name} {} {}", case["params"], c.name),
                c.estimate,
                *w,
                1e-4,
                1e-9 * scale,
            );
            assert!(c.std_error.is_none());
            if case["params"]["positive"] == true && c.role != mmm_core::model::Role::Intercept {
                assert!(c.estimate >= 0.0);
            }
        }
        assert!(f.statistics["n_iter"] >= 1.0);
    }
}

#[test]
fn non_convergence_is_a_clear_error() {
    let (design, y) = dataset("mmm");
    let m: Box<dyn Model> = serde_json::from_value(serde_json::json!(
        {"type": "elastic_net", "alpha": 1.0, "l1_ratio": 0.5, "tol": 1e-12, "max_iter": 2}
    ))
    .unwrap();
    let e = m
        .fit(&FitProblem {
            design: &design,
            y: &y,
            media: &[],
            seed: 0,
            calibration: &[],
            geos: &[],
        })
        .unwrap_err();
    let s = e.to_string();
    assert!(matches!(e, mmm_core::MmmError::Compute(_)));
    assert!(
        s.contains("did not converge") && s.contains("max_iter = 2") && s.contains("tol"),
        "{s}"
    );
}

#[test]
fn lasso_equals_elastic_net_with_l1_ratio_one() {
    let (design, y) = dataset("collinear");
    let a = fit(
        &serde_json::json!({"type": "lasso", "alpha": 0.1, "tol": 1e-8, "max_iter": 100000}),
        &design,
        &y,
        0,
    );
    let b = fit(
        &serde_json::json!({"type": "elastic_net", "alpha": 0.1, "l1_ratio": 1.0, "tol": 1e-8, "max_iter": 100000}),
        &design,
        &y,
        0,
    );
    assert_eq!(a.beta(), b.beta());
}
