//! The same spec gives the same draws whatever the number of threads (chains are seeded from
//! the spec's seed and their index, never from the thread that runs them).

mod common;

use mmm_bayes::BayesianMmm;

#[test]
fn draws_do_not_depend_on_the_thread_count() {
    let example = common::Example::load();
    let model = BayesianMmm {
        chains: 3,
        tune: 150,
        draws: 30,
        progress: false,
        ..Default::default()
    };
    let (density, ..) = model.density(&example.problem(7)).unwrap();
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
