//! The experiment spec: a JSON document that names the data, the channels and their transforms,
//! the controls, the baseline, the model, the causal structure and the optimizer.
//!
//! Loading goes in three steps, each reporting every problem by JSON pointer:
//! 1. the document is validated against the combined JSON Schema ([`experiment_schema`]);
//! 2. it is deserialized (plugins by their `type`, through `typetag`);
//! 3. every plugin's `validate()` checks its parameters (schema bounds alone are not enough:
//!    tuning and code build parameters without JSON).

use mmm_core::causal::CausalStructure;
use mmm_core::error::{MmmError, Result, SpecIssue};
use mmm_core::model::Model;
use mmm_core::optimizer::Optimizer;
use mmm_core::transform::{Transform, TransformChain};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The version of the spec and results formats.
pub const SCHEMA_VERSION: &str = "1.0";

/// A whole experiment.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mmm experiment spec")]
pub struct ExperimentSpec {
    /// Path of this JSON Schema, for editors (ignored by mmm).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Name of the experiment (used in reports).
    pub name: String,
    /// Seed for every random choice (bootstrap, sampling, tuning); the same seed gives the same
    /// results byte for byte.
    #[serde(default)]
    pub seed: u64,
    /// The data file and its key columns.
    pub data: DataSpec,
    /// Paid media channels, each with its spend column and transforms.
    #[schemars(length(min = 1, max = 1000))]
    pub media: Vec<MediaSpec>,
    /// Control variables: a numeric column name, or a column with options.
    #[serde(default)]
    #[schemars(length(max = 1000))]
    pub controls: Vec<ControlSpec>,
    /// Baseline terms (default: intercept only).
    #[serde(default)]
    pub baseline: BaselineSpec,
    /// The statistical model.
    pub model: Box<dyn Model>,
    /// The causal structure (default `{"type": "direct"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causal: Option<Box<dyn CausalStructure>>,
    /// Budget optimization to run on the fitted model (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<Box<dyn Optimizer>>,
    /// Out-of-sample validation: chronological split and rolling-origin folds (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<mmm_core::validation::ValidationSpec>,
    /// Hyperparameter search over the parameters given as `{"range": [low, high]}` (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<mmm_core::tuning::TuningSpec>,
    /// Lift tests (geo or holdout experiments) the model is calibrated with: a Bayesian model
    /// adds each as a likelihood term, tuning can minimize `mape_lift`, and every run reports
    /// the model's lift beside the measured one (see `docs/bayesian.md`, "Calibration").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000))]
    pub calibration: Vec<crate::calibration::LiftTestSpec>,
    /// Settings of `mmm audit` (replicates, seed, block length); ignored by `mmm run`
    /// (optional, see `docs/audit.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditSpec>,
}

/// Settings of `mmm audit`: how many replicate data sets to simulate from the fitted model
/// and refit, with which seed, and the residual bootstrap's block length (see
/// `docs/audit.md`). Command-line flags override them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditSpec {
    /// Number of replicate data sets `R` (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 100000))]
    pub replicates: Option<usize>,
    /// Seed of the replicates (default: the spec's `seed`); replicate `r` draws its residual
    /// blocks from ChaCha8 stream `r` of this seed, whatever the thread count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Length in periods of the moving blocks of residuals (default `ceil(n^(1/3))`, at
    /// least 2; 1 is the plain iid residual bootstrap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub block_length: Option<usize>,
    /// For a Bayesian model: how many posterior draws are taken as alternative truths
    /// (default 8; evenly spaced through the draws; replicate `r` is simulated from truth
    /// `r mod K`). 1 keeps the posterior-mean fit as the only truth; other models have one
    /// truth and accept only 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub truths: Option<usize>,
}

/// Where the data is, how it is laid out, which columns are the date and the target, and how
/// it is cleaned and aggregated before modeling (see `docs/data.md`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// CSV file, relative to the spec file.
    #[schemars(length(min = 1))]
    pub path: String,
    /// Name of the date column (ISO dates, weekly or daily).
    pub date: String,
    /// Name of the target (KPI) column. In long format: a metric column of the file (e.g.
    /// `revenue` or `conversions`), summed over campaigns into a column of the same name.
    pub target: String,
    /// Layout of the file: `wide` (one row per period, one column per series; the default) or
    /// `long` (one row per date and campaign, pivoted to `<campaign>.<metric>` columns).
    #[serde(
        default,
        skip_serializing_if = "mmm_core::quality::DataFormat::is_wide"
    )]
    pub format: mmm_core::quality::DataFormat,
    /// Column names of the long format (defaults: `campaign_name`, `spend`, `impressions`,
    /// `clicks`, `conversions`, `revenue`); the metric names also find the KPI columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "crate::prepare::LongColumns")]
    pub columns: Option<crate::prepare::LongColumns>,
    /// Sum daily rows into periods before modeling: `week` (ISO weeks, Monday to Sunday).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "mmm_core::quality::Aggregate")]
    pub aggregate: Option<mmm_core::quality::Aggregate>,
    /// What to do with a partial first or last week when aggregating: `drop` (default) or
    /// `keep` (summed over the days present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "crate::prepare::PartialWeeks")]
    pub partial_weeks: Option<crate::prepare::PartialWeeks>,
    /// Explicit cleaning rules: missing values, negative spend, outliers (default: none, and
    /// every such problem is an error naming its file, line and column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "crate::cleaning::CleaningSpec")]
    pub cleaning: Option<crate::cleaning::CleaningSpec>,
    /// For a conversion KPI (sign-ups, orders…): what one unit of the target is worth in
    /// money, a number or the name of a column holding it per period, so that each channel's
    /// effect and ROI are also reported in money and its cost per acquisition (CPA) is
    /// reported (Meridian's `revenue_per_kpi`). Default: none (the target is money).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue_per_kpi: Option<RevenuePerKpi>,
    /// Name of the geo column of a panel: one row per geo and period, every geo on the same
    /// regular dates (see docs/geo.md). The national series are the geos' sums (target, spend)
    /// and population-weighted means (controls, a revenue per KPI column); see docs/data.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub geo: Option<String>,
    /// Name of a population column (> 0; constant per geo, or per row, in which case its mean
    /// over the geo's rows is the geo's population). Only with `geo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub population: Option<String>,
}

/// The money one unit of a conversion KPI is worth (see [`DataSpec::revenue_per_kpi`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RevenuePerKpi {
    /// The same value every period, > 0.
    Value(#[schemars(extend("exclusiveMinimum" = 0.0))] f64),
    /// A column of the data with the value per period (≥ 0).
    Column(#[schemars(length(min = 1))] String),
}

impl DataSpec {
    /// The long format's column names (the defaults when the spec gives none).
    pub fn long_columns(&self) -> crate::prepare::LongColumns {
        self.columns.clone().unwrap_or_default()
    }
}

/// One paid media channel.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaSpec {
    /// Channel name used in results.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Column with the channel's spend per period (ROI is per unit of this column).
    pub spend: String,
    /// Transforms applied in order (adstock, then saturation, typically).
    #[serde(default)]
    pub transforms: Vec<Box<dyn Transform>>,
}

impl MediaSpec {
    /// The channel's transforms as a chain.
    pub fn chain(&self) -> TransformChain {
        TransformChain(self.transforms.clone())
    }
}

/// A control variable.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ControlSpec {
    /// A numeric column, by name.
    Column(String),
    /// A column with options.
    Detailed(ControlOptions),
}

/// A control column with options.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlOptions {
    /// Column name.
    pub column: String,
    /// Expand into one indicator per level but the reference.
    #[serde(default)]
    pub categorical: bool,
    /// Reference level of a categorical control (default: the first level in sorted order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl ControlSpec {
    /// The column name.
    pub fn column(&self) -> &str {
        match self {
            ControlSpec::Column(c) => c,
            ControlSpec::Detailed(d) => &d.column,
        }
    }
}

/// Baseline terms of the design.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineSpec {
    /// Include a constant term.
    #[serde(default = "yes")]
    pub intercept: bool,
    /// Include a linear trend `t = 1, 2, …, n` (per period).
    #[serde(default)]
    pub trend: bool,
    /// Fourier seasonality: one term or several (weekly and yearly on daily data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seasonality: Option<Seasonality>,
    /// Holiday indicators from a calendar file in Prophet's layout (`ds`, `holiday`, optional
    /// `country`), as Robyn ships it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holidays: Option<HolidaySpec>,
    /// Day-of-week indicators for daily data (six columns, Monday the reference).
    #[serde(default)]
    pub day_of_week: bool,
}

/// Holiday indicators from a calendar.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidaySpec {
    /// Calendar CSV, relative to the spec file, with columns `ds` (ISO date), `holiday` (name)
    /// and optionally `country`.
    #[schemars(length(min = 1))]
    pub path: String,
    /// Keep only rows of this country code (e.g. "DE"); default: every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// One indicator per holiday name instead of one "any holiday" indicator.
    #[serde(default)]
    pub per_holiday: bool,
}

fn yes() -> bool {
    true
}

impl Default for BaselineSpec {
    fn default() -> Self {
        BaselineSpec {
            intercept: true,
            trend: false,
            seasonality: None,
            holidays: None,
            day_of_week: false,
        }
    }
}

/// One or several Fourier seasonality terms.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Seasonality {
    /// A single term.
    One(FourierSpec),
    /// Several terms.
    Many(#[schemars(length(min = 1, max = 10))] Vec<FourierSpec>),
}

impl Seasonality {
    /// The terms as a list.
    pub fn terms(&self) -> Vec<FourierSpec> {
        match self {
            Seasonality::One(f) => vec![f.clone()],
            Seasonality::Many(v) => v.clone(),
        }
    }
}

/// Fourier seasonality: `sin(2πkt/P)`, `cos(2πkt/P)` for `k = 1 … order`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FourierSpec {
    /// Period `P` in periods of the data (52 or 52.18 weekly; 7 or 365.25 daily).
    #[schemars(range(max = 100000.0), extend("exclusiveMinimum" = 2.0))]
    pub period: f64,
    /// Number of harmonics `order` (2 columns each).
    #[schemars(range(min = 1, max = 50))]
    pub order: u32,
}

/// A spec as loaded: the parsed spec, the raw JSON, and the spec's folder.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The parsed, validated spec.
    pub spec: ExperimentSpec,
    /// The JSON as read.
    pub raw: Value,
    /// The spec file (or `<spec>`).
    pub file: String,
    /// Folder that relative paths in the spec are resolved against.
    pub dir: PathBuf,
    /// Parameters given as search ranges (tuned when the spec has a `tuning` section).
    pub search: Vec<mmm_core::search::SearchParam>,
}

impl LoadedSpec {
    /// The data file's path, resolved against the spec's folder.
    pub fn data_path(&self) -> PathBuf {
        let p = Path::new(&self.spec.data.path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }
}

/// The JSON Schema of a whole experiment spec, built from the registry (draft 2020-12).
pub fn experiment_schema() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let generator = settings.into_generator();
    let schema = generator.into_root_schema_for::<ExperimentSpec>();
    schema.to_value()
}

/// Reads and validates a spec file.
pub fn load_spec(path: &Path) -> Result<LoadedSpec> {
    let file = path.display().to_string();
    let raw = mmm_core::json_text::read_json_file(path, &file)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let (spec, search) = parse_spec_with_search(&raw, &file)?;
    Ok(LoadedSpec {
        spec,
        raw,
        file,
        dir,
        search,
    })
}

/// Validates JSON against the schema and returns every issue found (empty when valid), each at
/// the field it concerns (see [`mmm_core::schema_messages`]).
pub fn schema_issues(raw: &Value) -> Vec<SpecIssue> {
    mmm_core::schema_messages::schema_issues(&experiment_schema(), raw)
}

/// Validates and deserializes a spec from JSON; `file` labels errors.
pub fn parse_spec(raw: &Value, file: &str) -> Result<ExperimentSpec> {
    parse_spec_with_search(raw, file).map(|(s, _)| s)
}

/// Validates and deserializes a spec from JSON, returning the search ranges it holds.
pub fn parse_spec_with_search(
    raw: &Value,
    file: &str,
) -> Result<(ExperimentSpec, Vec<mmm_core::search::SearchParam>)> {
    let filled = mmm_core::sampled_params::fill_sampled_transform_params(raw);
    let raw = &filled;
    let issues = schema_issues(raw);
    if !issues.is_empty() {
        return Err(MmmError::Spec {
            file: file.to_string(),
            issues,
        });
    }
    let (plain, mut search, issues) = mmm_core::search::extract_ranges(raw);
    if !issues.is_empty() {
        return Err(MmmError::Spec {
            file: file.to_string(),
            issues,
        });
    }
    let spec: ExperimentSpec = serde_path_to_error::deserialize(plain).map_err(|e| {
        let pointer = path_to_pointer(e.path());
        MmmError::Spec {
            file: file.to_string(),
            issues: vec![SpecIssue {
                pointer,
                message: e.inner().to_string(),
            }],
        }
    })?;
    let mut issues = plugin_issues(&spec);
    issues.extend(crate::search::resolve(&spec, &mut search));
    if let (Some(first), None) = (search.first(), &spec.tuning) {
        issues.push(SpecIssue {
            pointer: first.pointer.clone(),
            message: "a search range needs a 'tuning' section in the spec".into(),
        });
    }
    if let Some(t) = &spec.tuning {
        if let Some(k) = t
            .objectives
            .iter()
            .position(|o| *o == mmm_core::tuning::Objective::MapeLift)
        {
            if spec.calibration.is_empty() {
                issues.push(SpecIssue {
                    pointer: format!("/tuning/objectives/{k}"),
                    message: "'mape_lift' compares the model's lifts with the spec's lift \
                              tests, but the spec has no 'calibration' section"
                        .into(),
                });
            }
        }
        if let Err(e) = t.strategy.validate() {
            let (pointer, message) = match e.at("/tuning/strategy") {
                MmmError::InvalidParameter { pointer, message } => (pointer, message),
                other => ("/tuning/strategy".to_string(), other.to_string()),
            };
            issues.push(SpecIssue { pointer, message });
        }
        if let Some(u) = &t.uncertainty {
            let work = u64::from(u.bootstrap) * u64::from(t.evaluations);
            if work > mmm_core::tuning::MAX_BOOTSTRAP_EVALUATIONS {
                issues.push(SpecIssue {
                    pointer: "/tuning/uncertainty/bootstrap".into(),
                    message: format!(
                        "{} resamples × {} evaluations = {work} model fits, above the limit of \
                         {}: lower the resamples or the evaluations",
                        u.bootstrap,
                        t.evaluations,
                        mmm_core::tuning::MAX_BOOTSTRAP_EVALUATIONS
                    ),
                });
            }
        }
    }
    if !issues.is_empty() {
        return Err(MmmError::Spec {
            file: file.to_string(),
            issues,
        });
    }
    Ok((spec, search))
}

/// The JSON pointer of a `serde_path_to_error` path (`/media/0/transforms/1/decay`).
pub fn path_to_pointer(p: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut s = String::new();
    for seg in p.iter() {
        match seg {
            Segment::Seq { index } => s.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                s.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1")))
            }
            Segment::Enum { variant } => s.push_str(&format!("/{variant}")),
            Segment::Unknown => {}
        }
    }
    s
}

/// Runs every plugin's `validate()` and cross-field checks; returns every issue found.
pub fn plugin_issues(spec: &ExperimentSpec) -> Vec<SpecIssue> {
    let mut issues = Vec::new();
    let mut push = |e: MmmError, prefix: &str| {
        let (pointer, message) = match e.at(prefix) {
            MmmError::InvalidParameter { pointer, message } => (pointer, message),
            other => (prefix.to_string(), other.to_string()),
        };
        issues.push(SpecIssue { pointer, message });
    };
    let mut names = std::collections::BTreeSet::new();
    for (i, m) in spec.media.iter().enumerate() {
        if !names.insert(m.name.clone()) {
            push(
                MmmError::Compute(format!("channel name '{}' is used twice", m.name)),
                &format!("/media/{i}/name"),
            );
        }
        for (j, t) in m.transforms.iter().enumerate() {
            if let Err(e) = t.validate() {
                push(e, &format!("/media/{i}/transforms/{j}"));
            }
        }
    }
    if let Err(e) = spec.model.validate() {
        push(e, "/model");
    }
    if let Some(c) = &spec.causal {
        if let Err(e) = c.validate(spec) {
            push(e, "/causal");
        }
    }
    if let Some(o) = &spec.optimizer {
        if let Err(e) = o.validate() {
            push(e, "/optimizer");
        }
    }
    issues.extend(crate::prepare::data_spec_issues(&spec.data));
    issues.extend(crate::roles::role_issues(spec));
    issues.extend(crate::calibration::spec_issues(spec));
    issues
}

impl mmm_core::causal::ExperimentColumns for ExperimentSpec {
    fn target(&self) -> &str {
        &self.data.target
    }

    fn date(&self) -> &str {
        &self.data.date
    }

    fn control_columns(&self) -> Vec<&str> {
        self.controls.iter().map(|c| c.column()).collect()
    }

    fn channels(&self) -> Vec<mmm_core::causal::ChannelColumns<'_>> {
        self.media
            .iter()
            .map(|m| mmm_core::causal::ChannelColumns {
                name: &m.name,
                spend: &m.spend,
            })
            .collect()
    }
}
