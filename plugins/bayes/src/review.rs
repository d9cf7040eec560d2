//! The model review of a Bayesian fit (in the spirit of Meridian's `ModelReviewer`): a short list
//! of checks, each `pass`, `review` or `fail` with the figure behind it and the rule applied.
//!
//! | check | pass | review | fail |
//! |---|---|---|---|
//! | convergence | R-hat ≤ 1.01, bulk ESS ≥ 400, no divergence | R-hat ≤ 1.05, divergences ≤ 0.1% of draws | otherwise |
//! | negative baseline | the posterior-mean baseline is never < 0 | < 0 in ≤ 5% of periods | more |
//! | media share | media's share of the KPI ≤ 60% | ≤ 85% | more |
//! | ROI | every channel's 94% HDI of ROI spans < 2 orders of magnitude | some span more | — |
//! | prior-posterior shift | every media parameter contracts by ≥ 10% | some contract less (the data barely inform them: the posterior is the prior) | — |
//! | posterior predictive | every p-value in [0.05, 0.95] | in [0.01, 0.99] | outside |
//! | PSIS-LOO | every Pareto k ≤ the threshold `min(1 − 1/log10 S, 0.7)` | every k ≤ 1 | some k > 1 |
//!
//! The thresholds are rules of thumb (Vehtari et al. 2021 for R-hat and ESS, Vehtari et al.
//! 2024 for k, Meridian's reviewer for baseline and predictive fit); `review` means "look at this
//! before acting on the fit", not that the fit is wrong.

use serde::Serialize;
use serde_json::{json, Value};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing to look at.
    Pass,
    /// Look at it before acting on the fit.
    Review,
    /// The fit should not be used as it is.
    Fail,
}

/// One check of the review.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// The check's name.
    pub check: &'static str,
    /// Its outcome.
    pub status: Status,
    /// What was found, in words, with the figures.
    pub detail: String,
    /// The figures.
    pub values: Value,
}

/// What the review looks at.
#[derive(Debug, Clone)]
pub struct ReviewInput<'a> {
    /// Largest R-hat.
    pub max_r_hat: f64,
    /// Smallest bulk ESS.
    pub min_ess_bulk: f64,
    /// Divergent transitions after warm-up.
    pub divergences: usize,
    /// Total draws.
    pub draws: usize,
    /// Posterior-mean baseline (KPI minus media) per period.
    pub baseline: &'a [f64],
    /// Total KPI.
    pub total_kpi: f64,
    /// Posterior-mean media contribution per channel, with the channel's name.
    pub media: &'a [(String, f64)],
    /// Per channel: name, ROI 94% HDI.
    pub roi_hdi: &'a [(String, f64, f64)],
    /// Media parameters whose contraction is below 10%: name and contraction.
    pub weak: &'a [(String, f64)],
    /// Posterior predictive p-values by statistic.
    pub ppc: &'a [(&'static str, f64)],
    /// Largest Pareto k, the threshold, and the count above it.
    pub pareto: (f64, f64, usize),
}

/// Runs every check; the overall status is the worst.
pub fn review(r: &ReviewInput<'_>) -> Value {
    let mut checks = Vec::new();
    let conv = if r.max_r_hat <= 1.01 && r.min_ess_bulk >= 400.0 && r.divergences == 0 {
        Status::Pass
    } else if r.max_r_hat <= 1.05 && (r.divergences as f64) <= 0.001 * r.draws as f64 {
        Status::Review
    } else {
        Status::Fail
    };
    checks.push(Check {
        check: "convergence",
        status: conv,
        detail: format!(
            "max R-hat {:.3}, min bulk ESS {:.0}, {} divergences in {} draws",
            r.max_r_hat, r.min_ess_bulk, r.divergences, r.draws
        ),
        values: json!({"max_r_hat": r.max_r_hat, "min_ess_bulk": r.min_ess_bulk, "divergences": r.divergences}),
    });
    let neg = r.baseline.iter().filter(|v| **v < 0.0).count();
    let frac = neg as f64 / r.baseline.len().max(1) as f64;
    checks.push(Check {
        check: "negative_baseline",
        status: if neg == 0 {
            Status::Pass
        } else if frac <= 0.05 {
            Status::Review
        } else {
            Status::Fail
        },
        detail: format!(
            "the posterior-mean baseline is negative in {neg} of {} periods",
            r.baseline.len()
        ),
        values: json!({"periods_negative": neg, "fraction": frac}),
    });
    let media: f64 = r.media.iter().map(|m| m.1).sum();
    let share = media / r.total_kpi;
    checks.push(Check {
        check: "media_share",
        status: if share <= 0.6 {
            Status::Pass
        } else if share <= 0.85 {
            Status::Review
        } else {
            Status::Fail
        },
        detail: format!("media account for {:.1}% of the KPI", 100.0 * share),
        values: json!({"media_share": share}),
    });
    let wide: Vec<&(String, f64, f64)> = r
        .roi_hdi
        .iter()
        .filter(|(_, lo, hi)| !(*lo > 0.0 && hi / lo < 100.0))
        .collect();
    checks.push(Check {
        check: "roi",
        status: if wide.is_empty() {
            Status::Pass
        } else {
            Status::Review
        },
        detail: if wide.is_empty() {
            "every channel's ROI interval spans less than two orders of magnitude".into()
        } else {
            format!(
                "ROI intervals spanning two orders of magnitude or more: {}",
                wide.iter()
                    .map(|(n, lo, hi)| format!("{n} [{lo:.3}, {hi:.3}]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        values: json!(r
            .roi_hdi
            .iter()
            .map(|(n, lo, hi)| json!({"channel": n, "low": lo, "high": hi}))
            .collect::<Vec<_>>()),
    });
    checks.push(Check {
        check: "prior_posterior_shift",
        status: if r.weak.is_empty() {
            Status::Pass
        } else {
            Status::Review
        },
        detail: if r.weak.is_empty() {
            "every media parameter's posterior is at least 10% narrower (in variance) than its prior".into()
        } else {
            format!(
                "the data barely inform (contraction < 10%, the posterior is about the prior): {}",
                r.weak
                    .iter()
                    .map(|(n, c)| format!("{n} ({c:.2})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        values: json!(r.weak.iter().map(|(n, c)| json!({"parameter": n, "contraction": c})).collect::<Vec<_>>()),
    });
    let worst = r
        .ppc
        .iter()
        .map(|(_, p)| (p - 0.5).abs())
        .fold(0.0f64, f64::max);
    checks.push(Check {
        check: "posterior_predictive",
        status: if worst <= 0.45 {
            Status::Pass
        } else if worst <= 0.49 {
            Status::Review
        } else {
            Status::Fail
        },
        detail: format!(
            "Bayesian p-values {}",
            r.ppc
                .iter()
                .map(|(n, p)| format!("{n} {p:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        values: json!(r
            .ppc
            .iter()
            .map(|(n, p)| (n.to_string(), json!(p)))
            .collect::<serde_json::Map<_, _>>()),
    });
    let (kmax, thr, bad) = r.pareto;
    checks.push(Check {
        check: "psis_loo",
        status: if kmax <= thr {
            Status::Pass
        } else if kmax <= 1.0 {
            Status::Review
        } else {
            Status::Fail
        },
        detail: format!("max Pareto k {kmax:.2} ({bad} observations above {thr:.2})"),
        values: json!({"max_pareto_k": kmax, "threshold": thr, "n_above": bad}),
    });
    let overall = checks
        .iter()
        .map(|c| c.status)
        .max()
        .unwrap_or(Status::Pass);
    json!({"overall": overall, "checks": checks})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_check_decides() {
        let media = [("tv".to_string(), 30.0), ("search".to_string(), 20.0)];
        let roi = [
            ("tv".to_string(), 1.0, 3.0),
            ("search".to_string(), 0.01, 5.0),
        ];
        let ppc = [("mean", 0.5), ("sd", 0.3), ("autocorrelation_lag1", 0.995)];
        let input = ReviewInput {
            max_r_hat: 1.005,
            min_ess_bulk: 800.0,
            divergences: 0,
            draws: 4000,
            baseline: &[10.0, 5.0, -1.0, 3.0],
            total_kpi: 100.0,
            media: &media,
            roi_hdi: &roi,
            weak: &[],
            ppc: &ppc,
            pareto: (0.4, 0.7, 0),
        };
        let v = review(&input);
        let status = |name: &str| {
            v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["check"] == name)
                .unwrap()["status"]
                .clone()
        };
        assert_eq!(status("convergence"), "pass");
        assert_eq!(status("negative_baseline"), "fail"); // 1 of 4 periods
        assert_eq!(status("media_share"), "pass"); // 50%
        assert_eq!(status("roi"), "review"); // search spans 500×
        assert_eq!(status("posterior_predictive"), "fail"); // 0.995
        assert_eq!(status("psis_loo"), "pass");
        assert_eq!(v["overall"], "fail");
    }
}
