//! The report of one run: each section appears only when the run has its data.

use crate::charts::{self, Band, BarGroup, Bars, Line, Marker, Panel, Ticks, VLine};
use crate::format::{self, amount, count, esc, fixed, metric, pct, pct_fraction, ratio};
use crate::input::{Draws, Fit, RunInput};
use crate::page::{figure, kpis, lead, table, Cell, Section};
use mmm_core::{MmmError, Result};
use plotters::prelude::SeriesLabelPosition;
use serde_json::Value;

/// Section ids of a run report, in page order (a section is present only with its data).
pub const RUN_SECTIONS: &[&str] = &[
    "section-review",
    "section-decision",
    "section-summary",
    "section-fit",
    "section-decomposition",
    "section-channels",
    "section-geos",
    "section-calibration",
    "section-response",
    "section-adstock",
    "section-diagnostics",
    "section-bayes",
    "section-budget",
    "section-tuning",
    "section-data-quality",
    "section-warnings",
];

fn chart_err(id: &str) -> impl Fn(String) -> MmmError + '_ {
    move |e| MmmError::Compute(format!("drawing chart '{id}': {e}"))
}

fn section(id: &str, title: &str, body: String) -> Section {
    Section {
        id: id.into(),
        title: title.into(),
        body,
    }
}

fn interval_text(level: Option<f64>) -> String {
    match level {
        Some(l) if l.is_finite() => format!("{}%", format::fixed(Some(100.0 * l), 0)),
        _ => "the".into(),
    }
}

/// Builds every section of a run's report.
pub fn sections(input: &RunInput) -> Result<Vec<Section>> {
    let mut out = Vec::new();
    if let Some(s) = review(input) {
        out.push(s);
    }
    if let Some(s) = crate::decision::decision(input) {
        out.push(s);
    }
    out.push(summary(input));
    if let Some(s) = refresh(input) {
        out.push(s);
    }
    if let Some(s) = fit(input)? {
        out.push(s);
    }
    if let Some(s) = decomposition(input)? {
        out.push(s);
    }
    if let Some(s) = channels(input)? {
        out.push(s);
    }
    if let Some(s) = geos(input) {
        out.push(s);
    }
    if let Some(s) = calibration(input) {
        out.push(s);
    }
    if let Some(s) = response(input)? {
        out.push(s);
    }
    if let Some(s) = adstock(input)? {
        out.push(s);
    }
    out.push(diagnostics(input)?);
    if let Some(s) = bayes(input)? {
        out.push(s);
    }
    if let Some(s) = budget(input)? {
        out.push(s);
    }
    if let Some(s) = tuning(input)? {
        out.push(s);
    }
    if let Some(s) = data_quality(input) {
        out.push(s);
    }
    if let Some(s) = warnings(input) {
        out.push(s);
    }
    Ok(out)
}

/// The subtitle: data, period and model.
pub fn subtitle(input: &RunInput) -> String {
    let r = &input.results;
    let d = &r.data;
    format!(
        "Target <strong>{}</strong> · {} {} periods from {} to {} · model <code>{}</code> · causal structure <code>{}</code>",
        esc(&d.target),
        d.n_obs,
        esc(&d.frequency),
        esc(&d.start),
        esc(&d.end),
        esc(&r.model.model_type),
        esc(&r.model.causal)
    )
}

fn summary(input: &RunInput) -> Section {
    let r = &input.results;
    let f = r.fit.clone().unwrap_or_default();
    let spend: f64 = r.channels.iter().filter_map(|c| c.spend).sum();
    let contribution: f64 = r.channels.iter().filter_map(|c| c.contribution).sum();
    let roi = (spend != 0.0).then(|| contribution / spend);
    let mut body = lead(
        "Headline figures of the run. Every figure in this report comes from <code>results.json</code>, \
         <code>decomposition.csv</code> and, for Bayesian models, <code>draws.csv</code> in this folder.",
    );
    body.push_str(&kpis(&[
        ("fit.r2", "R² (in sample)", f.r2, metric(f.r2)),
        ("fit.nrmse", "NRMSE", f.nrmse, metric(f.nrmse)),
        ("fit.mape", "MAPE", f.mape, pct_fraction(f.mape)),
        (
            "media.spend",
            "Media spend",
            Some(spend),
            amount(Some(spend)),
        ),
        (
            "media.contribution",
            "Media contribution",
            Some(contribution),
            amount(Some(contribution)),
        ),
        ("media.roi", "Media ROI", roi, ratio(roi)),
    ]));
    if let Some(note) = r.tuning.as_ref().map(intervals_note) {
        body.push_str(&note);
    }
    section("section-summary", "Summary", body)
}

fn fit(input: &RunInput) -> Result<Option<Section>> {
    let Some(d) = &input.decomposition else {
        return Ok(None);
    };
    if d.dates.is_empty() {
        return Ok(None);
    }
    let r = &input.results;
    let xs: Vec<f64> = (0..d.dates.len()).map(|i| i as f64).collect();
    let mut p = Panel::new("", &r.data.target);
    p.x_ticks = Ticks::Labels(d.dates.clone());
    p.legend = Some(SeriesLabelPosition::UpperLeft);
    if let Some((lo, hi)) = &d.interval {
        p.bands.push(Band {
            label: Some(format!(
                "{} predictive interval",
                interval_text(r.interval_level)
            )),
            color: charts::color(0),
            opacity: 0.22,
            rows: xs
                .iter()
                .zip(lo.iter().zip(hi))
                .map(|(&x, (&a, &b))| (x, a, b))
                .collect(),
        });
    }
    p.lines.push(Line::new(
        Some("Actual"),
        charts::INK,
        xs.iter().copied().zip(d.actual.iter().copied()).collect(),
    ));
    p.lines.push(Line::new(
        Some("Predicted"),
        charts::color(0),
        xs.iter()
            .copied()
            .zip(d.predicted.iter().copied())
            .collect(),
    ));
    let test_start = r
        .validation
        .as_ref()
        .and_then(|v| v.split.as_ref())
        .and_then(|s| s.test_start.clone())
        .and_then(|t| d.dates.iter().position(|x| *x == t));
    if let Some(i) = test_start {
        p.vlines.push(VLine {
            label: Some("Test period starts".into()),
            color: charts::MUTED,
            x: i as f64,
        });
    }
    let svg = charts::xy(&p, 400).map_err(chart_err("chart-fit"))?;
    let mut body = lead(
        "The observed target and the model's prediction per period. Where the two lines part, the \
         model misses something (an event, a promotion, a data issue); the shaded band, when the \
         model has one, is the range the model expects the target in.",
    );
    body.push_str(&figure(
        "chart-fit",
        "Actual vs predicted",
        "Per period, in the target's units.",
        &svg,
    ));
    let resid: Vec<(f64, f64)> = xs
        .iter()
        .zip(d.actual.iter().zip(&d.predicted))
        .map(|(&x, (&a, &p))| (x, a - p))
        .collect();
    let mut rp = Panel::new("", "actual − predicted");
    rp.x_ticks = Ticks::Labels(d.dates.clone());
    rp.y_zero = true;
    rp.legend = None;
    let mut l = Line::new(None, charts::color(3), resid);
    l.width = 1;
    l.dots = 2;
    rp.lines.push(l);
    let svg = charts::xy(&rp, 260).map_err(chart_err("chart-residuals"))?;
    body.push_str(&figure(
        "chart-residuals",
        "Residuals",
        "Actual minus predicted per period; runs of the same sign mean autocorrelation (see Durbin–Watson).",
        &svg,
    ));
    Ok(Some(section("section-fit", "Fit over time", body)))
}

/// The decomposition's groups: baseline, controls, then each channel or mediator.
pub(crate) fn decomposition_groups(input: &RunInput) -> Vec<(String, charts::PlotColor, Vec<f64>)> {
    let Some(d) = &input.decomposition else {
        return vec![];
    };
    let r = &input.results;
    let n = d.dates.len();
    let role = |term: &str| {
        r.coefficients
            .iter()
            .find(|c| c.name == term)
            .map(|c| c.role.as_str())
            .unwrap_or("other")
    };
    let mut baseline = vec![0.0; n];
    let mut controls = vec![0.0; n];
    let mut other = vec![0.0; n];
    let (mut has_b, mut has_c, mut has_o) = (false, false, false);
    let mut media: Vec<(String, Vec<f64>)> = vec![];
    for (term, v) in &d.terms {
        let add = |acc: &mut Vec<f64>| {
            for (a, x) in acc.iter_mut().zip(v) {
                if x.is_finite() {
                    *a += x;
                }
            }
        };
        match role(term) {
            "intercept" | "baseline" => {
                add(&mut baseline);
                has_b = true;
            }
            "control" => {
                add(&mut controls);
                has_c = true;
            }
            "media" | "mediator" => media.push((term.clone(), v.clone())),
            _ => {
                add(&mut other);
                has_o = true;
            }
        }
    }
    let mut out = vec![];
    if has_b {
        out.push(("Baseline".to_string(), charts::BASELINE, baseline));
    }
    if has_c {
        out.push(("Controls".to_string(), charts::CONTROLS, controls));
    }
    if has_o {
        out.push(("Other".to_string(), charts::PALETTE[9], other));
    }
    for (term, v) in media {
        let i = r
            .channels
            .iter()
            .position(|c| c.name == term)
            .unwrap_or(r.channels.len() + out.len());
        out.push((term, charts::color(i), v));
    }
    out
}

fn decomposition(input: &RunInput) -> Result<Option<Section>> {
    let Some(d) = &input.decomposition else {
        return Ok(None);
    };
    let groups = decomposition_groups(input);
    if groups.is_empty() || d.dates.is_empty() {
        return Ok(None);
    }
    let n = d.dates.len();
    let mut pos = vec![0.0; n];
    let mut neg = vec![0.0; n];
    let mut p = Panel::new("", &input.results.data.target);
    p.x_ticks = Ticks::Labels(d.dates.clone());
    p.legend = Some(SeriesLabelPosition::UpperLeft);
    p.y_zero = true;
    for (name, c, v) in &groups {
        let mut rows = Vec::with_capacity(n);
        for t in 0..n {
            let x = if v[t].is_finite() { v[t] } else { 0.0 };
            if x >= 0.0 {
                rows.push((t as f64, pos[t], pos[t] + x));
                pos[t] += x;
            } else {
                rows.push((t as f64, neg[t] + x, neg[t]));
                neg[t] += x;
            }
        }
        p.bands.push(Band {
            label: Some(name.clone()),
            color: *c,
            opacity: 0.9,
            rows,
        });
    }
    p.lines.push(Line::new(
        Some("Actual"),
        charts::INK,
        (0..n).map(|t| (t as f64, d.actual[t])).collect(),
    ));
    let svg = charts::xy(&p, 440).map_err(chart_err("chart-decomposition"))?;
    let mut body = lead(
        "What the model attributes the target to, per period: the baseline (intercept, trend, \
         seasonality), the controls, and each channel's effect, stacked. The parts sum to the \
         prediction; negative parts are stacked below zero. The black line is the actual target.",
    );
    body.push_str(&figure(
        "chart-decomposition",
        "Decomposition over time",
        "Stacked contributions per period.",
        &svg,
    ));
    let rows: Vec<(String, Vec<Cell>)> = groups
        .iter()
        .map(|(name, _, v)| {
            let total: f64 = v.iter().filter(|x| x.is_finite()).sum();
            (
                name.clone(),
                vec![
                    Cell::text(name),
                    Cell::num("total", Some(total), amount(Some(total))),
                ],
            )
        })
        .collect();
    body.push_str(&table(
        "table-decomposition",
        "part",
        &["part", "sum over all periods"],
        &rows,
    ));
    Ok(Some(section(
        "section-decomposition",
        "Decomposition over time",
        body,
    )))
}

/// Per geo of a joint geo fit: its KPI, fit and every channel's ROI with its interval.
fn geos(input: &RunInput) -> Option<Section> {
    let r = &input.results;
    let geos = r.geos.as_ref().filter(|g| !g.is_empty())?;
    let level = interval_text(r.interval_level);
    let channels: Vec<String> = r.channels.iter().map(|c| c.name.clone()).collect();
    let rows: Vec<(String, Vec<Cell>)> = geos
        .iter()
        .map(|g| {
            let mut cells = vec![
                Cell::text(&g.name),
                Cell::num("population", g.population, amount(g.population)),
                Cell::num("kpi", g.kpi, amount(g.kpi)),
                Cell::num(
                    "r2",
                    g.fit.as_ref().and_then(|f| f.r2),
                    fixed(g.fit.as_ref().and_then(|f| f.r2), 3),
                ),
            ];
            for name in &channels {
                let c = g.channels.iter().find(|c| &c.name == name);
                let roi = c.and_then(|c| c.roi);
                let interval = match c.map(|c| (c.roi_ci_low, c.roi_ci_high)) {
                    Some((Some(a), Some(b))) => {
                        format!(" [{}, {}]", ratio(Some(a)), ratio(Some(b)))
                    }
                    _ => String::new(),
                };
                cells.push(Cell::num(
                    &format!("roi_{name}"),
                    roi,
                    format!("{}{interval}", ratio(roi)),
                ));
            }
            (g.name.clone(), cells)
        })
        .collect();
    let roi_headers: Vec<String> = channels.iter().map(|c| format!("ROI {c}")).collect();
    let mut headers = vec!["geo", "population", "KPI", "R²"];
    headers.extend(roi_headers.iter().map(String::as_str));
    let params = &r.model.parameters;
    let fixed_effects = params.get("geo").and_then(|v| v.as_str()) == Some("fixed_effects");
    let per_geo = params.get("slopes").and_then(|v| v.as_str()) == Some("per_geo");
    let mut body = lead(&if fixed_effects {
        format!(
            "The panel was fitted jointly with geo fixed effects: each geo has its own \
             intercept, {}, with the transforms shared and every geo's KPI and spend scaled to \
             an average-size geo. The national figures above are the sums over these {} geos. \
             Each cell is the geo's ROI (its contribution over its spend, at the estimate){}.",
            if per_geo {
                "its own effect of every channel"
            } else {
                "and the effect of every channel is shared (pooled)"
            },
            geos.len(),
            if r.model.model_type == "ols" {
                format!(" with its {level} interval (conditional on the transforms)")
            } else {
                String::new()
            }
        )
    } else {
        format!(
            "The panel was fitted jointly: each geo has its own intercept and its own effect of \
             every channel, drawn around a national effect (a hierarchy that pulls noisy geos \
             toward the national figure), with the transforms shared. The national figures \
             above are the sums over these {} geos. Each cell is the geo's ROI (its contribution \
             over its spend, posterior mean) with its {level} interval.",
            geos.len()
        )
    });
    body.push_str(&table("table-geos", "geo", &headers, &rows));
    Some(section("section-geos", "Geos", body))
}

fn channels(input: &RunInput) -> Result<Option<Section>> {
    let r = &input.results;
    if r.channels.is_empty() {
        return Ok(None);
    }
    let names: Vec<String> = r.channels.iter().map(|c| c.name.clone()).collect();
    let colors: Vec<_> = (0..names.len()).map(charts::color).collect();
    let iv = |a: Option<f64>, b: Option<f64>| a.zip(b);
    let has_ci = r.channels.iter().any(|c| c.roi_ci_low.is_some());
    let level = interval_text(r.interval_level);
    // one bar per channel in its colour, with the interval when the model gives one
    let channel_bars = |values: Vec<Option<f64>>, intervals: Vec<Option<(f64, f64)>>| BarGroup {
        label: None,
        color: colors[0],
        per_category: Some(colors.clone()),
        values,
        intervals,
    };
    let contrib = Bars {
        categories: names.clone(),
        groups: vec![channel_bars(
            r.channels.iter().map(|c| c.contribution).collect(),
            r.channels
                .iter()
                .map(|c| iv(c.contribution_ci_low, c.contribution_ci_high))
                .collect(),
        )],
        x_desc: format!("contribution to {} (sum over all periods)", r.data.target),
        value_text: amount,
        reference: None,
    };
    let roi = Bars {
        categories: names.clone(),
        groups: vec![channel_bars(
            r.channels.iter().map(|c| c.roi).collect(),
            r.channels
                .iter()
                .map(|c| iv(c.roi_ci_low, c.roi_ci_high))
                .collect(),
        )],
        x_desc: "ROI: contribution per unit of spend".into(),
        value_text: ratio,
        reference: Some((1.0, "ROI = 1 (break-even)".into())),
    };
    let ci_note = if has_ci {
        format!(" Whiskers show the {level} interval.")
    } else {
        " This model gives no intervals.".into()
    };
    let mut body = lead(
        "Each channel's contribution (its summed modeled effect over the data) and its return on \
         investment: contribution divided by spend. A channel to the right of the ROI = 1 line \
         returned more than it cost on average; marginal ROI (the table) says what the next unit \
         of spend returns.",
    );
    body.push_str(&figure(
        "chart-contribution",
        "Contribution per channel",
        &format!("Summed over all periods.{ci_note}"),
        &charts::bars(&contrib).map_err(chart_err("chart-contribution"))?,
    ));
    body.push_str(&figure(
        "chart-roi",
        "ROI per channel",
        &format!("Contribution over spend.{ci_note}"),
        &charts::bars(&roi).map_err(chart_err("chart-roi"))?,
    ));
    let has_mroi_ci = r.channels.iter().any(|c| c.mroi_ci_low.is_some());
    let rows: Vec<(String, Vec<Cell>)> = r
        .channels
        .iter()
        .map(|c| {
            let ci = |a: Option<f64>, b: Option<f64>, f: fn(Option<f64>) -> String| match (a, b) {
                (Some(a), Some(b)) => format!("[{}, {}]", f(Some(a)), f(Some(b))),
                _ => format::MISSING.into(),
            };
            (c.name.clone(), {
                let mut cells = vec![
                    Cell::text(&c.name),
                    Cell::num("spend", c.spend, amount(c.spend)),
                    Cell::num("contribution", c.contribution, amount(c.contribution)),
                    Cell::text(&ci(c.contribution_ci_low, c.contribution_ci_high, amount)),
                    Cell::num(
                        "share",
                        c.share,
                        match (c.share_ci_low, c.share_ci_high) {
                            (Some(_), Some(_)) => format!(
                                "{} {}",
                                pct_fraction(c.share),
                                ci(c.share_ci_low, c.share_ci_high, pct_fraction)
                            ),
                            _ => pct_fraction(c.share),
                        },
                    ),
                    Cell::num("roi", c.roi, ratio(c.roi)),
                    Cell::text(&ci(c.roi_ci_low, c.roi_ci_high, ratio)),
                    Cell::num("mroi", c.mroi, ratio(c.mroi))
                        .class(c.mroi.filter(|m| *m < 1.0).map(|_| "warn")),
                ];
                if has_mroi_ci {
                    cells.push(Cell::text(&ci(c.mroi_ci_low, c.mroi_ci_high, ratio)));
                }
                cells.push(Cell::num(
                    "breakeven_spend",
                    c.breakeven_spend,
                    amount(c.breakeven_spend),
                ));
                cells
            })
        })
        .collect();
    let (contribution_ci, roi_ci, mroi_ci) = (
        format!("{level} interval"),
        format!("ROI {level} interval"),
        format!("marginal ROI {level} interval"),
    );
    let mut headers = vec![
        "channel",
        "spend",
        "contribution",
        &contribution_ci,
        "share",
        "ROI",
        &roi_ci,
        "marginal ROI",
    ];
    if has_mroi_ci {
        headers.push(&mroi_ci);
    }
    headers.push("break-even spend / period");
    body.push_str(&table("table-channels", "channel", &headers, &rows));
    Ok(Some(section(
        "section-channels",
        "Contribution and ROI per channel",
        body,
    )))
}

/// Linear interpolation of `(x, y)` points (sorted by x) at `x`.
/// The lift tests beside the model's lifts: per test the window, the spend change, the
/// measured lift ± its standard error, the model's lift with its interval and `z`.
fn calibration(input: &RunInput) -> Option<Section> {
    let c = input.results.calibration.as_ref()?;
    let level = interval_text(input.results.interval_level);
    let mut body = lead(&format!(
        "Lift tests (experiments) of the spec's <code>calibration</code>: the measured \
         incremental KPI of each spend change beside the model's own lift for the same change \
         (carry-over and saturation included). {} <code>z</code> is the model's lift minus the \
         measured one, in standard errors of the test.",
        if c.fitted_to_tests {
            "The model was fitted to them: each test is a likelihood term of the posterior."
        } else {
            "The model was not fitted to them, only compared (a Bayesian model fits them; \
             tuning can minimize <code>mape_lift</code>)."
        }
    ));
    body.push_str(&kpis(&[(
        "calibration.mape_lift",
        "MAPE.LIFT",
        c.mape_lift,
        pct_fraction(c.mape_lift),
    )]));
    let rows: Vec<(String, Vec<Cell>)> = c
        .tests
        .iter()
        .map(|t| {
            let interval = match (t.model_lift_ci_low, t.model_lift_ci_high) {
                (Some(lo), Some(hi)) => format!("[{}, {}]", amount(Some(lo)), amount(Some(hi))),
                _ => String::new(),
            };
            let z = t.z.map(f64::abs);
            (
                t.name.clone(),
                vec![
                    Cell::text(&t.name),
                    Cell::text(&t.channel),
                    Cell::text(&format!("{} – {} ({})", t.start, t.end, t.scope)),
                    Cell::num("spend_change", t.spend_change, amount(t.spend_change)),
                    Cell::num(
                        "lift",
                        t.lift,
                        format!("{} ± {}", amount(t.lift), amount(t.standard_error)),
                    ),
                    Cell::num("model_lift", t.model_lift, amount(t.model_lift)),
                    Cell::text(&interval),
                    Cell::num("z", t.z, fixed(t.z, 2)).class(z.filter(|z| *z > 3.0).map(|_| "bad")),
                ],
            )
        })
        .collect();
    let interval_header = format!("{level} interval");
    body.push_str(&table(
        "table-calibration",
        "test",
        &[
            "test",
            "channel",
            "window (scope)",
            "spend change",
            "measured lift ± SE",
            "model lift",
            &interval_header,
            "z",
        ],
        &rows,
    ));
    Some(section(
        "section-calibration",
        "Calibration with lift tests",
        body,
    ))
}

fn interpolate(points: &[(f64, f64)], x: f64) -> Option<f64> {
    points.windows(2).find_map(|w| {
        let ((a, fa), (b, fb)) = (w[0], w[1]);
        (x >= a && x <= b && b > a).then(|| fa + (fb - fa) * (x - a) / (b - a))
    })
}

fn response(input: &RunInput) -> Result<Option<Section>> {
    let r = &input.results;
    let curves: Vec<_> = r
        .response_curves
        .iter()
        .filter(|c| c.points.len() >= 2)
        .collect();
    if curves.is_empty() {
        return Ok(None);
    }
    let mut panels = vec![];
    let mut beyond = vec![];
    for c in &curves {
        let i = r
            .channels
            .iter()
            .position(|x| x.name == c.channel)
            .unwrap_or(0);
        let pts: Vec<(f64, f64)> = c
            .points
            .iter()
            .filter_map(|p| Some((p.spend?, p.response?)))
            .collect();
        let mut p = Panel::new("spend per period", "expected KPI");
        p.title = Some(c.channel.clone());
        p.y_zero = true;
        p.tick_size = 12;
        p.legend = Some(SeriesLabelPosition::LowerRight);
        let band: Vec<(f64, f64, f64)> = c
            .points
            .iter()
            .filter_map(|p| Some((p.spend?, p.response_low?, p.response_high?)))
            .collect();
        if band.len() >= 2 {
            p.bands.push(Band {
                label: Some(format!("{} interval", interval_text(r.interval_level))),
                color: charts::color(i),
                opacity: 0.22,
                rows: band,
            });
        }
        p.lines
            .push(Line::new(Some("response"), charts::color(i), pts.clone()));
        if let (Some(s), Some(v)) = (c.current_spend, c.current_response) {
            p.markers.push(Marker {
                label: Some("current spend".into()),
                color: charts::INK,
                at: (s, v),
                text: None,
                diamond: false,
            });
        }
        let top = pts.last().map(|p| p.0).unwrap_or(0.0);
        match c.breakeven_spend {
            Some(b) if b <= top => {
                if let Some(v) = interpolate(&pts, b) {
                    p.markers.push(Marker {
                        label: Some("mROI = 1".into()),
                        color: charts::ALERT,
                        at: (b, v),
                        text: None,
                        diamond: true,
                    });
                }
            }
            Some(b) => beyond.push(format!("{} at {}", c.channel, amount(Some(b)))),
            None => {}
        }
        panels.push(p);
    }
    let cols = if panels.len() <= 4 { 2 } else { 3 };
    let svg = charts::grid(&panels, cols, 300).map_err(chart_err("chart-response"))?;
    let mut caption = String::from(
        "Expected KPI over the data's length at a constant spend per period (carry-over at its steady state).",
    );
    if curves
        .iter()
        .any(|c| c.points.iter().any(|p| p.response_low.is_some()))
    {
        caption.push_str(
            " Bayesian model: the line is the posterior-mean response, the band its credible interval over the draws.",
        );
    }
    if !beyond.is_empty() {
        caption.push_str(&format!(
            " Break-even beyond the plotted range (3× current spend): {}.",
            beyond.join(", ")
        ));
    }
    let mut body = lead(
        "How each channel's expected effect grows with spend. The dot is current (mean) spend; \
         the diamond is where marginal ROI falls to 1 — past it, each extra unit of spend returns \
         less than it costs. A steep curve at the dot means room to grow; a flat one means \
         saturation.",
    );
    body.push_str(&figure("chart-response", "Response curves", &caption, &svg));
    let rows: Vec<(String, Vec<Cell>)> = curves
        .iter()
        .map(|c| {
            (
                c.channel.clone(),
                vec![
                    Cell::text(&c.channel),
                    Cell::num("current_spend", c.current_spend, amount(c.current_spend)),
                    Cell::num(
                        "current_response",
                        c.current_response,
                        amount(c.current_response),
                    ),
                    Cell::num("mroi", c.mroi, ratio(c.mroi)),
                    Cell::num(
                        "breakeven_spend",
                        c.breakeven_spend,
                        amount(c.breakeven_spend),
                    ),
                ],
            )
        })
        .collect();
    body.push_str(&table(
        "table-response",
        "channel",
        &[
            "channel",
            "current spend / period",
            "expected KPI at current spend",
            "marginal ROI",
            "break-even spend / period",
        ],
        &rows,
    ));
    Ok(Some(section("section-response", "Response curves", body)))
}

fn adstock(input: &RunInput) -> Result<Option<Section>> {
    let r = &input.results;
    let mut p = Panel::new("lag (periods)", "weight");
    p.x_ticks = Ticks::Integer;
    p.y_zero = true;
    p.legend = Some(SeriesLabelPosition::UpperRight);
    let mut rows = vec![];
    for c in &r.response_curves {
        let Some(w) = &c.adstock_weights else {
            continue;
        };
        let i = r
            .channels
            .iter()
            .position(|x| x.name == c.channel)
            .unwrap_or(0);
        let pts: Vec<(f64, f64)> = w
            .iter()
            .enumerate()
            .map(|(l, v)| (l as f64, v.unwrap_or(f64::NAN)))
            .collect();
        let total: f64 = w.iter().flatten().sum();
        let mean_lag = (total != 0.0).then(|| {
            w.iter()
                .enumerate()
                .map(|(l, v)| l as f64 * v.unwrap_or(0.0))
                .sum::<f64>()
                / total
        });
        let mut l = Line::new(Some(&c.channel), charts::color(i), pts);
        l.dots = 3;
        p.lines.push(l);
        rows.push((
            c.channel.clone(),
            vec![
                Cell::text(&c.channel),
                Cell::num(
                    "w0",
                    w.first().copied().flatten(),
                    ratio(w.first().copied().flatten()),
                ),
                Cell::num("sum", Some(total), ratio(Some(total))),
                Cell::num("mean_lag", mean_lag, format::fixed(mean_lag, 2)),
                Cell::num("lags", Some(w.len() as f64), count(Some(w.len() as f64))),
            ],
        ));
    }
    if p.lines.is_empty() {
        return Ok(None);
    }
    let mut panel = p;
    let longest = panel
        .lines
        .iter()
        .map(|l| l.points.len())
        .max()
        .unwrap_or(1);
    panel.x_range = Some((0.0, (longest.max(2) - 1) as f64));
    let svg = charts::xy(&panel, 360).map_err(chart_err("chart-adstock"))?;
    let mut body = lead(
        "How long a unit of spend keeps working: the weight of spend from <em>l</em> periods ago in \
         this period's adstocked spend (the channel's carry-over transforms combined). A long tail \
         means lasting effects; a mean lag near 0 means the effect is immediate.",
    );
    body.push_str(&figure(
        "chart-adstock",
        "Adstock weights",
        "Weight per lag, as the fitted transforms apply it.",
        &svg,
    ));
    body.push_str(&table(
        "table-adstock",
        "channel",
        &[
            "channel",
            "weight at lag 0",
            "sum of weights",
            "mean lag",
            "lags shown",
        ],
        &rows,
    ));
    Ok(Some(section(
        "section-adstock",
        "Adstock weight shapes",
        body,
    )))
}

fn fit_rows(columns: &[(&str, Option<&Fit>)]) -> Vec<(String, Vec<Cell>)> {
    type Getter = fn(&Fit) -> Option<f64>;
    type Shown = fn(Option<f64>) -> String;
    let metrics: [(&str, &str, Getter, Shown); 9] = [
        ("r2", "R²", |f| f.r2, metric),
        ("adj_r2", "adjusted R²", |f| f.adj_r2, metric),
        ("nrmse", "NRMSE", |f| f.nrmse, metric),
        ("mape", "MAPE", |f| f.mape, pct_fraction),
        ("rmse", "RMSE", |f| f.rmse, amount),
        ("mae", "MAE", |f| f.mae, amount),
        ("durbin_watson", "Durbin–Watson", |f| f.durbin_watson, ratio),
        ("n_obs", "periods", |f| f.n_obs, count),
        ("n_params", "coefficients", |f| f.n_params, count),
    ];
    metrics
        .iter()
        .map(|(key, label, get, fmt)| {
            let mut cells = vec![Cell::text(label)];
            for (col, f) in columns {
                let v = f.and_then(get);
                let class = match *key {
                    "durbin_watson" => v.filter(|d| !(1.5..=2.5).contains(d)).map(|_| "warn"),
                    _ => None,
                };
                cells.push(Cell::num(&format!("{col}.{key}"), v, fmt(v)).class(class));
            }
            (key.to_string(), cells)
        })
        .collect()
}

fn diagnostics(input: &RunInput) -> Result<Section> {
    let r = &input.results;
    let mut body = lead(
        "How well the model fits and how trustworthy its coefficients are. R² near 1 and a small \
         NRMSE / MAPE mean a close fit; Durbin–Watson near 2 means residuals without \
         autocorrelation (highlighted outside 1.5–2.5); a variance inflation factor (VIF) above \
         10 or a large condition number means collinear regressors whose split of the effect is \
         uncertain.",
    );
    let split = r.validation.as_ref().and_then(|v| v.split.as_ref());
    let mut columns: Vec<(&str, Option<&Fit>)> = vec![("fit", r.fit.as_ref())];
    let mut header = vec!["metric", "in sample"];
    if let Some(s) = split {
        columns.push(("train", s.train.as_ref()));
        columns.push(("test", s.test.as_ref()));
        header.push("train");
        header.push("test");
    }
    body.push_str("<h3>Fit</h3>\n");
    body.push_str(&table("table-fit", "metric", &header, &fit_rows(&columns)));
    if let Some(s) = split {
        body.push_str(&format!(
            "<p>Validation: trained on {} periods, tested on the last {} (from {}); decomposition RSSD on the training periods {}.</p>\n",
            count(s.n_train),
            count(s.n_test),
            esc(s.test_start.as_deref().unwrap_or("—")),
            metric(s.decomp_rssd)
        ));
    }
    let stats: Vec<(String, Vec<Cell>)> = r
        .model
        .statistics
        .iter()
        .map(|(k, v)| {
            let class = match k.as_str() {
                "condition_number_standardized" => v.filter(|c| *c > 30.0).map(|_| "warn"),
                _ => None,
            };
            let shown = match v {
                Some(x) if x.abs() >= 1000.0 => amount(*v),
                _ => format::fixed(*v, 4),
            };
            (
                k.clone(),
                vec![Cell::text(k), Cell::num(k, *v, shown).class(class)],
            )
        })
        .collect();
    if !stats.is_empty() {
        body.push_str("<h3>Model statistics</h3>\n");
        body.push_str(&table(
            "table-statistics",
            "statistic",
            &["statistic", "value"],
            &stats,
        ));
    }
    if !r.coefficients.is_empty() {
        let level = interval_text(r.interval_level);
        let rows: Vec<(String, Vec<Cell>)> = r
            .coefficients
            .iter()
            .map(|c| {
                let num = |v: Option<f64>| match v {
                    Some(x) if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e6) => {
                        format!("{x:.4e}")
                    }
                    _ => format::fixed(v, 4),
                };
                (
                    c.name.clone(),
                    vec![
                        Cell::text(&c.name),
                        Cell::text(&c.role),
                        Cell::num("estimate", c.estimate, num(c.estimate)),
                        Cell::num("std_error", c.std_error, num(c.std_error)),
                        Cell::num("ci_low", c.ci_low, num(c.ci_low)),
                        Cell::num("ci_high", c.ci_high, num(c.ci_high)),
                        Cell::num("p_value", c.p_value, format::fixed(c.p_value, 4)),
                        Cell::num("vif", c.vif, format::fixed(c.vif, 2))
                            .class(c.vif.filter(|v| *v > 10.0).map(|_| "warn")),
                    ],
                )
            })
            .collect();
        body.push_str("<h3>Coefficients</h3>\n");
        body.push_str(&table(
            "table-coefficients",
            "coefficient",
            &[
                "column",
                "role",
                "estimate",
                "std. error",
                &format!("{level} low"),
                &format!("{level} high"),
                "p value",
                "VIF",
            ],
            &rows,
        ));
    }
    Ok(section("section-diagnostics", "Diagnostics", body))
}

/// Parameters whose draws are plotted: media parameters (`channel.transform.param`,
/// `channel.beta`) and `sigma`, else all, at most `max`.
fn plotted_parameters(d: &Draws, channels: &[String], max: usize) -> Vec<usize> {
    let media = |n: &str| {
        n.split_once('.')
            .is_some_and(|(head, _)| channels.iter().any(|c| c == head))
    };
    let mut idx: Vec<usize> = (0..d.names.len())
        .filter(|&p| media(&d.names[p]) || d.names[p] == "sigma")
        .collect();
    if idx.is_empty() {
        idx = (0..d.names.len()).collect();
    }
    idx.truncate(max);
    idx
}

/// Gaussian kernel density on `grid` points (Silverman's bandwidth).
fn kde(v: &[f64], lo: f64, hi: f64, grid: usize) -> Vec<(f64, f64)> {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len() as f64;
    if v.len() < 2 || hi <= lo {
        return vec![];
    }
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let h = (1.06 * sd * n.powf(-0.2)).max((hi - lo) * 1e-3);
    let norm = 1.0 / (n * h * (2.0 * std::f64::consts::PI).sqrt());
    (0..grid)
        .map(|k| {
            let x = lo + (hi - lo) * k as f64 / (grid - 1) as f64;
            let y = v
                .iter()
                .map(|xi| (-0.5 * ((x - xi) / h).powi(2)).exp())
                .sum::<f64>()
                * norm;
            (x, y)
        })
        .collect()
}

fn bayes(input: &RunInput) -> Result<Option<Section>> {
    let r = &input.results;
    let diag = r.posterior.as_ref().and_then(|p| p.diagnostics.clone());
    if diag.is_none() && input.draws.is_none() {
        return Ok(None);
    }
    let mut body = lead(
        "Checks of the posterior sampler. R-hat compares chains: above 1.01 the chains disagree \
         and the posterior is not to be trusted. Effective sample sizes (ESS) below 400 mean \
         too few independent draws; divergent transitions mean the sampler missed part of the \
         posterior. Trace plots should look like overlapping, stationary noise; densities of \
         different chains should coincide.",
    );
    if let Some(d) = &diag {
        let divergences: f64 = d.divergences.iter().flatten().sum();
        body.push_str(&kpis(&[
            ("posterior.chains", "chains", d.chains, count(d.chains)),
            (
                "posterior.draws",
                "draws per chain",
                d.draws,
                count(d.draws),
            ),
            (
                "posterior.divergences",
                "divergent transitions",
                Some(divergences),
                count(Some(divergences)),
            ),
            (
                "posterior.max_r_hat",
                "largest R-hat",
                d.parameters
                    .values()
                    .filter_map(|p| p.r_hat)
                    .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v)))),
                ratio(
                    d.parameters
                        .values()
                        .filter_map(|p| p.r_hat)
                        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v)))),
                ),
            ),
        ]));
        let chain_rows: Vec<(String, Vec<Cell>)> = (0..d.divergences.len().max(d.e_bfmi.len()))
            .map(|c| {
                let dv = d.divergences.get(c).copied().flatten();
                let eb = d.e_bfmi.get(c).copied().flatten();
                let td = d.max_tree_depth_hits.get(c).copied().flatten();
                (
                    c.to_string(),
                    vec![
                        Cell::text(&c.to_string()),
                        Cell::num("divergences", dv, count(dv))
                            .class(dv.filter(|v| *v > 0.0).map(|_| "bad")),
                        Cell::num("e_bfmi", eb, ratio(eb))
                            .class(eb.filter(|v| *v < 0.3).map(|_| "warn")),
                        Cell::num("max_tree_depth_hits", td, count(td)),
                    ],
                )
            })
            .collect();
        if !chain_rows.is_empty() {
            body.push_str("<h3>Chains</h3>\n");
            body.push_str(&table(
                "table-chains",
                "chain",
                &["chain", "divergences", "E-BFMI", "max tree depth hits"],
                &chain_rows,
            ));
        }
        let rows: Vec<(String, Vec<Cell>)> = d
            .parameters
            .iter()
            .map(|(name, p)| {
                (
                    name.clone(),
                    vec![
                        Cell::text(name),
                        Cell::num("mean", p.mean, amount(p.mean)),
                        Cell::num("sd", p.sd, amount(p.sd)),
                        Cell::num("hdi_low", p.hdi_low, amount(p.hdi_low)),
                        Cell::num("hdi_high", p.hdi_high, amount(p.hdi_high)),
                        Cell::num("r_hat", p.r_hat, ratio(p.r_hat))
                            .class(p.r_hat.filter(|v| *v > 1.01).map(|_| "bad")),
                        Cell::num("ess_bulk", p.ess_bulk, count(p.ess_bulk))
                            .class(p.ess_bulk.filter(|v| *v < 400.0).map(|_| "warn")),
                        Cell::num("ess_tail", p.ess_tail, count(p.ess_tail))
                            .class(p.ess_tail.filter(|v| *v < 400.0).map(|_| "warn")),
                    ],
                )
            })
            .collect();
        if !rows.is_empty() {
            let hdi = interval_text(d.hdi_prob);
            body.push_str("<h3>Parameters</h3>\n");
            body.push_str(&table(
                "table-posterior",
                "parameter",
                &[
                    "parameter",
                    "mean",
                    "sd",
                    &format!("{hdi} HDI low"),
                    &format!("{hdi} HDI high"),
                    "R-hat",
                    "ESS bulk",
                    "ESS tail",
                ],
                &rows,
            ));
        }
    }
    if let Some(dr) = &input.draws {
        let channel_names: Vec<String> = r.channels.iter().map(|c| c.name.clone()).collect();
        let chosen = plotted_parameters(dr, &channel_names, 16);
        let chains: Vec<usize> = {
            let mut c = dr.chain.clone();
            c.sort_unstable();
            c.dedup();
            c
        };
        let mut traces = vec![];
        let mut densities = vec![];
        for &p in &chosen {
            let name = &dr.names[p];
            let vals = &dr.values[p];
            let finite = vals.iter().copied().filter(|v| v.is_finite());
            let lo = finite.clone().fold(f64::INFINITY, f64::min);
            let hi = finite.fold(f64::NEG_INFINITY, f64::max);
            let (lo, hi) = if lo.is_finite() && hi > lo {
                let pad = 0.05 * (hi - lo);
                (lo - pad, hi + pad)
            } else if lo.is_finite() {
                (lo - 0.5 * lo.abs().max(1e-9), lo + 0.5 * lo.abs().max(1e-9))
            } else {
                (0.0, 1.0)
            };
            let mut tp = Panel::new("", "");
            tp.title = Some(name.clone());
            tp.x_ticks = Ticks::Integer;
            tp.tick_size = 11;
            tp.legend = None;
            let mut dp = tp.clone();
            dp.x_ticks = Ticks::Compact;
            dp.y_zero = true;
            dp.x_range = Some((lo, hi));
            for (k, &c) in chains.iter().enumerate() {
                let series: Vec<f64> = vals
                    .iter()
                    .zip(&dr.chain)
                    .filter(|(_, ch)| **ch == c)
                    .map(|(v, _)| *v)
                    .collect();
                let label = format!("chain {c}");
                let mut l = Line::new(
                    Some(&label),
                    charts::color(k),
                    series
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (i as f64, *v))
                        .collect(),
                );
                l.width = 1;
                tp.lines.push(l);
                dp.lines.push(Line::new(
                    Some(&label),
                    charts::color(k),
                    kde(&series, lo, hi, 80),
                ));
            }
            traces.push(tp);
            densities.push(dp);
        }
        let shown = if chosen.len() < dr.names.len() {
            format!(
                " Showing {} of {} parameters (media parameters and sigma); every parameter is in draws.csv.",
                chosen.len(),
                dr.names.len()
            )
        } else {
            String::new()
        };
        let chain_legend = chains
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let col = charts::color(k);
                format!(
                    "<span style=\"color:rgb({},{},{})\">■</span> chain {c}",
                    col.0, col.1, col.2
                )
            })
            .collect::<Vec<_>>()
            .join(" &nbsp; ");
        if !chosen.is_empty() {
            body.push_str(&format!("<p>{chain_legend}</p>\n"));
            body.push_str(&figure(
                "chart-posterior",
                "Posterior densities",
                &format!("Kernel density of each parameter's draws, one line per chain.{shown}"),
                &charts::grid(&densities, 4, 200).map_err(chart_err("chart-posterior"))?,
            ));
            body.push_str(&figure(
                "chart-trace",
                "Trace plots",
                &format!("Each parameter's draws in sampling order, one line per chain.{shown}"),
                &charts::grid(&traces, 4, 200).map_err(chart_err("chart-trace"))?,
            ));
        }
    }
    Ok(Some(section("section-bayes", "Bayesian diagnostics", body)))
}

fn budget(input: &RunInput) -> Result<Option<Section>> {
    let r = &input.results;
    let Some(o) = &r.optimization else {
        return Ok(None);
    };
    let window = o.window.as_ref();
    let per = if window.is_some() { "window" } else { "period" };
    let mut body =
        match window {
            Some(w) => {
                lead(&format!(
            "The optimizer's plan for the window {} to {} ({} periods): each channel's total \
             spend over the window, against the reference window {} to {} as the \"current\" \
             plan, and the KPI each plan's spend brings — in the window and, through carry-over, \
             after it (carry-over into the window from earlier spend is the same for both and \
             left out). At the optimum the channels' marginal ROIs are equal (unless a bound \
             holds).",
            esc(&w.start),
            esc(&w.end),
            w.periods,
            esc(w.reference.get("start").and_then(|v| v.as_str()).unwrap_or("?")),
            esc(w.reference.get("end").and_then(|v| v.as_str()).unwrap_or("?")),
        ))
            }
            None => lead(
                "The optimizer's reallocation of the budget per period across channels, from the \
             response curves: how much each channel would get, and the media-driven KPI \
             expected over the data's length before and after. At the optimum the channels' \
             marginal ROIs are equal (unless a bound holds).",
            ),
        };
    body.push_str(&kpis(&[
        (
            "optimization.total_budget",
            if window.is_some() {
                "budget over the window"
            } else {
                "budget per period"
            },
            o.total_budget,
            amount(o.total_budget),
        ),
        (
            "optimization.expected_kpi_current",
            "expected KPI, current plan",
            o.expected_kpi_current,
            amount(o.expected_kpi_current),
        ),
        (
            "optimization.expected_kpi_optimal",
            "expected KPI, optimized plan",
            o.expected_kpi_optimal,
            amount(o.expected_kpi_optimal),
        ),
        (
            "optimization.lift_pct",
            "lift",
            o.lift_pct,
            pct(o.lift_pct, true),
        ),
    ]));
    if !o.channels.is_empty() {
        let b = Bars {
            categories: o.channels.iter().map(|c| c.name.clone()).collect(),
            groups: vec![
                BarGroup {
                    label: Some("current".into()),
                    color: charts::CONTROLS,
                    per_category: None,
                    values: o.channels.iter().map(|c| c.current_spend).collect(),
                    intervals: vec![],
                },
                BarGroup {
                    label: Some(format!("optimized ({})", o.objective)),
                    color: charts::color(0),
                    per_category: None,
                    values: o.channels.iter().map(|c| c.optimal_spend).collect(),
                    intervals: vec![],
                },
            ],
            x_desc: format!("spend per {per}"),
            value_text: amount,
            reference: None,
        };
        body.push_str(&figure(
            "chart-budget",
            "Budget before and after",
            &format!("Spend per {per} per channel: current plan and the optimizer's plan."),
            &charts::bars(&b).map_err(chart_err("chart-budget"))?,
        ));
        let rows: Vec<(String, Vec<Cell>)> = o
            .channels
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    vec![
                        Cell::text(&c.name),
                        Cell::num("current_spend", c.current_spend, amount(c.current_spend)),
                        Cell::num("optimal_spend", c.optimal_spend, amount(c.optimal_spend)),
                        Cell::num("change_pct", c.change_pct, pct(c.change_pct, true)),
                        Cell::num(
                            "expected_contribution",
                            c.expected_contribution,
                            amount(c.expected_contribution),
                        ),
                        Cell::num("mroi", c.mroi, ratio(c.mroi)),
                    ],
                )
            })
            .collect();
        body.push_str(&table(
            "table-budget",
            "channel",
            &[
                "channel",
                &format!("current / {per}"),
                &format!("optimized / {per}"),
                "change",
                "expected contribution",
                "marginal ROI at optimum",
            ],
            &rows,
        ));
    }
    if let Some(gp) = o.geo_plan.as_ref().filter(|g| !g.is_empty()) {
        body.push_str(&lead(
            "The optimizer allocated every channel's budget across geos as well (geo_allocation): \
             the table above holds each channel's national totals, this one the plan per channel \
             and geo. At the optimum the marginal ROIs of every channel in every geo are equal \
             (unless a bound holds).",
        ));
        let rows: Vec<(String, Vec<Cell>)> = gp
            .iter()
            .map(|c| {
                (
                    format!("{} / {}", c.channel, c.geo),
                    vec![
                        Cell::text(&c.channel),
                        Cell::text(&c.geo),
                        Cell::num("current_spend", c.current_spend, amount(c.current_spend)),
                        Cell::num("optimal_spend", c.optimal_spend, amount(c.optimal_spend)),
                        Cell::num("change_pct", c.change_pct, pct(c.change_pct, true)),
                        Cell::num(
                            "expected_contribution",
                            c.expected_contribution,
                            amount(c.expected_contribution),
                        ),
                        Cell::num("mroi", c.mroi, ratio(c.mroi)),
                    ],
                )
            })
            .collect();
        body.push_str(&table(
            "table-budget-geo",
            "pair",
            &[
                "channel",
                "geo",
                &format!("current / {per}"),
                &format!("optimized / {per}"),
                "change",
                "expected contribution",
                "marginal ROI at optimum",
            ],
            &rows,
        ));
    }
    if window.is_some() {
        let f = |c: &crate::input::PlanChannel| c.window.clone().unwrap_or_default();
        let rows: Vec<(String, Vec<Cell>)> = o
            .channels
            .iter()
            .map(|c| {
                let w = f(c);
                (
                    c.name.clone(),
                    vec![
                        Cell::text(&c.name),
                        Cell::num("window.plan.spend", w.plan.spend, amount(w.plan.spend)),
                        Cell::num(
                            "window.plan.contribution",
                            w.plan.contribution,
                            amount(w.plan.contribution),
                        ),
                        Cell::num(
                            "window.plan.carry_in",
                            w.plan.carry_in,
                            amount(w.plan.carry_in),
                        ),
                        Cell::num(
                            "window.plan.carry_out",
                            w.plan.carry_out,
                            amount(w.plan.carry_out),
                        ),
                        Cell::num(
                            "window.plan.incremental",
                            w.plan.incremental,
                            amount(w.plan.incremental),
                        ),
                        Cell::num("window.plan.roi", w.plan.roi, ratio(w.plan.roi)),
                        Cell::num(
                            "window.reference.incremental",
                            w.reference.incremental,
                            amount(w.reference.incremental),
                        ),
                        Cell::num(
                            "window.reference.roi",
                            w.reference.roi,
                            ratio(w.reference.roi),
                        ),
                    ],
                )
            })
            .collect();
        body.push_str(&table(
            "table-window",
            "channel",
            &[
                "channel",
                "spend",
                "KPI in window",
                "carry-over in",
                "carry-over out",
                "incremental KPI",
                "ROI",
                "reference: incremental KPI",
                "reference: ROI",
            ],
            &rows,
        ));
    }
    if let Some(sc) = o.scenarios.as_ref().filter(|s| !s.is_empty()) {
        let pts: Vec<(f64, f64)> = sc
            .iter()
            .filter_map(|s| Some((s.total_budget?, s.expected_kpi?)))
            .collect();
        let mut p = Panel::new("total budget per period", "expected KPI");
        p.legend = Some(SeriesLabelPosition::LowerRight);
        let mut l = Line::new(Some("optimized plan at each budget"), charts::color(0), pts);
        l.dots = 4;
        p.lines.push(l);
        if let Some(cur) = sc.iter().find(|s| s.level == Some(1.0)) {
            if let (Some(x), Some(y)) = (cur.total_budget, cur.expected_kpi) {
                p.markers.push(Marker {
                    label: Some("current budget".into()),
                    color: charts::ALERT,
                    at: (x, y),
                    text: None,
                    diamond: true,
                });
            }
        }
        body.push_str(&figure(
            "chart-scenarios",
            "Budget scenarios",
            "Expected media-driven KPI when each total budget is allocated optimally.",
            &charts::xy(&p, 340).map_err(chart_err("chart-scenarios"))?,
        ));
        let mut names: Vec<&String> = sc.iter().flat_map(|s| s.spend.keys()).collect();
        names.sort();
        names.dedup();
        // channels in results order where known
        let order: Vec<String> = o
            .channels
            .iter()
            .map(|c| c.name.clone())
            .filter(|n| names.contains(&n))
            .chain(
                names
                    .iter()
                    .filter(|n| !o.channels.iter().any(|c| &c.name == **n))
                    .map(|n| (*n).clone()),
            )
            .collect();
        let mut header: Vec<String> = vec![
            "level".into(),
            "total budget / period".into(),
            "expected KPI".into(),
            "ROI".into(),
        ];
        header.extend(order.iter().map(|n| format!("{n} / period")));
        let rows: Vec<(String, Vec<Cell>)> = sc
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let label = s
                    .level
                    .map(|l| pct_fraction(Some(l)))
                    .unwrap_or_else(|| (k + 1).to_string());
                let mut cells = vec![
                    Cell::num("level", s.level, label),
                    Cell::num("total_budget", s.total_budget, amount(s.total_budget)),
                    Cell::num("expected_kpi", s.expected_kpi, amount(s.expected_kpi)),
                    Cell::num("roi", s.roi, ratio(s.roi)),
                ];
                for n in &order {
                    let v = s.spend.get(n).copied().flatten();
                    cells.push(Cell::num(&format!("spend.{n}"), v, amount(v)));
                }
                (k.to_string(), cells)
            })
            .collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        body.push_str(&table("table-scenarios", "scenario", &header, &rows));
    }
    Ok(Some(section("section-budget", "Budget optimization", body)))
}

fn strategy_name(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string()),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// What the intervals of a tuned run mean, in a sentence (summary and tuning sections).
fn intervals_note(t: &crate::input::Tuning) -> String {
    let text = match (t.intervals.as_deref(), &t.uncertainty) {
        (Some("bootstrap_over_search"), Some(u)) => format!(
            "Intervals include the hyperparameter search: they are percentile intervals over {} \
             bootstrap resamples of the data, each with its own full search ({} failed).",
            count(u.get("resamples").and_then(Value::as_f64)),
            count(u.get("failed").and_then(Value::as_f64)),
        ),
        _ => "Intervals are conditional on the tuned hyperparameters: they treat the values \
              the search chose on this same data as if they were known in advance, so they are \
              too narrow. Add <code>\"uncertainty\": {\"bootstrap\": 200}</code> to the \
              <code>tuning</code> section for intervals that include the search."
            .to_string(),
    };
    format!("<p class=\"note\" data-note=\"intervals\">{text}</p>\n")
}

fn tuning(input: &RunInput) -> Result<Option<Section>> {
    let Some(t) = &input.results.tuning else {
        return Ok(None);
    };
    let mut body = lead(
        "The hyperparameter search. Each candidate sets the searched parameters, is fitted, and \
         is scored on every objective (lower is better). The Pareto front holds the candidates \
         no other beats on every objective at once; the report's other sections describe the \
         chosen candidate.",
    );
    body.push_str(&intervals_note(t));
    body.push_str(&kpis(&[
        (
            "tuning.evaluations",
            "evaluations",
            t.evaluations,
            count(t.evaluations),
        ),
        ("tuning.failed", "failed", t.failed, count(t.failed)),
        (
            "tuning.pareto",
            "on the Pareto front",
            Some(t.pareto.len() as f64),
            count(Some(t.pareto.len() as f64)),
        ),
    ]));
    body.push_str(&format!(
        "<p>Strategy <code>{}</code>; objectives {} measured on <code>{}</code>.</p>\n",
        esc(&strategy_name(&t.strategy)),
        t.objectives
            .iter()
            .map(|o| format!("<code>{}</code>", esc(o)))
            .collect::<Vec<_>>()
            .join(", "),
        esc(&strategy_name(&t.on))
    ));
    if t.objectives.len() >= 2 && !t.pareto.is_empty() {
        let (a, b) = (&t.objectives[0], &t.objectives[1]);
        let get = |c: &crate::input::Candidate| {
            Some((
                c.objectives.get(a).copied().flatten()?,
                c.objectives.get(b).copied().flatten()?,
            ))
        };
        let mut pts: Vec<(f64, f64)> = t.pareto.iter().filter_map(get).collect();
        pts.sort_by(|x, y| x.0.total_cmp(&y.0));
        let mut p = Panel::new(a, b);
        p.legend = Some(SeriesLabelPosition::UpperRight);
        let mut front = Line::new(None, charts::CONTROLS, pts.clone());
        front.dashed = true;
        front.width = 1;
        p.lines.push(front);
        p.lines.push(Line::scatter(
            Some("Pareto-optimal candidate"),
            charts::color(0),
            pts,
            5,
        ));
        if let Some(best) = t.best.as_ref().and_then(get) {
            p.markers.push(Marker {
                label: Some("chosen".into()),
                color: charts::ALERT,
                at: best,
                text: None,
                diamond: true,
            });
        }
        body.push_str(&figure(
            "chart-pareto",
            "Pareto front",
            &format!("Candidates no other beats on both {a} and {b}; lower is better on each."),
            &charts::xy(&p, 380).map_err(chart_err("chart-pareto"))?,
        ));
    }
    if let Some(best) = &t.best {
        let mut rows: Vec<(String, Vec<Cell>)> = best
            .objectives
            .iter()
            .map(|(k, v)| {
                (
                    format!("objective:{k}"),
                    vec![
                        Cell::text(&format!("objective {k}")),
                        Cell::num(k, *v, metric(*v)),
                        Cell::text(""),
                        Cell::text(""),
                    ],
                )
            })
            .collect();
        for (ptr, v) in &best.parameters {
            let space = t.search_space.iter().find(|s| &s.pointer == ptr);
            let range = space
                .map(|s| format!("[{}, {}]", amount(s.low), amount(s.high)))
                .unwrap_or_default();
            rows.push((
                ptr.clone(),
                vec![
                    Cell::text(ptr),
                    Cell::num(ptr, *v, amount(*v)),
                    Cell::text(&range),
                    Cell::text(if space.is_some_and(|s| s.log) {
                        "log"
                    } else {
                        "linear"
                    }),
                ],
            ));
        }
        body.push_str("<h3>Chosen candidate</h3>\n");
        body.push_str(&table(
            "table-tuning-best",
            "name",
            &[
                "parameter (JSON pointer)",
                "value",
                "searched range",
                "scale",
            ],
            &rows,
        ));
    }
    Ok(Some(section("section-tuning", "Tuning", body)))
}

/// Flattens `data_quality` into `(column, rule, count)` rows, whatever its nesting:
/// `{column: {rule: count}}`, `[{column, rule, count}]`, or `{rule: {column: count}}` with
/// an explicit `by_column` / `counts` key.
fn quality_rows(v: &Value) -> Vec<(String, String, Option<f64>, String)> {
    let mut out = vec![];
    fn walk(
        v: &Value,
        path: &mut Vec<String>,
        out: &mut Vec<(String, String, Option<f64>, String)>,
    ) {
        match v {
            Value::Object(o) => {
                let column = o.get("column").and_then(Value::as_str);
                let rule = o.get("rule").and_then(Value::as_str);
                let cnt = o.get("count").and_then(Value::as_f64);
                if let (Some(c), Some(r)) = (column, rule) {
                    let detail = o
                        .iter()
                        .filter(|(k, _)| !["column", "rule", "count"].contains(&k.as_str()))
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    out.push((c.to_string(), r.to_string(), cnt, detail));
                    return;
                }
                for (k, x) in o {
                    path.push(k.clone());
                    walk(x, path, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for x in a {
                    walk(x, path, out);
                }
            }
            Value::Number(n) => {
                let (col, rule) = match path.len() {
                    0 => (String::new(), String::new()),
                    1 => (path[0].clone(), String::new()),
                    k => (path[..k - 1].join(" / "), path[k - 1].clone()),
                };
                out.push((col, rule, n.as_f64(), String::new()));
            }
            other => {
                let (col, rule) = match path.len() {
                    0 => (String::new(), String::new()),
                    1 => (path[0].clone(), String::new()),
                    k => (path[..k - 1].join(" / "), path[k - 1].clone()),
                };
                out.push((col, rule, None, other.to_string()));
            }
        }
    }
    walk(v, &mut vec![], &mut out);
    out
}

fn data_quality(input: &RunInput) -> Option<Section> {
    let v = input.results.data_quality.as_ref()?;
    if v.is_null() {
        return None;
    }
    // mmm's own layout: a summary plus `changes[]`, one entry per column and rule
    let changes = v.get("changes").filter(|c| c.is_array()).unwrap_or(v);
    let rows: Vec<(String, Vec<Cell>)> = quality_rows(changes)
        .into_iter()
        .map(|(col, rule, n, detail)| {
            (
                format!("{col}:{rule}"),
                vec![
                    Cell::text(&col),
                    Cell::text(&rule),
                    Cell::num("count", n, count(n)),
                    Cell::text(&detail),
                ],
            )
        })
        .collect();
    let mut body = lead(
        "What the data cleaning changed, per column and rule (missing values filled, outliers \
         capped, negative spend clipped…). Cleaning only happens when the spec asks for it; \
         nothing is changed silently.",
    );
    if v.get("changes").is_some() {
        let text = |k: &str| {
            v.get(k)
                .map(|x| x.as_str().map_or(x.to_string(), str::to_string))
        };
        let mut facts = vec![];
        if let (Some(f), Some(n)) = (text("format"), text("rows_read")) {
            facts.push(format!("{f} format, {n} rows read"));
        }
        if let Some(c) = v.get("campaigns").and_then(Value::as_array) {
            facts.push(format!("{} campaigns", c.len()));
        }
        if let Some(g) = v.get("geos").and_then(Value::as_array) {
            facts.push(if input.results.geos.is_some() {
                format!(
                    "a panel of {} geos, fitted jointly (geo hierarchy; national figures are sums over geos)",
                    g.len()
                )
            } else {
                format!(
                    "a panel of {} geos, modeled as their national sums (controls: population-weighted means)",
                    g.len()
                )
            });
        }
        if let Some(a) = v.get("aggregate") {
            let g = |k: &str| a.get(k).map(|x| x.to_string()).unwrap_or_default();
            facts.push(format!(
                "summed into weeks: {} days used, {} days of {} partial weeks dropped",
                g("days_used"),
                g("days_dropped"),
                g("partial_weeks_dropped")
            ));
        }
        if let Some(p) = text("periods") {
            facts.push(format!("{p} periods modeled"));
        }
        if !facts.is_empty() {
            body.push_str(&format!("<p>{}.</p>\n", esc(&facts.join("; "))));
        }
    }
    if rows.is_empty() {
        body.push_str("<p>No changes.</p>\n");
    } else {
        body.push_str(&table(
            "table-data-quality",
            "check",
            &["column", "rule", "count", "detail"],
            &rows,
        ));
    }
    Some(section("section-data-quality", "Data quality", body))
}

/// The model review of a Bayesian run (results.json `review`), first in the report.
fn review(input: &RunInput) -> Option<Section> {
    let r = input.results.review.as_ref()?;
    let checks = r.get("checks")?.as_array()?;
    let overall = r.get("overall").and_then(Value::as_str).unwrap_or("");
    let mut body = lead(&format!(
        "Whether to trust this fit: each check is <strong>pass</strong>, <strong>review</strong> \
         (look at it before acting on the fit) or <strong>fail</strong>. Overall: \
         <strong id=\"review-overall\">{}</strong>.",
        esc(overall)
    ));
    let rows: Vec<(String, Vec<Cell>)> = checks
        .iter()
        .map(|c| {
            let get = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            (
                get("check"),
                vec![
                    Cell::text(&get("check").replace('_', " ")),
                    Cell::text(&get("status")),
                    Cell::text(&get("detail")),
                ],
            )
        })
        .collect();
    body.push_str(&table(
        "table-review",
        "check",
        &["check", "status", "what was found"],
        &rows,
    ));
    Some(section("section-review", "Model review", body))
}

/// `mmm refresh`'s section: the previous model's forecast of the new periods against the
/// actuals, the re-tuned parameters, and per channel how ROI moved, split into the new data and
/// re-tuning (from `refresh.json`).
fn refresh(input: &RunInput) -> Option<Section> {
    let r = input.refresh.as_ref()?;
    let num = |v: &serde_json::Value| v.as_f64();
    let fc = &r["forecast_check"];
    let mut body = lead(&format!(
        "This run refreshes the model <code>{}</code> (fitted on {} periods, {} to {}) with {} new periods ({} to {}). \
         First, how well the previous model forecast the new periods; then what the refit moved, per channel: the change due to \
         the new data (refit with the previous hyperparameters) and the change due to re-tuning. From <code>refresh.json</code>.",
        esc(r["previous"]["name"].as_str().unwrap_or("")),
        r["previous"]["periods"],
        esc(r["previous"]["start"].as_str().unwrap_or("")),
        esc(r["previous"]["end"].as_str().unwrap_or("")),
        r["data"]["new_periods"],
        esc(r["data"]["first_new"].as_str().unwrap_or("")),
        esc(r["data"]["last_new"].as_str().unwrap_or("")),
    ));
    let level = num(&fc["interval"]["level"]);
    body.push_str(&kpis(&[
        (
            "refresh.mape",
            "Previous model's MAPE on the new periods",
            num(&fc["mape"]),
            format!("{}%", format::fixed(num(&fc["mape"]), 2)),
        ),
        (
            "refresh.coverage",
            &format!(
                "Actuals inside its {} {} interval",
                interval_text(level),
                fc["interval"]["kind"].as_str().unwrap_or("")
            ),
            num(&fc["coverage"]),
            pct_fraction(num(&fc["coverage"])),
        ),
    ]));
    let periods: Vec<(String, Vec<Cell>)> = fc["by_period"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let d = p["date"].as_str().unwrap_or("").to_string();
            let covered = p["covered"].as_bool().unwrap_or(false);
            (
                d.clone(),
                vec![
                    Cell::text(&d),
                    Cell::num("actual", num(&p["actual"]), amount(num(&p["actual"]))),
                    Cell::num("expected", num(&p["expected"]), amount(num(&p["expected"]))),
                    Cell::num("low", num(&p["low"]), amount(num(&p["low"]))),
                    Cell::num("high", num(&p["high"]), amount(num(&p["high"]))),
                    Cell::text(if covered { "yes" } else { "no" })
                        .class((!covered).then_some("warn")),
                ],
            )
        })
        .collect();
    body.push_str(&table(
        "table-refresh-forecast",
        "date",
        &["Date", "Actual", "Forecast", "Low", "High", "Inside"],
        &periods,
    ));
    let params: Vec<(String, Vec<Cell>)> = r["parameters"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let k = p["pointer"].as_str().unwrap_or("").to_string();
            let range = format!(
                "[{}, {}]",
                format::fixed(num(&p["range"][0]), 4),
                format::fixed(num(&p["range"][1]), 4)
            );
            (
                k.clone(),
                vec![
                    Cell::text(&k),
                    Cell::num(
                        "previous",
                        num(&p["previous"]),
                        format::fixed(num(&p["previous"]), 4),
                    ),
                    Cell::text(&range),
                    Cell::num(
                        "refreshed",
                        num(&p["refreshed"]),
                        format::fixed(num(&p["refreshed"]), 4),
                    ),
                ],
            )
        })
        .collect();
    if !params.is_empty() {
        body.push_str(&lead(&format!(
            "Re-tuned within a neighbourhood of the previous values: ± {} of each original range's width, clipped to it.",
            format::fixed(num(&r["tuning"]["bounds_freedom"]), 2)
        )));
        body.push_str(&table(
            "table-refresh-parameters",
            "pointer",
            &["Parameter", "Previous", "Searched", "Refreshed"],
            &params,
        ));
    }
    let signed = |v: Option<f64>| match v {
        Some(x) if x >= 0.0 => format!("+{}", ratio(Some(x))),
        _ => ratio(v),
    };
    let channels: Vec<(String, Vec<Cell>)> = r["channels"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap_or("").to_string();
            let m = &c["roi"];
            let with_se = |k: &str, se: Option<f64>| match se {
                Some(e) => format!("{} ± {}", signed(num(&m[k])), format::fixed(Some(e), 4)),
                None => signed(num(&m[k])),
            };
            (
                name.clone(),
                vec![
                    Cell::text(&name),
                    Cell::num(
                        "roi_previous",
                        num(&m["previous"]),
                        ratio(num(&m["previous"])),
                    ),
                    Cell::num(
                        "roi_refreshed",
                        num(&m["refit_retuned"]),
                        ratio(num(&m["refit_retuned"])),
                    ),
                    Cell::num(
                        "roi_change",
                        num(&m["change_total"]),
                        signed(num(&m["change_total"])),
                    ),
                    Cell::num(
                        "roi_change_data",
                        num(&m["change_from_data"]),
                        with_se("change_from_data", num(&m["change_from_data_mcse"])),
                    ),
                    Cell::num(
                        "roi_change_tuning",
                        num(&m["change_from_retuning"]),
                        with_se("change_from_retuning", num(&m["change_from_retuning_mcse"])),
                    ),
                ],
            )
        })
        .collect();
    body.push_str(&table(
        "table-refresh-channels",
        "channel",
        &[
            "Channel",
            "ROI before",
            "ROI after",
            "Change",
            "Due to new data",
            "Due to re-tuning",
        ],
        &channels,
    ));
    Some(section("section-refresh", "Refresh", body))
}

fn warnings(input: &RunInput) -> Option<Section> {
    let r = &input.results;
    if r.warnings.is_empty() {
        return None;
    }
    let mut body = String::from("<ul class=\"warnings\">\n");
    for w in &r.warnings {
        body.push_str(&format!("<li>{}</li>\n", esc(w)));
    }
    body.push_str("</ul>\n");
    Some(section("section-warnings", "Warnings", body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_rows_read_nested_maps_and_lists() {
        let v = serde_json::json!({"tv": {"missing_zero": 3, "winsorize": 1}});
        let rows = quality_rows(&v);
        assert_eq!(rows[0].0, "tv");
        assert_eq!(rows[0].1, "missing_zero");
        assert_eq!(rows[0].2, Some(3.0));
        let v = serde_json::json!([{"column": "radio", "rule": "clip_to_zero", "count": 2}]);
        let rows = quality_rows(&v);
        assert_eq!(
            (rows[0].0.as_str(), rows[0].1.as_str(), rows[0].2),
            ("radio", "clip_to_zero", Some(2.0))
        );
    }

    #[test]
    fn kde_integrates_to_about_one() {
        let v: Vec<f64> = (0..500).map(|i| ((i * 37) % 101) as f64 / 100.0).collect();
        let d = kde(&v, -0.5, 1.5, 200);
        let step = 2.0 / 199.0;
        let area: f64 = d.iter().map(|p| p.1).sum::<f64>() * step;
        assert!((area - 1.0).abs() < 0.02, "{area}");
    }

    #[test]
    fn interpolation_between_points() {
        let p = [(0.0, 0.0), (2.0, 4.0)];
        assert_eq!(interpolate(&p, 1.0), Some(2.0));
        assert_eq!(interpolate(&p, 3.0), None);
    }
}
