//! The study file: a base experiment spec and its variants, and how variants are built.
//!
//! A variant is the base spec with some values replaced, each named by a JSON pointer into the
//! base spec (RFC 6901) in which a `*` token means "every element of this array":
//! `/media/*/transforms/0` replaces the first transform of every channel.

use mmm_core::error::{MmmError, Result, SpecIssue};
use mmm_data::spec::{parse_spec_with_search, LoadedSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A study.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mmm study")]
pub struct StudySpec {
    /// Path of a JSON Schema, for editors (ignored).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Name of the study (copied into the comparison).
    #[serde(default = "default_name")]
    pub name: String,
    /// The base experiment spec: a path (relative to the study file) or the spec inline.
    pub base: BaseSpec,
    /// A `truth.json` written by `mmm simulate` (relative to the study file): adds ROI errors
    /// and the ranking by recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truth: Option<String>,
    /// How variants are ranked by recovery, with a truth: `spend_weighted` (default,
    /// `Σ s_i·|roi_i − true_roi_i| / Σ s_i`, the KPI misattributed per unit of spend),
    /// `absolute` (`mean_i |roi_i − true_roi_i|`) or `relative`
    /// (`mean_i |roi_i − true_roi_i| / |true_roi_i|`, which lets a small channel decide).
    #[serde(default)]
    pub ranking: crate::comparison::Ranking,
    /// Explicitly listed variants (run first, in this order).
    #[serde(default)]
    pub variants: Vec<VariantSpec>,
    /// A grid: every combination of the axes' values is a variant (after the listed ones; the
    /// last axis varies fastest).
    #[serde(default)]
    pub grid: Vec<AxisSpec>,
}

fn default_name() -> String {
    "study".into()
}

/// The base spec, by path or inline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BaseSpec {
    /// Path of an experiment spec, relative to the study file.
    Path(String),
    /// An experiment spec inline (its data path is relative to the study file).
    Inline(serde_json::Map<String, Value>),
}

/// One listed variant.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    /// Name (letters, digits, `.`, `_`, `-`); the variant's outputs go to `variants/<name>/`.
    pub name: String,
    /// JSON pointer (with `*` for every array element) → new value; applied in sorted pointer
    /// order, so a parent is replaced before its children. Empty: the base spec as is.
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
}

/// One axis of a grid.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AxisSpec {
    /// JSON pointer (with `*` for every array element) of the value this axis varies.
    pub path: String,
    /// The alternative values.
    #[schemars(length(min = 1))]
    pub values: Vec<Value>,
    /// Names of the values in variant names (default: a value's `type`, or the value itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
}

/// A built, validated variant.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Position in the study (0-based): listed variants first, then the grid.
    pub index: usize,
    /// Name.
    pub name: String,
    /// The overrides applied to the base spec.
    pub set: BTreeMap<String, Value>,
    /// The variant's spec, ready to run.
    pub loaded: LoadedSpec,
}

/// A loaded study: every variant built and validated.
#[derive(Debug, Clone)]
pub struct Study {
    /// The study as read.
    pub spec: StudySpec,
    /// The study file.
    pub file: String,
    /// The variants, in study order.
    pub variants: Vec<Variant>,
    /// Channel name → true ROI, from the truth file.
    pub truth: Option<BTreeMap<String, f64>>,
}

fn issue(pointer: impl Into<String>, message: impl Into<String>) -> SpecIssue {
    SpecIssue {
        pointer: pointer.into(),
        message: message.into(),
    }
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Expands `*` tokens of `pointer` against `doc`: every concrete pointer it names.
///
/// # Errors
/// A message when the pointer does not start with `/`, when a `*` is not on an array, or when
/// a token before the last one names nothing.
pub fn expand_pointer(doc: &Value, pointer: &str) -> std::result::Result<Vec<String>, String> {
    if !pointer.starts_with('/') {
        return Err(format!(
            "'{pointer}' is not a JSON pointer (it must start with '/')"
        ));
    }
    let tokens: Vec<&str> = pointer[1..].split('/').collect();
    let mut out = Vec::new();
    expand_rec(doc, &tokens, String::new(), &mut out)?;
    Ok(out)
}

fn expand_rec(
    node: &Value,
    tokens: &[&str],
    prefix: String,
    out: &mut Vec<String>,
) -> std::result::Result<(), String> {
    let Some((first, rest)) = tokens.split_first() else {
        out.push(prefix);
        return Ok(());
    };
    if *first == "*" {
        let arr = node.as_array().ok_or_else(|| {
            format!(
                "'*' after '{}' needs an array there",
                if prefix.is_empty() { "/" } else { &prefix }
            )
        })?;
        for (i, child) in arr.iter().enumerate() {
            let p = format!("{prefix}/{i}");
            if rest.is_empty() {
                out.push(p);
            } else {
                expand_rec(child, rest, p, out)?;
            }
        }
        return Ok(());
    }
    let p = format!("{prefix}/{first}");
    if rest.is_empty() {
        out.push(p);
        return Ok(());
    }
    let key = unescape(first);
    let child = match node {
        Value::Object(m) => m.get(&key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    };
    match child {
        Some(c) => expand_rec(c, rest, p, out),
        None => Err(format!("'{p}' does not exist in the base spec")),
    }
}

/// Sets the value at a concrete pointer: replaces it, adds an object member, or appends to an
/// array (index = length, or `-`).
///
/// # Errors
/// A message when the parent does not exist or the index is out of range.
pub fn set_pointer(
    doc: &mut Value,
    pointer: &str,
    value: Value,
) -> std::result::Result<(), String> {
    let (parent, last) = match pointer.rfind('/') {
        Some(i) => (&pointer[..i], unescape(&pointer[i + 1..])),
        None => return Err(format!("'{pointer}' is not a JSON pointer")),
    };
    let target = doc
        .pointer_mut(parent)
        .ok_or_else(|| format!("'{parent}' does not exist in the base spec"))?;
    match target {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            let len = a.len();
            let i = if last == "-" {
                len
            } else {
                last.parse::<usize>()
                    .map_err(|_| format!("'{last}' is not an array index in '{pointer}'"))?
            };
            if i < len {
                a[i] = value;
                Ok(())
            } else if i == len {
                a.push(value);
                Ok(())
            } else {
                Err(format!(
                    "index {i} in '{pointer}' is past the end of an array of {len}"
                ))
            }
        }
        _ => Err(format!("'{parent}' is neither an object nor an array")),
    }
}

/// Applies `set` to `doc`; errors are `(pointer key, message)`.
fn apply_set(
    doc: &mut Value,
    set: &BTreeMap<String, Value>,
) -> std::result::Result<(), (String, String)> {
    for (ptr, v) in set {
        let concrete = expand_pointer(doc, ptr).map_err(|m| (ptr.clone(), m))?;
        for c in concrete {
            set_pointer(doc, &c, v.clone()).map_err(|m| (ptr.clone(), m))?;
        }
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn sanitize(label: &str) -> String {
    let s: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() {
        "_".into()
    } else {
        s
    }
}

/// The labels of an axis's values: given labels, else a value's `type`, else the value.
/// Labels that repeat within the axis get `-<position>` appended.
pub fn axis_labels(axis: &AxisSpec) -> Vec<String> {
    let raw: Vec<String> = axis
        .values
        .iter()
        .enumerate()
        .map(|(k, v)| {
            if let Some(l) = axis.labels.as_ref().and_then(|l| l.get(k)) {
                return sanitize(l);
            }
            sanitize(&match v {
                Value::Object(m) => m
                    .get("type")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("v{k}")),
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => "null".into(),
                Value::Array(_) => format!("v{k}"),
            })
        })
        .collect();
    raw.iter()
        .enumerate()
        .map(|(k, l)| {
            if raw.iter().filter(|x| *x == l).count() > 1 {
                format!("{l}-{k}")
            } else {
                l.clone()
            }
        })
        .collect()
}

fn spec_error(file: &str, issues: Vec<SpecIssue>) -> MmmError {
    MmmError::Spec {
        file: file.to_string(),
        issues,
    }
}

/// Upper bound of the number of variants of one study (listed and grid), checked before the
/// grid is expanded.
pub const MAX_VARIANTS: usize = 10_000;

/// Reads a study file, builds every variant and validates it (schema, plugins) before anything
/// runs; every problem of every variant is reported at once.
pub fn load_study(path: &Path) -> Result<Study> {
    let file = path.display().to_string();
    let raw = mmm_core::json_text::read_json_file(path, &file)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse_study(&raw, &file, &dir)
}

/// Builds a study from JSON; `file` labels errors and `dir` resolves relative paths.
pub fn parse_study(raw: &Value, file: &str, dir: &Path) -> Result<Study> {
    let spec: StudySpec = serde_path_to_error::deserialize(raw.clone()).map_err(|e| {
        let mut p = String::new();
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => p.push_str(&format!("/{index}")),
                serde_path_to_error::Segment::Map { key } => {
                    p.push_str(&format!("/{}", escape(key)))
                }
                serde_path_to_error::Segment::Enum { variant } => {
                    p.push_str(&format!("/{variant}"))
                }
                serde_path_to_error::Segment::Unknown => {}
            }
        }
        spec_error(file, vec![issue(p, e.inner().to_string())])
    })?;
    let mut issues = Vec::new();

    // The base spec.
    let (base_raw, base_file, base_dir): (Value, String, PathBuf) = match &spec.base {
        BaseSpec::Path(p) => {
            let bp = dir.join(p);
            mmm_core::input::check_spec_file(&bp, file, "/base")?;
            let v = mmm_core::json_text::read_json_file(&bp, &bp.display().to_string())
                .map_err(|e| spec_error(file, vec![issue("/base", e.to_string())]))?;
            (
                v,
                bp.display().to_string(),
                bp.parent().map(Path::to_path_buf).unwrap_or_default(),
            )
        }
        BaseSpec::Inline(m) => (
            Value::Object(m.clone()),
            format!("{file}#/base"),
            dir.to_path_buf(),
        ),
    };

    // The truth.
    let truth = match &spec.truth {
        Some(t) => {
            mmm_core::input::check_spec_file(&dir.join(t), file, "/truth")?;
            Some(read_truth(&dir.join(t)).map_err(|m| spec_error(file, vec![issue("/truth", m)]))?)
        }
        None => None,
    };

    // The variants: listed, then the grid.
    let mut planned: Vec<(String, BTreeMap<String, Value>, String)> = Vec::new();
    for (i, v) in spec.variants.iter().enumerate() {
        if !valid_name(&v.name) {
            issues.push(issue(
                format!("/variants/{i}/name"),
                format!("'{}' is not a valid variant name (letters, digits, '.', '_', '-'; not starting with '.')", v.name),
            ));
        }
        planned.push((v.name.clone(), v.set.clone(), format!("/variants/{i}")));
    }
    if !spec.grid.is_empty() {
        let labels: Vec<Vec<String>> = spec.grid.iter().map(axis_labels).collect();
        for (j, a) in spec.grid.iter().enumerate() {
            if a.values.is_empty() {
                issues.push(issue(
                    format!("/grid/{j}/values"),
                    "an axis needs at least one value",
                ));
            }
            if let Some(l) = &a.labels {
                if l.len() != a.values.len() {
                    issues.push(issue(
                        format!("/grid/{j}/labels"),
                        format!("{} labels for {} values", l.len(), a.values.len()),
                    ));
                }
            }
        }
        // counted before anything is expanded: 100 values on 6 axes are 10^12 variants
        let total = spec
            .grid
            .iter()
            .try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()))
            .filter(|t| t.saturating_add(spec.variants.len()) <= MAX_VARIANTS);
        let Some(total) = total else {
            let product = spec
                .grid
                .iter()
                .map(|a| a.values.len().to_string())
                .collect::<Vec<_>>()
                .join(" × ");
            issues.push(issue(
                "/grid",
                format!(
                    "the grid has {product} variants (plus {} listed); a study has at most \
                     {MAX_VARIANTS}: use fewer values or split it into several studies",
                    spec.variants.len()
                ),
            ));
            return Err(spec_error(file, issues));
        };
        for k in 0..total {
            // Mixed radix, last axis fastest.
            let mut rem = k;
            let mut idx = vec![0usize; spec.grid.len()];
            for j in (0..spec.grid.len()).rev() {
                let len = spec.grid[j].values.len();
                idx[j] = rem % len;
                rem /= len;
            }
            let name = idx
                .iter()
                .enumerate()
                .map(|(j, &v)| labels[j][v].clone())
                .collect::<Vec<_>>()
                .join("__");
            let set: BTreeMap<String, Value> = idx
                .iter()
                .enumerate()
                .map(|(j, &v)| (spec.grid[j].path.clone(), spec.grid[j].values[v].clone()))
                .collect();
            planned.push((name, set, "/grid".into()));
        }
    }
    if planned.is_empty() && issues.is_empty() {
        issues.push(issue(
            "/variants",
            "the study has no variants: list some in \"variants\" or give a \"grid\"",
        ));
    }
    let mut seen = BTreeSet::new();
    for (name, _, at) in &planned {
        if !seen.insert(name.clone()) {
            issues.push(issue(
                at.clone(),
                format!("variant name '{name}' is used twice"),
            ));
        }
    }

    let mut variants = Vec::new();
    for (index, (name, set, at)) in planned.into_iter().enumerate() {
        let mut doc = base_raw.clone();
        if let Err((ptr, msg)) = apply_set(&mut doc, &set) {
            let pointer = if at.starts_with("/variants") {
                format!("{at}/set/{}", escape(&ptr))
            } else {
                let j = spec.grid.iter().position(|a| a.path == ptr).unwrap_or(0);
                format!("/grid/{j}/path")
            };
            issues.push(issue(pointer, format!("variant '{name}': {msg}")));
            continue;
        }
        let label = format!("{base_file} (variant '{name}')");
        match parse_spec_with_search(&doc, &label) {
            Ok((s, search)) => variants.push(Variant {
                index,
                name,
                set,
                loaded: LoadedSpec {
                    spec: s,
                    raw: doc,
                    file: label,
                    dir: base_dir.clone(),
                    search,
                },
            }),
            Err(MmmError::Spec { issues: inner, .. }) => {
                for i in inner {
                    let p = if i.pointer.is_empty() {
                        "/"
                    } else {
                        &i.pointer
                    };
                    issues.push(issue(
                        at.clone(),
                        format!("variant '{name}': {p}: {}", i.message),
                    ));
                }
            }
            Err(e) => issues.push(issue(at.clone(), format!("variant '{name}': {e}"))),
        }
    }
    if !issues.is_empty() {
        return Err(spec_error(file, issues));
    }
    Ok(Study {
        spec,
        file: file.to_string(),
        variants,
        truth,
    })
}

/// Reads channel name → ROI from a `truth.json` of `mmm simulate`.
pub fn read_truth(path: &Path) -> std::result::Result<BTreeMap<String, f64>, String> {
    let text = mmm_core::input::read_json_text(path)
        .map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| format!("'{}' is not valid JSON: {e}", path.display()))?;
    let channels = v.get("channels").and_then(Value::as_array).ok_or_else(|| {
        format!(
            "'{}' has no \"channels\" list (is it a truth.json from `mmm simulate`?)",
            path.display()
        )
    })?;
    let mut out = BTreeMap::new();
    for (i, c) in channels.iter().enumerate() {
        let name = c.get("name").and_then(Value::as_str);
        let roi = c.get("roi").and_then(Value::as_f64);
        match (name, roi) {
            (Some(n), Some(r)) => {
                out.insert(n.to_string(), r);
            }
            _ => {
                return Err(format!(
                    "'{}': /channels/{i} lacks a name or a numeric roi",
                    path.display()
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn star_expands_to_every_array_element() {
        let doc = json!({"media": [{"t": [1]}, {"t": [2]}, {"t": [3]}]});
        assert_eq!(
            expand_pointer(&doc, "/media/*/t/0").unwrap(),
            vec!["/media/0/t/0", "/media/1/t/0", "/media/2/t/0"]
        );
        assert_eq!(expand_pointer(&doc, "/model").unwrap(), vec!["/model"]);
        assert!(expand_pointer(&doc, "/model/*").is_err());
        assert!(expand_pointer(&doc, "model").is_err());
    }

    #[test]
    fn set_replaces_adds_and_appends() {
        let mut doc = json!({"a": [1, 2], "b": {"c": 1}});
        set_pointer(&mut doc, "/a/0", json!(9)).unwrap();
        set_pointer(&mut doc, "/a/2", json!(3)).unwrap();
        set_pointer(&mut doc, "/a/-", json!(4)).unwrap();
        set_pointer(&mut doc, "/b/d", json!(true)).unwrap();
        assert_eq!(doc, json!({"a": [9, 2, 3, 4], "b": {"c": 1, "d": true}}));
        assert!(set_pointer(&mut doc, "/a/9", json!(0)).is_err());
        assert!(set_pointer(&mut doc, "/x/y", json!(0)).is_err());
    }

    #[test]
    fn axis_labels_come_from_types_values_or_labels() {
        let axis = |values: Value, labels: Option<Vec<&str>>| AxisSpec {
            path: "/x".into(),
            values: serde_json::from_value(values).unwrap(),
            labels: labels.map(|l| l.into_iter().map(str::to_string).collect()),
        };
        assert_eq!(
            axis_labels(&axis(json!([{"type": "ols"}, {"type": "ridge"}]), None)),
            vec!["ols", "ridge"]
        );
        assert_eq!(
            axis_labels(&axis(json!([0.3, 0.5]), None)),
            vec!["0.3", "0.5"]
        );
        assert_eq!(
            axis_labels(&axis(
                json!([{"type": "ridge", "alpha": 1}, {"type": "ridge", "alpha": 10}]),
                None
            )),
            vec!["ridge-0", "ridge-1"]
        );
        assert_eq!(
            axis_labels(&axis(json!([1, 2]), Some(vec!["low", "high/x"]))),
            vec!["low", "high_x"]
        );
    }
}
