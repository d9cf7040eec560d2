//! Transform parameters a Bayesian model samples need no value in the spec.
//!
//! When the spec's model says it samples the channels' transform parameters
//! ([`crate::model::Model::samples_transform_params`]), every parameter a transform leaves out
//! gets the value of the plugin's registered example (`mmm plugins <transform>`). The model
//! uses it only as the initial point of its chains; a value the spec states is the initial
//! point instead. Other models need every value (the spec is left as it is, and the schema
//! names what is missing).

use crate::model::Model;
use crate::registry;
use crate::transform::{Transform, KIND as TRANSFORM};
use serde_json::Value;

/// A copy of `raw` with every missing parameter of every channel transform filled in from the
/// plugin's example, when `raw["model"]` is a model that samples transform parameters;
/// otherwise `raw` unchanged.
pub fn fill_sampled_transform_params(raw: &Value) -> Value {
    let mut out = raw.clone();
    let samples = raw
        .get("model")
        .and_then(|m| serde_json::from_value::<Box<dyn Model>>(m.clone()).ok())
        .is_some_and(|m| m.samples_transform_params());
    if !samples {
        return out;
    }
    let Some(media) = out.get_mut("media").and_then(Value::as_array_mut) else {
        return out;
    };
    for m in media {
        let Some(ts) = m.get_mut("transforms").and_then(Value::as_array_mut) else {
            continue;
        };
        for t in ts {
            let Some(obj) = t.as_object_mut() else {
                continue;
            };
            let Some(tag) = obj.get("type").and_then(Value::as_str) else {
                continue;
            };
            let Some(example) =
                registry::find(TRANSFORM, tag).and_then(|d| d.tagged_example().ok())
            else {
                continue;
            };
            let Ok(plugin) = serde_json::from_value::<Box<dyn Transform>>(example.clone()) else {
                continue;
            };
            for p in plugin.params() {
                if !obj.contains_key(p.name) {
                    if let Some(v) = example.get(p.name) {
                        obj.insert(p.name.to_string(), v.clone());
                    }
                }
            }
        }
    }
    out
}
