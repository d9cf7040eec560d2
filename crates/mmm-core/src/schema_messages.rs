//! JSON Schema validation errors turned into pointed spec issues.
//!
//! A validator reports a value that fails an `anyOf` (every optional section: `"tuning":
//! {"anyOf": [{"$ref": …}, {"type": "null"}]}`, a control given as a name or an object…) with
//! one line at the section — "is not valid under any of the schemas listed in the 'anyOf'
//! keyword" — that names neither the field nor the problem. Here such an error is replaced by
//! the errors of the one alternative whose JSON type the value has (an object is not meant to
//! be `null`), recursively, so the message names the field: `/tuning/evaluations: 0 is less
//! than the minimum of 1`. An unknown field or an unknown `type` lists the valid names and
//! suggests the nearest.

use crate::error::SpecIssue;
use crate::suggest::did_you_mean;
use jsonschema::error::ValidationErrorKind;
use jsonschema::ValidationError;
use serde_json::Value;

/// Every problem of `instance` against `schema` (draft 2020-12), sorted by pointer.
pub fn schema_issues(schema: &Value, instance: &Value) -> Vec<SpecIssue> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => {
            return vec![SpecIssue {
                pointer: String::new(),
                message: format!("internal error: the generated schema is invalid: {e}"),
            }]
        }
    };
    let mut issues = Vec::new();
    for e in validator.iter_errors(instance) {
        push_issues(&e, schema, &mut issues);
    }
    issues.sort_by(|a, b| (&a.pointer, &a.message).cmp(&(&b.pointer, &b.message)));
    issues.dedup();
    issues
}

fn push_issues(e: &ValidationError<'_>, schema: &Value, out: &mut Vec<SpecIssue>) {
    let pointer = e.instance_path().to_string();
    let message = match e.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            if let Some(branch) = matching_branch(context, &pointer) {
                for b in branch {
                    push_issues(b, schema, out);
                }
                return;
            }
            e.to_string()
        }
        ValidationErrorKind::Enum { options } => {
            let names: Vec<&str> = options
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let hint = e
                .instance()
                .as_str()
                .map(|s| did_you_mean(s, names.iter().copied()))
                .unwrap_or_default();
            format!(
                "{} is not one of: {}{hint}",
                e.instance(),
                options
                    .as_array()
                    .map(|a| a
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_else(|| options.to_string())
            )
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let parent = schema_at(schema, &e.schema_path().to_string(), 1);
            let valid: Vec<&str> = parent
                .and_then(|p| p.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            for u in unexpected {
                let message = if valid.is_empty() {
                    format!("unknown field \"{u}\"")
                } else {
                    format!(
                        "unknown field \"{u}\"; the fields are: {}{}",
                        valid.join(", "),
                        did_you_mean(u, valid.iter().copied())
                    )
                };
                out.push(SpecIssue {
                    pointer: format!("{pointer}/{}", crate::json_text::escape_pointer_segment(u)),
                    message,
                });
            }
            return;
        }
        _ => e.to_string(),
    };
    out.push(SpecIssue { pointer, message });
}

/// The alternative of an `anyOf`/`oneOf` that the value was meant for: the only one whose errors
/// do not include a JSON type mismatch of the value itself, or, among several, the only one
/// whose errors are all below the value (it matched the value's shape).
fn matching_branch<'c, 'a>(
    context: &'c [Vec<ValidationError<'a>>],
    pointer: &str,
) -> Option<&'c [ValidationError<'a>]> {
    let at_value = |b: &ValidationError<'_>| b.instance_path().to_string() == pointer;
    let typed: Vec<&Vec<ValidationError<'a>>> = context
        .iter()
        .filter(|branch| {
            !branch.is_empty()
                && !branch
                    .iter()
                    .any(|b| at_value(b) && matches!(b.kind(), ValidationErrorKind::Type { .. }))
        })
        .collect();
    match typed.as_slice() {
        [one] => Some(one.as_slice()),
        [] => None,
        several => {
            let shaped: Vec<&&Vec<ValidationError<'a>>> = several
                .iter()
                .filter(|branch| {
                    !branch.iter().any(|b| {
                        at_value(b)
                            && matches!(
                                b.kind(),
                                ValidationErrorKind::Required { .. }
                                    | ValidationErrorKind::AdditionalProperties { .. }
                                    | ValidationErrorKind::Constant { .. }
                            )
                    })
                })
                .collect();
            match shaped.as_slice() {
                [one] => Some(one.as_slice()),
                _ => None,
            }
        }
    }
}

/// The subschema at a keyword location (`/properties/model/$ref/allOf/0/then/…`), without its
/// last `drop` segments; `$ref`s to `#/$defs/…` are followed.
fn schema_at<'s>(schema: &'s Value, location: &str, drop: usize) -> Option<&'s Value> {
    let segments: Vec<String> = location
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let keep = segments.len().checked_sub(drop)?;
    let mut cur = schema;
    for seg in &segments[..keep] {
        cur = if seg == "$ref" {
            let target = cur.get("$ref")?.as_str()?.strip_prefix('#')?;
            schema.pointer(target)?
        } else {
            match cur {
                Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                _ => cur.get(seg)?,
            }
        };
    }
    // a location may end on a `$ref` keyword's target
    while let Some(r) = cur.get("$ref").and_then(Value::as_str) {
        if cur.get("properties").is_some() {
            break;
        }
        cur = schema.pointer(r.strip_prefix('#')?)?;
    }
    Some(cur)
}
