//! Reading a JSON document (experiment spec, study, simulation spec) strictly.
//!
//! `serde_json` alone accepts a key given twice in one object and keeps the last value, rejects
//! a UTF-8 byte-order mark at "line 1 column 1" and reports invalid UTF-8 without a position.
//! [`parse_json_bytes`] instead
//! - skips a leading UTF-8 BOM (editors on Windows write one);
//! - reports invalid UTF-8 at its byte offset (and line and column);
//! - reports every key given twice in one object at its JSON pointer (`/seed`), with the line
//!   of the second occurrence.

use crate::error::{MmmError, Result, SpecIssue};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;
use std::path::Path;

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses JSON bytes into a [`Value`], or returns every problem found (by JSON pointer; the
/// pointer is empty for a syntax or encoding error, whose message gives the position).
pub fn parse_json_bytes(bytes: &[u8]) -> std::result::Result<Value, Vec<SpecIssue>> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let (line, column) = line_column(&bytes[..at]);
        vec![root_issue(format!(
            "not UTF-8 text: invalid byte 0x{:02X} at byte offset {at} (line {line}, column \
             {column}); save the file as UTF-8",
            bytes[at]
        ))]
    })?;
    let duplicates = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Node {
        pointer: String::new(),
        duplicates: &duplicates,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|_| v));
    let value = parsed.map_err(|e| {
        vec![root_issue(format!(
            "not valid JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))]
    })?;
    let duplicates = duplicates.into_inner();
    if duplicates.is_empty() {
        Ok(value)
    } else {
        Err(duplicates)
    }
}

/// Reads a JSON file with [`parse_json_bytes`]; errors are [`MmmError::Spec`] labelled `file`.
/// The file must be a regular file of at most [`crate::input::MAX_JSON_BYTES`] (a FIFO or a
/// device is refused, see [`crate::input::read_bounded`]).
pub fn read_json_file(path: &Path, file: &str) -> Result<Value> {
    let bytes = crate::input::read_bounded(path, crate::input::MAX_JSON_BYTES).map_err(|e| {
        MmmError::Spec {
            file: file.to_string(),
            issues: vec![root_issue(format!("cannot read: {e}"))],
        }
    })?;
    parse_json_bytes(&bytes).map_err(|issues| MmmError::Spec {
        file: file.to_string(),
        issues,
    })
}

fn root_issue(message: String) -> SpecIssue {
    SpecIssue {
        pointer: String::new(),
        message,
    }
}

/// 1-based line and column (in characters) just after `prefix`.
fn line_column(prefix: &[u8]) -> (usize, usize) {
    let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
    let start = prefix
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&prefix[start..]).chars().count() + 1;
    (line, column)
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn escape_pointer_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Deserializes one JSON value at `pointer`, recording keys given twice.
struct Node<'a> {
    pointer: String,
    duplicates: &'a RefCell<Vec<SpecIssue>>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        // serde_json never yields a non-finite number; `Null` keeps this total
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Node {
            pointer: format!("{}/{}", self.pointer, out.len()),
            duplicates: self.duplicates,
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let pointer = format!("{}/{}", self.pointer, escape_pointer_segment(&key));
            let v = map.next_value_seed(Node {
                pointer: pointer.clone(),
                duplicates: self.duplicates,
            })?;
            if out.contains_key(&key) {
                self.duplicates.borrow_mut().push(SpecIssue {
                    pointer,
                    message: format!(
                        "key \"{key}\" is given twice in one object (JSON would silently keep \
                         the last value); remove one of them"
                    ),
                });
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_reported_at_their_pointer() {
        let e = parse_json_bytes(br#"{"seed": 1, "a": {"b": [{"c": 1, "c": 2}]}, "seed": 2}"#)
            .unwrap_err();
        let pointers: Vec<&str> = e.iter().map(|i| i.pointer.as_str()).collect();
        assert_eq!(pointers, ["/a/b/0/c", "/seed"]);
    }

    #[test]
    fn bom_is_skipped_and_bad_utf8_has_an_offset() {
        let v = parse_json_bytes(b"\xEF\xBB\xBF{\"a\": 1}").unwrap();
        assert_eq!(v["a"], 1);
        let e = parse_json_bytes(b"{\"a\":\n \"\xFF\"}").unwrap_err();
        assert!(e[0].message.contains("byte offset 8"), "{}", e[0].message);
        assert!(
            e[0].message.contains("line 2, column 3"),
            "{}",
            e[0].message
        );
    }

    #[test]
    fn values_equal_serde_json() {
        let text = r#"{"a": [1, -2, 3.5, 1e300, 18446744073709551616, null, true, "x"], "b": {}}"#;
        let ours = parse_json_bytes(text.as_bytes()).unwrap();
        let theirs: Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        assert!(parse_json_bytes(b"{\"a\": 1} x").is_err());
    }
}
