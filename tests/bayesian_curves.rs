//! A Bayesian model's response curves and marginal ROI come from the posterior: per point the
//! posterior mean over the draws with its credible interval, consistent with each other (the
//! curve is the integral of its mROI), with the channels' ROI when the chain is linear, and the
//! same in `results.json`, `results.sqlite` and the report.

mod common;
use common::*;
use rusqlite::Connection;
use serde_json::{json, Value};
use std::path::Path;

/// The PyMC-Marketing example (`examples/pymc-parity`) with `transforms` on both channels and a
/// short sampling run; returns the results.
fn run_parity_variant(dir: &Path, transforms: Value) -> Value {
    let example = root().join("examples/pymc-parity");
    let mut spec: Value =
        serde_json::from_str(&std::fs::read_to_string(example.join("spec.json")).unwrap()).unwrap();
    spec.as_object_mut().unwrap().remove("$schema");
    spec["data"]["path"] = json!(example.join("data.csv"));
    for m in spec["media"].as_array_mut().unwrap() {
        m["transforms"] = transforms.clone();
    }
    for (k, v) in [("chains", 2), ("tune", 300), ("draws", 300)] {
        spec["model"][k] = json!(v);
    }
    let path = dir.join("spec.json");
    std::fs::write(&path, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
    run_ok(&path, &dir.join("out"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn posterior_curves_carry_intervals_and_integrate_their_mroi() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_parity_variant(
        dir.path(),
        json!([
            {"type": "geometric_adstock", "decay": 0.5, "l_max": 8, "normalize": true},
            {"type": "logistic", "lam": 1.0}
        ]),
    );
    let horizon = f(&r["data"]["n_obs"]);
    for (curve, channel) in r["response_curves"]
        .as_array()
        .unwrap()
        .iter()
        .zip(r["channels"].as_array().unwrap())
    {
        let name = &curve["channel"];
        assert_eq!(name, &channel["name"]);
        // the channel's mROI and its interval are the curve's at current spend
        assert_eq!(curve["mroi"], channel["mroi"]);
        assert_eq!(curve["mroi_low"], channel["mroi_ci_low"]);
        assert_eq!(curve["mroi_high"], channel["mroi_ci_high"]);
        assert!(
            f(&curve["mroi_low"]) < f(&curve["mroi"]) && f(&curve["mroi"]) < f(&curve["mroi_high"])
        );

        let points = curve["points"].as_array().unwrap();
        assert_eq!(f(&points[0]["response"]), 0.0, "{name}");
        let mut integral = 0.0;
        for (k, p) in points.iter().enumerate() {
            for (lo, mid, hi) in [
                ("response_low", "response", "response_high"),
                ("mroi_low", "mroi", "mroi_high"),
            ] {
                assert!(
                    f(&p[lo]) <= f(&p[mid]) && f(&p[mid]) <= f(&p[hi]),
                    "{name} point {k}: {mid} outside its interval: {p}"
                );
            }
            if k > 0 {
                // response(s) = H·∫₀ˢ mROI: trapezoid rule on the 41 sampled points
                let q = &points[k - 1];
                integral +=
                    0.5 * (f(&p["mroi"]) + f(&q["mroi"])) * (f(&p["spend"]) - f(&q["spend"]));
                let want = f(&p["response"]);
                assert!(
                    (horizon * integral - want).abs() < 0.01 * want,
                    "{name} point {k}: H·∫mROI {} vs response {want}",
                    horizon * integral
                );
            }
            // a logistic saturation: diminishing returns along the curve
            if k > 0 {
                assert!(
                    f(&p["mroi"]) < f(&points[k - 1]["mroi"]),
                    "{name} point {k}"
                );
            }
        }
    }

    // shares per draw: each channel's interval holds its share, inside (0, 1); with two
    // channels the share of one is 1 minus the other's, draw by draw, so the intervals mirror
    let channels = r["channels"].as_array().unwrap();
    let shares: Vec<(f64, f64, f64)> = channels
        .iter()
        .map(|c| {
            (
                f(&c["share_ci_low"]),
                f(&c["share"]),
                f(&c["share_ci_high"]),
            )
        })
        .collect();
    for (lo, mid, hi) in &shares {
        assert!(0.0 < *lo && lo < mid && mid < hi && *hi < 1.0, "{shares:?}");
    }
    assert!((shares[0].1 + shares[1].1 - 1.0).abs() < 1e-12);
    assert!((shares[0].0 + shares[1].2 - 1.0).abs() < 1e-9, "{shares:?}");
    assert!((shares[0].2 + shares[1].0 - 1.0).abs() < 1e-9, "{shares:?}");

    // SQLite holds the same intervals
    let db = Connection::open(dir.path().join("out/results.sqlite")).unwrap();
    for c in channels {
        let got: [f64; 4] = db
            .query_row(
                "SELECT mroi_ci_low, mroi_ci_high, share_ci_low, share_ci_high FROM channels WHERE name = ?1",
                [c["name"].as_str().unwrap()],
                |row| Ok([row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?]),
            )
            .unwrap();
        let want = [
            "mroi_ci_low",
            "mroi_ci_high",
            "share_ci_low",
            "share_ci_high",
        ]
        .map(|k| f(&c[k]));
        assert_eq!(got, want);
    }
    let with_band: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM response_curves WHERE response_low <= response AND response <= response_high",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(with_band, 2 * 41);

    // the report draws the band and shows the mROI interval
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(
        html.contains("marginal ROI 94% interval"),
        "no mROI interval column"
    );
    assert!(html.contains("posterior-mean response"), "no band caption");
}

#[test]
fn linear_chain_mroi_equals_roi() {
    // adstock only: the response is linear in spend, so mROI is constant along the curve and,
    // up to the carry-over lost at the data's ends, equal to the channel's ROI, draw by draw
    let dir = tempfile::tempdir().unwrap();
    let r = run_parity_variant(
        dir.path(),
        json!([{"type": "geometric_adstock", "decay": 0.5, "l_max": 8, "normalize": true}]),
    );
    for (curve, channel) in r["response_curves"]
        .as_array()
        .unwrap()
        .iter()
        .zip(r["channels"].as_array().unwrap())
    {
        let name = &curve["channel"];
        let points = curve["points"].as_array().unwrap();
        let m0 = f(&points[1]["mroi"]);
        for p in &points[1..] {
            assert!((f(&p["mroi"]) / m0 - 1.0).abs() < 1e-9, "{name}: {p}");
        }
        // the interval ends are 94% HDIs of 200 thinned draws against all 600: a looser bound
        for (a, b, tol) in [
            ("mroi", "roi", 0.03),
            ("mroi_ci_low", "roi_ci_low", 0.05),
            ("mroi_ci_high", "roi_ci_high", 0.05),
        ] {
            let (m, roi) = (f(&channel[a]), f(&channel[b]));
            assert!((m / roi - 1.0).abs() < tol, "{name}: {a} {m} vs {b} {roi}");
        }
    }
}
