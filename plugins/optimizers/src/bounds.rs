//! Budgets and per-channel bounds shared by the optimizers, and their resolution into
//! `[lo, hi]` spend intervals per period.
//!
//! Every amount is **per period** (a **total over the window** when the optimizer has a planning
//! window), in the units of [`ResponseCurves::current_spend`].

use mmm_core::optimizer::ResponseCurves;
use mmm_core::{MmmError, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A total budget per period: either an amount or a multiple of the current total spend.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Budget {
    /// Total spend per period (over the window with a planning window), in the units of the
    /// current spend.
    Total(#[schemars(range(min = 0.0))] f64),
    /// Total spend as a multiple of the current total (1.0 = keep the budget; with a window the
    /// current total is the reference window's spend).
    MultipleOfCurrent(#[schemars(range(min = 0.0))] f64),
}

impl Default for Budget {
    fn default() -> Self {
        Budget::MultipleOfCurrent(1.0)
    }
}

impl Budget {
    /// Checks that the amount is finite and non-negative; `pointer` is the field's place.
    pub fn validate(&self, pointer: &str) -> Result<()> {
        let (key, v) = match self {
            Budget::Total(v) => ("total", *v),
            Budget::MultipleOfCurrent(v) => ("multiple_of_current", *v),
        };
        if !v.is_finite() || v < 0.0 {
            return Err(MmmError::param(
                format!("{pointer}/{key}"),
                format!("{key} = {v} must be a finite number ≥ 0"),
            ));
        }
        Ok(())
    }

    /// The budget per period, given the current total per period.
    pub fn resolve(&self, current_total: f64) -> f64 {
        match self {
            Budget::Total(v) => *v,
            Budget::MultipleOfCurrent(m) => m * current_total,
        }
    }
}

/// Bounds of one channel's spend per period. Every given limit applies (the interval is their
/// intersection), so forms can be mixed; spend is never negative.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelBounds {
    /// Least spend per period (absolute; over the window with a planning window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub min: Option<f64>,
    /// Most spend per period (absolute; over the window with a planning window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub max: Option<f64>,
    /// Least spend as a share of the total budget, in [0, 1] (0.05 = 5%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_share: Option<f64>,
    /// Most spend as a share of the total budget, in [0, 1] (0.6 = 60%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_share: Option<f64>,
    /// Least change from current spend, as a fraction ≥ −1 (−0.2 = at most 20% less).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1.0))]
    pub min_change: Option<f64>,
    /// Most change from current spend, as a fraction ≥ −1 (0.2 = at most 20% more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1.0))]
    pub max_change: Option<f64>,
}

impl ChannelBounds {
    /// Whether a share bound is given (these need a known total budget).
    pub fn has_shares(&self) -> bool {
        self.min_share.is_some() || self.max_share.is_some()
    }

    /// Checks every limit and their order; `pointer` is this entry's place in the spec.
    pub fn validate(&self, pointer: &str) -> Result<()> {
        let check = |name: &str, v: Option<f64>, lo: f64, hi: f64, rule: &str| -> Result<()> {
            match v {
                Some(x) if !(x.is_finite() && x >= lo && x <= hi) => Err(MmmError::param(
                    format!("{pointer}/{name}"),
                    format!("{name} = {x} must be {rule}"),
                )),
                _ => Ok(()),
            }
        };
        let inf = f64::INFINITY;
        check("min", self.min, 0.0, inf, "a finite number ≥ 0")?;
        check("max", self.max, 0.0, inf, "a finite number ≥ 0")?;
        check("min_share", self.min_share, 0.0, 1.0, "in [0, 1]")?;
        check("max_share", self.max_share, 0.0, 1.0, "in [0, 1]")?;
        check(
            "min_change",
            self.min_change,
            -1.0,
            inf,
            "a finite number ≥ −1 (−1 = stop)",
        )?;
        check(
            "max_change",
            self.max_change,
            -1.0,
            inf,
            "a finite number ≥ −1 (−1 = stop)",
        )?;
        for (a, b, x, y) in [
            ("min", "max", self.min, self.max),
            ("min_share", "max_share", self.min_share, self.max_share),
            ("min_change", "max_change", self.min_change, self.max_change),
        ] {
            if let (Some(x), Some(y)) = (x, y) {
                if x > y {
                    return Err(MmmError::param(
                        format!("{pointer}/{a}"),
                        format!("{a} = {x} is above {b} = {y}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Per-channel bounds: a default for every channel, and entries by channel name that replace
/// the default for that channel.
///
/// With an optimizer's `geo_allocation` every entry the optimizer sees is one channel × geo
/// (named `channel / geo`, see [`ResponseCurves::pair`]) and every bound is on that pair's own
/// spend (shares of the national total budget). The entries that name a pair are its own
/// (`channels["tv / Geo3"]`), its channel's (`channels["tv"]`, applying to each of the
/// channel's geos) and its geo's (`geos["Geo3"]`, applying to each channel in the geo); all of
/// them apply together (the interval is their intersection), and `default` applies when none
/// does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// Bounds of every channel without its own entry (default: spend ≥ 0, no other limit).
    #[serde(default)]
    pub default: ChannelBounds,
    /// Bounds by channel name; an entry replaces `default` for that channel. With
    /// `geo_allocation`, also by channel × geo (`"tv / Geo3"`), and a channel's entry bounds
    /// each of its geos' spends.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channels: BTreeMap<String, ChannelBounds>,
    /// With `geo_allocation` only: bounds by geo name, applying to every channel's spend in
    /// that geo (together with the channel's own entry, if any).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub geos: BTreeMap<String, ChannelBounds>,
}

impl ChannelBounds {
    /// The bounds that hold when both `self` and `other` hold: the larger of each minimum and
    /// the smaller of each maximum, form by form (an empty interval is reported when the
    /// bounds are resolved).
    pub fn intersect(&self, other: &ChannelBounds) -> ChannelBounds {
        let hi = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        };
        let lo = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        ChannelBounds {
            min: hi(self.min, other.min),
            max: lo(self.max, other.max),
            min_share: hi(self.min_share, other.min_share),
            max_share: lo(self.max_share, other.max_share),
            min_change: hi(self.min_change, other.min_change),
            max_change: lo(self.max_change, other.max_change),
        }
    }
}

impl Bounds {
    /// Checks the default and every entry; `pointer` is the place of `bounds` in the spec.
    pub fn validate(&self, pointer: &str) -> Result<()> {
        self.default.validate(&format!("{pointer}/default"))?;
        for (name, b) in &self.channels {
            b.validate(&format!("{pointer}/channels/{name}"))?;
        }
        for (name, b) in &self.geos {
            b.validate(&format!("{pointer}/geos/{name}"))?;
        }
        Ok(())
    }

    /// Whether any share bound is given.
    pub fn has_shares(&self) -> bool {
        self.default.has_shares()
            || self.channels.values().any(ChannelBounds::has_shares)
            || self.geos.values().any(ChannelBounds::has_shares)
    }

    /// The bounds of each channel (each channel × geo with `geo_allocation`, see [`Bounds`]),
    /// in the curves' order.
    ///
    /// # Errors
    /// [`MmmError::Param`] at the entry's pointer when a name in `channels` is not a channel
    /// (nor, with `geo_allocation`, a `channel / geo` pair), when a name in `geos` is not a geo,
    /// and when `geos` is given without `geo_allocation`.
    pub fn per_channel(
        &self,
        curves: &dyn ResponseCurves,
        pointer: &str,
    ) -> Result<Vec<ChannelBounds>> {
        let n = curves.n_channels();
        let names: Vec<&str> = (0..n).map(|i| curves.name(i)).collect();
        let pairs: Option<Vec<(&str, &str)>> = (0..n).map(|i| curves.pair(i)).collect();
        let Some(pairs) = pairs.filter(|p| !p.is_empty()) else {
            if let Some(key) = self.geos.keys().next() {
                return Err(MmmError::param(
                    format!("{pointer}/geos/{key}"),
                    "bounds by geo need \"geo_allocation\": true on the optimizer (and a joint \
                     geo fit, \"geo\": \"hierarchical\"); without it every geo keeps its \
                     current share of the channel's budget"
                        .to_string(),
                ));
            }
            for key in self.channels.keys() {
                if !names.contains(&key.as_str()) {
                    return Err(MmmError::param(
                        format!("{pointer}/channels/{key}"),
                        format!(
                            "there is no channel '{key}'; the channels are: {}",
                            names.join(", ")
                        ),
                    ));
                }
            }
            return Ok(names
                .iter()
                .map(|n| self.channels.get(*n).unwrap_or(&self.default).clone())
                .collect());
        };
        let mut channels: Vec<&str> = Vec::new();
        let mut geos: Vec<&str> = Vec::new();
        for &(c, g) in &pairs {
            if !channels.contains(&c) {
                channels.push(c);
            }
            if !geos.contains(&g) {
                geos.push(g);
            }
        }
        for key in self.channels.keys() {
            let k = key.as_str();
            if !channels.contains(&k) && !names.contains(&k) {
                return Err(MmmError::param(
                    format!("{pointer}/channels/{key}"),
                    format!(
                        "there is no channel '{key}'; the channels are: {} (with \
                         geo_allocation also a channel in a geo, such as '{}')",
                        channels.join(", "),
                        names[0]
                    ),
                ));
            }
        }
        for key in self.geos.keys() {
            if !geos.contains(&key.as_str()) {
                return Err(MmmError::param(
                    format!("{pointer}/geos/{key}"),
                    format!("there is no geo '{key}'; the geos are: {}", geos.join(", ")),
                ));
            }
        }
        Ok(pairs
            .iter()
            .zip(&names)
            .map(|(&(c, g), &name)| {
                [
                    self.channels.get(name),
                    self.channels.get(c),
                    self.geos.get(g),
                ]
                .into_iter()
                .flatten()
                .fold(None::<ChannelBounds>, |acc, b| {
                    Some(match acc {
                        Some(a) => a.intersect(b),
                        None => b.clone(),
                    })
                })
                .unwrap_or_else(|| self.default.clone())
            })
            .collect())
    }
}

/// Checks an optimizer's `geo_allocation` against its planning window: a window plans the
/// national series of a national fit and per-geo allocation needs a joint geo fit, so the two do
/// not combine.
///
/// # Errors
/// [`MmmError::Param`] at `/geo_allocation` when both are set.
pub fn validate_geo_allocation(geo_allocation: bool, has_window: bool) -> Result<()> {
    if geo_allocation && has_window {
        return Err(MmmError::param(
            "/geo_allocation",
            "geo_allocation does not combine with a planning window (window): a window plans a \
             national fit and per-geo allocation needs a joint geo fit; drop one of them",
        ));
    }
    Ok(())
}

/// Resolved spend intervals of every channel for one total budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Least spend per period of each channel.
    pub lo: Vec<f64>,
    /// Most spend per period of each channel (finite: at most the budget).
    pub hi: Vec<f64>,
    /// Which limit set each `lo` (for error messages).
    pub lo_why: Vec<String>,
    /// Which limit set each `hi` (for error messages).
    pub hi_why: Vec<String>,
}

/// The interval of one channel with current spend `current`, for total budget `budget` (when
/// known; shares need it) and an upper cap `cap` used when no maximum is given.
pub fn channel_interval(
    b: &ChannelBounds,
    current: f64,
    budget: Option<f64>,
    cap: f64,
) -> (f64, String, f64, String) {
    let mut lo = 0.0;
    let mut lo_why = "spend ≥ 0".to_string();
    let mut hi = cap;
    let mut hi_why = match budget {
        Some(_) => "the total budget".to_string(),
        None => "the search limit".to_string(),
    };
    let mut raise = |v: f64, why: String| {
        if v > lo {
            lo = v;
            lo_why = why;
        }
    };
    if let Some(m) = b.min {
        raise(m, format!("min = {m}"));
    }
    if let (Some(s), Some(t)) = (b.min_share, budget) {
        raise(s * t, format!("min_share = {s} of {t}"));
    }
    if let Some(c) = b.min_change {
        raise(
            (1.0 + c) * current,
            format!("min_change = {c} of current {current}"),
        );
    }
    let mut lower = |v: f64, why: String| {
        if v < hi {
            hi = v;
            hi_why = why;
        }
    };
    if let Some(m) = b.max {
        lower(m, format!("max = {m}"));
    }
    if let (Some(s), Some(t)) = (b.max_share, budget) {
        lower(s * t, format!("max_share = {s} of {t}"));
    }
    if let Some(c) = b.max_change {
        lower(
            (1.0 + c) * current,
            format!("max_change = {c} of current {current}"),
        );
    }
    (lo, lo_why, hi, hi_why)
}

/// Resolves the bounds of every channel for a total budget `budget` per period and checks that
/// an allocation summing to the budget exists.
///
/// # Errors
/// [`MmmError::Infeasible`] when a channel's minimum is above its maximum, when the minimums sum
/// above the budget, or when the maximums sum below it; the message names the numbers.
pub fn resolve(
    bounds: &[&ChannelBounds],
    curves: &dyn ResponseCurves,
    budget: f64,
) -> Result<Resolved> {
    let n = bounds.len();
    let mut r = Resolved {
        lo: Vec::with_capacity(n),
        hi: Vec::with_capacity(n),
        lo_why: Vec::with_capacity(n),
        hi_why: Vec::with_capacity(n),
    };
    for (i, b) in bounds.iter().enumerate() {
        let (lo, lw, hi, hw) = channel_interval(b, curves.current_spend(i), Some(budget), budget);
        if lo > hi * (1.0 + 1e-12) + 1e-12 {
            return Err(MmmError::Infeasible(format!(
                "channel '{}': its minimum spend {lo} {} ({lw}) is above its maximum {hi} ({hw})",
                curves.name(i),
                curves.spend_unit()
            )));
        }
        r.lo.push(lo.min(hi));
        r.hi.push(hi);
        r.lo_why.push(lw);
        r.hi_why.push(hw);
    }
    let sum_lo: f64 = r.lo.iter().sum();
    let sum_hi: f64 = r.hi.iter().sum();
    let tol = 1e-9 * budget.abs().max(1e-9);
    let list = |v: &[f64], why: &[String]| -> String {
        (0..n)
            .map(|i| format!("{} {} ({})", curves.name(i), v[i], why[i]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if sum_lo > budget + tol {
        return Err(MmmError::Infeasible(format!(
            "the channel minimums sum to {sum_lo} {}, above the total budget {budget}: {}",
            curves.spend_unit(),
            list(&r.lo, &r.lo_why)
        )));
    }
    if sum_hi < budget - tol {
        return Err(MmmError::Infeasible(format!(
            "the channel maximums sum to {sum_hi} {}, below the total budget {budget}: {}",
            curves.spend_unit(),
            list(&r.hi, &r.hi_why)
        )));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::HillCurves;

    /// Two channels in two geos: entries `tv / A`, `tv / B`, `radio / A`, `radio / B`.
    struct Pairs {
        inner: HillCurves,
        names: Vec<String>,
        pairs: Vec<(&'static str, &'static str)>,
    }

    impl ResponseCurves for Pairs {
        fn n_channels(&self) -> usize {
            self.names.len()
        }
        fn name(&self, channel: usize) -> &str {
            &self.names[channel]
        }
        fn current_spend(&self, channel: usize) -> f64 {
            self.inner.current_spend(channel)
        }
        fn response(&self, channel: usize, spend: f64) -> f64 {
            self.inner.response(channel, spend)
        }
        fn marginal(&self, channel: usize, spend: f64) -> f64 {
            self.inner.marginal(channel, spend)
        }
        fn horizon(&self) -> usize {
            self.inner.horizon()
        }
        fn pair(&self, channel: usize) -> Option<(&str, &str)> {
            Some(self.pairs[channel])
        }
    }

    fn pairs() -> Pairs {
        let pairs = vec![("tv", "A"), ("tv", "B"), ("radio", "A"), ("radio", "B")];
        Pairs {
            inner: HillCurves::new(&[(100.0, 50.0, 80.0, 1.0); 4], 10),
            names: pairs.iter().map(|(c, g)| format!("{c} / {g}")).collect(),
            pairs,
        }
    }

    fn bounds(v: serde_json::Value) -> Bounds {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn pair_entries_intersect_and_replace_the_default() {
        let b = bounds(serde_json::json!({
            "default": {"min_change": -0.2, "max_change": 0.2},
            "channels": {"tv": {"max_change": 0.5, "min_change": -0.5}, "radio / B": {"max": 90.0}},
            "geos": {"A": {"min_change": -0.1, "max_change": 0.3}}
        }));
        b.validate("/bounds").unwrap();
        let per = b.per_channel(&pairs(), "/bounds").unwrap();
        // tv / A: channel ∩ geo
        assert_eq!(per[0].min_change, Some(-0.1));
        assert_eq!(per[0].max_change, Some(0.3));
        // tv / B: the channel's entry alone
        assert_eq!(per[1].min_change, Some(-0.5));
        assert_eq!(per[1].max_change, Some(0.5));
        // radio / A: the geo's entry alone
        assert_eq!(per[2].max_change, Some(0.3));
        // radio / B: its own entry replaces the default
        assert_eq!(
            per[3],
            ChannelBounds {
                max: Some(90.0),
                ..Default::default()
            }
        );
    }

    #[test]
    fn unknown_geos_and_geos_without_pairs_name_the_path() {
        let b = bounds(serde_json::json!({"geos": {"C": {"max_change": 0.1}}}));
        let e = b.per_channel(&pairs(), "/bounds").unwrap_err().to_string();
        assert!(e.contains("/bounds/geos/C") && e.contains("A, B"), "{e}");
        let b = bounds(serde_json::json!({"channels": {"tv / C": {"max": 1.0}}}));
        let e = b.per_channel(&pairs(), "/bounds").unwrap_err().to_string();
        assert!(e.contains("/bounds/channels/tv / C"), "{e}");
        let b = bounds(serde_json::json!({"geos": {"A": {"max_change": 0.1}}}));
        let national = HillCurves::new(&[(100.0, 50.0, 80.0, 1.0)], 10);
        let e = b.per_channel(&national, "/bounds").unwrap_err().to_string();
        assert!(
            e.contains("/bounds/geos/A") && e.contains("geo_allocation"),
            "{e}"
        );
        let e = crate::bounds::validate_geo_allocation(true, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/geo_allocation"), "{e}");
    }
}
