//! The coach's live state as the page shows it, followed from the
//! appliance's actions (the LED, what is said, today's program, the end of
//! a session): the page sees what the LED and the speaker show, nothing
//! the appliance does not already tell its shell.

use crate::appliance::Action;
use crate::session::{JournalEvent, Led};
use serde::Serialize;

/// What the page shows of the coach right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Live {
    /// `starting`, `idle`, `coaching`, `paused`, `fault`, `stopped`, or
    /// `offline` (the page is served without a coach: `matcoach web`).
    pub state: &'static str,
    /// Today's program while coaching.
    pub program: String,
    /// The exercise being coached (its id; empty between exercises).
    pub exercise: String,
    /// The last line said.
    pub saying: String,
    /// The service's status line.
    pub status: String,
}

impl Live {
    pub fn starting() -> Live {
        Live {
            state: "starting",
            program: String::new(),
            exercise: String::new(),
            saying: String::new(),
            status: String::new(),
        }
    }

    pub fn offline() -> Live {
        Live {
            state: "offline",
            ..Live::starting()
        }
    }

    /// Follow one action; whether anything changed.
    pub fn apply(&mut self, action: &Action) -> bool {
        let before = self.clone();
        match action {
            Action::SetLed(led) => {
                self.state = match led {
                    Led::Idle => "idle",
                    Led::Running => "coaching",
                    Led::Paused => "paused",
                    Led::Error => "fault",
                };
                if *led == Led::Idle {
                    self.program.clear();
                    self.exercise.clear();
                }
            }
            Action::Speak { line, .. } => self.saying = line.text.clone(),
            Action::Status(s) => self.status = s.clone(),
            Action::Log(m) => {
                // The appliance's "today: PROGRAM (why)".
                if let Some(rest) = m.strip_prefix("today: ") {
                    self.program = rest.split(" (").next().unwrap_or(rest).to_string();
                }
            }
            Action::Journal {
                event: JournalEvent::ExerciseStarted { exercise },
                ..
            } => self.exercise = exercise.clone(),
            Action::SessionEnded(_) => {
                self.program.clear();
                self.exercise.clear();
            }
            Action::Exit => self.state = "stopped",
            _ => {}
        }
        *self != before
    }

    /// Which page buttons make sense now, as the push button would act:
    /// start when idle, pause while coaching, resume while paused, end
    /// during a session.
    pub fn allows(&self, button: Button) -> bool {
        matches!(
            (button, self.state),
            (Button::Start, "idle")
                | (Button::Pause, "coaching")
                | (Button::Resume, "paused")
                | (Button::End, "coaching" | "paused")
        )
    }
}

/// The page's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Start,
    Pause,
    Resume,
    End,
}

impl Button {
    pub fn parse(s: &str) -> Option<Button> {
        match s {
            "start" => Some(Button::Start),
            "pause" => Some(Button::Pause),
            "resume" => Some(Button::Resume),
            "end" => Some(Button::End),
            _ => None,
        }
    }

    /// A long press ends the session; the others are short presses.
    pub fn long(self) -> bool {
        self == Button::End
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Line, PhraseId, PlaybackId, Priority};

    #[test]
    fn follows_the_led_the_program_and_what_is_said() {
        let mut l = Live::starting();
        let rows: Vec<(Action, &str, &str)> = vec![
            (Action::SetLed(Led::Idle), "idle", ""),
            (
                Action::Log("today: quick (rotation)".into()),
                "idle",
                "quick",
            ),
            (Action::SetLed(Led::Running), "coaching", "quick"),
            (
                Action::Journal {
                    at: std::time::Duration::ZERO,
                    event: JournalEvent::ExerciseStarted {
                        exercise: "cat_camel".into(),
                    },
                },
                "coaching",
                "quick",
            ),
            (Action::SetLed(Led::Paused), "paused", "quick"),
            (
                Action::Speak {
                    id: PlaybackId(1),
                    line: Line {
                        id: PhraseId("x".into()),
                        text: "Lie down".into(),
                    },
                    priority: Priority::Instruction,
                },
                "paused",
                "quick",
            ),
            (Action::SetLed(Led::Error), "fault", "quick"),
            (Action::SetLed(Led::Idle), "idle", ""),
            (Action::Exit, "stopped", ""),
        ];
        for (a, state, program) in rows {
            l.apply(&a);
            assert_eq!((l.state, l.program.as_str()), (state, program), "{a:?}");
            if matches!(a, Action::Journal { .. }) {
                assert_eq!(l.exercise, "cat_camel", "the exercise followed");
            }
        }
        assert_eq!(l.saying, "Lie down");
        assert_eq!(l.exercise, "", "cleared when idle");
        let coaching = Live {
            state: "coaching",
            ..Live::starting()
        };
        assert!(coaching.allows(Button::Pause) && coaching.allows(Button::End));
        assert!(!coaching.allows(Button::Start) && !coaching.allows(Button::Resume));
        assert!(!Live::offline().allows(Button::Start));
    }
}
