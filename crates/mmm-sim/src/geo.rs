//! Geo panels: the national model simulated per geo around national values.
//!
//! # Formula
//! With `G` geos, populations `P_g` and relative sizes `r_g = P_g / (Σ_h P_h / G)`:
//! ```text
//! P_g       = max(1, round(population_median · e^{σ_P·z_g}))
//! a_g       = intercept · e^{σ_a·z}           β_{g,c} = β_c · e^{σ_β·z}
//! γ_{g,k}   = γ_k · e^{σ_γ·z}                 trend_g = trend · e^{σ_τ·z}
//! θ_{g,c,p} = h_p⁻¹(h_p(θ_{c,p}) + σ_θ·z)     (h_p: logit of (θ − l)/(u − l) on a bounded range,
//!                                              log(θ − l) bounded below, the identity otherwise)
//! x̃_{g,c}   ~ channel c's pattern with its levels scaled by e^{σ_x·z}
//! x_{g,c,t} = round(r_g · x̃_{g,c,t}, 2)                      (the data's spend)
//! y_{g,t}   = round(r_g · ỹ_{g,t}, 4)                        (the data's target)
//! ỹ_{g,t}   = a_g + trend_g·t + S_t + Σ_c β_{g,c}·f_c(x_{g,c}/r_g)_t + Σ_k γ_{g,k}·z_{g,k,t} + ε_{g,t}
//! ```
//! every `z ~ N(0, 1)` independent (stream `60_000` of the seed: the populations, then per geo
//! its intercept, per channel its effect and spend level, then — only when `σ_γ` or `σ_τ` is
//! positive, so that panels without them keep their bytes — per control its effect and the
//! trend's slope, and when `σ_θ` is positive per channel every transform parameter), and geo
//! `g`'s own series drawn as a national simulation with seed `splitmix64(seed + g + 1)`.
//! Transforms are shared by the geos unless `σ_θ > 0` and applied to per-capita spend `x/r_g`
//! (in units of the average geo), as Meridian scales media by population; controls and noise
//! are per capita too.
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
    /// Per channel, the geo's own transform parameters (`transform_sd > 0` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<TransformTruth>,
}

/// One channel's transform parameters in one geo.
#[derive(Debug, Clone, Serialize)]
pub struct TransformTruth {
    /// Channel name.
    pub channel: String,
    /// Value by `<transform type>.<parameter>` (e.g. `geometric_adstock.decay`).
    pub params: std::collections::BTreeMap<String, f64>,
}

/// `θ` moved by `σ·z` on the scale its range calls for (module formula).
fn perturb(theta: f64, lower: f64, upper: f64, shift: f64) -> f64 {
    match (lower.is_finite(), upper.is_finite()) {
        (true, true) => {
            let p = ((theta - lower) / (upper - lower)).clamp(1e-9, 1.0 - 1e-9);
            let logit = (p / (1.0 - p)).ln() + shift;
            lower + (upper - lower) / (1.0 + (-logit).exp())
        }
        (true, false) => lower + (theta - lower).max(1e-12) * shift.exp(),
        _ => theta + shift,
    }
}

/// The chain parameters of `chain` by `<transform type>.<parameter>`.
fn named_params(
    chain: &mmm_core::transform::TransformChain,
) -> std::collections::BTreeMap<String, f64> {
    chain
        .0
        .iter()
        .flat_map(|t| {
            let mut v = vec![0.0; t.params().len()];
            t.get_params(&mut v);
            t.params()
                .iter()
                .zip(v)
                .map(|(p, x)| (format!("{}.{}", t.typetag_name(), p.name), x))
                .collect::<Vec<_>>()
        })
        .collect()
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
    // per geo what its lift tests need: its series in the data's units, chains and coefficients
    let mut lift_inputs: Vec<GeoLiftInput> = Vec::with_capacity(geo.count);
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
        if geo.transform_sd > 0.0 {
            for c in gspec.channels.iter_mut() {
                for t in c.transforms.iter_mut() {
                    let specs = t.params();
                    let mut v = vec![0.0; specs.len()];
                    t.get_params(&mut v);
                    for (x, p) in v.iter_mut().zip(specs) {
                        let shift = geo.transform_sd * z.sample(&mut r);
                        *x = perturb(*x, p.lower, p.upper, shift);
                    }
                    t.set_params(&v);
                }
            }
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
        lift_inputs.push(GeoLiftInput {
            name: name.clone(),
            population: *population,
            rel,
            spend: d
                .spends
                .iter()
                .map(|s| s.iter().map(|v| round(v * rel, SPEND_DECIMALS)).collect())
                .collect(),
            chains: d.chains.clone(),
            coefficients: gspec.channels.iter().map(|c| c.coefficient).collect(),
        });
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
            transforms: match geo.transform_sd > 0.0 {
                true => gspec
                    .channels
                    .iter()
                    .zip(&d.chains)
                    .map(|(c, chain)| TransformTruth {
                        channel: c.name.clone(),
                        params: named_params(chain),
                    })
                    .collect(),
                false => Vec::new(),
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
    let (lift_tests, calibration) = geo_lift_tests(spec, &dates_out, &lift_inputs)?;
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
        lift_tests,
        parameters,
        geos,
    };
    Ok(Simulation {
        csv,
        truth,
        calibration,
    })
}

/// One geo's inputs to its lift tests.
struct GeoLiftInput {
    name: String,
    population: f64,
    /// `r_g`.
    rel: f64,
    /// Spend per channel in the data's units.
    spend: Vec<Vec<f64>>,
    /// The geo's chains, learned on its per-capita spend.
    chains: Vec<mmm_core::transform::TransformChain>,
    /// `β_{g,c}`.
    coefficients: Vec<f64>,
}

/// Runs the spec's lift tests on the panel's truth: each test resolved exactly as `mmm run`
/// resolves a `calibration` entry on a panel (the change split over the tested geos in
/// proportion to their window spend), its true lift the sum over the tested geos of
/// `r_g·β_{g,c}·Σ_{t∈R}[f_{g,c}(x'_g/r_g)_t − f_{g,c}(x_g/r_g)_t]`, and the measured lift
/// `true + N(0, se²)` (stream `50_000 + k`, as for national data).
fn geo_lift_tests(
    spec: &SimSpec,
    dates: &[chrono::NaiveDate],
    inputs: &[GeoLiftInput],
) -> Result<(
    Vec<crate::simulate::LiftTestTruth>,
    Vec<mmm_data::calibration::LiftTestSpec>,
)> {
    if spec.lift_tests.is_empty() {
        return Ok((vec![], vec![]));
    }
    let specs: Vec<_> = spec.lift_tests.iter().map(|t| t.to_spec(1.0)).collect();
    let names: Vec<String> = spec.channels.iter().map(|c| c.name.clone()).collect();
    let panel: Vec<mmm_core::geo::GeoSeries> = inputs
        .iter()
        .map(|g| mmm_core::geo::GeoSeries {
            name: g.name.clone(),
            population: Some(g.population),
            y: vec![],
            spend: g.spend.clone(),
            regressors: vec![],
        })
        .collect();
    let national: Vec<Vec<f64>> = (0..names.len())
        .map(|c| {
            (0..dates.len())
                .map(|t| inputs.iter().map(|g| g.spend[c][t]).sum())
                .collect()
        })
        .collect();
    let resolved = mmm_data::calibration::resolve(&specs, &names, dates, &national, &panel)
        .map_err(|is| {
            let i = &is[0];
            mmm_core::error::MmmError::param(
                i.pointer.replacen("/calibration/", "/lift_tests/", 1),
                i.message.clone(),
            )
        })?;
    let mut ws = mmm_core::transform::ChainWorkspace::default();
    let mut buf = mmm_core::calibration::LiftBuffers::new(dates.len());
    let mut truths = Vec::new();
    let mut entries = Vec::new();
    for (k, (t, r)) in spec.lift_tests.iter().zip(&resolved).enumerate() {
        let c = r.channel;
        let true_lift: f64 = r
            .geo_counterfactuals
            .iter()
            .enumerate()
            .map(|(j, (g, _))| {
                let g = &inputs[*g];
                g.rel
                    * g.coefficients[c]
                    * r.geo_transformed_difference(
                        j,
                        &g.chains[c],
                        &g.spend[c],
                        1.0 / g.rel,
                        &mut ws,
                        &mut buf,
                    )
            })
            .sum();
        let (truth, entry) = crate::simulate::measured_lift(spec, k, t, r, dates, true_lift)?;
        truths.push(truth);
        entries.push(entry);
    }
    Ok((truths, entries))
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

    /// `transform_sd` gives each geo its own transform parameters (in truth.json's
    /// `geos[].transforms`, inside each parameter's range), the geos' contributions are those
    /// of their own chains, and with 0 (the default) the panel keeps its bytes.
    #[test]
    fn per_geo_transform_parameters() {
        let base = parse_simspec(&spec(json!({"count": 3})), "<test>").unwrap();
        let zero =
            parse_simspec(&spec(json!({"count": 3, "transform_sd": 0.0})), "<test>").unwrap();
        let (a, b) = (
            simulate(&base, None).unwrap(),
            simulate(&zero, None).unwrap(),
        );
        assert_eq!(a.csv, b.csv);
        assert!(a.truth.geos.iter().all(|g| g.transforms.is_empty()));
        let sim = simulate(
            &parse_simspec(&spec(json!({"count": 3, "transform_sd": 0.8})), "<test>").unwrap(),
            None,
        )
        .unwrap();
        let decays: Vec<f64> = sim
            .truth
            .geos
            .iter()
            .map(|g| {
                assert_eq!(g.transforms[0].channel, "a");
                assert_eq!(g.transforms[1].params.len(), 2);
                g.transforms[0].params["geometric_adstock.decay"]
            })
            .collect();
        assert!(
            decays.iter().all(|d| *d > 0.0 && *d < 1.0) && decays[0] != decays[1],
            "{decays:?}"
        );
        let shapes: Vec<f64> = sim
            .truth
            .geos
            .iter()
            .map(|g| g.transforms[1].params["hill.shape"])
            .collect();
        assert!(shapes.iter().all(|s| *s > 0.0) && shapes[0] != shapes[2]);
        // every geo's target still adds up to its parts (noise 0)
        let y: f64 = rows(&sim.csv)
            .iter()
            .map(|r| r[3].parse::<f64>().unwrap())
            .sum();
        let t = &sim.truth;
        let parts = t.baseline.contribution
            + t.channels.iter().map(|c| c.contribution).sum::<f64>()
            + t.controls.iter().map(|c| c.contribution).sum::<f64>();
        assert!((y - parts).abs() < 1e-3 * 90.0, "{y} {parts}");
        // and the shared-transform panel's contributions differ (the chains do)
        let shared: f64 = a.truth.channels[0].contribution;
        assert!((t.channels[0].contribution - shared).abs() > 1e-6 * shared);
    }

    /// Lift tests on a panel: a holdout in one geo and a national cut. The holdout's true lift
    /// is that geo's own counterfactual computed here from its data (its spend, its size, its
    /// truth's coefficient and the simspec's chain learned on its per-capita spend); the
    /// national test's is the sum over every geo; calibration.json carries the geos.
    #[test]
    fn geo_lift_tests_have_per_geo_truths() {
        let mut v = spec(json!({"count": 3}));
        v["noise_sd"] = json!(1.0);
        v["lift_tests"] = json!([
            {"channel": "a", "start": "2024-02-05", "end": "2024-03-04", "holdout": true,
             "standard_error": 1.0, "geos": ["Geo1"]},
            {"channel": "b", "start": "2024-03-04", "end": "2024-04-01", "spend_change": -100.0,
             "standard_error": 2.0}
        ]);
        let sim = simulate(&parse_simspec(&v, "<test>").unwrap(), None).unwrap();
        assert_eq!(sim.calibration.len(), 2);
        assert_eq!(sim.calibration[0].geos, vec!["Geo1".to_string()]);
        assert!(sim.calibration[1].geos.is_empty());
        let t = &sim.truth.lift_tests;
        assert!(t[0].true_lift < 0.0 && t[1].true_lift < 0.0, "{t:?}");
        // the holdout by hand: Geo1's rows of channel a, per capita, through the chain
        let rows = rows(&sim.csv);
        let g1: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "Geo1").collect();
        let geo = &sim.truth.geos[1];
        let spend: Vec<f64> = g1.iter().map(|r| r[4].parse().unwrap()).collect();
        let dates: Vec<&str> = g1.iter().map(|r| r[1].as_str()).collect();
        let (first, last) = (
            dates.iter().position(|d| *d == "2024-02-05").unwrap(),
            dates.iter().position(|d| *d == "2024-03-04").unwrap(),
        );
        let holdout: Vec<f64> = spend
            .iter()
            .enumerate()
            .map(|(i, x)| if (first..=last).contains(&i) { 0.0 } else { *x })
            .collect();
        let mut chain: mmm_core::transform::TransformChain =
            serde_json::from_value(v["channels"][0]["transforms"].clone()).unwrap();
        let rel = geo.relative_size;
        let per_capita: Vec<f64> = spend.iter().map(|x| x / rel).collect();
        let n = spend.len();
        let mut ws = mmm_core::transform::ChainWorkspace::new(&chain, n);
        let (mut f, mut f_cf) = (vec![0.0; n], vec![0.0; n]);
        chain.learn_apply(&per_capita, &mut f, &mut ws);
        let cf: Vec<f64> = holdout.iter().map(|x| x / rel).collect();
        chain.apply(&cf, &mut f_cf, &mut ws);
        let want =
            rel * geo.channels[0].coefficient * (first..n).map(|t| f_cf[t] - f[t]).sum::<f64>();
        assert!(
            (t[0].true_lift - want).abs() < 1e-6 * want.abs(),
            "{} vs {want}",
            t[0].true_lift
        );
        assert_eq!(t[0].spend_change, -spend[first..=last].iter().sum::<f64>());
    }

    #[test]
    fn geos_refuse_what_they_do_not_simulate_and_clashing_columns() {
        let mut v = spec(json!({"count": 2, "column": "promo"}));
        v["lift_tests"] = json!([{"channel": "a", "start": "2024-02-05", "end": "2024-03-04",
                                 "holdout": true, "standard_error": 1.0, "geos": ["Geo2"]}]);
        let e = parse_simspec(&v, "<test>").unwrap_err().to_string();
        assert!(
            e.contains("/lift_tests/0/geos/0") && e.contains("Geo0 … Geo1"),
            "{e}"
        );
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
