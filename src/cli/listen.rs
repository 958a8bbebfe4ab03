//! Speech-recognition commands: `hear`, `listen`, `setup-model`.

use super::{load_config, Args};
use anyhow::{bail, Result};
use matcoach::content::Lang;
use matcoach::voice::Engine;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// A WAV file as 16 kHz mono samples.
fn read_16k(path: &Path) -> Result<Vec<i16>> {
    use matcoach::voice::resample::{to_i16, Resampler};
    let clip = matcoach::audio::Clip::read_wav(path)?;
    let mut out = Vec::new();
    let samples = matcoach::audio::analysis::to_f32(&clip.samples);
    Resampler::new(clip.rate, matcoach::voice::RATE).process(&samples, &mut out);
    Ok(to_i16(&out))
}

/// The engine asked for on the command line, or the one the daemon would
/// listen with (the configured one, or the other standing in; said on
/// stderr), and then the way to open its pipeline.
struct Picked {
    engine: Engine,
    /// The daemon's choice, with its recogniser already loaded.
    choice: Option<matcoach::voice::Choice>,
}

impl Picked {
    fn new(asked: Option<Engine>, lang: Lang, voice: &matcoach::config::Voice) -> Result<Picked> {
        if let Some(engine) = asked {
            return Ok(Picked {
                engine,
                choice: None,
            });
        }
        let choice = matcoach::voice::choose_engine(lang, voice)?;
        if let Some(notice) = choice.notice() {
            eprintln!("{notice}");
        }
        Ok(Picked {
            engine: choice.engine,
            choice: Some(choice),
        })
    }

    /// The pipeline, with the user's calibration for the language and
    /// engine when the journal has one (issue 16, item 2).
    fn into_pipeline(
        self,
        lang: Lang,
        voice: &matcoach::config::Voice,
        echo: bool,
        cal: Option<&matcoach::voice::calibrate::Calibration>,
    ) -> Result<matcoach::voice::pipeline::Pipeline, matcoach::voice::VoiceError> {
        match self.choice {
            Some(c) => c.into_pipeline_calibrated(lang, voice, echo, cal),
            None => matcoach::voice::open_pipeline_calibrated(self.engine, lang, voice, echo, cal),
        }
    }
}

/// A WAV file through the listening pipeline, as fast as it goes; the
/// commands heard as JSON lines.
pub(super) fn hear(
    args: &Args,
    file: &Path,
    lang: Option<Lang>,
    engine: Option<Engine>,
    playback: Option<&Path>,
) -> Result<ExitCode> {
    let config = load_config(args)?;
    let lang = lang.unwrap_or(config.language);
    let picked = Picked::new(engine, lang, &config.voice)?;
    let mic = read_16k(file)?;
    let reference = match playback {
        Some(p) => read_16k(p)?,
        None => Vec::new(),
    };
    let cal =
        matcoach::voice::calibrate::latest_for(&config, lang, picked.engine, |m| eprintln!("{m}"));
    let mut pipeline =
        picked.into_pipeline(lang, &config.voice, playback.is_some(), cal.as_ref())?;
    let started = std::time::Instant::now();
    // The daemon's chunking: 10 ms at a time, the reference alongside.
    let chunk = (matcoach::voice::RATE / 100) as usize;
    let mut heard = Vec::new();
    for (i, part) in mic.chunks(chunk).enumerate() {
        let from = (i * chunk).min(reference.len());
        let to = (from + part.len()).min(reference.len());
        heard.extend(pipeline.push(part, &reference[from..to])?);
    }
    heard.extend(pipeline.finish()?);
    let took = started.elapsed().as_secs_f64();
    for d in &heard {
        outln!("{}", serde_json::to_string(d)?);
    }
    let audio = mic.len() as f64 / f64::from(matcoach::voice::RATE);
    eprintln!(
        "{:.1} s of audio in {:.2} s (real-time factor {:.3}); {} command{} heard",
        audio,
        took,
        if audio > 0.0 { took / audio } else { 0.0 },
        heard.len(),
        if heard.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

/// The microphone through the listening pipeline until ctrl-c.
pub(super) fn listen(args: &Args, lang: Option<Lang>, engine: Option<Engine>) -> Result<ExitCode> {
    let config = load_config(args)?;
    let lang = lang.unwrap_or(config.language);
    let picked = Picked::new(engine, lang, &config.voice)?;
    let engine = picked.engine;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let stop = Arc::new(AtomicBool::new(false));
    let voice = config.voice.clone();
    let cal = matcoach::voice::calibrate::latest_for(&config, lang, engine, |m| eprintln!("{m}"));
    let device = voice.input_device.clone();
    eprintln!("listening on \"{device}\" ({lang}, {engine:?}); ctrl-c ends");
    let worker = std::thread::spawn({
        let stop = stop.clone();
        move || {
            matcoach::voice::capture::listen(
                device,
                || picked.into_pipeline(lang, &voice, false, cal.as_ref()),
                None,
                tx,
                stop,
                |d| {
                    if let Ok(line) = serde_json::to_string(d) {
                        // A closed stdout only means nobody reads along.
                        let _ = writeln!(std::io::stdout().lock(), "{line}");
                    }
                },
            )
        }
    });
    // Device news arrive as inputs; show them.
    while let Some(input) = rx.blocking_recv() {
        match input {
            matcoach::session::Input::DeviceLost(d) => eprintln!("{d:?} lost; retrying"),
            matcoach::session::Input::DeviceBack(d) => eprintln!("{d:?} back"),
            _ => {}
        }
    }
    match worker.join() {
        Ok(result) => result?,
        Err(_) => bail!("the listening thread failed"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The speech-recognition model for `lang`: downloaded, or from a zip
/// downloaded by hand.
pub(super) fn setup_model(args: &Args, lang: Lang, from: Option<&Path>) -> Result<ExitCode> {
    let config = load_config(args)?;
    let info = matcoach::voice::model::info(lang);
    let dest = matcoach::voice::model::model_dir(&config.voice, lang);
    let installed = match from {
        Some(zip) => matcoach::voice::model::setup_from_file(info, zip, &dest)?,
        None => {
            eprintln!("downloading {} into {}", info.url, dest.display());
            let mut last = 0;
            let mut progress = |done: u64, total: Option<u64>| {
                let step = done / (1 << 20);
                if step != last || done == 0 {
                    last = step;
                    match total {
                        Some(t) if t > 0 => eprint!(
                            "\r  {:>5.1} of {:.1} MB ({:>3}%)",
                            done as f64 / 1e6,
                            t as f64 / 1e6,
                            done * 100 / t
                        ),
                        _ => eprint!("\r  {:>5.1} MB", done as f64 / 1e6),
                    }
                }
            };
            let r = matcoach::voice::model::setup(info, &dest, &mut progress);
            eprintln!();
            r?
        }
    };
    outln!("installed {} in {}", info.name, installed.display());
    Ok(ExitCode::SUCCESS)
}
