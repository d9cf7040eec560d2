//! Baseline terms: holidays from a Prophet-layout calendar (weekly data counts a holiday in the
//! week that contains it), day-of-week indicators, several Fourier periods.

mod common;
use common::*;
use serde_json::json;

fn decomposition(dir: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(dir.join("decomposition.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    (
        header,
        lines
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect(),
    )
}

#[test]
fn weekly_holiday_counts_in_its_week() {
    let dir = tempfile::tempdir().unwrap();
    // weekly_csv starts on Monday 2021-01-04; Wednesday 2021-01-13 lies in the week of 2021-01-11
    std::fs::write(
        dir.path().join("cal.csv"),
        "ds,holiday,country\n2021-01-13,Feast,DE\n2021-02-02,Other,DE\n2021-02-03,Foreign,FR\n2030-01-01,Future,DE\n",
    )
    .unwrap();
    let mut spec = small_spec();
    spec["baseline"] =
        json!({"holidays": {"path": "cal.csv", "country": "DE", "per_holiday": true}});
    let p = write_case(dir.path(), &weekly_csv(40), &spec);
    let out = dir.path().join("out");
    run_ok(&p, &out);
    let (header, rows) = decomposition(&out);
    let feast = header
        .iter()
        .position(|h| h == "holiday[Feast]")
        .expect("Feast column");
    let other = header
        .iter()
        .position(|h| h == "holiday[Other]")
        .expect("Other column");
    assert!(
        !header
            .iter()
            .any(|h| h.contains("Foreign") || h.contains("Future")),
        "{header:?}"
    );
    for r in &rows {
        let f: f64 = r[feast].parse().unwrap();
        assert_eq!(f != 0.0, r[0] == "2021-01-11", "Feast on {}", r[0]);
        let g: f64 = r[other].parse().unwrap();
        assert_eq!(g != 0.0, r[0] == "2021-02-01", "Other on {}", r[0]);
    }
}

#[test]
fn day_of_week_needs_daily_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = small_spec();
    spec["baseline"] = json!({"day_of_week": true});
    let p = write_case(dir.path(), &weekly_csv(40), &spec);
    let o = mmm(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("day_of_week needs daily data"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn daily_data_with_day_of_week_and_two_seasonalities() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("day,sales,tv,radio,price,promo\n");
    for t in 0..120i64 {
        let tv = 100.0 + ((t * 7) % 13) as f64 * 5.0;
        let radio = 50.0 + ((t * 5) % 11) as f64 * 3.0;
        let weekend = if t % 7 >= 5 { 80.0 } else { 0.0 };
        let sales = 500.0 + 1.5 * tv + radio + weekend + ((t * 3) % 7) as f64;
        csv.push_str(&format!(
            "{},{sales},{tv},{radio},{},{}\n",
            add_days((2021, 1, 4), t),
            10.0 + (t % 3) as f64,
            if t % 9 == 0 { "yes" } else { "no" }
        ));
    }
    let mut spec = small_spec();
    spec["data"]["date"] = json!("day");
    // (weekly Fourier terms and day-of-week indicators together would be collinear)
    spec["baseline"] = json!({"day_of_week": true, "seasonality": [{"period": 30.4, "order": 1}, {"period": 365.25, "order": 1}]});
    let p = write_case(dir.path(), &csv, &spec);
    let out = dir.path().join("out");
    let r = run_ok(&p, &out);
    assert_eq!(r["data"]["frequency"], "daily");
    let names: Vec<&str> = r["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in ["dow_tue", "dow_sun", "sin_30.4_1", "cos_365.25_1"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let sat = r["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "dow_sat")
        .unwrap();
    assert!(
        (sat["estimate"].as_f64().unwrap() - 80.0).abs() < 5.0,
        "weekend uplift {}",
        sat["estimate"]
    );
}
