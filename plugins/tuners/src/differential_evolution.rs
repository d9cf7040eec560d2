//! Differential evolution (Storn & Price 1997), multi-objective by Pareto selection as in DEMO
//! (Robič & Filipič 2005) with NSGA-II truncation (Deb et al. 2002), the family of Nevergrad's
//! `TwoPointsDE` that Robyn uses.

use crate::latin_hypercube::lhs;
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::tuning::{BatchEvaluator, Tuner, KIND};
use mmm_core::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Differential evolution, `rand/1/bin`.
///
/// # Formula
/// ```text
/// v   = x_r1 + F·(x_r2 − x_r3)                 r1, r2, r3 distinct, ≠ i
/// u_j = v_j if U(0,1) < CR or j = j_rand, else x_ij;   reflected into [0, 1]
/// one objective:   x_i ← u if f(u) ≤ f(x_i)
/// several (DEMO):  u replaces x_i if it dominates it, is dropped if dominated, else both are
///                  kept and the population is cut back to NP by non-dominated rank, then
///                  crowding distance (NSGA-II)
/// ```
/// The first generation is a Latin hypercube; each generation is one parallel batch.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DifferentialEvolution {
    /// Population size NP (default max(20, 10·d)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 4, max = 100000))]
    pub population: Option<u32>,
    /// Differential weight F, in (0, 2] (default 0.5).
    #[serde(default = "default_f")]
    #[schemars(extend("exclusiveMinimum" = 0.0), range(max = 2.0))]
    pub weight: f64,
    /// Crossover probability CR, in [0, 1] (default 0.9).
    #[serde(default = "default_cr")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub crossover: f64,
}

fn default_f() -> f64 {
    0.5
}
fn default_cr() -> f64 {
    0.9
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec::lower_open("weight", 0.0, 2.0),
    ParamSpec::closed("crossover", 0.0, 1.0),
];

fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// Non-dominated rank of every row (0 = Pareto front).
fn ranks(f: &[Vec<f64>]) -> Vec<usize> {
    let n = f.len();
    let mut rank = vec![usize::MAX; n];
    let mut remaining: Vec<usize> = (0..n).collect();
    let mut r = 0;
    while !remaining.is_empty() {
        let front: Vec<usize> = remaining
            .iter()
            .copied()
            .filter(|&i| !remaining.iter().any(|&j| j != i && dominates(&f[j], &f[i])))
            .collect();
        for &i in &front {
            rank[i] = r;
        }
        remaining.retain(|i| !front.contains(i));
        r += 1;
    }
    rank
}

/// Crowding distance of each member of one front.
fn crowding(f: &[Vec<f64>], members: &[usize]) -> Vec<f64> {
    let m = members.len();
    let mut d = vec![0.0; m];
    if m <= 2 {
        return vec![f64::INFINITY; m];
    }
    for j in 0..f[members[0]].len() {
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| {
            f[members[a]][j]
                .total_cmp(&f[members[b]][j])
                .then(a.cmp(&b))
        });
        let lo = f[members[order[0]]][j];
        let hi = f[members[order[m - 1]]][j];
        d[order[0]] = f64::INFINITY;
        d[order[m - 1]] = f64::INFINITY;
        if hi > lo && hi.is_finite() && lo.is_finite() {
            for k in 1..m - 1 {
                d[order[k]] +=
                    (f[members[order[k + 1]]][j] - f[members[order[k - 1]]][j]) / (hi - lo);
            }
        }
    }
    d
}

/// Keeps the `np` best of a population by (rank, −crowding), in a deterministic order.
fn truncate(x: Vec<Vec<f64>>, f: Vec<Vec<f64>>, np: usize) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    if x.len() <= np {
        return (x, f);
    }
    let rank = ranks(&f);
    let mut crowd = vec![0.0; x.len()];
    let max_rank = rank.iter().copied().max().unwrap_or(0);
    for r in 0..=max_rank {
        let members: Vec<usize> = (0..x.len()).filter(|&i| rank[i] == r).collect();
        for (k, c) in crowding(&f, &members).into_iter().enumerate() {
            crowd[members[k]] = c;
        }
    }
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| {
        rank[a]
            .cmp(&rank[b])
            .then(crowd[b].total_cmp(&crowd[a]))
            .then(a.cmp(&b))
    });
    order.truncate(np);
    order.sort_unstable();
    (
        order.iter().map(|&i| x[i].clone()).collect(),
        order.iter().map(|&i| f[i].clone()).collect(),
    )
}

fn reflect(v: f64) -> f64 {
    let mut v = v;
    for _ in 0..4 {
        if v < 0.0 {
            v = -v;
        } else if v > 1.0 {
            v = 2.0 - v;
        } else {
            break;
        }
    }
    v.clamp(0.0, 1.0)
}

#[typetag::serde(name = "differential_evolution")]
impl Tuner for DifferentialEvolution {
    fn validate(&self) -> Result<()> {
        check_all(PARAMS, &[self.weight, self.crossover])
    }

    fn search(
        &self,
        dim: usize,
        budget: usize,
        seed: u64,
        evaluate: &mut BatchEvaluator<'_>,
    ) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let np = (self
            .population
            .map(|p| p as usize)
            .unwrap_or((10 * dim).max(20)))
        .clamp(4, budget.max(4));
        let mut x = lhs(np.min(budget), dim, &mut rng);
        let mut f = evaluate(&x);
        x.truncate(f.len());
        let mut used = f.len();
        while used < budget && x.len() >= 4 {
            let n = x.len();
            let trials: Vec<Vec<f64>> = (0..n)
                .map(|i| {
                    let pick = |rng: &mut ChaCha8Rng, not: &[usize]| loop {
                        let r = rng.random_range(0..n);
                        if !not.contains(&r) {
                            break r;
                        }
                    };
                    let r1 = pick(&mut rng, &[i]);
                    let r2 = pick(&mut rng, &[i, r1]);
                    let r3 = pick(&mut rng, &[i, r1, r2]);
                    let j_rand = rng.random_range(0..dim);
                    (0..dim)
                        .map(|j| {
                            if rng.random::<f64>() < self.crossover || j == j_rand {
                                reflect(x[r1][j] + self.weight * (x[r2][j] - x[r3][j]))
                            } else {
                                x[i][j]
                            }
                        })
                        .collect()
                })
                .collect();
            let take = trials.len().min(budget - used);
            let ft = evaluate(&trials[..take]);
            used += ft.len();
            if ft.is_empty() {
                break;
            }
            let single = f.first().map(|v| v.len() == 1).unwrap_or(true);
            let mut next_x = Vec::with_capacity(2 * n);
            let mut next_f = Vec::with_capacity(2 * n);
            for i in 0..n {
                match ft.get(i) {
                    None => {
                        next_x.push(x[i].clone());
                        next_f.push(f[i].clone());
                    }
                    Some(fu) if single && fu[0] <= f[i][0] => {
                        next_x.push(trials[i].clone());
                        next_f.push(fu.clone());
                    }
                    Some(_) if single => {
                        next_x.push(x[i].clone());
                        next_f.push(f[i].clone());
                    }
                    Some(fu) => {
                        if dominates(fu, &f[i]) {
                            next_x.push(trials[i].clone());
                            next_f.push(fu.clone());
                        } else if dominates(&f[i], fu) {
                            next_x.push(x[i].clone());
                            next_f.push(f[i].clone());
                        } else {
                            next_x.push(x[i].clone());
                            next_f.push(f[i].clone());
                            next_x.push(trials[i].clone());
                            next_f.push(fu.clone());
                        }
                    }
                }
            }
            (x, f) = truncate(next_x, next_f, np);
        }
        Ok(())
    }
}

mmm_core::register!(
    KIND,
    DifferentialEvolution,
    "differential_evolution",
    "Differential evolution (rand/1/bin), multi-objective by Pareto selection (DEMO / NSGA-II)",
    r#"{"weight": 0.5, "crossover": 0.9}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(objectives: usize, budget: usize) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let de = DifferentialEvolution {
            population: Some(20),
            weight: 0.6,
            crossover: 0.9,
        };
        let mut xs = Vec::new();
        let mut fs = Vec::new();
        let mut eval = |b: &[Vec<f64>]| -> Vec<Vec<f64>> {
            let out: Vec<Vec<f64>> = b
                .iter()
                .map(|u| {
                    let a: f64 = u.iter().map(|v| (v - 0.3).powi(2)).sum();
                    let c: f64 = u.iter().map(|v| (v - 0.7).powi(2)).sum();
                    if objectives == 1 {
                        vec![a]
                    } else {
                        vec![a, c]
                    }
                })
                .collect();
            xs.extend(b.iter().cloned());
            fs.extend(out.iter().cloned());
            out
        };
        de.search(3, budget, 5, &mut eval).unwrap();
        (xs, fs)
    }

    #[test]
    fn finds_the_minimum_of_a_sphere() {
        let (_, fs) = run(1, 2000);
        let best = fs.iter().map(|f| f[0]).fold(f64::INFINITY, f64::min);
        assert!(best < 1e-6, "best {best}");
    }

    #[test]
    fn respects_budget_and_is_deterministic() {
        let (x1, _) = run(2, 777);
        let (x2, _) = run(2, 777);
        assert_eq!(x1.len(), 777);
        assert_eq!(x1, x2);
    }

    #[test]
    fn spreads_along_the_pareto_front() {
        let (_, fs) = run(2, 3000);
        // the front of (|u−0.3|², |u−0.7|²) runs from (0, 0.48) to (0.48, 0); DE must reach both ends
        let near_a = fs.iter().any(|f| f[0] < 0.01 && f[1] < 0.5);
        let near_c = fs.iter().any(|f| f[1] < 0.01 && f[0] < 0.5);
        assert!(near_a && near_c);
    }
}
