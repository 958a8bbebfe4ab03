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
//!
//! One file a rule: `rest` (skip what hurt), `phases` (McKenzie),
//! `daily` (doses per day), `surgery` (after back surgery), `rotation`
//! (the daily rotation) and `max_test` (the startgetal); this file holds
//! the settings, the errors, what the journal knows of the user and
//! [`plan`], which puts the rules together.

mod daily;
mod max_test;
mod phases;
mod rest;
mod rotation;
mod surgery;

pub use daily::{daily_max, done_on, spent_today, Spent, DAILY_MAX};
pub use max_test::{
    max_test_program, maxima, startgetal, startgetal_exercises, MAX_TEST, MAX_TEST_REPS,
};
pub use phases::{
    earliest_offer, may_advance, may_go_back, next_phase, phase_offer, phase_program,
    previous_phase, PhaseError,
};
pub use rest::{adjust, adjust_for_today, resting, Rest};
pub use surgery::{needs_week_three, surgery_gate, week_three, SurgeryRefusal};

use crate::config;
use crate::content::{Content, Program};
use crate::journal::queries::History;
use crate::journal::{Date, LeftOut, PlanNote, SessionKind, Source};
use crate::session::script::Personal;
use crate::session::{Command, Input};
use crate::sim::{ScriptedEvent, UserAction};
use rotation::choose;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The program name that asks for the rotation.
pub const AUTO: &str = "auto";

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
            AdaptError::NothingLeft { sessions, .. } => Some(format!("choose another program (see `matcoach programs`, or on the companion page), or program = \"auto\": each exercise comes back after {sessions} sessions without pain, of any program, so with this program alone it stays resting. If the pain stays, talk to your physiotherapist.")),
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
    /// has no screen): after back surgery too soon or without a date, every
    /// exercise done as often as it is meant for today, or every exercise
    /// resting after pain.
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
            AdaptError::NothingLeft { .. } => Some(crate::session::Line {
                id: crate::session::PhraseId("sys.all_resting".into()),
                text: phrases.all_resting.get(lang).to_string(),
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

fn unknown(content: &Content, key: &str, id: &str) -> AdaptError {
    AdaptError::UnknownProgram {
        key: key.to_string(),
        id: id.to_string(),
        available: content.program_ids().join(", "),
    }
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
