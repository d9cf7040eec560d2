//! The data layer: a CSV table with a date column, checked as it is read.
//!
//! Every problem is an [`MmmError::Data`] naming the file, the line (the header is line 1) and
//! the column: a missing file, a missing column (listing the columns that exist), a non-numeric
//! or empty cell, an unparsable, duplicate or unsorted date, irregular spacing of dates.

use crate::error::{MmmError, Result};
use crate::input::shown;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Spacing of the periods of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// One row per day.
    Daily,
    /// One row per week.
    Weekly,
    /// One row per calendar month, dated by its first day (`2024-01-01, 2024-02-01, …`) or
    /// by its last day (`2024-01-31, 2024-02-29, …`).
    Monthly,
}

impl Frequency {
    /// Days between consecutive periods (30 for months, which vary: use
    /// [`Frequency::period_index`] and [`Frequency::period_date`] for calendar arithmetic).
    pub fn days(self) -> i64 {
        match self {
            Frequency::Daily => 1,
            Frequency::Weekly => 7,
            Frequency::Monthly => 30,
        }
    }
    /// Periods per year (365.25 days; 12 months).
    pub fn periods_per_year(self) -> f64 {
        match self {
            Frequency::Monthly => 12.0,
            _ => 365.25 / self.days() as f64,
        }
    }
    /// The name used in messages and outputs (`daily`, `weekly`, `monthly`).
    pub fn name(self) -> &'static str {
        match self {
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
        }
    }
    /// Index of the period that contains `date`, counted from the period dated `first` (0);
    /// negative before it. A weekly period is `[start, start + 7 days)`; a monthly period is
    /// the calendar month of its date (whether dated by its first or its last day).
    pub fn period_index(self, first: NaiveDate, date: NaiveDate) -> i64 {
        match self {
            Frequency::Monthly => {
                use chrono::Datelike;
                let m = |d: NaiveDate| d.year() as i64 * 12 + d.month0() as i64;
                m(date) - m(first)
            }
            _ => (date - first).num_days().div_euclid(self.days()),
        }
    }
    /// The date of period `k` on the grid of `first` (months keep `first`'s anchor: the first
    /// or the last day of the month).
    pub fn period_date(self, first: NaiveDate, k: i64) -> NaiveDate {
        match self {
            Frequency::Monthly => {
                use chrono::Datelike;
                let total = first.year() as i64 * 12 + first.month0() as i64 + k;
                let (y, m) = (total.div_euclid(12) as i32, total.rem_euclid(12) as u32 + 1);
                let start = NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(first);
                if first.day() != 1 && is_month_end(first) {
                    last_of_month(start)
                } else {
                    start
                }
            }
            _ => first + chrono::Duration::days(k * self.days()),
        }
    }
}

/// Whether `d` is the last day of its month.
pub fn is_month_end(d: NaiveDate) -> bool {
    d.succ_opt().is_some_and(|n| {
        use chrono::Datelike;
        n.day() == 1
    })
}

/// The last day of `d`'s month.
pub fn last_of_month(d: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|n| n.pred_opt())
        .unwrap_or(d)
}

/// A CSV table as read: header, raw cells, and the parsed, checked date column.
#[derive(Debug, Clone)]
pub struct Table {
    /// The file it came from.
    pub path: PathBuf,
    /// Column names in file order.
    pub headers: Vec<String>,
    /// Raw cells, one vector per column, in file order.
    pub cells: Vec<Vec<String>>,
    /// The name of the date column.
    pub date_column: String,
    /// Parsed dates.
    pub dates: Vec<NaiveDate>,
    /// Detected frequency.
    pub frequency: Frequency,
    index: HashMap<String, usize>,
    origin: Option<Origin>,
}

/// Where the cells of a derived table (pivoted from long rows, or summed into weeks) came from,
/// so that errors still name the line and column of the file as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Per column: the column of the file it came from (`spend` for `Search.spend`).
    pub columns: Vec<String>,
    /// Per column: a note added to error messages (`campaign 'Search'`), or empty.
    pub notes: Vec<String>,
    /// Per column and row: the 1-based line of the file the cell came from (for a week, the
    /// first missing or the first day's cell); `None` for a cell that no line holds (a filled
    /// missing date × campaign combination).
    pub lines: Vec<Vec<Option<usize>>>,
}

/// Parses an ISO date (`YYYY-MM-DD`; a trailing time part is ignored).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let d = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()
}

impl Table {
    /// The map from column name to position; `duplicate` makes the error for a repeated name.
    fn column_index(
        headers: &[String],
        duplicate: impl Fn(&str) -> MmmError,
    ) -> Result<HashMap<String, usize>> {
        let mut index = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            if index.insert(h.clone(), i).is_some() {
                return Err(duplicate(h));
            }
        }
        Ok(index)
    }

    /// Builds the table and parses its date column (checked as a time index when `time_index`);
    /// `duplicate` makes the error for a column the header names twice. The data layer reads
    /// files into tables through this (`mmm_data::table`).
    pub fn assemble(
        path: &Path,
        headers: Vec<String>,
        cells: Vec<Vec<String>>,
        date_column: &str,
        origin: Option<Origin>,
        time_index: bool,
        duplicate: impl Fn(&str) -> MmmError,
    ) -> Result<Table> {
        let index = Self::column_index(&headers, duplicate)?;
        let mut t = Table {
            path: path.to_path_buf(),
            headers,
            cells,
            date_column: date_column.to_string(),
            dates: vec![],
            frequency: Frequency::Weekly,
            index,
            origin,
        };
        t.parse_dates(time_index)?;
        Ok(t)
    }

    /// A table built in memory (pivoted or aggregated data): `cells` hold one vector per
    /// header, the date column as ISO dates, which are checked as for a file (sorted, unique,
    /// regular). `origin` maps cells back to the file they came from, for error messages.
    pub fn from_parts(
        path: &Path,
        headers: Vec<String>,
        cells: Vec<Vec<String>>,
        date_column: &str,
        origin: Option<Origin>,
    ) -> Result<Table> {
        Self::assemble(path, headers, cells, date_column, origin, true, |h| {
            MmmError::data(
                path,
                None,
                Some(h),
                "two columns of the prepared data have this name",
            )
        })
    }

    /// Where cells came from, for a table built in memory (`None` for a table read as is).
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    /// The 1-based line of the file that the cell of column `name` in data row `row` (0-based)
    /// came from; `None` for an unknown column or a cell no line holds.
    pub fn source_line(&self, name: &str, row: usize) -> Option<usize> {
        let i = *self.index.get(name)?;
        match &self.origin {
            None => Some(row + 2),
            Some(o) => o.lines.get(i).and_then(|l| l.get(row)).copied().flatten(),
        }
    }

    /// The error for the cell of column `name` in data row `row` (0-based): the file's line
    /// and column it came from, with a note naming the derived column when it differs.
    pub fn cell_error(&self, name: &str, row: usize, message: impl Into<String>) -> MmmError {
        let message = message.into();
        let i = match self.index.get(name) {
            Some(i) => *i,
            None => return MmmError::data(&self.path, None, Some(name), message),
        };
        match &self.origin {
            None => MmmError::data(&self.path, Some(row + 2), Some(name), message),
            Some(o) => {
                let line = o.lines.get(i).and_then(|l| l.get(row)).copied().flatten();
                let column = o.columns.get(i).map(String::as_str).unwrap_or(name);
                let mut context = vec![];
                if let Some(n) = o.notes.get(i).filter(|n| !n.is_empty()) {
                    context.push(n.clone());
                }
                if column != name {
                    context.push(format!("prepared column '{name}'"));
                }
                if line.is_none() {
                    context.push(format!(
                        "period {}",
                        self.dates
                            .get(row)
                            .map(|d| d.to_string())
                            .unwrap_or_default()
                    ));
                }
                let message = if context.is_empty() {
                    message
                } else {
                    format!("{message} ({})", context.join(", "))
                };
                MmmError::data(&self.path, line, Some(column), message)
            }
        }
    }

    /// Replaces the cells of column `name` (cleaning writes its values back as text, which
    /// round-trips every `f64` exactly).
    pub fn set_column(&mut self, name: &str, values: &[f64]) -> Result<()> {
        let i = self.col_index(name)?;
        self.cells[i] = values.iter().map(|v| format!("{v}")).collect();
        Ok(())
    }

    /// Parses a column with empty cells as `None`; a non-numeric cell is an error naming its
    /// line.
    pub fn numeric_with_missing(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let i = self.col_index(name)?;
        self.cells[i]
            .iter()
            .enumerate()
            .map(|(r, s)| {
                let s = s.trim();
                if s.is_empty() {
                    return Ok(None);
                }
                match s.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(Some(v)),
                    _ => Err(self.cell_error(
                        name,
                        r,
                        format!("'{}' is not a finite number", shown(s)),
                    )),
                }
            })
            .collect()
    }

    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.dates.len()
    }

    fn col_index(&self, name: &str) -> Result<usize> {
        self.index.get(name).copied().ok_or_else(|| {
            MmmError::data(
                &self.path,
                None,
                Some(name),
                format!(
                    "no such column; {}{}",
                    crate::input::describe_header(&self.headers),
                    crate::csv_hints::column_hint(name, &self.headers)
                ),
            )
        })
    }

    /// Whether the table has a column.
    pub fn has_column(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Raw cells of a column.
    pub fn raw(&self, name: &str) -> Result<&[String]> {
        let i = self.col_index(name)?;
        Ok(&self.cells[i])
    }

    /// A numeric column; an empty or non-numeric cell is an error naming its line.
    pub fn numeric(&self, name: &str) -> Result<Vec<f64>> {
        let i = self.col_index(name)?;
        self.cells[i]
            .iter()
            .enumerate()
            .map(|(r, s)| {
                let s = s.trim();
                if s.is_empty() {
                    return Err(self.cell_error(
                        name,
                        r,
                        "empty cell; expected a number (missing values need an explicit cleaning rule: data.cleaning.missing)",
                    ));
                }
                match s.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(v),
                    _ => Err(self.cell_error(name, r, format!("'{}' is not a finite number", shown(s)))),
                }
            })
            .collect()
    }

    /// Checks that a column has no negative value (spend).
    pub fn check_non_negative(&self, name: &str, values: &[f64]) -> Result<()> {
        if let Some(r) = values.iter().position(|v| *v < 0.0) {
            return Err(self.cell_error(
                name,
                r,
                format!(
                    "negative spend {}; spend must be ≥ 0 (or set data.cleaning.negative_spend to \"clip_to_zero\")",
                    values[r]
                ),
            ));
        }
        Ok(())
    }

    /// Checks that a column varies (a constant regressor cannot be estimated).
    pub fn check_not_constant(&self, name: &str, values: &[f64], what: &str) -> Result<()> {
        if let Some(first) = values.first() {
            if values.iter().all(|v| v == first) {
                return Err(MmmError::data(
                    &self.path,
                    None,
                    Some(name),
                    format!("{what} column '{name}' is constant ({first}) and cannot be estimated"),
                ));
            }
        }
        Ok(())
    }

    fn parse_dates(&mut self, time_index: bool) -> Result<()> {
        let i = self.col_index(&self.date_column.clone())?;
        let col = &self.cells[i];
        let mut dates = Vec::with_capacity(col.len());
        for (r, s) in col.iter().enumerate() {
            let d = parse_date(s).ok_or_else(|| {
                MmmError::data(
                    &self.path,
                    Some(r + 2),
                    Some(&self.date_column),
                    format!("'{}' is not an ISO date (YYYY-MM-DD)", shown(s)),
                )
            })?;
            dates.push(d);
        }
        if !time_index {
            self.dates = dates;
            return Ok(());
        }
        if dates.len() < 2 {
            return Err(MmmError::data(
                &self.path,
                None,
                None,
                format!("{} data rows; at least 2 are needed", dates.len()),
            ));
        }
        for r in 1..dates.len() {
            if dates[r] == dates[r - 1] {
                return Err(MmmError::data(
                    &self.path,
                    Some(r + 2),
                    Some(&self.date_column),
                    format!("duplicate date {}", dates[r]),
                ));
            }
            if dates[r] < dates[r - 1] {
                return Err(MmmError::data(
                    &self.path,
                    Some(r + 2),
                    Some(&self.date_column),
                    format!(
                        "dates are not sorted: {} comes after {}",
                        dates[r],
                        dates[r - 1]
                    ),
                ));
            }
        }
        let step = (dates[1] - dates[0]).num_days();
        let freq = match step {
            1 => Frequency::Daily,
            7 => Frequency::Weekly,
            28..=31 => Frequency::Monthly,
            _ => {
                return Err(MmmError::data(
                    &self.path,
                    Some(3),
                    Some(&self.date_column),
                    format!("dates {step} days apart; expected daily (1), weekly (7) or monthly (month starts or month ends) data"),
                ))
            }
        };
        if freq == Frequency::Monthly {
            use chrono::Datelike;
            let starts = dates[0].day() == 1;
            if !starts && !is_month_end(dates[0]) {
                return Err(MmmError::data(
                    &self.path,
                    Some(2),
                    Some(&self.date_column),
                    format!("{} is neither the first nor the last day of its month; monthly data is dated by month starts or by month ends", dates[0]),
                ));
            }
            for r in 1..dates.len() {
                let want = Frequency::Monthly.period_date(dates[0], r as i64);
                if dates[r] != want {
                    return Err(MmmError::data(
                        &self.path,
                        Some(r + 2),
                        Some(&self.date_column),
                        format!(
                            "irregular spacing: {} follows {}, expected {want} (monthly data, month {})",
                            dates[r],
                            dates[r - 1],
                            if starts { "starts" } else { "ends" }
                        ),
                    ));
                }
            }
            self.dates = dates;
            self.frequency = freq;
            return Ok(());
        }
        for r in 1..dates.len() {
            let d = (dates[r] - dates[r - 1]).num_days();
            if d != step {
                return Err(MmmError::data(
                    &self.path,
                    Some(r + 2),
                    Some(&self.date_column),
                    format!(
                        "irregular spacing: {} is {d} days after {}, expected {step} ({:?} data)",
                        dates[r],
                        dates[r - 1],
                        freq
                    ),
                ));
            }
        }
        self.dates = dates;
        self.frequency = freq;
        Ok(())
    }
}
