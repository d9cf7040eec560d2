//! Search ranges: any continuous parameter of a transform or model may be given as a range to
//! tune instead of a value:
//!
//! ```json
//! {"type": "geometric_adstock", "decay": {"range": [0.0, 0.8]}}
//! {"type": "ridge", "alpha": {"range": [0.001, 1000], "scale": "log"}}
//! ```
//! The schema accepts both forms for every numeric parameter of those kinds. Before the spec is
//! deserialized, every range is recorded with its JSON pointer and replaced by its midpoint
//! (geometric midpoint on a log scale), so plugins always see plain numbers.

use crate::error::SpecIssue;
use serde::Serialize;
use serde_json::{json, Value};

/// Plugin kinds whose numeric parameters accept search ranges.
pub const TUNABLE_KINDS: &[&str] = &["transform", "model"];

/// The JSON Schema of a search range.
pub fn search_range_schema() -> Value {
    json!({
        "type": "object",
        "description": "A search range for tuning instead of a value: {\"range\": [low, high], \"scale\": \"linear\" | \"log\"}.",
        "required": ["range"],
        "additionalProperties": false,
        "properties": {
            "range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
            "scale": {"enum": ["linear", "log"]}
        }
    })
}

/// Rewrites every numeric property of a plugin parameter schema so that it also accepts a
/// search range: `{"if": {"type": "object"}, "then": <range>, "else": <number schema>}`. The
/// if/then form keeps precise errors for plain numbers (`1.3 is greater than …`).
pub fn allow_ranges(schema: &mut Value) {
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, prop) in props.iter_mut() {
        if name == "type" {
            continue;
        }
        let is_number = match prop.get("type") {
            Some(Value::String(t)) => t == "number",
            Some(Value::Array(a)) => a.iter().any(|t| t == "number"),
            _ => false,
        };
        if !is_number {
            continue;
        }
        let mut number = prop.take();
        let description = number.as_object_mut().and_then(|o| o.remove("description"));
        let default = number.as_object_mut().and_then(|o| o.remove("default"));
        let mut wrapped =
            json!({"if": {"type": "object"}, "then": search_range_schema(), "else": number});
        if let Some(d) = description {
            wrapped["description"] = d;
        }
        if let Some(d) = default {
            wrapped["default"] = d;
        }
        *prop = wrapped;
    }
}

/// One tuned parameter.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct SearchParam {
    /// JSON pointer of the parameter in the spec.
    pub pointer: String,
    /// Lower end of the range.
    pub low: f64,
    /// Upper end of the range.
    pub high: f64,
    /// Whether the range is searched on a log scale.
    pub log: bool,
    /// What the pointer names (resolved after deserialization).
    #[serde(skip)]
    pub target: Target,
}

/// What a tuned parameter sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// Not resolved yet.
    #[default]
    Unresolved,
    /// Parameter `index` of transform `transform` of channel `channel`.
    Transform {
        /// Channel index.
        channel: usize,
        /// Transform index in the channel's chain.
        transform: usize,
        /// Parameter index in the transform's `params()`.
        index: usize,
    },
    /// Parameter `index` of the model's `params()`.
    Model {
        /// Parameter index.
        index: usize,
    },
}

impl SearchParam {
    /// The parameter value at `u ∈ [0, 1]` of the range (log-uniform on a log scale).
    pub fn value_at(&self, u: f64) -> f64 {
        if self.log {
            (self.low.ln() + u * (self.high.ln() - self.low.ln())).exp()
        } else {
            self.low + u * (self.high - self.low)
        }
    }
}

fn parse_range(pointer: &str, v: &Value, issues: &mut Vec<SpecIssue>) -> Option<SearchParam> {
    let r = v.get("range")?.as_array()?;
    let (low, high) = (r.first()?.as_f64()?, r.get(1)?.as_f64()?);
    let log = v.get("scale").and_then(Value::as_str) == Some("log");
    if low.partial_cmp(&high) != Some(std::cmp::Ordering::Less) {
        issues.push(SpecIssue {
            pointer: format!("{pointer}/range"),
            message: format!("the range [{low}, {high}] is empty: low must be below high"),
        });
        return None;
    }
    if log && low <= 0.0 {
        issues.push(SpecIssue {
            pointer: format!("{pointer}/range"),
            message: format!("a log-scale range needs low > 0, got {low}"),
        });
        return None;
    }
    Some(SearchParam {
        pointer: pointer.to_string(),
        low,
        high,
        log,
        target: Target::Unresolved,
    })
}

fn take_ranges(
    obj: &mut Value,
    base: &str,
    out: &mut Vec<SearchParam>,
    issues: &mut Vec<SpecIssue>,
) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    for (k, v) in map.iter_mut() {
        if v.get("range").is_some() && v.is_object() {
            let pointer = format!("{base}/{k}");
            if let Some(p) = parse_range(&pointer, v, issues) {
                *v = json!(p.value_at(0.5));
                out.push(p);
            }
        }
    }
}

/// Replaces every search range in a spec's transforms and model by its midpoint and returns the
/// ranges found (in document order), with any problem in them.
pub fn extract_ranges(raw: &Value) -> (Value, Vec<SearchParam>, Vec<SpecIssue>) {
    let mut v = raw.clone();
    let mut out = Vec::new();
    let mut issues = Vec::new();
    if let Some(media) = v.get_mut("media").and_then(Value::as_array_mut) {
        for (i, m) in media.iter_mut().enumerate() {
            if let Some(ts) = m.get_mut("transforms").and_then(Value::as_array_mut) {
                for (j, t) in ts.iter_mut().enumerate() {
                    take_ranges(
                        t,
                        &format!("/media/{i}/transforms/{j}"),
                        &mut out,
                        &mut issues,
                    );
                }
            }
        }
    }
    if let Some(m) = v.get_mut("model") {
        take_ranges(m, "/model", &mut out, &mut issues);
    }
    (v, out, issues)
}
