//! The voice check (`matcoach voice-check`): the coach tests itself with
//! the user. This is its flow, sans I/O: [`Check`] says what to do next
//! (say a prompt, listen for so long), is told what the pipeline heard and
//! the audio of each stretch, and at the end gives the [`Report`] and the
//! [`Take`]s for calibration. The shell (`src/cli/voice_check.rs`) and
//! [`drive`] connect it to a speaker, a microphone and the same listening
//! pipeline the daemon uses.
//!
//! The flow, in the configured language: a few seconds of quiet to measure
//! the room's noise floor; each command word three times, one at a time; a
//! few other words and sentences, among them sound-alikes the decider must
//! refuse; a phrase the coach says while listening, to measure how much of
//! its own voice reaches the microphone after echo cancellation; then the
//! spoken report. Every listening window has a fixed length in microphone
//! samples, so silence moves on after that time, and a file or a live
//! microphone gives the same timeline.
//!
//! The verdict, from the command-word takes and the other words:
//! - **poor**: fewer than two thirds of the command words heard, or "stop"
//!   or "pain" heard fewer than 2 times of 3, or more than one take taken
//!   for a command it was not (another command, or a sound-alike or
//!   sentence accepted), or nothing heard at all;
//! - **good**: at least 90 % of the command words heard, nothing taken for
//!   a command it was not, and no advice about the levels (loud enough,
//!   15 dB or more above the room's noise, no clipping, little echo);
//! - **usable**: anything in between.

use super::calibrate::{Asked, Take};
use super::{Detection, RATE};
use crate::command::Command;
use crate::content::{fill, Lang, Phrases};
use crate::session::{Line, PhraseId};
use serde::Serialize;
use std::collections::VecDeque;

/// How long the check listens after asking for a word…
pub const WORD_MS: u64 = 3000;
/// …for a sentence…
pub const SENTENCE_MS: u64 = 5000;
/// …and to the quiet room.
pub const NOISE_MS: u64 = 2000;
/// Takes per command word.
pub const TAKES: u32 = 3;
/// A detection may start this long before its window opens (the user
/// began while the prompt was ending).
const EARLY_MS: u64 = 300;

/// The check is offered at the end of each of the first this many
/// sessions, until it has been done once.
pub const OFFER_SESSIONS: u32 = 5;

/// Whether the coach offers the voice check at the end of a session:
/// `sessions_finished` counts the sessions finished so far (this one
/// included), `checks_done` the checks in the journal for this language.
/// A press accepts; doing nothing declines until the next session.
pub fn offer_after_session(sessions_finished: u32, checks_done: u32) -> bool {
    checks_done == 0 && (1..=OFFER_SESSIONS).contains(&sessions_finished)
}

/// Sound-alikes and ordinary speech the decider must refuse (from the
/// accuracy sets in `tests/voice_data/`), per language.
pub fn others(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &[
            "top",
            "paint",
            "nest",
            "pose",
            "next door",
            "the water is warm today",
        ],
        Lang::Nl => &[
            "top",
            "fijn",
            "paus",
            "verhaal",
            "volgende week",
            "het water is vandaag lekker warm",
        ],
    }
}

/// One thing the user is asked to say, and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub asked: Asked,
    /// What the coach says the user should say.
    pub text: String,
    pub takes: u32,
    /// How long to listen for each take.
    pub listen_ms: u64,
}

/// The check for `lang`: every command word [`TAKES`] times, then
/// [`others`] once each.
pub fn plan(lang: Lang) -> Vec<Item> {
    let mut items: Vec<Item> = Command::ALL
        .into_iter()
        .map(|c| Item {
            asked: Asked::Command(c),
            text: c.words(lang)[0].to_string(),
            takes: TAKES,
            listen_ms: WORD_MS,
        })
        .collect();
    items.extend(others(lang).iter().map(|t| Item {
        asked: Asked::Other(t.to_string()),
        text: t.to_string(),
        takes: 1,
        listen_ms: if t.contains(' ') && t.split(' ').count() > 2 {
            SENTENCE_MS
        } else {
            WORD_MS
        },
    }));
    items
}

/// What to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Say this, listening meanwhile (through echo cancellation, with what
    /// is played as the reference); then call [`Check::played`] with the
    /// microphone audio of the time it took.
    Say(Line),
    /// Listen for this long (ms); then call [`Check::listened`].
    Listen(u64),
    /// The check is over: see [`Check::report`].
    Done,
}

/// A stretch of microphone audio, 16 kHz mono: as the recogniser heard it
/// (after echo cancellation) and as the microphone gave it (for clipping
/// and the echo before cancellation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    /// Where it starts, ms from the start of the check's audio.
    pub start_ms: u64,
    pub clean: Vec<i16>,
    pub raw: Vec<i16>,
}

/// The levels of a stretch of audio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Levels {
    /// The loud part: the 5th-loudest 20 ms frame (the loudest 100 ms, so
    /// that a short word in a long window counts), dBFS.
    pub speech_dbfs: f32,
    /// The quiet part (10th percentile), dBFS.
    pub floor_dbfs: f32,
    /// Samples at or near full scale in the raw microphone audio.
    pub clipped_samples: u32,
}

/// The loud part of a stretch: its loudest this many 20 ms frames.
const SPEECH_FRAMES: usize = 5;
/// The quietest level reported (digital silence).
pub const SILENCE_DBFS: f32 = -100.0;
/// A raw sample this close to full scale counts as clipped.
const CLIP: i16 = 32_500;
/// This many clipped samples in a take make it clipped.
const CLIPPED_TAKE: u32 = 10;

fn db(mean_square: f32) -> f32 {
    if mean_square <= 1e-10 {
        SILENCE_DBFS
    } else {
        (10.0 * mean_square.log10()).max(SILENCE_DBFS)
    }
}

/// The levels of `clean` (20 ms frames) and the clipping in `raw`.
pub fn levels(clean: &[i16], raw: &[i16]) -> Levels {
    let frame = (RATE / 50) as usize;
    let mut frames: Vec<f32> = clean
        .chunks(frame)
        .filter(|f| f.len() == frame)
        .map(|f| db(super::mean_square(f)))
        .collect();
    frames.sort_by(f32::total_cmp);
    let pick = |p: f32| {
        frames
            .get(((frames.len() as f32 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(SILENCE_DBFS)
    };
    Levels {
        speech_dbfs: frames
            .len()
            .checked_sub(SPEECH_FRAMES)
            .and_then(|i| frames.get(i))
            .or(frames.last())
            .copied()
            .unwrap_or(SILENCE_DBFS),
        floor_dbfs: pick(0.1),
        clipped_samples: raw
            .iter()
            .filter(|s| s.unsigned_abs() >= CLIP as u16)
            .count() as u32,
    }
}

/// What became of one take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A command word, heard as itself.
    Heard,
    /// A command word, not heard although something was said.
    Missed,
    /// A command word heard as another command.
    HeardAs,
    /// Another word or sentence, rightly not taken for a command.
    Refused,
    /// Another word or sentence taken for a command.
    TakenAs,
    /// Nothing said (or nothing reached the microphone): is it on?
    NothingHeard,
}

/// One take's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TakeResult {
    /// Where the take's listening window starts in the check's audio (ms).
    pub start_ms: u64,
    pub outcome: Outcome,
    /// The command heard, if any.
    pub heard: Option<Command>,
    pub confidence: Option<f32>,
    pub speech_dbfs: f32,
    /// The speech level above the room's noise floor.
    pub snr_db: f32,
    pub clipped: bool,
}

/// One asked word or sentence with its takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordResult {
    pub asked: String,
    /// The command it should be heard as (None: it must be refused).
    pub command: Option<Command>,
    pub takes: Vec<TakeResult>,
}

impl WordResult {
    pub fn count(&self, o: Outcome) -> u32 {
        self.takes.iter().filter(|t| t.outcome == o).count() as u32
    }
}

/// The coach's own voice at the microphone while it spoke (the mean level
/// over its phrase).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Echo {
    /// Before echo cancellation (the raw microphone), dBFS.
    pub before_dbfs: f32,
    /// After it (what the recogniser hears), dBFS.
    pub after_dbfs: f32,
    /// What is left above the room's noise floor, dB (0: nothing left).
    pub residue_db: f32,
}

/// The overall judgement; see the module documentation for the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Good,
    Usable,
    Poor,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Good => "good",
            Verdict::Usable => "usable",
            Verdict::Poor => "poor",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        [Verdict::Good, Verdict::Usable, Verdict::Poor]
            .into_iter()
            .find(|v| v.name() == s)
    }
}

/// Levels that give advice.
/// Speech quieter than this (the median of the takes' loud parts) is too
/// quiet for the recogniser.
pub const QUIET_SPEECH_DBFS: f32 = -42.0;
/// Speech less than this far above the room's noise is hard to hear.
pub const LOW_SNR_DB: f32 = 15.0;
/// A room noisier than this is noisy.
pub const NOISY_FLOOR_DBFS: f32 = -45.0;
/// More of the coach's voice than this above the noise floor after echo
/// cancellation is too much.
pub const ECHO_RESIDUE_DB: f32 = 10.0;
/// Something was said in a take when its loud part is this far above the
/// room's noise floor…
const SPOKEN_DB: f32 = 6.0;
/// …and louder than this.
const SPOKEN_DBFS: f32 = -65.0;

/// Concrete advice, most important first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Advice {
    /// Nothing was heard in any take.
    NothingHeard,
    /// Some takes were silent.
    SilentTakes {
        count: u32,
    },
    TooQuiet {
        speech_dbfs: f32,
    },
    Noisy {
        floor_dbfs: f32,
        snr_db: f32,
    },
    Clipping {
        words: Vec<String>,
    },
    Echo {
        residue_db: f32,
    },
    /// A command word missed twice or more.
    Missed {
        word: String,
        times: u32,
    },
    /// A command word heard as another.
    HeardAs {
        word: String,
        as_word: String,
    },
    /// Another word taken for a command.
    TakenAs {
        word: String,
        as_word: String,
    },
}

fn times_en(n: u32) -> String {
    match n {
        1 => "once".into(),
        2 => "twice".into(),
        n => format!("{n} times"),
    }
}

impl Advice {
    /// For the terminal (English, like the other command-line messages).
    pub fn text(&self) -> String {
        match self {
            Advice::NothingHeard => "nothing heard: is the microphone on? Check that it is plugged in and not muted (`alsamixer`, F4), and run `matcoach doctor`".into(),
            Advice::SilentTakes { count } => format!("nothing heard in {count} take{}: is the microphone on? Say each word right after the coach asks for it", if *count == 1 { "" } else { "s" }),
            Advice::TooQuiet { speech_dbfs } => format!("the microphone is too far away or too quiet: your speech reached it at {speech_dbfs:.0} dBFS; put it within a metre of your head on the mat, or raise its input level (`alsamixer`, F4)"),
            Advice::Noisy { floor_dbfs, snr_db } => format!("the room is noisy: its noise is at {floor_dbfs:.0} dBFS and your speech only {snr_db:.0} dB above it; turn off a radio or TV, keep the microphone away from fans, or move it closer to you"),
            Advice::Clipping { words } => format!("the microphone is overloaded (clipping on {}): lower its input level (`alsamixer`, F4) or move it a little further away", words.join(", ")),
            Advice::Echo { residue_db } => format!("too much of the coach's own voice reaches the microphone ({residue_db:.0} dB above the room's noise after echo cancellation): turn the speaker down (audio.volume) or put it further from the microphone"),
            Advice::Missed { word, times } => format!("'{word}' was missed {}: say it on its own, a little longer", times_en(*times)),
            Advice::HeardAs { word, as_word } => format!("'{word}' was heard as '{as_word}': say it clearly on its own, with a short pause before it"),
            Advice::TakenAs { word, as_word } => format!("'{word}' was taken for '{as_word}': words that sound like a command may make the coach react; raise voice.min_confidence if this happens while you exercise"),
        }
    }

    /// Spoken, in `lang`.
    pub fn spoken(&self, p: &Phrases, lang: Lang) -> String {
        let t = |x: &crate::content::Template| x.get(lang).to_string();
        match self {
            Advice::NothingHeard | Advice::SilentTakes { .. } => t(&p.voice_check_nothing),
            Advice::TooQuiet { .. } => t(&p.voice_check_too_quiet),
            Advice::Noisy { .. } => t(&p.voice_check_noisy),
            Advice::Clipping { .. } => t(&p.voice_check_clipping),
            Advice::Echo { .. } => t(&p.voice_check_echo),
            Advice::Missed { word, times } => fill(
                p.voice_check_missed.get(lang),
                &[("word", word), ("n", times)],
            ),
            Advice::HeardAs { word, as_word } => fill(
                p.voice_check_heard_as.get(lang),
                &[("word", word), ("other", as_word)],
            ),
            Advice::TakenAs { word, as_word } => fill(
                p.voice_check_taken_as.get(lang),
                &[("word", word), ("other", as_word)],
            ),
        }
    }
}

/// The check's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub lang: Lang,
    /// The quiet room, after the front end, dBFS.
    pub noise_floor_dbfs: f32,
    pub echo: Option<Echo>,
    pub words: Vec<WordResult>,
    /// Command-word takes heard as themselves, of all command-word takes.
    pub commands_heard: u32,
    pub commands_asked: u32,
    /// Takes taken for a command they were not.
    pub false_accepts: u32,
    pub advice: Vec<Advice>,
    pub verdict: Verdict,
}

impl Report {
    /// The report for the terminal.
    pub fn text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "voice check ({}): {} of {} command words heard, {} false accept{}; verdict: {}\n",
            self.lang,
            self.commands_heard,
            self.commands_asked,
            self.false_accepts,
            if self.false_accepts == 1 { "" } else { "s" },
            self.verdict.name()
        ));
        s.push_str(&format!(
            "room noise floor: {:.0} dBFS\n",
            self.noise_floor_dbfs
        ));
        match &self.echo {
            Some(e) => s.push_str(&format!(
                "coach's voice at the microphone: {:.0} dBFS before echo cancellation, {:.0} dBFS after ({:.0} dB above the noise floor)\n",
                e.before_dbfs, e.after_dbfs, e.residue_db
            )),
            None => s.push_str("coach's voice at the microphone: not measured\n"),
        }
        s.push_str("\n  word                       takes\n");
        for w in &self.words {
            let takes: Vec<String> = w
                .takes
                .iter()
                .map(|t| {
                    let what = match (t.outcome, t.heard) {
                        (Outcome::Heard, _) => "heard".to_string(),
                        (Outcome::Missed, _) => "missed".into(),
                        (Outcome::HeardAs, Some(c)) => format!("heard as {}", c.name()),
                        (Outcome::TakenAs, Some(c)) => format!("TAKEN AS {}", c.name()),
                        (Outcome::Refused, _) => "refused".into(),
                        (Outcome::NothingHeard, _) => "nothing heard".into(),
                        (o, _) => format!("{o:?}"),
                    };
                    let conf = t
                        .confidence
                        .map(|c| format!(" conf {c:.2}"))
                        .unwrap_or_default();
                    let clip = if t.clipped { " CLIPPED" } else { "" };
                    format!(
                        "{what}{conf} ({:.0} dBFS, SNR {:.0} dB{clip})",
                        t.speech_dbfs, t.snr_db
                    )
                })
                .collect();
            s.push_str(&format!("  {:<26} {}\n", w.asked, takes.join("; ")));
        }
        if !self.advice.is_empty() {
            s.push_str("\nadvice:\n");
            for a in &self.advice {
                s.push_str(&format!("  - {}\n", a.text()));
            }
        }
        s
    }

    /// What the coach says at the end: the count, the verdict and at most
    /// two pieces of advice.
    pub fn spoken(&self, p: &Phrases, lang: Lang) -> Vec<Line> {
        let line = |id: &str, text: String| Line {
            id: PhraseId(format!("sys.{id}")),
            text,
        };
        let mut out = vec![line(
            "voice_check_result",
            fill(
                p.voice_check_result.get(lang),
                &[
                    ("heard", &self.commands_heard),
                    ("total", &self.commands_asked),
                ],
            ),
        )];
        out.push(line(
            &format!("voice_check_{}", self.verdict.name()),
            match self.verdict {
                Verdict::Good => p.voice_check_good.get(lang),
                Verdict::Usable => p.voice_check_usable.get(lang),
                Verdict::Poor => p.voice_check_poor.get(lang),
            }
            .to_string(),
        ));
        for a in self.advice.iter().take(2) {
            out.push(line("voice_check_advice", a.spoken(p, lang)));
        }
        out
    }
}

/// A step still to come.
#[derive(Debug, Clone)]
enum Pending {
    Say { line: Line, echo: bool },
    Listen { ms: u64, take: Option<usize> },
}

/// What the last step was, waiting for its audio.
#[derive(Debug, Clone, Copy)]
enum Awaiting {
    Said { echo: bool },
    Listened { take: Option<usize> },
}

#[derive(Debug, Clone)]
struct TakeState {
    item: usize,
    start_ms: u64,
    end_ms: u64,
    levels: Option<Levels>,
    clean: Vec<i16>,
}

/// The voice check's flow; see the module documentation.
#[derive(Debug, Clone)]
pub struct Check {
    lang: Lang,
    phrases: Phrases,
    items: Vec<Item>,
    pending: VecDeque<Pending>,
    awaiting: Option<Awaiting>,
    takes: Vec<TakeState>,
    noise: Option<Levels>,
    /// The mean level while the coach spoke, before and after echo
    /// cancellation (dBFS).
    echo: Option<(f32, f32)>,
    report: Option<Report>,
    /// The audio position after the last window (ms).
    pos_ms: u64,
    /// Everything the pipeline heard, attributed to takes at the end.
    detections: Vec<Detection>,
}

impl Check {
    /// The check of `items` (see [`plan`]), spoken in `lang`.
    pub fn new(lang: Lang, phrases: &Phrases, items: Vec<Item>) -> Check {
        let p = phrases;
        let say = |id: &str, text: String| Pending::Say {
            line: Line {
                id: PhraseId(format!("sys.{id}")),
                text,
            },
            echo: false,
        };
        let mut pending = VecDeque::new();
        pending.push_back(say(
            "voice_check_intro",
            p.voice_check_intro.get(lang).into(),
        ));
        pending.push_back(say(
            "voice_check_quiet",
            p.voice_check_quiet.get(lang).into(),
        ));
        pending.push_back(Pending::Listen {
            ms: NOISE_MS,
            take: None,
        });
        let mut takes = Vec::new();
        for (i, item) in items.iter().enumerate() {
            for k in 0..item.takes {
                let (id, template) = match (&item.asked, k) {
                    (Asked::Command(_), 0) => ("voice_check_say", &p.voice_check_say),
                    (Asked::Command(_), 1) => ("voice_check_again", &p.voice_check_again),
                    (Asked::Command(_), _) => ("voice_check_once_more", &p.voice_check_once_more),
                    (Asked::Other(_), _) => ("voice_check_say_other", &p.voice_check_say_other),
                };
                pending.push_back(say(
                    &format!("{id}.{}", item.text.replace(' ', "_")),
                    fill(template.get(lang), &[("word", &item.text)]),
                ));
                pending.push_back(Pending::Listen {
                    ms: item.listen_ms,
                    take: Some(takes.len()),
                });
                takes.push(TakeState {
                    item: i,
                    start_ms: 0,
                    end_ms: 0,
                    levels: None,
                    clean: Vec::new(),
                });
            }
        }
        pending.push_back(Pending::Say {
            line: Line {
                id: PhraseId("sys.voice_check_echo_test".into()),
                text: p.voice_check_echo_test.get(lang).into(),
            },
            echo: true,
        });
        pending.push_back(say("voice_check_done", p.voice_check_done.get(lang).into()));
        Check {
            lang,
            phrases: phrases.clone(),
            items,
            pending,
            awaiting: None,
            takes,
            noise: None,
            echo: None,
            report: None,
            pos_ms: 0,
            detections: Vec::new(),
        }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// What to do next. Each `Say` and `Listen` must be answered with
    /// [`Check::played`] or [`Check::listened`] before the next call.
    pub fn next_step(&mut self) -> Step {
        if self.awaiting.is_some() {
            // The driver skipped the audio: go on as if it were silent.
            let start_ms = self.pos_ms;
            self.window(Window {
                start_ms,
                ..Window::default()
            });
        }
        if self.pending.is_empty() && self.report.is_none() {
            let report = self.build_report();
            for line in report.spoken(&self.phrases, self.lang) {
                self.pending.push_back(Pending::Say { line, echo: false });
            }
            self.report = Some(report);
        }
        match self.pending.pop_front() {
            Some(Pending::Say { line, echo }) => {
                self.awaiting = Some(Awaiting::Said { echo });
                Step::Say(line)
            }
            Some(Pending::Listen { ms, take }) => {
                self.awaiting = Some(Awaiting::Listened { take });
                Step::Listen(ms)
            }
            None => Step::Done,
        }
    }

    /// The microphone's audio while the last `Say` was played.
    pub fn played(&mut self, w: Window) {
        self.window(w);
    }

    /// The microphone's audio of the last `Listen`.
    pub fn listened(&mut self, w: Window) {
        self.window(w);
    }

    fn window(&mut self, w: Window) {
        let len_ms = w.clean.len() as u64 * 1000 / u64::from(RATE);
        self.pos_ms = w.start_ms + len_ms;
        match self.awaiting.take() {
            Some(Awaiting::Said { echo: true }) => {
                // The mean over the whole phrase: the coach speaks through
                // most of it.
                let mean = |x: &[i16]| db(super::mean_square(x));
                self.echo = Some((mean(&w.raw), mean(&w.clean)));
            }
            Some(Awaiting::Said { echo: false }) | None => {}
            Some(Awaiting::Listened { take: None }) => {
                self.noise = Some(levels(&w.clean, &w.raw));
            }
            Some(Awaiting::Listened { take: Some(i) }) => {
                if let Some(t) = self.takes.get_mut(i) {
                    t.start_ms = w.start_ms;
                    t.end_ms = w.start_ms + len_ms;
                    t.levels = Some(levels(&w.clean, &w.raw));
                    t.clean = w.clean;
                }
            }
        }
    }

    /// A command the pipeline heard, at any time (also while the take it
    /// belongs to is still being listened to): it belongs to the take in
    /// whose window it started, or to none (the coach's own words).
    pub fn heard(&mut self, d: &Detection) {
        self.detections.push(d.clone());
    }

    /// The report, once the check is over (after the last `Listen`).
    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref()
    }

    /// The takes, for calibration: what was asked, and the audio as the
    /// recogniser heard it.
    pub fn into_takes(self) -> Vec<Take> {
        let items = self.items;
        self.takes
            .into_iter()
            .filter_map(|t| {
                Some(Take {
                    asked: items.get(t.item)?.asked.clone(),
                    pcm: t.clean,
                })
            })
            .collect()
    }

    fn build_report(&self) -> Report {
        let noise = self.noise.map_or_else(
            || {
                // No quiet window: the quietest part of the takes.
                self.takes
                    .iter()
                    .filter_map(|t| t.levels.map(|l| l.floor_dbfs))
                    .fold(SILENCE_DBFS, f32::max)
            },
            |l| l.speech_dbfs.max(l.floor_dbfs),
        );
        let mut words: Vec<WordResult> = self
            .items
            .iter()
            .map(|it| WordResult {
                asked: it.text.clone(),
                command: match it.asked {
                    Asked::Command(c) => Some(c),
                    Asked::Other(_) => None,
                },
                takes: Vec::new(),
            })
            .collect();
        for t in &self.takes {
            let Some(w) = words.get_mut(t.item) else {
                continue;
            };
            let mine: Vec<&Detection> = self
                .detections
                .iter()
                .filter(|d| {
                    t.end_ms > t.start_ms
                        && d.start_ms + EARLY_MS >= t.start_ms
                        && d.start_ms < t.end_ms
                })
                .collect();
            let lv = t.levels.unwrap_or(Levels {
                speech_dbfs: SILENCE_DBFS,
                floor_dbfs: SILENCE_DBFS,
                clipped_samples: 0,
            });
            let spoken = lv.speech_dbfs >= SPOKEN_DBFS && lv.speech_dbfs >= noise + SPOKEN_DB;
            let right = w
                .command
                .and_then(|c| mine.iter().copied().find(|d| d.command == c));
            let first = mine.first().copied();
            let (outcome, heard) = match (w.command, right, first) {
                (Some(c), Some(_), _) => (Outcome::Heard, Some(c)),
                (Some(_), None, Some(d)) => (Outcome::HeardAs, Some(d.command)),
                (None, _, Some(d)) => (Outcome::TakenAs, Some(d.command)),
                (_, _, None) if !spoken => (Outcome::NothingHeard, None),
                (Some(_), None, None) => (Outcome::Missed, None),
                (None, _, None) => (Outcome::Refused, None),
            };
            let confidence = right.or(first).map(|d| d.confidence);
            w.takes.push(TakeResult {
                start_ms: t.start_ms,
                outcome,
                heard,
                confidence,
                speech_dbfs: lv.speech_dbfs,
                snr_db: lv.speech_dbfs - noise,
                clipped: lv.clipped_samples >= CLIPPED_TAKE,
            });
        }
        let echo = self.echo.map(|(raw, clean)| Echo {
            before_dbfs: raw,
            after_dbfs: clean,
            residue_db: (clean - noise).max(0.0),
        });
        let commands = || words.iter().filter(|w| w.command.is_some());
        let commands_heard: u32 = commands().map(|w| w.count(Outcome::Heard)).sum();
        let commands_asked: u32 = commands().map(|w| w.takes.len() as u32).sum();
        let false_accepts: u32 = words
            .iter()
            .map(|w| w.count(Outcome::HeardAs) + w.count(Outcome::TakenAs))
            .sum();
        let all: Vec<&TakeResult> = words.iter().flat_map(|w| &w.takes).collect();
        let silent = all
            .iter()
            .filter(|t| t.outcome == Outcome::NothingHeard)
            .count() as u32;
        let mut advice = Vec::new();
        let nothing = !all.is_empty() && silent == all.len() as u32;
        if nothing {
            advice.push(Advice::NothingHeard);
        } else {
            let mut voiced: Vec<&TakeResult> = all
                .iter()
                .copied()
                .filter(|t| t.outcome != Outcome::NothingHeard)
                .collect();
            voiced.sort_by(|a, b| a.speech_dbfs.total_cmp(&b.speech_dbfs));
            let median = voiced.get(voiced.len() / 2).copied();
            if let Some(m) = median {
                if m.speech_dbfs < QUIET_SPEECH_DBFS {
                    advice.push(Advice::TooQuiet {
                        speech_dbfs: m.speech_dbfs,
                    });
                } else if m.snr_db < LOW_SNR_DB || noise > NOISY_FLOOR_DBFS {
                    advice.push(Advice::Noisy {
                        floor_dbfs: noise,
                        snr_db: m.snr_db,
                    });
                }
            }
            let clipped: Vec<String> = words
                .iter()
                .filter(|w| w.takes.iter().any(|t| t.clipped))
                .map(|w| w.asked.clone())
                .collect();
            if !clipped.is_empty() {
                advice.push(Advice::Clipping { words: clipped });
            }
            if silent > 0 {
                advice.push(Advice::SilentTakes { count: silent });
            }
        }
        if let Some(e) = echo.filter(|e| e.residue_db > ECHO_RESIDUE_DB) {
            advice.push(Advice::Echo {
                residue_db: e.residue_db,
            });
        }
        let levels_ok = advice.is_empty();
        for w in &words {
            let missed = w.count(Outcome::Missed);
            if w.command.is_some() && missed >= 2 {
                advice.push(Advice::Missed {
                    word: w.asked.clone(),
                    times: missed,
                });
            }
            for t in &w.takes {
                let (Some(c), true) = (
                    t.heard,
                    matches!(t.outcome, Outcome::HeardAs | Outcome::TakenAs),
                ) else {
                    continue;
                };
                let as_word = c.words(self.lang)[0].to_string();
                let a = match t.outcome {
                    Outcome::HeardAs => Advice::HeardAs {
                        word: w.asked.clone(),
                        as_word,
                    },
                    _ => Advice::TakenAs {
                        word: w.asked.clone(),
                        as_word,
                    },
                };
                if !advice.contains(&a) {
                    advice.push(a);
                }
            }
        }
        let heard_of = |c: Command| {
            words
                .iter()
                .filter(|w| w.command == Some(c))
                .map(|w| (w.count(Outcome::Heard), w.takes.len() as u32))
                .fold((0, 0), |(a, b), (x, y)| (a + x, b + y))
        };
        let urgent_ok = [Command::Stop, Command::Pain].into_iter().all(|c| {
            let (h, n) = heard_of(c);
            n == 0 || h * 3 >= n * 2
        });
        let share = if commands_asked == 0 {
            0.0
        } else {
            commands_heard as f32 / commands_asked as f32
        };
        let verdict = if nothing || share < 2.0 / 3.0 || !urgent_ok || false_accepts > 1 {
            Verdict::Poor
        } else if share >= 0.9 && false_accepts == 0 && levels_ok {
            Verdict::Good
        } else {
            Verdict::Usable
        };
        Report {
            lang: self.lang,
            noise_floor_dbfs: noise,
            echo,
            words,
            commands_heard,
            commands_asked,
            false_accepts,
            advice,
            verdict,
        }
    }
}

/// What [`drive`] needs from the outside world: a voice and a microphone.
pub trait CheckAudio {
    /// Play `line`; what is played, as 16 kHz mono (the echo reference,
    /// and how long to listen meanwhile).
    fn say(&mut self, line: &Line) -> Result<Vec<i16>, super::VoiceError>;
    /// The next microphone samples, 16 kHz mono: at least one, at most
    /// `max`. Must not wait forever: a microphone that gives nothing for
    /// seconds is an error.
    fn mic(&mut self, max: usize) -> Result<Vec<i16>, super::VoiceError>;
    /// What the check is doing, for the terminal.
    fn show(&mut self, _what: &str) {}
}

/// The pipeline's cleaned audio must be kept for the takes: see
/// [`super::pipeline::Pipeline::keep_cleaned`].
fn feed(
    pipeline: &mut super::pipeline::Pipeline,
    check: &mut Check,
    audio: &mut dyn CheckAudio,
    pushed: &mut u64,
    (n, reference): (usize, &[i16]),
) -> Result<Window, super::VoiceError> {
    let start_ms = *pushed * 1000 / u64::from(RATE);
    *pushed += n as u64;
    let mut raw = Vec::with_capacity(n);
    while raw.len() < n {
        let got = audio.mic(n - raw.len())?;
        let from = raw.len().min(reference.len());
        let to = (raw.len() + got.len()).min(reference.len());
        for d in pipeline.push(&got, &reference[from..to])? {
            check.heard(&d);
        }
        raw.extend(got);
    }
    let mut clean = pipeline.take_cleaned();
    // The canceller's output lags the input by up to a frame: pad to the
    // window's length.
    clean.resize(raw.len(), 0);
    Ok(Window {
        start_ms,
        clean,
        raw,
    })
}

/// Run the whole check: each prompt through `audio`, the microphone
/// through `pipeline` (with the prompt as the echo reference while it
/// plays). Returns the report and the takes.
pub fn drive(
    mut check: Check,
    pipeline: &mut super::pipeline::Pipeline,
    audio: &mut dyn CheckAudio,
) -> Result<(Report, Vec<Take>), super::VoiceError> {
    pipeline.keep_cleaned(true);
    let mut pushed = 0u64;
    loop {
        match check.next_step() {
            Step::Say(line) => {
                audio.show(&format!("coach: {}", line.text));
                let played = audio.say(&line)?;
                let w = feed(
                    pipeline,
                    &mut check,
                    audio,
                    &mut pushed,
                    (played.len(), &played),
                )?;
                check.played(w);
            }
            Step::Listen(ms) => {
                audio.show(&format!("(listening {:.1} s)", ms as f64 / 1000.0));
                let n = (ms * u64::from(RATE) / 1000) as usize;
                let w = feed(pipeline, &mut check, audio, &mut pushed, (n, &[]))?;
                check.listened(w);
            }
            Step::Done => break,
        }
    }
    for d in pipeline.finish()? {
        check.heard(&d);
    }
    let report = match check.report() {
        Some(r) => r.clone(),
        None => {
            return Err(super::VoiceError::Engine {
                engine: "voice check",
                reason: "the check ended without a report".into(),
            })
        }
    };
    Ok((report, check.into_takes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrases() -> Phrases {
        crate::content::load_dir(std::path::Path::new("content"))
            .unwrap()
            .phrases
    }

    /// `ms` of faint noise (amplitude `noise`) with, when `speech` > 0, a
    /// 600 ms tone of that amplitude in it.
    fn audio(ms: u64, noise: f32, speech: f32, seed: u32) -> Vec<i16> {
        let n = (ms * 16) as usize;
        let mut s = seed.wrapping_add(1);
        (0..n)
            .map(|i| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let r = (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
                let t = i as f32;
                let on = speech > 0.0 && (8000..8000 + 9600).contains(&i);
                let v = r * noise + if on { speech * (t * 0.06).sin() } else { 0.0 };
                v.clamp(-32768.0, 32767.0) as i16
            })
            .collect()
    }

    /// How the user answers one take: (command heard, speech amplitude).
    type Answer = (Option<Command>, f32);
    /// An answer for each take (its number, what was asked).
    type Answers = Box<dyn Fn(usize, &Asked) -> Answer>;

    /// A window of `samples` from `start_ms` on, heard as the microphone
    /// gave them (no echo to cancel).
    fn heard_as_given(start_ms: u64, samples: Vec<i16>) -> Window {
        Window {
            start_ms,
            raw: samples.clone(),
            clean: samples,
        }
    }

    /// Run the flow with `answer` for every take (take number, what was
    /// asked), in a room with noise of amplitude `noise`.
    fn run(lang: Lang, noise: f32, answer: impl Fn(usize, &Asked) -> Answer) -> (Report, Check) {
        let p = phrases();
        let items = plan(lang);
        let mut c = Check::new(lang, &p, items.clone());
        let asked: Vec<Asked> = items
            .iter()
            .flat_map(|i| std::iter::repeat_n(i.asked.clone(), i.takes as usize))
            .collect();
        let (mut pos, mut take, mut seed) = (0u64, 0usize, 0u32);
        let mut said = Vec::new();
        loop {
            seed += 1;
            match c.next_step() {
                Step::Say(line) => {
                    said.push(line.text);
                    let w = audio(1000, noise, 0.0, seed);
                    c.played(heard_as_given(pos, w));
                    pos += 1000;
                }
                Step::Listen(ms) if ms == NOISE_MS => {
                    let w = audio(ms, noise, 0.0, seed);
                    c.listened(heard_as_given(pos, w));
                    pos += ms;
                }
                Step::Listen(ms) => {
                    let (cmd, speech) = answer(take, &asked[take]);
                    let w = audio(ms, noise, speech, seed);
                    c.listened(heard_as_given(pos, w));
                    if let Some(command) = cmd {
                        c.heard(&Detection {
                            command,
                            word: command.words(lang)[0].into(),
                            start_ms: pos + 500,
                            end_ms: pos + 1100,
                            detected_ms: pos + 1300,
                            confidence: 0.8,
                        });
                    }
                    pos += ms;
                    take += 1;
                }
                Step::Done => break,
            }
        }
        assert_eq!(take, asked.len());
        let r = c.report().unwrap().clone();
        (r, c)
    }

    /// The right answer: the command for a command word, nothing for the
    /// others; at a good level.
    fn right(_: usize, a: &Asked) -> Answer {
        match a {
            Asked::Command(c) => (Some(*c), 6000.0),
            Asked::Other(_) => (None, 6000.0),
        }
    }

    /// The right answer but for the takes numbered in `takes`, which get
    /// `answer`.
    fn but_at(takes: &'static [usize], answer: Answer) -> Answers {
        Box::new(move |i, a| {
            if takes.contains(&i) {
                answer
            } else {
                right(i, a)
            }
        })
    }

    fn kinds(r: &Report) -> Vec<String> {
        r.advice
            .iter()
            .map(|a| {
                serde_json::to_value(a).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn the_advice_and_verdict_follow_what_was_heard() {
        // Take numbers: next 0-2, pain 3-5, stop 6-8, pause 9-11, resume
        // 12-14, repeat 15-17, then the others ("top" is 18).
        type Case = (
            &'static str,
            f32,
            Answers,
            u32,
            u32,
            Vec<&'static str>,
            Verdict,
        );
        let cases: Vec<Case> = vec![
            (
                "all heard",
                30.0,
                Box::new(right),
                18,
                0,
                vec![],
                Verdict::Good,
            ),
            (
                "next missed twice",
                30.0,
                but_at(&[0, 1], (None, 6000.0)),
                16,
                0,
                vec!["missed"],
                Verdict::Usable,
            ),
            (
                "pause heard as pain",
                30.0,
                but_at(&[9], (Some(Command::Pain), 6000.0)),
                17,
                1,
                vec!["heard_as"],
                Verdict::Usable,
            ),
            (
                "a sound-alike taken for stop",
                30.0,
                but_at(&[18], (Some(Command::Stop), 6000.0)),
                18,
                1,
                vec!["taken_as"],
                Verdict::Usable,
            ),
            (
                "silence",
                30.0,
                Box::new(|_, _| (None, 0.0)),
                0,
                0,
                vec!["nothing_heard"],
                Verdict::Poor,
            ),
            (
                "two silent takes",
                30.0,
                but_at(&[15, 16], (None, 0.0)),
                16,
                0,
                vec!["silent_takes"],
                Verdict::Usable,
            ),
            (
                "clipping",
                30.0,
                Box::new(|_, a| (right(0, a).0, 40_000.0)),
                18,
                0,
                vec!["clipping"],
                Verdict::Usable,
            ),
            (
                "low SNR",
                1500.0,
                Box::new(|_, a| (right(0, a).0, 4000.0)),
                18,
                0,
                vec!["noisy"],
                Verdict::Usable,
            ),
            (
                "too quiet",
                3.0,
                Box::new(|_, a| (right(0, a).0, 200.0)),
                18,
                0,
                vec!["too_quiet"],
                Verdict::Usable,
            ),
            (
                "stop missed twice",
                30.0,
                but_at(&[6, 7], (None, 6000.0)),
                16,
                0,
                vec!["missed"],
                Verdict::Poor,
            ),
            (
                "half missed",
                30.0,
                Box::new(|i, a| {
                    if i % 2 == 0 {
                        (None, 6000.0)
                    } else {
                        right(i, a)
                    }
                }),
                9,
                0,
                vec!["missed", "missed", "missed"],
                Verdict::Poor,
            ),
        ];
        for (name, noise, answer, heard, false_accepts, advice, verdict) in cases {
            let (r, _) = run(Lang::En, noise, answer);
            assert_eq!(r.commands_asked, 18, "{name}");
            assert_eq!(r.commands_heard, heard, "{name}: {}", r.text());
            assert_eq!(r.false_accepts, false_accepts, "{name}: {}", r.text());
            assert_eq!(kinds(&r), advice, "{name}: {}", r.text());
            assert_eq!(r.verdict, verdict, "{name}: {}", r.text());
        }
    }

    #[test]
    fn each_take_says_what_became_of_it() {
        let (r, c) = run(Lang::En, 30.0, |i, a| match i {
            0 => (None, 6000.0),
            1 => (Some(Command::Pain), 6000.0),
            2 => (None, 0.0),
            _ => right(i, a),
        });
        let next = &r.words[0];
        assert_eq!(next.asked, "next");
        let outcomes: Vec<Outcome> = next.takes.iter().map(|t| t.outcome).collect();
        assert_eq!(
            outcomes,
            [Outcome::Missed, Outcome::HeardAs, Outcome::NothingHeard]
        );
        assert_eq!(next.takes[1].heard, Some(Command::Pain));
        assert_eq!(next.takes[1].confidence, Some(0.8));
        let pain = &r.words[1].takes[0];
        assert_eq!(pain.outcome, Outcome::Heard);
        // Speech at 6000 (about −18 dBFS) over noise at 30 (about −65).
        assert!((-22.0..-14.0).contains(&pain.speech_dbfs), "{pain:?}");
        assert!(pain.snr_db > 35.0, "{pain:?}");
        assert!(!pain.clipped);
        let top = r.words.iter().find(|w| w.asked == "top").unwrap();
        assert_eq!(top.takes[0].outcome, Outcome::Refused);
        assert!(r.echo.is_some_and(|e| e.residue_db < 3.0), "{:?}", r.echo);
        assert!(r.noise_floor_dbfs < -55.0, "{}", r.noise_floor_dbfs);
        // The takes for calibration: every one, with its audio.
        let takes = c.into_takes();
        assert_eq!(takes.len(), 18 + others(Lang::En).len());
        assert_eq!(takes[0].asked, Asked::Command(Command::Next));
        assert_eq!(takes[0].pcm.len(), (WORD_MS * 16) as usize);
        assert_eq!(takes[18].asked, Asked::Other("top".into()));
        // The terminal shows it all.
        let text = r.text();
        for part in [
            "missed",
            "heard as pain",
            "nothing heard",
            "refused",
            "noise floor",
            "advice:",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }

    #[test]
    fn the_coach_hears_itself_only_in_its_own_words() {
        // A detection outside every take's window (the coach saying "next"
        // in its prompt) belongs to no take.
        let p = phrases();
        let mut c = Check::new(Lang::En, &p, plan(Lang::En));
        let mut pos = 0;
        let mut first_take = None;
        while let Step::Say(_) | Step::Listen(_) = {
            let s = c.next_step();
            match &s {
                Step::Say(_) => {
                    c.heard(&Detection {
                        command: Command::Next,
                        word: "next".into(),
                        start_ms: pos + 100,
                        end_ms: pos + 400,
                        detected_ms: pos + 500,
                        confidence: 0.9,
                    });
                    c.played(heard_as_given(pos, vec![0; 16_000]));
                    pos += 1000;
                }
                Step::Listen(ms) => {
                    if *ms == WORD_MS && first_take.is_none() {
                        first_take = Some(pos);
                    }
                    c.listened(heard_as_given(pos, vec![0; (*ms * 16) as usize]));
                    pos += ms;
                }
                Step::Done => {}
            }
            s
        } {}
        let r = c.report().unwrap();
        assert_eq!(r.false_accepts, 0, "{}", r.text());
        assert_eq!(r.commands_heard, 0);
    }

    #[test]
    fn the_dutch_flow_asks_for_the_dutch_words_and_reports_in_dutch() {
        let p = phrases();
        let items = plan(Lang::Nl);
        let words: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(
            words[..6],
            ["volgende", "pijn", "stop", "pauze", "verder", "herhaal"]
        );
        assert!(words.contains(&"fijn") && words.contains(&"volgende week"));
        let mut c = Check::new(Lang::Nl, &p, items);
        let mut prompts = Vec::new();
        let mut pos = 0;
        let mut take = 0;
        loop {
            match c.next_step() {
                Step::Say(line) => {
                    prompts.push(line.text);
                    c.played(heard_as_given(pos, vec![0; 16_000]));
                    pos += 1000;
                }
                Step::Listen(ms) => {
                    let w = audio(ms, 30.0, if ms == NOISE_MS { 0.0 } else { 6000.0 }, take);
                    c.listened(heard_as_given(pos, w));
                    // "volgende" is missed twice; the rest is heard right.
                    if ms != NOISE_MS && (2..18).contains(&take) {
                        let cmd = Command::ALL[(take / 3) as usize];
                        c.heard(&Detection {
                            command: cmd,
                            word: cmd.words(Lang::Nl)[0].into(),
                            start_ms: pos + 500,
                            end_ms: pos + 1000,
                            detected_ms: pos + 1200,
                            confidence: 0.7,
                        });
                    }
                    if ms != NOISE_MS {
                        take += 1;
                    }
                    pos += ms;
                }
                Step::Done => break,
            }
        }
        assert!(
            prompts.contains(&"Zeg: volgende.".to_string()),
            "{prompts:#?}"
        );
        assert!(
            prompts.contains(&"Nog eens: pijn.".to_string()),
            "{prompts:#?}"
        );
        assert!(
            prompts.contains(&"Zeg nu: volgende week.".to_string()),
            "{prompts:#?}"
        );
        let r = c.report().unwrap();
        assert_eq!(r.verdict, Verdict::Usable, "{}", r.text());
        let spoken: Vec<String> = r.spoken(&p, Lang::Nl).into_iter().map(|l| l.text).collect();
        assert_eq!(
            spoken,
            [
                "Ik heb 16 van de 18 opdrachtwoorden gehoord.",
                "Ik hoor je goed genoeg, maar niet elke keer.",
                "Ik heb volgende 2 keer gemist: zeg het los, en iets langer.",
            ]
        );
        // The spoken report ends the flow.
        assert_eq!(prompts[prompts.len() - 3..], spoken[..]);
    }

    #[test]
    fn levels_measure_speech_noise_and_clipping() {
        let quiet = levels(&audio(1000, 0.0, 0.0, 1), &[]);
        assert_eq!(quiet.speech_dbfs, SILENCE_DBFS);
        let speech = audio(2000, 30.0, 16_000.0, 1);
        let l = levels(&speech, &speech);
        // A sine at half scale: −9 dBFS.
        assert!((l.speech_dbfs + 9.0).abs() < 1.0, "{l:?}");
        assert!(l.floor_dbfs < -60.0, "{l:?}");
        assert_eq!(l.clipped_samples, 0);
        let loud = audio(2000, 30.0, 40_000.0, 1);
        assert!(levels(&loud, &loud).clipped_samples > 100);
    }

    #[test]
    fn the_check_is_offered_after_the_first_sessions_until_done() {
        // (sessions finished, checks done, offered)
        let cases = [
            (0, 0, false),
            (1, 0, true),
            (3, 0, true),
            (OFFER_SESSIONS, 0, true),
            (OFFER_SESSIONS + 1, 0, false),
            (1, 1, false),
            (2, 3, false),
        ];
        for (sessions, checks, want) in cases {
            assert_eq!(
                offer_after_session(sessions, checks),
                want,
                "{sessions} sessions, {checks} checks"
            );
        }
    }
}
