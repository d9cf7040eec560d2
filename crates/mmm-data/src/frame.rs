//! In-memory inputs, for programs that embed mmm (the Python package): a spec given as a JSON
//! value instead of a file, and data given as columns instead of a CSV file.
//!
//! Both take the same path through the library as `mmm run`:
//! - [`spec_from_value`] runs the same schema, deserialization and plugin checks as
//!   [`crate::spec::load_spec`] does after reading the file;
//! - [`Frame::attach`] makes the data readable under the spec's data path: every read of that
//!   path by the data layer ([`crate::table::ReadTable::read`]) takes the frame's cells instead of
//!   the file, so cleaning, pivoting, aggregation and every check of the data layer run
//!   unchanged. A number is handed over as the shortest decimal text that parses back to the
//!   same `f64` (Rust's `{}` formatting), so the layer parses exactly the value given: a frame
//!   holding the values of a CSV file gives bit-identical results to `mmm run` on that file.
//!   A missing number (`NaN`, `None`) becomes an empty cell, as an empty CSV field does.
//!
//! Errors name the data path the spec gives (for a data frame, `<DataFrame>` unless the spec
//! names another) and the line a CSV file of these columns would have: data row `r`
//! (0-based) is line `r + 2`.

use crate::spec::{parse_spec_with_search, LoadedSpec};
use mmm_core::error::{MmmError, Result, SpecIssue};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// One column of a [`Frame`].
#[derive(Debug, Clone, PartialEq)]
pub enum FrameColumn {
    /// Numbers (`NaN` marks a missing value).
    Numeric(Vec<f64>),
    /// Text cells (dates, categories; `None` marks a missing value).
    Text(Vec<Option<String>>),
}

impl FrameColumn {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            FrameColumn::Numeric(v) => v.len(),
            FrameColumn::Text(v) => v.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cells as the CSV reader would hold them.
    fn cells(&self) -> Vec<String> {
        match self {
            FrameColumn::Numeric(v) => v
                .iter()
                .map(|x| {
                    if x.is_nan() {
                        String::new()
                    } else {
                        format!("{x}")
                    }
                })
                .collect(),
            FrameColumn::Text(v) => v.iter().map(|s| s.clone().unwrap_or_default()).collect(),
        }
    }
}

/// A table of named columns of equal length, in memory (a pandas DataFrame, for instance).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    /// Column names, in order.
    pub names: Vec<String>,
    /// Columns, in the order of `names`.
    pub columns: Vec<FrameColumn>,
}

/// The cells of attached frames by data path, with how many attachments share each.
type Attached = HashMap<PathBuf, (Arc<TableCells>, usize)>;

/// Headers and cells (one vector per column) of an attached frame.
#[derive(Debug, PartialEq)]
pub struct TableCells {
    /// Column names.
    pub headers: Vec<String>,
    /// Cells, one vector per column.
    pub cells: Vec<Vec<String>>,
}

static ATTACHED: Mutex<Option<Attached>> = Mutex::new(None);

fn attached() -> MutexGuard<'static, Option<Attached>> {
    // a panic while holding the lock leaves the map consistent (every update is one insert or
    // remove), so a poisoned lock is still usable
    ATTACHED.lock().unwrap_or_else(|e| e.into_inner())
}

/// The cells of the frame attached at `path`, if any (called by the data layer before it
/// opens a file).
pub fn attached_cells(path: &Path) -> Option<Arc<TableCells>> {
    attached()
        .as_ref()
        .and_then(|m| m.get(path))
        .map(|(c, _)| Arc::clone(c))
}

/// Keeps a frame readable at a data path; dropping it detaches the frame.
#[derive(Debug)]
pub struct Attachment {
    path: PathBuf,
}

impl Drop for Attachment {
    fn drop(&mut self) {
        let mut guard = attached();
        if let Some(map) = guard.as_mut() {
            if let Some((_, count)) = map.get_mut(&self.path) {
                *count -= 1;
                if *count == 0 {
                    map.remove(&self.path);
                }
            }
        }
    }
}

impl Frame {
    /// An empty frame.
    pub fn new() -> Frame {
        Frame::default()
    }

    /// Adds a numeric column.
    pub fn push_numeric(&mut self, name: impl Into<String>, values: Vec<f64>) {
        self.names.push(name.into());
        self.columns.push(FrameColumn::Numeric(values));
    }

    /// Adds a text column.
    pub fn push_text(&mut self, name: impl Into<String>, values: Vec<Option<String>>) {
        self.names.push(name.into());
        self.columns.push(FrameColumn::Text(values));
    }

    /// Number of rows (of the first column; [`Frame::attach`] checks that all agree).
    pub fn n_rows(&self) -> usize {
        self.columns.first().map(FrameColumn::len).unwrap_or(0)
    }

    /// Makes the frame the data read at `loaded`'s data path until the returned attachment is
    /// dropped.
    ///
    /// # Errors
    /// A data error when the columns differ in length, a name is empty or repeated, or another
    /// frame with different cells is attached at the same path (two fits running at once must
    /// name different data paths).
    pub fn attach(&self, loaded: &LoadedSpec) -> Result<Attachment> {
        self.attach_at(&loaded.data_path())
    }

    /// [`Frame::attach`] at an explicit path.
    pub fn attach_at(&self, path: &Path) -> Result<Attachment> {
        let n = self.n_rows();
        let mut seen = std::collections::HashSet::new();
        for (name, col) in self.names.iter().zip(&self.columns) {
            if col.len() != n {
                return Err(MmmError::data(
                    path,
                    None,
                    Some(name),
                    format!(
                        "the column has {} rows but the first column has {n}",
                        col.len()
                    ),
                ));
            }
            if name.trim().is_empty() {
                return Err(MmmError::data(path, None, None, "a column has no name"));
            }
            if !seen.insert(name.trim()) {
                return Err(MmmError::data(
                    path,
                    None,
                    Some(name),
                    "two columns have this name",
                ));
            }
        }
        let cells = Arc::new(TableCells {
            headers: self.names.iter().map(|h| h.trim().to_string()).collect(),
            cells: self.columns.iter().map(FrameColumn::cells).collect(),
        });
        let mut guard = attached();
        let map = guard.get_or_insert_with(HashMap::new);
        match map.get_mut(path) {
            Some((existing, count)) if **existing == *cells => *count += 1,
            Some(_) => {
                return Err(MmmError::data(
                    path,
                    None,
                    None,
                    "other in-memory data is in use under this data path by a fit running at \
                     the same time; give each concurrent fit its own data.path",
                ))
            }
            None => {
                map.insert(path.to_path_buf(), (cells, 1));
            }
        }
        Ok(Attachment {
            path: path.to_path_buf(),
        })
    }
}

/// Loads a spec from its JSON value: the same checks as [`crate::spec::load_spec`] after it has
/// read the file. Relative paths in the spec resolve against `dir`; `label` names the spec in
/// errors (for instance `<spec>`).
pub fn spec_from_value(raw: Value, dir: &Path, label: &str) -> Result<LoadedSpec> {
    let (spec, search) = parse_spec_with_search(&raw, label)?;
    Ok(LoadedSpec {
        spec,
        raw,
        file: label.to_string(),
        dir: dir.to_path_buf(),
        search,
    })
}

/// Parses JSON text as a spec value; a syntax error is a spec error at the root naming the
/// line and column, as for a file.
pub fn parse_json(text: &str, label: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| MmmError::Spec {
        file: label.to_string(),
        issues: vec![SpecIssue {
            pointer: String::new(),
            message: format!(
                "not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_text_that_parses_back_to_the_same_bits() {
        let values = vec![0.1, 2754371.66666667, 1e-300, -0.0, 1.0 / 3.0, f64::NAN];
        let cells = FrameColumn::Numeric(values.clone()).cells();
        for (v, c) in values.iter().zip(&cells) {
            if v.is_nan() {
                assert_eq!(c, "");
            } else {
                assert_eq!(c.parse::<f64>().unwrap().to_bits(), v.to_bits());
            }
        }
    }

    #[test]
    fn attachments_share_equal_cells_and_refuse_different_ones() {
        let path = Path::new("<frame test>");
        let mut f = Frame::new();
        f.push_text(
            "date",
            vec![Some("2024-01-01".into()), Some("2024-01-08".into())],
        );
        f.push_numeric("y", vec![1.0, 2.0]);
        let a = f.attach_at(path).unwrap();
        let b = f.attach_at(path).unwrap();
        let mut g = f.clone();
        g.columns[1] = FrameColumn::Numeric(vec![1.0, 3.0]);
        assert!(matches!(g.attach_at(path), Err(MmmError::Data { .. })));
        drop(a);
        assert!(attached_cells(path).is_some());
        drop(b);
        assert!(attached_cells(path).is_none());
        let _c = g.attach_at(path).unwrap();
        assert_eq!(attached_cells(path).unwrap().cells[1], vec!["1", "3"]);
    }

    #[test]
    fn columns_of_different_lengths_are_refused() {
        let mut f = Frame::new();
        f.push_numeric("a", vec![1.0, 2.0]);
        f.push_numeric("b", vec![1.0]);
        let e = f.attach_at(Path::new("<frame len>")).unwrap_err();
        assert!(e.to_string().contains("'b'"), "{e}");
    }
}
