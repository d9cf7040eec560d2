//! SQLite export of a run (`DIR/results.sqlite`), for Power BI and other BI tools (seed 004).
//!
//! The database is written to a temporary file in the output folder and renamed into place.
//! Tables (stable names; long formats where a BI tool would pivot):
//!
//! | table | columns |
//! |---|---|
//! | `run` | `name`, `model_type`, `causal`, `parameters_json`, `n_obs`, `frequency`, `start`, `end` |
//! | `input_data` | `date`, `column`, `value` — target, spend and regressors as used |
//! | `decomposition` | `date`, `term`, `value` — `β_j·x_tj` per period and design column |
//! | `predictions` | `date`, `actual`, `predicted`, `error`, `split` (`train`, `test` or `all`) |
//! | `channels` | `name`, `spend`, `contribution`, `contribution_ci_low`, `contribution_ci_high`, `share`, `roi`, `roi_ci_low`, `roi_ci_high`, `mroi`, `breakeven_spend`, `mroi_ci_low`, `mroi_ci_high`, `share_ci_low`, `share_ci_high` (credible intervals of mROI and share: Bayesian models, else null) |
//! | `coefficients` | `name`, `role`, `estimate`, `std_error`, `t_value`, `p_value`, `ci_low`, `ci_high`, `vif` |
//! | `model_performance` | `split` (`in_sample`, `train`, `test`, `fold_<k>_test`), `metric`, `value` |
//! | `response_curves` | `channel`, `spend`, `response`, `mroi`, `response_low`, `response_high`, `mroi_low`, `mroi_high` (credible intervals: Bayesian models, else null) |
//! | `budget_optimization` | `channel`, `current_spend`, `optimal_spend`, `change_pct`, `expected_contribution`, `mroi` |
//! | `budget_optimization_geo` | `channel`, `geo`, `current_spend`, `optimal_spend`, `change_pct`, `expected_contribution`, `mroi` — the plan per channel × geo of an optimizer with `geo_allocation` (no rows otherwise) |
//! | `budget_summary` | `objective`, `total_budget`, `expected_kpi_current`, `expected_kpi_optimal`, `lift_pct` |
//! | `budget_scenarios` | `level`, `total_budget`, `expected_kpi`, `roi`, `channel`, `spend` |
//! | `tuning_evaluations` | `evaluation`, `pareto` (1 on the Pareto front), one column per searched parameter (named by its JSON pointer) and per objective |
//! | `data_quality` | `column`, `rule`, `count`, `lower`, `upper` — every cleaning, pivot and aggregation rule applied |
//! | `kpis` | `date`, `channel`, `spend`, `impressions`, `clicks`, `conversions`, `revenue`, `ctr`, `cvr`, `cpa`, `roas` — per period, for channels whose data has them |

pub use rusqlite;

use mmm_core::metrics::FitMetrics;
use mmm_core::{MmmError, Result};
use mmm_engine::experiment::RunOutput;
use rusqlite::{params, Connection};
use serde_json::Value;
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE run (name TEXT, model_type TEXT, causal TEXT, parameters_json TEXT, n_obs INTEGER, frequency TEXT, start TEXT, end TEXT);
CREATE TABLE input_data (date TEXT, column TEXT, value REAL, geo TEXT);
CREATE TABLE decomposition (date TEXT, term TEXT, value REAL, geo TEXT);
CREATE TABLE predictions (date TEXT, actual REAL, predicted REAL, error REAL, split TEXT, geo TEXT);
CREATE TABLE geos (geo TEXT, population REAL, kpi REAL, r2 REAL, mape REAL, nrmse REAL);
CREATE TABLE geo_channels (geo TEXT, channel TEXT, spend REAL, contribution REAL, contribution_ci_low REAL, contribution_ci_high REAL, roi REAL, roi_ci_low REAL, roi_ci_high REAL);
CREATE TABLE channels (name TEXT, spend REAL, contribution REAL, contribution_ci_low REAL, contribution_ci_high REAL, share REAL, roi REAL, roi_ci_low REAL, roi_ci_high REAL, mroi REAL, breakeven_spend REAL, mroi_ci_low REAL, mroi_ci_high REAL, share_ci_low REAL, share_ci_high REAL);
CREATE TABLE coefficients (name TEXT, role TEXT, estimate REAL, std_error REAL, t_value REAL, p_value REAL, ci_low REAL, ci_high REAL, vif REAL);
CREATE TABLE model_performance (split TEXT, metric TEXT, value REAL);
CREATE TABLE response_curves (channel TEXT, spend REAL, response REAL, mroi REAL, response_low REAL, response_high REAL, mroi_low REAL, mroi_high REAL);
CREATE TABLE budget_optimization (channel TEXT, current_spend REAL, optimal_spend REAL, change_pct REAL, expected_contribution REAL, mroi REAL);
CREATE TABLE budget_optimization_geo (channel TEXT, geo TEXT, current_spend REAL, optimal_spend REAL, change_pct REAL, expected_contribution REAL, mroi REAL);
CREATE TABLE budget_summary (objective TEXT, total_budget REAL, expected_kpi_current REAL, expected_kpi_optimal REAL, lift_pct REAL);
CREATE TABLE budget_scenarios (level REAL, total_budget REAL, expected_kpi REAL, roi REAL, channel TEXT, spend REAL);
CREATE TABLE data_quality (column TEXT, rule TEXT, count INTEGER, lower REAL, upper REAL);
CREATE TABLE kpis (date TEXT, channel TEXT, spend REAL, impressions REAL, clicks REAL, conversions REAL, revenue REAL, ctr REAL, cvr REAL, cpa REAL, roas REAL);
";

/// An SQLite error while writing a database, as an [`MmmError`].
pub fn sql(e: rusqlite::Error) -> MmmError {
    MmmError::Compute(format!("writing SQLite database: {e}"))
}

/// A finite value, or NULL.
fn num(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn metrics_rows(split: &str, m: &FitMetrics) -> Vec<(String, &'static str, Option<f64>)> {
    let s = split.to_string();
    vec![
        (s.clone(), "r2", num(m.r2)),
        (s.clone(), "adj_r2", m.adj_r2),
        (s.clone(), "rmse", num(m.rmse)),
        (s.clone(), "nrmse", num(m.nrmse)),
        (s.clone(), "mae", num(m.mae)),
        (s.clone(), "mape", m.mape),
        (s.clone(), "durbin_watson", num(m.durbin_watson)),
        (s.clone(), "n_obs", Some(m.n_obs as f64)),
        (s, "n_params", Some(m.n_params as f64)),
    ]
}

/// Writes `dir/results.sqlite` for a run (atomically).
pub fn write_sqlite(dir: &Path, out: &RunOutput) -> Result<PathBuf> {
    write_database(dir, "results.sqlite", SCHEMA, |tx| fill(tx, out))
}

/// Creates `dir/name` as a new SQLite database: runs `schema` (SQL statements), then `fill`
/// inside one transaction, in a temporary file of `dir` that is renamed into place only when
/// everything succeeded (an existing file is replaced; nothing is left half-written).
pub fn write_database(
    dir: &Path,
    name: &str,
    schema: &str,
    fill: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<()>,
) -> Result<PathBuf> {
    let target = dir.join(name);
    // mode 0666 less the umask, as every output (mmm_engine::output)
    let tmp = mmm_engine::output::temp_file(dir, name)?;
    {
        let mut conn = Connection::open(tmp.path()).map_err(sql)?;
        // the file is private until renamed and discarded on any failure: no rollback journal,
        // no syncs while filling; one sync of the finished file below
        conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
            .map_err(sql)?;
        conn.execute_batch(schema).map_err(sql)?;
        let tx = conn.transaction().map_err(sql)?;
        fill(&tx)?;
        tx.commit().map_err(sql)?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| MmmError::io(&target, e))?;
    tmp.persist(&target)
        .map_err(|e| MmmError::io(&target, e.error))?;
    Ok(target)
}

fn fill(tx: &rusqlite::Transaction<'_>, out: &RunOutput) -> Result<()> {
    let r = &out.results;
    let d = &out.data;
    tx.execute(
        "INSERT INTO run VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            r.name,
            r.model.model_type,
            r.model.causal,
            r.model.parameters.to_string(),
            r.data.n_obs as i64,
            format!("{:?}", r.data.frequency).to_lowercase(),
            r.data.start,
            r.data.end
        ],
    )
    .map_err(sql)?;

    // input data as used: the national series (geo NULL) and, for a panel, each geo's
    {
        let mut st = tx
            .prepare("INSERT INTO input_data VALUES (?1, ?2, ?3, ?4)")
            .map_err(sql)?;
        let none: Option<&str> = None;
        for (t, date) in d.dates.iter().enumerate() {
            let date = date.to_string();
            st.execute(params![date, d.target_name, d.y[t], none])
                .map_err(sql)?;
            for m in &d.media {
                st.execute(params![date, m.name, m.spend[t], none])
                    .map_err(sql)?;
            }
            for reg in &d.regressors {
                st.execute(params![date, reg.column.name, reg.values[t], none])
                    .map_err(sql)?;
            }
        }
        for g in d.geos.iter() {
            for (t, date) in d.dates.iter().enumerate() {
                let date = date.to_string();
                st.execute(params![date, d.target_name, g.y[t], g.name])
                    .map_err(sql)?;
                for (m, spend) in d.media.iter().zip(&g.spend) {
                    st.execute(params![date, m.name, spend[t], g.name])
                        .map_err(sql)?;
                }
                for (reg, values) in d.regressors.iter().zip(&g.regressors) {
                    st.execute(params![date, reg.column.name, values[t], g.name])
                        .map_err(sql)?;
                }
            }
        }
    }

    // decomposition (long) and predictions, from decomposition.csv (with a geo column for a
    // joint geo fit: one row per geo × period)
    let n_train = r.validation.as_ref().map(|v| v.split.n_train);
    {
        let mut rdr = csv_rows(&out.decomposition_csv);
        let header = rdr.remove(0);
        let mut dec = tx
            .prepare("INSERT INTO decomposition VALUES (?1, ?2, ?3, ?4)")
            .map_err(sql)?;
        let mut pred = tx
            .prepare("INSERT INTO predictions VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .map_err(sql)?;
        let col = |name: &str| header.iter().position(|h| h == name);
        let (geo, actual_col, predicted_col) = (col("geo"), col("actual"), col("predicted"));
        let first_term = header
            .iter()
            .position(|h| h != "date" && h != "geo" && h != "actual" && !h.starts_with("predicted"))
            .unwrap_or(header.len());
        let cell = |row: &[String], j: Option<usize>| -> f64 {
            j.and_then(|j| row.get(j))
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        for (t, row) in rdr.iter().enumerate() {
            let actual = cell(row, actual_col);
            let predicted = cell(row, predicted_col);
            let geo_name = geo.map(|j| row[j].clone());
            let split = match n_train {
                Some(n) if t < n => "train",
                Some(_) => "test",
                None => "all",
            };
            pred.execute(params![
                row[0],
                num(actual),
                num(predicted),
                num(actual - predicted),
                split,
                geo_name
            ])
            .map_err(sql)?;
            for (h, v) in header.iter().zip(row).skip(first_term) {
                dec.execute(params![
                    row[0],
                    h,
                    num(v.parse().unwrap_or(f64::NAN)),
                    geo_name
                ])
                .map_err(sql)?;
            }
        }
    }

    // per geo of a joint geo fit
    if let Some(geos) = &r.geos {
        let mut st = tx
            .prepare("INSERT INTO geos VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .map_err(sql)?;
        let mut ch = tx
            .prepare("INSERT INTO geo_channels VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
            .map_err(sql)?;
        for g in geos {
            st.execute(params![
                g.name,
                g.population,
                num(g.kpi),
                num(g.fit.r2),
                g.fit.mape,
                num(g.fit.nrmse)
            ])
            .map_err(sql)?;
            for c in &g.channels {
                ch.execute(params![
                    g.name,
                    c.name,
                    num(c.spend),
                    num(c.contribution),
                    c.contribution_ci_low.and_then(num),
                    c.contribution_ci_high.and_then(num),
                    c.roi,
                    c.roi_ci_low,
                    c.roi_ci_high
                ])
                .map_err(sql)?;
            }
        }
    }

    {
        let mut st = tx
            .prepare("INSERT INTO channels VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")
            .map_err(sql)?;
        for c in &r.channels {
            st.execute(params![
                c.name,
                c.spend,
                num(c.contribution),
                c.contribution_ci_low,
                c.contribution_ci_high,
                num(c.share),
                num(c.roi),
                c.roi_ci_low,
                c.roi_ci_high,
                num(c.mroi),
                c.breakeven_spend,
                c.mroi_ci_low,
                c.mroi_ci_high,
                c.share_ci_low,
                c.share_ci_high
            ])
            .map_err(sql)?;
        }
        let mut st = tx
            .prepare("INSERT INTO coefficients VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
            .map_err(sql)?;
        for c in &r.coefficients {
            let role = serde_json::to_value(c.role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
            st.execute(params![
                c.name,
                role,
                c.estimate,
                c.std_error,
                c.t_value,
                c.p_value,
                c.ci_low,
                c.ci_high,
                c.vif
            ])
            .map_err(sql)?;
        }
    }

    {
        let mut rows = metrics_rows("in_sample", &r.fit);
        if let Some(v) = &r.validation {
            rows.extend(metrics_rows("train", &v.split.train));
            rows.extend(metrics_rows("test", &v.split.test));
            for (k, f) in v.folds.iter().enumerate() {
                rows.extend(metrics_rows(&format!("fold_{}_test", k + 1), &f.test));
            }
            rows.push(("train".into(), "decomp_rssd", num(v.split.decomp_rssd)));
        }
        let mut st = tx
            .prepare("INSERT INTO model_performance VALUES (?1, ?2, ?3)")
            .map_err(sql)?;
        for (split, metric, value) in rows {
            st.execute(params![split, metric, value]).map_err(sql)?;
        }
    }

    {
        let mut st = tx
            .prepare("INSERT INTO response_curves VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
            .map_err(sql)?;
        for c in &r.response_curves {
            for p in &c.points {
                st.execute(params![
                    c.channel,
                    p.spend,
                    num(p.response),
                    num(p.mroi),
                    p.response_low,
                    p.response_high,
                    p.mroi_low,
                    p.mroi_high
                ])
                .map_err(sql)?;
            }
        }
    }

    if let Some(o) = &r.optimization {
        tx.execute(
            "INSERT INTO budget_summary VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                o.objective,
                o.total_budget,
                num(o.expected_kpi_current),
                num(o.expected_kpi_optimal),
                num(o.lift_pct)
            ],
        )
        .map_err(sql)?;
        let mut st = tx
            .prepare("INSERT INTO budget_optimization VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .map_err(sql)?;
        for c in &o.channels {
            st.execute(params![
                c.name,
                c.current_spend,
                c.optimal_spend,
                num(c.change_pct),
                num(c.expected_contribution),
                num(c.mroi)
            ])
            .map_err(sql)?;
        }
        let mut st = tx
            .prepare("INSERT INTO budget_optimization_geo VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .map_err(sql)?;
        for c in o.geo_plan.iter().flatten() {
            st.execute(params![
                c.channel,
                c.geo,
                c.current_spend,
                c.optimal_spend,
                num(c.change_pct),
                num(c.expected_contribution),
                num(c.mroi)
            ])
            .map_err(sql)?;
        }
        if let Some(Value::Array(rows)) = &o.scenarios {
            let mut st = tx
                .prepare("INSERT INTO budget_scenarios VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(sql)?;
            for row in rows {
                if let Some(spend) = row.get("spend").and_then(Value::as_object) {
                    for (ch, s) in spend {
                        st.execute(params![
                            row.get("level").and_then(Value::as_f64),
                            row.get("total_budget").and_then(Value::as_f64),
                            row.get("expected_kpi").and_then(Value::as_f64),
                            row.get("roi").and_then(Value::as_f64),
                            ch,
                            s.as_f64()
                        ])
                        .map_err(sql)?;
                    }
                }
            }
        }
    }

    {
        let mut st = tx
            .prepare("INSERT INTO data_quality VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(sql)?;
        for c in r.data_quality.iter().flat_map(|q| &q.changes) {
            st.execute(params![c.column, c.rule, c.count as i64, c.lower, c.upper])
                .map_err(sql)?;
        }
        let mut st = tx
            .prepare("INSERT INTO kpis VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
            .map_err(sql)?;
        for k in d.kpis.iter().flatten() {
            for (t, date) in d.dates.iter().enumerate() {
                let p = k.period(t);
                st.execute(params![
                    date.to_string(),
                    k.channel,
                    num(p.spend),
                    p.impressions,
                    p.clicks,
                    p.conversions,
                    p.revenue,
                    p.ctr,
                    p.cvr,
                    p.cpa,
                    p.roas
                ])
                .map_err(sql)?;
            }
        }
    }

    tuning_table(tx, r.tuning.as_ref())?;
    Ok(())
}

/// `tuning_evaluations`: one row per evaluation (wide, so that a BI tool plots the Pareto front
/// directly): `evaluation`, `pareto` (1 on the front), one column per searched parameter named
/// by its JSON pointer, one per objective. Without tuning the table has the first two columns
/// and no rows.
fn tuning_table(
    tx: &rusqlite::Transaction<'_>,
    t: Option<&mmm_engine::tuning::TuningResult>,
) -> Result<()> {
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let mut columns = vec![
        "evaluation INTEGER".to_string(),
        "pareto INTEGER".to_string(),
    ];
    if let Some(t) = t {
        columns.extend(
            t.search_space
                .iter()
                .map(|p| format!("{} REAL", quote(&p.pointer))),
        );
        columns.extend(t.objectives.iter().map(|o| format!("{} REAL", quote(o))));
    }
    tx.execute_batch(&format!(
        "CREATE TABLE tuning_evaluations ({});",
        columns.join(", ")
    ))
    .map_err(sql)?;
    let Some(t) = t else { return Ok(()) };
    let on_front: std::collections::HashSet<usize> = mmm_engine::tuning::pareto_front(&t.history)
        .into_iter()
        .collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let mut st = tx
        .prepare(&format!(
            "INSERT INTO tuning_evaluations VALUES ({})",
            placeholders.join(", ")
        ))
        .map_err(sql)?;
    let mut row: Vec<rusqlite::types::Value> = Vec::with_capacity(columns.len());
    for (i, (params_row, scores)) in t.history_parameters.iter().zip(&t.history).enumerate() {
        row.clear();
        row.push((i as i64).into());
        row.push(i64::from(on_front.contains(&i)).into());
        row.extend(params_row.iter().map(|v| real(*v)));
        row.extend(scores.iter().map(|v| real(*v)));
        st.execute(rusqlite::params_from_iter(row.iter()))
            .map_err(sql)?;
    }
    Ok(())
}

/// A finite number as REAL, anything else as NULL.
fn real(v: f64) -> rusqlite::types::Value {
    if v.is_finite() {
        rusqlite::types::Value::Real(v)
    } else {
        rusqlite::types::Value::Null
    }
}

/// Rows of a CSV text (header first).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    rdr.records()
        .filter_map(|r| r.ok())
        .map(|r| r.iter().map(str::to_string).collect())
        .collect()
}
