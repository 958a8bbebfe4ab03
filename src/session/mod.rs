//! The coach's brain: a pure, deterministic session state machine.
//!
//! It is fed [`Input`]s (past-tense facts) with an explicit `now` and returns
//! [`Action`]s (imperatives). It never reads the clock, sleeps, or touches a
//! device or file; [`Session::next_deadline`] tells the caller when it next
//! wants a [`Input::DeadlineReached`]. That makes whole sessions testable in
//! microseconds of virtual time.

mod machine;
pub mod script;

pub use crate::command::Command;
pub use machine::Session;

/// The reason given when the session ignores a command word because the
/// coach is saying that word itself (the recogniser heard the speaker).
pub const SELF_HEARD: &str = "the coach is saying this word itself";
pub use script::{
    all_lines, compile, estimate_speech, script_lines, FixedLines, Script, ScriptError,
};

use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// Identifies one playback, so that a late "finished" from an old clip is
/// recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PlaybackId(pub u64);

/// A stable name for something the coach says, e.g. `ex.hf_bridge.position`
/// or `sys.count.7`. Recorded clips and the speech cache are keyed by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhraseId(pub String);

impl fmt::Display for PhraseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phrase and its text in the session's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub id: PhraseId,
    pub text: String,
}

/// How a phrase may interrupt or be interrupted by others: safety lines cut
/// anything off; counts never cut off an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Count,
    Instruction,
    Safety,
}

/// Short non-verbal sounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cue {
    Start,
    HoldEnd,
    RestEnd,
    SessionEnd,
}

/// What the LED shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Led {
    Idle,
    Running,
    Paused,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Left,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Completed,
    EndedByUser,
    EndedForPain,
}

/// Where a pain reported in a McKenzie program is (003: a slight rise of
/// pain in the back at first is tolerated; pain that spreads outward, into
/// the buttock or leg, or grows with every repetition ends the exercise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PainLocation {
    /// It stays in the back: the user carries on.
    Central,
    /// It spreads outward or worsens with each repetition: the exercise ends.
    Spreading,
    /// No answer in time (or a second "pain"): treated as spreading.
    Unanswered,
}

/// A device the coach depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Microphone,
    Speaker,
    /// The journal (the disk it is on is read-only, full or gone). Coaching
    /// goes on: the LED shows it, and the coach says so once.
    Journal,
}

/// An offer to move on to the next McKenzie phase at the end of today's
/// session. Whether to make it is the adaptation's decision (see
/// [`crate::adapt::phase_offer`]), taken from the journal before the session
/// starts; the session only makes it when the session itself went well
/// (completed, at least one exercise done, no pain).
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseOffer {
    pub from: crate::content::Phase,
    pub to: crate::content::Phase,
    /// The next phase's name as the coach says it (its program's name).
    pub to_name: crate::content::Text,
    /// Sessions in a row without pain in this phase, today's included.
    pub pain_free_sessions: u32,
}

/// Facts the shell reports to the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    ButtonPressed,
    ButtonReleased,
    Heard(Command),
    PlaybackFinished(PlaybackId),
    DeadlineReached,
    /// A device failed or was unplugged; the shell keeps retrying.
    DeviceLost(DeviceKind),
    /// It works again.
    DeviceBack(DeviceKind),
}

/// What the session records, as it happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JournalEvent {
    SessionStarted {
        program: String,
        lang: String,
    },
    ExerciseStarted {
        exercise: String,
    },
    SetDone {
        exercise: String,
        set: u32,
        side: Option<Side>,
        reps_done: u32,
        reps_planned: u32,
        secs_done: u64,
        complete: bool,
    },
    ExerciseDone {
        exercise: String,
        complete: bool,
    },
    ExerciseSkipped {
        exercise: String,
        reason: String,
    },
    Pain {
        exercise: Option<String>,
        set: Option<u32>,
        side: Option<Side>,
    },
    /// In a program with the McKenzie pain rule: where the pain reported
    /// just before is, as the user answered the coach's question.
    PainLocated {
        exercise: Option<String>,
        location: PainLocation,
    },
    Paused {
        exercise: Option<String>,
    },
    Resumed {
        exercise: Option<String>,
    },
    CommandHeard {
        command: Command,
    },
    CommandIgnored {
        command: Command,
        reason: String,
    },
    DeviceLost {
        device: DeviceKind,
    },
    DeviceBack {
        device: DeviceKind,
    },
    SessionEnded {
        reason: EndReason,
        exercises_done: u32,
        pain_events: u32,
    },
    /// The coach offered the next McKenzie phase.
    PhaseOffered {
        from: crate::content::Phase,
        to: crate::content::Phase,
        pain_free_sessions: u32,
    },
    /// The user accepted with the button: from the next session on, `to`.
    /// The journal records the phase change with this event.
    PhaseAdvanced {
        from: crate::content::Phase,
        to: crate::content::Phase,
    },
    /// The offer was not taken: `reason` is "no answer", "declined" or
    /// "pain".
    PhaseKept {
        phase: crate::content::Phase,
        reason: String,
    },
}

impl JournalEvent {
    /// The exercise the event is about, if any.
    pub fn exercise(&self) -> Option<&str> {
        match self {
            JournalEvent::ExerciseStarted { exercise }
            | JournalEvent::SetDone { exercise, .. }
            | JournalEvent::ExerciseDone { exercise, .. }
            | JournalEvent::ExerciseSkipped { exercise, .. } => Some(exercise),
            JournalEvent::Pain { exercise, .. }
            | JournalEvent::PainLocated { exercise, .. }
            | JournalEvent::Paused { exercise }
            | JournalEvent::Resumed { exercise } => exercise.as_deref(),
            _ => None,
        }
    }
}

/// Imperatives for the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Speak {
        id: PlaybackId,
        line: Line,
        priority: Priority,
    },
    StopSpeech,
    Cue(Cue),
    SetLed(Led),
    Journal(JournalEvent),
    End(EndReason),
}

/// Timing and behaviour settings of a session (from the config).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// How long the get-ready wait lasts before going on by itself.
    pub get_ready: Duration,
    /// Silence after each instruction.
    pub gap: Duration,
    /// Time to turn over between the sides.
    pub switch_sides: Duration,
    /// Rest between sets where the source gives none.
    pub default_rest_secs: u32,
    /// Tempo where the source gives none.
    pub default_up_secs: u32,
    pub default_down_secs: u32,
    /// Holds up to this long are counted every second; longer ones announce
    /// the time left and count down the last five seconds.
    pub count_every_second_up_to: u32,
    /// A press at least this long ends the session.
    pub long_press: Duration,
    /// How long after a phrase ends its echo may still reach the microphone.
    pub echo_tail: Duration,
    /// Include exercises marked advanced.
    pub include_advanced: bool,
    /// How long the button accepts a phase offer once it has been said
    /// (zero: no spoken offers).
    pub phase_offer: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            get_ready: Duration::from_secs(15),
            gap: Duration::from_millis(700),
            switch_sides: Duration::from_secs(5),
            default_rest_secs: 30,
            default_up_secs: 2,
            default_down_secs: 2,
            count_every_second_up_to: 20,
            long_press: Duration::from_secs(2),
            echo_tail: Duration::from_millis(500),
            include_advanced: false,
            phase_offer: Duration::from_secs(15),
        }
    }
}
