//! Personal calibration from the voice check's takes: per-word acceptance
//! thresholds and the speech level the VAD expects, for one user, microphone
//! and room, per language.
//!
//! The voice check (`matcoach voice-check`) records [`Take`]s; calibration
//! turns them into a [`Calibration`], which the journal keeps per language
//! and the pipeline's decider applies within safe limits.
//!
//! [`fit`] runs the real recogniser and decider over the takes again: with
//! a permissive decider (every final result, any confidence) at a few
//! recogniser settings, it sees with what confidence each take was heard as
//! which command, then chooses per command word:
//!
//! - an acceptance threshold (the decider's `min_confidence` for that
//!   word): lowered towards the user's own takes, raised above the
//!   confidence at which other takes (sound-alikes, sentences, other
//!   commands) were heard as the word;
//! - for PocketSphinx, whose confidences do not separate commands from
//!   sound-alikes: other words its model consistently hears for this
//!   user's command word, and which no other take produced (`heard_as`);
//!   and a prior, how much likelier the word is than its default share in
//!   the recogniser's language model (the recogniser's side of a per-word
//!   threshold; Vosk's grammar has no such weight), which `fit` does not
//!   raise for now ([`FIT_PRIORS`]: measured, it let in unseen
//!   sound-alikes);
//!
//! keeping the choice that hears most of the user's takes of the word
//! without hearing it in more of the other takes than the default settings
//! do; and the speech level the VAD should expect (the median level of
//! the loud part of the user's command words), with the room's noise floor.
//!
//! Then it runs the takes as the daemon listens (the configured decider)
//! through each of a few whole settings and keeps the one that does best:
//! the defaults, which stay unless another hears more of the user's takes
//! (or as many, taking fewer of the others for commands); the fitted
//! settings; and the fitted settings without the VAD's speech level, which
//! lowers the VAD's margin where the room is noisy: that brings back words
//! a low rumble had hidden from the default VAD, but under a steady mains
//! hum it heard fewer of them (docs/voice.md, "Calibration"), so it is
//! kept only where the takes show it helps. With Vosk, the speech level
//! comes with the check's sound-alikes added to the recogniser's grammar
//! as decoys ([`decoys_of`], `Recognizer::also_know`): Vosk takes a word
//! one sound away from a command for that command, with full confidence,
//! when the grammar offers nothing nearer, and the VAD that lets the
//! user's words through lets those through too. A decoy can also swallow
//! the command it resembles, which the setting's score on the user's
//! takes shows; each decoy's own take is scored by a recogniser without
//! that word, as the next sound-alike would be heard (one that knows the
//! very word refuses it by construction). In a room that noisy, the fitted settings also make every
//! command word but "stop" and "pain" wait for its final result
//! ([`finals_only`]): with more of the room let through, the decider's
//! early firing of those words from partial results, which carry no
//! confidence, took sound-alikes for commands; the final's confidence is
//! checked. "stop" and "pain" keep firing early (heard fast matters more,
//! and a false stop only pauses).
//!
//! **Safe limits** ([`limits`]), whatever the takes say: "stop" and "pain"
//! lean towards being heard (a false stop only pauses): their threshold may
//! drop to 0.30 and their prior rise eightfold, and their threshold is
//! raised for sound-alikes only as far as the user's own takes allow.
//! "next" leans towards not firing by mistake (a false next skips an
//! exercise): its threshold never drops below 0.55, its prior at most
//! doubles, and it keeps a wider distance (0.10) above sound-alikes. The
//! others sit between (0.45, fourfold, 0.05). No threshold is raised above
//! 0.80 for stop and pain (a calibration must never make them nearly
//! unhearable), 0.95 for next, 0.90 for the rest; a threshold already below
//! its floor is never lowered. The VAD's margin drops with a calibrated
//! level only in a noisy room, never below 4 dB (`vad::Vad::expecting`).
//! No setting is kept that takes more of the takes' non-commands for
//! commands than the defaults do, or hears fewer of the user's takes.

use crate::command::Command;
use crate::content::Lang;
use crate::hearing::pipeline::{DeciderConfig, Pipeline, FRAME};
use crate::hearing::{Detection, Engine, Recognizer, VoiceError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the user was asked to say in one take of the voice check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Asked {
    /// A command word (the first of `Command::words`): it should be heard.
    Command(Command),
    /// A sound-alike or an ordinary sentence: it must not be taken for a
    /// command.
    Other(String),
}

/// One take of the voice check: what was asked and what the microphone
/// heard, as the recogniser hears it (16 kHz mono, after echo
/// cancellation), so that calibration can run the recogniser and the
/// decider over it again with other settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Take {
    pub asked: Asked,
    pub pcm: Vec<i16>,
}

/// The settings calibration found for one user, microphone and room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub lang: Lang,
    pub engine: Engine,
    /// The lowest confidence accepted per command word, where it differs
    /// from the configured `voice.min_confidence`.
    pub min_confidence: BTreeMap<Command, f32>,
    /// The speech level the VAD should expect from this user (dBFS of the
    /// loud part of a command word), if the takes gave one.
    pub speech_level_dbfs: Option<f32>,
    // issue 16, item 2: what the fit saw, for the voice check's report and
    // `doctor`.
    /// The room's noise floor in the takes (dBFS), if they gave one.
    #[serde(default)]
    pub noise_floor_dbfs: Option<f32>,
    /// The takes through the default settings, and through these.
    #[serde(default)]
    pub before: Score,
    #[serde(default)]
    pub after: Score,
    /// PocketSphinx: how much likelier than by default each command word
    /// is in the recogniser's language model, where it differs from 1.
    #[serde(default)]
    pub command_prior: BTreeMap<Command, f32>,
    /// PocketSphinx: other words its model hears for this user's command
    /// words (the user's "stop" that it always takes for "stomp"), which
    /// then count as the command.
    #[serde(default)]
    pub heard_as: BTreeMap<Command, Vec<String>>,
    /// Vosk: the check's sound-alikes (single words the user said that are
    /// not commands), added to the recogniser's grammar so that a word like
    /// them is named as itself instead of as the command it resembles
    /// (`Recognizer::also_know`).
    #[serde(default)]
    pub decoys: Vec<String>,
}

impl Calibration {
    /// No change from the defaults.
    pub fn none(lang: Lang, engine: Engine) -> Calibration {
        Calibration {
            lang,
            engine,
            min_confidence: BTreeMap::new(),
            speech_level_dbfs: None,
            noise_floor_dbfs: None,
            before: Score::default(),
            after: Score::default(),
            command_prior: BTreeMap::new(),
            heard_as: BTreeMap::new(),
            decoys: Vec::new(),
        }
    }

    /// Whether it changes anything.
    pub fn is_empty(&self) -> bool {
        self.min_confidence.is_empty()
            && self.command_prior.is_empty()
            && self.heard_as.is_empty()
            && self.decoys.is_empty()
            && self.speech_level_dbfs.is_none()
    }

    /// Tells `rec` this calibration's decoys (`Recognizer::also_know`);
    /// with none, leaves it as it is.
    pub fn teach_decoys(&self, rec: &mut dyn Recognizer) -> Result<(), VoiceError> {
        if self.decoys.is_empty() {
            return Ok(());
        }
        rec.also_know(&self.decoys)
    }

    /// Whether it was made for this language and engine (a confidence of
    /// one engine means nothing to the other).
    pub fn fits(&self, lang: Lang, engine: Engine) -> bool {
        self.lang == lang && self.engine == engine
    }
}

/// How far calibration may move one command word's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// The threshold is never lowered below this…
    pub floor: f32,
    /// …nor raised above this.
    pub ceiling: f32,
    /// How far above the highest confidence of another take heard as the
    /// word the threshold goes, when it is raised.
    pub rival_margin: f32,
    /// The most the word's prior may grow (PocketSphinx).
    pub max_prior: f32,
    /// Raise the threshold for sound-alikes only as far as the user's own
    /// takes stay heard.
    pub lean_heard: bool,
    /// PocketSphinx: another word counts as the command for this user only
    /// if it was all that was heard in at least this share of the user's
    /// takes of the command, and in none of the other takes.
    pub alias_share: f32,
}

/// At most this many other words may stand for one command word.
pub const MAX_ALIASES: usize = 2;

/// The safe limits for `cmd` (see the module documentation for why).
pub fn limits(cmd: Command) -> Limits {
    match cmd {
        Command::Stop | Command::Pain => Limits {
            floor: 0.30,
            ceiling: 0.80,
            rival_margin: 0.02,
            max_prior: 8.0,
            lean_heard: true,
            alias_share: 0.6,
        },
        Command::Next => Limits {
            floor: 0.55,
            ceiling: 0.95,
            rival_margin: 0.10,
            max_prior: 2.0,
            lean_heard: false,
            alias_share: 1.0,
        },
        Command::Pause | Command::Resume | Command::Repeat => Limits {
            floor: 0.45,
            ceiling: 0.90,
            rival_margin: 0.05,
            max_prior: 4.0,
            lean_heard: false,
            alias_share: 0.6,
        },
    }
}

/// The priors [`pick`] can weigh for PocketSphinx.
pub const PRIORS: [f32; 4] = [1.0, 2.0, 4.0, 8.0];

/// The priors [`fit`] tries: only the default. Raising a word's prior where
/// the check's takes allowed it heard more of the voice's other takes but
/// took more unseen sound-alikes for commands (docs/voice.md,
/// "Calibration"), which the issue forbids; the mechanism stays for a check
/// with more sound-alikes to guard it.
pub const FIT_PRIORS: &[f32] = &[1.0];

/// What one permissive run saw for one command word: for each take of the
/// word, the confidence it was heard as the word with (None: not heard as
/// it); and the confidences with which other takes were heard as it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidates {
    pub own: Vec<Option<f32>>,
    pub rivals: Vec<f32>,
}

impl Candidates {
    /// Own takes heard and other takes taken for the word at threshold `t`.
    fn at(&self, t: f32) -> (usize, usize) {
        (
            self.own.iter().flatten().filter(|c| **c >= t).count(),
            self.rivals.iter().filter(|c| **c >= t).count(),
        )
    }
}

/// Slack below the user's quietest take when a threshold is lowered.
const OWN_SLACK: f32 = 0.02;

/// The threshold for `cmd` from what a permissive run saw, starting from
/// the configured `global` one, within [`limits`].
pub fn choose_threshold(cmd: Command, seen: &Candidates, global: f32) -> f32 {
    let lim = limits(cmd);
    let hear = seen
        .own
        .iter()
        .flatten()
        .copied()
        .reduce(f32::min)
        .map(|c| c - OWN_SLACK);
    let refuse = seen
        .rivals
        .iter()
        .copied()
        .reduce(f32::max)
        .map(|c| c + lim.rival_margin);
    let mut t = global;
    if let Some(h) = hear {
        t = t.min(h);
    }
    if let Some(r) = refuse.filter(|r| *r > t) {
        t = match (lim.lean_heard, hear) {
            // Refuse the sound-alike only as far as the user's takes stay
            // heard.
            (true, Some(h)) => r.min(h.max(t)),
            _ => r,
        };
    }
    let lo = lim.floor.min(global);
    let hi = lim.ceiling.max(global);
    t.clamp(lo, hi)
}

/// For one command word, from permissive runs at several priors (prior,
/// what it saw): the prior and threshold that hear most of the user's
/// takes without taking more other takes for the word than the defaults
/// (prior 1, `global`) do; ties go to the smaller prior, then to fewer
/// false accepts, then to the threshold nearer `global`.
pub fn pick(cmd: Command, runs: &[(f32, Candidates)], global: f32) -> (f32, f32) {
    let lim = limits(cmd);
    let base = runs
        .iter()
        .find(|(p, _)| *p == 1.0)
        .map_or((0, 0), |(_, c)| c.at(global));
    let mut best = (1.0, global, base);
    for (prior, seen) in runs.iter().filter(|(p, _)| *p <= lim.max_prior) {
        for t in [global, choose_threshold(cmd, seen, global)] {
            let (hits, rivals) = seen.at(t);
            if rivals > base.1 {
                continue;
            }
            let (_, bt, (bh, br)) = best;
            let better = hits > bh
                || (hits == bh && *prior < best.0)
                || (hits == bh
                    && *prior == best.0
                    && (rivals < br || (rivals == br && (t - global).abs() < (bt - global).abs())));
            if better {
                best = (*prior, t, (hits, rivals));
            }
        }
    }
    (best.0, best.1)
}

/// Silence between takes when they are run as one stream (lets the
/// recogniser end each utterance before the next take).
const GAP_MS: u64 = 400;

/// Every take through one pipeline, one after another (with a short
/// silence between), as one stream: the detections of each take (those
/// emitted while it, or the silence after it, was being fed).
pub fn run_takes(
    takes: &[Take],
    mut pipeline: Pipeline,
) -> Result<Vec<Vec<Detection>>, VoiceError> {
    let gap = vec![0i16; (GAP_MS * u64::from(crate::hearing::RATE) / 1000) as usize];
    let mut out = Vec::with_capacity(takes.len());
    for t in takes {
        let mut dets = Vec::new();
        for chunk in t.pcm.chunks(1600) {
            dets.extend(pipeline.push(chunk, &[])?);
        }
        dets.extend(pipeline.push(&gap, &[])?);
        out.push(dets);
    }
    let tail = pipeline.finish()?;
    if let Some(last) = out.last_mut() {
        last.extend(tail);
    }
    Ok(out)
}

/// How a pipeline did on some takes: command takes heard as what was
/// asked, and other takes taken for a command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub commands: usize,
    pub heard: usize,
    pub others: usize,
    pub false_accepts: usize,
}

impl Score {
    pub fn of(takes: &[Take], detections: &[Vec<Detection>]) -> Score {
        let mut s = Score::default();
        for (t, d) in takes.iter().zip(detections) {
            match &t.asked {
                Asked::Command(c) => {
                    s.commands += 1;
                    s.heard += usize::from(d.iter().any(|d| d.command == *c));
                }
                Asked::Other(_) => {
                    s.others += 1;
                    s.false_accepts += usize::from(!d.is_empty());
                }
            }
        }
        s
    }

    pub fn recall(&self) -> f64 {
        self.heard as f64 / self.commands.max(1) as f64
    }

    pub fn false_accept_rate(&self) -> f64 {
        self.false_accepts as f64 / self.others.max(1) as f64
    }
}

/// Run the takes through a pipeline from `make` and score them.
pub fn score(takes: &[Take], make: &dyn Fn() -> Pipeline) -> Result<Score, VoiceError> {
    Ok(Score::of(takes, &run_takes(takes, make())?))
}

/// The level (dBFS) of the loud part of a take (its five loudest 20 ms
/// frames) and its noise floor (the 20th percentile of its frames); None
/// for a take too short or silent to say.
pub fn levels(pcm: &[i16]) -> Option<(f32, f32)> {
    let mut db: Vec<f32> = pcm
        .chunks_exact(FRAME)
        .map(|f| 10.0 * crate::hearing::mean_square(f).max(1e-10).log10())
        .collect();
    if db.len() < 10 {
        return None;
    }
    db.sort_by(f32::total_cmp);
    let loud = db[db.len() - 5..].iter().sum::<f32>() / 5.0;
    let floor = db[db.len() / 5];
    (loud > -75.0).then_some((loud, floor))
}

fn median(mut v: Vec<f32>) -> Option<f32> {
    v.sort_by(f32::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Opens a recogniser for one run of [`fit_with`] with a trial
/// calibration's recogniser-side settings (engines without them ignore
/// them); `true`: report other words as themselves, not as `[unk]`
/// (PocketSphinx; other engines may ignore it).
pub type OpenRecognizer<'a> =
    dyn FnMut(&Calibration, bool) -> Result<Box<dyn Recognizer>, VoiceError> + 'a;

/// **The voice check calls this**: the calibration for `lang` from the
/// check's takes, with the engine that listens (`engine`, as
/// `voice::choose_engine` picked it) configured as in `voice`. It opens the
/// recogniser itself (a Vosk model once). The takes: each command word
/// (the first of `Command::words`) three times, and sound-alikes and
/// sentences as `Asked::Other`; 16 kHz mono after echo cancellation, with
/// some room noise before and after the speech. Store the result with
/// `JournalStore::save_calibration`.
pub fn fit(
    takes: &[Take],
    lang: Lang,
    engine: Engine,
    voice: &crate::config::Voice,
) -> Result<Calibration, VoiceError> {
    let mut open = opener(engine, lang, voice)?;
    fit_with(takes, lang, engine, voice, &mut *open)
}

/// A way to open the engine's recogniser again and again.
fn opener(
    engine: Engine,
    lang: Lang,
    voice: &crate::config::Voice,
) -> Result<Box<OpenRecognizer<'static>>, VoiceError> {
    let voice = voice.clone();
    match engine {
        Engine::Pocketsphinx => Ok(Box::new(move |cal: &Calibration, raw: bool| {
            let _ = &voice;
            crate::hearing::open_sphinx_with(lang, &crate::hearing::grammar::words(lang), cal, raw)
        })),
        #[cfg(feature = "voice-vosk")]
        Engine::Vosk => {
            let dir = crate::hearing::installer::model_dir(&voice, lang);
            let model = std::sync::Arc::new(crate::hearing::vosk::VoskModel::load(&dir, lang)?);
            Ok(Box::new(move |_: &Calibration, _: bool| {
                let words = crate::hearing::grammar::words(lang);
                Ok(Box::new(crate::hearing::vosk::VoskRecognizer::with_model(
                    model.clone(),
                    &words,
                    crate::hearing::grammar::fillers(lang),
                )?) as Box<dyn Recognizer>)
            }))
        }
        #[cfg(not(feature = "voice-vosk"))]
        Engine::Vosk => Err(VoiceError::NotBuilt {
            engine: "vosk",
            feature: "voice-vosk",
        }),
    }
}

/// [`fit`] with the recogniser opened by `open` (tests pass their own).
pub fn fit_with(
    takes: &[Take],
    lang: Lang,
    engine: Engine,
    voice: &crate::config::Voice,
    open: &mut OpenRecognizer<'_>,
) -> Result<Calibration, VoiceError> {
    let base = crate::hearing::decider_config(engine, voice);
    let global = base.min_confidence;
    let commands: Vec<Command> = Command::ALL
        .into_iter()
        .filter(|c| takes.iter().any(|t| t.asked == Asked::Command(*c)))
        .collect();
    let loud: Vec<f32> = takes
        .iter()
        .filter(|t| matches!(t.asked, Asked::Command(_)))
        .filter_map(|t| levels(&t.pcm).map(|l| l.0))
        .collect();
    let floors: Vec<f32> = takes
        .iter()
        .filter_map(|t| levels(&t.pcm).map(|l| l.1))
        .collect();
    let mut cal = Calibration {
        speech_level_dbfs: median(loud),
        noise_floor_dbfs: median(floors),
        ..Calibration::none(lang, engine)
    };
    let front = || crate::hearing::open_front_end(engine, false);
    let run = |open: &mut OpenRecognizer<'_>,
               cal: Option<&Calibration>,
               cfg: DeciderConfig,
               takes: &[Take]|
     -> Result<Vec<Vec<Detection>>, VoiceError> {
        let none = Calibration::none(lang, engine);
        let trial = cal.unwrap_or(&none);
        let mut rec = open(trial, false)?;
        trial.teach_decoys(rec.as_mut())?;
        let p = Pipeline::calibrated(rec, front()?, lang, cfg, cal);
        run_takes(takes, p)
    };
    // A setting's score on the takes. With decoys, each take of a decoy is
    // heard by a recogniser that lacks that one word (the others it
    // keeps): a recogniser that knows the very word refuses it by
    // construction, which says nothing of the next sound-alike.
    let score_with = |open: &mut OpenRecognizer<'_>,
                      c: &Calibration,
                      cfg: &DeciderConfig|
     -> Result<Score, VoiceError> {
        let mut dets = run(open, Some(c), cfg.clone(), takes)?;
        for (t, d) in takes.iter().zip(dets.iter_mut()) {
            let Asked::Other(word) = &t.asked else {
                continue;
            };
            if !c.decoys.contains(word) {
                continue;
            }
            let without = Calibration {
                decoys: c.decoys.iter().filter(|w| *w != word).cloned().collect(),
                ..c.clone()
            };
            *d = run(open, Some(&without), cfg.clone(), std::slice::from_ref(t))?
                .into_iter()
                .flatten()
                .collect();
        }
        Ok(Score::of(takes, &dets))
    };
    // Permissive: every final, any confidence (partials carry none).
    let permissive = DeciderConfig {
        min_confidence: 0.0,
        urgent_partials: u32::MAX,
        settle_ms: 0,
        ..base.clone()
    };
    let priors: &[f32] = match engine {
        Engine::Pocketsphinx => FIT_PRIORS,
        Engine::Vosk => &PRIORS[..1],
    };
    if engine == Engine::Pocketsphinx {
        let heard = heard_words(takes, &mut *open(&cal, true)?)?;
        cal.heard_as = aliases(takes, &heard);
    }
    let mut seen: BTreeMap<Command, Vec<(f32, Candidates)>> = BTreeMap::new();
    for &prior in priors {
        let trial = Calibration {
            command_prior: commands
                .iter()
                .filter(|_| prior != 1.0)
                .map(|c| (*c, prior))
                .collect(),
            ..cal.clone()
        };
        let dets = run(open, Some(&trial), permissive.clone(), takes)?;
        for &cmd in &commands {
            let mut c = Candidates::default();
            for (t, d) in takes.iter().zip(&dets) {
                let best = d
                    .iter()
                    .filter(|d| d.command == cmd)
                    .map(|d| d.confidence)
                    .reduce(f32::max);
                if t.asked == Asked::Command(cmd) {
                    c.own.push(best);
                } else if let Some(b) = best {
                    c.rivals.push(b);
                }
            }
            seen.entry(cmd).or_default().push((prior, c));
        }
    }
    for (cmd, runs) in &seen {
        let (prior, t) = pick(*cmd, runs, global);
        if prior != 1.0 {
            cal.command_prior.insert(*cmd, prior);
        }
        if (t - global).abs() > 1e-4 {
            cal.min_confidence.insert(*cmd, t);
        }
    }
    cal.before = Score::of(takes, &run(open, None, base.clone(), takes)?);
    // The settings to choose from (see the module documentation), each
    // measured on the takes as the daemon would listen with it. The
    // defaults come first and stay unless another hears more of the user's
    // takes, or as many with fewer of the others taken for commands; never
    // one that takes more of the others for commands than the defaults.
    let mut candidates = vec![if base.settle_ms > 0 && noisy(&cal) {
        finals_only(&cal, &commands, global)
    } else {
        cal.clone()
    }];
    if cal.speech_level_dbfs.is_some() {
        candidates.push(Calibration {
            speech_level_dbfs: None,
            ..cal.clone()
        });
    }
    // Vosk names a word one sound away from a command as that command,
    // with full confidence, when its grammar offers nothing nearer. The
    // default VAD hid such words in a noisy room along with the commands;
    // a setting that lets more of the room through (the calibrated speech
    // level) lets them through too, so it comes with the check's
    // sound-alikes in the grammar.
    if engine == Engine::Vosk {
        for c in candidates
            .iter_mut()
            .filter(|c| c.speech_level_dbfs.is_some())
        {
            c.decoys = decoys_of(takes, lang);
        }
    }
    let mut best = (
        Calibration {
            noise_floor_dbfs: cal.noise_floor_dbfs,
            ..Calibration::none(lang, engine)
        },
        cal.before,
    );
    for c in candidates {
        let s = score_with(open, &c, &base)?;
        let better = s.heard > best.1.heard
            || (s.heard == best.1.heard && s.false_accepts < best.1.false_accepts);
        if better && s.false_accepts <= cal.before.false_accepts {
            best = (c, s);
        }
    }
    let (mut chosen, after) = best;
    chosen.before = cal.before;
    chosen.after = after;
    Ok(chosen)
}

/// The check's sound-alikes that can be decoys: the single words the user
/// was asked to say that are not command words, each once.
pub fn decoys_of(takes: &[Take], lang: Lang) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in takes {
        if let Asked::Other(text) = &t.asked {
            let word = text.trim().to_lowercase();
            let single = !word.is_empty() && !word.contains(char::is_whitespace);
            if single
                && crate::hearing::grammar::parse(&word, lang).is_none()
                && !out.contains(&word)
            {
                out.push(word);
            }
        }
    }
    out
}

/// Whether the takes' room is so noisy that a calibrated speech level
/// lowers the VAD's margin (`Vad::margin_for`).
fn noisy(cal: &Calibration) -> bool {
    match (cal.speech_level_dbfs, cal.noise_floor_dbfs) {
        (Some(level), Some(floor)) => {
            crate::hearing::vad::Vad::margin_for(level, floor)
                < crate::hearing::vad::Vad::DEFAULT_MARGIN_DB
        }
        _ => false,
    }
}

/// How far above the configured threshold [`finals_only`] sets the words
/// it makes wait for their final: enough to turn off their firing from
/// partial results (`DeciderConfig::word_min_confidence`), little more.
pub const FINALS_ONLY_STEP: f32 = 0.05;

/// `cal` with every command word but "stop" and "pain" waiting for its
/// final result, whose confidence is checked: a threshold at least
/// [`FINALS_ONLY_STEP`] above `global`, within [`limits`].
pub fn finals_only(cal: &Calibration, commands: &[Command], global: f32) -> Calibration {
    let mut out = cal.clone();
    for &cmd in commands {
        if matches!(cmd, Command::Stop | Command::Pain) {
            continue;
        }
        let lim = limits(cmd);
        let t = out.min_confidence.get(&cmd).copied().unwrap_or(global);
        let raised = t
            .max(global + FINALS_ONLY_STEP)
            .min(lim.ceiling.max(global));
        if raised > global {
            out.min_confidence.insert(cmd, raised);
        }
    }
    out
}

/// What the recogniser alone heard in each take: the words of each final
/// result (fillers left out), the takes fed one after another with a short
/// silence between.
pub fn heard_words(
    takes: &[Take],
    rec: &mut dyn Recognizer,
) -> Result<Vec<Vec<Vec<String>>>, VoiceError> {
    let gap = vec![0i16; (GAP_MS * u64::from(crate::hearing::RATE) / 1000) as usize];
    let mut out = Vec::with_capacity(takes.len());
    for t in takes {
        let mut finals = Vec::new();
        for frame in t.pcm.chunks(FRAME).chain(gap.chunks(FRAME)) {
            if let Some(crate::hearing::Hypothesis::Final(w)) = rec.accept(frame)? {
                finals.push(w.into_iter().map(|w| w.text).collect::<Vec<_>>());
            }
        }
        out.push(finals);
    }
    if let (Some(crate::hearing::Hypothesis::Final(w)), Some(last)) = (rec.flush()?, out.last_mut())
    {
        last.push(w.into_iter().map(|w| w.text).collect());
    }
    Ok(out)
}

/// Other words that stand for a command word for this user (see
/// [`Limits::alias_share`]): from what the recogniser heard in each take
/// (`heard`, as [`heard_words`] gives it, other words as themselves).
pub fn aliases(takes: &[Take], heard: &[Vec<Vec<String>>]) -> BTreeMap<Command, Vec<String>> {
    let mut out = BTreeMap::new();
    for cmd in Command::ALL {
        let own: Vec<&Vec<Vec<String>>> = takes
            .iter()
            .zip(heard)
            .filter(|(t, _)| t.asked == Asked::Command(cmd))
            .map(|(_, h)| h)
            .collect();
        if own.is_empty() {
            continue;
        }
        // Per word heard alone in a take of the command: in how many.
        let mut alone: BTreeMap<&str, usize> = BTreeMap::new();
        for h in &own {
            let mut words: Vec<&str> = h
                .iter()
                .filter_map(|f| match f.as_slice() {
                    [w] => Some(w.as_str()),
                    _ => None,
                })
                .collect();
            words.sort_unstable();
            words.dedup();
            for w in words {
                *alone.entry(w).or_default() += 1;
            }
        }
        let elsewhere = |w: &str| {
            takes
                .iter()
                .zip(heard)
                .filter(|(t, _)| t.asked != Asked::Command(cmd))
                .any(|(_, h)| h.iter().flatten().any(|x| x == w))
        };
        let need = (limits(cmd).alias_share * own.len() as f32).ceil() as usize;
        let mut found: Vec<(usize, &str)> = alone
            .into_iter()
            .filter(|(w, n)| {
                *n >= need.max(1)
                    && *w != crate::hearing::grammar::UNKNOWN
                    && crate::hearing::grammar::parse(w, Lang::En).is_none()
                    && crate::hearing::grammar::parse(w, Lang::Nl).is_none()
                    && !elsewhere(w)
            })
            .map(|(w, n)| (n, w))
            .collect();
        found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let words: Vec<String> = found
            .into_iter()
            .take(MAX_ALIASES)
            .map(|(_, w)| w.to_string())
            .collect();
        if !words.is_empty() {
            out.insert(cmd, words);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(own: &[Option<f32>], rivals: &[f32]) -> Candidates {
        Candidates {
            own: own.to_vec(),
            rivals: rivals.to_vec(),
        }
    }

    #[test]
    fn thresholds_follow_the_takes_within_the_limits() {
        let quiet = [Some(0.42), Some(0.5), Some(0.47)];
        let very_quiet = [Some(0.12), Some(0.2), None];
        // (case, command, own takes, rivals, global, threshold)
        type Case<'a> = (&'a str, Command, &'a [Option<f32>], &'a [f32], f32, f32);
        let cases: Vec<Case> = vec![
            (
                "a quiet user lowers stop",
                Command::Stop,
                &quiet,
                &[],
                0.6,
                0.40,
            ),
            (
                "…but never below its floor",
                Command::Stop,
                &very_quiet,
                &[],
                0.6,
                0.30,
            ),
            ("pain likewise", Command::Pain, &very_quiet, &[], 0.6, 0.30),
            (
                "next never below its floor",
                Command::Next,
                &quiet,
                &[],
                0.6,
                0.55,
            ),
            (
                "a threshold already below the floor is not lowered",
                Command::Next,
                &quiet,
                &[],
                0.0,
                0.0,
            ),
            (
                "a clear user keeps the global one",
                Command::Pause,
                &[Some(0.9), Some(0.95), Some(0.8)],
                &[],
                0.6,
                0.6,
            ),
            (
                "sound-alikes that score high raise next",
                Command::Next,
                &[Some(0.95), Some(0.9), Some(0.97)],
                &[0.7],
                0.6,
                0.80,
            ),
            (
                "…and the others",
                Command::Repeat,
                &[Some(0.95), Some(0.9), Some(0.97)],
                &[0.7, 0.5],
                0.6,
                0.75,
            ),
            (
                "…and stop, as far as the user's takes stay heard",
                Command::Stop,
                &[Some(0.9), Some(0.72), Some(0.97)],
                &[0.75],
                0.6,
                0.70,
            ),
            (
                "…but never above the ceiling",
                Command::Stop,
                &[None, None, None],
                &[0.99],
                0.6,
                0.80,
            ),
            (
                "next's ceiling",
                Command::Next,
                &[Some(0.99)],
                &[0.98],
                0.6,
                0.95,
            ),
        ];
        for (name, cmd, own, rivals, global, want) in cases {
            let got = choose_threshold(cmd, &seen(own, rivals), global);
            assert!((got - want).abs() < 1e-4, "{name}: {got}, wanted {want}");
        }
    }

    #[test]
    fn priors_rise_only_when_they_add_takes_without_false_accepts() {
        // (case, command, runs (prior, own, rivals), global, (prior, threshold))
        type Run = (f32, Vec<Option<f32>>, Vec<f32>);
        type Case<'a> = (&'a str, Command, Vec<Run>, f32, (f32, f32));
        let cases: Vec<Case> = vec![
            (
                "heard at twice the prior",
                Command::Stop,
                vec![
                    (1.0, vec![None, None, Some(0.9)], vec![]),
                    (2.0, vec![Some(0.8), None, Some(0.9)], vec![]),
                    (4.0, vec![Some(0.8), Some(0.7), Some(0.9)], vec![]),
                ],
                0.0,
                (4.0, 0.0),
            ),
            (
                "a higher prior that hears a sound-alike is refused",
                Command::Pause,
                vec![
                    (1.0, vec![None, Some(0.8), Some(0.9)], vec![]),
                    (2.0, vec![Some(0.8), Some(0.8), Some(0.9)], vec![0.94]),
                ],
                0.0,
                (1.0, 0.0),
            ),
            (
                "…unless a threshold keeps it out",
                Command::Pause,
                vec![
                    (1.0, vec![None, Some(0.8), Some(0.9)], vec![]),
                    (2.0, vec![Some(0.8), Some(0.8), Some(0.9)], vec![0.5]),
                ],
                0.0,
                (2.0, 0.55),
            ),
            (
                "next's prior at most doubles",
                Command::Next,
                vec![
                    (1.0, vec![None, None, None], vec![]),
                    (2.0, vec![Some(0.9), None, None], vec![]),
                    (8.0, vec![Some(0.9), Some(0.9), Some(0.9)], vec![]),
                ],
                0.0,
                (2.0, 0.0),
            ),
            (
                "nothing gained: the defaults",
                Command::Repeat,
                vec![
                    (1.0, vec![Some(0.9), Some(0.8), Some(0.9)], vec![]),
                    (2.0, vec![Some(0.9), Some(0.8), Some(0.9)], vec![]),
                ],
                0.6,
                (1.0, 0.6),
            ),
        ];
        for (name, cmd, runs, global, want) in cases {
            let runs: Vec<(f32, Candidates)> = runs
                .into_iter()
                .map(|(p, own, rivals)| (p, seen(&own, &rivals)))
                .collect();
            let got = pick(cmd, &runs, global);
            assert!(
                got.0 == want.0 && (got.1 - want.1).abs() < 1e-4,
                "{name}: {got:?}, wanted {want:?}"
            );
        }
    }

    #[test]
    fn in_a_noisy_room_all_but_stop_and_pain_wait_for_their_final() {
        let cal = Calibration {
            min_confidence: [(Command::Repeat, 0.8), (Command::Stop, 0.4)]
                .into_iter()
                .collect(),
            ..Calibration::none(Lang::En, Engine::Vosk)
        };
        let got = finals_only(&cal, &Command::ALL, 0.6);
        for cmd in Command::ALL {
            let t = got.min_confidence.get(&cmd).copied();
            let want = match cmd {
                // Untouched: they keep firing from partial results.
                Command::Stop => Some(0.4),
                Command::Pain => None,
                // A higher threshold stays.
                Command::Repeat => Some(0.8),
                _ => Some(0.6 + FINALS_ONLY_STEP),
            };
            assert_eq!(
                t.map(|t| (t * 1000.0).round()),
                want.map(|t| (t * 1000.0).round()),
                "{cmd:?}"
            );
        }
        // Above the configured threshold: no firing from partial results.
        let cfg = crate::hearing::pipeline::DeciderConfig::default().calibrated(Some(&got));
        assert!(cfg.min_confidence_for(Command::Next) > cfg.min_confidence);
        // Only in a room where the speech level lowers the VAD's margin.
        let room = |level, floor| Calibration {
            speech_level_dbfs: Some(level),
            noise_floor_dbfs: Some(floor),
            ..Calibration::none(Lang::En, Engine::Vosk)
        };
        assert!(noisy(&room(-16.0, -32.0)));
        assert!(!noisy(&room(-16.0, -60.0)));
        assert!(!noisy(&Calibration::none(Lang::En, Engine::Vosk)));
    }

    #[test]
    fn decoys_are_the_single_words_that_are_not_commands() {
        let other = |t: &str| Take {
            asked: Asked::Other(t.into()),
            pcm: Vec::new(),
        };
        let takes = [
            Take {
                asked: Asked::Command(Command::Stop),
                pcm: Vec::new(),
            },
            other("top"),
            other("Paint "),
            other("next door"),
            other("the water is warm today"),
            other("top"),
            other("stop"),
        ];
        assert_eq!(decoys_of(&takes, Lang::En), vec!["top", "paint"]);
        let nl: Vec<Take> = crate::hearing::check::others(Lang::Nl)
            .iter()
            .map(|t| other(t))
            .collect();
        assert_eq!(
            decoys_of(&nl, Lang::Nl),
            vec!["top", "fijn", "paus", "verhaal"]
        );
    }

    #[test]
    fn levels_find_the_word_and_the_room() {
        let mut pcm = vec![30i16; 16_000];
        for (t, s) in pcm.iter_mut().enumerate().skip(6000).take(4000) {
            *s = ((t as f32 * 0.1).sin() * 8000.0) as i16;
        }
        let (loud, floor) = levels(&pcm).unwrap();
        assert!((loud + 15.3).abs() < 1.0, "{loud}");
        assert!((floor + 60.7).abs() < 1.0, "{floor}");
        assert_eq!(levels(&[0i16; 16_000]), None, "silence");
        assert_eq!(levels(&[1000i16; 100]), None, "too short");
    }

    #[test]
    fn a_calibration_survives_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        let mut store = crate::journal::JournalStore::open(&path, &Default::default())
            .unwrap()
            .store;
        assert_eq!(
            crate::journal::voice_checks::latest_calibration(&path, Lang::En, Engine::Pocketsphinx)
                .unwrap(),
            None
        );
        let cal = Calibration {
            min_confidence: [(Command::Stop, 0.4)].into_iter().collect(),
            speech_level_dbfs: Some(-23.5),
            noise_floor_dbfs: Some(-58.0),
            before: Score {
                commands: 18,
                heard: 9,
                others: 10,
                false_accepts: 1,
            },
            after: Score {
                commands: 18,
                heard: 15,
                others: 10,
                false_accepts: 1,
            },
            command_prior: [(Command::Pain, 4.0)].into_iter().collect(),
            ..Calibration::none(Lang::En, Engine::Pocketsphinx)
        };
        let older = Calibration {
            speech_level_dbfs: Some(-30.0),
            ..cal.clone()
        };
        let dutch = Calibration {
            decoys: vec!["fijn".into(), "paus".into()],
            ..Calibration::none(Lang::Nl, Engine::Vosk)
        };
        let at = crate::journal::Stamp(1_000_000);
        store.save_calibration(&older, at).unwrap();
        store
            .save_calibration(&cal, crate::journal::Stamp(2_000_000))
            .unwrap();
        store.save_calibration(&dutch, at).unwrap();
        drop(store);
        // The latest per language and engine.
        assert_eq!(
            crate::journal::voice_checks::latest_calibration(&path, Lang::En, Engine::Pocketsphinx)
                .unwrap(),
            Some(cal)
        );
        assert_eq!(
            crate::journal::voice_checks::latest_calibration(&path, Lang::Nl, Engine::Vosk)
                .unwrap(),
            Some(dutch)
        );
        assert_eq!(
            crate::journal::voice_checks::latest_calibration(&path, Lang::En, Engine::Vosk)
                .unwrap(),
            None
        );
        // One stored before calibrations had decoys still reads.
        let mut old = serde_json::to_value(Calibration::none(Lang::En, Engine::Vosk)).unwrap();
        old.as_object_mut().unwrap().remove("decoys").unwrap();
        assert_eq!(
            serde_json::from_value::<Calibration>(old).unwrap(),
            Calibration::none(Lang::En, Engine::Vosk)
        );
        // No journal yet: no calibration, no error.
        assert_eq!(
            crate::journal::voice_checks::latest_calibration(
                &dir.path().join("none.sqlite"),
                Lang::En,
                Engine::Vosk
            )
            .unwrap(),
            None
        );
    }
}
