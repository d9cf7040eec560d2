//! The CLI's commands as library calls, for programs that embed mmm (the Python package in
//! `bindings/python`): values in and out instead of files and printed text, through the same
//! code as the CLI, so that the numbers are the same to the bit.
//!
//! | CLI                      | here                                                      |
//! |--------------------------|-----------------------------------------------------------|
//! | `mmm validate SPEC`      | [`validate`] on a [`LoadedSpec`]                          |
//! | `mmm run SPEC --out DIR` | [`run`], then [`save`] (the same files) or [`report_html`] |
//! | `mmm plugins --json`     | [`plugins_json`]                                          |
//! | `mmm schema`             | [`mmm_data::spec::experiment_schema`]                     |
//!
//! A spec can come from a file ([`mmm_data::spec::load_spec`]) or a JSON value
//! ([`mmm_data::frame::spec_from_value`]); the data from the spec's file or from columns in
//! memory ([`mmm_data::frame::Frame::attach`]).

use mmm_core::dataset::ModelData;
use mmm_core::{MmmError, Result};
use mmm_data::dataset::FromSpec;
use mmm_data::spec::LoadedSpec;
use mmm_engine::experiment::{self, RunOutput};
use std::path::{Path, PathBuf};

/// Checks a loaded spec against its data, as `mmm validate` does: every data-layer check
/// (missing columns, bad cells, dates, constant columns, too few rows).
pub fn validate(loaded: &LoadedSpec) -> Result<()> {
    ModelData::from_spec(loaded).map(|_| ())
}

/// Fits the experiment (tuning first when the spec asks for it), as `mmm run` does.
pub fn run(loaded: &LoadedSpec) -> Result<RunOutput> {
    experiment::run(loaded)
}

/// Writes what `mmm run --out DIR` writes: `results.json`, `decomposition.csv`, `draws.csv`
/// (Bayesian models), `results.sqlite` and `report.html`; returns their paths.
pub fn save(out: &Path, output: &RunOutput) -> Result<Vec<PathBuf>> {
    mmm_engine::output::ensure_dir(out)?;
    let (files, db) = rayon::join(
        || experiment::write_outputs(out, output),
        || mmm_export::write_sqlite(out, output),
    );
    let mut written = files?;
    written.push(db?);
    written.push(mmm_report::write_report(out)?);
    Ok(written)
}

/// The HTML report of a run in memory: the same page `mmm run` writes to `report.html`, built
/// from the same texts it writes to `results.json`, `decomposition.csv` and `draws.csv`.
pub fn report_html(output: &RunOutput) -> Result<String> {
    let here = Path::new("<memory>");
    let json = results_json(output)?;
    let input = mmm_report::RunInput {
        results: mmm_report::input::parse_results(&json, &here.join("results.json"))?,
        decomposition: Some(mmm_report::input::parse_decomposition(
            &output.decomposition_csv,
            &here.join("decomposition.csv"),
        )?),
        draws: match &output.draws_csv {
            Some(d) => Some(mmm_report::input::parse_draws(d, &here.join("draws.csv"))?),
            None => None,
        },
        refresh: None,
    };
    mmm_report::run_report(&input)
}

/// The text `mmm run` writes to `results.json`.
pub fn results_json(output: &RunOutput) -> Result<String> {
    serde_json::to_string_pretty(&output.results)
        .map_err(|e| MmmError::Compute(format!("serializing results: {e}")))
}

/// Every registered plugin by kind, as `mmm plugins --json` prints it.
pub fn plugins_json() -> Result<serde_json::Value> {
    let text = crate::cli::plugins_json()?;
    serde_json::from_str(&text).map_err(|e| MmmError::Compute(e.to_string()))
}
