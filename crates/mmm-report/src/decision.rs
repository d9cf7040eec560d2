//! The report's first screen: what to do, in sentences, and the per-channel figures it rests
//! on (spend share against effect share, ROI against marginal ROI), formatted for people.

use crate::format::{amount, esc, pct, pct_fraction, ratio};
use crate::input::RunInput;
use crate::page::{lead, table, Cell, Section};

/// Channels whose plan moves them by less than this (percent of current spend) are "keep".
const MOVE_THRESHOLD_PCT: f64 = 5.0;

/// The decision section: a recommendation in sentences from the budget optimization (when the
/// spec has one), with the lift's interval for Bayesian models ("the data cannot support a
/// reallocation" when it includes 0), and the table of spend share, effect share, ROI and
/// marginal ROI per channel. `None` without channels.
pub fn decision(input: &RunInput) -> Option<Section> {
    let r = &input.results;
    if r.channels.is_empty() {
        return None;
    }
    let total_spend: f64 = r.channels.iter().filter_map(|c| c.spend).sum();
    let mut body = String::new();
    let mut sentences: Vec<String> = Vec::new();
    match &r.optimization {
        Some(o) if !o.channels.is_empty() => {
            let unit = match &o.window {
                Some(w) => format!("over {} to {}", esc(&w.start), esc(&w.end)),
                None => "per period".to_string(),
            };
            let lift = o
                .details
                .as_ref()
                .and_then(|d| d.get("posterior_lift"))
                .filter(|v| v.is_object());
            let lo = lift
                .and_then(|l| l.get("lift_pct_low"))
                .and_then(|v| v.as_f64());
            let hi = lift
                .and_then(|l| l.get("lift_pct_high"))
                .and_then(|v| v.as_f64());
            let level = lift.and_then(|l| l.get("level")).and_then(|v| v.as_f64());
            let straddles = matches!((lo, hi), (Some(a), Some(b)) if a <= 0.0 && b >= 0.0);
            if straddles {
                sentences.push(format!(
                    "<strong>The data cannot support a reallocation:</strong> the plan's expected lift is {} but its {} interval, {} to {}, includes 0. Keep the current mix and gather more varied spend (or an experiment) before moving budget.",
                    pct(o.lift_pct, true),
                    interval_text(level),
                    pct(lo, true),
                    pct(hi, true)
                ));
            } else {
                let mut moves: Vec<String> = o
                    .channels
                    .iter()
                    .filter(|c| c.change_pct.is_some_and(|p| p.abs() >= MOVE_THRESHOLD_PCT))
                    .map(|c| {
                        let up = c.change_pct.unwrap_or(0.0) > 0.0;
                        format!(
                            "{} <strong>{}</strong> from {} to {} {unit} ({})",
                            if up { "raise" } else { "cut" },
                            esc(&c.name),
                            amount(c.current_spend),
                            amount(c.optimal_spend),
                            pct(c.change_pct, true)
                        )
                    })
                    .collect();
                if moves.is_empty() {
                    sentences.push(format!(
                        "The optimizer ({}) keeps every channel within {MOVE_THRESHOLD_PCT}% of its current spend: the current mix is close to its best.",
                        esc(&o.objective)
                    ));
                } else {
                    if let Some(first) = moves.first_mut() {
                        let mut c = first.chars();
                        if let Some(f) = c.next() {
                            *first = f.to_uppercase().collect::<String>() + c.as_str();
                        }
                    }
                    let interval = match (lo, hi) {
                        (Some(a), Some(b)) => format!(
                            " ({} interval {} to {})",
                            interval_text(level),
                            pct(Some(a), true),
                            pct(Some(b), true)
                        ),
                        _ => " (a point estimate: the model gives no interval for it)".into(),
                    };
                    let roi = |k: &str| {
                        o.details
                            .as_ref()
                            .and_then(|d| d.get(k))
                            .and_then(|v| v.as_f64())
                    };
                    let roi_text = match (roi("roi_current"), roi("roi_optimal")) {
                        (Some(a), Some(b)) => {
                            format!(
                                " Media ROI goes from {} to {}.",
                                ratio(Some(a)),
                                ratio(Some(b))
                            )
                        }
                        _ => String::new(),
                    };
                    let what = if o.window.is_some() {
                        "Expected KPI from the window's spend (carry-over after the window included)"
                    } else {
                        "Expected media-driven KPI over a period as long as the data"
                    };
                    sentences.push(format!(
                        "{}. {what}: {} instead of {}, a change of {}{interval}.{roi_text}",
                        moves.join("; "),
                        amount(o.expected_kpi_optimal),
                        amount(o.expected_kpi_current),
                        pct(o.lift_pct, true)
                    ));
                }
            }
            match &o.window {
                Some(w) => sentences.push(format!(
                    "The plan covers {} periods, {} to {}; \"current\" is the spend of the reference window {} to {} ({}), and each channel's total is spread over the periods {}. Carry-over from earlier spend into the window is left out of both plans' figures, and the effect their spend still has after the window is counted.",
                    w.periods,
                    esc(&w.start),
                    esc(&w.end),
                    esc(w.reference.get("start").and_then(|v| v.as_str()).unwrap_or("?")),
                    esc(w.reference.get("end").and_then(|v| v.as_str()).unwrap_or("?")),
                    esc(w.reference.get("source").and_then(|v| v.as_str()).unwrap_or("")),
                    if w.pattern == "flat" {
                        "evenly"
                    } else {
                        "as the reference window spread it"
                    }
                )),
                None => sentences.push(
                    "The plan compares steady spend per period (the data's mean spend as \"current\"); its expected KPI is the response at that steady spend, which differs from the media contribution measured over the data's actual, uneven spend.".into(),
                ),
            }
        }
        _ => {
            sentences.push(
                "The spec has no optimizer, so there is no plan to recommend; add an <code>optimizer</code> (docs/optimizers.md) to get one. The table shows where the next unit of spend earns most (marginal ROI).".into(),
            );
        }
    }
    // where the next unit of spend pays most and least
    let by_mroi: Vec<_> = r
        .channels
        .iter()
        .filter(|c| c.mroi.is_some_and(f64::is_finite))
        .collect();
    if let (Some(best), Some(worst)) = (
        by_mroi
            .iter()
            .max_by(|a, b| a.mroi.unwrap_or(0.0).total_cmp(&b.mroi.unwrap_or(0.0))),
        by_mroi
            .iter()
            .min_by(|a, b| a.mroi.unwrap_or(0.0).total_cmp(&b.mroi.unwrap_or(0.0))),
    ) {
        if best.name != worst.name {
            sentences.push(format!(
                "At current spend the next unit earns most in <strong>{}</strong> (marginal ROI {}) and least in <strong>{}</strong> ({}).",
                esc(&best.name),
                ratio(best.mroi),
                esc(&worst.name),
                ratio(worst.mroi)
            ));
        }
    }
    for s in &sentences {
        body.push_str(&format!("<p>{s}</p>\n"));
    }
    body.push_str(&lead(
        "Spend share against effect share: a channel whose effect share exceeds its spend share returns more than the average channel. ROI is the average return over the data; marginal ROI the return of the next unit of spend at current spend.",
    ));
    let rows: Vec<(String, Vec<Cell>)> = r
        .channels
        .iter()
        .map(|c| {
            let spend_share = c
                .spend
                .filter(|_| total_spend > 0.0)
                .map(|s| s / total_spend);
            (
                c.name.clone(),
                vec![
                    Cell::text(&c.name),
                    Cell::num("spend_share", spend_share, pct_fraction(spend_share)),
                    Cell::num("effect_share", c.share, pct_fraction(c.share)),
                    Cell::num("roi", c.roi, ratio(c.roi)),
                    Cell::num("mroi", c.mroi, ratio(c.mroi)),
                ],
            )
        })
        .collect();
    body.push_str(&table(
        "table-decision",
        "decision-channel",
        &[
            "channel",
            "spend share",
            "effect share",
            "ROI",
            "marginal ROI",
        ],
        &rows,
    ));
    body.push_str(&waterfall(input));
    Some(Section {
        id: "section-decision".into(),
        title: "Decision".into(),
        body,
    })
}

/// `94%` for a level of 0.94.
fn interval_text(level: Option<f64>) -> String {
    match level {
        Some(l) if l.is_finite() => format!("{}%", crate::format::fixed(Some(100.0 * l), 0)),
        _ => "credible".into(),
    }
}

/// The KPI over the data split into baseline, controls and each channel, as a waterfall: an
/// inline SVG (each part a bar from the running total before it to the one after) and a table
/// with each part's total, the running total and its share of the predicted KPI. Empty without
/// `decomposition.csv`.
fn waterfall(input: &RunInput) -> String {
    let groups = crate::run::decomposition_groups(input);
    if groups.is_empty() {
        return String::new();
    }
    let parts: Vec<(String, crate::charts::PlotColor, f64)> = groups
        .into_iter()
        .map(|(name, color, v)| (name, color, v.iter().filter(|x| x.is_finite()).sum()))
        .collect();
    let total: f64 = parts.iter().map(|p| p.2).sum();
    // running totals and the axis range
    let mut run = 0.0;
    let mut steps = Vec::new();
    for (name, color, v) in &parts {
        steps.push((name.clone(), *color, run, run + v, *v));
        run += v;
    }
    let lo = steps.iter().map(|s| s.2.min(s.3)).fold(0.0f64, f64::min);
    let hi = steps.iter().map(|s| s.2.max(s.3)).fold(0.0f64, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (w, label_w, row_h) = (720.0, 150.0, 24.0);
    let x = |v: f64| label_w + (v - lo) / span * (w - label_w - 110.0);
    let h = row_h * (steps.len() + 1) as f64 + 8.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let rows = steps
        .iter()
        .map(|(name, c, a, b, v)| (name.clone(), *c, *a, *b, *v))
        .chain(std::iter::once((
            "Predicted KPI".to_string(),
            crate::charts::MUTED,
            0.0,
            total,
            total,
        )));
    for (k, (name, c, a, b, v)) in rows.enumerate() {
        let y = 4.0 + row_h * k as f64;
        let (x0, x1) = (x(a.min(b)), x(a.max(b)));
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"rgb({},{},{})\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            label_w - 6.0,
            y + 15.0,
            esc(&name),
            y + 3.0,
            (x1 - x0).max(1.0),
            row_h - 6.0,
            c.0,
            c.1,
            c.2,
            x1 + 6.0,
            y + 15.0,
            esc(&amount(Some(v)))
        ));
    }
    svg.push_str("</svg>");
    let mut out = crate::page::figure(
        "chart-waterfall",
        "Where the KPI comes from",
        " — the predicted KPI over the data, built up from the baseline (intercept, trend, seasonality, holidays), the controls and each channel (decomposition.csv).",
        &svg,
    );
    let mut cum = 0.0;
    let mut table_rows: Vec<(String, Vec<Cell>)> = parts
        .iter()
        .map(|(name, _, v)| {
            cum += v;
            let share = (total != 0.0).then(|| v / total);
            (
                name.clone(),
                vec![
                    Cell::text(name),
                    Cell::num("total", Some(*v), amount(Some(*v))),
                    Cell::num("cumulative", Some(cum), amount(Some(cum))),
                    Cell::num("share", share, pct_fraction(share)),
                ],
            )
        })
        .collect();
    table_rows.push((
        "Predicted KPI".into(),
        vec![
            Cell::text("Predicted KPI"),
            Cell::num("total", Some(total), amount(Some(total))),
            Cell::num("cumulative", Some(total), amount(Some(total))),
            Cell::num("share", Some(1.0), pct_fraction(Some(1.0))),
        ],
    ));
    out.push_str(&table(
        "table-waterfall",
        "part",
        &[
            "part",
            "over the data",
            "running total",
            "share of predicted KPI",
        ],
        &table_rows,
    ));
    out
}
