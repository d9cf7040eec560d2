//! The spec's `calibration` list: lift tests as the spec writes them, their checks, and their
//! resolution against the data into [`LiftTest`]s (see [`mmm_core::calibration`] for the
//! formula).

use crate::spec::ExperimentSpec;
use chrono::NaiveDate;
use mmm_core::calibration::{counterfactual_spend, LiftScope, LiftTest};
use mmm_core::error::SpecIssue;
use mmm_core::geo::GeoSeries;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

/// One lift test of the spec's `calibration` list.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftTestSpec {
    /// A label for results and the report (default `<channel> <start>–<end>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The channel tested, by its `media[].name`.
    #[schemars(length(min = 1))]
    pub channel: String,
    /// Date of the test's first period, as the data's date column writes it (ISO `YYYY-MM-DD`).
    pub start: String,
    /// Date of the test's last period (inclusive).
    pub end: String,
    /// The change in the channel's spend over the test, in total over its periods (negative
    /// for a cut), spread over them in proportion to the actual spend. Give this or `holdout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_change: Option<f64>,
    /// The test switched the channel off over its periods (`spend_change` = minus the actual
    /// spend in the window).
    #[serde(default, skip_serializing_if = "is_false")]
    pub holdout: bool,
    /// The measured incremental KPI of the change, in KPI units (negative for a cut or a
    /// holdout).
    pub lift: f64,
    /// The standard error of the measured lift, in KPI units (> 0).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub standard_error: f64,
    /// Which periods the measured lift covers: `total` (default: the window and the carry-over
    /// after it, to the end of the data) or `window` (the test's periods only).
    #[serde(default, skip_serializing_if = "LiftScope::is_total")]
    pub scope: LiftScope,
    /// The geos the test ran in, by the panel's geo names (a geo experiment: the spend change
    /// and the measured lift are those of these geos together); empty (the default): every geo,
    /// a national test. Needs a panel (`data.geo`). An empty list is an error (it names no
    /// geo; leave `geos` out for a national test).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "non_empty_geos"
    )]
    #[schemars(length(min = 1))]
    pub geos: Vec<String>,
}

/// `geos` as written, refusing `[]`: an empty list would silently make the test national.
fn non_empty_geos<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let geos = Vec::<String>::deserialize(d)?;
    if geos.is_empty() {
        return Err(serde::de::Error::custom(
            "an empty list names no geo: list the geos the test ran in, or leave geos out for \
             a national test (every geo)",
        ));
    }
    Ok(geos)
}

impl LiftTestSpec {
    /// The label of the test in results.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let base = format!("{} {}–{}", self.channel, self.start, self.end);
            match self.geos.is_empty() {
                true => base,
                false => format!("{base} in {}", self.geos.join(", ")),
            }
        })
    }
}

/// The spec's problems with its `calibration` list that need no data: unknown channel, neither
/// or both of `spend_change` and `holdout`, dates that are not ISO or in the wrong order, a
/// lift or standard error that is not finite or not positive; and a model that fits the tests
/// in a structure of several stages.
pub fn spec_issues(spec: &ExperimentSpec) -> Vec<SpecIssue> {
    let mut issues = Vec::new();
    let single_stage = spec.causal.as_ref().is_none_or(|c| c.is_single_stage());
    if !spec.calibration.is_empty() && spec.model.fits_calibration() && !single_stage {
        issues.push(SpecIssue {
            pointer: "/calibration".into(),
            message: format!(
                "model '{}' fits lift tests in one stage of the target on every channel (the \
                 'direct' causal structure); this spec's structure has several stages",
                spec.model.typetag_name()
            ),
        });
    }
    let channels: Vec<&str> = spec.media.iter().map(|m| m.name.as_str()).collect();
    for (k, t) in spec.calibration.iter().enumerate() {
        issues.extend(test_issues(&format!("/calibration/{k}"), t, &channels));
    }
    issues
}

/// The problems of one lift test at pointer `at` that need no data (see [`spec_issues`]).
pub fn test_issues(at: &str, t: &LiftTestSpec, channels: &[&str]) -> Vec<SpecIssue> {
    let mut issues = Vec::new();
    let mut push = |pointer: String, message: String| issues.push(SpecIssue { pointer, message });
    if !channels.contains(&t.channel.as_str()) {
        push(
            format!("{at}/channel"),
            format!(
                "no channel named '{}'; the channels are: {}",
                t.channel,
                channels.join(", ")
            ),
        );
    }
    match (t.spend_change, t.holdout) {
        (None, false) => push(
            at.to_string(),
            "give the test's spend change: \"spend_change\" (total over the window) or \
             \"holdout\": true"
                .into(),
        ),
        (Some(_), true) => push(
            format!("{at}/spend_change"),
            "give either \"spend_change\" or \"holdout\": true, not both".into(),
        ),
        (Some(d), false) if !d.is_finite() || d == 0.0 => push(
            format!("{at}/spend_change"),
            format!("must be a finite non-zero change, found {d}"),
        ),
        _ => {}
    }
    let start = parse_date(&t.start);
    let end = parse_date(&t.end);
    if start.is_none() {
        push(
            format!("{at}/start"),
            format!("'{}' is not an ISO date (YYYY-MM-DD)", t.start),
        );
    }
    if end.is_none() {
        push(
            format!("{at}/end"),
            format!("'{}' is not an ISO date (YYYY-MM-DD)", t.end),
        );
    }
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            push(
                format!("{at}/end"),
                format!("the test ends ({e}) before it starts ({s})"),
            );
        }
    }
    if !t.lift.is_finite() || t.lift == 0.0 {
        push(
            format!("{at}/lift"),
            format!(
                "must be finite and non-zero (MAPE.LIFT divides by it), found {}",
                t.lift
            ),
        );
    }
    if !(t.standard_error.is_finite() && t.standard_error > 0.0) {
        push(
            format!("{at}/standard_error"),
            format!("must be a finite number > 0, found {}", t.standard_error),
        );
    }
    issues
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Resolves the spec's lift tests against the data's dates and the channels' spend (spec
/// order) and, for a panel, its geos' spend (`geos`, empty for national data); every problem
/// is returned by pointer (a window outside the data or without a period, a cut larger than
/// the spend, a geo the panel lacks or geos without a panel).
///
/// On a panel each tested geo gets its own counterfactual ([`LiftTest::geo_counterfactuals`]):
/// with `S_W` the window's spend over the tested geos (all of them for a national test) and
/// `S_{W,g}` geo `g`'s, geo `g` takes the share `Δ·S_{W,g}/S_W` of the change, spread in
/// proportion to its spend, so `x'_{g,t} = x_{g,t}·(1 + Δ/S_W)` (evenly over the tested geos'
/// periods when `S_W = 0`); the national counterfactual is the national spend plus the geos'
/// changes (for a national test, the national formula itself).
pub fn resolve(
    tests: &[LiftTestSpec],
    channel_names: &[String],
    dates: &[NaiveDate],
    spends: &[Vec<f64>],
    geos: &[GeoSeries],
) -> std::result::Result<Vec<LiftTest>, Vec<SpecIssue>> {
    let mut issues = Vec::new();
    let mut out = Vec::new();
    let n = dates.len();
    let (Some(&d0), Some(&d1)) = (dates.first(), dates.last()) else {
        return Ok(vec![]);
    };
    for (k, t) in tests.iter().enumerate() {
        let at = format!("/calibration/{k}");
        let mut issue = |pointer: String, message: String| {
            issues.push(SpecIssue { pointer, message });
        };
        let Some(c) = channel_names.iter().position(|m| *m == t.channel) else {
            issue(
                format!("{at}/channel"),
                format!("no channel named '{}'", t.channel),
            );
            continue;
        };
        let (Some(s), Some(e)) = (parse_date(&t.start), parse_date(&t.end)) else {
            issue(at, "the test's dates are not ISO dates".into());
            continue;
        };
        if s < d0 || s > d1 {
            issue(
                format!("{at}/start"),
                format!("{s} is outside the data's periods ({d0} to {d1})"),
            );
            continue;
        }
        if e > d1 || e < d0 {
            issue(
                format!("{at}/end"),
                format!("{e} is outside the data's periods ({d0} to {d1})"),
            );
            continue;
        }
        let in_window: Vec<usize> = (0..n).filter(|&i| dates[i] >= s && dates[i] <= e).collect();
        let (Some(&first), Some(&last)) = (in_window.first(), in_window.last()) else {
            issue(
                at,
                format!("no period of the data has a date from {s} to {e}"),
            );
            continue;
        };
        let spend = &spends[c];
        // the tested geos (panel order); every geo for a national test on a panel
        let tested: Vec<usize> = if t.geos.is_empty() {
            (0..geos.len()).collect()
        } else if geos.is_empty() {
            issue(
                format!("{at}/geos"),
                "names geos, but the data is not a panel: set data.geo to the geo column, or \
                 remove geos for a national test"
                    .into(),
            );
            continue;
        } else {
            let mut idx = Vec::new();
            let mut bad = None;
            for (j, name) in t.geos.iter().enumerate() {
                match geos.iter().position(|g| g.name == *name) {
                    Some(i) if !idx.contains(&i) => idx.push(i),
                    Some(_) => bad = Some((j, format!("geo '{name}' is listed twice"))),
                    None => {
                        let names: Vec<&str> = geos.iter().map(|g| g.name.as_str()).collect();
                        bad = Some((
                            j,
                            format!(
                                "no geo '{name}' in the panel; its geos are: {}",
                                names.join(", ")
                            ),
                        ))
                    }
                }
            }
            if let Some((j, m)) = bad {
                issue(format!("{at}/geos/{j}"), m);
                continue;
            }
            idx
        };
        let geo_window: Vec<f64> = tested
            .iter()
            .map(|&g| geos[g].spend[c][first..=last].iter().sum())
            .collect();
        let window_spend: f64 = match t.geos.is_empty() {
            true => spend[first..=last].iter().sum(),
            false => geo_window.iter().sum(),
        };
        let delta = if t.holdout {
            if window_spend <= 0.0 {
                issue(
                    format!("{at}/holdout"),
                    format!(
                        "channel '{}' has no spend from {s} to {e}: a holdout there changes nothing",
                        t.channel
                    ),
                );
                continue;
            }
            -window_spend
        } else {
            t.spend_change.unwrap_or(0.0)
        };
        let mut geo_counterfactuals = Vec::with_capacity(tested.len());
        let mut failed = None;
        for (&g, &s_g) in tested.iter().zip(&geo_window) {
            let share = match window_spend > 0.0 {
                true => s_g / window_spend,
                false => 1.0 / tested.len() as f64,
            };
            match counterfactual_spend(&geos[g].spend[c], first, last, delta * share) {
                Ok(v) => geo_counterfactuals.push((g, v)),
                Err(m) => failed = Some(m),
            }
        }
        let national = match t.geos.is_empty() {
            true => counterfactual_spend(spend, first, last, delta),
            false => Ok(spend
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    x + geo_counterfactuals
                        .iter()
                        .map(|(g, cf)| cf[i] - geos[*g].spend[c][i])
                        .sum::<f64>()
                })
                .collect()),
        };
        let counterfactual = match failed.map_or(national, Err) {
            Ok(v) => v,
            Err(m) => {
                issue(format!("{at}/spend_change"), m);
                continue;
            }
        };
        out.push(LiftTest {
            index: k,
            name: t.label(),
            channel: c,
            first,
            last,
            until: match t.scope {
                LiftScope::Total => n,
                LiftScope::Window => last + 1,
            },
            spend_change: delta,
            window_spend,
            counterfactual,
            lift: t.lift,
            standard_error: t.standard_error,
            scope: t.scope,
            geos: match t.geos.is_empty() {
                true => vec![],
                false => tested,
            },
            geo_counterfactuals,
        });
    }
    if issues.is_empty() {
        Ok(out)
    } else {
        Err(issues)
    }
}
