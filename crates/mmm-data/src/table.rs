//! Reading the data layer's CSV tables: a file (or in-memory data attached at its path) into a
//! [`Table`], checked as it is read (see [`mmm_core::data`]).

use mmm_core::data::Table;
use mmm_core::error::{MmmError, Result};
use mmm_core::input::{BoundFailure, Bounded};
use std::path::Path;

/// Which bound (file size, line length) a failed read hit, if any.
type BoundCell = std::rc::Rc<std::cell::Cell<Option<BoundFailure>>>;

/// Opens a data file for CSV reading: a regular file (a FIFO or a device is refused, see
/// [`mmm_core::input`]), read through the file and line bounds.
fn open_csv(path: &Path) -> Result<(csv::Reader<Bounded<std::fs::File>>, BoundCell)> {
    let file = mmm_core::input::open_regular(path).map_err(|e| {
        let message = match e.kind() {
            std::io::ErrorKind::NotFound => "file not found".to_string(),
            _ => format!("cannot read: {e}"),
        };
        MmmError::data(path, None, None, message)
    })?;
    let reader = Bounded::data(file);
    let bound = reader.failure();
    let rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    Ok((rdr, bound))
}

/// The error for a read that failed on a size bound (file or line length), if it did.
fn bound_error(path: &Path, bound: &BoundCell) -> Option<MmmError> {
    bound
        .get()
        .map(|b| MmmError::data(path, b.line(), None, b.message()))
}

/// Reading a [`Table`] from a CSV file (`Table::read`, with this trait in scope), or from
/// in-memory data attached at its path (see [`crate::frame`]).
pub trait ReadTable: Sized {
    /// Reads `path`, using `date_column` as the time index.
    fn read(path: &Path, date_column: &str) -> Result<Self>;
    /// Reads a table whose date column need not be regular, sorted or unique (a holiday
    /// calendar); dates are parsed and checked for format only.
    fn read_unchecked(path: &Path, date_column: &str) -> Result<Self>;
}

impl ReadTable for Table {
    /// Reads `path`, using `date_column` as the time index.
    fn read(path: &Path, date_column: &str) -> Result<Table> {
        read_with(path, date_column, true)
    }

    /// Reads a table whose date column need not be regular, sorted or unique (a holiday
    /// calendar); dates are parsed and checked for format only.
    fn read_unchecked(path: &Path, date_column: &str) -> Result<Table> {
        read_with(path, date_column, false)
    }
}

/// Reads a table from the attached data or the file, its dates checked as a time index when
/// `time_index`.
fn read_with(path: &Path, date_column: &str, time_index: bool) -> Result<Table> {
    let duplicate =
        |h: &str| MmmError::data(path, Some(1), Some(h), "the header names this column twice");
    // in-memory data attached at this path (see crate::frame) is read instead of the file
    if let Some(t) = crate::frame::attached_cells(path) {
        let (headers, cells) = (t.headers.clone(), t.cells.clone());
        return Table::assemble(
            path,
            headers,
            cells,
            date_column,
            None,
            time_index,
            duplicate,
        );
    }
    let (mut rdr, bound) = open_csv(path)?;
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| {
            bound_error(path, &bound).unwrap_or_else(|| {
                MmmError::data(path, Some(1), None, format!("cannot read header: {e}"))
            })
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut cells = vec![Vec::new(); headers.len()];
    for (r, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| {
            bound_error(path, &bound).unwrap_or_else(|| {
                MmmError::data(path, Some(r + 2), None, format!("malformed CSV row: {e}"))
            })
        })?;
        for (c, v) in rec.iter().enumerate() {
            cells[c].push(v.to_string());
        }
    }
    Table::assemble(
        path,
        headers,
        cells,
        date_column,
        None,
        time_index,
        duplicate,
    )
}
