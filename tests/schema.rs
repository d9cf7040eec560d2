//! The checked-in JSON Schema must equal the one the code generates.
//! Regenerate with: `cargo run -- schema > schemas/experiment.schema.json`.

use mmm as _;

#[test]
fn checked_in_schema_matches_the_registry() {
    let generated =
        serde_json::to_string_pretty(&mmm_data::spec::experiment_schema()).unwrap() + "\n";
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/experiment.schema.json"
    );
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == checked_in,
        "schemas/experiment.schema.json is out of date; regenerate it with \
         `cargo run -- schema > schemas/experiment.schema.json`"
    );
}

#[test]
fn schema_is_deterministic() {
    let a = serde_json::to_string(&mmm_data::spec::experiment_schema()).unwrap();
    let b = serde_json::to_string(&mmm_data::spec::experiment_schema()).unwrap();
    assert_eq!(a, b);
}
