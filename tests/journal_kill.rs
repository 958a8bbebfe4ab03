//! kill -9 at random points during 100 simulated sessions writing to one
//! real journal file. Afterwards the file is sound, every session whose
//! process finished is there with its end, nothing is stored twice, and a
//! cut-off session is a clean prefix of what it would have been.
//!
//! The sims run paced (`--pace`: real seconds per virtual second), so that
//! a kill lands anywhere in the session, including in the middle of a write.
//! The delays come from a seeded RNG, so a failure can be replayed.

mod common;
use common::bin_support;
use common::journal_support;

use bin_support::*;
use common::rng::Rng;
use journal_support::*;
use matcoach::journal::{JournalStore, OpenOptions, Outcome};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

const RUNS: usize = 100;
const PACE: f64 = 0.0005;
const SEED: u64 = 0x006d_6174_636f_6163;

/// What a day whose `quick` is refused (every exercise resting) does instead.
const OTHER_PROGRAM: &str = "mckenzie_improving";

/// `matcoach sim PROGRAM` on `day`, paced, writing to the journal `db`.
fn sim(program: &str, day: &str, events: &str, db: &std::path::Path) -> std::process::Child {
    command([
        "sim",
        program,
        "--pace",
        &PACE.to_string(),
        "--date",
        day,
        "--events",
        events,
        "--db",
    ])
    .arg(db)
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

#[test]
fn kill_9_during_100_sessions_leaves_a_sound_journal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("journal.sqlite");
    let mut rng = Rng::new(SEED);
    let first = date("2025-01-01");
    let mut finished: Vec<String> = Vec::new();
    let mut killed = 0;
    let mut refused = 0;
    let mut reference: Option<Duration> = None;
    let started = Instant::now();
    for i in 0..RUNS {
        let day = first.add_days(i as i64).to_string();
        // Now and then a "pain", so that more tables are written.
        let events = if rng.unit() < 0.25 {
            format!("0s:press,{}s:heard=pain", 20 + rng.next_u64() % 200)
        } else {
            "0s:press".to_string()
        };
        let mut child = sim("quick", &day, &events, &db);
        let t0 = Instant::now();
        // The first run is never killed: it measures how long one takes.
        let kill_at = reference.map(|r| r.mul_f64(0.05 + 1.15 * f64::from(rng.unit())));
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if kill_at.is_some_and(|k| t0.elapsed() >= k) {
                // SIGKILL: no destructors, no flush, nothing.
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        match status {
            Some(s) if s.success() => {
                reference.get_or_insert(t0.elapsed());
                finished.push(day);
            }
            Some(s) => {
                let mut e = String::new();
                use std::io::Read;
                if let Some(mut err) = child.stderr.take() {
                    let _ = err.read_to_string(&mut e);
                }
                // Which runs are cut off before their pain is written depends
                // on this machine's speed, so now and then every exercise of
                // the program rests after pain and the coach rightly refuses
                // to start (writing nothing). Anything else is a failure.
                assert!(
                    e.contains("every exercise rests after pain today"),
                    "run {i} ({day}) failed: {s}: {e}"
                );
                // That day another program, without pain and not killed: a
                // pain-free session, so that the resting exercises come back
                // (else every run from here on would be refused).
                refused += 1;
                let out = sim(OTHER_PROGRAM, &day, "0s:press", &db)
                    .wait_with_output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "run {i} ({day}), {OTHER_PROGRAM}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                finished.push(day);
            }
            None => killed += 1,
        }
    }
    let took = started.elapsed();
    eprintln!(
        "{RUNS} runs in {:.1} s: {} finished, {killed} killed, {refused} refused (one run ≈ {:?})",
        took.as_secs_f64(),
        finished.len(),
        reference
    );
    assert!(killed >= 30, "too few kills to mean anything: {killed}");
    assert!(finished.len() >= 10, "too few finished: {}", finished.len());

    let opened = JournalStore::open(&db, &OpenOptions::default()).unwrap();
    assert!(
        opened.recovered.is_none(),
        "the journal had to be moved aside"
    );
    let store = opened.store;
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let c = store.connection();
    let q = |sql: &str| -> i64 {
        c.query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    assert_eq!(q("SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
    // At most one session per run (each run has its own day), never two.
    assert_eq!(
        q("SELECT COUNT(*) FROM (SELECT day FROM sessions GROUP BY day HAVING COUNT(*) > 1)"),
        0
    );
    // No event twice, and each session's events are 0, 1, 2, … without a gap:
    // a cut-off session is a clean prefix.
    assert_eq!(q("SELECT COUNT(*) FROM (SELECT session_id, seq FROM events GROUP BY 1, 2 HAVING COUNT(*) > 1)"), 0);
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM (SELECT session_id FROM events WHERE session_id IS NOT NULL
             GROUP BY session_id HAVING MAX(seq) + 1 != COUNT(*) OR MIN(seq) != 0)"
        ),
        0
    );
    // No set, exercise or pain twice.
    assert_eq!(q("SELECT COUNT(*) FROM (SELECT 1 FROM sets GROUP BY exercise_id, set_no, side HAVING COUNT(*) > 1)"), 0);
    assert_eq!(q("SELECT COUNT(*) FROM (SELECT 1 FROM exercises WHERE position IS NOT NULL GROUP BY session_id, position HAVING COUNT(*) > 1)"), 0);
    assert_eq!(q("SELECT COUNT(*) FROM (SELECT 1 FROM pain GROUP BY session_id, at_ms HAVING COUNT(*) > 1)"), 0);
    // The tables agree with the event log.
    assert_eq!(
        q("SELECT COUNT(*) FROM sets"),
        q("SELECT COUNT(*) FROM events WHERE kind = 'set_done'")
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM pain"),
        q("SELECT COUNT(*) FROM events WHERE kind = 'pain'")
    );

    // Every finished run's session is there, ended.
    let h = store.history(None).unwrap();
    let by_day: BTreeMap<String, &matcoach::journal::SessionInfo> =
        h.sessions.iter().map(|s| (s.day.to_string(), s)).collect();
    for day in &finished {
        let s = by_day
            .get(day)
            .unwrap_or_else(|| panic!("the finished session of {day} is missing"));
        assert_ne!(s.outcome, Outcome::Unfinished, "{day}");
    }
    // Some kills landed mid-session: cut-off sessions, kept as such.
    let cut = h
        .sessions
        .iter()
        .filter(|s| s.outcome == Outcome::Unfinished)
        .count();
    eprintln!(
        "{} sessions in the journal, {cut} cut off",
        h.sessions.len()
    );
    assert!(cut > 0);
    assert!(took < Duration::from_secs(90), "took {took:?}");
}
