//! Speech-recognition commands: `hear`, `listen`, `setup-model`.

use super::{load_config, Args};
use anyhow::{bail, Context, Result};
use matcoach::content::Lang;
use matcoach::hearing::Engine;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// A WAV file as 16 kHz mono samples. A file that is no usable WAV is
/// named, with the fix for `hear`.
fn read_16k(path: &Path) -> Result<Vec<i16>> {
    let clip = match matcoach::audio::Clip::read_wav(path) {
        Ok(c) => c,
        Err(matcoach::audio::AudioError::BadWav { path, reason }) => bail!(
            "{}: not a usable WAV file ({reason})\n  fix: give `hear` a PCM WAV recording (any rate and channels; 16 kHz mono is best), such as a clip kept in the folder `misses` beside the journal; convert other audio with `sox IN -b 16 OUT.wav`",
            path.display()
        ),
        Err(e) => return Err(e.into()),
    };
    Ok(matcoach::hearing::to_16k(&clip))
}

/// The engine asked for on the command line, or the one the daemon would
/// listen with (the configured one, or the other standing in; said on
/// stderr), and then the way to open its pipeline.
struct Picked {
    engine: Engine,
    /// The daemon's choice, with its recogniser already loaded.
    choice: Option<matcoach::hearing::Choice>,
}

impl Picked {
    fn new(asked: Option<Engine>, lang: Lang, voice: &matcoach::config::Voice) -> Result<Picked> {
        if let Some(engine) = asked {
            return Ok(Picked {
                engine,
                choice: None,
            });
        }
        let choice = matcoach::hearing::choose_engine(lang, voice)?;
        if let Some(notice) = choice.notice() {
            log::warn!("{notice}");
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
        cal: Option<&matcoach::hearing::calibrate::Calibration>,
    ) -> Result<matcoach::hearing::pipeline::Pipeline, matcoach::hearing::VoiceError> {
        match self.choice {
            Some(c) => c.into_pipeline_calibrated(lang, voice, echo, cal),
            None => {
                matcoach::hearing::open_pipeline_calibrated(self.engine, lang, voice, echo, cal)
            }
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
    // issue 16, item 3: a kept clip's sidecar says what was heard then, and
    // what the coach played meanwhile.
    let kept = match matcoach::hearing::misses::Sidecar::of(file) {
        Ok(k) => k,
        Err(e) => {
            log::warn!("{e}; the clip is replayed without it");
            None
        }
    };
    let lang = lang
        .or_else(|| kept.as_ref().and_then(|k| Lang::parse(&k.language)))
        .unwrap_or(config.language);
    let picked = Picked::new(engine, lang, &config.voice)?;
    let mic = read_16k(file)?;
    // Only the microphone's file is replayed with the kept playback (the
    // `.heard.wav` is after echo cancellation already).
    let is_mic = kept.as_ref().is_some_and(|k| {
        file.file_name()
            .is_some_and(|n| n.to_string_lossy() == k.mic.as_str())
    });
    let kept_playback = kept
        .as_ref()
        .and_then(|k| k.playback.as_ref())
        .filter(|_| playback.is_none() && is_mic)
        .map(|name| file.with_file_name(name))
        .filter(|p| p.exists());
    if let Some(p) = &kept_playback {
        eprintln!("with the coach's playback kept beside it: {}", p.display());
    }
    let playback = playback.or(kept_playback.as_deref());
    let reference = match playback {
        Some(p) => read_16k(p)?,
        None => Vec::new(),
    };
    let cal = matcoach::journal::voice_checks::calibration_for(&config, lang, picked.engine, |m| {
        log::info!("{m}")
    });
    let mut pipeline =
        picked.into_pipeline(lang, &config.voice, playback.is_some(), cal.as_ref())?;
    let started = std::time::Instant::now();
    // The daemon's chunking: 10 ms at a time, the reference alongside.
    let chunk = (matcoach::hearing::RATE / 100) as usize;
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
    if let Some(k) = &kept {
        eprint!("{}", then_and_now(k, &heard));
    }
    let audio = mic.len() as f64 / f64::from(matcoach::hearing::RATE);
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
    use std::sync::Arc;
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let stop = Arc::new(matcoach::hearing::capture::Control::default());
    let voice = config.voice.clone();
    let cal = matcoach::journal::voice_checks::calibration_for(&config, lang, engine, |m| {
        log::info!("{m}")
    });
    let device = voice.input_device.clone();
    // Ctrl-c (or SIGTERM) ends the listening thread, which closes the
    // channel below. Handled, not left to the signal's default action: a
    // process started in the background of a script inherits SIGINT
    // ignored, and would then listen on for ever.
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the signal handler")?;
    let (mut interrupt, mut terminate) = signals
        .block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        })
        .context("handling ctrl-c")?;
    std::thread::spawn({
        let stop = stop.clone();
        move || {
            signals.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            });
            stop.stop();
        }
    });
    eprintln!("listening on \"{device}\" ({lang}, {engine:?}); ctrl-c ends");
    let worker = std::thread::spawn({
        let stop = stop.clone();
        move || {
            matcoach::hearing::capture::listen(
                device,
                {
                    let mut picked = Some(picked);
                    move || match picked.take() {
                        Some(p) => p.into_pipeline(lang, &voice, false, cal.as_ref()),
                        None => matcoach::hearing::open_pipeline_calibrated(
                            engine,
                            lang,
                            &voice,
                            false,
                            cal.as_ref(),
                        ),
                    }
                },
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
    let info = matcoach::hearing::installer::info(lang);
    let dest = matcoach::hearing::installer::model_dir(&config.voice, lang);
    let installed = match from {
        Some(zip) => matcoach::hearing::installer::setup_from_file(info, zip, &dest)?,
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
            let r = matcoach::hearing::installer::setup(info, &dest, &mut progress);
            eprintln!();
            r?
        }
    };
    outln!("installed {} in {}", info.name, installed.display());
    Ok(ExitCode::SUCCESS)
}

/// What a kept clip's sidecar says was heard then, beside what is heard now.
fn then_and_now(
    k: &matcoach::hearing::misses::Sidecar,
    now: &[matcoach::hearing::Detection],
) -> String {
    let secs = |ms: i64| ms as f64 / 1000.0;
    let commands = |ds: &[matcoach::hearing::Detection]| {
        if ds.is_empty() {
            return "no command".to_string();
        }
        ds.iter()
            .map(|d| {
                format!(
                    "{} (\"{}\", {:.1}-{:.1} s, {:.2})",
                    d.command.name(),
                    d.word,
                    secs(d.start_ms as i64),
                    secs(d.end_ms as i64),
                    d.confidence
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let finals: Vec<String> = k
        .heard
        .iter()
        .filter(|h| h.is_final && !h.words.is_empty())
        .map(|h| {
            let words: Vec<String> = h
                .words
                .iter()
                .map(|w| match w.conf {
                    Some(c) => format!("{} {c:.2}", w.text),
                    None => w.text.clone(),
                })
                .collect();
            format!("\"{}\" at {:.1} s", words.join(", "), secs(h.at_ms))
        })
        .collect();
    let partials = k.heard.iter().filter(|h| !h.is_final).count();
    format!(
        "kept clip: {} of \"{}\" at {} ({}, {}, {})\n  what happened: {}\n  then: {}; the recogniser's results: {} ({partials} partial{})\n  now:  {}\n",
        k.kind.as_str().replace('_', " "),
        k.command.name(),
        k.time,
        k.engine,
        k.model,
        k.language,
        k.what,
        commands(&k.commands),
        if finals.is_empty() { "none final".to_string() } else { finals.join("; ") },
        if partials == 1 { "" } else { "s" },
        commands(now),
    )
}
