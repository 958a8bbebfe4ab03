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

/// Speaks the session's lines through a [`ClipSink`].
pub struct ClipSpeaker<S: ClipSink> {
    sink: S,
    speech: Arc<Speech>,
    lang: Lang,
    clips: HashMap<PhraseId, Clip>,
    inputs: mpsc::Sender<Input>,
}

impl<S: ClipSink> ClipSpeaker<S> {
    pub fn new(sink: S, speech: Arc<Speech>, lang: Lang, inputs: mpsc::Sender<Input>) -> Self {
        ClipSpeaker {
            sink,
            speech,
            lang,
            clips: HashMap::new(),
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
        self.clips.retain(|id, _| wanted.contains(id));
        for line in lines {
            if !self.clips.contains_key(&line.id) {
                let clip = self.speech.clip(line, self.lang)?;
                self.clips.insert(line.id.clone(), clip);
            }
        }
        Ok(())
    }
}

impl<S: ClipSink> Speaker for ClipSpeaker<S> {
    fn speak(&mut self, id: PlaybackId, line: &Line, priority: Priority) {
        let when = Instant::now();
        if let Some(clip) = self.clips.get(&line.id) {
            self.sink.play(id, clip.clone(), priority, when);
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
        self.sink.cue(cue, Instant::now());
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
    fn play(&self, id: PlaybackId, clip: Clip, priority: Priority, when: Instant) {
        self.with(|s| {
            let at = sample_at(when.saturating_duration_since(s.t0), s.mixer.rate());
            let clip = resample::to_rate(&clip, s.mixer.rate());
            s.mixer.speak(id, clip, priority, at);
        });
    }

    fn cue(&self, cue: Cue, when: Instant) {
        self.with(|s| {
            let at = sample_at(when.saturating_duration_since(s.t0), s.mixer.rate());
            let clip = resample::to_rate(&cues::tone(cue), s.mixer.rate());
            s.mixer.cue(clip, at);
        });
    }

    fn stop(&self) {
        self.with(|s| s.mixer.stop());
    }
}
