//! Planning windows (`optimizer.window`): the window's curves against closed forms and
//! finite differences, the optimizers on them, and the window's errors by spec pointer.

use chrono::NaiveDate;
use mmm_core::data::{parse_date, Frequency};
use mmm_core::optimizer::{Optimizer, ResponseCurves};
use mmm_core::transform::TransformChain;
use mmm_core::window::{PlanningWindow, ResolvedWindow};
use mmm_engine::window::WindowCurves;
use mmm_optimizers as _;
use mmm_transforms as _;
use serde_json::{json, Value};

/// `n` weekly dates from 2024-01-01 (the data ends 2024-12-23 for n = 52).
fn dates(n: usize) -> Vec<NaiveDate> {
    let first = parse_date("2024-01-01").unwrap();
    (0..n)
        .map(|k| Frequency::Weekly.period_date(first, k as i64))
        .collect()
}

fn chain(v: Value) -> TransformChain {
    serde_json::from_value(v).unwrap()
}

fn resolve(w: Value, n: usize) -> mmm_core::Result<ResolvedWindow> {
    let w: PlanningWindow = serde_json::from_value(w).unwrap();
    w.resolve(&dates(n), Frequency::Weekly, "/window")
}

/// Deterministic spend: `base·(1 + 0.5·sin(k))`, with zeros every fifth period.
fn spend(n: usize, base: f64) -> Vec<f64> {
    (0..n)
        .map(|k| {
            if k % 5 == 4 {
                0.0
            } else {
                base * (1.0 + 0.5 * (k as f64).sin())
            }
        })
        .collect()
}

/// Geometric adstock without saturation, `a_t = x_t + θ·a_{t−1}`: a unit spent in the window
/// returns `m/(1 − θ)` in all (carry-over out counted to 1e-10), whatever its timing, so the
/// window's response is `m·S/(1 − θ)` and its mROI `m/(1 − θ)`. The carry-over in is the
/// history's adstock decaying through the gap and the window, summed independently here.
#[test]
fn linear_adstock_matches_the_closed_form() {
    let (theta, m, n) = (0.6, 2.0, 52);
    let h = spend(n, 100.0);
    for (w, gap) in [
        (json!({"start": "2024-12-30", "end": "2025-02-17"}), 0usize),
        (json!({"start": "2025-01-20", "end": "2025-03-10"}), 3),
        (
            json!({"start": "2025-01-20", "end": "2025-03-10", "pattern": "flat"}),
            3,
        ),
    ] {
        let r = resolve(w, n).unwrap();
        assert_eq!((r.periods, r.gap()), (8, gap));
        let c = WindowCurves::new(
            r,
            vec![(
                "tv".into(),
                h.clone(),
                vec![(
                    m,
                    chain(json!([{"type": "geometric_adstock", "decay": theta}])),
                    1.0,
                )],
            )],
        );
        // current = the last 8 weeks of history
        let cur: f64 = h[n - 8..].iter().sum();
        assert!((c.current_spend(0) - cur).abs() < 1e-9);
        for s in [0.0, 10.0, 800.0, 5000.0] {
            let want = m * s / (1.0 - theta);
            assert!(
                (c.response(0, s) - want).abs() < 1e-8 * want.max(1.0),
                "{s}"
            );
            assert!((c.marginal(0, s) - m / (1.0 - theta)).abs() < 1e-8);
        }
        // carry-over in: Σ_{t in window} m·Σ_j θ^{t−j}·h_j
        let start = n + gap;
        let carry_in: f64 = (start..start + 8)
            .map(|t| {
                (0..n)
                    .map(|j| m * theta.powi((t - j) as i32) * h[j])
                    .sum::<f64>()
            })
            .sum();
        let f = c.figures(0, 800.0);
        assert!(
            (f.carry_in - carry_in).abs() < 1e-9 * carry_in,
            "{} {carry_in}",
            f.carry_in
        );
        assert!((f.incremental - m * 800.0 / (1.0 - theta)).abs() < 1e-8 * f.incremental);
        assert!(
            (f.contribution - f.carry_in + f.carry_out - f.incremental).abs()
                < 1e-9 * f.incremental
        );
        assert!((f.roi.unwrap() - m / (1.0 - theta)).abs() < 1e-9);
        assert!((f.spend_per_period - 100.0).abs() < 1e-12);
    }
}

/// Saturation after adstock (Hill on the adstocked spend): the window's mROI is the exact
/// derivative of its response (central differences agree to 1e-6), response is 0 at no spend,
/// and the figures add up (`incremental = contribution − carry_in + carry_out = response`).
#[test]
fn saturating_chain_marginal_is_the_derivative() {
    let n = 60;
    for w in [
        json!({"start": "2025-03-03", "end": "2025-05-26"}),
        json!({"last": 13}),
    ] {
        let r = resolve(w, n).unwrap();
        let c = WindowCurves::new(
            r,
            vec![(
                "tv".into(),
                spend(n, 1000.0),
                vec![(
                    500.0,
                    chain(json!([{"type": "geometric_adstock", "decay": 0.7},
                                 {"type": "hill", "half_saturation": 2500.0, "shape": 1.5}])),
                    1.0,
                )],
            )],
        );
        assert_eq!(c.response(0, 0.0), 0.0);
        for s in [500.0, 5000.0, 13_000.0, 40_000.0] {
            let d = 1e-3 * s;
            let fd = (c.response(0, s + d) - c.response(0, s - d)) / (2.0 * d);
            let g = c.marginal(0, s);
            assert!(
                (fd - g).abs() < 1e-6 * g.abs().max(1e-12),
                "{s}: {fd} vs {g}"
            );
            let f = c.figures(0, s);
            assert!((f.incremental - c.response(0, s)).abs() < 1e-9 * f.incremental);
            assert!(f.carry_out > 0.0 && f.carry_in > 0.0);
        }
    }
}

/// A posterior's curves are the mean over its draws: two draws with coefficients 1 and 3 give
/// the response of coefficient 2.
#[test]
fn draws_are_averaged() {
    let n = 30;
    let ch = || {
        chain(json!([{"type": "geometric_adstock", "decay": 0.5},
                             {"type": "hill", "half_saturation": 900.0, "shape": 1.0}]))
    };
    let r = resolve(json!({"last": 6}), n).unwrap();
    let two = WindowCurves::new(
        r.clone(),
        vec![(
            "a".into(),
            spend(n, 500.0),
            vec![(1.0, ch(), 1.0), (3.0, ch(), 1.0)],
        )],
    );
    let one = WindowCurves::new(
        r,
        vec![("a".into(), spend(n, 500.0), vec![(2.0, ch(), 1.0)])],
    );
    assert_eq!(two.n_draws(), 2);
    for s in [100.0, 3000.0] {
        assert!((two.response(0, s) - one.response(0, s)).abs() < 1e-9 * one.response(0, s));
        assert!((two.marginal(0, s) - one.marginal(0, s)).abs() < 1e-12);
    }
    let l = two.lift(&[1000.0], &[2000.0], 0.9);
    assert_eq!(l["draws"], 2);
    assert!(l["lift"].as_f64().unwrap() > 0.0);
}

fn two_channels(w: Value) -> WindowCurves {
    let n = 52;
    let r = resolve(w, n).unwrap();
    WindowCurves::new(
        r,
        vec![
            (
                "tv".into(),
                spend(n, 1000.0),
                vec![(
                    400.0,
                    chain(json!([{"type": "geometric_adstock", "decay": 0.7},
                                 {"type": "hill", "half_saturation": 3000.0, "shape": 1.0}])),
                    1.0,
                )],
            ),
            (
                "search".into(),
                spend(n, 300.0),
                vec![(
                    300.0,
                    chain(json!([{"type": "geometric_adstock", "decay": 0.2},
                                 {"type": "hill", "half_saturation": 500.0, "shape": 1.0}])),
                    1.0,
                )],
            ),
        ],
    )
}

fn optimizer(v: Value) -> Box<dyn Optimizer> {
    let o: Box<dyn Optimizer> = serde_json::from_value(v).unwrap();
    o.validate().unwrap();
    o
}

/// `max_response` on a window: the budget is the reference window's total, the plan beats
/// the reference, the window's marginal ROIs are equal at the optimum, and the report's
/// per-channel and total figures, the reference and the per-period schedule add up. Holding
/// every channel at its reference total reproduces the reference window's spend period by
/// period.
#[test]
fn max_response_plans_the_window() {
    let w = json!({"start": "2024-12-30", "end": "2025-03-24"});
    let c = two_channels(w.clone());
    let o = optimizer(json!({"type": "max_response", "window": w}));
    assert!(o.window().is_some());
    let mut r = o.optimize(&c).unwrap();
    c.report(&mut r);
    let cur: f64 = (0..2).map(|i| c.current_spend(i)).sum();
    assert!((r.total_budget - cur).abs() < 1e-6 * cur);
    assert!(r.expected_kpi_optimal > r.expected_kpi_current);
    assert!((r.channels[0].mroi - r.channels[1].mroi).abs() < 1e-6 * r.channels[0].mroi);
    let win = r.window.as_ref().unwrap();
    assert_eq!(
        (win.periods, win.start.as_str(), win.end.as_str()),
        (13, "2024-12-30", "2025-03-24")
    );
    assert_eq!(win.reference["start"], "2024-09-30");
    assert!((win.plan.incremental - r.expected_kpi_optimal).abs() < 1e-6 * win.plan.incremental);
    assert!(
        (win.reference_plan.incremental - r.expected_kpi_current).abs()
            < 1e-6 * win.reference_plan.incremental
    );
    assert!((win.plan.spend - r.total_budget).abs() < 1e-9 * r.total_budget);
    for (i, p) in r.channels.iter().enumerate() {
        let cw = p.window.as_ref().unwrap();
        assert!((cw.plan.incremental - p.expected_contribution).abs() < 1e-6 * cw.plan.incremental);
        assert!((cw.plan.spend - p.optimal_spend).abs() < 1e-12);
        assert!((cw.reference.spend - p.current_spend).abs() < 1e-12);
        // carry-over in does not depend on the plan
        assert!((cw.plan.carry_in - cw.reference.carry_in).abs() < 1e-9 * cw.plan.carry_in);
        let sched: f64 = win
            .schedule
            .iter()
            .map(|s| s.spend[&p.name].as_f64().unwrap())
            .sum();
        assert!(
            (sched - p.optimal_spend).abs() < 1e-6 * p.optimal_spend,
            "{i}"
        );
    }
    // fixed at the reference totals: the schedule is the reference window's spend
    let o = optimizer(json!({"type": "max_response", "window": w,
                             "bounds": {"default": {"min_change": 0.0, "max_change": 0.0}}}));
    let mut r = o.optimize(&c).unwrap();
    c.report(&mut r);
    let win = r.window.as_ref().unwrap();
    for (i, name) in ["tv", "search"].iter().enumerate() {
        for (k, s) in win.schedule.iter().enumerate() {
            let want = c.reference_spend(i)[k];
            let got = s.spend[*name].as_f64().unwrap();
            assert!(
                (got - want).abs() < 1e-6 * want.max(1.0),
                "{name} {k}: {got} vs {want}"
            );
        }
    }
    assert!(r.lift_pct.abs() < 1e-9);
}

/// `target_roas` on a window: the plan's window ROI (incremental KPI over spend, carry-over
/// out counted) equals the target, and 0.1% more budget falls below it.
#[test]
fn target_roas_on_a_window() {
    let w = json!({"last": 13});
    let c = two_channels(w.clone());
    let x = 0.5 * c.marginal(1, 1.0);
    let o =
        optimizer(json!({"type": "target_efficiency", "goal": {"target_roas": x}, "window": w}));
    let mut r = o.optimize(&c).unwrap();
    c.report(&mut r);
    let roi = r.window.as_ref().unwrap().plan.roi.unwrap();
    assert!(roi >= x && roi - x < 1e-8 * x, "{roi} vs {x}");
    let b = r.total_budget * 1.001;
    let o = optimizer(json!({"type": "max_response", "budget": {"total": b}, "window": w}));
    let r2 = o.optimize(&c).unwrap();
    assert!(r2.expected_kpi_optimal / b < x);
}

/// Windows off the grid, inside the data, longer than the history or malformed are errors
/// naming the field.
#[test]
fn window_errors_name_the_field() {
    for (w, ptr, text) in [
        (
            json!({"start": "2024-12-31", "end": "2025-03-24"}),
            "/window/start",
            "not on the data's weekly grid",
        ),
        (
            json!({"start": "2024-12-30", "end": "2025-03-25"}),
            "/window/end",
            "not on the data's weekly grid",
        ),
        (
            json!({"start": "2024-12-16", "end": "2025-03-24"}),
            "/window/start",
            "within the data",
        ),
        (
            json!({"start": "2025-03-24", "end": "2024-12-30"}),
            "/window/end",
            "before start",
        ),
        (
            json!({"start": "2025-13-01", "end": "2025-03-24"}),
            "/window/start",
            "not a date",
        ),
        (
            json!({"start": "2024-12-30"}),
            "/window/end",
            "needs an end",
        ),
        (
            json!({"last": 53}),
            "/window/last",
            "more than the 52 periods",
        ),
        (json!({"last": 0}), "/window/last", "at least one period"),
        (
            json!({"last": 4, "start": "2024-12-30"}),
            "/window",
            "not both",
        ),
        (json!({}), "/window", "needs start and end"),
        (
            json!({"start": "2024-12-30", "end": "2026-12-28"}),
            "/window",
            "no reference window",
        ),
        (
            json!({"last": 4, "reference": {"start": "2024-12-16"}}),
            "/window/reference/start",
            "after the data's end",
        ),
        (
            json!({"last": 4, "reference": {"start": "2023-12-25"}}),
            "/window/reference/start",
            "outside the data",
        ),
        (
            json!({"last": 4, "reference": {"start": "2024-06-03", "end": "2024-06-17"}}),
            "/window/reference/end",
            "as long as the window",
        ),
    ] {
        let e = resolve(w.clone(), 52).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{w}");
        let s = e.to_string();
        assert!(
            s.contains(&format!("{ptr}:")) || s.contains(&format!("{ptr} ")),
            "{w}: {s}"
        );
        assert!(s.contains(text), "{w}: {s}");
    }
    // a chosen reference of the right length
    let r = resolve(
        json!({"last": 4, "reference": {"start": "2024-06-03", "end": "2024-06-24"}}),
        52,
    )
    .unwrap();
    assert_eq!(r.reference_start, 22);
    // the optimizers check the window's fields on their own
    let o: Box<dyn Optimizer> =
        serde_json::from_value(json!({"type": "scenarios", "window": {"last": 0}})).unwrap();
    assert!(o
        .validate()
        .unwrap_err()
        .to_string()
        .contains("/window/last"));
    assert!(serde_json::from_value::<Box<dyn Optimizer>>(
        json!({"type": "max_response", "window": {"lastt": 3}})
    )
    .is_err());
}
