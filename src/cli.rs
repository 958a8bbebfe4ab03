//! The subcommands.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use matcoach::config::Config;
use matcoach::content::{self, Content, Lang};
use matcoach::session::{self, Action, Session};
use matcoach::sim::{self, Record, ScriptedEvent, UserAction};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// `println!` that reports a closed stdout (`matcoach plan … | head`) as an
/// error instead of panicking; `run` treats a broken pipe as a normal end.
macro_rules! outln {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*)?
    };
}

#[derive(Parser, Debug)]
#[command(
    name = "matcoach",
    version,
    about = "A hands-free, voice-guided exercise coach for low-back pain"
)]
pub struct Args {
    /// Config file (default: ./config/matcoach.toml if it exists, else built-in defaults)
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Content directory (default: the config's content_dir)
    #[arg(long, global = true, value_name = "DIR")]
    content: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// List the programs
    Programs {
        #[arg(long)]
        json: bool,
    },
    /// List every exercise with its dose and source
    Exercises {
        #[arg(long)]
        json: bool,
    },
    /// Show a program's session timeline, without interruptions
    Plan {
        program: String,
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        #[arg(long)]
        json: bool,
    },
    /// Run a session in virtual time with scripted inputs; prints JSON lines
    Sim {
        program: String,
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        /// e.g. 0s:press,95s:heard=pain,140s:heard=stop,150s:press,400s:long_press
        #[arg(long, value_name = "SPEC")]
        events: Option<String>,
    },
    /// A real-time session in the terminal (space = button, keys = voice),
    /// spoken through the default sound device when there is one
    Demo {
        program: Option<String>,
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        /// Write the sound to this WAV file instead of a device
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Show the text only; no sound
        #[arg(long)]
        silent: bool,
    },
    /// Render a whole session to a WAV file, sample-accurately, in virtual time
    RenderSession {
        program: String,
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        /// Scripted inputs, as for `sim` (default: a press at 0 s)
        #[arg(long, value_name = "SPEC")]
        events: Option<String>,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Sample rate of the file
        #[arg(long, default_value_t = 22_050)]
        rate: u32,
        /// Also print the session's actions as JSON lines
        #[arg(long)]
        json: bool,
    },
    /// Render every phrase ahead of time into the speech cache
    Render {
        /// Only this language (default: both)
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
    },
    /// List every phrase id with its text, e.g. for recording your own voice
    Phrases {
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        #[arg(long)]
        json: bool,
    },
    /// List the sound output and input devices
    Devices,
    /// Validate the content and the config; non-zero exit on errors
    Check,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::parse(s).ok_or_else(|| format!("unknown language `{s}`: use `en` or `nl`"))
}

struct Loaded {
    config: Config,
    content: Content,
}

fn load_config(args: &Args) -> Result<Config> {
    let path = match &args.config {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from("config/matcoach.toml")).filter(|p| p.exists()),
    };
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let (config, warnings) = Config::load(&path)?;
    for w in warnings {
        eprintln!("{w}");
    }
    Ok(config)
}

fn content_dir(args: &Args, config: &Config) -> PathBuf {
    args.content
        .clone()
        .unwrap_or_else(|| config.content_dir.clone())
}

fn load(args: &Args) -> Result<Loaded> {
    let config = load_config(args)?;
    let dir = content_dir(args, &config);
    let content = content::load_dir(&dir)?;
    Ok(Loaded { config, content })
}

fn program<'a>(content: &'a Content, id: &str) -> Result<&'a content::Program> {
    match content.program(id) {
        Some(p) => Ok(p),
        None => bail!(
            "unknown program `{id}`\n  available: {}\n  fix: use one of these ids (see `matcoach programs`)",
            content.program_ids().join(", ")
        ),
    }
}

fn session_for(l: &Loaded, program_id: &str, lang: Option<Lang>) -> Result<Session> {
    let prog = program(&l.content, program_id)?;
    let lang = lang.unwrap_or(l.config.language);
    let cfg = l.config.session();
    let personal: HashMap<String, u32> = HashMap::new();
    let script = session::compile(&l.content, prog, lang, &cfg, &personal)?;
    Ok(Session::new(
        script,
        cfg,
        l.content.phrases.clone(),
        l.content.safety.clone(),
    ))
}

pub fn run(args: Args) -> Result<ExitCode> {
    match run_command(&args) {
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        other => other,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run_command(args: &Args) -> Result<ExitCode> {
    match &args.command {
        Cmd::Check => check(args),
        Cmd::Programs { json } => {
            let l = load(args)?;
            programs(&l.content, *json)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Exercises { json } => {
            let l = load(args)?;
            exercises(&l.content, *json)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Plan {
            program,
            lang,
            json,
        } => {
            let l = load(args)?;
            let mut s = session_for(&l, program, *lang)?;
            let press = [ScriptedEvent {
                at: Duration::ZERO,
                what: UserAction::Press,
            }];
            let records = sim::run(&mut s, &press, Duration::from_secs(6 * 3600));
            print_records(&records, *json)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Sim {
            program,
            lang,
            events,
        } => {
            let l = load(args)?;
            let mut s = session_for(&l, program, *lang)?;
            let events = match events {
                Some(spec) => sim::parse_spec(spec)?,
                None => vec![ScriptedEvent {
                    at: Duration::ZERO,
                    what: UserAction::Press,
                }],
            };
            let records = sim::run(&mut s, &events, Duration::from_secs(6 * 3600));
            print_records(&records, true)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Demo {
            program,
            lang,
            out,
            silent,
        } => {
            let l = load(args)?;
            let id = program.clone().unwrap_or_else(|| l.config.program.clone());
            let s = session_for(&l, &id, *lang)?;
            let sound = if *silent {
                crate::demo::Sound::Silent
            } else {
                let speech = speech(&l.config)?;
                match out {
                    Some(path) => crate::demo::Sound::File(speech, path.clone()),
                    None => crate::demo::Sound::Device(speech),
                }
            };
            crate::demo::run(s, &l.content, &l.config, sound)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::RenderSession {
            program,
            lang,
            events,
            out,
            rate,
            json,
        } => {
            let l = load(args)?;
            if !(8_000..=192_000).contains(rate) {
                bail!("--rate {rate} is outside 8000 to 192000\n  fix: use e.g. 22050 or 48000");
            }
            let mut s = session_for(&l, program, *lang)?;
            let lang = s.lang();
            let events = match events {
                Some(spec) => sim::parse_spec(spec)?,
                None => vec![ScriptedEvent {
                    at: Duration::ZERO,
                    what: UserAction::Press,
                }],
            };
            let speech = speech(&l.config)?;
            speech.check(lang)?;
            let mut lines = session::script_lines(s.script());
            lines.extend(
                session::FixedLines::new(&l.content.phrases, &l.content.safety, lang).all(),
            );
            let stats = speech.render_all(&lines, lang, matcoach::speech::default_jobs())?;
            eprintln!(
                "phrases: {} rendered, {} cached, {} recorded",
                stats.rendered, stats.cached, stats.recorded
            );
            let mut clips = |line: &session::Line| speech.clip(line, lang);
            let rendered = matcoach::render::render_session(
                &mut s,
                &events,
                *rate,
                l.config.audio.volume,
                &mut clips,
            )?;
            rendered.to_clip().write_wav(out)?;
            if *json {
                print_records(&rendered.records, true)?;
            }
            eprintln!(
                "wrote {} ({:.1} s of audio at {} Hz)",
                out.display(),
                rendered.samples.len() as f64 / f64::from(*rate),
                rate
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Render { lang } => {
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
        Cmd::Phrases { lang, json } => {
            let l = load(args)?;
            let lang = lang.unwrap_or(l.config.language);
            let lines = session::all_lines(&l.content, lang, &l.config.session());
            if *json {
                let v: Vec<_> = lines
                    .iter()
                    .map(|x| serde_json::json!({"id": x.id, "text": x.text}))
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for x in &lines {
                    outln!("{:<48} {}", x.id, x.text);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Devices => devices(),
    }
}

fn check(args: &Args) -> Result<ExitCode> {
    let config = load_config(args)?;
    let dir = content_dir(args, &config);
    let content = match content::load_dir(&dir) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    for w in &content.warnings {
        eprintln!("{w}");
    }
    if content.program(&config.program).is_none() && config.program != "auto" {
        eprintln!(
            "config: program `{}` is not in the content\n  available: {}\n  fix: set `program` to one of these",
            config.program,
            content.program_ids().join(", ")
        );
        return Ok(ExitCode::from(1));
    }
    // Every program must compile in both languages.
    let cfg = config.session();
    for p in &content.programs {
        for lang in Lang::ALL {
            session::compile(&content, p, lang, &cfg, &())
                .with_context(|| format!("program `{}` ({lang})", p.id()))?;
        }
    }
    outln!(
        "ok: {} exercises, {} programs, {} warnings ({})",
        content.exercises.len(),
        content.programs.len(),
        content.warnings.len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn programs(content: &Content, json: bool) -> Result<()> {
    if json {
        let v: Vec<_> = content
            .programs
            .iter()
            .map(|p| {
                serde_json::json!({
                    "id": p.id(),
                    "name": p.name,
                    "description": p.description,
                    "sources": p.sources,
                    "phase": p.phase,
                    "times_per_day": p.times_per_day,
                    "times_per_day_max": p.times_per_day_max,
                    "condition": p.condition,
                    "exercises": p.items.iter().map(|i| i.exercise.get_ref()).collect::<Vec<_>>(),
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let cfg = session::SessionConfig::default();
    for p in &content.programs {
        let minutes = session::compile(content, p, Lang::En, &cfg, &())
            .map(|s| s.estimated.as_secs().div_ceil(60))
            .unwrap_or(0);
        outln!(
            "{:<32} {:>2} exercises  ~{:>2} min  {}",
            p.id(),
            p.items.len(),
            minutes,
            p.name.en.as_str()
        );
    }
    Ok(())
}

fn exercises(content: &Content, json: bool) -> Result<()> {
    if json {
        let v: Vec<_> = content
            .exercises
            .iter()
            .map(|e| serde_json::to_value(&e.value))
            .collect::<Result<_, _>>()?;
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    for e in &content.exercises {
        outln!(
            "{:<36} {:<26} {:<13} {:<40} [{}]",
            e.id(),
            e.source.get_ref(),
            format!("{:?}", e.category).to_lowercase(),
            e.dose.summary(),
            format!("{:?}", e.dose_origin).to_lowercase(),
        );
    }
    Ok(())
}

fn print_records(records: &[Record], json: bool) -> std::io::Result<()> {
    for r in records {
        if json {
            outln!("{}", r.to_json());
            continue;
        }
        let t = r.t.as_millis();
        let stamp = format!("{:>3}:{:02}.{:03}", t / 60_000, (t / 1000) % 60, t % 1000);
        let what = match &r.action {
            Action::Speak { line, .. } => format!("says     {}", line.text),
            Action::StopSpeech => "stops speaking".into(),
            Action::Cue(c) => format!("cue      {c:?}"),
            Action::SetLed(l) => format!("led      {l:?}"),
            Action::Journal(e) => {
                format!("journal  {}", serde_json::to_string(e).unwrap_or_default())
            }
            Action::End(r) => format!("end      {r:?}"),
        };
        outln!("{stamp}  {what}");
    }
    Ok(())
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
fn devices() -> Result<ExitCode> {
    let (outs, ins) = matcoach::audio::output::devices()?;
    outln!("outputs (audio.output_device):");
    if outs.is_empty() {
        outln!("  (none)");
    }
    for d in &outs {
        let mark = if d.is_default { " (default)" } else { "" };
        outln!("  {:<40} {}{mark}", d.name, d.description);
    }
    outln!("inputs (voice.input_device):");
    if ins.is_empty() {
        outln!("  (none)");
    }
    for d in &ins {
        let mark = if d.is_default { " (default)" } else { "" };
        outln!("  {:<40} {}{mark}", d.name, d.description);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "speaker-rodio"))]
fn devices() -> Result<ExitCode> {
    bail!("this build has no sound support\n  fix: build with the default features (cargo build --release)")
}
