//! Audit speed (issue 24 target: the quickstart with 200 replicates of a ridge spec with a
//! 2,000-evaluation search in under a minute on 2 cores). The spec is
//! `examples/tuning/spec.json` (ridge, differential evolution, 2,000 evaluations, validation
//! split); each replicate is tuned and refitted. Run with `cargo bench --bench audit`
//! (`AUDIT_REPLICATES=N` for another count). Prints the wall time; not a test.

use mmm as _;
use std::time::Instant;

fn main() {
    let replicates: usize = std::env::var("AUDIT_REPLICATES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tuning/spec.json");
    mmm::core::progress::set_quiet(true);
    let start = Instant::now();
    let loaded = mmm::data::spec::load_spec(&spec).unwrap();
    let truth = mmm_audit::fit_truth(&loaded).unwrap();
    let options =
        mmm_audit::AuditOptions::resolve(&loaded, truth.fitted.len(), Some(replicates), None, None)
            .unwrap();
    let work = tempfile::tempdir().unwrap();
    let audit = mmm_audit::run_audit(&loaded, &truth, &options, None, work.path(), false).unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    let s = audit.summary.unwrap();
    println!(
        "audit of {} replicates (ridge, 2,000-evaluation search each): {elapsed:.1} s wall on {} threads, {} failed, verdict {}",
        replicates,
        rayon::current_num_threads(),
        s.n_failed,
        s.verdict
    );
    for c in &s.channels {
        println!(
            "  {:<10} true ROI {:.3}  mean {:.3}  rel. bias {:+.1}%  rel. sd {:.1}%  {}",
            c.name,
            c.roi.truth,
            c.roi.mean,
            100.0 * c.roi.relative_bias,
            100.0 * c.roi.relative_sd,
            c.verdict
        );
    }
}
