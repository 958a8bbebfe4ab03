//! "Pain": the coach cuts off at once and answers. Under the common rule the
//! exercise ends; under a rule that asks (McKenzie, `pain_rule =
//! "mckenzie"`), the coach first asks whether the pain spreads or stays in
//! the back, and the user answers with the words they already know ("stop",
//! "resume") or the button. "Pain" said again while the coach is still
//! answering is the same report. See `content/safety.toml` and the content
//! README for the rules and their sources.

use super::*;

impl Session {
    /// "pain" during the session (not at its end).
    pub(super) fn pain(&mut self, now: Instant, out: &mut Vec<Action>) {
        let cursor = match &self.state {
            State::Paused { resume } | State::Resuming { resume, .. } => resume.cursor,
            State::Interlude { then, .. } => then.saturating_sub(1),
            _ => self.cursor,
        };
        let exercise = self.exercise_at(cursor);
        // A rule that asks is about an exercise: before the first one (the
        // welcome) there is nothing to go on with, so the common rule applies.
        if let (Some(rule), Some(_)) = (self.script.pain_rule, exercise) {
            self.ask_where(now, rule, cursor, out);
            return;
        }
        // Record the set in progress as cut short.
        if let State::Step(StepState::Timed { anchor, .. }) = self.state.clone() {
            if let Some(t) = self.timed().cloned() {
                self.finish_timed(&t, now.saturating_duration_since(anchor), false, out);
            }
        }
        self.stop_speech(now, out);
        self.record_pain(cursor, out);
        self.counted_pains += 1;
        self.end_exercise_for_pain(now, cursor, None, out);
    }

    /// A `Pain` event for the step at `cursor`.
    fn record_pain(&mut self, cursor: usize, out: &mut Vec<Action>) {
        self.pains += 1;
        let (set, side) = match self.script.steps.get(cursor).map(|s| &s.kind) {
            Some(StepKind::Timed(Timed {
                kind: TimedKind::Work { set, side, .. },
                ..
            })) => (Some(*set), *side),
            _ => (None, None),
        };
        let exercise = self.exercise_id(self.exercise_at(cursor));
        self.journal(
            out,
            JournalEvent::Pain {
                exercise,
                set,
                side,
            },
        );
    }

    /// Whether the coach is still answering the last pain report (or its
    /// echo may still be in the room): "pain" again now is the same report.
    pub(super) fn answering_pain(&self, now: Instant) -> bool {
        let Some(limit) = self.pain_reply_limit else {
            return false;
        };
        // A speaker that never reports "finished" must not silence "pain"
        // for good: the window closes at `limit` whatever happens.
        now < limit
            && self.playing.iter().any(|p| {
                self.pain_reply.contains(&p.id)
                    && p.finished.is_none_or(|f| now < f + self.cfg.echo_tail)
            })
    }

    /// Say `lines` as the answer to a pain report, and remember them as such.
    fn say_pain_reply(
        &mut self,
        now: Instant,
        lines: Vec<Line>,
        out: &mut Vec<Action>,
    ) -> Option<Wait> {
        let total: Duration = lines.iter().map(|l| estimate_speech(&l.text)).sum();
        self.pain_reply.clear();
        self.pain_reply_limit = Some(now + total * 3 + Duration::from_secs(5));
        let mut last = None;
        for line in lines {
            let wait = self.speak(now, line, Priority::Safety, out);
            self.pain_reply.push(wait.id);
            last = Some(wait);
        }
        last
    }

    /// End the exercise at `cursor` for pain (after `lead`, if any), or the
    /// whole session once enough pain reports count.
    fn end_exercise_for_pain(
        &mut self,
        now: Instant,
        cursor: usize,
        lead: Option<Line>,
        out: &mut Vec<Action>,
    ) {
        let exercise = self.exercise_at(cursor);
        if let Some(i) = exercise {
            self.incomplete[i] = true;
        }
        self.set_led(out, Led::Running);
        let posture = exercise
            .and_then(|i| self.script.exercises.get(i))
            .and_then(|e| e.posture);
        let mut lines: Vec<Line> = lead.into_iter().collect();
        lines.extend(self.fixed.pain_stops_exercise(posture).cloned());
        if self.counted_pains >= self.safety.pain_events_to_end.get() {
            lines.push(self.fixed.repeated_pain_ends_session.clone());
            self.say_pain_reply(now, lines, out);
            self.close(now, EndReason::EndedForPain, out);
            return;
        }
        lines.push(self.fixed.pain_below_knee.clone());
        if let Some(id) = self.exercise_id(exercise) {
            self.journal(
                out,
                JournalEvent::ExerciseSkipped {
                    exercise: id,
                    reason: "pain".into(),
                },
            );
        }
        // Go on with the following exercise (or the closing words).
        self.cursor = cursor;
        let then = if exercise.is_some() {
            self.next_exercise_start()
        } else {
            cursor
        };
        let more = self.script.steps[then.min(self.script.steps.len())..]
            .iter()
            .any(|s| s.exercise.is_some());
        if more {
            lines.push(self.fixed.moving_on.clone());
        }
        let last = self.say_pain_reply(now, lines, out);
        let wait = match last {
            Some(w) if more => w,
            Some(w) => Wait {
                id: w.id,
                deadline: now + Duration::from_secs(30),
            },
            None => Wait {
                id: PlaybackId(self.next_id),
                deadline: now,
            },
        };
        self.state = State::Interlude { wait, then };
    }

    // ---- a pain rule that asks (McKenzie) -------------------------------

    /// Cut off, record the pain, and ask where it is; the session holds
    /// still (the set in progress is kept, to go on with or to end).
    fn ask_where(
        &mut self,
        now: Instant,
        rule: PainRuleName,
        cursor: usize,
        out: &mut Vec<Action>,
    ) {
        let (elapsed, resume) = match &self.state {
            State::Step(StepState::Timed { anchor, .. }) => {
                let elapsed = now.saturating_duration_since(*anchor);
                let offset = self.timed().map(|t| t.resume_offset(elapsed));
                (Some(elapsed), ResumeAt { cursor, offset })
            }
            State::Paused { resume } | State::Resuming { resume, .. } => (None, *resume),
            State::Interlude { then, .. } => (
                None,
                ResumeAt {
                    cursor: *then,
                    offset: None,
                },
            ),
            _ => (
                None,
                ResumeAt {
                    cursor,
                    offset: None,
                },
            ),
        };
        self.stop_speech(now, out);
        self.record_pain(cursor, out);
        self.set_led(out, Led::Paused);
        let line = self.fixed.ask_lines(rule).asks.clone();
        let wait = self.say_pain_reply(now, vec![line], out).unwrap_or(Wait {
            id: PlaybackId(self.next_id),
            deadline: now,
        });
        self.state = State::Asking {
            wait,
            ask: Ask {
                rule,
                cursor,
                resume,
                elapsed,
                question: wait.id,
            },
        };
    }

    /// A word while the question stands.
    pub(super) fn heard_at_question(&mut self, now: Instant, cmd: Command, out: &mut Vec<Action>) {
        let (ask, said) = match self.state {
            State::Asking { ask, .. } => (ask, false),
            State::AskOpen { ask, .. } => (ask, true),
            _ => return,
        };
        if cmd == Command::Pause {
            self.journal(
                out,
                JournalEvent::CommandIgnored {
                    command: cmd,
                    reason: "the coach waits for the answer to its question".into(),
                },
            );
            return;
        }
        self.journal(out, JournalEvent::CommandHeard { command: cmd });
        match cmd {
            Command::Stop => self.pain_spreads(now, ask, PainLocation::Spreading, None, out),
            Command::Resume => self.pain_stays_central(now, ask, out),
            // Skipping the exercise: it ends, its pain not placed.
            Command::Next => self.pain_spreads(now, ask, PainLocation::Unanswered, None, out),
            Command::Repeat => {
                self.stop_speech(now, out);
                let line = self.fixed.ask_lines(ask.rule).asks.clone();
                if let Some(wait) = self.say_pain_reply(now, vec![line], out) {
                    self.state = State::Asking {
                        wait,
                        ask: Ask {
                            question: wait.id,
                            ..ask
                        },
                    };
                }
            }
            Command::Pain => {
                if !said || self.answering_pain(now) {
                    // "Pain, pain!" while the question is said: the same
                    // report, and not a "stays in the back".
                    self.pain_spreads(now, ask, PainLocation::Unanswered, None, out);
                } else {
                    // Once the question was said, "pain" is a second report:
                    // the first is left unanswered, and both count.
                    self.abandon_question(ask, PainLocation::Unanswered, out);
                    self.record_pain(ask.cursor, out);
                    let exercise = self.exercise_id(self.exercise_at(ask.cursor));
                    self.journal(
                        out,
                        JournalEvent::PainLocated {
                            exercise,
                            location: PainLocation::Unanswered,
                        },
                    );
                    self.counted_pains += 1;
                    self.end_exercise_for_pain(now, ask.cursor, None, out);
                }
            }
            Command::Pause => {}
        }
    }

    /// "It stays in the back": say so, and go on where the exercise was.
    /// This pain does not count towards ending the session.
    pub(super) fn pain_stays_central(&mut self, now: Instant, ask: Ask, out: &mut Vec<Action>) {
        if matches!(self.state, State::Asking { .. }) {
            self.stop_speech(now, out);
        }
        let exercise = self.exercise_id(self.exercise_at(ask.cursor));
        self.journal(
            out,
            JournalEvent::PainLocated {
                exercise,
                location: PainLocation::Central,
            },
        );
        self.set_led(out, Led::Running);
        // What follows is the exercise again: a new "pain" is a new report.
        self.pain_reply.clear();
        self.pain_reply_limit = None;
        let line = self.fixed.ask_lines(ask.rule).carry_on.clone();
        let wait = self.speak(now, line, Priority::Safety, out);
        self.state = State::Resuming {
            wait,
            resume: ask.resume,
        };
    }

    /// It spreads, grows, or the user did not say: the exercise ends (after
    /// `lead`), as under the common rule.
    pub(super) fn pain_spreads(
        &mut self,
        now: Instant,
        ask: Ask,
        location: PainLocation,
        lead: Option<Line>,
        out: &mut Vec<Action>,
    ) {
        if matches!(self.state, State::Asking { .. }) {
            self.stop_speech(now, out);
        }
        self.abandon_question(ask, location, out);
        self.end_exercise_for_pain(now, ask.cursor, lead, out);
    }

    /// Close the question without a word: record where the pain is, the set
    /// in progress as cut short, and the report as one that counts.
    pub(super) fn abandon_question(
        &mut self,
        ask: Ask,
        location: PainLocation,
        out: &mut Vec<Action>,
    ) {
        self.cursor = ask.cursor;
        let exercise = self.exercise_at(ask.cursor);
        self.journal(
            out,
            JournalEvent::PainLocated {
                exercise: self.exercise_id(exercise),
                location,
            },
        );
        if let Some(elapsed) = ask.elapsed {
            if let Some(t) = self.timed().cloned() {
                self.finish_timed(&t, elapsed, false, out);
            }
        }
        if let Some(i) = exercise {
            self.incomplete[i] = true;
        }
        self.counted_pains += 1;
    }

    /// The speaker failed while the question stands: nobody can hear it, so
    /// it gets no answer (the safe choice).
    pub(super) fn question_unheard(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let State::Asking { ask, .. } | State::AskOpen { ask, .. } = self.state {
            self.pain_spreads(now, ask, PainLocation::Unanswered, None, out);
        }
    }
}
