//! Benchmarks of the model plugins on a 200 × 20 design (intercept, 4 controls, 15 media).
//!
//! Run: `cargo bench -p mmm-models --bench models -- --warm-up-time 1 --measurement-time 2`

use criterion::{criterion_group, criterion_main, Criterion};
use mmm_core::model::{Column, Design, FitProblem, Model, Role};
use mmm_models as _;
use nalgebra::DMatrix;
use std::hint::black_box;

fn design() -> (Design, Vec<f64>) {
    let (n, p) = (200, 20);
    // deterministic pseudo-random numbers (LCG), media with scale differences
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let x = DMatrix::from_fn(n, p, |_, j| match j {
        0 => 1.0,
        1..=4 => next() * 2.0 - 1.0,
        _ => next() * 10f64.powi((j % 4) as i32),
    });
    let columns = (0..p)
        .map(|j| Column {
            name: format!("c{j}"),
            role: match j {
                0 => Role::Intercept,
                1..=4 => Role::Control,
                _ => Role::Media,
            },
            channel: (j >= 5).then(|| j - 5),
        })
        .collect();
    let y = (0..n)
        .map(|i| {
            let mut v = 100.0 + next() * 5.0;
            for j in 1..p {
                let b = if j % 3 == 0 { -0.5 } else { 0.8 } / 10f64.powi((j % 4) as i32);
                v += b * x[(i, j)];
            }
            v
        })
        .collect();
    (Design { columns, x }, y)
}

fn bench(c: &mut Criterion) {
    let (d, y) = design();
    let problem = FitProblem {
        design: &d,
        y: &y,
        media: &[],
        seed: 1,
        calibration: &[],
        geos: &[],
    };
    let models: [(&str, serde_json::Value); 5] = [
        ("ols_full_statistics", serde_json::json!({"type": "ols"})),
        (
            "ridge",
            serde_json::json!({"type": "ridge", "alpha": 1.0, "positive": "none"}),
        ),
        (
            "ridge_positive_media",
            serde_json::json!({"type": "ridge", "alpha": 1.0, "positive": "media"}),
        ),
        (
            "elastic_net",
            serde_json::json!({"type": "elastic_net", "alpha": 0.01, "l1_ratio": 0.5}),
        ),
        (
            "lasso_positive",
            serde_json::json!({"type": "lasso", "alpha": 0.01, "positive": true}),
        ),
    ];
    let mut g = c.benchmark_group("fit_200x20");
    for (name, spec) in models {
        let m: Box<dyn Model> = serde_json::from_value(spec).expect("valid model spec");
        m.fit(&problem).expect("fits");
        g.bench_function(name, |b| b.iter(|| m.fit(black_box(&problem))));
    }
    g.finish();
    let m: Box<dyn Model> =
        serde_json::from_value(serde_json::json!({"type": "bayesian_linear", "positive": "none"}))
            .expect("valid model spec");
    c.bench_function("bayesian_linear_200x20_2000_draws", |b| {
        b.iter(|| m.fit(black_box(&problem)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
