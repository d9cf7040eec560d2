//! Geo fixed effects (`ols`/`ridge` with `"geo": "fixed_effects"`) against statsmodels and
//! scikit-learn (fixture of tools/fixtures/geo_fixed_effects.py): OLS on the stacked design
//! with geo dummies (national coefficients, classical and cluster-robust standard errors, per
//! geo contributions and fitted values, pooled and per-geo slopes), the within estimator
//! (ridge at α = 0 demeans within geos and must give OLS's dummies solution), and ridge with
//! unpenalized geo intercepts.

use mmm_core::geo::GeoSeries;
use mmm_core::model::{Column, Design, FitProblem, FittedModel, MediaInput, Model, Role};
use mmm_core::transform::TransformChain;
use mmm_models::common::Positivity;
use mmm_models::fixed_effects::{Covariance, GeoMode, Slopes};
use mmm_models::ols::Ols;
use mmm_models::ridge::Ridge;
use nalgebra::DMatrix;
use serde_json::Value;

mod common;
use common::{assert_close, fixture, floats};

struct Panel {
    design: Design,
    y: Vec<f64>,
    media: Vec<MediaInput>,
    geos: Vec<GeoSeries>,
}

fn panel() -> Panel {
    let f = fixture("geo_fixed_effects.json");
    let t_len = f["periods"].as_u64().unwrap() as usize;
    let geos: Vec<GeoSeries> = f["geos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| GeoSeries {
            name: g["name"].as_str().unwrap().into(),
            population: g["population"].as_f64(),
            y: floats(&g["y"]),
            spend: g["spend"].as_array().unwrap().iter().map(floats).collect(),
            regressors: vec![
                vec![1.0; t_len],
                (1..=t_len).map(|t| t as f64).collect(),
                floats(&g["price"]),
            ],
        })
        .collect();
    let total: f64 = geos.iter().map(|g| g.population.unwrap()).sum();
    let sum = |f: &dyn Fn(&GeoSeries, usize) -> f64| -> Vec<f64> {
        (0..t_len)
            .map(|t| geos.iter().map(|g| f(g, t)).sum())
            .collect()
    };
    let y = sum(&|g, t| g.y[t]);
    let price = sum(&|g, t| g.population.unwrap() / total * g.regressors[2][t]);
    let tv = sum(&|g, t| g.spend[0][t]);
    let search = sum(&|g, t| g.spend[1][t]);
    let col = |name: &str, role, channel| Column {
        name: name.into(),
        role,
        channel,
    };
    let mut x = vec![1.0; t_len];
    x.extend((1..=t_len).map(|t| t as f64));
    x.extend(&price);
    x.extend(&tv);
    x.extend(&search);
    let design = Design {
        columns: vec![
            col("intercept", Role::Intercept, None),
            col("trend", Role::Baseline, None),
            col("price", Role::Control, None),
            col("tv", Role::Media, Some(0)),
            col("search", Role::Media, Some(1)),
        ],
        x: DMatrix::from_vec(t_len, 5, x),
    };
    let media = vec![
        MediaInput {
            name: "tv".into(),
            spend: tv,
            chain: TransformChain(vec![]),
        },
        MediaInput {
            name: "search".into(),
            spend: search,
            chain: TransformChain(vec![]),
        },
    ];
    Panel {
        design,
        y,
        media,
        geos,
    }
}

fn fit(model: &dyn Model, p: &Panel, geos: bool) -> FittedModel {
    model
        .fit(&FitProblem {
            design: &p.design,
            y: &p.y,
            media: &p.media,
            seed: 3,
            calibration: &[],
            geos: if geos { &p.geos } else { &[] },
        })
        .unwrap()
}

fn ols(slopes: Slopes, covariance: Covariance) -> Ols {
    Ols {
        geo: GeoMode::FixedEffects,
        slopes,
        covariance,
    }
}

fn ridge(alpha: f64) -> Ridge {
    Ridge {
        alpha,
        positive: Positivity::None,
        standardize: true,
        geo: GeoMode::FixedEffects,
        slopes: Slopes::Pooled,
    }
}

fn check_ols(case: &Value, f: &FittedModel, bse_key: &str, label: &str) {
    let want = floats(&case["coefficients"]);
    let se = floats(&case[bse_key]);
    for (j, c) in f.coefficients.iter().enumerate() {
        assert_close(
            &format!("{label} {}", c.name),
            c.estimate,
            want[j],
            1e-8,
            1e-9,
        );
        assert_close(
            &format!("{label} {} se", c.name),
            c.std_error.unwrap(),
            se[j],
            1e-7,
            1e-12,
        );
    }
}

#[test]
fn ols_with_geo_dummies_matches_statsmodels() {
    let p = panel();
    let fx = fixture("geo_fixed_effects.json");
    for (key, slopes) in [("pooled", Slopes::Pooled), ("per_geo", Slopes::PerGeo)] {
        let case = &fx["ols"][key];
        let f = fit(&ols(slopes, Covariance::Classical), &p, true);
        check_ols(case, &f, "bse_classical", key);
        assert_eq!(
            f.statistics["interval_df"],
            case["df_classical"].as_f64().unwrap()
        );
        assert_close(
            "stacked r2",
            f.statistics["r2"],
            case["r2_stacked"].as_f64().unwrap(),
            1e-10,
            0.0,
        );
        let post = f.posterior().unwrap();
        assert!(post.is_geo() && !post.is_bayesian());
        // per-geo contributions: antithetic draws average to the estimate exactly
        for (c, want) in case["contributions"].as_array().unwrap().iter().enumerate() {
            let m = post.media.iter().find(|m| m.channel == c).unwrap();
            for (g, w) in floats(want).iter().enumerate() {
                let d = &m.geos[g].contribution;
                let mean = d.iter().sum::<f64>() / d.len() as f64;
                assert_close(&format!("{key} contribution {c} {g}"), mean, *w, 1e-8, 1e-9);
            }
            let national: f64 = floats(want).iter().sum();
            let mean = m.contribution.iter().sum::<f64>() / m.contribution.len() as f64;
            assert_close(
                &format!("{key} national contribution {c}"),
                mean,
                national,
                1e-8,
                1e-9,
            );
        }
        for (g, want) in case["fitted"].as_array().unwrap().iter().enumerate() {
            for (a, b) in post.geos[g].fitted.iter().zip(floats(want)) {
                assert_close(&format!("{key} fitted {g}"), *a, b, 1e-9, 1e-9);
            }
        }
        // national fitted values and column contributions are the geos' sums
        for t in 0..p.y.len() {
            let parts: f64 = post.column_contributions.iter().map(|c| c[t]).sum();
            assert_close("parts sum to fitted", parts, f.fitted[t], 1e-10, 1e-9);
            let geos: f64 = post.geos.iter().map(|g| g.fitted[t]).sum();
            assert_close("geos sum to national", geos, f.fitted[t], 1e-12, 1e-9);
        }
    }
}

#[test]
fn cluster_robust_by_geo_matches_statsmodels_cr1() {
    let p = panel();
    let fx = fixture("geo_fixed_effects.json");
    let f = fit(&ols(Slopes::Pooled, Covariance::ClusterGeo), &p, true);
    check_ols(&fx["ols"]["pooled"], &f, "bse_cluster", "cluster");
    assert_eq!(f.statistics["interval_df"], 3.0);
    // per-geo slopes have no cluster-robust covariance
    let e = ols(Slopes::PerGeo, Covariance::ClusterGeo)
        .fit(&FitProblem {
            design: &p.design,
            y: &p.y,
            media: &p.media,
            seed: 3,
            calibration: &[],
            geos: &p.geos,
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("/covariance") && e.contains("per-geo"), "{e}");
}

#[test]
fn within_estimator_equals_the_dummies() {
    // ridge at α = 0 fits the within-demeaned rows and recovers the intercepts: OLS's
    // solution with dummies
    let p = panel();
    let o = fit(&ols(Slopes::Pooled, Covariance::Classical), &p, true);
    let r = fit(&ridge(0.0), &p, true);
    for (a, b) in o.coefficients.iter().zip(&r.coefficients) {
        assert_close(&a.name, b.estimate, a.estimate, 1e-8, 1e-9);
        assert!(b.std_error.is_none());
    }
    // a point fit has one draw: no interval
    assert_eq!(r.posterior().unwrap().media[0].contribution.len(), 1);
}

#[test]
fn ridge_leaves_the_geo_intercepts_unpenalized() {
    let p = panel();
    let fx = fixture("geo_fixed_effects.json");
    for case in fx["ridge"].as_array().unwrap() {
        let alpha = case["alpha"].as_f64().unwrap();
        let f = fit(&ridge(alpha), &p, true);
        for (c, w) in f.coefficients.iter().zip(floats(&case["coefficients"])) {
            assert_close(
                &format!("ridge {alpha} {}", c.name),
                c.estimate,
                w,
                1e-7,
                1e-9,
            );
        }
    }
}

#[test]
fn fixed_effects_on_national_data_is_the_national_fit() {
    let p = panel();
    let fe = fit(&ols(Slopes::Pooled, Covariance::Classical), &p, false);
    let national = fit(&Ols::default(), &p, false);
    assert!(fe.posterior().is_none());
    for (a, b) in fe.coefficients.iter().zip(&national.coefficients) {
        assert_eq!(a.estimate, b.estimate);
        assert_eq!(a.std_error, b.std_error);
    }
}

#[test]
fn geo_options_need_fixed_effects() {
    let e = Ols {
        slopes: Slopes::PerGeo,
        ..Ols::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("/slopes"), "{e}");
    let e = Ols {
        covariance: Covariance::ClusterGeo,
        ..Ols::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("/covariance"), "{e}");
}

#[test]
fn lasso_and_elastic_net_get_fixed_effects_too() {
    // a penalty large enough to zero every slope leaves the unpenalized geo intercepts at the
    // geos' means: τ_g = ȳ̃_g, so the national intercept Σ_g r_g·τ_g is the national mean KPI
    let p = panel();
    let lasso: mmm_models::lasso::Lasso = serde_json::from_value(serde_json::json!({
        "alpha": 1e9, "geo": "fixed_effects"
    }))
    .unwrap();
    let enet: mmm_models::elastic_net::ElasticNet = serde_json::from_value(serde_json::json!({
        "alpha": 1e9, "l1_ratio": 0.5, "geo": "fixed_effects", "slopes": "per_geo"
    }))
    .unwrap();
    let mean = p.y.iter().sum::<f64>() / p.y.len() as f64;
    for m in [&lasso as &dyn Model, &enet] {
        let f = fit(m, &p, true);
        let post = f.posterior().unwrap();
        assert!(post.is_geo() && post.media[0].contribution == vec![0.0]);
        assert_close("intercept", f.coefficients[0].estimate, mean, 1e-10, 1e-9);
        for c in &f.coefficients[1..] {
            assert_eq!(c.estimate, 0.0, "{}", c.name);
        }
        for (g, geo) in post.geos.iter().enumerate() {
            let m = p.geos[g].y.iter().sum::<f64>() / p.y.len() as f64;
            assert_close("geo level", geo.fitted[0], m, 1e-10, 1e-9);
        }
    }
}
