//! What the spoken commands (and their button equivalents) do: next,
//! repeat, pause and resume (pain has its own module).

use super::*;

impl Session {
    pub(super) fn next(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state.clone() {
            State::Step(StepState::Timed { anchor, .. }) => {
                if let Some(t) = self.timed().cloned() {
                    self.finish_timed(&t, now.saturating_duration_since(anchor), false, out);
                }
                self.stop_speech(now, out);
                self.cursor = self.next_group_start();
                self.enter(now, out);
            }
            State::Step(_) => {
                self.stop_speech(now, out);
                self.cursor = self.next_group_start();
                self.enter(now, out);
            }
            State::Interlude { then, .. } => {
                self.stop_speech(now, out);
                self.cursor = then;
                self.enter(now, out);
            }
            State::Paused { resume } | State::Resuming { resume, .. } => {
                // "next" while paused: go on, with the following step.
                self.set_led(out, Led::Running);
                let ex = self.exercise_id(self.exercise_at(resume.cursor));
                self.journal(out, JournalEvent::Resumed { exercise: ex });
                self.stop_speech(now, out);
                self.cursor = resume.cursor;
                if matches!(
                    self.script.steps.get(resume.cursor).map(|s| &s.kind),
                    Some(StepKind::Timed(_))
                ) {
                    if let Some(i) = self.exercise_at(resume.cursor) {
                        self.incomplete[i] = true;
                    }
                }
                self.cursor = self.next_group_start();
                self.enter(now, out);
            }
            State::Idle
            | State::Closing { .. }
            | State::Offering { .. }
            | State::OfferOpen { .. }
            | State::Asking { .. }
            | State::AskOpen { .. }
            | State::Finished => {}
        }
    }

    pub(super) fn repeat(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state.clone() {
            State::Step(StepState::Speaking { gap, .. }) => {
                // Start the current instruction over.
                self.stop_speech(now, out);
                if let Some(line) = self.last_instruction.clone() {
                    let wait = self.instruction(now, line, out);
                    self.state = State::Step(StepState::Speaking { wait, gap });
                }
            }
            State::Step(StepState::GetReadySpeaking { .. })
            | State::Step(StepState::GetReadyWaiting { .. }) => {
                // Waiting for the user: say the starting position again.
                self.stop_speech(now, out);
                let ex = self.exercise_at(self.cursor);
                let position = self.script.steps[..self.cursor]
                    .iter()
                    .rev()
                    .take_while(|s| s.exercise == ex)
                    .find_map(|s| match &s.kind {
                        StepKind::Say { line, .. } if line.id.0.ends_with(".position") => {
                            Some(line.clone())
                        }
                        _ => None,
                    });
                if let Some(line) = position.or_else(|| self.last_instruction.clone()) {
                    let timeout = self.cfg.get_ready;
                    let wait = self.speak(now, line, Priority::Instruction, out);
                    self.state = State::Step(StepState::GetReadySpeaking { wait, timeout });
                }
            }
            State::Step(_) => {
                if let Some(line) = self.last_instruction.clone() {
                    self.speak(now, line, Priority::Instruction, out);
                }
            }
            State::Paused { .. } => {
                let line = self.fixed.paused.clone();
                self.speak(now, line, Priority::Instruction, out);
            }
            _ => {}
        }
    }

    pub(super) fn pause(&mut self, now: Instant, out: &mut Vec<Action>) {
        let resume = match &self.state {
            State::Step(StepState::Timed { anchor, .. }) => {
                let elapsed = now.saturating_duration_since(*anchor);
                let offset = self.timed().map(|t| t.resume_offset(elapsed));
                ResumeAt {
                    cursor: self.cursor,
                    offset,
                }
            }
            State::Interlude { then, .. } => ResumeAt {
                cursor: *then,
                offset: None,
            },
            State::Resuming { resume, .. } => *resume,
            State::Step(StepState::GetReadyWaiting { .. }) => ResumeAt {
                cursor: self.cursor,
                offset: None,
            },
            _ => ResumeAt {
                cursor: self.cursor,
                offset: None,
            },
        };
        self.stop_speech(now, out);
        self.set_led(out, Led::Paused);
        let ex = self.exercise_id(self.exercise_at(resume.cursor));
        self.journal(out, JournalEvent::Paused { exercise: ex });
        let line = self.fixed.paused.clone();
        self.speak(now, line, Priority::Instruction, out);
        self.state = State::Paused { resume };
    }

    pub(super) fn resume(&mut self, now: Instant, out: &mut Vec<Action>) {
        let State::Paused { resume } = self.state else {
            return;
        };
        if self.faults.contains(&DeviceKind::Speaker) {
            // Nothing to hear the coach through: stay paused until it is back.
            out.push(Action::SetLed(Led::Error));
            return;
        }
        self.stop_speech(now, out);
        self.set_led(out, Led::Running);
        let ex = self.exercise_id(self.exercise_at(resume.cursor));
        self.journal(out, JournalEvent::Resumed { exercise: ex });
        let line = self.fixed.resuming.clone();
        let wait = self.speak(now, line, Priority::Instruction, out);
        self.state = State::Resuming { wait, resume };
    }
}
