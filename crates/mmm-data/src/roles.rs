//! Cross-field checks of a spec that need no data: one column, one role; names that do not
//! collide with each other or with the columns mmm writes; seasonality below the Nyquist limit;
//! tuning objectives listed once.
//!
//! The target, the date, each channel's spend and each control are distinct columns: a target
//! used as a channel's spend or a control would be explained by itself (R² = 1), two channels
//! on one spend column or a control that is also a spend make the design singular. Channel
//! names and control columns become design columns and headers of `decomposition.csv` (after
//! `date`, `actual`, `predicted`, …) and of `draws.csv` (after `chain`, `draw`), so they must
//! differ from each other and from those reserved names.

use crate::spec::{ControlSpec, ExperimentSpec, Seasonality};
use mmm_core::error::SpecIssue;
use std::collections::BTreeMap;

/// Headers that `decomposition.csv` and `draws.csv` always have.
pub const RESERVED_OUTPUT_NAMES: &[&str] = &[
    "date",
    "actual",
    "predicted",
    "predicted_low",
    "predicted_high",
    "chain",
    "draw",
];

/// Every cross-field problem of `spec`, by JSON pointer.
pub fn role_issues(spec: &ExperimentSpec) -> Vec<SpecIssue> {
    let mut issues = Vec::new();
    column_roles(spec, &mut issues);
    name_collisions(spec, &mut issues);
    seasonality(spec, &mut issues);
    if let Some(t) = &spec.tuning {
        if t.on == Some(mmm_core::tuning::ScoreOn::Validation) && spec.validation.is_none() {
            issues.push(SpecIssue {
                pointer: "/tuning/on".into(),
                message: "scoring on \"validation\" needs a \"validation\" section in the spec"
                    .into(),
            });
        }
        if t.on == Some(mmm_core::tuning::ScoreOn::Folds)
            && spec.validation.as_ref().and_then(|v| v.folds).is_none()
        {
            issues.push(SpecIssue {
                pointer: "/tuning/on".into(),
                message: "scoring on \"folds\" needs a \"validation\" section with \"folds\", \
                          e.g. \"validation\": {\"test_fraction\": 0.2, \"folds\": 4}"
                    .into(),
            });
        }
        for (i, o) in t.objectives.iter().enumerate() {
            if let Some(j) = t.objectives[..i].iter().position(|p| p == o) {
                issues.push(SpecIssue {
                    pointer: format!("/tuning/objectives/{i}"),
                    message: format!(
                        "objective {} is listed twice (also /tuning/objectives/{j})",
                        serde_json::to_string(o).unwrap_or_default()
                    ),
                });
            }
        }
    }
    issues
}

/// The pointer of control `j`'s column.
fn control_pointer(spec: &ExperimentSpec, j: usize) -> String {
    match &spec.controls[j] {
        ControlSpec::Column(_) => format!("/controls/{j}"),
        ControlSpec::Detailed(_) => format!("/controls/{j}/column"),
    }
}

fn column_roles(spec: &ExperimentSpec, issues: &mut Vec<SpecIssue>) {
    // column → (pointer, role) of its first use
    let mut used: BTreeMap<&str, (String, &'static str)> = BTreeMap::new();
    let mut uses: Vec<(&str, String, &'static str)> = vec![
        (spec.data.date.as_str(), "/data/date".into(), "the date"),
        (
            spec.data.target.as_str(),
            "/data/target".into(),
            "the target",
        ),
    ];
    for (i, m) in spec.media.iter().enumerate() {
        uses.push((
            m.spend.as_str(),
            format!("/media/{i}/spend"),
            "a channel's spend",
        ));
    }
    for (j, c) in spec.controls.iter().enumerate() {
        uses.push((c.column(), control_pointer(spec, j), "a control"));
    }
    for (column, pointer, role) in uses {
        match used.get(column) {
            Some((first, first_role)) => issues.push(SpecIssue {
                message: format!(
                    "column '{column}' is already {first_role} ({first}); a column can have \
                     only one role (date, target, one channel's spend or one control)"
                ),
                pointer: pointer.clone(),
            }),
            None => {
                used.insert(column, (pointer, role));
            }
        }
    }
}

/// The design column names the baseline section generates (they appear in results and in
/// `decomposition.csv`).
pub fn baseline_names(spec: &ExperimentSpec) -> Vec<(String, String)> {
    let b = &spec.baseline;
    let mut names = Vec::new();
    if b.intercept {
        names.push(("intercept".to_string(), "/baseline/intercept".to_string()));
    }
    if b.trend {
        names.push(("trend".to_string(), "/baseline/trend".to_string()));
    }
    if let Some(s) = &b.seasonality {
        for (i, f) in s.terms().iter().enumerate() {
            let pointer = match s {
                Seasonality::One(_) => "/baseline/seasonality".to_string(),
                Seasonality::Many(_) => format!("/baseline/seasonality/{i}"),
            };
            let tag = mmm_core::dataset::fmt_period(f.period);
            for k in 1..=f.order.min(10_000) {
                names.push((format!("sin_{tag}_{k}"), pointer.clone()));
                names.push((format!("cos_{tag}_{k}"), pointer.clone()));
            }
        }
    }
    if b.day_of_week {
        for d in ["tue", "wed", "thu", "fri", "sat", "sun"] {
            names.push((format!("dow_{d}"), "/baseline/day_of_week".to_string()));
        }
    }
    if b.holidays.is_some() {
        names.push(("holiday".to_string(), "/baseline/holidays".to_string()));
    }
    names
}

fn name_collisions(spec: &ExperimentSpec, issues: &mut Vec<SpecIssue>) {
    // design and output column names → where they come from
    let mut taken: BTreeMap<String, String> = RESERVED_OUTPUT_NAMES
        .iter()
        .map(|n| (n.to_string(), "a column mmm writes".to_string()))
        .collect();
    for (name, pointer) in baseline_names(spec) {
        taken.entry(name).or_insert(pointer);
    }
    let reserved_prefix = |n: &str| spec.baseline.holidays.is_some() && n.starts_with("holiday[");
    for (j, c) in spec.controls.iter().enumerate() {
        let pointer = control_pointer(spec, j);
        let name = c.column();
        if let Some(first) = taken.get(name) {
            if !first.starts_with("/controls/") {
                issues.push(collision(&pointer, "control", name, first));
            }
            // a control listed twice is reported by column_roles
        } else if reserved_prefix(name) {
            issues.push(collision(&pointer, "control", name, "/baseline/holidays"));
        } else {
            taken.insert(name.to_string(), pointer);
        }
    }
    for (i, m) in spec.media.iter().enumerate() {
        let pointer = format!("/media/{i}/name");
        if let Some(first) = taken.get(&m.name) {
            // two channels of one name are reported by spec::plugin_issues
            if !first.starts_with("/media/") {
                issues.push(collision(&pointer, "channel", &m.name, first));
            }
        } else if reserved_prefix(&m.name) {
            issues.push(collision(
                &pointer,
                "channel",
                &m.name,
                "/baseline/holidays",
            ));
        } else {
            taken.insert(m.name.clone(), pointer);
        }
    }
}

fn collision(pointer: &str, what: &str, name: &str, first: &str) -> SpecIssue {
    let source = if first.starts_with('/') {
        format!("the name of {first}")
    } else {
        format!("reserved: {first} ({})", RESERVED_OUTPUT_NAMES.join(", "))
    };
    SpecIssue {
        pointer: pointer.to_string(),
        message: format!(
            "{what} name '{name}' collides with a column of the results, {source}; rename it"
        ),
    }
}

fn seasonality(spec: &ExperimentSpec, issues: &mut Vec<SpecIssue>) {
    let Some(s) = &spec.baseline.seasonality else {
        return;
    };
    let mut seen: Vec<f64> = Vec::new();
    for (i, f) in s.terms().iter().enumerate() {
        let pointer = match s {
            Seasonality::One(_) => "/baseline/seasonality".to_string(),
            Seasonality::Many(_) => format!("/baseline/seasonality/{i}"),
        };
        // harmonic k has period P/k; at P/k ≤ 2 it aliases (sin(πt) = 0, cos(πt) = ±1)
        if f.period / f.order as f64 <= 2.0 {
            issues.push(SpecIssue {
                pointer: format!("{pointer}/order"),
                message: format!(
                    "harmonic {} of period {} repeats every {} periods; every harmonic must \
                     repeat every more than 2 periods (order < period / 2)",
                    f.order,
                    f.period,
                    f.period / f.order as f64
                ),
            });
        }
        if seen.contains(&f.period) {
            issues.push(SpecIssue {
                pointer: format!("{pointer}/period"),
                message: format!("period {} is listed twice", f.period),
            });
        }
        seen.push(f.period);
    }
}
