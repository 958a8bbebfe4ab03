//! How a session ends: the closing summary, the goodbye, and the McKenzie
//! phase offer that may come between them.

use super::*;

impl Session {
    /// End now, at the user's wish: cut speech, say goodbye.
    pub(super) fn end(&mut self, now: Instant, reason: EndReason, out: &mut Vec<Action>) {
        if let State::Step(StepState::Timed { anchor, .. }) = self.state.clone() {
            if let Some(t) = self.timed().cloned() {
                self.finish_timed(&t, now.saturating_duration_since(anchor), false, out);
            }
        }
        if reason == EndReason::EndedByUser {
            self.stop_speech(now, out);
            let line = self.fixed.ending_by_user.clone();
            self.speak(now, line, Priority::Safety, out);
        }
        self.close(now, reason, out);
    }

    /// The closing summary, then `End` once it has been said. After a
    /// completed session without pain, the phase offer (if any) comes
    /// between the summary and the goodbye.
    pub(super) fn close(&mut self, now: Instant, reason: EndReason, out: &mut Vec<Action>) {
        let started = self.started.unwrap_or(now);
        let minutes = (now.saturating_duration_since(started).as_secs() + 30) / 60;
        let total = self.script.exercises.len();
        let p = &self.phrases;
        let lang = self.script.lang;
        let summary = Line {
            id: PhraseId(format!(
                "sys.summary.{}.{total}.{minutes}",
                self.exercises_done
            )),
            text: p.render_summary(u64::from(self.exercises_done), total as u64, minutes, lang),
        };
        let mut lines = Vec::new();
        if self.journal_notice_due {
            self.journal_notice_due = false;
            self.journal_notice_said = true;
            lines.push(self.fixed.journal_fault.clone());
        }
        lines.push(summary);
        if self.pains > 0 {
            lines.push(Line {
                id: PhraseId(format!("sys.summary_pain.{}", self.pains)),
                text: p.render_summary_pain(u64::from(self.pains), lang),
            });
            lines.push(self.fixed.persistent_pain_skip.clone());
        }
        let offer = reason == EndReason::Completed
            && self.pains == 0
            && self.exercises_done > 0
            && self.offer.is_some()
            && !self.cfg.phase_offer.is_zero();
        if !offer {
            self.offer = None;
            self.farewell(now, reason, lines, out);
            return;
        }
        self.say_closing(now, lines, reason, true, out);
    }

    /// Record the end, say `lines` and goodbye, then `End`.
    pub(super) fn farewell(
        &mut self,
        now: Instant,
        reason: EndReason,
        lines: Vec<Line>,
        out: &mut Vec<Action>,
    ) {
        self.journal(
            out,
            JournalEvent::SessionEnded {
                reason,
                exercises_done: self.exercises_done,
                pain_events: self.pains,
            },
        );
        let goodbye = self.fixed.goodbye.clone();
        self.say_closing(now, lines.into_iter().chain([goodbye]), reason, false, out);
    }

    /// Say the closing `lines`, then wait in `Closing` for the last one
    /// (`offer`: the phase offer is among them). Nothing to say leaves the
    /// state as it is.
    fn say_closing(
        &mut self,
        now: Instant,
        lines: impl IntoIterator<Item = Line>,
        reason: EndReason,
        offer: bool,
        out: &mut Vec<Action>,
    ) {
        let mut wait = None;
        for line in lines {
            wait = Some(self.speak(now, line, Priority::Instruction, out));
        }
        if let Some(mut wait) = wait {
            // The fallback covers all the closing lines together.
            wait.deadline = now + Duration::from_secs(60);
            self.state = State::Closing {
                wait,
                reason,
                offer,
            };
        }
    }

    // ---- the McKenzie phase offer --------------------------------------

    /// Say the offer; the button accepts it while it is said and for
    /// `phase_offer` after.
    pub(super) fn make_offer(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(o) = self.offer.clone() else {
            self.farewell(now, EndReason::Completed, Vec::new(), out);
            return;
        };
        self.journal(
            out,
            JournalEvent::PhaseOffered {
                from: o.from,
                to: o.to,
                pain_free_sessions: o.pain_free_sessions,
            },
        );
        self.say_offer(now, &o, now, out);
    }

    fn say_offer(&mut self, now: Instant, o: &PhaseOffer, since: Instant, out: &mut Vec<Action>) {
        let lang = self.script.lang;
        // adapt (issue 13): each step of 003 asks its own question.
        use crate::content::Phase;
        let template = match (o.from, o.to) {
            (_, Phase::Stiff) => &self.phrases.phase_offer_stiff,
            (Phase::Improving, Phase::Maintenance) => &self.phrases.phase_offer_maintenance,
            (Phase::Stiff, _) => &self.phrases.phase_offer_knees,
            _ => &self.phrases.phase_offer,
        };
        let line = Line {
            id: PhraseId(format!("sys.phase_offer.{}.{}", o.from.name(), o.to.name())),
            text: fill(
                template.get(lang),
                &[
                    ("sessions", &o.pain_free_sessions),
                    ("phase", &o.to_name.get(lang)),
                ],
            ),
        };
        let wait = self.speak(now, line, Priority::Instruction, out);
        self.state = State::Offering { wait, since };
    }

    /// The button: the next phase from the next session on. The journal
    /// records the change with the event.
    pub(super) fn accept_offer(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(o) = self.offer.take() else {
            return;
        };
        self.stop_speech(now, out);
        self.journal(
            out,
            JournalEvent::PhaseAdvanced {
                from: o.from,
                to: o.to,
            },
        );
        let lang = self.script.lang;
        let line = Line {
            id: PhraseId(format!("sys.phase_advanced.{}", o.to.name())),
            text: fill(
                self.phrases.phase_advanced.get(lang),
                &[("phase", &o.to_name.get(lang))],
            ),
        };
        self.farewell(now, EndReason::Completed, vec![line], out);
    }

    /// No change: `reason` is "no answer", "declined" or "pain". (The
    /// caller stops the offer being said, if it is.)
    pub(super) fn keep_phase(&mut self, now: Instant, reason: &str, out: &mut Vec<Action>) {
        let Some(o) = self.offer.take() else {
            return;
        };
        self.journal(
            out,
            JournalEvent::PhaseKept {
                phase: o.from,
                reason: reason.to_string(),
            },
        );
        let line = self.fixed.phase_kept.clone();
        self.farewell(now, EndReason::Completed, vec![line], out);
    }

    /// Words while the offer stands. Only the button accepts it: a
    /// misheard "next" must never change the phase.
    pub(super) fn heard_at_offer(&mut self, now: Instant, cmd: Command, out: &mut Vec<Action>) {
        match cmd {
            Command::Next | Command::Resume => {
                self.journal(
                    out,
                    JournalEvent::CommandIgnored {
                        command: cmd,
                        reason: "only the button accepts the phase offer".into(),
                    },
                );
            }
            Command::Stop | Command::Pause => {
                self.journal(out, JournalEvent::CommandHeard { command: cmd });
                self.stop_speech(now, out);
                self.keep_phase(now, "declined", out);
            }
            Command::Repeat => {
                self.journal(out, JournalEvent::CommandHeard { command: cmd });
                let since = match self.state {
                    State::Offering { since, .. } | State::OfferOpen { since, .. } => since,
                    _ => now,
                };
                if let Some(o) = self.offer.clone() {
                    self.stop_speech(now, out);
                    self.say_offer(now, &o, since, out);
                }
            }
            Command::Pain => {
                // Pain now: no new phase (003 moves on only once you feel
                // clearly better). Recorded like any pain.
                self.journal(out, JournalEvent::CommandHeard { command: cmd });
                self.pain_at_the_end(now, out);
                self.keep_phase(now, "pain", out);
            }
        }
    }

    /// "pain" after the exercises: recorded like any pain, and the advice.
    pub(super) fn pain_at_the_end(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.stop_speech(now, out);
        self.pains += 1;
        self.journal(
            out,
            JournalEvent::Pain {
                exercise: None,
                set: None,
                side: None,
            },
        );
        let knee = self.fixed.pain_below_knee.clone();
        self.speak(now, knee, Priority::Safety, out);
    }
}
