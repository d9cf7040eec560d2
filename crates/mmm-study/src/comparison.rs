//! The comparison of a study's variants: `comparison.json` and `comparison.csv`.
//!
//! Metrics are read generically from each variant's serialized `results.json`: every number
//! under `fit` and `validation` (nested objects flattened with dots: `fit.r2`,
//! `validation.holdout.mape`), so that metrics added to the results appear here without code
//! changes. With a truth, each channel's ROI error is relative:
//!
//! ```text
//! roi_error_i                = (roi_i − true_roi_i) / |true_roi_i|
//! mean_abs_roi_error         = mean_i |roi_error_i|                     (criterion "relative")
//! mean_abs_roi_error_absolute = mean_i |roi_i − true_roi_i|             (criterion "absolute")
//! roi_error_spend_weighted   = Σ_i s_i·|roi_i − true_roi_i| / Σ_i s_i   (criterion "spend_weighted",
//!                              the default) = Σ_i |ĉ_i − c_i| / Σ_i s_i: the KPI misattributed
//!                              per unit of media spend
//! rank                       = 1 + position by the study's criterion (ties: study order); failed
//!                              variants and variants without an error are not ranked
//! ```
//! The means run over the channels with a truth. The relative error lets a channel with a small
//! true ROI and a sliver of the effect decide the ranking (an error of 0.1 on a true ROI of 0.2
//! counts as 50%); the spend-weighted one weighs each channel by the money it moves.

use mmm_core::error::{MmmError, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The comparison of a study's variants (one shard's, or all of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    /// The study's name.
    pub study: String,
    /// Number of variants in the whole study.
    pub variant_count: usize,
    /// The shard this comparison covers (absent for a whole study or a merge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::Shard>,
    /// Whether a truth was given (ROI errors and ranks are present).
    pub with_truth: bool,
    /// The criterion the ranks follow.
    #[serde(default)]
    pub ranking: Ranking,
    /// The variants, in study order.
    pub variants: Vec<VariantRow>,
}

/// One variant's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantRow {
    /// Position in the study (0-based).
    pub index: usize,
    /// Name.
    pub name: String,
    /// The overrides applied to the base spec.
    pub set: BTreeMap<String, Value>,
    /// `ok` or `failed`.
    pub status: String,
    /// Why the variant failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Rank by recovery (1 = best), with a truth.
    pub rank: Option<usize>,
    /// Mean absolute relative ROI error over the channels, with a truth.
    pub mean_abs_roi_error: Option<f64>,
    /// Mean absolute ROI error over the channels (KPI per unit of spend), with a truth.
    #[serde(default)]
    pub mean_abs_roi_error_absolute: Option<f64>,
    /// Spend-weighted absolute ROI error, `Σ s_i·|roi_i − true_roi_i| / Σ s_i`, with a truth.
    #[serde(default)]
    pub roi_error_spend_weighted: Option<f64>,
    /// Fit (and validation) metrics, flattened: `fit.r2`, `validation.…`.
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Per channel.
    pub channels: Vec<ChannelRow>,
}

/// One channel of one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRow {
    /// Channel name.
    pub name: String,
    /// Estimated ROI.
    pub roi: Option<f64>,
    /// Estimated contribution.
    pub contribution: Option<f64>,
    /// Spend over the data.
    #[serde(default)]
    pub spend: Option<f64>,
    /// True ROI, with a truth that has this channel.
    pub true_roi: Option<f64>,
    /// `(roi − true_roi) / |true_roi|`.
    pub roi_error: Option<f64>,
}

/// How a study ranks its variants by recovery (the study spec's `ranking`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Ranking {
    /// `Σ_i s_i·|roi_i − true_roi_i| / Σ_i s_i`: the KPI misattributed per unit of spend (default).
    #[default]
    SpendWeighted,
    /// `mean_i |roi_i − true_roi_i|`.
    Absolute,
    /// `mean_i |roi_i − true_roi_i| / |true_roi_i|`.
    Relative,
}

impl Ranking {
    /// The row's error under this criterion.
    pub fn error(self, row: &VariantRow) -> Option<f64> {
        match self {
            Ranking::SpendWeighted => row.roi_error_spend_weighted,
            Ranking::Absolute => row.mean_abs_roi_error_absolute,
            Ranking::Relative => row.mean_abs_roi_error,
        }
    }
    /// The criterion's name in the study file (`spend_weighted`, `absolute`, `relative`).
    pub fn name(self) -> &'static str {
        match self {
            Ranking::SpendWeighted => "spend_weighted",
            Ranking::Absolute => "absolute",
            Ranking::Relative => "relative",
        }
    }
    /// The criterion's column name in comparison.csv.
    pub fn column(self) -> &'static str {
        match self {
            Ranking::SpendWeighted => "roi_error_spend_weighted",
            Ranking::Absolute => "mean_abs_roi_error_absolute",
            Ranking::Relative => "mean_abs_roi_error",
        }
    }
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Option<f64>>) {
    match v {
        Value::Number(n) => {
            out.insert(prefix.to_string(), finite(n.as_f64()));
        }
        Value::Null => {
            out.insert(prefix.to_string(), None);
        }
        Value::Object(m) => {
            for (k, c) in m {
                flatten(&format!("{prefix}.{k}"), c, out);
            }
        }
        _ => {}
    }
}

/// A successful variant's row from its serialized results.
pub fn row_from_results(
    index: usize,
    name: &str,
    set: &BTreeMap<String, Value>,
    results: &Value,
    truth: Option<&BTreeMap<String, f64>>,
) -> VariantRow {
    let mut metrics = BTreeMap::new();
    for key in ["fit", "validation"] {
        if let Some(v) = results.get(key) {
            if v.is_object() {
                flatten(key, v, &mut metrics);
            }
        }
    }
    let channels = results
        .get("channels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|c| {
                    let name = c
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    let roi = finite(c.get("roi").and_then(Value::as_f64));
                    let contribution = finite(c.get("contribution").and_then(Value::as_f64));
                    let spend = finite(c.get("spend").and_then(Value::as_f64));
                    let true_roi = truth.and_then(|t| t.get(&name).copied());
                    let roi_error = match (roi, true_roi) {
                        (Some(r), Some(t)) if t != 0.0 => finite(Some((r - t) / t.abs())),
                        _ => None,
                    };
                    ChannelRow {
                        name,
                        roi,
                        contribution,
                        spend,
                        true_roi,
                        roi_error,
                    }
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let errors: Vec<f64> = channels
        .iter()
        .filter_map(|c| c.roi_error.map(f64::abs))
        .collect();
    let mean_abs_roi_error = (truth.is_some() && !errors.is_empty())
        .then(|| errors.iter().sum::<f64>() / errors.len() as f64);
    // absolute errors |roi − true_roi| with the channel's spend, over channels with a truth
    let absolute: Vec<(f64, f64)> = channels
        .iter()
        .filter_map(|c| match (c.roi, c.true_roi) {
            (Some(r), Some(t)) => Some(((r - t).abs(), c.spend.unwrap_or(0.0))),
            _ => None,
        })
        .collect();
    let mean_abs_roi_error_absolute = (truth.is_some() && !absolute.is_empty())
        .then(|| absolute.iter().map(|a| a.0).sum::<f64>() / absolute.len() as f64);
    let total_spend: f64 = absolute.iter().map(|a| a.1).sum();
    let roi_error_spend_weighted = (truth.is_some() && total_spend > 0.0)
        .then(|| absolute.iter().map(|(e, s)| e * s).sum::<f64>() / total_spend);
    VariantRow {
        index,
        name: name.to_string(),
        set: set.clone(),
        status: "ok".into(),
        error: None,
        rank: None,
        mean_abs_roi_error,
        mean_abs_roi_error_absolute,
        roi_error_spend_weighted,
        metrics,
        channels,
    }
}

/// A failed variant's row.
pub fn failed_row(
    index: usize,
    name: &str,
    set: &BTreeMap<String, Value>,
    error: &MmmError,
) -> VariantRow {
    VariantRow {
        index,
        name: name.to_string(),
        set: set.clone(),
        status: "failed".into(),
        error: Some(error.to_string()),
        rank: None,
        mean_abs_roi_error: None,
        mean_abs_roi_error_absolute: None,
        roi_error_spend_weighted: None,
        metrics: BTreeMap::new(),
        channels: Vec::new(),
    }
}

/// Sorts the rows into study order and ranks them by the criterion's error.
pub fn finalize(rows: &mut [VariantRow], ranking: Ranking) {
    rows.sort_by_key(|r| r.index);
    let mut ranked: Vec<(f64, usize)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == "ok")
        .filter_map(|(i, r)| ranking.error(r).map(|e| (e, i)))
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for r in rows.iter_mut() {
        r.rank = None;
    }
    for (k, (_, i)) in ranked.into_iter().enumerate() {
        rows[i].rank = Some(k + 1);
    }
}

fn cell(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

impl Comparison {
    /// `comparison.json` as text.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map(|s| s + "\n")
            .map_err(|e| MmmError::Compute(format!("serializing the comparison: {e}")))
    }

    /// `comparison.csv` as text: one row per variant; columns `index, name, status, rank,
    /// roi_error_spend_weighted, mean_abs_roi_error_absolute, mean_abs_roi_error`, every metric (sorted), then per channel (in order of first
    /// appearance) `roi.<c>`, `contribution.<c>`, and with a truth `true_roi.<c>`,
    /// `roi_error.<c>`; last `error`.
    pub fn to_csv(&self) -> Result<String> {
        let metrics: BTreeSet<&String> = self
            .variants
            .iter()
            .flat_map(|v| v.metrics.keys())
            .collect();
        let mut channels: Vec<&str> = Vec::new();
        for v in &self.variants {
            for c in &v.channels {
                if !channels.contains(&c.name.as_str()) {
                    channels.push(&c.name);
                }
            }
        }
        let mut header: Vec<String> = [
            "index",
            "name",
            "status",
            "rank",
            "roi_error_spend_weighted",
            "mean_abs_roi_error_absolute",
            "mean_abs_roi_error",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        header.extend(metrics.iter().map(|m| m.to_string()));
        for c in &channels {
            header.push(format!("roi.{c}"));
            header.push(format!("contribution.{c}"));
            if self.with_truth {
                header.push(format!("true_roi.{c}"));
                header.push(format!("roi_error.{c}"));
            }
        }
        header.push("error".into());
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| MmmError::Compute(format!("writing the comparison: {e}"));
        w.write_record(&header).map_err(err)?;
        for v in &self.variants {
            let mut row = vec![
                v.index.to_string(),
                v.name.clone(),
                v.status.clone(),
                v.rank.map(|r| r.to_string()).unwrap_or_default(),
                cell(v.roi_error_spend_weighted),
                cell(v.mean_abs_roi_error_absolute),
                cell(v.mean_abs_roi_error),
            ];
            row.extend(
                metrics
                    .iter()
                    .map(|m| cell(v.metrics.get(*m).copied().flatten())),
            );
            for c in &channels {
                let ch = v.channels.iter().find(|x| x.name == *c);
                row.push(cell(ch.and_then(|x| x.roi)));
                row.push(cell(ch.and_then(|x| x.contribution)));
                if self.with_truth {
                    row.push(cell(ch.and_then(|x| x.true_roi)));
                    row.push(cell(ch.and_then(|x| x.roi_error)));
                }
            }
            row.push(v.error.clone().unwrap_or_default());
            w.write_record(&row).map_err(err)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| MmmError::Compute(format!("writing the comparison: {e}")))?;
        String::from_utf8(bytes).map_err(|e| MmmError::Compute(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metrics_are_read_generically_and_errors_are_relative() {
        let results = json!({
            "fit": {"r2": 0.9, "brand_new_metric": 1.5, "mape": null},
            "validation": {"holdout": {"mape": 0.1, "folds": [1, 2]}, "scheme": "last_20"},
            "channels": [{"name": "tv", "roi": 2.2, "contribution": 22.0, "spend": 10.0},
                         {"name": "radio", "roi": 0.5, "contribution": 5.0, "spend": 30.0}]
        });
        let truth: BTreeMap<String, f64> =
            [("tv".to_string(), 2.0), ("radio".to_string(), -0.5)].into();
        let row = row_from_results(0, "v", &BTreeMap::new(), &results, Some(&truth));
        let keys: Vec<&str> = row.metrics.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            vec![
                "fit.brand_new_metric",
                "fit.mape",
                "fit.r2",
                "validation.holdout.mape"
            ]
        );
        assert_eq!(row.metrics["fit.mape"], None);
        let tv = &row.channels[0];
        assert!((tv.roi_error.unwrap() - 0.1).abs() < 1e-12);
        assert!((row.channels[1].roi_error.unwrap() - 2.0).abs() < 1e-12);
        assert!((row.mean_abs_roi_error.unwrap() - 1.05).abs() < 1e-12);
        // absolute: (0.2 + 1.0) / 2; spend-weighted: (10·0.2 + 30·1.0) / 40
        assert!((row.mean_abs_roi_error_absolute.unwrap() - 0.6).abs() < 1e-12);
        assert!((row.roi_error_spend_weighted.unwrap() - 0.8).abs() < 1e-12);
        let c = Comparison {
            study: "s".into(),
            variant_count: 1,
            shard: None,
            with_truth: true,
            ranking: Ranking::SpendWeighted,
            variants: vec![row],
        };
        let back: Comparison = serde_json::from_str(&c.to_json().unwrap()).unwrap();
        assert_eq!(
            back, c,
            "comparison.json round-trips exactly (merge relies on it)"
        );
        let csv = c.to_csv().unwrap();
        assert!(csv.starts_with(
            "index,name,status,rank,roi_error_spend_weighted,mean_abs_roi_error_absolute,mean_abs_roi_error,fit.brand_new_metric,"
        ));
    }

    /// The criteria can disagree: a variant that misses a small channel's ROI by a lot in
    /// relative terms but gets the big channels right ranks first by spend, last by relative
    /// error.
    #[test]
    fn the_criterion_decides_the_ranking() {
        let truth: BTreeMap<String, f64> =
            [("big".to_string(), 2.0), ("small".to_string(), 0.2)].into();
        let variant = |index: usize, big: f64, small: f64| {
            let results = json!({"channels": [
                {"name": "big", "roi": big, "contribution": big * 100.0, "spend": 100.0},
                {"name": "small", "roi": small, "contribution": small, "spend": 1.0}]});
            row_from_results(index, "v", &BTreeMap::new(), &results, Some(&truth))
        };
        // a: big exact, small off by 0.2 (100%); b: big off by 0.4 (20%), small exact
        let rows = vec![variant(0, 2.0, 0.4), variant(1, 2.4, 0.2)];
        let ranks = |ranking| {
            let mut r = rows.clone();
            finalize(&mut r, ranking);
            r.iter().map(|v| v.rank.unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(ranks(Ranking::SpendWeighted), vec![1, 2]);
        assert_eq!(ranks(Ranking::Relative), vec![2, 1]);
        assert_eq!(ranks(Ranking::Absolute), vec![1, 2]);
    }
}
