//! OLS against statsmodels and ridge against scikit-learn (fixtures of tools/fixtures/models.py).

use mmm_models as _;

mod common;
use common::{assert_close, dataset, fit, fixture, floats};

#[test]
fn ols_matches_statsmodels() {
    for case in fixture("ols.json").as_array().unwrap() {
        let name = case["dataset"].as_str().unwrap();
        let (design, y) = dataset(name);
        let f = fit(&case["params"], &design, &y, 0);
        let e = &case["expected"];
        let rel = 1e-6;
        for (field, key) in [
            ("estimate", "params"),
            ("std_error", "bse"),
            ("t_value", "tvalues"),
            ("p_value", "pvalues"),
            ("ci_low", "ci_low"),
            ("ci_high", "ci_high"),
        ] {
            let want = floats(&e[key]);
            for (c, w) in f.coefficients.iter().zip(&want) {
                let got = match field {
                    "estimate" => c.estimate,
                    "std_error" => c.std_error.unwrap(),
                    "t_value" => c.t_value.unwrap(),
                    "p_value" => c.p_value.unwrap(),
                    "ci_low" => c.ci_low.unwrap(),
                    _ => c.ci_high.unwrap(),
                };
                // p values below 1e-250 underflow differently; compare them absolutely
                assert_close(&format!("{name} {} {field}", c.name), got, *w, rel, 1e-250);
            }
        }
        for (k, v) in e["statistics"].as_object().unwrap() {
            assert_close(
                &format!("{name} {k}"),
                f.statistics[k],
                v.as_f64().unwrap(),
                rel,
                1e-250,
            );
        }
        // a statistic statsmodels does not define here (Breusch–Pagan without a constant) is
        // NaN (null in results.json), never invented
        for (k, v) in &f.statistics {
            if e["statistics"].get(k).is_none()
                // mmm's own statistic, checked against its closed form in ols.rs's unit tests
                && !["n_obs", "df_resid", "df_model", "condition_number_standardized"]
                    .contains(&k.as_str())
            {
                assert!(v.is_nan(), "{name} {k} = {v}, statsmodels gives none");
            }
        }
        for (j, w) in floats(&e["vif"]).iter().enumerate() {
            assert_close(
                &format!("{name} vif {j}"),
                f.column_statistics["vif"][j],
                *w,
                rel,
                0.0,
            );
        }
        for (a, b) in f.fitted.iter().zip(floats(&e["fitted"])) {
            assert_close(&format!("{name} fitted"), *a, b, 1e-9, 1e-9);
        }
        assert_eq!(f.interval_level, 0.95);
    }
}

#[test]
fn ridge_matches_sklearn() {
    for case in fixture("ridge.json").as_array().unwrap() {
        let name = case["dataset"].as_str().unwrap();
        let (design, y) = dataset(name);
        let f = fit(&case["params"], &design, &y, 0);
        // 1e-6 for the closed form, 1e-4 for bounded fits (the reference is iterative)
        let rel = if case["constrained"].as_bool().unwrap() {
            1e-4
        } else {
            1e-6
        };
        let want = floats(&case["expected"]["params"]);
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (c, w) in f.coefficients.iter().zip(&want) {
            assert_close(
                &format!("{name} {} {}", case["params"], c.name),
                c.estimate,
                *w,
                rel,
                1e-12 * scale,
            );
            assert!(c.std_error.is_none() && c.ci_low.is_none());
        }
    }
}
