//! Checks every transform against reference values computed independently in Python
//! (`tools/fixtures/transforms.py`: textbook / PyMC-Marketing formulas, Robyn's R code
//! translated literally) and stored in `tests/fixtures/transforms.json`.
//!
//! Each case is deserialized from its spec JSON through typetag as `Box<dyn Transform>` (or a
//! `TransformChain`), validated, learned on the input and applied to it.

use mmm_core::transform::{ChainWorkspace, Transform, TransformChain};
use mmm_transforms as _;
use serde_json::Value;

const TOL: f64 = 1e-9;

fn fixture() -> Value {
    let text = include_str!("fixtures/transforms.json");
    serde_json::from_str(text).expect("fixture is JSON")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn compare(label: &str, got: &[f64], expected: &[f64]) -> Option<String> {
    assert_eq!(got.len(), expected.len(), "{label}");
    for (t, (a, b)) in got.iter().zip(expected).enumerate() {
        let ok = (a - b).abs() <= TOL * b.abs().max(1.0);
        if !ok {
            return Some(format!("{label}: period {t}: got {a:e}, expected {b:e}"));
        }
    }
    None
}

#[test]
fn transforms_match_reference_values() {
    let doc = fixture();
    let x = floats(&doc["input"]);
    let mut failures = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let cases = doc["cases"].as_array().expect("cases");
    for case in cases {
        let expected = floats(&case["expected"]);
        let mut out = vec![0.0; x.len()];
        let label;
        if let Some(spec) = case.get("transform") {
            label = spec.to_string();
            let mut t: Box<dyn Transform> =
                serde_json::from_value(spec.clone()).unwrap_or_else(|e| panic!("{label}: {e}"));
            t.validate().unwrap_or_else(|e| panic!("{label}: {e}"));
            seen.insert(spec["type"].as_str().unwrap_or_default().to_string());
            t.learn(&x);
            t.apply(&x, &mut out);
        } else {
            let spec = &case["chain"];
            label = spec.to_string();
            let mut chain: TransformChain =
                serde_json::from_value(spec.clone()).unwrap_or_else(|e| panic!("{label}: {e}"));
            for t in &chain.0 {
                t.validate().unwrap_or_else(|e| panic!("{label}: {e}"));
            }
            let mut ws = ChainWorkspace::new(&chain, x.len());
            chain.learn_apply(&x, &mut out, &mut ws);
        }
        if let Some(f) = compare(&label, &out, &expected) {
            failures.push(f);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // every transform this crate registers has a reference case
    let all: Vec<&str> = mmm_core::registry::plugins(mmm_core::transform::KIND)
        .iter()
        .map(|d| d.tag)
        .collect();
    assert!(all.len() >= 11, "registrations missing: {all:?}");
    for tag in all {
        assert!(seen.contains(tag), "no reference case for {tag}");
    }
}

#[test]
fn every_registered_transform_example_is_valid_and_conforms() {
    for d in mmm_core::registry::plugins(mmm_core::transform::KIND) {
        let v = d.tagged_example().expect("example");
        let mut t: Box<dyn Transform> =
            serde_json::from_value(v).unwrap_or_else(|e| panic!("{}: {e}", d.tag));
        t.validate().unwrap_or_else(|e| panic!("{}: {e}", d.tag));
        t.learn(&mmm_core::transform::conformance::test_series(40));
        mmm_core::transform::conformance::check(t.as_ref(), true)
            .unwrap_or_else(|e| panic!("{}: {e}", d.tag));
    }
}
