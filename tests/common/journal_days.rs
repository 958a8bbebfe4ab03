//! Journals opened for a test, and the simulated days written to them
//! with the shipped content: the plain day (one press, nothing said) that
//! most histories are made of, and the script that says "pain" during a
//! given exercise.
#![allow(dead_code)]

use super::journal_support::{content, date, during_first_set, run_day, run_today};
use matcoach::adapt::{self, AdaptError, Rules, Today};
use matcoach::journal::{Date, History, JournalStore, OpenOptions};
use matcoach::sim::Record;
use std::path::{Path, PathBuf};

/// The journal at `path`, created when it is not there.
pub fn open_store(path: &Path) -> JournalStore {
    JournalStore::open(path, &OpenOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .store
}

/// A new directory, and where a journal in it goes (not created yet).
pub fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    (dir, path)
}

/// A new journal in a directory of its own (gone with the directory).
pub fn scratch_store() -> (tempfile::TempDir, JournalStore) {
    let (dir, path) = scratch();
    let store = open_store(&path);
    (dir, store)
}

/// The session of `program` on `day` scripted by `spec`, written to
/// `store`.
pub fn sim_day(
    store: &mut JournalStore,
    rules: &Rules,
    day: Date,
    program: &str,
    spec: &str,
) -> (Today, Vec<Record>) {
    run_day(store, content(), rules, day, program, spec)
}

/// A plain day: the session of `program` on `day`, started with one
/// press and then left to run, written to `store`.
pub fn plain_day(
    store: &mut JournalStore,
    rules: &Rules,
    day: Date,
    program: &str,
) -> (Today, Vec<Record>) {
    sim_day(store, rules, day, program, "0s:press")
}

/// The script that starts the session and says "pain" during the first
/// set of `exercise`, in the run `records` (a run without interruptions
/// up to there).
pub fn pain_during(records: &[Record], exercise: &str) -> String {
    format!(
        "0s:press,{}ms:heard=pain",
        during_first_set(records, exercise)
    )
}

/// The script that says "pain" during `exercise` in the session of
/// `program` that `store` plans on `day` (found by a dry run).
pub fn pain_spec(
    store: &JournalStore,
    rules: &Rules,
    day: &str,
    program: &str,
    exercise: &str,
) -> String {
    let h = store.history(None).unwrap();
    let today = adapt::plan(content(), rules, &h, date(day), program).unwrap();
    pain_during(&run_today(content(), &today, "0s:press"), exercise)
}

/// Today's plan of `program` on `day` after `h`, with the default rules.
pub fn default_plan(h: &History, day: Date, program: &str) -> Result<Today, AdaptError> {
    adapt::plan(content(), &Rules::default(), h, day, program)
}
