//! Assembles the modeling data ([`ModelData`]) from a spec and its CSV: target, baseline
//! terms, controls and media with their learned transform chains.

use crate::spec::{ControlSpec, LoadedSpec};
use crate::table::ReadTable;
use mmm_core::data::{Frequency, Table};
use mmm_core::dataset::{fmt_period, ModelData, Regressor};
use mmm_core::error::{MmmError, Result};
use mmm_core::geo::GeoSeries;
use mmm_core::model::{Column, MediaInput, Role};
use mmm_core::transform::ChainWorkspace;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Builds [`ModelData`] from a spec (`ModelData::from_spec`, with this trait in scope).
pub trait FromSpec: Sized {
    /// Reads the spec's data and assembles target, regressors and media, with every check of
    /// the data layer (missing columns, bad cells, negative spend, constant columns, too few
    /// rows).
    fn from_spec(loaded: &LoadedSpec) -> Result<Self>;
}

impl FromSpec for ModelData {
    fn from_spec(loaded: &LoadedSpec) -> Result<ModelData> {
        let spec = &loaded.spec;
        let path = loaded.data_path();
        let (table, quality, panel) = crate::prepare::prepare_panel(loaded)?;
        let n = table.n_rows();
        let y = table.numeric(&spec.data.target)?;

        let mut regressors = Vec::new();
        if spec.baseline.intercept {
            regressors.push(reg("intercept", Role::Intercept, vec![1.0; n]));
        }
        if spec.baseline.trend {
            regressors.push(reg(
                "trend",
                Role::Baseline,
                (1..=n).map(|t| t as f64).collect(),
            ));
        }
        if let Some(s) = &spec.baseline.seasonality {
            for f in s.terms() {
                for k in 1..=f.order {
                    let w = 2.0 * std::f64::consts::PI * k as f64 / f.period;
                    let tag = fmt_period(f.period);
                    regressors.push(reg(
                        &format!("sin_{tag}_{k}"),
                        Role::Baseline,
                        (0..n).map(|t| (w * t as f64).sin()).collect(),
                    ));
                    regressors.push(reg(
                        &format!("cos_{tag}_{k}"),
                        Role::Baseline,
                        (0..n).map(|t| (w * t as f64).cos()).collect(),
                    ));
                }
            }
        }
        if let Some(h) = &spec.baseline.holidays {
            let p = std::path::Path::new(&h.path);
            let cal_path = if p.is_absolute() {
                p.to_path_buf()
            } else {
                loaded.dir.join(p)
            };
            for (name, values) in holiday_columns(&cal_path, h, &table)? {
                regressors.push(reg(&name, Role::Baseline, values));
            }
        }
        if spec.baseline.day_of_week {
            if table.frequency != Frequency::Daily {
                return Err(MmmError::data(
                    &path,
                    None,
                    Some(&spec.data.date),
                    format!(
                        "baseline.day_of_week needs daily data, but the dates are {}",
                        table.frequency.name()
                    ),
                ));
            }
            use chrono::Datelike;
            for (k, day) in ["tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .enumerate()
            {
                let values = table
                    .dates
                    .iter()
                    .map(|d| {
                        if d.weekday().num_days_from_monday() as usize == k + 1 {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect();
                regressors.push(reg(&format!("dow_{day}"), Role::Baseline, values));
            }
        }
        for c in &spec.controls {
            match c {
                ControlSpec::Detailed(o) if o.categorical => {
                    let raw = table.raw(&o.column)?;
                    let levels: BTreeSet<&str> = raw.iter().map(|s| s.trim()).collect();
                    let reference = match &o.reference {
                        Some(r) => {
                            if !levels.contains(r.as_str()) {
                                return Err(MmmError::data(
                                    &path,
                                    None,
                                    Some(&o.column),
                                    format!(
                                        "reference level '{r}' does not occur; the levels are: {}",
                                        levels.iter().copied().collect::<Vec<_>>().join(", ")
                                    ),
                                ));
                            }
                            r.clone()
                        }
                        None => levels
                            .iter()
                            .next()
                            .map(|s| s.to_string())
                            .unwrap_or_default(),
                    };
                    if levels.len() < 2 {
                        return Err(MmmError::data(
                            &path,
                            None,
                            Some(&o.column),
                            format!(
                                "categorical control '{}' is constant and cannot be estimated",
                                o.column
                            ),
                        ));
                    }
                    for level in levels.iter().filter(|l| **l != reference) {
                        regressors.push(reg(
                            &format!("{}[{}]", o.column, level),
                            Role::Control,
                            raw.iter()
                                .map(|s| if s.trim() == *level { 1.0 } else { 0.0 })
                                .collect(),
                        ));
                    }
                }
                _ => {
                    let name = c.column();
                    let v = table.numeric(name)?;
                    table.check_not_constant(name, &v, "control")?;
                    regressors.push(reg(name, Role::Control, v));
                }
            }
        }

        let mut media = Vec::new();
        let mut transformed = Vec::new();
        for m in &spec.media {
            let spend = table.numeric(&m.spend)?;
            table.check_non_negative(&m.spend, &spend)?;
            table.check_not_constant(&m.spend, &spend, "media")?;
            let mut chain = m.chain();
            let mut out = vec![0.0; n];
            let mut ws = ChainWorkspace::new(&chain, n);
            chain.learn_apply(&spend, &mut out, &mut ws);
            if let Some(t) = out.iter().position(|v| !v.is_finite()) {
                return Err(table.cell_error(
                    &m.spend,
                    t,
                    format!(
                        "the transforms of channel '{}' give a non-finite value",
                        m.name
                    ),
                ));
            }
            media.push(MediaInput {
                name: m.name.clone(),
                spend,
                chain,
            });
            transformed.push(out);
        }

        let names = spec.data.long_columns();
        let kpis = spec
            .media
            .iter()
            .zip(&media)
            .map(|(m, input)| {
                crate::kpi::channel_series(&table, &m.name, &m.spend, &input.spend, &names)
            })
            .collect::<Result<Vec<_>>>()?;
        let n_params = regressors.len() + media.len();
        if n <= n_params {
            return Err(MmmError::data(
                &path,
                None,
                None,
                format!("{n} rows but the model has {n_params} parameters; more rows than parameters are needed"),
            ));
        }
        let geos = match &panel {
            Some(p) => geo_series(p, loaded, &regressors)?,
            None => vec![],
        };
        let calibration = crate::calibration::resolve(
            &spec.calibration,
            &media.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
            &table.dates,
            &media.iter().map(|m| m.spend.clone()).collect::<Vec<_>>(),
            &geos,
        )
        .map_err(|issues| MmmError::Spec {
            file: loaded.file.clone(),
            issues,
        })?;
        let data = ModelData {
            source: path,
            dates: table.dates.clone(),
            frequency: table.frequency,
            target_name: spec.data.target.clone(),
            y,
            regressors,
            media,
            transformed,
            table: Arc::new(table),
            quality: Arc::new(quality),
            kpis: Arc::new(kpis),
            calibration: Arc::new(calibration),
            geos: Arc::new(geos),
        };
        crate::design_check::check(&data, loaded)?;
        Ok(data)
    }
}

/// Each geo's series on the national design (see [`mmm_core::geo::GeoSeries`]): its target,
/// its spend per channel (≥ 0 and not constant within the geo: a channel that never varies in
/// a geo tells nothing about its effect there), and its own values of every control; calendar
/// regressors are the national ones.
fn geo_series(
    panel: &crate::panel::Panel,
    loaded: &LoadedSpec,
    regressors: &[Regressor],
) -> Result<Vec<GeoSeries>> {
    let spec = &loaded.spec;
    let mut out = Vec::with_capacity(panel.geos.len());
    for ((name, population), table) in panel.geos.iter().zip(&panel.population).zip(&panel.tables) {
        let y = table.numeric(&spec.data.target)?;
        let mut spend = Vec::with_capacity(spec.media.len());
        for m in &spec.media {
            let v = table.numeric(&m.spend)?;
            table.check_non_negative(&m.spend, &v)?;
            if v.iter().all(|x| *x == v[0]) {
                return Err(table.cell_error(
                    &m.spend,
                    0,
                    format!(
                        "channel '{}' has constant spend ({}) in geo '{name}': a channel must vary within every geo of a panel (drop the geo, or model it nationally without data.geo)",
                        m.name, v[0]
                    ),
                ));
            }
            spend.push(v);
        }
        let mut values = Vec::with_capacity(regressors.len());
        for r in regressors {
            values.push(match r.column.role {
                Role::Control => control_values(table, spec, &r.column.name)?,
                _ => r.values.clone(),
            });
        }
        out.push(GeoSeries {
            name: name.clone(),
            population: *population,
            y,
            spend,
            regressors: values,
        });
    }
    Ok(out)
}

/// A geo's values of control regressor `name`: a numeric control's column, or a categorical
/// control's indicator `column[level]`.
fn control_values(
    table: &Table,
    spec: &crate::spec::ExperimentSpec,
    name: &str,
) -> Result<Vec<f64>> {
    for c in &spec.controls {
        match c {
            ControlSpec::Detailed(o) if o.categorical => {
                if let Some(level) = name
                    .strip_prefix(o.column.as_str())
                    .and_then(|r| r.strip_prefix('['))
                    .and_then(|r| r.strip_suffix(']'))
                {
                    let raw = table.raw(&o.column)?;
                    return Ok(raw
                        .iter()
                        .map(|s| if s.trim() == level { 1.0 } else { 0.0 })
                        .collect());
                }
            }
            _ if c.column() == name => return table.numeric(name),
            _ => {}
        }
    }
    Err(MmmError::Compute(format!(
        "control regressor '{name}' matches no control of the spec"
    )))
}

/// Holiday indicator columns: a period (`[date, date + period length)`) is 1 when a holiday of
/// the calendar falls in it, so weekly data counts a holiday in the week that contains it.
/// Holidays that never fall in the data are dropped (a constant zero column cannot be estimated).
fn holiday_columns(
    cal_path: &std::path::Path,
    spec: &crate::spec::HolidaySpec,
    table: &Table,
) -> Result<Vec<(String, Vec<f64>)>> {
    let cal = Table::read_unchecked(cal_path, "ds")?;
    let names = cal.raw("holiday")?;
    let countries = if cal.has_column("country") {
        Some(cal.raw("country")?)
    } else {
        None
    };
    let mut by_name: std::collections::BTreeMap<String, Vec<f64>> =
        std::collections::BTreeMap::new();
    let mut any = vec![0.0; table.n_rows()];
    for (r, date) in cal.dates.iter().enumerate() {
        if let (Some(want), Some(cs)) = (&spec.country, &countries) {
            if cs[r].trim() != want {
                continue;
            }
        }
        // the period whose [start, start + days) (a month: its calendar month) contains it
        let first = table.dates[0];
        let offset = table.frequency.period_index(first, *date);
        if offset < 0 {
            continue;
        }
        let idx = offset as usize;
        if idx >= table.n_rows() {
            continue;
        }
        any[idx] = 1.0;
        let col = by_name
            .entry(names[r].trim().to_string())
            .or_insert_with(|| vec![0.0; table.n_rows()]);
        col[idx] = 1.0;
    }
    if spec.per_holiday {
        Ok(by_name
            .into_iter()
            .map(|(n, v)| (format!("holiday[{n}]"), v))
            .collect())
    } else if any.iter().any(|v| *v > 0.0) {
        Ok(vec![("holiday".to_string(), any)])
    } else {
        Err(MmmError::data(
            cal_path,
            None,
            Some("ds"),
            "no holiday of the calendar falls within the data's dates",
        ))
    }
}

fn reg(name: &str, role: Role, values: Vec<f64>) -> Regressor {
    Regressor {
        column: Column {
            name: name.to_string(),
            role,
            channel: None,
        },
        values,
    }
}
