//! Preparing the data for modeling: reading the file in its layout (wide or long), cleaning
//! (see [`crate::cleaning`]) and aggregating daily rows into weeks. What was done is counted in
//! a [`DataQuality`] report (`results.json` `data_quality`).
//!
//! # Long format
//! One row per date and campaign (`date`, `campaign_name`, `spend`, `impressions`, `clicks`,
//! `conversions`, `revenue`; names configurable in `data.columns`). Every column other than the
//! date and the campaign is a metric, pivoted to one column per campaign and metric named
//! `<campaign>.<metric>` (`Search_Brand.spend`). The dates form a regular grid from the first
//! to the last date (daily or weekly, from the smallest gap); a date × campaign combination
//! without a row gets 0 in every metric (counted as `missing_row` per campaign, and a date
//! without any row as `missing_date`). Two rows for the same date and campaign are an error.
//! After cleaning, the target metric is summed over campaigns into a column named as the
//! metric (`revenue`).
//!
//! # Aggregation
//! `data.aggregate: "week"` sums daily rows into ISO weeks (Monday to Sunday), dated by their
//! Monday. A first or last week with fewer than 7 days is dropped (`partial_weeks: "drop"`,
//! the default) or kept as the sum of the days present (`"keep"`); either way each is counted
//! (`partial_week_dropped` / `partial_week_kept`). Columns that are not numeric take the value
//! of the week's first day; a week with an empty cell stays empty (an error if the column is
//! used, naming the line of the first empty day).

use crate::cleaning::Roles;
use crate::panel::Panel;
use crate::spec::{DataSpec, LoadedSpec};
use crate::table::ReadTable;
use chrono::{Datelike, Duration, NaiveDate};
use mmm_core::data::{Frequency, Origin, Table};
use mmm_core::error::{MmmError, Result, SpecIssue};
use mmm_core::quality::{Aggregate, AggregateSummary, Change, DataFormat, DataQuality};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What to do with a partial first or last week.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartialWeeks {
    /// Drop it (its days are not modeled).
    #[default]
    Drop,
    /// Keep it, summed over the days present.
    Keep,
}

/// Column names of the long format, and the metric names that find a channel's KPI columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LongColumns {
    /// The campaign column (default `campaign_name`).
    #[serde(default = "d_campaign")]
    pub campaign: String,
    /// The spend metric (default `spend`).
    #[serde(default = "d_spend")]
    pub spend: String,
    /// The impressions metric (default `impressions`).
    #[serde(default = "d_impressions")]
    pub impressions: String,
    /// The clicks metric (default `clicks`).
    #[serde(default = "d_clicks")]
    pub clicks: String,
    /// The conversions metric (default `conversions`).
    #[serde(default = "d_conversions")]
    pub conversions: String,
    /// The revenue metric (default `revenue`).
    #[serde(default = "d_revenue")]
    pub revenue: String,
}

fn d_campaign() -> String {
    "campaign_name".into()
}
fn d_spend() -> String {
    "spend".into()
}
fn d_impressions() -> String {
    "impressions".into()
}
fn d_clicks() -> String {
    "clicks".into()
}
fn d_conversions() -> String {
    "conversions".into()
}
fn d_revenue() -> String {
    "revenue".into()
}

impl Default for LongColumns {
    fn default() -> Self {
        LongColumns {
            campaign: d_campaign(),
            spend: d_spend(),
            impressions: d_impressions(),
            clicks: d_clicks(),
            conversions: d_conversions(),
            revenue: d_revenue(),
        }
    }
}

/// Spec checks of the data section that need no data, by JSON pointer.
pub fn data_spec_issues(d: &DataSpec) -> Vec<SpecIssue> {
    let mut issues = Vec::new();
    if d.partial_weeks.is_some() && d.aggregate.is_none() {
        issues.push(SpecIssue {
            pointer: "/data/partial_weeks".into(),
            message: "partial_weeks applies only with \"aggregate\": \"week\"".into(),
        });
    }
    if let Some(c) = &d.columns {
        let mut seen = BTreeSet::new();
        for (field, v) in [
            ("campaign", &c.campaign),
            ("spend", &c.spend),
            ("impressions", &c.impressions),
            ("clicks", &c.clicks),
            ("conversions", &c.conversions),
            ("revenue", &c.revenue),
        ] {
            if v.trim().is_empty() {
                issues.push(SpecIssue {
                    pointer: format!("/data/columns/{field}"),
                    message: "a column name must not be empty".into(),
                });
            } else if !seen.insert(v.clone()) {
                issues.push(SpecIssue {
                    pointer: format!("/data/columns/{field}"),
                    message: format!("column '{v}' is named twice"),
                });
            }
        }
        if d.format == DataFormat::Long && c.campaign == d.date {
            issues.push(SpecIssue {
                pointer: "/data/columns/campaign".into(),
                message: "the campaign column must differ from the date column".into(),
            });
        }
    }
    if let Some(c) = &d.cleaning {
        issues.extend(crate::cleaning::cleaning_issues(c, "/data/cleaning"));
    }
    issues
}

/// Reads, pivots, cleans and aggregates the spec's data; returns the table to model and what
/// was done to it.
pub fn prepare(loaded: &LoadedSpec) -> Result<(Table, DataQuality)> {
    prepare_panel(loaded).map(|(t, q, _)| (t, q))
}

/// [`prepare`], also returning the geo panel when the spec names a geo column (`data.geo`):
/// each geo's table is cleaned and aggregated like national data, and the national table is
/// built from them (see [`crate::panel`]).
pub fn prepare_panel(loaded: &LoadedSpec) -> Result<(Table, DataQuality, Option<Panel>)> {
    let spec = &loaded.spec;
    let d = &spec.data;
    // regular files inside --data-root, before anything is read
    crate::input::check_spec_files(loaded)?;
    if d.population.is_some() && d.geo.is_none() {
        return Err(MmmError::param(
            "/data/population",
            "a population column needs a geo column (data.geo)",
        ));
    }
    let path = loaded.data_path();
    let cols = d.long_columns();
    // One table per geo, each with its own changes; national data is the one-table case.
    let (mut tables, mut changes, rows_read, campaigns, geos) = match (&d.geo, d.format) {
        (None, DataFormat::Wide) => {
            let t = Table::read(&path, &d.date)?;
            let n = t.n_rows();
            (vec![t], vec![vec![]], n, vec![], None)
        }
        (None, DataFormat::Long) => {
            let (t, n, campaigns, changes) = pivot_long(&path, &d.date, &cols.campaign)?;
            (vec![t], vec![changes], n, campaigns, None)
        }
        (Some(geo), DataFormat::Wide) => {
            let p = crate::panel::read_panel(&path, &d.date, geo, d.population.as_deref())?;
            let changes = vec![vec![]; p.tables.len()];
            (
                p.tables,
                changes,
                p.rows_read,
                vec![],
                Some((p.geos, p.population)),
            )
        }
        (Some(geo), DataFormat::Long) => {
            let (p, campaigns, changes) = crate::panel::read_long_panel(
                &path,
                &d.date,
                geo,
                d.population.as_deref(),
                &cols.campaign,
            )?;
            let geos = Some((p.geos, p.population));
            (p.tables, changes, p.rows_read, campaigns, geos)
        }
    };
    let source_frequency = tables[0].frequency;
    let roles = Roles {
        media: spec.media.iter().map(|m| m.spend.clone()).collect(),
        target: match d.format {
            DataFormat::Wide => vec![d.target.clone()],
            DataFormat::Long => campaigns
                .iter()
                .map(|c| format!("{c}.{}", d.target))
                .collect(),
        },
    };
    // Long data and aggregated data are cleaned at their own granularity (each geo's series on
    // its own); wide data without a cleaning section keeps its checks in the modeling step,
    // exactly as before.
    if d.cleaning.is_some() || d.format == DataFormat::Long || d.aggregate.is_some() {
        let default = crate::cleaning::CleaningSpec::default();
        let rules = d.cleaning.as_ref().unwrap_or(&default);
        for (t, c) in tables.iter_mut().zip(&mut changes) {
            c.extend(crate::cleaning::clean(t, rules, &roles, &loaded.file)?);
        }
    }
    if d.format == DataFormat::Long {
        tables = tables
            .into_iter()
            .map(|t| add_total(t, &d.target, &roles.target))
            .collect::<Result<Vec<_>>>()?;
    }
    let mut aggregate = None;
    if let Some(a) = d.aggregate {
        for (t, c) in tables.iter_mut().zip(&mut changes) {
            let (weekly, summary, ch) = aggregate_weeks(t, d.partial_weeks.unwrap_or_default())?;
            *t = weekly;
            aggregate = Some(AggregateSummary { to: a, ..summary });
            c.extend(ch);
        }
    }
    // one entry per column and rule, summed over geos
    let mut per_table = changes.into_iter();
    let mut changes = per_table.next().unwrap_or_default();
    for c in per_table {
        merge_changes(&mut changes, c);
    }
    let (table, panel) = match geos {
        None => (tables.remove(0), None),
        Some((geos, population)) => {
            let panel = Panel {
                geos,
                population,
                tables,
                rows_read,
            };
            (panel.national(&national_columns(spec))?, Some(panel))
        }
    };
    let quality = DataQuality {
        format: d.format,
        rows_read,
        campaigns,
        source_frequency,
        periods: table.n_rows(),
        aggregate,
        changes,
        geos: panel.as_ref().map(|p| p.geos.clone()).unwrap_or_default(),
    };
    Ok((table, quality, panel))
}

/// How the spec's columns combine over the geos of a panel (see [`crate::panel`]).
fn national_columns(spec: &crate::spec::ExperimentSpec) -> crate::panel::NationalColumns {
    let d = &spec.data;
    let controls: Vec<String> = spec
        .controls
        .iter()
        .map(|c| c.column().to_string())
        .collect();
    crate::panel::NationalColumns {
        required: std::iter::once(d.target.clone())
            .chain(spec.media.iter().map(|m| m.spend.clone()))
            .chain(controls.iter().cloned())
            .collect(),
        averaged: controls
            .iter()
            .cloned()
            .chain(match &d.revenue_per_kpi {
                Some(crate::spec::RevenuePerKpi::Column(c)) => Some(c.clone()),
                _ => None,
            })
            .collect(),
        categorical: spec
            .controls
            .iter()
            .filter_map(|c| match c {
                crate::spec::ControlSpec::Detailed(o) if o.categorical => Some(o.column.clone()),
                _ => None,
            })
            .collect(),
    }
}

/// Adds a geo's fills, cleaning and aggregation counts to the panel's (one entry per column and
/// rule).
fn merge_changes(into: &mut Vec<Change>, from: Vec<Change>) {
    for c in from {
        match into
            .iter_mut()
            .find(|e| e.column == c.column && e.rule == c.rule)
        {
            Some(e) => e.count += c.count,
            None => into.push(c),
        }
    }
}

/// Pivots a long file to one column per campaign and metric (`<campaign>.<metric>`); returns
/// the table, the number of data rows read, the campaigns (sorted) and the missing rows filled.
pub fn pivot_long(
    path: &Path,
    date_column: &str,
    campaign_column: &str,
) -> Result<(Table, usize, Vec<String>, Vec<Change>)> {
    let raw = Table::read_unchecked(path, date_column)?;
    let rows: Vec<usize> = (0..raw.n_rows()).collect();
    let long = LongRows::new(&raw, date_column, campaign_column, &[])?;
    let (table, changes) = long.pivot(&rows, "")?;
    Ok((table, raw.n_rows(), long.campaigns, changes))
}

/// The campaigns, metrics and date grid of a long file, for pivoting all of its rows or one
/// geo's (see [`LongRows::pivot`]).
pub struct LongRows<'a> {
    raw: &'a Table,
    date_column: String,
    campaign_column: String,
    /// Campaign names, sorted.
    pub campaigns: Vec<String>,
    metrics: Vec<(usize, String)>,
    first: NaiveDate,
    step: i64,
    periods: usize,
}

impl<'a> LongRows<'a> {
    /// Reads the campaigns, the metric columns (every column but the date, the campaign and
    /// `exclude`) and the regular date grid of all rows of `raw`.
    pub fn new(
        raw: &'a Table,
        date_column: &str,
        campaign_column: &str,
        exclude: &[&str],
    ) -> Result<Self> {
        let path = raw.path.as_path();
        let camp = raw.raw(campaign_column)?;
        if raw.n_rows() == 0 {
            return Err(MmmError::data(path, None, None, "no data rows"));
        }
        let metrics: Vec<(usize, String)> = raw
            .headers
            .iter()
            .enumerate()
            .filter(|(_, h)| {
                *h != date_column && *h != campaign_column && !exclude.contains(&h.as_str())
            })
            .map(|(i, h)| (i, h.clone()))
            .collect();
        if metrics.is_empty() {
            return Err(MmmError::data(
                path,
                Some(1),
                None,
                format!("no metric columns besides '{date_column}' and '{campaign_column}'"),
            ));
        }
        let mut campaigns = BTreeSet::new();
        for (r, c) in camp.iter().enumerate() {
            let c = c.trim();
            if c.is_empty() {
                return Err(MmmError::data(
                    path,
                    Some(r + 2),
                    Some(campaign_column),
                    "empty campaign name",
                ));
            }
            campaigns.insert(c.to_string());
        }
        let campaigns: Vec<String> = campaigns.into_iter().collect();
        let distinct: BTreeSet<NaiveDate> = raw.dates.iter().copied().collect();
        let distinct: Vec<NaiveDate> = distinct.into_iter().collect();
        if distinct.len() < 2 {
            return Err(MmmError::data(
                path,
                None,
                Some(date_column),
                format!("{} distinct dates; at least 2 are needed", distinct.len()),
            ));
        }
        let step = distinct
            .windows(2)
            .map(|w| (w[1] - w[0]).num_days())
            .min()
            .unwrap_or(1);
        if step != 1 && step != 7 {
            return Err(MmmError::data(
                path,
                None,
                Some(date_column),
                format!("dates at least {step} days apart; expected daily (1) or weekly (7) data"),
            ));
        }
        let first = distinct[0];
        let last = distinct[distinct.len() - 1];
        let periods = ((last - first).num_days() / step + 1) as usize;
        mmm_core::input::check_pivot_size(
            path,
            periods,
            campaigns.len(),
            metrics.len(),
            raw.n_rows(),
        )?;
        Ok(LongRows {
            raw,
            date_column: date_column.to_string(),
            campaign_column: campaign_column.to_string(),
            campaigns,
            metrics,
            first,
            step,
            periods,
        })
    }

    /// Pivots `rows` of the file (all of them, or one geo's) onto the whole file's campaigns and
    /// date grid; `note` (e.g. `geo 'north'`) is added to error messages of its cells.
    pub fn pivot(&self, rows: &[usize], note: &str) -> Result<(Table, Vec<Change>)> {
        let raw = self.raw;
        let path = raw.path.as_path();
        let (date_column, campaign_column) = (&self.date_column, &self.campaign_column);
        let camp = raw.raw(campaign_column)?;
        let (first, step, n) = (self.first, self.step, self.periods);
        let campaigns = &self.campaigns;
        // (date index, campaign index) → source row
        let cidx: BTreeMap<&str, usize> = campaigns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        let mut at: Vec<Vec<Option<usize>>> = vec![vec![None; campaigns.len()]; n];
        let within = if note.is_empty() {
            String::new()
        } else {
            format!(" in {note}")
        };
        for &r in rows {
            let date = raw.dates[r];
            let offset = (date - first).num_days();
            if offset % step != 0 {
                return Err(MmmError::data(
                    path,
                    Some(r + 2),
                    Some(date_column),
                    format!("{date} is off the {step}-day grid that starts on {first}"),
                ));
            }
            let t = (offset / step) as usize;
            let c = cidx[camp[r].trim()];
            if let Some(prev) = at[t][c] {
                return Err(MmmError::data(
                    path,
                    Some(r + 2),
                    Some(campaign_column),
                    format!(
                        "a second row for date {date} and campaign '{}'{within} (the first is line {})",
                        campaigns[c],
                        prev + 2
                    ),
                ));
            }
            at[t][c] = Some(r);
        }
        let mut headers = vec![date_column.to_string()];
        let mut cells = vec![(0..n)
            .map(|t| (first + Duration::days(step * t as i64)).to_string())
            .collect::<Vec<_>>()];
        let mut origin = Origin {
            columns: vec![date_column.to_string()],
            notes: vec![note.to_string()],
            lines: vec![vec![None; n]],
        };
        let mut changes = Vec::new();
        let missing_dates = at
            .iter()
            .filter(|row| row.iter().all(Option::is_none))
            .count();
        if missing_dates > 0 {
            changes.push(Change::new(date_column, "missing_date", missing_dates));
        }
        for (c, name) in campaigns.iter().enumerate() {
            let missing = at.iter().filter(|row| row[c].is_none()).count();
            if missing > 0 {
                changes.push(Change::new(format!("{name}.*"), "missing_row", missing));
            }
            for (i, m) in &self.metrics {
                headers.push(format!("{name}.{m}"));
                cells.push(
                    at.iter()
                        .map(|row| match row[c] {
                            Some(r) => raw.cells[*i][r].clone(),
                            None => "0".to_string(),
                        })
                        .collect(),
                );
                origin.columns.push(m.clone());
                origin.notes.push(if note.is_empty() {
                    format!("campaign '{name}'")
                } else {
                    format!("{note}, campaign '{name}'")
                });
                origin
                    .lines
                    .push(at.iter().map(|row| row[c].map(|r| r + 2)).collect());
            }
        }
        let table = Table::from_parts(path, headers, cells, date_column, Some(origin))?;
        Ok((table, changes))
    }
}

/// Appends the target as the sum of its campaign columns.
fn add_total(table: Table, target: &str, parts: &[String]) -> Result<Table> {
    if table.has_column(target) {
        return Err(MmmError::data(
            &table.path,
            None,
            Some(target),
            "the target's total column would clash with a prepared column of the same name",
        ));
    }
    if parts.iter().all(|p| !table.has_column(p)) {
        return Err(MmmError::data(
            &table.path,
            Some(1),
            Some(target),
            format!(
                "no such metric column for the target; the metrics are: {}",
                metric_names(&table).join(", ")
            ),
        ));
    }
    let n = table.n_rows();
    let mut total = vec![0.0; n];
    for p in parts {
        for (t, v) in table.numeric(p)?.iter().enumerate() {
            total[t] += v;
        }
    }
    let mut headers = table.headers.clone();
    let mut cells = table.cells.clone();
    let mut origin = table
        .origin()
        .cloned()
        .unwrap_or_else(|| identity_origin(&table));
    headers.push(target.to_string());
    cells.push(total.iter().map(|v| format!("{v}")).collect());
    origin.columns.push(target.to_string());
    origin.notes.push("sum over campaigns".into());
    origin.lines.push(vec![None; n]);
    Table::from_parts(
        &table.path,
        headers,
        cells,
        &table.date_column,
        Some(origin),
    )
}

fn metric_names(table: &Table) -> Vec<String> {
    let set: BTreeSet<String> = table
        .origin()
        .map(|o| o.columns.iter().skip(1).cloned().collect())
        .unwrap_or_default();
    set.into_iter().collect()
}

/// The origin of a table read as is: every cell from its own line and column.
fn identity_origin(table: &Table) -> Origin {
    let n = table.n_rows();
    Origin {
        columns: table.headers.clone(),
        notes: vec![String::new(); table.headers.len()],
        lines: vec![(0..n).map(|r| Some(r + 2)).collect(); table.headers.len()],
    }
}

/// Sums a daily table into ISO weeks (Monday to Sunday).
pub fn aggregate_weeks(
    table: &Table,
    partial: PartialWeeks,
) -> Result<(Table, AggregateSummary, Vec<Change>)> {
    if table.frequency != Frequency::Daily {
        return Err(MmmError::data(
            &table.path,
            None,
            Some(&table.date_column),
            "data.aggregate \"week\" needs daily data, but the dates are weekly",
        ));
    }
    let src = table
        .origin()
        .cloned()
        .unwrap_or_else(|| identity_origin(table));
    // consecutive runs of rows in the same ISO week
    let mut weeks: Vec<(NaiveDate, Vec<usize>)> = Vec::new();
    for (r, d) in table.dates.iter().enumerate() {
        let monday = *d - Duration::days(d.weekday().num_days_from_monday() as i64);
        match weeks.last_mut() {
            Some((m, rows)) if *m == monday => rows.push(r),
            _ => weeks.push((monday, vec![r])),
        }
    }
    let mut summary = AggregateSummary {
        to: Aggregate::Week,
        days_used: 0,
        days_dropped: 0,
        partial_weeks_dropped: 0,
        partial_weeks_kept: 0,
    };
    let mut kept = Vec::new();
    for (monday, rows) in weeks {
        if rows.len() < 7 {
            match partial {
                PartialWeeks::Drop => {
                    summary.partial_weeks_dropped += 1;
                    summary.days_dropped += rows.len();
                    continue;
                }
                PartialWeeks::Keep => summary.partial_weeks_kept += 1,
            }
        }
        summary.days_used += rows.len();
        kept.push((monday, rows));
    }
    let mut changes = Vec::new();
    if summary.partial_weeks_dropped > 0 {
        changes.push(Change::new(
            &table.date_column,
            "partial_week_dropped",
            summary.partial_weeks_dropped,
        ));
    }
    if summary.partial_weeks_kept > 0 {
        changes.push(Change::new(
            &table.date_column,
            "partial_week_kept",
            summary.partial_weeks_kept,
        ));
    }
    if kept.len() < 2 {
        return Err(MmmError::data(
            &table.path,
            None,
            Some(&table.date_column),
            format!(
                "{} full weeks after aggregation; at least 2 are needed",
                kept.len()
            ),
        ));
    }
    let mut cells = Vec::with_capacity(table.headers.len());
    let mut lines = Vec::with_capacity(table.headers.len());
    for (i, h) in table.headers.iter().enumerate() {
        if *h == table.date_column {
            cells.push(kept.iter().map(|(m, _)| m.to_string()).collect());
            lines.push(kept.iter().map(|(_, rows)| src.lines[i][rows[0]]).collect());
            continue;
        }
        let col = &table.cells[i];
        let numeric = col
            .iter()
            .all(|s| s.trim().is_empty() || s.trim().parse::<f64>().is_ok_and(f64::is_finite));
        let mut out = Vec::with_capacity(kept.len());
        let mut out_lines = Vec::with_capacity(kept.len());
        for (_, rows) in &kept {
            let empty = rows.iter().find(|&&r| col[r].trim().is_empty());
            match (numeric, empty) {
                (true, None) => {
                    let s: f64 = rows
                        .iter()
                        .map(|&r| col[r].trim().parse::<f64>().unwrap_or(0.0))
                        .sum();
                    out.push(format!("{s}"));
                    out_lines.push(src.lines[i][rows[0]]);
                }
                (true, Some(&r)) => {
                    out.push(String::new());
                    out_lines.push(src.lines[i][r]);
                }
                (false, _) => {
                    out.push(col[rows[0]].clone());
                    out_lines.push(src.lines[i][rows[0]]);
                }
            }
        }
        cells.push(out);
        lines.push(out_lines);
    }
    let origin = Origin {
        columns: src.columns.clone(),
        notes: src.notes.clone(),
        lines,
    };
    let t = Table::from_parts(
        &table.path,
        table.headers.clone(),
        cells,
        &table.date_column,
        Some(origin),
    )?;
    Ok((t, summary, changes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleaning::{clean, CleaningSpec};

    fn write(dir: &Path, text: &str) -> std::path::PathBuf {
        let p = dir.join("data.csv");
        std::fs::write(&p, text).unwrap();
        p
    }

    const LONG: &str = "date,campaign_name,spend,clicks
2024-01-02,B,20,2
2024-01-01,A,10,1
2024-01-01,B,30,3
2024-01-03,A,5,
2024-01-04,A,7,4
2024-01-04,B,8,5
";

    #[test]
    fn long_rows_pivot_to_campaign_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), LONG);
        let (t, rows, campaigns, changes) = pivot_long(&p, "date", "campaign_name").unwrap();
        assert_eq!(rows, 6);
        assert_eq!(campaigns, vec!["A", "B"]);
        assert_eq!(
            t.headers,
            vec!["date", "A.spend", "A.clicks", "B.spend", "B.clicks"]
        );
        assert_eq!(t.frequency, Frequency::Daily);
        assert_eq!(t.n_rows(), 4);
        assert_eq!(t.numeric("A.spend").unwrap(), vec![10.0, 0.0, 5.0, 7.0]);
        assert_eq!(t.numeric("B.spend").unwrap(), vec![30.0, 20.0, 0.0, 8.0]);
        // A has no row on 01-02, B none on 01-03: one filled row each
        assert_eq!(
            changes,
            vec![
                Change::new("A.*", "missing_row", 1),
                Change::new("B.*", "missing_row", 1)
            ]
        );
        // the empty clicks cell of A on 2024-01-03 is line 5 of the file, column 'clicks'
        let e = t.numeric("A.clicks").unwrap_err().to_string();
        assert!(e.contains("line 5") && e.contains("column 'clicks'"), "{e}");
        assert!(e.contains("campaign 'A'") && e.contains("A.clicks"), "{e}");
    }

    #[test]
    fn duplicate_and_off_grid_rows_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "date,campaign_name,spend\n2024-01-01,A,1\n2024-01-02,A,2\n2024-01-01,A,3\n",
        );
        let e = pivot_long(&p, "date", "campaign_name")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 4") && e.contains("the first is line 2"),
            "{e}"
        );
        let p = write(
            dir.path(),
            "date,campaign_name,spend\n2024-01-01,A,1\n2024-01-08,A,2\n2024-01-18,A,3\n",
        );
        let e = pivot_long(&p, "date", "campaign_name")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 4") && e.contains("off the 7-day grid"),
            "{e}"
        );
        let p = write(dir.path(), "date,spend\n2024-01-01,1\n2024-01-02,2\n");
        let e = pivot_long(&p, "date", "campaign_name")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no such column"), "{e}");
    }

    fn daily(days: usize, start: &str) -> String {
        let s = NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap();
        let mut text = String::from("date,x,label\n");
        for t in 0..days {
            text.push_str(&format!(
                "{},{},l{t}\n",
                s + Duration::days(t as i64),
                t + 1
            ));
        }
        text
    }

    #[test]
    fn days_sum_into_iso_weeks_and_partial_weeks_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        // 2024-01-03 is a Wednesday: 5 days, then two full weeks, then 2 days (Mon, Tue)
        let p = write(dir.path(), &daily(5 + 14 + 2, "2024-01-03"));
        let t = Table::read(&p, "date").unwrap();
        let (w, s, changes) = aggregate_weeks(&t, PartialWeeks::Drop).unwrap();
        assert_eq!(
            w.dates,
            vec![
                NaiveDate::from_ymd_opt(2024, 1, 8).unwrap(),
                NaiveDate::from_ymd_opt(2024, 1, 15).unwrap()
            ]
        );
        assert_eq!(w.frequency, Frequency::Weekly);
        // days 6..=12 and 13..=19 of x = 1, 2, 3, …
        assert_eq!(w.numeric("x").unwrap(), vec![63.0, 112.0]);
        assert_eq!(
            w.raw("label").unwrap(),
            &["l5".to_string(), "l12".to_string()]
        );
        assert_eq!(
            (s.partial_weeks_dropped, s.days_dropped, s.days_used),
            (2, 7, 14)
        );
        assert_eq!(
            changes,
            vec![Change::new("date", "partial_week_dropped", 2)]
        );

        let (w, s, changes) = aggregate_weeks(&t, PartialWeeks::Keep).unwrap();
        assert_eq!(
            w.numeric("x").unwrap(),
            vec![15.0, 63.0, 112.0, 20.0 + 21.0]
        );
        assert_eq!(w.dates[0], NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        assert_eq!((s.partial_weeks_kept, s.days_used), (2, 21));
        assert_eq!(changes, vec![Change::new("date", "partial_week_kept", 2)]);

        // weekly data cannot be aggregated
        let e = aggregate_weeks(&w, PartialWeeks::Drop)
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs daily data"), "{e}");
    }

    #[test]
    fn an_empty_cell_in_a_week_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let text = daily(14, "2024-01-01").replace("2024-01-10,10,", "2024-01-10,,");
        let p = write(dir.path(), &text);
        let t = Table::read(&p, "date").unwrap();
        let (w, _, _) = aggregate_weeks(&t, PartialWeeks::Drop).unwrap();
        let e = w.numeric("x").unwrap_err().to_string();
        assert!(e.contains("line 11") && e.contains("empty cell"), "{e}");
    }

    fn table(dir: &Path, text: &str) -> Table {
        Table::read(&write(dir, text), "date").unwrap()
    }

    fn rules(v: serde_json::Value) -> CleaningSpec {
        serde_json::from_value(v).unwrap()
    }

    const GAPS: &str = "date,a,b,c
2024-01-01,,1,1
2024-01-02,2,,2
2024-01-03,,,3
2024-01-04,8,7,
2024-01-05,,1,5
";

    #[test]
    fn missing_values_zero_forward_fill_and_interpolate() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = table(dir.path(), GAPS);
        let spec = rules(serde_json::json!({"missing": [
            {"columns": ["a"], "fill": "interpolate"},
            {"columns": ["b"], "fill": "forward_fill"},
            {"columns": ["c"], "fill": "zero"}]}));
        let changes = clean(&mut t, &spec, &Roles::default(), "spec").unwrap();
        // a: leading gap takes the first value; 2 → 8 over two steps; trailing takes the last
        assert_eq!(t.numeric("a").unwrap(), vec![2.0, 2.0, 5.0, 8.0, 8.0]);
        assert_eq!(t.numeric("b").unwrap(), vec![1.0, 1.0, 1.0, 7.0, 1.0]);
        assert_eq!(t.numeric("c").unwrap(), vec![1.0, 2.0, 3.0, 0.0, 5.0]);
        assert_eq!(
            changes,
            vec![
                Change::new("a", "missing_interpolate", 3),
                Change::new("b", "missing_forward_fill", 2),
                Change::new("c", "missing_zero", 1)
            ]
        );
    }

    #[test]
    fn forward_fill_without_a_first_value_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = table(dir.path(), GAPS);
        let spec =
            rules(serde_json::json!({"missing": [{"columns": ["a"], "fill": "forward_fill"}]}));
        let e = clean(&mut t, &spec, &Roles::default(), "spec")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("column 'a'"), "{e}");
    }

    #[test]
    fn selectors_patterns_and_unknown_columns() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = table(dir.path(), GAPS);
        let spec = rules(serde_json::json!({"missing": [{"columns": ["*"], "fill": "zero"}]}));
        let changes = clean(&mut t, &spec, &Roles::default(), "spec").unwrap();
        assert_eq!(
            changes.iter().map(|c| c.count).collect::<Vec<_>>(),
            vec![3, 2, 1]
        );

        let mut t = table(dir.path(), GAPS);
        let spec =
            rules(serde_json::json!({"missing": [{"columns": ["a", "nope*"], "fill": "zero"}]}));
        match clean(&mut t, &spec, &Roles::default(), "spec").unwrap_err() {
            MmmError::Spec { issues, .. } => {
                assert_eq!(issues[0].pointer, "/data/cleaning/missing/0/columns/1");
                assert!(issues[0].message.contains("names no column"));
            }
            e => panic!("{e}"),
        }
        let mut t = table(dir.path(), GAPS);
        let spec = rules(serde_json::json!({"missing": [
            {"columns": ["a"], "fill": "zero"}, {"columns": ["$target"], "fill": "zero"}]}));
        let roles = Roles {
            media: vec![],
            target: vec!["a".into()],
        };
        match clean(&mut t, &spec, &roles, "spec").unwrap_err() {
            MmmError::Spec { issues, .. } => {
                assert_eq!(issues[0].pointer, "/data/cleaning/missing/1/columns");
            }
            e => panic!("{e}"),
        }
    }

    const SPEND: &str = "date,s,r
2024-01-01,10,100
2024-01-02,-5,101
2024-01-03,12,99
2024-01-04,11,1000
2024-01-05,-1,102
2024-01-06,13,98
";

    #[test]
    fn negative_spend_is_an_error_or_clipped() {
        let dir = tempfile::tempdir().unwrap();
        let roles = Roles {
            media: vec!["s".into()],
            target: vec!["r".into()],
        };
        let mut t = table(dir.path(), SPEND);
        let e = clean(&mut t, &CleaningSpec::default(), &roles, "spec")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3") && e.contains("column 's'") && e.contains("-5"),
            "{e}"
        );
        let spec = rules(serde_json::json!({"negative_spend": "clip_to_zero"}));
        let changes = clean(&mut t, &spec, &roles, "spec").unwrap();
        assert_eq!(
            t.numeric("s").unwrap(),
            vec![10.0, 0.0, 12.0, 11.0, 0.0, 13.0]
        );
        assert_eq!(changes, vec![Change::new("s", "negative_clip_to_zero", 2)]);
    }

    #[test]
    fn outliers_winsorize_and_iqr() {
        let dir = tempfile::tempdir().unwrap();
        let roles = Roles {
            media: vec!["s".into()],
            target: vec!["r".into()],
        };
        let mut t = table(dir.path(), SPEND);
        let spec = rules(serde_json::json!({"negative_spend": "clip_to_zero",
            "outliers": [{"columns": ["$target"], "iqr": 1.5}]}));
        let changes = clean(&mut t, &spec, &roles, "spec").unwrap();
        // r sorted: 98 99 100 101 102 1000 → Q1 = 99.25, Q3 = 101.75, upper fence 105.5
        assert_eq!(
            t.numeric("r").unwrap(),
            vec![100.0, 101.0, 99.0, 105.5, 102.0, 98.0]
        );
        let c = &changes[1];
        assert_eq!(
            (c.column.as_str(), c.rule.as_str(), c.count),
            ("r", "iqr", 1)
        );
        assert_eq!((c.lower, c.upper), (Some(95.5), Some(105.5)));

        let mut t = table(dir.path(), SPEND);
        let spec = rules(serde_json::json!({"negative_spend": "clip_to_zero",
            "outliers": [{"columns": ["$media"], "winsorize": {"lower": 0.2, "upper": 0.8}}]}));
        let changes = clean(&mut t, &spec, &roles, "spec").unwrap();
        // s after clipping: 0 0 10 11 12 13 sorted; q0.2 = 0 + 0·… = 0.0 (h = 1), q0.8 = 12 (h = 4)
        assert_eq!(
            t.numeric("s").unwrap(),
            vec![10.0, 0.0, 12.0, 11.0, 0.0, 12.0]
        );
        assert_eq!(changes[1].count, 1);
        assert_eq!(
            (changes[1].lower, changes[1].upper),
            (Some(0.0), Some(12.0))
        );
    }

    #[test]
    fn static_rule_checks_name_their_pointer() {
        let spec = rules(serde_json::json!({"outliers": [
            {"columns": ["a"]},
            {"columns": ["$nope"], "winsorize": {"lower": 0.9, "upper": 0.1}},
            {"columns": ["a"], "iqr": 1.0, "winsorize": {"lower": 0.1, "upper": 0.9}}]}));
        let issues = crate::cleaning::cleaning_issues(&spec, "/data/cleaning");
        let pointers: Vec<&str> = issues.iter().map(|i| i.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            vec![
                "/data/cleaning/outliers/0",
                "/data/cleaning/outliers/1/columns/0",
                "/data/cleaning/outliers/1/winsorize/upper",
                "/data/cleaning/outliers/2/iqr"
            ]
        );
    }
}
