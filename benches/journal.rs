//! Journal write latency per event, p50/p99/max, with the chosen durability
//! (WAL, synchronous = FULL) and with NORMAL for comparison, against the
//! durations of the session's steps.
//!
//! `cargo bench --bench journal`. The database goes to
//! `$MATCOACH_BENCH_DIR` if set (point it at the SD card to measure the
//! Pi), else to Cargo's target tmpdir (a real disk, unlike a tmpfs /tmp).

use matcoach::content::{self, Lang};
use matcoach::devices::Journal as _;
use matcoach::journal::{Durability, JournalStore, JournalWriter, OpenOptions, Source, Stamp};
use matcoach::session::script::{StepKind, TimedKind};
use matcoach::session::{self, Action, JournalEvent, Session, SessionConfig};
use matcoach::sim;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SESSIONS: usize = 40;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:>7.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let content = match content::load_dir(&root.join("content")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let dir = std::env::var_os("MATCOACH_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("journal-bench"));
    let _ = std::fs::create_dir_all(&dir);

    // A realistic event stream: the morning program with a pause, a word
    // the coach was saying, "next", and pain.
    let cfg = SessionConfig::default();
    let program = content
        .program("morning_mobility")
        .expect("morning_mobility");
    let script = session::compile(&content, program, Lang::En, &cfg, &()).expect("compiles");
    // The steps' durations, for comparison.
    let mut shortest_interval = Duration::MAX;
    let mut shortest_say = Duration::MAX;
    for step in &script.steps {
        match &step.kind {
            StepKind::Timed(t) => {
                if let TimedKind::Work { .. } = t.kind {
                    for w in t.events.windows(2) {
                        let gap = w[1].at.saturating_sub(w[0].at);
                        if gap > Duration::ZERO {
                            shortest_interval = shortest_interval.min(gap);
                        }
                    }
                }
            }
            StepKind::Say { line, gap } => {
                shortest_say = shortest_say.min(session::estimate_speech(&line.text) + *gap);
            }
            _ => {}
        }
    }
    let mut s = Session::new(script, cfg, content.phrases.clone(), content.safety.clone());
    let spec = "0s:press,40s:heard=pause,50s:heard=resume,120s:heard=repeat,200s:heard=next,300s:heard=pain";
    let events_in = sim::parse_spec(spec).expect("spec");
    let records = sim::run(&mut s, &events_in, Duration::from_secs(3 * 3600));
    let events: Vec<(Duration, JournalEvent)> = records
        .iter()
        .filter_map(|r| match &r.action {
            Action::Journal(e) => Some((r.t, e.clone())),
            _ => None,
        })
        .collect();

    println!(
        "journal write latency: {SESSIONS} sessions of morning_mobility, {} events each, in {}",
        events.len(),
        dir.display()
    );
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "", "p50", "p99", "max", "mean", "events"
    );
    let mut full_p99 = Duration::ZERO;
    for durability in [Durability::Full, Durability::Normal] {
        let path = dir.join(format!(
            "bench-{}.sqlite",
            durability.pragma().to_lowercase()
        ));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let opts = OpenOptions {
            durability,
            max_page_count: None,
            ..Default::default()
        };
        let mut store = match JournalStore::open(&path, &opts) {
            Ok(o) => o.store,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        let mut lat = Vec::with_capacity(SESSIONS * events.len());
        for k in 0..SESSIONS {
            store.begin(Stamp(k as i64 * 86_400_000), None);
            for (at, e) in &events {
                let t = Instant::now();
                if let Err(err) = store.record(*at, e) {
                    eprintln!("{err}");
                    std::process::exit(1);
                }
                lat.push(t.elapsed());
            }
        }
        lat.sort();
        let mean = lat.iter().sum::<Duration>() / lat.len().max(1) as u32;
        let p99 = percentile(&lat, 0.99);
        if durability == Durability::Full {
            full_p99 = p99;
        }
        println!(
            "{:<28} {} {} {} {} {:>8}",
            format!("store.record, {}", durability.pragma()),
            ms(percentile(&lat, 0.50)),
            ms(p99),
            ms(*lat.last().unwrap_or(&Duration::ZERO)),
            ms(mean),
            lat.len()
        );
    }

    // What the session loop itself pays: handing the event to the writer
    // thread (which then writes it as above).
    let path = dir.join("bench-writer.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let started = JournalWriter::start(&path, &OpenOptions::default());
    let mut writer = started.writer;
    let mut lat = Vec::new();
    for k in 0..SESSIONS {
        writer.begin(
            Stamp(k as i64 * 86_400_000),
            Some(matcoach::journal::PlanNote {
                source: Source::Sim,
                ..Default::default()
            }),
        );
        for (at, e) in &events {
            let t = Instant::now();
            writer.record(*at, e);
            lat.push(t.elapsed());
        }
        // Events arrive seconds apart in a real session; let it keep up.
        writer.sync(Duration::from_secs(60));
    }
    let report = writer.finish();
    lat.sort();
    let mean = lat.iter().sum::<Duration>() / lat.len().max(1) as u32;
    println!(
        "{:<28} {} {} {} {} {:>8}",
        "writer.record (the loop)",
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        ms(*lat.last().unwrap_or(&Duration::ZERO)),
        ms(mean),
        lat.len()
    );
    if !report.complete() {
        eprintln!("the writer did not write everything: {report:?}");
    }
    println!();
    println!(
        "the session's steps: counts every {} (the shortest step), the shortest instruction {}",
        ms(shortest_interval).trim(),
        ms(shortest_say).trim()
    );
    println!(
        "p99 of a FULL write is {:.2}% of the 1 s count; the loop only enqueues, on its own thread the writes never delay a count",
        full_p99.as_secs_f64() * 100.0 / shortest_interval.as_secs_f64().max(1e-9)
    );
}
