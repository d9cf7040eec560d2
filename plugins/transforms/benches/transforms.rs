//! `apply` of every built-in transform on 1,000 periods (target: under 5 µs each on one core).
//!
//! Run: `cargo bench -p mmm-transforms --bench transforms -- --warm-up-time 1 --measurement-time 2`
//!
//! The Weibull cases without `l_max` use Robyn's default window, the whole series (1,000
//! periods, λ = 51): 70 (cdf) and 350 (pdf) lags carry weight above 2⁻⁶⁴ of the largest;
//! `weibull_pdf_lmax52` has λ = 6 and 41 such lags. The two whole-series windows are
//! convolved by FFT (from ≈ 40 lags at 1,000 periods), the others directly; the benchmark
//! applies a transform to the same series again and again, as fitting does, so the FFT path
//! reuses the series' spectrum (the ignored test `util::tests::crossover` also times series
//! not seen before). `docs/transforms.md` ("Speed") has the multiply–add counts and the
//! figures.

use criterion::{criterion_group, criterion_main, Criterion};
use mmm_core::transform::Transform;
use mmm_transforms as _;
use std::hint::black_box;

const N: usize = 1000;

/// Weekly-looking spend with zeros, bursts and noise.
fn spend(n: usize) -> Vec<f64> {
    (0..n)
        .map(|t| {
            let base = 40.0 + 25.0 * (t as f64 * 0.48).sin() + ((t * 7919 % 23) as f64 - 11.0);
            match t % 26 {
                0..=2 => 0.0,
                7 => 250.0,
                _ => base.max(0.0),
            }
        })
        .collect()
}

fn cases() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "geometric_adstock",
            r#"{"type":"geometric_adstock","decay":0.6}"#,
        ),
        (
            "geometric_adstock_lmax8_norm",
            r#"{"type":"geometric_adstock","decay":0.6,"l_max":8,"normalize":true}"#,
        ),
        (
            "delayed_adstock_lmax12",
            r#"{"type":"delayed_adstock","decay":0.6,"theta":2,"l_max":12}"#,
        ),
        (
            "weibull_cdf_window_series",
            r#"{"type":"weibull_adstock","shape":1.5,"scale":0.05,"variant":"cdf"}"#,
        ),
        (
            "weibull_pdf_window_series",
            r#"{"type":"weibull_adstock","shape":2.0,"scale":0.05,"variant":"pdf"}"#,
        ),
        (
            "weibull_pdf_lmax52",
            r#"{"type":"weibull_adstock","shape":2.0,"scale":0.1,"variant":"pdf","l_max":52}"#,
        ),
        (
            "hill_shape2",
            r#"{"type":"hill","half_saturation":60,"shape":2}"#,
        ),
        (
            "hill_shape0.7",
            r#"{"type":"hill","half_saturation":60,"shape":0.7}"#,
        ),
        (
            "hill_robyn",
            r#"{"type":"hill_robyn","alpha":2.3,"gamma":0.5}"#,
        ),
        ("logistic", r#"{"type":"logistic","lam":0.02}"#),
        (
            "michaelis_menten",
            r#"{"type":"michaelis_menten","vmax":5,"k":60}"#,
        ),
        ("tanh", r#"{"type":"tanh","b":3,"c":40}"#),
        ("power", r#"{"type":"power","exponent":0.6}"#),
        ("log", r#"{"type":"log","scale":50}"#),
        ("scale", r#"{"type":"scale","by":"max"}"#),
    ]
}

fn bench(c: &mut Criterion) {
    let x = spend(N);
    let mut out = vec![0.0; N];
    let mut g = c.benchmark_group("apply_1000");
    for (name, json) in cases() {
        let mut t: Box<dyn Transform> = serde_json::from_str(json).expect("valid spec");
        t.learn(&x);
        g.bench_function(name, |b| {
            b.iter(|| {
                t.apply(black_box(&x), &mut out);
                black_box(&out);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
