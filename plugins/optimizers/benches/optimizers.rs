//! Optimizer speed: a 10-channel `max_response` (target < 5 ms) and a 20-level `scenarios`
//! sweep (target < 100 ms), on analytic Hill curves.
//!
//! `cargo bench -p mmm-optimizers --bench optimizers -- --warm-up-time 1 --measurement-time 2`

use criterion::{criterion_group, criterion_main, Criterion};
use mmm_core::optimizer::Optimizer;
use mmm_optimizers::max_response::MaxResponse;
use mmm_optimizers::scenarios::Scenarios;
use mmm_optimizers::testing::HillCurves;
use serde_json::json;
use std::hint::black_box;

/// Ten channels; `s_shaped` makes every other channel's Hill shape > 1.
fn curves(s_shaped: bool) -> HillCurves {
    let ch: Vec<(f64, f64, f64, f64)> = (0..10)
        .map(|i| {
            let k = if s_shaped && i % 2 == 1 {
                1.5 + 0.2 * i as f64
            } else {
                0.6 + 0.04 * i as f64
            };
            (
                100.0 + 10.0 * i as f64,
                100.0 + 30.0 * i as f64,
                60.0 + 25.0 * i as f64,
                k,
            )
        })
        .collect();
    HillCurves::new(&ch, 52)
}

fn bench(c: &mut Criterion) {
    let bounded: MaxResponse = serde_json::from_value(json!({
        "budget": {"multiple_of_current": 1.1},
        "bounds": {"default": {"min_change": -0.5, "max_change": 1.0}}
    }))
    .unwrap_or_default();
    for (name, s) in [("concave", false), ("s_shaped", true)] {
        let cv = curves(s);
        c.bench_function(&format!("max_response_10ch_{name}"), |b| {
            b.iter(|| {
                black_box(
                    bounded
                        .optimize(black_box(&cv))
                        .map(|r| r.expected_kpi_optimal),
                )
            })
        });
    }
    let levels: Vec<f64> = (0..20).map(|k| 0.5 + 0.1 * k as f64).collect();
    let sweep: Scenarios = serde_json::from_value(json!({
        "levels": {"multiples_of_current": levels},
        "bounds": {"default": {"min_share": 0.02, "max_share": 0.4}}
    }))
    .unwrap_or_default();
    for (name, s) in [("concave", false), ("s_shaped", true)] {
        let cv = curves(s);
        c.bench_function(&format!("scenarios_20_levels_10ch_{name}"), |b| {
            b.iter(|| black_box(sweep.optimize(black_box(&cv)).map(|r| r.total_budget)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
