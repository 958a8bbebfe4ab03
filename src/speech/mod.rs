//! The coach's voice: text to clips. Three backends behind one trait —
//! espeak-ng (default), piper, and recorded clips that override any phrase —
//! and a disk cache keyed by voice and text.

pub mod cache;
mod engine;
pub mod espeak;
pub mod piper;
pub mod recorded;

pub use cache::{default_cache_dir, PhraseCache};
pub use engine::RENDER_DEADLINE;
pub use espeak::Espeak;
pub use piper::Piper;
pub use recorded::Recorded;

use crate::audio::Clip;
use crate::config::SpeechEngine;
use crate::content::Lang;
use crate::session::Line;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Something that turns text into speech.
pub trait Voice: Send + Sync {
    /// A stable description of the voice and its settings for `lang`
    /// (engine, voice name, rate, model file…): part of the cache key, so a
    /// change of voice never plays a stale clip.
    fn key(&self, lang: Lang) -> String;

    /// Speak `text` in `lang` into a clip.
    fn render(&self, text: &str, lang: Lang) -> Result<Clip, SpeechError>;
}

/// A problem making speech. Each says what failed, where, and the fix.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    #[error("the speech program `{}` was not found{}", program.display(), crate::fix::Line(self))]
    ProgramMissing { program: PathBuf, fix: String },
    #[error(
        "the {engine} voice `{voice}` for {lang} is not available: {reason}{}",
        crate::fix::Line(self)
    )]
    VoiceMissing {
        engine: String,
        voice: String,
        lang: Lang,
        reason: String,
        fix: String,
    },
    #[error(
        "{engine} could not say {text:?} ({lang}): {reason}{}",
        crate::fix::Line(self)
    )]
    RenderFailed {
        engine: String,
        text: String,
        lang: Lang,
        reason: String,
        fix: String,
    },
    #[error("recorded clip {}: {reason}{}", path.display(), crate::fix::Line(self))]
    BadRecording { path: PathBuf, reason: String },
    #[error("recorded voice directory {} does not exist{}", path.display(), crate::fix::Line(self))]
    RecordedVoiceMissing { path: PathBuf },
    #[error("speech cache {}: {reason}{}", path.display(), crate::fix::Line(self))]
    Cache { path: PathBuf, reason: String },
    #[error("phrase {phrase} ({lang}) lasts {clip_ms} ms but must fit in {interval_ms} ms between counts{}", crate::fix::Line(self))]
    TooLong {
        phrase: String,
        lang: Lang,
        clip_ms: u64,
        interval_ms: u64,
    },
}

impl crate::fix::Fix for SpeechError {
    fn fix(&self) -> Option<String> {
        match self {
            SpeechError::ProgramMissing { fix, .. } => Some(fix.clone()),
            SpeechError::VoiceMissing { fix, .. } => Some(fix.clone()),
            SpeechError::RenderFailed { fix, .. } => Some(fix.clone()),
            SpeechError::BadRecording { .. } => Some("re-record or re-export it as a PCM WAV file (16-bit mono is best), or delete it to use the synthesised voice".into()),
            SpeechError::RecordedVoiceMissing { .. } => Some("create it with <lang>/<phrase-id>.wav files (see `matcoach phrases`), or set speech.recorded_voice = \"\"".into()),
            SpeechError::Cache { .. } => Some("check that the directory is writable and the disk has space, or set speech.cache_dir".into()),
            SpeechError::TooLong { .. } => Some("raise speech.rate_wpm, or choose a faster voice".into()),
        }
    }
}

/// What [`Speech::render_all`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderStats {
    /// Phrases synthesised now (and stored in the cache).
    pub rendered: usize,
    /// Phrases already in the cache.
    pub cached: usize,
    /// Lines a recorded clip speaks (checked, not synthesised).
    pub recorded: usize,
    /// The time the voice spent rendering, summed over all threads.
    pub render_time: Duration,
    /// Wall-clock time of the whole call.
    pub elapsed: Duration,
}

/// The coach's voice as the app uses it: a recorded clip for a phrase when
/// there is one, else the synthesised phrase from the cache, else rendered
/// now and cached.
pub struct Speech {
    pub voice: Box<dyn Voice>,
    pub recorded: Option<Recorded>,
    pub cache: PhraseCache,
}

impl std::fmt::Debug for Speech {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Speech")
            .field("voice", &"dyn Voice")
            .field("recorded", &self.recorded)
            .field("cache", &self.cache)
            .finish()
    }
}

impl Speech {
    pub fn new(voice: Box<dyn Voice>, recorded: Option<Recorded>, cache: PhraseCache) -> Speech {
        Speech {
            voice,
            recorded,
            cache,
        }
    }

    /// The voice the config asks for. Relative paths (voices_dir, cache_dir,
    /// the piper models, a piper binary given as a path) are taken from
    /// `base_dir`; a bare program name is looked up on $PATH. Does not run
    /// the voice: see [`Speech::check`].
    pub fn from_config(
        cfg: &crate::config::Speech,
        base_dir: &Path,
    ) -> Result<Speech, SpeechError> {
        let resolve = |p: &Path| -> PathBuf {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base_dir.join(p)
            }
        };
        let voice: Box<dyn Voice> = match cfg.engine {
            SpeechEngine::Espeak => Box::new(Espeak::new(
                PathBuf::from("espeak-ng"),
                cfg.espeak_voice_en.clone(),
                cfg.espeak_voice_nl.clone(),
                cfg.rate_wpm,
            )),
            SpeechEngine::Piper => {
                let bin = &cfg.piper_binary;
                let binary = if bin.components().count() > 1 {
                    resolve(bin)
                } else {
                    bin.clone()
                };
                Box::new(Piper::new(
                    binary,
                    cfg.piper_model_en.as_deref().map(resolve),
                    cfg.piper_model_nl.as_deref().map(resolve),
                ))
            }
        };
        // The cue tones belong to the same sounds: read them here, where
        // every command that plays or renders a session sets up its sound.
        crate::audio::cues::install(&resolve(&cfg.cues_dir));
        let name = cfg.recorded_voice.trim();
        let recorded = if name.is_empty() {
            None
        } else {
            Some(Recorded::open(&resolve(&cfg.voices_dir), name)?)
        };
        let cache = PhraseCache::new(match &cfg.cache_dir {
            Some(dir) => resolve(dir),
            None => default_cache_dir(),
        });
        Ok(Speech::new(voice, recorded, cache))
    }

    /// The voice's cache key for `lang`.
    pub fn key(&self, lang: Lang) -> String {
        self.voice.key(lang)
    }

    /// Render a short word in `lang` (bypassing the cache) to show that the
    /// program and the voice are there; the error says how to fix it.
    pub fn check(&self, lang: Lang) -> Result<(), SpeechError> {
        let probe = match lang {
            Lang::En => "one",
            Lang::Nl => "een",
        };
        self.voice.render(probe, lang).map(|_| ())
    }

    /// The clip for `line`: its recorded clip (by phrase id) if there is
    /// one, else the cached rendering of its text, else rendered now and
    /// cached.
    pub fn clip(&self, line: &Line, lang: Lang) -> Result<Clip, SpeechError> {
        if let Some(found) = self.recorded_clip(line, lang) {
            return found;
        }
        let key = self.voice.key(lang);
        self.synth(&key, &line.text, lang)
    }

    /// The recorded clip for `line`, if the recorded voice has one.
    pub fn recorded_clip(&self, line: &Line, lang: Lang) -> Option<Result<Clip, SpeechError>> {
        self.recorded.as_ref()?.lookup(&line.id.0, lang)
    }

    /// Make sure every line can be spoken without waiting: renders the
    /// phrases that are neither recorded nor cached, on `jobs` threads
    /// (see [`default_jobs`]). Lines with the same text are rendered once.
    /// Recorded clips are read to check them. Stops at the first error and
    /// returns it.
    pub fn render_all(
        &self,
        lines: &[Line],
        lang: Lang,
        jobs: usize,
    ) -> Result<RenderStats, SpeechError> {
        let start = Instant::now();
        let mut stats = RenderStats::default();
        let mut seen_ids = HashSet::new();
        let mut seen_texts = HashSet::new();
        let mut todo: Vec<&str> = Vec::new();
        for line in lines {
            if !seen_ids.insert(line.id.0.as_str()) {
                continue;
            }
            if let Some(found) = self.recorded_clip(line, lang) {
                found?;
                stats.recorded += 1;
                continue;
            }
            if seen_texts.insert(line.text.as_str()) {
                todo.push(&line.text);
            }
        }
        let key = self.voice.key(lang);
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let jobs = jobs.clamp(1, todo.len().max(1));
        let worker = || -> Result<RenderStats, (usize, SpeechError)> {
            let mut part = RenderStats::default();
            while !failed.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(text) = todo.get(i) else { break };
                match self.ensure(&key, text, lang) {
                    Ok(None) => part.cached += 1,
                    Ok(Some(took)) => {
                        part.rendered += 1;
                        part.render_time += took;
                    }
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err((i, e));
                    }
                }
            }
            Ok(part)
        };
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..jobs).map(|_| s.spawn(worker)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err((
                            usize::MAX,
                            SpeechError::RenderFailed {
                                engine: "matcoach".into(),
                                text: String::new(),
                                lang,
                                reason: "a rendering thread panicked".into(),
                                fix: "report this as a bug".into(),
                            },
                        ))
                    })
                })
                .collect()
        });
        let mut first_error: Option<(usize, SpeechError)> = None;
        for r in results {
            match r {
                Ok(part) => {
                    stats.rendered += part.rendered;
                    stats.cached += part.cached;
                    stats.render_time += part.render_time;
                }
                Err((i, e)) => {
                    if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                        first_error = Some((i, e));
                    }
                }
            }
        }
        if let Some((_, e)) = first_error {
            return Err(e);
        }
        stats.elapsed = start.elapsed();
        Ok(stats)
    }

    /// The synthesised clip for `text`: from the cache, or rendered now and
    /// stored.
    fn synth(&self, key: &str, text: &str, lang: Lang) -> Result<Clip, SpeechError> {
        if let Some(clip) = self.cache.get(key, lang, text) {
            return Ok(clip);
        }
        let clip = self.voice.render(text, lang)?;
        self.cache.put(key, lang, text, &clip)?;
        Ok(clip)
    }

    /// Make sure `text` is in the cache: `None` if it was, else render and
    /// store it and return the time the voice took.
    fn ensure(&self, key: &str, text: &str, lang: Lang) -> Result<Option<Duration>, SpeechError> {
        if self.cache.contains(key, lang, text) {
            return Ok(None);
        }
        let start = Instant::now();
        let clip = self.voice.render(text, lang)?;
        let took = start.elapsed();
        self.cache.put(key, lang, text, &clip)?;
        Ok(Some(took))
    }
}

/// How many rendering threads to use: one per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::PhraseId;
    use std::sync::Mutex;

    /// A voice that makes a tone as long as the text, and remembers what it
    /// was asked to say.
    #[derive(Default)]
    struct Tone {
        said: Mutex<Vec<String>>,
        fail_on: Option<&'static str>,
    }

    impl Voice for Tone {
        fn key(&self, lang: Lang) -> String {
            format!("tone/{lang}")
        }
        fn render(&self, text: &str, lang: Lang) -> Result<Clip, SpeechError> {
            if self.fail_on == Some(text) {
                return Err(SpeechError::RenderFailed {
                    engine: "tone".into(),
                    text: text.into(),
                    lang,
                    reason: "told to".into(),
                    fix: "none".into(),
                });
            }
            self.said.lock().unwrap().push(text.to_string());
            Ok(Clip::new(1000, vec![1000; text.len() * 10]))
        }
    }

    fn line(id: &str, text: &str) -> Line {
        Line {
            id: PhraseId(id.into()),
            text: text.into(),
        }
    }

    fn speech(dir: &Path, voice: Tone, recorded: bool) -> Speech {
        let recorded = recorded.then(|| {
            std::fs::create_dir_all(dir.join("voices/anna/en")).unwrap();
            Clip::new(1000, vec![500; 50])
                .write_wav(&dir.join("voices/anna/en/sys.rec.wav"))
                .unwrap();
            Recorded::open(&dir.join("voices"), "anna").unwrap()
        });
        Speech::new(
            Box::new(voice),
            recorded,
            PhraseCache::new(dir.join("cache")),
        )
    }

    #[test]
    fn recorded_then_cache_then_render() {
        let dir = tempfile::tempdir().unwrap();
        let s = speech(dir.path(), Tone::default(), true);
        let rec = s.clip(&line("sys.rec", "recorded"), Lang::En).unwrap();
        // 50 samples of sound, padded to 20 ms of silence on each side.
        assert_eq!(rec.len(), 50 + 2 * 20);
        let a = s.clip(&line("x.a", "hello"), Lang::En).unwrap();
        let b = s.clip(&line("x.b", "hello"), Lang::En).unwrap();
        assert_eq!(a, b);
        // The recorded clip is English only.
        s.clip(&line("sys.rec", "recorded"), Lang::Nl).unwrap();
        assert!(s.cache.get("tone/en", Lang::En, "hello").is_some());
        assert!(s.cache.get("tone/nl", Lang::Nl, "recorded").is_some());
        assert!(s.cache.get("tone/en", Lang::En, "recorded").is_none());
    }

    #[test]
    fn render_all_dedupes_counts_and_reuses_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let s = speech(dir.path(), Tone::default(), true);
        let lines: Vec<Line> = (0..40)
            .map(|i| line(&format!("x.{i}"), &format!("text {}", i % 25)))
            .chain([line("sys.rec", "recorded"), line("sys.rec", "recorded")])
            .collect();
        let first = s.render_all(&lines, Lang::En, 3).unwrap();
        assert_eq!((first.rendered, first.cached, first.recorded), (25, 0, 1));
        let second = s.render_all(&lines, Lang::En, 3).unwrap();
        assert_eq!(
            (second.rendered, second.cached, second.recorded),
            (0, 25, 1)
        );
        assert_eq!(second.render_time, Duration::ZERO);
        let third = s.render_all(&lines, Lang::Nl, 0).unwrap();
        assert_eq!((third.rendered, third.cached, third.recorded), (26, 0, 0));
        assert_eq!(s.render_all(&[], Lang::En, 4).unwrap().rendered, 0);
    }

    #[test]
    fn render_all_returns_the_first_error() {
        let dir = tempfile::tempdir().unwrap();
        let voice = Tone {
            fail_on: Some("bad"),
            ..Tone::default()
        };
        let s = speech(dir.path(), voice, false);
        let lines = [line("a", "fine"), line("b", "bad"), line("c", "also fine")];
        match s.render_all(&lines, Lang::En, 2) {
            Err(SpeechError::RenderFailed { text, .. }) => assert_eq!(text, "bad"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bad_recording_stops_render_all_and_clip() {
        let dir = tempfile::tempdir().unwrap();
        let s = speech(dir.path(), Tone::default(), true);
        std::fs::write(dir.path().join("voices/anna/en/sys.bad.wav"), b"junk").unwrap();
        let l = line("sys.bad", "bad one");
        assert!(matches!(
            s.clip(&l, Lang::En),
            Err(SpeechError::BadRecording { .. })
        ));
        assert!(matches!(
            s.render_all(&[l], Lang::En, 1),
            Err(SpeechError::BadRecording { .. })
        ));
    }

    #[test]
    fn from_config_resolves_paths_against_the_base_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("audio/voices/anna")).unwrap();
        let cfg = crate::config::Speech {
            recorded_voice: "anna".into(),
            cache_dir: Some(PathBuf::from("cache")),
            ..Default::default()
        };
        let s = Speech::from_config(&cfg, dir.path()).unwrap();
        assert_eq!(s.cache.dir(), dir.path().join("cache"));
        assert_eq!(
            s.recorded.as_ref().unwrap().dir(),
            dir.path().join("audio/voices/anna")
        );
        assert!(s.key(Lang::Nl).starts_with("espeak-ng/"));
        assert!(s.key(Lang::Nl).ends_with("/nl/150"));

        let missing = crate::config::Speech {
            recorded_voice: "bob".into(),
            ..Default::default()
        };
        assert!(matches!(
            Speech::from_config(&missing, dir.path()),
            Err(SpeechError::RecordedVoiceMissing { .. })
        ));

        let piper = crate::config::Speech {
            engine: SpeechEngine::Piper,
            piper_model_en: Some(PathBuf::from("models/en.onnx")),
            ..Default::default()
        };
        let s = Speech::from_config(&piper, dir.path()).unwrap();
        assert!(s.recorded.is_none());
        let want = dir.path().join("models/en.onnx");
        assert!(s.key(Lang::En).contains(&want.display().to_string()));
        assert!(matches!(
            s.check(Lang::Nl),
            Err(SpeechError::VoiceMissing { .. })
        ));
    }
}
