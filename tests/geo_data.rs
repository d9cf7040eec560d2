//! Geo panels (`data.geo`, `data.population`): the national series are the geos' sums and
//! population-weighted means, the file's row order does not matter, and every malformed panel
//! is an error (exit 2) naming the file, line or column.

mod common;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const GEOS: [(&str, f64); 3] = [("north", 2.0e6), ("south", 1.0e6), ("west", 5.0e5)];

/// One row of the panel: geo, week, sales, tv, radio, price, population.
type Row = (String, String, f64, f64, f64, f64, f64);

/// Row `t` of geo `g`.
fn row(g: usize, t: usize) -> Row {
    let (name, pop) = GEOS[g];
    let scale = pop / 1.0e6;
    let tv = scale * (100.0 + 50.0 * ((t as f64) * 0.9 + g as f64).sin().abs() + (t % 5) as f64);
    let radio = scale * (40.0 + 30.0 * ((t as f64) * 0.4 + g as f64).cos().abs());
    let price = 10.0 + ((t * 7 + g * 3) % 11) as f64 * 0.1;
    let sales = scale * 1000.0 + 2.0 * tv + radio - 20.0 * price + ((t * 13 + g) % 17) as f64;
    (
        name.to_string(),
        add_days((2021, 1, 4), 7 * t as i64),
        sales,
        tv,
        radio,
        price,
        pop,
    )
}

fn panel_csv(order: &[(usize, usize)]) -> String {
    let mut s = String::from("geo,week,sales,tv,radio,price,population\n");
    for &(g, t) in order {
        let (geo, week, sales, tv, radio, price, pop) = row(g, t);
        s.push_str(&format!(
            "{geo},{week},{sales},{tv},{radio},{price},{pop}\n"
        ));
    }
    s
}

/// Geo-major order (all of north, then south, then west).
fn geo_major(n: usize) -> Vec<(usize, usize)> {
    (0..GEOS.len())
        .flat_map(|g| (0..n).map(move |t| (g, t)))
        .collect()
}

fn panel_spec() -> Value {
    json!({
        "name": "panel",
        "data": {"path": "data.csv", "date": "week", "target": "sales",
                 "geo": "geo", "population": "population"},
        "media": [
            {"name": "tv", "spend": "tv", "transforms": [{"type": "geometric_adstock", "decay": 0.3}]},
            {"name": "radio", "spend": "radio"}
        ],
        "controls": ["price"],
        "model": {"type": "ols"}
    })
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn the_national_series_are_sums_and_population_weighted_means_in_any_row_order() {
    let n = 40;
    let dir = tempfile::tempdir().unwrap();
    let p = write_case(dir.path(), &panel_csv(&geo_major(n)), &panel_spec());
    let r = run_ok(&p, &dir.path().join("out"));
    assert_eq!(r["data_quality"]["geos"], json!(["north", "south", "west"]));
    assert_eq!(r["data_quality"]["rows_read"], json!(3 * n));
    assert_eq!(r["data"]["n_obs"], json!(n));
    // the report says what was modeled
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(html.contains("a panel of 3 geos, modeled as their national sums"));

    // the same model on the national CSV computed here
    let total_pop: f64 = GEOS.iter().map(|g| g.1).sum();
    let mut national = String::from("week,sales,tv,radio,price\n");
    for t in 0..n {
        let rows: Vec<_> = (0..GEOS.len()).map(|g| row(g, t)).collect();
        let sum = |f: fn(&Row) -> f64| -> f64 { rows.iter().map(f).sum() };
        let price: f64 = rows.iter().map(|r| r.5 * r.6 / total_pop).sum();
        national.push_str(&format!(
            "{},{},{},{},{price}\n",
            rows[0].1,
            sum(|r| r.2),
            sum(|r| r.3),
            sum(|r| r.4)
        ));
    }
    let mut spec = panel_spec();
    spec["data"] = json!({"path": "data.csv", "date": "week", "target": "sales"});
    let nat_dir = tempfile::tempdir().unwrap();
    let q = write_case(nat_dir.path(), &national, &spec);
    let want = run_ok(&q, &nat_dir.path().join("out"));
    let coefs = |v: &Value| -> BTreeMap<String, f64> {
        v["coefficients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["estimate"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let (a, b) = (coefs(&r), coefs(&want));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(close(*v, b[k]), "{k}: {v} vs {}", b[k]);
    }

    // rows interleaved and out of date order: the same results
    let mut shuffled: Vec<(usize, usize)> = geo_major(n);
    shuffled.sort_by_key(|&(g, t)| ((t * 17 + g * 5) % 23, g, t));
    let dir2 = tempfile::tempdir().unwrap();
    let p2 = write_case(dir2.path(), &panel_csv(&shuffled), &panel_spec());
    let r2 = run_ok(&p2, &dir2.path().join("out"));
    for (k, v) in coefs(&r2) {
        assert!(close(v, a[&k]), "{k}: {v} vs {}", a[&k]);
    }
}

#[test]
fn a_geo_missing_a_period_is_an_error_naming_the_geo_and_date() {
    let n = 30;
    let order: Vec<_> = geo_major(n)
        .into_iter()
        .filter(|&(g, t)| !(g == 1 && t == 7))
        .collect();
    let missing = add_days((2021, 1, 4), 49);
    expect_rejected(
        &panel_csv(&order),
        &panel_spec(),
        &[
            "data.csv",
            "geo",
            "'south'",
            &missing,
            "29 of the panel's 30 dates",
        ],
    );
}

/// An empty KPI cell in one geo leaves that period empty nationally; without a cleaning rule
/// the error names the geo's line (not only the period) and the column.
#[test]
fn an_empty_cell_in_one_geo_is_an_error_naming_its_line() {
    let csv = panel_csv(&geo_major(30));
    // south's week 5 is data row 30 + 5 (line 37 with the header)
    let lines: Vec<String> = csv
        .lines()
        .enumerate()
        .map(|(i, l)| match i {
            36 => {
                let mut cells: Vec<&str> = l.split(',').collect();
                assert_eq!(cells[0], "south");
                cells[2] = "";
                cells.join(",")
            }
            _ => l.to_string(),
        })
        .collect();
    expect_rejected(
        &(lines.join("\n") + "\n"),
        &panel_spec(),
        &["data.csv", "line 37", "column 'sales'", "empty cell"],
    );
}

/// A lift test's `geos: []` would silently make it national: it is refused at its spec path.
#[test]
fn an_empty_list_of_lift_test_geos_is_a_spec_error() {
    let mut spec = panel_spec();
    spec["calibration"] = json!([{"channel": "tv", "start": "2021-03-01", "end": "2021-03-29",
                                  "holdout": true, "geos": [], "lift": -100.0,
                                  "standard_error": 10.0}]);
    expect_rejected(
        &panel_csv(&geo_major(30)),
        &spec,
        &["spec.json", "/calibration/0/geos"],
    );
}

#[test]
fn a_duplicate_geo_and_date_is_an_error_naming_both_lines() {
    let n = 30;
    let mut order = geo_major(n);
    order.push((2, 4)); // line 92: a second row for west, week 4 (first at line 66)
    expect_rejected(
        &panel_csv(&order),
        &panel_spec(),
        &[
            "line 92",
            "a second row for geo 'west'",
            "the first is line 66",
        ],
    );
}

#[test]
fn constant_spend_within_a_geo_is_an_error_naming_geo_and_column() {
    let n = 30;
    let csv: String = panel_csv(&geo_major(n))
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut c: Vec<String> = l.split(',').map(str::to_string).collect();
            if i > 0 && c[0] == "west" {
                c[4] = "25".into(); // radio
            }
            c.join(",") + "\n"
        })
        .collect();
    expect_rejected(
        &csv,
        &panel_spec(),
        &["radio", "constant spend (25) in geo 'west'"],
    );
}

#[test]
fn a_population_that_is_not_positive_is_an_error_naming_line_and_column() {
    let n = 30;
    let csv: String = panel_csv(&geo_major(n))
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 35 {
                let mut c: Vec<&str> = l.split(',').collect();
                c[6] = "0";
                c.join(",") + "\n"
            } else {
                l.to_string() + "\n"
            }
        })
        .collect();
    expect_rejected(
        &csv,
        &panel_spec(),
        &["line 36", "population", "not a number > 0"],
    );
}

#[test]
fn a_population_without_a_geo_column_is_a_spec_error() {
    let mut spec = panel_spec();
    spec["data"].as_object_mut().unwrap().remove("geo").unwrap();
    expect_rejected(&panel_csv(&geo_major(30)), &spec, &["/data/population"]);
}

#[test]
fn a_geo_column_that_is_missing_is_named() {
    let mut spec = panel_spec();
    spec["data"]["geo"] = json!("region");
    expect_rejected(&panel_csv(&geo_major(30)), &spec, &["region"]);
}

/// Long rows with a geo column: each geo's campaign rows are pivoted on the whole file's
/// campaigns and dates, a (geo, campaign, date) without a row is 0 there and counted, and the
/// national metrics are the sums over geos.
#[test]
fn long_rows_with_a_geo_column_pivot_per_geo_and_sum_over_geos() {
    let days = 42;
    let base = long_csv(days);
    let mut csv =
        String::from("geo,date,campaign_name,spend,impressions,clicks,conversions,revenue\n");
    // per (date, campaign): the summed spend and revenue over geos, as the national model sees
    let mut spend_a = 0.0;
    let mut revenue: std::collections::BTreeMap<String, f64> = Default::default();
    let skipped = (add_days((2024, 1, 1), 5), "B");
    for (geo, k) in [("east", 1.0), ("west", 2.0)] {
        for line in base.lines().skip(1) {
            let c: Vec<&str> = line.split(',').collect();
            if geo == "west" && (c[0].to_string(), c[1]) == (skipped.0.clone(), skipped.1) {
                continue;
            }
            let v: Vec<f64> = c[2..]
                .iter()
                .map(|x| x.parse::<f64>().unwrap() * k)
                .collect();
            if c[1] == "A" {
                spend_a += v[0];
            }
            *revenue.entry(c[0].to_string()).or_default() += v[4];
            csv.push_str(&format!(
                "{geo},{},{},{},{},{},{},{}\n",
                c[0], c[1], v[0], v[1], v[2], v[3], v[4]
            ));
        }
    }
    let mut spec = long_spec();
    spec["data"]["geo"] = json!("geo");
    let dir = tempfile::tempdir().unwrap();
    let p = write_case(dir.path(), &csv, &spec);
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    let q = &r["data_quality"];
    assert_eq!(q["geos"], json!(["east", "west"]));
    assert_eq!(q["campaigns"], json!(["A", "B"]));
    assert_eq!(q["rows_read"], json!(4 * days - 1));
    assert_eq!(
        q["changes"],
        json!([{"column": "B.*", "rule": "missing_row", "count": 1}])
    );
    let a = r["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "A")
        .unwrap();
    assert!(close(a["spend"].as_f64().unwrap(), spend_a));
    let decomposition = std::fs::read_to_string(out.join("decomposition.csv")).unwrap();
    for line in decomposition.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let actual: f64 = c[1].parse().unwrap();
        assert!(
            close(actual, revenue[c[0]]),
            "{}: {actual} vs {}",
            c[0],
            revenue[c[0]]
        );
    }
}
