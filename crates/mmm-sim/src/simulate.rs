//! Generating the data and computing the truth.
//!
//! # Formula
//! ```text
//! y_t = intercept + trend·t + S_t + Σ_i β_i·f_i(x_i)_t + b·g(M)_t + Σ_k γ_k·z_kt + ε_t
//! S_t = yearly·sin(2π·d_t/365.25 + φ) + weekly·sin(2π·d_t/7) + weekend·[Sat or Sun]
//! M_t = base_t + Σ_d a_d·f_d(x_d)_t                       (mediator, when given)
//! ε_t ~ N(0, noise_sd²)
//! ```
//! where `t = 1 … periods`, `d_t` is days since the start, `f_i` is channel `i`'s transform
//! chain learned on its whole spend series (`TransformChain::learn_apply`, as a fit does), and
//! `g` the mediator's chain.
//!
//! Every random series has its own ChaCha8 stream of the spec's seed (channel `i`: stream
//! `1 + i`; control `k`: `10_000 + k`; mediator base: `20_000`; noise: `30_000`; campaign
//! rows' funnel noise of channel `i`: `40_000 + i`; lift test `k`'s measurement noise:
//! `50_000 + k`), so adding a control does not change the channels' spend.

use crate::spec::{CalendarHoliday, ControlSpec, Pattern, SimFrequency, SimSpec};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use mmm_core::error::{MmmError, Result};
use mmm_core::optimizer::ResponseCurves;
use mmm_core::transform::{ChainWorkspace, TransformChain};
use mmm_engine::response::ChannelCurves;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;

const STREAM_CONTROL: u64 = 10_000;
const STREAM_MEDIATOR: u64 = 20_000;
const STREAM_NOISE: u64 = 30_000;
const STREAM_FUNNEL: u64 = 40_000;
const STREAM_LIFT: u64 = 50_000;

/// Decimal places kept in the CSV: spend and the mediator (2), controls and target (4). The
/// truth is computed from the rounded series, exactly as a fit reads them.
pub(crate) const SPEND_DECIMALS: i32 = 2;
pub(crate) const VALUE_DECIMALS: i32 = 4;

/// A simulated data set and its truth.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// `data.csv` as text.
    pub csv: String,
    /// The truth.
    pub truth: Truth,
    /// The lift tests as an experiment spec's `calibration` list (measured lifts), written to
    /// `calibration.json` when the simulation has lift tests.
    pub calibration: Vec<mmm_data::calibration::LiftTestSpec>,
}

/// What `truth.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    /// Scenario name.
    pub name: String,
    /// Seed used.
    pub seed: u64,
    /// Number of periods.
    pub periods: usize,
    /// Spacing of the periods.
    pub frequency: SimFrequency,
    /// First date.
    pub start: String,
    /// Last date.
    pub end: String,
    /// Date column.
    pub date_column: String,
    /// Target column.
    pub target: String,
    /// Standard deviation of the noise as specified.
    pub noise_sd: f64,
    /// Standard deviation of the noise as drawn (population sd over the periods).
    pub noise_realized_sd: f64,
    /// Mean of the target.
    pub target_mean: f64,
    /// Per channel (the mediator last, when present): spend, true contribution, ROI and
    /// marginal ROI.
    pub channels: Vec<ChannelTruth>,
    /// Per control: its column and summed effect.
    pub controls: Vec<ControlTruth>,
    /// Summed baseline parts.
    pub baseline: BaselineTruth,
    /// Mediation effects, when a mediator is simulated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mediation: Option<MediationTruth>,
    /// The lift tests: each one's true and measured lift.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lift_tests: Vec<LiftTestTruth>,
    /// The simulation spec as read (the true parameters).
    pub parameters: serde_json::Value,
    /// Per geo, for a panel (see [`crate::geo`]): its population and its own truth; the
    /// national fields above are then sums over the geos.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub geos: Vec<crate::geo::GeoTruth>,
}

/// One channel's truth.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelTruth {
    /// Channel name.
    pub name: String,
    /// Spend column.
    pub column: String,
    /// Whether this is the mediator.
    pub mediator: bool,
    /// Total spend over the data.
    pub spend: f64,
    /// Mean spend per period.
    pub mean_spend: f64,
    /// Effect per unit of transformed spend (direct path).
    pub coefficient: f64,
    /// True contribution: direct (`β·Σ f(x)`) plus, for a driver of the mediator, its
    /// indirect part through the mediator; for the mediator, only its exogenous part
    /// `b·Σ g(M) − Σ_d indirect_d` (its effect less what its drivers' counterfactuals remove),
    /// as `mmm run` credits it, so that contributions sum to the true media effect.
    pub contribution: f64,
    /// `contribution / spend`.
    pub roi: f64,
    /// Marginal ROI at mean spend (steady state, as `mmm run` reports it), total effect.
    pub mroi: f64,
    /// Direct part of the contribution (`β·Σ f(x)`), for drivers of a mediator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_contribution: Option<f64>,
    /// Part of the contribution through the mediator, for drivers of a mediator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indirect_contribution: Option<f64>,
    /// The mediator: the part of its effect its drivers induced, `Σ_d indirect_d` (credited to
    /// the drivers, not in `contribution`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub induced_contribution: Option<f64>,
    /// The mediator: its total effect `b·Σ g(M)` (`contribution + induced_contribution`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_effect: Option<f64>,
}

/// One control's truth.
#[derive(Debug, Clone, Serialize)]
pub struct ControlTruth {
    /// Column.
    pub name: String,
    /// Effect per unit of the column.
    pub coefficient: f64,
    /// Summed effect over the data.
    pub contribution: f64,
    /// A confounder: whether it is a column of `data.csv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<bool>,
    /// A confounder: the channel whose spend it moves with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// A confounder: its correlation with that channel's spend over the data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<f64>,
}

/// One lift test's truth.
#[derive(Debug, Clone, Serialize)]
pub struct LiftTestTruth {
    /// The test's label.
    pub name: String,
    /// The channel.
    pub channel: String,
    /// First and last period of the window.
    pub start: String,
    /// Last period.
    pub end: String,
    /// The spend change in total over the window.
    pub spend_change: f64,
    /// The true incremental KPI: `β·Σ_{t∈R} [f(x')_t − f(x)_t]` (see
    /// `mmm_core::calibration`).
    pub true_lift: f64,
    /// The measured lift written to `calibration.json`: `true_lift + N(0, standard_error²)`.
    pub lift: f64,
    /// The measurement's standard error.
    pub standard_error: f64,
    /// `true_lift / spend_change`: the incremental KPI per unit of spend changed.
    pub true_lift_per_spend: f64,
}

/// Summed baseline parts over the data.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineTruth {
    /// Intercept per period.
    pub intercept: f64,
    /// Trend per period.
    pub trend: f64,
    /// Summed intercept + trend + seasonality.
    pub contribution: f64,
}

/// Mediation effects.
#[derive(Debug, Clone, Serialize)]
pub struct MediationTruth {
    /// The mediator column.
    pub mediator: String,
    /// Effect `b` per unit of transformed mediator.
    pub coefficient: f64,
    /// Per driver.
    pub drivers: Vec<DriverTruth>,
}

/// One driver's effects over the data.
#[derive(Debug, Clone, Serialize)]
pub struct DriverTruth {
    /// Channel name.
    pub channel: String,
    /// `a_d`: mediator units per unit of the channel's transformed spend.
    pub coefficient: f64,
    /// Direct effect: `β·Σ f(x)`.
    pub direct: f64,
    /// Indirect effect: `b·(Σ g(M) − Σ g(M − a_d·f_d(x_d)))`.
    pub indirect: f64,
    /// Direct + indirect.
    pub total: f64,
    /// Indirect over total (null when total is 0).
    pub share_mediated: Option<f64>,
}

pub(crate) fn round(v: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    let r = (v * p).round() / p;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

pub(crate) fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

pub(crate) fn normal(sd: f64) -> Result<Normal<f64>> {
    Normal::new(0.0, sd).map_err(|e| MmmError::Compute(format!("normal distribution: {e}")))
}

/// Draws a series of `n` periods from a pattern; `dates` are the periods' dates.
pub fn draw_pattern(
    p: &Pattern,
    dates: &[NaiveDate],
    rng: &mut ChaCha8Rng,
    spend: bool,
) -> Result<Vec<f64>> {
    let n = dates.len();
    let start = dates.first().copied();
    let days = |t: usize| {
        start
            .map(|s| (dates[t] - s).num_days() as f64)
            .unwrap_or(0.0)
    };
    let mut v: Vec<f64> = match p {
        Pattern::AlwaysOn { mean, noise_sd } => {
            let d = normal(*noise_sd)?;
            (0..n).map(|_| mean + d.sample(rng)).collect()
        }
        Pattern::Flighted {
            mean,
            on_periods,
            off_periods,
            noise,
            offset,
        } => {
            let d = normal(*noise)?;
            let cycle = on_periods + off_periods;
            (0..n)
                .map(|t| {
                    let e = d.sample(rng);
                    if t >= *offset && (t - offset) % cycle < *on_periods {
                        (mean + e).max(0.0)
                    } else {
                        0.0
                    }
                })
                .collect()
        }
        Pattern::Pulses {
            amount,
            every_periods,
            offset,
            noise_sd,
        } => {
            let d = normal(*noise_sd)?;
            (0..n)
                .map(|t| {
                    let e = d.sample(rng);
                    if t >= *offset && (t - offset) % every_periods == 0 {
                        amount + e
                    } else {
                        0.0
                    }
                })
                .collect()
        }
        Pattern::Seasonal {
            mean,
            amplitude,
            noise_sd,
        } => {
            let d = normal(*noise_sd)?;
            (0..n)
                .map(|t| {
                    mean * (1.0 + amplitude * (2.0 * std::f64::consts::PI * days(t) / 365.25).sin())
                        + d.sample(rng)
                })
                .collect()
        }
        Pattern::RandomWalk {
            start,
            step_sd,
            min,
            max,
        } => {
            let d = normal(*step_sd)?;
            let clamp = |x: f64| {
                let x = min.map_or(x, |m| x.max(m));
                max.map_or(x, |m| x.min(m))
            };
            let mut cur = clamp(*start);
            (0..n)
                .map(|t| {
                    if t > 0 {
                        cur = clamp(cur + d.sample(rng));
                    }
                    cur
                })
                .collect()
        }
        Pattern::Values { values } => (0..n).map(|t| values[t % values.len()]).collect(),
    };
    if spend {
        v.iter_mut()
            .for_each(|x| *x = round(x.max(0.0), SPEND_DECIMALS));
    } else {
        v.iter_mut().for_each(|x| *x = round(*x, VALUE_DECIMALS));
    }
    Ok(v)
}

/// The fourth Thursday of November plus one day.
fn black_friday(year: i32) -> Option<NaiveDate> {
    let nov1 = NaiveDate::from_ymd_opt(year, 11, 1)?;
    let to_thu = (7 + Weekday::Thu.num_days_from_monday() as i64
        - nov1.weekday().num_days_from_monday() as i64)
        % 7;
    Some(nov1 + Duration::days(to_thu + 21 + 1))
}

/// The dates of a calendar holiday in `year`.
pub fn calendar_date(h: CalendarHoliday, year: i32) -> Option<NaiveDate> {
    match h {
        CalendarHoliday::Christmas => NaiveDate::from_ymd_opt(year, 12, 25),
        CalendarHoliday::NewYear => NaiveDate::from_ymd_opt(year, 1, 1),
        CalendarHoliday::BlackFriday => black_friday(year),
    }
}

/// Learns a chain on `x` and returns the transformed series.
fn learn(chain: &mut TransformChain, x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    let mut ws = ChainWorkspace::new(chain, x.len());
    chain.learn_apply(x, &mut out, &mut ws);
    out
}

fn apply(chain: &TransformChain, x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    let mut ws = ChainWorkspace::new(chain, x.len());
    chain.apply(x, &mut out, &mut ws);
    out
}

pub(crate) fn fmt(v: f64) -> String {
    format!("{v}")
}

/// A mediator's drawn series, its learned chain and its transformed series.
pub(crate) struct Med {
    pub series: Vec<f64>,
    pub chain: TransformChain,
    pub transformed: Vec<f64>,
}

/// The series of one simulation, per capita for a geo of relative size `scale` (the data
/// hold `scale` times the spends and the target, rounded to the CSV's decimals; these are
/// those values divided by `scale`, exactly what a model of per-capita data reads).
pub(crate) struct Drawn {
    pub dates: Vec<NaiveDate>,
    pub y: Vec<f64>,
    pub noise: Vec<f64>,
    pub baseline: Vec<f64>,
    pub spends: Vec<Vec<f64>>,
    pub chains: Vec<TransformChain>,
    pub transformed: Vec<Vec<f64>>,
    pub med: Option<Med>,
    pub control_cols: Vec<Vec<f64>>,
    pub control_truth: Vec<ControlTruth>,
}

/// Simulates the data and computes the truth. `raw` is the spec as read (stored as the true
/// parameters); pass `None` to store the spec re-serialized. With `geos`, a panel (see
/// [`crate::geo`]).
pub fn simulate(spec: &SimSpec, raw: Option<&serde_json::Value>) -> Result<Simulation> {
    if let Some(g) = &spec.geos {
        return crate::geo::simulate_geos(spec, g, raw);
    }
    let Drawn {
        dates,
        y,
        noise,
        baseline,
        spends,
        chains,
        transformed,
        med,
        control_cols,
        control_truth,
    } = draw(spec, 1.0)?;

    // CSV.
    let csv = match &spec.campaign_rows {
        Some(c) => campaign_csv(spec, c, &dates, &y, &spends, &transformed)?,
        None => wide_csv(
            spec,
            &dates,
            &y,
            &spends,
            med.as_ref().map(|m| &m.series),
            &control_cols,
        ),
    };

    // Truth.
    let mut truth = truth(
        spec,
        raw,
        &dates,
        &y,
        &noise,
        &baseline,
        &spends,
        &chains,
        &transformed,
        med.as_ref().map(|m| (&m.series, &m.chain, &m.transformed)),
        control_truth,
    )?;
    let (lift_tests, calibration) = lift_tests(spec, &dates, &spends, &chains)?;
    truth.lift_tests = lift_tests;
    Ok(Simulation {
        csv,
        truth,
        calibration,
    })
}

/// Draws every series of `spec` (see [`Drawn`]).
pub(crate) fn draw(spec: &SimSpec, scale: f64) -> Result<Drawn> {
    let start = spec
        .start_date()
        .ok_or_else(|| MmmError::param("/start", format!("'{}' is not an ISO date", spec.start)))?;
    let n = spec.periods;
    let dates: Vec<NaiveDate> = (0..n)
        .map(|t| start + Duration::days(spec.frequency.days() * t as i64))
        .collect();
    let two_pi = 2.0 * std::f64::consts::PI;

    // Baseline.
    let mut baseline = vec![0.0; n];
    for (t, b) in baseline.iter_mut().enumerate() {
        let d = (dates[t] - start).num_days() as f64;
        let wd = dates[t].weekday();
        let weekend = matches!(wd, Weekday::Sat | Weekday::Sun);
        *b = spec.intercept
            + spec.trend * (t + 1) as f64
            + spec.seasonality.yearly * (two_pi * d / 365.25 + spec.seasonality.yearly_phase).sin()
            + spec.seasonality.weekly * (two_pi * d / 7.0).sin()
            + if weekend {
                spec.seasonality.weekend
            } else {
                0.0
            };
    }

    // Channels.
    let mut spends = Vec::with_capacity(spec.channels.len());
    let mut chains = Vec::with_capacity(spec.channels.len());
    let mut transformed = Vec::with_capacity(spec.channels.len());
    for (i, c) in spec.channels.iter().enumerate() {
        let mut r = rng(spec.seed, 1 + i as u64);
        let mut x = draw_pattern(&c.spend, &dates, &mut r, true)?;
        if scale != 1.0 {
            // the data hold round(r·x̃); the model sees them divided by r
            x.iter_mut()
                .for_each(|v| *v = round(*v * scale, SPEND_DECIMALS) / scale);
        }
        let mut chain = c.chain();
        let f = learn(&mut chain, &x);
        spends.push(x);
        chains.push(chain);
        transformed.push(f);
    }

    // Mediator.
    let med = match &spec.mediator {
        Some(m) => {
            let mut r = rng(spec.seed, STREAM_MEDIATOR);
            let mut series = draw_pattern(&m.base, &dates, &mut r, true)?;
            for d in &m.drivers {
                let i = index_of(spec, &d.channel)?;
                for (s, f) in series.iter_mut().zip(&transformed[i]) {
                    *s += d.coefficient * f;
                }
            }
            series
                .iter_mut()
                .for_each(|v| *v = round(v.max(0.0), SPEND_DECIMALS));
            let mut chain = TransformChain(m.transforms.clone());
            let transformed = learn(&mut chain, &series);
            Some(Med {
                series,
                chain,
                transformed,
            })
        }
        None => None,
    };

    // Controls.
    let mut control_cols: Vec<Vec<f64>> = Vec::new();
    let mut control_truth = Vec::new();
    for (k, c) in spec.controls.iter().enumerate() {
        let mut r = rng(spec.seed, STREAM_CONTROL + k as u64);
        let (col, coef) = match c {
            ControlSpec::Series {
                pattern,
                coefficient,
                ..
            } => (draw_pattern(pattern, &dates, &mut r, false)?, *coefficient),
            ControlSpec::Promotion {
                probability,
                effect,
                ..
            } => {
                use rand::Rng;
                let col = (0..n)
                    .map(|_| {
                        if r.random::<f64>() < *probability {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect();
                (col, *effect)
            }
            ControlSpec::Confounder {
                channel,
                noise_sd,
                coefficient,
                ..
            } => {
                let i = index_of(spec, channel)?;
                let x = &spends[i];
                let m = mean(x);
                let d = normal(*noise_sd)?;
                let col = x
                    .iter()
                    .map(|v| round(v / m + d.sample(&mut r), VALUE_DECIMALS))
                    .collect();
                (col, *coefficient)
            }
            ControlSpec::Holidays {
                dates: given,
                calendar,
                effect,
                ..
            } => {
                let mut days: Vec<NaiveDate> = given
                    .iter()
                    .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .collect();
                let (y0, y1) = (
                    start.year(),
                    dates.last().map_or(start.year(), |d| d.year()),
                );
                for h in calendar {
                    for y in y0..=y1 {
                        days.extend(calendar_date(*h, y));
                    }
                }
                let len = spec.frequency.days();
                let col = dates
                    .iter()
                    .map(|p| {
                        let end = *p + Duration::days(len);
                        if days.iter().any(|d| d >= p && *d < end) {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect();
                (col, *effect)
            }
        };
        let confounded = match c {
            ControlSpec::Confounder { channel, .. } => Some(channel.clone()),
            _ => None,
        };
        control_truth.push(ControlTruth {
            name: c.name().to_string(),
            coefficient: coef,
            contribution: coef * col.iter().sum::<f64>(),
            observed: confounded.as_ref().map(|_| c.observed()),
            correlation: confounded
                .as_ref()
                .and_then(|ch| index_of(spec, ch).ok())
                .map(|i| correlation(&col, &spends[i])),
            channel: confounded,
        });
        control_cols.push(col);
    }

    // Target.
    let mut noise_rng = rng(spec.seed, STREAM_NOISE);
    let noise_d = normal(spec.noise_sd)?;
    let noise: Vec<f64> = (0..n).map(|_| noise_d.sample(&mut noise_rng)).collect();
    let mut y = baseline.clone();
    for (c, f) in spec.channels.iter().zip(&transformed) {
        for (yt, ft) in y.iter_mut().zip(f) {
            *yt += c.coefficient * ft;
        }
    }
    if let (Some(m), Some(md)) = (&spec.mediator, &med) {
        for (yt, gt) in y.iter_mut().zip(&md.transformed) {
            *yt += m.coefficient * gt;
        }
    }
    for (c, col) in control_truth.iter().zip(&control_cols) {
        for (yt, z) in y.iter_mut().zip(col) {
            *yt += c.coefficient * z;
        }
    }
    for (yt, e) in y.iter_mut().zip(&noise) {
        *yt = round((*yt + e) * scale, VALUE_DECIMALS) / scale;
    }
    Ok(Drawn {
        dates,
        y,
        noise,
        baseline,
        spends,
        chains,
        transformed,
        med,
        control_cols,
        control_truth,
    })
}

/// Pearson's correlation of two series (0 when either is constant).
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa > 0.0 && sbb > 0.0 {
        sab / (saa * sbb).sqrt()
    } else {
        0.0
    }
}

/// Runs the spec's lift tests on the truth: each test resolved exactly as `mmm run` resolves a
/// `calibration` entry, its true lift `β·Σ_{t∈R}[f(x')_t − f(x)_t]` from the channel's chain
/// (learned on the actual spend), and the measured lift `true + N(0, se²)` (stream
/// `50_000 + k`).
fn lift_tests(
    spec: &SimSpec,
    dates: &[NaiveDate],
    spends: &[Vec<f64>],
    chains: &[TransformChain],
) -> Result<(Vec<LiftTestTruth>, Vec<mmm_data::calibration::LiftTestSpec>)> {
    if spec.lift_tests.is_empty() {
        return Ok((vec![], vec![]));
    }
    let specs: Vec<_> = spec.lift_tests.iter().map(|t| t.to_spec(1.0)).collect();
    let names: Vec<String> = spec.channels.iter().map(|c| c.name.clone()).collect();
    let resolved =
        mmm_data::calibration::resolve(&specs, &names, dates, spends, &[]).map_err(|is| {
            let i = &is[0];
            MmmError::param(
                i.pointer.replacen("/calibration/", "/lift_tests/", 1),
                i.message.clone(),
            )
        })?;
    let mut ws = ChainWorkspace::default();
    let mut buf = mmm_core::calibration::LiftBuffers::new(dates.len());
    let mut truths = Vec::new();
    let mut entries = Vec::new();
    for (k, (t, r)) in spec.lift_tests.iter().zip(&resolved).enumerate() {
        let c = r.channel;
        let true_lift = r.model_lift(
            &chains[c],
            spec.channels[c].coefficient,
            &spends[c],
            1.0,
            &mut ws,
            &mut buf,
        );
        let (truth, entry) = measured_lift(spec, k, t, r, dates, true_lift)?;
        truths.push(truth);
        entries.push(entry);
    }
    Ok((truths, entries))
}

/// Test `k`'s measurement of its true lift, `true + N(0, se²)` rounded (stream `50_000 + k`),
/// its truth.json entry and its experiment-spec entry.
pub(crate) fn measured_lift(
    spec: &SimSpec,
    k: usize,
    t: &crate::spec::SimLiftTest,
    r: &mmm_core::calibration::LiftTest,
    dates: &[NaiveDate],
    true_lift: f64,
) -> Result<(LiftTestTruth, mmm_data::calibration::LiftTestSpec)> {
    let mut g = rng(spec.seed, STREAM_LIFT + k as u64);
    let lift = round(
        true_lift + normal(t.standard_error)?.sample(&mut g),
        VALUE_DECIMALS,
    );
    let truth = LiftTestTruth {
        name: r.name.clone(),
        channel: t.channel.clone(),
        start: dates[r.first].to_string(),
        end: dates[r.last].to_string(),
        spend_change: r.spend_change,
        true_lift,
        lift,
        standard_error: t.standard_error,
        true_lift_per_spend: true_lift / r.spend_change,
    };
    Ok((truth, t.to_spec(lift)))
}

/// The wide table: date, target, spend per channel, mediator, controls.
fn wide_csv(
    spec: &SimSpec,
    dates: &[NaiveDate],
    y: &[f64],
    spends: &[Vec<f64>],
    mediator: Option<&Vec<f64>>,
    control_cols: &[Vec<f64>],
) -> String {
    let n = dates.len();
    let mut header = vec![spec.date_column.clone(), spec.target.clone()];
    header.extend(spec.channels.iter().map(|c| c.column().to_string()));
    if let Some(m) = &spec.mediator {
        header.push(m.name.clone());
    }
    header.extend(
        spec.controls
            .iter()
            .filter(|c| c.observed())
            .map(|c| c.name().to_string()),
    );
    let mut csv = header.join(",");
    csv.push('\n');
    for t in 0..n {
        let mut row = vec![dates[t].to_string(), fmt(y[t])];
        row.extend(spends.iter().map(|s| fmt(s[t])));
        if let Some(series) = mediator {
            row.push(fmt(series[t]));
        }
        row.extend(
            control_cols
                .iter()
                .zip(&spec.controls)
                .filter(|(_, c)| c.observed())
                .map(|(col, _)| fmt(col[t])),
        );
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    csv
}

/// Campaign-level long rows (see [`crate::spec::CampaignRows`]), damaged as `inject` asks.
fn campaign_csv(
    spec: &SimSpec,
    c: &crate::spec::CampaignRows,
    dates: &[NaiveDate],
    y: &[f64],
    spends: &[Vec<f64>],
    transformed: &[Vec<f64>],
) -> Result<String> {
    use crate::spec::{Injection, CAMPAIGN_METRICS};
    let k = spec.channels.len() as f64;
    let noise = normal(c.noise_sd)?;
    // rows[t][i]: the metric cells of date t and channel i (None when dropped)
    let mut rows: Vec<Vec<Option<Vec<String>>>> =
        vec![vec![None; spec.channels.len()]; dates.len()];
    for (i, ch) in spec.channels.iter().enumerate() {
        let f = c.funnels.get(&ch.name).copied().unwrap_or(c.funnel);
        let mut r = rng(spec.seed, STREAM_FUNNEL + i as u64);
        for t in 0..dates.len() {
            let x = spends[i][t];
            let (e1, e2, e3) = (
                noise.sample(&mut r),
                noise.sample(&mut r),
                noise.sample(&mut r),
            );
            let impressions = (x / f.cpm * 1000.0 * e1.exp()).round();
            let clicks = (impressions * f.ctr * e2.exp()).round();
            let conversions = (clicks * f.cvr * e3.exp()).round();
            let media: f64 = spec
                .channels
                .iter()
                .zip(transformed)
                .map(|(c, f)| c.coefficient * f[t])
                .sum();
            let revenue = round(
                ch.coefficient * transformed[i][t] + (y[t] - media) / k,
                VALUE_DECIMALS,
            );
            rows[t][i] = Some(vec![
                fmt(x),
                fmt(impressions),
                fmt(clicks),
                fmt(conversions),
                fmt(revenue),
            ]);
        }
    }
    let start = dates.first().copied();
    let step = spec.frequency.days();
    for inj in &c.inject {
        let (campaign, date, column) = inj.cell();
        let i = index_of(spec, campaign)?;
        let t = match (NaiveDate::parse_from_str(date, "%Y-%m-%d"), start) {
            (Ok(d), Some(s)) => ((d - s).num_days() / step) as usize,
            _ => continue,
        };
        let Some(slot) = rows.get_mut(t).and_then(|r| r.get_mut(i)) else {
            continue;
        };
        let col = column.and_then(|col| CAMPAIGN_METRICS.iter().position(|m| *m == col));
        match (inj, slot.as_mut(), col) {
            (Injection::DropRow { .. }, _, _) => *slot = None,
            (Injection::Missing { .. }, Some(cells), Some(j)) => cells[j] = String::new(),
            (Injection::Set { value, .. }, Some(cells), Some(j)) => cells[j] = fmt(*value),
            _ => {}
        }
    }
    let mut header = vec![spec.date_column.clone(), c.campaign_column.clone()];
    header.extend(CAMPAIGN_METRICS.iter().map(|m| m.to_string()));
    let mut csv = header.join(",");
    csv.push('\n');
    for (t, row) in rows.iter().enumerate() {
        for (i, cells) in row.iter().enumerate() {
            if let Some(cells) = cells {
                csv.push_str(&format!(
                    "{},{},{}\n",
                    dates[t],
                    spec.channels[i].name,
                    cells.join(",")
                ));
            }
        }
    }
    Ok(csv)
}

fn index_of(spec: &SimSpec, name: &str) -> Result<usize> {
    spec.channels
        .iter()
        .position(|c| c.name == name)
        .ok_or_else(|| MmmError::param("/mediator/drivers", format!("no channel named '{name}'")))
}

/// The population standard deviation `√(Σ(v − v̄)²/n)` (0 for no values).
pub(crate) fn population_sd(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|e| (e - m).powi(2)).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

/// truth.json's `parameters`: the spec as read, or re-serialized when `raw` is `None`.
pub(crate) fn spec_parameters(
    spec: &SimSpec,
    raw: Option<&serde_json::Value>,
) -> Result<serde_json::Value> {
    match raw {
        Some(r) => Ok(r.clone()),
        None => serde_json::to_value(spec)
            .map_err(|e| MmmError::Compute(format!("serializing the spec: {e}"))),
    }
}

pub(crate) fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn truth(
    spec: &SimSpec,
    raw: Option<&serde_json::Value>,
    dates: &[NaiveDate],
    y: &[f64],
    noise: &[f64],
    baseline: &[f64],
    spends: &[Vec<f64>],
    chains: &[TransformChain],
    transformed: &[Vec<f64>],
    med: Option<(&Vec<f64>, &TransformChain, &Vec<f64>)>,
    controls: Vec<ControlTruth>,
) -> Result<Truth> {
    let n = dates.len();
    let mut names: Vec<String> = spec.channels.iter().map(|c| c.name.clone()).collect();
    let mut all_chains: Vec<TransformChain> = chains.to_vec();
    let mut coefs: Vec<f64> = spec.channels.iter().map(|c| c.coefficient).collect();
    let mut current: Vec<f64> = spends.iter().map(|s| mean(s)).collect();
    if let (Some(m), Some((series, chain, _))) = (&spec.mediator, med) {
        names.push(m.name.clone());
        all_chains.push(chain.clone());
        coefs.push(m.coefficient);
        current.push(mean(series));
    }
    let curves = ChannelCurves::from_parts(names, all_chains, coefs, current.clone(), n);

    let mut channels = Vec::new();
    let mut drivers = Vec::new();
    for (i, c) in spec.channels.iter().enumerate() {
        let spend: f64 = spends[i].iter().sum();
        let direct = c.coefficient * transformed[i].iter().sum::<f64>();
        let mut mroi = curves.marginal(i, current[i]);
        let mut indirect = None;
        if let (Some(m), Some((series, chain, g))) = (&spec.mediator, med) {
            if let Some(d) = m.drivers.iter().find(|d| d.channel == c.name) {
                // Counterfactual: the mediator without this driver.
                let without: Vec<f64> = series
                    .iter()
                    .zip(&transformed[i])
                    .map(|(s, f)| (s - d.coefficient * f).max(0.0))
                    .collect();
                let g0 = apply(chain, &without);
                let ind = m.coefficient * (g.iter().sum::<f64>() - g0.iter().sum::<f64>());
                indirect = Some(ind);
                // Chain rule in the steady state: b·g'(M̄)·a·f'(s̄).
                let k = spec.channels.len();
                let (_, df) = curves.steady_state(i, current[i]);
                mroi += curves.marginal(k, current[k]) * d.coefficient * df;
                let total = direct + ind;
                drivers.push(DriverTruth {
                    channel: c.name.clone(),
                    coefficient: d.coefficient,
                    direct,
                    indirect: ind,
                    total,
                    share_mediated: (total != 0.0).then(|| ind / total),
                });
            }
        }
        let contribution = direct + indirect.unwrap_or(0.0);
        channels.push(ChannelTruth {
            name: c.name.clone(),
            column: c.column().to_string(),
            mediator: false,
            spend,
            mean_spend: current[i],
            coefficient: c.coefficient,
            contribution,
            roi: contribution / spend,
            mroi,
            direct_contribution: indirect.map(|_| direct),
            indirect_contribution: indirect,
            induced_contribution: None,
            total_effect: None,
        });
    }
    let mediation = match (&spec.mediator, med) {
        (Some(m), Some((series, _, g))) => {
            let k = spec.channels.len();
            let spend: f64 = series.iter().sum();
            let total_effect = m.coefficient * g.iter().sum::<f64>();
            // What the drivers' counterfactuals remove is theirs; the rest is the mediator's.
            let induced: f64 = drivers.iter().map(|d| d.indirect).sum();
            let contribution = total_effect - induced;
            channels.push(ChannelTruth {
                name: m.name.clone(),
                column: m.name.clone(),
                mediator: true,
                spend,
                mean_spend: current[k],
                coefficient: m.coefficient,
                contribution,
                roi: contribution / spend,
                mroi: curves.marginal(k, current[k]),
                direct_contribution: None,
                indirect_contribution: None,
                induced_contribution: Some(total_effect - contribution),
                total_effect: Some(total_effect),
            });
            // Keep the spec's driver order.
            let mut ordered = Vec::new();
            for d in &m.drivers {
                if let Some(t) = drivers.iter().find(|t| t.channel == d.channel) {
                    ordered.push(t.clone());
                }
            }
            Some(MediationTruth {
                mediator: m.name.clone(),
                coefficient: m.coefficient,
                drivers: ordered,
            })
        }
        _ => None,
    };
    let noise_realized_sd = population_sd(noise);
    let parameters = spec_parameters(spec, raw)?;
    Ok(Truth {
        name: spec.name.clone(),
        seed: spec.seed,
        periods: n,
        frequency: spec.frequency,
        start: dates.first().map(|d| d.to_string()).unwrap_or_default(),
        end: dates.last().map(|d| d.to_string()).unwrap_or_default(),
        date_column: spec.date_column.clone(),
        target: spec.target.clone(),
        noise_sd: spec.noise_sd,
        noise_realized_sd,
        target_mean: mean(y),
        channels,
        controls,
        baseline: BaselineTruth {
            intercept: spec.intercept,
            trend: spec.trend,
            contribution: baseline.iter().sum(),
        },
        mediation,
        lift_tests: vec![],
        parameters,
        geos: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_simspec;
    use mmm_transforms as _;
    use serde_json::json;

    fn spec() -> serde_json::Value {
        json!({
            "seed": 3, "periods": 40, "frequency": "daily", "start": "2024-01-01",
            "intercept": 10.0, "seasonality": {"weekend": 5.0}, "noise_sd": 0.0,
            "channels": [{"name": "a", "spend": {"type": "values", "values": [1.0, 0.0]},
                          "transforms": [{"type": "geometric_adstock", "decay": 0.5}], "coefficient": 2.0}]
        })
    }

    #[test]
    fn black_friday_is_the_day_after_the_fourth_thursday() {
        assert_eq!(
            calendar_date(CalendarHoliday::BlackFriday, 2023),
            NaiveDate::from_ymd_opt(2023, 11, 24)
        );
        assert_eq!(
            calendar_date(CalendarHoliday::BlackFriday, 2024),
            NaiveDate::from_ymd_opt(2024, 11, 29)
        );
        assert_eq!(
            calendar_date(CalendarHoliday::BlackFriday, 2026),
            NaiveDate::from_ymd_opt(2026, 11, 27)
        );
    }

    #[test]
    fn noiseless_target_is_the_sum_of_its_parts() {
        let s = parse_simspec(&spec(), "<test>").unwrap();
        let sim = simulate(&s, None).unwrap();
        let rows: Vec<Vec<f64>> = sim
            .csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect())
            .collect();
        // adstock of 1,0,1,0…: a_t = x_t + 0.5·a_{t−1}.
        let mut a = 0.0;
        for (t, r) in rows.iter().enumerate() {
            let x = if t % 2 == 0 { 1.0 } else { 0.0 };
            a = x + 0.5 * a;
            // 2024-01-06 (t = 5) is a Saturday.
            let weekend = if t % 7 == 5 || t % 7 == 6 { 5.0 } else { 0.0 };
            assert!(
                (r[0] - (10.0 + 2.0 * a + weekend)).abs() < 1e-4,
                "period {t}"
            );
        }
        assert_eq!(sim.truth.channels[0].spend, 20.0);
    }

    #[test]
    fn streams_are_per_item() {
        // Adding a control does not change the channels' spend.
        let mut a = spec();
        a["channels"][0]["spend"] = json!({"type": "always_on", "mean": 5.0, "noise_sd": 1.0});
        let mut b = a.clone();
        b["controls"] =
            json!([{"type": "promotion", "name": "p", "probability": 0.5, "effect": 1.0}]);
        let sa = simulate(&parse_simspec(&a, "a").unwrap(), None).unwrap();
        let sb = simulate(&parse_simspec(&b, "b").unwrap(), None).unwrap();
        let col = |csv: &str| {
            csv.lines()
                .skip(1)
                .map(|l| l.split(',').nth(2).unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(col(&sa.csv), col(&sb.csv));
    }

    #[test]
    fn errors_carry_pointers() {
        let mut s = spec();
        s["channels"][0]["transforms"][0]["decay"] = json!(2.0);
        s["frequency"] = json!("weekly");
        let e = parse_simspec(&s, "<test>").unwrap_err().to_string();
        assert!(e.contains("/channels/0/transforms/0/decay"), "{e}");
        assert!(e.contains("/seasonality/weekend"), "{e}");
    }
}
