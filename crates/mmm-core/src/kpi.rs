//! Reported KPIs per channel, as seed 004 derives them from campaign data.
//!
//! # Formula
//! ```text
//! CTR  = clicks / impressions        CVR  = conversions / clicks
//! CPA  = spend / conversions         ROAS = revenue / spend
//! ```
//! over the whole data (ratios of the totals) in `results.json` `channels[].kpis`, and per
//! period in the SQLite table `kpis`. A ratio is null when its denominator is 0 or a column is
//! absent. These are the figures the platforms report, not modeled effects (compare ROAS with
//! the modeled `roi`).
//!
//! A channel whose spend column is `<prefix>.<spend>` (as every long-format column is) finds
//! its other metrics as `<prefix>.<impressions>`, `<prefix>.<clicks>`, `<prefix>.<conversions>`
//! and `<prefix>.<revenue>`, with the metric names of `data.columns`; a channel with none of
//! them has no KPIs. Spend is the channel's spend as modeled (after cleaning and aggregation).

use serde::Serialize;

/// One channel's metric series per period.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiSeries {
    /// Channel name.
    pub channel: String,
    /// Spend per period.
    pub spend: Vec<f64>,
    /// Impressions per period, when the column exists.
    pub impressions: Option<Vec<f64>>,
    /// Clicks per period, when the column exists.
    pub clicks: Option<Vec<f64>>,
    /// Conversions per period, when the column exists.
    pub conversions: Option<Vec<f64>>,
    /// Revenue per period, when the column exists.
    pub revenue: Option<Vec<f64>>,
}

/// Totals and ratios of one channel (over the data, or in one period).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// Spend.
    pub spend: f64,
    /// Impressions (null without the column).
    pub impressions: Option<f64>,
    /// Clicks (null without the column).
    pub clicks: Option<f64>,
    /// Conversions (null without the column).
    pub conversions: Option<f64>,
    /// Revenue (null without the column).
    pub revenue: Option<f64>,
    /// Click-through rate: clicks / impressions.
    pub ctr: Option<f64>,
    /// Conversion rate: conversions / clicks.
    pub cvr: Option<f64>,
    /// Cost per acquisition: spend / conversions.
    pub cpa: Option<f64>,
    /// Return on ad spend: revenue / spend.
    pub roas: Option<f64>,
}

/// `num / den`, or `None` when either is missing or the denominator is 0.
pub fn ratio(num: Option<f64>, den: Option<f64>) -> Option<f64> {
    match (num, den) {
        (Some(n), Some(d)) if d != 0.0 && n.is_finite() && d.is_finite() => Some(n / d),
        _ => None,
    }
}

impl Kpis {
    /// The ratios of the given totals.
    pub fn from_totals(
        spend: f64,
        impressions: Option<f64>,
        clicks: Option<f64>,
        conversions: Option<f64>,
        revenue: Option<f64>,
    ) -> Kpis {
        Kpis {
            spend,
            impressions,
            clicks,
            conversions,
            revenue,
            ctr: ratio(clicks, impressions),
            cvr: ratio(conversions, clicks),
            cpa: ratio(Some(spend), conversions),
            roas: ratio(revenue, Some(spend)),
        }
    }
}

impl KpiSeries {
    /// Totals over the data and their ratios.
    pub fn totals(&self) -> Kpis {
        let sum = |v: &Option<Vec<f64>>| v.as_ref().map(|v| v.iter().sum::<f64>());
        Kpis::from_totals(
            self.spend.iter().sum(),
            sum(&self.impressions),
            sum(&self.clicks),
            sum(&self.conversions),
            sum(&self.revenue),
        )
    }

    /// The figures of period `t`.
    pub fn period(&self, t: usize) -> Kpis {
        let at = |v: &Option<Vec<f64>>| v.as_ref().and_then(|v| v.get(t).copied());
        Kpis::from_totals(
            self.spend.get(t).copied().unwrap_or(f64::NAN),
            at(&self.impressions),
            at(&self.clicks),
            at(&self.conversions),
            at(&self.revenue),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_of_totals_and_zero_denominators() {
        let s = KpiSeries {
            channel: "a".into(),
            spend: vec![10.0, 0.0, 30.0],
            impressions: Some(vec![1000.0, 0.0, 3000.0]),
            clicks: Some(vec![10.0, 0.0, 50.0]),
            conversions: Some(vec![2.0, 0.0, 0.0]),
            revenue: None,
        };
        let t = s.totals();
        assert_eq!(t.ctr, Some(60.0 / 4000.0));
        assert_eq!(t.cvr, Some(2.0 / 60.0));
        assert_eq!(t.cpa, Some(40.0 / 2.0));
        assert_eq!(t.roas, None);
        let p = s.period(1);
        assert_eq!((p.ctr, p.cvr, p.cpa), (None, None, None));
        assert_eq!(s.period(2).cpa, None);
    }
}
