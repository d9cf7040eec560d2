//! The simulation spec (SIMSPEC): what to simulate, as JSON.
//!
//! Loading goes in three steps, each naming the offending place by JSON pointer:
//! 1. deserialization (`deny_unknown_fields` everywhere; transforms by their `type` through
//!    typetag, exactly as in an experiment spec);
//! 2. the JSON Schema ([`simspec_schema`]), for ranges and shapes;
//! 3. cross-field checks and every transform's `validate()` ([`SimSpec::issues`]).

use chrono::NaiveDate;
use mmm_core::error::{MmmError, Result, SpecIssue};
use mmm_core::transform::{Transform, TransformChain};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// A whole simulation.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mmm simulation spec")]
pub struct SimSpec {
    /// Path of this JSON Schema, for editors (ignored).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Name of the scenario (copied into truth.json).
    #[serde(default = "default_name")]
    pub name: String,
    /// Seed of every random draw; the same spec gives the same bytes.
    pub seed: u64,
    /// Number of periods (rows).
    #[schemars(range(min = 8, max = 100000))]
    pub periods: usize,
    /// Spacing of the periods.
    pub frequency: SimFrequency,
    /// First date (ISO `YYYY-MM-DD`).
    pub start: String,
    /// Name of the date column (default `date`).
    #[serde(default = "default_date")]
    pub date_column: String,
    /// Name of the target column (default `sales`).
    #[serde(default = "default_target")]
    pub target: String,
    /// Constant part of the target per period.
    #[serde(default)]
    pub intercept: f64,
    /// Linear trend: added per period (`trend · t`, `t = 1 … periods`).
    #[serde(default)]
    pub trend: f64,
    /// Seasonality of the target.
    #[serde(default)]
    pub seasonality: SeasonalitySpec,
    /// Standard deviation of the Gaussian noise added to the target per period.
    #[serde(default)]
    #[schemars(range(min = 0.0))]
    pub noise_sd: f64,
    /// Paid media channels.
    #[schemars(length(min = 1))]
    pub channels: Vec<ChannelSpec>,
    /// Control variables (price, promotions, holidays, any numeric series).
    #[serde(default)]
    pub controls: Vec<ControlSpec>,
    /// A mediator channel driven by some channels (e.g. search driven by social).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mediator: Option<MediatorSpec>,
    /// Write campaign-level long rows (seed 004's input) instead of a wide table: one row per
    /// date and channel with spend, impressions, clicks, conversions and revenue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_rows: Option<CampaignRows>,
    /// Lift tests to run on the truth: each test's true lift (the channel's incremental KPI of
    /// the spend change, exactly as `mmm run` defines a model's lift) plus Gaussian noise of
    /// its standard error is written to `calibration.json`, ready for an experiment spec's
    /// `calibration`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lift_tests: Vec<SimLiftTest>,
    /// Simulate a geo × time panel: every geo has its own population, spend, intercept and
    /// channel effects drawn around the national values (see [`GeoSpec`]); `data.csv` is then
    /// long, one row per geo and period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geos: Option<GeoSpec>,
}

/// A geo panel (see `crate::geo` for the model).
///
/// # Formula
/// For geo `g` with population `P_g` and relative size `r_g = P_g / mean_h P_h`, the
/// per-capita series (in "average geo" units) follow the national model of
/// `crate::simulate` with geo-specific draws, and the data hold `r_g` times them:
/// ```text
/// P_g       = round(population_median · e^{σ_P·z})
/// x_{g,c,t} = r_g · x̃_{g,c,t},   x̃ drawn from channel c's pattern scaled by e^{σ_x·z}
/// β_{g,c}   = β_c · e^{σ_β·z}            (national β_c is the median across geos)
/// a_g       = intercept · e^{σ_a·z}
/// γ_{g,k}   = γ_k · e^{σ_γ·z},   trend_g = trend · e^{σ_τ·z}   (drawn only when σ_γ, σ_τ > 0)
/// y_{g,t}   = r_g · (a_g + trend_g·t + S_t + Σ_c β_{g,c}·f_c(x̃_{g,c})_t + Σ_k γ_{g,k}·z_{g,k,t} + ε_{g,t})
/// ```
/// with every `z ~ N(0, 1)` independent, transforms shared by all geos and applied to
/// per-capita spend, as Meridian scales media by population.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoSpec {
    /// Number of geos, named `Geo0`, `Geo1`, ….
    #[schemars(range(min = 1, max = 1000))]
    pub count: usize,
    /// Name of the geo column (default `geo`).
    #[serde(default = "default_geo_column")]
    pub column: String,
    /// Name of the population column (default `population`).
    #[serde(default = "default_population_column")]
    pub population_column: String,
    /// Median population of a geo (default 1,000,000).
    #[serde(default = "default_population_median")]
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub population_median: f64,
    /// `σ_P`: log-scale spread of the populations (default 0.5).
    #[serde(default = "default_population_sd_log")]
    #[schemars(range(min = 0.0, max = 5.0))]
    pub population_sd_log: f64,
    /// `σ_β`: log-scale spread of each channel's coefficient across geos (default 0.2).
    #[serde(default = "default_effect_sd_log")]
    #[schemars(range(min = 0.0, max = 5.0))]
    pub effect_sd_log: f64,
    /// `σ_x`: log-scale spread of each channel's per-capita spend level across geos
    /// (default 0.3).
    #[serde(default = "default_spend_sd_log")]
    #[schemars(range(min = 0.0, max = 5.0))]
    pub spend_sd_log: f64,
    /// `σ_a`: log-scale spread of the per-capita intercept across geos (default 0.1).
    #[serde(default = "default_intercept_sd_log")]
    #[schemars(range(min = 0.0, max = 5.0))]
    pub intercept_sd_log: f64,
    /// `σ_γ`: log-scale spread of each control's effect across geos (default 0: every geo the
    /// national effect), for data whose geos differ in, say, price elasticity.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 5.0))]
    pub control_sd_log: f64,
    /// `σ_τ`: log-scale spread of the trend's slope across geos (default 0).
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 5.0))]
    pub trend_sd_log: f64,
    /// `σ_θ`: spread of each channel's transform parameters across geos (default 0: every
    /// geo the channel's transforms), for data whose geos differ in carry-over or saturation.
    /// A parameter on a bounded range `(l, u)` moves on the logit scale of `(θ − l)/(u − l)`,
    /// one bounded below only on the log scale of `θ − l`, any other additively; truth.json
    /// then gives each geo's parameters (`geos[].transforms`).
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 5.0))]
    pub transform_sd: f64,
}

fn default_geo_column() -> String {
    "geo".into()
}
fn default_population_column() -> String {
    "population".into()
}
fn default_population_median() -> f64 {
    1_000_000.0
}
fn default_population_sd_log() -> f64 {
    0.5
}
fn default_effect_sd_log() -> f64 {
    0.2
}
fn default_spend_sd_log() -> f64 {
    0.3
}
fn default_intercept_sd_log() -> f64 {
    0.1
}

/// A lift test run on the simulated truth (see [`SimSpec::lift_tests`]): the fields of an
/// experiment spec's `calibration` entry but the measured `lift`, which the simulation draws.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimLiftTest {
    /// A label (default `<channel> <start>–<end>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The channel tested.
    pub channel: String,
    /// Date of the test's first period (ISO).
    pub start: String,
    /// Date of the test's last period (inclusive).
    pub end: String,
    /// The spend change in total over the window (spread in proportion to the spend); or
    /// `holdout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_change: Option<f64>,
    /// The channel is switched off over the window.
    #[serde(default)]
    pub holdout: bool,
    /// The standard error of the measurement: the measured lift is the true lift plus
    /// `N(0, standard_error²)` (ChaCha8 stream `50000 + k` of the seed for test `k`).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub standard_error: f64,
    /// `total` (default: the window and the carry-over to the end of the data) or `window`.
    #[serde(default)]
    pub scope: mmm_core::calibration::LiftScope,
    /// With `geos`: the geos the test ran in (`Geo0`, …); empty (the default): every geo.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub geos: Vec<String>,
}

impl SimLiftTest {
    /// The experiment spec's entry for this test with the measured lift `lift`.
    pub fn to_spec(&self, lift: f64) -> mmm_data::calibration::LiftTestSpec {
        mmm_data::calibration::LiftTestSpec {
            name: self.name.clone(),
            channel: self.channel.clone(),
            start: self.start.clone(),
            end: self.end.clone(),
            spend_change: self.spend_change,
            holdout: self.holdout,
            lift,
            standard_error: self.standard_error,
            scope: self.scope,
            geos: self.geos.clone(),
        }
    }
}

/// Campaign-level long output: `date, <campaign_column>, spend, impressions, clicks,
/// conversions, revenue`, one row per date and channel (the channel's name is the campaign).
///
/// # Formula
/// ```text
/// impressions = round(spend / cpm · 1000 · e^{u₁})     clicks = round(impressions · ctr · e^{u₂})
/// conversions = round(clicks · cvr · e^{u₃})           u_k ~ N(0, noise_sd²)
/// revenue_c,t = β_c·f_c(x_c)_t + (y_t − Σ_c β_c·f_c(x_c)_t) / K      (K channels)
/// ```
/// so that revenue summed over campaigns is the simulated target `y_t` (the target must be
/// named `revenue`). Then `inject` damages chosen cells to exercise cleaning; the truth refers
/// to the undamaged series.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignRows {
    /// Name of the campaign column (default `campaign_name`).
    #[serde(default = "default_campaign")]
    pub campaign_column: String,
    /// Funnel of every channel not named in `funnels`.
    #[serde(default)]
    pub funnel: Funnel,
    /// Funnel per channel name.
    #[serde(default)]
    pub funnels: std::collections::BTreeMap<String, Funnel>,
    /// Standard deviation of the multiplicative log-normal noise on impressions, clicks and
    /// conversions.
    #[serde(default)]
    #[schemars(range(min = 0.0))]
    pub noise_sd: f64,
    /// Cells to damage after generating the rows (deliberate data problems).
    #[serde(default)]
    pub inject: Vec<Injection>,
}

fn default_campaign() -> String {
    "campaign_name".into()
}

/// Rates that turn spend into impressions, clicks and conversions.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Funnel {
    /// Cost per thousand impressions.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub cpm: f64,
    /// Clicks per impression.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub ctr: f64,
    /// Conversions per click.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub cvr: f64,
}

impl Default for Funnel {
    fn default() -> Self {
        Funnel {
            cpm: 10.0,
            ctr: 0.02,
            cvr: 0.05,
        }
    }
}

/// The metric columns of campaign rows, in file order.
pub const CAMPAIGN_METRICS: [&str; 5] =
    ["spend", "impressions", "clicks", "conversions", "revenue"];

/// A deliberate data problem in campaign rows.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Injection {
    /// Empty the cell.
    Missing {
        /// Channel (campaign) name.
        campaign: String,
        /// ISO date of the row.
        date: String,
        /// Metric column (`spend`, `impressions`, `clicks`, `conversions`, `revenue`).
        column: String,
    },
    /// Overwrite the cell (a negative spend, an outlier).
    Set {
        /// Channel (campaign) name.
        campaign: String,
        /// ISO date of the row.
        date: String,
        /// Metric column (`spend`, `impressions`, `clicks`, `conversions`, `revenue`).
        column: String,
        /// The value written.
        value: f64,
    },
    /// Leave out the row (a missing date × campaign combination).
    DropRow {
        /// Channel (campaign) name.
        campaign: String,
        /// ISO date of the row.
        date: String,
    },
}

impl Injection {
    /// The campaign, date and column (None for a dropped row) it touches.
    pub fn cell(&self) -> (&str, &str, Option<&str>) {
        match self {
            Injection::Missing {
                campaign,
                date,
                column,
            }
            | Injection::Set {
                campaign,
                date,
                column,
                ..
            } => (campaign, date, Some(column)),
            Injection::DropRow { campaign, date } => (campaign, date, None),
        }
    }
}

fn default_name() -> String {
    "simulation".into()
}
fn default_date() -> String {
    "date".into()
}
fn default_target() -> String {
    "sales".into()
}

/// Spacing of the periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimFrequency {
    /// One row per week (dates 7 days apart).
    Weekly,
    /// One row per day.
    Daily,
}

impl SimFrequency {
    /// Days per period.
    pub fn days(self) -> i64 {
        match self {
            SimFrequency::Weekly => 7,
            SimFrequency::Daily => 1,
        }
    }
}

/// Seasonality of the target.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeasonalitySpec {
    /// Amplitude of the yearly cycle: `yearly · sin(2π·d/365.25 + yearly_phase)`, `d` = days
    /// since the start.
    #[serde(default)]
    pub yearly: f64,
    /// Phase of the yearly cycle, in radians.
    #[serde(default)]
    pub yearly_phase: f64,
    /// Amplitude of the weekly cycle (daily data only): `weekly · sin(2π·d/7)`.
    #[serde(default)]
    pub weekly: f64,
    /// Added on Saturdays and Sundays (daily data only).
    #[serde(default)]
    pub weekend: f64,
}

/// One paid channel.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    /// Channel name; also its spend column unless `column` is given.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Spend column name (default: the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// How spend varies over time.
    pub spend: Pattern,
    /// Transforms, exactly as in an experiment spec (applied in order, learned on the spend).
    #[serde(default)]
    pub transforms: Vec<Box<dyn Transform>>,
    /// Effect on the target per unit of transformed spend.
    pub coefficient: f64,
}

impl ChannelSpec {
    /// The spend column's name.
    pub fn column(&self) -> &str {
        self.column.as_deref().unwrap_or(&self.name)
    }
    /// The transforms as a chain (not yet learned).
    pub fn chain(&self) -> TransformChain {
        TransformChain(self.transforms.clone())
    }
}

/// How a series varies over time. Spend patterns are clipped at 0.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pattern {
    /// Every period: `max(0, mean + N(0, noise_sd))`.
    AlwaysOn {
        /// Mean per period.
        mean: f64,
        /// Standard deviation of the Gaussian noise per period.
        #[serde(default)]
        #[schemars(range(min = 0.0))]
        noise_sd: f64,
    },
    /// Bursts: `on_periods` periods at `mean + N(0, noise)`, then `off_periods` periods at 0.
    Flighted {
        /// Mean per period while on.
        mean: f64,
        /// Length of a flight, in periods.
        #[schemars(range(min = 1))]
        on_periods: usize,
        /// Length of a gap, in periods.
        #[schemars(range(min = 1))]
        off_periods: usize,
        /// Standard deviation of the noise while on.
        #[serde(default)]
        #[schemars(range(min = 0.0))]
        noise: f64,
        /// Periods to skip before the first flight starts (default 0).
        #[serde(default)]
        offset: usize,
    },
    /// A lump every `every_periods` periods (monthly ≈ 4 weeks or 30 days), 0 in between.
    Pulses {
        /// Amount of each pulse.
        amount: f64,
        /// Periods between pulses.
        #[schemars(range(min = 1))]
        every_periods: usize,
        /// Period of the first pulse (default 0).
        #[serde(default)]
        offset: usize,
        /// Standard deviation of the noise on each pulse.
        #[serde(default)]
        #[schemars(range(min = 0.0))]
        noise_sd: f64,
    },
    /// A yearly cycle: `mean · (1 + amplitude · sin(2π·d/365.25)) + N(0, noise_sd)`.
    Seasonal {
        /// Mean per period.
        mean: f64,
        /// Relative amplitude of the cycle.
        amplitude: f64,
        /// Standard deviation of the noise per period.
        #[serde(default)]
        #[schemars(range(min = 0.0))]
        noise_sd: f64,
    },
    /// A Gaussian random walk from `start` with steps of `step_sd`, kept within `[min, max]`.
    RandomWalk {
        /// Value in the first period.
        start: f64,
        /// Standard deviation of each step.
        #[schemars(range(min = 0.0))]
        step_sd: f64,
        /// Lower limit (default: none; spend is always clipped at 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        /// Upper limit (default: none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// Given values, repeated cyclically when shorter than the data.
    Values {
        /// The values.
        #[schemars(length(min = 1))]
        values: Vec<f64>,
    },
}

impl Pattern {
    /// The pattern with every level and spread multiplied by `k > 0` (a random walk's limits
    /// too; a seasonal cycle's relative amplitude is kept), so its draws are `k` times those of
    /// the original on the same random stream.
    pub fn scaled(&self, k: f64) -> Pattern {
        match self.clone() {
            Pattern::AlwaysOn { mean, noise_sd } => Pattern::AlwaysOn {
                mean: mean * k,
                noise_sd: noise_sd * k,
            },
            Pattern::Flighted {
                mean,
                on_periods,
                off_periods,
                noise,
                offset,
            } => Pattern::Flighted {
                mean: mean * k,
                on_periods,
                off_periods,
                noise: noise * k,
                offset,
            },
            Pattern::Pulses {
                amount,
                every_periods,
                offset,
                noise_sd,
            } => Pattern::Pulses {
                amount: amount * k,
                every_periods,
                offset,
                noise_sd: noise_sd * k,
            },
            Pattern::Seasonal {
                mean,
                amplitude,
                noise_sd,
            } => Pattern::Seasonal {
                mean: mean * k,
                amplitude,
                noise_sd: noise_sd * k,
            },
            Pattern::RandomWalk {
                start,
                step_sd,
                min,
                max,
            } => Pattern::RandomWalk {
                start: start * k,
                step_sd: step_sd * k,
                min: min.map(|m| m * k),
                max: max.map(|m| m * k),
            },
            Pattern::Values { values } => Pattern::Values {
                values: values.into_iter().map(|v| v * k).collect(),
            },
        }
    }
}

/// A control variable and its effect.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlSpec {
    /// A numeric column (price, emails sent…) with a linear effect.
    Series {
        /// Column name.
        name: String,
        /// How the column varies.
        pattern: Pattern,
        /// Effect on the target per unit of the column.
        coefficient: f64,
    },
    /// A 0/1 promotion column, on in each period with a probability.
    Promotion {
        /// Column name.
        name: String,
        /// Probability that a period has a promotion.
        #[schemars(range(min = 0.0, max = 1.0))]
        probability: f64,
        /// Effect on the target in a promotion period.
        effect: f64,
    },
    /// An unobserved demand driver that moves with a channel's spend (a confounder):
    /// `z_t = x_ct / x̄_c + N(0, noise_sd²)`, effect `coefficient·z_t`. Left out of `data.csv`
    /// unless `observed`, so that a model fitted on the data attributes part of its effect to
    /// the channel.
    Confounder {
        /// Name (of the column, when observed; in truth.json).
        name: String,
        /// The channel whose spend it moves with.
        channel: String,
        /// Standard deviation of the noise around the channel's relative spend (0: the driver
        /// is the relative spend itself).
        #[serde(default)]
        #[schemars(range(min = 0.0))]
        noise_sd: f64,
        /// Effect on the target per unit of the driver.
        coefficient: f64,
        /// Write the driver as a column of `data.csv` (default false: unobserved).
        #[serde(default)]
        observed: bool,
    },
    /// A 0/1 holiday column: 1 in the periods that contain one of the dates.
    Holidays {
        /// Column name.
        name: String,
        /// Given dates (ISO).
        #[serde(default)]
        dates: Vec<String>,
        /// Recurring calendar holidays, every year of the data.
        #[serde(default)]
        calendar: Vec<CalendarHoliday>,
        /// Effect on the target in a holiday period.
        effect: f64,
    },
}

impl ControlSpec {
    /// The column name.
    pub fn name(&self) -> &str {
        match self {
            ControlSpec::Series { name, .. }
            | ControlSpec::Promotion { name, .. }
            | ControlSpec::Confounder { name, .. }
            | ControlSpec::Holidays { name, .. } => name,
        }
    }

    /// Multiplies the control's effect (its coefficient, or a promotion's or holiday's effect)
    /// by `factor`.
    pub fn scale_effect(&mut self, factor: f64) {
        match self {
            ControlSpec::Series { coefficient, .. }
            | ControlSpec::Confounder { coefficient, .. } => *coefficient *= factor,
            ControlSpec::Promotion { effect, .. } | ControlSpec::Holidays { effect, .. } => {
                *effect *= factor
            }
        }
    }

    /// Whether the control is written to `data.csv` (an unobserved confounder is not).
    pub fn observed(&self) -> bool {
        match self {
            ControlSpec::Confounder { observed, .. } => *observed,
            _ => true,
        }
    }
}

/// Recurring holidays known to the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CalendarHoliday {
    /// December 25.
    Christmas,
    /// The day after the fourth Thursday of November.
    BlackFriday,
    /// January 1.
    NewYear,
}

/// A mediator: a column driven by some channels, itself with an effect on the target.
///
/// ```text
/// M_t = base_t + Σ_d a_d · f_d(x_d)_t        (f_d: driver d's transform chain)
/// y_t = … + b · g(M)_t                        (g: the mediator's transform chain)
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MediatorSpec {
    /// Name of the mediator column (e.g. `google`).
    #[schemars(length(min = 1))]
    pub name: String,
    /// The mediator's own part (its spend when the drivers are absent).
    pub base: Pattern,
    /// The channels that drive it.
    #[schemars(length(min = 1))]
    pub drivers: Vec<DriverSpec>,
    /// Transforms of the mediator before it enters the target.
    #[serde(default)]
    pub transforms: Vec<Box<dyn Transform>>,
    /// Effect `b` on the target per unit of transformed mediator.
    pub coefficient: f64,
}

/// One driver of the mediator.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriverSpec {
    /// Name of a channel in `channels`.
    pub channel: String,
    /// Mediator units per unit of the channel's transformed spend (`a_d`).
    pub coefficient: f64,
}

/// The JSON Schema of a simulation spec (draft 2020-12), transforms from the registry.
pub fn simspec_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    generator.into_root_schema_for::<SimSpec>().to_value()
}

fn issue(pointer: impl Into<String>, message: impl Into<String>) -> SpecIssue {
    SpecIssue {
        pointer: pointer.into(),
        message: message.into(),
    }
}

/// Reads, deserializes and checks a simulation spec file.
pub fn load_simspec(path: &Path) -> Result<SimSpec> {
    let file = path.display().to_string();
    let raw = mmm_core::json_text::read_json_file(path, &file)?;
    parse_simspec(&raw, &file)
}

/// Deserializes and checks a simulation spec; `file` labels errors.
pub fn parse_simspec(raw: &Value, file: &str) -> Result<SimSpec> {
    let err = |issues| MmmError::Spec {
        file: file.to_string(),
        issues,
    };
    let spec: SimSpec = serde_path_to_error::deserialize(raw.clone()).map_err(|e| {
        err(vec![issue(
            mmm_data::spec::path_to_pointer(e.path()),
            e.inner().to_string(),
        )])
    })?;
    let schema = simspec_schema();
    let validator = jsonschema::validator_for(&schema).map_err(|e| {
        MmmError::Compute(format!(
            "internal error: the simulation schema is invalid: {e}"
        ))
    })?;
    let mut issues: Vec<SpecIssue> = validator
        .iter_errors(raw)
        .map(|e| issue(e.instance_path().to_string(), e.to_string()))
        .collect();
    // One message per place: the schema's when it already caught it.
    let seen: BTreeSet<String> = issues.iter().map(|i| i.pointer.clone()).collect();
    issues.extend(
        spec.issues()
            .into_iter()
            .filter(|i| !seen.contains(&i.pointer)),
    );
    // A pattern or control is a tagged choice: the schema then only says "not valid under any
    // of the schemas listed in 'oneOf'" at the choice. Keep that only when nothing more precise
    // was found inside it.
    let pointers: Vec<String> = issues.iter().map(|i| i.pointer.clone()).collect();
    issues.retain(|i| {
        !((i.message.contains("'oneOf'") || i.message.contains("'anyOf'"))
            && pointers
                .iter()
                .any(|p| p.starts_with(&format!("{}/", i.pointer))))
    });
    issues.extend(crate::checks::magnitude_issues(raw));
    issues.sort_by(|a, b| (&a.pointer, &a.message).cmp(&(&b.pointer, &b.message)));
    issues.dedup();
    if issues.is_empty() {
        Ok(spec)
    } else {
        Err(err(issues))
    }
}

fn finite(issues: &mut Vec<SpecIssue>, pointer: String, v: f64) {
    if !v.is_finite() {
        issues.push(issue(
            pointer,
            format!("must be a finite number, found {v}"),
        ));
    }
}

fn check_pattern(issues: &mut Vec<SpecIssue>, p: &Pattern, at: &str, spend: bool) {
    let nonneg = |issues: &mut Vec<SpecIssue>, field: &str, v: f64| {
        if v.is_nan() || v < 0.0 {
            issues.push(issue(
                format!("{at}/{field}"),
                format!("must be ≥ 0, found {v}"),
            ));
        }
    };
    match p {
        Pattern::AlwaysOn { mean, noise_sd } => {
            finite(issues, format!("{at}/mean"), *mean);
            nonneg(issues, "noise_sd", *noise_sd);
            if spend {
                nonneg(issues, "mean", *mean);
            }
        }
        Pattern::Flighted {
            mean,
            on_periods,
            off_periods,
            noise,
            ..
        } => {
            nonneg(issues, "noise", *noise);
            if spend {
                nonneg(issues, "mean", *mean);
            }
            if *on_periods == 0 {
                issues.push(issue(format!("{at}/on_periods"), "must be ≥ 1, found 0"));
            }
            if *off_periods == 0 {
                issues.push(issue(format!("{at}/off_periods"), "must be ≥ 1, found 0"));
            }
        }
        Pattern::Pulses {
            amount,
            every_periods,
            noise_sd,
            ..
        } => {
            nonneg(issues, "noise_sd", *noise_sd);
            if spend {
                nonneg(issues, "amount", *amount);
            }
            if *every_periods == 0 {
                issues.push(issue(format!("{at}/every_periods"), "must be ≥ 1, found 0"));
            }
        }
        Pattern::Seasonal {
            mean,
            amplitude,
            noise_sd,
        } => {
            finite(issues, format!("{at}/mean"), *mean);
            finite(issues, format!("{at}/amplitude"), *amplitude);
            nonneg(issues, "noise_sd", *noise_sd);
        }
        Pattern::RandomWalk {
            start,
            step_sd,
            min,
            max,
        } => {
            finite(issues, format!("{at}/start"), *start);
            nonneg(issues, "step_sd", *step_sd);
            if let (Some(lo), Some(hi)) = (min, max) {
                if lo > hi {
                    issues.push(issue(
                        format!("{at}/min"),
                        format!("min {lo} is above max {hi}"),
                    ));
                }
            }
        }
        Pattern::Values { values } => {
            if values.is_empty() {
                issues.push(issue(
                    format!("{at}/values"),
                    "must hold at least one value",
                ));
            }
            for (i, v) in values.iter().enumerate() {
                finite(issues, format!("{at}/values/{i}"), *v);
                if spend && *v < 0.0 {
                    issues.push(issue(
                        format!("{at}/values/{i}"),
                        format!("spend must be ≥ 0, found {v}"),
                    ));
                }
            }
        }
    }
}

fn check_funnel(issues: &mut Vec<SpecIssue>, f: &Funnel, at: &str) {
    if !f.cpm.is_finite() || f.cpm <= 0.0 {
        issues.push(issue(
            format!("{at}/cpm"),
            format!("must be > 0, found {}", f.cpm),
        ));
    }
    for (name, v) in [("ctr", f.ctr), ("cvr", f.cvr)] {
        if !(0.0..=1.0).contains(&v) {
            issues.push(issue(
                format!("{at}/{name}"),
                format!("must be in [0, 1], found {v}"),
            ));
        }
    }
}

fn check_transforms(issues: &mut Vec<SpecIssue>, ts: &[Box<dyn Transform>], at: &str) {
    for (j, t) in ts.iter().enumerate() {
        if let Err(e) = t.validate() {
            let prefix = format!("{at}/transforms/{j}");
            match e.at(&prefix) {
                MmmError::InvalidParameter { pointer, message } => {
                    issues.push(issue(pointer, message))
                }
                other => issues.push(issue(prefix, other.to_string())),
            }
        }
    }
}

impl SimSpec {
    fn campaign_issues(&self, c: &CampaignRows, issues: &mut Vec<SpecIssue>) {
        if self.target != "revenue" {
            issues.push(issue(
                "/target",
                format!(
                    "campaign rows split the target into each campaign's revenue, so it must be named \"revenue\", found '{}'",
                    self.target
                ),
            ));
        }
        if !self.controls.is_empty() {
            issues.push(issue(
                "/controls",
                "campaign rows hold campaign metrics only; simulate controls in a wide table",
            ));
        }
        if self.mediator.is_some() {
            issues.push(issue(
                "/mediator",
                "campaign rows cannot hold a mediator; simulate it in a wide table",
            ));
        }
        let col = &c.campaign_column;
        if col.is_empty() || col == &self.date_column || CAMPAIGN_METRICS.contains(&col.as_str()) {
            issues.push(issue(
                "/campaign_rows/campaign_column",
                format!("'{col}' must be a non-empty name other than the date and metric columns"),
            ));
        }
        let names: BTreeSet<&str> = self.channels.iter().map(|c| c.name.as_str()).collect();
        for (name, f) in &c.funnels {
            if !names.contains(name.as_str()) {
                issues.push(issue(
                    format!("/campaign_rows/funnels/{name}"),
                    format!("no channel named '{name}'"),
                ));
            }
            check_funnel(issues, f, &format!("/campaign_rows/funnels/{name}"));
        }
        check_funnel(issues, &c.funnel, "/campaign_rows/funnel");
        if !c.noise_sd.is_finite() || c.noise_sd < 0.0 {
            issues.push(issue(
                "/campaign_rows/noise_sd",
                format!("must be a finite number ≥ 0, found {}", c.noise_sd),
            ));
        }
        let start = self.start_date();
        let mut seen = BTreeSet::new();
        for (k, inj) in c.inject.iter().enumerate() {
            let at = format!("/campaign_rows/inject/{k}");
            let (campaign, date, column) = inj.cell();
            if !names.contains(campaign) {
                issues.push(issue(
                    format!("{at}/campaign"),
                    format!("no channel named '{campaign}'"),
                ));
            }
            match (NaiveDate::parse_from_str(date, "%Y-%m-%d"), start) {
                (Ok(d), Some(s)) => {
                    let offset = (d - s).num_days();
                    let step = self.frequency.days();
                    if offset < 0 || offset % step != 0 || offset / step >= self.periods as i64 {
                        issues.push(issue(
                            format!("{at}/date"),
                            format!("{date} is not a date of the simulated periods"),
                        ));
                    }
                }
                (Err(_), _) => issues.push(issue(
                    format!("{at}/date"),
                    format!("'{date}' is not an ISO date (YYYY-MM-DD)"),
                )),
                _ => {}
            }
            if let Some(col) = column {
                if !CAMPAIGN_METRICS.contains(&col) {
                    issues.push(issue(
                        format!("{at}/column"),
                        format!(
                            "'{col}' is not a metric column; the metrics are: {}",
                            CAMPAIGN_METRICS.join(", ")
                        ),
                    ));
                }
            }
            if let Injection::Set { value, .. } = inj {
                finite(issues, format!("{at}/value"), *value);
            }
            if !seen.insert((campaign, date, column)) {
                issues.push(issue(at, "this cell is damaged twice"));
            }
        }
    }

    fn channel_list(&self) -> String {
        self.channels
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The lift tests' problems: those of an experiment spec's `calibration` entry (channel,
    /// change, dates, standard error), dates outside the simulated periods, and tests of a
    /// mediator or of its drivers (whose lift would run through the mediator).
    fn lift_test_issues(&self, issues: &mut Vec<SpecIssue>) {
        let channels: Vec<&str> = self.channels.iter().map(|c| c.name.as_str()).collect();
        let first = self.start_date();
        let last = first
            .map(|s| s + chrono::Duration::days(self.frequency.days() * (self.periods as i64 - 1)));
        let geo_count = self.geos.as_ref().map_or(0, |g| g.count);
        for (k, t) in self.lift_tests.iter().enumerate() {
            let at = format!("/lift_tests/{k}");
            issues.extend(mmm_data::calibration::test_issues(
                &at,
                &t.to_spec(1.0),
                &channels,
            ));
            for (j, name) in t.geos.iter().enumerate() {
                let known = (0..geo_count).any(|g| format!("Geo{g}") == *name);
                if !known {
                    issues.push(issue(
                        format!("{at}/geos/{j}"),
                        match geo_count {
                            0 => "names a geo, but the simulation has no `geos`".to_string(),
                            n => format!("no geo '{name}': the geos are Geo0 … Geo{}", n - 1),
                        },
                    ));
                }
            }
            if let Some(m) = &self.mediator {
                if m.drivers.iter().any(|d| d.channel == t.channel) {
                    issues.push(issue(
                        format!("{at}/channel"),
                        format!(
                            "'{}' drives the mediator: simulated lift tests are of channels \
                             outside a mediation",
                            t.channel
                        ),
                    ));
                }
            }
            if let (Some(a), Some(b)) = (first, last) {
                for (field, d) in [("start", &t.start), ("end", &t.end)] {
                    if let Ok(d) = NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                        if d < a || d > b {
                            issues.push(issue(
                                format!("{at}/{field}"),
                                format!("{d} is outside the simulated periods ({a} to {b})"),
                            ));
                        }
                    }
                }
            }
        }
    }

    /// The first date, parsed.
    pub fn start_date(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(&self.start, "%Y-%m-%d").ok()
    }

    /// Cross-field checks and every transform's `validate()`; every problem, by pointer.
    pub fn issues(&self) -> Vec<SpecIssue> {
        let mut issues = Vec::new();
        if self.start_date().is_none() {
            issues.push(issue(
                "/start",
                format!("'{}' is not an ISO date (YYYY-MM-DD)", self.start),
            ));
        }
        if self.periods < 8 {
            issues.push(issue(
                "/periods",
                format!("must be ≥ 8, found {}", self.periods),
            ));
        }
        if let Some(m) = crate::checks::date_range_issue(self) {
            issues.push(issue("/periods", m));
        }
        for (f, v) in [
            ("intercept", self.intercept),
            ("trend", self.trend),
            ("seasonality/yearly", self.seasonality.yearly),
            ("seasonality/weekly", self.seasonality.weekly),
            ("seasonality/weekend", self.seasonality.weekend),
        ] {
            finite(&mut issues, format!("/{f}"), v);
        }
        if self.noise_sd.is_nan() || self.noise_sd < 0.0 {
            issues.push(issue(
                "/noise_sd",
                format!("must be ≥ 0, found {}", self.noise_sd),
            ));
        }
        if self.frequency == SimFrequency::Weekly {
            if self.seasonality.weekly != 0.0 {
                issues.push(issue(
                    "/seasonality/weekly",
                    "weekly seasonality needs daily data (frequency \"daily\")",
                ));
            }
            if self.seasonality.weekend != 0.0 {
                issues.push(issue(
                    "/seasonality/weekend",
                    "a weekend uplift needs daily data (frequency \"daily\")",
                ));
            }
        }
        if self.channels.is_empty() {
            issues.push(issue("/channels", "at least one channel is needed"));
        }
        // Every column name must be unique.
        let mut columns: BTreeSet<String> = BTreeSet::new();
        let mut claim = |issues: &mut Vec<SpecIssue>, name: &str, at: String| {
            if name.is_empty() {
                issues.push(issue(at, "a column name must not be empty"));
            } else if name.contains(',') || name.contains('"') || name.contains('\n') {
                issues.push(issue(
                    at,
                    format!("column name '{name}' must not contain commas, quotes or newlines"),
                ));
            } else if !columns.insert(name.to_string()) {
                issues.push(issue(at, format!("column name '{name}' is used twice")));
            }
        };
        claim(&mut issues, &self.date_column, "/date_column".into());
        claim(&mut issues, &self.target, "/target".into());
        if let Some(g) = &self.geos {
            claim(&mut issues, &g.column, "/geos/column".into());
            claim(
                &mut issues,
                &g.population_column,
                "/geos/population_column".into(),
            );
        }
        let mut names = BTreeSet::new();
        for (i, c) in self.channels.iter().enumerate() {
            let at = format!("/channels/{i}");
            if !names.insert(c.name.clone()) {
                issues.push(issue(
                    format!("{at}/name"),
                    format!("channel name '{}' is used twice", c.name),
                ));
            }
            claim(
                &mut issues,
                c.column(),
                if c.column.is_some() {
                    format!("{at}/column")
                } else {
                    format!("{at}/name")
                },
            );
            check_pattern(&mut issues, &c.spend, &format!("{at}/spend"), true);
            check_transforms(&mut issues, &c.transforms, &at);
            finite(&mut issues, format!("{at}/coefficient"), c.coefficient);
        }
        for (i, c) in self.controls.iter().enumerate() {
            let at = format!("/controls/{i}");
            claim(&mut issues, c.name(), format!("{at}/name"));
            match c {
                ControlSpec::Series {
                    pattern,
                    coefficient,
                    ..
                } => {
                    check_pattern(&mut issues, pattern, &format!("{at}/pattern"), false);
                    finite(&mut issues, format!("{at}/coefficient"), *coefficient);
                }
                ControlSpec::Promotion {
                    probability,
                    effect,
                    ..
                } => {
                    if !(0.0..=1.0).contains(probability) {
                        issues.push(issue(
                            format!("{at}/probability"),
                            format!("must be in [0, 1], found {probability}"),
                        ));
                    }
                    finite(&mut issues, format!("{at}/effect"), *effect);
                }
                ControlSpec::Confounder {
                    channel,
                    noise_sd,
                    coefficient,
                    ..
                } => {
                    if !names.contains(channel) {
                        issues.push(issue(
                            format!("{at}/channel"),
                            format!(
                                "no channel named '{channel}'; the channels are: {}",
                                self.channel_list()
                            ),
                        ));
                    }
                    if !noise_sd.is_finite() || *noise_sd < 0.0 {
                        issues.push(issue(
                            format!("{at}/noise_sd"),
                            format!("must be a finite number ≥ 0, found {noise_sd}"),
                        ));
                    }
                    finite(&mut issues, format!("{at}/coefficient"), *coefficient);
                }
                ControlSpec::Holidays {
                    dates,
                    calendar,
                    effect,
                    ..
                } => {
                    if dates.is_empty() && calendar.is_empty() {
                        issues.push(issue(
                            format!("{at}/dates"),
                            "give at least one date or calendar holiday",
                        ));
                    }
                    for (j, d) in dates.iter().enumerate() {
                        if NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                            issues.push(issue(
                                format!("{at}/dates/{j}"),
                                format!("'{d}' is not an ISO date (YYYY-MM-DD)"),
                            ));
                        }
                    }
                    finite(&mut issues, format!("{at}/effect"), *effect);
                }
            }
        }
        if let Some(c) = &self.campaign_rows {
            self.campaign_issues(c, &mut issues);
        }
        self.lift_test_issues(&mut issues);
        if self.geos.is_some() {
            for (set, at) in [
                (self.mediator.is_some(), "/mediator"),
                (self.campaign_rows.is_some(), "/campaign_rows"),
            ] {
                if set {
                    issues.push(issue(
                        at,
                        "is not simulated with geos: remove it or remove `geos`",
                    ));
                }
            }
            if let Some(g) = &self.geos {
                if !(1..=1000).contains(&g.count) {
                    issues.push(issue(
                        "/geos/count",
                        format!("must be from 1 to 1000 geos, found {}", g.count),
                    ));
                }
                finite(
                    &mut issues,
                    "/geos/population_median".into(),
                    g.population_median,
                );
            }
        }
        if let Some(m) = &self.mediator {
            claim(&mut issues, &m.name, "/mediator/name".into());
            check_pattern(&mut issues, &m.base, "/mediator/base", true);
            check_transforms(&mut issues, &m.transforms, "/mediator");
            finite(&mut issues, "/mediator/coefficient".into(), m.coefficient);
            let mut seen = BTreeSet::new();
            for (j, d) in m.drivers.iter().enumerate() {
                if !names.contains(&d.channel) {
                    issues.push(issue(
                        format!("/mediator/drivers/{j}/channel"),
                        format!(
                            "no channel named '{}'; the channels are: {}",
                            d.channel,
                            self.channels
                                .iter()
                                .map(|c| c.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                if !seen.insert(d.channel.clone()) {
                    issues.push(issue(
                        format!("/mediator/drivers/{j}/channel"),
                        format!("driver '{}' is listed twice", d.channel),
                    ));
                }
                finite(
                    &mut issues,
                    format!("/mediator/drivers/{j}/coefficient"),
                    d.coefficient,
                );
            }
        }
        issues
    }
}
