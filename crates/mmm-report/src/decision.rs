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
                            "{} <strong>{}</strong> from {} to {} per period ({})",
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
                    sentences.push(format!(
                        "{}. Expected media-driven KPI over a period as long as the data: {} instead of {}, a change of {}{interval}.{roi_text}",
                        moves.join("; "),
                        amount(o.expected_kpi_optimal),
                        amount(o.expected_kpi_current),
                        pct(o.lift_pct, true)
                    ));
                }
            }
            sentences.push(
                "The plan compares steady spend per period (the data's mean spend as \"current\"); its expected KPI is the response at that steady spend, which differs from the media contribution measured over the data's actual, uneven spend.".into(),
            );
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
