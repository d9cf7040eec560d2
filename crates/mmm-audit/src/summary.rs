//! The audit's scores: per channel bias, spread and coverage against the truth, a verdict,
//! the pairs of channels that trade off, and the decision's robustness. Thresholds are the
//! constants below (documented in `docs/audit.md`).

use crate::{Audit, ReplicateRow};
use serde::{Deserialize, Serialize};

/// A channel is *identified* when `|relative bias| ≤ IDENTIFIED_BIAS`, …
pub const IDENTIFIED_BIAS: f64 = 0.15;
/// … its relative spread `sd / scale ≤ IDENTIFIED_SPREAD`, …
pub const IDENTIFIED_SPREAD: f64 = 0.25;
/// … and, when the model reports intervals, their coverage is at least the nominal level
/// minus `COVERAGE_SLACK`.
pub const COVERAGE_SLACK: f64 = 0.10;
/// A channel is *not identified* when `|relative bias| > NOT_IDENTIFIED_BIAS` or …
pub const NOT_IDENTIFIED_BIAS: f64 = 0.5;
/// … its relative spread exceeds `NOT_IDENTIFIED_SPREAD` (a ±2 sd band wider than ±100 % of
/// the scale: not even the sign is established); otherwise *weakly identified*.
pub const NOT_IDENTIFIED_SPREAD: f64 = 0.5;
/// Two channels are *not separately identified* when the correlation of their ROI estimates
/// across replicates is at most this.
pub const TRADE_OFF_CORRELATION: f64 = -0.7;
/// The scale of a relative error is `max(|truth|, SCALE_FLOOR · mean_k |truth_k|)`, so that a
/// channel with a true ROI near 0 is judged against the channels' typical ROI.
pub const SCALE_FLOOR: f64 = 0.25;
/// A recommended reallocation is *supported* when it raises the KPI under the truth in at
/// least this share of replicates; a channel's move is *stable* when it goes the same way
/// (up or down by more than `MOVE_TOLERANCE` of current spend) in at least this share.
pub const STABLE_SHARE: f64 = 0.9;
/// Relative change of a channel's spend below which it counts as unchanged.
pub const MOVE_TOLERANCE: f64 = 0.01;

/// Scores of one quantity (ROI, contribution or mROI) of one channel.
///
/// With several truths (a Bayesian model's posterior draws), every replicate `r` is scored
/// against its own truth `θ*_r`: `truth` is `mean_r θ*_r`, `bias = mean_r (θ̂_r − θ*_r)`,
/// `sd` the standard deviation of the errors `θ̂_r − θ*_r`, `rmse = √(mean_r (θ̂_r − θ*_r)²)`,
/// `coverage` the share of intervals holding their own replicate's truth; `mean`, `q05` and
/// `q95` are of the estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSummary {
    /// The true value.
    pub truth: f64,
    /// Mean of the estimates over the replicates that fitted.
    pub mean: f64,
    /// `mean − truth`.
    pub bias: f64,
    /// `bias / scale`.
    pub relative_bias: f64,
    /// Standard deviation of the estimates (n − 1).
    pub sd: f64,
    /// `sd / scale`.
    pub relative_sd: f64,
    /// Root mean squared error against the truth.
    pub rmse: f64,
    /// 5 % quantile of the estimates.
    pub q05: f64,
    /// 95 % quantile of the estimates.
    pub q95: f64,
    /// Share of the reported intervals that hold the truth (absent when the model reports
    /// none).
    pub coverage: Option<f64>,
    /// The scale relative errors are measured in.
    pub scale: f64,
}

/// One channel's scores and verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelAudit {
    /// Channel name.
    pub name: String,
    /// ROI against the truth (the verdict is on it).
    pub roi: MetricSummary,
    /// Contribution against the truth.
    pub contribution: MetricSummary,
    /// Marginal ROI against the truth.
    pub mroi: MetricSummary,
    /// With several truths: the spread of the truths' own ROIs (the posterior's uncertainty,
    /// which the replicates' errors do not include); absent with a single truth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truth_roi: Option<Spread>,
    /// `identified`, `weakly identified` or `not identified`.
    pub verdict: String,
    /// Why (which thresholds failed).
    pub reasons: Vec<String>,
}

/// Mean, standard deviation (n − 1) and range of a few values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spread {
    /// Number of values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Standard deviation (n − 1).
    pub sd: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

fn spread(v: &[f64]) -> Spread {
    Spread {
        n: v.len(),
        mean: mean(v),
        sd: sd(v),
        min: v.iter().copied().fold(f64::INFINITY, f64::min),
        max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// Two channels whose estimates trade off across replicates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairAudit {
    /// First channel.
    pub a: String,
    /// Second channel.
    pub b: String,
    /// Correlation of their ROI estimates across replicates.
    pub correlation: f64,
    /// Their combined ROI `(c_a + c_b) / (s_a + s_b)` against the truth.
    pub combined_roi: MetricSummary,
    /// Verdict on the combined ROI (same thresholds as a channel's).
    pub combined_verdict: String,
}

/// One channel's recommended move across replicates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveAudit {
    /// Channel name.
    pub name: String,
    /// Share of replicates recommending more spend.
    pub share_up: f64,
    /// Share recommending less.
    pub share_down: f64,
    /// Whether one direction reaches [`STABLE_SHARE`].
    pub stable: bool,
}

/// The decision's robustness (when the spec has an optimizer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionAudit {
    /// Replicates with a recommendation.
    pub n: usize,
    /// Share of them whose recommendation raises the KPI under the truth.
    pub share_raising_kpi: f64,
    /// Realised lift under the truth, percent: mean.
    pub lift_pct_mean: f64,
    /// 5 % quantile.
    pub lift_pct_q05: f64,
    /// Median.
    pub lift_pct_median: f64,
    /// 95 % quantile.
    pub lift_pct_q95: f64,
    /// The lift the refits predicted, percent: mean (compare with the realised lift).
    pub predicted_lift_pct_mean: f64,
    /// Per channel: direction of the recommended move.
    pub moves: Vec<MoveAudit>,
    /// Whether the share raising the KPI reaches [`STABLE_SHARE`].
    pub supported: bool,
    /// One sentence for the reader.
    pub message: String,
}

/// The scores of a whole audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSummary {
    /// Replicates that fitted.
    pub n_ok: usize,
    /// Replicates that failed.
    pub n_failed: usize,
    /// `identified` when every channel is identified (and any reallocation is supported),
    /// `weak` otherwise.
    pub verdict: String,
    /// Per channel.
    pub channels: Vec<ChannelAudit>,
    /// Pairs of channels not separately identified.
    pub pairs: Vec<PairAudit>,
    /// Decision robustness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionAudit>,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return f64::NAN;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Quantile by linear interpolation between order statistics (type 7).
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let h = (s.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let mut sab = 0.0;
    let mut saa = 0.0;
    let mut sbb = 0.0;
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        return 0.0;
    }
    sab / (saa * sbb).sqrt()
}

/// Scores estimates `v` against `truth`, with the intervals `ci` (one per estimate, where
/// reported) and the scale floor `floor`.
fn metric(truth: f64, v: &[f64], ci: &[Option<(f64, f64)>], floor: f64) -> MetricSummary {
    let m = mean(v);
    let s = sd(v);
    let scale = truth.abs().max(floor);
    let scale = if scale > 0.0 { scale } else { 1.0 };
    let rmse = (v.iter().map(|x| (x - truth) * (x - truth)).sum::<f64>() / v.len() as f64).sqrt();
    let reported: Vec<(f64, f64)> = ci.iter().flatten().copied().collect();
    let coverage = (!reported.is_empty() && reported.len() == v.len()).then(|| {
        reported
            .iter()
            .filter(|(lo, hi)| *lo <= truth && truth <= *hi)
            .count() as f64
            / reported.len() as f64
    });
    MetricSummary {
        truth,
        mean: m,
        bias: m - truth,
        relative_bias: (m - truth) / scale,
        sd: s,
        relative_sd: s / scale,
        rmse,
        q05: quantile(v, 0.05),
        q95: quantile(v, 0.95),
        coverage,
        scale,
    }
}

/// Scores estimates `v` against each replicate's own truth `truths[r]` (see
/// [`MetricSummary`]), with the intervals `ci` and the scale floor `floor`; the scale is
/// `max(|mean_r θ*_r|, floor)`.
fn metric_own(truths: &[f64], v: &[f64], ci: &[Option<(f64, f64)>], floor: f64) -> MetricSummary {
    let truth = mean(truths);
    let errors: Vec<f64> = v.iter().zip(truths).map(|(x, t)| x - t).collect();
    let bias = mean(&errors);
    let s = sd(&errors);
    let scale = truth.abs().max(floor);
    let scale = if scale > 0.0 { scale } else { 1.0 };
    let rmse = (errors.iter().map(|e| e * e).sum::<f64>() / v.len() as f64).sqrt();
    let reported = ci.iter().flatten().count();
    let coverage = (reported > 0 && reported == v.len()).then(|| {
        ci.iter()
            .zip(truths)
            .filter(|(c, t)| c.is_some_and(|(lo, hi)| lo <= **t && **t <= hi))
            .count() as f64
            / reported as f64
    });
    MetricSummary {
        truth,
        mean: mean(v),
        bias,
        relative_bias: bias / scale,
        sd: s,
        relative_sd: s / scale,
        rmse,
        q05: quantile(v, 0.05),
        q95: quantile(v, 0.95),
        coverage,
        scale,
    }
}

/// The verdict on one quantity's scores at interval level `level`, with its reasons.
pub fn verdict(m: &MetricSummary, level: f64) -> (String, Vec<String>) {
    let mut reasons = Vec::new();
    let b = m.relative_bias.abs();
    let s = m.relative_sd;
    if !(b.is_finite() && s.is_finite()) {
        return (
            "not identified".into(),
            vec!["too few replicates fitted".into()],
        );
    }
    if b > IDENTIFIED_BIAS {
        reasons.push(format!(
            "relative bias {:.0} % exceeds {:.0} %",
            100.0 * m.relative_bias,
            100.0 * IDENTIFIED_BIAS
        ));
    }
    if s > IDENTIFIED_SPREAD {
        reasons.push(format!(
            "relative spread (sd) {:.0} % exceeds {:.0} %",
            100.0 * s,
            100.0 * IDENTIFIED_SPREAD
        ));
    }
    let undercovers = m.coverage.is_some_and(|c| c < level - COVERAGE_SLACK);
    if let Some(c) = m.coverage.filter(|_| undercovers) {
        reasons.push(format!(
            "intervals cover the truth in {:.0} % of replicates, nominal {:.0} %",
            100.0 * c,
            100.0 * level
        ));
    }
    let v = if b > NOT_IDENTIFIED_BIAS || s > NOT_IDENTIFIED_SPREAD {
        "not identified"
    } else if reasons.is_empty() {
        "identified"
    } else {
        "weakly identified"
    };
    (v.into(), reasons)
}

/// Scores an audit from its replicates.
pub fn summarize(audit: &Audit) -> AuditSummary {
    let ok: Vec<&ReplicateRow> = audit
        .replicates
        .iter()
        .filter(|r| r.status == "ok")
        .collect();
    let n_failed = audit.replicates.len() - ok.len();
    let level = audit.interval_level;
    let floor_of = |f: &dyn Fn(&crate::TruthChannel) -> f64| {
        SCALE_FLOOR * audit.truth.iter().map(|t| f(t).abs()).sum::<f64>()
            / audit.truth.len().max(1) as f64
    };
    let roi_floor = floor_of(&|t| t.roi);
    let contribution_floor = floor_of(&|t| t.contribution);
    let mroi_floor = floor_of(&|t| t.mroi);
    let col = |k: usize, f: &dyn Fn(&crate::ReplicateChannel) -> f64| -> Vec<f64> {
        ok.iter().map(|r| f(&r.channels[k])).collect()
    };
    let cis = |k: usize,
               f: &dyn Fn(&crate::ReplicateChannel) -> Option<(f64, f64)>|
     -> Vec<Option<(f64, f64)>> { ok.iter().map(|r| f(&r.channels[k])).collect() };
    // with several truths, replicate r's truth of channel k (else None: the single truth)
    let multi = !audit.truths.is_empty();
    let own = |k: usize, f: &dyn Fn(&crate::TruthChannel) -> f64| -> Vec<f64> {
        ok.iter()
            .map(|r| {
                let t = r.truth.and_then(|i| audit.truths.get(i));
                t.map_or(f64::NAN, |t| f(&t.channels[k]))
            })
            .collect()
    };
    let score = |k: usize,
                 f: &dyn Fn(&crate::TruthChannel) -> f64,
                 v: &[f64],
                 ci: &[Option<(f64, f64)>],
                 floor: f64| {
        if multi {
            metric_own(&own(k, f), v, ci, floor)
        } else {
            metric(f(&audit.truth[k]), v, ci, floor)
        }
    };
    let mut channels = Vec::new();
    let mut rois = Vec::new();
    for (k, t) in audit.truth.iter().enumerate() {
        let roi_v = col(k, &|c| c.roi);
        let roi = score(k, &|t| t.roi, &roi_v, &cis(k, &|c| c.roi_ci), roi_floor);
        let contribution = score(
            k,
            &|t| t.contribution,
            &col(k, &|c| c.contribution),
            &cis(k, &|c| c.contribution_ci),
            contribution_floor,
        );
        let mroi = score(
            k,
            &|t| t.mroi,
            &col(k, &|c| c.mroi),
            &cis(k, &|c| c.mroi_ci),
            mroi_floor,
        );
        let (v, reasons) = verdict(&roi, level);
        let truth_roi = multi.then(|| {
            spread(
                &audit
                    .truths
                    .iter()
                    .map(|t| t.channels[k].roi)
                    .collect::<Vec<_>>(),
            )
        });
        channels.push(ChannelAudit {
            name: t.name.clone(),
            roi,
            contribution,
            mroi,
            truth_roi,
            verdict: v,
            reasons,
        });
        rois.push(roi_v);
    }
    let mut pairs = Vec::new();
    for a in 0..audit.truth.len() {
        for b in a + 1..audit.truth.len() {
            let r = correlation(&rois[a], &rois[b]);
            if r > TRADE_OFF_CORRELATION || !r.is_finite() {
                continue;
            }
            let (ta, tb) = (&audit.truth[a], &audit.truth[b]);
            let spend = ta.spend + tb.spend;
            let combined: Vec<f64> = ok
                .iter()
                .map(|row| (row.channels[a].contribution + row.channels[b].contribution) / spend)
                .collect();
            let none = vec![None; combined.len()];
            let m = if multi {
                let truths: Vec<f64> = own(a, &|t| t.contribution)
                    .iter()
                    .zip(own(b, &|t| t.contribution))
                    .map(|(ca, cb)| (ca + cb) / spend)
                    .collect();
                metric_own(&truths, &combined, &none, roi_floor)
            } else {
                let truth = (ta.contribution + tb.contribution) / spend;
                metric(truth, &combined, &none, roi_floor)
            };
            let (v, _) = verdict(&m, level);
            pairs.push(PairAudit {
                a: ta.name.clone(),
                b: tb.name.clone(),
                correlation: r,
                combined_roi: m,
                combined_verdict: v,
            });
        }
    }
    let decisions: Vec<&crate::ReplicateDecision> =
        ok.iter().filter_map(|r| r.decision.as_ref()).collect();
    let decision = (!decisions.is_empty()).then(|| {
        let lifts: Vec<f64> = decisions.iter().map(|d| d.realised_lift_pct).collect();
        let raising =
            decisions.iter().filter(|d| d.realised_lift > 0.0).count() as f64 / decisions.len() as f64;
        let moves: Vec<MoveAudit> = audit
            .truth
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let current = t.current_spend;
                let (mut up, mut down) = (0usize, 0usize);
                for d in &decisions {
                    let change = d.optimal_spend[k] - current;
                    let tol = MOVE_TOLERANCE * current.abs().max(f64::MIN_POSITIVE);
                    if change > tol {
                        up += 1;
                    } else if change < -tol {
                        down += 1;
                    }
                }
                let n = decisions.len() as f64;
                let (share_up, share_down) = (up as f64 / n, down as f64 / n);
                MoveAudit {
                    name: t.name.clone(),
                    share_up,
                    share_down,
                    stable: share_up >= STABLE_SHARE || share_down >= STABLE_SHARE,
                }
            })
            .collect();
        let supported = raising >= STABLE_SHARE;
        let message = if supported {
            format!(
                "the recommended reallocation raises the KPI under the truth in {:.0} % of replicates",
                100.0 * raising
            )
        } else {
            format!(
                "the data cannot support a reallocation: the recommendation raises the KPI under the truth in only {:.0} % of replicates",
                100.0 * raising
            )
        };
        DecisionAudit {
            n: decisions.len(),
            share_raising_kpi: raising,
            lift_pct_mean: mean(&lifts),
            lift_pct_q05: quantile(&lifts, 0.05),
            lift_pct_median: quantile(&lifts, 0.5),
            lift_pct_q95: quantile(&lifts, 0.95),
            predicted_lift_pct_mean: mean(
                &decisions.iter().map(|d| d.predicted_lift_pct).collect::<Vec<_>>(),
            ),
            moves,
            supported,
            message,
        }
    });
    let weak = channels.iter().any(|c| c.verdict != "identified")
        || decision.as_ref().is_some_and(|d| !d.supported);
    AuditSummary {
        n_ok: ok.len(),
        n_failed,
        verdict: if weak { "weak" } else { "identified" }.into(),
        channels,
        pairs,
        decision,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditOptions, AuditTruth, ReplicateChannel, TruthChannel};

    fn truth(roi: f64) -> TruthChannel {
        TruthChannel {
            name: "tv".into(),
            spend: 100.0,
            contribution: 100.0 * roi,
            roi,
            mroi: roi / 2.0,
            current_spend: 1.0,
        }
    }

    /// Two truths with ROI 1 and 3, replicates alternating between them and each estimating
    /// its own truth exactly with an interval ±0.1 around it: scored against its own truth,
    /// bias and error spread are 0 and coverage 100 %; scored against the mean truth (2), the
    /// coverage would be 0 and the spread 1.07. One truth: the old scoring, unchanged.
    #[test]
    fn each_replicate_is_scored_against_its_own_truth() {
        let rows: Vec<ReplicateRow> = (0..6)
            .map(|r| {
                let roi = if r % 2 == 0 { 1.0 } else { 3.0 };
                ReplicateRow {
                    index: r,
                    seed: r as u64,
                    truth: Some(r % 2),
                    status: "ok".into(),
                    error: None,
                    channels: vec![ReplicateChannel {
                        name: "tv".into(),
                        roi,
                        roi_ci: Some((roi - 0.1, roi + 0.1)),
                        contribution: 100.0 * roi,
                        contribution_ci: None,
                        mroi: roi / 2.0,
                        mroi_ci: None,
                    }],
                    decision: None,
                }
            })
            .collect();
        let mut audit = Audit {
            schema_version: "x".into(),
            name: "t".into(),
            options: AuditOptions {
                replicates: 6,
                seed: 1,
                block_length: 2,
            },
            shard: None,
            interval_level: 0.95,
            model: "bayesian_linear".into(),
            truth: vec![truth(2.0)],
            truths: vec![
                AuditTruth {
                    draw: 3,
                    channels: vec![truth(1.0)],
                },
                AuditTruth {
                    draw: 9,
                    channels: vec![truth(3.0)],
                },
            ],
            truth_lift_pct: None,
            summary: None,
            replicates: rows,
        };
        let s = summarize(&audit);
        let c = &s.channels[0];
        assert_eq!(c.roi.truth, 2.0);
        assert_eq!(c.roi.bias, 0.0);
        assert_eq!(c.roi.sd, 0.0);
        assert_eq!(c.roi.rmse, 0.0);
        assert_eq!(c.roi.coverage, Some(1.0));
        assert_eq!(c.contribution.bias, 0.0);
        assert_eq!(c.mroi.bias, 0.0);
        assert_eq!(c.verdict, "identified");
        let t = c.truth_roi.as_ref().unwrap();
        assert_eq!((t.n, t.mean, t.min, t.max), (2, 2.0, 1.0, 3.0));
        assert!((t.sd - 2f64.sqrt()).abs() < 1e-15);

        // the same estimates against the single mean truth: no interval holds it
        audit.truths.clear();
        audit.replicates.iter_mut().for_each(|r| r.truth = None);
        let s = summarize(&audit);
        let c = &s.channels[0];
        assert_eq!(c.roi.coverage, Some(0.0));
        assert!((c.roi.sd - (6.0f64 / 5.0).sqrt()).abs() < 1e-12);
        assert!(c.truth_roi.is_none());
        assert_eq!(c.verdict, "not identified");
    }
}
