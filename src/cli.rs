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
    /// Stream a WAV file through the listening pipeline, as fast as it can;
    /// prints one JSON object per command heard
    Hear {
        file: PathBuf,
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        /// vosk or pocketsphinx (default: the config's)
        #[arg(long, value_parser = parse_engine)]
        engine: Option<matcoach::voice::Engine>,
        /// What the coach played meanwhile, for echo cancellation
        #[arg(long, value_name = "REF.wav")]
        playback: Option<PathBuf>,
        /// JSON lines (the default is the same; kept for scripts)
        #[arg(long)]
        json: bool,
    },
    /// Download and install the speech-recognition model for a language
    SetupModel {
        #[arg(long, value_parser = parse_lang)]
        lang: Lang,
        /// Install from a zip downloaded by hand instead
        #[arg(long, value_name = "ZIP")]
        from: Option<PathBuf>,
    },
    /// Listen on the microphone and print the commands heard (ctrl-c ends)
    Listen {
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        #[arg(long, value_parser = parse_engine)]
        engine: Option<matcoach::voice::Engine>,
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
    /// The daemon: wait for the button, coach today's program, journal it
    Run,
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
}

fn parse_engine(s: &str) -> Result<matcoach::voice::Engine, String> {
    matcoach::voice::Engine::parse(s)
        .ok_or_else(|| format!("unknown engine `{s}`: use `vosk` or `pocketsphinx`"))
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::parse(s).ok_or_else(|| format!("unknown language `{s}`: use `en` or `nl`"))
}

struct Loaded {
    config: Config,
    content: Content,
}

fn load_config(args: &Args) -> Result<Config> {
    // --config, then the system's config, then the checkout's.
    let Some(path) = matcoach::doctor::find_config(args.config.as_deref()) else {
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
        Cmd::Doctor {
            json,
            tone,
            listen_secs,
            no_mic_test,
        } => doctor(args, *json, *tone, *listen_secs, *no_mic_test),
        Cmd::Run => {
            let l = load(args)?;
            crate::daemon::run(l.config, l.content)?;
            Ok(ExitCode::SUCCESS)
        }
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
                let opts = SimJournal {
                    db: db.as_deref(),
                    date: *date,
                    pace: *pace,
                };
                return sim_journaled(args, program, *lang, events.as_deref(), &opts);
            }
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
        Cmd::Hear {
            file,
            lang,
            engine,
            playback,
            json: _,
        } => {
            let config = load_config(args)?;
            let lang = lang.unwrap_or(config.language);
            let engine = engine.unwrap_or(config.voice.engine);
            hear(&config, file, lang, engine, playback.as_deref())
        }
        Cmd::SetupModel { lang, from } => {
            let config = load_config(args)?;
            let info = matcoach::voice::model::info(*lang);
            let dest = matcoach::voice::model::model_dir(&config.voice, *lang);
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
        Cmd::Listen { lang, engine } => {
            let config = load_config(args)?;
            let lang = lang.unwrap_or(config.language);
            let engine = engine.unwrap_or(config.voice.engine);
            listen(&config, lang, engine)
        }
        Cmd::History {
            json,
            since,
            export,
            db,
            today,
        } => {
            let opts = HistoryOptions {
                json: *json,
                since: *since,
                csv: export.is_some(),
                db: db.as_deref(),
                today: *today,
            };
            history(args, &opts)
        }
        Cmd::Phase { action, db } => phase(args, *action, db.as_deref()),
        Cmd::Calibrate {
            set,
            next,
            json,
            db,
        } => calibrate(args, set, *next, *json, db.as_deref()),
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

fn doctor(args: &Args, json: bool, tone: bool, listen: f64, no_mic: bool) -> Result<ExitCode> {
    if !(listen.is_finite() && (0.5..=60.0).contains(&listen)) {
        bail!("--listen-secs {listen} is outside 0.5 to 60\n  fix: give the seconds to record, e.g. 3");
    }
    let opts = matcoach::doctor::Options {
        config: args.config.clone(),
        content: args.content.clone(),
        tone,
        listen: (!no_mic).then(|| Duration::from_secs_f64(listen)),
    };
    let checks = matcoach::doctor::run(&opts, &mut |msg| eprintln!("matcoach doctor: {msg}"));
    if json {
        let v = matcoach::doctor::to_json(&checks);
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        write!(
            std::io::stdout().lock(),
            "{}",
            matcoach::doctor::render(&checks)
        )?;
    }
    Ok(if matcoach::doctor::has_problem(&checks) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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

/// A WAV file as 16 kHz mono samples.
fn read_16k(path: &std::path::Path) -> Result<Vec<i16>> {
    use matcoach::voice::resample::{to_i16, Resampler};
    let clip = matcoach::audio::Clip::read_wav(path)?;
    let mut out = Vec::new();
    let samples = matcoach::audio::analysis::to_f32(&clip.samples);
    Resampler::new(clip.rate, matcoach::voice::RATE).process(&samples, &mut out);
    Ok(to_i16(&out))
}

fn hear(
    config: &Config,
    file: &std::path::Path,
    lang: Lang,
    engine: matcoach::voice::Engine,
    playback: Option<&std::path::Path>,
) -> Result<ExitCode> {
    let mic = read_16k(file)?;
    let reference = match playback {
        Some(p) => read_16k(p)?,
        None => Vec::new(),
    };
    let mut pipeline =
        matcoach::voice::open_pipeline(engine, lang, &config.voice, playback.is_some())?;
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

fn listen(config: &Config, lang: Lang, engine: matcoach::voice::Engine) -> Result<ExitCode> {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let stop = Arc::new(AtomicBool::new(false));
    let voice = config.voice.clone();
    let device = voice.input_device.clone();
    eprintln!("listening on \"{device}\" ({lang}, {engine:?}); ctrl-c ends");
    let worker = std::thread::spawn({
        let stop = stop.clone();
        move || {
            matcoach::voice::capture::listen(
                device,
                || matcoach::voice::open_pipeline(engine, lang, &voice, false),
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

// ---------------------------------------------------------------------------
// The journal: `sim --db/--date`, `history`, `phase`, `calibrate`
// (src/journal/, src/adapt.rs)
// ---------------------------------------------------------------------------

use matcoach::adapt;
use matcoach::app::Journal as _;
use matcoach::journal::{self, report, Date, JournalStore, JournalWriter, OpenOptions, Source};

fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s).map_err(|e| e.to_string())
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

/// The journal file: --db, else the config's journal.path, else the
/// default place.
fn journal_path(config: &Config, db: Option<&std::path::Path>) -> Result<PathBuf> {
    match db {
        Some(p) => Ok(p.to_path_buf()),
        None => Ok(journal::resolve_path(&config.journal.path)?),
    }
}

struct SimJournal<'a> {
    db: Option<&'a std::path::Path>,
    date: Option<Date>,
    pace: Option<f64>,
}

/// `matcoach sim` with a journal: today's program adapted from it, the
/// session written to it event by event. A journal that cannot be written
/// does not stop the session: the output is complete, the problem is on
/// stderr, and the exit code is 3.
fn sim_journaled(
    args: &Args,
    program: &str,
    lang: Option<Lang>,
    events: Option<&str>,
    opts: &SimJournal,
) -> Result<ExitCode> {
    let l = load(args)?;
    if opts.db.is_none() && (opts.date.is_some() || opts.pace.is_some()) {
        bail!("--date and --pace need --db: they place the session in a journal\n  fix: add --db PATH (a scratch file is fine), or leave them out");
    }
    if let Some(p) = opts.pace {
        if !(p.is_finite() && (0.0..=10.0).contains(&p)) {
            bail!("--pace {p} is outside 0 to 10\n  fix: give real seconds per virtual second, e.g. 0.001");
        }
    }
    let scripted = match events {
        Some(spec) => sim::parse_spec(spec)?,
        None => vec![ScriptedEvent {
            at: Duration::ZERO,
            what: UserAction::Press,
        }],
    };
    let rules = adapt::Rules::from_config(&l.config.journal);
    let date = opts.date.unwrap_or_else(journal::today);
    let mut store = None;
    let mut trouble = false;
    let mut open_error = None;
    if let Some(path) = opts.db {
        match JournalStore::open(path, &OpenOptions::default()) {
            Ok(opened) => {
                if let Some(r) = &opened.recovered {
                    eprintln!("matcoach: warning: {r}");
                }
                store = Some(opened.store);
            }
            Err(e) => {
                eprintln!("matcoach: warning: {e}");
                eprintln!("matcoach: the session goes on without the journal's history");
                trouble = true;
                open_error = Some(e);
            }
        }
    }
    let history = match store.as_ref().map(|s| s.history(None)) {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            eprintln!("matcoach: warning: {e}");
            trouble = true;
            journal::History::default()
        }
        None => journal::History::default(),
    };
    let today = adapt::plan(&l.content, &rules, &history, date, program)?;
    let lang = lang.unwrap_or(l.config.language);
    let cfg = l.config.session();
    let script = session::compile(&l.content, &today.program, lang, &cfg, &today.maxima)?;
    let mut s = Session::new(
        script,
        cfg,
        l.content.phrases.clone(),
        l.content.safety.clone(),
    );
    if opts.db.is_some() {
        s.set_phase_offer(adapt::phase_offer(&l.content, &rules, &history, &today));
    }
    let scripted = today.events(&scripted);
    let records = sim::run(&mut s, &scripted, Duration::from_secs(6 * 3600));
    outln!("{}", today.to_json());
    let Some(path) = opts.db else {
        print_records(&records, true)?;
        return Ok(ExitCode::SUCCESS);
    };
    // Sessions of a simulated day start at 09:00, or a minute after the
    // day's last one.
    let nine = date.at_midnight().plus(Duration::from_secs(9 * 3600));
    let base = match store.as_ref().map(|s| s.last_on(date)) {
        Some(Ok(Some(last))) => nine.max(last.plus(Duration::from_secs(60))),
        _ => nine,
    };
    let mut writer = match store {
        Some(store) => JournalWriter::new(store),
        None => JournalWriter::start(path, &OpenOptions::default()).writer,
    };
    writer.begin(base, Some(today.note(Source::Sim)));
    let presses: Vec<Duration> = scripted
        .iter()
        .filter(|e| matches!(e.what, UserAction::Press | UserAction::LongPress))
        .map(|e| e.at)
        .collect();
    let mut next_press = presses.iter().peekable();
    let t0 = std::time::Instant::now();
    // A closed stdout (`| head`) must not cut the journal short: the
    // session is written to its end either way.
    let mut out_error: Option<std::io::Error> = None;
    for r in &records {
        while let Some(at) = next_press.next_if(|at| **at <= r.t) {
            writer.button_pressed(*at);
        }
        if let Some(pace) = opts.pace {
            let due = t0 + r.t.mul_f64(pace);
            let now = std::time::Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        if let Action::Journal(e) = &r.action {
            writer.record(r.t, e);
        }
        if out_error.is_none() {
            out_error = writeln!(std::io::stdout().lock(), "{}", r.to_json()).err();
        }
    }
    let report = writer.finish();
    if let Some(e) = out_error {
        return Err(e.into());
    }
    for e in report
        .faults_seen
        .iter()
        .filter(|e| Some(*e) != open_error.as_ref())
    {
        eprintln!("matcoach: journal: {e}");
    }
    if report.complete() && !trouble && report.faults_seen.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if !report.complete() {
        eprintln!(
            "matcoach: the session ran to its end, but the journal is incomplete: {} written, {} not written, {} lost ({})",
            report.written,
            report.waiting,
            report.lost,
            path.display()
        );
    }
    Ok(ExitCode::from(3))
}

struct HistoryOptions<'a> {
    json: bool,
    since: Option<Date>,
    csv: bool,
    db: Option<&'a std::path::Path>,
    today: Option<Date>,
}

fn history(args: &Args, o: &HistoryOptions) -> Result<ExitCode> {
    let config = load_config(args)?;
    let path = journal_path(&config, o.db)?;
    let opened = JournalStore::open_existing(&path)?;
    if let Some(r) = &opened.recovered {
        eprintln!("matcoach: warning: {r}");
    }
    let h = opened.store.history(None)?;
    let sessions: Vec<journal::SessionInfo> = h
        .sessions
        .iter()
        .filter(|s| o.since.is_none_or(|d| s.day >= d))
        .cloned()
        .collect();
    let today = o.today.unwrap_or_else(journal::today);
    let adherence = report::adherence(&h, today, config.journal.weekly_goal_days, 8);
    let startgetal: std::collections::BTreeMap<String, u32> = h
        .maxima
        .values()
        .map(|m| (m.exercise.clone(), adapt::startgetal(m.max_reps)))
        .collect();
    if o.csv {
        write!(std::io::stdout().lock(), "{}", report::csv(&sessions))?;
        return Ok(ExitCode::SUCCESS);
    }
    if o.json {
        let v = report::json(&h, &sessions, &adherence, &startgetal);
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    if sessions.is_empty() {
        match o.since {
            Some(d) => outln!("no sessions since {d} ({})", path.display()),
            None => outln!("no sessions yet ({})", path.display()),
        }
    } else {
        write!(std::io::stdout().lock(), "{}", report::table(&sessions))?;
    }
    let from = o
        .since
        .unwrap_or(today.add_days(-27))
        .max(today.add_days(-90))
        .min(today);
    let spark = report::sparkline(&report::daily_minutes(&h, from, today));
    outln!();
    write!(
        std::io::stdout().lock(),
        "{}",
        report::adherence_lines(&adherence, &spark, from, today)
    )?;
    if let Some(p) = &h.phase {
        if let Some(phase) = p.phase {
            outln!(
                "McKenzie phase: {} (since {})",
                journal::queries::phase_name(phase),
                p.since.date()
            );
        }
    }
    if !startgetal.is_empty() {
        let list: Vec<String> = h
            .maxima
            .values()
            .map(|m| {
                format!(
                    "{} {} (max {})",
                    m.exercise,
                    adapt::startgetal(m.max_reps),
                    m.max_reps
                )
            })
            .collect();
        outln!("startgetal: {}", list.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

fn phase(
    args: &Args,
    action: Option<PhaseAction>,
    db: Option<&std::path::Path>,
) -> Result<ExitCode> {
    let l = load(args)?;
    let path = journal_path(&l.config, db)?;
    let describe = |phase: content::Phase| {
        let name = journal::queries::phase_name(phase);
        match adapt::phase_program(&l.content, phase) {
            Some(p) => format!("{name}: program {} ({})", p.id(), p.name.en.as_str()),
            None => name.to_string(),
        }
    };
    let Some(action) = action else {
        let h = match JournalStore::open_existing(&path) {
            Ok(o) => o.store.history(None)?,
            Err(journal::JournalError::Missing { .. }) => journal::History::default(),
            Err(e) => return Err(e.into()),
        };
        match h.current_phase() {
            Some(p) => {
                let since = h.phase.as_ref().map(|x| x.since.date());
                outln!(
                    "McKenzie phase {}{}",
                    describe(p),
                    since.map(|d| format!(", since {d}")).unwrap_or_default()
                );
                match adapt::may_advance(&h) {
                    Ok(next) => outln!(
                        "next: {} (`matcoach phase next` once you feel clearly better)",
                        journal::queries::phase_name(next)
                    ),
                    Err(adapt::PhaseError::AtLast) => {
                        outln!("this is the last phase: keep it up as a daily habit")
                    }
                    Err(e) => outln!("{e}"),
                }
            }
            None => outln!(
                "not following the McKenzie program; `matcoach phase start` begins with the acute phase"
            ),
        }
        return Ok(ExitCode::SUCCESS);
    };
    let opened = JournalStore::open(&path, &OpenOptions::default())?;
    if let Some(r) = &opened.recovered {
        eprintln!("matcoach: warning: {r}");
    }
    let mut store = opened.store;
    let h = store.history(None)?;
    let (to, reason) = match action {
        PhaseAction::Next => match adapt::may_advance(&h) {
            Ok(p) => (Some(p), "matcoach phase next"),
            Err(e) => {
                eprintln!("matcoach: {e}");
                return Ok(ExitCode::from(1));
            }
        },
        PhaseAction::Back => match adapt::may_go_back(&h) {
            Ok(p) => (Some(p), "matcoach phase back"),
            Err(e) => {
                eprintln!("matcoach: {e}");
                return Ok(ExitCode::from(1));
            }
        },
        PhaseAction::Start => (Some(content::Phase::Acute), "matcoach phase start"),
        PhaseAction::Stop => (None, "matcoach phase stop"),
    };
    store.set_phase(to, reason, journal::local_now())?;
    match to {
        Some(p) => outln!("McKenzie phase {}", describe(p)),
        None => outln!("no longer following the McKenzie program"),
    }
    if l.config.program != adapt::AUTO {
        outln!(
            "note: the config's program is `{}`; set program = \"auto\" for the coach to follow the phase",
            l.config.program
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn calibrate(
    args: &Args,
    set: &[String],
    next: bool,
    json: bool,
    db: Option<&std::path::Path>,
) -> Result<ExitCode> {
    let l = load(args)?;
    let path = journal_path(&l.config, db)?;
    let testable: Vec<&content::Exercise> = l
        .content
        .exercises
        .iter()
        .map(|d| &d.value)
        .filter(|e| e.dose.startgetal == Some(true))
        .collect();
    let mut entries = Vec::new();
    for item in set {
        let (ex, n) = item.split_once('=').ok_or_else(|| {
            anyhow::anyhow!(
                "--set `{item}`: no `=`\n  fix: write EXERCISE=MAX, e.g. sr_abdominals=30"
            )
        })?;
        let ex = ex.trim();
        if !testable.iter().any(|e| e.id() == ex) {
            bail!(
                "--set `{item}`: `{ex}` is not a startgetal exercise\n  fix: use one of {}",
                testable
                    .iter()
                    .map(|e| e.id())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let n: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| {
                anyhow::anyhow!("--set `{item}`: the maximum must be a whole number from 1 to 500\n  fix: give the repetitions you managed, e.g. {ex}=30")
            })?;
        entries.push((ex.to_string(), n));
    }
    let h = if entries.is_empty() && !next {
        match JournalStore::open_existing(&path) {
            Ok(o) => o.store.history(None)?,
            Err(journal::JournalError::Missing { .. }) => journal::History::default(),
            Err(e) => return Err(e.into()),
        }
    } else {
        let opened = JournalStore::open(&path, &OpenOptions::default())?;
        if let Some(r) = &opened.recovered {
            eprintln!("matcoach: warning: {r}");
        }
        let mut store = opened.store;
        let now = journal::local_now();
        for (ex, n) in &entries {
            store.set_max(ex, *n, now)?;
        }
        if next {
            store.request_max_test(now)?;
        }
        store.history(None)?
    };
    if json {
        let v: Vec<_> = testable
            .iter()
            .map(|e| {
                let m = h.maxima.get(e.id());
                serde_json::json!({
                    "exercise": e.id(),
                    "max": m.map(|m| m.max_reps),
                    "source": m.map(|m| m.source.clone()),
                    "at": m.map(|m| m.at),
                    "startgetal": m.map(|m| adapt::startgetal(m.max_reps)),
                    "reps_until_tested": e.dose.reps,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "exercises": v,
                "max_test_requested": h.max_test_requested,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    for e in &testable {
        match h.maxima.get(e.id()) {
            Some(m) => outln!(
                "{:<20} max {:>3} ({}, {})  startgetal {:>2}: {} sets of {}",
                e.id(),
                m.max_reps,
                m.source.replace('_', " "),
                m.at.date(),
                adapt::startgetal(m.max_reps),
                e.dose.sets_or_one(),
                adapt::startgetal(m.max_reps)
            ),
            None => outln!(
                "{:<20} not tested: {} repetitions, the cautious start",
                e.id(),
                e.dose.reps.map_or(1, |r| r.get())
            ),
        }
    }
    if h.max_test_requested.is_some() {
        outln!("a max test is planned for the next strength day (program = \"auto\")");
    }
    outln!(
        "a max test: `{}` as the program (004: as many as you can; say stop after the last one)",
        adapt::MAX_TEST
    );
    Ok(ExitCode::SUCCESS)
}
