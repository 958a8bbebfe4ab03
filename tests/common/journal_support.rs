//! Helpers for the journal tests: the shipped content, simulated days
//! written to a store, times at which to say "pain" during a given
//! exercise, and a tiny tmpfs when the test may mount one.
#![allow(dead_code)]

use matcoach::adapt::{self, Rules, Today};
use matcoach::content::{Content, Lang};
use matcoach::journal::{
    Date, ExerciseInfo, ExerciseStatus, JournalStore, Outcome, PainInfo, SessionInfo, SessionKind,
    Source, Stamp,
};
use matcoach::session::PainLocation;
use matcoach::session::{self, Action, JournalEvent, Session, SessionConfig};
use matcoach::sim::{self, Record};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub use super::content;

pub fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// A completed ten-minute session (number `id`) of `program` that started
/// at `started`, as the journal reads it back: `done` exercises, each a
/// set of ten, and `pains` (an exercise and where it spread), a minute in.
pub fn completed(
    id: i64,
    program: &str,
    started: Stamp,
    done: &[&str],
    pains: &[(&str, Option<PainLocation>)],
) -> SessionInfo {
    let end = started.plus(Duration::from_secs(600));
    SessionInfo {
        id,
        seq: id,
        boot: None,
        uptime_ms: None,
        program: program.into(),
        lang: "en".into(),
        kind: SessionKind::Session,
        source: "sim".into(),
        note: String::new(),
        day: started.date(),
        started,
        ended: Some(end),
        last: end,
        outcome: Outcome::Completed,
        commands_heard: 0,
        commands_ignored: 0,
        button_presses: 1,
        pauses: 0,
        device_faults: 0,
        user_note: String::new(),
        exercises: done
            .iter()
            .enumerate()
            .map(|(i, x)| ExerciseInfo {
                position: Some(i as u32 + 1),
                exercise: (*x).into(),
                status: ExerciseStatus::Done,
                complete: Some(true),
                reason: None,
                replaced_by: None,
                sets: 1,
                reps: 10,
                secs: 60,
            })
            .collect(),
        pains: pains
            .iter()
            .map(|(x, location)| PainInfo {
                exercise: Some((*x).into()),
                set: Some(1),
                side: None,
                at: started.plus(Duration::from_secs(60)),
                location: *location,
            })
            .collect(),
    }
}

/// Run `program` (or `auto`) on `day` with the scripted `spec`, and write
/// it to `store`, one event per transaction, as the coach would.
pub fn run_day(
    store: &mut JournalStore,
    content: &Content,
    rules: &Rules,
    day: Date,
    program: &str,
    spec: &str,
) -> (Today, Vec<Record>) {
    let h = store.history(None).unwrap();
    let today = adapt::plan(content, rules, &h, day, program)
        .unwrap_or_else(|e| panic!("{day} {program}: {e}"));
    let records = run_today(content, &today, spec);
    store.begin(
        day.at_midnight().plus(Duration::from_secs(9 * 3600)),
        Some(today.note(Source::Sim)),
    );
    for (at, e) in journaled(&records) {
        store.record(at, e).unwrap();
    }
    (today, records)
}

/// Today's plan from an empty journal, with the default rules.
pub fn fresh_plan(day: &str, program: &str) -> Today {
    adapt::plan(
        content(),
        &Rules::default(),
        &Default::default(),
        date(day),
        program,
    )
    .unwrap()
}

/// The session of `today`, in English, with the default session config.
pub fn session_today(content: &Content, today: &Today) -> Session {
    let cfg = SessionConfig::default();
    let script = session::compile(content, &today.program, Lang::En, &cfg, &today.facts).unwrap();
    Session::new(script, cfg, content.phrases.clone(), content.safety.clone())
}

/// Simulate `today` (no journal).
pub fn run_today(content: &Content, today: &Today, spec: &str) -> Vec<Record> {
    let mut s = session_today(content, today);
    let events = today.events(&sim::parse_spec(spec).unwrap());
    sim::run(&mut s, &events, Duration::from_secs(6 * 3600))
}

/// A time (ms from the start) inside the first set of `exercise`, when
/// `records` come from a run without interruptions up to there.
pub fn during_first_set(records: &[Record], exercise: &str) -> u64 {
    let done = records
        .iter()
        .find_map(|r| match &r.action {
            Action::Journal(JournalEvent::SetDone { exercise: x, .. }) if x == exercise => {
                Some(r.t)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no set of {exercise}"));
    (done - Duration::from_millis(1500)).as_millis() as u64
}

/// The journal events of a run, with their times: what a journal is
/// given to record.
pub fn journaled(records: &[Record]) -> impl Iterator<Item = (Duration, &JournalEvent)> {
    records.iter().filter_map(|r| match &r.action {
        Action::Journal(e) => Some((r.t, e)),
        _ => None,
    })
}

/// The journal events of a run.
pub fn journal_events(records: &[Record]) -> Vec<&JournalEvent> {
    records
        .iter()
        .filter_map(|r| match &r.action {
            Action::Journal(e) => Some(e),
            _ => None,
        })
        .collect()
}

pub fn ended(records: &[Record]) -> bool {
    records.iter().any(|r| matches!(r.action, Action::End(_)))
}

/// A tmpfs of `kib` KiB mounted at `dir` (root only); unmounted on drop.
pub struct Tmpfs {
    pub dir: PathBuf,
}

impl Tmpfs {
    /// `None` when this test may not mount (not root, no permission).
    pub fn mount(dir: &Path, kib: u32) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={kib}k,mode=0777"),
                "tmpfs",
            ])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?
            .success();
        ok.then(|| Tmpfs {
            dir: dir.to_path_buf(),
        })
    }

    pub fn remount(&self, opts: &str) -> bool {
        Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// What undoes each migration after the first: `UNDO[v - 2]` takes a
/// journal from version `v` back to `v - 1`. A migration added without its
/// undo here fails [`downgrade`] by name, so that the tests that build
/// journals of older versions keep building what those versions wrote.
const UNDO: &[&str] = &[
    // 2: pain location
    "ALTER TABLE pain DROP COLUMN location;",
    // 3: the voice table
    "DROP TABLE voice;",
    // 4: voice checks
    "DROP TABLE voice_checks;",
    // 5: calibrations
    "DROP TABLE calibrations;",
    // 6: the clock columns
    "DROP INDEX sessions_seq; ALTER TABLE sessions DROP COLUMN seq;
     ALTER TABLE sessions DROP COLUMN boot_id; ALTER TABLE sessions DROP COLUMN uptime_ms;
     ALTER TABLE sessions DROP COLUMN clock; ALTER TABLE phases DROP COLUMN after_seq;",
    // 7: notes
    "DROP TABLE notes;",
];

/// Takes a journal of this build's schema back to schema `version`, as
/// that older matcoach would have left it (its data in the columns it knew).
pub fn downgrade(conn: &rusqlite::Connection, version: i64) {
    let latest = matcoach::journal::SCHEMA_VERSION;
    assert_eq!(
        UNDO.len() as i64,
        latest - 1,
        "tests/common/journal_support.rs: UNDO has no entry for schema version {latest}: add what undoes its migration"
    );
    assert!(
        (1..=latest).contains(&version),
        "no schema version {version}"
    );
    for v in (version + 1..=latest).rev() {
        conn.execute_batch(UNDO[(v - 2) as usize])
            .unwrap_or_else(|e| panic!("undoing schema version {v}: {e}"));
    }
    conn.pragma_update(None, "user_version", version).unwrap();
}
