//! The `Model` trait: fits a design matrix to a target.
//!
//! A model sees the design (each column named and given a [`Role`]), the target, and, for models
//! that sample transform parameters themselves (Bayesian MMM), the raw media with their
//! transform chains. It returns a [`FittedModel`]: coefficients aligned with the design's
//! columns, fitted values, and what the method defines of standard errors, intervals and draws.

use crate::error::Result;
use crate::params::ParamSpec;
use crate::transform::TransformChain;
use nalgebra::DMatrix;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Debug;

/// The plugin kind name of models.
pub const KIND: &str = "model";

/// What a design column stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The constant column.
    Intercept,
    /// Trend, seasonality, holidays and other baseline terms.
    Baseline,
    /// A control variable (price, promotions, events…).
    Control,
    /// A paid media channel (transformed spend).
    Media,
    /// A mediator entered into a later stage (see mediated causal structures).
    Mediator,
}

/// One column of a design matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// Column name (channel name for media columns).
    pub name: String,
    /// What the column stands for.
    pub role: Role,
    /// Index into the problem's `media` for media columns.
    pub channel: Option<usize>,
}

/// A design matrix with named columns (`n_obs × n_cols`, column-major).
#[derive(Debug, Clone)]
pub struct Design {
    /// The columns, in matrix order.
    pub columns: Vec<Column>,
    /// The values.
    pub x: DMatrix<f64>,
}

impl Design {
    /// Number of rows.
    pub fn n_obs(&self) -> usize {
        self.x.nrows()
    }
    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.x.ncols()
    }
    /// Index of the intercept column, if any.
    pub fn intercept(&self) -> Option<usize> {
        self.columns.iter().position(|c| c.role == Role::Intercept)
    }
}

/// A channel's raw input and its transform chain (for models that re-transform media).
#[derive(Debug, Clone)]
pub struct MediaInput {
    /// Channel name.
    pub name: String,
    /// Raw spend per period.
    pub spend: Vec<f64>,
    /// The channel's transforms, with data-dependent constants learned on `spend`.
    pub chain: TransformChain,
}

/// Everything a model is fitted on.
#[derive(Debug, Clone, Copy)]
pub struct FitProblem<'a> {
    /// The design matrix (media columns already transformed).
    pub design: &'a Design,
    /// The target.
    pub y: &'a [f64],
    /// Raw media for the design's media columns (`Column::channel` indexes this).
    pub media: &'a [MediaInput],
    /// Seed for any random choice the model makes.
    pub seed: u64,
    /// Lift tests of channels of this problem's `media` (`LiftTest::channel` indexes it), for
    /// models that fit them ([`Model::fits_calibration`]); empty otherwise.
    pub calibration: &'a [crate::calibration::LiftTest],
    /// The geos of a panel (`data.geo`): per geo its target, its spend per channel of `media`
    /// and its values of every non-media column of `design`, in design order; empty for
    /// national data. Models that fit the geos jointly ([`Model::fits_geos`]) use them; every
    /// other model fits the national series (`design`, `y`), their sums.
    pub geos: &'a [crate::geo::GeoSeries],
}

/// One estimated coefficient.
#[derive(Debug, Clone, Serialize)]
pub struct Coefficient {
    /// Column name.
    pub name: String,
    /// Column role.
    pub role: Role,
    /// Point estimate (posterior mean for Bayesian models).
    pub estimate: f64,
    /// Standard error (posterior sd for Bayesian models), where defined.
    pub std_error: Option<f64>,
    /// t statistic, where defined.
    pub t_value: Option<f64>,
    /// Two-sided p value, where defined.
    pub p_value: Option<f64>,
    /// Lower end of the interval at [`FittedModel::interval_level`], where defined.
    pub ci_low: Option<f64>,
    /// Upper end of the interval, where defined.
    pub ci_high: Option<f64>,
}

impl Coefficient {
    /// A coefficient with a point estimate only.
    pub fn point(name: &str, role: Role, estimate: f64) -> Self {
        Coefficient {
            name: name.to_string(),
            role,
            estimate,
            std_error: None,
            t_value: None,
            p_value: None,
            ci_low: None,
            ci_high: None,
        }
    }
}

/// A fitted model.
#[derive(Debug, Clone, Default)]
pub struct FittedModel {
    /// Coefficients, aligned with the design's columns.
    pub coefficients: Vec<Coefficient>,
    /// Fitted values (posterior predictive mean for Bayesian models).
    pub fitted: Vec<f64>,
    /// Interval of the fitted values or posterior predictive, at `interval_level`.
    pub fitted_interval: Option<(Vec<f64>, Vec<f64>)>,
    /// Level of every interval the model reports (e.g. 0.95).
    pub interval_level: f64,
    /// Draws of the coefficients (`draws × columns`), for intervals of derived quantities.
    pub coefficient_draws: Option<DMatrix<f64>>,
    /// Model-level statistics the method defines (condition number, log-likelihood, AIC…).
    pub statistics: BTreeMap<String, f64>,
    /// Per-column statistics (e.g. `"vif"` → one value per column, NaN where undefined).
    pub column_statistics: BTreeMap<String, Vec<f64>>,
    /// The model's parameters as used (for reporting).
    pub parameters: serde_json::Value,
}

impl FittedModel {
    /// Coefficient estimates as a vector.
    pub fn beta(&self) -> Vec<f64> {
        self.coefficients.iter().map(|c| c.estimate).collect()
    }

    /// The posterior of a Bayesian model, if the model attached one with
    /// [`FittedModel::set_posterior`].
    ///
    /// It travels in `parameters["posterior"]` rather than in a field of its own, so that adding
    /// it did not break the struct literals of models that have no posterior; `run` removes it
    /// from the parameters it reports.
    pub fn posterior(&self) -> Option<Posterior> {
        self.parameters
            .get(POSTERIOR_KEY)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// Attaches a posterior (see [`FittedModel::posterior`]).
    pub fn set_posterior(&mut self, posterior: &Posterior) {
        if !self.parameters.is_object() {
            self.parameters = serde_json::json!({});
        }
        if let (Some(obj), Ok(v)) = (
            self.parameters.as_object_mut(),
            serde_json::to_value(posterior),
        ) {
            obj.insert(POSTERIOR_KEY.into(), v);
        }
    }
}

/// The key of [`FittedModel::parameters`] that holds a [`Posterior`].
pub const POSTERIOR_KEY: &str = "posterior";

/// Posterior draws of a Bayesian model: every sampled parameter, diagnostics, and per media
/// column what contributions need per draw.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Posterior {
    /// Parameter names (the columns of `draws`).
    pub names: Vec<String>,
    /// Chain index of every draw (the rows of `draws`).
    pub chain: Vec<usize>,
    /// Draws, one row per (chain, draw), one value per parameter.
    pub draws: Vec<Vec<f64>>,
    /// Sampler diagnostics (R-hat, ESS, divergences, tree depth, E-BFMI…) as the model reports them.
    pub diagnostics: serde_json::Value,
    /// Warnings about the sampling (R-hat above 1.01, ESS below 400, divergences…).
    pub warnings: Vec<String>,
    /// One entry per media column of the design.
    pub media: Vec<PosteriorMedia>,
    /// Posterior mean of every design column's per-period contribution (`columns × periods`,
    /// target units), for the decomposition.
    pub column_contributions: Vec<Vec<f64>>,
    /// Per lift test of the problem (`FitProblem::calibration` order), the model's lift per
    /// draw in target units (see [`crate::calibration`]); empty when the model has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifts: Vec<Vec<f64>>,
    /// Per geo of a jointly fitted panel ([`Model::fits_geos`]), in panel order: its fitted
    /// values and column contributions; empty for a national fit. The national
    /// `column_contributions` are their sums.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub geos: Vec<PosteriorGeo>,
    /// What the draws are: a Bayesian posterior (the default) or a frequentist estimator's
    /// sampling distribution (see [`DrawsKind`]).
    #[serde(default)]
    pub kind: DrawsKind,
}

/// What the draws of a [`Posterior`] are.
///
/// A frequentist fit of a geo panel (`ols`/`ridge` with geo fixed effects) reports its per-geo
/// figures through the same [`Posterior`] as the Bayesian geo fit, so that results, the
/// decomposition, SQLite, the report and the response curves take one path; its draws are
/// then those of the estimator's approximate sampling distribution, not of a posterior, and
/// what only a posterior has (sampler diagnostics, `draws.csv`, the model review) is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawsKind {
    /// Draws of a Bayesian posterior.
    #[default]
    Posterior,
    /// Draws of a point estimator's sampling distribution, `θ̂ + L·z·√(ν/w)` (a multivariate
    /// t around the estimate, `L·L' = V̂`), or the point estimate alone (one draw: no interval).
    SamplingDistribution,
}

impl Posterior {
    /// Whether the posterior is of a jointly fitted geo panel (see [`Posterior::geos`]).
    pub fn is_geo(&self) -> bool {
        !self.geos.is_empty()
    }

    /// Whether the draws are a Bayesian posterior's (see [`DrawsKind`]).
    pub fn is_bayesian(&self) -> bool {
        self.kind == DrawsKind::Posterior
    }
}

/// One geo of a jointly fitted panel.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct PosteriorGeo {
    /// The geo's name as the data spell it.
    pub name: String,
    /// Posterior mean of the geo's expected KPI per period (target units).
    pub fitted: Vec<f64>,
    /// Posterior mean of every design column's per-period contribution in this geo
    /// (`columns × periods`, target units).
    pub column_contributions: Vec<Vec<f64>>,
    /// Posterior mean of the geo's coefficient of every non-media design column on the geo's
    /// own raw values of that column (design order, 0 for media columns), so that its expected
    /// KPI at period `t` is `Σ_j coefficients_j·v_{g,t,j}` plus its media terms
    /// ([`PosteriorMediaGeo::spend_scale`]); empty when the model does not give them (then it
    /// cannot predict periods it was not fitted on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coefficients: Vec<f64>,
}

/// One geo's share of a media column in a jointly fitted panel: the national response to a
/// national spend path `x` is the sum over geos of `coefficient · f(input_scale · x; θ)`, i.e.
/// every geo receives its current share of the channel's spend.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct PosteriorMediaGeo {
    /// `w_g / (p_g·s_c)`: the geo's share `w_g` of the channel's spend, over its population
    /// and the channel's per-capita spend scale (see the model's docs).
    pub input_scale: f64,
    /// Per draw, the geo's coefficient in target units (`p_g·s_y·β_{g,c}`).
    pub coefficient: Vec<f64>,
    /// Per draw, the geo's contribution over the data (target units).
    pub contribution: Vec<f64>,
    /// `1/(p_g·s_c)`: the geo's own spend is multiplied by this before the chain (its media
    /// term at period `t` is `coefficient·f(spend_scale·x_g; θ)_t`); 0 when not given.
    #[serde(default)]
    pub spend_scale: f64,
    /// Per draw, the geo's own chain parameters when the model gives each geo its own
    /// transforms; empty when the geos share the channel's ([`PosteriorMedia::chain_params`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain_params: Vec<Vec<f64>>,
}

/// The posterior of one media column.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct PosteriorMedia {
    /// Index of the column in the design.
    pub column: usize,
    /// Index into the problem's `media`.
    pub channel: usize,
    /// Spend is multiplied by this before the channel's chain (spend scaling of the model).
    pub input_scale: f64,
    /// Coefficient per draw (target units per unit of chain output).
    pub coefficient: Vec<f64>,
    /// Chain parameters per draw (chain order, see `TransformChain::get_params`); empty for a
    /// geo panel whose geos each have their own (then in [`PosteriorMediaGeo::chain_params`]).
    pub chain_params: Vec<Vec<f64>>,
    /// Contribution over the data per draw: `coefficient · Σ_t f(input_scale·x; θ)_t`
    /// (nationally; for a geo panel the sum of the geos' contributions).
    pub contribution: Vec<f64>,
    /// Per geo of a jointly fitted panel (the order of [`Posterior::geos`]); empty for a
    /// national fit. When present, the channel's response is the sum over geos (see
    /// [`PosteriorMediaGeo`]) and `coefficient`/`input_scale` only describe the national
    /// median effect.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub geos: Vec<PosteriorMediaGeo>,
}

/// A statistical model that fits a design matrix to a target.
#[typetag::serde(tag = "type")]
pub trait Model: Send + Sync + Debug + dyn_clone::DynClone {
    /// Continuous parameters (e.g. a penalty), for tuning.
    fn params(&self) -> &'static [ParamSpec] {
        &[]
    }
    /// Writes the current parameter values.
    fn get_params(&self, _out: &mut [f64]) {}
    /// Sets the parameter values.
    fn set_params(&mut self, _values: &[f64]) {}
    /// Checks every parameter; the error names the field, its value and the rule.
    fn validate(&self) -> Result<()>;
    /// Peak memory in bytes a fit of `n_obs` periods and `n_cols` design columns needs, with
    /// the formula in words, when it grows with the model's own settings (posterior draws…);
    /// checked against the machine before any work ([`crate::budget`]). `None` (the default):
    /// a few copies of the design.
    fn memory_estimate(&self, _n_obs: usize, _n_cols: usize) -> Option<(f64, String)> {
        None
    }

    /// Whether the model samples the channels' transform parameters itself (a Bayesian model):
    /// then the spec may leave them out ([`crate::sampled_params::fill_sampled_transform_params`]
    /// fills in the plugin's example value as the initial point). `false` by default.
    fn samples_transform_params(&self) -> bool {
        false
    }
    /// Whether the model fits the problem's lift tests ([`FitProblem::calibration`]) as part of
    /// its likelihood (a Bayesian model); other models are only compared with them. `false`
    /// by default.
    fn fits_calibration(&self) -> bool {
        false
    }
    /// Whether the model fits a panel's geos jointly ([`FitProblem::geos`]) when the problem
    /// has them, reporting national figures as sums over geos and per-geo figures in
    /// [`Posterior::geos`]; `false` by default (the model fits the national series).
    fn fits_geos(&self) -> bool {
        false
    }
    /// Whether the model's joint geo fit can be tuned: each candidate of the transform search
    /// refits the geos (a fast frequentist fit); `false` by default (a joint fit is refused by
    /// tuning).
    fn tunes_geos(&self) -> bool {
        false
    }
    /// Whether the model's joint geo fit can predict periods it was not fitted on (it fills
    /// [`PosteriorGeo::coefficients`] and [`PosteriorMediaGeo::spend_scale`]), so that
    /// out-of-sample validation works on it; `false` by default.
    fn predicts_geos(&self) -> bool {
        false
    }
    /// Fits the model.
    fn fit(&self, problem: &FitProblem<'_>) -> Result<FittedModel>;
    /// Fast path for tuning: the coefficients of the non-intercept columns from the centered
    /// normal equations (the intercept is `ȳ − x̄·b`), without allocating. `None` when the model
    /// has no such form (the default); tuning then calls [`Model::fit`].
    fn fit_gram(
        &self,
        _system: &mut crate::gram::GramSystem<'_>,
        _beta: &mut [f64],
        _ws: &mut crate::gram::GramWorkspace,
    ) -> Option<Result<()>> {
        None
    }
}

dyn_clone::clone_trait_object!(Model);
crate::plugin_kind_schema!(Model, KIND, "Model");
