//! The voice check through the real speaker and microphone: the sound side
//! of [`super::check`] (whose flow is pure), shared by `matcoach
//! voice-check` and the daemon (which runs it when the user accepts the
//! offer after a session).

use super::calibrate::Calibration;
use super::capture::Mic;
use super::check::{self, CheckAudio, Report};
use super::pipeline::Pipeline;
use super::{Engine, VoiceError, RATE};
use crate::audio::resample::Resampler;
use crate::content::{Lang, Phrases};
use crate::session::{Line, PlaybackId, Priority};
use crate::speaker::output::{OutputHandle, RodioOutput};
use crate::speech::Speech;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A microphone that gives nothing for this long has stopped.
const MIC_SILENT: Duration = Duration::from_secs(5);

/// The check's sound: phrases spoken through the output device, the
/// microphone through a ring, both at 16 kHz for the pipeline.
pub struct LiveAudio {
    speech: Arc<Speech>,
    lang: Lang,
    output: OutputHandle,
    /// The output stream, when the check opened its own.
    _keep: Option<RodioOutput>,
    next_id: u64,
    mic: Mic,
    resampler: Resampler,
    pending: VecDeque<i16>,
    buf: Vec<f32>,
    show: Box<dyn FnMut(&str) + Send>,
    dropped_told: f64,
}

impl LiveAudio {
    /// `show` gets what the check does, for a terminal or a log.
    pub fn new(
        speech: Arc<Speech>,
        lang: Lang,
        output: OutputHandle,
        keep: Option<RodioOutput>,
        mic: Mic,
        show: Box<dyn FnMut(&str) + Send>,
    ) -> LiveAudio {
        let resampler = Resampler::new(mic.rate, RATE);
        LiveAudio {
            speech,
            lang,
            output,
            _keep: keep,
            // Far from the sessions' and the announcements' ids.
            next_id: 2_000_000_000,
            mic,
            resampler,
            pending: VecDeque::new(),
            buf: Vec::new(),
            show,
            dropped_told: 0.0,
        }
    }

    /// The microphone's name.
    pub fn device(&self) -> &str {
        &self.mic.device
    }
}

impl CheckAudio for LiveAudio {
    fn say(&mut self, line: &Line) -> Result<Vec<i16>, VoiceError> {
        use crate::devices::ClipSink;
        let clip = self
            .speech
            .clip(line, self.lang)
            .map_err(|e| VoiceError::Engine {
                engine: "speech",
                reason: e.to_string(),
            })?;
        let pcm = super::to_16k(&clip);
        self.next_id += 1;
        self.output.play(
            PlaybackId(self.next_id),
            clip,
            Priority::Instruction,
            Instant::now(),
        );
        Ok(pcm)
    }

    fn mic(&mut self, max: usize) -> Result<Vec<i16>, VoiceError> {
        use crate::audio::resample::{to_i16, to_mono};
        let started = Instant::now();
        while self.pending.is_empty() {
            if self.mic.failed() {
                return Err(VoiceError::Microphone {
                    device: self.mic.device.clone(),
                    reason: "it stopped during the check".into(),
                    fix: "check that it is plugged in (`arecord -l`), then run the check again"
                        .into(),
                });
            }
            let n = self.mic.samples.slots();
            let n = n - n % self.mic.channels.max(1);
            if n == 0 {
                if started.elapsed() > MIC_SILENT {
                    return Err(VoiceError::Microphone {
                        device: self.mic.device.clone(),
                        reason: format!("it gave no sound for {} s", MIC_SILENT.as_secs()),
                        fix: "check that it is plugged in and not used by another program (`arecord -l`, `matcoach doctor`)".into(),
                    });
                }
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            self.buf.clear();
            if let Ok(chunk) = self.mic.samples.read_chunk(n) {
                self.buf.extend(chunk);
            }
            let mut mono16 = Vec::new();
            self.resampler
                .process(&to_mono(&self.buf, self.mic.channels), &mut mono16);
            self.pending.extend(to_i16(&mono16));
        }
        let dropped = self.mic.dropped_secs();
        if dropped > self.dropped_told {
            // Audio lost: the takes after this are heard out of place.
            log::warn!(
                "microphone \"{}\": {:.1} s of audio lost (the check fell behind); the results from here on may be wrong",
                self.mic.device,
                dropped - self.dropped_told
            );
            self.dropped_told = dropped;
        }
        let n = max.min(self.pending.len());
        Ok(self.pending.drain(..n).collect())
    }

    fn show(&mut self, what: &str) {
        (self.show)(what);
    }
}

/// The model an engine listens with, for the journal.
pub fn model_name(engine: Engine, lang: Lang, voice: &crate::config::Voice) -> String {
    match engine {
        Engine::Vosk => super::installer::model_dir(voice, lang)
            .display()
            .to_string(),
        Engine::Pocketsphinx => "/usr/share/pocketsphinx/model/en-us".into(),
    }
}

/// The recogniser for a check: `engine`, or the one the config chooses
/// (with the notice of a stand-in engine, if any). Opened before anything
/// else, so that a missing model is said first.
pub fn open_pipeline(
    engine: Option<Engine>,
    lang: Lang,
    voice: &crate::config::Voice,
) -> Result<(Engine, Pipeline, Option<String>), VoiceError> {
    match engine {
        Some(e) => Ok((e, super::open_pipeline(e, lang, voice, true)?, None)),
        None => {
            let choice = super::choose_engine(lang, voice)?;
            let notice = choice.notice();
            let engine = choice.engine;
            Ok((engine, choice.into_pipeline(lang, voice, true)?, notice))
        }
    }
}

/// What a check found, and the calibration made from its takes.
pub struct Checked {
    pub engine: Engine,
    pub model: String,
    pub report: Report,
    pub takes: usize,
    pub calibration: Option<Calibration>,
    /// Why no calibration could be made, if so.
    pub no_calibration: Option<String>,
}

/// Run the check and calibrate from its takes (issue 16, items 1 and 2). A
/// calibration that cannot be made is reported in `no_calibration`; the
/// check's report is kept all the same.
pub fn check_and_calibrate(
    engine: Engine,
    mut pipeline: Pipeline,
    lang: Lang,
    voice: &crate::config::Voice,
    phrases: &Phrases,
    audio: &mut LiveAudio,
) -> Result<Checked, VoiceError> {
    let flow = check::Check::new(lang, phrases, check::plan(lang));
    let (report, takes) = check::drive(flow, &mut pipeline, audio)?;
    let (calibration, no_calibration) = match super::calibrate::fit(&takes, lang, engine, voice) {
        Ok(cal) => (Some(cal), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(Checked {
        engine,
        model: model_name(engine, lang, voice),
        report,
        takes: takes.len(),
        calibration,
        no_calibration,
    })
}
