//! `matcoach voice-check`: the coach tests itself with the user, through
//! the real speaker and microphone and the daemon's listening pipeline
//! (with echo cancellation). The flow is `matcoach::voice::check`; this is
//! its shell: the speech, the speaker, the microphone, the terminal, the
//! journal.

use matcoach::content::Lang;
use matcoach::voice::Engine;
use std::path::Path;

// Without sound support the check cannot run, so nothing reads the options.
#[cfg_attr(not(feature = "speaker-rodio"), allow(dead_code))]
pub(super) struct Options<'a> {
    pub(super) lang: Option<Lang>,
    pub(super) engine: Option<Engine>,
    pub(super) json: bool,
    pub(super) db: Option<&'a Path>,
    /// Seconds of microphone audio the capture ring holds. A live
    /// microphone needs little; ALSA's file PCM (the tests' microphone)
    /// delivers a whole recording at once, so the tests hold all of it.
    pub(super) mic_buffer_secs: f64,
}

#[cfg(not(feature = "speaker-rodio"))]
pub(super) fn voice_check(
    _args: &super::Args,
    _o: &Options,
) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("this build has no sound support, so the coach cannot ask you anything\n  fix: build with the default features (`speaker-rodio`)")
}

#[cfg(feature = "speaker-rodio")]
pub(super) use live::voice_check;

/// The check through the real speaker and microphone.
#[cfg(feature = "speaker-rodio")]
mod live {
    use super::super::{load, Args};
    use super::Options;
    use anyhow::{bail, Result};
    use matcoach::content::Lang;
    use matcoach::session::Line;
    use matcoach::voice::calibrate::{Calibration, Take};
    use matcoach::voice::check::{self, CheckAudio};
    use matcoach::voice::{Engine, VoiceError, RATE};
    use std::collections::VecDeque;
    use std::io::Write;
    use std::path::Path;
    use std::process::ExitCode;
    use std::time::{Duration, Instant};

    /// A microphone that gives nothing for this long has stopped.
    const MIC_SILENT: Duration = Duration::from_secs(5);

    /// The check's sound: phrases spoken through the output device, the
    /// microphone through a ring, both at 16 kHz for the pipeline.
    struct LiveAudio {
        speech: matcoach::speech::Speech,
        lang: Lang,
        output: matcoach::audio::output::OutputHandle,
        _keep: matcoach::audio::output::RodioOutput,
        next_id: u64,
        mic: matcoach::voice::capture::Mic,
        resampler: matcoach::voice::resample::Resampler,
        pending: VecDeque<i16>,
        buf: Vec<f32>,
        json: bool,
        dropped_told: f64,
    }

    impl CheckAudio for LiveAudio {
        fn say(&mut self, line: &Line) -> Result<Vec<i16>, VoiceError> {
            use matcoach::speaker::ClipSink;
            let clip = self
                .speech
                .clip(line, self.lang)
                .map_err(|e| VoiceError::Engine {
                    engine: "speech",
                    reason: e.to_string(),
                })?;
            let mut out = Vec::new();
            let mut r = matcoach::voice::resample::Resampler::new(clip.rate, RATE);
            r.process(&matcoach::audio::analysis::to_f32(&clip.samples), &mut out);
            self.next_id += 1;
            self.output.play(
                matcoach::session::PlaybackId(self.next_id),
                clip,
                matcoach::session::Priority::Instruction,
                Instant::now(),
            );
            Ok(matcoach::voice::resample::to_i16(&out))
        }

        fn mic(&mut self, max: usize) -> Result<Vec<i16>, VoiceError> {
            use matcoach::voice::resample::{to_i16, to_mono};
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
                            reason: format!(
                                "it gave no sound for {} s",
                                MIC_SILENT.as_secs()
                            ),
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
                eprintln!(
                    "matcoach: microphone \"{}\": {:.1} s of audio lost (the check fell behind); the results from here on may be wrong",
                    self.mic.device,
                    dropped - self.dropped_told
                );
                self.dropped_told = dropped;
            }
            let n = max.min(self.pending.len());
            Ok(self.pending.drain(..n).collect())
        }

        fn show(&mut self, what: &str) {
            if !self.json {
                println!("{what}");
            }
        }
    }

    /// The model an engine listens with, for the journal.
    fn model_name(engine: Engine, lang: Lang, voice: &matcoach::config::Voice) -> String {
        match engine {
            Engine::Vosk => matcoach::voice::model::model_dir(voice, lang)
                .display()
                .to_string(),
            Engine::Pocketsphinx => "/usr/share/pocketsphinx/model/en-us".into(),
        }
    }

    /// The check's takes tune the listener for this user, microphone and room
    /// (issue 16, item 2). A calibration that cannot be made (the recogniser
    /// fails on the takes) is said, and the check's report is kept all the same.
    fn calibrate(
        takes: &[Take],
        lang: Lang,
        engine: Engine,
        voice: &matcoach::config::Voice,
    ) -> Option<Calibration> {
        match matcoach::voice::calibrate::fit(takes, lang, engine, voice) {
            Ok(cal) => Some(cal),
            Err(e) => {
                eprintln!("matcoach: no calibration from this check: {e}");
                None
            }
        }
    }

    pub(in crate::cli) fn voice_check(args: &Args, o: &Options) -> Result<ExitCode> {
        let l = load(args)?;
        let lang = o.lang.unwrap_or(l.config.language);
        let voice = &l.config.voice;
        // The recogniser first: a missing model is said before anything else.
        let (engine, pipeline) = match o.engine {
            Some(e) => (e, matcoach::voice::open_pipeline(e, lang, voice, true)?),
            None => {
                let choice = matcoach::voice::choose_engine(lang, voice)?;
                if let Some(n) = choice.notice() {
                    eprintln!("{n}");
                }
                (choice.engine, choice.into_pipeline(lang, voice, true)?)
            }
        };
        let mut pipeline = pipeline;
        let speech = matcoach::speech::Speech::from_config(&l.config.speech, Path::new("."))?;
        speech.check(lang)?;
        // The microphone: 48 kHz stereo at most, `mic_buffer_secs` of it.
        if !(0.5..=600.0).contains(&o.mic_buffer_secs) {
            bail!("--mic-buffer-secs must be between 0.5 and 600");
        }
        let ring = (o.mic_buffer_secs * 96_000.0) as usize;
        let mic = matcoach::voice::capture::Mic::open(&voice.input_device, ring)?;
        let (tx, _rx) = tokio::sync::mpsc::channel(64);
        let (keep, output) = matcoach::audio::output::RodioOutput::open(
            &l.config.audio.output_device,
            l.config.audio.volume,
            tx,
            None,
        )?;
        let resampler = matcoach::voice::resample::Resampler::new(mic.rate, RATE);
        if !o.json {
            println!(
                "voice check in {lang} with {} (microphone \"{}\"); it takes about three minutes",
                engine.name(),
                mic.device
            );
        }
        let mut audio = LiveAudio {
            speech,
            lang,
            output,
            _keep: keep,
            next_id: 0,
            mic,
            resampler,
            pending: VecDeque::new(),
            buf: Vec::new(),
            json: o.json,
            dropped_told: 0.0,
        };
        let flow = check::Check::new(lang, &l.content.phrases, check::plan(lang));
        let (report, takes) = check::drive(flow, &mut pipeline, &mut audio)?;
        let kept = takes.len();
        let cal = calibrate(&takes, lang, engine, voice);
        let model = model_name(engine, lang, voice);
        // The journal keeps it; a journal that cannot be written does not
        // lose the report.
        let path = super::super::journal::journal_path(&l.config, o.db)?;
        let stored = super::super::journal::open_store(&path).and_then(|mut s| {
            let now = matcoach::journal::local_now();
            s.record_voice_check(now, engine.name(), &model, &report)?;
            if let Some(cal) = &cal {
                s.save_calibration(cal, now)?;
            }
            Ok(())
        });
        if o.json {
            let v = serde_json::json!({
                "engine": engine.name(),
                "model": model,
                "takes": kept,
                "report": report,
                "calibration": cal,
                "advice": report.advice.iter().map(|a| a.text()).collect::<Vec<_>>(),
            });
            outln!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            outln!();
            write!(std::io::stdout().lock(), "{}", report.text())?;
            if let Some(cal) = &cal {
                outln!(
                    "calibration: your command words heard {} of {} before, {} after; other words taken for a command {} of {} before, {} after",
                    cal.before.heard,
                    cal.before.commands,
                    cal.after.heard,
                    cal.before.false_accepts,
                    cal.before.others,
                    cal.after.false_accepts,
                );
            }
        }
        if let Err(e) = stored {
            eprintln!("matcoach: the check was not stored in the journal: {e:#}");
        }
        Ok(ExitCode::SUCCESS)
    }
}
