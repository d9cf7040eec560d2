//! The `bayesian_mmm` model plugin: adstock and saturation parameters, channel coefficients,
//! intercept, control and baseline coefficients and the noise scale sampled jointly with NUTS
//! (LightweightMMM, PyMC-Marketing's MMM). See `docs/bayesian.md`.

use crate::density::{CoefMode, Family, LiftTerm, MediaTerm, MmmDensity, Param, Slot};
use crate::diagnostics::{bfmi, hdi, summarize, Summary};
use crate::nuts::{find_start, laplace_covariance, run, Chain, Metric, NutsSettings};
use crate::prior::{Prior, Support};
use crate::prior_keys::PriorKeys;
use crate::progress::Progress;
use mmm_core::model::{
    Coefficient, FitProblem, FittedModel, Model, Posterior, PosteriorMedia, Role, KIND,
};
use mmm_core::transform::{ChainWorkspace, TransformChain};
use mmm_core::{MmmError, Result};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, StudentT};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Instant;

/// Probability mass of every reported interval (ArviZ's default HDI).
pub const HDI_PROB: f64 = 0.94;

/// How a series is scaled before fitting (priors are stated on the scaled data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// Divide by the maximum absolute value (PyMC-Marketing's MaxAbsScaler).
    #[default]
    Max,
    /// Divide by the mean absolute value (LightweightMMM's CustomScaler).
    Mean,
    /// Divide by `max(max |x|, 1)` (what PyMC-Marketing 0.19 does: values in [0, 1] are left as they are).
    MaxAtLeastOne,
    /// Divide by the median of the non-zero `|x|` (Meridian's media scaling): a scaled value of
    /// 1 is a typical period with spend, whatever the channel's flighting.
    Median,
    /// Leave as is.
    None,
}

impl Scaling {
    /// The divisor of `x`.
    pub fn divisor(&self, x: &[f64]) -> f64 {
        let d = match self {
            Scaling::Max => x.iter().fold(0.0f64, |m, v| m.max(v.abs())),
            Scaling::Mean => x.iter().map(|v| v.abs()).sum::<f64>() / x.len().max(1) as f64,
            Scaling::MaxAtLeastOne => x.iter().fold(1.0f64, |m, v| m.max(v.abs())),
            Scaling::Median => {
                let mut v: Vec<f64> = x
                    .iter()
                    .map(|v| v.abs())
                    .filter(|v| *v > 0.0 && v.is_finite())
                    .collect();
                v.sort_by(f64::total_cmp);
                match v.len() {
                    0 => 1.0,
                    n if n % 2 == 1 => v[n / 2],
                    n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
                }
            }
            Scaling::None => 1.0,
        };
        if d > 0.0 && d.is_finite() {
            d
        } else {
            1.0
        }
    }
}

/// The observation noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum LikelihoodFamily {
    /// Normal noise.
    #[default]
    Normal,
    /// Student-t noise with `nu` degrees of freedom.
    StudentT,
}

/// The mass matrix NUTS adapts during warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// The full posterior covariance (Stan's `dense_e`), started from the Laplace approximation
    /// at the mode: handles the strong linear correlations of an MMM (intercept and trend,
    /// coefficient and saturation rate) at `d²` cost per leapfrog step, negligible next to the
    /// log density for the few dozen parameters of an MMM.
    #[default]
    Dense,
    /// The marginal variances only (Stan's and PyMC's default `diag_e`).
    Diagonal,
}

/// What the prior of each channel's effect is stated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum MediaPrior {
    /// The coefficient `β` (`<channel>.beta`, group `channel_coefficient`).
    #[default]
    Coefficient,
    /// The channel's ROI over the data, `contribution / spend` (`<channel>.roi`, group `roi`,
    /// default LogNormal(0.2, 0.9) as Meridian's): `β = ROI·S/(s_y·Σ_t f_t(θ))`.
    Roi,
    /// The channel's share of the total KPI, `contribution / Σ_t y_t`
    /// (`<channel>.contribution_share`, group `contribution_share`, default Beta(1, 4)):
    /// `β = share·Σ_t ỹ_t / Σ_t f_t(θ)`.
    ContributionShare,
}

/// How a panel's geos (`data.geo`) are modeled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum GeoLevel {
    /// The national series only (the sums of the geos): the classical national MMM (default:
    /// every feature works on it; see `docs/geo.md`).
    #[default]
    National,
    /// Jointly, with Meridian's geo hierarchy (see `docs/geo.md`): per-geo intercepts, per-geo
    /// media effects drawn around national ones, transforms shared (or per geo, see
    /// `geo_transforms`), KPI and spend per capita. National data (one geo) fit the national
    /// model.
    Hierarchical,
}

/// How the geo hierarchy's per-geo effects are sampled (the same model either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum GeoEffects {
    /// `β_{g,c} = exp(m_c + s_c·ε_{g,c})`, `ε ~ N(0, 1)` (default, Meridian's form).
    #[default]
    NonCentered,
    /// `log β_{g,c}` sampled directly with prior `N(m_c, s_c)`: larger steps when each geo's
    /// data pin its effect, a funnel when they do not (see `docs/geo.md` for measurements).
    Centered,
}

/// The noise scale of a geo fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum GeoNoise {
    /// One `σ` for every geo (default; Meridian's default).
    #[default]
    Shared,
    /// Each geo its own `σ_g`, with the `sigma` prior each (Meridian's
    /// `unique_sigma_for_each_geo`): for geos whose per-capita KPI is noisier than others'.
    PerGeo,
}

/// Whether a geo fit's control (or trend) coefficients are national or per geo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum GeoTerms {
    /// One coefficient for every geo (default).
    #[default]
    National,
    /// One coefficient per geo, normal around a national mean with a learned spread:
    /// `γ_{g,j} = γ_j + ξ_j·η_{g,j}`, `η_{g,j} ~ N(0, 1)` (Meridian's `gamma_gc` around
    /// `gamma_c` with spread `xi_c`). Parameters `<column>.spread` (group `control_spread`,
    /// HalfNormal(0.5)) and `<column>.<geo>.offset` (group `control_offset`, N(0, 1)).
    PerGeo,
}

/// Which preset of default priors (and scalings) to use for parameters the spec gives no
/// prior (see `docs/bayesian.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Defaults {
    /// mmm's own defaults, chosen to sample well on ordinary data: target scaled by its mean,
    /// spend by its median non-zero value (Meridian's media scaling), Hill half-saturation
    /// TruncatedNormal(0.8, 0.8, 0.1, 10) relative to that median and Hill shape
    /// LogNormal(0.7, 0.4) (Meridian's `ec` and `slope`), channel coefficients
    /// LogNormal(−1.5, 1): no prior puts mass where a media column turns constant.
    #[default]
    Robust,
    /// PyMC-Marketing's MMM defaults (max scaling of target and spend).
    PymcMarketing,
    /// LightweightMMM's defaults (mean scaling of target and spend).
    LightweightMmm,
}

impl Defaults {
    /// The target scaling of the preset.
    pub fn target_scaling(self) -> Scaling {
        match self {
            Defaults::Robust | Defaults::LightweightMmm => Scaling::Mean,
            Defaults::PymcMarketing => Scaling::Max,
        }
    }
    /// The spend scaling of the preset.
    pub fn spend_scaling(self) -> Scaling {
        match self {
            Defaults::Robust => Scaling::Median,
            Defaults::LightweightMmm => Scaling::Mean,
            Defaults::PymcMarketing => Scaling::Max,
        }
    }
}

fn d_chains() -> usize {
    4
}
fn d_tune() -> usize {
    1000
}
fn d_draws() -> usize {
    1000
}
fn d_depth() -> usize {
    10
}
fn d_nu() -> f64 {
    4.0
}
fn yes() -> bool {
    true
}

/// Bayesian MMM sampled with NUTS.
///
/// # Formula
/// ```text
/// ỹ_t = y_t / s_y,   x̃_it = x_it / s_i
/// ỹ_t ~ Normal(μ_t, σ)  or  StudentT(ν, μ_t, σ)
/// μ_t = Σ_j γ_j·z_tj + Σ_i β_i·f_i(x̃_i; θ_i)_t,   β_i > 0
/// θ_i, β_i, γ_j, σ ~ their priors;  contribution_i = s_y·β_i·Σ_t f_i(x̃_i; θ_i)_t
/// ```
/// where `z` are the intercept, baseline (trend, seasonality) and control columns, `f_i` the
/// channel's transform chain with its parameters `θ_i` sampled, and `s_y`, `s_i` the scales.
/// A parameter's prior is looked up by its full name (`tv.beta`, `tv.geometric_adstock.decay`,
/// `price`, `intercept`, `sigma`), then by its group (`channel_coefficient`, `<transform
/// type>.<param>` such as `logistic.lam`, `control`, `baseline`), then in the `defaults` set.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BayesianMmm {
    /// Number of chains (run in parallel).
    #[serde(default = "d_chains")]
    #[schemars(range(min = 1, max = 64))]
    pub chains: usize,
    /// Warm-up iterations per chain.
    #[serde(default = "d_tune")]
    #[schemars(range(min = 0, max = 100000))]
    pub tune: usize,
    /// Kept draws per chain.
    #[serde(default = "d_draws")]
    #[schemars(range(min = 4, max = 100000))]
    pub draws: usize,
    /// Target acceptance of the step size adaptation, in (0, 1). Default: 0.9 under the
    /// `robust` preset (on the quickstart and Meridian's national data over three seeds, 0.8 left
    /// 0–217 divergences and once R-hat 1.085; 0.9 left 0–96 and R-hat ≤ 1.015, for ~15% more
    /// time), 0.8 under the compatibility presets (PyMC-Marketing's and Stan's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0.0, "exclusiveMaximum" = 1.0))]
    pub target_accept: Option<f64>,
    /// Maximum tree depth of NUTS.
    #[serde(default = "d_depth")]
    #[schemars(range(min = 1, max = 15))]
    pub max_tree_depth: usize,
    /// Mass matrix adapted during warm-up (`dense` or `diagonal`); default `dense` for a
    /// national fit, `diagonal` for a geo-hierarchical one (its hundred-odd parameters make a
    /// dense estimate from one warm-up window too noisy: see docs/geo.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricKind>,
    /// Observation noise.
    #[serde(default)]
    pub likelihood: LikelihoodFamily,
    /// Degrees of freedom of the Student-t likelihood.
    #[serde(default = "d_nu")]
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub nu: f64,
    /// Scaling of the target (`max`: PyMC-Marketing, `mean`: LightweightMMM and `robust`);
    /// default: the `defaults` preset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_scaling: Option<Scaling>,
    /// Scaling of each channel's spend before its transforms (`median`: `robust`, `max`:
    /// PyMC-Marketing, `mean`: LightweightMMM); default: the `defaults` preset's. Transform
    /// parameters in input units (Hill `half_saturation`) are in these scaled units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_scaling: Option<Scaling>,
    /// Default priors for parameters without one in `priors`.
    #[serde(default)]
    pub defaults: Defaults,
    /// What each channel's effect prior is on: `coefficient` (default), `roi` or
    /// `contribution_share` (the coefficient is then a deterministic function of it and the
    /// channel's transformed mass).
    #[serde(default)]
    pub media_prior: MediaPrior,
    /// How a panel's geos are modeled: `national` (default: their sums) or `hierarchical`
    /// (jointly, Meridian's geo hierarchy). Ignored for national data.
    #[serde(default)]
    pub geo: GeoLevel,
    /// How a geo fit samples its per-geo effects: `non_centered` (default) or `centered`
    /// (see `docs/geo.md`).
    #[serde(default)]
    pub geo_effects: GeoEffects,
    /// A geo fit's noise scale: `shared` (default) or `per_geo` (`sigma.<geo>`, each with the
    /// `sigma` prior).
    #[serde(default)]
    pub geo_noise: GeoNoise,
    /// A geo fit's control coefficients: `national` (default) or `per_geo` (each geo its own,
    /// around the national one; see [`GeoTerms`]).
    #[serde(default)]
    pub geo_controls: GeoTerms,
    /// A geo fit's linear trend (`baseline.trend`): `national` (default, one slope) or `per_geo`
    /// (each geo its own slope around the national one; see [`GeoTerms`]).
    #[serde(default)]
    pub geo_trend: GeoTerms,
    /// A geo fit's transform (adstock and saturation) parameters: `national` (default: one set
    /// per channel, shared by every geo, Meridian's model) or `per_geo` (each geo its own
    /// set `<channel>.<geo>.<transform>.<param>`, a priori independent with the prior of
    /// the channel's `<channel>.<transform>.<param>` or the transform's group: no pooling
    /// across geos; `docs/geo.md`).
    #[serde(default)]
    pub geo_transforms: GeoTerms,
    /// Priors by parameter name or group. Parameter names: `<channel>.beta` (or
    /// `<channel>.roi`, `<channel>.contribution_share` per `media_prior`),
    /// `<channel>.<transform type>.<param>` (e.g. `tv.hill.shape`), each control, baseline and
    /// Fourier column by its name (`price`, `trend`, `sin_52.18_1`), `intercept`, `sigma`.
    /// Groups: `channel_coefficient`, `roi`, `contribution_share`, `<transform type>.<param>`
    /// (e.g. `hill.shape`, `geometric_adstock.decay`), `intercept`, `control`, `baseline`,
    /// `sigma`; a geo fit adds `log_median_beta`, `beta_spread`, `beta_offset`, and with
    /// per-geo controls or trend `control_spread`, `control_offset` (`docs/geo.md`). A key that
    /// names neither is an error listing the valid keys of the spec.
    #[serde(default)]
    pub priors: BTreeMap<String, Box<dyn Prior>>,
    /// Show a progress bar on stderr (only when stderr is a terminal).
    #[serde(default = "yes")]
    pub progress: bool,
}

impl Default for BayesianMmm {
    fn default() -> Self {
        BayesianMmm {
            chains: 4,
            tune: 1000,
            draws: 1000,
            target_accept: None,
            max_tree_depth: 10,
            metric: None,
            likelihood: LikelihoodFamily::Normal,
            nu: 4.0,
            target_scaling: None,
            spend_scaling: None,
            defaults: Defaults::Robust,
            media_prior: MediaPrior::Coefficient,
            geo: GeoLevel::National,
            geo_effects: GeoEffects::NonCentered,
            geo_noise: GeoNoise::Shared,
            geo_controls: GeoTerms::National,
            geo_trend: GeoTerms::National,
            geo_transforms: GeoTerms::National,
            priors: BTreeMap::new(),
            progress: true,
        }
    }
}

/// A prior from its JSON form. The target type is spelled out: with a closure falling back to a
/// concrete prior, inference would pick that concrete type and every other family would fail.
fn prior(v: serde_json::Value) -> Result<Box<dyn Prior>> {
    serde_json::from_value::<Box<dyn Prior>>(v.clone())
        .map_err(|e| MmmError::Compute(format!("bayesian_mmm: default prior {v}: {e}")))
}

/// The default prior of a parameter group in a defaults set (see `docs/bayesian.md`).
pub fn default_prior(defaults: Defaults, group: &str, support: Support) -> Result<Box<dyn Prior>> {
    let pm = defaults != Defaults::LightweightMmm;
    let robust = defaults == Defaults::Robust;
    let v = match group {
        "channel_coefficient" if robust => json!({"type":"log_normal","mu":-1.5,"sigma":1.0}),
        "hill.half_saturation" if robust => {
            json!({"type":"truncated_normal","mu":0.8,"sigma":0.8,"lower":0.1,"upper":10.0})
        }
        "hill.shape" if robust => json!({"type":"log_normal","mu":0.7,"sigma":0.4}),
        "roi" => json!({"type":"log_normal","mu":0.2,"sigma":0.9}),
        // the geo hierarchy (crate::geo_model): log of the median coefficient, spread, offsets
        "log_median_beta" => json!({"type":"normal","mu":-1.5,"sigma":1.0}),
        "beta_spread" => json!({"type":"half_normal","sigma":0.5}),
        "beta_offset" => json!({"type":"normal","mu":0.0,"sigma":1.0}),
        // per-geo control and trend coefficients (GeoTerms::PerGeo): spread and offsets
        "control_spread" => json!({"type":"half_normal","sigma":0.5}),
        "control_offset" => json!({"type":"normal","mu":0.0,"sigma":1.0}),
        "contribution_share" => json!({"type":"beta","alpha":1.0,"beta":4.0}),
        "intercept" if pm => json!({"type":"normal","mu":0.0,"sigma":2.0}),
        "intercept" => json!({"type":"half_normal","sigma":2.0}),
        "channel_coefficient" if pm => json!({"type":"half_normal","sigma":2.0}),
        "channel_coefficient" => json!({"type":"half_normal","sigma":1.0}),
        "control" if pm => json!({"type":"normal","mu":0.0,"sigma":2.0}),
        "control" => json!({"type":"normal","mu":0.0,"sigma":1.0}),
        "baseline" if pm => json!({"type":"laplace","mu":0.0,"b":1.0}),
        "baseline" => json!({"type":"normal","mu":0.0,"sigma":1.0}),
        "sigma" if pm => json!({"type":"half_normal","sigma":2.0}),
        "sigma" => json!({"type":"gamma","alpha":1.0,"beta":1.0}),
        "geometric_adstock.decay" | "delayed_adstock.decay" if pm => {
            json!({"type":"beta","alpha":1.0,"beta":3.0})
        }
        "geometric_adstock.decay" | "delayed_adstock.decay" => {
            json!({"type":"beta","alpha":2.0,"beta":1.0})
        }
        "delayed_adstock.theta" => json!({"type":"half_normal","sigma":2.0}),
        "logistic.lam" => json!({"type":"gamma","alpha":3.0,"beta":1.0}),
        "hill.half_saturation" if pm => json!({"type":"half_normal","sigma":1.5}),
        "hill.shape" if pm => json!({"type":"half_normal","sigma":1.5}),
        "hill.half_saturation" | "hill.shape" => json!({"type":"gamma","alpha":1.0,"beta":1.0}),
        "power.exponent" => json!({"type":"beta","alpha":9.0,"beta":1.0}),
        "weibull_adstock.shape" => json!({"type":"gamma","alpha":9.0,"beta":3.0}),
        "michaelis_menten.vmax" | "michaelis_menten.k" | "tanh.b" | "tanh.c" => {
            json!({"type":"half_normal","sigma":2.0})
        }
        _ => {
            // generic: uniform on a bounded range, half-normal on (a, ∞), normal otherwise
            if support.lower.is_finite() && support.upper.is_finite() {
                json!({"type":"uniform","lower":support.lower,"upper":support.upper})
            } else if support.lower == 0.0 {
                json!({"type":"half_normal","sigma":2.0})
            } else {
                json!({"type":"normal","mu":0.0,"sigma":2.0})
            }
        }
    };
    prior(v)
}

/// Everything a fit produced (besides the core's `FittedModel`).
#[derive(Debug, Clone)]
pub struct BayesFit {
    /// Parameter names.
    pub names: Vec<String>,
    /// `draws[chain][draw][param]` (constrained, scaled units).
    pub draws: Vec<Vec<Vec<f64>>>,
    /// Summary per parameter.
    pub summaries: Vec<Summary>,
    /// Divergences per chain.
    pub divergences: Vec<usize>,
    /// Draws that hit the maximum tree depth, per chain.
    pub max_depth_hits: Vec<usize>,
    /// E-BFMI per chain.
    pub bfmi: Vec<f64>,
    /// Final step size per chain.
    pub step_sizes: Vec<f64>,
    /// Gradient evaluations over all chains.
    pub gradient_evaluations: u64,
    /// Wall time of sampling, seconds.
    pub sampling_seconds: f64,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Target scale `s_y`.
    pub target_scale: f64,
}

/// The centre and scale of each non-media regressor under the `robust` preset: every column
/// but the intercept is standardized inside the density, so one prior scale fits controls of
/// any unit (a price in dollars, a temperature, a 0/1 holiday) and the intercept is not
/// traded off against a control's level.
///
/// # Formula
/// ```text
/// with an intercept:     c_j = mean_t x_tj,   s_j = sd_t x_tj          (population sd)
/// without an intercept:  c_j = 0,             s_j = sqrt(mean_t x_tj²)
/// z_tj = (x_tj − c_j)/s_j;   columns with s_j = 0 (or the intercept) keep c_j = 0, s_j = 1
/// γ_j = γ'_j/s_j,   γ_intercept = γ'_intercept − Σ_j γ'_j·c_j/s_j     (back to raw units)
/// ```
pub fn standardization(z: &[Vec<f64>], roles: &[Role]) -> (Vec<f64>, Vec<f64>) {
    let has_intercept = roles.contains(&Role::Intercept);
    let mut center = vec![0.0; z.len()];
    let mut scale = vec![1.0; z.len()];
    for (j, col) in z.iter().enumerate() {
        if roles[j] == Role::Intercept {
            continue;
        }
        if let Some((c, s)) = column_scale(col, has_intercept) {
            center[j] = c;
            scale[j] = s;
        }
    }
    (center, scale)
}

/// A column's centre and scale for [`standardization`]: `(mean, sd)` when `center`, else
/// `(0, rms)` (population moments); `None` for an empty or (numerically) constant column,
/// `s ≤ 1e-12·(1 + |c|)`.
pub(crate) fn column_scale(col: &[f64], center: bool) -> Option<(f64, f64)> {
    if col.is_empty() {
        return None;
    }
    let n = col.len() as f64;
    let c = if center {
        col.iter().sum::<f64>() / n
    } else {
        0.0
    };
    let s = (col.iter().map(|v| (v - c) * (v - c)).sum::<f64>() / n).sqrt();
    (s.is_finite() && s > 1e-12 * (1.0 + c.abs())).then_some((c, s))
}

impl BayesianMmm {
    /// The mass matrix in effect: the spec's, else dense (a geo fit sets its own default,
    /// diagonal, before sampling: `GEO_METRIC`).
    pub fn metric(&self) -> MetricKind {
        self.metric.unwrap_or_default()
    }

    /// The step-size adaptation's target acceptance: the spec's, else the preset's default
    /// (0.9 under `robust`, 0.8 otherwise).
    pub fn target_accept(&self) -> f64 {
        self.target_accept.unwrap_or(match self.defaults {
            Defaults::Robust => 0.9,
            Defaults::PymcMarketing | Defaults::LightweightMmm => 0.8,
        })
    }

    /// The likelihood family of the spec (`likelihood`, `nu`).
    pub(crate) fn family(&self) -> Family {
        match self.likelihood {
            LikelihoodFamily::Normal => Family::Normal,
            LikelihoodFamily::StudentT => Family::StudentT(self.nu),
        }
    }

    fn lookup(
        &self,
        name: &str,
        also: &[String],
        group: &str,
        support: Support,
    ) -> Result<Box<dyn Prior>> {
        let keys = std::iter::once(name)
            .chain(also.iter().map(String::as_str))
            .chain(std::iter::once(group));
        for key in keys {
            if let Some(p) = self.priors.get(key) {
                return Ok(p.clone());
            }
        }
        default_prior(self.defaults, group, support)
    }

    /// A sampled parameter: its prior by name, then group, then the preset's default, checked
    /// and restricted to the parameter's valid range.
    pub(crate) fn make_param<S>(
        &self,
        name: String,
        group: &str,
        slot: S,
        valid: Support,
        keys: &mut PriorKeys,
    ) -> Result<Param<S>> {
        self.make_param_in(name, &[], group, slot, valid, keys)
    }

    /// [`BayesianMmm::make_param`] with keys looked up between the name and the group, in
    /// order (a per-geo transform parameter `tv.Geo1.hill.shape` falls back to the channel's
    /// `tv.hill.shape`, which is then a valid key too).
    pub(crate) fn make_param_in<S>(
        &self,
        name: String,
        also: &[String],
        group: &str,
        slot: S,
        valid: Support,
        keys: &mut PriorKeys,
    ) -> Result<Param<S>> {
        keys.add(&name, group);
        for key in also {
            keys.add_name(key);
        }
        let prior = self.lookup(&name, also, group, valid)?;
        prior
            .validate()
            .map_err(|e| e.at(&format!("/priors/{name}")))?;
        let support = prior.support().intersect(&valid);
        if !support.is_valid() {
            return Err(MmmError::param(
                format!("/priors/{name}"),
                format!(
                    "the prior of '{name}' has support ({}, {}), which does not overlap the parameter's range ({}, {})",
                    prior.support().lower,
                    prior.support().upper,
                    valid.lower,
                    valid.upper
                ),
            ));
        }
        Ok(Param {
            name,
            slot,
            prior,
            bijector: support.bijector(),
        })
    }

    /// Builds the density and the media bookkeeping for a problem.
    /// Returns the density, the design column of each media term, the spend scales and `s_y`.
    pub fn density(
        &self,
        problem: &FitProblem<'_>,
    ) -> Result<(MmmDensity, Vec<usize>, Vec<usize>, Vec<f64>, f64)> {
        let design = problem.design;
        let n = design.n_obs();
        if problem.y.len() != n {
            return Err(MmmError::Compute(format!(
                "bayesian_mmm: the target has {} values but the design {} rows",
                problem.y.len(),
                n
            )));
        }
        let s_y = self
            .target_scaling
            .unwrap_or(self.defaults.target_scaling())
            .divisor(problem.y);
        let spend_scaling = self.spend_scaling.unwrap_or(self.defaults.spend_scaling());
        let y: Vec<f64> = problem.y.iter().map(|v| v / s_y).collect();
        let mut z = Vec::new();
        let mut intercept_z: Option<usize> = None;
        let mut params = Vec::new();
        let mut media = Vec::new();
        let mut media_cols = Vec::new();
        let mut media_channels = Vec::new();
        let mut scales = Vec::new();
        let mut keys = PriorKeys::default();
        for (j, col) in design.columns.iter().enumerate() {
            match (col.role, col.channel) {
                (Role::Media, Some(ch)) => {
                    let input = problem.media.get(ch).ok_or_else(|| {
                        MmmError::Compute(format!(
                            "bayesian_mmm: media column '{}' has no raw spend",
                            col.name
                        ))
                    })?;
                    let k = media.len();
                    let s = spend_scaling.divisor(&input.spend);
                    let xs: Vec<f64> = input.spend.iter().map(|v| v / s).collect();
                    let mut chain: TransformChain = input.chain.clone();
                    let mut out = vec![0.0; n];
                    let mut ws = ChainWorkspace::new(&chain, n);
                    chain.learn_apply(&xs, &mut out, &mut ws);
                    let mut pi = 0;
                    for t in &chain.0 {
                        for spec in t.params() {
                            let name = format!("{}.{}.{}", col.name, t.typetag_name(), spec.name);
                            let group = format!("{}.{}", t.typetag_name(), spec.name);
                            let valid = Support {
                                lower: spec.lower,
                                upper: spec.upper,
                            };
                            params.push(self.make_param(
                                name,
                                &group,
                                Slot::Transform {
                                    media: k,
                                    param: pi,
                                },
                                valid,
                                &mut keys,
                            )?);
                            pi += 1;
                        }
                    }
                    let (suffix, group, support, mode) = match self.media_prior {
                        MediaPrior::Coefficient => (
                            "beta",
                            "channel_coefficient",
                            Support::POSITIVE,
                            CoefMode::Coefficient,
                        ),
                        MediaPrior::Roi => (
                            "roi",
                            "roi",
                            Support::POSITIVE,
                            CoefMode::Ratio(input.spend.iter().sum::<f64>() / s_y),
                        ),
                        MediaPrior::ContributionShare => (
                            "contribution_share",
                            "contribution_share",
                            Support::UNIT,
                            CoefMode::Ratio(y.iter().sum::<f64>()),
                        ),
                    };
                    if let CoefMode::Ratio(c) = mode {
                        if !(c.is_finite() && c > 0.0) {
                            return Err(MmmError::param(
                                "/model/media_prior",
                                format!(
                                    "channel '{}': a '{suffix}' prior needs a positive total {}",
                                    col.name,
                                    if suffix == "roi" { "spend" } else { "target" }
                                ),
                            ));
                        }
                    }
                    params.push(self.make_param(
                        format!("{}.{suffix}", col.name),
                        group,
                        Slot::MediaCoef(k),
                        support,
                        &mut keys,
                    )?);
                    let mut term = MediaTerm::new(xs, chain);
                    term.mode = mode;
                    media.push(term);
                    media_cols.push(j);
                    media_channels.push(ch);
                    scales.push(s);
                }
                (role, _) => {
                    let group = match role {
                        Role::Intercept => "intercept",
                        Role::Baseline => "baseline",
                        _ => "control",
                    };
                    let k = z.len();
                    if role == Role::Intercept {
                        intercept_z = Some(k);
                    }
                    z.push(design.x.column(j).iter().copied().collect::<Vec<f64>>());
                    params.push(self.make_param(
                        col.name.clone(),
                        group,
                        Slot::Coef(k),
                        Support::REAL,
                        &mut keys,
                    )?);
                }
            }
        }
        params.push(self.make_param(
            "sigma".into(),
            "sigma",
            Slot::Sigma,
            Support::POSITIVE,
            &mut keys,
        )?);
        keys.check(self.priors.keys())?;
        let family = self.family();
        let mut lifts = Vec::with_capacity(problem.calibration.len());
        for test in problem.calibration {
            let k = media_channels
                .iter()
                .position(|&c| c == test.channel)
                .ok_or_else(|| {
                    MmmError::Compute(format!(
                        "bayesian_mmm: lift test '{}' names a channel that is not in the design",
                        test.name
                    ))
                })?;
            if test.counterfactual.len() != n {
                return Err(MmmError::Compute(format!(
                    "bayesian_mmm: lift test '{}' has {} periods of spend but the data {n}",
                    test.name,
                    test.counterfactual.len()
                )));
            }
            let s = scales[k];
            lifts.push(LiftTerm::new(
                k,
                media[k].n_params,
                test.counterfactual.iter().map(|v| v / s).collect(),
                (test.first, test.until),
                test.lift / s_y,
                test.standard_error / s_y,
            ));
        }
        let (z_center, z_scale) = if self.defaults == Defaults::Robust {
            let roles: Vec<Role> = design
                .columns
                .iter()
                .filter(|c| !(c.role == Role::Media && c.channel.is_some()))
                .map(|c| c.role)
                .collect();
            standardization(&z, &roles)
        } else {
            (vec![0.0; z.len()], vec![1.0; z.len()])
        };
        for ((col, &c), &s) in z.iter_mut().zip(&z_center).zip(&z_scale) {
            col.iter_mut().for_each(|v| *v = (*v - c) / s);
        }
        let mut density = MmmDensity::new(y, z, media, params, family);
        density.z_center = z_center;
        density.z_scale = z_scale;
        density.lifts = lifts;
        if self.defaults == Defaults::Robust {
            if let Some(j) = intercept_z {
                density.center_media_on(j);
            }
            density.sample_mean_contributions();
        }
        Ok((density, media_cols, media_channels, scales, s_y))
    }

    /// Samples the posterior: `chains` chains in parallel, chain `c` seeded with
    /// `seed ⊕ (c + 1)·0x9E37_79B9_7F4A_7C15`, so draws do not depend on the thread count.
    pub fn sample<D: SampledDensity>(&self, density: &D, seed: u64) -> Result<BayesFit> {
        let dim = density.dim();
        let settings = NutsSettings {
            tune: self.tune,
            draws: self.draws,
            target_accept: self.target_accept(),
            max_depth: self.max_tree_depth,
            max_energy_error: 1000.0,
            dense_metric: self.metric() == MetricKind::Dense,
        };
        let progress = Progress::new(self.progress, self.chains, (self.tune + self.draws) as u64);
        let start = Instant::now();
        type ChainOut = (Vec<Vec<f64>>, usize, usize, Vec<f64>, f64, u64);
        let results: Vec<Result<ChainOut>> = (0..self.chains)
            .into_par_iter()
            .map(|c| {
                let mut rng = ChaCha8Rng::seed_from_u64(
                    seed ^ (c as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                );
                let mut f = density.clone();
                // start near each prior's center, jittered uniformly in (−1, 1) on the real line
                let mut q0 = vec![0.0; dim];
                let mut g = vec![0.0; dim];
                let mut ok = false;
                for attempt in 0..100 {
                    let width = if attempt < 50 { 1.0 } else { 0.1 };
                    for k in 0..dim {
                        let b = f.bijector(k);
                        let center = f.initial(k);
                        q0[k] = b.inverse(center) + width * (2.0 * rng.random::<f64>() - 1.0);
                    }
                    let l = f.logp_grad(&q0, &mut g);
                    if l.is_finite() && g.iter().all(|v| v.is_finite()) {
                        ok = true;
                        break;
                    }
                }
                if !ok {
                    return Err(MmmError::Compute(format!(
                        "bayesian_mmm: chain {c} found no starting point with a finite log-density"
                    )));
                }
                // several jittered starts climbed with Adam; keep the highest (avoids the
                // "media has no effect" ridge where β → 0 and the chain parameters are free)
                let mut best: Option<(f64, Vec<f64>, Vec<f64>)> = None;
                for _ in 0..6 {
                    let mut q = q0.clone();
                    for v in q.iter_mut() {
                        *v += 2.0 * rng.random::<f64>() - 1.0;
                    }
                    let metric = find_start(&mut f, &mut q, 400);
                    let lp = f.logp_grad(&q, &mut g);
                    if lp.is_finite() && best.as_ref().is_none_or(|b| lp > b.0) {
                        best = Some((lp, q, metric));
                    }
                }
                let diag = match best {
                    Some((_, q, m)) => {
                        q0 = q;
                        m
                    }
                    None => vec![1.0; dim],
                };
                let metric = if settings.dense_metric {
                    laplace_covariance(&mut f, &q0).unwrap_or_else(|| Metric::diagonal(&diag))
                } else {
                    Metric::diagonal(&diag)
                };
                let var = metric.variances();
                for (k, v) in q0.iter_mut().enumerate() {
                    *v += 0.1 * var[k].sqrt() * (2.0 * rng.random::<f64>() - 1.0);
                }
                let mut chain = Chain::new(f, &q0, settings, rng);
                chain.set_metric(metric);
                let mut draws = Vec::with_capacity(self.draws);
                let mut energy = Vec::with_capacity(self.draws);
                let (mut div, mut depth_hits) = (0, 0);
                let mut x = vec![0.0; dim];
                let bar = progress.chain(c);
                run(&mut chain, |it, tuning, q, st| {
                    if !tuning {
                        density.constrain(q, &mut x);
                        draws.push(x.clone());
                        energy.push(st.energy);
                        div += st.diverging as usize;
                        depth_hits += st.max_depth_hit as usize;
                    }
                    if it % 50 == 0 || it + 1 == settings.tune + settings.draws {
                        bar.update(it as u64 + 1, div, st.step_size, tuning);
                    }
                });
                bar.finish(div);
                let evals = chain.density().evaluations();
                Ok((draws, div, depth_hits, energy, chain.step_size(), evals))
            })
            .collect();
        let sampling_seconds = start.elapsed().as_secs_f64();
        let mut draws = Vec::new();
        let (mut divergences, mut max_depth_hits, mut bfmis, mut steps) =
            (vec![], vec![], vec![], vec![]);
        let mut evals = 0;
        for r in results {
            let (d, div, hits, energy, eps, ev) = r?;
            draws.push(d);
            divergences.push(div);
            max_depth_hits.push(hits);
            bfmis.push(bfmi(&energy));
            steps.push(eps);
            evals += ev;
        }
        let names: Vec<String> = (0..dim).map(|k| density.name(k).to_string()).collect();
        let summaries: Vec<Summary> = (0..dim)
            .map(|k| {
                let chains: Vec<Vec<f64>> = draws
                    .iter()
                    .map(|c| c.iter().map(|d| d[k]).collect())
                    .collect();
                summarize(&chains, HDI_PROB)
            })
            .collect();
        let mut warnings = Vec::new();
        let total_div: usize = divergences.iter().sum();
        if total_div > 0 {
            warnings.push(format!("{total_div} divergent transitions after warm-up; raise target_accept or reparameterize"));
        }
        for (name, s) in names.iter().zip(&summaries) {
            if s.r_hat > 1.01 {
                warnings.push(format!(
                    "parameter '{name}' has R-hat {:.3} > 1.01: chains have not mixed",
                    s.r_hat
                ));
            }
            if s.ess_bulk < 400.0 {
                warnings.push(format!(
                    "parameter '{name}' has bulk ESS {:.0} < 400",
                    s.ess_bulk
                ));
            }
            if s.ess_tail < 400.0 {
                warnings.push(format!(
                    "parameter '{name}' has tail ESS {:.0} < 400",
                    s.ess_tail
                ));
            }
        }
        let hits: usize = max_depth_hits.iter().sum();
        if hits > 0 {
            warnings.push(format!(
                "{hits} draws hit the maximum tree depth {}",
                self.max_tree_depth
            ));
        }
        for (c, b) in bfmis.iter().enumerate() {
            if *b < 0.3 {
                warnings.push(format!("chain {c} has E-BFMI {b:.2} < 0.3"));
            }
        }
        Ok(BayesFit {
            names,
            draws,
            summaries,
            divergences,
            max_depth_hits,
            bfmi: bfmis,
            step_sizes: steps,
            gradient_evaluations: evals,
            sampling_seconds,
            warnings,
            target_scale: 0.0,
        })
    }
}

/// A posterior the NUTS driver [`BayesianMmm::sample`] runs: a log-density on the
/// unconstrained space that also names its parameters, maps them to their supports and
/// proposes an initial value for each.
pub trait SampledDensity: crate::nuts::LogDensity + Clone + Send + Sync {
    /// Name of parameter `k`.
    fn name(&self, k: usize) -> &str;
    /// The map of parameter `k` from the real line onto its support.
    fn bijector(&self, k: usize) -> crate::prior::Bijector;
    /// Initial (constrained) value of parameter `k`, the centre of the jittered starts.
    fn initial(&self, k: usize) -> f64;
    /// Constrained values `x = T(u)` of every parameter.
    fn constrain(&self, u: &[f64], out: &mut [f64]);
    /// Gradient evaluations so far.
    fn evaluations(&self) -> u64;
}

impl SampledDensity for MmmDensity {
    fn name(&self, k: usize) -> &str {
        &self.params[k].name
    }
    fn bijector(&self, k: usize) -> crate::prior::Bijector {
        self.params[k].bijector
    }
    fn initial(&self, k: usize) -> f64 {
        initial_value(self, k)
    }
    fn constrain(&self, u: &[f64], out: &mut [f64]) {
        MmmDensity::constrain(self, u, out)
    }
    fn evaluations(&self) -> u64 {
        self.evaluations
    }
}

impl SampledDensity for crate::geo_density::GeoDensity {
    fn name(&self, k: usize) -> &str {
        &self.params[k].name
    }
    fn bijector(&self, k: usize) -> crate::prior::Bijector {
        self.params[k].bijector
    }
    fn initial(&self, k: usize) -> f64 {
        self.params[k].prior.center()
    }
    fn constrain(&self, u: &[f64], out: &mut [f64]) {
        crate::geo_density::GeoDensity::constrain(self, u, out)
    }
    fn evaluations(&self) -> u64 {
        self.evaluations
    }
}

/// The initial value of parameter `k`: for a transform parameter the spec's value (or the
/// plugin's example value filled in for it) when it lies inside the prior's support, else the
/// prior's center (mean or median).
fn initial_value(f: &MmmDensity, k: usize) -> f64 {
    let p = &f.params[k];
    let center = p.prior.center();
    match p.slot {
        Slot::Transform { media, param } => {
            let v = f.media[media].initial[param];
            let s = p.prior.support();
            if v.is_finite() && v > s.lower && v < s.upper && p.prior.log_density(v).is_finite() {
                v
            } else {
                center
            }
        }
        _ => center,
    }
}

pub(crate) fn coef_from(name: &str, role: Role, v: &[f64]) -> Coefficient {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let sd =
        (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - 1.0).max(1.0)).sqrt();
    let (lo, hi) = hdi(v, HDI_PROB);
    Coefficient {
        name: name.to_string(),
        role,
        estimate: m,
        std_error: Some(sd),
        t_value: None,
        p_value: None,
        ci_low: Some(lo),
        ci_high: Some(hi),
    }
}

/// Upper bound of `chains` (as in the schema).
const MAX_CHAINS: usize = 64;
/// Upper bound of `draws` and of `tune` per chain (as in the schema).
const MAX_ITERATIONS: usize = 100_000;

#[typetag::serde(name = "bayesian_mmm")]
impl Model for BayesianMmm {
    /// Kept draws of every chain hold the parameters (about two per column, with transform
    /// parameters and σ) twice (unconstrained and constrained), the coefficients, and per period
    /// the posterior predictive and the fitted mean: `chains·draws·(5·k + 2·n + 8)·8` bytes.
    fn memory_estimate(&self, n_obs: usize, n_cols: usize) -> Option<(f64, String)> {
        let draws = self.chains as f64 * self.draws as f64;
        let per_draw = 5.0 * n_cols as f64 + 2.0 * n_obs as f64 + 8.0;
        Some((
            draws * per_draw * 8.0,
            format!(
                "{} chains × {} draws × (5 × columns + 2 × periods + 8) × 8 bytes",
                self.chains, self.draws
            ),
        ))
    }

    fn validate(&self) -> Result<()> {
        if self.chains == 0 || self.chains > MAX_CHAINS {
            return Err(MmmError::param(
                "/chains",
                format!("chains = {} must lie in [1, {MAX_CHAINS}]", self.chains),
            ));
        }
        if self.draws < 4 || self.draws > MAX_ITERATIONS {
            return Err(MmmError::param(
                "/draws",
                format!("draws = {} must lie in [4, {MAX_ITERATIONS}]", self.draws),
            ));
        }
        if self.tune > MAX_ITERATIONS {
            return Err(MmmError::param(
                "/tune",
                format!("tune = {} must be at most {MAX_ITERATIONS}", self.tune),
            ));
        }
        let target_accept = self.target_accept();
        if !(target_accept > 0.0 && target_accept < 1.0) {
            return Err(MmmError::param(
                "/target_accept",
                format!("target_accept = {target_accept} must lie in (0, 1)"),
            ));
        }
        if self.max_tree_depth == 0 || self.max_tree_depth > 15 {
            return Err(MmmError::param(
                "/max_tree_depth",
                format!(
                    "max_tree_depth = {} must lie in [1, 15]",
                    self.max_tree_depth
                ),
            ));
        }
        if !(self.nu.is_finite() && self.nu > 0.0) {
            return Err(MmmError::param(
                "/nu",
                format!("nu = {} must be finite and > 0", self.nu),
            ));
        }
        if self.geo == GeoLevel::National {
            // the joint geo fit's options do nothing on a national fit: a spec that sets one
            // expects a joint fit
            let set = [
                ("/geo_effects", self.geo_effects != GeoEffects::default()),
                ("/geo_noise", self.geo_noise != GeoNoise::default()),
                ("/geo_controls", self.geo_controls != GeoTerms::default()),
                ("/geo_trend", self.geo_trend != GeoTerms::default()),
                (
                    "/geo_transforms",
                    self.geo_transforms != GeoTerms::default(),
                ),
            ];
            if let Some((path, _)) = set.iter().find(|(_, on)| *on) {
                return Err(MmmError::param(
                    *path,
                    format!(
                        "{} applies to a joint geo fit only; set \"geo\": \"hierarchical\" \
                         (with a panel: data.geo) or remove it",
                        &path[1..]
                    ),
                ));
            }
        }
        for (k, p) in &self.priors {
            p.validate().map_err(|e| e.at(&format!("/priors/{k}")))?;
        }
        Ok(())
    }

    fn samples_transform_params(&self) -> bool {
        true
    }

    fn fits_calibration(&self) -> bool {
        true
    }

    fn fits_geos(&self) -> bool {
        self.geo == GeoLevel::Hierarchical
    }

    fn predicts_geos(&self) -> bool {
        self.fits_geos()
    }

    fn fit(&self, problem: &FitProblem<'_>) -> Result<FittedModel> {
        if self.fits_geos() && problem.geos.len() > 1 {
            return self.fit_geo(problem);
        }
        let (mut density, media_cols, media_channels, scales, s_y) = self.density(problem)?;
        let mut fit = self.sample(&density, problem.seed)?;
        fit.target_scale = s_y;
        Ok(self.assemble(
            problem,
            &mut density,
            &fit,
            &media_cols,
            &media_channels,
            &scales,
        ))
    }
}

/// The non-media coefficients of draw `d` in raw design units (over the target scale): the
/// sampled coefficients of standardized columns mapped back (see [`standardization`]), the
/// intercept taking up the centres; written to `out` (one per column of `density.z`).
fn raw_z_coefficients(density: &MmmDensity, d: &[f64], intercept: Option<usize>, out: &mut [f64]) {
    let mut shift = 0.0;
    for (zi, o) in out.iter_mut().enumerate() {
        let g = d[density.coef_index(zi)];
        *o = g / density.z_scale[zi];
        shift += g * density.z_center[zi] / density.z_scale[zi];
    }
    if let Some(k) = intercept {
        out[k] -= shift;
    }
}

impl BayesianMmm {
    /// Turns the draws into the core's `FittedModel` (original units) with a [`Posterior`].
    pub fn assemble(
        &self,
        problem: &FitProblem<'_>,
        density: &mut MmmDensity,
        fit: &BayesFit,
        media_cols: &[usize],
        media_channels: &[usize],
        scales: &[f64],
    ) -> FittedModel {
        let design = problem.design;
        let n = design.n_obs();
        let s_y = fit.target_scale;
        let all: Vec<(usize, &Vec<f64>)> = fit
            .draws
            .iter()
            .enumerate()
            .flat_map(|(c, ch)| ch.iter().map(move |d| (c, d)))
            .collect();
        let n_draws = all.len();
        // coefficients per design column, original units
        let mut coef_draws = DMatrix::zeros(n_draws, design.n_cols());
        let mut z_idx = 0;
        let mut media_idx = 0;
        let mut col_param = vec![0; design.n_cols()];
        for (j, col) in design.columns.iter().enumerate() {
            if col.role == Role::Media && col.channel.is_some() {
                col_param[j] = density.media_coef_index(media_idx);
                media_idx += 1;
            } else {
                col_param[j] = density.coef_index(z_idx);
                z_idx += 1;
            }
        }

        // posterior predictive and contributions
        let sigma_k = density.sigma_index();
        let mut mu = vec![0.0; n];
        let mut contrib = vec![vec![0.0; n]; density.media.len()];
        let mut fitted = vec![0.0; n];
        let mut pp: Vec<Vec<f64>> = vec![Vec::with_capacity(n_draws); n];
        let mut media_post: Vec<PosteriorMedia> = media_cols
            .iter()
            .zip(media_channels)
            .zip(scales)
            .map(|((&column, &channel), &s)| PosteriorMedia {
                column,
                channel,
                input_scale: 1.0 / s,
                coefficient: Vec::with_capacity(n_draws),
                chain_params: Vec::with_capacity(n_draws),
                contribution: Vec::with_capacity(n_draws),
                geos: vec![],
            })
            .collect();
        let mut col_contrib = vec![vec![0.0; n]; design.n_cols()];
        let mut rng = ChaCha8Rng::seed_from_u64(problem.seed ^ 0x005E_ED0F_9057);
        let t_dist = match density.family {
            Family::StudentT(nu) => StudentT::new(nu).ok(),
            Family::Normal => None,
        };
        let z_cols: Vec<usize> = (0..design.n_cols())
            .filter(|j| !media_cols.contains(j))
            .collect();
        let intercept_z = z_cols
            .iter()
            .position(|&j| design.columns[j].role == Role::Intercept);
        let mut z_coef = vec![0.0; z_cols.len()];
        let mut yrep = vec![0.0; n];
        let mut log_lik: Vec<Vec<f64>> = vec![Vec::with_capacity(n_draws); n];
        let mut post_stats = Vec::with_capacity(n_draws);
        let mut lift_draws: Vec<Vec<f64>> = vec![Vec::with_capacity(n_draws); density.lifts.len()];
        let mut lift_now = vec![0.0; density.lifts.len()];
        for (r, (_, d)) in all.iter().enumerate() {
            density.model_lifts(d, &mut lift_now);
            for (v, l) in lift_draws.iter_mut().zip(&lift_now) {
                v.push(l * s_y);
            }
            density.mean(d, &mut mu, &mut contrib);
            raw_z_coefficients(density, d, intercept_z, &mut z_coef);
            for j in 0..design.n_cols() {
                coef_draws[(r, j)] = d[col_param[j]] * s_y;
            }
            for (zi, &j) in z_cols.iter().enumerate() {
                coef_draws[(r, j)] = z_coef[zi] * s_y;
            }
            for (i, &j) in media_cols.iter().enumerate() {
                coef_draws[(r, j)] = density.beta[i] * s_y;
            }
            let sigma = d[sigma_k];
            for t in 0..n {
                fitted[t] += mu[t] * s_y;
                let e: f64 = match &t_dist {
                    Some(td) => td.sample(&mut rng),
                    None => StandardNormal.sample(&mut rng),
                };
                yrep[t] = (mu[t] + sigma * e) * s_y;
                pp[t].push(yrep[t]);
                log_lik[t].push(density.point_log_lik(t, mu[t], sigma) - s_y.ln());
            }
            post_stats.push(crate::checks::stats(&yrep));
            for (i, m) in media_post.iter_mut().enumerate() {
                let b = density.beta[i];
                m.coefficient.push(b * s_y);
                m.chain_params.push(
                    density
                        .media_theta_indices(i)
                        .iter()
                        .map(|&k| d[k])
                        .collect(),
                );
                m.contribution.push(contrib[i].iter().sum::<f64>() * s_y);
                for t in 0..n {
                    col_contrib[m.column][t] += contrib[i][t] * s_y;
                }
            }
            for (zi, &j) in z_cols.iter().enumerate() {
                let c = z_coef[zi] * s_y;
                let (center, scale) = (density.z_center[zi], density.z_scale[zi]);
                for t in 0..n {
                    col_contrib[j][t] += c * (density.z[zi][t] * scale + center);
                }
            }
        }
        let coefficients: Vec<Coefficient> = design
            .columns
            .iter()
            .enumerate()
            .map(|(j, c)| coef_from(&c.name, c.role, coef_draws.column(j).as_slice()))
            .collect();
        let nd = n_draws as f64;
        fitted.iter_mut().for_each(|v| *v /= nd);
        col_contrib.iter_mut().flatten().for_each(|v| *v /= nd);
        let (lo, hi): (Vec<f64>, Vec<f64>) = pp.iter().map(|v| hdi(v, HDI_PROB)).unzip();

        let mut diagnostics = self.diagnostics_json(fit);
        let checks = crate::fit_checks::fit_checks(crate::fit_checks::FitChecksInput {
            problem,
            density: &mut *density,
            fit,
            media_post: &media_post,
            fitted: &fitted,
            col_contrib: &col_contrib,
            log_lik: &log_lik,
            post_stats: &post_stats,
            t_dist,
            seed: problem.seed,
        });
        if let (Some(obj), Some(c)) = (diagnostics.as_object_mut(), checks.as_object()) {
            for (k, v) in c {
                obj.insert(k.clone(), v.clone());
            }
        }
        let posterior = Posterior {
            names: fit.names.clone(),
            chain: all.iter().map(|(c, _)| *c).collect(),
            draws: all.iter().map(|(_, d)| (*d).clone()).collect(),
            diagnostics: diagnostics.clone(),
            warnings: fit.warnings.clone(),
            media: media_post,
            column_contributions: col_contrib,
            lifts: lift_draws,
            geos: vec![],
            kind: mmm_core::model::DrawsKind::Posterior,
        };
        let mut statistics = self.sampler_statistics(fit);
        statistics.insert("sigma".into(), fit.summaries[sigma_k].mean * s_y);
        statistics.insert("target_scale".into(), s_y);
        self.fitted_model(
            coefficients,
            fitted,
            (lo, hi),
            coef_draws,
            statistics,
            &posterior,
        )
    }

    /// The core's `FittedModel` of a fit: its parts at the HDI level, this model's settings as
    /// its parameters, and the posterior attached.
    pub(crate) fn fitted_model(
        &self,
        coefficients: Vec<Coefficient>,
        fitted: Vec<f64>,
        interval: (Vec<f64>, Vec<f64>),
        coefficient_draws: DMatrix<f64>,
        statistics: BTreeMap<String, f64>,
        posterior: &Posterior,
    ) -> FittedModel {
        let mut parameters = serde_json::to_value(self).unwrap_or_default();
        if let Some(obj) = parameters.as_object_mut() {
            obj.insert("type".into(), json!("bayesian_mmm"));
        }
        let mut fm = FittedModel {
            coefficients,
            fitted,
            fitted_interval: Some(interval),
            interval_level: HDI_PROB,
            coefficient_draws: Some(coefficient_draws),
            statistics,
            column_statistics: BTreeMap::new(),
            parameters,
        };
        fm.set_posterior(posterior);
        fm
    }

    /// The sampler's statistics of a fit: divergences, max R-hat, min bulk and tail ESS, min
    /// E-BFMI, sampling seconds and gradient evaluations.
    pub fn sampler_statistics(&self, fit: &BayesFit) -> BTreeMap<String, f64> {
        let mut statistics = BTreeMap::new();
        statistics.insert(
            "divergences".into(),
            fit.divergences.iter().sum::<usize>() as f64,
        );
        statistics.insert(
            "max_r_hat".into(),
            fit.summaries
                .iter()
                .map(|s| s.r_hat)
                .fold(f64::NAN, f64::max),
        );
        statistics.insert(
            "min_ess_bulk".into(),
            fit.summaries
                .iter()
                .map(|s| s.ess_bulk)
                .fold(f64::NAN, f64::min),
        );
        statistics.insert(
            "min_ess_tail".into(),
            fit.summaries
                .iter()
                .map(|s| s.ess_tail)
                .fold(f64::NAN, f64::min),
        );
        statistics.insert(
            "min_bfmi".into(),
            fit.bfmi.iter().copied().fold(f64::NAN, f64::min),
        );
        statistics.insert("sampling_seconds".into(), fit.sampling_seconds);
        statistics.insert(
            "gradient_evaluations".into(),
            fit.gradient_evaluations as f64,
        );
        statistics
    }

    /// The diagnostics as JSON: per parameter summary, divergences, tree-depth hits, E-BFMI.
    pub fn diagnostics_json(&self, fit: &BayesFit) -> serde_json::Value {
        let params: serde_json::Map<String, serde_json::Value> = fit
            .names
            .iter()
            .zip(&fit.summaries)
            .map(|(n, s)| (n.clone(), serde_json::to_value(s).unwrap_or_default()))
            .collect();
        json!({
            "sampler": format!("nuts ({} metric, Stan warm-up)", match self.metric() { MetricKind::Dense => "dense", MetricKind::Diagonal => "diagonal" }),
            "chains": self.chains,
            "tune": self.tune,
            "draws": self.draws,
            "target_accept": self.target_accept(),
            "hdi_prob": HDI_PROB,
            "target_scale": fit.target_scale,
            "parameters_scale": "scaled data (target / target_scale, spend / spend scale)",
            "divergences": fit.divergences,
            "max_tree_depth_hits": fit.max_depth_hits,
            "e_bfmi": fit.bfmi,
            "step_size": fit.step_sizes,
            "gradient_evaluations": fit.gradient_evaluations,
            "sampling_seconds": fit.sampling_seconds,
            "parameters": params,
        })
    }
}

mmm_core::register!(
    KIND,
    BayesianMmm,
    "bayesian_mmm",
    "Bayesian MMM: transform parameters, coefficients and noise sampled jointly with NUTS",
    r#"{"chains":2,"tune":200,"draws":200,"progress":false}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_prior_is_the_documented_family() {
        let groups = [
            "intercept",
            "channel_coefficient",
            "control",
            "baseline",
            "sigma",
            "geometric_adstock.decay",
            "delayed_adstock.decay",
            "delayed_adstock.theta",
            "logistic.lam",
            "hill.half_saturation",
            "hill.shape",
            "power.exponent",
            "weibull_adstock.shape",
            "michaelis_menten.vmax",
            "log_median_beta",
            "beta_spread",
            "beta_offset",
            "other",
        ];
        for d in [
            Defaults::Robust,
            Defaults::PymcMarketing,
            Defaults::LightweightMmm,
        ] {
            for g in groups {
                assert!(default_prior(d, g, Support::POSITIVE).is_ok(), "{d:?} {g}");
            }
        }
        // Beta(1, 3) at 0.4: log 3 + 2·log 0.6; Gamma(3, 1) at 4: log(4²·e⁻⁴/2)
        let decay = default_prior(
            Defaults::PymcMarketing,
            "geometric_adstock.decay",
            Support::UNIT,
        )
        .unwrap();
        assert!((decay.log_density(0.4) - (3f64.ln() + 2.0 * 0.6f64.ln())).abs() < 1e-12);
        let lam =
            default_prior(Defaults::PymcMarketing, "logistic.lam", Support::POSITIVE).unwrap();
        assert!((lam.log_density(4.0) - (8f64.ln() - 4.0)).abs() < 1e-12);
        // HalfNormal(2) at 1: log(2/(2·√(2π))) − 1/8
        let beta = default_prior(
            Defaults::PymcMarketing,
            "channel_coefficient",
            Support::POSITIVE,
        )
        .unwrap();
        let want = (2.0 / (2.0 * (2.0 * std::f64::consts::PI).sqrt())).ln() - 0.125;
        assert!((beta.log_density(1.0) - want).abs() < 1e-12);
        // the generic fallback on a bounded range is uniform
        let u = default_prior(
            Defaults::PymcMarketing,
            "other",
            Support {
                lower: 0.0,
                upper: 2.0,
            },
        )
        .unwrap();
        assert!((u.log_density(1.0) + 2f64.ln()).abs() < 1e-12);
    }

    /// Standardized columns are centred and of unit sd, and the coefficients mapped back give
    /// the same mean in raw units: `Σ_j γ'_j·z_tj = Σ_j γ_j·x_tj` for every `t`.
    #[test]
    fn standardized_controls_map_back_to_the_same_mean_in_raw_units() {
        let n = 40;
        let raw: Vec<Vec<f64>> = vec![
            vec![1.0; n],
            (0..n)
                .map(|t| 120.0 + 7.0 * (t as f64 * 0.7).sin())
                .collect(),
            (0..n).map(|t| if t % 9 == 0 { 1.0 } else { 0.0 }).collect(),
            vec![3.0; n],
        ];
        let roles = [
            Role::Intercept,
            Role::Control,
            Role::Baseline,
            Role::Control,
        ];
        let (center, scale) = standardization(&raw, &roles);
        assert_eq!((center[0], scale[0]), (0.0, 1.0), "the intercept is kept");
        assert_eq!(
            (center[3], scale[3]),
            (0.0, 1.0),
            "a constant column is kept"
        );
        let z: Vec<Vec<f64>> = raw
            .iter()
            .zip(center.iter().zip(&scale))
            .map(|(c, (m, s))| c.iter().map(|v| (v - m) / s).collect())
            .collect();
        for col in &z[1..3] {
            let mean = col.iter().sum::<f64>() / n as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
            assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12);
        }
        let param = |k: usize| Param {
            name: format!("z{k}"),
            slot: Slot::Coef(k),
            prior: default_prior(Defaults::Robust, "control", Support::REAL).unwrap(),
            bijector: Support::REAL.bijector(),
        };
        let mut params: Vec<Param> = (0..4).map(param).collect();
        params.push(Param {
            name: "sigma".into(),
            slot: Slot::Sigma,
            prior: default_prior(Defaults::Robust, "sigma", Support::POSITIVE).unwrap(),
            bijector: Support::POSITIVE.bijector(),
        });
        let mut density = MmmDensity::new(vec![0.0; n], z.clone(), vec![], params, Family::Normal);
        density.z_center = center;
        density.z_scale = scale;
        let draw = [0.9, -0.3, 0.25, 0.1, 0.5];
        let mut raw_coef = vec![0.0; 4];
        raw_z_coefficients(&density, &draw, Some(0), &mut raw_coef);
        for t in 0..n {
            let sampled: f64 = (0..4).map(|j| draw[j] * z[j][t]).sum();
            let mapped: f64 = (0..4).map(|j| raw_coef[j] * raw[j][t]).sum();
            assert!(
                (sampled - mapped).abs() < 1e-12,
                "t = {t}: {sampled} vs {mapped}"
            );
        }
    }
}
