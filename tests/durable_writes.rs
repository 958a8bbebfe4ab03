//! Every file the coach writes survives being cut off at each write (issue
//! 15, item 4). The real binary (or this test's own process, for the
//! files written by library code) runs under strace, which kills it with
//! SIGKILL as it enters its Nth write or fsync on the file, for every N from
//! the first to the last; then the file is opened as the coach would.
//!
//! - The journal (`matcoach sim --db`, one session after a day of history):
//!   killed at each `pwrite64` and at each sync of the journal's files, it
//!   opens without being moved aside, passes `integrity_check`, holds the
//!   earlier session complete and the cut-off one as a clean prefix of the
//!   full run's events (kept as interrupted: no outcome); a later kill never
//!   leaves less. Killed at a sync, the WAL is also cut back to what the
//!   syncs before had made durable (what a power cut there would leave):
//!   at most the one event being written is lost (the durability promise,
//!   `src/journal/mod.rs`).
//! - Files written through `matcoach::durable` (the settings layer and the
//!   pairing state of the companion page, recorded voice uploads, the
//!   speech cache, kept clips): killed at each of its calls, the file holds
//!   the old bytes or the new ones, whole.
//! - A model installed by `matcoach setup-model --from`: killed at each
//!   write, rename and sync, the models directory holds the old model or
//!   the new one, whole, never a mix or a half.

mod common;
use common::bin_support::command;
use common::strace::{self, Call, Run, Traced};
use matcoach::journal::{JournalStore, OpenOptions, Outcome};
use std::path::{Path, PathBuf};

/// Kill points per kind: every one when there are no more (the journal's
/// session has fewer); beyond, evenly spread (`MATCOACH_KILL_ALL=1` takes
/// every one).
const MAX_POINTS: usize = 400;

fn points(n: usize) -> Vec<usize> {
    if n <= MAX_POINTS || std::env::var_os("MATCOACH_KILL_ALL").is_some() {
        return (1..=n).collect();
    }
    (0..MAX_POINTS).map(|i| 1 + i * n / MAX_POINTS).collect()
}

fn journal_files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", db.display())))
        .collect()
}

fn copy_journal(from: &Path, to: &Path) {
    for (f, t) in journal_files(from).iter().zip(journal_files(to)) {
        let _ = std::fs::remove_file(&t);
        if f.exists() {
            std::fs::copy(f, &t).unwrap();
        }
    }
}

/// The day-two session, run on `db`.
fn day_two(db: &Path) -> std::process::Command {
    let mut c = command([
        "sim",
        "quick",
        "--date",
        "2025-01-02",
        "--events",
        "0s:press,25s:heard=pause,40s:heard=resume,70s:heard=pain",
        "--db",
    ]);
    c.arg(db);
    c
}

/// What the journal at `db` holds: its check, and the kinds of the events of
/// the sessions after the first, in order.
#[derive(Debug)]
struct Found {
    events: Vec<String>,
    outcome: Option<Outcome>,
}

fn open_and_check(db: &Path, what: &str) -> Found {
    let opened = JournalStore::open(db, &OpenOptions::default())
        .unwrap_or_else(|e| panic!("{what}: the journal does not open: {e}"));
    assert!(
        opened.recovered.is_none(),
        "{what}: the journal was moved aside: {:?}",
        opened.recovered
    );
    let store = opened.store;
    assert_eq!(store.integrity_check().unwrap(), "ok", "{what}");
    let h = store.history(None).unwrap();
    assert!(
        !h.sessions.is_empty() && h.sessions[0].outcome != Outcome::Unfinished,
        "{what}: the first day's session is gone or cut: {:?}",
        h.sessions.first().map(|s| s.outcome)
    );
    assert!(
        h.sessions.len() <= 2,
        "{what}: {} sessions",
        h.sessions.len()
    );
    let c = store.connection();
    let q = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        q("SELECT COUNT(*) FROM pragma_foreign_key_check"),
        0,
        "{what}"
    );
    let second = h.sessions.get(1);
    let mut events = Vec::new();
    if let Some(s) = second {
        let mut st = c
            .prepare("SELECT seq, kind FROM events WHERE session_id = ?1 ORDER BY seq")
            .unwrap();
        let rows = st
            .query_map([s.id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .unwrap();
        for (i, row) in rows.enumerate() {
            let (seq, kind) = row.unwrap();
            assert_eq!(seq, i as i64, "{what}: a gap in the events");
            events.push(kind);
        }
    }
    Found {
        events,
        outcome: second.map(|s| s.outcome),
    }
}

/// What a power cut at the first unfinished sync leaves of the WAL: the
/// bytes written before the last sync that returned.
fn synced_wal_len(run: &Run, wal: &Path) -> u64 {
    let wal = wal.display().to_string();
    let last_sync = run
        .calls
        .iter()
        .rposition(|c| c.is_sync() && c.path == wal && c.ret == Some(0));
    let Some(last) = last_sync else { return 0 };
    run.calls[..last]
        .iter()
        .filter(|c| c.path == wal && c.name == "pwrite64")
        .filter_map(Call::extent)
        .map(|(off, len)| off + len)
        .max()
        .unwrap_or(0)
}

fn is_prefix(short: &[String], long: &[String]) -> bool {
    short.len() <= long.len() && long[..short.len()] == *short
}

#[test]
fn the_journal_survives_a_kill_at_each_write_and_sync() {
    if !strace::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.sqlite");
    let day_one = command([
        "sim",
        "quick",
        "--date",
        "2025-01-01",
        "--db",
        base.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(day_one.status.success(), "{day_one:?}");

    let db = dir.path().join("journal.sqlite");
    let log = dir.path().join("strace.log");
    let traced = |kill_at: Option<(&str, usize)>| Traced {
        trace: "pwrite64,write,fdatasync,fsync".into(),
        paths: journal_files(&db),
        kill_at: kill_at.map(|(n, k)| (n.to_string(), k)),
    };
    // The whole session, not killed: the reference.
    copy_journal(&base, &db);
    let full = traced(None).run(&day_two(&db), &log);
    assert!(full.status.success(), "{}", full.stderr);
    let reference = open_and_check(&db, "the full run");
    assert_ne!(reference.outcome, Some(Outcome::Unfinished));
    let writes = full.count(|c| c.name == "pwrite64" || c.name == "write");
    let sync_name = if full.count(|c| c.name == "fdatasync") > 0 {
        "fdatasync"
    } else {
        "fsync"
    };
    let syncs = full.count(|c| c.name == sync_name);
    // synchronous = FULL: a sync per event at least.
    assert!(
        syncs >= reference.events.len(),
        "{syncs} syncs for {} events",
        reference.events.len()
    );
    let write_name = if full.count(|c| c.name == "pwrite64") > 0 {
        "pwrite64"
    } else {
        "write"
    };
    eprintln!(
        "the reference session: {} events, {writes} writes, {syncs} {sync_name}s",
        reference.events.len()
    );

    let mut killed = 0;
    for name in [write_name, sync_name] {
        let total = full.per_thread_max(name);
        let mut before = 0;
        for n in points(total) {
            let what = format!("killed at {name} {n} of {total}");
            copy_journal(&base, &db);
            let run = traced(Some((name, n))).run(&day_two(&db), &log);
            assert!(run.killed(), "{what}: {:?} {}", run.status, run.stderr);
            killed += 1;
            let wal_len = synced_wal_len(&run, &journal_files(&db)[1]);
            let found = open_and_check(&db, &what);
            assert!(
                is_prefix(&found.events, &reference.events),
                "{what}: {:?} is not a prefix of the full run's {:?}",
                found.events,
                reference.events
            );
            assert!(
                found.events.len() >= before,
                "{what}: {} events, {before} when killed earlier",
                found.events.len()
            );
            before = found.events.len();
            if name != sync_name {
                continue;
            }
            // A power cut at this sync: the WAL as the earlier syncs left it.
            copy_journal(&base, &db);
            let run = traced(Some((name, n))).run(&day_two(&db), &log);
            assert!(run.killed(), "{what}");
            let wal = &journal_files(&db)[1];
            if wal.exists() && std::fs::metadata(wal).unwrap().len() > wal_len {
                let f = std::fs::OpenOptions::new().write(true).open(wal).unwrap();
                f.set_len(wal_len).unwrap();
            }
            let cut = open_and_check(&db, &format!("{what}, then the power"));
            assert!(is_prefix(&cut.events, &reference.events), "{what}");
            assert!(
                cut.events.len() + 1 >= found.events.len(),
                "{what}, then the power: {} events left of {} written: more than the step in progress lost",
                cut.events.len(),
                found.events.len()
            );
        }
    }
    eprintln!("{killed} kills, every one left a sound journal");
}
