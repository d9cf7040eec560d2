//! Registry-wide checks: the exact set of built-in plugins is linked, tags are unique, every
//! example passes the schema, deserializes through typetag and validates, and every plugin's
//! `PARAMS` bounds equal its schema's bounds (bounds are written once).

use mmm_core::causal::CausalStructure;
use mmm_core::model::Model;
use mmm_core::optimizer::Optimizer;
use mmm_core::params::ParamSpec;
use mmm_core::registry::{self, PluginDescriptor};
use mmm_core::transform::Transform;
use mmm_data::spec::experiment_schema;
use serde_json::{json, Value};
use std::collections::BTreeSet;

use mmm as _;

fn tags(kind: &str) -> BTreeSet<&'static str> {
    registry::plugins(kind).iter().map(|d| d.tag).collect()
}

/// The exact set of built-in plugins: a crate whose registrations the linker dropped, or a
/// plugin that appeared or vanished unnoticed, fails here.
#[test]
fn built_in_plugins_are_all_linked() {
    registry::all_plugins().expect("unique tags");
    let expected: &[(&str, &[&str])] = &[
        ("causal", &["direct", "mediated"]),
        (
            "model",
            &[
                "bayesian_linear",
                "bayesian_mmm",
                "elastic_net",
                "lasso",
                "ols",
                "ridge",
            ],
        ),
        (
            "optimizer",
            &["max_response", "scenarios", "target_efficiency"],
        ),
        (
            "prior",
            &[
                "beta",
                "exponential",
                "gamma",
                "half_cauchy",
                "half_normal",
                "laplace",
                "log_normal",
                "normal",
                "student_t",
                "truncated_normal",
                "uniform",
            ],
        ),
        (
            "transform",
            &[
                "delayed_adstock",
                "geometric_adstock",
                "hill",
                "hill_robyn",
                "log",
                "logistic",
                "michaelis_menten",
                "power",
                "scale",
                "tanh",
                "weibull_adstock",
            ],
        ),
        (
            "tuner",
            &["differential_evolution", "latin_hypercube", "random"],
        ),
    ];
    let kinds: BTreeSet<&str> = registry::by_kind().keys().copied().collect();
    assert_eq!(
        kinds,
        expected.iter().map(|(k, _)| *k).collect::<BTreeSet<_>>()
    );
    for (kind, want) in expected {
        assert_eq!(
            tags(kind),
            want.iter().copied().collect::<BTreeSet<_>>(),
            "{kind} plugins"
        );
    }
}

fn kind_validator(kind_def: &str) -> jsonschema::Validator {
    let full = experiment_schema();
    let schema = json!({"$defs": full["$defs"].clone(), "$ref": format!("#/$defs/{kind_def}")});
    jsonschema::validator_for(&schema).expect("schema compiles")
}

/// Parameter specs of a plugin's example, after deserializing and validating it.
fn load_example(d: &PluginDescriptor) -> Result<&'static [ParamSpec], String> {
    let v = d.tagged_example().map_err(|e| e.to_string())?;
    let specs: &'static [ParamSpec] = match d.kind {
        "transform" => {
            let t: Box<dyn Transform> = serde_json::from_value(v).map_err(|e| e.to_string())?;
            t.validate().map_err(|e| e.to_string())?;
            t.params()
        }
        "model" => {
            let m: Box<dyn Model> = serde_json::from_value(v).map_err(|e| e.to_string())?;
            m.validate().map_err(|e| e.to_string())?;
            m.params()
        }
        "causal" => {
            let _: Box<dyn CausalStructure> =
                serde_json::from_value(v).map_err(|e| e.to_string())?;
            &[]
        }
        "optimizer" => {
            let o: Box<dyn Optimizer> = serde_json::from_value(v).map_err(|e| e.to_string())?;
            o.validate().map_err(|e| e.to_string())?;
            &[]
        }
        "tuner" => {
            let t: Box<dyn mmm_core::tuning::Tuner> =
                serde_json::from_value(v).map_err(|e| e.to_string())?;
            t.validate().map_err(|e| e.to_string())?;
            &[]
        }
        // priors are their own crate's kind; its tests deserialize and check them
        "prior" => &[],
        other => return Err(format!("unknown kind {other}")),
    };
    Ok(specs)
}

#[test]
fn every_example_passes_schema_deserializes_and_validates() {
    for d in registry::all_plugins().unwrap() {
        let def = match d.kind {
            "transform" => "Transform",
            "model" => "Model",
            "causal" => "CausalStructure",
            "optimizer" => "Optimizer",
            "tuner" => "Tuner",
            _ => continue,
        };
        let example = d.tagged_example().unwrap();
        let v = kind_validator(def);
        let errors: Vec<String> = v.iter_errors(&example).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{} {}: example fails the schema: {errors:?}",
            d.kind,
            d.tag
        );
        load_example(d).unwrap_or_else(|e| panic!("{} {}: {e}", d.kind, d.tag));
    }
}

fn num(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

#[test]
fn params_tables_match_schema_bounds() {
    for d in registry::all_plugins().unwrap() {
        let specs = load_example(d).unwrap();
        let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
        let schema = (d.schema)(&mut generator).to_value();
        for p in specs {
            let prop = &schema["properties"][p.name];
            assert!(
                !prop.is_null(),
                "{} {}: PARAMS names '{}' but the schema has no such field",
                d.kind,
                d.tag,
                p.name
            );
            let (lo, lo_open) = match (num(prop.get("minimum")), num(prop.get("exclusiveMinimum")))
            {
                (Some(m), None) => (m, false),
                (None, Some(m)) => (m, true),
                (None, None) => (f64::NEG_INFINITY, true),
                _ => panic!(
                    "{} {}: both minimum and exclusiveMinimum on {}",
                    d.kind, d.tag, p.name
                ),
            };
            let (hi, hi_open) = match (num(prop.get("maximum")), num(prop.get("exclusiveMaximum")))
            {
                (Some(m), None) => (m, false),
                (None, Some(m)) => (m, true),
                (None, None) => (f64::INFINITY, true),
                _ => panic!(
                    "{} {}: both maximum and exclusiveMaximum on {}",
                    d.kind, d.tag, p.name
                ),
            };
            let lower_ok = lo == p.lower && (lo_open == p.lower_open || lo.is_infinite());
            let upper_ok = hi == p.upper && (hi_open == p.upper_open || hi.is_infinite());
            assert!(
                lower_ok && upper_ok,
                "{} {}: '{}' PARAMS {} but schema [{lo} (open {lo_open}), {hi} (open {hi_open})]",
                d.kind,
                d.tag,
                p.name,
                p.interval()
            );
        }
    }
}

#[test]
fn unknown_type_lists_registered_ones() {
    let spec = json!({
        "name": "x", "data": {"path": "d.csv", "date": "d", "target": "y"},
        "media": [{"name": "tv", "spend": "tv", "transforms": [{"type": "geometrc_adstock", "decay": 0.5}]}],
        "model": {"type": "ols"}
    });
    let e = mmm_data::spec::parse_spec(&spec, "<t>")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/media/0/transforms/0/type"), "{e}");
    assert!(e.contains("geometric_adstock") && e.contains("hill"), "{e}");
}
