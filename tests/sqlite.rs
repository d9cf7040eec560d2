//! `results.sqlite` holds the same figures as `results.json`, checked with SQL.

mod common;
use common::*;
use rusqlite::Connection;
use serde_json::json;

#[test]
fn sqlite_tables_equal_results_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = small_spec();
    spec["validation"] = json!({"test_fraction": 0.25, "folds": 2});
    spec["optimizer"] =
        json!({"type": "scenarios", "levels": {"multiples_of_current": [0.9, 1.0, 1.2]}});
    let p = write_case(dir.path(), &weekly_csv(60), &spec);
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    let db = Connection::open(out.join("results.sqlite")).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);

    for c in r["channels"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let (contribution, roi, share): (f64, f64, f64) = db
            .query_row(
                "SELECT contribution, roi, share FROM channels WHERE name = ?1",
                [name],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .unwrap();
        assert!(close(contribution, c["contribution"].as_f64().unwrap()));
        assert!(close(roi, c["roi"].as_f64().unwrap()));
        assert!(close(share, c["share"].as_f64().unwrap()));
        // the decomposition of a channel sums to its contribution
        let summed: f64 = db
            .query_row(
                "SELECT SUM(value) FROM decomposition WHERE term = ?1",
                [name],
                |row| row.get(0),
            )
            .unwrap();
        assert!(
            close(summed, c["contribution"].as_f64().unwrap()),
            "{name}: {summed}"
        );
    }
    let n_coef: i64 = db
        .query_row("SELECT COUNT(*) FROM coefficients", [], |row| row.get(0))
        .unwrap();
    assert_eq!(n_coef as usize, r["coefficients"].as_array().unwrap().len());
    let test_nrmse: f64 = db
        .query_row(
            "SELECT value FROM model_performance WHERE split = 'test' AND metric = 'nrmse'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(close(
        test_nrmse,
        r["validation"]["split"]["test"]["nrmse"].as_f64().unwrap()
    ));
    let r2: f64 = db
        .query_row(
            "SELECT value FROM model_performance WHERE split = 'in_sample' AND metric = 'r2'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(close(r2, r["fit"]["r2"].as_f64().unwrap()));
    let (n_train, n_test): (i64, i64) = db
        .query_row(
            "SELECT SUM(split = 'train'), SUM(split = 'test') FROM predictions",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        n_train,
        r["validation"]["split"]["n_train"].as_i64().unwrap()
    );
    assert_eq!(n_test, r["validation"]["split"]["n_test"].as_i64().unwrap());
    let levels: i64 = db
        .query_row(
            "SELECT COUNT(DISTINCT level) FROM budget_scenarios",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(levels, 3);
    let kpi: f64 = db
        .query_row(
            "SELECT expected_kpi_optimal FROM budget_summary",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(close(
        kpi,
        r["optimization"]["expected_kpi_optimal"].as_f64().unwrap()
    ));
    let curve_points: i64 = db
        .query_row("SELECT COUNT(*) FROM response_curves", [], |row| row.get(0))
        .unwrap();
    let expected: usize = r["response_curves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["points"].as_array().unwrap().len())
        .sum();
    assert_eq!(curve_points as usize, expected);
    let spend: f64 = db
        .query_row(
            "SELECT SUM(value) FROM input_data WHERE column = 'tv'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let tv = r["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "tv")
        .unwrap();
    assert!(close(spend, tv["spend"].as_f64().unwrap()));
    // nothing but the outputs in the folder: no temporary file left behind
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "decomposition.csv",
            "model.json",
            "report.html",
            "results.json",
            "results.sqlite",
            "run.json"
        ]
    );
}

/// `tuning_evaluations` has one row per evaluation with a column per searched parameter and per
/// objective; its Pareto rows are results.json's Pareto set.
#[test]
fn tuning_evaluations_are_one_row_each_with_the_pareto_front_marked() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = small_spec();
    spec["media"][0]["transforms"][0]["decay"] = json!({"range": [0.0, 0.8]});
    spec["model"] = json!({"type": "ridge", "alpha": {"range": [0.01, 100.0], "scale": "log"}});
    spec["tuning"] = json!({"strategy": {"type": "random"}, "evaluations": 64,
                            "objectives": ["nrmse", "decomp_rssd"], "on": "in_sample"});
    let p = write_case(dir.path(), &weekly_csv(60), &spec);
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    let db = Connection::open(out.join("results.sqlite")).unwrap();
    let n: i64 = db
        .query_row("SELECT COUNT(*) FROM tuning_evaluations", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(n, r["tuning"]["evaluations"].as_i64().unwrap());
    let mut st = db
        .prepare(
            r#"SELECT "/media/0/transforms/0/decay", "/model/alpha", nrmse, decomp_rssd
               FROM tuning_evaluations WHERE pareto = 1 ORDER BY nrmse"#,
        )
        .unwrap();
    let rows: Vec<[f64; 4]> = st
        .query_map([], |row| {
            Ok([row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?])
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut pareto: Vec<[f64; 4]> = r["tuning"]["pareto"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let g = |a: &str, b: &str| e[a][b].as_f64().unwrap();
            [
                g("parameters", "/media/0/transforms/0/decay"),
                g("parameters", "/model/alpha"),
                g("objectives", "nrmse"),
                g("objectives", "decomp_rssd"),
            ]
        })
        .collect();
    pareto.sort_by(|a, b| a[2].total_cmp(&b[2]));
    assert!(!rows.is_empty());
    assert_eq!(rows, pareto);
}
