//! Programs that adapt as the brochures advise: pure functions from the
//! journal's [`History`] to today's program, so that
//! [`crate::session::compile`] stays pure and everything here is testable
//! without a database.
//!
//! The rules, with their sources:
//! - **Skip what hurt** (002: extra pain that lingers → leave the exercise
//!   out next time; 003: do not go on with an exercise that makes it much
//!   worse). An exercise during which the user said "pain" rests: it is left
//!   out of the following sessions, or replaced by its `easier` variant when
//!   it has one (and that one is neither resting nor in the program
//!   already). It comes back after `journal.pain_free_sessions` sessions in
//!   which at least one exercise was done and no pain was reported.
//!   Leaving exercises out never breaks the load-time rules: an exercise
//!   whose `always_followed_by` partner rests rests too, and strength work
//!   whose warm-up is gone is left out.
//!   Pain that stayed central (the McKenzie pain rule's answer, journaled as
//!   `PainLocated`) does not rest the exercise: 003 tolerates a slight rise
//!   of back pain at first. Spreading or unanswered pain rests it.
//! - **McKenzie phases** (003): acute → improving → stiff → maintenance,
//!   advanced by the user only (`matcoach phase next`, or a press of the
//!   button when the coach offers it at the end of a session: see
//!   [`phase_offer`]), never automatically and never when the last session
//!   (or today's) had pain. The offers follow the brochure's clock in days
//!   (`journal.acute_days`, `pain_free_days`, `plateau_days`,
//!   `stiff_days`), not a count of sessions, and ask: "still stiff?" for
//!   the stiff phase, "do the knees come easily?" to leave it. With
//!   `program = "auto"` a McKenzie user gets the phase's program.
//! - **Doses per day** (003: the sitting exercise three times a day in
//!   programs done six to eight times a day): an exercise done as often
//!   today as its dose allows (`times_per_day_max`, else `times_per_day`,
//!   as the program gives it) is left out of today's later sessions; the
//!   coach says so once ([`Facts::daily_max_reached`]).
//! - **After back surgery** (003, BAOV): programs with exercises 4 and later
//!   only from the third week after `coach.surgery_date`; refused before,
//!   or without a date, saying why ([`surgery_gate`]); `auto` passes them.
//! - **Daily rotation** (002: different exercises on different days; 004:
//!   strength at least twice, better three times a week, the warm-up on the
//!   other days): with `program = "auto"`, strength (with its warm-up) on up
//!   to `journal.strength_days_per_week` days in any seven, never two days
//!   running and not on the very first day; on the other days the mobility
//!   programs of `journal.rotation`, least recently done first, never the
//!   same as the last session's.
//! - **Startgetal** (004): determine your maximum per exercise first; one
//!   third of it is the start number. The first strength day (or the next
//!   one after `matcoach calibrate --next`) is a *max test*: the warm-up,
//!   then each untested startgetal exercise as many times as the user can
//!   (up to [`MAX_TEST_REPS`]); "stop" marks the last one (in a max test the
//!   shell turns "stop" into "next", which ends the set and records the reps
//!   done). The journal stores the maximum; [`Today::facts`] feeds
//!   [`crate::session::script::Personal`] (the maxima, the first use, the
//!   sessions per program, the daily maxima to say).

use crate::config;
use crate::content::{Category, Content, Dose, Phase, Program, ProgramItem, Text};
use crate::journal::queries::{History, SessionInfo};
use crate::journal::{Date, ExerciseStatus, LeftOut, PlanNote, SessionKind, Source};
use crate::session::script::Personal;
use crate::session::{Command, Input, PhaseOffer};
use crate::sim::{ScriptedEvent, UserAction};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroU32;
use toml::Spanned;

/// The program name that asks for the rotation.
pub const AUTO: &str = "auto";
/// The id of the max-test program (built from the strength program).
pub const MAX_TEST: &str = "sr_max_test";
/// The most repetitions a max test counts (004: "this can be thirty").
pub const MAX_TEST_REPS: u32 = 50;

/// The settings the adaptation follows (from `[journal]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub pain_free_sessions: u32,
    pub rotation: Vec<String>,
    pub strength_program: String,
    pub strength_days_per_week: u32,
    /// The McKenzie phase clock, in days (see [`phase_offer`]).
    pub acute_days: u32,
    pub pain_free_days: u32,
    pub plateau_days: u32,
    pub stiff_days: u32,
    /// The day of a back operation (`coach.surgery_date`): the BAOV
    /// exercises 4 and later only from the third week after it.
    pub surgery_date: Option<Date>,
}

impl Rules {
    /// The rules of `[journal]`, without a surgery date (see
    /// [`Rules::for_config`]).
    pub fn from_config(j: &config::Journal) -> Rules {
        Rules {
            pain_free_sessions: j.pain_free_sessions,
            rotation: j.rotation.clone(),
            strength_program: j.strength_program.clone(),
            strength_days_per_week: j.strength_days_per_week,
            acute_days: j.acute_days,
            pain_free_days: j.pain_free_days,
            plateau_days: j.plateau_days,
            stiff_days: j.stiff_days,
            surgery_date: None,
        }
    }

    /// The rules of the whole config: `[journal]` and `coach.surgery_date`.
    pub fn for_config(c: &config::Config) -> Rules {
        Rules {
            surgery_date: c.surgery_date(),
            ..Rules::from_config(&c.journal)
        }
    }

    /// The settings make sense for this content.
    pub fn check(&self, content: &Content) -> Result<(), AdaptError> {
        if self.pain_free_sessions == 0 {
            return Err(AdaptError::BadSetting {
                key: "pain_free_sessions".into(),
                value: "0".into(),
                problem: "an exercise that hurt would come straight back".into(),
                fix: "use 1 or more (the default is 3)".into(),
            });
        }
        if self.strength_days_per_week > 7 {
            return Err(AdaptError::BadSetting {
                key: "strength_days_per_week".into(),
                value: self.strength_days_per_week.to_string(),
                problem: "a week has seven days".into(),
                fix: "use 0 to 7 (004 advises 2 or 3)".into(),
            });
        }
        if self.rotation.is_empty() {
            return Err(AdaptError::BadSetting {
                key: "rotation".into(),
                value: "[]".into(),
                problem: "program = \"auto\" needs at least one mobility program".into(),
                fix: "list programs, e.g. [\"morning_mobility\", \"sr_warmup\"]".into(),
            });
        }
        let known = |key: &str, id: &str| {
            if content.program(id).is_some() {
                Ok(())
            } else {
                Err(unknown(content, &format!("journal.{key}"), id))
            }
        };
        for id in &self.rotation {
            known("rotation", id)?;
        }
        if !self.strength_program.is_empty() {
            known("strength_program", &self.strength_program)?;
        }
        Ok(())
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules::from_config(&config::Journal::default())
    }
}

/// Why today's program cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdaptError {
    #[error(
        "{key}: unknown program `{id}`\n  available: {available}{}",
        crate::fix::Line(self)
    )]
    UnknownProgram {
        key: String,
        id: String,
        available: String,
    },
    #[error("journal.{key} = {value}: {problem}{}", crate::fix::Line(self))]
    BadSetting {
        key: String,
        value: String,
        problem: String,
        fix: String,
    },
    #[error(
        "program `{program}`: every exercise rests after pain today ({resting}){}",
        crate::fix::Line(self)
    )]
    NothingLeft {
        program: String,
        resting: String,
        sessions: u32,
    },
    #[error("a max test needs the strength program `{program}`, which has no startgetal exercise left to test today{}", crate::fix::Line(self))]
    NothingToTest { program: String },
    #[error(
        "program `{program}`: every exercise has had its daily maximum today ({exercises}){}",
        crate::fix::Line(self)
    )]
    AllDoneToday { program: String, exercises: String },
    #[error("program `{program}` is for the third week after back surgery and later (003: exercises 1 to 3 straight after the operation, 4 and later from week 3), and no surgery date is set{}", crate::fix::Line(self))]
    NoSurgeryDate { program: String },
    #[error("program `{program}` is for the third week after back surgery and later (003: exercises 1 to 3 straight after the operation, 4 and later from week 3); the operation was on {surgery}, so {today} is {when}, and it may start on {from}{}", crate::fix::Line(self))]
    TooSoonAfterSurgery {
        program: String,
        surgery: Date,
        today: Date,
        when: String,
        from: Date,
    },
}

impl crate::fix::Fix for AdaptError {
    fn fix(&self) -> Option<String> {
        match self {
            AdaptError::UnknownProgram { .. } => Some("use one of these ids (see `matcoach programs`), or \"auto\"".into()),
            AdaptError::BadSetting { fix, .. } => Some(fix.clone()),
            AdaptError::NothingLeft { sessions, .. } => Some(format!("choose another program (see `matcoach programs`), or wait: each comes back after {sessions} sessions without pain. If the pain stays, talk to your physiotherapist.")),
            AdaptError::NothingToTest { .. } => Some("set journal.strength_program to a program with startgetal exercises (sr_warmup_and_strength), or try again once no exercise rests after pain".into()),
            AdaptError::AllDoneToday { .. } => Some("come back tomorrow, or choose another program (see `matcoach programs`); the brochures give how often a day each exercise is meant".into()),
            AdaptError::NoSurgeryDate { .. } => Some("set surgery_date = \"YYYY-MM-DD\" (the day of the operation) in the [coach] section of the config; until then, baov_day_one holds the exercises allowed from the first day".into()),
            AdaptError::TooSoonAfterSurgery { .. } => Some("until then do baov_day_one (the exercises allowed from the first day); if the date is wrong, correct coach.surgery_date in the config".into()),
        }
    }
}

impl AdaptError {
    /// The program is not for today, but `auto` may pick another one.
    fn try_another(&self) -> bool {
        matches!(
            self,
            AdaptError::NothingLeft { .. }
                | AdaptError::NothingToTest { .. }
                | AdaptError::AllDoneToday { .. }
                | AdaptError::NoSurgeryDate { .. }
                | AdaptError::TooSoonAfterSurgery { .. }
        )
    }

    /// What the coach says when it will not start today's program (the Pi
    /// has no screen): after back surgery too soon or without a date, or
    /// every exercise done as often as it is meant for today.
    pub fn spoken(
        &self,
        phrases: &crate::content::Phrases,
        lang: crate::content::Lang,
    ) -> Option<crate::session::Line> {
        if let Some(r) = self.surgery_refusal() {
            return Some(r.line(phrases, lang));
        }
        match self {
            AdaptError::AllDoneToday { .. } => Some(crate::session::Line {
                id: crate::session::PhraseId("sys.all_done_today".into()),
                text: phrases.all_done_today.get(lang).to_string(),
            }),
            _ => None,
        }
    }

    /// Refused because of the operation's date: what the coach says.
    pub fn surgery_refusal(&self) -> Option<SurgeryRefusal> {
        match self {
            AdaptError::NoSurgeryDate { .. } => Some(SurgeryRefusal::NoDate),
            AdaptError::TooSoonAfterSurgery { .. } => Some(SurgeryRefusal::TooSoon),
            _ => None,
        }
    }
}

/// Why a program after back surgery is refused (the daemon says it: the
/// Pi has no screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurgeryRefusal {
    /// No `coach.surgery_date`.
    NoDate,
    /// Before the third week after the operation.
    TooSoon,
}

impl SurgeryRefusal {
    /// The spoken line (phrases `surgery_date_missing`, `surgery_too_soon`).
    pub fn line(
        self,
        phrases: &crate::content::Phrases,
        lang: crate::content::Lang,
    ) -> crate::session::Line {
        let (key, t) = match self {
            SurgeryRefusal::NoDate => ("surgery_date_missing", &phrases.surgery_date_missing),
            SurgeryRefusal::TooSoon => ("surgery_too_soon", &phrases.surgery_too_soon),
        };
        crate::session::Line {
            id: crate::session::PhraseId(format!("sys.{key}")),
            text: t.get(lang).to_string(),
        }
    }
}

/// The programs that hold BAOV exercises 4 and later (003: only from the
/// third week after the operation): any exercise `baov_NN_…` with NN ≥ 4.
pub fn needs_week_three(program: &Program) -> bool {
    program.items.iter().any(|i| {
        i.exercise
            .get_ref()
            .strip_prefix("baov_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= 4)
    })
}

/// The first day of the third week after an operation on `surgery`.
pub fn week_three(surgery: Date) -> Date {
    surgery.add_days(14)
}

/// Whether `program` may be done on `date` after an operation on
/// `surgery` (see [`needs_week_three`]).
pub fn surgery_gate(
    program: &Program,
    surgery: Option<Date>,
    date: Date,
) -> Result<(), AdaptError> {
    if !needs_week_three(program) {
        return Ok(());
    }
    let Some(surgery) = surgery else {
        return Err(AdaptError::NoSurgeryDate {
            program: program.id().to_string(),
        });
    };
    let from = week_three(surgery);
    if date >= from {
        return Ok(());
    }
    let days = date.since(surgery);
    let when = if days < 0 {
        "before the operation".to_string()
    } else {
        format!("day {} after it (week {})", days, days / 7 + 1)
    };
    Err(AdaptError::TooSoonAfterSurgery {
        program: program.id().to_string(),
        surgery,
        today: date,
        when,
        from,
    })
}

fn unknown(content: &Content, key: &str, id: &str) -> AdaptError {
    AdaptError::UnknownProgram {
        key: key.to_string(),
        id: id.to_string(),
        available: content.program_ids().join(", "),
    }
}

/// An exercise resting after pain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rest {
    pub exercise: String,
    /// The day it last hurt, and in which session.
    pub since: Date,
    pub session: i64,
    /// Sessions without pain still needed before it comes back.
    pub sessions_left: u32,
}

/// The exercises resting today: each that hurt in a session after which
/// fewer than `pain_free_sessions` pain-free sessions followed. Pain that
/// stayed central (the McKenzie pain rule's answer "it stays in my back")
/// does not rest the exercise: 003 says a slight rise of back pain at first
/// is to be tolerated. Pain that spread, or was not answered, rests it.
pub fn resting(history: &History, pain_free_sessions: u32) -> BTreeMap<String, Rest> {
    let mut last_pain: BTreeMap<String, usize> = BTreeMap::new();
    for (i, s) in history.sessions.iter().enumerate() {
        for p in s.pains.iter().filter(|p| !p.central()) {
            if let Some(x) = &p.exercise {
                last_pain.insert(x.clone(), i);
            }
        }
    }
    let mut out = BTreeMap::new();
    for (exercise, i) in last_pain {
        let free = history.sessions[i + 1..]
            .iter()
            .filter(|s| s.pain_free())
            .count() as u32;
        if free < pain_free_sessions {
            let s = &history.sessions[i];
            out.insert(
                exercise.clone(),
                Rest {
                    exercise,
                    since: s.day,
                    session: s.id,
                    sessions_left: pain_free_sessions - free,
                },
            );
        }
    }
    out
}

/// The latest tested maximum per exercise.
pub fn maxima(history: &History) -> HashMap<String, u32> {
    history
        .maxima
        .values()
        .map(|m| (m.exercise.clone(), m.max_reps))
        .collect()
}

/// The marker in a [`LeftOut::reason`] for an exercise that has had its
/// daily maximum (the coach says so in the first session where it is).
pub const DAILY_MAX: &str = "its daily maximum";

/// How often a day `dose` allows the exercise: `times_per_day_max`, else
/// `times_per_day` (none: no daily limit).
pub fn daily_max(dose: &Dose) -> Option<u32> {
    dose.times_per_day_max
        .or(dose.times_per_day)
        .map(NonZeroU32::get)
}

/// How many sessions on `date` did each exercise (done, not only begun).
pub fn done_on(history: &History, date: Date) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for s in history.sessions.iter().filter(|s| s.day == date) {
        let done: BTreeSet<&str> = s
            .exercises
            .iter()
            .filter(|e| e.status == ExerciseStatus::Done)
            .map(|e| e.exercise.as_str())
            .collect();
        for x in done {
            *out.entry(x.to_string()).or_insert(0) += 1;
        }
    }
    out
}

/// An exercise that has had its daily maximum on the day planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spent {
    pub done: u32,
    pub max: u32,
}

/// The exercises of `program` that have had their daily maximum on `date`
/// (the dose as the program gives it).
pub fn spent_today(
    content: &Content,
    program: &Program,
    history: &History,
    date: Date,
) -> BTreeMap<String, Spent> {
    let done = done_on(history, date);
    program
        .items
        .iter()
        .filter_map(|item| {
            let id = item.exercise.get_ref();
            let ex = content.exercise(id)?;
            let max = daily_max(&item.dose.over(&ex.dose))?;
            let n = done.get(id).copied().unwrap_or(0);
            (n >= max).then(|| (id.clone(), Spent { done: n, max }))
        })
        .collect()
}

/// What the journal knows of the user, for [`crate::session::compile`]
/// ([`Personal`]): tested maxima, whether this is the first use, how often
/// each program was done, and the exercises to say are left out for the
/// rest of the day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub maxima: HashMap<String, u32>,
    /// The journal holds no session yet.
    pub first_use: bool,
    /// Sessions per program in the journal.
    pub sessions: HashMap<String, u32>,
    /// Left out of today's session for their daily maximum, and not said
    /// yet today.
    pub daily_max_reached: Vec<String>,
}

impl Facts {
    /// The facts of `history` (whole: the counts are over all of it).
    pub fn of(history: &History) -> Facts {
        let mut sessions = HashMap::new();
        for s in &history.sessions {
            *sessions.entry(s.program.clone()).or_insert(0) += 1;
        }
        Facts {
            maxima: maxima(history),
            first_use: history.sessions.is_empty(),
            sessions,
            daily_max_reached: Vec::new(),
        }
    }
}

impl Personal for Facts {
    fn max_reps(&self, exercise: &str) -> Option<u32> {
        self.maxima.get(exercise).copied()
    }

    fn first_use(&self) -> bool {
        self.first_use
    }

    fn sessions_of(&self, program: &str) -> Option<u32> {
        Some(self.sessions.get(program).copied().unwrap_or(0))
    }

    fn daily_max_reached(&self) -> Vec<String> {
        self.daily_max_reached.clone()
    }
}

/// The startgetal: a third of the maximum, at least one (004).
pub fn startgetal(max: u32) -> u32 {
    (max / 3).max(1)
}

/// The exercises of `program` whose dose follows the startgetal.
pub fn startgetal_exercises(content: &Content, program: &Program) -> Vec<String> {
    program
        .items
        .iter()
        .filter_map(|item| {
            let ex = content.exercise(item.exercise.get_ref())?;
            (item.dose.over(&ex.dose).startgetal == Some(true)).then(|| ex.id().to_string())
        })
        .collect()
}

/// Today's program, ready for `compile`, and what the journal should know.
#[derive(Debug, Clone)]
pub struct Today {
    pub date: Date,
    pub program: Program,
    pub kind: SessionKind,
    /// Why this program today (for the journal and the user).
    pub why: String,
    pub left_out: Vec<LeftOut>,
    /// In a max test, the exercises it measures.
    pub tested: Vec<String>,
    /// Tested maxima, for `Personal::max_reps`.
    pub maxima: HashMap<String, u32>,
    /// What the journal knows, for `compile` (the maxima among it).
    pub facts: Facts,
    /// The clock it was planned by, for the journal (the shell sets it).
    pub clock: Option<crate::journal::ClockNote>,
}

impl Today {
    /// For [`crate::journal::JournalStore::begin`].
    pub fn note(&self, source: Source) -> PlanNote {
        PlanNote {
            kind: self.kind,
            source,
            note: self.why.clone(),
            left_out: self.left_out.clone(),
            tested: self.tested.clone(),
            clock: self.clock.clone(),
        }
    }

    /// An input as the session should see it: in a max test "stop" means
    /// "that was my last one", i.e. "next" (which ends the set and records
    /// the reps done).
    pub fn input(&self, input: Input) -> Input {
        match (self.kind, input) {
            (SessionKind::MaxTest, Input::Heard(Command::Stop)) => Input::Heard(Command::Next),
            _ => input,
        }
    }

    /// The same for scripted events (`matcoach sim`).
    pub fn events(&self, events: &[ScriptedEvent]) -> Vec<ScriptedEvent> {
        events
            .iter()
            .map(|e| match (self.kind, e.what) {
                (SessionKind::MaxTest, UserAction::Heard(Command::Stop)) => ScriptedEvent {
                    at: e.at,
                    what: UserAction::Heard(Command::Next),
                },
                _ => e.clone(),
            })
            .collect()
    }

    /// The plan as one JSON object (`matcoach sim` prints it first).
    pub fn to_json(&self) -> Value {
        let startgetal: BTreeMap<&String, u32> = self
            .maxima
            .iter()
            .map(|(k, v)| (k, startgetal(*v)))
            .collect();
        json!({
            "t_ms": 0,
            "action": "plan",
            "date": self.date,
            "program": self.program.id(),
            "kind": self.kind,
            "why": self.why,
            "exercises": self.program.items.iter().map(|i| i.exercise.get_ref()).collect::<Vec<_>>(),
            "left_out": self.left_out,
            "tested": self.tested,
            "startgetal": startgetal,
        })
    }
}

/// What to do today: `requested` is a program id, [`AUTO`] or [`MAX_TEST`].
pub fn plan(
    content: &Content,
    rules: &Rules,
    history: &History,
    date: Date,
    requested: &str,
) -> Result<Today, AdaptError> {
    let rest = resting(history, rules.pain_free_sessions.max(1));
    let maxima = maxima(history);
    let facts = Facts::of(history);
    // Left out for the daily maximum in an earlier session today: said then.
    let said_today: BTreeSet<&str> = history
        .sessions
        .iter()
        .filter(|s| s.day == date)
        .flat_map(|s| s.left_out())
        .filter(|x| x.reason.as_deref().is_some_and(|r| r.contains(DAILY_MAX)))
        .map(|x| x.exercise.as_str())
        .collect();
    let build = |choice: &Choice| -> Result<Today, AdaptError> {
        let (base, kind, tested) = match &choice.what {
            What::Program(id) => {
                let p = content
                    .program(id)
                    .ok_or_else(|| unknown(content, &choice.key, id))?;
                surgery_gate(p, rules.surgery_date, date)?;
                (p.clone(), SessionKind::Session, Vec::new())
            }
            What::MaxTest(which) => {
                let strength = content.program(&rules.strength_program).ok_or_else(|| {
                    unknown(content, "journal.strength_program", &rules.strength_program)
                })?;
                let which: Vec<String> = which
                    .iter()
                    .filter(|x| !rest.contains_key(*x))
                    .cloned()
                    .collect();
                if which.is_empty() {
                    return Err(AdaptError::NothingToTest {
                        program: strength.id().to_string(),
                    });
                }
                (
                    max_test_program(content, strength, &which),
                    SessionKind::MaxTest,
                    which,
                )
            }
        };
        let spent = spent_today(content, &base, history, date);
        let (program, left_out) =
            adjust_for_today(content, &base, &rest, &spent, rules.pain_free_sessions)?;
        let tested = tested
            .into_iter()
            .filter(|x| program.items.iter().any(|i| i.exercise.get_ref() == x))
            .collect();
        let mut facts = facts.clone();
        facts.daily_max_reached = left_out
            .iter()
            .filter(|l| spent.contains_key(&l.exercise) && l.reason.contains(DAILY_MAX))
            .filter(|l| !said_today.contains(l.exercise.as_str()))
            .map(|l| l.exercise.clone())
            .collect();
        Ok(Today {
            date,
            program,
            kind,
            why: choice.why.clone(),
            left_out,
            tested,
            maxima: maxima.clone(),
            facts,
            clock: None,
        })
    };
    let choices = match requested {
        AUTO => {
            rules.check(content)?;
            choose(content, rules, history, date)?
        }
        MAX_TEST => {
            let strength = content.program(&rules.strength_program).ok_or_else(|| {
                unknown(content, "journal.strength_program", &rules.strength_program)
            })?;
            vec![Choice {
                what: What::MaxTest(startgetal_exercises(content, strength)),
                why: "max test, as asked (004: your maximum per exercise; a third of it is your startgetal)".into(),
                key: "program".into(),
            }]
        }
        id => vec![Choice {
            what: What::Program(id.to_string()),
            why: "as asked".into(),
            key: "program".into(),
        }],
    };
    let mut first_err = None;
    for choice in &choices {
        match build(choice) {
            Ok(t) => return Ok(t),
            Err(e) if e.try_another() => {
                first_err.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(first_err.unwrap_or_else(|| unknown(content, "program", requested)))
}

#[derive(Debug, Clone)]
enum What {
    Program(String),
    /// The max test of these exercises.
    MaxTest(Vec<String>),
}

#[derive(Debug, Clone)]
struct Choice {
    what: What,
    why: String,
    /// Where the program was named, for messages.
    key: String,
}

/// The programs `auto` would run on `date`, best first (the next one is
/// taken when everything of one rests after pain).
fn choose(
    content: &Content,
    rules: &Rules,
    history: &History,
    date: Date,
) -> Result<Vec<Choice>, AdaptError> {
    if let Some(phase) = history.current_phase() {
        let p = phase_program(content, phase).ok_or_else(|| {
            unknown(
                content,
                "the McKenzie phase",
                &format!("mckenzie_{}", phase.name()),
            )
        })?;
        let since = history.phase.as_ref().map(|p| p.since.date());
        return Ok(vec![Choice {
            what: What::Program(p.id().to_string()),
            why: format!(
                "McKenzie phase: {}{} (003; `matcoach phase next` once you feel clearly better{})",
                phase.name(),
                since.map(|d| format!(", since {d}")).unwrap_or_default(),
                since
                    .and_then(|d| earliest_offer(rules, phase, d))
                    .map(|d| format!("; the coach asks about moving on from {d}"))
                    .unwrap_or_default()
            ),
            key: "the McKenzie phase".into(),
        }]);
    }
    let past: Vec<&SessionInfo> = history
        .sessions
        .iter()
        .filter(|s| s.practised() && s.day <= date)
        .collect();
    let strength = &rules.strength_program;
    let is_strength = |s: &SessionInfo| {
        s.kind == SessionKind::MaxTest || (!strength.is_empty() && &s.program == strength)
    };
    let strength_days: BTreeSet<Date> = past
        .iter()
        .filter(|s| is_strength(s))
        .map(|s| s.day)
        .collect();
    let week: usize = strength_days.range(date.add_days(-6)..date).count();
    let started_before = past.iter().any(|s| s.day < date);
    let rested = !strength_days.contains(&date) && !strength_days.contains(&date.add_days(-1));
    let mut choices = Vec::new();
    if !strength.is_empty()
        && started_before
        && rested
        && (week as u32) < rules.strength_days_per_week
    {
        let why = format!(
            "strength day: {week} in the last six days, none yesterday (004: two to three times a week, after the warm-up)"
        );
        if let Some(p) = content.program(strength) {
            let all = startgetal_exercises(content, p);
            let untested: Vec<String> = all
                .iter()
                .filter(|x| !history.maxima.contains_key(*x))
                .cloned()
                .collect();
            if history.max_test_requested.is_some() && !all.is_empty() {
                choices.push(Choice {
                    what: What::MaxTest(all),
                    why: format!("{why}; a max test, as asked with `matcoach calibrate --next`"),
                    key: "journal.strength_program".into(),
                });
            } else if !untested.is_empty() {
                choices.push(Choice {
                    what: What::MaxTest(untested),
                    why: format!(
                        "{why}; first a max test (004: determine your maximum first; a third of it is your startgetal)"
                    ),
                    key: "journal.strength_program".into(),
                });
            }
        }
        choices.push(Choice {
            what: What::Program(strength.clone()),
            why,
            key: "journal.strength_program".into(),
        });
    }
    // Mobility: least recently done first; the last session's program last.
    let last_program = past.last().map(|s| s.program.as_str());
    // By the session sequence, not the wall clock (which may have jumped).
    type Last = Option<(i64, Date)>;
    let mut order: Vec<(bool, Last, usize, &String)> = rules
        .rotation
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let last = past
                .iter()
                .filter(|s| &s.program == id)
                .map(|s| (s.seq, s.day))
                .max();
            (last_program == Some(id.as_str()), last, i, id)
        })
        .collect();
    order.sort();
    for (_, last, _, id) in order {
        let why = match last {
            None => "mobility day: the next program of the rotation, not done before (002: different exercises on different days)".to_string(),
            Some((_, day)) => format!(
                "mobility day: the rotation's least recently done program, last on {day} (002: different exercises on different days)"
            ),
        };
        choices.push(Choice {
            what: What::Program(id.clone()),
            why,
            key: "journal.rotation".into(),
        });
    }
    Ok(choices)
}

fn text(en: &str, nl: &str) -> Option<Text> {
    serde_json::from_value(json!({ "en": en, "nl": nl })).ok()
}

/// The max test: the strength program's warm-up, then each exercise of
/// `which` once, as many repetitions as the user can (up to
/// [`MAX_TEST_REPS`]), counted but not cut to the startgetal. The other
/// startgetal exercises are left out (they are tested already).
pub fn max_test_program(content: &Content, strength: &Program, which: &[String]) -> Program {
    let items = strength
        .items
        .iter()
        .filter_map(|item| {
            let id = item.exercise.get_ref();
            let ex = content.exercise(id)?;
            let startgetal = item.dose.over(&ex.dose).startgetal == Some(true);
            if !startgetal {
                return Some(item.clone());
            }
            which.iter().any(|w| w == id).then(|| ProgramItem {
                exercise: item.exercise.clone(),
                dose: Dose {
                    reps: NonZeroU32::new(MAX_TEST_REPS),
                    reps_max: None,
                    sets: NonZeroU32::new(1),
                    startgetal: Some(false),
                    ..item.dose.clone()
                },
            })
        })
        .collect();
    let name = text(
        "Max test: do each strength exercise as many times as you can, and say stop after your last one",
        "Maximumtest: doe elke krachtoefening zo vaak als je kunt, en zeg stop na de laatste",
    );
    let description = text(
        "The warm-up, then each strength exercise once, as many times as you can. Say stop after your last repetition: that number is your maximum, and a third of it your start number from now on (004).",
        "De warming-up, daarna elke krachtoefening één keer, zo vaak als je kunt. Zeg stop na je laatste herhaling: dat aantal is je maximum, en een derde daarvan voortaan je startgetal (004).",
    );
    Program {
        id: Spanned::new(0..0, MAX_TEST.to_string()),
        sources: strength.sources.clone(),
        name: name.unwrap_or_else(|| strength.name.clone()),
        description: description.unwrap_or_else(|| strength.description.clone()),
        phase: None,
        times_per_day: None,
        times_per_day_max: None,
        condition: None,
        items,
        pain_rule: strength.pain_rule,
        preconditions: strength.preconditions.clone(),
    }
}

/// `program` without the resting exercises (or with their easier variants),
/// and still valid: partners of resting exercises and strength work without
/// a warm-up are left out too.
pub fn adjust(
    content: &Content,
    program: &Program,
    rest: &BTreeMap<String, Rest>,
    pain_free_sessions: u32,
) -> Result<(Program, Vec<LeftOut>), AdaptError> {
    adjust_for_today(content, program, rest, &BTreeMap::new(), pain_free_sessions)
}

/// [`adjust`], and without the exercises that have had their daily maximum
/// today (`spent`; 003: e.g. the sitting exercise three times a day in
/// programs done six to eight times a day).
pub fn adjust_for_today(
    content: &Content,
    program: &Program,
    rest: &BTreeMap<String, Rest>,
    spent: &BTreeMap<String, Spent>,
    pain_free_sessions: u32,
) -> Result<(Program, Vec<LeftOut>), AdaptError> {
    let present: BTreeSet<&str> = program
        .items
        .iter()
        .map(|i| i.exercise.get_ref().as_str())
        .collect();
    let mut items: Vec<ProgramItem> = Vec::new();
    let mut left: Vec<LeftOut> = Vec::new();
    for item in &program.items {
        let id = item.exercise.get_ref();
        if let Some(sp) = spent.get(id) {
            left.push(LeftOut {
                exercise: id.clone(),
                reason: format!(
                    "done {} time{} today, {DAILY_MAX} ({} a day); it comes back tomorrow",
                    sp.done,
                    if sp.done == 1 { "" } else { "s" },
                    sp.max
                ),
                replaced_by: None,
            });
            continue;
        }
        let Some(r) = rest.get(id) else {
            items.push(item.clone());
            continue;
        };
        let why = format!(
            "it hurt on {} (session {}); it comes back after {} more session{} without pain",
            r.since,
            r.session,
            r.sessions_left,
            if r.sessions_left == 1 { "" } else { "s" }
        );
        let easier = content
            .exercise(id)
            .and_then(|e| e.easier.as_ref())
            .map(|e| e.get_ref().clone());
        match easier {
            Some(e)
                if !rest.contains_key(&e)
                    && !present.contains(e.as_str())
                    && content.exercise(&e).is_some()
                    && !items.iter().any(|i| i.exercise.get_ref() == &e) =>
            {
                items.push(ProgramItem {
                    exercise: Spanned::new(0..0, e.clone()),
                    dose: Dose::default(),
                });
                left.push(LeftOut {
                    exercise: id.clone(),
                    reason: format!("{why}; the easier {e} instead"),
                    replaced_by: Some(e),
                });
            }
            Some(e) => {
                let because = if rest.contains_key(&e) {
                    "rests too"
                } else {
                    "is in today's program already"
                };
                left.push(LeftOut {
                    exercise: id.clone(),
                    reason: format!("{why}; its easier variant {e} {because}"),
                    replaced_by: None,
                });
            }
            None => left.push(LeftOut {
                exercise: id.clone(),
                reason: why,
                replaced_by: None,
            }),
        }
    }
    // Keep the rules the content was checked against at load.
    'fix: loop {
        let mut warmed_up = false;
        for i in 0..items.len() {
            let id = items[i].exercise.get_ref().clone();
            let Some(ex) = content.exercise(&id) else {
                continue;
            };
            if let Some(partner) = &ex.always_followed_by {
                let next = items.get(i + 1).map(|n| n.exercise.get_ref());
                if next != Some(partner.get_ref()) {
                    items.remove(i);
                    left.push(LeftOut {
                        exercise: id,
                        reason: format!(
                            "it must always be followed by {}, which is left out today",
                            partner.get_ref()
                        ),
                        replaced_by: None,
                    });
                    continue 'fix;
                }
            }
            if ex.category == Category::Strengthening && !warmed_up {
                items.remove(i);
                left.push(LeftOut {
                    exercise: id,
                    reason: "strength work needs a warm-up before it, and today's is left out"
                        .into(),
                    replaced_by: None,
                });
                continue 'fix;
            }
            warmed_up |= ex.category.is_warm_up();
        }
        break;
    }
    let none_rests = !program
        .items
        .iter()
        .any(|i| rest.contains_key(i.exercise.get_ref()));
    if items.is_empty() && !spent.is_empty() && none_rests {
        return Err(AdaptError::AllDoneToday {
            program: program.id().to_string(),
            exercises: left
                .iter()
                .map(|l| l.exercise.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    if items.is_empty() {
        return Err(AdaptError::NothingLeft {
            program: program.id().to_string(),
            resting: left
                .iter()
                .map(|l| l.exercise.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            sessions: pain_free_sessions,
        });
    }
    let mut out = program.clone();
    out.items = items;
    Ok((out, left))
}

// ---- McKenzie phases ---------------------------------------------------

pub fn next_phase(p: Phase) -> Option<Phase> {
    match p {
        Phase::Acute => Some(Phase::Improving),
        Phase::Improving => Some(Phase::Stiff),
        Phase::Stiff => Some(Phase::Maintenance),
        Phase::Maintenance => None,
    }
}

pub fn previous_phase(p: Phase) -> Option<Phase> {
    match p {
        Phase::Acute => None,
        Phase::Improving => Some(Phase::Acute),
        Phase::Stiff => Some(Phase::Improving),
        Phase::Maintenance => Some(Phase::Stiff),
    }
}

/// The program of a McKenzie phase (the content's `phase = …`).
pub fn phase_program(content: &Content, phase: Phase) -> Option<&Program> {
    content
        .programs
        .iter()
        .map(|d| &d.value)
        .find(|p| p.phase == Some(phase))
}

/// Why the phase cannot change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhaseError {
    #[error("you are not following the McKenzie program{}", crate::fix::Line(self))]
    NotStarted,
    #[error(
        "you are in the last McKenzie phase (maintenance) already{}",
        crate::fix::Line(self)
    )]
    AtLast,
    #[error(
        "you are in the first McKenzie phase (acute) already{}",
        crate::fix::Line(self)
    )]
    AtFirst,
    #[error(
        "not advancing: your last session ({day}, {program}) had pain{during}{}",
        crate::fix::Line(self)
    )]
    AfterPain {
        day: Date,
        program: String,
        during: String,
    },
}

impl crate::fix::Fix for PhaseError {
    fn fix(&self) -> Option<String> {
        match self {
            PhaseError::NotStarted => Some("`matcoach phase start` begins with the acute phase (003: only once you can lie on your belly comfortably)".into()),
            PhaseError::AtLast => Some("nothing to advance: keep the maintenance exercises as a daily habit (003)".into()),
            PhaseError::AtFirst => Some("nothing to go back to; `matcoach phase stop` ends the McKenzie program".into()),
            PhaseError::AfterPain { .. } => Some("003 moves on only once you feel clearly better; do a session without pain first, then `matcoach phase next` again. If the pain stays or spreads below the knee, see a (manual) therapist".into()),
        }
    }
}

/// The phase `matcoach phase next` would move to, or why it may not: never
/// from no phase, past maintenance, or when the last session had pain
/// (pain that stayed central in the back does not count: 003 tolerates it).
pub fn may_advance(history: &History) -> Result<Phase, PhaseError> {
    let current = history.current_phase().ok_or(PhaseError::NotStarted)?;
    let next = next_phase(current).ok_or(PhaseError::AtLast)?;
    if let Some(last) = history.sessions.last() {
        let pains: Vec<_> = last.pains.iter().filter(|p| !p.central()).collect();
        if !pains.is_empty() {
            let during: Vec<String> = pains.iter().filter_map(|p| p.exercise.clone()).collect();
            return Err(PhaseError::AfterPain {
                day: last.day,
                program: last.program.clone(),
                during: if during.is_empty() {
                    String::new()
                } else {
                    format!(" (during {})", during.join(", "))
                },
            });
        }
    }
    Ok(next)
}

/// The first day the coach may offer to move on from `phase`, begun on
/// `since` (see [`phase_offer`]; later when pain intervenes).
pub fn earliest_offer(rules: &Rules, phase: Phase, since: Date) -> Option<Date> {
    let days = match phase {
        Phase::Acute => rules.acute_days,
        Phase::Improving => rules.pain_free_days,
        Phase::Stiff => rules.stiff_days,
        Phase::Maintenance => return None,
    };
    Some(since.add_days(i64::from(days)))
}

/// Pain reported in the `days` days up to `date` (`date` and the days
/// before it): (any pain, pain that did not stay central).
fn pain_within(history: &History, date: Date, days: u32) -> (bool, bool) {
    let from = date.add_days(1 - i64::from(days.max(1)));
    let pains = history
        .sessions
        .iter()
        .filter(|s| s.day >= from && s.day <= date)
        .flat_map(|s| s.pains.iter());
    let mut any = false;
    let mut spreading = false;
    for p in pains {
        any = true;
        spreading |= !p.central();
    }
    (any, spreading)
}

/// Whether to offer the next McKenzie phase at the end of today's session
/// (the session makes the offer only if it goes well: completed, no pain),
/// on the brochure's clock (003), in days from the journal, at most once a
/// day, only in the current phase's program and never after pain in the
/// last session ([`may_advance`]):
/// - **acute → improving** once `acute_days` days of the phase have
///   passed ("a day or two after starting, once you feel clearly better":
///   the user answers that), with no pain that spread in those days (pain
///   that stayed central is what the acute phase expects);
/// - **improving → stiff, or maintenance** after `pain_free_days` days in
///   the phase with no pain at all in the last `pain_free_days` days ("about
///   two weeks pain-free"; central pain counts here: pain-free means none),
///   or after `plateau_days` days with only central pain in that window (the
///   plateau: "after two to three weeks only a little pain in the middle of
///   the low back"). The stiff phase is only for people who are still stiff,
///   so it is a question ("still stiff when you bend forward?"); when the
///   last offer in this phase asked it and the user did not press, the next
///   day offers maintenance instead ("bending forward goes freely?"), and so
///   on in turn;
/// - **stiff → maintenance** from `stiff_days` days in the phase on, with
///   no pain that spread in those days: the question is whether the knees
///   come easily to the chest (003: then the stiff phase has done its work).
///
/// A press of the button accepts, as before.
pub fn phase_offer(
    content: &Content,
    rules: &Rules,
    history: &History,
    today: &Today,
) -> Option<PhaseOffer> {
    let current = history.current_phase()?;
    if today.kind != SessionKind::Session || today.program.phase != Some(current) {
        return None;
    }
    may_advance(history).ok()?;
    if history
        .phase_offered
        .is_some_and(|at| at.date() == today.date)
    {
        return None;
    }
    let phase = history.phase.as_ref()?;
    let since = phase.since;
    let in_phase = |s: &SessionInfo| match phase.after_seq {
        Some(after) => s.seq > after,
        None => s.started.ms() >= since.ms(),
    };
    let mut days = today.date.since(since.date());
    if history.untrusted_clock {
        // Counted days may run ahead of real ones (a Pi switched off after
        // every session): the phase's days are also at most its sessions
        // (today's included) over the times a day its program is meant.
        let per_day = today
            .program
            .times_per_day
            .map_or(1, |n| i64::from(n.get()));
        let sessions = history
            .sessions
            .iter()
            .filter(|s| in_phase(s) && s.practised())
            .count() as i64
            + 1;
        days = days.min(sessions / per_day);
    }
    let at_least = |n: u32| days >= i64::from(n);
    let to = match current {
        Phase::Acute => {
            let (_, spreading) = pain_within(history, today.date, rules.acute_days);
            (at_least(rules.acute_days) && !spreading).then_some(Phase::Improving)?
        }
        Phase::Improving => {
            let (any, spreading) = pain_within(history, today.date, rules.pain_free_days);
            let clean = at_least(rules.pain_free_days) && !any;
            let plateau = at_least(rules.plateau_days) && !spreading;
            if !(clean || plateau) {
                return None;
            }
            match history.last_offer {
                Some(o)
                    if o.from == Phase::Improving
                        && o.to == Phase::Stiff
                        && o.at.ms() >= since.ms() =>
                {
                    Phase::Maintenance
                }
                _ => Phase::Stiff,
            }
        }
        Phase::Stiff => {
            let (_, spreading) = pain_within(history, today.date, rules.stiff_days);
            (at_least(rules.stiff_days) && !spreading).then_some(Phase::Maintenance)?
        }
        Phase::Maintenance => return None,
    };
    // Sessions in a row without pain in this phase, today's included (for
    // the journal's record of the offer).
    let mut before = 0u32;
    for s in history.sessions.iter().rev() {
        if !in_phase(s) || !s.pains.is_empty() {
            break;
        }
        if s.pain_free() {
            before += 1;
        }
    }
    Some(PhaseOffer {
        from: current,
        to,
        to_name: phase_program(content, to)?.name.clone(),
        pain_free_sessions: before + 1,
    })
}

/// The phase `matcoach phase back` moves to (always allowed: going back is
/// what 003 advises when the pain returns).
pub fn may_go_back(history: &History) -> Result<Phase, PhaseError> {
    let current = history.current_phase().ok_or(PhaseError::NotStarted)?;
    let earlier = |p: Phase| phase_rank(p) < phase_rank(current);
    match history.phase.as_ref().and_then(|p| p.came_from) {
        // Back to where the user came from when that was an earlier phase
        // (maintenance reached from improving goes back to improving).
        Some(p) if earlier(p) => Ok(p),
        _ => previous_phase(current).ok_or(PhaseError::AtFirst),
    }
}

/// The order of the phases: acute first.
fn phase_rank(p: Phase) -> u8 {
    match p {
        Phase::Acute => 0,
        Phase::Improving => 1,
        Phase::Stiff => 2,
        Phase::Maintenance => 3,
    }
}
