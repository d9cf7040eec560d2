//! Forecast of a dated media plan from a saved model (`mmm predict MODEL_DIR --plan plan.csv`).
//!
//! The plan gives future dates (on the model's grid: the data's last date plus whole periods,
//! consecutive) and, per channel, the spend (a column named by the channel's spend column or
//! its name), and every control the model has (a missing control is an error naming it).
//! Periods between the data's end and the plan's first date (a gap) are taken to have no
//! spend. For channel `i` the chain runs over the stored history `h_i`, the gap, the plan's
//! spend `p_i` and `L_i` periods after the window (`L_i` = the chain's carry-over length):
//!
//! ```text
//! ŷ_t            = Σ_j β_j·z_j(t) + Σ_i m_i·f_i([h_i, 0, p_i, 0])_t          (t in the window)
//! contribution_i = Σ_{t∈W} m_i·f_i([h_i, 0, p_i, 0])_t        (includes history's carry-over)
//! from_history_i = Σ_{t∈W} m_i·f_i([h_i, 0, 0, 0])_t          (what past spend alone gives)
//! carry_out_i    = Σ_{t after W} m_i·(f_i([h_i, 0, p_i, 0])_t − f_i([h_i, 0, 0, 0])_t)
//! incremental_i  = contribution_i − from_history_i + carry_out_i,   ROI_i = incremental_i / Σ p_i
//! ```
//!
//! Intervals: for models with posterior draws (Bayesian), every quantity is computed per kept
//! draw (coefficients and, when sampled, transform parameters) and summarized by its mean and
//! HDI at the model's level — an interval of the expected KPI. For point-estimate models the
//! period's interval is the prediction interval `ŷ_t ± t_{(1+L)/2, df}·σ̂` (residual scale of
//! the fit; coefficient uncertainty is not included), the window total's `Σŷ_t ±
//! t·σ̂·√T`; channel figures have no interval.

use crate::saved_model::{ColumnSource, SavedModel};
use chrono::{Datelike, NaiveDate};
use mmm_core::data::{parse_date, Table};
use mmm_core::error::{MmmError, Result};
use mmm_core::interval::hdi;
use mmm_core::transform::{ChainWorkspace, TransformChain};
use mmm_data::table::ReadTable;
use serde::Serialize;
use std::path::Path;

/// A plan read from CSV: dates, and per column its raw cells.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The plan file.
    pub path: std::path::PathBuf,
    /// The table as read.
    pub table: Table,
}

impl Plan {
    /// Reads a plan CSV; its date column is the model's date column, or `date`.
    pub fn read(path: &Path, model: &SavedModel) -> Result<Plan> {
        // the header decides which date column to use
        let probe = Table::read_unchecked(path, &model.data.date_column);
        let table = match probe {
            Ok(t) => t,
            Err(e) if model.data.date_column != "date" => {
                Table::read_unchecked(path, "date").map_err(|_| e)?
            }
            Err(e) => return Err(e),
        };
        if table.n_rows() == 0 {
            return Err(MmmError::data(path, None, None, "the plan has no rows"));
        }
        Ok(Plan {
            path: path.to_path_buf(),
            table,
        })
    }
}

/// One period of a forecast.
#[derive(Debug, Clone, Serialize)]
pub struct ForecastPeriod {
    /// Date.
    pub date: String,
    /// Expected KPI.
    pub expected: f64,
    /// Interval low end (see the module doc).
    pub low: f64,
    /// Interval high end.
    pub high: f64,
    /// Intercept, baseline and controls.
    pub baseline: f64,
    /// Per channel (model order), its contribution (with history's carry-over).
    pub channels: Vec<f64>,
}

/// One channel over the window.
#[derive(Debug, Clone, Serialize)]
pub struct ForecastChannel {
    /// Channel name.
    pub name: String,
    /// The plan's spend over the window.
    pub spend: f64,
    /// Contribution over the window, including carry-over of historical spend.
    pub contribution: f64,
    /// Interval of the contribution (models with draws).
    pub contribution_low: Option<f64>,
    /// High end.
    pub contribution_high: Option<f64>,
    /// Part of the contribution that spend before the window gives (carry-over in).
    pub from_history: f64,
    /// Effect of the plan's spend after the window's end (carry-over out).
    pub carry_out: f64,
    /// Effect of the plan's spend: `contribution − from_history + carry_out`.
    pub incremental: f64,
    /// Interval of the incremental effect (models with draws).
    pub incremental_low: Option<f64>,
    /// High end.
    pub incremental_high: Option<f64>,
    /// `incremental / spend`; null without spend.
    pub roi: Option<f64>,
    /// Interval of the ROI (models with draws).
    pub roi_low: Option<f64>,
    /// High end.
    pub roi_high: Option<f64>,
}

/// Totals over the window.
#[derive(Debug, Clone, Serialize)]
pub struct ForecastTotals {
    /// Σ expected KPI.
    pub expected: f64,
    /// Interval low end of the total.
    pub low: f64,
    /// Interval high end of the total.
    pub high: f64,
    /// Σ baseline (intercept, baseline terms, controls).
    pub baseline: f64,
    /// Σ channel contributions (with history's carry-over).
    pub media: f64,
    /// Σ spend.
    pub spend: f64,
    /// Σ incremental effects of the plan's spend.
    pub incremental: f64,
    /// `incremental / spend`; null without spend.
    pub roi: Option<f64>,
}

/// A forecast, as `forecast.json` holds it (periods in `forecast.csv`).
#[derive(Debug, Clone, Serialize)]
pub struct Forecast {
    /// The model: name, format and tool version, SHA-256 of its model.json.
    pub model: serde_json::Value,
    /// The plan file and its SHA-256.
    pub plan: crate::saved_model::InputFile,
    /// Target column.
    pub target: String,
    /// Interval level and kind (`prediction`: point model, residual scale; `posterior`: HDI of
    /// the expected KPI over the draws).
    pub interval: serde_json::Value,
    /// First and last date, number of periods, and periods of gap after the data (no spend).
    pub window: serde_json::Value,
    /// Totals.
    pub totals: ForecastTotals,
    /// Per channel.
    pub channels: Vec<ForecastChannel>,
    /// Per period.
    #[serde(skip)]
    pub periods: Vec<ForecastPeriod>,
}

/// One draw's (or the point estimate's) parameters.
struct DrawParams<'a> {
    coefficients: &'a [f64],
    chains: Vec<Option<TransformChain>>,
    input_scale: Vec<f64>,
}

/// Per channel, per-period series of one draw over the extended range.
struct DrawOutput {
    /// `μ_t` per window period.
    mu: Vec<f64>,
    /// Per channel: per window period contribution; from history (sum); carry-out (sum).
    contrib: Vec<Vec<f64>>,
    from_history: Vec<f64>,
    carry_out: Vec<f64>,
}

/// Where a channel's chain runs for a window: `history` periods of past spend, `gap` periods
/// without spend, the window's `periods`, and `after` periods past it over which carry-over out
/// is counted. The input series is `[c·h, 0, c·p, 0]` (`c` the model's spend scaling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLayout {
    /// Periods of history before the gap.
    pub history: usize,
    /// Periods without spend between history and the window.
    pub gap: usize,
    /// Periods in the window.
    pub periods: usize,
    /// Periods after the window over which carry-over out is counted.
    pub after: usize,
}

impl WindowLayout {
    /// Length of the whole series.
    pub fn len(&self) -> usize {
        self.history + self.gap + self.periods + self.after
    }

    /// Whether the series is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index of the window's first period in the series.
    pub fn offset(&self) -> usize {
        self.history + self.gap
    }

    /// Fills `x` (of [`WindowLayout::len`]) with `[scale·history, 0, scale·plan, 0]`; without a
    /// plan the window is 0 too.
    pub fn fill(&self, scale: f64, history: &[f64], plan: Option<&[f64]>, x: &mut [f64]) {
        x.iter_mut().for_each(|v| *v = 0.0);
        for (k, v) in history.iter().take(self.history).enumerate() {
            x[k] = scale * v;
        }
        if let Some(p) = plan {
            let off = self.offset();
            for (k, v) in p.iter().take(self.periods).enumerate() {
                x[off + k] = scale * v;
            }
        }
    }
}

/// One channel's figures over a window (one draw, or the point estimate); see the module doc.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelWindow {
    /// `m·f([h, 0, p, 0])_t` per window period (carry-over of history included).
    pub contribution: Vec<f64>,
    /// `Σ_{t∈W} m·f([h, 0, 0, 0])_t`: what past spend alone gives in the window (carry-over in).
    pub from_history: f64,
    /// `Σ_{t after W} m·(f([h, 0, p, 0])_t − f([h, 0, 0, 0])_t)`: the plan's carry-over out.
    pub carry_out: f64,
}

impl ChannelWindow {
    /// The figures from the chain's outputs with the plan (`f`) and with history alone (`f0`),
    /// both over the whole layout, and the coefficient `m`.
    pub fn from_series(layout: &WindowLayout, m: f64, f: &[f64], f0: &[f64]) -> Self {
        let off = layout.offset();
        let end = off + layout.periods;
        ChannelWindow {
            contribution: f[off..end].iter().map(|v| m * v).collect(),
            from_history: f0[off..end].iter().map(|v| m * v).sum(),
            carry_out: f[end..]
                .iter()
                .zip(&f0[end..])
                .map(|(a, b)| m * (a - b))
                .sum(),
        }
    }

    /// Σ of the contribution over the window.
    pub fn contribution_total(&self) -> f64 {
        self.contribution.iter().sum()
    }

    /// The plan's effect: `contribution − from_history + carry_out`.
    pub fn incremental(&self) -> f64 {
        self.contribution_total() - self.from_history + self.carry_out
    }
}

/// Runs `chain` (coefficient `m`, spend scaling `scale`) over `[h, 0, p, 0]` and `[h, 0, 0, 0]`
/// laid out by `layout`, and returns the channel's figures over the window.
pub fn channel_window(
    layout: &WindowLayout,
    chain: &TransformChain,
    m: f64,
    scale: f64,
    history: &[f64],
    plan: &[f64],
) -> ChannelWindow {
    let len = layout.len();
    let mut x = vec![0.0; len];
    let mut f = vec![0.0; len];
    let mut f0 = vec![0.0; len];
    let mut ws = ChainWorkspace::new(chain, len);
    layout.fill(scale, history, None, &mut x);
    chain.apply(&x, &mut f0, &mut ws);
    layout.fill(scale, history, Some(plan), &mut x);
    chain.apply(&x, &mut f, &mut ws);
    ChannelWindow::from_series(layout, m, &f, &f0)
}

/// Forecasts `plan` with `model`; `model_sha256` identifies model.json in the output.
pub fn predict(model: &SavedModel, plan: &Plan, model_sha256: Option<String>) -> Result<Forecast> {
    let path = &plan.path;
    let table = &plan.table;
    if !model.geos.is_empty() {
        return Err(MmmError::Usage(format!(
            "the model is a joint geo fit of {} geos; mmm predict forecasts national \
             models only for now: refit with model.geo set to \"national\" to forecast the \
             geos' national sums",
            model.geos.len()
        )));
    }
    if let Some(c) = model
        .columns
        .iter()
        .find(|c| c.source == ColumnSource::Unsupported)
    {
        return Err(MmmError::Usage(format!(
            "the model's column '{}' ({:?}) cannot be generated for future periods; mmm predict supports single-stage structures (causal '{}' has a mediator)",
            c.name, c.role, model.causal
        )));
    }
    let freq = model.data.frequency;
    let start = parse_date(&model.data.start)
        .ok_or_else(|| MmmError::Compute("model.json: bad data.start".into()))?;
    let n = model.data.n_obs;
    // period index of every plan date: on the grid, after the data, consecutive
    let mut index = Vec::with_capacity(table.n_rows());
    for (r, d) in table.dates.iter().enumerate() {
        let t = freq.period_index(start, *d);
        if freq.period_date(start, t) != *d {
            return Err(table.cell_error(
                &date_col(table, model),
                r,
                format!(
                    "{d} is not on the model's {} grid (the data's dates are {} plus whole periods)",
                    freq.name(),
                    model.data.start
                ),
            ));
        }
        if t < n as i64 {
            return Err(table.cell_error(
                &date_col(table, model),
                r,
                format!(
                    "{d} is within the data the model was fitted on (up to {}); a plan starts after it",
                    model.data.end
                ),
            ));
        }
        if let Some(&prev) = index.last() {
            if t != prev as i64 + 1 {
                return Err(table.cell_error(
                    &date_col(table, model),
                    r,
                    format!("{d} does not follow the previous date by one period; the plan's dates must be consecutive"),
                ));
            }
        }
        index.push(t as usize);
    }
    let big_t = index.len();
    let gap = index[0] - n;

    // spend per channel
    let mut spend = Vec::new();
    let mut missing = Vec::new();
    for c in &model.channels {
        let col = if table.has_column(&c.spend_column) {
            Some(c.spend_column.as_str())
        } else if table.has_column(&c.name) {
            Some(c.name.as_str())
        } else {
            None
        };
        match col {
            Some(col) => {
                let v = table.numeric(col)?;
                table.check_non_negative(col, &v)?;
                spend.push(v);
            }
            None => {
                missing.push(format!(
                    "spend of channel '{}' ({})",
                    c.name, c.spend_column
                ));
                spend.push(vec![]);
            }
        }
    }
    // non-media columns per window period
    let mut z: Vec<Option<Vec<f64>>> = Vec::with_capacity(model.columns.len());
    for col in &model.columns {
        z.push(match &col.source {
            ColumnSource::Media { .. } => None,
            ColumnSource::Intercept => Some(vec![1.0; big_t]),
            ColumnSource::Trend => Some(index.iter().map(|&t| t as f64 + 1.0).collect()),
            ColumnSource::Fourier {
                period,
                harmonic,
                sine,
            } => {
                let w = 2.0 * std::f64::consts::PI * *harmonic as f64 / period;
                Some(
                    index
                        .iter()
                        .map(|&t| {
                            if *sine {
                                (w * t as f64).sin()
                            } else {
                                (w * t as f64).cos()
                            }
                        })
                        .collect(),
                )
            }
            ColumnSource::Holiday { dates } => {
                let dates: Vec<NaiveDate> = dates.iter().filter_map(|d| parse_date(d)).collect();
                Some(
                    table
                        .dates
                        .iter()
                        .map(|p| {
                            if dates.iter().any(|d| freq.period_index(*p, *d) == 0) {
                                1.0
                            } else {
                                0.0
                            }
                        })
                        .collect(),
                )
            }
            ColumnSource::DayOfWeek { weekday } => Some(
                table
                    .dates
                    .iter()
                    .map(|d| {
                        if d.weekday().num_days_from_monday() == *weekday {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect(),
            ),
            ColumnSource::Control { column } => {
                if table.has_column(column) {
                    Some(table.numeric(column)?)
                } else {
                    missing.push(format!("control '{column}'"));
                    None
                }
            }
            ColumnSource::ControlLevel {
                column,
                level,
                levels,
            } => {
                if table.has_column(column) {
                    let raw = table.raw(column)?;
                    for (r, v) in raw.iter().enumerate() {
                        if !levels.iter().any(|l| l == v.trim()) {
                            return Err(table.cell_error(
                                column,
                                r,
                                format!(
                                    "'{}' is not a level of the control seen in the data ({})",
                                    v.trim(),
                                    levels.join(", ")
                                ),
                            ));
                        }
                    }
                    Some(
                        raw.iter()
                            .map(|v| if v.trim() == level { 1.0 } else { 0.0 })
                            .collect(),
                    )
                } else {
                    if !missing.contains(&format!("control '{column}'")) {
                        missing.push(format!("control '{column}'"));
                    }
                    None
                }
            }
            ColumnSource::Unsupported => None,
        });
    }
    if !missing.is_empty() {
        return Err(MmmError::data(
            path,
            Some(1),
            None,
            format!(
                "the plan lacks a column the model needs: {} (columns: {})",
                missing.join(", "),
                table.headers.join(", ")
            ),
        ));
    }

    let point_chains: Vec<Option<TransformChain>> = vec![None; model.channels.len()];
    let point_coefs: Vec<f64> = model.columns.iter().map(|c| c.coefficient).collect();
    let run = |p: &DrawParams<'_>| -> DrawOutput {
        let mut mu = vec![0.0; big_t];
        let mut contrib = vec![vec![0.0; big_t]; model.channels.len()];
        let mut from_history = vec![0.0; model.channels.len()];
        let mut carry_out = vec![0.0; model.channels.len()];
        for (j, col) in model.columns.iter().enumerate() {
            let b = p.coefficients[j];
            match (&col.source, &z[j]) {
                (ColumnSource::Media { channel }, _) => {
                    let i = *channel;
                    let c = &model.channels[i];
                    let chain = p.chains[i].as_ref().unwrap_or(&c.chain);
                    let layout = WindowLayout {
                        history: c.history.len(),
                        gap,
                        periods: big_t,
                        after: c.carry_out_periods,
                    };
                    let w =
                        channel_window(&layout, chain, b, p.input_scale[i], &c.history, &spend[i]);
                    for (k, v) in w.contribution.iter().enumerate() {
                        contrib[i][k] += v;
                        mu[k] += v;
                    }
                    from_history[i] += w.from_history;
                    carry_out[i] += w.carry_out;
                }
                (_, Some(zj)) => {
                    for k in 0..big_t {
                        mu[k] += b * zj[k];
                    }
                }
                _ => {}
            }
        }
        DrawOutput {
            mu,
            contrib,
            from_history,
            carry_out,
        }
    };
    let point = run(&DrawParams {
        coefficients: &point_coefs,
        chains: point_chains,
        input_scale: model
            .posterior
            .as_ref()
            .map(|p| p.input_scale.clone())
            .filter(|s| s.len() == model.channels.len())
            .unwrap_or_else(|| vec![1.0; model.channels.len()]),
    });
    let spend_total: Vec<f64> = spend.iter().map(|s| s.iter().sum()).collect();
    let level = model.interval_level;
    let draws: Option<Vec<DrawOutput>> = model.posterior.as_ref().map(|post| {
        post.coefficients
            .iter()
            .enumerate()
            .map(|(d, coefs)| {
                let chains = model
                    .channels
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        post.chain_params
                            .get(i)
                            .and_then(|cp| cp.get(d))
                            .map(|theta| {
                                let mut ch = c.chain.clone();
                                ch.set_params(theta);
                                ch
                            })
                    })
                    .collect();
                run(&DrawParams {
                    coefficients: coefs,
                    chains,
                    input_scale: post.input_scale.clone(),
                })
            })
            .collect()
    });
    let baseline_of =
        |o: &DrawOutput, k: usize| o.mu[k] - o.contrib.iter().map(|c| c[k]).sum::<f64>();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;

    let mut periods = Vec::with_capacity(big_t);
    let (totals, channels, kind);
    match &draws {
        Some(ds) if !ds.is_empty() => {
            kind = "posterior";
            for k in 0..big_t {
                let mus: Vec<f64> = ds.iter().map(|o| o.mu[k]).collect();
                let (lo, hi) = hdi(&mus, level);
                periods.push(ForecastPeriod {
                    date: table.dates[k].to_string(),
                    expected: mean(&mus),
                    low: lo,
                    high: hi,
                    baseline: mean(&ds.iter().map(|o| baseline_of(o, k)).collect::<Vec<_>>()),
                    channels: (0..model.channels.len())
                        .map(|i| mean(&ds.iter().map(|o| o.contrib[i][k]).collect::<Vec<_>>()))
                        .collect(),
                });
            }
            channels = model
                .channels
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let con: Vec<f64> = ds.iter().map(|o| o.contrib[i].iter().sum()).collect();
                    let inc: Vec<f64> = ds
                        .iter()
                        .map(|o| {
                            o.contrib[i].iter().sum::<f64>() - o.from_history[i] + o.carry_out[i]
                        })
                        .collect();
                    let (cl, ch) = hdi(&con, level);
                    let (il, ih) = hdi(&inc, level);
                    let s = spend_total[i];
                    let incremental = mean(&inc);
                    ForecastChannel {
                        name: c.name.clone(),
                        spend: s,
                        contribution: mean(&con),
                        contribution_low: Some(cl),
                        contribution_high: Some(ch),
                        from_history: mean(
                            &ds.iter().map(|o| o.from_history[i]).collect::<Vec<_>>(),
                        ),
                        carry_out: mean(&ds.iter().map(|o| o.carry_out[i]).collect::<Vec<_>>()),
                        incremental,
                        incremental_low: Some(il),
                        incremental_high: Some(ih),
                        roi: (s > 0.0).then(|| incremental / s),
                        roi_low: (s > 0.0).then(|| il / s),
                        roi_high: (s > 0.0).then(|| ih / s),
                    }
                })
                .collect::<Vec<_>>();
            let tot: Vec<f64> = ds.iter().map(|o| o.mu.iter().sum()).collect();
            let (lo, hi) = hdi(&tot, level);
            totals = totals_of(&periods, &channels, mean(&tot), lo, hi);
        }
        _ => {
            kind = "prediction";
            let q = t_quantile((1.0 + level) / 2.0, model.residuals.df as f64);
            let half = q * model.residuals.sigma;
            for k in 0..big_t {
                periods.push(ForecastPeriod {
                    date: table.dates[k].to_string(),
                    expected: point.mu[k],
                    low: point.mu[k] - half,
                    high: point.mu[k] + half,
                    baseline: baseline_of(&point, k),
                    channels: point.contrib.iter().map(|c| c[k]).collect(),
                });
            }
            channels = model
                .channels
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let con: f64 = point.contrib[i].iter().sum();
                    let incremental = con - point.from_history[i] + point.carry_out[i];
                    let s = spend_total[i];
                    ForecastChannel {
                        name: c.name.clone(),
                        spend: s,
                        contribution: con,
                        contribution_low: None,
                        contribution_high: None,
                        from_history: point.from_history[i],
                        carry_out: point.carry_out[i],
                        incremental,
                        incremental_low: None,
                        incremental_high: None,
                        roi: (s > 0.0).then(|| incremental / s),
                        roi_low: None,
                        roi_high: None,
                    }
                })
                .collect::<Vec<_>>();
            let total: f64 = point.mu.iter().sum();
            let h = half * (big_t as f64).sqrt();
            totals = totals_of(&periods, &channels, total, total - h, total + h);
        }
    }
    let plan_file = crate::saved_model::InputFile {
        pointer: "--plan".into(),
        path: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: crate::saved_model::sha256_file(path),
    };
    Ok(Forecast {
        model: serde_json::json!({
            "name": model.name,
            "format_version": model.format_version,
            "tool_version": model.tool_version,
            "model_type": model.model_type,
            "sha256": model_sha256,
            "data_end": model.data.end,
        }),
        plan: plan_file,
        target: model.data.target.clone(),
        interval: serde_json::json!({"level": level, "kind": kind}),
        window: serde_json::json!({
            "start": table.dates[0].to_string(),
            "end": table.dates[big_t - 1].to_string(),
            "periods": big_t,
            "gap_periods": gap,
        }),
        totals,
        channels,
        periods,
    })
}

fn totals_of(
    periods: &[ForecastPeriod],
    channels: &[ForecastChannel],
    expected: f64,
    low: f64,
    high: f64,
) -> ForecastTotals {
    let spend: f64 = channels.iter().map(|c| c.spend).sum();
    let incremental: f64 = channels.iter().map(|c| c.incremental).sum();
    ForecastTotals {
        expected,
        low,
        high,
        baseline: periods.iter().map(|p| p.baseline).sum(),
        media: channels.iter().map(|c| c.contribution).sum(),
        spend,
        incremental,
        roi: (spend > 0.0).then(|| incremental / spend),
    }
}

fn date_col(table: &Table, model: &SavedModel) -> String {
    if table.has_column(&model.data.date_column) {
        model.data.date_column.clone()
    } else {
        "date".into()
    }
}

/// Quantile `p` of Student's t with `df` degrees of freedom.
fn t_quantile(p: f64, df: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    StudentsT::new(0.0, 1.0, df.max(1.0))
        .map(|t| t.inverse_cdf(p))
        .unwrap_or(1.96)
}

/// The per-period forecast as CSV: `date, expected, low, high, baseline`, then one column per
/// channel (its contribution, with history's carry-over).
pub fn forecast_csv(f: &Forecast) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| MmmError::Compute(format!("writing forecast: {e}"));
    let mut header: Vec<String> = ["date", "expected", "low", "high", "baseline"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(f.channels.iter().map(|c| c.name.clone()));
    w.write_record(&header).map_err(err)?;
    for p in &f.periods {
        let mut row = vec![
            p.date.clone(),
            format!("{}", p.expected),
            format!("{}", p.low),
            format!("{}", p.high),
            format!("{}", p.baseline),
        ];
        row.extend(p.channels.iter().map(|v| format!("{v}")));
        w.write_record(&row).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| MmmError::Compute(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| MmmError::Compute(e.to_string()))
}

/// `forecast.json` text.
pub fn forecast_json(f: &Forecast) -> Result<String> {
    serde_json::to_string_pretty(f)
        .map(|s| s + "\n")
        .map_err(|e| MmmError::Compute(format!("serializing forecast: {e}")))
}
