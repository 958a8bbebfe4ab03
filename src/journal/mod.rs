//! The session journal: a small SQLite database that remembers every
//! session, exercise, set and pain report, so that the coach can follow the
//! brochures' advice over days and weeks (see [`crate::adapt`]).
//!
//! - [`JournalStore`]: the database itself (open, migrate, record one event
//!   per transaction, read the history).
//! - [`JournalWriter`]: the store on its own thread, for the live coach: it
//!   implements [`crate::devices::Journal`], never blocks the session loop, and
//!   keeps coaching going when the disk fails (the fault can be polled).
//! - [`queries`]: the history as plain data; [`report`]: the history command's
//!   table, sparkline, adherence, CSV and JSON.
//!
//! **Durability.** WAL mode with `synchronous = FULL`: every event is its own
//! transaction, and each commit is synced to the card before the next one. A
//! power cut therefore loses at most the event being written, i.e. the step
//! in progress. With `NORMAL`, WAL commits are only synced at checkpoints, so
//! a power cut could take the last few minutes of a session with it (the
//! file stays consistent either way). An SD card syncs in a few milliseconds;
//! the shortest step the coach times is a one-second count, and the writes
//! happen on the writer thread, not in the session loop (`benches/journal.rs`
//! measures both settings).

pub mod queries;
pub mod report;
mod schema;
mod store;
// issue 16, item 3.
pub mod voice;
mod writer;
// issue 16, item 1
pub mod voice_checks;

pub use crate::date::{local_now, today, Date, DateError, Stamp};
pub use queries::{
    ExerciseInfo, ExerciseStatus, History, MaxInfo, Outcome, PainInfo, PhaseInfo, SessionInfo,
};
pub use schema::VERSION as SCHEMA_VERSION;
pub use store::{JournalStore, Opened, Recovered};
pub use writer::{JournalFault, JournalHandle, JournalWriter, Started, WriterReport};

use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong with the journal. Each message names the file, what
/// failed, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    #[error(
        "there is no default place for the journal: neither XDG_DATA_HOME nor HOME is set{}",
        crate::fix::Line(self)
    )]
    NoDefaultPath,
    #[error("{}: no journal here yet{}", path.display(), crate::fix::Line(self))]
    Missing { path: PathBuf },
    #[error("{}: {what}: the disk or directory is read-only ({detail}){}", path.display(), crate::fix::Line(self))]
    ReadOnly {
        path: PathBuf,
        what: String,
        detail: String,
    },
    #[error("{}: {what}: the disk is full ({detail}){}", path.display(), crate::fix::Line(self))]
    Full {
        path: PathBuf,
        what: String,
        detail: String,
    },
    #[error("{}: {what}: {detail}{}", path.display(), crate::fix::Line(self))]
    Io {
        path: PathBuf,
        what: String,
        detail: String,
        fix: String,
    },
    #[error("{}: the journal was written by a newer matcoach (schema version {found}; this one knows up to {known}){}", path.display(), crate::fix::Line(self))]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{}: the journal is damaged ({detail}), and moving it aside failed: {move_error}{}", path.display(), crate::fix::Line(self))]
    CorruptStuck {
        path: PathBuf,
        detail: String,
        move_error: String,
    },
}

impl crate::fix::Fix for JournalError {
    fn fix(&self) -> Option<String> {
        match self {
            JournalError::NoDefaultPath => Some("set `path` in the [journal] section of the config (the Raspberry Pi package uses /var/lib/matcoach/journal.sqlite), or pass --db PATH".into()),
            JournalError::Missing { .. } => Some("check the path (--db or journal.path); the first session creates the journal".into()),
            JournalError::ReadOnly { .. } => Some("make the file and its directory writable by the user matcoach runs as (on the Pi: `sudo chown -R matcoach: /var/lib/matcoach`), or set journal.path to a writable place; coaching goes on meanwhile, unrecorded".into()),
            JournalError::Full { .. } => Some("free some space on that disk (the journal needs only a few megabytes); coaching goes on meanwhile, and what waits is written once there is room".into()),
            JournalError::Io { fix, .. } => Some(fix.clone()),
            JournalError::TooNew { .. } => Some("upgrade matcoach, or set journal.path to another file".into()),
            JournalError::CorruptStuck { .. } => Some("move or rename the file by hand (it keeps your history; `sqlite3 FILE .recover` may rescue it), then start again".into()),
        }
    }
}

impl JournalError {
    /// A problem with the storage (full, read-only, unreachable) that may go
    /// away: the writer keeps the events and tries again.
    pub fn is_storage(&self) -> bool {
        matches!(
            self,
            JournalError::ReadOnly { .. }
                | JournalError::Full { .. }
                | JournalError::Io { .. }
                | JournalError::Missing { .. }
                | JournalError::CorruptStuck { .. }
        )
    }

    /// Classify an SQLite error on `path` while doing `what`. SQLite says
    /// only "disk I/O error" or "unable to open" when the disk is full or
    /// read-only in some places (e.g. creating the WAL index), so those are
    /// checked by writing a small file next to the journal.
    pub(crate) fn sqlite(path: &Path, what: &str, e: &rusqlite::Error) -> JournalError {
        use rusqlite::ErrorCode as C;
        if matches!(
            e.sqlite_error_code(),
            Some(C::SystemIoFailure) | Some(C::CannotOpen)
        ) {
            if let Some(io) = probe(path) {
                let found = JournalError::io(path, what, &io);
                if matches!(
                    found,
                    JournalError::Full { .. } | JournalError::ReadOnly { .. }
                ) {
                    return match found {
                        JournalError::Full { path, what, detail } => JournalError::Full {
                            path,
                            what,
                            detail: format!("{e}; {detail}"),
                        },
                        JournalError::ReadOnly { path, what, detail } => JournalError::ReadOnly {
                            path,
                            what,
                            detail: format!("{e}; {detail}"),
                        },
                        other => other,
                    };
                }
            }
        }
        let path = path.to_path_buf();
        let what = what.to_string();
        let detail = e.to_string();
        match e.sqlite_error_code() {
            Some(C::DiskFull) => JournalError::Full { path, what, detail },
            Some(C::ReadOnly) => JournalError::ReadOnly { path, what, detail },
            Some(C::CannotOpen) => JournalError::Io {
                path,
                what,
                detail,
                fix: "check that the directory exists and is writable, and that the disk is mounted"
                    .into(),
            },
            Some(C::DatabaseCorrupt) | Some(C::NotADatabase) => JournalError::Io {
                path,
                what,
                detail,
                fix: "the file is damaged: restart matcoach, which moves it aside and starts a fresh journal".into(),
            },
            Some(C::DatabaseBusy) | Some(C::DatabaseLocked) => JournalError::Io {
                path,
                what,
                detail,
                fix: "another program holds the journal locked; close it (e.g. an open sqlite3 shell)"
                    .into(),
            },
            _ => JournalError::Io {
                path,
                what,
                detail,
                fix: "check the disk (dmesg, df); if it keeps failing, report it with this message"
                    .into(),
            },
        }
    }

    /// Classify an I/O error on `path` while doing `what`.
    pub(crate) fn io(path: &Path, what: &str, e: &std::io::Error) -> JournalError {
        use std::io::ErrorKind as K;
        let path = path.to_path_buf();
        let what = what.to_string();
        let detail = e.to_string();
        match e.kind() {
            K::ReadOnlyFilesystem | K::PermissionDenied => {
                JournalError::ReadOnly { path, what, detail }
            }
            K::StorageFull | K::QuotaExceeded => JournalError::Full { path, what, detail },
            K::IsADirectory => JournalError::Io {
                path,
                what,
                detail,
                fix: "give the path of a file, e.g. …/journal.sqlite, not a directory".into(),
            },
            K::NotADirectory => JournalError::Io {
                path,
                what,
                detail,
                fix: "a part of the path is a file, not a directory: correct --db or journal.path"
                    .into(),
            },
            _ => JournalError::Io {
                path,
                what,
                detail,
                fix: "check the path (--db or journal.path) and the disk".into(),
            },
        }
    }
}

/// Write and remove a small file next to `path`: the error, if that fails.
fn probe(path: &Path) -> Option<std::io::Error> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "journal".into());
    let probe = path.with_file_name(format!(".{name}.probe"));
    let result = std::fs::File::create(&probe).and_then(|mut f| {
        f.write_all(&[0u8; 65_536])?;
        f.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    result.err()
}

/// `synchronous` for the WAL: see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is synced: a power cut loses at most the event being
    /// written. The journal's setting.
    #[default]
    Full,
    /// Synced at checkpoints only: faster, but a power cut may lose the last
    /// commits. For comparison (the benchmark).
    Normal,
}

impl Durability {
    pub fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

/// How to open the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    pub durability: Durability,
    /// Cap the database at this many pages (`PRAGMA max_page_count`): a way
    /// to test a full disk without filling one.
    pub max_page_count: Option<u32>,
    /// A storage fault to switch on and off while the journal is open (the
    /// whole-appliance simulation, [`crate::simulate`]); off by default.
    pub storage: StorageSwitch,
}

/// What [`StorageSwitch`] makes the disk do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorageState {
    #[default]
    Fine,
    /// Full: the database may not grow (`max_page_count` at its size).
    Full,
    /// Read-only (`query_only`).
    ReadOnly,
}

/// A storage fault switched from outside, for the whole-appliance
/// simulation: while it is on, the store's own SQLite connection refuses
/// writes as a full or read-only disk does, so the errors the writer meets
/// are SQLite's own (`SQLITE_FULL`, `SQLITE_READONLY`), not made up. Clones
/// share the switch.
#[derive(Debug, Clone, Default)]
pub struct StorageSwitch(std::sync::Arc<std::sync::atomic::AtomicU8>);

impl StorageSwitch {
    pub fn set(&self, state: StorageState) {
        let v = match state {
            StorageState::Fine => 0,
            StorageState::Full => 1,
            StorageState::ReadOnly => 2,
        };
        self.0.store(v, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn get(&self) -> StorageState {
        match self.0.load(std::sync::atomic::Ordering::SeqCst) {
            1 => StorageState::Full,
            2 => StorageState::ReadOnly,
            _ => StorageState::Fine,
        }
    }
}

impl PartialEq for StorageSwitch {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StorageSwitch {}

/// Who ran a session (the `source` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The daemon or the demo: a real session.
    #[default]
    Coach,
    /// `matcoach sim`.
    Sim,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Coach => "coach",
            Source::Sim => "sim",
        }
    }
}

/// What kind of session it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    #[default]
    Session,
    /// The startgetal calibration (004): each strength exercise as many times
    /// as the user can; "stop" marks the last one.
    MaxTest,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Session => "session",
            SessionKind::MaxTest => "max_test",
        }
    }

    pub fn parse(s: &str) -> SessionKind {
        if s == "max_test" {
            SessionKind::MaxTest
        } else {
            SessionKind::Session
        }
    }
}

/// An exercise the adaptation left out of today's program, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    pub exercise: String,
    pub reason: String,
    /// The easier variant done in its place, if any.
    pub replaced_by: Option<String>,
}

/// What the journal should know about the next session before it starts:
/// what kind it is, what was left out and why, and which exercises a max
/// test measures. Written together with the session's first event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PlanNote {
    pub kind: SessionKind,
    pub source: Source,
    /// Why this program today.
    pub note: String,
    pub left_out: Vec<LeftOut>,
    /// In a max test: the exercises whose maximum it measures.
    pub tested: Vec<String>,
    /// The clock when it was planned (none: the store reads the boot and
    /// the uptime itself, and the verdict is 'unknown').
    pub clock: Option<ClockNote>,
}

/// What the journal keeps of the clock at a session's start (schema 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockNote {
    pub boot: Option<String>,
    pub uptime_ms: Option<i64>,
    /// "trusted" or why not (see [`crate::clock::Trust::name`]).
    pub trust: String,
}

/// The default journal file: `$XDG_DATA_HOME/matcoach/journal.sqlite`, else
/// `~/.local/share/matcoach/journal.sqlite`. (The Raspberry Pi package sets
/// `/var/lib/matcoach/journal.sqlite` in its config.)
pub fn default_path() -> Result<PathBuf, JournalError> {
    crate::dirs::matcoach_dir(crate::dirs::Base::Data)
        .map(|d| d.join("journal.sqlite"))
        .ok_or(JournalError::NoDefaultPath)
}

/// The journal file for `configured` (the config's `journal.path`; None
/// means the default place).
pub fn resolve_path(configured: Option<&Path>) -> Result<PathBuf, JournalError> {
    match configured {
        Some(p) => Ok(p.to_path_buf()),
        None => default_path(),
    }
}

/// One line of the corrupt-file story, for messages.
impl fmt::Display for Recovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: the journal was damaged ({}); it was moved aside to {} and a fresh journal was started.\n  nothing was deleted: the old file keeps your earlier history (`sqlite3 {} .recover` may rescue it)",
            self.path.display(),
            self.reason,
            self.moved_to.display(),
            self.moved_to.display()
        )
    }
}
