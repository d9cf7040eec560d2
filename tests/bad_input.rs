//! Every bad input gets exit code 2, a message naming the file, line, column or spec path, and
//! no output at all.

mod common;
use common::*;
use serde_json::json;

/// The date cell of 1-based `line` of a CSV text.
fn date_on_line(csv: &str, line: usize) -> String {
    csv.lines()
        .nth(line - 1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string()
}

/// Sets every data cell of column `col` to `value`.
fn constant_column(csv: &str, col: usize, value: &str) -> String {
    (2..=csv.lines().count()).fold(csv.to_string(), |acc, line| {
        replace_cell(&acc, line, col, value)
    })
}

fn replace_cell(csv: &str, line: usize, col: usize, value: &str) -> String {
    csv.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells[col] = value;
                cells.join(",")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn valid_case_runs() {
    let dir = tempfile::tempdir().unwrap();
    let spec_path = write_case(dir.path(), &weekly_csv(40), &small_spec());
    let out = dir.path().join("out");
    let o = mmm(&[
        "run",
        spec_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("results.json").exists() && out.join("decomposition.csv").exists());
    let v = mmm(&["validate", spec_path.to_str().unwrap()]);
    assert!(v.status.success(), "{}", stderr(&v));
}

#[test]
fn missing_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = small_spec();
    spec["data"]["path"] = json!("nope.csv");
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let o = mmm(&[
        "run",
        spec_path.to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("nope.csv") && stderr(&o).contains("file not found"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn missing_spec_file() {
    let o = mmm(&["run", "/nonexistent/spec.json", "--out", "/tmp/never"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/spec.json"));
}

#[test]
fn missing_column_lists_existing_ones() {
    let mut spec = small_spec();
    spec["media"][1]["spend"] = json!("radio_spend");
    expect_rejected(
        &weekly_csv(40),
        &spec,
        &[
            "data.csv",
            "'radio_spend'",
            "no such column",
            "week, sales, tv, radio, price, promo",
        ],
    );
}

#[test]
fn non_numeric_cell() {
    let csv = replace_cell(&weekly_csv(40), 5, 2, "12a");
    expect_rejected(
        &csv,
        &small_spec(),
        &[
            "data.csv",
            "line 5",
            "column 'tv'",
            "'12a' is not a finite number",
        ],
    );
}

#[test]
fn empty_cell() {
    let csv = replace_cell(&weekly_csv(40), 7, 4, "");
    expect_rejected(
        &csv,
        &small_spec(),
        &["line 7", "column 'price'", "empty cell"],
    );
}

#[test]
fn negative_spend() {
    let csv = replace_cell(&weekly_csv(40), 9, 3, "-5");
    expect_rejected(
        &csv,
        &small_spec(),
        &["line 9", "column 'radio'", "negative spend"],
    );
}

#[test]
fn duplicate_date() {
    let csv = weekly_csv(40);
    let date3 = date_on_line(&csv, 3);
    let csv = replace_cell(&csv, 4, 0, &date3);
    expect_rejected(
        &csv,
        &small_spec(),
        &["line 4", "column 'week'", "duplicate date"],
    );
}

#[test]
fn unsorted_dates() {
    let csv = weekly_csv(40);
    let date2 = date_on_line(&csv, 2);
    let csv = replace_cell(&csv, 6, 0, &date2);
    expect_rejected(
        &csv,
        &small_spec(),
        &["line 6", "column 'week'", "not sorted"],
    );
}

#[test]
fn irregular_spacing() {
    let csv = weekly_csv(40);
    let d = date_on_line(&csv, 10);
    // shift line 10's date by one day: 8 days after its predecessor
    let shifted = {
        let (y, m, dd) = (
            d[0..4].parse().unwrap(),
            d[5..7].parse().unwrap(),
            d[8..10].parse().unwrap(),
        );
        add_days((y, m, dd), 1)
    };
    let csv = replace_cell(&csv, 10, 0, &shifted);
    expect_rejected(&csv, &small_spec(), &["line 10", "irregular spacing"]);
}

#[test]
fn bad_date() {
    let csv = replace_cell(&weekly_csv(40), 3, 0, "03/01/2021");
    expect_rejected(&csv, &small_spec(), &["line 3", "not an ISO date"]);
}

#[test]
fn fewer_rows_than_parameters() {
    expect_rejected(&weekly_csv(5), &small_spec(), &["5 rows", "parameters"]);
}

#[test]
fn constant_media_column() {
    let csv = constant_column(&weekly_csv(40), 3, "50");
    expect_rejected(&csv, &small_spec(), &["column 'radio'", "constant"]);
}

#[test]
fn constant_control_column() {
    let csv = constant_column(&weekly_csv(40), 4, "9.5");
    expect_rejected(
        &csv,
        &small_spec(),
        &["column 'price'", "control", "constant"],
    );
}

#[test]
fn parameter_out_of_range_names_pointer() {
    let mut spec = small_spec();
    spec["media"][0]["transforms"][0]["decay"] = json!(1.3);
    expect_rejected(
        &weekly_csv(40),
        &spec,
        &["/media/0/transforms/0/decay", "1.3"],
    );
}

#[test]
fn unknown_field_is_an_error() {
    let mut spec = small_spec();
    spec["media"][0]["transforms"][0]["decya"] = json!(0.3);
    expect_rejected(&weekly_csv(40), &spec, &["/media/0/transforms/0", "decya"]);
    let mut spec = small_spec();
    spec["colour"] = json!("blue");
    expect_rejected(&weekly_csv(40), &spec, &["colour"]);
}

#[test]
fn unknown_type_lists_registered() {
    let mut spec = small_spec();
    spec["model"] = json!({"type": "olss"});
    expect_rejected(&weekly_csv(40), &spec, &["/model/type", "\"ols\""]);
}

#[test]
fn every_error_is_reported() {
    let mut spec = small_spec();
    spec["media"][0]["transforms"][0]["decay"] = json!(-1);
    spec["model"] = json!({"type": "ridge", "alpha": -2});
    expect_rejected(
        &weekly_csv(40),
        &spec,
        &["/media/0/transforms/0/decay", "/model/alpha"],
    );
}

#[test]
fn malformed_json() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("spec.json");
    std::fs::write(&p, "{\"name\": \"x\",\n \"data\": }").unwrap();
    let o = mmm(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
}

#[test]
fn unknown_categorical_reference() {
    let mut spec = small_spec();
    spec["controls"][1]["reference"] = json!("maybe");
    expect_rejected(
        &weekly_csv(40),
        &spec,
        &["column 'promo'", "'maybe'", "no, yes"],
    );
}

/// Replaces the cell of `col` (0-based) on 1-based `line` of a long CSV.
fn long_cell(line: usize, col: usize, value: &str) -> String {
    replace_cell(&long_csv(28), line, col, value)
}

#[test]
fn long_format_empty_spend_names_the_file_line() {
    // line 7 is day 3 of campaign B (rows: A then B per day, from line 2)
    expect_rejected(
        &long_cell(7, 2, ""),
        &long_spec(),
        &[
            "line 7",
            "column 'spend'",
            "empty cell",
            "campaign 'B'",
            "B.spend",
        ],
    );
}

#[test]
fn long_format_negative_spend_is_an_error_by_default() {
    expect_rejected(
        &long_cell(9, 2, "-3"),
        &long_spec(),
        &["line 9", "column 'spend'", "negative spend", "clip_to_zero"],
    );
}

#[test]
fn long_format_duplicate_row() {
    // line 5 becomes a second row for day 2 of campaign A (line 4 is the first)
    let csv = long_cell(5, 1, "A");
    let csv = replace_cell(&csv, 5, 0, "2024-01-02");
    expect_rejected(&csv, &long_spec(), &["line 5", "the first is line 4"]);
}

#[test]
fn long_format_unknown_target_metric() {
    let mut spec = long_spec();
    spec["data"]["target"] = json!("sales");
    expect_rejected(&long_csv(28), &spec, &["column 'sales'", "no such metric"]);
}

#[test]
fn aggregating_weekly_data_is_an_error() {
    let mut spec = small_spec();
    spec["data"]["aggregate"] = json!("week");
    expect_rejected(&weekly_csv(40), &spec, &["needs daily data"]);
}

#[test]
fn bad_cleaning_specs_name_their_pointer() {
    let cases = [
        (
            json!({"outliers": [{"columns": ["$media"]}]}),
            "/data/cleaning/outliers/0",
        ),
        (
            json!({"outliers": [{"columns": ["$media"], "winsorize": {"lower": 0.9, "upper": 0.1}}]}),
            "/data/cleaning/outliers/0/winsorize/upper",
        ),
        (
            json!({"outliers": [{"columns": ["$media"], "winsorize": {"lower": 0.1, "upper": 1.5}}]}),
            "/data/cleaning/outliers/0/winsorize/upper",
        ),
        (
            json!({"outliers": [{"columns": ["$media"], "iqr": 0.0}]}),
            "/data/cleaning/outliers/0/iqr",
        ),
        (
            json!({"missing": [{"columns": ["price"], "fill": "mean"}]}),
            "/data/cleaning/missing/0/fill",
        ),
        (
            json!({"missing": [{"columns": [], "fill": "zero"}]}),
            "/data/cleaning/missing/0/columns",
        ),
        (
            json!({"missing": [{"columns": ["$spend"], "fill": "zero"}]}),
            "/data/cleaning/missing/0/columns/0",
        ),
        (
            json!({"negative_spend": "ignore"}),
            "/data/cleaning/negative_spend",
        ),
        (
            json!({"missing": [{"columns": ["price"], "fill": "zero", "limit": 2}]}),
            "/data/cleaning/missing/0",
        ),
        // data-dependent: a selector that names no column, and a column filled twice
        (
            json!({"missing": [{"columns": ["price", "tv.*"], "fill": "zero"}]}),
            "/data/cleaning/missing/0/columns/1",
        ),
        (
            json!({"missing": [{"columns": ["price"], "fill": "zero"}, {"columns": ["pr*"], "fill": "interpolate"}]}),
            "/data/cleaning/missing/1/columns",
        ),
    ];
    for (cleaning, pointer) in cases {
        let mut spec = small_spec();
        spec["data"]["cleaning"] = cleaning;
        expect_rejected(&weekly_csv(40), &spec, &[pointer]);
    }
    let mut spec = small_spec();
    spec["data"]["partial_weeks"] = json!("keep");
    expect_rejected(&weekly_csv(40), &spec, &["/data/partial_weeks"]);
}
