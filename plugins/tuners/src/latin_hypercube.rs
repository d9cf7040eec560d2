//! Latin hypercube sampling (McKay, Beckman & Conover 1979): every parameter's range is cut
//! into `budget` equal strata and each stratum is sampled exactly once.

use mmm_core::tuning::{BatchEvaluator, Tuner, KIND};
use mmm_core::Result;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Latin hypercube sampling.
///
/// # Formula
/// ```text
/// u_{k,j} = (π_j(k) + v_{k,j}) / N,   v ~ Uniform(0, 1),  π_j a random permutation of 0 … N−1
/// ```
/// so that each of the `N` strata of every coordinate holds exactly one point.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatinHypercube {}

/// `n` Latin-hypercube points in `[0, 1]^dim`.
pub fn lhs(n: usize, dim: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
    let mut points = vec![vec![0.0; dim]; n];
    let mut perm: Vec<usize> = (0..n).collect();
    for j in 0..dim {
        perm.shuffle(rng);
        for (k, p) in points.iter_mut().enumerate() {
            p[j] = (perm[k] as f64 + rng.random::<f64>()) / n as f64;
        }
    }
    points
}

#[typetag::serde(name = "latin_hypercube")]
impl Tuner for LatinHypercube {
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn search(
        &self,
        dim: usize,
        budget: usize,
        seed: u64,
        evaluate: &mut BatchEvaluator<'_>,
    ) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let points = lhs(budget, dim, &mut rng);
        for chunk in points.chunks(16384) {
            evaluate(chunk);
        }
        Ok(())
    }
}

mmm_core::register!(
    KIND,
    LatinHypercube,
    "latin_hypercube",
    "Latin hypercube sampling: every parameter's range stratified into equal slices, each sampled once",
    r#"{}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stratum_once() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let p = lhs(50, 3, &mut rng);
        for j in 0..3 {
            let mut strata: Vec<usize> = p.iter().map(|x| (x[j] * 50.0) as usize).collect();
            strata.sort();
            assert_eq!(strata, (0..50).collect::<Vec<_>>());
        }
    }
}
