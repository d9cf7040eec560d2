//! A study's `results.sqlite`: one row per variant, per variant and metric, and per variant and
//! channel, for BI tools (written beside `comparison.json` by `mmm study` and `mmm study merge`).
//!
//! | table | columns |
//! |---|---|
//! | `study` | `name`, `variant_count`, `with_truth`, `ranking` |
//! | `study_variants` | `variant`, `name`, `status`, `error`, `rank`, `roi_error_spend_weighted`, `mean_abs_roi_error_absolute`, `mean_abs_roi_error`, `set_json` |
//! | `study_metrics` | `variant`, `name`, `metric`, `value` — `fit.r2`, `validation.…` |
//! | `study_channels` | `variant`, `name`, `channel`, `roi`, `contribution`, `spend`, `true_roi`, `roi_error` |
//!
//! `variant` is the variant's 0-based position in the study; `name` repeats its name so that a
//! table can be read on its own.

use crate::comparison::Comparison;
use mmm_core::Result;
use mmm_export::rusqlite::params;
use mmm_export::{sql, write_database};
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE study (name TEXT, variant_count INTEGER, with_truth INTEGER, ranking TEXT);
CREATE TABLE study_variants (variant INTEGER, name TEXT, status TEXT, error TEXT, rank INTEGER, roi_error_spend_weighted REAL, mean_abs_roi_error_absolute REAL, mean_abs_roi_error REAL, set_json TEXT);
CREATE TABLE study_metrics (variant INTEGER, name TEXT, metric TEXT, value REAL);
CREATE TABLE study_channels (variant INTEGER, name TEXT, channel TEXT, roi REAL, contribution REAL, spend REAL, true_roi REAL, roi_error REAL);
";

/// Writes `out/results.sqlite` for a comparison (atomically).
pub fn write_study_sqlite(out: &Path, c: &Comparison) -> Result<PathBuf> {
    write_database(out, "results.sqlite", SCHEMA, |tx| {
        tx.execute(
            "INSERT INTO study VALUES (?1, ?2, ?3, ?4)",
            params![
                c.study,
                c.variant_count as i64,
                c.with_truth,
                c.ranking.name()
            ],
        )
        .map_err(sql)?;
        let mut v = tx
            .prepare("INSERT INTO study_variants VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
            .map_err(sql)?;
        let mut m = tx
            .prepare("INSERT INTO study_metrics VALUES (?1, ?2, ?3, ?4)")
            .map_err(sql)?;
        let mut ch = tx
            .prepare("INSERT INTO study_channels VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
            .map_err(sql)?;
        for row in &c.variants {
            let set = serde_json::to_string(&row.set)
                .map_err(|e| mmm_core::MmmError::Compute(format!("study overrides: {e}")))?;
            v.execute(params![
                row.index as i64,
                row.name,
                row.status,
                row.error,
                row.rank.map(|r| r as i64),
                row.roi_error_spend_weighted,
                row.mean_abs_roi_error_absolute,
                row.mean_abs_roi_error,
                set
            ])
            .map_err(sql)?;
            for (metric, value) in &row.metrics {
                m.execute(params![row.index as i64, row.name, metric, value])
                    .map_err(sql)?;
            }
            for c in &row.channels {
                ch.execute(params![
                    row.index as i64,
                    row.name,
                    c.name,
                    c.roi,
                    c.contribution,
                    c.spend,
                    c.true_roi,
                    c.roi_error
                ])
                .map_err(sql)?;
            }
        }
        Ok(())
    })
}
