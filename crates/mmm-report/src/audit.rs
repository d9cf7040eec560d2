//! The audit section of a run's report, from `audit.json` of `mmm audit` (see
//! `docs/audit.md`): the verdict, per-channel bias and coverage bars, the pairs the data cannot
//! tell apart and the distribution of the reallocation's realised lift. It comes first in the
//! page when the verdict is weak.

use crate::charts::{self, BarGroup, Bars};
use crate::format::{esc, fixed, pct_fraction};
use crate::page::{figure, lead, table, Cell, Section};
use mmm_core::{MmmError, Result};
use serde_json::Value;
use std::path::Path;

/// File name of the audit's results.
pub const AUDIT_FILE: &str = "audit.json";

fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// The audit section of `dir` (with whether the verdict is weak), when `dir/audit.json`
/// exists and holds a whole audit's summary.
pub fn read_section(dir: &Path) -> Result<Option<(Section, bool)>> {
    let path = dir.join(AUDIT_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| MmmError::io(&path, e))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| MmmError::data(&path, None, None, format!("does not parse: {e}")))?;
    Ok(section(&v)?.map(|s| {
        let weak = v["summary"]["verdict"] != "identified";
        (s, weak)
    }))
}

/// The audit section of an `audit.json` value (none for a shard's file).
pub fn section(v: &Value) -> Result<Option<Section>> {
    let s = &v["summary"];
    if !s.is_object() {
        return Ok(None);
    }
    let err = |e: String| MmmError::Compute(format!("drawing the audit chart: {e}"));
    let level = f(&v["interval_level"]).unwrap_or(0.95);
    let channels = s["channels"].as_array().cloned().unwrap_or_default();
    let names: Vec<String> = channels
        .iter()
        .map(|c| c["name"].as_str().unwrap_or("").to_string())
        .collect();
    let mut body = String::new();
    let verdict = s["verdict"].as_str().unwrap_or("");
    body.push_str(&lead(&format!(
        "If the fitted model were the truth, would this spec recover it? {} replicate data sets were simulated from the fit (real spend, controls and dates; block-bootstrapped residuals) and refitted. Verdict: <strong>{}</strong>{}. The audit assumes the model's form and cannot detect confounders the model omits (docs/audit.md).",
        s["n_ok"].as_u64().unwrap_or(0) + s["n_failed"].as_u64().unwrap_or(0),
        esc(verdict),
        match s["n_failed"].as_u64() {
            Some(n) if n > 0 => format!(" ({n} replicates failed to fit)"),
            _ => String::new(),
        }
    )));
    let rows: Vec<(String, Vec<Cell>)> = channels
        .iter()
        .map(|c| {
            let r = &c["roi"];
            let class = match c["verdict"].as_str() {
                Some("identified") => None,
                Some("weakly identified") => Some("warn"),
                _ => Some("bad"),
            };
            (
                c["name"].as_str().unwrap_or("").to_string(),
                vec![
                    Cell::text(c["name"].as_str().unwrap_or("")),
                    Cell::num("truth_roi", f(&r["truth"]), fixed(f(&r["truth"]), 3)),
                    Cell::num("mean_roi", f(&r["mean"]), fixed(f(&r["mean"]), 3)),
                    Cell::num(
                        "relative_bias",
                        f(&r["relative_bias"]),
                        pct_fraction(f(&r["relative_bias"])),
                    ),
                    Cell::num(
                        "relative_sd",
                        f(&r["relative_sd"]),
                        pct_fraction(f(&r["relative_sd"])),
                    ),
                    Cell::num(
                        "coverage",
                        f(&r["coverage"]),
                        f(&r["coverage"]).map_or("—".into(), |x| pct_fraction(Some(x))),
                    ),
                    Cell::text(c["verdict"].as_str().unwrap_or("")).class(class),
                ],
            )
        })
        .collect();
    body.push_str(&table(
        "table-audit",
        "channel",
        &[
            "channel",
            "true ROI",
            "mean ROI",
            "relative bias",
            "relative spread",
            "coverage",
            "verdict",
        ],
        &rows,
    ));
    if let Some(truths) = v["truths"].as_array().filter(|t| !t.is_empty()) {
        let ranges: Vec<String> = channels
            .iter()
            .map(|c| {
                let t = &c["truth_roi"];
                format!(
                    "{} {} – {}",
                    esc(c["name"].as_str().unwrap_or("")),
                    fixed(f(&t["min"]), 3),
                    fixed(f(&t["max"]), 3)
                )
            })
            .collect();
        body.push_str(&format!(
            "<p>This is a Bayesian model: {} posterior draws served as alternative truths, replicate r simulated from draw r mod {} and scored against it (true ROI above is the mean of the replicates' truths; bias, spread and coverage are against each replicate's own truth). The truths' own ROIs — the posterior's uncertainty — range: {}.</p>",
            truths.len(),
            truths.len(),
            ranges.join("; ")
        ));
    }
    let bias = Bars {
        categories: names.clone(),
        groups: vec![BarGroup {
            label: None,
            color: charts::color(0),
            per_category: None,
            values: channels
                .iter()
                .map(|c| f(&c["roi"]["relative_bias"]))
                .collect(),
            intervals: channels
                .iter()
                .map(|c| {
                    let (b, sd) = (f(&c["roi"]["relative_bias"])?, f(&c["roi"]["relative_sd"])?);
                    Some((b - 2.0 * sd, b + 2.0 * sd))
                })
                .collect(),
        }],
        x_desc: "ROI bias relative to the truth (bar) ± 2 sd of the estimates".into(),
        value_text: pct_fraction,
        reference: Some((0.0, "no bias".into())),
    };
    body.push_str(&figure(
        "chart-audit-bias",
        "ROI bias and spread per channel",
        " — mean estimate minus truth over the replicates, relative to the channel's scale; the whisker is ±2 sd of the estimates.",
        &charts::bars(&bias).map_err(err)?,
    ));
    if channels.iter().any(|c| c["roi"]["coverage"].is_number()) {
        let cov = Bars {
            categories: names.clone(),
            groups: vec![BarGroup {
                label: None,
                color: charts::color(1),
                per_category: None,
                values: channels.iter().map(|c| f(&c["roi"]["coverage"])).collect(),
                intervals: vec![None; channels.len()],
            }],
            x_desc: "share of replicates whose reported interval holds the true ROI".into(),
            value_text: pct_fraction,
            reference: Some((level, format!("nominal {}", pct_fraction(Some(level))))),
        };
        body.push_str(&figure(
            "chart-audit-coverage",
            "Coverage of the reported ROI intervals",
            " — at their nominal level (dashed); well below it, the intervals are too narrow.",
            &charts::bars(&cov).map_err(err)?,
        ));
    }
    if let Some(pairs) = s["pairs"].as_array().filter(|p| !p.is_empty()) {
        body.push_str("<p>Not separately identified (their ROI estimates trade off across replicates):</p>\n<ul>\n");
        for p in pairs {
            body.push_str(&format!(
                "<li data-pair=\"{a}|{b}\"><strong>{a}</strong> and <strong>{b}</strong>: correlation {r}; their combined ROI is {v}.</li>\n",
                a = esc(p["a"].as_str().unwrap_or("")),
                b = esc(p["b"].as_str().unwrap_or("")),
                r = fixed(f(&p["correlation"]), 2),
                v = esc(p["combined_verdict"].as_str().unwrap_or(""))
            ));
        }
        body.push_str("</ul>\n");
    }
    let d = &s["decision"];
    if d.is_object() {
        body.push_str(&format!(
            "<p id=\"audit-decision\" data-supported=\"{}\">Reallocation: {}. Realised lift under the truth: median {}, 5–95 % {} to {} (the refits predicted {} on average).</p>\n",
            d["supported"].as_bool().unwrap_or(false),
            esc(d["message"].as_str().unwrap_or("")),
            fixed(f(&d["lift_pct_median"]), 2) + " %",
            fixed(f(&d["lift_pct_q05"]), 2) + " %",
            fixed(f(&d["lift_pct_q95"]), 2) + " %",
            fixed(f(&d["predicted_lift_pct_mean"]), 2) + " %",
        ));
        let lifts: Vec<f64> = v["replicates"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| f(&r["decision"]["realised_lift_pct"]))
                    .filter(|x| x.is_finite())
                    .collect()
            })
            .unwrap_or_default();
        if lifts.len() >= 2 {
            let lo = lifts.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = lifts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let bins = 10usize;
            let w = ((hi - lo) / bins as f64).max(1e-12);
            let mut counts = vec![0usize; bins];
            for x in &lifts {
                counts[(((x - lo) / w) as usize).min(bins - 1)] += 1;
            }
            let hist = Bars {
                categories: (0..bins)
                    .map(|k| {
                        format!(
                            "{:.2} … {:.2} %",
                            lo + k as f64 * w,
                            lo + (k + 1) as f64 * w
                        )
                    })
                    .collect(),
                groups: vec![BarGroup {
                    label: None,
                    color: charts::color(2),
                    per_category: None,
                    values: counts.iter().map(|c| Some(*c as f64)).collect(),
                    intervals: vec![None; bins],
                }],
                x_desc: "replicates".into(),
                value_text: |v| v.map_or(String::new(), |x| format!("{x:.0}")),
                reference: None,
            };
            body.push_str(&figure(
                "chart-audit-lift",
                "Realised lift of the recommended reallocation",
                " — per replicate, the KPI change under the truth when the refit's plan replaces the current spend.",
                &charts::bars(&hist).map_err(err)?,
            ));
        }
        if let Some(moves) = d["moves"].as_array() {
            let rows: Vec<(String, Vec<Cell>)> = moves
                .iter()
                .map(|m| {
                    let name = m["name"].as_str().unwrap_or("").to_string();
                    (
                        name.clone(),
                        vec![
                            Cell::text(&name),
                            Cell::num(
                                "share_up",
                                f(&m["share_up"]),
                                pct_fraction(f(&m["share_up"])),
                            ),
                            Cell::num(
                                "share_down",
                                f(&m["share_down"]),
                                pct_fraction(f(&m["share_down"])),
                            ),
                            Cell::text(if m["stable"].as_bool() == Some(true) {
                                "stable"
                            } else {
                                "not stable"
                            }),
                        ],
                    )
                })
                .collect();
            body.push_str(&table(
                "table-audit-moves",
                "channel",
                &[
                    "channel",
                    "replicates: more spend",
                    "less spend",
                    "direction",
                ],
                &rows,
            ));
        }
    }
    Ok(Some(Section {
        id: "section-audit".into(),
        title: "Audit: can this model recover what it reports?".into(),
        body,
    }))
}
