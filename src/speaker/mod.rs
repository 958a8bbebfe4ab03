//! The coach's voice as the app uses it: phrases become clips (recorded,
//! cached, or rendered on a worker thread when missing) and go to a sink —
//! a sound device, or a WAV file written in real time.

#[cfg(feature = "speaker-rodio")]
pub mod output;

use crate::audio::{cues, mixer::MixEvent, mixer::Mixer, resample, AudioError, Clip};
use crate::content::Lang;
use crate::devices::{ClipSink, Speaker};
use crate::render::sample_at;
use crate::session::{Cue, Input, Line, PhraseId, PlaybackId, Priority};
use crate::speech::{Speech, SpeechError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Speaks the session's lines through a [`ClipSink`]. It holds the
/// session's phrases (read at preload, at their own rate) and brings each to
/// the sink's rate the first time it plays, keeping the result: a session
/// says its counts and cues hundreds of times and each is resampled once,
/// while a press is not delayed by resampling the whole session up front.
pub struct ClipSpeaker<S: ClipSink> {
    sink: S,
    speech: Arc<Speech>,
    lang: Lang,
    clips: HashMap<PhraseId, Held>,
    tones: HashMap<Cue, Clip>,
    inputs: mpsc::Sender<Input>,
}

/// A phrase's clip as the speaker holds it.
struct Held {
    clip: Clip,
    /// The rate the phrase was rendered or recorded at.
    source_rate: u32,
    /// Brought from one output rate to another (a device reopened at a new
    /// one), not from the original: the next preload reads it again.
    second_hand: bool,
    /// Times it has played since it was loaded.
    plays: u32,
}

impl<S: ClipSink> ClipSpeaker<S> {
    pub fn new(sink: S, speech: Arc<Speech>, lang: Lang, inputs: mpsc::Sender<Input>) -> Self {
        ClipSpeaker {
            sink,
            speech,
            lang,
            clips: HashMap::new(),
            tones: HashMap::new(),
            inputs,
        }
    }

    /// Load the clips of `lines` (rendering what is missing) so that they
    /// play without delay. Call before the session starts.
    pub fn preload(&mut self, lines: &[Line]) -> Result<(), SpeechError> {
        self.speech
            .render_all(lines, self.lang, crate::speech::default_jobs())?;
        // Issue 16, item 4: hold only this session's clips. The daemon
        // preloads each day's session; the clips of earlier sessions'
        // programs would otherwise pile up (all the content is tens of
        // minutes of audio) and only cost memory: a line not preloaded is
        // still read from the cache when spoken.
        let wanted: std::collections::HashSet<&PhraseId> = lines.iter().map(|l| &l.id).collect();
        self.clips
            .retain(|id, held| wanted.contains(id) && !held.second_hand);
        for line in lines {
            if !self.clips.contains_key(&line.id) {
                let clip = self.speech.clip(line, self.lang)?;
                let held = Held {
                    source_rate: clip.rate,
                    clip,
                    second_hand: false,
                    plays: 0,
                };
                self.clips.insert(line.id.clone(), held);
            }
        }
        Ok(())
    }

    /// The clip held for `id`, at the sink's rate. A phrase said again in
    /// a session (a count, "hold", "relax") is kept at that rate from its
    /// second play on, so that it is resampled at most twice; one said once
    /// (most instructions) is resampled as it plays and kept as rendered,
    /// which at a 48 kHz output takes less than half the memory
    /// (docs/voice.md, "Where PocketSphinx's memory went").
    /// Also whether it was resampled now.
    fn held(&mut self, id: &PhraseId) -> Option<(Clip, bool)> {
        let rate = self.sink.rate();
        let held = self.clips.get_mut(id)?;
        held.plays = held.plays.saturating_add(1);
        if held.clip.rate == rate {
            return Some((held.clip.clone(), false));
        }
        let at_rate = resample::to_rate(&held.clip, rate);
        if held.plays > 1 {
            held.second_hand |= held.clip.rate != held.source_rate;
            held.clip = at_rate.clone();
        }
        Some((at_rate, true))
    }

    /// A cue's tone at the sink's rate, made once per rate.
    fn tone(&mut self, cue: Cue) -> Clip {
        let rate = self.sink.rate();
        let tone = self.tones.entry(cue).or_insert_with(|| cues::tone(cue));
        if tone.rate != rate {
            *tone = resample::to_rate(&cues::tone(cue), rate);
        }
        tone.clone()
    }
}

impl<S: ClipSink> Speaker for ClipSpeaker<S> {
    fn speak(&mut self, id: PlaybackId, line: &Line, priority: Priority) {
        let when = Instant::now();
        if let Some((clip, resampled)) = self.held(&line.id) {
            self.sink.play(id, clip, priority, when);
            if resampled {
                // The resampler's buffers, and the clips played and freed
                // since, go back to the system: glibc would keep them
                // (docs/voice.md, "Where PocketSphinx's memory went").
                crate::memory::release_free_memory();
            }
            return;
        }
        // Not preloaded (e.g. the closing summary, whose numbers come at the
        // end): render off the runtime, then play.
        let (sink, speech, lang, inputs, line) = (
            self.sink.clone(),
            self.speech.clone(),
            self.lang,
            self.inputs.clone(),
            line.clone(),
        );
        tokio::task::spawn_blocking(move || match speech.clip(&line, lang) {
            Ok(clip) => sink.play(id, clip, priority, when),
            Err(e) => {
                log::error!("{e}");
                // Say it was "said", so the session goes on.
                let _ = inputs.try_send(Input::PlaybackFinished(id));
            }
        });
    }

    fn stop(&mut self) {
        self.sink.stop();
    }

    fn cue(&mut self, cue: Cue) {
        let tone = self.tone(cue);
        self.sink.cue(tone, Instant::now());
    }
}

struct FileState {
    mixer: Mixer,
    t0: Instant,
    writer: Option<hound::WavWriter<std::io::BufWriter<std::fs::File>>>,
    path: PathBuf,
    inputs: mpsc::Sender<Input>,
    error: Option<String>,
    buf: Vec<f32>,
}

impl FileState {
    /// Render up to `now` into the file and report finished phrases.
    fn catch_up(&mut self, now: Instant) {
        let target = sample_at(now.saturating_duration_since(self.t0), self.mixer.rate());
        let pos = self.mixer.pos();
        if target > pos {
            self.buf.resize((target - pos) as usize, 0.0);
            self.mixer.render(&mut self.buf);
            if let Some(w) = self.writer.as_mut() {
                for s in &self.buf {
                    let v = crate::audio::analysis::sample_to_i16(*s);
                    if let Err(e) = w.write_sample(v) {
                        self.error.get_or_insert(e.to_string());
                        break;
                    }
                }
            }
        }
        for e in self.mixer.take_events() {
            if let MixEvent::Finished { id, .. } = e {
                let _ = self.inputs.try_send(Input::PlaybackFinished(id));
            }
        }
    }
}

/// A sink that writes what would be heard to a WAV file, in real time: for
/// a machine without a sound card, or to keep a session.
#[derive(Clone)]
pub struct FileSink {
    state: Arc<Mutex<FileState>>,
}

impl FileSink {
    /// Create `path` and start writing at `rate`; a tokio task keeps the file
    /// in step with the clock. Call [`FileSink::finish`] at the end.
    pub fn create(
        path: &Path,
        rate: u32,
        volume: f32,
        inputs: mpsc::Sender<Input>,
    ) -> Result<FileSink, AudioError> {
        let writer =
            hound::WavWriter::create(path, crate::audio::clip::wav_spec(rate)).map_err(|e| {
                AudioError::Write {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                }
            })?;
        let state = Arc::new(Mutex::new(FileState {
            mixer: Mixer::new(rate, volume),
            t0: Instant::now(),
            writer: Some(writer),
            path: path.to_path_buf(),
            inputs,
            error: None,
            buf: Vec::new(),
        }));
        let weak = Arc::downgrade(&state);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            loop {
                tick.tick().await;
                let Some(state) = weak.upgrade() else { return };
                let Ok(mut s) = state.lock() else { return };
                if s.writer.is_none() {
                    return;
                }
                s.catch_up(Instant::now());
            }
        });
        Ok(FileSink { state })
    }

    fn with(&self, f: impl FnOnce(&mut FileState)) {
        if let Ok(mut s) = self.state.lock() {
            s.catch_up(Instant::now());
            f(&mut s);
        }
    }

    /// Let the last words finish, close the file, and say where it is.
    pub fn finish(&self) -> Result<PathBuf, AudioError> {
        let Ok(mut s) = self.state.lock() else {
            return Err(AudioError::Write {
                path: PathBuf::new(),
                reason: "the file writer failed".into(),
            });
        };
        let end = s.mixer.current_finish().map_or(s.mixer.pos(), |(_, e)| e);
        let rate = s.mixer.rate();
        let t = s.t0 + crate::render::time_at(end + u64::from(rate / 2), rate);
        s.catch_up(t.max(Instant::now()));
        let path = s.path.clone();
        let result = match s.writer.take() {
            Some(w) => w.finalize().map_err(|e| e.to_string()),
            None => Ok(()),
        };
        match (s.error.take(), result) {
            (Some(reason), _) | (None, Err(reason)) => Err(AudioError::Write { path, reason }),
            (None, Ok(())) => Ok(path),
        }
    }
}

impl ClipSink for FileSink {
    fn rate(&self) -> u32 {
        self.state.lock().map_or(0, |s| s.mixer.rate())
    }

    fn play(&self, id: PlaybackId, clip: Clip, priority: Priority, when: Instant) {
        self.with(|s| {
            let at = sample_at(when.saturating_duration_since(s.t0), s.mixer.rate());
            let clip = resample::to_rate(&clip, s.mixer.rate());
            s.mixer.speak(id, clip, priority, at);
        });
    }

    fn cue(&self, tone: Clip, when: Instant) {
        self.with(|s| {
            let at = sample_at(when.saturating_duration_since(s.t0), s.mixer.rate());
            let clip = resample::to_rate(&tone, s.mixer.rate());
            s.mixer.cue(clip, at);
        });
    }

    fn stop(&self) {
        self.with(|s| s.mixer.stop());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::{PhraseCache, Voice};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A voice at espeak-ng's rate: a tone as long as the text.
    struct Tone;

    impl Voice for Tone {
        fn key(&self, lang: Lang) -> String {
            format!("tone/{lang}")
        }
        fn render(&self, text: &str, _lang: Lang) -> Result<Clip, SpeechError> {
            let samples = (0..text.len() * 2205)
                .map(|i| ((i as f32 * 0.05).sin() * 8000.0) as i16)
                .collect();
            Ok(Clip::new(22_050, samples))
        }
    }

    /// A sink that keeps what it was handed, at a rate the test sets.
    #[derive(Clone, Default)]
    struct Kept {
        rate: Arc<AtomicU32>,
        clips: Arc<Mutex<Vec<Clip>>>,
    }

    impl ClipSink for Kept {
        fn rate(&self) -> u32 {
            self.rate.load(Ordering::Relaxed)
        }
        fn play(&self, _: PlaybackId, clip: Clip, _: Priority, _: Instant) {
            self.clips.lock().unwrap().push(clip);
        }
        fn cue(&self, tone: Clip, _: Instant) {
            self.clips.lock().unwrap().push(tone);
        }
        fn stop(&self) {}
    }

    impl Kept {
        fn last_two(&self) -> (Clip, Clip) {
            let clips = self.clips.lock().unwrap();
            let n = clips.len();
            (clips[n - 2].clone(), clips[n - 1].clone())
        }
    }

    #[test]
    fn phrases_said_again_and_tones_are_kept_at_the_sinks_rate() {
        let dir = tempfile::tempdir().unwrap();
        let speech = Arc::new(Speech::new(
            Box::new(Tone),
            None,
            PhraseCache::new(dir.path().join("cache")),
        ));
        let sink = Kept::default();
        sink.rate.store(48_000, Ordering::Relaxed);
        let (tx, _rx) = mpsc::channel(8);
        let mut speaker = ClipSpeaker::new(sink.clone(), speech.clone(), Lang::En, tx);
        let line = Line {
            id: PhraseId("count.1".into()),
            text: "one".into(),
        };
        speaker.preload(std::slice::from_ref(&line)).unwrap();
        let native = speech.clip(&line, Lang::En).unwrap();

        // Played once: at the sink's rate, and only the original is held.
        speaker.speak(PlaybackId(1), &line, Priority::Count);
        assert_eq!(speaker.clips[&line.id].clip, native);
        // Played again: kept at the sink's rate, the same samples from then on.
        speaker.speak(PlaybackId(2), &line, Priority::Count);
        speaker.speak(PlaybackId(2), &line, Priority::Count);
        let (a, b) = sink.last_two();
        assert_eq!(a, resample::to_rate(&native, 48_000));
        assert_eq!(sink.clips.lock().unwrap()[0], a);
        assert!(Arc::ptr_eq(&a.samples, &b.samples));
        speaker.cue(Cue::HoldEnd);
        speaker.cue(Cue::HoldEnd);
        let (a, b) = sink.last_two();
        assert_eq!(a.rate, 48_000);
        assert!(Arc::ptr_eq(&a.samples, &b.samples));

        // The device reopened at another rate mid-session: brought to it
        // once, from what is held.
        sink.rate.store(44_100, Ordering::Relaxed);
        speaker.speak(PlaybackId(3), &line, Priority::Count);
        speaker.speak(PlaybackId(4), &line, Priority::Count);
        let (a, b) = sink.last_two();
        assert_eq!(a.rate, 44_100);
        assert_eq!(a.len(), native.len() * 2);
        assert!(Arc::ptr_eq(&a.samples, &b.samples));

        // The next session's preload starts again from the original.
        speaker.preload(std::slice::from_ref(&line)).unwrap();
        speaker.speak(PlaybackId(5), &line, Priority::Count);
        let (_, a) = sink.last_two();
        assert_eq!(a, resample::to_rate(&native, 44_100));
    }
}
