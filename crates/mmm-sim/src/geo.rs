//! Geo panels: the national model simulated per geo around national values.
//!
//! # Formula
//! With `G` geos, populations `P_g` and relative sizes `r_g = P_g / (Σ_h P_h / G)`:
//! ```text
//! P_g       = max(1, round(population_median · e^{σ_P·z_g}))
//! a_g       = intercept · e^{σ_a·z}           β_{g,c} = β_c · e^{σ_β·z}
//! γ_{g,k}   = γ_k · e^{σ_γ·z}                 trend_g = trend · e^{σ_τ·z}
//! x̃_{g,c}   ~ channel c's pattern with its levels scaled by e^{σ_x·z}
//! x_{g,c,t} = round(r_g · x̃_{g,c,t}, 2)                      (the data's spend)
//! y_{g,t}   = round(r_g · ỹ_{g,t}, 4)                        (the data's target)
//! ỹ_{g,t}   = a_g + trend_g·t + S_t + Σ_c β_{g,c}·f_c(x_{g,c}/r_g)_t + Σ_k γ_{g,k}·z_{g,k,t} + ε_{g,t}
//! ```
//! every `z ~ N(0, 1)` independent (stream `60_000` of the seed: the populations, then per geo
//! its intercept, per channel its effect and spend level, then — only when `σ_γ` or `σ_τ` is
//! positive, so that panels without them keep their bytes — per control its effect and the
//! trend's slope), and geo `g`'s own series drawn as
//! a national simulation with seed `splitmix64(seed + g + 1)`. Transforms are shared by the
//! geos and applied to per-capita spend `x/r_g` (in units of the average geo), as Meridian
//! scales media by population; controls and noise are per capita too.
//!
//! The truth per geo is the national truth of its per-capita series times `r_g` (spend,
//! contributions; ROI and marginal ROI are ratios and need no scaling). The national truth sums
//! spend and contributions over the geos; its ROI is their ratio and its marginal ROI the
//! spend-weighted mean of the geos' (the KPI per extra unit of spend spread over the geos in
//! proportion to their spend).

use crate::simulate::{
    draw, fmt, mean, normal, population_sd, rng, round, spec_parameters, truth, BaselineTruth,
    ChannelTruth, ControlTruth, Drawn, Simulation, Truth, SPEND_DECIMALS, VALUE_DECIMALS,
};
use crate::spec::{GeoSpec, SimSpec};
use mmm_core::error::Result;
use rand_distr::Distribution;
use serde::Serialize;

const STREAM_GEO: u64 = 60_000;

/// One geo's truth in `truth.json`.
#[derive(Debug, Clone, Serialize)]
pub struct GeoTruth {
    /// Geo name (`Geo0`, …).
    pub name: String,
    /// Population `P_g`.
    pub population: f64,
    /// `r_g = P_g / mean population`.
    pub relative_size: f64,
    /// Seed of the geo's own series.
    pub seed: u64,
    /// Per-capita intercept `a_g`.
    pub intercept: f64,
    /// Mean of the geo's target.
    pub target_mean: f64,
    /// Per channel: spend and contribution in the data's units; `coefficient` is `β_{g,c}`
    /// (per-capita KPI per unit of transformed per-capita spend).
    pub channels: Vec<ChannelTruth>,
    /// Per control: summed effect in the data's units.
    pub controls: Vec<ControlTruth>,
    /// Summed baseline in the data's units.
    pub baseline: BaselineTruth,
}

/// SplitMix64 (Steele, Lea & Flood 2014): a well-mixed 64-bit seed from a counter.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Scales a per-capita truth to the data's units (`r` times spend and contributions).
fn scale_channel(mut c: ChannelTruth, r: f64) -> ChannelTruth {
    c.spend *= r;
    c.mean_spend *= r;
    c.contribution *= r;
    c
}

/// Simulates a geo panel (see the module docs).
pub fn simulate_geos(
    spec: &SimSpec,
    geo: &GeoSpec,
    raw: Option<&serde_json::Value>,
) -> Result<Simulation> {
    let z = normal(1.0)?;
    let mut r = rng(spec.seed, STREAM_GEO);
    let populations: Vec<f64> = (0..geo.count)
        .map(|_| {
            (geo.population_median * (geo.population_sd_log * z.sample(&mut r)).exp())
                .round()
                .max(1.0)
        })
        .collect();
    let mean_population = mean(&populations);

    let mut header = vec![
        geo.column.clone(),
        spec.date_column.clone(),
        geo.population_column.clone(),
        spec.target.clone(),
    ];
    header.extend(spec.channels.iter().map(|c| c.column().to_string()));
    header.extend(
        spec.controls
            .iter()
            .filter(|c| c.observed())
            .map(|c| c.name().to_string()),
    );
    let mut csv = header.join(",");
    csv.push('\n');

    let mut geos = Vec::with_capacity(geo.count);
    let mut all_noise = Vec::new();
    let mut all_y = Vec::new();
    let mut dates_out = Vec::new();
    for (g, population) in populations.iter().enumerate() {
        let rel = population / mean_population;
        let mut gspec = spec.clone();
        gspec.geos = None;
        gspec.seed = splitmix64(spec.seed.wrapping_add(g as u64 + 1));
        gspec.intercept *= (geo.intercept_sd_log * z.sample(&mut r)).exp();
        for c in gspec.channels.iter_mut() {
            c.coefficient *= (geo.effect_sd_log * z.sample(&mut r)).exp();
            c.spend = c.spend.scaled((geo.spend_sd_log * z.sample(&mut r)).exp());
        }
        if geo.control_sd_log > 0.0 {
            for c in gspec.controls.iter_mut() {
                c.scale_effect((geo.control_sd_log * z.sample(&mut r)).exp());
            }
        }
        if geo.trend_sd_log > 0.0 {
            gspec.trend *= (geo.trend_sd_log * z.sample(&mut r)).exp();
        }
        let d: Drawn = draw(&gspec, rel)?;
        let name = format!("Geo{g}");
        for t in 0..d.dates.len() {
            let mut row = vec![
                name.clone(),
                d.dates[t].to_string(),
                fmt(*population),
                fmt(round(d.y[t] * rel, VALUE_DECIMALS)),
            ];
            row.extend(
                d.spends
                    .iter()
                    .map(|s| fmt(round(s[t] * rel, SPEND_DECIMALS))),
            );
            row.extend(
                d.control_cols
                    .iter()
                    .zip(&spec.controls)
                    .filter(|(_, c)| c.observed())
                    .map(|(col, _)| fmt(col[t])),
            );
            csv.push_str(&row.join(","));
            csv.push('\n');
        }
        all_noise.extend(d.noise.iter().map(|e| e * rel));
        all_y.extend(d.y.iter().map(|v| v * rel));
        let t = truth(
            &gspec,
            None,
            &d.dates,
            &d.y,
            &d.noise,
            &d.baseline,
            &d.spends,
            &d.chains,
            &d.transformed,
            None,
            d.control_truth,
        )?;
        if dates_out.is_empty() {
            dates_out = d.dates.clone();
        }
        geos.push(GeoTruth {
            name,
            population: *population,
            relative_size: rel,
            seed: gspec.seed,
            intercept: gspec.intercept,
            target_mean: t.target_mean * rel,
            channels: t
                .channels
                .into_iter()
                .map(|c| scale_channel(c, rel))
                .collect(),
            controls: t
                .controls
                .into_iter()
                .map(|mut c| {
                    c.contribution *= rel;
                    c
                })
                .collect(),
            baseline: BaselineTruth {
                contribution: t.baseline.contribution * rel,
                ..t.baseline
            },
        });
    }

    let channels = spec
        .channels
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let spend: f64 = geos.iter().map(|g| g.channels[i].spend).sum();
            let contribution: f64 = geos.iter().map(|g| g.channels[i].contribution).sum();
            let mroi = geos
                .iter()
                .map(|g| g.channels[i].mroi * g.channels[i].spend)
                .sum::<f64>()
                / spend;
            ChannelTruth {
                name: c.name.clone(),
                column: c.column().to_string(),
                mediator: false,
                spend,
                mean_spend: spend / spec.periods as f64,
                coefficient: c.coefficient,
                contribution,
                roi: contribution / spend,
                mroi,
                direct_contribution: None,
                indirect_contribution: None,
                induced_contribution: None,
                total_effect: None,
            }
        })
        .collect();
    let controls = spec
        .controls
        .iter()
        .enumerate()
        .map(|(k, c)| ControlTruth {
            name: c.name().to_string(),
            coefficient: geos[0].controls[k].coefficient,
            contribution: geos.iter().map(|g| g.controls[k].contribution).sum(),
            observed: None,
            channel: None,
            correlation: None,
        })
        .collect();
    let noise_realized_sd = population_sd(&all_noise);
    let parameters = spec_parameters(spec, raw)?;
    let truth = Truth {
        name: spec.name.clone(),
        seed: spec.seed,
        periods: spec.periods,
        frequency: spec.frequency,
        start: dates_out.first().map(|d| d.to_string()).unwrap_or_default(),
        end: dates_out.last().map(|d| d.to_string()).unwrap_or_default(),
        date_column: spec.date_column.clone(),
        target: spec.target.clone(),
        noise_sd: spec.noise_sd,
        noise_realized_sd,
        target_mean: mean(&all_y),
        channels,
        controls,
        baseline: BaselineTruth {
            intercept: spec.intercept,
            trend: spec.trend,
            contribution: geos.iter().map(|g| g.baseline.contribution).sum(),
        },
        mediation: None,
        lift_tests: vec![],
        parameters,
        geos,
    };
    Ok(Simulation {
        csv,
        truth,
        calibration: vec![],
    })
}

#[cfg(test)]
mod tests {
    use crate::simulate;
    use crate::spec::parse_simspec;
    use mmm_transforms as _;
    use serde_json::json;

    fn spec(geos: serde_json::Value) -> serde_json::Value {
        json!({
            "seed": 5, "periods": 30, "frequency": "weekly", "start": "2024-01-01",
            "intercept": 100.0, "noise_sd": 0.0,
            "channels": [
                {"name": "a", "spend": {"type": "always_on", "mean": 50.0, "noise_sd": 10.0},
                 "transforms": [{"type": "geometric_adstock", "decay": 0.5},
                                {"type": "hill", "half_saturation": 60.0, "shape": 1.0}],
                 "coefficient": 40.0},
                {"name": "b", "spend": {"type": "pulses", "amount": 80.0, "every_periods": 4},
                 "transforms": [{"type": "hill", "half_saturation": 40.0, "shape": 1.5}],
                 "coefficient": 20.0}
            ],
            "controls": [{"type": "promotion", "name": "promo", "probability": 0.3, "effect": 7.0}],
            "geos": geos
        })
    }

    fn rows(csv: &str) -> Vec<Vec<String>> {
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').map(String::from).collect())
            .collect()
    }

    #[test]
    fn the_panel_is_long_sorted_and_its_target_is_the_sum_of_its_parts() {
        let s = parse_simspec(&spec(json!({"count": 3})), "<test>").unwrap();
        let sim = simulate(&s, None).unwrap();
        let header: Vec<&str> = sim.csv.lines().next().unwrap().split(',').collect();
        assert_eq!(
            header,
            ["geo", "date", "population", "sales", "a", "b", "promo"]
        );
        let rows = rows(&sim.csv);
        assert_eq!(rows.len(), 90);
        // geo-major, each geo on the same dates, population constant per geo
        for (g, chunk) in rows.chunks(30).enumerate() {
            assert!(chunk.iter().all(|r| r[0] == format!("Geo{g}")));
            assert!(chunk.iter().all(|r| r[2] == chunk[0][2]));
            assert_eq!(chunk[0][1], "2024-01-01");
            assert_eq!(chunk[29][1], rows[29][1]);
        }
        let t = &sim.truth;
        assert_eq!(t.geos.len(), 3);
        // national sums of the geos; the data's target sums to baseline + media + controls
        for (i, c) in t.channels.iter().enumerate() {
            let spend: f64 = t.geos.iter().map(|g| g.channels[i].spend).sum();
            assert!((c.spend - spend).abs() < 1e-6 * spend);
            let col: f64 = rows.iter().map(|r| r[4 + i].parse::<f64>().unwrap()).sum();
            assert!((col - c.spend).abs() < 1e-6 * c.spend, "{col} {}", c.spend);
            assert!((c.roi - c.contribution / c.spend).abs() < 1e-12);
        }
        let y: f64 = rows.iter().map(|r| r[3].parse::<f64>().unwrap()).sum();
        let parts = t.baseline.contribution
            + t.channels.iter().map(|c| c.contribution).sum::<f64>()
            + t.controls.iter().map(|c| c.contribution).sum::<f64>();
        assert!((y - parts).abs() < 1e-3 * 90.0, "{y} {parts}");
        // mean relative size is 1
        let mean_rel: f64 = t.geos.iter().map(|g| g.relative_size).sum::<f64>() / 3.0;
        assert!((mean_rel - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_geo_is_its_per_capita_national_simulation_times_its_size() {
        // no spread: every geo has the national parameters and its own draws; a geo's
        // per-capita target (y / r) follows the national formula on x / r
        let s = parse_simspec(
            &spec(
                json!({"count": 2, "population_sd_log": 0.8, "effect_sd_log": 0.0,
                          "spend_sd_log": 0.0, "intercept_sd_log": 0.0}),
            ),
            "<test>",
        )
        .unwrap();
        let sim = simulate(&s, None).unwrap();
        for g in &sim.truth.geos {
            assert_eq!(g.intercept, 100.0);
            assert_eq!(g.channels[0].coefficient, 40.0);
            // ROI is per capita: independent of the geo's size
            let per_capita_spend = g.channels[0].spend / g.relative_size;
            assert!(per_capita_spend > 30.0 * 30.0 && per_capita_spend < 30.0 * 70.0);
        }
        assert_ne!(
            sim.truth.geos[0].relative_size,
            sim.truth.geos[1].relative_size
        );
    }

    #[test]
    fn same_spec_same_bytes_and_geo_draws_are_per_geo() {
        let s = parse_simspec(&spec(json!({"count": 4})), "<test>").unwrap();
        let a = simulate(&s, None).unwrap();
        let b = simulate(&s, None).unwrap();
        assert_eq!(a.csv, b.csv);
        let g = &a.truth.geos;
        assert!(g[0].channels[0].coefficient != g[1].channels[0].coefficient);
        assert!(g[0].seed != g[1].seed);
    }

    /// `control_sd_log` and `trend_sd_log` give each geo its own control effect and trend
    /// slope (in truth.json's `controls[].coefficient` and `baseline.trend`), the national
    /// sums still hold, and with both 0 (the default) the panel keeps its bytes.
    #[test]
    fn per_geo_control_effects_and_trends() {
        let base = parse_simspec(&spec(json!({"count": 3})), "<test>").unwrap();
        let zero = parse_simspec(
            &spec(json!({"count": 3, "control_sd_log": 0.0, "trend_sd_log": 0.0})),
            "<test>",
        )
        .unwrap();
        assert_eq!(
            simulate(&base, None).unwrap().csv,
            simulate(&zero, None).unwrap().csv
        );
        let mut v = spec(json!({"count": 3, "control_sd_log": 0.5, "trend_sd_log": 0.5}));
        v["trend"] = json!(0.5);
        let sim = simulate(&parse_simspec(&v, "<test>").unwrap(), None).unwrap();
        let t = &sim.truth;
        let effects: Vec<f64> = t.geos.iter().map(|g| g.controls[0].coefficient).collect();
        let trends: Vec<f64> = t.geos.iter().map(|g| g.baseline.trend).collect();
        assert!(
            effects.iter().all(|e| *e > 0.0) && effects[0] != effects[1],
            "{effects:?}"
        );
        assert!(
            trends.iter().all(|e| *e > 0.0) && trends[0] != trends[1],
            "{trends:?}"
        );
        let y: f64 = rows(&sim.csv)
            .iter()
            .map(|r| r[3].parse::<f64>().unwrap())
            .sum();
        let parts = t.baseline.contribution
            + t.channels.iter().map(|c| c.contribution).sum::<f64>()
            + t.controls.iter().map(|c| c.contribution).sum::<f64>();
        assert!((y - parts).abs() < 1e-3 * 90.0, "{y} {parts}");
    }

    #[test]
    fn geos_refuse_what_they_do_not_simulate_and_clashing_columns() {
        let mut v = spec(json!({"count": 2, "column": "promo"}));
        v["lift_tests"] = json!([{"channel": "a", "start": "2024-02-05", "end": "2024-03-04", "holdout": true, "standard_error": 1.0}]);
        let e = parse_simspec(&v, "<test>").unwrap_err().to_string();
        assert!(e.contains("/lift_tests"), "{e}");
        assert!(
            e.contains("/controls/0/name") || e.contains("/geos/column"),
            "{e}"
        );
        let e = parse_simspec(&spec(json!({"count": 0})), "<test>")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/geos/count"), "{e}");
    }
}
