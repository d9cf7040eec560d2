//! The S-shaped path reaches the global optimum: compared with a brute-force grid over 3
//! channels (every split of the budget on a fine grid).

use mmm_core::optimizer::ResponseCurves;
use mmm_optimizers::solver;
use mmm_optimizers::testing::HillCurves;

/// Deterministic pseudo-random numbers in [0, 1) (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Best objective over `s = (j0, j1, N − j0 − j1)·B/N` within the bounds.
fn brute_force(c: &HillCurves, lo: &[f64], hi: &[f64], budget: f64, n: usize) -> f64 {
    let d = budget / n as f64;
    let tab: Vec<Vec<f64>> = (0..3)
        .map(|i| {
            (0..=n)
                .map(|j| {
                    let s = j as f64 * d;
                    if s >= lo[i] - 1e-9 && s <= hi[i] + 1e-9 {
                        c.response(i, s)
                    } else {
                        f64::NEG_INFINITY
                    }
                })
                .collect()
        })
        .collect();
    let mut best = f64::NEG_INFINITY;
    for a in 0..=n {
        for b in 0..=(n - a) {
            let v = tab[0][a] + tab[1][b] + tab[2][n - a - b];
            if v > best {
                best = v;
            }
        }
    }
    best
}

#[test]
fn s_shaped_three_channels_beat_a_fine_grid() {
    let mut rng = Rng(7);
    let mut used_global = 0;
    for case in 0..24 {
        let ch: Vec<(f64, f64, f64, f64)> = (0..3)
            .map(|_| {
                let half = 50.0 + 300.0 * rng.next();
                let beta = 100.0 + 500.0 * rng.next();
                let shape = 1.2 + 2.8 * rng.next();
                (100.0, beta, half, shape)
            })
            .collect();
        let c = HillCurves::new(&ch, 8);
        let budget = 100.0 + 700.0 * rng.next();
        let (lo, hi) = if case % 3 == 2 {
            (
                vec![0.1 * budget, 0.0, 0.0],
                vec![budget, 0.5 * budget, budget],
            )
        } else {
            (vec![0.0; 3], vec![budget; 3])
        };
        let sol = solver::solve(&c, &lo, &hi, budget);
        if sol.method == solver::Method::Global {
            used_global += 1;
        }
        let grid = brute_force(&c, &lo, &hi, budget, 2000);
        let tol = 1e-9 * grid.abs();
        assert!(
            sol.objective >= grid - tol,
            "case {case}: ours {} < grid {grid} ({ch:?}, budget {budget}, spend {:?})",
            sol.objective,
            sol.spend
        );
        let sum: f64 = sol.spend.iter().sum();
        assert!((sum - budget).abs() <= 1e-9 * budget);
        for i in 0..3 {
            assert!(sol.spend[i] >= lo[i] - 1e-12 && sol.spend[i] <= hi[i] + 1e-12);
        }
    }
    assert!(used_global >= 20);
}

#[test]
fn concave_path_is_exact_and_fast() {
    // 10 concave channels: equal marginals, and no grid split does better
    let ch: Vec<(f64, f64, f64, f64)> = (0..10)
        .map(|i| {
            (
                100.0,
                100.0 + 30.0 * i as f64,
                50.0 + 20.0 * i as f64,
                0.6 + 0.04 * i as f64,
            )
        })
        .collect();
    let c = HillCurves::new(&ch, 52);
    let lo = vec![0.0; 10];
    let hi = vec![1000.0; 10];
    let sol = solver::solve(&c, &lo, &hi, 1000.0);
    assert_eq!(sol.method, solver::Method::EqualMarginal);
    let m: Vec<f64> = (0..10).map(|i| c.marginal(i, sol.spend[i])).collect();
    for x in &m {
        assert!((x - m[0]).abs() <= 1e-9 * m[0], "{m:?}");
    }
}
