//! Seed 004's workflow (`examples/seed004-campaigns`): daily campaign rows in long format with
//! deliberate data problems, explicit cleaning, weekly aggregation, ridge, budget scenarios
//! 90–150% and the SQLite export. The data regenerates byte for byte; every cleaning count
//! equals what the simulation injected; every KPI equals a hand computation from the CSV.

mod common;
use common::*;
use rusqlite::Connection;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const DIR: &str = "examples/seed004-campaigns";
const METRICS: [&str; 5] = ["spend", "impressions", "clicks", "conversions", "revenue"];

fn read_json(p: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The CSV as `(date, campaign) → [spend, impressions, clicks, conversions, revenue]`, an
/// empty cell as `None`.
type Rows = BTreeMap<(String, String), Vec<Option<f64>>>;

fn read_rows(text: &str) -> Rows {
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "date,campaign_name,spend,impressions,clicks,conversions,revenue"
    );
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            let values = cells[2..].iter().map(|c| c.parse::<f64>().ok()).collect();
            ((cells[0].to_string(), cells[1].to_string()), values)
        })
        .collect()
}

/// numpy's default (type 7) quantile.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn seed004_campaign_workflow() {
    let root = root().join(DIR);
    let simspec = read_json(&root.join("simspec.json"));
    let tmp = tempfile::tempdir().unwrap();

    // 1. the committed data and truth are what `mmm simulate` writes
    assert_simulation_regenerates(&root);
    let csv = std::fs::read_to_string(root.join("data.csv")).unwrap();

    // 2. the run
    let out = tmp.path().join("out");
    let r = run_ok(&root.join("spec.json"), &out);
    let q = &r["data_quality"];
    assert_eq!(q["format"], "long");
    let campaigns: Vec<String> = simspec["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = campaigns.clone();
    sorted.sort();
    assert_eq!(q["campaigns"], serde_json::json!(sorted));

    // 3. every count equals what was injected
    let inject = simspec["campaign_rows"]["inject"].as_array().unwrap();
    let mut expected: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut bump =
        |col: String, rule: &str| *expected.entry((col, rule.to_string())).or_default() += 1;
    let mut dropped = BTreeSet::new();
    for i in inject {
        let (c, d) = (i["campaign"].as_str().unwrap(), i["date"].as_str().unwrap());
        match i["type"].as_str().unwrap() {
            "missing" => {
                let col = i["column"].as_str().unwrap();
                let rule = match col {
                    "clicks" => "missing_zero",
                    "impressions" => "missing_forward_fill",
                    _ => "missing_interpolate",
                };
                bump(format!("{c}.{col}"), rule);
            }
            "set" if i["value"].as_f64().unwrap() < 0.0 => {
                bump(format!("{c}.spend"), "negative_clip_to_zero")
            }
            "set" => bump(format!("{c}.{}", i["column"].as_str().unwrap()), "iqr"),
            "drop_row" => {
                bump(format!("{c}.*"), "missing_row");
                dropped.insert((d.to_string(), c.to_string()));
            }
            t => panic!("unknown injection {t}"),
        }
    }
    // 2024-01-03 is a Wednesday and 2026-01-01 a Thursday: two partial weeks
    expected.insert(("date".into(), "partial_week_dropped".into()), 2);
    let mut reported: BTreeMap<(String, String), usize> = BTreeMap::new();
    for c in q["changes"].as_array().unwrap() {
        let key = (
            c["column"].as_str().unwrap().to_string(),
            c["rule"].as_str().unwrap().to_string(),
        );
        assert!(reported
            .insert(key, c["count"].as_u64().unwrap() as usize)
            .is_none());
    }
    // every injected problem is reported with its count, and every other rule changed nothing
    for (k, n) in &expected {
        assert_eq!(reported.get(k), Some(n), "{k:?} in {}", q["changes"]);
    }
    for (k, n) in &reported {
        if !expected.contains_key(k) {
            assert_eq!(*n, 0, "{k:?} changed cells nobody injected");
        }
    }
    // every media column was checked for negatives and outliers
    for c in &campaigns {
        assert!(reported.contains_key(&(format!("{c}.spend"), "negative_clip_to_zero".into())));
        assert!(reported.contains_key(&(format!("{c}.spend"), "iqr".into())));
    }
    let agg = &q["aggregate"];
    assert_eq!(
        agg["days_used"].as_u64().unwrap() + agg["days_dropped"].as_u64().unwrap(),
        730
    );
    assert_eq!(r["data"]["frequency"], "weekly");
    assert_eq!(
        r["data"]["n_obs"].as_u64().unwrap(),
        agg["days_used"].as_u64().unwrap() / 7
    );

    // 4. KPIs by hand: clean the daily rows as the spec says, keep the full weeks, sum
    let rows = read_rows(&csv);
    let dates: Vec<String> = rows
        .keys()
        .map(|(d, _)| d.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(dates.len(), 730);
    let (first, last) = ("2024-01-08", "2025-12-28");
    let fences: BTreeMap<String, (f64, f64)> = q["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["rule"] == "iqr")
        .map(|c| {
            (
                c["column"].as_str().unwrap().to_string(),
                (c["lower"].as_f64().unwrap(), c["upper"].as_f64().unwrap()),
            )
        })
        .collect();
    for c in r["channels"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        // the daily series of each metric, rows that were dropped as 0
        let mut series: Vec<Vec<Option<f64>>> = vec![vec![]; 5];
        for d in &dates {
            let row = rows
                .get(&(d.clone(), name.to_string()))
                .cloned()
                .unwrap_or_else(|| vec![Some(0.0); 5]);
            if !rows.contains_key(&(d.clone(), name.to_string())) {
                assert!(dropped.contains(&(d.clone(), name.to_string())));
            }
            for (m, v) in row.into_iter().enumerate() {
                series[m].push(v);
            }
        }
        let mut clean: Vec<Vec<f64>> = Vec::new();
        for (m, s) in series.iter().enumerate() {
            let v: Vec<f64> = (0..s.len())
                .map(|t| match (s[t], METRICS[m]) {
                    (Some(x), "spend") if x < 0.0 => 0.0,
                    (Some(x), _) => x,
                    (None, "clicks") => 0.0,
                    (None, "impressions") => s[t - 1].unwrap(),
                    (None, _) => (s[t - 1].unwrap() + s[t + 1].unwrap()) / 2.0,
                })
                .collect();
            clean.push(v);
        }
        for (m, metric) in METRICS.iter().enumerate() {
            let col = format!("{name}.{metric}");
            let capped = *metric == "spend" || fences.contains_key(&col);
            if capped {
                let mut s = clean[m].clone();
                s.sort_by(f64::total_cmp);
                let (q1, q3) = (quantile(&s, 0.25), quantile(&s, 0.75));
                let (lo, hi) = (q1 - 3.0 * (q3 - q1), q3 + 3.0 * (q3 - q1));
                let (rlo, rhi) = fences[&col];
                assert!(
                    close(lo, rlo) && close(hi, rhi),
                    "{col}: fences {lo} {hi} vs {rlo} {rhi}"
                );
                clean[m].iter_mut().for_each(|x| *x = x.clamp(lo, hi));
            }
        }
        let total = |m: usize| -> f64 {
            dates
                .iter()
                .zip(&clean[m])
                .filter(|(d, _)| d.as_str() >= first && d.as_str() <= last)
                .map(|(_, v)| v)
                .sum()
        };
        let (spend, imp, clk, conv, rev) = (total(0), total(1), total(2), total(3), total(4));
        let k = &c["kpis"];
        for (field, want) in [
            ("spend", spend),
            ("impressions", imp),
            ("clicks", clk),
            ("conversions", conv),
            ("revenue", rev),
            ("ctr", clk / imp),
            ("cvr", conv / clk),
            ("cpa", spend / conv),
            ("roas", rev / spend),
        ] {
            let got = k[field].as_f64().unwrap();
            assert!(close(got, want), "{name} {field}: {got} vs hand {want}");
        }
        assert!(
            close(c["spend"].as_f64().unwrap(), spend),
            "{name} modeled spend"
        );
    }

    // 5. scenarios from 90% to 150% of the current budget
    let levels: Vec<f64> = r["optimization"]["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["level"].as_f64().unwrap())
        .collect();
    assert_eq!(levels, vec![0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5]);

    // 6. results.sqlite holds the tables, with the same figures
    let db = Connection::open(out.join("results.sqlite")).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |row| row.get(0)).unwrap() };
    for table in [
        "run",
        "input_data",
        "decomposition",
        "predictions",
        "channels",
        "coefficients",
        "model_performance",
        "response_curves",
        "budget_optimization",
        "budget_summary",
        "budget_scenarios",
        "data_quality",
        "kpis",
    ] {
        assert!(
            count(&format!("SELECT COUNT(*) FROM {table}")) > 0,
            "table {table} is empty"
        );
    }
    assert_eq!(
        count("SELECT COUNT(*) FROM data_quality"),
        q["changes"].as_array().unwrap().len() as i64
    );
    assert_eq!(
        count("SELECT SUM(count) FROM data_quality WHERE rule = 'missing_row'"),
        dropped.len() as i64
    );
    let n_obs = r["data"]["n_obs"].as_i64().unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM kpis"), 4 * n_obs);
    assert_eq!(
        count("SELECT COUNT(DISTINCT level) FROM budget_scenarios"),
        7
    );
    for c in r["channels"].as_array().unwrap() {
        let (clicks, revenue): (f64, f64) = db
            .query_row(
                "SELECT SUM(clicks), SUM(revenue) FROM kpis WHERE channel = ?1",
                [c["name"].as_str().unwrap()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert!(close(clicks, c["kpis"]["clicks"].as_f64().unwrap()));
        assert!(close(revenue, c["kpis"]["revenue"].as_f64().unwrap()));
    }
}
