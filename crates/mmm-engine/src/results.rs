//! The results of a run, as written to `results.json` (every field is documented in
//! `docs/results.md`).

use mmm_core::metrics::FitMetrics;
use mmm_core::model::Role;
use mmm_core::optimizer::OptimizationResult;
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything `results.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Version of this format.
    pub schema_version: String,
    /// Experiment name.
    pub name: String,
    /// The model review of a Bayesian run (convergence, negative baseline, media share, ROI,
    /// prior–posterior shift, posterior predictive fit, PSIS-LOO; each pass / review / fail),
    /// as the model reports it; absent for other models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<serde_json::Value>,
    /// The data as used.
    pub data: DataSummary,
    /// What preparing the data did: format, pivot, cleaning and aggregation, counted per
    /// column and rule (when the spec reads long data, cleans or aggregates; absent for wide
    /// data taken as is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_quality: Option<mmm_core::quality::DataQuality>,
    /// The model and what it reports about itself.
    pub model: ModelSummary,
    /// In-sample fit.
    pub fit: FitMetrics,
    /// Coefficients of the outcome stage.
    pub coefficients: Vec<CoefficientResult>,
    /// Per channel: spend, contribution, share, ROI.
    pub channels: Vec<ChannelResult>,
    /// Level of every interval (e.g. 0.95).
    pub interval_level: f64,
    /// Per channel: sampled response curve, marginal ROI and break-even spend (see
    /// [`crate::response`]).
    pub response_curves: Vec<crate::response::ResponseCurve>,
    /// Hyperparameter search, when the spec asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuning: Option<crate::tuning::TuningResult>,
    /// Out-of-sample validation, when the spec asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<crate::validation::ValidationResult>,
    /// Lift tests of the spec's `calibration`: per test the measured lift beside the model's,
    /// and MAPE.LIFT (see [`mmm_core::calibration`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration: Option<mmm_core::calibration::CalibrationResult>,
    /// Budget optimization, when the spec asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimization: Option<OptimizationResult>,
    /// Sampler diagnostics and warnings of a Bayesian model (R-hat, ESS, divergences…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posterior: Option<serde_json::Value>,
    /// Warnings about the fit or the data.
    pub warnings: Vec<String>,
    /// Where the results came from: tool version, command, seed, input files with their
    /// SHA-256, and the spec as run (tuned values filled in). Deterministic: the wall time and
    /// the full command line are in `run.json` (see `docs/results.md`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// With `data.revenue_per_kpi`: the value used (`{"value": v}` or `{"column": name,
    /// "mean": m}`) and the totals in money (`media_revenue`, `media_revenue_roi`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_per_kpi: Option<serde_json::Value>,
    /// Per geo of a panel fitted jointly (`bayesian_mmm` with `geo: "hierarchical"`): its fit
    /// and its channels' contributions and ROIs with intervals; absent otherwise. The national
    /// `channels` are their sums.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geos: Option<Vec<GeoResult>>,
}

/// One geo of a joint geo fit.
#[derive(Debug, Clone, Serialize)]
pub struct GeoResult {
    /// The geo's name as the data spell it.
    pub name: String,
    /// Its population, when the data give one.
    pub population: Option<f64>,
    /// Its KPI summed over the periods.
    pub kpi: f64,
    /// In-sample fit of the geo's posterior-mean prediction to its KPI (`n_params` 0: the
    /// adjusted R² is not defined per geo and equals R²).
    pub fit: FitMetrics,
    /// Per channel: the geo's spend, contribution and ROI with their intervals.
    pub channels: Vec<GeoChannelResult>,
}

/// One channel in one geo (posterior mean and HDI at the run's `interval_level`).
#[derive(Debug, Clone, Serialize)]
pub struct GeoChannelResult {
    /// Channel name.
    pub name: String,
    /// The geo's spend on the channel over the periods.
    pub spend: f64,
    /// The channel's contribution in the geo (KPI units).
    pub contribution: f64,
    /// Lower end of its interval (`null` for a fit without intervals: a penalized model).
    pub contribution_ci_low: Option<f64>,
    /// Upper end of its interval.
    pub contribution_ci_high: Option<f64>,
    /// Contribution over spend (`null` without spend).
    pub roi: Option<f64>,
    /// Lower end of its interval.
    pub roi_ci_low: Option<f64>,
    /// Upper end of its interval.
    pub roi_ci_high: Option<f64>,
}

/// Where a run's results came from (`results.json` → `provenance`).
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// The tool (`mmm`).
    pub tool: String,
    /// Its version.
    pub tool_version: String,
    /// The command that fitted (`mmm run`; a study's variants are fitted the same way).
    pub command: String,
    /// The spec's seed.
    pub seed: u64,
    /// Input files (data, holiday calendar) as the spec names them, with their SHA-256.
    pub inputs: Vec<crate::saved_model::InputFile>,
    /// SHA-256 of the resolved spec's compact JSON text.
    pub spec_sha256: String,
    /// The spec as run: tuned values filled in, `tuning` removed.
    pub spec: serde_json::Value,
    /// Format version of the `model.json` written beside (see `docs/results.md`).
    pub model_format_version: u32,
}

/// The data as used.
#[derive(Debug, Clone, Serialize)]
pub struct DataSummary {
    /// Data file as named in the spec.
    pub path: String,
    /// Target column.
    pub target: String,
    /// Number of periods.
    pub n_obs: usize,
    /// Detected frequency.
    pub frequency: mmm_core::data::Frequency,
    /// First date.
    pub start: String,
    /// Last date.
    pub end: String,
}

/// The model as fitted.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    /// The model's `type`.
    #[serde(rename = "type")]
    pub model_type: String,
    /// The model's parameters as given.
    pub parameters: serde_json::Value,
    /// The causal structure's `type`.
    pub causal: String,
    /// Model-level statistics (condition number, log-likelihood…).
    pub statistics: BTreeMap<String, f64>,
}

/// One coefficient.
#[derive(Debug, Clone, Serialize)]
pub struct CoefficientResult {
    /// Column name.
    pub name: String,
    /// Column role.
    pub role: Role,
    /// Estimate.
    pub estimate: f64,
    /// Standard error, where defined.
    pub std_error: Option<f64>,
    /// t statistic, where defined.
    pub t_value: Option<f64>,
    /// p value, where defined.
    pub p_value: Option<f64>,
    /// Interval low end, where defined.
    pub ci_low: Option<f64>,
    /// Interval high end, where defined.
    pub ci_high: Option<f64>,
    /// Variance inflation factor, where the model reports it.
    pub vif: Option<f64>,
}

/// One channel's results.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelResult {
    /// Channel name.
    pub name: String,
    /// Total spend over the data.
    pub spend: f64,
    /// Summed modeled effect credited to the channel over the data: its total effect, except a
    /// mediator's, which is only its exogenous part (the part its drivers induced is in their
    /// contributions), so that contributions sum to the model's media effect.
    pub contribution: f64,
    /// Interval of the contribution, where defined.
    pub contribution_ci_low: Option<f64>,
    /// Interval of the contribution, where defined.
    pub contribution_ci_high: Option<f64>,
    /// Contribution over the sum of all channels' contributions.
    pub share: f64,
    /// Credible interval of the share (Bayesian models: HDI of `c_i / Σ_j c_j` over the draws).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_ci_low: Option<f64>,
    /// High end of the share's credible interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_ci_high: Option<f64>,
    /// Contribution over spend.
    pub roi: f64,
    /// ROI interval, where defined.
    pub roi_ci_low: Option<f64>,
    /// ROI interval, where defined.
    pub roi_ci_high: Option<f64>,
    /// Marginal ROI at current (mean) spend: extra KPI per extra unit of spend (Bayesian
    /// models: its posterior mean).
    pub mroi: f64,
    /// Credible interval of the marginal ROI (Bayesian models: HDI over the draws).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mroi_ci_low: Option<f64>,
    /// High end of the marginal ROI's credible interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mroi_ci_high: Option<f64>,
    /// Spend per period at which marginal ROI falls to 1 (null when it does not within 10× current).
    pub breakeven_spend: Option<f64>,
    /// Direct part of the coefficient (mediated structures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_coefficient: Option<f64>,
    /// Indirect part of the coefficient (mediated structures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indirect_coefficient: Option<f64>,
    /// Contribution through the direct path (mediated structures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_contribution: Option<f64>,
    /// Contribution through the mediator (mediated structures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indirect_contribution: Option<f64>,
    /// Indirect over total effect (mediated structures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_mediated: Option<f64>,
    /// Direct effect per unit of spend, `direct_contribution / spend`, with its bootstrap
    /// interval (drivers of a mediator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_roi: Option<f64>,
    /// Low end of the direct effect per unit of spend's interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_roi_ci_low: Option<f64>,
    /// High end of the direct effect per unit of spend's interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_roi_ci_high: Option<f64>,
    /// Indirect effect per unit of spend (through the mediator), `indirect_contribution /
    /// spend`, with its bootstrap interval (drivers of a mediator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indirect_roi: Option<f64>,
    /// Low end of the indirect effect per unit of spend's interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indirect_roi_ci_low: Option<f64>,
    /// High end of the indirect effect per unit of spend's interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indirect_roi_ci_high: Option<f64>,
    /// A mediator channel: the part of its effect its drivers induced (credited to them, in
    /// their contributions, not in this channel's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub induced_contribution: Option<f64>,
    /// A mediator channel: its total effect over the data, `contribution +
    /// induced_contribution`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_effect: Option<f64>,
    /// Low end of the mediator's total effect's interval (bootstrap of `b`, times `Σ_t g_t`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_effect_ci_low: Option<f64>,
    /// High end of the mediator's total effect's interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_effect_ci_high: Option<f64>,
    /// A mediator channel: the spend over the data its own lever accounts for (the steady-state
    /// spend per period whose transformed level is its mean exogenous level, times the periods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exogenous_spend: Option<f64>,
    /// A mediator channel: `contribution / exogenous_spend`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exogenous_roi: Option<f64>,
    /// With `data.revenue_per_kpi`: the contribution in money, `Σ_t r_t·c_t` (`r_t` the
    /// revenue per KPI unit of period `t`, `c_t` the channel's contribution in the period).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_contribution: Option<f64>,
    /// Low end of the money contribution's interval (the contribution's, times `Σ r_t·c_t / Σ c_t`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_contribution_ci_low: Option<f64>,
    /// High end of the money contribution's interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_contribution_ci_high: Option<f64>,
    /// With `data.revenue_per_kpi`: ROI in money, `revenue_contribution / spend`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_roi: Option<f64>,
    /// Low end of the money ROI's interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_roi_ci_low: Option<f64>,
    /// High end of the money ROI's interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_roi_ci_high: Option<f64>,
    /// With `data.revenue_per_kpi`: modeled cost per acquisition, `spend / contribution` (null
    /// when the contribution is not positive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpa: Option<f64>,
    /// Low end of the CPA's interval, `spend / contribution_ci_high`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpa_ci_low: Option<f64>,
    /// High end of the CPA's interval, `spend / contribution_ci_low` (null when that is not
    /// positive: the data do not exclude an unbounded CPA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpa_ci_high: Option<f64>,
    /// Reported KPIs over the data (CTR, CVR, CPA, ROAS and their totals), when the data has
    /// the channel's impressions, clicks, conversions or revenue (see [`mmm_core::kpi`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kpis: Option<mmm_core::kpi::Kpis>,
}
