//! # mmm-sim
//!
//! Simulated marketing mix data with a known truth, for testing that mmm recovers what it
//! should. A simulation spec (SIMSPEC, JSON; see `docs/simulation.md`) names the periods, the
//! channels with their spend patterns, transforms (any registered transform, written exactly as
//! in an experiment spec) and coefficients, the controls, the baseline, the noise and an
//! optional mediator. [`simulate()`] turns it into `data.csv` and `truth.json`: each channel's
//! true contribution, ROI and marginal ROI, computed with the same transform and response-curve
//! code that `mmm run` uses.
//!
//! ```no_run
//! # fn main() -> mmm_core::Result<()> {
//! let spec = mmm_sim::spec::load_simspec(std::path::Path::new("examples/simulations/seed000/simspec.json"))?;
//! let sim = mmm_sim::simulate(&spec, None)?;
//! mmm_sim::write_outputs(std::path::Path::new("out/sim"), &sim)?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod checks;
pub mod geo;
pub mod simulate;
pub mod spec;

pub use simulate::{simulate, Simulation, Truth};
pub use spec::{load_simspec, parse_simspec, simspec_schema, SimSpec};

use mmm_core::error::{MmmError, Result};
use mmm_engine::output::{ensure_dir, write_atomic};
use std::path::{Path, PathBuf};

/// Writes `data.csv`, `truth.json` and, when the simulation has lift tests, `calibration.json`
/// (the spec's `calibration` list with the measured lifts) into `out_dir` (atomically);
/// returns their paths.
pub fn write_outputs(out_dir: &Path, sim: &Simulation) -> Result<Vec<PathBuf>> {
    ensure_dir(out_dir)?;
    let truth = serde_json::to_string_pretty(&sim.truth)
        .map_err(|e| MmmError::Compute(format!("serializing the truth: {e}")))?;
    let a = write_atomic(out_dir, "data.csv", sim.csv.as_bytes())?;
    let b = write_atomic(out_dir, "truth.json", (truth + "\n").as_bytes())?;
    let mut written = vec![a, b];
    if !sim.calibration.is_empty() {
        let cal = serde_json::to_string_pretty(&sim.calibration)
            .map_err(|e| MmmError::Compute(format!("serializing the lift tests: {e}")))?;
        written.push(write_atomic(
            out_dir,
            "calibration.json",
            (cal + "\n").as_bytes(),
        )?);
    }
    Ok(written)
}

/// `mmm simulate SIMSPEC --out DIR`: loads and checks the spec, simulates, writes the outputs
/// and (unless `quiet`) prints a summary of the truth.
pub fn run_cli(simspec: &Path, out: &Path, quiet: bool) -> Result<()> {
    let file = simspec.display().to_string();
    let raw = mmm_core::json_text::read_json_file(simspec, &file)?;
    let spec = parse_simspec(&raw, &file)?;
    mmm_engine::staging::check_out(out, &[simspec.to_path_buf()])?;
    let sim = simulate(&spec, Some(&raw))?;
    checks::check_finite(&sim, &file)?;
    // all or nothing: both files are built in a staging folder, then moved in together
    let stage = mmm_engine::staging::Staging::begin(out, mmm_engine::staging::SIMULATION_OUTPUTS)?;
    write_outputs(stage.dir(), &sim)?;
    let written = stage.commit()?;
    if !quiet {
        let t = &sim.truth;
        mmm_core::outln!(
            "{} — {} periods from {} to {}, noise sd {}",
            t.name,
            t.periods,
            t.start,
            t.end,
            t.noise_sd
        );
        if !t.geos.is_empty() {
            let pops: Vec<f64> = t.geos.iter().map(|g| g.population).collect();
            mmm_core::outln!(
                "{} geos, populations {:.0} to {:.0}; national figures (sums over the geos):",
                t.geos.len(),
                pops.iter().copied().fold(f64::INFINITY, f64::min),
                pops.iter().copied().fold(0.0, f64::max)
            );
        }
        mmm_core::outln!(
            "{:<16} {:>14} {:>14} {:>9} {:>9}",
            "channel",
            "spend",
            "contribution",
            "ROI",
            "mROI"
        );
        for c in &t.channels {
            mmm_core::outln!(
                "{:<16} {:>14.1} {:>14.1} {:>9.4} {:>9.4}",
                c.name,
                c.spend,
                c.contribution,
                c.roi,
                c.mroi
            );
        }
        for w in written {
            mmm_core::outln!("wrote {}", w.display());
        }
    }
    Ok(())
}
