//! The saved model (`model.json`, written by `mmm run` beside `results.json`): everything a
//! forecast of new periods needs, so that `mmm predict` works without the data or the spec.
//!
//! It holds the resolved spec (tuned values filled in), the design's columns with how each is
//! generated for a future date (intercept, trend, Fourier terms, holidays from the calendar,
//! day of week, controls, media), the coefficients, every channel's transform chain with the
//! constants it learned from the data, the tail of the spend history that carry-over needs,
//! the residual scale, a thinned posterior for models with draws, the SHA-256 of every input
//! file, the tool version and the seed. Every field is described in `docs/results.md`.
//!
//! Prediction of a period `t` (point models):
//! ```text
//! ŷ_t = Σ_j β_j·z_j(t) + Σ_i m_i·f_i([h_i, 0_gap, p_i])_t
//! ```
//! with `z_j(t)` the baseline and control columns at `t`, `h_i` the stored spend history,
//! `p_i` the plan's spend and `f_i` channel `i`'s chain (see [`crate::predict`]).

use crate::experiment::RunOutput;
use mmm_core::data::{Frequency, Table};
use mmm_core::error::{MmmError, Result};
use mmm_core::model::Role;
use mmm_core::transform::{ChainWorkspace, TransformChain};
use mmm_data::spec::{ControlSpec, LoadedSpec};
use mmm_data::table::ReadTable;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Version of the `model.json` format; a model of another version is refused with a message
/// naming the version and the tool that wrote it.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// Posterior draws kept in a saved model (evenly thinned).
pub const SAVED_POSTERIOR_DRAWS: usize = 200;

/// The version of mmm (the workspace version).
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One input file of a run, with its SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputFile {
    /// Where the spec names it (`/data/path`, `/baseline/holidays/path`).
    pub pointer: String,
    /// The path as the spec gives it.
    pub path: String,
    /// Hex SHA-256 of the file's bytes; null when the data came from memory (Python API).
    pub sha256: Option<String>,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of a file's bytes; `None` when it cannot be read.
pub fn sha256_file(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(|b| sha256_hex(&b))
}

/// The input files of a spec (data, holiday calendar) with their SHA-256.
pub fn input_files(loaded: &LoadedSpec) -> Vec<InputFile> {
    mmm_data::input::spec_files(loaded)
        .into_iter()
        .map(|(p, pointer)| InputFile {
            pointer: pointer.to_string(),
            path: match pointer {
                "/data/path" => loaded.spec.data.path.clone(),
                _ => loaded
                    .spec
                    .baseline
                    .holidays
                    .as_ref()
                    .map(|h| h.path.clone())
                    .unwrap_or_default(),
            },
            sha256: sha256_file(&p),
        })
        .collect()
}

/// How a design column is generated for a period (a future one, in a forecast).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnSource {
    /// The constant 1.
    Intercept,
    /// `t + 1` for period index `t` (0 = the data's first period).
    Trend,
    /// `sin(2πk·t/P)` or `cos(2πk·t/P)`.
    Fourier {
        /// Period `P` in periods.
        period: f64,
        /// Harmonic `k`.
        harmonic: u32,
        /// Sine (else cosine).
        sine: bool,
    },
    /// 1 when one of `dates` falls in the period `[start, start + length)`.
    Holiday {
        /// The calendar's dates for this column (ISO).
        dates: Vec<String>,
    },
    /// 1 on this weekday (days from Monday, 1 = Tuesday … 6 = Sunday).
    DayOfWeek {
        /// Days from Monday.
        weekday: u32,
    },
    /// A numeric control: the plan's column of this name.
    Control {
        /// The column.
        column: String,
    },
    /// A categorical control's level indicator: 1 when the plan's column holds `level`.
    ControlLevel {
        /// The column.
        column: String,
        /// The level.
        level: String,
        /// Every level seen in the data (a plan's value must be one of them).
        levels: Vec<String>,
    },
    /// A channel's transformed spend.
    Media {
        /// Index into `channels`.
        channel: usize,
    },
    /// A column a forecast cannot generate (a mediator of a mediated structure).
    Unsupported,
}

/// One design column of the outcome stage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedColumn {
    /// Column name, as in `results.json`.
    pub name: String,
    /// Column role.
    pub role: Role,
    /// Coefficient (posterior mean for models with draws).
    pub coefficient: f64,
    /// How the column is generated for a period.
    pub source: ColumnSource,
}

/// One channel: its chain with learned constants and the spend history carry-over needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedChannel {
    /// Channel name.
    pub name: String,
    /// Spend column of the data (a plan may name the spend by it or by the channel name).
    pub spend_column: String,
    /// The transform chain with the spec's (tuned) parameters.
    pub chain: TransformChain,
    /// Per transform, the constants it learned from the data (`null` where none).
    pub learned: Vec<Option<Vec<f64>>>,
    /// The last `history.len()` periods of spend: twice the carry-over length (the chain's lag
    /// weights down to 1e-10 of their peak), or the whole history for sampled transforms or
    /// filters without lag weights.
    pub history: Vec<f64>,
    /// The chain's output over those periods as fitted (on the whole history), to check the
    /// restored chain against.
    pub history_transformed: Vec<f64>,
    /// Periods after a plan's window over which its carry-over is counted.
    pub carry_out_periods: usize,
}

/// A thinned posterior: per kept draw, every column's coefficient and, for models that sample
/// transform parameters, each channel's chain parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPosterior {
    /// Per draw, one coefficient per column (in `columns` order).
    pub coefficients: Vec<Vec<f64>>,
    /// Per channel (in `channels` order), spend scaling before its chain (`1` unless the model
    /// samples transform parameters on scaled spend).
    pub input_scale: Vec<f64>,
    /// Per channel, per draw, the chain's parameters; empty when transforms are fixed.
    pub chain_params: Vec<Vec<Vec<f64>>>,
}

/// The data a model was fitted on, as far as a forecast needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedData {
    /// Target column.
    pub target: String,
    /// Date column (a plan's dates are read from a column of this name, or `date`).
    pub date_column: String,
    /// Frequency.
    pub frequency: Frequency,
    /// First date (ISO).
    pub start: String,
    /// Last date (ISO).
    pub end: String,
    /// Number of periods.
    pub n_obs: usize,
}

/// Residual scale of the fit (point models' prediction intervals).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Residuals {
    /// `σ̂ = √(RSS / df)`.
    pub sigma: f64,
    /// Degrees of freedom `n − k` (`k` columns).
    pub df: usize,
}

/// Everything `model.json` holds; see the module doc.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedModel {
    /// [`MODEL_FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// mmm version of the writer.
    pub tool_version: String,
    /// Experiment name.
    pub name: String,
    /// The spec's seed.
    pub seed: u64,
    /// The spec as run: tuned values filled in, `tuning` removed.
    pub spec: serde_json::Value,
    /// The input files with their SHA-256.
    pub inputs: Vec<InputFile>,
    /// The data as fitted.
    pub data: SavedData,
    /// The model's `type`.
    pub model_type: String,
    /// The causal structure's `type`.
    pub causal: String,
    /// Level of intervals (e.g. 0.95).
    pub interval_level: f64,
    /// The outcome stage's columns.
    pub columns: Vec<SavedColumn>,
    /// The channels, in spec order.
    pub channels: Vec<SavedChannel>,
    /// Residual scale.
    pub residuals: Residuals,
    /// Thinned posterior (models with coefficient draws).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior: Option<SavedPosterior>,
    /// The geos of a panel fitted jointly (geo-hierarchical `bayesian_mmm`), in panel order;
    /// empty for a national fit. `mmm predict` forecasts national fits only, for now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub geos: Vec<String>,
    /// Tuned models: the search ranges of the spec as written (before tuning filled in the
    /// chosen values), which `mmm refresh` narrows around the chosen values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<mmm_core::search::SearchParam>,
    /// Bayesian models: per channel, the Monte Carlo standard error of its posterior mean
    /// contribution over the data (batch means, see [`crate::refresh`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contribution_mcse: Vec<Option<f64>>,
    /// Tuned models: the spec's `tuning` section as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<serde_json::Value>,
}

/// Number of lags over which a chain's lag weights stay above `1e-10` of their peak (summed
/// over its filters), capped at `n`; `n` when a filter gives no lag weights.
pub(crate) fn carry_periods(chain: &TransformChain, n: usize) -> usize {
    let mut total = 0usize;
    for t in &chain.0 {
        if t.is_elementwise() {
            continue;
        }
        match t.lag_weights(n) {
            Some(w) => {
                let peak = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let last = w.iter().rposition(|v| v.abs() > 1e-10 * peak).unwrap_or(0);
                total += last;
            }
            None => return n,
        }
    }
    (total + 1).min(n)
}

/// Per design-column name, how it is generated (everything the spec's baseline and controls
/// make; media columns are matched by channel).
fn column_sources(
    loaded: &LoadedSpec,
    data: &mmm_core::dataset::ModelData,
) -> Result<BTreeMap<String, ColumnSource>> {
    let spec = &loaded.spec;
    let mut m = BTreeMap::new();
    m.insert("intercept".to_string(), ColumnSource::Intercept);
    m.insert("trend".to_string(), ColumnSource::Trend);
    if let Some(s) = &spec.baseline.seasonality {
        for f in s.terms() {
            let tag = mmm_core::dataset::fmt_period(f.period);
            for k in 1..=f.order {
                for sine in [true, false] {
                    let name = format!("{}_{tag}_{k}", if sine { "sin" } else { "cos" });
                    m.insert(
                        name,
                        ColumnSource::Fourier {
                            period: f.period,
                            harmonic: k,
                            sine,
                        },
                    );
                }
            }
        }
    }
    if let Some(h) = &spec.baseline.holidays {
        let p = Path::new(&h.path);
        let cal_path = if p.is_absolute() {
            p.to_path_buf()
        } else {
            loaded.dir.join(p)
        };
        let cal = Table::read_unchecked(&cal_path, "ds")?;
        let names = cal.raw("holiday")?;
        let countries = if cal.has_column("country") {
            Some(cal.raw("country")?)
        } else {
            None
        };
        let mut all = Vec::new();
        let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (r, d) in cal.dates.iter().enumerate() {
            if let (Some(want), Some(cs)) = (&h.country, &countries) {
                if cs[r].trim() != want {
                    continue;
                }
            }
            all.push(d.to_string());
            by_name
                .entry(format!("holiday[{}]", names[r].trim()))
                .or_default()
                .push(d.to_string());
        }
        m.insert("holiday".into(), ColumnSource::Holiday { dates: all });
        for (k, v) in by_name {
            m.insert(k, ColumnSource::Holiday { dates: v });
        }
    }
    for (k, day) in ["tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .enumerate()
    {
        m.insert(
            format!("dow_{day}"),
            ColumnSource::DayOfWeek {
                weekday: k as u32 + 1,
            },
        );
    }
    for c in &spec.controls {
        match c {
            ControlSpec::Detailed(o) if o.categorical => {
                let raw = data.table.raw(&o.column)?;
                let levels: std::collections::BTreeSet<&str> =
                    raw.iter().map(|s| s.trim()).collect();
                let levels: Vec<String> = levels.into_iter().map(str::to_string).collect();
                for level in &levels {
                    m.insert(
                        format!("{}[{}]", o.column, level),
                        ColumnSource::ControlLevel {
                            column: o.column.clone(),
                            level: level.clone(),
                            levels: levels.clone(),
                        },
                    );
                }
            }
            _ => {
                m.insert(
                    c.column().to_string(),
                    ColumnSource::Control {
                        column: c.column().to_string(),
                    },
                );
            }
        }
    }
    Ok(m)
}

/// Builds the saved model of a run; `loaded` is the spec as run (tuned values filled in).
pub fn build(loaded: &LoadedSpec, output: &RunOutput) -> Result<SavedModel> {
    let (data, estimate) = (&output.data, &output.estimate);
    let stage = estimate
        .outcome_stage()
        .ok_or_else(|| MmmError::Compute("the causal structure fitted no stage".into()))?;
    let fitted = &stage.fitted;
    let sources = column_sources(loaded, data)?;
    let beta = fitted.beta();
    let columns: Vec<SavedColumn> = stage
        .design
        .columns
        .iter()
        .zip(&beta)
        .map(|(c, b)| SavedColumn {
            name: c.name.clone(),
            role: c.role,
            coefficient: *b,
            source: match (c.role, c.channel) {
                (Role::Media, Some(ch)) => ColumnSource::Media { channel: ch },
                (Role::Mediator, _) => ColumnSource::Unsupported,
                _ => sources
                    .get(&c.name)
                    .cloned()
                    .unwrap_or(ColumnSource::Unsupported),
            },
        })
        .collect();
    let n = data.n_obs();
    let posterior = fitted.posterior();
    let sampled = posterior
        .as_ref()
        .is_some_and(|p| p.media.iter().any(|m| !m.chain_params.is_empty()));
    let channels: Vec<SavedChannel> = data
        .media
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let carry = carry_periods(&m.chain, n);
            // twice the carry-over length: the first half gives the second its carry-over in,
            // so that the second half checks the restored chain exactly (see `load`)
            let h = if sampled { n } else { (2 * carry).min(n) };
            SavedChannel {
                name: m.name.clone(),
                spend_column: loaded.spec.media[i].spend.clone(),
                chain: m.chain.clone(),
                learned: m.chain.learned(),
                history: m.spend[n - h..].to_vec(),
                history_transformed: data.transformed[i][n - h..].to_vec(),
                carry_out_periods: if sampled { n } else { carry },
            }
        })
        .collect();
    let k = columns.len();
    let rss: f64 = stage
        .y
        .iter()
        .zip(&fitted.fitted)
        .map(|(y, f)| (y - f).powi(2))
        .sum();
    let df = n.saturating_sub(k).max(1);
    let saved_posterior = fitted
        .coefficient_draws
        .as_ref()
        .filter(|d| d.nrows() > 0)
        .map(|draws| {
            let total = draws.nrows();
            let keep = total.clamp(1, SAVED_POSTERIOR_DRAWS);
            let rows: Vec<usize> = (0..keep).map(|j| j * total / keep).collect();
            let coefficients = rows
                .iter()
                .map(|&r| draws.row(r).iter().copied().collect())
                .collect();
            let (input_scale, chain_params) = data
                .media
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    match posterior
                        .as_ref()
                        .and_then(|p| p.media.iter().find(|m| m.channel == i))
                        .filter(|m| m.chain_params.len() == total)
                    {
                        Some(m) => (
                            m.input_scale,
                            rows.iter().map(|&r| m.chain_params[r].clone()).collect(),
                        ),
                        None => (1.0, vec![]),
                    }
                })
                .unzip();
            SavedPosterior {
                coefficients,
                input_scale,
                chain_params,
            }
        });
    Ok(SavedModel {
        format_version: MODEL_FORMAT_VERSION,
        tool_version: TOOL_VERSION.to_string(),
        name: loaded.spec.name.clone(),
        seed: loaded.spec.seed,
        spec: loaded.raw.clone(),
        inputs: input_files(loaded),
        data: SavedData {
            target: data.target_name.clone(),
            date_column: loaded.spec.data.date.clone(),
            frequency: data.frequency,
            start: data
                .dates
                .first()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            end: data.dates.last().map(|d| d.to_string()).unwrap_or_default(),
            n_obs: n,
        },
        model_type: loaded.spec.model.typetag_name().to_string(),
        causal: crate::experiment::causal_of(loaded)?
            .typetag_name()
            .to_string(),
        interval_level: estimate.interval_level,
        columns,
        channels,
        residuals: Residuals {
            sigma: (rss / df as f64).sqrt(),
            df,
        },
        posterior: saved_posterior,
        geos: posterior
            .as_ref()
            .map(|p| p.geos.iter().map(|g| g.name.clone()).collect())
            .unwrap_or_default(),
        contribution_mcse: vec![],
        search: vec![],
        tuning: None,
    })
}

/// The saved model as `model.json` text.
pub fn to_json(model: &SavedModel) -> Result<String> {
    serde_json::to_string_pretty(model)
        .map(|s| s + "\n")
        .map_err(|e| MmmError::Compute(format!("serializing model.json: {e}")))
}

/// Reads `DIR/model.json` (or the file itself when `path` is a file): refuses another format
/// version naming it and the tool version that wrote it, restores every chain's learned
/// constants and checks the restored chains against the fitted history. Exit code 2 on a
/// missing or invalid file.
pub fn load(path: &Path) -> Result<SavedModel> {
    let file = if path.is_dir() {
        path.join("model.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| {
        MmmError::data(
            &file,
            None,
            None,
            format!("cannot read the saved model ({e}); `mmm run` writes model.json into its --out folder"),
        )
    })?;
    from_text(&text, &file)
}

/// [`load`] from the text of a `model.json` (`file` names it in errors): the Python package's
/// `Fit.predict` loads the model a fit holds in memory through it.
pub fn from_text(text: &str, file: &Path) -> Result<SavedModel> {
    let file = file.to_path_buf();
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| MmmError::data(&file, Some(e.line()), None, format!("not JSON: {e}")))?;
    let version = value.get("format_version").and_then(|v| v.as_u64());
    if version != Some(MODEL_FORMAT_VERSION as u64) {
        let writer = value
            .get("tool_version")
            .and_then(|v| v.as_str())
            .unwrap_or("unknown");
        return Err(MmmError::data(
            &file,
            None,
            None,
            format!(
                "model format version {} (written by mmm {writer}); this mmm {TOOL_VERSION} reads version {MODEL_FORMAT_VERSION}: refit with `mmm run` (the spec is in the file's \"spec\")",
                version.map_or("missing".to_string(), |v| v.to_string())
            ),
        ));
    }
    let mut model: SavedModel = serde_path_to_error::deserialize(&value).map_err(|e| {
        MmmError::data(
            &file,
            None,
            None,
            format!("invalid saved model at {}: {}", e.path(), e.inner()),
        )
    })?;
    let n = model.data.n_obs;
    for c in &mut model.channels {
        c.chain.set_learned(&c.learned);
        let h = c.history.len();
        // periods whose carry-over in lies within the stored history
        let from = if h >= n {
            0
        } else {
            h.saturating_sub(c.carry_out_periods)
        };
        let mut out = vec![0.0; h];
        let mut ws = ChainWorkspace::new(&c.chain, h);
        c.chain.apply(&c.history, &mut out, &mut ws);
        let scale = c
            .history_transformed
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(1e-300);
        let worst = out[from..]
            .iter()
            .zip(&c.history_transformed[from..])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, f64::max);
        if worst.is_nan() || worst > 1e-6 * scale {
            return Err(MmmError::data(
                &file,
                None,
                None,
                format!(
                    "channel '{}': the restored transform chain does not reproduce the fitted history (largest difference {worst:e}); a transform plugin may not save what it learned (Transform::learned)",
                    c.name
                ),
            ));
        }
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_strings() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn another_format_version_is_refused_naming_it() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("model.json"),
            r#"{"format_version": 99, "tool_version": "9.9.9"}"#,
        )
        .unwrap();
        let e = load(d.path()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let m = e.to_string();
        assert!(m.contains("version 99") && m.contains("9.9.9"), "{m}");
    }
}
