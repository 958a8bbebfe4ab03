//! Opening the journal: the file prepared, WAL and durability set, the
//! schema checked and migrated, a damaged file moved aside for a fresh one;
//! and the copies in memory used while the disk fails. Kept apart from the
//! recording because it runs once, before any event.

use super::JournalStore;
use crate::journal::schema::{MIGRATIONS, VERSION};
use crate::journal::{local_now, JournalError, OpenOptions};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A damaged journal that was moved aside when it was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Where the journal is (a fresh one now).
    pub path: PathBuf,
    /// Where the damaged file went.
    pub moved_to: PathBuf,
    /// What was wrong with it.
    pub reason: String,
}

/// An open store, and whether a damaged file had to be moved aside first.
#[derive(Debug)]
pub struct Opened {
    pub store: JournalStore,
    pub recovered: Option<Recovered>,
}

enum Fail {
    Corrupt(String),
    Other(JournalError),
}

const MAIN: &std::ffi::CStr = rusqlite::MAIN_DB;

fn is_corrupt(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase)
    )
}

/// The directory exists and the file can be opened for writing (created
/// empty if it is not there: SQLite takes an empty file as a new database).
fn prepare_file(path: &Path) -> Result<(), JournalError> {
    if path.is_dir() {
        return Err(JournalError::io(
            path,
            "opening the journal",
            &std::io::Error::from(std::io::ErrorKind::IsADirectory),
        ));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| JournalError::io(parent, "creating the journal's directory", &e))?;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| JournalError::io(path, "opening the journal for writing", &e))?;
    Ok(())
}

fn connect(path: &Path, opts: &OpenOptions) -> Result<Connection, Fail> {
    let sql = |what: &str| {
        let what = what.to_string();
        move |e: rusqlite::Error| {
            if is_corrupt(&e) {
                Fail::Corrupt(e.to_string())
            } else {
                Fail::Other(JournalError::sqlite(path, &what, &e))
            }
        }
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(sql("opening the journal"))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(sql("setting the busy timeout"))?;
    if conn.is_readonly(MAIN).map_err(sql("opening the journal"))? {
        return Err(Fail::Other(JournalError::ReadOnly {
            path: path.to_path_buf(),
            what: "opening the journal".into(),
            detail: "SQLite could open it for reading only".into(),
        }));
    }
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(sql("switching the journal to WAL mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Fail::Other(JournalError::Io {
            path: path.to_path_buf(),
            what: "switching the journal to WAL mode".into(),
            detail: format!("the file system only allows journal_mode {mode}"),
            fix: "put the journal on a local disk (ext4, f2fs, a tmpfs), not a network share"
                .into(),
        }));
    }
    // See the module documentation of `journal` for the choice.
    conn.pragma_update(None, "synchronous", opts.durability.pragma())
        .map_err(sql("setting the durability"))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql("enabling foreign keys"))?;
    if let Some(pages) = opts.max_page_count {
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(sql("limiting the journal's size"))?;
    }
    let check: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(sql("checking the journal"))?;
    if check != "ok" {
        return Err(Fail::Corrupt(check));
    }
    migrate(&mut conn, path)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), Fail> {
    let sql = |what: &str, e: rusqlite::Error| {
        if is_corrupt(&e) {
            Fail::Corrupt(e.to_string())
        } else {
            Fail::Other(JournalError::sqlite(path, what, &e))
        }
    };
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| sql("reading the schema version", e))?;
    if version > VERSION {
        return Err(Fail::Other(JournalError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known: VERSION,
        }));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate() {
        let target = i as i64 + 1;
        if target <= version {
            continue;
        }
        let what = format!("upgrading the journal to schema version {target}");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql(&what, e))?;
        // Another process may have migrated while we waited for the lock.
        let now: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| sql(&what, e))?;
        if now >= target {
            continue;
        }
        tx.execute_batch(migration).map_err(|e| sql(&what, e))?;
        tx.pragma_update(None, "user_version", target)
            .map_err(|e| sql(&what, e))?;
        tx.commit().map_err(|e| sql(&what, e))?;
    }
    Ok(())
}

/// Move `path` (and its -wal and -shm files) to `path.corrupt-<stamp>`.
fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let stamp = local_now().compact();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "journal.sqlite".into());
    let mut target = path.with_file_name(format!("{name}.corrupt-{stamp}"));
    let mut n = 2;
    while target.exists() {
        target = path.with_file_name(format!("{name}.corrupt-{stamp}-{n}"));
        n += 1;
    }
    // The WAL first: moved after the journal, a kill between the two would
    // leave it to be replayed into the fresh journal.
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let to = PathBuf::from(format!("{}{suffix}", target.display()));
            std::fs::rename(&side, &to)?;
        }
    }
    std::fs::rename(path, &target)?;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::durable::sync_dir(dir)?;
    }
    Ok(target)
}

/// `path` for a `file:` URI: the characters URIs reserve, escaped.
fn uri_path(path: &Path) -> String {
    let s = path.to_string_lossy();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' | '?' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

impl JournalStore {
    /// Open (and create, and migrate) the journal at `path`. A damaged file
    /// is moved aside to `path.corrupt-<time>` and a fresh journal started;
    /// [`Opened::recovered`] says so, and the caller must show it.
    pub fn open(path: &Path, opts: &OpenOptions) -> Result<Opened, JournalError> {
        prepare_file(path)?;
        match connect(path, opts) {
            Ok(conn) => Ok(Opened {
                store: JournalStore::with(conn, path, opts),
                recovered: None,
            }),
            Err(Fail::Other(e)) => Err(e),
            Err(Fail::Corrupt(reason)) => {
                let moved_to = move_aside(path).map_err(|e| JournalError::CorruptStuck {
                    path: path.to_path_buf(),
                    detail: reason.clone(),
                    move_error: e.to_string(),
                })?;
                prepare_file(path)?;
                let conn = connect(path, opts).map_err(|f| match f {
                    Fail::Other(e) => e,
                    Fail::Corrupt(detail) => JournalError::CorruptStuck {
                        path: path.to_path_buf(),
                        detail,
                        move_error: "the fresh journal is damaged too".into(),
                    },
                })?;
                Ok(Opened {
                    store: JournalStore::with(conn, path, opts),
                    recovered: Some(Recovered {
                        path: path.to_path_buf(),
                        moved_to,
                        reason,
                    }),
                })
            }
        }
    }

    /// Open an existing journal for reading only (e.g. `matcoach history`
    /// on a journal owned by the daemon's user). Never creates or moves.
    pub fn open_existing(path: &Path) -> Result<Opened, JournalError> {
        if !path.exists() {
            return Err(JournalError::Missing {
                path: path.to_path_buf(),
            });
        }
        match JournalStore::open(path, &OpenOptions::default()) {
            Err(JournalError::ReadOnly { .. }) => {}
            other => return other,
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let version_of =
            |conn: &Connection| conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| JournalError::sqlite(path, "opening the journal for reading", &e))?;
        let (conn, version) = match version_of(&conn) {
            Ok(v) => (conn, v),
            Err(_) => {
                // A WAL journal in a directory we may not write to, with no
                // WAL index beside it (nobody writing): read it as it is.
                let uri = format!("file:{}?immutable=1", uri_path(path));
                let conn = Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                    .map_err(|e| {
                        JournalError::sqlite(path, "opening the journal for reading", &e)
                    })?;
                let v = version_of(&conn)
                    .map_err(|e| JournalError::sqlite(path, "reading the journal", &e))?;
                (conn, v)
            }
        };
        if version > VERSION {
            return Err(JournalError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known: VERSION,
            });
        }
        if version < VERSION {
            return Err(JournalError::ReadOnly {
                path: path.to_path_buf(),
                what: format!("reading a journal of schema version {version} (this matcoach writes {VERSION})"),
                detail: "it needs an upgrade, which needs write access".into(),
            });
        }
        Ok(Opened {
            store: JournalStore::with(conn, path, &OpenOptions::default()),
            recovered: None,
        })
    }

    /// A copy in memory, the session in progress included, that nothing
    /// written to reaches the file. While the disk fails, the writer applies
    /// what waits to be written to it and reads the history from it: the
    /// next session's plan must see a pain that is not on disk yet.
    pub fn scratch_copy(&self) -> Result<JournalStore, JournalError> {
        let what = "copying the journal into memory";
        let mut mem =
            Connection::open_in_memory().map_err(|e| JournalError::sqlite(&self.path, what, &e))?;
        rusqlite::backup::Backup::new(&self.conn, &mut mem)
            .and_then(|b| b.run_to_completion(i32::MAX, Duration::ZERO, None))
            .map_err(|e| JournalError::sqlite(&self.path, what, &e))?;
        let mut copy = JournalStore::with(mem, &self.path, &OpenOptions::default());
        copy.current = self.current.clone();
        copy.pending_base = self.pending_base;
        copy.pending_plan = self.pending_plan.clone();
        copy.pending_presses = self.pending_presses;
        Ok(copy)
    }

    /// An empty journal in memory (the file could not be opened at all):
    /// what waits to be written is applied to it for the same reason.
    pub fn scratch(path: &Path) -> Result<JournalStore, JournalError> {
        let what = "making a journal in memory";
        let mut mem =
            Connection::open_in_memory().map_err(|e| JournalError::sqlite(path, what, &e))?;
        migrate(&mut mem, path).map_err(|f| match f {
            Fail::Corrupt(detail) => JournalError::Io {
                path: path.to_path_buf(),
                what: what.into(),
                detail,
                fix: "restart matcoach; if it happens again, report it".into(),
            },
            Fail::Other(e) => e,
        })?;
        Ok(JournalStore::with(mem, path, &OpenOptions::default()))
    }
}
