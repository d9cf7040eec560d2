//! The planning window of the budget optimizers (`optimizer.window`): what the spec says
//! (`{"start", "end"}` on the model's grid after the data, or `{"last": N}` periods of history),
//! its placement on the data's dates, and the window figures an optimization result reports.
//!
//! The response over a window (carry-over in and out, the formulas) is computed by the
//! engine's `mmm_engine::window::WindowCurves`, a `ResponseCurves` whose spend is a channel's
//! total over the window.

use crate::data::{parse_date, Frequency};
use crate::error::{MmmError, Result};
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most periods a window (with its gap after the data) may span.
pub const MAX_WINDOW_PERIODS: usize = 10_000;

/// The `window` of an optimizer: future dates (`start`, `end`) or the last `last` periods of
/// history, with the reference window whose spend is "current" and the spend pattern.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanningWindow {
    /// First date of a future window, on the model's grid after the data (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Last date of a future window (inclusive), on the grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Instead of dates: the last N periods of history (re-plan what was spent there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub last: Option<usize>,
    /// Reference window whose historical spend is the "current" plan: {"start": date} within the
    /// data, as long as the window. Default: the last window-length periods of the data for a
    /// future window, the window itself for "last".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceWindow>,
    /// How a channel's total is spread over the window's periods: "reference" (the reference
    /// window's own period-by-period pattern, default) or "flat" (equal spend every period).
    #[serde(default)]
    pub pattern: SpendPattern,
}

/// A reference window in the data: its first date (and, optionally, its last, which must make
/// it as long as the planning window).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferenceWindow {
    /// First date, within the data (YYYY-MM-DD).
    pub start: String,
    /// Last date (inclusive); optional, checked to give the window's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// How a channel's window total is spread over the window's periods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpendPattern {
    /// `w_t = reference spend_t / Σ reference spend` (flat for a channel without reference
    /// spend): the plan keeps the reference window's flighting and scales it.
    #[default]
    Reference,
    /// `w_t = 1/T`: equal spend in every period.
    Flat,
}

impl SpendPattern {
    /// The name in specs and results.
    pub fn name(self) -> &'static str {
        match self {
            SpendPattern::Reference => "reference",
            SpendPattern::Flat => "flat",
        }
    }
}

/// Whether a window lies after the data or at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// Future dates after the data.
    Future,
    /// The last periods of history.
    History,
}

fn date_at(s: &str, pointer: &str) -> Result<NaiveDate> {
    parse_date(s).ok_or_else(|| {
        MmmError::param(
            pointer,
            format!("'{s}' is not a date (expected YYYY-MM-DD)"),
        )
    })
}

impl PlanningWindow {
    /// Checks the fields on their own (dates parse, `start ≤ end`, `last ≥ 1`, one form);
    /// `pointer` is the window's place in the spec (`/window`).
    pub fn validate(&self, pointer: &str) -> Result<()> {
        match (&self.start, &self.end, self.last) {
            (_, _, Some(_)) if self.start.is_some() || self.end.is_some() => {
                return Err(MmmError::param(
                    pointer,
                    "give either start and end (a future window) or last (the last N periods of \
                     history), not both",
                ))
            }
            (None, None, None) => {
                return Err(MmmError::param(
                    pointer,
                    "a window needs start and end (future dates on the model's grid) or last \
                     (the last N periods of history), e.g. {\"start\": \"2024-01-01\", \"end\": \
                     \"2024-03-25\"} or {\"last\": 13}",
                ))
            }
            (Some(_), None, None) => {
                return Err(MmmError::param(
                    format!("{pointer}/end"),
                    "a window with a start needs an end (its last date, inclusive)",
                ))
            }
            (None, Some(_), None) => {
                return Err(MmmError::param(
                    format!("{pointer}/start"),
                    "a window with an end needs a start (its first date)",
                ))
            }
            (Some(s), Some(e), None) => {
                let a = date_at(s, &format!("{pointer}/start"))?;
                let b = date_at(e, &format!("{pointer}/end"))?;
                if b < a {
                    return Err(MmmError::param(
                        format!("{pointer}/end"),
                        format!("end {e} is before start {s}"),
                    ));
                }
            }
            (None, None, Some(n)) => {
                if n == 0 {
                    return Err(MmmError::param(
                        format!("{pointer}/last"),
                        "last = 0: a window has at least one period",
                    ));
                }
            }
            _ => unreachable!("every combination is matched above"),
        }
        if let Some(r) = &self.reference {
            let a = date_at(&r.start, &format!("{pointer}/reference/start"))?;
            if let Some(e) = &r.end {
                let b = date_at(e, &format!("{pointer}/reference/end"))?;
                if b < a {
                    return Err(MmmError::param(
                        format!("{pointer}/reference/end"),
                        format!("end {e} is before start {}", r.start),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Places the window on the data's grid (`dates`, at frequency `freq`); errors carry the
    /// pointer of the offending field under `pointer`.
    pub fn resolve(
        &self,
        dates: &[NaiveDate],
        freq: Frequency,
        pointer: &str,
    ) -> Result<ResolvedWindow> {
        self.validate(pointer)?;
        let n = dates.len();
        let (Some(&first), Some(&last_date)) = (dates.first(), dates.last()) else {
            return Err(MmmError::param(pointer, "the data has no periods"));
        };
        let next = freq.period_date(first, n as i64);
        let on_grid = |d: NaiveDate, ptr: String| -> Result<i64> {
            let t = freq.period_index(first, d);
            if freq.period_date(first, t) != d {
                return Err(MmmError::param(
                    ptr,
                    format!(
                        "{d} is not on the data's {} grid ({first} plus whole periods; the \
                         period after the data is {next})",
                        freq.name()
                    ),
                ));
            }
            Ok(t)
        };
        let (kind, start, periods) = match (&self.start, &self.end, self.last) {
            (Some(s), Some(e), None) => {
                let (ps, pe) = (format!("{pointer}/start"), format!("{pointer}/end"));
                let a = on_grid(date_at(s, &ps)?, ps.clone())?;
                let b = on_grid(date_at(e, &pe)?, pe)?;
                if a < n as i64 {
                    return Err(MmmError::param(
                        ps,
                        format!(
                            "{s} is within the data (which ends {last_date}); a window by dates \
                             lies after the data, starting {next} or later; for a window of \
                             history use {{\"last\": N}}"
                        ),
                    ));
                }
                let span = (b + 1 - n as i64) as usize;
                if span > MAX_WINDOW_PERIODS {
                    return Err(MmmError::param(
                        pointer,
                        format!(
                            "the window ends {span} periods after the data; at most \
                             {MAX_WINDOW_PERIODS} are supported"
                        ),
                    ));
                }
                (WindowKind::Future, a as usize, (b - a + 1) as usize)
            }
            (None, None, Some(k)) => {
                if k > n {
                    return Err(MmmError::param(
                        format!("{pointer}/last"),
                        format!("last = {k} is more than the {n} periods of data"),
                    ));
                }
                (WindowKind::History, n - k, k)
            }
            _ => unreachable!("validate() admits only these forms"),
        };
        let (reference_start, reference_source) = match &self.reference {
            None => match kind {
                WindowKind::History => (start, "default: the window itself, as spent".to_string()),
                WindowKind::Future => {
                    if periods > n {
                        return Err(MmmError::param(
                            pointer,
                            format!(
                                "the window has {periods} periods but the data only {n}: there \
                                 is no reference window as long as it for the \"current\" plan; \
                                 plan a shorter window"
                            ),
                        ));
                    }
                    (
                        n - periods,
                        format!("default: the last {periods} periods of the data"),
                    )
                }
            },
            Some(r) => {
                let ps = format!("{pointer}/reference/start");
                let a = on_grid(date_at(&r.start, &ps)?, ps.clone())?;
                if a < 0 || a >= n as i64 {
                    return Err(MmmError::param(
                        ps,
                        format!(
                            "{} is outside the data ({first} to {last_date}); the reference \
                             window is history",
                            r.start
                        ),
                    ));
                }
                let a = a as usize;
                let end_date = freq.period_date(first, (a + periods) as i64 - 1);
                if a + periods > n {
                    return Err(MmmError::param(
                        ps,
                        format!(
                            "a reference window of {periods} periods (the window's length) from \
                             {} would end {end_date}, after the data's end {last_date}",
                            r.start
                        ),
                    ));
                }
                if let Some(e) = &r.end {
                    let pe = format!("{pointer}/reference/end");
                    if date_at(e, &pe)? != end_date {
                        return Err(MmmError::param(
                            pe,
                            format!(
                                "the reference window must be as long as the window ({periods} \
                                 periods): from {} it ends {end_date}, not {e}",
                                r.start
                            ),
                        ));
                    }
                }
                (a, "chosen: window.reference".to_string())
            }
        };
        Ok(ResolvedWindow {
            kind,
            start,
            periods,
            n_data: n,
            first,
            frequency: freq,
            reference_start,
            reference_source,
            pattern: self.pattern,
        })
    }
}

/// A window placed on the data's grid.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedWindow {
    /// Future or history.
    pub kind: WindowKind,
    /// Index of its first period, counted from the data's first period.
    pub start: usize,
    /// Number of periods.
    pub periods: usize,
    /// Number of periods of data.
    pub n_data: usize,
    /// The data's first date (the grid's origin).
    pub first: NaiveDate,
    /// The grid's frequency.
    pub frequency: Frequency,
    /// Index of the reference window's first period in the data.
    pub reference_start: usize,
    /// Where the reference window comes from, in words.
    pub reference_source: String,
    /// The spend pattern.
    pub pattern: SpendPattern,
}

impl ResolvedWindow {
    /// Date of period `k` of the grid.
    pub fn date(&self, k: usize) -> NaiveDate {
        self.frequency.period_date(self.first, k as i64)
    }
    /// Periods of history before the window (the data before it).
    pub fn history_len(&self) -> usize {
        self.start.min(self.n_data)
    }
    /// Periods without spend between the data's end and a future window.
    pub fn gap(&self) -> usize {
        self.start.saturating_sub(self.n_data)
    }
}

/// A plan's figures over the window (one channel, or the total).
#[derive(Debug, Clone, Serialize)]
pub struct WindowFigures {
    /// Spend over the window.
    pub spend: f64,
    /// Mean spend per period over the window.
    pub spend_per_period: f64,
    /// `Σ_{t∈W} m·f([h, 0, p, 0])_t`: the KPI the channel gives in the window, carry-over in
    /// included.
    pub contribution: f64,
    /// `Σ_{t∈W} m·f([h, 0, 0, 0])_t`: the part history's spend alone gives (carry-over in).
    pub carry_in: f64,
    /// The plan's effect after the window (carry-over out).
    pub carry_out: f64,
    /// `contribution − carry_in + carry_out`: the plan's effect (what the optimizer maximizes).
    pub incremental: f64,
    /// `incremental / spend` (null without spend).
    pub roi: Option<f64>,
    /// `revenue_per_kpi · incremental / spend` with `data.revenue_per_kpi`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roas: Option<f64>,
    /// Marginal ROI `d incremental / d spend` at this spend (channels only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mroi: Option<f64>,
}

/// One channel of a window plan: the optimized plan's figures and the reference plan's.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelWindowPlan {
    /// The optimized plan.
    pub plan: WindowFigures,
    /// The reference ("current") plan.
    pub reference: WindowFigures,
}

/// One period of the optimized plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanPeriod {
    /// Date.
    pub date: String,
    /// Spend per channel in this period.
    pub spend: serde_json::Map<String, serde_json::Value>,
}

/// The window of an optimization, as `results.json` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct WindowReport {
    /// `future` or `history`.
    pub kind: WindowKind,
    /// First date.
    pub start: String,
    /// Last date.
    pub end: String,
    /// Number of periods.
    pub periods: usize,
    /// Periods without spend between the data and a future window.
    pub gap_periods: usize,
    /// Unit of every budget, bound and spend of the optimization: a total over the window.
    pub spend_unit: &'static str,
    /// How each channel's total is spread over the periods (`reference` or `flat`).
    pub pattern: &'static str,
    /// The reference window whose spend is the "current" plan: `start`, `end`, `periods`,
    /// `source`.
    pub reference: serde_json::Value,
    /// Money per KPI unit used for ROAS (`data.revenue_per_kpi`; a column's mean over the
    /// reference window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_per_kpi: Option<f64>,
    /// Totals of the optimized plan.
    pub plan: WindowFigures,
    /// Totals of the reference plan.
    pub reference_plan: WindowFigures,
    /// Per channel, periods after the window over which carry-over out is counted.
    pub carry_out_periods: serde_json::Map<String, serde_json::Value>,
    /// The optimized plan period by period (each channel's total spread by the pattern).
    pub schedule: Vec<PlanPeriod>,
}
