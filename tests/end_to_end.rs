//! End-to-end runs of the CLI: the quickstart, determinism, and recovery of known truth.

mod common;
use common::*;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde_json::{json, Value};

#[test]
fn quickstart_runs_and_its_outputs_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("qs");
    let r = run_ok(&root().join("examples/quickstart/spec.json"), &out);
    assert_eq!(r["schema_version"], "1.0");
    assert_eq!(r["data"]["n_obs"], 208);
    assert_eq!(r["data"]["frequency"], "weekly");
    for k in [
        "r2",
        "adj_r2",
        "rmse",
        "nrmse",
        "mape",
        "durbin_watson",
        "n_obs",
        "n_params",
    ] {
        assert!(r["fit"][k].is_number(), "fit.{k} missing: {}", r["fit"]);
    }
    assert!(r["fit"]["r2"].as_f64().unwrap() > 0.8, "{}", r["fit"]);
    let channels = r["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 5);
    let share_sum: f64 = channels.iter().map(|c| c["share"].as_f64().unwrap()).sum();
    assert!((share_sum - 1.0).abs() < 1e-9);
    for c in channels {
        let roi = c["contribution"].as_f64().unwrap() / c["spend"].as_f64().unwrap();
        assert!((roi - c["roi"].as_f64().unwrap()).abs() < 1e-9 * roi.abs().max(1.0));
        assert!(
            c["contribution"].as_f64().unwrap() >= 0.0,
            "ridge keeps media non-negative: {c}"
        );
    }
    for c in r["coefficients"].as_array().unwrap() {
        for k in ["name", "estimate", "std_error", "ci_low", "ci_high"] {
            assert!(c.get(k).is_some(), "coefficient field {k} missing: {c}");
        }
    }

    // decomposition: the parts sum to the prediction, and channel columns sum to contributions
    let text = std::fs::read_to_string(out.join("decomposition.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..3], &["date", "actual", "predicted"]);
    let mut sums = vec![0.0; header.len()];
    let mut n = 0;
    for l in lines {
        let cells: Vec<f64> = l.split(',').skip(1).map(|c| c.parse().unwrap()).collect();
        let parts: f64 = cells[2..].iter().sum();
        assert!(
            (parts - cells[1]).abs() < 1e-6 * cells[1].abs().max(1.0),
            "parts {parts} vs predicted {}",
            cells[1]
        );
        for (j, v) in cells.iter().enumerate() {
            sums[j + 1] += v;
        }
        n += 1;
    }
    assert_eq!(n, 208);
    for c in channels {
        let j = header
            .iter()
            .position(|h| *h == c["name"].as_str().unwrap())
            .unwrap();
        let contrib = c["contribution"].as_f64().unwrap();
        assert!((sums[j] - contrib).abs() < 1e-6 * contrib.abs().max(1.0));
    }
}

#[test]
fn same_spec_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let spec = root().join("examples/quickstart/spec.json");
    run_ok(&spec, &dir.path().join("a"));
    run_ok(&spec, &dir.path().join("b"));
    for f in ["results.json", "decomposition.csv"] {
        let a = std::fs::read(dir.path().join("a").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("b").join(f)).unwrap();
        assert!(a == b, "{f} differs between identical runs");
    }
}

/// Simulated weekly data with known truth: three channels with geometric adstock, linear
/// effects, a control and noise. OLS with the true transforms must put every channel's true
/// ROI inside its 95% interval and estimate it within 10%.
#[test]
fn ols_recovers_known_roi() {
    let n = 156;
    let decays = [0.5, 0.2, 0.0];
    let betas = [1.5, 3.0, 0.8];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let noise = Normal::new(0.0, 40.0).unwrap();
    let spend_dist = Normal::new(0.0, 1.0).unwrap();
    let mut spends = vec![vec![0.0; n]; 3];
    for (c, s) in spends.iter_mut().enumerate() {
        for (t, v) in s.iter_mut().enumerate() {
            let base: f64 = [200.0, 120.0, 300.0][c];
            let flight: f64 = if c == 0 && (t / 8) % 2 == 1 { 0.0 } else { 1.0 };
            *v = (flight * base * (1.0 + 0.4 * spend_dist.sample(&mut rng))).max(0.0);
        }
    }
    let adstocked: Vec<Vec<f64>> = spends
        .iter()
        .zip(decays)
        .map(|(s, d)| {
            let mut a = 0.0;
            s.iter()
                .map(|x| {
                    a = x + d * a;
                    a
                })
                .collect()
        })
        .collect();
    let price: Vec<f64> = (0..n).map(|t| 10.0 + ((t * 7) % 13) as f64 * 0.2).collect();
    let mut csv = String::from("week,sales,tv,search,radio,price\n");
    for t in 0..n {
        let y = 2000.0 - 30.0 * price[t]
            + (0..3).map(|c| betas[c] * adstocked[c][t]).sum::<f64>()
            + noise.sample(&mut rng);
        csv.push_str(&format!(
            "{},{y},{},{},{},{}\n",
            add_days((2020, 1, 6), 7 * t as i64),
            spends[0][t],
            spends[1][t],
            spends[2][t],
            price[t]
        ));
    }
    let spec = json!({
        "name": "truth",
        "data": {"path": "data.csv", "date": "week", "target": "sales"},
        "media": [
            {"name": "tv", "spend": "tv", "transforms": [{"type": "geometric_adstock", "decay": 0.5}]},
            {"name": "search", "spend": "search", "transforms": [{"type": "geometric_adstock", "decay": 0.2}]},
            {"name": "radio", "spend": "radio"}
        ],
        "controls": ["price"],
        "model": {"type": "ols"}
    });
    let dir = tempfile::tempdir().unwrap();
    let spec_path = write_case(dir.path(), &csv, &spec);
    let r = run_ok(&spec_path, &dir.path().join("out"));
    for (c, ch) in r["channels"].as_array().unwrap().iter().enumerate() {
        let true_roi = betas[c] * adstocked[c].iter().sum::<f64>() / spends[c].iter().sum::<f64>();
        let lo = ch["roi_ci_low"].as_f64().unwrap();
        let hi = ch["roi_ci_high"].as_f64().unwrap();
        let est = ch["roi"].as_f64().unwrap();
        assert!(
            lo <= true_roi && true_roi <= hi,
            "{}: true ROI {true_roi} outside [{lo}, {hi}]",
            ch["name"]
        );
        assert!(
            (est - true_roi).abs() < 0.1 * true_roi,
            "{}: ROI {est} vs true {true_roi}",
            ch["name"]
        );
    }
}

#[test]
fn plugins_and_schema_commands() {
    let o = mmm(&["plugins"]);
    assert!(o.status.success());
    let text = stdout(&o);
    for s in [
        "transform:",
        "model:",
        "causal:",
        "geometric_adstock",
        "decay",
        "ridge",
        "direct",
    ] {
        assert!(text.contains(s), "'{s}' missing from plugins output");
    }
    let o = mmm(&["plugins", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["transform"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["type"] == "hill"));
    let o = mmm(&["schema"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["$defs"]["Transform"]["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .contains(&json!("geometric_adstock")));
    let o = mmm(&["--help"]);
    assert!(o.status.success() && stdout(&o).contains("Exit codes"));
}
