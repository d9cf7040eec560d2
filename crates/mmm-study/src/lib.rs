//! # mmm-study
//!
//! A study runs one base experiment spec in many variants and compares them: which model,
//! which adstock, which saturation recovers the channels' ROI best. Variants are listed
//! (`{"name", "set": {pointer: value}}`) or spanned by a grid of JSON-pointer axes (`*` in a
//! pointer means every array element). Every variant is built and validated before any runs;
//! they then run in parallel (rayon), each through [`mmm_engine::experiment::run`], and the
//! comparison is written to `comparison.csv` and `comparison.json` (see [`comparison`]). With a
//! `truth.json` from `mmm simulate`, each channel's ROI error and a ranking by recovery are added.
//!
//! Scale-out: [`Shard`] `I/N` runs the variants `k` with `k mod N = I` (0-based); [`merge`]
//! combines shard outputs into the files one run would have written, byte for byte. See
//! `docs/studies.md` and `docs/scale-out.md`.
#![deny(missing_docs)]

pub mod comparison;
pub mod spec;
pub mod sqlite;

pub use comparison::{Comparison, VariantRow};
pub use spec::{load_study, parse_study, Study, StudySpec};

use indicatif::ProgressBar;
use mmm_core::error::{MmmError, Result, SpecIssue};
use mmm_engine::experiment;
use mmm_engine::output::{ensure_dir, write_atomic};
use mmm_engine::staging::{self, Staging};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One deterministic slice of a study: variant `k` belongs to shard `k mod count`.
/// Written `I/N` with a **0-based** `I` in `0 … N−1` (Slurm `--array=0-(N-1)`, Kubernetes
/// `JOB_COMPLETION_INDEX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// This shard, 0-based.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("'{s}' is not I/N (e.g. 0/4)"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("'{i}' is not a shard index"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("'{n}' is not a shard count"))?;
        if count == 0 {
            return Err("the shard count must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is not below the count {count} (indices are 0-based: 0 … {})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether variant `k` belongs to this shard.
    pub fn contains(&self, k: usize) -> bool {
        k % self.count == self.index
    }
}

/// Runs a study's variants (all, or one shard's) in parallel; writes each variant's outputs to
/// `out/variants/<name>/`. A variant that fails to fit is reported as `failed` in its row.
pub fn run_study(
    study: &Study,
    shard: Option<Shard>,
    out: &Path,
    progress: bool,
) -> Result<Comparison> {
    let todo: Vec<&spec::Variant> = study
        .variants
        .iter()
        .filter(|v| shard.is_none_or(|s| s.contains(v.index)))
        .collect();
    // The study's bar; bars of the runs themselves (tuning, sampling) are silenced while the
    // variants run in parallel, so that they do not draw over one another.
    let bar = if progress {
        mmm_core::progress::bar(todo.len() as u64, &study.spec.name)
    } else {
        ProgressBar::hidden()
    };
    let variants_dir = out.join("variants");
    ensure_dir(&variants_dir)?;
    let was_quiet = mmm_core::progress::is_quiet();
    mmm_core::progress::set_quiet(true);
    let rows: Vec<Result<VariantRow>> = todo
        .par_iter()
        .map(|v| {
            let row = match experiment::run(&v.loaded) {
                Ok(output) => {
                    experiment::write_outputs(&variants_dir.join(&v.name), &output)?;
                    let value = serde_json::to_value(&output.results)
                        .map_err(|e| MmmError::Compute(format!("serializing results: {e}")))?;
                    comparison::row_from_results(
                        v.index,
                        &v.name,
                        &v.set,
                        &value,
                        study.truth.as_ref(),
                    )
                }
                Err(e) => comparison::failed_row(v.index, &v.name, &v.set, &e),
            };
            bar.inc(1);
            Ok(row)
        })
        .collect();
    bar.finish_and_clear();
    mmm_core::progress::set_quiet(was_quiet);
    let mut rows = rows.into_iter().collect::<Result<Vec<_>>>()?;
    comparison::finalize(&mut rows, study.spec.ranking);
    Ok(Comparison {
        study: study.spec.name.clone(),
        variant_count: study.variants.len(),
        shard,
        with_truth: study.truth.is_some(),
        ranking: study.spec.ranking,
        variants: rows,
    })
}

/// Writes `comparison.json`, `comparison.csv` and `results.sqlite` (see [`sqlite`]) into `out`,
/// each atomically.
pub fn write_comparison(out: &Path, c: &Comparison) -> Result<Vec<PathBuf>> {
    ensure_dir(out)?;
    let a = write_atomic(out, "comparison.csv", c.to_csv()?.as_bytes())?;
    let b = write_atomic(out, "comparison.json", c.to_json()?.as_bytes())?;
    let d = sqlite::write_study_sqlite(out, c)?;
    Ok(vec![a, b, d])
}

fn merge_error(file: &Path, pointer: &str, message: String) -> MmmError {
    MmmError::Spec {
        file: file.display().to_string(),
        issues: vec![SpecIssue {
            pointer: pointer.into(),
            message,
        }],
    }
}

/// The error of a merge whose shard outputs do not cover the study: names the missing shards
/// `I/N` (when the outputs found are shards of one count `N`), the folders without a
/// `comparison.json` and the variants no output holds. Nothing has been written.
fn incomplete(
    dirs: &[PathBuf],
    found: &[&Comparison],
    absent: &[&PathBuf],
    missing: &[usize],
) -> MmmError {
    let list = |v: &[usize]| {
        v.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut issues = Vec::new();
    let counts: std::collections::BTreeSet<Option<usize>> =
        found.iter().map(|c| c.shard.map(|s| s.count)).collect();
    if let (1, Some(Some(n))) = (counts.len(), counts.first()) {
        let n = *n;
        let lost: Vec<usize> = (0..n)
            .filter(|i| !found.iter().any(|c| c.shard.is_some_and(|s| s.index == *i)))
            .collect();
        if !lost.is_empty() {
            let shards: Vec<String> = lost.iter().map(|i| format!("{i}/{n}")).collect();
            let rerun = match lost.as_slice() {
                [i] => format!("`mmm study STUDY --shard {i}/{n} --out DIR`"),
                _ => format!("each with `mmm study STUDY --shard I/{n} --out DIR`"),
            };
            issues.push(SpecIssue {
                pointer: "/shard".into(),
                message: format!(
                    "shard{} {} {} missing: rerun {rerun}, then merge again",
                    if lost.len() == 1 { "" } else { "s" },
                    shards.join(", "),
                    if lost.len() == 1 { "is" } else { "are" },
                ),
            });
        }
    }
    for d in absent {
        issues.push(SpecIssue {
            pointer: "/shard".into(),
            message: format!(
                "{} has no comparison.json: its shard did not finish (the task failed, was \
                 cancelled or has not run)",
                d.display()
            ),
        });
    }
    if !missing.is_empty() {
        issues.push(SpecIssue {
            pointer: "/variants".into(),
            message: format!(
                "no shard output holds variants {}; nothing was merged",
                list(missing)
            ),
        });
    }
    MmmError::Spec {
        file: dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        issues,
    }
}

/// Reads the shard outputs in `dirs`, checks that they are shards of one study that together
/// cover every variant exactly once, copies every variant's outputs into `out/variants/`, and
/// returns the comparison one unsharded run gives. `out` is normally a staging folder (see
/// [`merge_cli`]), so that a shard folder can be the merge's `--out` too.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Comparison> {
    let mut parts: Vec<(PathBuf, Comparison)> = Vec::new();
    // Folders without a comparison.json: their shard did not finish (written last, atomically).
    let mut absent: Vec<&PathBuf> = Vec::new();
    for d in dirs {
        let f = d.join("comparison.json");
        if !f.is_file() {
            absent.push(d);
            continue;
        }
        let text = mmm_core::input::read_json_text(&f)
            .map_err(|e| merge_error(&f, "", format!("cannot read: {e}")))?;
        let c: Comparison = serde_json::from_str(&text).map_err(|e| {
            merge_error(
                &f,
                "",
                format!(
                    "not a comparison.json of `mmm study` (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        parts.push((f, c));
    }
    let Some((_, first)) = parts.first() else {
        if dirs.is_empty() {
            return Err(MmmError::Compute(
                "merge needs at least one shard folder".into(),
            ));
        }
        return Err(incomplete(dirs, &[], &absent, &[]));
    };
    let (study, count, with_truth, ranking) = (
        first.study.clone(),
        first.variant_count,
        first.with_truth,
        first.ranking,
    );
    let mut rows: Vec<VariantRow> = Vec::new();
    let mut owner: Vec<Option<PathBuf>> = vec![None; count];
    for (f, c) in &parts {
        if c.ranking != ranking {
            return Err(merge_error(
                f,
                "/ranking",
                format!(
                    "ranks by '{}', another shard by '{}': the shards come from different study files",
                    c.ranking.name(),
                    ranking.name()
                ),
            ));
        }
        if c.study != study || c.variant_count != count || c.with_truth != with_truth {
            return Err(merge_error(
                f,
                "/study",
                format!(
                    "is from study '{}' ({} variants), not '{study}' ({count} variants)",
                    c.study, c.variant_count
                ),
            ));
        }
        for v in &c.variants {
            if v.index >= count {
                return Err(merge_error(
                    f,
                    "/variants",
                    format!("variant index {} is outside the study's {count}", v.index),
                ));
            }
            if let Some(prev) = &owner[v.index] {
                return Err(merge_error(
                    f,
                    "/variants",
                    format!(
                        "variant {} ('{}') is also in {}",
                        v.index,
                        v.name,
                        prev.display()
                    ),
                ));
            }
            owner[v.index] = Some(f.clone());
            rows.push(v.clone());
        }
    }
    let missing: Vec<usize> = owner
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_none())
        .map(|(i, _)| i)
        .collect();
    if !missing.is_empty() || !absent.is_empty() {
        let found: Vec<&Comparison> = parts.iter().map(|(_, c)| c).collect();
        return Err(incomplete(dirs, &found, &absent, &missing));
    }
    // Copy each variant's outputs.
    for (f, c) in &parts {
        let d = f.parent().unwrap_or(Path::new("."));
        for v in &c.variants {
            let src = d.join("variants").join(&v.name);
            let dst = out.join("variants").join(&v.name);
            if src == dst {
                continue;
            }
            for name in [
                "results.json",
                "decomposition.csv",
                "draws.csv",
                "model.json",
            ] {
                let p = src.join(name);
                if p.is_file() {
                    let bytes = mmm_core::input::read_bounded(&p, mmm_core::input::MAX_DATA_BYTES)
                        .map_err(|e| MmmError::io(&p, e))?;
                    ensure_dir(&dst)?;
                    write_atomic(&dst, name, &bytes)?;
                }
            }
        }
    }
    comparison::finalize(&mut rows, ranking);
    Ok(Comparison {
        study,
        variant_count: count,
        shard: None,
        with_truth,
        ranking,
        variants: rows,
    })
}

fn progress_wanted(quiet: bool) -> bool {
    !quiet && !mmm_core::progress::is_quiet() && std::io::stderr().is_terminal()
}

fn print_table(c: &Comparison) {
    let mut order: Vec<&VariantRow> = c.variants.iter().collect();
    order.sort_by_key(|v| (v.rank.unwrap_or(usize::MAX), v.index));
    mmm_core::outln!(
        "{:>4}  {:<40} {:>8} {:>10} {:>8}",
        "rank",
        "variant",
        "R²",
        match c.ranking {
            comparison::Ranking::SpendWeighted => "ROI error (spend-weighted)",
            comparison::Ranking::Absolute => "ROI error (absolute)",
            comparison::Ranking::Relative => "ROI error (relative)",
        },
        "status"
    );
    for v in order {
        mmm_core::outln!(
            "{:>4}  {:<40} {:>8} {:>10} {:>8}",
            v.rank.map(|r| r.to_string()).unwrap_or_else(|| "—".into()),
            v.name,
            v.metrics
                .get("fit.r2")
                .copied()
                .flatten()
                .map(|x| format!("{x:.4}"))
                .unwrap_or_default(),
            c.ranking
                .error(v)
                .map(|x| format!("{x:.4}"))
                .unwrap_or_else(|| "—".into()),
            v.status
        );
    }
}

/// The files a study reads: the study file, its base spec and truth, every variant's data and
/// calendar (an `--out` holding one of them is refused).
pub fn input_files(study_file: &Path, study: &Study) -> Vec<PathBuf> {
    let dir = study_file.parent().unwrap_or(Path::new(""));
    let mut files = vec![study_file.to_path_buf()];
    if let spec::BaseSpec::Path(p) = &study.spec.base {
        files.push(dir.join(p));
    }
    if let Some(t) = &study.spec.truth {
        files.push(dir.join(t));
    }
    for v in &study.variants {
        for (p, _) in mmm_data::input::spec_files(&v.loaded) {
            if !files.contains(&p) {
                files.push(p);
            }
        }
    }
    files
}

/// `mmm study STUDY --out DIR [--shard I/N]`. Everything is built in a staging folder of
/// `out` (see [`mmm_engine::staging`]); `before_commit` adds what the caller writes there too
/// (the report), then all of it moves into `out` together.
pub fn run_cli(
    study_file: &Path,
    out: &Path,
    shard: Option<Shard>,
    quiet: bool,
    before_commit: &dyn Fn(&Path) -> Result<()>,
) -> Result<()> {
    let study = load_study(study_file)?;
    staging::check_out(out, &input_files(study_file, &study))?;
    let stage = Staging::begin(out, staging::RESULT_OUTPUTS)?;
    let c = run_study(&study, shard, stage.dir(), progress_wanted(quiet))?;
    write_comparison(stage.dir(), &c)?;
    before_commit(stage.dir())?;
    let written = stage.commit()?;
    if !quiet {
        print_table(&c);
        for w in written {
            mmm_core::outln!("wrote {}", w.display());
        }
    }
    if c.with_truth {
        for v in c
            .variants
            .iter()
            .filter(|v| v.status == "ok" && c.ranking.error(v).is_none())
        {
            mmm_core::errln!(
                "warning: variant '{}' has no channel named in the truth; it is not ranked",
                v.name
            );
        }
    }
    for v in c.variants.iter().filter(|v| v.status != "ok") {
        mmm_core::errln!(
            "warning: variant '{}' failed: {}",
            v.name,
            v.error.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

/// `mmm study merge DIR... --out DIR`, staged as [`run_cli`] (`out` may be a shard folder).
pub fn merge_cli(
    dirs: &[PathBuf],
    out: &Path,
    quiet: bool,
    before_commit: &dyn Fn(&Path) -> Result<()>,
) -> Result<()> {
    staging::check_out(out, &[])?;
    let stage = Staging::begin(out, staging::RESULT_OUTPUTS)?;
    let c = merge(dirs, stage.dir())?;
    write_comparison(stage.dir(), &c)?;
    before_commit(stage.dir())?;
    let written = stage.commit()?;
    if !quiet {
        print_table(&c);
        for w in written {
            mmm_core::outln!("wrote {}", w.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_zero_based() {
        assert_eq!(
            "0/4".parse::<Shard>().unwrap(),
            Shard { index: 0, count: 4 }
        );
        assert_eq!(
            "3/4".parse::<Shard>().unwrap(),
            Shard { index: 3, count: 4 }
        );
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        let s = Shard { index: 1, count: 3 };
        assert_eq!(
            (0..9).filter(|k| s.contains(*k)).collect::<Vec<_>>(),
            vec![1, 4, 7]
        );
    }

    #[test]
    fn ranks_follow_the_error_with_ties_in_study_order() {
        let row = |index: usize, e: Option<f64>, ok: bool| VariantRow {
            index,
            name: format!("v{index}"),
            set: Default::default(),
            status: if ok { "ok".into() } else { "failed".into() },
            error: None,
            rank: None,
            mean_abs_roi_error: e,
            mean_abs_roi_error_absolute: None,
            roi_error_spend_weighted: None,
            metrics: Default::default(),
            channels: vec![],
        };
        let mut rows = vec![
            row(3, Some(0.1), true),
            row(0, Some(0.5), true),
            row(1, Some(0.1), true),
            row(2, None, false),
        ];
        comparison::finalize(&mut rows, comparison::Ranking::Relative);
        let ranks: Vec<Option<usize>> = rows.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, vec![Some(3), Some(1), None, Some(2)]);
    }
}
