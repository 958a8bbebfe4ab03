//! The journal database: schema and durability, every event exactly once,
//! and what happens when the disk is read-only or full or the file is
//! damaged (a clear message, coaching goes on, nothing dropped silently).

mod common;
use common::bin_support;
use common::journal_days;
use common::journal_support;

use bin_support::*;
use journal_days::{open_store as open, pain_during, plain_day, scratch};
use journal_support::*;
use matcoach::adapt::Rules;
use matcoach::devices::Journal as _;
use matcoach::journal::{
    Durability, JournalError, JournalStore, JournalWriter, OpenOptions, Outcome, SCHEMA_VERSION,
};
use matcoach::session::{Action, JournalEvent};
use std::path::Path;
use std::time::{Duration, Instant};

/// Open the journal at `path` and write one uninterrupted `quick` session
/// on `day` to it.
fn write_one_session(path: &Path, day: &str) {
    plain_day(&mut open(path), &Rules::default(), date(day), "quick");
}

fn pragma(store: &JournalStore, name: &str) -> String {
    store
        .connection()
        .query_row(&format!("PRAGMA {name}"), [], |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
        .unwrap()
}

fn count(store: &JournalStore, sql: &str) -> i64 {
    store
        .connection()
        .query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn a_fresh_journal_has_the_schema_wal_and_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    // The directory is created too.
    let path = dir.path().join("deep/er/journal.sqlite");
    let store = open(&path);
    assert_eq!(pragma(&store, "user_version"), SCHEMA_VERSION.to_string());
    assert_eq!(pragma(&store, "journal_mode"), "wal");
    assert_eq!(pragma(&store, "synchronous"), "2", "FULL");
    assert_eq!(pragma(&store, "foreign_keys"), "1");
    for table in [
        "sessions",
        "exercises",
        "sets",
        "pain",
        "events",
        "phases",
        "maxima",
        "settings",
    ] {
        assert_eq!(
            count(
                &store,
                &format!(
                    "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = '{table}'"
                )
            ),
            1,
            "{table}"
        );
    }
    drop(store);
    // Opening again migrates nothing and keeps the version.
    let store = open(&path);
    assert_eq!(pragma(&store, "user_version"), SCHEMA_VERSION.to_string());
    let normal = JournalStore::open(
        &dir.path().join("normal.sqlite"),
        &OpenOptions {
            durability: Durability::Normal,
            max_page_count: None,
            ..Default::default()
        },
    )
    .unwrap()
    .store;
    assert_eq!(pragma(&normal, "synchronous"), "1");
}

#[test]
fn every_event_is_written_once_with_the_counts() {
    let (_dir, path) = scratch();
    let today = fresh_plan("2025-03-03", "quick");
    let dry = run_today(content(), &today, "0s:press");
    let pain = during_first_set(&dry, "an_knee_rolls");
    // Pain, pause and resume by the button, a word the coach was saying
    // itself, and a few more presses.
    let spec = format!(
        "0s:press,30s:heard=repeat,{pain}ms:heard=pain,{}ms:press,{}ms:press,{}ms:heard=next",
        pain + 20_000,
        pain + 25_000,
        pain + 40_000
    );
    let records = run_today(content(), &today, &spec);
    let events = journal_events(&records);
    let mut writer = JournalWriter::new(open(&path));
    writer.begin(
        date("2025-03-03")
            .at_midnight()
            .plus(Duration::from_secs(9 * 3600)),
        Some(today.note(matcoach::journal::Source::Sim)),
    );
    let presses = [0u64, pain + 20_000, pain + 25_000];
    for at in presses {
        writer.button_pressed(Duration::from_millis(at));
    }
    for (at, e) in journaled(&records) {
        writer.record(at, e);
    }
    let report = writer.finish();
    assert!(report.complete(), "{report:?}");
    assert_eq!(report.written as usize, events.len() + presses.len());

    let store = open(&path);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM events"),
        events.len() as i64
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) - COUNT(DISTINCT seq) FROM events"),
        0
    );
    let sets = events
        .iter()
        .filter(|e| matches!(e, JournalEvent::SetDone { .. }))
        .count();
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sets"), sets as i64);
    let h = store.history(None).unwrap();
    let s = &h.sessions[0];
    let n = |f: fn(&&&JournalEvent) -> bool| events.iter().filter(f).count() as u32;
    assert_eq!(
        s.commands_heard,
        n(|e| matches!(e, JournalEvent::CommandHeard { .. }))
    );
    assert_eq!(
        s.commands_ignored,
        n(|e| matches!(e, JournalEvent::CommandIgnored { .. }))
    );
    assert_eq!(s.pauses, n(|e| matches!(e, JournalEvent::Paused { .. })));
    assert_eq!(s.button_presses, 3);
    assert_eq!(s.pains.len(), 1);
    assert_eq!(s.pains[0].exercise.as_deref(), Some("an_knee_rolls"));
    assert_eq!(s.pains[0].set, Some(1));
    assert_eq!(s.outcome, Outcome::Completed);
    assert_eq!(s.day.to_string(), "2025-03-03");
    assert_eq!(s.started.hm(), "09:00");
    let end = records
        .iter()
        .find(|r| matches!(r.action, Action::Journal(JournalEvent::SessionEnded { .. })))
        .unwrap()
        .t;
    let start = records
        .iter()
        .find(|r| {
            matches!(
                r.action,
                Action::Journal(JournalEvent::SessionStarted { .. })
            )
        })
        .unwrap()
        .t;
    assert_eq!(s.duration_ms() as u128, (end - start).as_millis());
    let statuses: Vec<(String, String)> = s
        .exercises
        .iter()
        .map(|x| (x.exercise.clone(), format!("{:?}", x.status)))
        .collect();
    assert_eq!(
        statuses,
        [
            ("th_knees_to_chest".to_string(), "Done".to_string()),
            ("an_knee_rolls".to_string(), "Skipped".to_string()),
            ("hf_cat_back".to_string(), "Done".to_string())
        ]
    );
    assert_eq!(s.exercises[1].reason.as_deref(), Some("pain"));
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn a_journal_from_a_newer_matcoach_is_left_alone() {
    let (_dir, path) = scratch();
    drop(open(&path));
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let e = JournalStore::open(&path, &OpenOptions::default()).unwrap_err();
    assert!(matches!(e, JournalError::TooNew { found: 99, .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("newer matcoach") && msg.contains("fix:"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

fn corrupt_files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".corrupt-"))
        .collect()
}

#[test]
fn a_file_that_is_not_a_database_is_moved_aside_and_a_fresh_one_started() {
    let (dir, path) = scratch();
    let garbage: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let opened = JournalStore::open(&path, &OpenOptions::default()).unwrap();
    let r = opened.recovered.clone().expect("recovered");
    let msg = r.to_string();
    assert!(
        msg.contains("damaged") && msg.contains(".corrupt-"),
        "{msg}"
    );
    assert!(msg.contains("nothing was deleted"), "{msg}");
    // Kept byte for byte, and the fresh journal works.
    assert_eq!(std::fs::read(&r.moved_to).unwrap(), garbage);
    assert_eq!(corrupt_files(dir.path()), std::slice::from_ref(&r.moved_to));
    let mut store = opened.store;
    let today = fresh_plan("2025-03-03", "quick");
    for (at, e) in journaled(&run_today(content(), &today, "0s:press")) {
        store.record(at, e).unwrap();
    }
    assert_eq!(store.history(None).unwrap().sessions.len(), 1);
}

#[test]
fn a_journal_with_a_damaged_page_is_moved_aside_too() {
    let (_dir, path) = scratch();
    {
        let mut store = open(&path);
        for k in 0..5 {
            plain_day(
                &mut store,
                &Rules::default(),
                date("2025-03-03").add_days(k),
                "quick",
            );
        }
    }
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(bytes.len() > 6 * page, "{}", bytes.len());
    // Scribble over the header of a b-tree page in the middle.
    for b in &mut bytes[3 * page..3 * page + 64] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let opened = JournalStore::open(&path, &OpenOptions::default()).unwrap();
    let r = opened.recovered.expect("a damaged page must be noticed");
    assert_eq!(std::fs::read(&r.moved_to).unwrap(), bytes);
    assert!(opened.store.history(None).unwrap().sessions.is_empty());
}

#[test]
fn the_command_line_says_so_when_it_moves_a_damaged_journal() {
    let (dir, path) = scratch();
    std::fs::write(
        &path,
        b"this is not a database, it is a shopping list: eggs, milk",
    )
    .unwrap();
    let out = Out::of(command(["history", "--db"]).arg(&path)).ok();
    assert!(
        out.stderr.contains("damaged") && out.stderr.contains(".corrupt-"),
        "{}",
        out.show()
    );
    assert!(out.stdout.contains("no sessions yet"), "{}", out.show());
    assert_eq!(corrupt_files(dir.path()).len(), 1);
}

/// A directory that this process cannot write to, by a read-only tmpfs
/// (root) or permissions (others). `None` if neither works here.
fn read_only_dir(base: &Path) -> Option<(Option<Tmpfs>, std::path::PathBuf)> {
    let dir = base.join("ro");
    if is_root() {
        let fs = Tmpfs::mount(&dir, 1024)?;
        return Some((Some(fs), dir));
    }
    std::fs::create_dir_all(&dir).ok()?;
    Some((None, dir))
}

fn make_read_only(fs: &Option<Tmpfs>, dir: &Path) {
    match fs {
        Some(fs) => assert!(fs.remount("ro"), "remount ro"),
        None => {
            use std::os::unix::fs::PermissionsExt;
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o444)).unwrap();
            }
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
    }
}

#[test]
fn a_read_only_journal_is_a_clear_error_and_coaching_goes_on() {
    let base = tempfile::tempdir().unwrap();
    let Some((fs, dir)) = read_only_dir(base.path()) else {
        common::missing(
            "a read-only directory (a tmpfs mounted read-only, as root)",
            "run the tests as root where they may mount a tmpfs, or as a user for whom permissions hold",
        );
        return;
    };
    let path = dir.join("journal.sqlite");
    write_one_session(&path, "2025-03-03");
    make_read_only(&fs, &dir);

    // In the coach: the writer starts faulted and says why; the session
    // runs to its end; recording never blocks.
    let started = JournalWriter::start(&path, &OpenOptions::default());
    let e = started.error.clone().expect("an error");
    assert!(matches!(e, JournalError::ReadOnly { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(
        msg.contains("read-only") && msg.contains("fix:") && msg.contains("coaching goes on"),
        "{msg}"
    );
    let mut writer = started.writer;
    assert!(writer.fault().is_some());
    assert!(
        writer.fault_changed().is_some(),
        "the shell learns of it once"
    );
    assert!(writer.fault_changed().is_none());
    let today = fresh_plan("2025-03-04", "quick");
    let records = run_today(content(), &today, "0s:press");
    assert!(ended(&records));
    let t = Instant::now();
    for (at, e) in journaled(&records) {
        writer.record(at, e);
    }
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    let report = writer.finish();
    assert!(!report.complete());
    assert!(report.waiting > 0);
    assert!(matches!(
        report.fault.as_ref().map(|f| &f.error),
        Some(JournalError::ReadOnly { .. })
    ));

    // On the command line: the whole session, the error, exit code 3.
    let out = Out::of(command(["sim", "quick", "--date", "2025-03-05", "--db"]).arg(&path))
        .expect_code(3);
    assert!(
        out.stderr.contains("read-only") && out.stderr.contains("fix:"),
        "{}",
        out.show()
    );
    assert!(
        out.stdout
            .lines()
            .last()
            .unwrap_or("")
            .contains("\"action\":\"end\""),
        "{}",
        out.show()
    );
    // The history can still be read.
    let out = Out::of(command(["history", "--db"]).arg(&path)).ok();
    assert!(out.stdout.contains("2025-03-03"), "{}", out.show());
    if fs.is_none() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
    }
}

#[test]
fn a_full_database_is_a_clear_error_and_coaching_goes_on() {
    let (_dir, path) = scratch();
    drop(open(&path));
    let pages = {
        let s = open(&path);
        count(&s, "PRAGMA page_count")
    };
    // Room for a few events only.
    let opts = OpenOptions {
        durability: Durability::Full,
        max_page_count: Some(pages as u32 + 2),
        ..Default::default()
    };
    let started = JournalWriter::start(&path, &opts);
    assert!(started.error.is_none());
    let mut writer = started.writer;
    let today = fresh_plan("2025-03-03", "morning_mobility");
    let mut sessions = 0;
    while writer.fault().is_none() && sessions < 20 {
        let records = run_today(content(), &today, "0s:press");
        assert!(ended(&records), "coaching goes on ({sessions})");
        for (at, e) in journaled(&records) {
            writer.record(at, e);
        }
        sessions += 1;
        assert!(writer.sync(Duration::from_secs(30)));
    }
    // And once more while full.
    let records = run_today(content(), &today, "0s:press");
    assert!(ended(&records), "coaching goes on");
    for (at, e) in journaled(&records) {
        writer.record(at, e);
    }
    assert!(writer.sync(Duration::from_secs(30)));
    let Some(fault) = writer.fault() else {
        panic!("not full after {sessions} sessions: {:?}", writer.finish());
    };
    assert!(matches!(fault.error, JournalError::Full { .. }), "{fault}");
    let msg = fault.to_string();
    assert!(
        msg.contains("disk is full") && msg.contains("fix:"),
        "{msg}"
    );
    assert!(msg.contains("events wait to be written"), "{msg}");
    let report = writer.finish();
    assert!(report.waiting > 0 && report.written > 0, "{report:?}");
    // What was written is consistent.
    let store = open(&path);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn a_full_disk_is_reported_and_what_waits_is_written_once_there_is_room() {
    const FIX: &str = "run the tests as root where they may mount a tmpfs (as CI does)";
    if !is_root() {
        common::missing("root, to mount a small tmpfs", FIX);
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&base.path().join("small"), 512) else {
        common::missing("a small tmpfs (mount failed)", FIX);
        return;
    };
    let path = fs.dir.join("journal.sqlite");
    write_one_session(&path, "2025-03-03");
    // Fill the disk.
    let junk = fs.dir.join("junk");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&junk).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).and_then(|()| f.sync_all()).is_ok() {}
    }
    // The command line: the whole session, the error, exit code 3.
    let out = Out::of(command(["sim", "quick", "--date", "2025-03-04", "--db"]).arg(&path))
        .expect_code(3);
    assert!(
        out.stderr.contains("disk is full") && out.stderr.contains("fix:"),
        "{}",
        out.show()
    );
    assert!(out.stdout.contains("\"reason\":\"completed\""));

    // The coach: faulted while full, then room is made, and everything
    // that waited is written, in order.
    let started = JournalWriter::start(&path, &OpenOptions::default());
    let mut writer = started.writer;
    let today = fresh_plan("2025-03-05", "quick");
    let records = run_today(content(), &today, "0s:press");
    for (at, e) in journaled(&records) {
        writer.record(at, e);
    }
    assert!(writer.sync(Duration::from_secs(30)));
    let fault = writer.fault().expect("full");
    assert!(matches!(fault.error, JournalError::Full { .. }), "{fault}");
    std::fs::remove_file(&junk).unwrap();
    let t = Instant::now();
    while writer.fault().is_some() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(writer.fault().is_none(), "the writer tries again by itself");
    assert_eq!(writer.fault_changed().map(|f| f.is_none()), Some(true));
    let report = writer.finish();
    assert!(report.complete(), "{report:?}");
    let store = open(&path);
    let h = store.history(None).unwrap();
    let last = h.sessions.last().unwrap();
    assert_eq!(last.outcome, Outcome::Completed);
    assert_eq!(
        count(
            &store,
            &format!("SELECT COUNT(*) FROM events WHERE session_id = {}", last.id)
        ),
        journal_events(&records).len() as i64
    );
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn bad_journal_paths_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    // A directory.
    let e = JournalStore::open(dir.path(), &OpenOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("not a directory") || e.to_string().contains("directory"),
        "{e}"
    );
    assert!(e.to_string().contains("fix:"), "{e}");
    // Under a file.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let e = JournalStore::open(&file.join("journal.sqlite"), &OpenOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("fix:") && msg.contains(&file.display().to_string()),
        "{msg}"
    );
    // Missing, for reading.
    let e = JournalStore::open_existing(&dir.path().join("nope.sqlite")).unwrap_err();
    assert!(matches!(e, JournalError::Missing { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("the first session creates the journal"),
        "{e}"
    );
}

/// A pain that waits in memory (the disk read-only) is in the history the
/// next session is planned from: the exercise that hurt rests even before
/// the journal can write it. Found by the whole-appliance simulation.
#[test]
fn a_pain_not_yet_written_is_in_the_history_the_next_plan_reads() {
    use matcoach::journal::{StorageState, StorageSwitch};
    let (_dir, path) = scratch();
    write_one_session(&path, "2025-03-03");
    let storage = StorageSwitch::default();
    let opts = OpenOptions {
        storage: storage.clone(),
        ..Default::default()
    };
    let started = JournalWriter::start(&path, &opts);
    assert!(started.error.is_none());
    let mut writer = started.writer;
    storage.set(StorageState::ReadOnly);
    let today = fresh_plan("2025-03-04", "quick");
    let first = today.program.items[0].exercise.get_ref().clone();
    let pain = pain_during(&run_today(content(), &today, "0s:press"), &first);
    let records = run_today(content(), &today, &pain);
    for (t, e) in journaled(&records) {
        writer.record(t, e);
    }
    assert!(writer.sync(Duration::from_secs(30)));
    assert!(writer.fault().is_some(), "the disk refuses the session");
    let history = writer.history(Duration::from_secs(30)).unwrap();
    let last = history.sessions.last().unwrap();
    assert_eq!(history.sessions.len(), 2, "{:?}", history.sessions);
    assert!(
        last.pains
            .iter()
            .any(|p| p.exercise.as_deref() == Some(first.as_str())),
        "{:?}",
        last.pains
    );
    // Nothing of it reached the file yet; it does once the disk is back.
    assert_eq!(count(&open(&path), "SELECT count(*) FROM sessions"), 1);
    storage.set(StorageState::Fine);
    let report = writer.finish();
    assert!(report.complete(), "{report:?}");
    assert_eq!(count(&open(&path), "SELECT count(*) FROM sessions"), 2);
}
