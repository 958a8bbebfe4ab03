//! The appliance: the coach's whole life between power-on and shutdown, as
//! a pure state machine beside [`Session`] (which is one of its states).
//!
//! It waits for a press, tells a short press from a long one, keeps the list
//! of lost devices and shows it on the LED, says once that the microphone is
//! gone, plans today's program from the journal's history (through
//! [`crate::adapt`]), starts the session, offers the voice check after the
//! first sessions, and shuts down. Like the session it is fed [`Event`]s
//! with an explicit `now` and returns [`Action`]s; it never reads a clock,
//! sleeps, or touches a device, file or channel. [`Appliance::next_deadline`]
//! says when it next wants `Input::DeadlineReached`.
//!
//! The shells (`matcoach run`, the tests) only carry out the actions: read
//! the journal's history when asked, load the session's phrases, speak, set
//! the LED, write the journal, run the voice check.

use crate::adapt::{self, Rules, Today};
use crate::content::{Content, Lang};
use crate::journal::{History, PlanNote, Source};
use crate::session::{
    self, Cue, DeviceKind, EndReason, FixedLines, Input, JournalEvent, Led, Line, PlaybackId,
    Priority, Session, SessionConfig,
};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Announcements use playback ids far from the sessions' own.
const FIRST_ANNOUNCEMENT_ID: u64 = 1_000_000;

/// An announcement waits for its "finished" at most this many times its
/// estimated length (a speaker that never reports must not hang the coach).
const ANNOUNCE_PATIENCE: u32 = 3;

/// What the shell tells the appliance.
#[derive(Debug, Clone)]
pub enum Event {
    /// A fact from a device or the user: the session's own inputs.
    Input(Input),
    /// The shell has opened the speaker (the appliance waits for it), and
    /// how the listener fares.
    Ready { hearing: Hearing },
    /// The answer to [`Action::ReadHistory`]: the journal's history (empty
    /// when it cannot be read) and the clock as the shell read it (the
    /// day-based rules count sessions when it cannot be trusted: see
    /// [`crate::clock`]).
    History {
        history: Box<History>,
        clock: crate::date::ClockReading,
    },
    /// The answer to [`Action::Preload`]: the session's phrases are ready,
    /// or why not.
    Preloaded(Result<(), String>),
    /// The voice check asked for by [`Action::RunVoiceCheck`] has ended
    /// (done, or failed: the shell logs why).
    VoiceCheckEnded,
    /// SIGTERM or ctrl-c.
    Shutdown,
    /// The companion page asked for a pairing code to be said aloud (only
    /// someone in the room hears it). Said when idle; otherwise logged.
    SayPairingCode(String),
    /// The companion page changed the settings: the next session plans
    /// with them (the language stays until a restart: the phrases are
    /// rendered for it).
    Settings(Box<Settings>),
}

/// Whether the coach hears voice commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hearing {
    Listening,
    /// Turned off in the config: nothing to say.
    Disabled,
    /// It could not start (no model, no engine): the coach says voice
    /// commands are off.
    Failed,
}

impl From<Input> for Event {
    fn from(i: Input) -> Event {
        Event::Input(i)
    }
}

/// What the appliance asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Speak {
        id: PlaybackId,
        line: Line,
        priority: Priority,
    },
    StopSpeech,
    Cue(Cue),
    SetLed(Led),
    /// Record a session event, `at` after the session started.
    Journal {
        at: Duration,
        event: JournalEvent,
    },
    /// Begin a session in the journal (the shell stamps it with the wall
    /// clock).
    BeginJournal(PlanNote),
    /// The button was pressed during the session, `at` after it started.
    JournalPress(Duration),
    /// A line for the log (under systemd: the system journal).
    Log(String),
    /// The service's status line (systemd's STATUS=).
    Status(String),
    /// Read the journal's history; answer with [`Event::History`].
    ReadHistory,
    /// Load these phrases for the coming session; answer with
    /// [`Event::Preloaded`].
    Preload(Vec<Line>),
    /// Run the voice check now (the listener stands aside); answer with
    /// [`Event::VoiceCheckEnded`].
    RunVoiceCheck,
    /// A session has ended (the shell's evidence and the tests want it).
    SessionEnded(EndReason),
    /// Shut down: silence, LED off, journal closed.
    Exit,
}

/// What the appliance needs to know, from the config.
#[derive(Debug, Clone)]
pub struct Settings {
    pub lang: Lang,
    /// The program asked for (`auto` or a program id).
    pub program: String,
    pub session: SessionConfig,
    pub rules: Rules,
}

impl Settings {
    pub fn from_config(config: &crate::config::Config) -> Settings {
        Settings {
            lang: config.language,
            program: config.program.clone(),
            session: config.session(),
            rules: Rules::for_config(config),
        }
    }

    /// Today's session from the journal's history: the program chosen by
    /// the rules, compiled, with the spoken offer of the next McKenzie
    /// phase. The one way from a history to a session, for the appliance
    /// and for `sim --db`.
    pub fn today(
        &self,
        content: &Content,
        history: &History,
        date: crate::journal::Date,
    ) -> Result<(Today, Session), Unplanned> {
        let today = adapt::plan(content, &self.rules, history, date, &self.program)
            .map_err(Unplanned::Refused)?;
        let script = session::compile(
            content,
            &today.program,
            self.lang,
            &self.session,
            &today.facts,
        )
        .map_err(Unplanned::Script)?;
        let mut session = Session::new(
            script,
            self.session.clone(),
            content.phrases.clone(),
            content.safety.clone(),
        );
        session.set_phase_offer(adapt::phase_offer(content, &self.rules, history, &today));
        Ok((today, session))
    }
}

/// Why there is no session today.
#[derive(Debug, thiserror::Error)]
pub enum Unplanned {
    /// The rules refuse (unknown program, everything resting, before the
    /// surgery week, every exercise done as often as meant today).
    #[error(transparent)]
    Refused(adapt::AdaptError),
    /// The program does not compile in this language.
    #[error(transparent)]
    Script(session::ScriptError),
}

/// Where the appliance is.
enum State {
    /// Waiting for the shell to open the speaker.
    Starting,
    /// Saying fixed lines one after the other, then `then`.
    Announcing {
        id: PlaybackId,
        until: Instant,
        queue: VecDeque<Line>,
        then: After,
    },
    /// Waiting for a press.
    Idle,
    /// Waiting for the journal's history.
    Planning,
    /// Waiting for the session's phrases to load.
    Preparing(Box<Prepared>),
    Coaching(Box<Coaching>),
    /// Offering the voice check: a short press accepts until `until`
    /// (the window counted from when the offer has been said).
    Offering {
        id: PlaybackId,
        until: Instant,
    },
    /// The shell runs the voice check.
    Checking,
    Stopped,
}

/// Where an announcement leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Idle,
    /// The first time idle after start-up: the status and the log say so.
    FirstIdle,
}

struct Prepared {
    session: Session,
    today: Today,
    offer_check: bool,
}

struct Coaching {
    session: Session,
    today: Today,
    started: Instant,
    offer_check: bool,
    phase_offered: bool,
}

/// The appliance. See the module documentation.
pub struct Appliance {
    content: Arc<Content>,
    settings: Settings,
    fixed: FixedLines,
    state: State,
    /// Devices lost now, in the order they were lost.
    faults: Vec<DeviceKind>,
    mic_lost_said: bool,
    listening: bool,
    pressed_at: Option<Instant>,
    next_id: u64,
}

impl Appliance {
    pub fn new(content: Arc<Content>, settings: Settings) -> Appliance {
        let fixed = FixedLines::new(&content.phrases, &content.safety, settings.lang);
        Appliance {
            content,
            settings,
            fixed,
            state: State::Starting,
            faults: Vec::new(),
            mic_lost_said: false,
            listening: false,
            pressed_at: None,
            next_id: FIRST_ANNOUNCEMENT_ID,
        }
    }

    /// The fixed lines every session may say, for the shell to load once.
    pub fn fixed_lines(&self) -> Vec<Line> {
        let mut lines = self.fixed.all();
        lines.push(self.voice_check_offer());
        lines
    }

    /// The devices lost now.
    pub fn faults(&self) -> &[DeviceKind] {
        &self.faults
    }

    /// Whether a session is running.
    pub fn coaching(&self) -> bool {
        matches!(self.state, State::Coaching(_))
    }

    /// The session being coached, if one is (for observers: the
    /// whole-appliance simulation checks its state).
    pub fn session(&self) -> Option<&Session> {
        match &self.state {
            State::Coaching(c) => Some(&c.session),
            _ => None,
        }
    }

    /// Whether it waits for the shell: to open the speaker, read the
    /// history, load the phrases or run the voice check.
    pub fn waiting_for_shell(&self) -> bool {
        matches!(
            self.state,
            State::Starting | State::Planning | State::Preparing(_) | State::Checking
        )
    }

    /// Whether it waits for a press (idle, nothing being said).
    pub fn idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// Whether it has shut down.
    pub fn stopped(&self) -> bool {
        matches!(self.state, State::Stopped)
    }

    /// When the appliance next wants `Input::DeadlineReached`.
    pub fn next_deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Announcing { until, .. } => Some(*until),
            State::Coaching(c) => c.session.next_deadline(),
            State::Offering { until, .. } => Some(*until),
            _ => None,
        }
    }

    /// Handle one event at `now`.
    pub fn handle(&mut self, now: Instant, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Shutdown => self.shut_down(&mut out),
            _ if matches!(self.state, State::Stopped) => {}
            Event::Input(input) => self.input(now, input, &mut out),
            Event::Ready { hearing } => self.ready(now, hearing, &mut out),
            Event::History { history, clock } => self.plan(now, &history, &clock, &mut out),
            Event::Preloaded(result) => self.preloaded(now, result, &mut out),
            Event::VoiceCheckEnded => {
                if matches!(self.state, State::Checking) {
                    self.go_idle(&mut out);
                }
            }
            Event::SayPairingCode(code) => self.say_code(now, &code, &mut out),
            Event::Settings(s) => {
                let lang = self.settings.lang;
                self.settings = *s;
                self.settings.lang = lang;
                out.push(Action::Log(format!(
                    "settings changed on the companion page: program {}",
                    self.settings.program
                )));
            }
        }
        out
    }

    fn new_id(&mut self) -> PlaybackId {
        self.next_id += 1;
        PlaybackId(self.next_id)
    }

    fn idle_led(&self) -> Led {
        if self.faults.is_empty() {
            Led::Idle
        } else {
            Led::Error
        }
    }

    /// Note a device lost or back; true when it is one.
    fn note_fault(&mut self, input: Input) -> bool {
        match input {
            Input::DeviceLost(d) => {
                if !self.faults.contains(&d) {
                    self.faults.push(d);
                }
                true
            }
            Input::DeviceBack(d) => {
                self.faults.retain(|x| *x != d);
                true
            }
            _ => false,
        }
    }

    /// A short press completed by this release (the press is forgotten).
    fn short_press(&mut self, now: Instant, input: Input) -> Option<bool> {
        match input {
            Input::ButtonPressed => {
                self.pressed_at = Some(now);
                None
            }
            Input::ButtonReleased => {
                let p = self.pressed_at.take()?;
                Some(now.saturating_duration_since(p) < self.settings.session.long_press)
            }
            _ => None,
        }
    }

    /// The pairing code, digit by digit, when nothing else is going on.
    fn say_code(&mut self, now: Instant, code: &str, out: &mut Vec<Action>) {
        if !matches!(self.state, State::Idle) {
            out.push(Action::Log(
                "pairing code not said: the coach is busy (ask again when it is idle, or use `matcoach pair`)".into(),
            ));
            return;
        }
        let digits: Vec<String> = code.chars().map(String::from).collect();
        let text = match self.settings.lang {
            Lang::En => format!("Your pairing code is: {}.", digits.join(", ")),
            Lang::Nl => format!("Je koppelcode is: {}.", digits.join(", ")),
        };
        out.push(Action::Log(
            "saying a pairing code for the companion page".into(),
        ));
        let line = Line {
            id: session::PhraseId("sys.pairing_code".into()),
            text,
        };
        self.announce(now, VecDeque::from([line]), After::Idle, out);
    }

    fn voice_check_offer(&self) -> Line {
        Line {
            id: session::PhraseId("sys.voice_check_offer".into()),
            text: self
                .content
                .phrases
                .voice_check_offer
                .get(self.settings.lang)
                .to_string(),
        }
    }

    fn ready(&mut self, now: Instant, hearing: Hearing, out: &mut Vec<Action>) {
        if !matches!(self.state, State::Starting) {
            return;
        }
        self.listening = hearing == Hearing::Listening;
        // The speaker is open: whatever the start-up noted of it is over.
        self.faults.retain(|d| *d != DeviceKind::Speaker);
        let mut lines = VecDeque::new();
        if hearing == Hearing::Failed {
            lines.push_back(self.fixed.voice_off.clone());
        }
        lines.push_back(self.fixed.ready.clone());
        self.announce(now, lines, After::FirstIdle, out);
    }

    /// Say `lines` one after the other, then go to `then`.
    fn announce(
        &mut self,
        now: Instant,
        mut lines: VecDeque<Line>,
        then: After,
        out: &mut Vec<Action>,
    ) {
        let Some(line) = lines.pop_front() else {
            return self.after(then, out);
        };
        let id = self.new_id();
        let until = now + session::estimate_speech(&line.text) * ANNOUNCE_PATIENCE;
        out.push(Action::Speak {
            id,
            line,
            priority: Priority::Instruction,
        });
        self.state = State::Announcing {
            id,
            until,
            queue: lines,
            then,
        };
    }

    fn after(&mut self, then: After, out: &mut Vec<Action>) {
        self.go_idle(out);
        if then == After::FirstIdle {
            out.push(Action::Status("ready: press the button to start".into()));
            out.push(Action::Log("ready: press the button to start".into()));
        }
    }

    fn go_idle(&mut self, out: &mut Vec<Action>) {
        self.idle_with(self.idle_led(), out);
    }

    fn idle_with(&mut self, led: Led, out: &mut Vec<Action>) {
        self.state = State::Idle;
        self.pressed_at = None;
        out.push(Action::SetLed(led));
    }

    fn input(&mut self, now: Instant, input: Input, out: &mut Vec<Action>) {
        match &mut self.state {
            State::Coaching(_) => return self.coach(now, input, out),
            State::Stopped => return,
            _ => {}
        }
        let fault = self.note_fault(input);
        let short = self.short_press(now, input);
        match &mut self.state {
            State::Starting => {
                if fault {
                    out.push(Action::SetLed(self.idle_led()));
                }
            }
            State::Announcing {
                id,
                until,
                queue,
                then,
            } => {
                let done = input == Input::PlaybackFinished(*id)
                    || (input == Input::DeadlineReached && now >= *until);
                if done {
                    let (queue, then) = (std::mem::take(queue), *then);
                    self.announce(now, queue, then, out);
                }
            }
            State::Idle => self.idle_input(now, input, fault, short, out),
            State::Planning | State::Preparing(_) | State::Checking => {}
            State::Offering { id, until } => {
                if input == Input::PlaybackFinished(*id) {
                    *until = now + self.settings.session.phase_offer;
                } else if short == Some(true) {
                    out.push(Action::StopSpeech);
                    out.push(Action::Log("voice check: starting".into()));
                    out.push(Action::SetLed(Led::Running));
                    out.push(Action::RunVoiceCheck);
                    self.state = State::Checking;
                } else if short == Some(false) || (input == Input::DeadlineReached && now >= *until)
                {
                    out.push(Action::Log("voice check: not now".into()));
                    self.go_idle(out);
                }
            }
            State::Coaching(_) | State::Stopped => {}
        }
    }

    fn idle_input(
        &mut self,
        now: Instant,
        input: Input,
        fault: bool,
        short: Option<bool>,
        out: &mut Vec<Action>,
    ) {
        if fault {
            if input == Input::DeviceLost(DeviceKind::Microphone) && !self.mic_lost_said {
                self.mic_lost_said = true;
                out.push(Action::SetLed(Led::Error));
                let line = self.fixed.no_microphone.clone();
                return self.announce(now, VecDeque::from([line]), After::Idle, out);
            }
            out.push(Action::SetLed(self.idle_led()));
            return;
        }
        if short != Some(true) {
            return;
        }
        if self.faults.contains(&DeviceKind::Speaker) {
            out.push(Action::Log(
                "no speaker: the session starts once it is back".into(),
            ));
            return;
        }
        self.state = State::Planning;
        out.push(Action::ReadHistory);
    }

    /// Today's program from the history: refused (said, if the user must
    /// hear why), or compiled and its phrases asked for.
    fn plan(
        &mut self,
        now: Instant,
        history: &History,
        clock: &crate::date::ClockReading,
        out: &mut Vec<Action>,
    ) {
        if !matches!(self.state, State::Planning) {
            return;
        }
        let (content, s) = (&self.content, &self.settings);
        // The days the rules use: the clock's, or counted from the sessions.
        let calendar = crate::clock::Calendar::new(history, clock);
        if let Some(line) = calendar.log_line() {
            out.push(Action::Log(line));
        }
        let history = &calendar.history;
        let (mut today, session) = match s.today(content, history, calendar.date) {
            Ok(t) => t,
            Err(Unplanned::Refused(e)) => {
                out.push(Action::Log(e.to_string()));
                // A refusal the user must hear (after back surgery,
                // everything done as often as meant for today, or
                // everything resting after pain).
                return match e.spoken(&content.phrases, s.lang) {
                    Some(line) => self.announce(now, VecDeque::from([line]), After::Idle, out),
                    None => self.idle_with(Led::Error, out),
                };
            }
            Err(e @ Unplanned::Script(_)) => {
                out.push(Action::Log(e.to_string()));
                return self.idle_with(Led::Error, out);
            }
        };
        today.clock = Some(crate::journal::ClockNote::of(clock, &calendar.trust));
        out.push(Action::Log(format!(
            "today: {} ({})",
            today.program.id(),
            today.why
        )));
        let mut lines = session::script_lines(session.script());
        lines.extend(self.fixed.all());
        let finished = history
            .sessions
            .iter()
            .filter(|x| x.ended.is_some())
            .count();
        let checks = history
            .voice_checks
            .get(s.lang.code())
            .copied()
            .unwrap_or(0);
        let offer_check = self.listening
            && crate::hearing::check::offer_after_session(
                u32::try_from(finished + 1).unwrap_or(u32::MAX),
                checks,
            );
        out.push(Action::Preload(lines));
        self.state = State::Preparing(Box::new(Prepared {
            session,
            today,
            offer_check,
        }));
    }

    fn preloaded(&mut self, now: Instant, result: Result<(), String>, out: &mut Vec<Action>) {
        let State::Preparing(_) = self.state else {
            return;
        };
        let State::Preparing(p) = std::mem::replace(&mut self.state, State::Idle) else {
            return;
        };
        if let Err(e) = result {
            out.push(Action::Log(e));
            return self.idle_with(Led::Error, out);
        }
        let Prepared {
            session,
            today,
            offer_check,
        } = *p;
        out.push(Action::BeginJournal(today.note(Source::Coach)));
        self.state = State::Coaching(Box::new(Coaching {
            session,
            today,
            started: now,
            offer_check,
            phase_offered: false,
        }));
        // The press that asked for it starts the session, which also learns
        // of a microphone or journal lost before it started (the LED shows
        // it, and the coach says once that the journal fails).
        let mut first = vec![Input::ButtonPressed, Input::ButtonReleased];
        for d in [DeviceKind::Microphone, DeviceKind::Journal] {
            if self.faults.contains(&d) {
                first.push(Input::DeviceLost(d));
            }
        }
        for input in first {
            self.session_input(now, input, out);
        }
    }

    /// An input during a session: noted, journaled if a press, read as the
    /// session should see it (a max test), and handed to the session.
    fn coach(&mut self, now: Instant, input: Input, out: &mut Vec<Action>) {
        self.note_fault(input);
        let State::Coaching(c) = &self.state else {
            return;
        };
        if input == Input::ButtonPressed {
            out.push(Action::JournalPress(
                now.saturating_duration_since(c.started),
            ));
        }
        let input = c.today.input(input);
        self.session_input(now, input, out);
    }

    fn session_input(&mut self, now: Instant, input: Input, out: &mut Vec<Action>) {
        let State::Coaching(c) = &mut self.state else {
            return;
        };
        let mut ended = None;
        for action in c.session.handle(now, input) {
            match action {
                session::Action::Speak { id, line, priority } => {
                    out.push(Action::Speak { id, line, priority })
                }
                session::Action::StopSpeech => out.push(Action::StopSpeech),
                session::Action::Cue(cue) => out.push(Action::Cue(cue)),
                session::Action::SetLed(led) => out.push(Action::SetLed(led)),
                session::Action::Journal(event) => {
                    c.phase_offered |= matches!(event, JournalEvent::PhaseOffered { .. });
                    out.push(Action::Journal {
                        at: now.saturating_duration_since(c.started),
                        event,
                    });
                }
                session::Action::End(reason) => ended = Some(reason),
            }
        }
        if let Some(reason) = ended {
            self.session_ended(now, reason, out);
        }
    }

    fn session_ended(&mut self, now: Instant, reason: EndReason, out: &mut Vec<Action>) {
        let offer = match &self.state {
            State::Coaching(c) => {
                // Not after pain, and not on top of a phase offer.
                c.offer_check && !c.phase_offered && reason != EndReason::EndedForPain
            }
            _ => false,
        };
        out.push(Action::Log(format!("session ended: {reason:?}")));
        out.push(Action::SessionEnded(reason));
        self.go_idle(out);
        if offer && !self.faults.contains(&DeviceKind::Microphone) {
            let id = self.new_id();
            out.push(Action::Speak {
                id,
                line: self.voice_check_offer(),
                priority: Priority::Instruction,
            });
            // Until it has been said and the window has passed; a speaker
            // that never reports must not keep the offer open for ever.
            let line = self.voice_check_offer();
            let until = now
                + session::estimate_speech(&line.text) * ANNOUNCE_PATIENCE
                + self.settings.session.phase_offer;
            self.state = State::Offering { id, until };
        }
    }

    fn shut_down(&mut self, out: &mut Vec<Action>) {
        match self.state {
            State::Stopped => return,
            State::Coaching(_) | State::Announcing { .. } | State::Offering { .. } => {
                out.push(Action::StopSpeech);
                out.push(Action::Log("stopping".into()));
            }
            _ => {}
        }
        self.state = State::Stopped;
        out.push(Action::Exit);
    }
}
