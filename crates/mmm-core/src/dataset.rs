//! The data a causal structure and its models work on: target, baseline terms, controls and
//! media with their learned transform chains; builds design matrices from them. It is built
//! from a spec and its CSV by the data layer (`mmm_data::dataset`).

use crate::data::{Frequency, Table};
use crate::model::{Column, Design, MediaInput, Role};
use chrono::NaiveDate;
use nalgebra::DMatrix;
use std::path::PathBuf;
use std::sync::Arc;

/// A named non-media regressor with its values.
#[derive(Debug, Clone)]
pub struct Regressor {
    /// Column name and role.
    pub column: Column,
    /// Values per period.
    pub values: Vec<f64>,
}

/// The data a causal structure and its models work on.
#[derive(Debug, Clone)]
pub struct ModelData {
    /// The data file.
    pub source: PathBuf,
    /// Dates of the periods.
    pub dates: Vec<NaiveDate>,
    /// Detected frequency.
    pub frequency: Frequency,
    /// Name of the target column.
    pub target_name: String,
    /// The target.
    pub y: Vec<f64>,
    /// Intercept, baseline and control regressors, in design order.
    pub regressors: Vec<Regressor>,
    /// Media channels (raw spend and learned chains), in spec order.
    pub media: Vec<MediaInput>,
    /// Transformed media, in spec order.
    pub transformed: Vec<Vec<f64>>,
    /// The table as prepared (pivoted, cleaned, aggregated), for structures that need further
    /// columns, such as a mediator.
    pub table: Arc<Table>,
    /// What preparing the data did (format, cleaning and aggregation counts).
    pub quality: Arc<crate::quality::DataQuality>,
    /// Per channel (spec order): its reported metrics per period, when the data has them.
    pub kpis: Arc<Vec<Option<crate::kpi::KpiSeries>>>,
    /// The spec's lift tests resolved against the dates and spend (spec order).
    pub calibration: Arc<Vec<crate::calibration::LiftTest>>,
    /// The geos of a panel (`data.geo`), in order of first appearance in the file; empty for
    /// national data. The national series above are their sums (KPI, spend) and
    /// population-weighted means (controls).
    pub geos: Arc<Vec<crate::geo::GeoSeries>>,
}

impl ModelData {
    /// Number of periods.
    pub fn n_obs(&self) -> usize {
        self.y.len()
    }

    /// A design of all regressors, the given channels' transformed media, and extra columns.
    pub fn design(&self, channels: &[usize], extra: &[Regressor]) -> Design {
        let n = self.n_obs();
        let mut columns = Vec::new();
        let mut data: Vec<f64> = Vec::new();
        for r in &self.regressors {
            columns.push(r.column.clone());
            data.extend_from_slice(&r.values);
        }
        for &c in channels {
            columns.push(Column {
                name: self.media[c].name.clone(),
                role: Role::Media,
                channel: Some(c),
            });
            data.extend_from_slice(&self.transformed[c]);
        }
        for r in extra {
            columns.push(r.column.clone());
            data.extend_from_slice(&r.values);
        }
        let k = columns.len();
        Design {
            columns,
            x: DMatrix::from_vec(n, k, data),
        }
    }

    /// The data restricted to `rows` (in order): target, regressors, spend and transformed
    /// media. Transform chains keep what they learned on the full data, so a training subset
    /// sees the same adstock carry-over as the full series. Lift tests are kept when `rows` is
    /// a prefix `0..k` holding their window (their lift then sums to period `k`), dropped
    /// otherwise.
    pub fn subset(&self, rows: &[usize]) -> ModelData {
        let prefix = rows.iter().enumerate().all(|(i, &r)| i == r);
        let pick = |v: &[f64]| rows.iter().map(|&r| v[r]).collect::<Vec<f64>>();
        ModelData {
            source: self.source.clone(),
            dates: rows.iter().map(|&r| self.dates[r]).collect(),
            frequency: self.frequency,
            target_name: self.target_name.clone(),
            y: pick(&self.y),
            regressors: self
                .regressors
                .iter()
                .map(|r| Regressor {
                    column: r.column.clone(),
                    values: pick(&r.values),
                })
                .collect(),
            media: self
                .media
                .iter()
                .map(|m| MediaInput {
                    name: m.name.clone(),
                    spend: pick(&m.spend),
                    chain: m.chain.clone(),
                })
                .collect(),
            transformed: self.transformed.iter().map(|t| pick(t)).collect(),
            table: Arc::clone(&self.table),
            quality: Arc::clone(&self.quality),
            kpis: Arc::clone(&self.kpis),
            calibration: Arc::new(if prefix {
                self.calibration
                    .iter()
                    .filter_map(|t| t.truncated(rows.len()))
                    .collect()
            } else {
                vec![]
            }),
            geos: Arc::new(
                self.geos
                    .iter()
                    .map(|g| crate::geo::GeoSeries {
                        name: g.name.clone(),
                        population: g.population,
                        y: pick(&g.y),
                        spend: g.spend.iter().map(|v| pick(v)).collect(),
                        regressors: g.regressors.iter().map(|v| pick(v)).collect(),
                    })
                    .collect(),
            ),
        }
    }

    /// Values of a design column over all periods: a regressor by name, a channel's
    /// transformed spend, or a data column of the same name (mediators entered as observed).
    pub fn column_values(&self, column: &Column) -> Option<Vec<f64>> {
        if let Some(c) = column.channel {
            return self.transformed.get(c).cloned();
        }
        if let Some(r) = self
            .regressors
            .iter()
            .find(|r| r.column.name == column.name)
        {
            return Some(r.values.clone());
        }
        if let Some(i) = self.media.iter().position(|m| m.name == column.name) {
            return Some(self.transformed[i].clone());
        }
        self.table.numeric(&column.name).ok()
    }

    /// Indices of all channels.
    pub fn all_channels(&self) -> Vec<usize> {
        (0..self.media.len()).collect()
    }
}

/// The period as written in seasonality column names (`52`, `365.25`).
pub fn fmt_period(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{}", p as i64)
    } else {
        format!("{p}")
    }
}
