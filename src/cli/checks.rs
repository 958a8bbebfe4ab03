//! Checking commands: `check` (the content and config) and `doctor` (the
//! whole installation).

use super::{content_dir, load_config, Args};
use anyhow::{bail, Context, Result};
use matcoach::content::{self, Lang};
use matcoach::session;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

pub(super) fn check(args: &Args) -> Result<ExitCode> {
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

pub(super) fn doctor(
    args: &Args,
    json: bool,
    tone: bool,
    listen: f64,
    no_mic: bool,
) -> Result<ExitCode> {
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
