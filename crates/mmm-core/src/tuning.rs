//! The tuning plugin API and the spec's `tuning` section: the [`Tuner`] trait a search
//! strategy implements, the objectives, where they are scored and the bootstrap over the search
//! (`tuning.uncertainty`). The search itself runs in the engine (`mmm_engine::tuning`).

use crate::error::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// The plugin kind name of tuning strategies.
pub const KIND: &str = "tuner";

/// A metric to minimize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// `1 − R²`.
    R2,
    /// Root mean squared error.
    Rmse,
    /// RMSE over the range of actuals (Robyn).
    Nrmse,
    /// Mean absolute error.
    Mae,
    /// Mean absolute percentage error.
    Mape,
    /// Robyn's DECOMP.RSSD (effect share vs spend share distance), on the training periods.
    DecompRssd,
    /// Robyn's MAPE.LIFT: the mean absolute percentage error of the model's lifts against the
    /// spec's lift tests (`calibration`), `(1/K)·Σ_k |m_k·D_k − L_k| / |L_k|` with the
    /// coefficient fitted on the scored window's training periods (see
    /// [`crate::calibration`]). Needs a `calibration` section.
    MapeLift,
}

/// Where objectives are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScoreOn {
    /// On the test periods of the spec's `validation` split (DECOMP.RSSD on training periods).
    Validation,
    /// Out of sample on every rolling-origin fold of the spec's `validation` section (`folds`),
    /// averaged over the folds: `objective = (1/k) Σ_f objective(fit on [0, s_f), scored on
    /// [s_f, s_f + w_f))` (DECOMP.RSSD on each fold's training periods).
    Folds,
    /// In sample, on all periods.
    InSample,
}

/// The spec's `tuning` section.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TuningSpec {
    /// The search strategy.
    pub strategy: Box<dyn Tuner>,
    /// Number of evaluations (default 1000).
    #[serde(default = "default_evaluations")]
    #[schemars(range(min = 1, max = 1000000))]
    pub evaluations: u32,
    /// Objectives to minimize (default `["nrmse"]`); several give a Pareto front.
    #[serde(default = "default_objectives")]
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub objectives: Vec<Objective>,
    /// Where objectives are scored (default: `validation` when the spec has a validation
    /// section, else `in_sample`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<ScoreOn>,
    /// Seed of the search (default: the spec's seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Uncertainty that includes the search: `{"bootstrap": B}` re-runs the whole search on `B`
    /// moving-block bootstrap resamples of the periods and reports ROI, contribution, share and mROI
    /// intervals from them (see [`crate::tuning_bootstrap`]). Without it, intervals after
    /// tuning are conditional on the tuned values, and results.json says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<UncertaintySpec>,
}

fn default_evaluations() -> u32 {
    1000
}
fn default_objectives() -> Vec<Objective> {
    vec![Objective::Nrmse]
}

/// Evaluates batches of unit-cube candidates, returning one objective vector per candidate.
pub type BatchEvaluator<'a> = dyn FnMut(&[Vec<f64>]) -> Vec<Vec<f64>> + 'a;

/// A tuning strategy.
#[typetag::serde(tag = "type")]
pub trait Tuner: Send + Sync + Debug + dyn_clone::DynClone {
    /// Checks the parameters.
    fn validate(&self) -> Result<()>;
    /// Searches `[0, 1]^dim` with at most `budget` evaluations, calling `evaluate` on batches
    /// (a batch is evaluated in parallel; larger batches use the cores better). Deterministic
    /// in `seed`.
    fn search(
        &self,
        dim: usize,
        budget: usize,
        seed: u64,
        evaluate: &mut BatchEvaluator<'_>,
    ) -> Result<()>;
}

dyn_clone::clone_trait_object!(Tuner);
crate::plugin_kind_schema!(Tuner, KIND, "Tuner");

/// Most model fits a bootstrap over the search may ask for (`bootstrap × evaluations`).
pub const MAX_BOOTSTRAP_EVALUATIONS: u64 = 200_000_000;

/// The spec's `tuning.uncertainty`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UncertaintySpec {
    /// Number of bootstrap resamples `B`, each with its own full search (200 or more for
    /// stable 95% intervals; the cost is `B` searches).
    #[schemars(range(min = 10, max = 10000))]
    pub bootstrap: u32,
    /// Length in periods of the moving blocks (default `⌈n^(1/3)⌉`): long enough to keep the
    /// residuals' autocorrelation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub block_length: Option<usize>,
    /// What is resampled (default `periods`): moving blocks of whole periods (target and
    /// regressors together, the pairs bootstrap), or moving blocks of the tuned fit's residuals
    /// added back to it (`residuals`).
    #[serde(default)]
    pub resample: ResampleScheme,
}

/// What the bootstrap over the search resamples.
///
/// # Formula
/// ```text
/// periods:    r*_b = moving blocks of 0 … n − 1 (sorted);  the search fits and scores
///             (y_t, x_t(θ)) on the rows t ∈ r*_b, x(θ) transformed on the whole series
/// residuals:  y*_b = ŷ + moving blocks of the tuned fit's centred residuals; the search on
///             (y*_b, x(θ)) over all periods
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResampleScheme {
    /// Moving blocks of whole periods (pairs bootstrap): the resamples keep the data's own
    /// relation between target and spend, not the tuned fit's.
    #[default]
    Periods,
    /// Moving blocks of the tuned fit's residuals around its fitted values: every resample's
    /// world is the tuned fit's.
    Residuals,
}
