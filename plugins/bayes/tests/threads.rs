//! The same spec gives the same draws whatever the number of threads (chains are seeded from
//! the spec's seed and their index, never from the thread that runs them).

use mmm_bayes::BayesianMmm;
use mmm_core::dataset::ModelData;
use mmm_core::model::FitProblem;
use mmm_core::spec::load_spec;
use std::path::Path;

use mmm_causal as _;
use mmm_transforms as _;

#[test]
fn draws_do_not_depend_on_the_thread_count() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let loaded = load_spec(&root.join("examples/pymc-parity/spec.json")).unwrap();
    let data = ModelData::from_spec(&loaded).unwrap();
    let design = data.design(&data.all_channels(), &[]);
    let model = BayesianMmm {
        chains: 3,
        tune: 150,
        draws: 30,
        progress: false,
        ..Default::default()
    };
    let problem = FitProblem {
        design: &design,
        y: &data.y,
        media: &data.media,
        seed: 7,
    };
    let (density, ..) = model.density(&problem).unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| model.sample(&density, 7).unwrap().draws)
    };
    let one = run(1);
    assert_eq!(one.len(), 3);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
    // and the chains differ from each other
    assert_ne!(one[0], one[1]);
}
