//! The audit's tables in `audit.sqlite`: `audit_channels` (one row per channel and quantity),
//! `audit_pairs`, `audit_decision`, `audit_moves` and `audit_replicates` (one row per replicate
//! and channel). Columns are described in `docs/audit.md`.

use crate::Audit;
use mmm_core::error::Result;
use mmm_export::rusqlite::{params, types::Value};
use mmm_export::sql;
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE audit_channels (channel TEXT, quantity TEXT, truth REAL, mean REAL, bias REAL, relative_bias REAL, sd REAL, relative_sd REAL, rmse REAL, q05 REAL, q95 REAL, coverage REAL, verdict TEXT);
CREATE TABLE audit_pairs (channel_a TEXT, channel_b TEXT, correlation REAL, combined_truth REAL, combined_mean REAL, combined_relative_bias REAL, combined_relative_sd REAL, combined_verdict TEXT);
CREATE TABLE audit_decision (n INTEGER, share_raising_kpi REAL, lift_pct_mean REAL, lift_pct_q05 REAL, lift_pct_median REAL, lift_pct_q95 REAL, predicted_lift_pct_mean REAL, supported INTEGER, message TEXT);
CREATE TABLE audit_moves (channel TEXT, share_up REAL, share_down REAL, stable INTEGER);
CREATE TABLE audit_replicates (replicate INTEGER, seed TEXT, status TEXT, channel TEXT, roi REAL, roi_ci_low REAL, roi_ci_high REAL, contribution REAL, mroi REAL, optimal_spend REAL, realised_lift_pct REAL);
";

fn real(v: f64) -> Value {
    if v.is_finite() {
        Value::Real(v)
    } else {
        Value::Null
    }
}

fn opt(v: Option<f64>) -> Value {
    v.map_or(Value::Null, real)
}

/// Writes `dir/audit.sqlite` (atomically).
pub fn write_sqlite(dir: &Path, audit: &Audit) -> Result<PathBuf> {
    mmm_export::write_database(dir, "audit.sqlite", SCHEMA, |tx| {
        if let Some(s) = &audit.summary {
            let mut st = tx
                .prepare("INSERT INTO audit_channels VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")
                .map_err(sql)?;
            for c in &s.channels {
                for (q, m) in [
                    ("roi", &c.roi),
                    ("contribution", &c.contribution),
                    ("mroi", &c.mroi),
                ] {
                    st.execute(params![
                        c.name,
                        q,
                        real(m.truth),
                        real(m.mean),
                        real(m.bias),
                        real(m.relative_bias),
                        real(m.sd),
                        real(m.relative_sd),
                        real(m.rmse),
                        real(m.q05),
                        real(m.q95),
                        opt(m.coverage),
                        c.verdict
                    ])
                    .map_err(sql)?;
                }
            }
            let mut st = tx
                .prepare("INSERT INTO audit_pairs VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                .map_err(sql)?;
            for p in &s.pairs {
                st.execute(params![
                    p.a,
                    p.b,
                    real(p.correlation),
                    real(p.combined_roi.truth),
                    real(p.combined_roi.mean),
                    real(p.combined_roi.relative_bias),
                    real(p.combined_roi.relative_sd),
                    p.combined_verdict
                ])
                .map_err(sql)?;
            }
            if let Some(d) = &s.decision {
                tx.execute(
                    "INSERT INTO audit_decision VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        d.n as i64,
                        real(d.share_raising_kpi),
                        real(d.lift_pct_mean),
                        real(d.lift_pct_q05),
                        real(d.lift_pct_median),
                        real(d.lift_pct_q95),
                        real(d.predicted_lift_pct_mean),
                        i64::from(d.supported),
                        d.message
                    ],
                )
                .map_err(sql)?;
                let mut st = tx
                    .prepare("INSERT INTO audit_moves VALUES (?1, ?2, ?3, ?4)")
                    .map_err(sql)?;
                for m in &d.moves {
                    st.execute(params![
                        m.name,
                        real(m.share_up),
                        real(m.share_down),
                        i64::from(m.stable)
                    ])
                    .map_err(sql)?;
                }
            }
        }
        let mut st = tx
            .prepare("INSERT INTO audit_replicates VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
            .map_err(sql)?;
        for r in &audit.replicates {
            if r.channels.is_empty() {
                st.execute(params![
                    r.index as i64,
                    r.seed.to_string(),
                    r.status,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null
                ])
                .map_err(sql)?;
            }
            for (k, c) in r.channels.iter().enumerate() {
                st.execute(params![
                    r.index as i64,
                    r.seed.to_string(),
                    r.status,
                    c.name,
                    real(c.roi),
                    opt(c.roi_ci.map(|x| x.0)),
                    opt(c.roi_ci.map(|x| x.1)),
                    real(c.contribution),
                    real(c.mroi),
                    opt(r.decision.as_ref().map(|d| d.optimal_spend[k])),
                    opt(r.decision.as_ref().map(|d| d.realised_lift_pct))
                ])
                .map_err(sql)?;
            }
        }
        Ok(())
    })
}
