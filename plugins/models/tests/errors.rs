//! Error paths: singular designs, invalid parameters (named by JSON pointer), unknown fields,
//! and the registry entries of every model.

use mmm_core::model::{FitProblem, Model, KIND};
use mmm_core::MmmError;
use mmm_models as _;
use serde_json::json;

mod common;
use common::dataset;

fn model(v: serde_json::Value) -> Box<dyn Model> {
    serde_json::from_value(v).unwrap()
}

/// The "collinear" data set with x2 replaced by an exact multiple of x1 plus the constant.
fn singular() -> (mmm_core::model::Design, Vec<f64>) {
    let (mut d, y) = dataset("collinear");
    for i in 0..d.n_obs() {
        d.x[(i, 2)] = 2.0 * d.x[(i, 1)] + 3.0;
    }
    (d, y)
}

#[test]
fn singular_design_is_a_compute_error_naming_columns() {
    let (d, y) = singular();
    let p = FitProblem {
        design: &d,
        y: &y,
        media: &[],
        seed: 0,
        calibration: &[],
        geos: &[],
    };
    for spec in [
        json!({"type": "ols"}),
        json!({"type": "ridge", "alpha": 0.0, "positive": "none"}),
    ] {
        let e = model(spec.clone()).fit(&p).unwrap_err();
        let s = e.to_string();
        assert!(matches!(e, MmmError::Compute(_)), "{spec}: {s}");
        assert!(
            s.contains("'x1'") && s.contains("'x2'") && !s.contains("'x3'"),
            "{spec}: {s}"
        );
    }
    // a penalty makes the same design solvable
    assert!(model(json!({"type": "ridge", "alpha": 1.0}))
        .fit(&p)
        .is_ok());
}

#[test]
fn invalid_parameters_name_the_field() {
    for (spec, field) in [
        (json!({"type": "ridge", "alpha": -1.0}), "/alpha"),
        (json!({"type": "lasso", "alpha": 0.0}), "/alpha"),
        (
            json!({"type": "elastic_net", "alpha": 1.0, "l1_ratio": 2.0}),
            "/l1_ratio",
        ),
        (
            json!({"type": "elastic_net", "alpha": 1.0, "l1_ratio": 0.5, "tol": 0.0}),
            "/tol",
        ),
        (json!({"type": "bayesian_linear", "a0": -2.0}), "/a0"),
        (json!({"type": "bayesian_linear", "b0": 0.0}), "/b0"),
        (
            json!({"type": "bayesian_linear", "priors": {"default": {"mean": 0, "scale": 0}}}),
            "/priors/default/scale",
        ),
    ] {
        let e = model(spec.clone()).validate().unwrap_err();
        assert!(matches!(e, MmmError::InvalidParameter { .. }), "{spec}");
        assert!(e.to_string().starts_with(field), "{spec}: {e}");
    }
}

#[test]
fn unknown_fields_are_rejected() {
    for spec in [
        json!({"type": "ols", "alpha": 1}),
        json!({"type": "ridge", "alpha": 1, "lambda": 2}),
        json!({"type": "ridge", "alpha": 1, "positive": "some"}),
        json!({"type": "elastic_net", "alpha": 1, "l1ratio": 0.5}),
        json!({"type": "bayesian_linear", "priors": {"default": {"mean": 0, "sd": 1}}}),
    ] {
        assert!(
            serde_json::from_value::<Box<dyn Model>>(spec.clone()).is_err(),
            "{spec}"
        );
    }
}

#[test]
fn every_model_is_registered_with_a_valid_example() {
    let tags: Vec<&str> = mmm_core::registry::plugins(KIND)
        .iter()
        .map(|d| d.tag)
        .collect();
    for t in ["bayesian_linear", "elastic_net", "lasso", "ols", "ridge"] {
        assert!(tags.contains(&t), "{t} missing from {tags:?}");
    }
    let (d, y) = dataset("mmm");
    for desc in mmm_core::registry::plugins(KIND) {
        if !["bayesian_linear", "elastic_net", "lasso", "ols", "ridge"].contains(&desc.tag) {
            continue;
        }
        let m = model(desc.tagged_example().unwrap());
        m.validate().unwrap();
        let f = m
            .fit(&FitProblem {
                design: &d,
                y: &y,
                media: &[],
                seed: 1,
                calibration: &[],
                geos: &[],
            })
            .unwrap();
        assert_eq!(f.coefficients.len(), d.n_cols());
        assert_eq!(f.fitted.len(), d.n_obs());
        assert!(f.parameters.is_object());
        // params() round-trips through get/set
        let mut m2 = dyn_clone::clone_box(&*m);
        let k = m.params().len();
        let mut v = vec![0.0; k];
        m.get_params(&mut v);
        m2.set_params(&v);
        for s in m.params() {
            assert!(s.contains(v[m.params().iter().position(|x| x.name == s.name).unwrap()]));
        }
    }
}
