//! `matcoach voice-check`: the coach tests itself with the user, through
//! the real speaker and microphone and the daemon's listening pipeline
//! (with echo cancellation). The flow is `matcoach::hearing::check`; this is
//! its shell: the speech, the speaker, the microphone, the terminal, the
//! journal.

use matcoach::content::Lang;
use matcoach::hearing::Engine;
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
    use matcoach::hearing::live_check::{self, LiveAudio};
    use std::io::Write;
    use std::path::Path;
    use std::process::ExitCode;
    use std::sync::Arc;

    pub(in crate::cli) fn voice_check(args: &Args, o: &Options) -> Result<ExitCode> {
        let l = load(args)?;
        let lang = o.lang.unwrap_or(l.config.language);
        let voice = &l.config.voice;
        // The recogniser first: a missing model is said before anything else.
        let (engine, pipeline, notice) = live_check::open_pipeline(o.engine, lang, voice)?;
        if let Some(n) = notice {
            log::warn!("{n}");
        }
        let speech = matcoach::speech::Speech::from_config(&l.config.speech, Path::new("."))?;
        speech.check(lang)?;
        // The microphone: 48 kHz stereo at most, `mic_buffer_secs` of it.
        if !(0.5..=600.0).contains(&o.mic_buffer_secs) {
            bail!("--mic-buffer-secs must be between 0.5 and 600");
        }
        let ring = (o.mic_buffer_secs * 96_000.0) as usize;
        let mic = matcoach::hearing::capture::Mic::open(&voice.input_device, ring)?;
        let (tx, _rx) = tokio::sync::mpsc::channel(64);
        let (keep, output) = matcoach::speaker::output::RodioOutput::open(
            &l.config.audio.output_device,
            l.config.audio.volume,
            tx,
            None,
            std::time::Duration::ZERO,
        )?;
        let json = o.json;
        let mut audio = LiveAudio::new(
            Arc::new(speech),
            lang,
            output,
            Some(keep),
            mic,
            Box::new(move |what: &str| {
                if !json {
                    println!("{what}");
                }
            }),
        );
        if !o.json {
            println!(
                "voice check in {lang} with {} (microphone \"{}\"); it takes about three minutes",
                engine.name(),
                audio.device()
            );
        }
        let checked = live_check::check_and_calibrate(
            engine,
            pipeline,
            lang,
            voice,
            &l.content.phrases,
            &mut audio,
        )?;
        if let Some(why) = &checked.no_calibration {
            log::warn!("no calibration from this check: {why}");
        }
        // The journal keeps it; a journal that cannot be written does not
        // lose the report.
        let path = super::super::journal::journal_path(&l.config, o.db)?;
        let stored = matcoach::journal::voice_checks::store_check(&path, &checked);
        let (report, cal) = (&checked.report, &checked.calibration);
        if o.json {
            let v = serde_json::json!({
                "engine": engine.name(),
                "model": checked.model,
                "takes": checked.takes,
                "report": report,
                "calibration": cal,
                "advice": report.advice.iter().map(|a| a.text()).collect::<Vec<_>>(),
            });
            outln!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            outln!();
            write!(std::io::stdout().lock(), "{}", report.text())?;
            if let Some(cal) = cal {
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
            log::error!("the check was not stored in the journal: {e:#}");
        }
        Ok(ExitCode::SUCCESS)
    }
}
