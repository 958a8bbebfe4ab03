//! Evidence from the field (issue 16, item 3): which commands the user had
//! to give with the button, and which ones were undone right after they
//! acted.
//!
//! [`Detector`] is a pure fold over one stream of [`Event`]s with their
//! times: what the listening thread heard (the user's speech, the commands
//! the decider fired), what the session loop was given (button, heard
//! commands), what the session recorded, and what the coach began to say.
//! It returns [`Note`]s: each command heard and acted on, each one ignored
//! (as the coach's own word, or otherwise), each likely miss (the button did
//! what a command word would have done while the user had just spoken and
//! no command acted) and each likely false accept (a command undone within
//! a few seconds). [`notes`] runs it over a whole stream, as the tests do,
//! in virtual time.
//!
//! [`Tap`] keeps the last seconds of audio for a kept clip: an
//! [`Observer`](super::pipeline::Observer) of the listening pipeline, on
//! the listening thread (never the realtime callback), which copies each
//! 20 ms frame into fixed rings.

use super::{Hypothesis, RATE};
use crate::command::Command;
use crate::session::{EndReason, Input, JournalEvent};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The reason the session gives when it ignores a command word the coach
/// is saying itself; the field evidence counts those apart.
pub use crate::session::SELF_HEARD;

/// How the detector judges.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// A press is a likely miss when the user's speech ended at most this
    /// long before it, and no spoken command acted meanwhile.
    pub miss_window: Duration,
    /// A command undone within this long after it acted is a likely false
    /// accept.
    pub undo_window: Duration,
    /// Phrase ids (prefixes) with which the coach waits for "next" or the
    /// button ("press the button or say next when you are ready").
    pub ready_prompts: Vec<String>,
    /// Speech shorter than this is not taken for a word.
    pub min_speech_ms: u64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            miss_window: Duration::from_secs(4),
            undo_window: Duration::from_secs(5),
            ready_prompts: vec!["sys.get_ready".into(), "sys.equipment_needed".into()],
            min_speech_ms: 120,
        }
    }
}

/// Something that happened, as the detector sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The listening pipeline heard the user speak for `ms` (a stretch that
    /// just ended).
    Speech { ms: u64 },
    /// The decider fired a command.
    Detected {
        command: Command,
        word: String,
        confidence: f32,
    },
    /// An input the session loop handled (button, heard command).
    Input(Input),
    /// What the session recorded.
    Journal(JournalEvent),
    /// The coach began to say the phrase with this id.
    Said(String),
}

/// What a note says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A spoken command the session acted on.
    Heard,
    /// A spoken command ignored as the coach's own word.
    SelfHeard,
    /// A spoken command ignored for another reason (said twice, …).
    Ignored,
    /// The button did what this command word would have done, just after
    /// the user spoke and no command acted: a likely miss.
    Miss,
    /// This command acted and was undone within seconds: a likely false
    /// accept.
    FalseAccept,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Heard,
        Kind::SelfHeard,
        Kind::Ignored,
        Kind::Miss,
        Kind::FalseAccept,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Heard => "heard",
            Kind::SelfHeard => "self_heard",
            Kind::Ignored => "ignored",
            Kind::Miss => "miss",
            Kind::FalseAccept => "false_accept",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Worth keeping the audio for.
    pub fn is_evidence(self) -> bool {
        matches!(self, Kind::Miss | Kind::FalseAccept)
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    /// When (the time of the event that decided it).
    #[serde(skip)]
    pub at: Duration,
    pub kind: Kind,
    pub command: Command,
    /// The word as the recogniser heard it, when a spoken command is meant.
    pub word: Option<String>,
    pub confidence: Option<f32>,
    /// What happened, in a sentence.
    pub what: String,
}

/// What the last input was, to which the session's records belong.
#[derive(Debug, Clone, PartialEq)]
enum Cause {
    None,
    Button,
    Heard(Command),
}

/// A spoken command the session acted on.
#[derive(Debug, Clone, PartialEq)]
struct Acted {
    at: Duration,
    command: Command,
    word: Option<String>,
    confidence: Option<f32>,
}

/// The detector's state. Feed it events in order with [`Detector::push`].
#[derive(Debug, Clone)]
pub struct Detector {
    rules: Rules,
    cause: Cause,
    held: bool,
    pressed_at: Option<Duration>,
    released_at: Option<Duration>,
    /// The press already did something (a long press ended the session).
    press_done: bool,
    awaiting_ready: bool,
    /// When the user's speech stretches ended (the recent ones).
    speech: VecDeque<Duration>,
    /// Commands fired by the decider recently: (time, command, word, confidence).
    detected: VecDeque<(Duration, Command, String, f32)>,
    /// The last spoken command acted on.
    acted: Option<Acted>,
}

impl Detector {
    pub fn new(rules: Rules) -> Detector {
        Detector {
            rules,
            cause: Cause::None,
            held: false,
            pressed_at: None,
            released_at: None,
            press_done: false,
            awaiting_ready: false,
            speech: VecDeque::new(),
            detected: VecDeque::new(),
            acted: None,
        }
    }

    /// How far back the detector looks.
    fn horizon(&self) -> Duration {
        self.rules.miss_window.max(self.rules.undo_window) + Duration::from_secs(5)
    }

    fn forget_before(&mut self, at: Duration) {
        let h = self.horizon();
        let old = |t: Duration| t + h < at;
        while self.speech.front().is_some_and(|t| old(*t)) {
            self.speech.pop_front();
        }
        while self.detected.front().is_some_and(|d| old(d.0)) {
            self.detected.pop_front();
        }
    }

    /// The decider's latest firing of `cmd` in the last few seconds.
    fn detection_of(&self, cmd: Command, at: Duration) -> Option<(String, f32)> {
        self.detected
            .iter()
            .rev()
            .find(|d| d.1 == cmd && d.0 + Duration::from_secs(3) >= at)
            .map(|d| (d.2.clone(), d.3))
    }

    /// Feed one event at time `at`; get what it decided.
    pub fn push(&mut self, at: Duration, event: &Event) -> Vec<Note> {
        self.forget_before(at);
        let mut out = Vec::new();
        match event {
            Event::Speech { ms } => {
                if *ms >= self.rules.min_speech_ms {
                    self.speech.push_back(at);
                }
            }
            Event::Detected {
                command,
                word,
                confidence,
            } => self
                .detected
                .push_back((at, *command, word.clone(), *confidence)),
            Event::Said(id) => {
                self.awaiting_ready = self.rules.ready_prompts.iter().any(|p| id.starts_with(p));
            }
            Event::Input(input) => match input {
                Input::ButtonPressed => {
                    self.held = true;
                    self.press_done = false;
                    self.pressed_at = Some(at);
                    self.cause = Cause::Button;
                }
                Input::ButtonReleased => {
                    self.held = false;
                    self.released_at = Some(at);
                    self.cause = Cause::Button;
                    if self.awaiting_ready && !self.press_done {
                        // "Press the button or say next when you are ready."
                        self.awaiting_ready = false;
                        self.press_done = true;
                        let pressed = self.pressed_at.unwrap_or(at);
                        out.extend(self.pressed(at, pressed, Command::Next));
                    }
                }
                Input::Heard(cmd) => self.cause = Cause::Heard(*cmd),
                _ => self.cause = Cause::None,
            },
            Event::Journal(j) => out.extend(self.recorded(at, j)),
        }
        out
    }

    fn recorded(&mut self, at: Duration, j: &JournalEvent) -> Vec<Note> {
        match (&self.cause, j) {
            (Cause::Heard(c), JournalEvent::CommandHeard { command }) if c == command => {
                let command = *command;
                self.cause = Cause::None;
                self.awaiting_ready = false;
                self.heard(at, command)
            }
            (Cause::Heard(c), JournalEvent::CommandIgnored { command, reason }) if c == command => {
                let command = *command;
                self.cause = Cause::None;
                let (word, confidence) = self.word_of(command, at);
                let self_heard = reason == SELF_HEARD;
                vec![Note {
                    at,
                    kind: if self_heard {
                        Kind::SelfHeard
                    } else {
                        Kind::Ignored
                    },
                    command,
                    word,
                    confidence,
                    what: format!("\"{}\" was heard and ignored: {reason}", command.name()),
                }]
            }
            // What the press itself did: recorded while it is held (a long
            // press), or as it is let go (the same turn of the loop).
            (Cause::Button, _)
                if !self.press_done
                    && (self.held
                        || self
                            .released_at
                            .is_some_and(|r| at <= r + Duration::from_millis(100))) =>
            {
                let effect = match j {
                    JournalEvent::Paused { .. } => Some(Command::Pause),
                    JournalEvent::Resumed { .. } => Some(Command::Resume),
                    JournalEvent::SessionEnded {
                        reason: EndReason::EndedByUser,
                        ..
                    } if self.held => Some(Command::Stop),
                    _ => None,
                };
                let Some(effect) = effect else {
                    return Vec::new();
                };
                self.press_done = true;
                let pressed = self.pressed_at.unwrap_or(at);
                self.pressed(at, pressed, effect)
            }
            _ => Vec::new(),
        }
    }

    fn word_of(&self, command: Command, at: Duration) -> (Option<String>, Option<f32>) {
        match self.detection_of(command, at) {
            Some((w, c)) => (Some(w), Some(c)),
            None => (None, None),
        }
    }

    /// A spoken command acted on: a note, and a false accept if it undoes
    /// the one before.
    fn heard(&mut self, at: Duration, command: Command) -> Vec<Note> {
        let (word, confidence) = self.word_of(command, at);
        let mut out = vec![Note {
            at,
            kind: Kind::Heard,
            command,
            word: word.clone(),
            confidence,
            what: format!("\"{}\" was heard and acted on", command.name()),
        }];
        if let Some(undone) = self.undone(at, command, "said") {
            out.push(undone);
        }
        self.acted = Some(Acted {
            at,
            command,
            word,
            confidence,
        });
        out
    }

    /// Whether `by` (spoken or pressed at `at`) undoes the last spoken
    /// command: its false-accept note.
    fn undone(&mut self, at: Duration, by: Command, how: &str) -> Option<Note> {
        let a = self.acted.as_ref()?;
        if at.saturating_sub(a.at) > self.rules.undo_window {
            return None;
        }
        let undoes = match (a.command, by) {
            // A pause the user did not want, taken back at once.
            (Command::Stop | Command::Pause, Command::Resume) => true,
            // Going on the user did not ask for, paused at once.
            (Command::Resume, Command::Pause | Command::Stop) => true,
            // A skipped instruction, asked back at once.
            (Command::Next, Command::Repeat) => true,
            _ => false,
        };
        if !undoes {
            return None;
        }
        let a = self.acted.take()?;
        Some(Note {
            at,
            kind: Kind::FalseAccept,
            command: a.command,
            word: a.word,
            confidence: a.confidence,
            what: format!(
                "\"{}\" acted and was undone {:.1} s later: \"{}\" {how}",
                a.command.name(),
                at.saturating_sub(a.at).as_secs_f32(),
                by.name()
            ),
        })
    }

    /// The button did what `effect` would have done: pressed at `pressed`,
    /// decided at `at`.
    fn pressed(&mut self, at: Duration, pressed: Duration, effect: Command) -> Vec<Note> {
        if let Some(undone) = self.undone(pressed, effect, "by the button") {
            return vec![undone];
        }
        let window = self.rules.miss_window;
        let from = pressed.saturating_sub(window);
        let spoke = self.speech.iter().rev().find(|t| **t >= from && **t <= at);
        let acted = self.acted.as_ref().is_some_and(|a| a.at >= from);
        match spoke {
            Some(t) if !acted => {
                let ignored = self
                    .detected
                    .iter()
                    .rev()
                    .find(|d| d.0 >= from)
                    .map(|d| format!(" (the recogniser heard \"{}\")", d.2))
                    .unwrap_or_default();
                vec![Note {
                    at,
                    kind: Kind::Miss,
                    command: effect,
                    word: None,
                    confidence: None,
                    what: format!(
                        "the button did what \"{}\" does, {:.1} s after the user spoke and no spoken command acted{ignored}",
                        effect.name(),
                        pressed.saturating_sub(*t).as_secs_f32()
                    ),
                }]
            }
            _ => Vec::new(),
        }
    }
}

/// The detector run over a whole stream.
pub fn notes(events: &[(Duration, Event)], rules: &Rules) -> Vec<Note> {
    let mut d = Detector::new(rules.clone());
    events.iter().flat_map(|(at, e)| d.push(*at, e)).collect()
}

// ---------------------------------------------------------------------------
// The shell's side: what the session loop tells the detector
// ---------------------------------------------------------------------------

/// Where events for the detector go (None: nowhere), stamped when they
/// happen.
pub type Sink = Option<std::sync::mpsc::Sender<(std::time::Instant, Event)>>;

/// Tell the detector `event`, stamped now (the runtime's clock, which is
/// the system's outside tests). Never blocks.
pub fn tell(sink: &Sink, event: Event) {
    if let Some(tx) = sink {
        let _ = tx.send((tokio::time::Instant::now().into_std(), event));
    }
}

/// A journal that also tells the detector what the session records.
pub struct JournalTee<'a> {
    pub inner: &'a mut dyn crate::devices::Journal,
    pub sink: Sink,
}

impl crate::devices::Journal for JournalTee<'_> {
    fn record(&mut self, at: Duration, event: &JournalEvent) {
        tell(&self.sink, Event::Journal(event.clone()));
        self.inner.record(at, event);
    }

    fn failing_changed(&mut self) -> Option<bool> {
        self.inner.failing_changed()
    }
}

/// A speaker that also tells the detector which phrase the coach begins.
pub struct SpeakerTee<'a> {
    pub inner: &'a mut dyn crate::devices::Speaker,
    pub sink: Sink,
}

impl crate::devices::Speaker for SpeakerTee<'_> {
    fn speak(
        &mut self,
        id: crate::session::PlaybackId,
        line: &crate::session::Line,
        priority: crate::session::Priority,
    ) {
        tell(&self.sink, Event::Said(line.id.0.clone()));
        self.inner.speak(id, line, priority);
    }

    fn stop(&mut self) {
        self.inner.stop();
    }

    fn cue(&mut self, cue: crate::session::Cue) {
        self.inner.cue(cue);
    }
}

// ---------------------------------------------------------------------------
// The audio ring
// ---------------------------------------------------------------------------

/// How much audio a kept clip holds.
pub const CLIP_SECS: u32 = 10;

/// A fixed ring of the last `cap` samples.
#[derive(Debug, Clone)]
struct Ring {
    buf: Vec<i16>,
    head: usize,
    filled: usize,
}

impl Ring {
    fn new(cap: usize) -> Ring {
        Ring {
            buf: vec![0; cap.max(1)],
            head: 0,
            filled: 0,
        }
    }

    fn push(&mut self, x: &[i16]) {
        let cap = self.buf.len();
        for s in x {
            self.buf[self.head] = *s;
            self.head = (self.head + 1) % cap;
        }
        self.filled = (self.filled + x.len()).min(cap);
    }

    /// Oldest first.
    fn to_vec(&self) -> Vec<i16> {
        let cap = self.buf.len();
        let start = (self.head + cap - self.filled) % cap;
        (0..self.filled)
            .map(|i| self.buf[(start + i) % cap])
            .collect()
    }
}

/// One recogniser result, for the sidecar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeardWords {
    /// Audio position, ms from the clip's start.
    pub at_ms: i64,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub words: Vec<HeardWord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeardWord {
    pub text: String,
    /// Final results only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conf: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<i64>,
}

/// The last seconds of audio, copied out.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The microphone at 16 kHz, before echo cancellation.
    pub mic: Vec<i16>,
    /// What the recogniser was given (after echo cancellation).
    pub heard: Vec<i16>,
    /// The coach's playback paired with the microphone.
    pub reference: Vec<i16>,
    /// What the recogniser said in that time, from the clip's start.
    pub results: Vec<HeardWords>,
    /// The commands the decider fired in that time, from the clip's start.
    pub commands: Vec<super::Detection>,
}

#[derive(Debug)]
struct TapState {
    mic: Ring,
    heard: Ring,
    reference: Ring,
    /// Stream position (samples) of the end of the rings.
    pos: u64,
    /// (stream ms, hypothesis), recent ones.
    results: VecDeque<(u64, Hypothesis)>,
    detections: VecDeque<super::Detection>,
    /// The user's speech stretch going on, in frames.
    speaking: u32,
}

/// The rings, shared between the listening thread (which fills them) and
/// the evidence thread (which copies them out).
#[derive(Debug, Clone)]
pub struct Tap {
    state: Arc<Mutex<TapState>>,
    /// Where the user's speech stretches go, as they end (ms long).
    speech: Option<std::sync::mpsc::Sender<(std::time::Instant, Event)>>,
}

impl Tap {
    /// Rings of `secs` seconds at 16 kHz; `keep_audio` false keeps none (only
    /// speech stretches are reported).
    pub fn new(secs: u32, keep_audio: bool) -> Tap {
        let n = if keep_audio {
            (RATE * secs) as usize
        } else {
            1
        };
        Tap {
            state: Arc::new(Mutex::new(TapState {
                mic: Ring::new(n),
                heard: Ring::new(n),
                reference: Ring::new(n),
                pos: 0,
                results: VecDeque::new(),
                detections: VecDeque::new(),
                speaking: 0,
            })),
            speech: None,
        }
    }

    /// Report the user's speech stretches to `tx` as [`Event::Speech`].
    pub fn with_speech(mut self, tx: std::sync::mpsc::Sender<(std::time::Instant, Event)>) -> Tap {
        self.speech = Some(tx);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TapState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of what the rings hold now.
    pub fn snapshot(&self) -> Snapshot {
        let s = self.lock();
        let len = s.mic.filled as u64;
        let start_ms = (s.pos.saturating_sub(len) * 1000 / u64::from(RATE)) as i64;
        let rel = |ms: u64| ms as i64 - start_ms;
        let results = s
            .results
            .iter()
            .filter(|(at, _)| rel(*at) >= 0)
            .map(|(at, h)| match h {
                Hypothesis::Partial(words) => HeardWords {
                    at_ms: rel(*at),
                    is_final: false,
                    words: words
                        .iter()
                        .map(|w| HeardWord {
                            text: w.clone(),
                            conf: None,
                            start_ms: None,
                            end_ms: None,
                        })
                        .collect(),
                },
                Hypothesis::Final(words) => HeardWords {
                    at_ms: rel(*at),
                    is_final: true,
                    words: words
                        .iter()
                        .map(|w| HeardWord {
                            text: w.text.clone(),
                            conf: Some(w.conf),
                            start_ms: Some(rel(w.start_ms)),
                            end_ms: Some(rel(w.end_ms)),
                        })
                        .collect(),
                },
            })
            .collect();
        let start = start_ms.max(0) as u64;
        let commands = s
            .detections
            .iter()
            .filter(|d| d.start_ms >= start)
            .map(|d| super::Detection {
                start_ms: d.start_ms - start,
                end_ms: d.end_ms.saturating_sub(start),
                detected_ms: d.detected_ms.saturating_sub(start),
                ..d.clone()
            })
            .collect();
        Snapshot {
            commands,
            mic: s.mic.to_vec(),
            heard: s.heard.to_vec(),
            reference: s.reference.to_vec(),
            results,
        }
    }

    /// A command the decider fired (called on the listening thread).
    pub fn note_detection(&self, d: &super::Detection) {
        let mut s = self.lock();
        let keep_ms = u64::from(CLIP_SECS) * 1000 + 2000;
        while s
            .detections
            .front()
            .is_some_and(|x| x.detected_ms + keep_ms < d.detected_ms)
        {
            s.detections.pop_front();
        }
        s.detections.push_back(d.clone());
    }

    /// The observer for the pipeline.
    pub fn observer(&self) -> Box<dyn super::pipeline::Observer> {
        Box::new(self.clone())
    }
}

impl super::pipeline::Observer for Tap {
    fn frame(&mut self, mic: &[i16], reference: &[i16], heard: &[i16], user_speech: bool) {
        let ended = {
            let mut s = self.lock();
            s.mic.push(mic);
            s.heard.push(heard);
            s.reference.push(reference);
            s.pos += mic.len() as u64;
            if user_speech {
                s.speaking += 1;
                None
            } else {
                let n = std::mem::take(&mut s.speaking);
                (n > 0).then_some(u64::from(n) * 20)
            }
        };
        if let (Some(ms), Some(tx)) = (ended, self.speech.as_ref()) {
            let _ = tx.send((std::time::Instant::now(), Event::Speech { ms }));
        }
    }

    fn hypothesis(&mut self, h: &Hypothesis, at_ms: u64) {
        let mut s = self.lock();
        // Partials repeat themselves frame after frame: keep the changes.
        if s.results.back().is_some_and(|(_, last)| last == h) {
            return;
        }
        let keep_ms = u64::from(CLIP_SECS) * 1000 + 2000;
        while s.results.front().is_some_and(|(t, _)| t + keep_ms < at_ms) {
            s.results.pop_front();
        }
        s.results.push_back((at_ms, h.clone()));
    }
}

/// What became of one heard command word: a row of the journal's `voice`
/// table.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceRecord {
    pub at: crate::date::Stamp,
    pub kind: Kind,
    pub command: Command,
    /// The word as the recogniser heard it.
    pub word: Option<String>,
    pub confidence: Option<f32>,
    pub engine: String,
    pub lang: String,
    /// What happened, in a sentence.
    pub what: String,
    /// The kept clip's file name, if audio was kept.
    pub clip: Option<String>,
}

/// Where the field evidence writes its [`VoiceRecord`]s (the journal's
/// writer handle; a test's list).
pub trait VoiceLog: Send {
    fn voice(&self, record: VoiceRecord);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Input as I;

    fn s(x: f64) -> Duration {
        Duration::from_secs_f64(x)
    }

    fn detected(c: Command, w: &str) -> Event {
        Event::Detected {
            command: c,
            word: w.into(),
            confidence: 0.8,
        }
    }

    fn j(e: JournalEvent) -> Event {
        Event::Journal(e)
    }

    fn paused() -> Event {
        j(JournalEvent::Paused { exercise: None })
    }

    fn resumed() -> Event {
        j(JournalEvent::Resumed { exercise: None })
    }

    fn heard(c: Command) -> Vec<(f64, Event)> {
        vec![
            (0.0, detected(c, c.name())),
            (0.01, Event::Input(I::Heard(c))),
            (0.01, j(JournalEvent::CommandHeard { command: c })),
        ]
    }

    /// A short press at `t` that the session answered with `effect`.
    fn press(effect: Option<Event>) -> Vec<(f64, Event)> {
        let mut v = vec![
            (0.0, Event::Input(I::ButtonPressed)),
            (0.2, Event::Input(I::ButtonReleased)),
        ];
        if let Some(e) = effect {
            v.push((0.2, e));
        }
        v
    }

    fn at(t: f64, v: Vec<(f64, Event)>) -> Vec<(f64, Event)> {
        v.into_iter().map(|(dt, e)| (t + dt, e)).collect()
    }

    fn speech(t: f64) -> Vec<(f64, Event)> {
        vec![(t, Event::Speech { ms: 400 })]
    }

    #[test]
    fn misses_and_false_accepts_in_virtual_time() {
        use Command::*;
        type Want = Vec<(Kind, Command)>;
        type Stream = Vec<Vec<(f64, Event)>>;
        let cases: Vec<(&str, Stream, Want)> = vec![
            (
                "a pause press after speech with no command: pause missed",
                vec![speech(10.0), at(11.5, press(Some(paused())))],
                vec![(Kind::Miss, Pause)],
            ),
            (
                "a resume press after speech: resume missed",
                vec![speech(20.0), at(22.0, press(Some(resumed())))],
                vec![(Kind::Miss, Resume)],
            ),
            (
                "a press long after the speech: nothing",
                vec![speech(10.0), at(20.0, press(Some(paused())))],
                vec![],
            ),
            (
                "a press with no speech before it: nothing",
                vec![at(20.0, press(Some(paused())))],
                vec![],
            ),
            (
                "too short a sound is not speech",
                vec![
                    vec![(10.0, Event::Speech { ms: 60 })],
                    at(11.0, press(Some(paused()))),
                ],
                vec![],
            ),
            (
                "speech that gave a command which acted: no miss",
                vec![
                    speech(10.0),
                    at(10.1, heard(Next)),
                    at(11.0, press(Some(paused()))),
                ],
                vec![(Kind::Heard, Next)],
            ),
            (
                "pause heard, then a resume press: pause undone",
                vec![
                    speech(10.0),
                    at(10.1, heard(Pause)),
                    at(11.0, press(Some(resumed()))),
                ],
                vec![(Kind::Heard, Pause), (Kind::FalseAccept, Pause)],
            ),
            (
                "stop, then a resume press 3 s later: stop was a false accept",
                vec![at(30.0, heard(Stop)), at(33.0, press(Some(resumed())))],
                vec![(Kind::Heard, Stop), (Kind::FalseAccept, Stop)],
            ),
            (
                "stop, then resume by voice: stop was a false accept",
                vec![at(30.0, heard(Stop)), at(32.0, heard(Resume))],
                vec![
                    (Kind::Heard, Stop),
                    (Kind::Heard, Resume),
                    (Kind::FalseAccept, Stop),
                ],
            ),
            (
                "stop, then a resume press 20 s later: a real pause",
                vec![at(30.0, heard(Stop)), at(50.0, press(Some(resumed())))],
                vec![(Kind::Heard, Stop)],
            ),
            (
                "next, then repeat: next was a false accept",
                vec![at(40.0, heard(Next)), at(42.0, heard(Repeat))],
                vec![
                    (Kind::Heard, Next),
                    (Kind::Heard, Repeat),
                    (Kind::FalseAccept, Next),
                ],
            ),
            (
                "repeat, then next: both wanted",
                vec![at(40.0, heard(Repeat)), at(42.0, heard(Next))],
                vec![(Kind::Heard, Repeat), (Kind::Heard, Next)],
            ),
            (
                "resume, then a pause press: resume was a false accept",
                vec![at(40.0, heard(Resume)), at(41.0, press(Some(paused())))],
                vec![(Kind::Heard, Resume), (Kind::FalseAccept, Resume)],
            ),
            (
                "a command ignored as the coach's own word, then the press: a miss",
                vec![
                    speech(10.0),
                    vec![
                        (10.1, detected(Pause, "pause")),
                        (10.1, Event::Input(I::Heard(Pause))),
                        (
                            10.1,
                            j(JournalEvent::CommandIgnored {
                                command: Pause,
                                reason: SELF_HEARD.into(),
                            }),
                        ),
                    ],
                    at(11.0, press(Some(paused()))),
                ],
                vec![(Kind::SelfHeard, Pause), (Kind::Miss, Pause)],
            ),
            (
                "said twice while the coach answers: ignored, not self-heard",
                vec![vec![
                    (5.0, detected(Pain, "pain")),
                    (5.0, Event::Input(I::Heard(Pain))),
                    (
                        5.0,
                        j(JournalEvent::CommandIgnored {
                            command: Pain,
                            reason: "said again while the coach answers it: one report".into(),
                        }),
                    ),
                ]],
                vec![(Kind::Ignored, Pain)],
            ),
            (
                "the ready prompt, speech, then the press: next missed",
                vec![
                    vec![(50.0, Event::Said("sys.get_ready".into()))],
                    speech(53.0),
                    at(54.0, press(None)),
                ],
                vec![(Kind::Miss, Next)],
            ),
            (
                "the ready prompt answered by the press, no speech: nothing",
                vec![
                    vec![(50.0, Event::Said("sys.get_ready".into()))],
                    at(54.0, press(None)),
                ],
                vec![],
            ),
            (
                "a press with no effect outside the ready prompt: nothing",
                vec![
                    vec![(50.0, Event::Said("ex.bridge.movement".into()))],
                    speech(53.0),
                    at(54.0, press(None)),
                ],
                vec![],
            ),
            (
                "a long press that ended the session after speech: stop missed",
                vec![
                    speech(60.0),
                    vec![
                        (61.0, Event::Input(I::ButtonPressed)),
                        (
                            63.0,
                            j(JournalEvent::SessionEnded {
                                reason: EndReason::EndedByUser,
                                exercises_done: 1,
                                pain_events: 0,
                            }),
                        ),
                        (63.5, Event::Input(I::ButtonReleased)),
                    ],
                ],
                vec![(Kind::Miss, Stop)],
            ),
            (
                "a timer's record while the button is up is not the press's",
                vec![
                    speech(60.0),
                    press(None)
                        .into_iter()
                        .map(|(t, e)| (t + 60.5, e))
                        .collect(),
                    vec![(61.0, paused())],
                ],
                vec![],
            ),
        ];
        for (name, parts, want) in cases {
            let events: Vec<(Duration, Event)> = parts
                .into_iter()
                .flatten()
                .map(|(t, e)| (s(t), e))
                .collect();
            let got: Vec<(Kind, Command)> = notes(&events, &Rules::default())
                .iter()
                .map(|n| (n.kind, n.command))
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn notes_carry_the_word_heard() {
        let events: Vec<(Duration, Event)> = [
            at(30.0, heard(Command::Stop)),
            at(33.0, press(Some(resumed()))),
        ]
        .into_iter()
        .flatten()
        .map(|(t, e)| (s(t), e))
        .collect();
        let n = notes(&events, &Rules::default());
        assert_eq!(n[1].word.as_deref(), Some("stop"));
        assert_eq!(n[1].confidence, Some(0.8));
        assert!(n[1].what.contains("undone 3.0 s later"), "{}", n[1].what);
    }

    #[test]
    fn the_ring_keeps_the_last_samples_in_order() {
        let mut r = Ring::new(5);
        r.push(&[1, 2, 3]);
        assert_eq!(r.to_vec(), [1, 2, 3]);
        r.push(&[4, 5, 6, 7]);
        assert_eq!(r.to_vec(), [3, 4, 5, 6, 7]);
    }

    #[test]
    fn the_tap_reports_speech_and_keeps_results_relative_to_the_clip() {
        use super::super::pipeline::Observer;
        let (tx, rx) = std::sync::mpsc::channel();
        let mut tap = Tap::new(1, true).with_speech(tx);
        let frame = [100i16; 320];
        // 2 s: 1 s quiet, 0.4 s speech, 0.6 s quiet.
        for k in 0..100 {
            tap.frame(&frame, &[0; 320], &frame, (50..70).contains(&k));
            if k == 80 {
                tap.hypothesis(
                    &Hypothesis::Final(vec![super::super::Word {
                        text: "stop".into(),
                        start_ms: 1000,
                        end_ms: 1400,
                        conf: 0.7,
                    }]),
                    1620,
                );
            }
        }
        let spoken: Vec<Event> = rx.try_iter().map(|(_, e)| e).collect();
        assert_eq!(spoken, [Event::Speech { ms: 400 }]);
        let snap = tap.snapshot();
        assert_eq!(snap.mic.len(), 16_000, "the last second");
        // The clip starts at 1 s of the stream.
        assert_eq!(snap.results.len(), 1);
        assert_eq!(snap.results[0].at_ms, 620);
        assert_eq!(snap.results[0].words[0].start_ms, Some(0));
    }

    /// Says "stop" (400 ms from 1 s) once 1.6 s of audio have come.
    struct SaysStop(u64);

    impl super::super::Recognizer for SaysStop {
        fn name(&self) -> &'static str {
            "test"
        }
        fn accept(&mut self, pcm: &[i16]) -> Result<Option<Hypothesis>, super::super::VoiceError> {
            self.0 += pcm.len() as u64;
            Ok((self.0 == 1600 * 16).then(|| {
                Hypothesis::Final(vec![super::super::Word {
                    text: "stop".into(),
                    start_ms: 1000,
                    end_ms: 1400,
                    conf: 0.9,
                }])
            }))
        }
        fn flush(&mut self) -> Result<Option<Hypothesis>, super::super::VoiceError> {
            Ok(None)
        }
    }

    #[test]
    fn the_pipeline_shows_the_tap_every_frame_and_result() {
        use super::super::pipeline::{DeciderConfig, Pipeline};
        let tap = Tap::new(2, true);
        let mut p = Pipeline::new(
            Box::new(SaysStop(0)),
            None,
            crate::content::Lang::En,
            DeciderConfig::default(),
        );
        p.set_observer(tap.observer());
        // 3 s, numbered so that the ring's content can be checked.
        let audio: Vec<i16> = (0..48_000).map(|i| (i % 30_000) as i16).collect();
        let mut heard = Vec::new();
        for chunk in audio.chunks(160) {
            heard.extend(p.push(chunk, &[]).unwrap());
        }
        assert_eq!(heard.len(), 1, "the decider fired: {heard:?}");
        tap.note_detection(&heard[0]);
        let snap = tap.snapshot();
        // The last 2 s, exactly as given: what a replay runs again.
        assert_eq!(snap.mic, audio[16_000..]);
        assert_eq!(snap.heard, audio[16_000..], "no canceller: the same");
        // The clip starts 1 s into the stream: "stop" at 0..400 ms of it.
        assert_eq!(snap.results.len(), 1);
        assert_eq!(snap.results[0].at_ms, 600);
        assert_eq!(snap.results[0].words[0].start_ms, Some(0));
        assert_eq!(snap.commands.len(), 1);
        assert_eq!(
            (snap.commands[0].start_ms, snap.commands[0].end_ms),
            (0, 400)
        );
    }

    /// The tap's cost on the listening thread, printed (not asserted):
    /// `cargo test --release --lib -- --ignored --nocapture tap_cost`.
    #[test]
    #[ignore]
    fn tap_cost() {
        use super::super::pipeline::Observer;
        let frame: Vec<i16> = (0..320).map(|i| (i * 37 % 2000) as i16).collect();
        for keep in [false, true] {
            let mut tap = Tap::new(CLIP_SECS, keep);
            let secs = 600;
            let t = std::time::Instant::now();
            for k in 0..secs * 50 {
                tap.frame(&frame, &frame, &frame, k % 10 < 5);
            }
            let took = t.elapsed().as_secs_f64();
            let snap = std::time::Instant::now();
            let s = tap.snapshot();
            let snap_took = snap.elapsed().as_secs_f64();
            println!(
                "tap (keep audio {keep}): {:.1} us of CPU per second of audio ({:.5} % of a core); a snapshot of {} samples takes {:.2} ms",
                took / secs as f64 * 1e6,
                took / secs as f64 * 100.0,
                s.mic.len(),
                snap_took * 1e3
            );
        }
    }
}
