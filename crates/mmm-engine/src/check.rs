//! `mmm validate`: every problem of a spec and its data in one run.
//!
//! The spec's problems are all reported (schema, plugin parameters, cross-field rules). The data
//! is checked even when the spec has problems, as far as the spec's `data` section and column
//! names can be read: every column the spec names (target, spends, controls) is checked on its
//! own — missing, empty or non-numeric cells, negative spend, constant — so one run lists one
//! problem per column instead of stopping at the first. When the spec and every column are
//! valid, the data is assembled exactly as `mmm run` does (design checks, memory estimate…).

use mmm_core::data::Table;
use mmm_core::error::{MmmError, Result};
use mmm_data::dataset::FromSpec;
use mmm_data::spec::LoadedSpec;
use mmm_data::table::ReadTable;
use serde_json::Value;
use std::path::Path;

/// How a column is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Target,
    Spend,
    Control,
    Categorical,
}

/// Checks the spec file and its data; `Ok` when `mmm run` would get past loading.
pub fn validate_spec_file(path: &Path) -> Result<()> {
    let file = path.display().to_string();
    let raw = mmm_core::json_text::read_json_file(path, &file)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut errors = Vec::new();
    match mmm_data::spec::parse_spec_with_search(&raw, &file) {
        Ok((spec, search)) => {
            let loaded = LoadedSpec {
                spec,
                raw,
                file,
                dir,
                search,
            };
            match mmm_data::prepare::prepare(&loaded) {
                Err(e) => errors.push(e),
                Ok((table, _)) => {
                    errors.extend(column_errors(&table, &uses(&loaded.raw)));
                    if errors.is_empty() {
                        match mmm_core::dataset::ModelData::from_spec(&loaded) {
                            Err(e) => errors.push(e),
                            Ok(data) => {
                                if let Err(e) = crate::experiment::check_window(&loaded, &data) {
                                    errors.push(e);
                                }
                            }
                        }
                    }
                }
            }
        }
        Err(e) => {
            errors.push(e);
            errors.extend(raw_data_errors(&raw, &dir, &file));
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(MmmError::Several(errors)),
    }
}

/// The columns a spec names, with their pointers and uses, read from the JSON (so this works
/// for a spec that does not parse).
fn uses(raw: &Value) -> Vec<(String, String, Use)> {
    let mut out = Vec::new();
    if let Some(t) = raw.pointer("/data/target").and_then(Value::as_str) {
        out.push((t.to_string(), "/data/target".to_string(), Use::Target));
    }
    if let Some(media) = raw.get("media").and_then(Value::as_array) {
        for (i, m) in media.iter().enumerate() {
            if let Some(s) = m.get("spend").and_then(Value::as_str) {
                out.push((s.to_string(), format!("/media/{i}/spend"), Use::Spend));
            }
        }
    }
    if let Some(controls) = raw.get("controls").and_then(Value::as_array) {
        for (j, c) in controls.iter().enumerate() {
            match c {
                Value::String(s) => out.push((s.clone(), format!("/controls/{j}"), Use::Control)),
                Value::Object(o) => {
                    if let Some(s) = o.get("column").and_then(Value::as_str) {
                        let categorical = o.get("categorical") == Some(&Value::Bool(true));
                        out.push((
                            s.to_string(),
                            format!("/controls/{j}/column"),
                            if categorical {
                                Use::Categorical
                            } else {
                                Use::Control
                            },
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    // a column named twice is a spec problem, reported once there
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|(c, _, _)| seen.insert(c.clone()));
    out
}

/// The first problem of every named column.
fn column_errors(table: &Table, uses: &[(String, String, Use)]) -> Vec<MmmError> {
    let mut errors = Vec::new();
    for (column, pointer, u) in uses {
        let result = match u {
            Use::Categorical => table.raw(column).map(|_| ()),
            Use::Target => table.numeric(column).and_then(|v| match v.first() {
                Some(first) if v.iter().all(|x| x == first) => Err(MmmError::data(
                    &table.path,
                    None,
                    Some(column),
                    format!(
                        "the target '{column}' is constant ({first}): there is nothing to explain"
                    ),
                )),
                _ => Ok(()),
            }),
            Use::Spend => table.numeric(column).and_then(|v| {
                table.check_non_negative(column, &v)?;
                table.check_not_constant(column, &v, "media")
            }),
            Use::Control => table
                .numeric(column)
                .and_then(|v| table.check_not_constant(column, &v, "control")),
        };
        if let Err(e) = result {
            errors.push(named_at(e, pointer));
        }
    }
    errors
}

/// Adds the spec path that named the column to a data error.
fn named_at(e: MmmError, pointer: &str) -> MmmError {
    match e {
        MmmError::Data { location, message } => MmmError::Data {
            location,
            message: format!("{message} (the column of {pointer})"),
        },
        other => other,
    }
}

/// Data checks for a spec that did not parse: the wide file its `data` section names, read
/// when `path` and `date` are strings, and the columns it names.
fn raw_data_errors(raw: &Value, dir: &Path, spec_file: &str) -> Vec<MmmError> {
    let (Some(p), Some(date)) = (
        raw.pointer("/data/path").and_then(Value::as_str),
        raw.pointer("/data/date").and_then(Value::as_str),
    ) else {
        return vec![];
    };
    let wide = raw
        .pointer("/data/format")
        .is_none_or(|f| f == &Value::String("wide".into()));
    // cleaning and aggregation change the data: without a parsed spec they cannot be applied
    let plain = raw.pointer("/data/cleaning").is_none() && raw.pointer("/data/aggregate").is_none();
    if !wide || !plain {
        return vec![];
    }
    let path = Path::new(p);
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    };
    // the data root (--data-root) and the regular-file rule hold here as in a run
    if let Err(e) = mmm_core::input::check_spec_file(&path, spec_file, "/data/path") {
        return vec![e];
    }
    match Table::read(&path, date) {
        Err(e) => vec![e],
        Ok(table) => column_errors(&table, &uses(raw)),
    }
}
