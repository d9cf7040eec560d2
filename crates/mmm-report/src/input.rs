//! Reading a run's or a study's output folder: `results.json`, `decomposition.csv`,
//! `draws.csv`, `comparison.json`.
//!
//! The report reads the files as they are written (see `docs/results.md`), leniently: a field
//! the report does not know is ignored, a missing optional field hides its section. Numbers
//! that the writer could not represent (NaN, ±∞) arrive as `null` and read as `None`.

use mmm_core::{MmmError, Result};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The parts of `results.json` the report shows.
#[derive(Debug, Clone, Deserialize)]
pub struct Results {
    /// Version of the results format.
    pub schema_version: String,
    /// Experiment name.
    pub name: String,
    /// The model review of a Bayesian run.
    #[serde(default)]
    pub review: Option<Value>,
    /// The data as used.
    #[serde(default)]
    pub data: DataSummary,
    /// The model.
    #[serde(default)]
    pub model: ModelSummary,
    /// In-sample fit.
    #[serde(default)]
    pub fit: Option<Fit>,
    /// Coefficients of the outcome stage.
    #[serde(default)]
    pub coefficients: Vec<Coefficient>,
    /// Per-channel results.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Level of every interval.
    #[serde(default)]
    pub interval_level: Option<f64>,
    /// Response curves per channel.
    #[serde(default)]
    pub response_curves: Vec<Curve>,
    /// Hyperparameter search.
    #[serde(default)]
    pub tuning: Option<Tuning>,
    /// Out-of-sample validation.
    #[serde(default)]
    pub validation: Option<Validation>,
    /// Lift tests beside the model's lifts.
    #[serde(default)]
    pub calibration: Option<Calibration>,
    /// Budget optimization.
    #[serde(default)]
    pub optimization: Option<Optimization>,
    /// Sampler diagnostics of a Bayesian model.
    #[serde(default)]
    pub posterior: Option<Posterior>,
    /// Data-cleaning counts (column, rule, count), when the run cleaned its data.
    #[serde(default)]
    pub data_quality: Option<Value>,
    /// Warnings about the fit or the data.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Where the results came from (tool version, seed, input hashes, resolved spec).
    #[serde(default)]
    pub provenance: Option<Value>,
    /// Per geo of a panel fitted jointly.
    #[serde(default)]
    pub geos: Option<Vec<Geo>>,
}

/// One geo of `results.json` `geos`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Geo {
    /// The geo's name.
    pub name: String,
    /// Its population.
    pub population: Option<f64>,
    /// Its KPI over the periods.
    pub kpi: Option<f64>,
    /// Its in-sample fit.
    pub fit: Option<Fit>,
    /// Its channels.
    pub channels: Vec<GeoChannel>,
}

/// One channel of a geo.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GeoChannel {
    /// Channel name.
    pub name: String,
    /// Spend in the geo.
    pub spend: Option<f64>,
    /// Contribution in the geo.
    pub contribution: Option<f64>,
    /// ROI in the geo.
    pub roi: Option<f64>,
    /// Low end of its interval.
    pub roi_ci_low: Option<f64>,
    /// High end of its interval.
    pub roi_ci_high: Option<f64>,
}

/// `results.json` `calibration`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Calibration {
    /// Whether the model was fitted to the tests.
    pub fitted_to_tests: bool,
    /// MAPE.LIFT.
    pub mape_lift: Option<f64>,
    /// Per test.
    pub tests: Vec<LiftTest>,
}

/// One test of `calibration.tests`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LiftTest {
    /// Label.
    pub name: String,
    /// Channel.
    pub channel: String,
    /// First period.
    pub start: String,
    /// Last period.
    pub end: String,
    /// `total` or `window`.
    pub scope: String,
    /// Spend change over the window.
    pub spend_change: Option<f64>,
    /// Measured lift.
    pub lift: Option<f64>,
    /// Its standard error.
    pub standard_error: Option<f64>,
    /// The model's lift.
    pub model_lift: Option<f64>,
    /// Low end of its interval.
    pub model_lift_ci_low: Option<f64>,
    /// High end.
    pub model_lift_ci_high: Option<f64>,
    /// `(model − measured) / standard error`.
    pub z: Option<f64>,
}

/// `results.json` `data`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DataSummary {
    /// Data file as named in the spec.
    pub path: String,
    /// Target column.
    pub target: String,
    /// Number of periods.
    pub n_obs: usize,
    /// `weekly` or `daily`.
    pub frequency: String,
    /// First date.
    pub start: String,
    /// Last date.
    pub end: String,
}

/// `results.json` `model`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ModelSummary {
    /// The model's `type`.
    #[serde(rename = "type")]
    pub model_type: String,
    /// Its parameters as used.
    pub parameters: Value,
    /// The causal structure's `type`.
    pub causal: String,
    /// Model-level statistics.
    pub statistics: BTreeMap<String, Option<f64>>,
}

/// Fit metrics (`fit`, and the train/test metrics of a validation split).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Fit {
    /// R².
    pub r2: Option<f64>,
    /// Adjusted R².
    pub adj_r2: Option<f64>,
    /// Root mean squared error.
    pub rmse: Option<f64>,
    /// RMSE over the target's range.
    pub nrmse: Option<f64>,
    /// Mean absolute error.
    pub mae: Option<f64>,
    /// Mean absolute percentage error, as a fraction.
    pub mape: Option<f64>,
    /// Durbin–Watson statistic of the residuals.
    pub durbin_watson: Option<f64>,
    /// Periods.
    pub n_obs: Option<f64>,
    /// Estimated coefficients.
    pub n_params: Option<f64>,
}

/// One coefficient.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Coefficient {
    /// Column name.
    pub name: String,
    /// Role: `intercept`, `baseline`, `control`, `media`, `mediator`.
    pub role: String,
    /// Estimate.
    pub estimate: Option<f64>,
    /// Standard error (or posterior sd).
    pub std_error: Option<f64>,
    /// t statistic.
    pub t_value: Option<f64>,
    /// p value.
    pub p_value: Option<f64>,
    /// Interval low end.
    pub ci_low: Option<f64>,
    /// Interval high end.
    pub ci_high: Option<f64>,
    /// Variance inflation factor.
    pub vif: Option<f64>,
}

/// One channel's results.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Channel {
    /// Channel name.
    pub name: String,
    /// Total spend.
    pub spend: Option<f64>,
    /// Summed modeled effect.
    pub contribution: Option<f64>,
    /// Contribution interval, low end.
    pub contribution_ci_low: Option<f64>,
    /// Contribution interval, high end.
    pub contribution_ci_high: Option<f64>,
    /// Share of all channels' contribution.
    pub share: Option<f64>,
    /// Contribution over spend.
    pub roi: Option<f64>,
    /// ROI interval, low end.
    pub roi_ci_low: Option<f64>,
    /// ROI interval, high end.
    pub roi_ci_high: Option<f64>,
    /// Marginal ROI at current spend.
    pub mroi: Option<f64>,
    /// Credible interval of the share (Bayesian models).
    pub share_ci_low: Option<f64>,
    /// High end of the share's credible interval.
    pub share_ci_high: Option<f64>,
    /// Credible interval of the marginal ROI (Bayesian models).
    pub mroi_ci_low: Option<f64>,
    /// High end of the marginal ROI's credible interval.
    pub mroi_ci_high: Option<f64>,
    /// Spend per period where marginal ROI falls to 1.
    pub breakeven_spend: Option<f64>,
}

/// One point of a response curve.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CurvePoint {
    /// Spend per period.
    pub spend: Option<f64>,
    /// Expected KPI over the horizon.
    pub response: Option<f64>,
    /// Marginal ROI.
    pub mroi: Option<f64>,
    /// Credible interval of the response (Bayesian models).
    pub response_low: Option<f64>,
    /// High end of the response's credible interval.
    pub response_high: Option<f64>,
}

/// A channel's response curve.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Curve {
    /// Channel name.
    pub channel: String,
    /// Current (mean) spend per period.
    pub current_spend: Option<f64>,
    /// Expected KPI at current spend.
    pub current_response: Option<f64>,
    /// Marginal ROI at current spend.
    pub mroi: Option<f64>,
    /// Spend per period where marginal ROI falls to 1.
    pub breakeven_spend: Option<f64>,
    /// Sampled points.
    pub points: Vec<CurvePoint>,
    /// Lag weights of the channel's carry-over.
    pub adstock_weights: Option<Vec<Option<f64>>>,
}

/// One candidate of a tuning search.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Candidate {
    /// Parameter values by JSON pointer.
    pub parameters: BTreeMap<String, Option<f64>>,
    /// Objective values by name.
    pub objectives: BTreeMap<String, Option<f64>>,
}

/// One searched parameter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SearchParam {
    /// JSON pointer in the spec.
    pub pointer: String,
    /// Lower bound.
    pub low: Option<f64>,
    /// Upper bound.
    pub high: Option<f64>,
    /// Searched on a log scale.
    pub log: bool,
}

/// `results.json` `tuning`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Tuning {
    /// The strategy (a name or an object with `type`).
    pub strategy: Value,
    /// Evaluations run.
    pub evaluations: Option<f64>,
    /// Evaluations that failed.
    pub failed: Option<f64>,
    /// Objective names, in order.
    pub objectives: Vec<String>,
    /// Where the objectives are measured.
    pub on: Value,
    /// The searched parameters.
    pub search_space: Vec<SearchParam>,
    /// The chosen candidate.
    pub best: Option<Candidate>,
    /// The non-dominated candidates.
    pub pareto: Vec<Candidate>,
    /// What the channels' intervals are after tuning (`conditional_on_tuned_values` or
    /// `bootstrap_over_search`).
    pub intervals: Option<String>,
    /// The bootstrap over the search (`resamples`, `failed`, `level`…), when run.
    pub uncertainty: Option<Value>,
}

/// A validation split.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Split {
    /// Training periods.
    pub n_train: Option<f64>,
    /// Test periods.
    pub n_test: Option<f64>,
    /// First test date.
    pub test_start: Option<String>,
    /// Training metrics.
    pub train: Option<Fit>,
    /// Test metrics.
    pub test: Option<Fit>,
    /// Decomposition RSSD on the training periods.
    pub decomp_rssd: Option<f64>,
}

/// `results.json` `validation`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Validation {
    /// The train/test split.
    pub split: Option<Split>,
    /// Rolling-origin folds.
    pub folds: Vec<Value>,
    /// Mean over folds.
    pub folds_mean: Option<Value>,
}

/// One channel of an optimized plan.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PlanChannel {
    /// Channel name.
    pub name: String,
    /// Current spend per period.
    pub current_spend: Option<f64>,
    /// Optimal spend per period.
    pub optimal_spend: Option<f64>,
    /// Change in percent.
    pub change_pct: Option<f64>,
    /// Expected contribution at the optimal spend.
    pub expected_contribution: Option<f64>,
    /// Marginal ROI at the optimal spend.
    pub mroi: Option<f64>,
    /// With a planning window: the plan's and the reference plan's figures.
    pub window: Option<ChannelWindowPlan>,
}

/// One channel × geo of a plan allocated per geo (`optimization.geo_plan`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GeoPlanChannel {
    /// Channel name.
    pub channel: String,
    /// Geo name.
    pub geo: String,
    /// Current spend per period in the geo.
    pub current_spend: Option<f64>,
    /// Optimal spend per period in the geo.
    pub optimal_spend: Option<f64>,
    /// Change in percent.
    pub change_pct: Option<f64>,
    /// The geo's expected contribution at the optimal spend.
    pub expected_contribution: Option<f64>,
    /// Marginal ROI at the optimal spend.
    pub mroi: Option<f64>,
}

/// One budget level of a sweep.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Scenario {
    /// Multiple of current total spend, when the sweep is by multiples.
    pub level: Option<f64>,
    /// Total budget per period.
    pub total_budget: Option<f64>,
    /// Expected media-driven KPI.
    pub expected_kpi: Option<f64>,
    /// Expected KPI over budget.
    pub roi: Option<f64>,
    /// Whether the bounds could be met.
    pub feasible: Option<bool>,
    /// Spend per channel.
    pub spend: BTreeMap<String, Option<f64>>,
}

/// `results.json` `optimization`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Optimization {
    /// What was optimized.
    pub objective: String,
    /// Total budget per period.
    pub total_budget: Option<f64>,
    /// Per-channel plan.
    pub channels: Vec<PlanChannel>,
    /// Expected KPI at current spend.
    pub expected_kpi_current: Option<f64>,
    /// Expected KPI of the plan.
    pub expected_kpi_optimal: Option<f64>,
    /// Lift in percent.
    pub lift_pct: Option<f64>,
    /// Budget sweep.
    pub scenarios: Option<Vec<Scenario>>,
    /// Optimizer-specific details (`posterior_lift` for Bayesian models…).
    pub details: Option<Value>,
    /// With a planning window: its dates, reference window, totals and schedule.
    pub window: Option<PlanWindow>,
    /// With `geo_allocation`: the plan per channel × geo (`channels` then holds national
    /// totals).
    pub geo_plan: Option<Vec<GeoPlanChannel>>,
}

/// `results.json` `optimization.window`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PlanWindow {
    /// `future` or `history`.
    pub kind: String,
    /// First date.
    pub start: String,
    /// Last date.
    pub end: String,
    /// Number of periods.
    pub periods: usize,
    /// Spend pattern (`reference` or `flat`).
    pub pattern: String,
    /// The reference window: `start`, `end`, `source`.
    pub reference: Value,
    /// Totals of the optimized plan.
    pub plan: WindowFigures,
    /// Totals of the reference plan.
    pub reference_plan: WindowFigures,
}

/// A plan's figures over a window.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WindowFigures {
    /// Spend over the window.
    pub spend: Option<f64>,
    /// KPI in the window, carry-over in included.
    pub contribution: Option<f64>,
    /// Carry-over in from history.
    pub carry_in: Option<f64>,
    /// Carry-over out after the window.
    pub carry_out: Option<f64>,
    /// The plan's effect.
    pub incremental: Option<f64>,
    /// Incremental over spend.
    pub roi: Option<f64>,
    /// Marginal ROI.
    pub mroi: Option<f64>,
}

/// `optimization.channels[].window`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChannelWindowPlan {
    /// The optimized plan.
    pub plan: WindowFigures,
    /// The reference plan.
    pub reference: WindowFigures,
}

/// Sampler diagnostics of one parameter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ParamDiagnostics {
    /// Posterior mean.
    pub mean: Option<f64>,
    /// Posterior sd.
    pub sd: Option<f64>,
    /// HDI low end.
    pub hdi_low: Option<f64>,
    /// HDI high end.
    pub hdi_high: Option<f64>,
    /// Rank-normalized split R-hat.
    pub r_hat: Option<f64>,
    /// Bulk effective sample size.
    pub ess_bulk: Option<f64>,
    /// Tail effective sample size.
    pub ess_tail: Option<f64>,
}

/// `results.json` `posterior.diagnostics`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Diagnostics {
    /// Chains.
    pub chains: Option<f64>,
    /// Draws per chain.
    pub draws: Option<f64>,
    /// Divergent transitions per chain.
    pub divergences: Vec<Option<f64>>,
    /// E-BFMI per chain.
    pub e_bfmi: Vec<Option<f64>>,
    /// Tree-depth hits per chain.
    pub max_tree_depth_hits: Vec<Option<f64>>,
    /// HDI probability.
    pub hdi_prob: Option<f64>,
    /// Per-parameter diagnostics.
    pub parameters: BTreeMap<String, ParamDiagnostics>,
}

/// `results.json` `posterior`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Posterior {
    /// Sampler diagnostics.
    pub diagnostics: Option<Diagnostics>,
    /// Sampler warnings.
    pub warnings: Vec<String>,
}

/// `decomposition.csv`: dates, actual, predicted, optional interval, and one column per term.
#[derive(Debug, Clone, Default)]
pub struct Decomposition {
    /// Dates.
    pub dates: Vec<String>,
    /// Observed target.
    pub actual: Vec<f64>,
    /// Prediction.
    pub predicted: Vec<f64>,
    /// Predictive interval, when the model has one.
    pub interval: Option<(Vec<f64>, Vec<f64>)>,
    /// `(term, values)` for every design column, in file order.
    pub terms: Vec<(String, Vec<f64>)>,
}

/// `draws.csv`: per draw its chain and one value per parameter.
#[derive(Debug, Clone, Default)]
pub struct Draws {
    /// Parameter names, in column order.
    pub names: Vec<String>,
    /// Chain of each row.
    pub chain: Vec<usize>,
    /// Values, `values[p][row]`.
    pub values: Vec<Vec<f64>>,
}

/// `comparison.json` of a study.
#[derive(Debug, Clone, Deserialize)]
pub struct Comparison {
    /// Study name.
    pub study: String,
    /// Whether a truth was given.
    #[serde(default)]
    pub with_truth: bool,
    /// The ranking criterion (`spend_weighted`, `absolute` or `relative`).
    #[serde(default)]
    pub ranking: Option<String>,
    /// One row per variant.
    pub variants: Vec<VariantRow>,
}

/// One variant of a study.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VariantRow {
    /// Position in the study.
    pub index: usize,
    /// Variant name.
    pub name: String,
    /// `ok` or `failed`.
    pub status: String,
    /// Rank by recovery (with truth).
    pub rank: Option<f64>,
    /// Mean absolute relative ROI error (with truth).
    pub mean_abs_roi_error: Option<f64>,
    /// Mean absolute ROI error (with truth).
    pub mean_abs_roi_error_absolute: Option<f64>,
    /// Spend-weighted absolute ROI error (with truth).
    pub roi_error_spend_weighted: Option<f64>,
    /// Metrics by name (`fit.r2`…).
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Per-channel ROI and its error.
    pub channels: Vec<VariantChannel>,
    /// Why the variant failed.
    pub error: Option<String>,
}

/// One channel of a study variant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VariantChannel {
    /// Channel name.
    pub name: String,
    /// Estimated ROI.
    pub roi: Option<f64>,
    /// Contribution.
    pub contribution: Option<f64>,
    /// True ROI (with truth).
    pub true_roi: Option<f64>,
    /// Relative ROI error (with truth).
    pub roi_error: Option<f64>,
}

/// Everything a run's folder holds for the report.
#[derive(Debug, Clone)]
pub struct RunInput {
    /// `results.json`.
    pub results: Results,
    /// `decomposition.csv`, when present.
    pub decomposition: Option<Decomposition>,
    /// `draws.csv`, when present.
    pub draws: Option<Draws>,
    /// `refresh.json` (written by `mmm refresh`), when present.
    pub refresh: Option<serde_json::Value>,
}

fn bad(path: &Path, message: impl Into<String>) -> MmmError {
    MmmError::data(path, None, None, message)
}

fn read(path: &Path) -> Result<String> {
    // outputs of mmm (draws.csv can be large): the data file bound
    mmm_core::input::read_text(path, mmm_core::input::MAX_DATA_BYTES)
        .map_err(|e| MmmError::io(path, e))
}

/// A cell as a number; empty, `NaN` and unparsable cells read as NaN.
fn cell(s: &str) -> f64 {
    s.trim().parse().unwrap_or(f64::NAN)
}

/// Reads `dir/results.json` (required) and `decomposition.csv` / `draws.csv` (when present).
///
/// # Errors
/// A data error (exit code 2) naming the file when `results.json` is missing or does not parse,
/// or when a CSV file is malformed.
pub fn read_run(dir: &Path) -> Result<RunInput> {
    let path = dir.join("results.json");
    if !path.is_file() {
        return Err(bad(
            &path,
            "not found: the folder holds no run results (write them with `mmm run SPEC --out DIR`)",
        ));
    }
    let results = parse_results(&read(&path)?, &path)?;
    let dpath = dir.join("decomposition.csv");
    let decomposition = if dpath.is_file() {
        Some(parse_decomposition(&read(&dpath)?, &dpath)?)
    } else {
        None
    };
    let wpath = dir.join("draws.csv");
    let draws = if wpath.is_file() {
        Some(parse_draws(&read(&wpath)?, &wpath)?)
    } else {
        None
    };
    let rpath = dir.join("refresh.json");
    let refresh = if rpath.is_file() {
        Some(
            serde_json::from_str(&read(&rpath)?)
                .map_err(|e| bad(&rpath, format!("not JSON: {e}")))?,
        )
    } else {
        None
    };
    Ok(RunInput {
        results,
        decomposition,
        draws,
        refresh,
    })
}

/// Parses the text of a `results.json`; `path` names it in errors.
pub fn parse_results(text: &str, path: &Path) -> Result<Results> {
    serde_json::from_str(text).map_err(|e| {
        bad(
            path,
            format!(
                "not the results.json of an mmm run (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

fn csv_records(text: &str, path: &Path) -> Result<(Vec<String>, Vec<csv::StringRecord>)> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| bad(path, format!("unreadable header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec
            .map_err(|e| MmmError::data(path, Some(i + 2), None, format!("unreadable row: {e}")))?;
        if rec.len() != header.len() {
            return Err(MmmError::data(
                path,
                Some(i + 2),
                None,
                format!("{} cells where the header has {}", rec.len(), header.len()),
            ));
        }
        rows.push(rec);
    }
    Ok((header, rows))
}

/// Parses the text of a `decomposition.csv`; `path` names it in errors.
pub fn parse_decomposition(text: &str, path: &Path) -> Result<Decomposition> {
    let (header, rows) = csv_records(text, path)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(d), Some(a), Some(p)) = (col("date"), col("actual"), col("predicted")) else {
        return Err(bad(path, "expected the columns date, actual and predicted"));
    };
    let lo = col("predicted_low");
    let hi = col("predicted_high");
    let geo = col("geo");
    let fixed = [Some(d), Some(a), Some(p), lo, hi, geo];
    let term_cols: Vec<usize> = (0..header.len())
        .filter(|j| !fixed.contains(&Some(*j)))
        .collect();
    let mut out = Decomposition {
        terms: term_cols
            .iter()
            .map(|&j| (header[j].clone(), Vec::with_capacity(rows.len())))
            .collect(),
        ..Default::default()
    };
    let mut band = (Vec::new(), Vec::new());
    for r in &rows {
        out.dates.push(r[d].to_string());
        out.actual.push(cell(&r[a]));
        out.predicted.push(cell(&r[p]));
        if let (Some(l), Some(h)) = (lo, hi) {
            band.0.push(cell(&r[l]));
            band.1.push(cell(&r[h]));
        }
        for (k, &j) in term_cols.iter().enumerate() {
            out.terms[k].1.push(cell(&r[j]));
        }
    }
    if lo.is_some() && hi.is_some() {
        out.interval = Some(band);
    }
    if geo.is_some() {
        out = national_sums(out);
    }
    Ok(out)
}

/// A geo fit's decomposition (one row per geo × period, see `docs/results.md`) summed over the
/// geos of each date, in order of first appearance of the dates.
fn national_sums(rows: Decomposition) -> Decomposition {
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Decomposition {
        terms: rows
            .terms
            .iter()
            .map(|(n, _)| (n.clone(), vec![]))
            .collect(),
        ..Default::default()
    };
    for (i, date) in rows.dates.iter().enumerate() {
        let k = *index.entry(date.clone()).or_insert_with(|| {
            out.dates.push(date.clone());
            out.actual.push(0.0);
            out.predicted.push(0.0);
            for (_, v) in out.terms.iter_mut() {
                v.push(0.0);
            }
            out.dates.len() - 1
        });
        out.actual[k] += rows.actual[i];
        out.predicted[k] += rows.predicted[i];
        for (t, (_, v)) in out.terms.iter_mut().enumerate() {
            v[k] += rows.terms[t].1[i];
        }
    }
    out
}

/// Parses the text of a `draws.csv`; `path` names it in errors.
pub fn parse_draws(text: &str, path: &Path) -> Result<Draws> {
    let (header, rows) = csv_records(text, path)?;
    if header.len() < 2 || header[0] != "chain" || header[1] != "draw" {
        return Err(bad(
            path,
            "expected the columns chain, draw, then one per parameter",
        ));
    }
    let mut out = Draws {
        names: header[2..].to_vec(),
        chain: Vec::with_capacity(rows.len()),
        values: vec![Vec::with_capacity(rows.len()); header.len() - 2],
    };
    for (i, r) in rows.iter().enumerate() {
        let chain = r[0].trim().parse().map_err(|_| {
            MmmError::data(
                path,
                Some(i + 2),
                Some("chain"),
                format!("'{}' is not a chain number", &r[0]),
            )
        })?;
        out.chain.push(chain);
        for (p, v) in out.values.iter_mut().enumerate() {
            v.push(cell(&r[p + 2]));
        }
    }
    Ok(out)
}

/// Reads `dir/comparison.json` of a study.
///
/// # Errors
/// A data error naming the file when it is missing or does not parse.
pub fn read_comparison(dir: &Path) -> Result<Comparison> {
    let path = dir.join("comparison.json");
    if !path.is_file() {
        return Err(bad(
            &path,
            "not found: the folder holds no study comparison",
        ));
    }
    serde_json::from_str(&read(&path)?).map_err(|e| {
        bad(
            &path,
            format!(
                "not the comparison.json of an mmm study (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

/// The folder of a study variant's outputs.
pub fn variant_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join("variants").join(name)
}
