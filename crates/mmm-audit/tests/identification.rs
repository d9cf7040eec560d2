//! The audit on simulated data with a known answer: two nearly collinear channels are flagged
//! as not separately identified while their sum is identified; independent, varied spend gives
//! every channel identified with interval coverage within 5 points of nominal.

use mmm_audit::{fit_truth, run_audit, Audit, AuditOptions};
use mmm_data::spec::load_spec;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde_json::json;
use std::path::Path;

// link the plugins' registrations
use mmm_causal as _;
use mmm_models as _;
use mmm_optimizers as _;
use mmm_transforms as _;

/// Weekly data: channels `a`, `b`, `c` with linear effects 2.0, 1.5, 3.0 per unit of spend and
/// Gaussian noise of sd `noise`; `b` is `a` plus a little noise of sd `b_noise` when
/// `collinear`, independent otherwise.
fn write_data(dir: &Path, collinear: bool, noise: f64, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let eps = Normal::new(0.0, noise).unwrap();
    let small = Normal::new(0.0, 60.0).unwrap();
    let mut text = String::from("date,y,a,b,c\n");
    for date in chrono_like_start() {
        let a: f64 = rng.random_range(1000.0..5000.0);
        let b: f64 = if collinear {
            (a + small.sample(&mut rng)).max(0.0)
        } else {
            rng.random_range(1000.0..5000.0)
        };
        let c: f64 = rng.random_range(500.0..3000.0);
        let y = 20000.0 + 2.0 * a + 1.5 * b + 3.0 * c + eps.sample(&mut rng);
        text.push_str(&format!("{date},{y:.3},{a:.2},{b:.2},{c:.2}\n"));
    }
    std::fs::write(dir.join("data.csv"), text).unwrap();
}

/// 156 Mondays from 2021-01-04, as ISO dates.
fn chrono_like_start() -> Vec<String> {
    let mut out = Vec::new();
    let days_in = |y: i32, m: u32| match m {
        2 if y % 4 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let (mut y, mut m, mut d) = (2021, 1u32, 4u32);
    for _ in 0..156 {
        out.push(format!("{y:04}-{m:02}-{d:02}"));
        d += 7;
        while d > days_in(y, m) {
            d -= days_in(y, m);
            m += 1;
            if m > 12 {
                m = 1;
                y += 1;
            }
        }
    }
    out
}

fn write_spec(dir: &Path) {
    let spec = json!({
        "name": "audit-test", "seed": 3,
        "data": {"path": "data.csv", "date": "date", "target": "y"},
        "media": [
            {"name": "a", "spend": "a"},
            {"name": "b", "spend": "b"},
            {"name": "c", "spend": "c"}
        ],
        "model": {"type": "ols"}
    });
    std::fs::write(dir.join("spec.json"), spec.to_string()).unwrap();
}

fn audit(collinear: bool, replicates: usize) -> Audit {
    let dir = tempfile::tempdir().unwrap();
    write_data(dir.path(), collinear, 1500.0, 17);
    write_spec(dir.path());
    let loaded = load_spec(&dir.path().join("spec.json")).unwrap();
    let truth = fit_truth(&loaded).unwrap();
    let options =
        AuditOptions::resolve(&loaded, truth.fitted.len(), Some(replicates), Some(5), None)
            .unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    run_audit(&loaded, &truth, &options, None, &work, false).unwrap()
}

#[test]
fn collinear_channels_are_not_separately_identified_but_their_sum_is() {
    let a = audit(true, 100);
    let s = a.summary.as_ref().unwrap();
    assert_eq!(s.n_failed, 0);
    let verdict = |name: &str| &s.channels.iter().find(|c| c.name == name).unwrap().verdict;
    assert_ne!(verdict("a"), "identified", "{s:#?}");
    assert_ne!(verdict("b"), "identified", "{s:#?}");
    assert_eq!(verdict("c"), "identified", "{s:#?}");
    assert_eq!(s.pairs.len(), 1, "{:#?}", s.pairs);
    let p = &s.pairs[0];
    assert_eq!((p.a.as_str(), p.b.as_str()), ("a", "b"));
    eprintln!(
        "collinear: a {} (rel. sd {:.3}), b {} (rel. sd {:.3}), correlation {:.4}, combined rel. sd {:.4} -> {}",
        verdict("a"),
        s.channels[0].roi.relative_sd,
        verdict("b"),
        s.channels[1].roi.relative_sd,
        p.correlation,
        p.combined_roi.relative_sd,
        p.combined_verdict
    );
    assert!(p.correlation < -0.9, "{}", p.correlation);
    assert_eq!(p.combined_verdict, "identified", "{p:#?}");
    assert_eq!(s.verdict, "weak");
}

#[test]
fn independent_spend_is_identified_with_nominal_coverage() {
    let a = audit(false, 400);
    let s = a.summary.as_ref().unwrap();
    assert_eq!(s.n_ok, 400);
    assert!(s.pairs.is_empty(), "{:#?}", s.pairs);
    for c in &s.channels {
        assert_eq!(c.verdict, "identified", "{c:#?}");
        let cov = c.roi.coverage.expect("OLS reports intervals");
        eprintln!(
            "independent {}: coverage {cov:.4} (nominal {}), rel. bias {:+.4}, rel. sd {:.4}",
            c.name, a.interval_level, c.roi.relative_bias, c.roi.relative_sd
        );
        assert!(
            (cov - a.interval_level).abs() <= 0.05,
            "{}: coverage {cov} vs nominal {}",
            c.name,
            a.interval_level
        );
        // an unbiased estimator of a correctly specified model: bias within 3 Monte Carlo SEs
        let se = c.roi.sd / (s.n_ok as f64).sqrt();
        assert!(c.roi.bias.abs() <= 3.0 * se + 1e-9, "{c:#?}");
    }
    assert_eq!(s.verdict, "identified");
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| audit(true, 12));
    let many = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap()
        .install(|| audit(true, 12));
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        serde_json::to_string(&many).unwrap()
    );
}

#[test]
fn moving_blocks_resample_contiguous_residuals() {
    let dir = tempfile::tempdir().unwrap();
    write_data(dir.path(), false, 1500.0, 17);
    write_spec(dir.path());
    let loaded = load_spec(&dir.path().join("spec.json")).unwrap();
    let truth = fit_truth(&loaded).unwrap();
    let n = truth.fitted.len();
    assert_eq!(mmm_audit::default_block_length(n), 6); // ceil(156^(1/3)) = 6
    let options = AuditOptions::resolve(&loaded, n, Some(10), Some(1), Some(13)).unwrap();
    let y = mmm_audit::replicate_target(&truth, &options, 4);
    let e: Vec<f64> = y.iter().zip(&truth.fitted).map(|(y, f)| y - f).collect();
    // every block of 13 is a contiguous run of the residuals
    for block in e.chunks(13) {
        let start = truth
            .residuals
            .iter()
            .position(|r| (r - block[0]).abs() < 1e-9)
            .unwrap();
        for (k, v) in block.iter().enumerate() {
            assert!((truth.residuals[start + k] - v).abs() < 1e-6);
        }
    }
    // residuals are centred
    let mean = truth.residuals.iter().sum::<f64>() / n as f64;
    assert!(mean.abs() < 1e-6);
    // bad settings are spec errors (exit code 2) naming /audit
    let err = AuditOptions::resolve(&loaded, n, Some(1), None, None).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("/audit/replicates"), "{err}");
}
