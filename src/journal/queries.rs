//! The history, read out of the journal as plain data. [`crate::adapt`]
//! decides on it without touching the database; [`super::report`] shows it.

use super::{Date, JournalError, SessionKind, Stamp};
use crate::content::Phase;
use crate::session::PainLocation;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    EndedByUser,
    EndedForPain,
    /// No end was recorded: cut off (power, crash), or still running.
    Unfinished,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::EndedByUser => "ended_by_user",
            Outcome::EndedForPain => "ended_for_pain",
            Outcome::Unfinished => "unfinished",
        }
    }

    fn parse(s: Option<&str>) -> Outcome {
        match s {
            Some("completed") => Outcome::Completed,
            Some("ended_by_user") => Outcome::EndedByUser,
            Some("ended_for_pain") => Outcome::EndedForPain,
            _ => Outcome::Unfinished,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExerciseStatus {
    /// Begun, not (yet) done: cut off with the session.
    Started,
    Done,
    Skipped,
    /// Left out of the program before the session began.
    LeftOut,
}

impl ExerciseStatus {
    fn parse(s: &str) -> ExerciseStatus {
        match s {
            "done" => ExerciseStatus::Done,
            "skipped" => ExerciseStatus::Skipped,
            "left_out" => ExerciseStatus::LeftOut,
            _ => ExerciseStatus::Started,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExerciseInfo {
    pub position: Option<u32>,
    pub exercise: String,
    pub status: ExerciseStatus,
    pub complete: Option<bool>,
    pub reason: Option<String>,
    pub replaced_by: Option<String>,
    pub sets: u32,
    pub reps: u32,
    pub secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PainInfo {
    pub exercise: Option<String>,
    pub set: Option<u32>,
    pub side: Option<String>,
    pub at: Stamp,
    /// In a McKenzie program: where the pain was, as the user answered
    /// (`None`: not asked).
    pub location: Option<PainLocation>,
}

impl PainInfo {
    /// The pain stayed in the back (003: a slight rise of back pain at
    /// first is tolerated). Only the McKenzie pain rule records it.
    pub fn central(&self) -> bool {
        self.location == Some(PainLocation::Central)
    }
}

pub fn location_name(l: PainLocation) -> &'static str {
    match l {
        PainLocation::Central => "central",
        PainLocation::Spreading => "spreading",
        PainLocation::Unanswered => "unanswered",
    }
}

fn parse_location(s: &str) -> Option<PainLocation> {
    match s {
        "central" => Some(PainLocation::Central),
        "spreading" => Some(PainLocation::Spreading),
        "unanswered" => Some(PainLocation::Unanswered),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    pub id: i64,
    /// The monotonic session sequence (schema 6; `id` before): the order
    /// the sessions came in, whatever the wall clock said.
    pub seq: i64,
    /// The boot it began in, and when in it (ms since boot), if recorded.
    pub boot: Option<String>,
    pub uptime_ms: Option<i64>,
    pub program: String,
    pub lang: String,
    pub kind: SessionKind,
    pub source: String,
    pub note: String,
    pub day: Date,
    pub started: Stamp,
    pub ended: Option<Stamp>,
    /// The last event recorded.
    pub last: Stamp,
    pub outcome: Outcome,
    pub commands_heard: u32,
    pub commands_ignored: u32,
    pub button_presses: u32,
    pub pauses: u32,
    pub device_faults: u32,
    pub exercises: Vec<ExerciseInfo>,
    pub pains: Vec<PainInfo>,
}

impl SessionInfo {
    /// From start to end (or to the last event of a cut-off session).
    pub fn duration_ms(&self) -> i64 {
        self.ended
            .unwrap_or(self.last)
            .ms()
            .saturating_sub(self.started.ms())
            .max(0)
    }

    pub fn done(&self) -> usize {
        self.exercises
            .iter()
            .filter(|e| e.status == ExerciseStatus::Done)
            .count()
    }

    /// Exercises the session got to (done, skipped or begun).
    pub fn attempted(&self) -> usize {
        self.exercises
            .iter()
            .filter(|e| e.status != ExerciseStatus::LeftOut)
            .count()
    }

    pub fn left_out(&self) -> impl Iterator<Item = &ExerciseInfo> {
        self.exercises
            .iter()
            .filter(|e| e.status == ExerciseStatus::LeftOut)
    }

    /// The user practised: at least one exercise done, or tried and stopped
    /// for pain (that counts for adherence too).
    pub fn practised(&self) -> bool {
        self.exercises
            .iter()
            .any(|e| matches!(e.status, ExerciseStatus::Done | ExerciseStatus::Skipped))
    }

    /// No pain was reported and at least one exercise was done: what brings
    /// a resting exercise back.
    pub fn pain_free(&self) -> bool {
        self.pains.is_empty() && self.done() > 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaxInfo {
    pub exercise: String,
    pub max_reps: u32,
    pub at: Stamp,
    /// `max_test` or `manual`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseInfo {
    pub phase: Option<Phase>,
    pub since: Stamp,
    /// The last session (by sequence) before the change, if the journal
    /// knows it: the phase's sessions are the later ones.
    pub after_seq: Option<i64>,
    /// The phase before this change, if the journal holds one ("phase
    /// back" returns there: a user offered maintenance straight from the
    /// improving phase never did the stiff one).
    pub came_from: Option<Phase>,
}

/// Everything the adaptation and the history command need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct History {
    /// Oldest first.
    pub sessions: Vec<SessionInfo>,
    /// The latest phase change, if any.
    pub phase: Option<PhaseInfo>,
    /// The latest maximum per exercise.
    pub maxima: BTreeMap<String, MaxInfo>,
    /// `matcoach calibrate --next` asked for a max test (when).
    pub max_test_requested: Option<Stamp>,
    /// When the coach last offered the next McKenzie phase (at most once a
    /// day).
    pub phase_offered: Option<Stamp>,
    /// The last offer: from which phase to which (the improving phase asks
    /// "still stiff?" and "moving on to maintenance?" in turn).
    pub last_offer: Option<OfferInfo>,
    /// Voice checks done, per language code (the appliance offers one
    /// until it has been done).
    pub voice_checks: BTreeMap<String, u32>,
    /// The sessions' days are counted, not read from a clock that cannot
    /// be trusted (set by [`crate::clock::Calendar`]): the phase clock then
    /// counts sessions too.
    pub untrusted_clock: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OfferInfo {
    pub at: Stamp,
    pub from: Phase,
    pub to: Phase,
}

impl History {
    pub fn current_phase(&self) -> Option<Phase> {
        self.phase.as_ref().and_then(|p| p.phase)
    }
}

fn u32_of(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// Read the history (sessions from `since` on; phase, maxima and requests
/// always whole).
pub fn load(conn: &Connection, path: &Path, since: Option<Date>) -> Result<History, JournalError> {
    let err = |e: rusqlite::Error| JournalError::sqlite(path, "reading the journal", &e);
    let since = since.map(|d| d.to_string()).unwrap_or_default();
    let mut sessions = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    {
        let mut stmt = conn
            .prepare(
                "SELECT id, program, lang, kind, source, note, started_ms, ended_ms, outcome,
                        commands_heard, commands_ignored, button_presses, pauses, device_faults,
                        (SELECT MAX(at_ms) FROM events e WHERE e.session_id = s.id),
                        COALESCE(seq, id), boot_id, uptime_ms
                   FROM sessions s WHERE day >= ?1 ORDER BY COALESCE(seq, id)",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![since], |r| {
                let started = Stamp(r.get(6)?);
                let ended: Option<i64> = r.get(7)?;
                let last: Option<i64> = r.get(14)?;
                let outcome: Option<String> = r.get(8)?;
                let kind: String = r.get(3)?;
                Ok(SessionInfo {
                    id: r.get(0)?,
                    seq: r.get(15)?,
                    boot: r.get(16)?,
                    uptime_ms: r.get(17)?,
                    program: r.get(1)?,
                    lang: r.get(2)?,
                    kind: SessionKind::parse(&kind),
                    source: r.get(4)?,
                    note: r.get(5)?,
                    day: started.date(),
                    started,
                    ended: ended.map(Stamp),
                    last: Stamp(last.unwrap_or(started.ms()).max(started.ms())),
                    outcome: Outcome::parse(outcome.as_deref()),
                    commands_heard: u32_of(r.get(9)?),
                    commands_ignored: u32_of(r.get(10)?),
                    button_presses: u32_of(r.get(11)?),
                    pauses: u32_of(r.get(12)?),
                    device_faults: u32_of(r.get(13)?),
                    exercises: Vec::new(),
                    pains: Vec::new(),
                })
            })
            .map_err(err)?;
        for row in rows {
            let s = row.map_err(err)?;
            index.insert(s.id, sessions.len());
            sessions.push(s);
        }
    }
    {
        let mut stmt = conn
            .prepare(
                "SELECT x.session_id, x.position, x.exercise, x.status, x.complete, x.reason, x.replaced_by,
                        COUNT(t.id), COALESCE(SUM(t.reps_done), 0), COALESCE(SUM(t.secs_done), 0)
                   FROM exercises x JOIN sessions s ON s.id = x.session_id
                   LEFT JOIN sets t ON t.exercise_id = x.id
                  WHERE s.day >= ?1
                  GROUP BY x.id ORDER BY x.session_id, x.position IS NOT NULL, x.position, x.id",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![since], |r| {
                let position: Option<i64> = r.get(1)?;
                let status: String = r.get(3)?;
                let complete: Option<bool> = r.get(4)?;
                Ok((
                    r.get::<_, i64>(0)?,
                    ExerciseInfo {
                        position: position.map(u32_of),
                        exercise: r.get(2)?,
                        status: ExerciseStatus::parse(&status),
                        complete,
                        reason: r.get(5)?,
                        replaced_by: r.get(6)?,
                        sets: u32_of(r.get(7)?),
                        reps: u32_of(r.get(8)?),
                        secs: r.get::<_, i64>(9)?.max(0) as u64,
                    },
                ))
            })
            .map_err(err)?;
        for row in rows {
            let (sid, x) = row.map_err(err)?;
            if let Some(&i) = index.get(&sid) {
                sessions[i].exercises.push(x);
            }
        }
    }
    {
        let mut stmt = conn
            .prepare(
                "SELECT p.session_id, p.exercise, p.set_no, p.side, p.at_ms, p.location
                   FROM pain p JOIN sessions s ON s.id = p.session_id
                  WHERE s.day >= ?1 ORDER BY p.id",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![since], |r| {
                let set: Option<i64> = r.get(2)?;
                Ok((
                    r.get::<_, i64>(0)?,
                    PainInfo {
                        exercise: r.get(1)?,
                        set: set.map(u32_of),
                        side: r.get(3)?,
                        at: Stamp(r.get(4)?),
                        location: r
                            .get::<_, Option<String>>(5)?
                            .as_deref()
                            .and_then(parse_location),
                    },
                ))
            })
            .map_err(err)?;
        for row in rows {
            let (sid, p) = row.map_err(err)?;
            if let Some(&i) = index.get(&sid) {
                sessions[i].pains.push(p);
            }
        }
    }
    let phase = {
        let mut stmt = conn
            .prepare("SELECT phase, at_ms, after_seq FROM phases ORDER BY id DESC LIMIT 2")
            .map_err(err)?;
        let rows: Vec<(Option<Phase>, Stamp, Option<i64>)> = stmt
            .query_map([], |r| {
                let phase: Option<String> = r.get(0)?;
                Ok((
                    phase.as_deref().and_then(Phase::parse),
                    Stamp(r.get(1)?),
                    r.get(2)?,
                ))
            })
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        rows.first().map(|&(phase, since, after_seq)| PhaseInfo {
            phase,
            since,
            after_seq,
            came_from: rows.get(1).and_then(|&(p, _, _)| p),
        })
    };
    let mut maxima = BTreeMap::new();
    {
        let mut stmt = conn
            .prepare("SELECT exercise, max_reps, at_ms, source FROM maxima ORDER BY id")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(MaxInfo {
                    exercise: r.get(0)?,
                    max_reps: u32_of(r.get(1)?),
                    at: Stamp(r.get(2)?),
                    source: r.get(3)?,
                })
            })
            .map_err(err)?;
        for row in rows {
            let m = row.map_err(err)?;
            maxima.insert(m.exercise.clone(), m);
        }
    }
    let max_test_requested = conn
        .query_row(
            "SELECT value FROM settings WHERE key = 'max_test_requested'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()
        .map_err(err)?
        .and_then(|v| v.parse::<i64>().ok())
        .map(Stamp);
    let phase_offered = conn
        .query_row(
            "SELECT at_ms FROM events WHERE kind = 'phase_offered' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map_err(err)?
        .map(Stamp);
    let last_offer = conn
        .query_row(
            "SELECT at_ms, data FROM events WHERE kind = 'phase_offered' ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()
        .map_err(err)?
        .and_then(|(at, data)| {
            let v: serde_json::Value = serde_json::from_str(&data).ok()?;
            let phase = |k: &str| v.get(k).and_then(|p| p.as_str()).and_then(Phase::parse);
            Some(OfferInfo {
                at: Stamp(at),
                from: phase("from")?,
                to: phase("to")?,
            })
        });
    let mut voice_checks = BTreeMap::new();
    for check in super::voice_checks::read(conn, None).map_err(err)? {
        *voice_checks.entry(check.lang).or_insert(0) += 1;
    }
    Ok(History {
        sessions,
        phase,
        maxima,
        max_test_requested,
        phase_offered,
        last_offer,
        voice_checks,
        untrusted_clock: false,
    })
}
