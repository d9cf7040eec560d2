//! Explicit, opt-in data cleaning (`data.cleaning` in the spec): missing values, negative spend
//! and outliers. Nothing is changed unless a rule asks for it; without a rule an empty cell or a
//! negative spend is an error naming its file, line and column. Every rule applied is reported
//! per column in `results.json` `data_quality.changes` with the number of cells it changed.
//!
//! Rules run on the data at its own granularity (daily rows before `data.aggregate` sums them
//! into weeks; a long file's rows after pivoting to `<campaign>.<metric>` columns), in this
//! order: missing values, negative spend, outliers.
//!
//! Columns are named by selectors: a column name, a pattern where `*` matches any characters
//! (`*.clicks`: every campaign's clicks), `$media` (every media channel's spend column) or
//! `$target` (the target column; in long format every campaign's column of the target metric,
//! which is summed into the target after cleaning).

use mmm_core::data::Table;
use mmm_core::error::{MmmError, Result, SpecIssue};
use mmm_core::quality::Change;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The cleaning rules of a spec.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CleaningSpec {
    /// How to fill empty cells, per group of columns (a column may be named by one rule only).
    /// Default: none, and an empty cell is an error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingRule>,
    /// A negative value in a media channel's spend column: `error` (default) or `clip_to_zero`.
    #[serde(default)]
    pub negative_spend: NegativeSpend,
    /// Outlier rules, applied in order after missing values and negative spend (default: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outliers: Vec<OutlierRule>,
}

/// How to fill the empty cells of some columns.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MissingRule {
    /// Column selectors: names, `*` patterns, `$media` or `$target`.
    #[schemars(length(min = 1))]
    pub columns: Vec<String>,
    /// `zero`, `forward_fill` (the last value above; an empty first cell is an error) or
    /// `interpolate` (linear between the nearest values above and below; an empty first or last
    /// cell takes the nearest value).
    pub fill: Fill,
}

/// A fill for empty cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// 0.
    Zero,
    /// The last value above.
    ForwardFill,
    /// Linear interpolation between the nearest values above and below.
    Interpolate,
}

impl Fill {
    /// The rule's name in `data_quality`.
    pub fn rule(self) -> &'static str {
        match self {
            Fill::Zero => "missing_zero",
            Fill::ForwardFill => "missing_forward_fill",
            Fill::Interpolate => "missing_interpolate",
        }
    }
}

/// What to do with negative spend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NegativeSpend {
    /// A negative spend is an error naming its line and column.
    #[default]
    Error,
    /// Set negative spend to 0 (counted per column).
    ClipToZero,
}

/// Winsorizing (capping) outliers of some columns: give exactly one of `winsorize` or `iqr`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutlierRule {
    /// Column selectors: names, `*` patterns, `$media` or `$target`.
    #[schemars(length(min = 1))]
    pub columns: Vec<String>,
    /// Cap each column at these quantiles of its own values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Quantiles")]
    pub winsorize: Option<Quantiles>,
    /// Cap each column at `Q1 − k·IQR` and `Q3 + k·IQR` (Tukey's fences; k = 1.5 or 3 usually).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "f64", extend("exclusiveMinimum" = 0.0))]
    pub iqr: Option<f64>,
}

/// Lower and upper quantile of a winsorization (linear interpolation between order
/// statistics, numpy's default).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Quantiles {
    /// Lower quantile in [0, 1] (values below it are raised to it).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub lower: f64,
    /// Upper quantile in [0, 1], above `lower` (values above it are lowered to it).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub upper: f64,
}

/// The columns `$media` and `$target` stand for.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    /// Every media channel's spend column.
    pub media: Vec<String>,
    /// The target column, or in long format every campaign's column of the target metric.
    pub target: Vec<String>,
}

/// Checks of the rules that need no data; every problem by JSON pointer (`at` is the place of
/// the cleaning section, `/data/cleaning`).
pub fn cleaning_issues(spec: &CleaningSpec, at: &str) -> Vec<SpecIssue> {
    let mut issues = Vec::new();
    let mut push = |pointer: String, message: String| issues.push(SpecIssue { pointer, message });
    let check_selectors = |cols: &[String], at: &str, push: &mut dyn FnMut(String, String)| {
        if cols.is_empty() {
            push(format!("{at}/columns"), "name at least one column".into());
        }
        for (j, c) in cols.iter().enumerate() {
            if c.trim().is_empty() {
                push(
                    format!("{at}/columns/{j}"),
                    "a column selector must not be empty".into(),
                );
            } else if c.starts_with('$') && c != "$media" && c != "$target" {
                push(
                    format!("{at}/columns/{j}"),
                    format!("unknown selector '{c}'; the selectors are $media and $target"),
                );
            }
        }
    };
    for (i, r) in spec.missing.iter().enumerate() {
        check_selectors(&r.columns, &format!("{at}/missing/{i}"), &mut push);
    }
    for (i, r) in spec.outliers.iter().enumerate() {
        let here = format!("{at}/outliers/{i}");
        check_selectors(&r.columns, &here, &mut push);
        match (&r.winsorize, r.iqr) {
            (None, None) => push(
                here.clone(),
                "give one method: \"winsorize\": {\"lower\": q, \"upper\": q} or \"iqr\": k".into(),
            ),
            (Some(_), Some(_)) => push(
                format!("{here}/iqr"),
                "give one method, not both winsorize and iqr".into(),
            ),
            _ => {}
        }
        if let Some(q) = &r.winsorize {
            for (name, v) in [("lower", q.lower), ("upper", q.upper)] {
                if !(0.0..=1.0).contains(&v) {
                    push(
                        format!("{here}/winsorize/{name}"),
                        format!("quantile {v} must be in [0, 1]"),
                    );
                }
            }
            if q.lower >= q.upper {
                push(
                    format!("{here}/winsorize/upper"),
                    format!(
                        "upper quantile {} must be above the lower quantile {}",
                        q.upper, q.lower
                    ),
                );
            }
        }
        if let Some(k) = r.iqr {
            if !k.is_finite() || k <= 0.0 {
                push(
                    format!("{here}/iqr"),
                    format!("the IQR multiple {k} must be a finite number > 0"),
                );
            }
        }
    }
    issues
}

/// Whether `name` matches a `*` pattern.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    // dp[j]: pattern prefix matches name prefix of length j
    let mut dp = vec![false; s.len() + 1];
    dp[0] = true;
    for &pc in &p {
        let mut next = vec![false; s.len() + 1];
        if pc == '*' {
            let mut any = false;
            for j in 0..=s.len() {
                any |= dp[j];
                next[j] = any;
            }
        } else {
            for j in 1..=s.len() {
                next[j] = dp[j - 1] && s[j - 1] == pc;
            }
        }
        dp = next;
    }
    dp[s.len()]
}

/// The columns a rule's selectors name, in table order; a selector that names no column is a
/// spec error at its pointer (`at` is the rule's place, e.g. `/data/cleaning/missing/0`).
pub fn resolve(
    selectors: &[String],
    table: &Table,
    roles: &Roles,
    file: &str,
    at: &str,
) -> Result<Vec<String>> {
    let mut chosen = std::collections::BTreeSet::new();
    let mut issues = Vec::new();
    for (j, sel) in selectors.iter().enumerate() {
        let names: Vec<String> = match sel.as_str() {
            "$media" => roles.media.clone(),
            "$target" => roles.target.clone(),
            pat => table
                .headers
                .iter()
                .filter(|h| **h != table.date_column && glob(pat, h))
                .cloned()
                .collect(),
        };
        let present: Vec<String> = names.into_iter().filter(|n| table.has_column(n)).collect();
        if present.is_empty() {
            issues.push(SpecIssue {
                pointer: format!("{at}/columns/{j}"),
                message: format!(
                    "'{sel}' names no column of the data; the columns are: {}",
                    table
                        .headers
                        .iter()
                        .filter(|h| **h != table.date_column)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        chosen.extend(present);
    }
    if !issues.is_empty() {
        return Err(MmmError::Spec {
            file: file.to_string(),
            issues,
        });
    }
    Ok(table
        .headers
        .iter()
        .filter(|h| chosen.contains(*h))
        .cloned()
        .collect())
}

/// Applies the rules to `table` in place; returns every rule applied per column with its count.
/// `file` labels spec errors (a selector that names no column, a column named by two missing
/// rules).
pub fn clean(
    table: &mut Table,
    spec: &CleaningSpec,
    roles: &Roles,
    file: &str,
) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    let mut filled = std::collections::BTreeMap::new();
    for (i, r) in spec.missing.iter().enumerate() {
        let at = format!("/data/cleaning/missing/{i}");
        for col in resolve(&r.columns, table, roles, file, &at)? {
            if let Some(first) = filled.insert(col.clone(), i) {
                return Err(MmmError::Spec {
                    file: file.to_string(),
                    issues: vec![SpecIssue {
                        pointer: format!("{at}/columns"),
                        message: format!(
                            "column '{col}' is already named by /data/cleaning/missing/{first}; one fill per column"
                        ),
                    }],
                });
            }
            let cells = table.numeric_with_missing(&col)?;
            let (values, count) = fill(table, &col, &cells, r.fill)?;
            table.set_column(&col, &values)?;
            changes.push(Change::new(col, r.fill.rule(), count));
        }
    }
    let media: Vec<String> = roles
        .media
        .iter()
        .filter(|c| table.has_column(c))
        .cloned()
        .collect();
    for col in &media {
        let mut v = table.numeric(col)?;
        match spec.negative_spend {
            NegativeSpend::Error => table.check_non_negative(col, &v)?,
            NegativeSpend::ClipToZero => {
                let mut count = 0;
                for x in v.iter_mut().filter(|x| **x < 0.0) {
                    *x = 0.0;
                    count += 1;
                }
                table.set_column(col, &v)?;
                changes.push(Change::new(col.clone(), "negative_clip_to_zero", count));
            }
        }
    }
    for (i, r) in spec.outliers.iter().enumerate() {
        let at = format!("/data/cleaning/outliers/{i}");
        for col in resolve(&r.columns, table, roles, file, &at)? {
            let mut v = table.numeric(&col)?;
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let (rule, lo, hi) = match (&r.winsorize, r.iqr) {
                (Some(q), _) => (
                    "winsorize",
                    quantile(&sorted, q.lower),
                    quantile(&sorted, q.upper),
                ),
                (None, Some(k)) => {
                    let (q1, q3) = (quantile(&sorted, 0.25), quantile(&sorted, 0.75));
                    ("iqr", q1 - k * (q3 - q1), q3 + k * (q3 - q1))
                }
                (None, None) => continue,
            };
            let mut count = 0;
            for x in v.iter_mut() {
                if *x < lo {
                    *x = lo;
                    count += 1;
                } else if *x > hi {
                    *x = hi;
                    count += 1;
                }
            }
            table.set_column(&col, &v)?;
            changes.push(Change {
                column: col,
                rule: rule.into(),
                count,
                lower: Some(lo),
                upper: Some(hi),
            });
        }
    }
    Ok(changes)
}

/// The `p` quantile of sorted values by linear interpolation between order statistics
/// (`h = (n − 1)·p`, numpy's and R's type 7 default).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Fills the empty cells of one column; returns the values and the number of cells filled.
fn fill(table: &Table, col: &str, cells: &[Option<f64>], how: Fill) -> Result<(Vec<f64>, usize)> {
    let count = cells.iter().filter(|c| c.is_none()).count();
    let known: Vec<usize> = (0..cells.len()).filter(|&r| cells[r].is_some()).collect();
    let mut out = Vec::with_capacity(cells.len());
    match how {
        Fill::Zero => out.extend(cells.iter().map(|c| c.unwrap_or(0.0))),
        Fill::ForwardFill => {
            let mut last = None;
            for (r, c) in cells.iter().enumerate() {
                match (c, last) {
                    (Some(v), _) => {
                        last = Some(*v);
                        out.push(*v);
                    }
                    (None, Some(v)) => out.push(v),
                    (None, None) => {
                        return Err(table.cell_error(
                            col,
                            r,
                            "empty cell with no value above it to carry forward; use \"zero\" or \"interpolate\"",
                        ))
                    }
                }
            }
        }
        Fill::Interpolate => {
            if known.is_empty() {
                return Err(table.cell_error(
                    col,
                    0,
                    "every cell of the column is empty; nothing to interpolate from",
                ));
            }
            let mut k = 0; // index into known of the next known row at or after r
            for (r, c) in cells.iter().enumerate() {
                if let Some(v) = c {
                    out.push(*v);
                    if known.get(k) == Some(&r) {
                        k += 1;
                    }
                    continue;
                }
                let before = k.checked_sub(1).map(|i| known[i]);
                let after = known.get(k).copied();
                let v = match (before, after) {
                    (Some(a), Some(b)) => {
                        let (va, vb) = (cells[a].unwrap_or(0.0), cells[b].unwrap_or(0.0));
                        va + (vb - va) * (r - a) as f64 / (b - a) as f64
                    }
                    (Some(a), None) => cells[a].unwrap_or(0.0),
                    (None, Some(b)) => cells[b].unwrap_or(0.0),
                    (None, None) => 0.0,
                };
                out.push(v);
            }
        }
    }
    Ok((out, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars() {
        assert!(glob("*.clicks", "Search.clicks"));
        assert!(!glob("*.clicks", "Search.clicks2"));
        assert!(glob("Search.*", "Search.spend"));
        assert!(glob("a*b*c", "aXXbYc"));
        assert!(glob("spend", "spend"));
        assert!(!glob("spend", "spends"));
    }

    #[test]
    fn quantile_is_numpy_type_7() {
        let s = [1.0, 2.0, 3.0, 4.0, 10.0];
        // numpy.quantile([1,2,3,4,10], [0.25, 0.9]) = [2.0, 7.6]
        assert_eq!(quantile(&s, 0.25), 2.0);
        assert!((quantile(&s, 0.9) - 7.6).abs() < 1e-12);
        assert_eq!(quantile(&s, 0.0), 1.0);
        assert_eq!(quantile(&s, 1.0), 10.0);
    }
}
