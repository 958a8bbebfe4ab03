//! The journal database: open (WAL, durability, migrations, a damaged file
//! moved aside), record one event per transaction, read the history.

use super::queries::{self, History, MaxInfo};
use super::schema::{MIGRATIONS, VERSION};
use super::{local_now, Date, JournalError, OpenOptions, PlanNote, SessionKind, Stamp};
use crate::content::Phase;
use crate::session::{EndReason, JournalEvent, PainLocation, Side};
use rusqlite::{
    params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};
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

/// The session being recorded.
#[derive(Debug, Clone)]
struct Current {
    id: i64,
    base: Stamp,
    seq: i64,
    position: i64,
    exercise: Option<(i64, String)>,
    kind: SessionKind,
    tested: Vec<String>,
}

/// The journal database. Single-threaded; see [`super::JournalWriter`] for
/// the live coach.
#[derive(Debug)]
pub struct JournalStore {
    conn: Connection,
    path: PathBuf,
    current: Option<Current>,
    pending_base: Option<Stamp>,
    pending_plan: Option<PlanNote>,
    pending_presses: i64,
    /// The simulation's storage fault, and the state last applied to the
    /// connection.
    storage: super::StorageSwitch,
    applied: super::StorageState,
    max_page_count: Option<u32>,
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

fn side_str(side: Option<Side>) -> &'static str {
    match side {
        Some(Side::Left) => "left",
        Some(Side::Right) => "right",
        None => "",
    }
}

pub(crate) fn location_str(l: PainLocation) -> &'static str {
    match l {
        PainLocation::Central => "central",
        PainLocation::Spreading => "spreading",
        PainLocation::Unanswered => "unanswered",
    }
}

pub(crate) fn outcome_str(reason: EndReason) -> &'static str {
    match reason {
        EndReason::Completed => "completed",
        EndReason::EndedByUser => "ended_by_user",
        EndReason::EndedForPain => "ended_for_pain",
    }
}

fn event_kind(e: &JournalEvent) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.get("event").and_then(|k| k.as_str()).map(String::from))
        .unwrap_or_else(|| "unknown".into())
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

    fn with(conn: Connection, path: &Path, opts: &OpenOptions) -> JournalStore {
        JournalStore {
            conn,
            path: path.to_path_buf(),
            current: None,
            pending_base: None,
            pending_plan: None,
            pending_presses: 0,
            storage: opts.storage.clone(),
            applied: super::StorageState::Fine,
            max_page_count: opts.max_page_count,
        }
    }

    /// Bring the connection in line with the simulation's storage switch
    /// (nothing to do unless it changed): a full disk caps the database at
    /// its present size, a read-only one makes the connection query-only.
    fn apply_storage(&mut self) -> Result<(), JournalError> {
        use super::StorageState as S;
        let want = self.storage.get();
        if want == self.applied {
            return Ok(());
        }
        let fail =
            |e: rusqlite::Error| JournalError::sqlite(&self.path, "applying a storage fault", &e);
        // SQLite's largest page count: no cap.
        let cap = match want {
            S::Full => self
                .conn
                .query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0))
                .map_err(fail)?,
            _ => self.max_page_count.map_or(4_294_967_294, i64::from),
        };
        self.conn
            .query_row(&format!("PRAGMA max_page_count = {cap}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(fail)?;
        let query_only = if want == S::ReadOnly { "ON" } else { "OFF" };
        self.conn
            .pragma_update(None, "query_only", query_only)
            .map_err(fail)?;
        self.applied = want;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database connection, for reading (tests, the benchmark, ad-hoc
    /// queries). Writing behind the store's back confuses it.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The next session's events are timed from `base` (the wall-clock time
    /// at which the session loop started: `at` of each event is added to
    /// it), and `plan` is written with its first event. Without it, the
    /// session is timed from the moment its first event is recorded.
    pub fn begin(&mut self, base: Stamp, plan: Option<PlanNote>) {
        self.pending_base = Some(base);
        self.pending_plan = plan;
    }

    /// Whether a session is being recorded (started, not yet ended).
    pub fn in_session(&self) -> bool {
        self.current.is_some()
    }

    fn err(&self, what: &str) -> impl Fn(rusqlite::Error) -> JournalError + '_ {
        let what = what.to_string();
        move |e| JournalError::sqlite(&self.path, &what, &e)
    }

    /// The button was pressed, `at` after the session loop started.
    pub fn button_pressed(&mut self, _at: Duration) -> Result<(), JournalError> {
        self.apply_storage()?;
        let Some(cur) = &self.current else {
            // The press that starts a session comes before its first event.
            self.pending_presses += 1;
            return Ok(());
        };
        self.conn
            .execute(
                "UPDATE sessions SET button_presses = button_presses + 1 WHERE id = ?1",
                params![cur.id],
            )
            .map_err(|e| JournalError::sqlite(&self.path, "counting a button press", &e))?;
        Ok(())
    }

    /// Record one event, in one transaction. On an error nothing of it is
    /// written and the store is unchanged, so the same event can be tried
    /// again.
    pub fn record(&mut self, at: Duration, event: &JournalEvent) -> Result<(), JournalError> {
        self.apply_storage()?;
        let what = format!("recording `{}`", event_kind(event));
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| JournalError::sqlite(&path, &what, &e);
        if let JournalEvent::SessionStarted { program, lang } = event {
            let base = self.pending_base.unwrap_or_else(|| local_now().minus(at));
            let plan = self.pending_plan.clone().unwrap_or_default();
            let started = base.plus(at);
            let clock = plan.clock.clone().unwrap_or_else(|| {
                let r = crate::date::read();
                super::ClockNote {
                    boot: r.boot,
                    uptime_ms: r.uptime_ms,
                    trust: "unknown".into(),
                }
            });
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(&fail)?;
            tx.execute(
                "INSERT INTO sessions (program, lang, kind, source, note, day, started_ms, button_presses,
                                       seq, boot_id, uptime_ms, clock)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,
                         (SELECT COALESCE(MAX(seq), 0) + 1 FROM sessions), ?9, ?10, ?11)",
                params![
                    program,
                    lang,
                    plan.kind.as_str(),
                    plan.source.as_str(),
                    plan.note,
                    started.date().to_string(),
                    started.ms(),
                    self.pending_presses,
                    clock.boot,
                    clock.uptime_ms,
                    clock.trust,
                ],
            )
            .map_err(&fail)?;
            let id = tx.last_insert_rowid();
            for l in &plan.left_out {
                tx.execute(
                    "INSERT INTO exercises (session_id, position, exercise, status, reason, replaced_by)
                     VALUES (?1, NULL, ?2, 'left_out', ?3, ?4)",
                    params![id, l.exercise, l.reason, l.replaced_by],
                )
                .map_err(&fail)?;
            }
            if plan.kind == SessionKind::MaxTest {
                tx.execute("DELETE FROM settings WHERE key = 'max_test_requested'", [])
                    .map_err(&fail)?;
            }
            insert_event(&tx, Some(id), 0, started, event).map_err(&fail)?;
            tx.commit().map_err(&fail)?;
            self.current = Some(Current {
                id,
                base,
                seq: 1,
                position: 0,
                exercise: None,
                kind: plan.kind,
                tested: plan.tested,
            });
            self.pending_base = None;
            self.pending_plan = None;
            self.pending_presses = 0;
            return Ok(());
        }
        let Some(cur) = self.current.clone() else {
            // Outside a session (e.g. a device lost while idle): kept in the
            // event log only.
            let t = self
                .pending_base
                .unwrap_or_else(|| local_now().minus(at))
                .plus(at);
            let tx = self.conn.transaction().map_err(&fail)?;
            insert_event(&tx, None, 0, t, event).map_err(&fail)?;
            tx.commit().map_err(&fail)?;
            return Ok(());
        };
        let t = cur.base.plus(at);
        let mut next = Some(cur.clone());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        let bump = |tx: &Transaction, column: &str| {
            tx.execute(
                &format!("UPDATE sessions SET {column} = {column} + 1 WHERE id = ?1"),
                params![cur.id],
            )
        };
        match event {
            JournalEvent::SessionStarted { .. } => {}
            JournalEvent::ExerciseStarted { exercise } => {
                let position = cur.position + 1;
                tx.execute(
                    "INSERT INTO exercises (session_id, position, exercise, status, started_ms)
                     VALUES (?1, ?2, ?3, 'started', ?4)",
                    params![cur.id, position, exercise, t.ms()],
                )
                .map_err(&fail)?;
                let row = tx.last_insert_rowid();
                if let Some(n) = next.as_mut() {
                    n.position = position;
                    n.exercise = Some((row, exercise.clone()));
                }
            }
            JournalEvent::SetDone {
                exercise,
                set,
                side,
                reps_done,
                reps_planned,
                secs_done,
                complete,
            } => {
                let (row, n) = exercise_row(&tx, &cur, exercise, t).map_err(&fail)?;
                tx.execute(
                    "INSERT INTO sets (session_id, exercise_id, exercise, set_no, side, reps_done, reps_planned, secs_done, complete, at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        cur.id,
                        row,
                        exercise,
                        set,
                        side_str(*side),
                        reps_done,
                        reps_planned,
                        i64::try_from(*secs_done).unwrap_or(i64::MAX),
                        complete,
                        t.ms()
                    ],
                )
                .map_err(&fail)?;
                if n.is_some() {
                    moved_to(&mut next, n);
                    if let Some(next) = next.as_mut() {
                        next.exercise = Some((row, exercise.clone()));
                    }
                }
            }
            JournalEvent::ExerciseDone { exercise, complete } => {
                let (row, n) = exercise_row(&tx, &cur, exercise, t).map_err(&fail)?;
                moved_to(&mut next, n);
                tx.execute(
                    "UPDATE exercises SET status = 'done', complete = ?2, ended_ms = ?3 WHERE id = ?1",
                    params![row, complete, t.ms()],
                )
                .map_err(&fail)?;
                if cur.kind == SessionKind::MaxTest && cur.tested.iter().any(|x| x == exercise) {
                    // The maximum: the reps of the set where "stop" came; on
                    // both sides, the weaker side (the startgetal must suit
                    // both).
                    let max: Option<i64> = tx
                        .query_row(
                            "SELECT MIN(best) FROM (SELECT MAX(reps_done) AS best FROM sets
                              WHERE exercise_id = ?1 GROUP BY side)",
                            params![row],
                            |r| r.get(0),
                        )
                        .map_err(&fail)?;
                    if let Some(max) = max {
                        tx.execute(
                            "INSERT INTO maxima (exercise, max_reps, at_ms, source, session_id)
                             VALUES (?1, ?2, ?3, 'max_test', ?4)",
                            params![exercise, max, t.ms(), cur.id],
                        )
                        .map_err(&fail)?;
                    }
                }
            }
            JournalEvent::ExerciseSkipped { exercise, reason } => {
                let (row, n) = exercise_row(&tx, &cur, exercise, t).map_err(&fail)?;
                moved_to(&mut next, n);
                tx.execute(
                    "UPDATE exercises SET status = 'skipped', reason = ?2, ended_ms = ?3 WHERE id = ?1",
                    params![row, reason, t.ms()],
                )
                .map_err(&fail)?;
            }
            JournalEvent::Pain {
                exercise,
                set,
                side,
            } => {
                tx.execute(
                    "INSERT INTO pain (session_id, exercise, set_no, side, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        cur.id,
                        exercise,
                        set,
                        side.map(|s| side_str(Some(s))),
                        t.ms()
                    ],
                )
                .map_err(&fail)?;
                bump(&tx, "pain_events").map_err(&fail)?;
            }
            JournalEvent::Paused { .. } => {
                bump(&tx, "pauses").map_err(&fail)?;
            }
            JournalEvent::Resumed { .. } | JournalEvent::DeviceBack { .. } => {}
            JournalEvent::CommandHeard { .. } => {
                bump(&tx, "commands_heard").map_err(&fail)?;
            }
            JournalEvent::CommandIgnored { .. } => {
                bump(&tx, "commands_ignored").map_err(&fail)?;
            }
            JournalEvent::DeviceLost { .. } => {
                bump(&tx, "device_faults").map_err(&fail)?;
            }
            JournalEvent::PhaseOffered { .. } | JournalEvent::PhaseKept { .. } => {}
            JournalEvent::PainLocated { exercise, location } => {
                // The answer belongs to the latest pain of this session
                // during the same exercise (or, without one, the latest).
                let latest: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM pain WHERE session_id = ?1
                            AND (exercise IS ?2 OR ?2 IS NULL)
                          ORDER BY id DESC LIMIT 1",
                        params![cur.id, exercise],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(&fail)?;
                let name = location_str(*location);
                match latest {
                    Some(row) => {
                        tx.execute(
                            "UPDATE pain SET location = ?2 WHERE id = ?1",
                            params![row, name],
                        )
                        .map_err(&fail)?;
                    }
                    None => {
                        // An answer without its pain: kept as a pain report.
                        tx.execute(
                            "INSERT INTO pain (session_id, exercise, at_ms, location) VALUES (?1, ?2, ?3, ?4)",
                            params![cur.id, exercise, t.ms(), name],
                        )
                        .map_err(&fail)?;
                        bump(&tx, "pain_events").map_err(&fail)?;
                    }
                }
            }
            JournalEvent::PhaseAdvanced { from, to } => {
                // The user accepted the coach's offer. Only from the phase it
                // was made in: had the phase changed meanwhile (`matcoach
                // phase`), the later choice stands.
                let current: Option<Option<String>> = tx
                    .query_row(
                        "SELECT phase FROM phases ORDER BY id DESC LIMIT 1",
                        [],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(&fail)?;
                if current.flatten().as_deref() == Some(from.name()) {
                    tx.execute(
                        "INSERT INTO phases (at_ms, phase, reason, after_seq)
                         VALUES (?1, ?2, ?3, (SELECT MAX(seq) FROM sessions))",
                        params![
                            t.ms(),
                            to.name(),
                            format!(
                                "accepted the coach's offer with the button (session {})",
                                cur.id
                            )
                        ],
                    )
                    .map_err(&fail)?;
                }
            }
            JournalEvent::SessionEnded {
                reason,
                exercises_done,
                pain_events,
            } => {
                tx.execute(
                    "UPDATE sessions SET outcome = ?2, ended_ms = ?3, exercises_done = ?4,
                            pain_events = MAX(pain_events, ?5) WHERE id = ?1",
                    params![
                        cur.id,
                        outcome_str(*reason),
                        t.ms(),
                        exercises_done,
                        pain_events
                    ],
                )
                .map_err(&fail)?;
                next = None;
            }
        }
        insert_event(&tx, Some(cur.id), cur.seq, t, event).map_err(&fail)?;
        tx.commit().map_err(&fail)?;
        self.current = next.map(|mut n| {
            n.seq = cur.seq + 1;
            n
        });
        Ok(())
    }

    /// The whole history (or from `since` on).
    pub fn history(&self, since: Option<Date>) -> Result<History, JournalError> {
        queries::load(&self.conn, &self.path, since)
    }

    /// When the last session on `day` ended (or was last heard of).
    pub fn last_on(&self, day: Date) -> Result<Option<Stamp>, JournalError> {
        self.conn
            .query_row(
                "SELECT MAX(COALESCE(s.ended_ms, (SELECT MAX(at_ms) FROM events e WHERE e.session_id = s.id), s.started_ms))
                   FROM sessions s WHERE s.day = ?1",
                params![day.to_string()],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map(|v| v.map(Stamp))
            .map_err(self.err("reading the journal"))
    }

    /// Record a McKenzie phase change (`None`: no longer following it).
    pub fn set_phase(
        &mut self,
        phase: Option<Phase>,
        reason: &str,
        at: Stamp,
    ) -> Result<(), JournalError> {
        let name = phase.map(Phase::name);
        self.conn
            .execute(
                "INSERT INTO phases (at_ms, phase, reason, after_seq)
                         VALUES (?1, ?2, ?3, (SELECT MAX(seq) FROM sessions))",
                params![at.ms(), name, reason],
            )
            .map_err(|e| JournalError::sqlite(&self.path, "recording the phase", &e))?;
        Ok(())
    }

    /// Record a maximum entered by hand.
    pub fn set_max(&mut self, exercise: &str, max: u32, at: Stamp) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT INTO maxima (exercise, max_reps, at_ms, source) VALUES (?1, ?2, ?3, 'manual')",
                params![exercise, max, at.ms()],
            )
            .map_err(|e| JournalError::sqlite(&self.path, "recording the maximum", &e))?;
        Ok(())
    }

    /// Keep the user's note on session `session_id` (issue 17); the latest
    /// note of a session is the one shown. An unknown session is an error.
    pub fn add_note(&mut self, session_id: i64, text: &str, at: Stamp) -> Result<(), JournalError> {
        let err = |e: rusqlite::Error| JournalError::sqlite(&self.path, "keeping the note", &e);
        let known: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sessions WHERE id = ?1",
                params![session_id],
                |r| r.get(0),
            )
            .map_err(err)?;
        if known == 0 {
            return Err(JournalError::Io {
                path: self.path.clone(),
                what: "keeping the note".into(),
                detail: format!("there is no session {session_id}"),
                fix: "pick a session from the history".into(),
            });
        }
        self.conn
            .execute(
                "INSERT INTO notes (session_id, at_ms, text) VALUES (?1, ?2, ?3)",
                params![session_id, at.ms(), text],
            )
            .map_err(err)?;
        Ok(())
    }

    /// Every McKenzie phase change, oldest first: when, and the phase
    /// (`None`: stopped following it).
    pub fn phase_changes(&self) -> Result<Vec<(Stamp, Option<Phase>)>, JournalError> {
        let err = |e: rusqlite::Error| JournalError::sqlite(&self.path, "reading the journal", &e);
        let mut stmt = self
            .conn
            .prepare("SELECT at_ms, phase FROM phases ORDER BY at_ms, id")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                let phase: Option<String> = r.get(1)?;
                Ok((Stamp(r.get(0)?), phase.as_deref().and_then(Phase::parse)))
            })
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// Every tested or entered maximum, oldest first.
    pub fn maxima_over_time(&self) -> Result<Vec<MaxInfo>, JournalError> {
        let err = |e: rusqlite::Error| JournalError::sqlite(&self.path, "reading the journal", &e);
        let mut stmt = self
            .conn
            .prepare("SELECT exercise, max_reps, at_ms, source FROM maxima ORDER BY at_ms, id")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(MaxInfo {
                    exercise: r.get(0)?,
                    max_reps: u32::try_from(r.get::<_, i64>(1)?.max(0)).unwrap_or(u32::MAX),
                    at: Stamp(r.get(2)?),
                    source: r.get(3)?,
                })
            })
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// Ask for a max test at the next strength session.
    pub fn request_max_test(&mut self, at: Stamp) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT INTO settings (key, value) VALUES ('max_test_requested', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![at.ms().to_string()],
            )
            .map_err(|e| JournalError::sqlite(&self.path, "recording the request", &e))?;
        Ok(())
    }

    /// Record what became of a spoken command (issue 16, item 3), with
    /// the session being recorded, if any.
    pub fn record_voice(&mut self, r: &super::voice::VoiceRecord) -> Result<(), JournalError> {
        self.apply_storage()?;
        let session = self.current.as_ref().map(|c| c.id);
        self.conn
            .execute(
                "INSERT INTO voice (session_id, at_ms, day, kind, command, word, confidence, engine, lang, what, clip)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    session,
                    r.at.ms(),
                    r.at.date().to_string(),
                    r.kind.as_str(),
                    r.command.name(),
                    r.word,
                    r.confidence.map(f64::from),
                    r.engine,
                    r.lang,
                    r.what,
                    r.clip
                ],
            )
            .map_err(|e| JournalError::sqlite(&self.path, "recording a voice command", &e))?;
        Ok(())
    }

    // issue 16, item 2: personal voice calibrations.

    /// Keep a voice calibration (from the voice check) made at `at`; it
    /// applies to its language and engine from now on.
    pub fn save_calibration(
        &mut self,
        cal: &crate::hearing::calibrate::Calibration,
        at: Stamp,
    ) -> Result<(), JournalError> {
        let data = serde_json::to_string(cal).map_err(|e| JournalError::Io {
            path: self.path.clone(),
            what: "recording the voice calibration".into(),
            detail: e.to_string(),
            fix: "run the voice check again".into(),
        })?;
        self.conn
            .execute(
                "INSERT INTO calibrations (at_ms, lang, engine, data) VALUES (?1, ?2, ?3, ?4)",
                params![at.ms(), cal.lang.code(), cal.engine.name(), data],
            )
            .map_err(|e| JournalError::sqlite(&self.path, "recording the voice calibration", &e))?;
        Ok(())
    }

    /// The latest voice calibration for `lang` and `engine`, if any (one
    /// that cannot be read, e.g. written by a newer matcoach, counts as
    /// none: the defaults apply).
    pub fn calibration(
        &self,
        lang: crate::content::Lang,
        engine: crate::hearing::Engine,
    ) -> Result<Option<crate::hearing::calibrate::Calibration>, JournalError> {
        let data: Option<String> = self
            .conn
            .query_row(
                "SELECT data FROM calibrations WHERE lang = ?1 AND engine = ?2
                  ORDER BY at_ms DESC, id DESC LIMIT 1",
                params![lang.code(), engine.name()],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("reading the voice calibration"))?;
        Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
    }

    /// `PRAGMA integrity_check`: "ok", or what is wrong.
    pub fn integrity_check(&self) -> Result<String, JournalError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(self.err("checking the journal"))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(self.err("checking the journal"))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r.map_err(self.err("checking the journal"))?);
        }
        Ok(out.join("\n"))
    }
}

/// A row made out of order took the next position.
fn moved_to(next: &mut Option<Current>, position: Option<i64>) {
    if let (Some(next), Some(p)) = (next.as_mut(), position) {
        next.position = p;
    }
}

fn insert_event(
    tx: &Transaction,
    session: Option<i64>,
    seq: i64,
    t: Stamp,
    event: &JournalEvent,
) -> rusqlite::Result<usize> {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    tx.execute(
        "INSERT INTO events (session_id, seq, at_ms, kind, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![session, seq, t.ms(), event_kind(event), data],
    )
}

/// The row of `exercise` in the current session: the one being done, else
/// the latest with that name, else a new one (events out of the usual
/// order are kept, not refused). Returns the row and, if a row was made,
/// its position.
fn exercise_row(
    tx: &Transaction,
    cur: &Current,
    exercise: &str,
    t: Stamp,
) -> rusqlite::Result<(i64, Option<i64>)> {
    if let Some((row, name)) = &cur.exercise {
        if name == exercise {
            return Ok((*row, None));
        }
    }
    let found: Option<i64> = tx
        .query_row(
            "SELECT id FROM exercises WHERE session_id = ?1 AND exercise = ?2 AND position IS NOT NULL
             ORDER BY position DESC LIMIT 1",
            params![cur.id, exercise],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(row) = found {
        return Ok((row, None));
    }
    let position = cur.position + 1;
    tx.execute(
        "INSERT INTO exercises (session_id, position, exercise, status, started_ms)
         VALUES (?1, ?2, ?3, 'started', ?4)",
        params![cur.id, position, exercise, t.ms()],
    )?;
    Ok((tx.last_insert_rowid(), Some(position)))
}
