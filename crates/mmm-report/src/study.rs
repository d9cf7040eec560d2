//! The report of a study: the comparison table and, with a truth, the recovery chart.

use crate::charts::{self, BarGroup, Bars};
use crate::format::{amount, count, esc, metric, pct_fraction, ratio};
use crate::input::Comparison;
use crate::page::{figure, lead, table, Cell, Section};
use mmm_core::{MmmError, Result};

/// Section ids of a study report, in page order.
pub const STUDY_SECTIONS: &[&str] = &["section-study", "section-recovery"];

/// Channel names over all variants, in first-seen order.
fn channel_names(c: &Comparison) -> Vec<String> {
    let mut names: Vec<String> = vec![];
    for v in &c.variants {
        for ch in &v.channels {
            if !names.contains(&ch.name) {
                names.push(ch.name.clone());
            }
        }
    }
    names
}

/// The subtitle of a study report.
pub fn subtitle(c: &Comparison) -> String {
    let ok = c.variants.iter().filter(|v| v.status == "ok").count();
    format!(
        "Study of {} variants ({} ran){}",
        c.variants.len(),
        ok,
        if c.with_truth {
            " · compared with the simulation's known truth"
        } else {
            ""
        }
    )
}

/// Builds the sections of a study's report.
pub fn sections(c: &Comparison) -> Result<Vec<Section>> {
    let names = channel_names(c);
    let mut variants: Vec<_> = c.variants.iter().collect();
    // ranked variants first (by rank), then the others in study order
    variants.sort_by(|a, b| match (a.rank, b.rank) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.index.cmp(&b.index),
    });
    let mut header: Vec<String> = vec![
        "variant".into(),
        "status".into(),
        "rank".into(),
        "ROI error, spend-weighted".into(),
        "mean |ROI error|".into(),
        "mean |relative ROI error|".into(),
        "R²".into(),
        "NRMSE".into(),
        "MAPE".into(),
    ];
    header.extend(names.iter().map(|n| format!("ROI {n}")));
    let rows: Vec<(String, Vec<Cell>)> = variants
        .iter()
        .map(|v| {
            let m = |k: &str| v.metrics.get(k).copied().flatten();
            let mut cells = vec![
                Cell::text(&v.name),
                Cell::text(&v.status).class((v.status != "ok").then_some("bad")),
                Cell::num("rank", v.rank, count(v.rank)),
                Cell::num(
                    "roi_error_spend_weighted",
                    v.roi_error_spend_weighted,
                    ratio(v.roi_error_spend_weighted),
                ),
                Cell::num(
                    "mean_abs_roi_error_absolute",
                    v.mean_abs_roi_error_absolute,
                    ratio(v.mean_abs_roi_error_absolute),
                ),
                Cell::num(
                    "mean_abs_roi_error",
                    v.mean_abs_roi_error,
                    pct_fraction(v.mean_abs_roi_error),
                ),
                Cell::num("fit.r2", m("fit.r2"), metric(m("fit.r2"))),
                Cell::num("fit.nrmse", m("fit.nrmse"), metric(m("fit.nrmse"))),
                Cell::num("fit.mape", m("fit.mape"), pct_fraction(m("fit.mape"))),
            ];
            for n in &names {
                let ch = v.channels.iter().find(|c| &c.name == n);
                let roi = ch.and_then(|c| c.roi);
                let shown = match ch.and_then(|c| c.true_roi) {
                    Some(t) => format!("{} (true {})", ratio(roi), ratio(Some(t))),
                    None => ratio(roi),
                };
                cells.push(Cell::num(&format!("roi.{n}"), roi, shown));
            }
            (v.name.clone(), cells)
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let criterion = match c.ranking.as_deref() {
        Some("absolute") => "mean absolute ROI error (each channel counts the same)",
        Some("relative") => {
            "mean absolute relative ROI error (a small channel counts as much as a big one)"
        }
        _ => {
            "spend-weighted ROI error, Σ spend·|ROI − true ROI| / Σ spend: the KPI \
             misattributed per unit of media spend"
        }
    };
    let mut body = lead(&format!(
        "Every variant of the study side by side: fit, and each channel's estimated ROI. With a \
         known truth (a simulation), variants are ranked by their {criterion}: the smaller, the \
         better the variant recovers what really drove the KPI."
    ));
    body.push_str(&table("table-study", "variant", &header, &rows));
    let failed: Vec<_> = c
        .variants
        .iter()
        .filter_map(|v| v.error.as_ref().map(|e| (v, e)))
        .collect();
    if !failed.is_empty() {
        body.push_str("<h3>Failed variants</h3>\n<ul class=\"warnings\">\n");
        for (v, e) in failed {
            body.push_str(&format!(
                "<li><strong>{}</strong>: {}</li>\n",
                esc(&v.name),
                esc(e)
            ));
        }
        body.push_str("</ul>\n");
    }
    let mut out = vec![Section {
        id: "section-study".into(),
        title: "Comparison".into(),
        body,
    }];
    let ok: Vec<_> = variants.iter().filter(|v| !v.channels.is_empty()).collect();
    if !ok.is_empty() && !names.is_empty() {
        let (desc, title, caption, text): (_, _, _, fn(Option<f64>) -> String) = if c.with_truth {
            (
                    "relative ROI error: (estimated − true) / true",
                    "ROI recovery",
                    "Relative ROI error (estimated − true) / true per variant and channel; 0% is perfect recovery, negative values underestimate.",
                    pct_fraction,
                )
        } else {
            (
                "estimated ROI",
                "ROI per variant",
                "Estimated ROI per variant and channel.",
                ratio,
            )
        };
        let svg = if c.with_truth {
            let h = charts::Heatmap {
                rows: ok.iter().map(|v| v.name.clone()).collect(),
                cols: names.clone(),
                values: ok
                    .iter()
                    .map(|v| {
                        names
                            .iter()
                            .map(|n| v.channels.iter().find(|c| &c.name == n)?.roi_error)
                            .collect()
                    })
                    .collect(),
                cap: 1.0,
                text: pct_fraction,
                legend: "|relative ROI error|: 0% (white) to 100% or more (red)".into(),
            };
            charts::heatmap(&h)
        } else {
            let groups = names
                .iter()
                .enumerate()
                .map(|(i, n)| BarGroup {
                    label: Some(n.clone()),
                    color: charts::color(i),
                    per_category: None,
                    values: ok
                        .iter()
                        .map(|v| v.channels.iter().find(|c| &c.name == n)?.roi)
                        .collect(),
                    intervals: vec![],
                })
                .collect();
            charts::bars(&Bars {
                categories: ok.iter().map(|v| v.name.clone()).collect(),
                groups,
                x_desc: desc.into(),
                value_text: text,
                reference: Some((1.0, "ROI = 1".into())),
            })
        }
        .map_err(|e| MmmError::Compute(format!("drawing chart 'chart-recovery': {e}")))?;
        let mut body = lead(if c.with_truth {
            "How far each variant's ROI estimate is from the truth, per channel. Variants are in \
             rank order (best first)."
        } else {
            "Each variant's ROI estimate per channel. Without a truth the study cannot say which \
             is right; large disagreements show which channels the data cannot pin down."
        });
        body.push_str(&figure("chart-recovery", title, caption, &svg));
        let rows: Vec<(String, Vec<Cell>)> = ok
            .iter()
            .flat_map(|v| {
                v.channels.iter().map(move |ch| {
                    (
                        format!("{}/{}", v.name, ch.name),
                        vec![
                            Cell::text(&v.name),
                            Cell::text(&ch.name),
                            Cell::num("roi", ch.roi, ratio(ch.roi)),
                            Cell::num("true_roi", ch.true_roi, ratio(ch.true_roi)),
                            Cell::num("roi_error", ch.roi_error, pct_fraction(ch.roi_error)),
                            Cell::num("contribution", ch.contribution, amount(ch.contribution)),
                        ],
                    )
                })
            })
            .collect();
        body.push_str(&table(
            "table-recovery",
            "variant-channel",
            &[
                "variant",
                "channel",
                "ROI",
                "true ROI",
                "ROI error",
                "contribution",
            ],
            &rows,
        ));
        out.push(Section {
            id: "section-recovery".into(),
            title: title.into(),
            body,
        });
    }
    Ok(out)
}
