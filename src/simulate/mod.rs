//! The whole-appliance simulation (issue 15, item 1): the real
//! [`Appliance`] (and the [`Session`](crate::session::Session) and
//! [`crate::adapt`] inside it), the real [`JournalWriter`] on a real SQLite
//! file, the real [`Mixer`] and [`ButtonEdges`], driven for simulated days
//! in virtual time by a seeded user and a seeded world of faults:
//!
//! - presses (short, long, bouncing), every command heard at any moment,
//!   misheard commands;
//! - the speaker, microphone and GPIO lost and back; the disk full or
//!   read-only for a while (through [`StorageSwitch`]: SQLite's own errors);
//!   the process killed at a random instant (the journal keeps what was
//!   committed) and restarted on the same file; clean reboots;
//! - days passing, the wall clock normal, jumping forward or backward, or
//!   coming back at every boot to the same saved time.
//!
//! After every step [`check`] looks at what the appliance did and at the
//! journal (see the invariants there). A run is a pure function of its seed:
//! a violation names the seed, and `MATCOACH_SIM_SEED=<seed> cargo test
//! --test simulation` replays it alone. `scripts/simulate` runs as many
//! seeds as asked. The shell here is the daemon's (`src/daemon.rs`,
//! `Shell::carry_out`) with the devices replaced by the simulated world.
//!
//! Not `matcoach sim`: that command runs one session's script.

mod check;
mod world;

pub use check::Violation;
pub use world::run;

use crate::content::Content;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What to simulate.
#[derive(Clone)]
pub struct Options {
    pub content: Arc<Content>,
    /// A directory of its own for the journal (the run writes
    /// `journal.sqlite` there).
    pub dir: PathBuf,
    /// Simulated days.
    pub days: u32,
    /// Let the wall clock jump and come back to a saved time at boot.
    pub clock_faults: bool,
    /// Stop at the first violation.
    pub stop_at_first: bool,
}

/// What one run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub seed: u64,
    /// Virtual time simulated.
    pub simulated: Duration,
    /// Events handled by the appliance.
    pub steps: u64,
    /// Sessions begun and ended.
    pub sessions_begun: u64,
    pub sessions_ended: u64,
    /// Plans refused (rest, daily maximum, surgery) and said so.
    pub refusals: u64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<&'static str, u64>,
    /// User actions, by kind.
    pub actions: BTreeMap<&'static str, u64>,
    /// The journal at the end: bytes (with its WAL) and sessions.
    pub journal_bytes: u64,
    pub journal_sessions: u64,
    /// Exercises given again after pain because the plan was made while
    /// the pain still waited in memory to be written (the disk failing):
    /// a known gap, counted rather than failed (see docs/reliability.md).
    pub rest_missed_unwritten: u64,
    pub violations: Vec<Violation>,
}

impl Report {
    pub fn faults_total(&self) -> u64 {
        self.faults.values().sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.simulated.as_secs_f64() / 86_400.0;
        write!(
            f,
            "seed {}: {:.1} days, {} steps, {} sessions begun, {} ended, {} refused, {} faults, journal {} sessions in {} KiB, {} rests missed (pain unwritten), {} violations",
            self.seed,
            days,
            self.steps,
            self.sessions_begun,
            self.sessions_ended,
            self.refusals,
            self.faults_total(),
            self.journal_sessions,
            self.journal_bytes / 1024,
            self.rest_missed_unwritten,
            self.violations.len()
        )
    }
}

/// Why a run could not be made (not a violation: the setting is wrong).
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("{}: cannot make the simulation's journal directory: {source}\n  fix: give a writable directory", dir.display())]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
}
