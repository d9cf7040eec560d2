//! `mmm._mmm`: the native part of the `mmm` Python package. It calls the library directly
//! (spec as JSON text, data as columns; see `mmm::api` and `mmm_data::frame`); the Python
//! modules in `python/mmm` turn its answers into pandas and numpy objects.
//!
//! Every call that fits releases the GIL. Errors become the exceptions `SpecError`,
//! `DataError`, `InfeasibleError` (subclasses of `MmmError`) with the spec pointer or the
//! file, line, row and column as attributes.
//!
//! Plugins: every plugin crate linked into this library is available by its `type`, as from
//! the CLI. The feature `inhouse-example` builds `examples/inhouse-plugin`'s transform in, the
//! template for a team's own plugins.

use mmm_core::error::MmmError as CoreError;
use mmm_data::frame::{parse_json, spec_from_value, Frame};
use mmm_data::spec::LoadedSpec;
use mmm_engine::experiment::RunOutput;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

// Keep every built-in plugin registered (the root crate references each plugin crate).
use mmm as _;

/// The in-house plugin template (`examples/inhouse-plugin`), built in with the feature
/// `inhouse-example`: a team adds its own plugin modules or crates the same way.
#[cfg(feature = "inhouse-example")]
#[path = "../../../examples/inhouse-plugin/src/power_decay.rs"]
mod power_decay;

create_exception!(
    _mmm,
    MmmError,
    PyException,
    "Base class of mmm's errors; `code` is the CLI's exit code (2: bad input, 1: a fault)."
);
create_exception!(
    _mmm,
    SpecError,
    MmmError,
    "The spec is invalid: `issues` lists every problem (`pointer`, `message`); `pointer` is \
     the first one's JSON pointer and `file` names the spec."
);
create_exception!(
    _mmm,
    DataError,
    MmmError,
    "The data is invalid: `file`, `line` (1-based, the header is line 1), `row` (0-based data \
     row, the DataFrame's position), `column` and `message` say where and what."
);
create_exception!(
    _mmm,
    InfeasibleError,
    MmmError,
    "Constraints (budget bounds…) that cannot all hold."
);

/// The Python exception of a library error, with its location as attributes.
fn py_err(py: Python<'_>, e: CoreError) -> PyErr {
    let text = e.to_string();
    let code = e.exit_code();
    let err = match &e {
        CoreError::Spec { .. } | CoreError::InvalidParameter { .. } => SpecError::new_err(text),
        CoreError::Data { .. } => DataError::new_err(text),
        CoreError::Infeasible(_) => InfeasibleError::new_err(text),
        _ => MmmError::new_err(text),
    };
    let value = err.value(py);
    let set = |k: &str, v: Py<PyAny>| {
        let _ = value.setattr(k, v);
    };
    set(
        "code",
        code.into_pyobject(py)
            .map(|v| v.into_any().unbind())
            .unwrap_or_else(|_| py.None()),
    );
    if let Ok(p) = problems(py, &e) {
        set("issues", p.clone_ref(py).into_any());
        if let Ok(list) = p.bind(py).cast::<PyList>() {
            if let Ok(first) = list.get_item(0) {
                for k in ["pointer", "file", "line", "row", "column", "message"] {
                    if let Ok(Some(v)) =
                        first.cast::<PyDict>().map(|d| d.get_item(k).ok().flatten())
                    {
                        set(k, v.unbind());
                    }
                }
            }
        }
    }
    err
}

/// The problems an error names, as dicts: `{"pointer", "message"}` per spec issue, or
/// `{"file", "line", "row", "column", "message"}` for the data.
fn problems(py: Python<'_>, e: &CoreError) -> PyResult<Py<PyAny>> {
    let list = PyList::empty(py);
    match e {
        CoreError::Spec { file, issues } => {
            for i in issues {
                let d = PyDict::new(py);
                d.set_item("pointer", &i.pointer)?;
                d.set_item("message", &i.message)?;
                d.set_item("file", file)?;
                list.append(d)?;
            }
        }
        CoreError::InvalidParameter { pointer, message } => {
            let d = PyDict::new(py);
            d.set_item("pointer", pointer)?;
            d.set_item("message", message)?;
            list.append(d)?;
        }
        CoreError::Data { location, message } => {
            let d = PyDict::new(py);
            d.set_item("file", location.file.display().to_string())?;
            d.set_item("line", location.line)?;
            d.set_item("row", location.line.and_then(|l| l.checked_sub(2)))?;
            d.set_item("column", location.column.clone())?;
            d.set_item("message", message)?;
            list.append(d)?;
        }
        other => {
            let d = PyDict::new(py);
            d.set_item("message", other.to_string())?;
            list.append(d)?;
        }
    }
    Ok(list.into_any().unbind())
}

/// A frame from `[(name, bytes of native f64) | (name, [str | None, …])]`.
fn frame_from(columns: &Bound<'_, PyList>) -> PyResult<Frame> {
    let mut f = Frame::new();
    for item in columns.iter() {
        let (name, values): (String, Bound<'_, PyAny>) = item.extract()?;
        if let Ok(b) = values.cast::<PyBytes>() {
            let bytes = b.as_bytes();
            let v = bytes
                .chunks_exact(8)
                .map(|c| f64::from_ne_bytes(c.try_into().expect("chunks of 8")))
                .collect();
            f.push_numeric(name, v);
        } else {
            let v: Vec<Option<String>> = values.extract()?;
            f.push_text(name, v);
        }
    }
    Ok(f)
}

/// Loads a spec from JSON text; relative paths resolve against `base_dir`.
fn load(py: Python<'_>, spec_json: &str, base_dir: &str, label: &str) -> PyResult<LoadedSpec> {
    let raw = parse_json(spec_json, label).map_err(|e| py_err(py, e))?;
    spec_from_value(raw, Path::new(base_dir), label).map_err(|e| py_err(py, e))
}

/// Runs `work` with the GIL released; while `progress` is a callable, calls it about ten times
/// a second (and once at the end) with the state of every progress bar,
/// `[(prefix, message, position, length, finished), …]`.
fn with_progress<T: Send>(
    py: Python<'_>,
    progress: Option<Py<PyAny>>,
    work: impl FnOnce() -> T + Send,
) -> T {
    let Some(callback) = progress else {
        let was = mmm_core::progress::is_quiet();
        mmm_core::progress::set_quiet(true);
        let out = py.detach(work);
        mmm_core::progress::set_quiet(was);
        return out;
    };
    mmm_core::progress::set_watching(true);
    let done = Arc::new(AtomicBool::new(false));
    let report = |final_call: bool| {
        let bars: Vec<(String, String, u64, Option<u64>, bool)> = mmm_core::progress::watched()
            .into_iter()
            .map(|b| {
                (
                    b.prefix,
                    b.message,
                    b.position,
                    b.length,
                    b.finished || final_call,
                )
            })
            .collect();
        Python::attach(|py| {
            // a failing callback (a closed notebook) must not stop the fit
            let _ = callback.call1(py, (bars,));
        });
    };
    let out = py.detach(|| {
        std::thread::scope(|s| {
            let flag = Arc::clone(&done);
            let poller = s.spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    report(false);
                }
            });
            let out = work();
            done.store(true, Ordering::Release);
            let _ = poller.join();
            out
        })
    });
    report(true);
    mmm_core::progress::set_watching(false);
    out
}

/// Checks a spec (and its data): returns the problems found, `[]` when valid.
#[pyfunction]
#[pyo3(signature = (spec_json, base_dir, label, frame=None))]
fn validate(
    py: Python<'_>,
    spec_json: &str,
    base_dir: &str,
    label: &str,
    frame: Option<Bound<'_, PyList>>,
) -> PyResult<Py<PyAny>> {
    let frame = frame.as_ref().map(frame_from).transpose()?;
    let checked = parse_json(spec_json, label)
        .and_then(|raw| spec_from_value(raw, Path::new(base_dir), label))
        .and_then(|loaded| {
            let _attached = frame.as_ref().map(|f| f.attach(&loaded)).transpose()?;
            py.detach(|| mmm::api::validate(&loaded))
        });
    match checked {
        Ok(()) => Ok(PyList::empty(py).into_any().unbind()),
        Err(e) => problems(py, &e),
    }
}

/// A fitted run: the results and what `mmm run` writes, in memory.
#[pyclass(frozen, module = "mmm._mmm")]
struct Run {
    output: RunOutput,
}

#[pymethods]
impl Run {
    /// The text of results.json.
    fn results_json(&self, py: Python<'_>) -> PyResult<String> {
        mmm::api::results_json(&self.output).map_err(|e| py_err(py, e))
    }
    /// The text of decomposition.csv.
    fn decomposition_csv(&self) -> &str {
        &self.output.decomposition_csv
    }
    /// The text of draws.csv (Bayesian models), else None.
    fn draws_csv(&self) -> Option<&str> {
        self.output.draws_csv.as_deref()
    }
    /// The HTML report (the page `mmm run` writes to report.html).
    fn report_html(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| mmm::api::report_html(&self.output))
            .map_err(|e| py_err(py, e))
    }
    /// Writes what `mmm run --out DIR` writes; returns the paths.
    fn save(&self, py: Python<'_>, dir: PathBuf) -> PyResult<Vec<String>> {
        py.detach(|| mmm::api::save(&dir, &self.output))
            .map(|v| v.iter().map(|p| p.display().to_string()).collect())
            .map_err(|e| py_err(py, e))
    }
    /// The saved model of this fit (what `mmm run` writes to model.json), loaded for
    /// forecasts: equal to `load_model` of a folder `save` wrote.
    fn model(&self, py: Python<'_>) -> PyResult<Model> {
        let text = &self.output.model_json;
        let model = mmm_engine::saved_model::from_text(text, Path::new("<Fit>/model.json"))
            .map_err(|e| py_err(py, e))?;
        Ok(Model {
            model,
            sha256: Some(mmm_engine::saved_model::sha256_hex(text.as_bytes())),
        })
    }
    /// Runs an optimizer (JSON text of `{"type": …}`) on the fitted curves; returns the JSON
    /// text of its result (as results.json's `optimization`).
    fn optimize(&self, py: Python<'_>, optimizer_json: &str) -> PyResult<String> {
        let label = "<optimizer>";
        let raw = parse_json(optimizer_json, label).map_err(|e| py_err(py, e))?;
        let optimizer: Box<dyn mmm_core::optimizer::Optimizer> = serde_json::from_value(raw)
            .map_err(|e| {
                py_err(
                    py,
                    CoreError::Spec {
                        file: label.into(),
                        issues: vec![mmm_core::error::SpecIssue {
                            pointer: "/optimizer".into(),
                            message: e.to_string(),
                        }],
                    },
                )
            })?;
        optimizer
            .validate()
            .map_err(|e| py_err(py, e.at("/optimizer")))?;
        let result = py
            .detach(|| mmm_engine::experiment::optimize(&self.output, optimizer.as_ref()))
            .map_err(|e| py_err(py, e))?;
        serde_json::to_string(&result).map_err(|e| MmmError::new_err(e.to_string()))
    }
}

/// A saved model (`model.json`), loaded: forecasts dated plans as `mmm predict` does.
#[pyclass(frozen, module = "mmm._mmm")]
struct Model {
    model: mmm_engine::saved_model::SavedModel,
    /// SHA-256 of the model.json text (forecast.json names the model by it).
    sha256: Option<String>,
}

#[pymethods]
impl Model {
    /// Forecasts the plan at `plan_path` (a CSV file), or the columns `frame` attached under
    /// that path; returns (forecast.csv text, forecast.json text), the bytes `mmm predict`
    /// writes for the same model and plan.
    #[pyo3(signature = (plan_path, frame=None))]
    fn predict(
        &self,
        py: Python<'_>,
        plan_path: PathBuf,
        frame: Option<Bound<'_, PyList>>,
    ) -> PyResult<(String, String)> {
        let frame = frame.as_ref().map(frame_from).transpose()?;
        let attached = frame
            .as_ref()
            .map(|f| f.attach_at(&plan_path))
            .transpose()
            .map_err(|e| py_err(py, e))?;
        let out = py.detach(|| {
            let plan = mmm_engine::predict::Plan::read(&plan_path, &self.model)?;
            let f = mmm_engine::predict::predict(&self.model, &plan, self.sha256.clone())?;
            Ok::<_, CoreError>((
                mmm_engine::predict::forecast_csv(&f)?,
                mmm_engine::predict::forecast_json(&f)?,
            ))
        });
        drop(attached);
        out.map_err(|e| py_err(py, e))
    }
    /// The date column a plan names its dates by (the model's, or `date`).
    fn date_column(&self) -> String {
        self.model.data.date_column.clone()
    }
    /// Channel names, in the model's order.
    fn channels(&self) -> Vec<String> {
        self.model.channels.iter().map(|c| c.name.clone()).collect()
    }
}

/// Loads a saved model: `path` is a folder holding model.json (what `mmm run` and
/// `Fit.save` write) or the file itself. Refuses another format version, naming it.
#[pyfunction]
fn load_model(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
    let file = if path.is_dir() {
        path.join("model.json")
    } else {
        path.clone()
    };
    let model = py
        .detach(|| mmm_engine::saved_model::load(&path))
        .map_err(|e| py_err(py, e))?;
    Ok(Model {
        model,
        sha256: mmm_engine::saved_model::sha256_file(&file),
    })
}

/// Fits a spec (JSON text) on its data file or on `frame`; `progress` is a callable for the
/// progress bars, or None for none.
#[pyfunction]
#[pyo3(signature = (spec_json, base_dir, label, frame=None, progress=None))]
fn fit(
    py: Python<'_>,
    spec_json: &str,
    base_dir: &str,
    label: &str,
    frame: Option<Bound<'_, PyList>>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Run> {
    let frame = frame.as_ref().map(frame_from).transpose()?;
    let loaded = load(py, spec_json, base_dir, label)?;
    let attached = frame
        .as_ref()
        .map(|f| f.attach(&loaded))
        .transpose()
        .map_err(|e| py_err(py, e))?;
    let output = with_progress(py, progress, || mmm::api::run(&loaded));
    drop(attached);
    Ok(Run {
        output: output.map_err(|e| py_err(py, e))?,
    })
}

/// Simulates data with a known truth: returns (data.csv text, truth.json text).
#[pyfunction]
fn simulate(py: Python<'_>, simspec_json: &str, label: &str) -> PyResult<(String, String)> {
    let raw = parse_json(simspec_json, label).map_err(|e| py_err(py, e))?;
    let spec = mmm_sim::parse_simspec(&raw, label).map_err(|e| py_err(py, e))?;
    let sim = py
        .detach(|| mmm_sim::simulate(&spec, Some(&raw)))
        .map_err(|e| py_err(py, e))?;
    let truth = serde_json::to_string(&sim.truth).map_err(|e| MmmError::new_err(e.to_string()))?;
    Ok((sim.csv, truth))
}

/// Runs a study (JSON text; paths relative to `base_dir`), writing its outputs to `out_dir`
/// as `mmm study` does; returns the text of comparison.json.
#[pyfunction]
#[pyo3(signature = (study_json, base_dir, label, out_dir, progress=None))]
fn study(
    py: Python<'_>,
    study_json: &str,
    base_dir: &str,
    label: &str,
    out_dir: PathBuf,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let raw = parse_json(study_json, label).map_err(|e| py_err(py, e))?;
    let st = mmm_study::spec::parse_study(&raw, label, Path::new(base_dir))
        .map_err(|e| py_err(py, e))?;
    let show = progress.is_some();
    let c = with_progress(py, progress, || {
        let c = mmm_study::run_study(&st, None, &out_dir, show)?;
        mmm_study::write_comparison(&out_dir, &c)?;
        mmm_report::write_report(&out_dir)?;
        Ok::<_, CoreError>(c)
    })
    .map_err(|e| py_err(py, e))?;
    c.to_json().map_err(|e| py_err(py, e))
}

/// Every registered plugin by kind (the JSON text of `mmm plugins --json`).
#[pyfunction]
fn plugins(py: Python<'_>) -> PyResult<String> {
    mmm::api::plugins_json()
        .map(|v| v.to_string())
        .map_err(|e| py_err(py, e))
}

/// The JSON Schema of an experiment spec (`mmm schema`), as JSON text.
#[pyfunction]
fn schema() -> String {
    mmm_data::spec::experiment_schema().to_string()
}

/// The JSON Schema of a simulation spec (`mmm simulate --schema`), as JSON text.
#[pyfunction]
fn simspec_schema() -> String {
    mmm_sim::simspec_schema().to_string()
}

/// Runs the command line in this process (`args` without the program name); returns the exit
/// code. `python -m mmm run spec.json --out out` is `mmm run spec.json --out out`.
#[pyfunction]
fn cli(py: Python<'_>, args: Vec<String>) -> u8 {
    let mut all = vec!["mmm".to_string()];
    all.extend(args);
    // the CLI sets the process-wide quiet flag from `-q`; keep this process's setting
    let was = mmm_core::progress::is_quiet();
    let code = py.detach(|| mmm::cli::run_with_args(all));
    mmm_core::progress::set_quiet(was);
    // ExitCode has no accessor; compare with the codes the CLI uses
    [0u8, 1, 2]
        .into_iter()
        .find(|c| std::process::ExitCode::from(*c) == code)
        .unwrap_or(1)
}

/// The native module.
#[pymodule]
fn _mmm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("MmmError", py.get_type::<MmmError>())?;
    m.add("SpecError", py.get_type::<SpecError>())?;
    m.add("DataError", py.get_type::<DataError>())?;
    m.add("InfeasibleError", py.get_type::<InfeasibleError>())?;
    m.add_class::<Run>()?;
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(load_model, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(study, m)?)?;
    m.add_function(wrap_pyfunction!(plugins, m)?)?;
    m.add_function(wrap_pyfunction!(schema, m)?)?;
    m.add_function(wrap_pyfunction!(simspec_schema, m)?)?;
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
