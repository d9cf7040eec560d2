//! Uniform random search (Bergstra & Bengio 2012): a strong baseline in few dimensions.

use mmm_core::tuning::{BatchEvaluator, Tuner, KIND};
use mmm_core::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Uniform random sampling of the search space.
///
/// # Formula
/// ```text
/// u_k ~ Uniform(0, 1)^d,  k = 1 … budget   (log-uniform in a parameter on a log scale)
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomSearch {}

#[typetag::serde(name = "random")]
impl Tuner for RandomSearch {
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
        let points: Vec<Vec<f64>> = (0..budget)
            .map(|_| (0..dim).map(|_| rng.random::<f64>()).collect())
            .collect();
        for chunk in points.chunks(16384) {
            evaluate(chunk);
        }
        Ok(())
    }
}

mmm_core::register!(
    KIND,
    RandomSearch,
    "random",
    "Uniform random search over the search ranges",
    r#"{}"#
);
