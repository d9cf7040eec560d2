//! The data layer end to end: long format, weekly aggregation, cleaning and KPIs through
//! `mmm run`, checked against figures computed here from the CSV.

mod common;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Per date and campaign: the five metrics of [`long_csv`].
fn parse(csv: &str) -> BTreeMap<(String, String), Vec<f64>> {
    csv.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (
                (c[0].to_string(), c[1].to_string()),
                c[2..]
                    .iter()
                    .map(|v| v.parse().unwrap_or(f64::NAN))
                    .collect(),
            )
        })
        .collect()
}

fn decomposition_actuals(out: &std::path::Path) -> Vec<(String, f64)> {
    std::fs::read_to_string(out.join("decomposition.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[0].to_string(), c[1].parse().unwrap())
        })
        .collect()
}

#[test]
fn long_rows_pivot_and_the_target_sums_over_campaigns() {
    let dir = tempfile::tempdir().unwrap();
    let csv = long_csv(42);
    let p = write_case(dir.path(), &csv, &long_spec());
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    let rows = parse(&csv);
    assert_eq!(r["data"]["n_obs"], 42);
    assert_eq!(r["data"]["frequency"], "daily");
    let q = &r["data_quality"];
    assert_eq!(q["format"], "long");
    assert_eq!(q["rows_read"], 84);
    assert_eq!(q["campaigns"], json!(["A", "B"]));
    // long data is checked for negative spend, but nothing was changed
    assert_eq!(q["changes"], json!([]));
    // the target is revenue summed over campaigns, per date
    for (date, actual) in decomposition_actuals(&out) {
        let want = rows[&(date.clone(), "A".into())][4] + rows[&(date.clone(), "B".into())][4];
        assert!(close(actual, want), "{date}: {actual} vs {want}");
    }
    // KPIs are ratios of the totals of each campaign's columns
    for c in r["channels"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let sum = |m: usize| -> f64 {
            rows.iter()
                .filter(|((_, k), _)| k == name)
                .map(|(_, v)| v[m])
                .sum()
        };
        let k = &c["kpis"];
        assert!(close(k["spend"].as_f64().unwrap(), sum(0)));
        assert!(close(k["ctr"].as_f64().unwrap(), sum(2) / sum(1)));
        assert!(close(k["cvr"].as_f64().unwrap(), sum(3) / sum(2)));
        assert!(close(k["cpa"].as_f64().unwrap(), sum(0) / sum(3)));
        assert!(close(k["roas"].as_f64().unwrap(), sum(4) / sum(0)));
    }
}

#[test]
fn missing_rows_are_zero_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let csv = long_csv(42);
    // drop campaign B on 2024-01-05 and both campaigns on 2024-01-10
    let csv: String = csv
        .lines()
        .filter(|l| !l.starts_with("2024-01-05,B,") && !l.starts_with("2024-01-10,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let p = write_case(dir.path(), &csv, &long_spec());
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    assert_eq!(r["data"]["n_obs"], 42);
    assert_eq!(
        r["data_quality"]["changes"],
        json!([
            {"column": "date", "rule": "missing_date", "count": 1},
            {"column": "A.*", "rule": "missing_row", "count": 1},
            {"column": "B.*", "rule": "missing_row", "count": 2}
        ])
    );
    let rows = parse(&csv);
    let actual: BTreeMap<String, f64> = decomposition_actuals(&out).into_iter().collect();
    assert_eq!(actual["2024-01-10"], 0.0);
    assert!(close(
        actual["2024-01-05"],
        rows[&("2024-01-05".into(), "A".into())][4]
    ));
}

#[test]
fn days_aggregate_into_iso_weeks() {
    let dir = tempfile::tempdir().unwrap();
    // 2024-01-01 is a Monday; 7 weeks and 3 days
    let csv = long_csv(52);
    let rows = parse(&csv);
    for (partial, n_obs, dropped) in [("drop", 7, 1), ("keep", 8, 0)] {
        let mut spec = long_spec();
        spec["data"]["aggregate"] = json!("week");
        spec["data"]["partial_weeks"] = json!(partial);
        let p = write_case(dir.path(), &csv, &spec);
        let out = dir.path().join(format!("out-{partial}"));
        let r = run_ok(&p, &out);
        assert_eq!(r["data"]["frequency"], "weekly");
        assert_eq!(r["data"]["n_obs"], n_obs);
        let agg = &r["data_quality"]["aggregate"];
        assert_eq!(agg["partial_weeks_dropped"], dropped);
        assert_eq!(agg["days_dropped"], 3 * dropped);
        // each week's target is the revenue of its seven days (or three, for the kept week)
        for (monday, actual) in decomposition_actuals(&out) {
            let start = chrono_days(&monday);
            let want: f64 = rows
                .iter()
                .filter(|((d, _), _)| {
                    let x = chrono_days(d);
                    x >= start && x < start + 7
                })
                .map(|(_, v)| v[4])
                .sum();
            assert!(close(actual, want), "{monday}: {actual} vs {want}");
        }
    }
}

/// Days since 2024-01-01 of an ISO date in 2024-01/02.
fn chrono_days(d: &str) -> i64 {
    let m: i64 = d[5..7].parse().unwrap();
    let day: i64 = d[8..10].parse().unwrap();
    (m - 1) * 31 + day - 1
}

#[test]
fn wide_data_cleaning_fills_clips_and_caps() {
    let dir = tempfile::tempdir().unwrap();
    let csv = weekly_csv(40);
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    // price empty on lines 5 and 6; radio negative on line 8; sales outlier on line 12
    let set = |lines: &mut Vec<String>, line: usize, col: usize, v: &str| {
        let mut c: Vec<String> = lines[line - 1].split(',').map(str::to_string).collect();
        c[col] = v.to_string();
        lines[line - 1] = c.join(",");
    };
    let before: Vec<f64> = [4, 7]
        .iter()
        .map(|&l| lines[l - 1].split(',').nth(4).unwrap().parse().unwrap())
        .collect();
    set(&mut lines, 5, 4, "");
    set(&mut lines, 6, 4, "");
    set(&mut lines, 8, 3, "-20");
    set(&mut lines, 12, 1, "999999");
    let csv = lines.join("\n") + "\n";
    let mut spec = small_spec();
    spec["data"]["cleaning"] = json!({
        "missing": [{"columns": ["price"], "fill": "interpolate"}],
        "negative_spend": "clip_to_zero",
        "outliers": [{"columns": ["$target"], "iqr": 3.0}]
    });
    let p = write_case(dir.path(), &csv, &spec);
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    let changes: Vec<(String, String, u64)> = r["data_quality"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["column"].as_str().unwrap().to_string(),
                c["rule"].as_str().unwrap().to_string(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let s = |a: &str, b: &str, n: u64| (a.to_string(), b.to_string(), n);
    assert_eq!(
        changes,
        vec![
            s("price", "missing_interpolate", 2),
            s("tv", "negative_clip_to_zero", 0),
            s("radio", "negative_clip_to_zero", 1),
            s("sales", "iqr", 1)
        ]
    );
    // the cleaned values are what the model saw (SQLite input_data)
    let db = rusqlite::Connection::open(out.join("results.sqlite")).unwrap();
    let value = |date: &str, column: &str| -> f64 {
        db.query_row(
            "SELECT value FROM input_data WHERE date = ?1 AND column = ?2",
            [date, column],
            |row| row.get(0),
        )
        .unwrap()
    };
    let date = |line: usize| lines[line - 1].split(',').next().unwrap().to_string();
    let third = (before[1] - before[0]) / 3.0;
    assert!(close(value(&date(5), "price"), before[0] + third));
    assert!(close(value(&date(6), "price"), before[0] + 2.0 * third));
    assert_eq!(value(&date(8), "radio"), 0.0);
    let upper = r["data_quality"]["changes"][3]["upper"].as_f64().unwrap();
    assert!(upper < 999999.0);
    assert_eq!(value(&date(12), "sales"), upper);
    let dq: i64 = db
        .query_row("SELECT COUNT(*) FROM data_quality", [], |row| row.get(0))
        .unwrap();
    assert_eq!(dq, 4);
}

#[test]
fn wide_data_without_cleaning_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_case(dir.path(), &weekly_csv(40), &small_spec());
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    // results.json as before: no data_quality section, no KPIs
    assert!(r.get("data_quality").is_none(), "{}", r["data_quality"]);
    assert!(r["channels"][0].get("kpis").is_none());
    let db = rusqlite::Connection::open(out.join("results.sqlite")).unwrap();
    for table in ["data_quality", "kpis"] {
        let n: i64 = db
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    // a cleaning section is reported, also when it changes nothing
    let mut spec = small_spec();
    spec["data"]["cleaning"] = json!({"negative_spend": "clip_to_zero"});
    let p = write_case(dir.path(), &weekly_csv(40), &spec);
    let r = run_ok(&p, &dir.path().join("out2"));
    let q: &Value = &r["data_quality"];
    assert_eq!(q["format"], "wide");
    assert_eq!(q["rows_read"], 40);
    assert_eq!(q["periods"], 40);
    assert_eq!(
        q["changes"],
        json!([
            {"column": "tv", "rule": "negative_clip_to_zero", "count": 0},
            {"column": "radio", "rule": "negative_clip_to_zero", "count": 0}
        ])
    );
}
