//! What preparing the data did (results.json `data_quality`), and the data layouts it names:
//! the report types of the data layer that results carry.

use crate::data::Frequency;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Layout of the data file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    /// One row per period, one column per series.
    #[default]
    Wide,
    /// One row per date and campaign.
    Long,
}

impl DataFormat {
    /// Whether this is the default wide format (not written back when serializing a spec).
    pub fn is_wide(&self) -> bool {
        *self == DataFormat::Wide
    }
}

/// Periods to sum daily rows into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// ISO weeks, Monday to Sunday, dated by their Monday.
    Week,
}

/// What preparing the data did, as reported in `results.json` `data_quality`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataQuality {
    /// Layout of the file.
    pub format: DataFormat,
    /// Data rows of the file.
    pub rows_read: usize,
    /// Campaigns of a long file, sorted (their columns are `<campaign>.<metric>`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub campaigns: Vec<String>,
    /// Frequency of the file's dates (before aggregation).
    pub source_frequency: Frequency,
    /// Periods as modeled (after aggregation).
    pub periods: usize,
    /// Aggregation, when the spec asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<AggregateSummary>,
    /// Every rule applied, per column, with the number of cells it changed.
    pub changes: Vec<Change>,
    /// The geos of a panel (`data.geo`), in order of first appearance; empty for national data.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub geos: Vec<String>,
}

/// What aggregation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AggregateSummary {
    /// The periods summed into (`week`).
    pub to: Aggregate,
    /// Days summed into the modeled periods.
    pub days_used: usize,
    /// Days of dropped partial weeks.
    pub days_dropped: usize,
    /// Partial first or last weeks dropped.
    pub partial_weeks_dropped: usize,
    /// Partial first or last weeks kept.
    pub partial_weeks_kept: usize,
}

/// One rule applied to one column, as reported in `data_quality.changes`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The column (a prepared column name such as `Search.spend`; `<campaign>.*` for the rows
    /// of a campaign; the date column for dates and weeks).
    pub column: String,
    /// The rule: `missing_row`, `missing_date`, `missing_zero`, `missing_forward_fill`,
    /// `missing_interpolate`, `negative_clip_to_zero`, `winsorize`, `iqr`,
    /// `partial_week_dropped`, `partial_week_kept`.
    pub rule: String,
    /// Number of cells (rows, dates or weeks) it changed.
    pub count: usize,
    /// Lower cap of an outlier rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    /// Upper cap of an outlier rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
}

impl Change {
    /// A change without caps.
    pub fn new(column: impl Into<String>, rule: impl Into<String>, count: usize) -> Change {
        Change {
            column: column.into(),
            rule: rule.into(),
            count,
            lower: None,
            upper: None,
        }
    }
}
