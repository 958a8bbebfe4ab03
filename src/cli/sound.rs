//! Sound commands: `demo`, `render`, `render-session`, `devices`.

use super::{events_or_press, load, print_records, session_for, Args};
use anyhow::Result;
use matcoach::config::Config;
use matcoach::content::Lang;
use matcoach::session;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// A real-time session in the terminal, spoken, written to a WAV file or
/// silent.
pub(super) fn demo(
    args: &Args,
    program: Option<&str>,
    lang: Option<Lang>,
    out: Option<(&Path, u32)>,
    silent: bool,
) -> Result<ExitCode> {
    let l = load(args)?;
    let id = program.map_or_else(|| l.config.program.clone(), str::to_string);
    // A program for after back surgery refused: what the coach would say,
    // then the error with its fix.
    if let Some(p) = l.content.program(&id) {
        let today = matcoach::journal::today();
        if let Err(e) = matcoach::adapt::surgery_gate(p, l.config.surgery_date(), today) {
            if let Some(r) = e.surgery_refusal() {
                let line = r.line(&l.content.phrases, lang.unwrap_or(l.config.language));
                eprintln!("coach: {}", line.text);
            }
            return Err(e.into());
        }
    }
    let s = session_for(&l, &id, lang)?;
    let sound = if silent {
        crate::demo::Sound::Silent
    } else {
        let speech = speech(&l.config)?;
        match out {
            Some((path, rate)) => crate::demo::Sound::File(speech, path.to_path_buf(), rate),
            None => crate::demo::Sound::Device(speech),
        }
    };
    crate::demo::run(s, &l.content, &l.config, sound)?;
    Ok(ExitCode::SUCCESS)
}

/// A whole session to a WAV file, sample-accurately, in virtual time.
pub(super) fn render_session(
    args: &Args,
    program: &str,
    lang: Option<Lang>,
    events: Option<&str>,
    out: &Path,
    rate: u32,
    json: bool,
) -> Result<ExitCode> {
    let l = load(args)?;
    let mut s = session_for(&l, program, lang)?;
    let lang = s.lang();
    let events = events_or_press(events)?;
    let speech = speech(&l.config)?;
    speech.check(lang)?;
    let mut lines = session::script_lines(s.script());
    lines.extend(session::FixedLines::new(&l.content.phrases, &l.content.safety, lang).all());
    let stats = speech.render_all(&lines, lang, matcoach::speech::default_jobs())?;
    eprintln!(
        "phrases: {} rendered, {} cached, {} recorded",
        stats.rendered, stats.cached, stats.recorded
    );
    let mut clips = |line: &session::Line| speech.clip(line, lang);
    let rendered =
        matcoach::render::render_session(&mut s, &events, rate, l.config.audio.volume, &mut clips)?;
    rendered.to_clip().write_wav(out)?;
    if json {
        print_records(&rendered.records, true)?;
    }
    eprintln!(
        "wrote {} ({:.1} s of audio at {} Hz)",
        out.display(),
        rendered.samples.len() as f64 / f64::from(rate),
        rate
    );
    Ok(ExitCode::SUCCESS)
}

/// Every phrase, ahead of time, into the speech cache.
pub(super) fn render(args: &Args, lang: Option<Lang>) -> Result<ExitCode> {
    let l = load(args)?;
    let speech = speech(&l.config)?;
    let langs = lang.map_or(Lang::ALL.to_vec(), |x| vec![x]);
    for lang in langs {
        speech.check(lang)?;
        let lines = session::all_lines(&l.content, lang, &l.config.session());
        let stats = speech.render_all(&lines, lang, matcoach::speech::default_jobs())?;
        check_count_lengths(&speech, &lines, lang)?;
        outln!(
            "{lang}: {} phrases: {} rendered, {} cached, {} recorded, in {:.1} s (cache: {})",
            lines.len(),
            stats.rendered,
            stats.cached,
            stats.recorded,
            stats.elapsed.as_secs_f64(),
            speech.cache.dir().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn speech(config: &Config) -> Result<matcoach::speech::Speech> {
    Ok(matcoach::speech::Speech::from_config(
        &config.speech,
        std::path::Path::new("."),
    )?)
}

/// Counts come every second: a count clip that lasts longer would run into
/// the next one.
fn check_count_lengths(
    speech: &matcoach::speech::Speech,
    lines: &[session::Line],
    lang: Lang,
) -> Result<()> {
    let interval = Duration::from_secs(1);
    for line in lines.iter().filter(|l| l.id.0.starts_with("sys.count.")) {
        let clip = speech.clip(line, lang)?;
        if clip.duration() >= interval {
            return Err(matcoach::speech::SpeechError::TooLong {
                phrase: line.id.0.clone(),
                lang,
                clip_ms: clip.duration().as_millis() as u64,
                interval_ms: interval.as_millis() as u64,
            }
            .into());
        }
    }
    Ok(())
}

#[cfg(feature = "speaker-rodio")]
pub(super) fn devices() -> Result<ExitCode> {
    let (outs, ins) = matcoach::speaker::output::devices()?;
    for (title, list) in [
        ("outputs (audio.output_device):", &outs),
        ("inputs (voice.input_device):", &ins),
    ] {
        outln!("{title}");
        if list.is_empty() {
            outln!("  (none)");
        }
        for d in list {
            let mark = if d.is_default { " (default)" } else { "" };
            outln!("  {:<40} {}{mark}", d.name, d.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "speaker-rodio"))]
pub(super) fn devices() -> Result<ExitCode> {
    anyhow::bail!("this build has no sound support\n  fix: build with the default features (cargo build --release)")
}
