//! The Vosk recogniser (feature `voice-vosk`): a Kaldi model restricted to
//! the command words plus the model's unknown word (and, optionally, filler
//! words), fed 16 kHz audio in any chunk size. Every word that is not a
//! command word is reported as `[unk]`.
//!
//! Rejection: with the unknown word alone, Vosk hears other speech and
//! loud white noise as command words; filler words give that speech
//! somewhere else to go (the figures: docs/voice.md, "Tuning", measured by
//! tests/voice_vosk.rs).
//!
//! Partial results come after every chunk in which Vosk has a non-empty
//! partial (the decider counts repeats of the same partial, so they are sent
//! even when unchanged); a final result comes when Vosk detects the end of an
//! utterance (trailing silence), with each word's start and end in ms from
//! the stream start and its confidence. libvosk is linked from `.deps/vosk`
//! (see build.rs and `scripts/lib.sh`'s `ensure_vosk_lib`).

use super::{grammar, Hypothesis, Recognizer, VoiceError, Word, RATE};
use crate::content::Lang;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

const ENGINE: &str = "vosk";

/// How Vosk models spell the out-of-vocabulary word.
const UNK_SPELLINGS: [&str; 3] = [grammar::UNKNOWN, "<UNK>", "<unk>"];

/// A loaded Vosk model. Loading takes a while and the model is large, so
/// one model can be shared (in an `Arc`) by any number of recognisers.
pub struct VoskModel {
    /// Behind a lock only because looking a word up needs `&mut`.
    model: Mutex<vosk::Model>,
    path: PathBuf,
    lang: Lang,
    /// The model's own word for "anything else", if it has one: `[unk]` in
    /// most Vosk models, `<UNK>` in some (the Korean small model).
    unk: Option<String>,
}

impl std::fmt::Debug for VoskModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoskModel")
            .field("path", &self.path)
            .field("lang", &self.lang)
            .finish()
    }
}

/// Keep Kaldi's log lines (one per loaded file and per grammar word) off
/// stderr; real errors still come through.
pub fn quiet_logs() {
    vosk::set_log_level(vosk::LogLevel::Error);
}

impl VoskModel {
    /// Load the model in `dir` (a directory with `am/`, `conf/`, `graph/`…).
    /// `lang` is only used in messages.
    pub fn load(dir: &Path, lang: Lang) -> Result<VoskModel, VoiceError> {
        if !dir.is_dir() {
            return Err(VoiceError::NoModel {
                lang,
                path: dir.to_path_buf(),
                fix: format!(
                    "matcoach setup-model --lang {} (or set voice.model_{} to a Vosk model directory)",
                    lang.code(),
                    lang.code()
                ),
            });
        }
        let bad = |reason: String| VoiceError::BadModel {
            engine: ENGINE,
            lang,
            path: dir.to_path_buf(),
            reason,
        };
        let missing: Vec<&str> = ["am/final.mdl", "conf/model.conf"]
            .into_iter()
            .filter(|f| !dir.join(f).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(bad(format!(
                "it is not a complete Vosk model: {} missing",
                missing.join(", ")
            )));
        }
        let path = dir
            .to_str()
            .ok_or_else(|| bad("the path is not valid UTF-8".into()))?;
        quiet_logs();
        let mut model = vosk::Model::new(path)
            .ok_or_else(|| bad("Vosk could not load it (a file is missing or corrupt)".into()))?;
        let unk = UNK_SPELLINGS
            .iter()
            .find(|w| model.find_word(w).is_some())
            .map(|w| (*w).to_string());
        Ok(VoskModel {
            model: Mutex::new(model),
            path: dir.to_path_buf(),
            lang,
            unk,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The model's spelling of the out-of-vocabulary word, if it has one.
    pub fn unk(&self) -> Option<&str> {
        self.unk.as_deref()
    }

    fn lock(&self) -> MutexGuard<'_, vosk::Model> {
        self.model.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The words (other than `[unk]`) this model's vocabulary lacks. Vosk
    /// silently drops such words from a grammar, so they could never be heard.
    pub fn missing_words(&self, words: &[&str]) -> Vec<String> {
        let mut model = self.lock();
        words
            .iter()
            .filter(|w| !UNK_SPELLINGS.contains(w) && model.find_word(w).is_none())
            .map(|w| (*w).to_string())
            .collect()
    }
}

/// A Vosk recogniser restricted to a list of words plus `[unk]`.
pub struct VoskRecognizer {
    rec: vosk::Recognizer,
    /// The words reported as themselves; every other word Vosk hears (the
    /// model's unknown word, fillers) is reported as `[unk]`.
    words: Vec<String>,
    /// The fillers it was made with, to make it again with more
    /// (`Recognizer::also_know`).
    fillers: Vec<String>,
    /// The model must outlive the recogniser that uses it.
    model: Arc<VoskModel>,
}

impl VoskRecognizer {
    /// Load the model in `model_dir` and listen for `words` (plus the
    /// model's unknown word). Every word must be in the model's vocabulary.
    pub fn new(model_dir: &Path, lang: Lang, words: &[&str]) -> Result<VoskRecognizer, VoiceError> {
        let model = VoskModel::load(model_dir, lang)?;
        VoskRecognizer::with_model(Arc::new(model), words, &[])
    }

    /// A recogniser on an already loaded (shared) model, listening for
    /// `words`, the model's unknown word, and `fillers`: other words that
    /// soak up speech that is not a command. Vosk's unknown word alone lets
    /// most other speech come out as command words (see tests/voice_vosk.rs);
    /// fillers are reported as `[unk]`, so the decider sees a command inside
    /// a sentence for what it is. Every word must be in the model's
    /// vocabulary; fillers it lacks are left out.
    pub fn with_model(
        model: Arc<VoskModel>,
        words: &[&str],
        fillers: &[&str],
    ) -> Result<VoskRecognizer, VoiceError> {
        let engine_err = |reason: String| VoiceError::Engine {
            engine: ENGINE,
            reason,
        };
        let words: Vec<&str> = words
            .iter()
            .copied()
            .filter(|w| !UNK_SPELLINGS.contains(w))
            .collect();
        if words.is_empty() {
            return Err(engine_err("the grammar has no words".into()));
        }
        if let Some(w) = words
            .iter()
            .chain(fillers)
            .find(|w| w.is_empty() || w.contains(['"', '\\']) || w.chars().any(char::is_control))
        {
            return Err(engine_err(format!("{w:?} cannot be a grammar word")));
        }
        let missing = model.missing_words(&words);
        if !missing.is_empty() {
            return Err(VoiceError::BadModel {
                engine: ENGINE,
                lang: model.lang,
                path: model.path.clone(),
                reason: format!(
                    "its vocabulary lacks the command word(s) {}: is it a model for {}?",
                    missing.join(", "),
                    model.lang
                ),
            });
        }
        let unknown_fillers = model.missing_words(fillers);
        let mut grammar: Vec<&str> = words.clone();
        grammar.extend(
            fillers
                .iter()
                .filter(|f| !words.contains(f) && !unknown_fillers.iter().any(|u| u == *f)),
        );
        grammar.extend(model.unk());
        quiet_logs();
        let mut rec = vosk::Recognizer::new_with_grammar(&model.lock(), RATE as f32, &grammar)
            .ok_or_else(|| {
                engine_err(format!(
                    "could not make a recogniser for the grammar {grammar:?} with the model at {} \
                     (a grammar needs a model with a lookahead graph, like the small models)",
                    model.path.display()
                ))
            })?;
        rec.set_max_alternatives(0);
        rec.set_words(true);
        rec.set_partial_words(false);
        Ok(VoskRecognizer {
            rec,
            words: words.iter().map(|w| (*w).to_string()).collect(),
            fillers: fillers.iter().map(|f| (*f).to_string()).collect(),
            model,
        })
    }

    fn final_words(
        words: &[String],
        result: vosk::CompleteResult<'_>,
    ) -> Result<Vec<Word>, VoiceError> {
        let single = result.single().ok_or_else(|| VoiceError::Engine {
            engine: ENGINE,
            reason: "Vosk returned alternatives where one result was asked for".into(),
        })?;
        Ok(single
            .result
            .iter()
            .map(|w| Word {
                text: report(words, w.word),
                start_ms: secs_to_ms(w.start),
                end_ms: secs_to_ms(w.end),
                conf: w.conf,
            })
            .collect())
    }
}

/// A word as reported: itself if it is a command word, else `[unk]`.
fn report(words: &[String], word: &str) -> String {
    if words.iter().any(|w| w == word) {
        word.to_string()
    } else {
        grammar::UNKNOWN.to_string()
    }
}

fn secs_to_ms(s: f32) -> u64 {
    (f64::from(s.max(0.0)) * 1000.0).round() as u64
}

impl Recognizer for VoskRecognizer {
    fn name(&self) -> &'static str {
        ENGINE
    }

    /// Makes the recogniser again with `others` among its fillers (Vosk's
    /// grammar is fixed when it is made); words the model lacks are left
    /// out, as fillers are. Call it before the first audio.
    fn also_know(&mut self, others: &[String]) -> Result<(), VoiceError> {
        let words: Vec<&str> = self.words.iter().map(String::as_str).collect();
        let fillers: Vec<&str> = self
            .fillers
            .iter()
            .chain(others)
            .map(String::as_str)
            .collect();
        *self = VoskRecognizer::with_model(self.model.clone(), &words, &fillers)?;
        Ok(())
    }

    fn accept(&mut self, pcm: &[i16]) -> Result<Option<Hypothesis>, VoiceError> {
        let state = self
            .rec
            .accept_waveform(pcm)
            .map_err(|e| VoiceError::Engine {
                engine: ENGINE,
                reason: e.to_string(),
            })?;
        match state {
            vosk::DecodingState::Finalized => {
                let words = VoskRecognizer::final_words(&self.words, self.rec.result())?;
                Ok(Some(Hypothesis::Final(words)))
            }
            vosk::DecodingState::Running => {
                let partial = self.rec.partial_result();
                let words: Vec<String> = partial
                    .partial
                    .split_whitespace()
                    .map(|w| report(&self.words, w))
                    .collect();
                Ok((!words.is_empty()).then_some(Hypothesis::Partial(words)))
            }
            vosk::DecodingState::Failed => Err(VoiceError::Engine {
                engine: ENGINE,
                reason: "decoding failed".into(),
            }),
        }
    }

    fn flush(&mut self) -> Result<Option<Hypothesis>, VoiceError> {
        let words = VoskRecognizer::final_words(&self.words, self.rec.final_result())?;
        Ok((!words.is_empty()).then_some(Hypothesis::Final(words)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_model_says_how_to_get_one() {
        let err = VoskRecognizer::new(Path::new("/nonexistent/model"), Lang::Nl, &["pijn"])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("no speech-recognition model for"), "{err}");
        assert!(err.contains("matcoach setup-model --lang nl"), "{err}");
    }

    #[test]
    fn an_incomplete_model_is_a_bad_model() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("am")).unwrap();
        let err = VoskRecognizer::new(dir.path(), Lang::En, &["stop"])
            .err()
            .unwrap();
        assert!(matches!(err, VoiceError::BadModel { .. }), "{err}");
        assert!(err.to_string().contains("am/final.mdl"), "{err}");
        // Files in place but garbage: Vosk refuses to load them.
        for f in ["am/final.mdl", "conf/model.conf"] {
            std::fs::create_dir_all(dir.path().join(f).parent().unwrap()).unwrap();
            std::fs::write(dir.path().join(f), b"not a model").unwrap();
        }
        let err = VoskRecognizer::new(dir.path(), Lang::En, &["stop"])
            .err()
            .unwrap();
        assert!(matches!(err, VoiceError::BadModel { .. }), "{err}");
    }

    #[test]
    fn only_command_words_are_reported_as_themselves() {
        let words = vec!["stop".to_string(), "pijn".to_string()];
        assert_eq!(report(&words, "pijn"), "pijn");
        for other in ["<UNK>", "[unk]", "hello", "Stop"] {
            assert_eq!(report(&words, other), "[unk]", "{other}");
        }
    }

    #[test]
    fn times_round_to_ms() {
        assert_eq!(secs_to_ms(1.2345), 1235);
        assert_eq!(secs_to_ms(-0.1), 0);
        assert_eq!(secs_to_ms(0.0), 0);
    }
}
