//! Tuning speed (issue target: ≥ 100,000 evaluations/s on 2 cores; a 10,000-evaluation search
//! under 0.2 s wall, whole process included; an allocation-free inner loop).
//!
//! One evaluation = geometric adstock + Hill on each of 4 channels + ridge (non-negative media)
//! + NRMSE and DECOMP.RSSD, on 156 weeks. Run with `cargo bench --bench tuning`.

use mmm_data::dataset::FromSpec;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

use mmm as _;

fn write_case(dir: &std::path::Path, evaluations: usize) -> std::path::PathBuf {
    let mut csv = String::from("week,sales,tv,digital,print,radio,price\n");
    let mut state = 12345u64;
    let mut rnd = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let start = chrono_days(2020, 1, 6);
    for t in 0..156 {
        let s: Vec<f64> = (0..4)
            .map(|c| 100.0 * (1.0 + c as f64) * (0.5 + rnd()))
            .collect();
        let price = 10.0 + rnd();
        let y = 5000.0 + s.iter().sum::<f64>() * 1.5 - 50.0 * price + 100.0 * rnd();
        csv.push_str(&format!(
            "{},{y},{},{},{},{},{price}\n",
            iso(start + 7 * t),
            s[0],
            s[1],
            s[2],
            s[3]
        ));
    }
    std::fs::write(dir.join("data.csv"), csv).unwrap();
    let media: Vec<serde_json::Value> = ["tv", "digital", "print", "radio"]
        .iter()
        .enumerate()
        .map(|(c, n)| {
            serde_json::json!({"name": n, "spend": n, "transforms": [
                {"type": "geometric_adstock", "decay": {"range": [0.0, 0.8]}},
                {"type": "hill", "half_saturation": {"range": [50.0 * (1.0 + c as f64), 800.0 * (1.0 + c as f64)]}, "shape": {"range": [0.5, 3.0]}}]})
        })
        .collect();
    let spec = serde_json::json!({
        "name": "bench", "seed": 1,
        "data": {"path": "data.csv", "date": "week", "target": "sales"},
        "media": media, "controls": ["price"], "baseline": {"trend": true},
        "model": {"type": "ridge", "alpha": {"range": [0.001, 1000.0], "scale": "log"}},
        "tuning": {"strategy": {"type": "random"}, "evaluations": evaluations,
                   "objectives": ["nrmse", "decomp_rssd"], "on": "in_sample"}
    });
    let p = dir.join("spec.json");
    std::fs::write(&p, spec.to_string()).unwrap();
    p
}

fn chrono_days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468
}

fn iso(z: i64) -> String {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}")
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let spec_path = write_case(dir.path(), 100_000);
    let loaded = mmm_data::spec::load_spec(&spec_path).unwrap();
    let data = mmm_core::dataset::ModelData::from_spec(&loaded).unwrap();
    let causal = mmm_engine::experiment::causal_of(&loaded).unwrap();
    let t = loaded.spec.tuning.clone().unwrap();

    // 1. allocations in the inner loop
    let points: Vec<Vec<f64>> = (0..2000)
        .map(|i| {
            (0..loaded.search.len())
                .map(|j| ((i * 7 + j * 13) % 97) as f64 / 97.0)
                .collect()
        })
        .collect();
    let mut base = 0;
    let ok = mmm_engine::tuning::fast_path_probe(
        &t,
        &data,
        causal.as_ref(),
        loaded.spec.model.as_ref(),
        &loaded.search,
        &points,
        &mut || {
            base = ALLOCS.load(Ordering::Relaxed);
        },
    )
    .expect("fast path");
    let allocs = ALLOCS.load(Ordering::Relaxed) - base;
    println!(
        "inner loop: {ok} evaluations, {allocs} allocations ({:.3} per evaluation)",
        allocs as f64 / points.len() as f64
    );

    // 2. single-thread evaluation rate of the inner loop
    let many: Vec<Vec<f64>> = (0..50_000)
        .map(|i| {
            (0..loaded.search.len())
                .map(|j| ((i * 7 + j * 13) % 997) as f64 / 997.0)
                .collect()
        })
        .collect();
    let t0 = Instant::now();
    mmm_engine::tuning::fast_path_probe(
        &t,
        &data,
        causal.as_ref(),
        loaded.spec.model.as_ref(),
        &loaded.search,
        &many,
        &mut || {},
    );
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "one thread: {:.0} evaluations/s ({:.2} µs each)",
        many.len() as f64 / dt,
        1e6 * dt / many.len() as f64
    );

    // 3. the whole search in process, all cores, 100,000 evaluations
    let t0 = Instant::now();
    let r = mmm_engine::tuning::tune(
        &t,
        None,
        &data,
        causal.as_ref(),
        loaded.spec.model.as_ref(),
        &loaded.search,
        1,
    )
    .unwrap();
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "tune(): {} evaluations in {:.3} s = {:.0} evaluations/s on {} threads (Pareto front {})",
        r.evaluations,
        dt,
        r.evaluations as f64 / dt,
        rayon::current_num_threads(),
        r.pareto.len()
    );

    // 4. the whole process: `mmm run` with a 10,000-evaluation search
    let exe = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/mmm");
    if exe.exists() {
        let small = write_case(dir.path(), 10_000);
        let t0 = Instant::now();
        let o = std::process::Command::new(&exe)
            .args([
                "run",
                small.to_str().unwrap(),
                "--out",
                dir.path().join("out").to_str().unwrap(),
                "-q",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        println!(
            "mmm run with 10,000 evaluations: {:.3} s wall, whole process",
            t0.elapsed().as_secs_f64()
        );
    } else {
        println!(
            "(build target/release/mmm with `cargo build --release` to time the whole process)"
        );
    }
}
