//! Hearing the user: offline recognition restricted to the command words.
//!
//! Audio flows microphone → 16 kHz mono → echo cancellation (with what the
//! coach is playing as the reference) → voice-activity detection → a
//! [`Recognizer`] (Vosk or PocketSphinx, behind the [`gate`] that keeps
//! speech too long for a command from it) → the [`pipeline::Decider`], which
//! turns recogniser output into [`Detection`]s and rejects what is not a
//! clearly spoken, isolated command word. `matcoach hear FILE.wav` runs this
//! same pipeline over a file as fast as it can.

#[cfg(feature = "voice-aec")]
pub mod aec;
pub mod calibrate;
pub mod capture;
pub mod check;
pub mod echo_tracker;
pub mod field;
pub mod gate;
pub mod grammar;
pub mod installer;
#[cfg(feature = "speaker-rodio")]
pub mod live_check;
pub mod misses;
pub mod pipeline;
#[cfg(feature = "voice-pocketsphinx")]
pub mod sphinx;
pub mod vad;
#[cfg(feature = "voice-vosk")]
pub mod vosk;

use crate::command::Command;
use crate::content::Lang;
use crate::fix::Fix;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The recogniser's sample rate.
pub const RATE: u32 = 16_000;

/// A clip as the recogniser takes it: 16 kHz samples, as long as the clip.
pub fn to_16k(clip: &crate::audio::Clip) -> Vec<i16> {
    crate::audio::resample::to_rate(clip, RATE).samples.to_vec()
}

/// A command heard in the audio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub command: Command,
    /// The word as heard ("pijn", "continue").
    pub word: String,
    /// Where the word is in the audio, from the start of the stream.
    pub start_ms: u64,
    pub end_ms: u64,
    /// The audio position at which the command was emitted.
    pub detected_ms: u64,
    pub confidence: f32,
}

/// A recognised word with its place in the audio (ms from the stream start).
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub conf: f32,
}

/// What a recogniser says after a chunk of audio.
#[derive(Debug, Clone, PartialEq)]
pub enum Hypothesis {
    /// The words so far in the current utterance (no timing: may change).
    Partial(Vec<String>),
    /// The utterance is over: its words with timing and confidence.
    Final(Vec<Word>),
}

/// A speech recogniser fed 16 kHz mono audio, restricted to a grammar.
pub trait Recognizer: Send {
    /// The engine's name, for messages.
    fn name(&self) -> &'static str;
    /// Feed audio; get what is newly recognised, if anything.
    fn accept(&mut self, pcm: &[i16]) -> Result<Option<Hypothesis>, VoiceError>;
    /// End of the stream: the last utterance's final result.
    fn flush(&mut self) -> Result<Option<Hypothesis>, VoiceError>;
    /// Told before each frame whether the coach's voice may be in it (issue
    /// 16, item 4: the gate on long speech stands aside then, so that a
    /// user talking over a long phrase is still heard). Most ignore it.
    fn coach_playing(&mut self, _playing: bool) {}
    /// Also know `others`, words that are not commands (a calibration's
    /// `decoys`: the sound-alikes the user said in the voice check), so
    /// that speech like them is named as them, reported as `[unk]`, rather
    /// than as the command it resembles. Engines whose vocabulary already
    /// holds every word ignore it.
    fn also_know(&mut self, _others: &[String]) -> Result<(), VoiceError> {
        Ok(())
    }
}

pub use crate::config::Engine;

/// A problem hearing. Each says what failed, where, and the fix.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error("no speech-recognition model for {lang} at {}{}", path.display(), crate::fix::Line(self))]
    NoModel {
        lang: Lang,
        path: PathBuf,
        fix: String,
    },
    #[error("the {engine} model at {} cannot be loaded: {reason}{}", path.display(), crate::fix::Line(self))]
    BadModel {
        engine: &'static str,
        lang: Lang,
        path: PathBuf,
        reason: String,
    },
    #[error("{engine} does not support {lang}{}", crate::fix::Line(self))]
    Unsupported {
        engine: &'static str,
        lang: Lang,
        fix: String,
    },
    #[error("this build has no {engine} support{}", crate::fix::Line(self))]
    NotBuilt {
        engine: &'static str,
        feature: &'static str,
    },
    #[error("{engine} failed: {reason}")]
    Engine {
        engine: &'static str,
        reason: String,
    },
    #[error("microphone \"{device}\": {reason}{}", crate::fix::Line(self))]
    Microphone {
        device: String,
        reason: String,
        fix: String,
    },
    #[error("{}: {reason}{}", path.display(), crate::fix::Line(self))]
    Audio {
        path: PathBuf,
        reason: String,
        fix: String,
    },
}

impl crate::fix::Fix for VoiceError {
    fn fix(&self) -> Option<String> {
        match self {
            VoiceError::NoModel { fix, .. } => Some(fix.clone()),
            VoiceError::BadModel { lang, .. } => Some(format!("run `matcoach setup-model --lang {lang}` again, or point voice.model_{lang} (or voice.models_dir) at a complete model")),
            VoiceError::Unsupported { fix, .. } => Some(fix.clone()),
            VoiceError::NotBuilt { feature, .. } => Some(format!("build with `--features {feature}` (scripts/test and scripts/demo do)")),
            VoiceError::Microphone { fix, .. } => Some(fix.clone()),
            VoiceError::Audio { fix, .. } => Some(fix.clone()),
            _ => None,
        }
    }
}

/// Which engine listens, and why when it is not the configured one; with
/// its recogniser, already loaded (a Vosk model takes seconds to load on a
/// Pi: choosing must not cost a second load).
pub struct Choice {
    pub engine: Engine,
    /// The configured engine's problem, when the other engine stands in.
    pub instead_of: Option<VoiceError>,
    /// The recogniser that was opened to make the choice.
    recognizer: Box<dyn Recognizer>,
}

impl std::fmt::Debug for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Choice")
            .field("engine", &self.engine)
            .field("instead_of", &self.instead_of)
            .finish_non_exhaustive()
    }
}

impl Choice {
    /// The whole listening pipeline around the chosen recogniser (see
    /// [`open_pipeline`]). `echo`: cancel the coach's voice using a
    /// playback reference.
    pub fn into_pipeline(
        self,
        lang: Lang,
        cfg: &crate::config::Voice,
        echo: bool,
    ) -> Result<pipeline::Pipeline, VoiceError> {
        self.into_pipeline_calibrated(lang, cfg, echo, None)
    }

    /// The same with a personal calibration applied (issue 16, item 2;
    /// None, or one made for another language or engine: as
    /// [`Choice::into_pipeline`]). A PocketSphinx calibration with word
    /// priors opens the recogniser again with them.
    pub fn into_pipeline_calibrated(
        self,
        lang: Lang,
        cfg: &crate::config::Voice,
        echo: bool,
        cal: Option<&calibrate::Calibration>,
    ) -> Result<pipeline::Pipeline, VoiceError> {
        let cal = cal.filter(|c| c.fits(lang, self.engine));
        let mut rec = match cal {
            Some(c) if self.engine == Engine::Pocketsphinx && recogniser_side(c) => {
                open_sphinx_with(lang, &grammar::words(lang), c, false)?
            }
            _ => self.recognizer,
        };
        if let Some(c) = cal {
            c.teach_decoys(rec.as_mut())?;
        }
        pipeline_around(rec, self.engine, lang, cfg, echo, cal)
    }

    /// When the other engine stands in: what happened, and the fix for the
    /// configured engine (empty when there is none to give).
    pub fn explain(&self) -> Option<(String, String)> {
        let e = self.instead_of.as_ref()?;
        let configured = self.engine.other().name();
        Some((
            format!(
                "listening with {} instead of {configured} ({})",
                self.engine.name(),
                e.problem()
            ),
            e.fix().unwrap_or_default(),
        ))
    }

    /// What to tell the user when the other engine stands in (one line).
    pub fn notice(&self) -> Option<String> {
        let (what, fix) = self.explain()?;
        let configured = self.engine.other().name();
        Some(match fix.is_empty() {
            true => what,
            false => format!("{what}; for {configured}: {fix}"),
        })
    }
}

/// The engine that will listen: the configured one when it opens for
/// `lang`; otherwise the other one, if this build has it and it opens (so
/// English is heard with Debian's PocketSphinx model until Vosk's model is
/// set up); otherwise the configured engine's error.
pub fn choose_engine(lang: Lang, cfg: &crate::config::Voice) -> Result<Choice, VoiceError> {
    let configured = cfg.engine;
    match open_recognizer(configured, lang, cfg) {
        Ok(recognizer) => Ok(Choice {
            engine: configured,
            instead_of: None,
            recognizer,
        }),
        Err(e) => match open_recognizer(configured.other(), lang, cfg) {
            Ok(recognizer) => Ok(Choice {
                engine: configured.other(),
                instead_of: Some(e),
                recognizer,
            }),
            Err(_) => Err(e),
        },
    }
}

/// The recogniser the config asks for, restricted to `lang`'s command words.
pub fn open_recognizer(
    engine: Engine,
    lang: Lang,
    cfg: &crate::config::Voice,
) -> Result<Box<dyn Recognizer>, VoiceError> {
    let words = grammar::words(lang);
    match engine {
        Engine::Vosk => open_vosk(lang, cfg, &words),
        Engine::Pocketsphinx => open_sphinx(lang, &words),
    }
}

#[cfg(feature = "voice-vosk")]
fn open_vosk(
    lang: Lang,
    cfg: &crate::config::Voice,
    words: &[&str],
) -> Result<Box<dyn Recognizer>, VoiceError> {
    let dir = installer::model_dir(cfg, lang);
    // A `setup-model` cut off by a kill may have left the model moved aside
    // (put back here, so the coach hears without a new setup) and hidden
    // leftovers (removed); failures are warnings, a good model still loads.
    installer::recover_logged(&dir);
    let model = std::sync::Arc::new(vosk::VoskModel::load(&dir, lang)?);
    Ok(Box::new(vosk::VoskRecognizer::with_model(
        model,
        words,
        grammar::fillers(lang),
    )?))
}

#[cfg(not(feature = "voice-vosk"))]
fn open_vosk(
    _lang: Lang,
    _cfg: &crate::config::Voice,
    _words: &[&str],
) -> Result<Box<dyn Recognizer>, VoiceError> {
    Err(VoiceError::NotBuilt {
        engine: "vosk",
        feature: "voice-vosk",
    })
}

#[cfg(feature = "voice-pocketsphinx")]
fn open_sphinx(lang: Lang, words: &[&str]) -> Result<Box<dyn Recognizer>, VoiceError> {
    Ok(Box::new(sphinx::SphinxRecognizer::new(lang, words)?))
}

#[cfg(not(feature = "voice-pocketsphinx"))]
fn open_sphinx(_lang: Lang, _words: &[&str]) -> Result<Box<dyn Recognizer>, VoiceError> {
    Err(VoiceError::NotBuilt {
        engine: "pocketsphinx",
        feature: "voice-pocketsphinx",
    })
}

/// Mean square of 16-bit samples, full scale 1 (0 for none).
pub(crate) fn mean_square(x: &[i16]) -> f32 {
    x.iter()
        .map(|s| {
            let v = crate::audio::analysis::sample_to_f32(*s);
            v * v
        })
        .sum::<f32>()
        / x.len().max(1) as f32
}

/// Test signal: a tone switched on and off in syllable-like bursts
/// (120–320 ms; off is 40 dB down), different for each `seed`.
#[cfg(test)]
pub(crate) fn syllables(n: usize, seed: u32, amp: f32) -> Vec<i16> {
    let mut s = seed;
    let (mut on, mut left) = (false, 0usize);
    (0..n)
        .map(|t| {
            if left == 0 {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                left = 1920 + (s >> 20) as usize % 3200;
                on = !on;
            }
            left -= 1;
            let a = if on { amp } else { amp / 100.0 };
            (a * (t as f32 * 0.09).sin()) as i16
        })
        .collect()
}

/// How Speex cleans the microphone for `engine`: with `echo`, cancellation
/// of the coach's voice and suppression of what is left of it; and, for
/// PocketSphinx, suppression of steady noise once the room is noisy (its
/// noise floor above −50 dBFS): it lifts recall in noise, leaves clean
/// speech untouched, and −15 dB did best of the levels tried (docs/voice.md,
/// "Tuning", on the English accuracy set). Vosk gets none: its models are trained on noisy speech, and nothing
/// here can measure what suppression does to them. None: nothing to do.
#[cfg(feature = "voice-aec")]
pub fn front_end_options(engine: Engine, echo: bool) -> Option<aec::AecOptions> {
    let noisy_room_suppress_db = match engine {
        Engine::Pocketsphinx => -15,
        Engine::Vosk => 0,
    };
    let opts = aec::AecOptions {
        residual_suppression: echo,
        noisy_room_suppress_db,
        ..aec::AecOptions::DEFAULT
    };
    (echo || noisy_room_suppress_db < 0).then_some(opts)
}

/// The echo canceller and noise suppressor for `engine` (see
/// [`front_end_options`]), when this build has one and there is anything
/// for it to do.
pub fn open_front_end(
    engine: Engine,
    echo: bool,
) -> Result<Option<Box<dyn pipeline::EchoCanceller>>, VoiceError> {
    #[cfg(feature = "voice-aec")]
    {
        match front_end_options(engine, echo) {
            Some(o) => Ok(Some(Box::new(aec::SpeexAec::with_options(
                pipeline::FRAME,
                aec::TAIL_MS,
                o,
            )?))),
            None => Ok(None),
        }
    }
    #[cfg(not(feature = "voice-aec"))]
    {
        let _ = (engine, echo);
        Ok(None)
    }
}

/// The decider's thresholds for `engine`, with the config's confidence.
pub fn decider_config(engine: Engine, cfg: &crate::config::Voice) -> pipeline::DeciderConfig {
    let base = pipeline::DeciderConfig {
        min_confidence: cfg.min_confidence,
        ..pipeline::DeciderConfig::default()
    };
    match engine {
        Engine::Vosk => base,
        // Measured on the English test set: PocketSphinx's posteriors do
        // not separate commands from sound-alikes, its `[unk]` words do the
        // isolation ("next door" is always rejected with none allowed).
        // It ends an utterance after 200 ms of silence itself, so its final
        // comes as soon as settling would.
        Engine::Pocketsphinx => pipeline::DeciderConfig {
            min_confidence: 0.0,
            max_unknown_words: 0,
            settle_ms: 0,
            ..base
        },
    }
}

/// `rec` as the daemon listens with it: deaf to speech too long to be a
/// command word (see [`gate`]; issue 16, item 4).
pub fn gated(rec: Box<dyn Recognizer>) -> Box<dyn Recognizer> {
    Box::new(gate::Gated::new(rec, gate::GateOptions::default()))
}

/// The whole listening pipeline the config asks for. `echo`: cancel the
/// coach's voice using a playback reference.
pub fn open_pipeline(
    engine: Engine,
    lang: Lang,
    cfg: &crate::config::Voice,
    echo: bool,
) -> Result<pipeline::Pipeline, VoiceError> {
    open_pipeline_calibrated(engine, lang, cfg, echo, None)
}

// issue 16, item 2: personal calibration.

/// [`open_pipeline`] with a personal calibration applied (None, or one
/// made for another language or engine: the same as `open_pipeline`).
pub fn open_pipeline_calibrated(
    engine: Engine,
    lang: Lang,
    cfg: &crate::config::Voice,
    echo: bool,
    cal: Option<&calibrate::Calibration>,
) -> Result<pipeline::Pipeline, VoiceError> {
    let cal = cal.filter(|c| c.fits(lang, engine));
    let rec = open_recognizer_calibrated(engine, lang, cfg, cal)?;
    pipeline_around(rec, engine, lang, cfg, echo, cal)
}

/// [`open_recognizer`] with a calibration's recogniser-side settings
/// (PocketSphinx's word priors; Vosk has none).
pub fn open_recognizer_calibrated(
    engine: Engine,
    lang: Lang,
    cfg: &crate::config::Voice,
    cal: Option<&calibrate::Calibration>,
) -> Result<Box<dyn Recognizer>, VoiceError> {
    let cal = cal.filter(|c| c.fits(lang, engine));
    let mut rec = match cal {
        Some(c) if engine == Engine::Pocketsphinx && recogniser_side(c) => {
            open_sphinx_with(lang, &grammar::words(lang), c, false)?
        }
        _ => open_recognizer(engine, lang, cfg)?,
    };
    if let Some(c) = cal {
        c.teach_decoys(rec.as_mut())?;
    }
    Ok(rec)
}

/// Whether a calibration changes the recogniser (PocketSphinx's priors and
/// aliases), not only the decider and VAD.
fn recogniser_side(c: &calibrate::Calibration) -> bool {
    !c.command_prior.is_empty() || !c.heard_as.is_empty()
}

/// PocketSphinx with a calibration's priors and aliases; `garbage_words`:
/// other words reported as themselves (for calibration only).
#[cfg(feature = "voice-pocketsphinx")]
pub(crate) fn open_sphinx_with(
    lang: Lang,
    words: &[&str],
    cal: &calibrate::Calibration,
    garbage_words: bool,
) -> Result<Box<dyn Recognizer>, VoiceError> {
    let opts = sphinx::SphinxOptions {
        garbage_words,
        ..sphinx_options(lang, cal)
    };
    Ok(Box::new(sphinx::SphinxRecognizer::with_options(
        lang, words, &opts,
    )?))
}

/// PocketSphinx's options with a calibration's priors and aliases, the
/// rest as by default.
#[cfg(feature = "voice-pocketsphinx")]
pub fn sphinx_options(lang: Lang, cal: &calibrate::Calibration) -> sphinx::SphinxOptions {
    let word_prior = cal
        .command_prior
        .iter()
        .flat_map(|(c, f)| c.words(lang).iter().map(|w| (w.to_string(), f64::from(*f))))
        .collect();
    let aliases = cal
        .heard_as
        .iter()
        .flat_map(|(c, heard)| {
            heard
                .iter()
                .map(move |h| (h.clone(), c.words(lang)[0].to_string()))
        })
        .collect();
    sphinx::SphinxOptions {
        word_prior,
        aliases,
        ..sphinx::SphinxOptions::default()
    }
}

#[cfg(not(feature = "voice-pocketsphinx"))]
pub(crate) fn open_sphinx_with(
    _lang: Lang,
    _words: &[&str],
    _cal: &calibrate::Calibration,
    _garbage_words: bool,
) -> Result<Box<dyn Recognizer>, VoiceError> {
    Err(VoiceError::NotBuilt {
        engine: "pocketsphinx",
        feature: "voice-pocketsphinx",
    })
}

/// The listening pipeline around `rec`, an `engine` recogniser, with `cal`
/// applied when it was made for this language and engine.
fn pipeline_around(
    rec: Box<dyn Recognizer>,
    engine: Engine,
    lang: Lang,
    cfg: &crate::config::Voice,
    echo: bool,
    cal: Option<&calibrate::Calibration>,
) -> Result<pipeline::Pipeline, VoiceError> {
    let aec = open_front_end(engine, echo)?;
    Ok(pipeline::Pipeline::calibrated(
        gated(rec),
        aec,
        lang,
        decider_config(engine, cfg),
        cal.filter(|c| c.fits(lang, engine)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_other_engine_stands_in_when_the_configured_one_cannot_listen() {
        let empty = tempfile::tempdir().unwrap();
        let sphinx = cfg!(feature = "voice-pocketsphinx")
            && std::path::Path::new("/usr/share/pocketsphinx/model/en-us/en-us").is_dir();
        // (configured engine, language, engine expected to listen)
        let cases = [
            (
                Engine::Vosk,
                Lang::En,
                sphinx.then_some(Engine::Pocketsphinx),
            ),
            (Engine::Vosk, Lang::Nl, None),
            (
                Engine::Pocketsphinx,
                Lang::En,
                sphinx.then_some(Engine::Pocketsphinx),
            ),
            (Engine::Pocketsphinx, Lang::Nl, None),
        ];
        for (engine, lang, want) in cases {
            let cfg = crate::config::Voice {
                engine,
                models_dir: Some(empty.path().to_path_buf()),
                ..crate::config::Voice::default()
            };
            let got = choose_engine(lang, &cfg);
            let case = format!("{engine:?} for {lang}");
            match (want, got) {
                (Some(w), Ok(c)) => {
                    assert_eq!(c.engine, w, "{case}");
                    assert_eq!(c.instead_of.is_some(), w != engine, "{case}");
                    if w != engine {
                        let notice = c.notice().unwrap();
                        assert!(
                            notice.starts_with("listening with pocketsphinx instead of vosk")
                                && notice.contains("setup-model --lang en"),
                            "{case}: {notice}"
                        );
                    }
                    // The pipeline listens with the recogniser the choice opened.
                    let pipeline = c.into_pipeline(lang, &cfg, false).unwrap();
                    assert_eq!(pipeline.engine_name(), w.name(), "{case}");
                }
                (None, Err(e)) => {
                    // The configured engine's own problem.
                    let text = e.to_string();
                    let own = match engine {
                        Engine::Vosk => {
                            text.contains("no speech-recognition model")
                                || text.contains("no vosk support")
                        }
                        Engine::Pocketsphinx => {
                            text.contains("pocketsphinx") || text.contains("PocketSphinx")
                        }
                    };
                    assert!(own, "{case}: {text}");
                }
                (w, g) => panic!("{case}: wanted {w:?}, got {g:?}"),
            }
        }
    }

    /// A recogniser that only remembers what it was told to also know.
    struct Remembers(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl Recognizer for Remembers {
        fn name(&self) -> &'static str {
            "remembers"
        }
        fn accept(&mut self, _: &[i16]) -> Result<Option<Hypothesis>, VoiceError> {
            Ok(None)
        }
        fn flush(&mut self) -> Result<Option<Hypothesis>, VoiceError> {
            Ok(None)
        }
        fn also_know(&mut self, others: &[String]) -> Result<(), VoiceError> {
            self.0.lock().unwrap().extend(others.iter().cloned());
            Ok(())
        }
    }

    #[test]
    fn the_daemons_recogniser_knows_the_calibrations_decoys() {
        let cal = |engine, lang| calibrate::Calibration {
            decoys: vec!["top".into(), "paint".into()],
            ..calibrate::Calibration::none(lang, engine)
        };
        // (the calibration's engine and language, the decoys known)
        let cases: [(Engine, Lang, &[&str]); 3] = [
            (Engine::Vosk, Lang::En, &["top", "paint"]),
            (Engine::Vosk, Lang::Nl, &[]),
            (Engine::Pocketsphinx, Lang::En, &[]),
        ];
        for (engine, lang, want) in cases {
            let known = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let choice = Choice {
                engine: Engine::Vosk,
                instead_of: None,
                recognizer: Box::new(Remembers(known.clone())),
            };
            let c = cal(engine, lang);
            choice
                .into_pipeline_calibrated(
                    Lang::En,
                    &crate::config::Voice::default(),
                    false,
                    Some(&c),
                )
                .unwrap();
            assert_eq!(*known.lock().unwrap(), want, "{engine:?} {lang}");
        }
    }
}
