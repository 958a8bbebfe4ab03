//! Content commands: `programs`, `exercises`, `phrases`, `plan`, `sim`.

use super::{events_or_press, load, print_records, session_for, Args, SIM_LIMIT};
use anyhow::Result;
use matcoach::content::Lang;
use matcoach::session;
use matcoach::sim;
use std::io::Write;
use std::process::ExitCode;

pub(super) fn programs(args: &Args, json: bool) -> Result<ExitCode> {
    let content = &load(args)?.content;
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
        return Ok(ExitCode::SUCCESS);
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
    Ok(ExitCode::SUCCESS)
}

pub(super) fn exercises(args: &Args, json: bool) -> Result<ExitCode> {
    let content = &load(args)?.content;
    if json {
        let v: Vec<_> = content
            .exercises
            .iter()
            .map(|e| serde_json::to_value(&e.value))
            .collect::<Result<_, _>>()?;
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
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
    Ok(ExitCode::SUCCESS)
}

pub(super) fn phrases(args: &Args, lang: Option<Lang>, json: bool) -> Result<ExitCode> {
    let l = load(args)?;
    let lang = lang.unwrap_or(l.config.language);
    let lines = session::all_lines(&l.content, lang, &l.config.session());
    if json {
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

/// A program's session timeline: a press at 0 s, no interruptions.
pub(super) fn plan(args: &Args, program: &str, lang: Option<Lang>, json: bool) -> Result<ExitCode> {
    let l = load(args)?;
    let mut s = session_for(&l, program, lang)?;
    let records = sim::run(&mut s, &events_or_press(None)?, SIM_LIMIT);
    print_records(&records, json)?;
    Ok(ExitCode::SUCCESS)
}

/// `sim` without a journal: the session in virtual time, as JSON lines.
pub(super) fn simulate(
    args: &Args,
    program: &str,
    lang: Option<Lang>,
    events: Option<&str>,
) -> Result<ExitCode> {
    let l = load(args)?;
    let mut s = session_for(&l, program, lang)?;
    let events = events_or_press(events)?;
    let records = sim::run(&mut s, &events, SIM_LIMIT);
    print_records(&records, true)?;
    Ok(ExitCode::SUCCESS)
}
