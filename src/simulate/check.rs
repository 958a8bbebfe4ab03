//! The invariants the simulation checks, after every step and on the
//! journal:
//!
//! - **reaction**: "pain" and "stop" heard during a session act in the same
//!   step (or are journaled as ignored, e.g. the coach's own word);
//! - **state**: never stuck (something is scheduled, or the appliance waits
//!   for the user or for an answer the shell owes); the LED valid and
//!   matching the state and the faults; the appliance's faults are the
//!   devices the shell reported lost; a session never runs for hours
//!   unpaused;
//! - **speech** (in the world, from the real mixer's reports): never two
//!   phrases at once, and an instruction or safety line is only cut off by
//!   a safety line;
//! - **journal**: `PRAGMA integrity_check` passes; every session is
//!   complete or was cut off by a kill (at most one per kill); every
//!   session that ended while the journal could be written is complete;
//!   its size grows only with the sessions;
//! - **rules**, judged from the journal's facts (and the true date for the
//!   operation): an exercise that hurt is not given again before
//!   `pain_free_sessions` pain-free sessions; no exercise is done more
//!   often in a day than its dose allows; a programme for the third week
//!   after back surgery is never started before it.

use crate::adapt::{self, Rules};
use crate::appliance::{Action, Appliance, Event};
use crate::command::Command;
use crate::content::{Content, Phase};
use crate::journal::Date;
use crate::session::{DeviceKind, Input, JournalEvent, Led, Priority};
use rusqlite::{params, Connection, OpenFlags};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// One broken invariant, with how to replay it.
#[derive(Debug, Clone)]
pub struct Violation {
    pub seed: u64,
    pub step: u64,
    /// Virtual time since the start.
    pub at: Duration,
    pub what: String,
    /// The last steps before it.
    pub trace: Vec<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.at.as_secs();
        writeln!(
            f,
            "seed {}, step {}, day {} {:02}:{:02}:{:02}: {}",
            self.seed,
            self.step,
            s / 86_400,
            (s / 3600) % 24,
            (s / 60) % 60,
            s % 60,
            self.what
        )?;
        writeln!(
            f,
            "  replay: MATCOACH_SIM_SEED={} cargo test --test simulation",
            self.seed
        )?;
        writeln!(f, "  the steps before it:")?;
        for t in &self.trace {
            writeln!(f, "    {t}")?;
        }
        Ok(())
    }
}

/// What the checks keep between steps about the sessions.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub begun: u64,
    pub ended: u64,
    /// Sessions whose end was sent to the journal (a process killed while
    /// the last lines are said has written its end, not ended).
    pub journal_ended: u64,
    /// Sessions ended whose end is surely written (the journal was fine
    /// after it).
    pub ended_sure: u64,
    /// Kills that may have cut a session off in the journal.
    pub cut_allowance: u64,
    /// A session runs now.
    pub running: bool,
    pub checked_at_end: u64,
    /// Sessions in the journal at the last check.
    pub rows: u64,
    /// Ends that may have died with a killed process.
    pub maybe_lost: u64,
    /// Sessions (by their start in ms) planned from a history that missed
    /// events still waiting in memory (the disk failing): the rest after
    /// pain cannot be checked for them (see the report).
    pub stale: BTreeSet<i64>,
    /// Of those, how many the rest rule would have flagged.
    pub stale_rest: u64,
    /// Events the running writer gave up on, as last seen.
    pub lost_seen: u64,
    /// The last session whose rules were checked.
    pub rules_checked: i64,
    /// The true date each session started on, by its boot and its start
    /// on the wall clock (as the journal has them).
    pub true_days: BTreeMap<(String, i64), Date>,
}

/// The appliance just before a step.
pub struct Pre {
    coaching: bool,
    closing: bool,
    finished: bool,
}

impl Pre {
    pub fn of(app: &Appliance) -> Pre {
        let s = app.session();
        Pre {
            coaching: app.coaching(),
            closing: s.is_some_and(|s| s.is_closing()),
            finished: s.is_some_and(|s| s.is_finished()),
        }
    }
}

pub fn show_event(e: &Event) -> String {
    match e {
        Event::Input(i) => format!("{i:?}"),
        Event::Ready { hearing } => format!("Ready({hearing:?})"),
        Event::History { clock, history } => {
            format!(
                "History({}, {} sessions)",
                clock.wall.date(),
                history.sessions.len()
            )
        }
        Event::Preloaded(r) => format!("Preloaded({})", if r.is_ok() { "ok" } else { "err" }),
        Event::VoiceCheckEnded => "VoiceCheckEnded".into(),
        Event::Shutdown => "Shutdown".into(),
        Event::SayPairingCode(_) => "SayPairingCode".into(),
        Event::Settings(_) => "Settings".into(),
    }
}

pub fn show_action(a: &Action) -> String {
    match a {
        Action::Speak { id, line, priority } => format!("say {} #{} {priority:?}", line.id, id.0),
        Action::StopSpeech => "stop".into(),
        Action::Cue(c) => format!("cue {c:?}"),
        Action::SetLed(l) => format!("led {l:?}"),
        Action::Journal { event, .. } => format!("journal {}", event_name(event)),
        Action::BeginJournal(_) => "begin".into(),
        Action::JournalPress(_) => "press".into(),
        Action::Log(s) => format!("log {:?}", s.lines().next().unwrap_or_default()),
        Action::Status(_) => "status".into(),
        Action::ReadHistory => "read history".into(),
        Action::Preload(_) => "preload".into(),
        Action::RunVoiceCheck => "voice check".into(),
        Action::SessionEnded(r) => format!("ended {r:?}"),
        Action::Exit => "exit".into(),
    }
}

fn event_name(e: &JournalEvent) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.get("event").and_then(|k| k.as_str()).map(String::from))
        .unwrap_or_default()
        + &match e {
            JournalEvent::CommandHeard { command } => format!("({command:?})"),
            JournalEvent::CommandIgnored { command, .. } => format!("({command:?})"),
            _ => String::new(),
        }
}

/// "pain" and "stop" act in the step that hears them.
pub fn reaction(event: &Event, pre: &Pre, actions: &[Action]) -> Vec<String> {
    let Event::Input(Input::Heard(cmd)) = event else {
        return Vec::new();
    };
    if !matches!(cmd, Command::Pain | Command::Stop) {
        return Vec::new();
    }
    // Outside a session, and while it says its last lines (it ends anyway),
    // there is nothing to act on.
    if !pre.coaching || pre.finished || (pre.closing && *cmd == Command::Stop) {
        return Vec::new();
    }
    let journaled = |f: &dyn Fn(&JournalEvent) -> bool| {
        actions
            .iter()
            .any(|a| matches!(a, Action::Journal { event, .. } if f(event)))
    };
    // Any command: in a max test the shell reads "stop" as "next".
    let heard = journaled(&|e| matches!(e, JournalEvent::CommandHeard { .. }));
    let ignored = journaled(&|e| matches!(e, JournalEvent::CommandIgnored { .. }));
    if pre.closing && !heard && !ignored {
        // "pain" during the last lines without a phase offer: the session
        // is ending; nothing more to stop.
        return Vec::new();
    }
    if !heard && !ignored {
        return vec![format!("\"{cmd:?}\" heard during a session did nothing")];
    }
    if ignored {
        return Vec::new();
    }
    let any = |f: &dyn Fn(&Action) -> bool| actions.iter().any(f);
    let acted = match cmd {
        // Pain cuts off at once: silence, a safety line, or the end.
        Command::Pain => any(&|a| {
            matches!(
                a,
                Action::StopSpeech
                    | Action::SessionEnded(_)
                    | Action::Speak {
                        priority: Priority::Safety,
                        ..
                    }
            )
        }),
        // Stop pauses, ends, answers the question or declines the offer.
        _ => any(&|a| {
            matches!(
                a,
                Action::StopSpeech | Action::SetLed(_) | Action::SessionEnded(_)
            ) || matches!(
                a,
                Action::Journal {
                    event: JournalEvent::Paused { .. }
                        | JournalEvent::PainLocated { .. }
                        | JournalEvent::PhaseKept { .. },
                    ..
                }
            )
        }),
    };
    if acted {
        Vec::new()
    } else {
        vec![format!(
            "\"{cmd:?}\" was heard and journaled but nothing was stopped or paused"
        )]
    }
}

/// What the state checks look at.
pub struct StateView<'a> {
    pub app: &'a Appliance,
    pub led: Option<Led>,
    pub reported: &'a [DeviceKind],
    pub ready: bool,
    /// The shell owes the appliance an answer (or the speaker).
    pub owes: bool,
    /// How long the running session has run.
    pub session_for: Option<Duration>,
}

/// A session running unpaused this long is stuck.
const LONGEST_SESSION: Duration = Duration::from_secs(6 * 3600);

pub fn state(v: &StateView<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let app = v.app;
    if app.stopped() {
        return out;
    }
    let faults: BTreeSet<String> = app.faults().iter().map(|d| format!("{d:?}")).collect();
    let reported: BTreeSet<String> = v.reported.iter().map(|d| format!("{d:?}")).collect();
    if faults != reported {
        out.push(format!(
            "the appliance's faults {faults:?} are not the devices lost {reported:?}"
        ));
    }
    let session = app.session();
    let paused = session.is_some_and(|s| s.is_paused());
    let scheduled = app.next_deadline().is_some();
    if !scheduled && !app.idle() && !paused {
        if app.waiting_for_shell() {
            if !v.owes {
                out.push("stuck: it waits for the shell, which owes it nothing".into());
            }
        } else {
            out.push("stuck: nothing scheduled and not waiting for the user".into());
        }
    }
    if session.is_some_and(|s| s.is_finished()) {
        out.push("a finished session is still being coached".into());
    }
    if let (Some(d), false) = (v.session_for, paused) {
        if d > LONGEST_SESSION {
            out.push(format!(
                "a session has run for {} min without ending",
                d.as_secs() / 60
            ));
        }
    }
    if !v.ready {
        return out;
    }
    let Some(led) = v.led else {
        out.push("the LED was never set".into());
        return out;
    };
    let failing = !app.faults().is_empty();
    if app.idle() {
        if failing && led != Led::Error {
            out.push(format!("idle with {faults:?} lost, the LED shows {led:?}"));
        }
        if !matches!(led, Led::Idle | Led::Error) {
            out.push(format!("idle, the LED shows {led:?}"));
        }
    }
    if app.coaching() {
        if paused && !failing && led != Led::Paused {
            out.push(format!("paused, the LED shows {led:?}"));
        }
        if failing && !matches!(led, Led::Error | Led::Paused) {
            out.push(format!(
                "coaching with {faults:?} lost, the LED shows {led:?}"
            ));
        }
        if !failing && !matches!(led, Led::Running | Led::Paused) {
            out.push(format!("coaching, nothing lost, the LED shows {led:?}"));
        }
    }
    out
}

/// A programme for the third week after surgery started before it (by the
/// true date: a clock that runs ahead must not let it in early).
pub fn surgery_today(
    content: &Content,
    rules: &Rules,
    program: &str,
    today: Date,
) -> Option<String> {
    let surgery = rules.surgery_date?;
    let p = content.program(program)?;
    if adapt::needs_week_three(p) && today < adapt::week_three(surgery) {
        return Some(format!(
            "`{program}` (for the third week after back surgery) started on {today}, {} days after the operation on {surgery}",
            today.since(surgery)
        ));
    }
    None
}

/// One session's facts, from the journal.
#[derive(Debug, Default)]
struct Facts {
    /// The monotonic session sequence (what the phases refer to).
    seq: i64,
    program: String,
    /// The day as the journal has it (the wall clock's).
    day: String,
    /// The true date it started on (the journal's day if unknown).
    true_day: Option<Date>,
    boot: Option<String>,
    /// The clock was trusted when it was planned.
    trusted: bool,
    /// Exercises given (done, skipped or begun) and done.
    given: BTreeSet<String>,
    done: BTreeSet<String>,
    /// Exercises that hurt (pain that did not stay central).
    hurt: BTreeSet<String>,
    pains: u32,
    /// Planned from a history that missed unwritten events.
    stale: bool,
}

impl Facts {
    fn pain_free(&self) -> bool {
        self.pains == 0 && !self.done.is_empty()
    }
}

/// How far back the rest rule looks (sessions).
const LOOKBACK: i64 = 400;

/// Check the journal file; `running`: a session is being recorded now.
pub fn journal(
    path: &Path,
    content: &Content,
    rules: &Rules,
    program: &str,
    ledger: &mut Ledger,
    running: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    if !path.exists() {
        return out;
    }
    let conn = match Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        Ok(c) => c,
        Err(e) => return vec![format!("the journal cannot be opened to check it: {e}")],
    };
    let integrity: Result<String, _> = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0));
    match integrity {
        Ok(s) if s == "ok" => {}
        Ok(s) => out.push(format!("PRAGMA integrity_check: {s}")),
        Err(e) => {
            // Not made yet (the journal could not be opened so far).
            if !e.to_string().contains("no such table") {
                out.push(format!("PRAGMA integrity_check failed: {e}"));
            }
        }
    }
    let counts = conn.query_row(
        "SELECT COUNT(*), COUNT(outcome), COALESCE(MAX(id), 0) FROM sessions",
        [],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    );
    let Ok((rows, complete, last)) = counts else {
        return out;
    };
    let (rows_u, complete_u) = (rows as u64, complete as u64);
    ledger.rows = rows_u;
    let open = u64::from(running || ledger.ended > ledger.ended_sure);
    let cut = rows_u - complete_u;
    if cut > ledger.cut_allowance + open {
        out.push(format!(
            "{cut} sessions in the journal neither ended nor cut off by a kill ({} kills may have cut one{})",
            ledger.cut_allowance,
            if open > 0 { ", one may still be open" } else { "" }
        ));
    }
    if complete_u < ledger.ended_sure || complete_u > ledger.ended.max(ledger.journal_ended) {
        out.push(format!(
            "{complete_u} sessions complete in the journal; {} ended ({} ends sent to it), {} of them surely written",
            ledger.ended, ledger.journal_ended, ledger.ended_sure
        ));
    }
    if rows_u > ledger.begun {
        out.push(format!(
            "{rows_u} sessions in the journal, {} begun",
            ledger.begun
        ));
    }
    let size = |s: &str| {
        std::fs::metadata(format!("{}{s}", path.display()))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    // The WAL is checkpointed at about 4 MB; the database itself grows by
    // a few kB per session.
    let db = size("");
    if db > 512 * 1024 + 64 * 1024 * rows_u {
        out.push(format!(
            "the journal is {} KiB for {rows_u} sessions",
            db / 1024
        ));
    }
    // The rules, for the sessions not checked yet (the one being recorded
    // waits until it is over).
    let upto = if running { last - 1 } else { last };
    if upto > ledger.rules_checked {
        match rule_check(
            &conn,
            content,
            rules,
            program,
            ledger,
            ledger.rules_checked,
            upto,
        ) {
            Ok(v) => out.extend(v),
            Err(e) => out.push(format!(
                "the journal cannot be read to check the rules: {e}"
            )),
        }
        ledger.rules_checked = upto;
    }
    out
}

fn rule_check(
    conn: &Connection,
    content: &Content,
    rules: &Rules,
    setting: &str,
    ledger: &mut Ledger,
    from: i64,
    upto: i64,
) -> rusqlite::Result<Vec<String>> {
    let lo = from - LOOKBACK;
    let mut facts: BTreeMap<i64, Facts> = BTreeMap::new();
    let mut q = conn.prepare(
        "SELECT id, program, day, started_ms, COALESCE(seq, id), boot_id, COALESCE(clock, 'trusted')
           FROM sessions WHERE id > ?1 AND id <= ?2",
    )?;
    let rows = q.query_map(params![lo, upto], |r| {
        Ok((
            (r.get::<_, i64>(0)?, r.get::<_, String>(1)?),
            (r.get::<_, String>(2)?, r.get::<_, i64>(3)?),
            (
                r.get::<_, i64>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
            ),
        ))
    })?;
    for row in rows {
        let ((id, program), (day, started), (seq, boot, clock)) = row?;
        let true_day = boot
            .as_ref()
            .and_then(|b| ledger.true_days.get(&(b.clone(), started)).copied())
            .or_else(|| Date::parse(&day).ok());
        facts.insert(
            id,
            Facts {
                seq,
                program,
                day,
                true_day,
                boot,
                trusted: clock == "trusted",
                stale: ledger.stale.contains(&started),
                ..Facts::default()
            },
        );
    }
    let mut q = conn.prepare(
        "SELECT session_id, exercise, status FROM exercises WHERE session_id > ?1 AND session_id <= ?2",
    )?;
    let rows = q.query_map(params![lo, upto], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (id, exercise, status) = row?;
        if let Some(f) = facts.get_mut(&id) {
            if status != "left_out" {
                f.given.insert(exercise.clone());
            }
            if status == "done" {
                f.done.insert(exercise);
            }
        }
    }
    let mut q = conn.prepare(
        "SELECT session_id, exercise, location FROM pain WHERE session_id > ?1 AND session_id <= ?2",
    )?;
    let rows = q.query_map(params![lo, upto], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    for row in rows {
        let (id, exercise, location) = row?;
        if let Some(f) = facts.get_mut(&id) {
            f.pains += 1;
            if let (Some(x), false) = (exercise, location.as_deref() == Some("central")) {
                f.hurt.insert(x);
            }
        }
    }
    // The McKenzie phase changes: (after which session, to which phase).
    let mut q = conn.prepare("SELECT COALESCE(after_seq, 0), phase FROM phases ORDER BY id")?;
    let phases: Vec<(i64, Option<Phase>)> = q
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?
                    .as_deref()
                    .and_then(Phase::parse),
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    let ids: Vec<i64> = facts.keys().copied().collect();
    for (k, id) in ids.iter().enumerate() {
        if *id <= from {
            continue;
        }
        let t = &facts[id];
        // Rest after pain: walk back until enough pain-free sessions.
        for e in &t.given {
            let mut free = 0;
            for s in ids[..k].iter().rev() {
                let f = &facts[s];
                if f.hurt.contains(e) && t.stale {
                    // Planned while that pain still waited in memory: the
                    // writer's history applies what waits, so the rule holds.
                    ledger.stale_rest += 1;
                }
                if f.hurt.contains(e) {
                    out.push(format!(
                        "`{e}` given in session {id} ({}), but it hurt in session {s} ({}) and only {free} pain-free sessions followed ({} needed)",
                        t.day, f.day, rules.pain_free_sessions
                    ));
                    break;
                }
                if f.pain_free() {
                    free += 1;
                    if free >= rules.pain_free_sessions {
                        break;
                    }
                }
            }
        }
        out.extend(phase_check(content, setting, &phases, *id, t));
        // The daily maximum, by the true days.
        let Some(program) = content.program(&t.program) else {
            continue;
        };
        for e in &t.done {
            let max = program
                .items
                .iter()
                .find(|i| i.exercise.get_ref() == e)
                .and_then(|i| adapt::daily_max(&i.dose));
            let Some(max) = max else {
                continue;
            };
            let n = ids[..=k]
                .iter()
                .filter(|s| same_day(&facts[*s], t) && facts[*s].done.contains(e))
                .count();
            if n > max as usize {
                out.push(format!(
                    "`{e}` done in {n} sessions on {} (session {id}, {} by the clock); its dose allows {max} a day",
                    t.true_day.map_or_else(|| t.day.clone(), |d| d.to_string()),
                    t.day
                ));
            }
        }
        // After surgery, by the true day.
        if let (Some(surgery), Some(day)) = (rules.surgery_date, t.true_day) {
            if adapt::needs_week_three(program) && day < adapt::week_three(surgery) {
                out.push(format!(
                    "`{}` (third week after surgery and later) in session {id} on {day}; the operation was on {surgery}",
                    t.program
                ));
            }
        }
    }
    Ok(out)
}

/// Whether the coach can tell that sessions `a` and `b` fall on one day
/// (the daily maximum holds across them): they do, and either the clock
/// was trusted for both, or both are of one boot (its time since boot
/// cannot jump). Without a trusted clock the coach counts a new day at
/// each boot (`clock::Calendar`), so a Pi booted twice in a day may give
/// a day's dose twice: the fallback, not a clock jump.
fn same_day(a: &Facts, b: &Facts) -> bool {
    a.true_day.is_some()
        && a.true_day == b.true_day
        && ((a.trusted && b.trusted) || (a.boot.is_some() && a.boot == b.boot))
}

/// The McKenzie phase rule for session `id` (003, `adapt::phase_offer`):
/// with `program = "auto"` the session is the program of the phase in
/// effect when it began; a phase advances only one step at a time, only by
/// the offer at the end of a session, and never after a session with pain.
fn phase_check(
    content: &Content,
    setting: &str,
    phases: &[(i64, Option<Phase>)],
    id: i64,
    t: &Facts,
) -> Vec<String> {
    let mut out = Vec::new();
    // In effect: the last change made before this session began.
    let now = phases
        .iter()
        .rfind(|(after, _)| *after < t.seq)
        .and_then(|(_, p)| *p);
    if let (adapt::AUTO, Some(p)) = (setting, now) {
        let expected = adapt::phase_program(content, p).map(|p| p.id().to_string());
        if expected.as_deref() != Some(t.program.as_str()) {
            out.push(format!(
                "`{}` given in session {id} ({}) in the McKenzie phase {}, whose program is {}",
                t.program,
                t.day,
                p.name(),
                expected.unwrap_or_else(|| "missing".into())
            ));
        }
    }
    // The changes made at this session's end.
    let mut from = now;
    for (_, to) in phases.iter().filter(|(after, _)| *after == t.seq) {
        let Some(to) = to else {
            from = None;
            continue;
        };
        if from.and_then(adapt::next_phase) != Some(*to) {
            out.push(format!(
                "the McKenzie phase went from {} to {} after session {id} ({}): only one step forward at a time",
                from.map_or("none", Phase::name),
                to.name(),
                t.day
            ));
        }
        if t.pains > 0 {
            out.push(format!(
                "the McKenzie phase advanced to {} after session {id} ({}), which had {} pain reports (003: only once clearly better)",
                to.name(),
                t.day,
                t.pains
            ));
        }
        from = Some(*to);
    }
    out
}
