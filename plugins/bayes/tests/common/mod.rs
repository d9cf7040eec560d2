//! The PyMC-Marketing example (`examples/pymc-parity`) as the tests of this crate load it.
#![allow(dead_code)]

use mmm_bayes::BayesianMmm;
use mmm_core::dataset::ModelData;
use mmm_core::model::{Design, FitProblem};
use mmm_data::dataset::FromSpec;
use mmm_data::spec::load_spec;
use std::path::{Path, PathBuf};

// the built-in transforms and causal structures the example's spec names
use mmm_causal as _;
use mmm_transforms as _;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The example's data, its design (every channel, no extra regressor), the spec's
/// `bayesian_mmm` (progress bar off) and the spec's seed.
pub struct Example {
    pub data: ModelData,
    pub design: Design,
    pub model: BayesianMmm,
    pub seed: u64,
}

impl Example {
    /// Loads `examples/pymc-parity/spec.json` and its data.
    pub fn load() -> Example {
        let loaded = load_spec(&root().join("examples/pymc-parity/spec.json")).unwrap();
        let data = ModelData::from_spec(&loaded).unwrap();
        let design = data.design(&data.all_channels(), &[]);
        let mut spec_model = serde_json::to_value(&loaded.spec.model).unwrap();
        spec_model.as_object_mut().unwrap().remove("type");
        let mut model: BayesianMmm = serde_json::from_value(spec_model).unwrap();
        model.progress = false;
        Example {
            data,
            design,
            model,
            seed: loaded.spec.seed,
        }
    }

    /// The fit problem of the example's design and target at `seed`.
    pub fn problem(&self, seed: u64) -> FitProblem<'_> {
        FitProblem {
            design: &self.design,
            y: &self.data.y,
            media: &self.data.media,
            seed,
            calibration: &[],
            geos: &[],
        }
    }
}
