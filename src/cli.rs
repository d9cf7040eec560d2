//! The command-line interface, as a library function ([`main`], [`run_with_args`]).

use clap::{Parser, Subcommand};
use mmm_core::error::MmmError;
use mmm_core::registry;
use mmm_data::spec::{experiment_schema, load_spec};
use mmm_engine::experiment;
use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const ABOUT: &str = "Marketing mix modeling: explain a KPI from media spend and controls, \
see what each channel contributed and its ROI, and reallocate the budget.";

const LONG_ABOUT: &str = "\
Marketing mix modeling: explain a KPI from media spend and controls, see what each channel
contributed and its ROI, and reallocate the budget.

An experiment is a JSON spec: the data file, the channels with their transforms (adstock,
saturation…), the controls, the baseline, the model, the causal structure and the optimizer.
Every component is a plugin chosen by its \"type\"; `mmm plugins` lists them with their
parameters and `mmm schema` prints the JSON Schema that editors can use for completion.

Typical session:
  mmm plugins                                  # what can go into a spec
  mmm validate examples/quickstart/spec.json   # check a spec and report every problem
  mmm run examples/quickstart/spec.json --out out/quickstart
                                               # fit; writes results.json, decomposition.csv,
                                               # results.sqlite and report.html
  mmm report out/quickstart                    # rebuild report.html from the results
  mmm predict out/quickstart --plan plan.csv --out out/forecast
                                               # forecast a dated media plan (docs/planning.md)
  mmm run examples/planning/spec_window.json --out out/window
                                               # optimize next quarter's budget with carry-over
                                               # (optimizer.window, docs/optimizers.md)

Exit codes: 0 success, 2 invalid spec, data or command line (the message names the spec
path, or the file, line and column), 1 a fault of mmm. Outputs are all or nothing: built in a
staging folder inside --out and moved into place together; nothing is written outside --out.";

/// The `mmm` command line.
#[derive(Debug, Parser)]
#[command(name = "mmm", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    /// Silence progress bars and the run summary.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// For run, validate and study: refuse any file a spec names (data, holiday calendar,
    /// a study's base spec and truth) outside DIR, symlinks resolved — for services that run
    /// specs written by others.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_root: Option<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit an experiment and write DIR/results.json, DIR/decomposition.csv, DIR/model.json
    /// (the saved model `mmm predict` uses), DIR/run.json (wall time, command line),
    /// DIR/results.sqlite and DIR/report.html.
    ///
    /// With an optimizer that plans a window (`"optimizer": {…, "window": {"start":
    /// "2024-01-01", "end": "2024-03-25"}}` or `{"last": 13}`), budgets are totals over the
    /// window, carry-over from history into it and out of it is counted, the "current" plan
    /// is the spend of a reference window of history, and DIR/window_plan.csv holds the
    /// optimized plan week by week (add the controls and `mmm predict` forecasts it); see
    /// docs/optimizers.md#planning-windows.
    ///
    /// Outputs are built in a staging folder inside DIR and moved into place together (files
    /// of an earlier run that this one does not write, such as draws.csv, are removed);
    /// nothing is written outside DIR, and nothing at all when the spec or data is invalid or
    /// the run is interrupted. DIR must not hold the spec or its data. report.html is one
    /// self-contained page (charts inline, no network) that any browser opens; see
    /// docs/report.md.
    Run {
        /// The experiment spec (JSON); relative paths in it are resolved against its folder.
        spec: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Forecast a dated media plan with a saved model: writes DIR/forecast.csv and
    /// DIR/forecast.json
    ///
    /// MODEL_DIR is the --out folder of `mmm run` (its model.json). PLAN is a CSV with the
    /// model's date column (or `date`): future dates on the model's grid (after the data,
    /// consecutive), per channel its spend (a column named by the channel's spend column or
    /// its name) and every control the model has (a missing one is an error naming it).
    /// Output: per period the expected KPI with its interval, the baseline and each channel's
    /// contribution (with carry-over of historical spend); per channel over the window its
    /// spend, contribution, carry-over in and out, incremental effect and ROI; totals. See
    /// docs/planning.md.
    ///
    /// Example:
    ///   mmm run examples/planning/spec.json --out out/planning
    ///   mmm predict out/planning --plan examples/planning/plan.csv --out out/forecast
    #[command(verbatim_doc_comment)]
    Predict {
        /// The output folder of `mmm run` (holding model.json), or a model.json file.
        model_dir: PathBuf,
        /// The plan (CSV).
        #[arg(long)]
        plan: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Refit a saved model on its data plus new periods and report what moved: writes what
    /// `mmm run` writes for the refit, plus DIR/refresh.json
    ///
    /// MODEL_DIR is the --out folder of `mmm run` (model.json and results.json). NEW is the
    /// whole data: the periods the model was fitted on, unchanged, then the new periods on the
    /// same date grid (a refreshed export). Its first rows are checked against the model's
    /// data: by SHA-256 of the header and first rows (model.json records the data file's), or,
    /// with --history OLD.csv, cell by cell, naming the first differing row and column.
    ///
    /// The spec is kept. A tuned model is re-tuned only within a neighbourhood of its previous
    /// values: value ± FREEDOM × (original range width), clipped to the original range (on a
    /// log scale: value ×/÷ (high/low)^FREEDOM); --bounds-freedom 0 keeps the values.
    ///
    /// refresh.json: the previous model's forecast of the new periods against the actuals
    /// (per period, MAPE, coverage of its interval), and per channel the ROI and contribution
    /// per period of the previous model, the refit with the previous hyperparameters and the
    /// re-tuned refit, split into the change due to the new data and the change due to
    /// re-tuning (with Monte Carlo standard errors for Bayesian models). Same inputs, same
    /// bytes. Exit code 2 when NEW's history differs, it has no new period or its dates leave
    /// the grid. See docs/planning.md.
    ///
    /// Example:
    ///   mmm run examples/refresh/spec.json --out out/refresh-before
    ///   mmm refresh out/refresh-before --data examples/refresh/new.csv --out out/refresh
    #[command(verbatim_doc_comment)]
    Refresh {
        /// The output folder of `mmm run` (holding model.json and results.json).
        model_dir: PathBuf,
        /// The whole data: old periods unchanged, then the new ones (CSV).
        #[arg(long)]
        data: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, short)]
        out: PathBuf,
        /// The data the model was fitted on, to compare NEW's first rows with cell by cell.
        #[arg(long)]
        history: Option<PathBuf>,
        /// Share of each tuned parameter's original range width it may move, in [0, 1].
        #[arg(long, default_value_t = mmm_engine::refresh::DEFAULT_BOUNDS_FREEDOM)]
        bounds_freedom: f64,
    },
    /// Rebuild DIR/report.html from the results in DIR (a run's or a study's --out folder)
    ///
    /// Reads DIR/results.json (with decomposition.csv and draws.csv when present) or, for a
    /// study, DIR/comparison.json, and writes DIR/report.html: one self-contained HTML page
    /// with inline SVG charts (fit, decomposition, contribution and ROI, lift tests, response
    /// curves, adstock, diagnostics, budget, tuning…), each section shown only when the run has its
    /// data. The same results always give the same bytes. See docs/report.md.
    ///
    /// Exit code 2 when DIR holds no results.json / comparison.json or it does not parse.
    ///
    /// Example:
    ///   mmm run examples/quickstart/spec.json --out out/quickstart
    ///   mmm report out/quickstart        # rewrites out/quickstart/report.html
    #[command(verbatim_doc_comment)]
    Report {
        /// The output folder of `mmm run` or `mmm study`.
        dir: PathBuf,
    },
    /// Check a spec (schema, plugin parameters, data) and report every problem found.
    Validate {
        /// The experiment spec (JSON).
        spec: PathBuf,
    },
    /// Print the JSON Schema of an experiment spec, built from every registered plugin.
    Schema,
    /// List every registered plugin by kind, with its description and parameters.
    Plugins {
        /// Print as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Show only the plugin with this type tag (e.g. `bayesian_mmm`), text output.
        name: Option<String>,
    },
    /// Simulate MMM data with a known truth: writes DIR/data.csv and DIR/truth.json
    ///
    /// SIMSPEC (JSON, see docs/simulation.md) gives the seed, periods, frequency and start date,
    /// the channels (spend pattern, transforms written exactly as in an experiment spec,
    /// coefficient), controls (price, promotions, holidays, an unobserved "confounder" that
    /// moves with a channel's spend), baseline, noise and an optional mediator. truth.json
    /// holds each channel's true contribution, ROI and marginal ROI, computed with the same
    /// transform code `mmm run` uses. With "lift_tests", each test's true lift plus noise of
    /// its standard error goes to DIR/calibration.json, ready for an experiment spec's
    /// "calibration". The same SIMSPEC always gives the same bytes.
    ///
    /// Example:
    ///   mmm simulate examples/simulations/seed000/simspec.json --out out/seed000
    ///   mmm run examples/simulations/seed000/spec.json --out out/seed000-fit
    ///   mmm simulate examples/calibration/simspec.json --out out/calibration   # + calibration.json
    ///   mmm simulate --schema > simspec.schema.json   # JSON Schema of SIMSPEC, for editors
    #[command(verbatim_doc_comment)]
    Simulate {
        /// The simulation spec (JSON).
        #[arg(required_unless_present = "schema")]
        simspec: Option<PathBuf>,
        /// Output folder (created if missing).
        #[arg(long, short, required_unless_present = "schema")]
        out: Option<PathBuf>,
        /// Print the JSON Schema of a simulation spec (transforms from the registry) and exit.
        #[arg(long, conflicts_with_all = ["simspec", "out"])]
        schema: bool,
    },
    /// Run one experiment in many variants (models, transforms…) and compare them
    ///
    /// STUDY (JSON, see docs/studies.md) names a base spec and variants: a list of overrides
    /// by JSON pointer ({"name": "slow-tv", "set": {"/media/0/transforms/0/decay": 0.8}}) or a
    /// grid of pointers with alternative values ("*" in a pointer means every array element).
    /// Every variant is validated before any runs; they run in parallel. Writes
    /// DIR/comparison.csv, DIR/comparison.json and DIR/variants/<name>/results.json. With a
    /// "truth" (truth.json from `mmm simulate`) each channel's ROI error is reported and the
    /// variants are ranked by recovery.
    ///
    /// Scale-out: --shard I/N runs variants k with k mod N = I (I is 0-based), and
    /// `mmm study merge` combines shard folders into the files one run would write.
    ///
    /// Examples:
    ///   mmm study examples/simulations/seed000/study.json --out out/study
    ///   mmm study examples/simulations/seed000/study.json --shard 0/4 --out out/shard-0
    ///   mmm study merge out/shard-0 out/shard-1 out/shard-2 out/shard-3 --out out/study
    #[command(
        verbatim_doc_comment,
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true
    )]
    Study {
        /// `merge`: combine shard outputs.
        #[command(subcommand)]
        action: Option<StudyAction>,
        /// The study file (JSON).
        #[arg(required = true)]
        study: Option<PathBuf>,
        /// Output folder (created if missing).
        #[arg(long, short, required = true)]
        out: Option<PathBuf>,
        /// Run only shard I of N (0-based I in 0…N-1; variant k runs in shard k mod N).
        #[arg(long, value_name = "I/N")]
        shard: Option<mmm_study::Shard>,
    },
    /// Can this model, on this data, recover what it reports? Writes DIR/audit.json,
    /// DIR/audit.sqlite and the fit's outputs with DIR/report.html (audit section included)
    ///
    /// Fits SPEC as `mmm run` does and takes the fit as the truth; simulates R replicate data
    /// sets with the real spend, controls and dates (fitted values plus a moving-block
    /// bootstrap of the residuals); refits the same spec (tuning included) on each, in
    /// parallel; and reports per channel the bias, spread and interval coverage of ROI,
    /// contribution and marginal ROI, a verdict (identified / weakly identified / not
    /// identified), the pairs of channels the data cannot tell apart and, when the spec has
    /// an optimizer, how often its reallocation raises the KPI under the truth. Settings come
    /// from the spec's "audit" section, overridden by the flags. See docs/audit.md.
    ///
    /// A Bayesian model (bayesian_linear, bayesian_mmm) has K posterior draws as alternative
    /// truths (--truths, default 8): replicate r is simulated from draw r mod K (its
    /// coefficients and transform parameters) and scored against it; the report gives the
    /// spread of the truths' ROIs beside the estimator's errors.
    ///
    /// Scale-out: --shard I/N refits replicates r with r mod N = I; `mmm audit merge`
    /// combines the shard folders into the files one run writes, byte for byte.
    ///
    /// Examples:
    ///   mmm audit examples/audit/spec.json --out out/audit
    ///   mmm audit spec.json --replicates 400 --shard 0/2 --out out/a0
    ///   mmm audit merge out/a0 out/a1 --out out/audit
    #[command(
        verbatim_doc_comment,
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true
    )]
    Audit {
        /// `merge`: combine shard outputs.
        #[command(subcommand)]
        action: Option<AuditAction>,
        /// The experiment spec (JSON).
        #[arg(required = true)]
        spec: Option<PathBuf>,
        /// Output folder (created if missing).
        #[arg(long, short, required = true)]
        out: Option<PathBuf>,
        /// Number of replicates R (default: /audit/replicates, else 100).
        #[arg(long)]
        replicates: Option<usize>,
        /// Seed of the replicates (default: /audit/seed, else the spec's seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Block length of the residual bootstrap in periods (default: /audit/block_length,
        /// else ceil(n^(1/3)), at least 2).
        #[arg(long)]
        block_length: Option<usize>,
        /// Bayesian models: posterior draws taken as alternative truths, evenly spaced
        /// (default: /audit/truths, else 8; 1 = the posterior-mean fit only).
        #[arg(long)]
        truths: Option<usize>,
        /// Refit only shard I of N (0-based I; replicate r runs in shard r mod N).
        #[arg(long, value_name = "I/N")]
        shard: Option<mmm_audit::Shard>,
    },
}

/// Subcommands of `mmm audit`.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Combine the outputs of `mmm audit --shard I/N` runs into the files one run writes
    #[command(verbatim_doc_comment)]
    Merge {
        /// The shard output folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder (created if missing).
        #[arg(long, short)]
        out: PathBuf,
    },
}

/// Subcommands of `mmm study`.
#[derive(Debug, Subcommand)]
pub enum StudyAction {
    /// Combine the outputs of `mmm study --shard I/N` runs into the files one run writes
    ///
    /// Checks that the folders are shards of one study and hold every variant exactly once,
    /// copies each variant's outputs into DIR/variants/, and writes DIR/comparison.csv and
    /// DIR/comparison.json (byte-identical to an unsharded run).
    ///
    /// Example:
    ///   mmm study merge out/shard-0 out/shard-1 --out out/study
    #[command(verbatim_doc_comment)]
    Merge {
        /// The shard output folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder (created if missing; may be one of the shard folders).
        #[arg(long, short)]
        out: PathBuf,
    },
}

/// Runs the CLI with the process's arguments.
pub fn main() -> ExitCode {
    run_with_args(std::env::args_os())
}

/// Runs the CLI with the given arguments (the first is the program name).
pub fn run_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    mmm_core::progress::set_quiet(cli.quiet);
    // outputs are staged; a signal removes the staging folder before the process ends
    mmm_engine::staging::install_signal_cleanup();
    let result = crate::guard::catch_bug(|| {
        mmm_core::input::set_data_root(cli.data_root.as_deref())?;
        dispatch(&cli)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            mmm_core::errln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(cli: &Cli) -> Result<(), MmmError> {
    match &cli.command {
        Command::Simulate { schema: true, .. } => {
            let s = serde_json::to_string_pretty(&mmm_sim::simspec_schema())
                .map_err(|e| MmmError::Compute(e.to_string()))?;
            mmm_core::outln!("{s}");
            Ok(())
        }
        Command::Simulate {
            simspec: Some(simspec),
            out: Some(out),
            ..
        } => mmm_sim::run_cli(simspec, out, cli.quiet),
        Command::Simulate { .. } => Err(MmmError::Compute(
            "mmm simulate needs SIMSPEC and --out DIR (see mmm simulate --help)".into(),
        )),
        Command::Study {
            action: Some(StudyAction::Merge { dirs, out }),
            ..
        } => mmm_study::merge_cli(dirs, out, cli.quiet, &|staged| {
            mmm_report::write_report(staged).map(|_| ())
        }),
        Command::Study {
            action: None,
            study,
            out,
            shard,
        } => match (study, out) {
            (Some(study), Some(out)) => {
                mmm_study::run_cli(study, out, *shard, cli.quiet, &|staged| match shard {
                    // a shard holds part of the study; the merge writes the report
                    Some(_) => Ok(()),
                    None => mmm_report::write_report(staged).map(|_| ()),
                })
            }
            _ => Err(MmmError::Compute(
                "mmm study needs STUDY and --out DIR (see mmm study --help)".into(),
            )),
        },
        Command::Predict {
            model_dir,
            plan,
            out,
        } => {
            let model_file = if model_dir.is_dir() {
                model_dir.join("model.json")
            } else {
                model_dir.clone()
            };
            mmm_engine::staging::check_out(out, &[plan.clone(), model_file.clone()])?;
            let model = mmm_engine::saved_model::load(&model_file)?;
            let plan_data = mmm_engine::predict::Plan::read(plan, &model)?;
            let forecast = mmm_engine::predict::predict(
                &model,
                &plan_data,
                mmm_engine::saved_model::sha256_file(&model_file),
            )?;
            let stage =
                mmm_engine::staging::Staging::begin(out, mmm_engine::staging::PREDICTION_OUTPUTS)?;
            mmm_engine::output::write_atomic(
                stage.dir(),
                "forecast.csv",
                mmm_engine::predict::forecast_csv(&forecast)?.as_bytes(),
            )?;
            mmm_engine::output::write_atomic(
                stage.dir(),
                "forecast.json",
                mmm_engine::predict::forecast_json(&forecast)?.as_bytes(),
            )?;
            let written = stage.commit()?;
            if !cli.quiet {
                print_forecast(&forecast);
                for w in written {
                    mmm_core::outln!("wrote {}", w.display());
                }
            }
            Ok(())
        }
        Command::Refresh {
            model_dir,
            data,
            out,
            history,
            bounds_freedom,
        } => {
            let model_file = if model_dir.is_dir() {
                model_dir.join("model.json")
            } else {
                model_dir.clone()
            };
            let started = std::time::Instant::now();
            let started_at = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let mut inputs = vec![data.clone(), model_file.clone()];
            inputs.extend(history.iter().cloned());
            mmm_engine::staging::check_out(out, &inputs)?;
            let opts = mmm_engine::refresh::RefreshOptions {
                bounds_freedom: *bounds_freedom,
                history: history.clone(),
            };
            let refreshed = mmm_engine::refresh::refresh(&model_file, data, &opts)?;
            let output = &refreshed.output;
            let stage =
                mmm_engine::staging::Staging::begin(out, mmm_engine::staging::RESULT_OUTPUTS)?;
            let (files, db) = rayon::join(
                || experiment::write_outputs(stage.dir(), output),
                || mmm_export::write_sqlite(stage.dir(), output),
            );
            files?;
            db?;
            mmm_engine::output::write_atomic(
                stage.dir(),
                "refresh.json",
                mmm_engine::refresh::to_json(&refreshed.report)?.as_bytes(),
            )?;
            mmm_report::write_report(stage.dir())?;
            write_run_json(stage.dir(), started, started_at)?;
            let written = stage.commit()?;
            if !cli.quiet {
                print_refresh(&refreshed.report);
                for w in written {
                    mmm_core::outln!("wrote {}", w.display());
                }
            }
            for w in &output.results.warnings {
                mmm_core::errln!("warning: {w}");
            }
            Ok(())
        }
        Command::Audit {
            action: Some(AuditAction::Merge { dirs, out }),
            ..
        } => mmm_audit::merge_cli(dirs, out, cli.quiet, &|staged| {
            mmm_report::write_report(staged).map(|_| ())
        }),
        Command::Audit {
            action: None,
            spec: Some(spec),
            out: Some(out),
            replicates,
            seed,
            block_length,
            truths,
            shard,
        } => mmm_audit::run_cli(
            spec,
            out,
            mmm_audit::Overrides {
                replicates: *replicates,
                seed: *seed,
                block_length: *block_length,
                truths: *truths,
            },
            *shard,
            cli.quiet,
            &|staged| mmm_report::write_report(staged).map(|_| ()),
        ),
        Command::Audit { .. } => Err(MmmError::Usage(
            "mmm audit needs SPEC and --out DIR (see mmm audit --help)".into(),
        )),
        Command::Run { spec, out } => {
            let started = std::time::Instant::now();
            let started_at = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let loaded = load_spec(spec)?;
            // before any work: --out is a folder that does not hold this run's inputs
            let mut inputs = vec![spec.clone()];
            inputs.extend(
                mmm_data::input::spec_files(&loaded)
                    .into_iter()
                    .map(|(p, _)| p),
            );
            mmm_engine::staging::check_out(out, &inputs)?;
            let output = experiment::run(&loaded)?;
            // all or nothing: every output is built in a staging folder inside --out, then
            // moved into place together (stale outputs of an earlier run removed)
            let stage =
                mmm_engine::staging::Staging::begin(out, mmm_engine::staging::RESULT_OUTPUTS)?;
            // the JSON/CSV files and the database are independent: write them side by side
            // (each waits on its own sync); the report reads the JSON/CSV files back
            let (files, db) = rayon::join(
                || experiment::write_outputs(stage.dir(), &output),
                || mmm_export::write_sqlite(stage.dir(), &output),
            );
            files?;
            db?;
            mmm_report::write_report(stage.dir())?;
            // the only output that differs between two runs of one spec on one data set:
            // kept out of results.json, model.json and the report so that they are
            // byte-identical (see docs/results.md, "run.json")
            write_run_json(stage.dir(), started, started_at)?;
            let written = stage.commit()?;
            if !cli.quiet {
                print_summary(&output.results);
                for w in written {
                    mmm_core::outln!("wrote {}", w.display());
                }
            }
            for w in &output.results.warnings {
                mmm_core::errln!("warning: {w}");
            }
            Ok(())
        }
        Command::Report { dir } => {
            let path = mmm_report::rebuild_report(dir)?;
            if !cli.quiet {
                mmm_core::outln!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Validate { spec } => {
            // every problem of the spec and of its data (mmm_engine::check)
            mmm_engine::check::validate_spec_file(spec)?;
            mmm_core::outln!("{}: valid", spec.display());
            Ok(())
        }
        Command::Schema => {
            let s = serde_json::to_string_pretty(&experiment_schema())
                .map_err(|e| MmmError::Compute(e.to_string()))?;
            mmm_core::outln!("{s}");
            Ok(())
        }
        Command::Plugins { json, name } => {
            let text = if *json {
                plugins_json()?
            } else {
                plugins_text(name.as_deref())?
            };
            mmm_core::console::out_str(&text);
            Ok(())
        }
    }
}

/// Parameters of a plugin from its schema: (name, summary of type and range, description).
fn plugin_params(d: &registry::PluginDescriptor) -> Vec<(String, String, String)> {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = (d.schema)(&mut generator).to_value();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, p) in props {
            let mut kind = p
                .get("type")
                .map(|t| match t {
                    Value::String(s) => s.clone(),
                    Value::Array(a) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("|"),
                    _ => String::new(),
                })
                .unwrap_or_else(|| "value".into());
            if let Some(e) = p.get("enum").and_then(Value::as_array) {
                kind = e
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("|");
            }
            let lo = p.get("minimum").map(|v| format!("≥ {v}"));
            let lo_x = p.get("exclusiveMinimum").map(|v| format!("> {v}"));
            let hi = p.get("maximum").map(|v| format!("≤ {v}"));
            let hi_x = p.get("exclusiveMaximum").map(|v| format!("< {v}"));
            let range: Vec<String> = [lo, lo_x, hi, hi_x].into_iter().flatten().collect();
            if !range.is_empty() {
                kind = format!("{kind}, {}", range.join(", "));
            }
            if !required.contains(&name.as_str()) {
                kind = format!("{kind}, optional");
            }
            let desc = p
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .replace('\n', " ");
            out.push((name.clone(), kind, desc));
        }
    }
    out
}

fn plugins_text(only: Option<&str>) -> Result<String, MmmError> {
    registry::all_plugins()?;
    let mut s = String::new();
    for (kind, list) in registry::by_kind() {
        let list: Vec<_> = list
            .into_iter()
            .filter(|d| only.is_none_or(|n| d.tag == n))
            .collect();
        if list.is_empty() {
            continue;
        }
        s.push_str(&format!("{kind}:\n"));
        for d in list {
            s.push_str(&format!("  {:<22} {}\n", d.tag, d.description));
            for (name, kind, desc) in plugin_params(d) {
                s.push_str(&format!("      {name} ({kind}): {desc}\n"));
            }
            s.push_str(&format!(
                "      example: {{\"type\": \"{}\", …{}}}\n",
                d.tag,
                d.example.trim_start_matches('{').trim_end_matches('}')
            ));
        }
        s.push('\n');
    }
    if let (Some(n), true) = (only, s.is_empty()) {
        return Err(MmmError::param(
            "/type",
            format!("no plugin has the type '{n}' (`mmm plugins` lists them)"),
        ));
    }
    Ok(s)
}

/// Every registered plugin by kind, as `mmm plugins --json` prints it (JSON text).
pub fn plugins_json() -> Result<String, MmmError> {
    registry::all_plugins()?;
    let mut kinds = serde_json::Map::new();
    for (kind, list) in registry::by_kind() {
        let items: Vec<Value> = list
            .iter()
            .map(|d| {
                let mut generator =
                    schemars::generate::SchemaSettings::draft2020_12().into_generator();
                serde_json::json!({
                    "type": d.tag,
                    "description": d.description,
                    "parameters": d.tagged_schema(&mut generator),
                    "example": d.tagged_example().unwrap_or(Value::Null),
                })
            })
            .collect();
        kinds.insert(kind.to_string(), Value::Array(items));
    }
    serde_json::to_string_pretty(&Value::Object(kinds))
        .map(|s| s + "\n")
        .map_err(|e| MmmError::Compute(e.to_string()))
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time (seconds).
fn chrono_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn print_forecast(f: &mmm_engine::predict::Forecast) {
    let t = &f.totals;
    mmm_core::outln!(
        "{} — forecast of {} periods ({} to {}), {} interval at {}",
        f.model["name"].as_str().unwrap_or(""),
        f.window["periods"],
        f.window["start"].as_str().unwrap_or(""),
        f.window["end"].as_str().unwrap_or(""),
        f.interval["kind"].as_str().unwrap_or(""),
        f.interval["level"]
    );
    mmm_core::outln!(
        "expected {}: {:.1} [{:.1}, {:.1}]  baseline {:.1}  media {:.1}  spend {:.1}  ROI {}",
        f.target,
        t.expected,
        t.low,
        t.high,
        t.baseline,
        t.media,
        t.spend,
        t.roi.map_or("—".into(), |r| format!("{r:.3}"))
    );
    mmm_core::outln!(
        "{:<16} {:>12} {:>14} {:>12} {:>12} {:>8}",
        "channel",
        "spend",
        "contribution",
        "from history",
        "incremental",
        "ROI"
    );
    for c in &f.channels {
        mmm_core::outln!(
            "{:<16} {:>12.1} {:>14.1} {:>12.1} {:>12.1} {:>8}",
            c.name,
            c.spend,
            c.contribution,
            c.from_history,
            c.incremental,
            c.roi.map_or("—".into(), |r| format!("{r:.3}"))
        );
    }
}

fn print_summary(r: &mmm_engine::results::Results) {
    mmm_core::outln!(
        "{} — {} {} periods ({} to {}), model {}",
        r.name,
        r.data.n_obs,
        r.data.frequency.name(),
        r.data.start,
        r.data.end,
        r.model.model_type
    );
    mmm_core::outln!(
        "fit: R² {:.4}  NRMSE {:.4}  MAPE {}  Durbin–Watson {:.3}",
        r.fit.r2,
        r.fit.nrmse,
        r.fit
            .mape
            .map(|m| format!("{:.2}%", 100.0 * m))
            .unwrap_or_else(|| "n/a".into()),
        r.fit.durbin_watson
    );
    mmm_core::outln!(
        "{:<16} {:>14} {:>14} {:>7} {:>8}  ROI interval",
        "channel",
        "spend",
        "contribution",
        "share",
        "ROI"
    );
    for c in &r.channels {
        let ci = match (c.roi_ci_low, c.roi_ci_high) {
            (Some(a), Some(b)) => format!("[{a:.3}, {b:.3}]"),
            _ => "—".into(),
        };
        mmm_core::outln!(
            "{:<16} {:>14.1} {:>14.1} {:>6.1}% {:>8.3}  {}",
            c.name,
            c.spend,
            c.contribution,
            100.0 * c.share,
            c.roi,
            ci
        );
    }
    if let Some(w) = r
        .optimization
        .as_ref()
        .and_then(|o| o.window.as_ref().map(|w| (o, w)))
    {
        print_window(w.0, w.1);
    }
}

/// The plan for a planning window, in a few lines: the window, the reference plan, budget and
/// incremental KPI of both plans, and per channel the two totals.
fn print_window(o: &mmm_core::optimizer::OptimizationResult, w: &mmm_core::window::WindowReport) {
    mmm_core::outln!(
        "plan ({}) for {} to {} ({} periods), totals over the window; current = {} to {}, {}",
        o.objective,
        w.start,
        w.end,
        w.periods,
        w.reference["start"].as_str().unwrap_or("?"),
        w.reference["end"].as_str().unwrap_or("?"),
        w.reference["source"].as_str().unwrap_or("")
    );
    mmm_core::outln!(
        "budget {:.1} (current {:.1}); incremental KPI {:.1} vs {:.1} ({:+.2}%), ROI {} vs {}",
        w.plan.spend,
        w.reference_plan.spend,
        w.plan.incremental,
        w.reference_plan.incremental,
        o.lift_pct,
        w.plan.roi.map_or("—".into(), |r| format!("{r:.3}")),
        w.reference_plan
            .roi
            .map_or("—".into(), |r| format!("{r:.3}"))
    );
    mmm_core::outln!(
        "{:<16} {:>14} {:>14} {:>8} {:>12} {:>12}",
        "channel",
        "current",
        "plan",
        "change",
        "carry-out",
        "incremental"
    );
    for c in &o.channels {
        let Some(cw) = &c.window else { continue };
        mmm_core::outln!(
            "{:<16} {:>14.1} {:>14.1} {:>7.1}% {:>12.1} {:>12.1}",
            c.name,
            c.current_spend,
            c.optimal_spend,
            c.change_pct,
            cw.plan.carry_out,
            cw.plan.incremental
        );
    }
}

/// Writes `run.json` (tool, version, command line, start time, wall time) into `dir`.
fn write_run_json(
    dir: &Path,
    started: std::time::Instant,
    started_at: i64,
) -> Result<(), MmmError> {
    let run_json = serde_json::json!({
        "tool": "mmm",
        "tool_version": mmm_engine::saved_model::TOOL_VERSION,
        "command": std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>(),
        "started_utc": chrono_utc(started_at),
        "wall_seconds": started.elapsed().as_secs_f64(),
    });
    mmm_engine::output::write_atomic(
        dir,
        "run.json",
        (serde_json::to_string_pretty(&run_json).map_err(|e| MmmError::Compute(e.to_string()))?
            + "\n")
            .as_bytes(),
    )?;
    Ok(())
}

fn print_refresh(r: &mmm_engine::refresh::RefreshReport) {
    let f = &r.forecast_check;
    mmm_core::outln!(
        "{} refreshed: {} new periods ({} to {}); previous model's forecast: MAPE {}, {:.0}% of actuals inside its {} interval at {}",
        r.previous["name"].as_str().unwrap_or(""),
        f.periods,
        r.data["first_new"].as_str().unwrap_or(""),
        r.data["last_new"].as_str().unwrap_or(""),
        f.mape.map_or("—".into(), |m| format!("{m:.2}%")),
        100.0 * f.coverage,
        f.interval["kind"].as_str().unwrap_or(""),
        f.interval["level"]
    );
    for p in &r.parameters {
        mmm_core::outln!(
            "{}: {} -> {} (searched [{}, {}])",
            p.pointer,
            p.previous,
            p.refreshed.map_or("—".into(), |v| v.to_string()),
            p.range[0],
            p.range[1]
        );
    }
    mmm_core::outln!(
        "{:<16} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "channel",
        "ROI prev",
        "ROI new",
        "Δ total",
        "Δ data",
        "Δ tuning"
    );
    for c in &r.channels {
        mmm_core::outln!(
            "{:<16} {:>9.3} {:>9.3} {:>+9.3} {:>+10.3} {:>+10.3}",
            c.name,
            c.roi.previous,
            c.roi.refit_retuned,
            c.roi.change_total,
            c.roi.change_from_data,
            c.roi.change_from_retuning
        );
    }
}
