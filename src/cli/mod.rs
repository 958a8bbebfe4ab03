//! The subcommands: the arguments, the dispatch and what the commands
//! share (loading the config and content, a session for a program, the
//! default scripted press, printing a session's records). The commands
//! themselves are in the files below, by what they work on.

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use matcoach::config::Config;
use matcoach::content::{self, Content, Lang};
use matcoach::journal::Date;
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

mod checks;
// issue 16, item 3.
mod field;
mod journal;
mod listen;
mod programs;
mod sound;
// issue 16, item 1
mod voice_check;
// issue 17
mod web;

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
        #[arg(long)]
        lang: Option<Lang>,
        #[arg(long)]
        json: bool,
    },
    /// Run a session in virtual time with scripted inputs; prints JSON lines
    Sim {
        program: String,
        #[arg(long)]
        lang: Option<Lang>,
        /// e.g. 0s:press,95s:heard=pain,140s:heard=stop,150s:press,400s:long_press
        #[arg(long, value_name = "SPEC")]
        events: Option<String>,
        /// Adapt today's program from this journal and write the session to
        /// it (PROGRAM may then be `auto`: the daily rotation)
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// The day the session is on (with --db; default: today)
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<matcoach::journal::Date>,
        /// Real seconds per virtual second while writing the journal
        #[arg(long, hide = true)]
        pace: Option<f64>,
    },
    /// A real-time session in the terminal (space = button, keys = voice),
    /// spoken through the default sound device when there is one
    Demo {
        program: Option<String>,
        #[arg(long)]
        lang: Option<Lang>,
        /// Write the sound to this WAV file instead of a device
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Sample rate of the file (with --out): 48000 holds the phrases as
        /// a 48 kHz speaker does
        #[arg(long, default_value_t = 22_050, value_parser = rate_parser(), requires = "out")]
        rate: u32,
        /// Show the text only; no sound
        #[arg(long)]
        silent: bool,
    },
    /// Render a whole session to a WAV file, sample-accurately, in virtual time
    RenderSession {
        program: String,
        #[arg(long)]
        lang: Option<Lang>,
        /// Scripted inputs, as for `sim` (default: a press at 0 s)
        #[arg(long, value_name = "SPEC")]
        events: Option<String>,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Sample rate of the file
        #[arg(long, default_value_t = 22_050, value_parser = rate_parser())]
        rate: u32,
        /// Also print the session's actions as JSON lines
        #[arg(long)]
        json: bool,
    },
    /// Render every phrase ahead of time into the speech cache
    Render {
        /// Only this language (default: both)
        #[arg(long)]
        lang: Option<Lang>,
    },
    /// List every phrase id with its text, e.g. for recording your own voice
    Phrases {
        #[arg(long)]
        lang: Option<Lang>,
        #[arg(long)]
        json: bool,
    },
    /// List the sound output and input devices
    Devices,
    /// Stream a WAV file through the listening pipeline, as fast as it can;
    /// prints one JSON object per command heard
    Hear {
        file: PathBuf,
        #[arg(long)]
        lang: Option<Lang>,
        /// vosk or pocketsphinx (default: the config's)
        #[arg(long)]
        engine: Option<matcoach::hearing::Engine>,
        /// What the coach played meanwhile, for echo cancellation
        #[arg(long, value_name = "REF.wav")]
        playback: Option<PathBuf>,
        /// JSON lines (the default is the same; kept for scripts)
        #[arg(long)]
        json: bool,
    },
    /// Download and install the speech-recognition model for a language
    SetupModel {
        #[arg(long)]
        lang: Lang,
        /// Install from a zip downloaded by hand instead
        #[arg(long, value_name = "ZIP")]
        from: Option<PathBuf>,
    },
    /// Listen on the microphone and print the commands heard (ctrl-c ends)
    Listen {
        #[arg(long)]
        lang: Option<Lang>,
        #[arg(long)]
        engine: Option<matcoach::hearing::Engine>,
    },
    /// Validate the content and the config; non-zero exit on errors
    Check,
    /// Check the config, sound devices, microphone level, recognition model,
    /// GPIO, journal and disk space; says what is wrong and the fix (exit 1)
    Doctor {
        #[arg(long)]
        json: bool,
        /// Play a short test tone on the output device
        #[arg(long)]
        tone: bool,
        /// How long to record for the microphone level
        #[arg(long, value_name = "SECS", default_value_t = 3.0)]
        listen_secs: f64,
        /// Only open the input device; do not record
        #[arg(long)]
        no_mic_test: bool,
    },
    /// The daemon: wait for the button, coach today's program, journal it;
    /// also serves the companion page ([web] in the config)
    Run,
    /// Serve the companion page alone for a journal (no coaching, no
    /// devices): progress, settings, notes, your recorded voice
    Web {
        /// The journal (default: the config's journal.path)
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// Address and port (default: the config's [web] listen; port 0
        /// picks a free one, printed at start)
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Print a 6-digit code that pairs a phone with the companion page
    /// (valid 5 minutes), or end every paired session
    Pair {
        /// The journal the page serves (default: the config's journal.path)
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// End every paired session instead
        #[arg(long)]
        revoke: bool,
    },
    /// The journal: sessions with their length and pain, weekly adherence
    History {
        #[arg(long)]
        json: bool,
        /// Only sessions from this day on
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        since: Option<matcoach::journal::Date>,
        /// Print the sessions as CSV instead
        #[arg(long, value_name = "FORMAT", value_parser = ["csv"])]
        export: Option<String>,
        /// The journal (default: the config's journal.path)
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Count adherence up to this day instead of today
        #[arg(long, hide = true, value_parser = parse_date)]
        today: Option<matcoach::journal::Date>,
    },
    /// The McKenzie phase: show it, or move on to the next (never after pain)
    Phase {
        #[arg(value_enum)]
        action: Option<PhaseAction>,
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
    },
    /// The startgetal: tested maxima, enter one, or plan a max test
    Calibrate {
        /// Enter a maximum you tested yourself, e.g. sr_abdominals=30
        #[arg(long, value_name = "EXERCISE=MAX")]
        set: Vec<String>,
        /// Make the next strength session a max test
        #[arg(long)]
        next: bool,
        #[arg(long)]
        json: bool,
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
    },
    // issue 16, item 3.
    /// How often spoken commands were heard, ignored as the coach's own
    /// word, or replaced by the button, per word and per week
    VoiceReport {
        /// The journal (default: the config's journal.path)
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// How many weeks, up to this one
        #[arg(long, value_name = "N", default_value_t = 8)]
        weeks: u32,
        #[arg(long)]
        json: bool,
        /// Count up to this day instead of today
        #[arg(long, hide = true, value_parser = parse_date)]
        today: Option<matcoach::journal::Date>,
    },
    // issue 16, item 1
    /// The coach tests how well it hears you: it asks for each command word
    /// three times and a few other words, then reports and advises
    VoiceCheck {
        #[arg(long)]
        lang: Option<Lang>,
        /// vosk or pocketsphinx (default: the one the daemon would use)
        #[arg(long)]
        engine: Option<matcoach::hearing::Engine>,
        /// The report as JSON
        #[arg(long)]
        json: bool,
        /// The journal (default: the config's journal.path)
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Seconds of microphone audio to buffer (tests: ALSA's file PCM
        /// delivers a whole recording at once)
        #[arg(long, hide = true, default_value_t = 4.0)]
        mic_buffer_secs: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PhaseAction {
    /// Move on to the next phase (refused after a session with pain)
    Next,
    /// Go back a phase (003: when the pain returns)
    Back,
    /// Begin the McKenzie program at the acute phase
    Start,
    /// Stop following the McKenzie program
    Stop,
}

/// A sound file's sample rate: what the resampler and WAV writer serve.
fn rate_parser() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(8_000..=192_000)
}

fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s).map_err(|e| e.to_string())
}

struct Loaded {
    config: Config,
    content: Content,
}

/// The config with the settings layer the companion page writes (beside
/// the config's journal) on top: what every command sees.
fn load_config(args: &Args) -> Result<Config> {
    let base = load_base_config(args)?;
    match matcoach::journal::resolve_path(base.journal.path.as_deref()) {
        Ok(path) => web::layered(&base, &path),
        Err(_) => Ok(base),
    }
}

/// The config file alone, without the settings layer.
fn load_base_config(args: &Args) -> Result<Config> {
    // --config, then the system's config, then the checkout's.
    let Some(path) = matcoach::config::find_config(args.config.as_deref()) else {
        return Ok(Config::default());
    };
    let (config, warnings) = Config::load(&path)?;
    matcoach::logging::set_level(config.log.level);
    for w in warnings {
        log::warn!("{w}");
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
    // A program for after back surgery: not before its week (003).
    matcoach::adapt::surgery_gate(prog, l.config.surgery_date(), matcoach::journal::today())?;
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
        Cmd::Check => checks::check(args),
        Cmd::Doctor {
            json,
            tone,
            listen_secs,
            no_mic_test,
        } => checks::doctor(args, *json, *tone, *listen_secs, *no_mic_test),
        #[cfg(feature = "speaker-rodio")]
        Cmd::Run => {
            let base = load_base_config(args)?;
            let path = journal::journal_path(&base, None)?;
            let config = web::layered(&base, &path)?;
            let content = content::load_dir(&content_dir(args, &config))?;
            crate::daemon::run(base, config, content)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Web { db, listen } => web::web(args, db.as_deref(), *listen),
        Cmd::Pair { db, revoke } => web::pair(args, db.as_deref(), *revoke),
        #[cfg(not(feature = "speaker-rodio"))]
        Cmd::Run => Err(anyhow::anyhow!(
            "this build has no sound support, so it cannot coach: build with the default features (`speaker-rodio`)"
        )),
        Cmd::Programs { json } => programs::programs(args, *json),
        Cmd::Exercises { json } => programs::exercises(args, *json),
        Cmd::Plan {
            program,
            lang,
            json,
        } => programs::plan(args, program, *lang, *json),
        Cmd::Sim {
            program,
            lang,
            events,
            db,
            date,
            pace,
        } => {
            if db.is_some()
                || date.is_some()
                || pace.is_some()
                || program == matcoach::adapt::AUTO
                || program == matcoach::adapt::MAX_TEST
            {
                let opts = journal::SimJournal {
                    db: db.as_deref(),
                    date: *date,
                    pace: *pace,
                };
                return journal::sim_journaled(args, program, *lang, events.as_deref(), &opts);
            }
            programs::simulate(args, program, *lang, events.as_deref())
        }
        Cmd::Demo {
            program,
            lang,
            out,
            rate,
            silent,
        } => sound::demo(
            args,
            program.as_deref(),
            *lang,
            out.as_deref().map(|o| (o, *rate)),
            *silent,
        ),
        Cmd::RenderSession {
            program,
            lang,
            events,
            out,
            rate,
            json,
        } => sound::render_session(args, program, *lang, events.as_deref(), out, *rate, *json),
        Cmd::Render { lang } => sound::render(args, *lang),
        Cmd::Phrases { lang, json } => programs::phrases(args, *lang, *json),
        Cmd::Devices => sound::devices(),
        Cmd::Hear {
            file,
            lang,
            engine,
            playback,
            json: _,
        } => listen::hear(args, file, *lang, *engine, playback.as_deref()),
        Cmd::SetupModel { lang, from } => listen::setup_model(args, *lang, from.as_deref()),
        Cmd::Listen { lang, engine } => listen::listen(args, *lang, *engine),
        Cmd::History {
            json,
            since,
            export,
            db,
            today,
        } => {
            let opts = journal::HistoryOptions {
                json: *json,
                since: *since,
                csv: export.is_some(),
                db: db.as_deref(),
                today: *today,
            };
            journal::history(args, &opts)
        }
        Cmd::Phase { action, db } => journal::phase(args, *action, db.as_deref()),
        Cmd::Calibrate {
            set,
            next,
            json,
            db,
        } => journal::calibrate(args, set, *next, *json, db.as_deref()),
        Cmd::VoiceReport {
            db,
            weeks,
            json,
            today,
        } => field::voice_report(args, db.as_deref(), *weeks, *json, *today),
        // issue 16, item 1
        Cmd::VoiceCheck {
            lang,
            engine,
            json,
            db,
            mic_buffer_secs,
        } => voice_check::voice_check(
            args,
            &voice_check::Options {
                lang: *lang,
                engine: *engine,
                json: *json,
                db: db.as_deref(),
                mic_buffer_secs: *mic_buffer_secs,
            },
        ),
    }
}

/// How long a simulated session may run at the most.
const SIM_LIMIT: Duration = Duration::from_secs(6 * 3600);

/// The scripted inputs of `--events SPEC`; without it, a press at 0 s.
fn events_or_press(spec: Option<&str>) -> Result<Vec<ScriptedEvent>> {
    Ok(match spec {
        Some(spec) => sim::parse_spec(spec)?,
        None => vec![ScriptedEvent {
            at: Duration::ZERO,
            what: UserAction::Press,
        }],
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use matcoach::config::{GpioBackend, SpeechEngine};
    use matcoach::hearing::Engine;
    use std::path::Path;

    /// One value of a string table, on the command line (the argument
    /// list, when the value has a flag) and in the config (a TOML line).
    struct Row {
        cli: Option<fn(&str) -> Vec<String>>,
        toml: fn(&str) -> String,
        /// The value the spelling names, read back from the parsed
        /// arguments and config.
        from_cli: fn(&Args) -> Option<String>,
        from_config: fn(&Config) -> String,
        /// Every (spelling, value name) of the table.
        spellings: Vec<(&'static str, &'static str)>,
    }

    fn spellings<T: Copy>(
        all: &[T],
        names: fn(T) -> &'static [&'static str],
    ) -> Vec<(&'static str, &'static str)> {
        all.iter()
            .flat_map(|&v| names(v).iter().map(move |&s| (s, names(v)[0])))
            .collect()
    }

    fn rows() -> Vec<Row> {
        vec![
            Row {
                cli: Some(|s| {
                    ["matcoach", "plan", "p", "--lang", s]
                        .map(String::from)
                        .into()
                }),
                toml: |s| format!("language = \"{s}\""),
                from_cli: |a| match &a.command {
                    Cmd::Plan { lang, .. } => lang.map(|l| l.to_string()),
                    _ => None,
                },
                from_config: |c| c.language.to_string(),
                spellings: spellings(&Lang::ALL, Lang::spellings),
            },
            Row {
                cli: Some(|s| {
                    ["matcoach", "listen", "--engine", s]
                        .map(String::from)
                        .into()
                }),
                toml: |s| format!("[voice]\nengine = \"{s}\""),
                from_cli: |a| match &a.command {
                    Cmd::Listen { engine, .. } => engine.map(|e| e.to_string()),
                    _ => None,
                },
                from_config: |c| c.voice.engine.to_string(),
                spellings: spellings(&Engine::ALL, Engine::spellings),
            },
            Row {
                cli: None,
                toml: |s| format!("[speech]\nengine = \"{s}\""),
                from_cli: |_| None,
                from_config: |c| c.speech.engine.to_string(),
                spellings: spellings(&SpeechEngine::ALL, SpeechEngine::spellings),
            },
            Row {
                cli: None,
                toml: |s| format!("[gpio]\nbackend = \"{s}\""),
                from_cli: |_| None,
                from_config: |c| c.gpio.backend.to_string(),
                spellings: spellings(&GpioBackend::ALL, GpioBackend::spellings),
            },
        ]
    }

    /// Every spelling of every user-facing enum means the same value on the
    /// command line and in the config, in any case; an unknown one is the
    /// same error in both.
    #[test]
    fn every_spelling_works_in_the_cli_and_the_config_alike() {
        let mut checked = 0;
        for row in rows() {
            for &(spelling, name) in &row.spellings {
                for s in [spelling.to_string(), spelling.to_ascii_uppercase()] {
                    let (config, _) = Config::parse(Path::new("t.toml"), &(row.toml)(&s))
                        .unwrap_or_else(|e| panic!("config `{s}`: {e}"));
                    assert_eq!((row.from_config)(&config), name, "config `{s}`");
                    if let Some(cli) = row.cli {
                        let args =
                            Args::try_parse_from(cli(&s)).unwrap_or_else(|e| panic!("--{s}: {e}"));
                        assert_eq!((row.from_cli)(&args).as_deref(), Some(name), "cli `{s}`");
                    }
                    checked += 1;
                }
            }
            // An unknown spelling is refused on both sides, which list the
            // same names.
            let bad = "klingon";
            let config = Config::parse(Path::new("t.toml"), &(row.toml)(bad))
                .err()
                .map(|e| e.to_string());
            let Some(config) = config else {
                panic!("config accepted `{bad}`");
            };
            let names: Vec<&str> = row.spellings.iter().map(|s| s.1).collect();
            assert!(config.contains("unknown variant `klingon`"), "{config}");
            if let Some(cli) = row.cli {
                let Err(err) = Args::try_parse_from(cli(bad)) else {
                    panic!("cli accepted `{bad}`");
                };
                let err = err.to_string();
                assert!(err.contains(&format!("`{bad}`: use")), "{err}");
                for name in &names {
                    assert!(err.contains(&format!("`{name}`")), "{err}");
                }
            }
            for name in names {
                assert!(config.contains(&format!("`{name}`")), "{config}");
            }
        }
        // en, english, nl, dutch, nederlands, vosk, pocketsphinx, sphinx,
        // espeak, piper, none, rppal; each as written and in capitals.
        assert_eq!(checked, 24);
    }
}
