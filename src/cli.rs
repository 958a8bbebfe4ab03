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
        /// Also print what was said as readable text on stderr
        #[arg(long)]
        json: bool,
    },
    /// A real-time session in the terminal (space = button, keys = voice)
    Demo {
        program: Option<String>,
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
    },
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
            json: _,
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
        Cmd::Demo { program, lang } => {
            let l = load(args)?;
            let id = program.clone().unwrap_or_else(|| l.config.program.clone());
            let s = session_for(&l, &id, *lang)?;
            crate::demo::run(s)?;
            Ok(ExitCode::SUCCESS)
        }
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
