//! Helpers of the integration tests: fixtures written by `tools/fixtures/models.py`.
#![allow(dead_code)]

use mmm_core::model::{Column, Design, FitProblem, FittedModel, Model, Role};
use nalgebra::DMatrix;
use serde_json::Value;
use std::path::PathBuf;

/// Reads a fixture file as JSON.
pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn role(s: &str) -> Role {
    match s {
        "intercept" => Role::Intercept,
        "baseline" => Role::Baseline,
        "control" => Role::Control,
        "media" => Role::Media,
        "mediator" => Role::Mediator,
        other => panic!("unknown role {other}"),
    }
}

/// A design and target from `datasets.json`.
pub fn dataset(name: &str) -> (Design, Vec<f64>) {
    let all = fixture("datasets.json");
    let d = &all[name];
    let mut channel = 0;
    let columns: Vec<Column> = d["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let r = role(c["role"].as_str().unwrap());
            let ch = (r == Role::Media).then(|| {
                channel += 1;
                channel - 1
            });
            Column {
                name: c["name"].as_str().unwrap().into(),
                role: r,
                channel: ch,
            }
        })
        .collect();
    let rows = d["x"].as_array().unwrap();
    let p = columns.len();
    let x = DMatrix::from_fn(rows.len(), p, |i, j| rows[i][j].as_f64().unwrap());
    let y = floats(&d["y"]);
    (Design { columns, x }, y)
}

/// A JSON array of numbers.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Deserializes a model from its tagged JSON, validates and fits it.
pub fn fit(params: &Value, design: &Design, y: &[f64], seed: u64) -> FittedModel {
    let model: Box<dyn Model> = serde_json::from_value(params.clone()).unwrap();
    model.validate().unwrap();
    model
        .fit(&FitProblem {
            design,
            y,
            media: &[],
            seed,
            calibration: &[],
            geos: &[],
        })
        .unwrap()
}

/// Relative closeness, `|a − b| ≤ rel·max(|a|, |b|)`, with an absolute floor `abs`.
pub fn assert_close(what: &str, a: f64, b: f64, rel: f64, abs: f64) {
    let d = (a - b).abs();
    assert!(
        d <= rel * a.abs().max(b.abs()) || d <= abs,
        "{what}: got {a}, expected {b} (diff {d:e}, rel {:e})",
        d / a.abs().max(b.abs())
    );
}
