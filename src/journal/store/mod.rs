//! The journal database: the store's type and the small glue around it
//! (storage faults, the reads and the settings written outside a session).
//! Opening it is in `open`, recording a session's events in `record`.

mod open;
mod record;

pub use open::{Opened, Recovered};

use super::queries::{self, History, MaxInfo};
use super::{Date, JournalError, OpenOptions, PlanNote, SessionKind, Stamp};
use crate::content::Phase;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

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

impl JournalStore {
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
