//! Errors of mmm.
//!
//! Errors in the user's input (spec, data, infeasible constraints) are kept apart from failures
//! during computation, because the CLI maps them to different exit codes: 2 for bad input, 1 for
//! anything else. Every input error names where the problem is: a JSON pointer into the spec, or a
//! file, row and column of the data.

use std::fmt;
use std::path::PathBuf;

/// Result alias used throughout mmm.
pub type Result<T, E = MmmError> = std::result::Result<T, E>;

/// One problem found in an experiment spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecIssue {
    /// JSON pointer of the offending value (`/media/0/transforms/0/decay`); empty for the root.
    pub pointer: String,
    /// What was expected, and what was found.
    pub message: String,
}

impl fmt::Display for SpecIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{p}: {}", self.message)
    }
}

/// Where in a data file a problem is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataLocation {
    /// The file.
    pub file: PathBuf,
    /// 1-based line in the file (the header is line 1), when the problem is in one row.
    pub line: Option<usize>,
    /// The column, when the problem is in one column.
    pub column: Option<String>,
}

impl fmt::Display for DataLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ", line {l}")?;
        }
        if let Some(c) = &self.column {
            write!(f, ", column '{c}'")?;
        }
        Ok(())
    }
}

/// The error type of mmm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MmmError {
    /// The spec is invalid; every problem found is listed.
    #[error("invalid spec {}:\n{}", .file, .issues.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Spec {
        /// The spec file (or `<spec>` when it did not come from a file).
        file: String,
        /// The problems found.
        issues: Vec<SpecIssue>,
    },
    /// The data is invalid.
    #[error("invalid data in {location}: {message}")]
    Data {
        /// Where the problem is.
        location: DataLocation,
        /// What was expected, and what was found.
        message: String,
    },
    /// A plugin's parameter is outside its valid range (raised by `validate()`).
    #[error("{pointer}: {message}")]
    InvalidParameter {
        /// JSON pointer, relative to the plugin (`/decay`) until the caller prefixes it.
        pointer: String,
        /// What was expected, and what was found.
        message: String,
    },
    /// Constraints that cannot all hold (for example budget bounds that cannot sum to the budget).
    #[error("infeasible: {0}")]
    Infeasible(String),
    /// A fit or a computation failed (singular matrix, no convergence...).
    #[error("{0}")]
    Compute(String),
    /// A command-line mistake the user can correct (an `--out` that is a file or holds the
    /// run's own inputs, a `--data-root` that does not exist).
    #[error("{0}")]
    Usage(String),
    /// Several independent problems (`mmm validate` reports every one it finds).
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\nerror: "))]
    Several(Vec<MmmError>),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl MmmError {
    /// The process exit code the CLI uses for this error: 2 for bad input, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            MmmError::Spec { .. }
            | MmmError::Data { .. }
            | MmmError::InvalidParameter { .. }
            | MmmError::Infeasible(_)
            | MmmError::Usage(_) => 2,
            MmmError::Compute(_) | MmmError::Io { .. } => 1,
            // the user's problems are reported with any fault of mmm: 1 only if all are ours
            MmmError::Several(v) => {
                if v.iter().any(|e| e.exit_code() == 2) {
                    2
                } else {
                    1
                }
            }
        }
    }

    /// A spec setting at `pointer` that a joint geo fit does not offer yet (`what`
    /// names it), with the way out: fit the geos' national sums.
    pub fn not_for_geo_fit(pointer: &str, what: &str) -> Self {
        MmmError::param(
            pointer,
            format!(
                "{what} is not available for a joint geo fit (hierarchical or fixed effects) \
                 yet; remove it, or set model.geo to \"national\" to fit the geos' national \
                 sums"
            ),
        )
    }

    /// A parameter error at `pointer` (relative to the plugin, e.g. `/decay`).
    pub fn param(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        MmmError::InvalidParameter {
            pointer: pointer.into(),
            message: message.into(),
        }
    }

    /// A data error in `file` with optional line and column.
    pub fn data(
        file: impl Into<PathBuf>,
        line: Option<usize>,
        column: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        MmmError::Data {
            location: DataLocation {
                file: file.into(),
                line,
                column: column.map(str::to_string),
            },
            message: message.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        MmmError::Io {
            path: path.into(),
            source,
        }
    }

    /// Prefixes the pointer of an [`MmmError::InvalidParameter`] with `prefix` (the plugin's
    /// place in the spec), turning it into a spec issue; other errors pass through.
    pub fn at(self, prefix: &str) -> Self {
        match self {
            MmmError::InvalidParameter { pointer, message } => MmmError::InvalidParameter {
                pointer: format!("{prefix}{pointer}"),
                message,
            },
            // constraints the section sets that cannot hold: name the section
            MmmError::Infeasible(message) => MmmError::InvalidParameter {
                pointer: prefix.to_string(),
                message: format!("infeasible: {message}"),
            },
            other => other,
        }
    }
}
