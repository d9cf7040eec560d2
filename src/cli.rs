//! The command-line interface, as a library function ([`main`], [`run_with_args`]).

use clap::{Parser, Subcommand};
use mmm_core::error::MmmError;
use mmm_core::experiment;
use mmm_core::registry;
use mmm_core::spec::{experiment_schema, load_spec};
use serde_json::Value;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
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
                                               # fit; writes results.json and decomposition.csv

Exit codes: 0 success, 2 invalid spec or data (the message names the spec path, or the file,
line and column), 1 any other failure.";

/// The `mmm` command line.
#[derive(Debug, Parser)]
#[command(name = "mmm", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    /// Silence progress bars and the run summary.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit an experiment and write DIR/results.json and DIR/decomposition.csv.
    ///
    /// Outputs are written to temporary files and renamed into place; nothing is written
    /// outside DIR, and nothing at all when the spec or data is invalid.
    Run {
        /// The experiment spec (JSON); relative paths in it are resolved against its folder.
        spec: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, short)]
        out: PathBuf,
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
    match dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(cli: &Cli) -> Result<(), MmmError> {
    match &cli.command {
        Command::Run { spec, out } => {
            let loaded = load_spec(spec)?;
            let output = experiment::run(&loaded)?;
            let written = experiment::write_outputs(out, &output)?;
            if !cli.quiet {
                print_summary(&output.results);
                for w in written {
                    println!("wrote {}", w.display());
                }
            }
            for w in &output.results.warnings {
                eprintln!("warning: {w}");
            }
            Ok(())
        }
        Command::Validate { spec } => {
            let loaded = load_spec(spec)?;
            // Data checks too: a spec that names a missing column is not valid.
            mmm_core::dataset::ModelData::from_spec(&loaded)?;
            println!("{}: valid", spec.display());
            Ok(())
        }
        Command::Schema => {
            let s = serde_json::to_string_pretty(&experiment_schema())
                .map_err(|e| MmmError::Compute(e.to_string()))?;
            println!("{s}");
            Ok(())
        }
        Command::Plugins { json } => {
            let text = if *json { plugins_json()? } else { plugins_text()? };
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
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
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("|"),
                    _ => String::new(),
                })
                .unwrap_or_else(|| "value".into());
            if let Some(e) = p.get("enum").and_then(Value::as_array) {
                kind = e.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("|");
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
            let desc = p.get("description").and_then(Value::as_str).unwrap_or("").replace('\n', " ");
            out.push((name.clone(), kind, desc));
        }
    }
    out
}

fn plugins_text() -> Result<String, MmmError> {
    registry::all_plugins()?;
    let mut s = String::new();
    for (kind, list) in registry::by_kind() {
        s.push_str(&format!("{kind}:\n"));
        for d in list {
            s.push_str(&format!("  {:<22} {}\n", d.tag, d.description));
            for (name, kind, desc) in plugin_params(d) {
                s.push_str(&format!("      {name} ({kind}): {desc}\n"));
            }
            s.push_str(&format!("      example: {{\"type\": \"{}\", …{}}}\n", d.tag, d.example.trim_start_matches('{').trim_end_matches('}')));
        }
        s.push('\n');
    }
    Ok(s)
}

fn plugins_json() -> Result<String, MmmError> {
    registry::all_plugins()?;
    let mut kinds = serde_json::Map::new();
    for (kind, list) in registry::by_kind() {
        let items: Vec<Value> = list
            .iter()
            .map(|d| {
                let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
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

fn print_summary(r: &mmm_core::results::Results) {
    println!("{} — {} {} periods ({} to {}), model {}", r.name, r.data.n_obs, match r.data.frequency {
        mmm_core::data::Frequency::Daily => "daily",
        mmm_core::data::Frequency::Weekly => "weekly",
    }, r.data.start, r.data.end, r.model.model_type);
    println!(
        "fit: R² {:.4}  NRMSE {:.4}  MAPE {}  Durbin–Watson {:.3}",
        r.fit.r2,
        r.fit.nrmse,
        r.fit.mape.map(|m| format!("{:.2}%", 100.0 * m)).unwrap_or_else(|| "n/a".into()),
        r.fit.durbin_watson
    );
    println!("{:<16} {:>14} {:>14} {:>7} {:>8}  {}", "channel", "spend", "contribution", "share", "ROI", "ROI interval");
    for c in &r.channels {
        let ci = match (c.roi_ci_low, c.roi_ci_high) {
            (Some(a), Some(b)) => format!("[{a:.3}, {b:.3}]"),
            _ => "—".into(),
        };
        println!(
            "{:<16} {:>14.1} {:>14.1} {:>6.1}% {:>8.3}  {}",
            c.name,
            c.spend,
            c.contribution,
            100.0 * c.share,
            c.roi,
            ci
        );
    }
}
