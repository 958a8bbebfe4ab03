//! The session state machine: `handle(now, input) -> actions`.

use super::script::{estimate_speech, Emit, FixedLines, Mark, Script, StepKind, Timed, TimedKind};
use super::*;
use crate::content::{fill, Lang, PainRuleName, Phrases, Safety};
use std::time::Instant;

mod closing;
mod commands;
mod pain;

/// A phrase the session is waiting to hear finished; `deadline` is the
/// fallback if the "finished" never comes (a broken speaker must not hang
/// the session).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Wait {
    id: PlaybackId,
    deadline: Instant,
}

#[derive(Debug, Clone, PartialEq)]
enum StepState {
    Speaking { wait: Wait, gap: Duration },
    Gap { until: Instant },
    GetReadySpeaking { wait: Wait, timeout: Duration },
    GetReadyWaiting { until: Instant },
    Timed { anchor: Instant, next: usize },
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct ResumeAt {
    cursor: usize,
    offset: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Idle,
    Step(StepState),
    /// Saying the safety line after "pain"; then on to `then`.
    Interlude {
        wait: Wait,
        then: usize,
    },
    Paused {
        resume: ResumeAt,
    },
    Resuming {
        wait: Wait,
        resume: ResumeAt,
    },
    Closing {
        wait: Wait,
        reason: EndReason,
        /// The phase offer comes once these lines are said.
        offer: bool,
    },
    /// Saying the phase offer; a press from `since` on accepts it.
    Offering {
        wait: Wait,
        since: Instant,
    },
    /// The offer was said: the button accepts it until `until`.
    OfferOpen {
        until: Instant,
        since: Instant,
    },
    Finished,
    /// Under a pain rule that asks (McKenzie): saying the question where
    /// the pain is. The session holds still.
    Asking {
        wait: Wait,
        ask: Ask,
    },
    /// The question was said: the answer is awaited until `until`; a press
    /// from `since` on means "it stays in the back".
    AskOpen {
        until: Instant,
        since: Instant,
        ask: Ask,
    },
}

impl State {
    /// The phrase this state waits to hear finished, if it waits for one.
    fn wait(&self) -> Option<Wait> {
        match self {
            State::Step(StepState::Speaking { wait, .. })
            | State::Step(StepState::GetReadySpeaking { wait, .. })
            | State::Interlude { wait, .. }
            | State::Resuming { wait, .. }
            | State::Closing { wait, .. }
            | State::Offering { wait, .. }
            | State::Asking { wait, .. } => Some(*wait),
            State::Idle
            | State::Step(
                StepState::Gap { .. } | StepState::GetReadyWaiting { .. } | StepState::Timed { .. },
            )
            | State::Paused { .. }
            | State::OfferOpen { .. }
            | State::Finished
            | State::AskOpen { .. } => None,
        }
    }
}

/// A pain report whose place the coach is asking about.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ask {
    rule: PainRuleName,
    /// The step the pain was reported in.
    cursor: usize,
    /// Where the exercise goes on if the pain stays in the back.
    resume: ResumeAt,
    /// How far the set in progress had come (None: not in a set).
    elapsed: Option<Duration>,
    /// The question being said: a second "pain" while it is said (or in its
    /// echo) is the same report.
    question: PlaybackId,
}

#[derive(Debug, Clone)]
struct Playing {
    id: PlaybackId,
    text: String,
    /// When it finished; `None` while it still plays.
    finished: Option<Instant>,
}

/// One guided session. See the module documentation of [`crate::session`].
#[derive(Debug, Clone)]
pub struct Session {
    script: Script,
    cfg: SessionConfig,
    phrases: Phrases,
    safety: Safety,
    fixed: FixedLines,
    state: State,
    cursor: usize,
    next_id: u64,
    playing: Vec<Playing>,
    last_instruction: Option<Line>,
    pressed_at: Option<Instant>,
    long_fired: bool,
    started: Option<Instant>,
    pains: u32,
    exercises_done: u32,
    /// Repetitions finished in the current timed step.
    reps_done: u32,
    /// Exercises cut short (by "next" in a set, or by pain).
    incomplete: Vec<bool>,
    /// Devices that are failing now.
    faults: Vec<DeviceKind>,
    /// The next McKenzie phase, to offer at the end if the session goes well.
    offer: Option<PhaseOffer>,
    /// The journal fails: say so once, at the next exercise (or the end).
    journal_notice_due: bool,
    journal_notice_said: bool,
    /// Pain reports that count towards `pain_events_to_end` (under the
    /// McKenzie rule, pain that stays in the back does not).
    counted_pains: u32,
    /// The lines answering the last pain report: "pain" again while they
    /// are said (or in their echo) is the same report.
    pain_reply: Vec<PlaybackId>,
    /// The latest end of that answer's window.
    pain_reply_limit: Option<Instant>,
}

impl Session {
    pub fn new(script: Script, cfg: SessionConfig, phrases: Phrases, safety: Safety) -> Self {
        let n = script.exercises.len();
        let fixed = FixedLines::new(&phrases, &safety, script.lang);
        Session {
            script,
            cfg,
            phrases,
            safety,
            fixed,
            state: State::Idle,
            cursor: 0,
            next_id: 0,
            playing: Vec::new(),
            last_instruction: None,
            pressed_at: None,
            long_fired: false,
            started: None,
            pains: 0,
            exercises_done: 0,
            reps_done: 0,
            incomplete: vec![false; n],
            faults: Vec::new(),
            offer: None,
            journal_notice_due: false,
            journal_notice_said: false,
            counted_pains: 0,
            pain_reply: Vec::new(),
            pain_reply_limit: None,
        }
    }

    /// Offer the next McKenzie phase at the end of this session, if it is
    /// completed without pain (set before the session starts; see
    /// [`crate::adapt::phase_offer`]). `None`: no offer.
    pub fn set_phase_offer(&mut self, offer: Option<PhaseOffer>) {
        self.offer = offer;
    }

    pub fn phase_offer(&self) -> Option<&PhaseOffer> {
        self.offer.as_ref()
    }

    pub fn script(&self) -> &Script {
        &self.script
    }

    pub fn lang(&self) -> Lang {
        self.script.lang
    }

    pub fn is_idle(&self) -> bool {
        self.state == State::Idle
    }

    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// Saying its last lines (the session ends once they are said).
    pub fn is_closing(&self) -> bool {
        matches!(self.state, State::Closing { .. })
    }

    pub fn is_paused(&self) -> bool {
        matches!(self.state, State::Paused { .. })
    }

    pub fn long_press(&self) -> Duration {
        self.cfg.long_press
    }

    pub fn pain_events(&self) -> u32 {
        self.pains
    }

    /// When the session next needs a [`Input::DeadlineReached`].
    pub fn next_deadline(&self) -> Option<Instant> {
        let long = match (self.pressed_at, self.long_fired) {
            (Some(at), false) if !matches!(self.state, State::Idle | State::Finished) => {
                Some(at + self.cfg.long_press)
            }
            _ => None,
        };
        let state = match &self.state {
            State::Step(StepState::Gap { until })
            | State::Step(StepState::GetReadyWaiting { until })
            | State::OfferOpen { until, .. }
            | State::AskOpen { until, .. } => Some(*until),
            State::Step(StepState::Timed { anchor, next }) => self
                .timed()
                .map(|t| *anchor + t.events.get(*next).map_or(t.length, |e| e.at)),
            State::Idle | State::Paused { .. } | State::Finished => None,
            speaking => speaking.wait().map(|w| w.deadline),
        };
        match (long, state) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Feed one input; get what to do.
    pub fn handle(&mut self, now: Instant, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::ButtonPressed => {
                self.pressed_at = Some(now);
                self.long_fired = false;
            }
            Input::ButtonReleased => {
                if let Some(at) = self.pressed_at.take() {
                    if !self.long_fired {
                        if now.saturating_duration_since(at) >= self.cfg.long_press {
                            self.long_pressed(now, &mut out);
                        } else {
                            self.short_press(now, at, &mut out);
                        }
                    }
                }
                self.long_fired = false;
            }
            Input::Heard(cmd) => self.heard(now, cmd, &mut out),
            Input::PlaybackFinished(id) => self.finished(now, id, &mut out),
            Input::DeadlineReached => self.deadline(now, &mut out),
            Input::DeviceLost(device) => {
                if !self.faults.contains(&device) {
                    self.faults.push(device);
                    // A question nobody can hear gets no answer: the safe
                    // choice now (the exercise ends), then the pause below.
                    if device == DeviceKind::Speaker {
                        self.question_unheard(now, &mut out);
                    }
                    // Without its voice the coach cannot coach: hold here.
                    if device == DeviceKind::Speaker
                        && matches!(
                            self.state,
                            State::Step(_) | State::Interlude { .. } | State::Resuming { .. }
                        )
                    {
                        self.pause(now, &mut out);
                    }
                    out.push(Action::SetLed(Led::Error));
                    // A journal fault never pauses the session: only the LED
                    // and one calm sentence at the next exercise say so.
                    if device == DeviceKind::Journal && !self.journal_notice_said {
                        self.journal_notice_due = true;
                    }
                    self.journal(&mut out, JournalEvent::DeviceLost { device });
                }
            }
            Input::DeviceBack(device) => {
                if self.faults.contains(&device) {
                    self.faults.retain(|d| *d != device);
                    if device == DeviceKind::Journal {
                        self.journal_notice_due = false;
                    }
                    self.journal(&mut out, JournalEvent::DeviceBack { device });
                    if self.faults.is_empty() {
                        out.push(Action::SetLed(self.led()));
                    }
                    // The voice is back: say how to go on.
                    if device == DeviceKind::Speaker && self.is_paused() {
                        let line = self.fixed.paused.clone();
                        self.speak(now, line, Priority::Instruction, &mut out);
                    }
                }
            }
        }
        out
    }

    /// What the LED shows in the current state, faults aside.
    fn led(&self) -> Led {
        match self.state {
            State::Idle | State::Finished => Led::Idle,
            State::Paused { .. } | State::Asking { .. } | State::AskOpen { .. } => Led::Paused,
            _ => Led::Running,
        }
    }

    /// Show `led`, unless a device fails: then the error stays on (except
    /// for "paused", which the user asked for and must see).
    fn set_led(&self, out: &mut Vec<Action>, led: Led) {
        let shown = if self.faults.is_empty() || led == Led::Paused {
            led
        } else {
            Led::Error
        };
        out.push(Action::SetLed(shown));
    }

    // ---- speech bookkeeping -------------------------------------------

    fn speak(
        &mut self,
        now: Instant,
        line: Line,
        priority: Priority,
        out: &mut Vec<Action>,
    ) -> Wait {
        self.next_id += 1;
        let id = PlaybackId(self.next_id);
        let deadline = now + estimate_speech(&line.text) * 3 + Duration::from_secs(5);
        // Forget phrases whose echo has died away.
        let tail = self.cfg.echo_tail;
        self.playing
            .retain(|p| p.finished.is_none_or(|f| now < f + tail));
        self.playing.push(Playing {
            id,
            text: line.text.clone(),
            finished: None,
        });
        out.push(Action::Speak { id, line, priority });
        Wait { id, deadline }
    }

    fn instruction(&mut self, now: Instant, line: Line, out: &mut Vec<Action>) -> Wait {
        self.last_instruction = Some(line.clone());
        self.speak(now, line, Priority::Instruction, out)
    }

    fn stop_speech(&mut self, now: Instant, out: &mut Vec<Action>) {
        for p in &mut self.playing {
            p.finished.get_or_insert(now);
        }
        out.push(Action::StopSpeech);
    }

    /// Whether the coach is saying `cmd`'s word right now (or just did, and
    /// its echo may still be in the room).
    fn saying(&self, now: Instant, cmd: Command) -> bool {
        let lang = self.script.lang;
        self.playing.iter().any(|p| {
            p.finished.is_none_or(|f| now < f + self.cfg.echo_tail) && cmd.spoken_in(&p.text, lang)
        })
    }

    fn journal(&self, out: &mut Vec<Action>, e: JournalEvent) {
        out.push(Action::Journal(e));
    }

    fn exercise_at(&self, cursor: usize) -> Option<usize> {
        self.script.steps.get(cursor).and_then(|s| s.exercise)
    }

    fn exercise_id(&self, idx: Option<usize>) -> Option<String> {
        idx.and_then(|i| self.script.exercises.get(i))
            .map(|e| e.id.clone())
    }

    fn timed(&self) -> Option<&Timed> {
        match self.script.steps.get(self.cursor).map(|s| &s.kind) {
            Some(StepKind::Timed(t)) => Some(t),
            _ => None,
        }
    }

    // ---- inputs -------------------------------------------------------

    fn short_press(&mut self, now: Instant, pressed: Instant, out: &mut Vec<Action>) {
        match &self.state {
            State::Idle => self.start(now, out),
            State::Offering { since, .. } | State::OfferOpen { since, .. } => {
                // Only a press that began once the offer was being made
                // accepts it (not one held from before).
                if pressed >= *since {
                    self.accept_offer(now, out);
                }
            }
            State::Step(StepState::GetReadySpeaking { .. })
            | State::Step(StepState::GetReadyWaiting { .. }) => {
                // The button is "I'm ready" while the coach waits for it.
                self.stop_speech(now, out);
                self.cursor += 1;
                self.enter(now, out);
            }
            State::Paused { .. } => self.resume(now, out),
            State::Step(_) | State::Interlude { .. } | State::Resuming { .. } => {
                self.pause(now, out)
            }
            State::AskOpen { since, ask, .. } => {
                // Only a press that began once the question was said
                // answers it: a reflex press while it is said means nothing.
                if pressed >= *since {
                    let ask = *ask;
                    self.journal(
                        out,
                        JournalEvent::CommandHeard {
                            command: Command::Resume,
                        },
                    );
                    self.pain_stays_central(now, ask, out);
                }
            }
            State::Asking { .. } | State::Closing { .. } | State::Finished => {}
        }
    }

    fn long_pressed(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Closing { offer: true, .. } => {
                // Ending during the summary: no offer.
                self.offer = None;
                self.stop_speech(now, out);
                self.farewell(now, EndReason::Completed, Vec::new(), out);
            }
            State::Idle | State::Closing { .. } | State::Finished => {}
            State::Offering { .. } | State::OfferOpen { .. } => {
                self.stop_speech(now, out);
                self.keep_phase(now, "declined", out);
            }
            State::Asking { ask, .. } | State::AskOpen { ask, .. } => {
                // Ending with the question open: no answer, the safe choice.
                self.abandon_question(ask, PainLocation::Unanswered, out);
                self.set_led(out, Led::Running);
                self.end(now, EndReason::EndedByUser, out);
            }
            _ => self.end(now, EndReason::EndedByUser, out),
        }
    }

    fn heard(&mut self, now: Instant, cmd: Command, out: &mut Vec<Action>) {
        if cmd == Command::Pain && matches!(self.state, State::Closing { offer: true, .. }) {
            // "pain" during the summary, before the phase offer: no offer.
            self.journal(out, JournalEvent::CommandHeard { command: cmd });
            self.pain_at_the_end(now, out);
            self.offer = None;
            self.farewell(now, EndReason::Completed, Vec::new(), out);
            return;
        }
        if matches!(
            self.state,
            State::Idle | State::Finished | State::Closing { .. }
        ) {
            return;
        }
        if self.saying(now, cmd) {
            self.journal(
                out,
                JournalEvent::CommandIgnored {
                    command: cmd,
                    reason: super::SELF_HEARD.into(),
                },
            );
            return;
        }
        if matches!(self.state, State::Offering { .. } | State::OfferOpen { .. }) {
            self.heard_at_offer(now, cmd, out);
            return;
        }
        if matches!(self.state, State::Asking { .. } | State::AskOpen { .. }) {
            self.heard_at_question(now, cmd, out);
            return;
        }
        if cmd == Command::Pain && self.answering_pain(now) {
            // "Pain, pain!": the coach is still answering the first one.
            self.journal(
                out,
                JournalEvent::CommandIgnored {
                    command: cmd,
                    reason: "said again while the coach answers it: one report".into(),
                },
            );
            return;
        }
        self.journal(out, JournalEvent::CommandHeard { command: cmd });
        match cmd {
            Command::Pain => self.pain(now, out),
            Command::Stop => {
                if self.is_paused() {
                    self.end(now, EndReason::EndedByUser, out);
                } else {
                    self.pause(now, out);
                }
            }
            Command::Pause => {
                if !self.is_paused() {
                    self.pause(now, out);
                }
            }
            Command::Resume => {
                if self.is_paused() {
                    self.resume(now, out);
                }
            }
            Command::Next => self.next(now, out),
            Command::Repeat => self.repeat(now, out),
        }
    }

    fn finished(&mut self, now: Instant, id: PlaybackId, out: &mut Vec<Action>) {
        if let Some(p) = self.playing.iter_mut().find(|p| p.id == id) {
            p.finished.get_or_insert(now);
        }
        let waited = self.state.wait().map(|w| w.id);
        // A "finished" for anything but the phrase we wait for is late or
        // irrelevant: ignore it.
        if waited == Some(id) {
            self.advance_wait(now, out);
        }
    }

    fn deadline(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let (Some(at), false) = (self.pressed_at, self.long_fired) {
            if now >= at + self.cfg.long_press
                && !matches!(self.state, State::Idle | State::Finished)
            {
                self.long_fired = true;
                self.long_pressed(now, out);
            }
        }
        // Several things may be due at once (e.g. after a slow wake-up):
        // handle them all, in order.
        for _ in 0..10_000 {
            let Some(due) = self.next_deadline() else {
                break;
            };
            if due > now {
                break;
            }
            if self.pressed_at.is_some()
                && !self.long_fired
                && due == self.pressed_at.map_or(due, |a| a + self.cfg.long_press)
            {
                break;
            }
            match &self.state {
                State::Step(StepState::Timed { .. }) => self.timed_due(now, out),
                State::Step(StepState::Gap { .. })
                | State::Step(StepState::GetReadyWaiting { .. }) => {
                    self.cursor += 1;
                    self.enter(now, out);
                }
                _ => self.advance_wait(now, out),
            }
        }
    }

    /// The phrase being waited for was said (or its fallback deadline passed).
    fn advance_wait(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state.clone() {
            State::Step(StepState::Speaking { gap, .. }) => {
                self.state = State::Step(StepState::Gap { until: now + gap });
            }
            State::Step(StepState::GetReadySpeaking { timeout, .. }) => {
                self.state = State::Step(StepState::GetReadyWaiting {
                    until: now + timeout,
                });
            }
            State::Interlude { then, .. } => {
                self.cursor = then;
                self.enter(now, out);
            }
            State::Resuming { resume, .. } => self.enter_at(now, resume, out),
            State::Closing {
                reason: EndReason::Completed,
                offer: true,
                ..
            } => self.make_offer(now, out),
            State::Closing { reason, .. } => {
                self.state = State::Finished;
                out.push(Action::Cue(Cue::SessionEnd));
                // A device still failing stays on the LED after the session.
                self.set_led(out, Led::Idle);
                out.push(Action::End(reason));
            }
            State::Offering { since, .. } => {
                self.state = State::OfferOpen {
                    until: now + self.cfg.phase_offer,
                    since,
                };
            }
            State::OfferOpen { .. } => self.keep_phase(now, "no answer", out),
            State::Asking { ask, .. } => {
                let until = now
                    + Duration::from_secs(u64::from(
                        self.safety.pain_rule(ask.rule).answer_secs.get(),
                    ));
                self.state = State::AskOpen {
                    until,
                    since: now,
                    ask,
                };
            }
            State::AskOpen { ask, .. } => {
                let lead = self.fixed.ask_lines(ask.rule).no_answer.clone();
                self.pain_spreads(now, ask, PainLocation::Unanswered, Some(lead), out);
            }
            _ => {}
        }
    }

    // ---- moving through the script -------------------------------------

    fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.started = Some(now);
        self.set_led(out, Led::Running);
        self.journal(
            out,
            JournalEvent::SessionStarted {
                program: self.script.program_id.clone(),
                lang: self.script.lang.code().into(),
            },
        );
        self.cursor = 0;
        self.enter(now, out);
    }

    /// Begin the step at the cursor (and any zero-time steps after it).
    fn enter(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.enter_at(
            now,
            ResumeAt {
                cursor: self.cursor,
                offset: None,
            },
            out,
        );
    }

    fn enter_at(&mut self, now: Instant, at: ResumeAt, out: &mut Vec<Action>) {
        self.cursor = at.cursor;
        loop {
            let Some(step) = self.script.steps.get(self.cursor).cloned() else {
                self.end(now, EndReason::Completed, out);
                return;
            };
            match step.kind {
                StepKind::Mark(mark) => {
                    self.mark(now, mark, step.exercise, out);
                    self.cursor += 1;
                }
                StepKind::Say { line, gap } => {
                    let wait = self.instruction(now, line, out);
                    self.state = State::Step(StepState::Speaking { wait, gap });
                    return;
                }
                StepKind::GetReady { line, timeout } => {
                    let wait = self.instruction(now, line, out);
                    self.state = State::Step(StepState::GetReadySpeaking { wait, timeout });
                    return;
                }
                StepKind::Timed(t) => {
                    let offset = if self.cursor == at.cursor {
                        at.offset.unwrap_or(Duration::ZERO)
                    } else {
                        Duration::ZERO
                    };
                    let next = t
                        .events
                        .iter()
                        .position(|e| e.at >= offset)
                        .unwrap_or(t.events.len());
                    self.reps_done = t.events[..next]
                        .iter()
                        .filter(|e| matches!(e.emit, Emit::RepDone(_)))
                        .count() as u32;
                    let anchor = now.checked_sub(offset).unwrap_or(now);
                    self.state = State::Step(StepState::Timed { anchor, next });
                    self.timed_due(now, out);
                    return;
                }
            }
        }
    }

    fn mark(&mut self, now: Instant, mark: Mark, exercise: Option<usize>, out: &mut Vec<Action>) {
        let Some(id) = self.exercise_id(exercise) else {
            return;
        };
        match mark {
            Mark::ExerciseStarted => {
                self.journal(out, JournalEvent::ExerciseStarted { exercise: id });
                // A break between exercises: the moment to mention a
                // journal that cannot be written (once).
                if self.journal_notice_due {
                    self.journal_notice_due = false;
                    self.journal_notice_said = true;
                    let line = self.fixed.journal_fault.clone();
                    self.speak(now, line, Priority::Instruction, out);
                }
            }
            Mark::ExerciseDone => {
                let complete = !exercise.is_some_and(|i| self.incomplete[i]);
                self.exercises_done += 1;
                self.journal(
                    out,
                    JournalEvent::ExerciseDone {
                        exercise: id,
                        complete,
                    },
                );
            }
        }
    }

    /// Emit every event of the timed step that is due at `now`.
    fn timed_due(&mut self, now: Instant, out: &mut Vec<Action>) {
        let State::Step(StepState::Timed { anchor, mut next }) = self.state else {
            return;
        };
        let Some(t) = self.timed().cloned() else {
            return;
        };
        while let Some(e) = t.events.get(next) {
            if anchor + e.at > now {
                break;
            }
            match &e.emit {
                Emit::Speak(line, priority) => {
                    if *priority == Priority::Instruction {
                        self.last_instruction = Some(line.clone());
                    }
                    self.speak(now, line.clone(), *priority, out);
                }
                Emit::Cue(c) => out.push(Action::Cue(*c)),
                Emit::RepDone(k) => self.reps_done = *k,
            }
            next += 1;
        }
        self.state = State::Step(StepState::Timed { anchor, next });
        if next >= t.events.len() && anchor + t.length <= now {
            self.finish_timed(&t, now - anchor, true, out);
            self.cursor += 1;
            self.enter(now, out);
        }
    }

    fn finish_timed(
        &mut self,
        t: &Timed,
        elapsed: Duration,
        complete: bool,
        out: &mut Vec<Action>,
    ) {
        let TimedKind::Work {
            set,
            side,
            reps_planned,
        } = t.kind
        else {
            return;
        };
        let exercise = self.exercise_at(self.cursor);
        if !complete {
            if let Some(i) = exercise {
                self.incomplete[i] = true;
            }
        }
        if let Some(id) = self.exercise_id(exercise) {
            self.journal(
                out,
                JournalEvent::SetDone {
                    exercise: id,
                    set,
                    side,
                    reps_done: self.reps_done,
                    reps_planned,
                    secs_done: elapsed.min(t.length).as_secs(),
                    complete,
                },
            );
        }
        self.reps_done = 0;
    }

    /// The first step of the group after the current one.
    fn next_group_start(&self) -> usize {
        let group = self.script.steps.get(self.cursor).map(|s| s.group);
        let mut i = self.cursor;
        while i < self.script.steps.len() && Some(self.script.steps[i].group) == group {
            i += 1;
        }
        i
    }

    /// The first step after the current exercise.
    fn next_exercise_start(&self) -> usize {
        let ex = self.exercise_at(self.cursor);
        let mut i = self.cursor;
        while i < self.script.steps.len() && self.script.steps[i].exercise == ex {
            i += 1;
        }
        i
    }
}
