//! A session's script: the linear list of steps a session walks through,
//! and the types it is made of. Every text is rendered in the session's
//! language, with a stable phrase id, so the session itself only moves a
//! cursor and a clock. Compiling a program into one is in `builder`, the
//! lines said outside the script in `lines`.

mod builder;
mod lines;

pub use builder::{compile, reps_for, time_left_marks};
pub use lines::{all_lines, script_lines, AskLines, FixedLines};

use super::{Cue, Line, Priority, Side};
use crate::content::{Lang, PainRuleName, Posture};
use std::time::Duration;

/// What the coach does in one step.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// Say an instruction, wait until it has been said, then `gap`.
    Say { line: Line, gap: Duration },
    /// Say the get-ready prompt, then wait for "next", the button, or `timeout`.
    GetReady { line: Line, timeout: Duration },
    /// Events on a fixed schedule from the step's start: counts, rests.
    Timed(Timed),
    /// A journal mark; takes no time.
    Mark(Mark),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    ExerciseStarted,
    ExerciseDone,
}

/// One step, with the exercise it belongs to and its group: "next" skips to
/// the first step of the following group.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub exercise: Option<usize>,
    pub group: usize,
    pub kind: StepKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimedKind {
    /// A set of repetitions or a timed position.
    Work {
        set: u32,
        side: Option<Side>,
        reps_planned: u32,
    },
    Rest,
}

/// Something said or played at a fixed offset from the step's start.
#[derive(Debug, Clone, PartialEq)]
pub enum Emit {
    Speak(Line, Priority),
    Cue(Cue),
    /// Repetition n is complete (for the journal; says nothing).
    RepDone(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimedEvent {
    pub at: Duration,
    pub emit: Emit,
}

/// A step whose events are all placed at `start + offset`: nothing is
/// chained, so nothing drifts.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub kind: TimedKind,
    pub events: Vec<TimedEvent>,
    pub length: Duration,
    /// Where a paused step picks up again: the start of the repetition that
    /// was interrupted. Empty: continue from the whole second it paused at.
    pub restart_points: Vec<Duration>,
}

impl Timed {
    /// The offset to continue from after a pause at `elapsed`.
    pub fn resume_offset(&self, elapsed: Duration) -> Duration {
        if self.restart_points.is_empty() {
            Duration::from_secs(elapsed.as_secs()).min(self.length)
        } else {
            self.restart_points
                .iter()
                .copied()
                .filter(|p| *p <= elapsed)
                .max()
                .unwrap_or(Duration::ZERO)
        }
    }
}

/// An exercise as it appears in this session.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptExercise {
    pub id: String,
    pub name: String,
    pub first_step: usize,
    /// What the safety line after pain fits (None: lying on the back).
    pub posture: Option<Posture>,
}

/// A whole session, ready to run.
#[derive(Debug, Clone)]
pub struct Script {
    pub lang: Lang,
    pub program_id: String,
    pub program_name: String,
    pub exercises: Vec<ScriptExercise>,
    pub steps: Vec<Step>,
    /// Estimated length with no interruptions.
    pub estimated: Duration,
    /// The program's pain rule (None: any pain ends the exercise).
    pub pain_rule: Option<PainRuleName>,
}

/// Why a program cannot become a script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error(
        "program `{program}` names exercise `{exercise}`, which is not in the content{}",
        crate::fix::Line(self)
    )]
    UnknownExercise { program: String, exercise: String },
    #[error(
        "program `{program}` has no exercise left to do (advanced ones are left out){}",
        crate::fix::Line(self)
    )]
    Empty { program: String },
}

impl crate::fix::Fix for ScriptError {
    fn fix(&self) -> Option<String> {
        match self {
            ScriptError::UnknownExercise { .. } => Some("run `matcoach check` and correct the program".into()),
            ScriptError::Empty { .. } => Some("choose another program, or set coach.include_advanced = true if your back is strong and stable".into()),
        }
    }
}

/// A rough speaking time for `text`, used for plans and for the simulated
/// speaker: a calm coach says about 13 characters a second.
pub fn estimate_speech(text: &str) -> Duration {
    let chars = text.chars().count() as u64;
    Duration::from_millis(250 + chars * 75)
}

/// Per-user numbers that change a dose: the tested maximum for exercises
/// that use the startgetal (one third of the maximum).
pub trait Personal {
    fn max_reps(&self, exercise: &str) -> Option<u32>;
    /// The journal holds no session yet: the very first use of the coach
    /// (it says the red flags). Without a journal: false.
    fn first_use(&self) -> bool {
        false
    }
    /// How many sessions of `program` the journal holds before today's
    /// (0: today is its first, so its preconditions are said in full).
    /// Without a journal: None (said briefly, as for a known program).
    fn sessions_of(&self, _program: &str) -> Option<u32> {
        None
    }
    /// adapt (issue 13): exercises left out of this session because they
    /// have had their daily maximum, to be said once (the first session of
    /// the day where each is left out). Without a journal: none.
    fn daily_max_reached(&self) -> Vec<String> {
        Vec::new()
    }
}

impl Personal for () {
    fn max_reps(&self, _: &str) -> Option<u32> {
        None
    }
}

impl Personal for std::collections::HashMap<String, u32> {
    fn max_reps(&self, exercise: &str) -> Option<u32> {
        self.get(exercise).copied()
    }
}
