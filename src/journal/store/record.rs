//! Recording: one event of a session written in one transaction (the
//! session, exercise, set and pain rows it touches, and the event log).
//! Kept apart because the match over the events is most of the store.

use super::{Current, JournalStore};
use crate::journal::{local_now, JournalError, SessionKind, Stamp};
use crate::session::{EndReason, JournalEvent, PainLocation, Side};
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use std::time::Duration;

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
                crate::journal::ClockNote {
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
