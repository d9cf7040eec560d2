//! # mmm-audit
//!
//! `mmm audit`: can this model, on this data, recover what it reports? The audit
//!
//! 1. fits the spec as `mmm run` does (tuning included) and takes the fitted model as the
//!    truth: its transforms (the tuned hyperparameters, for a tuned spec), coefficients and
//!    fitted values `ŷ_t`;
//! 2. simulates `R` replicate data sets with the user's real spend, controls and dates:
//!    `y*_t = ŷ_t + e*_t`, where `e*` is a moving-block bootstrap of the centred residuals
//!    `e_t = y_t − ŷ_t`, inflated by `√(n / (n − p))` (`p` coefficients) so that their
//!    variance is the fit's unbiased residual variance;
//! 3. refits the same spec on every replicate (in parallel with rayon; replicate `r` has its
//!    own seeds, so the results do not depend on the thread count);
//! 4. scores each channel's ROI, contribution and marginal ROI against the truth (bias,
//!    spread, coverage of the reported intervals) with a verdict, finds the pairs of channels
//!    whose estimates trade off, and (when the spec has an optimizer) checks whether the
//!    recommended reallocation raises the KPI under the truth.
//!
//! The method, the thresholds and the limits are in `docs/audit.md`.
#![deny(missing_docs)]

pub mod sqlite;
pub mod summary;
pub mod truths;

pub use summary::{summarize, AuditSummary};
pub use truths::{AuditTruth, TruthDraw, DEFAULT_TRUTHS};

use indicatif::ProgressBar;
use mmm_core::error::{MmmError, Result};
use mmm_core::optimizer::ResponseCurves;
use mmm_data::spec::{parse_spec_with_search, LoadedSpec, SCHEMA_VERSION};
use mmm_engine::experiment::{self, RunOutput};
use mmm_engine::response::ChannelCurves;
use mmm_engine::staging::{self, Staging};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Every name `mmm audit` and `mmm audit merge` write into `--out`: the audit's files and
/// the fit's (`mmm run`'s outputs of the spec, whose report gets the audit section).
pub const AUDIT_OUTPUTS: &[&str] = &[
    "audit.json",
    "audit.sqlite",
    "results.json",
    "decomposition.csv",
    "draws.csv",
    "results.sqlite",
    "report.html",
];

/// The fit's files an audit folder holds beside the audit's.
const FIT_FILES: &[&str] = &[
    "results.json",
    "decomposition.csv",
    "draws.csv",
    "results.sqlite",
];

/// Default number of replicates.
pub const DEFAULT_REPLICATES: usize = 100;

/// Settings of one audit (spec's `audit` section, overridden by command-line flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditOptions {
    /// Number of replicate data sets.
    pub replicates: usize,
    /// Seed of the replicates.
    pub seed: u64,
    /// Block length of the moving-block residual bootstrap, in periods.
    pub block_length: usize,
}

/// Default block length for `n` periods: `max(2, ceil(n^(1/3)))`, the order that minimises
/// the mean squared error of block-bootstrap variance estimates (Hall, Horowitz & Jing 1995).
pub fn default_block_length(n: usize) -> usize {
    mmm_core::resample::default_block_length(n)
        .max(2)
        .min(n.max(1))
}

impl AuditOptions {
    /// The spec's `audit` section with the command line's overrides; `n` is the number of
    /// periods (for the default block length).
    pub fn resolve(
        loaded: &LoadedSpec,
        n: usize,
        replicates: Option<usize>,
        seed: Option<u64>,
        block_length: Option<usize>,
    ) -> Result<AuditOptions> {
        let a = loaded.spec.audit.clone().unwrap_or_default();
        let replicates = replicates.or(a.replicates).unwrap_or(DEFAULT_REPLICATES);
        if replicates < 2 {
            return Err(MmmError::param(
                "/audit/replicates",
                format!("the audit needs at least 2 replicates, got {replicates} (--replicates or /audit/replicates)"),
            ));
        }
        let block_length = block_length
            .or(a.block_length)
            .unwrap_or_else(|| default_block_length(n));
        if block_length == 0 || block_length > n {
            return Err(MmmError::param(
                "/audit/block_length",
                format!("the audit's block length must be between 1 and the number of periods ({n}), got {block_length} (--block-length or /audit/block_length)"),
            ));
        }
        Ok(AuditOptions {
            replicates,
            seed: seed.or(a.seed).unwrap_or(loaded.spec.seed),
            block_length,
        })
    }
}

/// One deterministic slice of an audit: replicate `r` belongs to shard `r mod count`
/// (written `I/N`, `I` 0-based, as a study's shard).
pub use mmm_study::Shard;

/// The truth one channel has in every replicate: the fitted model's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthChannel {
    /// Channel name.
    pub name: String,
    /// Total spend over the data (the same in every replicate).
    pub spend: f64,
    /// True contribution over the data.
    pub contribution: f64,
    /// True ROI, `contribution / spend`.
    pub roi: f64,
    /// True marginal ROI at current spend.
    pub mroi: f64,
    /// Current spend per period, where the optimizer starts from.
    pub current_spend: f64,
}

/// The fitted model taken as the truth, and what the replicates are drawn from.
#[derive(Debug, Clone)]
pub struct Truth {
    /// The fit of the user's spec on the user's data.
    pub output: RunOutput,
    /// The fitted values `ŷ_t` of the outcome stage.
    pub fitted: Vec<f64>,
    /// Centred, inflated residuals `√(n/(n−p)) (e_t − ē)`.
    pub residuals: Vec<f64>,
    /// The truth per channel.
    pub channels: Vec<TruthChannel>,
    /// For a Bayesian model, the posterior draws taken as alternative truths (replicate `r`
    /// is simulated from draw `r mod K`); empty otherwise, and then every replicate is
    /// simulated from the single truth above.
    pub draws: Vec<TruthDraw>,
}

/// Fits the spec and takes the fit as the truth (see [`fit_truth_with`]), with the spec's
/// `audit.truths` (default [`DEFAULT_TRUTHS`]) posterior draws as truths for a Bayesian model.
pub fn fit_truth(loaded: &LoadedSpec) -> Result<Truth> {
    fit_truth_with(loaded, None)
}

/// Fits the spec and takes the fit as the truth. Only single-stage (direct) causal structures
/// whose model fits the target on its own scale are supported: a mediator would have to be
/// simulated too.
///
/// For a model that reports coefficient draws (a Bayesian model), `K` =
/// `truths` (else the spec's `audit.truths`, else [`DEFAULT_TRUTHS`]) draws, at most the number
/// of draws, are taken as alternative truths ([`truths::draw_indices`], [`truths::truth_draw`]);
/// `K = 1` keeps the posterior-mean fit as the only truth. A model without draws has one truth,
/// and asking it for more is an error naming `/audit/truths`.
pub fn fit_truth_with(loaded: &LoadedSpec, truths: Option<usize>) -> Result<Truth> {
    let asked = truths.or(loaded.spec.audit.as_ref().and_then(|a| a.truths));
    if asked == Some(0) {
        return Err(MmmError::param(
            "/audit/truths",
            "the audit needs at least 1 truth (--truths or /audit/truths)",
        ));
    }
    if loaded.spec.data.geo.is_some() && loaded.spec.model.fits_geos() {
        return Err(MmmError::param(
            "/model/geo",
            "mmm audit simulates replicates of the national series; a joint geo fit \
             would need per-geo replicates, which it does not make yet: set model.geo to \
             \"national\" to audit the model of the geos' national sums",
        ));
    }
    let output = experiment::run(loaded)?;
    let est = &output.estimate;
    if est.stages.len() != 1 || est.effects.iter().any(|e| e.credit.is_some()) {
        return Err(MmmError::param(
            "/causal",
            "mmm audit supports single-stage causal structures (direct): a mediated structure would need its mediator simulated too",
        ));
    }
    let stage = est
        .outcome_stage()
        .ok_or_else(|| MmmError::Compute("the causal structure fitted no stage".into()))?;
    if stage.y != output.data.y {
        return Err(MmmError::param(
            "/model",
            "mmm audit needs a model that fits the target on its own scale",
        ));
    }
    let n = stage.y.len();
    let p = stage.fitted.coefficients.len();
    let fitted = stage.fitted.fitted.clone();
    let raw: Vec<f64> = stage.y.iter().zip(&fitted).map(|(y, f)| y - f).collect();
    let mean = raw.iter().sum::<f64>() / n as f64;
    let inflate = if n > p {
        (n as f64 / (n - p) as f64).sqrt()
    } else {
        1.0
    };
    let residuals = raw.iter().map(|e| (e - mean) * inflate).collect();
    let curves = ChannelCurves::new(&output.data, &output.estimate);
    let channels: Vec<TruthChannel> = output
        .results
        .channels
        .iter()
        .enumerate()
        .map(|(k, c)| TruthChannel {
            current_spend: curves.current_spend(k),
            name: c.name.clone(),
            spend: c.spend,
            contribution: c.contribution,
            roi: c.roi,
            mroi: c.mroi,
        })
        .collect();
    let n_draws = stage
        .fitted
        .coefficient_draws
        .as_ref()
        .map_or(0, |d| d.nrows());
    let draws = if n_draws == 0 {
        if asked.is_some_and(|k| k > 1) {
            return Err(MmmError::param(
                "/audit/truths",
                format!(
                    "the model '{}' has no posterior draws, so its audit has one truth (the fit); remove --truths / audit.truths or use a Bayesian model",
                    output.results.model.model_type
                ),
            ));
        }
        vec![]
    } else {
        let k = asked.unwrap_or(DEFAULT_TRUTHS);
        if k > 1 {
            truths::draw_indices(n_draws, k)
                .into_iter()
                .map(|d| truths::truth_draw(&output.data, &output.estimate, &channels, d))
                .collect::<Result<Vec<_>>>()?
        } else {
            vec![]
        }
    };
    Ok(Truth {
        output,
        fitted,
        residuals,
        channels,
        draws,
    })
}

/// The seed of replicate `r`'s refit (the spec's `seed` of its run): SplitMix64 of the
/// audit seed and `r`.
pub fn replicate_seed(seed: u64, r: usize) -> u64 {
    let mut z = seed ^ (r as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The truth replicate `r` is simulated from: `Some(r mod K)` (an index into
/// [`Truth::draws`]) when the truth has `K` posterior draws, `None` for the single truth.
pub fn replicate_truth(truth: &Truth, r: usize) -> Option<usize> {
    (!truth.draws.is_empty()).then(|| r % truth.draws.len())
}

/// Replicate `r`'s target: `ŷ + e*`, with `e*` the residuals resampled in moving blocks of
/// `block_length` periods (start of each block uniform over `0 … n − block_length`,
/// blocks concatenated and cut at `n`), drawn from ChaCha8 stream `r` of `seed`. With several
/// truths, `ŷ` and the residuals are those of the replicate's truth ([`replicate_truth`]).
pub fn replicate_target(truth: &Truth, options: &AuditOptions, r: usize) -> Vec<f64> {
    let (fitted, residuals) = match replicate_truth(truth, r) {
        Some(k) => (&truth.draws[k].fitted, &truth.draws[k].residuals),
        None => (&truth.fitted, &truth.residuals),
    };
    let n = fitted.len();
    let b = options.block_length.clamp(1, n);
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    rng.set_stream(r as u64);
    let mut e = Vec::with_capacity(n + b);
    while e.len() < n {
        let start = rng.random_range(0..=n - b);
        e.extend_from_slice(&residuals[start..start + b]);
    }
    fitted.iter().zip(&e).map(|(f, e)| f + e).collect()
}

/// Replicate data as CSV text: the data as prepared (pivoted, cleaned, aggregated) with the
/// target replaced by `y`.
pub fn replicate_csv(truth: &Truth, y: &[f64]) -> Result<String> {
    let table = &truth.output.data.table;
    let target = &truth.output.data.target_name;
    let j = table
        .headers
        .iter()
        .position(|h| h == target)
        .ok_or_else(|| MmmError::Compute(format!("the target column '{target}' is missing")))?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| MmmError::Compute(format!("writing replicate data: {e}"));
    w.write_record(&table.headers).map_err(err)?;
    for i in 0..table.n_rows() {
        let row: Vec<String> = table
            .cells
            .iter()
            .enumerate()
            .map(|(k, col)| {
                if k == j {
                    format!("{}", y[i])
                } else {
                    col[i].clone()
                }
            })
            .collect();
        w.write_record(&row).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| MmmError::Compute(format!("writing replicate data: {e}")))?;
    String::from_utf8(bytes).map_err(|e| MmmError::Compute(e.to_string()))
}

/// Replicate `r`'s spec, as JSON: the user's spec (search ranges and tuning included) reading
/// `data_path` (the replicate's prepared data, wide), with `seed` set to
/// [`replicate_seed`], the holiday calendar's path made absolute and the `audit` section
/// removed. Written to a file and run with `mmm run`, it gives the replicate's refit.
pub fn replicate_spec(loaded: &LoadedSpec, data_path: &Path, seed: u64) -> Value {
    let mut raw = loaded.raw.clone();
    if let Some(o) = raw.as_object_mut() {
        o.remove("audit");
        o.remove("$schema");
        o.insert("seed".into(), Value::from(seed));
    }
    if let Some(d) = raw.get_mut("data").and_then(Value::as_object_mut) {
        for k in [
            "format",
            "columns",
            "aggregate",
            "partial_weeks",
            "cleaning",
        ] {
            d.remove(k);
        }
        d.insert(
            "path".into(),
            Value::String(data_path.display().to_string()),
        );
    }
    if let Some(h) = raw.pointer_mut("/baseline/holidays/path") {
        if let Some(p) = h.as_str() {
            let p = Path::new(p);
            if !p.is_absolute() {
                *h = Value::String(loaded.dir.join(p).display().to_string());
            }
        }
    }
    raw
}

/// One channel's estimates in one replicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicateChannel {
    /// Channel name.
    pub name: String,
    /// Estimated ROI.
    pub roi: f64,
    /// Reported ROI interval, where the model reports one.
    pub roi_ci: Option<(f64, f64)>,
    /// Estimated contribution.
    pub contribution: f64,
    /// Reported contribution interval.
    pub contribution_ci: Option<(f64, f64)>,
    /// Estimated marginal ROI.
    pub mroi: f64,
    /// Reported marginal ROI interval.
    pub mroi_ci: Option<(f64, f64)>,
}

/// What the spec's optimizer recommended on one replicate's refit, and what it does under the
/// truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicateDecision {
    /// Recommended spend per period, per channel (spec order).
    pub optimal_spend: Vec<f64>,
    /// The lift the refit predicts, in percent.
    pub predicted_lift_pct: f64,
    /// The lift under the truth: `Σ_c R*_c(x_c) − Σ_c R*_c(x⁰_c)` over the planning horizon
    /// (`R*` the truth's response curves, `x` the recommended and `x⁰` the current spend).
    pub realised_lift: f64,
    /// `realised_lift` over the truth's media KPI at current spend, in percent.
    pub realised_lift_pct: f64,
}

/// One replicate: its seed and estimates, or why it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicateRow {
    /// Replicate index, 0-based.
    pub index: usize,
    /// The seed of its refit ([`replicate_seed`]).
    pub seed: u64,
    /// The truth it was simulated from (an index into [`Audit::truths`]), when the audit has
    /// several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truth: Option<usize>,
    /// `ok` or `failed`.
    pub status: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Per channel estimates (spec order; empty when failed).
    pub channels: Vec<ReplicateChannel>,
    /// The optimizer's recommendation, when the spec has an optimizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<ReplicateDecision>,
}

fn pair(lo: Option<f64>, hi: Option<f64>) -> Option<(f64, f64)> {
    lo.zip(hi)
}

/// The truth's KPI response to a spend per period per channel, summed over channels.
fn truth_kpi(curves: &dyn ResponseCurves, spend: &[f64]) -> f64 {
    spend
        .iter()
        .enumerate()
        .map(|(c, s)| curves.response(c, *s))
        .sum()
}

/// The row of one refit; `truth_curves` are the response curves of its truth (the
/// decision's realised lift is evaluated on them).
pub fn row_of(
    index: usize,
    seed: u64,
    out: &RunOutput,
    truth_curves: &dyn ResponseCurves,
) -> ReplicateRow {
    let r = &out.results;
    let channels = r
        .channels
        .iter()
        .map(|c| ReplicateChannel {
            name: c.name.clone(),
            roi: c.roi,
            roi_ci: pair(c.roi_ci_low, c.roi_ci_high),
            contribution: c.contribution,
            contribution_ci: pair(c.contribution_ci_low, c.contribution_ci_high),
            mroi: c.mroi,
            mroi_ci: pair(c.mroi_ci_low, c.mroi_ci_high),
        })
        .collect();
    let decision = r.optimization.as_ref().map(|o| {
        let current: Vec<f64> = (0..truth_curves.n_channels())
            .map(|c| truth_curves.current_spend(c))
            .collect();
        let optimal: Vec<f64> = current
            .iter()
            .enumerate()
            .map(|(c, x0)| {
                o.channels
                    .iter()
                    .find(|p| p.name == truth_curves.name(c))
                    .map_or(*x0, |p| p.optimal_spend)
            })
            .collect();
        let base = truth_kpi(truth_curves, &current);
        let lift = truth_kpi(truth_curves, &optimal) - base;
        ReplicateDecision {
            optimal_spend: optimal,
            predicted_lift_pct: o.lift_pct,
            realised_lift: lift,
            realised_lift_pct: if base != 0.0 {
                100.0 * lift / base.abs()
            } else {
                f64::NAN
            },
        }
    });
    ReplicateRow {
        index,
        seed,
        truth: None,
        status: "ok".into(),
        error: None,
        channels,
        decision,
    }
}

/// Simulates and refits replicate `r` in `work` (a scratch folder for its data file);
/// `truth_curves` are the response curves of its truth.
pub fn run_replicate(
    loaded: &LoadedSpec,
    truth: &Truth,
    truth_curves: &dyn ResponseCurves,
    options: &AuditOptions,
    r: usize,
    work: &Path,
) -> ReplicateRow {
    let seed = replicate_seed(options.seed, r);
    let attempt = || -> Result<RunOutput> {
        let y = replicate_target(truth, options, r);
        let csv = replicate_csv(truth, &y)?;
        let path = work.join(format!("replicate-{r}.csv"));
        std::fs::write(&path, csv).map_err(|e| MmmError::io(&path, e))?;
        let raw = replicate_spec(loaded, &path, seed);
        let file = format!("{} (audit replicate {r})", loaded.file);
        let (spec, search) = parse_spec_with_search(&raw, &file)?;
        let rep = LoadedSpec {
            spec,
            raw,
            file,
            dir: loaded.dir.clone(),
            search,
        };
        let out = experiment::run(&rep);
        let _ = std::fs::remove_file(&path);
        out
    };
    let mut row = match attempt() {
        Ok(out) => row_of(r, seed, &out, truth_curves),
        Err(e) => ReplicateRow {
            index: r,
            seed,
            truth: None,
            status: "failed".into(),
            error: Some(e.to_string()),
            channels: vec![],
            decision: None,
        },
    };
    row.truth = replicate_truth(truth, r);
    row
}

/// What `audit.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audit {
    /// Version of this format.
    pub schema_version: String,
    /// Experiment name.
    pub name: String,
    /// The settings.
    pub options: AuditOptions,
    /// The shard this file holds (absent for a whole audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Level of the intervals the model reports (e.g. 0.95).
    pub interval_level: f64,
    /// The model's type.
    pub model: String,
    /// The truth per channel.
    pub truth: Vec<TruthChannel>,
    /// For a Bayesian model, the posterior draws taken as alternative truths (each replicate's
    /// `truth` indexes them); absent when the audit has the single truth above.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truths: Vec<AuditTruth>,
    /// The truth's own optimizer result (lift it predicts), when the spec has an optimizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truth_lift_pct: Option<f64>,
    /// The scores (absent in a shard's file: the merge computes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<AuditSummary>,
    /// Every replicate (this shard's, in a shard's file), by index.
    pub replicates: Vec<ReplicateRow>,
}

/// Runs the audit (all replicates, or one shard's) in parallel.
pub fn run_audit(
    loaded: &LoadedSpec,
    truth: &Truth,
    options: &AuditOptions,
    shard: Option<Shard>,
    work: &Path,
    progress: bool,
) -> Result<Audit> {
    let truth_curves = ChannelCurves::new(&truth.output.data, &truth.output.estimate);
    let draw_curves = truth
        .draws
        .iter()
        .map(|t| {
            let stage =
                truth.output.estimate.outcome_stage().ok_or_else(|| {
                    MmmError::Compute("the causal structure fitted no stage".into())
                })?;
            truths::draw_curves(
                &truth.output.data,
                &truth.output.estimate,
                &stage.fitted,
                t.draw,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let todo: Vec<usize> = (0..options.replicates)
        .filter(|r| shard.is_none_or(|s| s.contains(*r)))
        .collect();
    let bar = if progress {
        mmm_core::progress::bar(todo.len() as u64, "audit")
    } else {
        ProgressBar::hidden()
    };
    let was_quiet = mmm_core::progress::is_quiet();
    mmm_core::progress::set_quiet(true);
    let rows: Vec<ReplicateRow> = todo
        .par_iter()
        .map(|r| {
            let curves: &dyn ResponseCurves = match replicate_truth(truth, *r) {
                Some(k) => draw_curves[k].as_ref(),
                None => &truth_curves,
            };
            let row = run_replicate(loaded, truth, curves, options, *r, work);
            bar.inc(1);
            row
        })
        .collect();
    bar.finish_and_clear();
    mmm_core::progress::set_quiet(was_quiet);
    let mut audit = Audit {
        schema_version: SCHEMA_VERSION.into(),
        name: loaded.spec.name.clone(),
        options: *options,
        shard,
        interval_level: truth.output.results.interval_level,
        model: truth.output.results.model.model_type.clone(),
        truth: truth.channels.clone(),
        truths: truth
            .draws
            .iter()
            .map(|t| AuditTruth {
                draw: t.draw,
                channels: t.channels.clone(),
            })
            .collect(),
        truth_lift_pct: truth
            .output
            .results
            .optimization
            .as_ref()
            .map(|o| o.lift_pct),
        summary: None,
        replicates: rows,
    };
    if shard.is_none() {
        audit.summary = Some(summarize(&audit));
    }
    Ok(audit)
}

/// Writes `audit.json` and `audit.sqlite` into `dir`.
pub fn write_audit(dir: &Path, audit: &Audit) -> Result<Vec<PathBuf>> {
    let json = serde_json::to_string_pretty(audit)
        .map_err(|e| MmmError::Compute(format!("serializing the audit: {e}")))?;
    let a = mmm_engine::output::write_atomic(dir, "audit.json", json.as_bytes())?;
    let b = sqlite::write_sqlite(dir, audit)?;
    Ok(vec![a, b])
}

/// Combines shard files (`audit.json` of `mmm audit --shard I/N`) into the audit one run
/// would have produced: checks they are shards of one audit (same name, options, truth and
/// shard count) and hold every replicate exactly once.
pub fn merge(dirs: &[PathBuf]) -> Result<Audit> {
    let mut shards = Vec::new();
    for d in dirs {
        let path = d.join("audit.json");
        let text = mmm_core::input::read_json_text(&path)
            .map_err(|e| MmmError::data(&path, None, None, format!("cannot read: {e}")))?;
        let a: Audit = serde_json::from_str(&text)
            .map_err(|e| MmmError::data(&path, None, None, format!("not an audit.json: {e}")))?;
        shards.push((path, a));
    }
    let Some((first_path, first)) = shards.first() else {
        return Err(MmmError::Compute(
            "mmm audit merge needs shard folders".into(),
        ));
    };
    let mut rows = Vec::new();
    let mut seen = vec![false; first.options.replicates];
    for (path, a) in &shards {
        let same = a.name == first.name
            && a.options == first.options
            && a.truth == first.truth
            && a.truths == first.truths
            && a.model == first.model
            && a.shard.map(|s| s.count) == first.shard.map(|s| s.count);
        if !same || a.shard.is_none() {
            return Err(MmmError::data(
                path,
                None,
                None,
                format!(
                    "not a shard of the same audit as {} (name, options, truth or shard count differ, or it is a whole audit)",
                    first_path.display()
                ),
            ));
        }
        for r in &a.replicates {
            if r.index >= seen.len() || seen[r.index] {
                return Err(MmmError::data(
                    path,
                    None,
                    None,
                    format!("replicate {} is out of range or in two shards", r.index),
                ));
            }
            seen[r.index] = true;
            rows.push(r.clone());
        }
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(MmmError::Compute(format!(
            "replicate {missing} is in no shard: give every shard folder"
        )));
    }
    rows.sort_by_key(|r| r.index);
    let mut audit = first.clone();
    audit.shard = None;
    audit.replicates = rows;
    audit.summary = Some(summarize(&audit));
    Ok(audit)
}

/// Command-line overrides of the spec's `audit` section.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `--replicates`.
    pub replicates: Option<usize>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--block-length`.
    pub block_length: Option<usize>,
    /// `--truths`: posterior draws taken as truths (Bayesian models).
    pub truths: Option<usize>,
}

/// `mmm audit SPEC --out DIR`: fits, simulates, refits and writes `audit.json` and
/// `audit.sqlite` with the fit's own outputs (`results.json`, `decomposition.csv`,
/// `results.sqlite`, as `mmm run` writes them), staged (all or nothing) inside `out`;
/// `before_commit` runs on the staging folder of a whole audit (the CLI writes the report).
pub fn run_cli(
    spec: &Path,
    out: &Path,
    overrides: Overrides,
    shard: Option<Shard>,
    quiet: bool,
    before_commit: &dyn Fn(&Path) -> Result<()>,
) -> Result<()> {
    let loaded = mmm_data::spec::load_spec(spec)?;
    let mut inputs = vec![spec.to_path_buf()];
    inputs.extend(
        mmm_data::input::spec_files(&loaded)
            .into_iter()
            .map(|(p, _)| p),
    );
    staging::check_out(out, &inputs)?;
    let truth = fit_truth_with(&loaded, overrides.truths)?;
    let options = AuditOptions::resolve(
        &loaded,
        truth.fitted.len(),
        overrides.replicates,
        overrides.seed,
        overrides.block_length,
    )?;
    let stage = Staging::begin(out, AUDIT_OUTPUTS)?;
    // the replicates' data files live in a scratch folder inside the staging folder
    let work = stage.dir().join(".replicates");
    mmm_engine::output::ensure_dir(&work)?;
    let audit = run_audit(
        &loaded,
        &truth,
        &options,
        shard,
        &work,
        !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    )?;
    std::fs::remove_dir_all(&work).map_err(|e| MmmError::io(&work, e))?;
    write_audit(stage.dir(), &audit)?;
    experiment::write_outputs(stage.dir(), &truth.output)?;
    mmm_export::write_sqlite(stage.dir(), &truth.output)?;
    if shard.is_none() {
        before_commit(stage.dir())?;
    }
    let written = stage.commit()?;
    finish(&audit, &written, quiet);
    Ok(())
}

/// `mmm audit merge DIR... --out DIR`: the merged audit, with the fit's files copied from the
/// first shard folder; `before_commit` as for [`run_cli`].
pub fn merge_cli(
    dirs: &[PathBuf],
    out: &Path,
    quiet: bool,
    before_commit: &dyn Fn(&Path) -> Result<()>,
) -> Result<()> {
    staging::check_out(out, &[])?;
    let audit = merge(dirs)?;
    let stage = Staging::begin(out, AUDIT_OUTPUTS)?;
    write_audit(stage.dir(), &audit)?;
    for name in FIT_FILES {
        let from = dirs[0].join(name);
        if from.is_file() {
            let to = stage.dir().join(name);
            std::fs::copy(&from, &to).map_err(|e| MmmError::io(&from, e))?;
        }
    }
    before_commit(stage.dir())?;
    let written = stage.commit()?;
    finish(&audit, &written, quiet);
    Ok(())
}

fn finish(audit: &Audit, written: &[PathBuf], quiet: bool) {
    if !quiet {
        if let Some(s) = &audit.summary {
            mmm_core::outln!(
                "audit of '{}': {} replicates ({} failed), verdict {}",
                audit.name,
                s.n_ok + s.n_failed,
                s.n_failed,
                s.verdict
            );
            mmm_core::outln!(
                "{:<20} {:>10} {:>10} {:>9} {:>9} {:>9}  verdict",
                "channel",
                "true ROI",
                "mean ROI",
                "rel.bias",
                "rel.sd",
                "coverage"
            );
            for c in &s.channels {
                mmm_core::outln!(
                    "{:<20} {:>10.4} {:>10.4} {:>8.1}% {:>8.1}% {:>9}  {}",
                    c.name,
                    c.roi.truth,
                    c.roi.mean,
                    100.0 * c.roi.relative_bias,
                    100.0 * c.roi.relative_sd,
                    c.roi
                        .coverage
                        .map_or("—".to_string(), |v| format!("{:.1}%", 100.0 * v)),
                    c.verdict
                );
            }
            for p in &s.pairs {
                mmm_core::outln!(
                    "not separately identified: {} and {} (ROI correlation {:.2}); together: {}",
                    p.a,
                    p.b,
                    p.correlation,
                    p.combined_verdict
                );
            }
            if let Some(d) = &s.decision {
                mmm_core::outln!("decision: {}", d.message);
            }
        }
        for w in written {
            mmm_core::outln!("wrote {}", w.display());
        }
    }
    for r in audit.replicates.iter().filter(|r| r.status != "ok") {
        mmm_core::errln!(
            "warning: replicate {} failed: {}",
            r.index,
            r.error.as_deref().unwrap_or("")
        );
    }
}
