//! Geo panels (`data.geo`): a file with one row per geo and period is split into one table per
//! geo on common dates, and the national table is built from them.
//!
//! # Rules
//! - Every geo has exactly one row per date, and every geo has the same dates (regular, daily
//!   or weekly); a missing or repeated (geo, date) is an error naming the file, line and column.
//! - `data.population` (optional) is a number > 0 on every row; a geo's population is the mean
//!   over its rows.
//! - National series: `Σ_g x_gt` for every numeric column (target, spend, impressions, clicks:
//!   counts add up over geos), except the controls and a `revenue_per_kpi` column, which are
//!   levels and take the population-weighted mean `Σ_g w_g·x_gt` (`w_g = p_g/Σ_h p_h`, equal
//!   weights without a population column); a text column (a categorical control) must be the
//!   same in every geo. A cell missing in any geo is missing nationally (cleaning rules then
//!   apply).

use crate::table::ReadTable;
use mmm_core::data::{Origin, Table};
use mmm_core::error::{MmmError, Result};
use mmm_core::quality::Change;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// A panel split into one table per geo.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Geo names, in order of first appearance in the file.
    pub geos: Vec<String>,
    /// Per geo, its population (mean of the population column over its rows).
    pub population: Vec<Option<f64>>,
    /// Per geo, its rows as a table (the geo and population columns removed), dates sorted;
    /// cells keep their file line for error messages.
    pub tables: Vec<Table>,
    /// Data rows of the file.
    pub rows_read: usize,
}

/// Groups the rows of `raw` by their geo, in order of first appearance.
fn group_rows(raw: &Table, geo_column: &str) -> Result<(Vec<String>, Vec<Vec<usize>>)> {
    let path = raw.path.as_path();
    let geo_cells = raw.raw(geo_column)?;
    if raw.n_rows() == 0 {
        return Err(MmmError::data(path, None, None, "no data rows"));
    }
    let mut geos: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (r, cell) in geo_cells.iter().enumerate() {
        let g = cell.trim();
        if g.is_empty() {
            return Err(MmmError::data(
                path,
                Some(r + 2),
                Some(geo_column),
                "empty geo name",
            ));
        }
        let k = *index.entry(g.to_string()).or_insert_with(|| {
            geos.push(g.to_string());
            rows.push(Vec::new());
            geos.len() - 1
        });
        rows[k].push(r);
    }
    Ok((geos, rows))
}

/// Each geo's population: the mean of `population_column` over its rows, every value > 0.
fn populations(
    raw: &Table,
    population_column: Option<&str>,
    reserved: &[&str],
    rows: &[Vec<usize>],
) -> Result<Vec<Option<f64>>> {
    let path = raw.path.as_path();
    let Some(p) = population_column else {
        return Ok(vec![None; rows.len()]);
    };
    if reserved.contains(&p) {
        return Err(MmmError::data(
            path,
            Some(1),
            Some(p),
            "the population column cannot be the geo, date or campaign column",
        ));
    }
    let cells = raw.raw(p)?;
    let mut out = Vec::with_capacity(rows.len());
    for geo_rows in rows {
        let mut sum = 0.0;
        for &r in geo_rows {
            let s = cells[r].trim();
            match s.parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => sum += v,
                _ => {
                    return Err(MmmError::data(
                        path,
                        Some(r + 2),
                        Some(p),
                        format!(
                            "population '{}' is not a number > 0",
                            mmm_core::input::shown(s)
                        ),
                    ))
                }
            }
        }
        out.push(Some(sum / geo_rows.len() as f64));
    }
    Ok(out)
}

/// Reads a panel file and splits it by `geo_column` (see the module rules).
pub fn read_panel(
    path: &Path,
    date_column: &str,
    geo_column: &str,
    population_column: Option<&str>,
) -> Result<Panel> {
    let raw = Table::read_unchecked(path, date_column)?;
    let (geos, mut rows) = group_rows(&raw, geo_column)?;
    let population = populations(&raw, population_column, &[geo_column, date_column], &rows)?;
    // every geo on the same dates, one row each
    let all_dates: BTreeSet<_> = raw.dates.iter().copied().collect();
    for (k, geo_rows) in rows.iter_mut().enumerate() {
        geo_rows.sort_by_key(|&r| (raw.dates[r], r));
        for w in geo_rows.windows(2) {
            if raw.dates[w[0]] == raw.dates[w[1]] {
                return Err(MmmError::data(
                    path,
                    Some(w[1] + 2),
                    Some(date_column),
                    format!(
                        "a second row for geo '{}' and date {} (the first is line {})",
                        geos[k],
                        raw.dates[w[1]],
                        w[0] + 2
                    ),
                ));
            }
        }
        if geo_rows.len() != all_dates.len() {
            let have: BTreeSet<_> = geo_rows.iter().map(|&r| raw.dates[r]).collect();
            let missing = all_dates.difference(&have).next().copied();
            return Err(MmmError::data(
                path,
                None,
                Some(geo_column),
                format!(
                    "geo '{}' has no row for {} ({} of the panel's {} dates): every geo needs one row per date",
                    geos[k],
                    missing.map(|d| d.to_string()).unwrap_or_default(),
                    have.len(),
                    all_dates.len()
                ),
            ));
        }
    }
    let keep: Vec<usize> = raw
        .headers
        .iter()
        .enumerate()
        .filter(|(_, h)| *h != geo_column && Some(h.as_str()) != population_column)
        .map(|(i, _)| i)
        .collect();
    let headers: Vec<String> = keep.iter().map(|&i| raw.headers[i].clone()).collect();
    let mut tables = Vec::with_capacity(geos.len());
    for (k, geo_rows) in rows.iter().enumerate() {
        let cells: Vec<Vec<String>> = keep
            .iter()
            .map(|&i| geo_rows.iter().map(|&r| raw.cells[i][r].clone()).collect())
            .collect();
        let origin = Origin {
            columns: headers.clone(),
            notes: vec![format!("geo '{}'", geos[k]); headers.len()],
            lines: vec![geo_rows.iter().map(|&r| Some(r + 2)).collect(); headers.len()],
        };
        tables.push(Table::from_parts(
            path,
            headers.clone(),
            cells,
            date_column,
            Some(origin),
        )?);
    }
    Ok(Panel {
        geos,
        population,
        tables,
        rows_read: raw.n_rows(),
    })
}

/// Reads a long panel (one row per date, campaign and geo) and pivots each geo's rows onto the
/// file's campaigns and date grid (a campaign or date a geo has no row for is 0 there, counted
/// as `missing_row`, as in the national long format). Returns the panel, the campaigns
/// (sorted) and each geo's fills (panel order).
pub fn read_long_panel(
    path: &Path,
    date_column: &str,
    geo_column: &str,
    population_column: Option<&str>,
    campaign_column: &str,
) -> Result<(Panel, Vec<String>, Vec<Vec<Change>>)> {
    let raw = Table::read_unchecked(path, date_column)?;
    let (geos, rows) = group_rows(&raw, geo_column)?;
    let population = populations(
        &raw,
        population_column,
        &[geo_column, date_column, campaign_column],
        &rows,
    )?;
    let mut exclude = vec![geo_column];
    exclude.extend(population_column);
    let long = crate::prepare::LongRows::new(&raw, date_column, campaign_column, &exclude)?;
    let mut tables = Vec::with_capacity(geos.len());
    let mut changes = Vec::with_capacity(geos.len());
    for (g, geo_rows) in geos.iter().zip(&rows) {
        let (t, c) = long.pivot(geo_rows, &format!("geo '{g}'"))?;
        tables.push(t);
        changes.push(c);
    }
    let campaigns = long.campaigns.clone();
    Ok((
        Panel {
            geos,
            population,
            tables,
            rows_read: raw.n_rows(),
        },
        campaigns,
        changes,
    ))
}

/// What the national table needs to know about the spec's columns.
#[derive(Debug, Clone, Default)]
pub struct NationalColumns {
    /// Numeric columns the spec uses (target, spend, controls): a bad cell is an error.
    pub required: BTreeSet<String>,
    /// Columns averaged over geos with population weights (controls, a revenue per KPI
    /// column): levels, prices and scores, where a sum would mean nothing.
    pub averaged: BTreeSet<String>,
    /// Text columns the spec uses (categorical controls): the same in every geo.
    pub categorical: BTreeSet<String>,
}

impl Panel {
    /// The national table (see the module rules): numeric columns summed, the `averaged` ones
    /// as population-weighted means, text columns kept where every geo agrees (an error for a categorical
    /// column that differs, dropped otherwise).
    pub fn national(&self, columns: &NationalColumns) -> Result<Table> {
        let first = &self.tables[0];
        let path = first.path.clone();
        let n = first.n_rows();
        let w = mmm_core::geo::population_weights(&self.population);
        let mut headers = Vec::new();
        let mut cells = Vec::new();
        let mut lines: Vec<Vec<Option<usize>>> = Vec::new();
        for h in &first.headers {
            if *h == first.date_column {
                headers.push(h.clone());
                cells.push(first.dates.iter().map(|d| d.to_string()).collect());
                lines.push(vec![None; n]);
                continue;
            }
            if columns.categorical.contains(h) {
                let base = first.raw(h)?;
                for t in self.tables.iter().skip(1) {
                    let other = t.raw(h)?;
                    if let Some(r) = (0..n).find(|&r| other[r].trim() != base[r].trim()) {
                        return Err(t.cell_error(
                            h,
                            r,
                            format!(
                                "categorical column '{h}' is '{}' here but '{}' in geo '{}' on {}: a categorical control of a panel must be the same in every geo",
                                mmm_core::input::shown(other[r].trim()),
                                mmm_core::input::shown(base[r].trim()),
                                self.geos[0],
                                first.dates[r]
                            ),
                        ));
                    }
                }
                headers.push(h.clone());
                cells.push(base.to_vec());
                lines.push(vec![None; n]);
                continue;
            }
            let parsed: Result<Vec<Vec<Option<f64>>>> = self
                .tables
                .iter()
                .map(|t| t.numeric_with_missing(h))
                .collect();
            let values = match parsed {
                Ok(v) => v,
                // a column the spec uses as a number: its error names the cell
                Err(e) if columns.required.contains(h) => return Err(e),
                // other text columns: kept when every geo agrees, else dropped
                Err(_) => {
                    let base = first.raw(h)?;
                    let same = self.tables.iter().all(|t| {
                        t.raw(h)
                            .map(|o| o.iter().zip(base).all(|(a, b)| a.trim() == b.trim()))
                            .unwrap_or(false)
                    });
                    if same {
                        headers.push(h.clone());
                        cells.push(base.to_vec());
                        lines.push(vec![None; n]);
                    }
                    continue;
                }
            };
            let sum = !columns.averaged.contains(h);
            // a period with an empty cell in any geo is empty nationally; its line is the
            // first such geo's, so that a cleaning rule's error names the row
            let mut col_lines = vec![None; n];
            let col: Vec<String> = (0..n)
                .map(|t| {
                    let mut acc = 0.0;
                    for (g, v) in values.iter().enumerate() {
                        match v[t] {
                            Some(x) => acc += if sum { x } else { w[g] * x },
                            None => {
                                col_lines[t] = self.tables[g].source_line(h, t);
                                return String::new();
                            }
                        }
                    }
                    format!("{acc}")
                })
                .collect();
            headers.push(h.clone());
            cells.push(col);
            lines.push(col_lines);
        }
        let origin = Origin {
            columns: headers.clone(),
            notes: headers
                .iter()
                .map(|h| {
                    if *h == first.date_column {
                        String::new()
                    } else if columns.averaged.contains(h) {
                        "national mean over geos".to_string()
                    } else {
                        "national sum over geos".to_string()
                    }
                })
                .collect(),
            lines,
        };
        Table::from_parts(&path, headers, cells, &first.date_column, Some(origin))
    }
}
