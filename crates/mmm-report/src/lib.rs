//! # mmm-report
//!
//! The HTML report of a run or a study: one self-contained `report.html` (inline CSS, charts
//! as inline SVG drawn with plotters' SVG backend, no scripts, no network), built only from
//! the files the run wrote — `results.json`, `decomposition.csv`, `draws.csv` — or, for a
//! study, `comparison.json`. So `mmm report DIR` rebuilds the same page at any time, and the
//! same results always give the same bytes.
//!
//! Each section appears only when the run has its data (see [`RUN_SECTIONS`] and
//! [`STUDY_SECTIONS`]); every chart is a `<figure id="chart-…">` and every figure in a table is
//! a cell with `data-key` and `data-value` (the exact number), so that tests and scripts can
//! find them. `docs/report.md` describes each section and how to read it.
#![deny(missing_docs)]

pub mod audit;
pub mod charts;
pub mod decision;
pub mod format;
pub mod input;
pub mod page;
pub mod run;
pub mod study;

pub use input::{read_comparison, read_run, RunInput};
pub use run::RUN_SECTIONS;
pub use study::STUDY_SECTIONS;

use mmm_core::{MmmError, Result};
use mmm_engine::output::{ensure_dir, write_atomic};
use std::path::{Path, PathBuf};

/// File name of the report.
pub const REPORT_FILE: &str = "report.html";

const FOOTER: &str =
    "Made by <code>mmm</code>. Rebuild this page with <code>mmm report DIR</code>; \
every figure comes from the files beside it. See docs/report.md for how to read each section.";

/// The report of a run whose outputs are in memory.
pub fn run_report(input: &RunInput) -> Result<String> {
    let sections = run::sections(input)?;
    Ok(page::page(
        &format!("{} — marketing mix report", input.results.name),
        &run::subtitle(input),
        &sections,
        &format!(
            "{FOOTER}{}",
            provenance_footer(input.results.provenance.as_ref())
        ),
    ))
}

/// The provenance line of a run's footer: tool version, command, seed and each input file's
/// SHA-256 (from `results.json`); the wall time and command line are in `run.json`, kept out of
/// the page so that the same results always give the same bytes.
fn provenance_footer(p: Option<&serde_json::Value>) -> String {
    let Some(p) = p else {
        return String::new();
    };
    let s = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string();
    let inputs: Vec<String> = p
        .get("inputs")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .map(|i| {
                    format!(
                        "{} (SHA-256 <code>{}</code>)",
                        format::esc(i.get("path").and_then(|v| v.as_str()).unwrap_or("?")),
                        format::esc(
                            i.get("sha256")
                                .and_then(|v| v.as_str())
                                .unwrap_or("not a file")
                        )
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "<br>Provenance: {} {} (<code>{}</code>), seed {}, inputs: {}; spec as run SHA-256 <code>{}</code> (in results.json). Wall time and command line: run.json.",
        format::esc(&s("tool")),
        format::esc(&s("tool_version")),
        format::esc(&s("command")),
        p.get("seed").map(|v| v.to_string()).unwrap_or_default(),
        if inputs.is_empty() { "none".to_string() } else { inputs.join(", ") },
        format::esc(&s("spec_sha256")),
    )
}

/// The report of a study from its comparison.
pub fn study_report(c: &input::Comparison) -> Result<String> {
    let sections = study::sections(c)?;
    Ok(page::page(
        &format!("{} — study report", c.study),
        &study::subtitle(c),
        &sections,
        FOOTER,
    ))
}

/// Whether `dir` holds a study's output (`comparison.json`).
pub fn is_study_dir(dir: &Path) -> bool {
    dir.join("comparison.json").is_file()
}

/// The report of the run or study in `dir`: a study when `dir/comparison.json` exists, else a
/// run from `dir/results.json`.
///
/// # Errors
/// A data error (exit code 2) naming the file when the folder has neither file or a file does
/// not parse.
pub fn build_report(dir: &Path) -> Result<String> {
    if !dir.is_dir() {
        return Err(MmmError::data(
            dir,
            None,
            None,
            "not a folder (expected the --out folder of `mmm run` or `mmm study`)",
        ));
    }
    if is_study_dir(dir) {
        study_report(&read_comparison(dir)?)
    } else {
        let input = read_run(dir)?;
        match audit::read_section(dir)? {
            None => run_report(&input),
            Some((a, weak)) => {
                // the audit of `mmm audit`: first when its verdict is weak, else after the
                // summary
                let mut sections = run::sections(&input)?;
                let at = if weak {
                    0
                } else {
                    sections
                        .iter()
                        .position(|s| s.id == "section-summary")
                        .map_or(0, |i| i + 1)
                };
                sections.insert(at, a);
                Ok(page::page(
                    &format!("{} — marketing mix report", input.results.name),
                    &run::subtitle(&input),
                    &sections,
                    FOOTER,
                ))
            }
        }
    }
}

/// `mmm report DIR`: builds the report of `dir` and moves `dir/report.html` into place
/// through a staging folder (see [`mmm_engine::staging`]: a kill leaves no temporary file);
/// returns its path.
pub fn rebuild_report(dir: &Path) -> Result<PathBuf> {
    let html = build_report(dir)?;
    let stage = mmm_engine::staging::Staging::begin(dir, &[])?;
    write_atomic(stage.dir(), REPORT_FILE, html.as_bytes())?;
    stage.commit()?;
    Ok(dir.join(REPORT_FILE))
}

/// Builds the report of `dir` and writes `dir/report.html` atomically; returns its path.
pub fn write_report(dir: &Path) -> Result<PathBuf> {
    let html = build_report(dir)?;
    ensure_dir(dir)?;
    write_atomic(dir, REPORT_FILE, html.as_bytes())
}
