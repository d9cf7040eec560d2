//! Warnings about a fit that a methodologist should look at before trusting it (results.json
//! `warnings`, shown in the report). Each check is a pure function of the fitted figures, so
//! that its threshold is stated and tested in one place.
//!
//! | check | threshold | why |
//! |---|---|---|
//! | tuned parameter near its search bound | within 1% of the range's width (of the log range for log-scale ranges) | the optimum may lie outside the range: widen it |
//! | Durbin–Watson | below 1.5 or above 2.5 | autocorrelated residuals: intervals that assume independence are too narrow |
//! | baseline (intercept + trend) | negative in any period | the model explains more than the whole KPI by media and controls |
//! | media share of the KPI | above 80% | implausible for most businesses; often media absorbing the baseline |
//! | Bayesian ROI interval | width above 10 × the posterior mean ROI | the data barely inform the channel's ROI |

use mmm_core::search::SearchParam;

/// Share of a search range's width within which a tuned value counts as "at the bound".
pub const BOUND_TOLERANCE: f64 = 0.01;
/// Durbin–Watson below this warns (positive autocorrelation).
pub const DW_LOW: f64 = 1.5;
/// Durbin–Watson above this warns (negative autocorrelation).
pub const DW_HIGH: f64 = 2.5;
/// Media share of the KPI above which the fit is flagged.
pub const MEDIA_SHARE_MAX: f64 = 0.8;
/// A Bayesian ROI interval wider than this multiple of its mean is flagged.
pub const ROI_INTERVAL_RATIO_MAX: f64 = 10.0;

/// Tuned parameters within [`BOUND_TOLERANCE`] of their search range's ends:
/// `min(v − low, high − v) < 0.01·(high − low)` (on `ln` values for log-scale ranges).
pub fn tuned_at_bound(space: &[SearchParam], chosen: &[(String, f64)]) -> Vec<String> {
    let mut out = Vec::new();
    for p in space {
        let Some((_, v)) = chosen.iter().find(|(k, _)| *k == p.pointer) else {
            continue;
        };
        let (lo, hi, x) = if p.log && p.low > 0.0 && *v > 0.0 {
            (p.low.ln(), p.high.ln(), v.ln())
        } else {
            (p.low, p.high, *v)
        };
        let width = hi - lo;
        if width.is_nan() || width <= 0.0 {
            continue;
        }
        let side = if x - lo < BOUND_TOLERANCE * width {
            Some(("lower", p.low))
        } else if hi - x < BOUND_TOLERANCE * width {
            Some(("upper", p.high))
        } else {
            None
        };
        if let Some((end, bound)) = side {
            out.push(format!(
                "the tuned value of {} ({v}) is within 1% of its search range's {end} end ({bound}): the best value may lie outside the range; widen it and tune again",
                p.pointer
            ));
        }
    }
    out
}

/// Durbin–Watson outside [[`DW_LOW`], [`DW_HIGH`]].
pub fn durbin_watson(dw: f64) -> Option<String> {
    if dw.is_finite() && !(DW_LOW..=DW_HIGH).contains(&dw) {
        let kind = if dw < DW_LOW { "positive" } else { "negative" };
        Some(format!(
            "the residuals' Durbin–Watson statistic is {dw:.2} (outside [1.5, 2.5]): {kind} autocorrelation, so intervals that assume independent errors are too narrow; consider more baseline terms (trend, seasonality, holidays) or a model of the errors"
        ))
    } else {
        None
    }
}

/// The baseline `b_t = β₀ + β_trend·trend_t` negative in some period: how many and the lowest.
pub fn negative_baseline(baseline: &[f64]) -> Option<String> {
    let negative = baseline.iter().filter(|b| **b < 0.0).count();
    (negative > 0).then(|| {
        let min = baseline.iter().copied().fold(f64::INFINITY, f64::min);
        format!(
            "the baseline (intercept plus trend) is negative in {negative} of {} periods (lowest {min:.4}): media and controls explain more than the whole KPI there; check the media priors or penalties and the trend",
            baseline.len()
        )
    })
}

/// Media contributions over the summed KPI, `Σ_i c_i / Σ_t y_t`, above [`MEDIA_SHARE_MAX`].
pub fn media_share(media_contribution: f64, kpi_total: f64) -> Option<String> {
    let share = media_contribution / kpi_total;
    (kpi_total > 0.0 && share > MEDIA_SHARE_MAX).then(|| {
        format!(
            "media explain {:.1}% of the KPI (more than 80%): implausible for most businesses, and often media absorbing the baseline; check the baseline terms and the media priors or penalties",
            100.0 * share
        )
    })
}

/// A channel's ROI interval `[lo, hi]` wider than [`ROI_INTERVAL_RATIO_MAX`] × its mean `roi`.
pub fn wide_roi_interval(channel: &str, roi: f64, lo: f64, hi: f64) -> Option<String> {
    let width = hi - lo;
    (roi.abs() > 0.0 && width > ROI_INTERVAL_RATIO_MAX * roi.abs()).then(|| {
        format!(
            "channel '{channel}': the ROI interval [{lo:.4}, {hi:.4}] is {:.0} times its mean ({roi:.4}) wide: the data barely inform this channel's ROI, which is mostly the prior's",
            width / roi.abs()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(pointer: &str, low: f64, high: f64, log: bool) -> SearchParam {
        SearchParam {
            pointer: pointer.into(),
            low,
            high,
            log,
            target: Default::default(),
        }
    }

    #[test]
    fn bound_checks_use_one_percent_of_the_range() {
        let space = [
            param("/a", 0.0, 1.0, false),
            param("/b", 0.0, 1.0, false),
            param("/c", 1.0, 1e4, true),
            param("/d", 1.0, 1e4, true),
        ];
        let chosen = vec![
            ("/a".to_string(), 0.995),  // upper: 0.005 < 0.01
            ("/b".to_string(), 0.5),    // interior
            ("/c".to_string(), 1.2),    // interior on the log scale: ln 1.2 = 0.18 > 0.092
            ("/d".to_string(), 9500.0), // upper on the log scale: ln(1e4/9500) = 0.051 < 0.092
        ];
        let w = tuned_at_bound(&space, &chosen);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("/a") && w[0].contains("upper"));
        assert!(w[1].contains("/d") && w[1].contains("upper"));
        let w = tuned_at_bound(&space, &[("/c".to_string(), 1.08)]);
        assert!(w[0].contains("lower"), "{w:?}"); // ln 1.08 = 0.077 < 0.092
    }

    #[test]
    fn durbin_watson_outside_the_band_warns() {
        assert!(durbin_watson(1.49).unwrap().contains("positive"));
        assert!(durbin_watson(2.51).unwrap().contains("negative"));
        assert!(durbin_watson(1.5).is_none());
        assert!(durbin_watson(2.0).is_none());
        assert!(durbin_watson(f64::NAN).is_none());
    }

    #[test]
    fn a_negative_baseline_is_counted() {
        assert!(negative_baseline(&[1.0, 2.0]).is_none());
        let w = negative_baseline(&[1.0, -2.0, -0.5]).unwrap();
        assert!(w.contains("2 of 3") && w.contains("-2.0000"), "{w}");
    }

    #[test]
    fn media_share_above_80_percent_warns() {
        assert!(media_share(79.0, 100.0).is_none());
        assert!(media_share(81.0, 100.0).unwrap().contains("81.0%"));
        assert!(media_share(5.0, 0.0).is_none());
    }

    #[test]
    fn roi_interval_wider_than_ten_means_warns() {
        assert!(wide_roi_interval("tv", 1.0, 0.5, 10.4).is_none());
        assert!(wide_roi_interval("tv", 1.0, 0.02, 10.5)
            .unwrap()
            .contains("'tv'"));
    }
}
