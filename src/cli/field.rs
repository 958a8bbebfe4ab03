//! Evidence from the field (issue 16, item 3): `voice-report`.

use super::{load_config, Args};
use anyhow::Result;
use matcoach::journal::{self, voice, Date, JournalStore};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// `matcoach voice-report`: the journal's spoken commands per word and week.
pub(super) fn voice_report(
    args: &Args,
    db: Option<&Path>,
    weeks: u32,
    json: bool,
    today: Option<Date>,
) -> Result<ExitCode> {
    let config = load_config(args)?;
    let path = match db {
        Some(p) => p.to_path_buf(),
        None => journal::resolve_path(config.journal.path.as_deref())?,
    };
    if weeks == 0 || weeks > 520 {
        anyhow::bail!("--weeks {weeks} is outside 1 to 520\n  fix: give a number of weeks from 1 to 520 (the default is 8)");
    }
    let opened = JournalStore::open_existing(&path)?;
    let today = today.unwrap_or_else(journal::today);
    let report = voice::voice_report(opened.store.connection(), &path, today, weeks)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        write!(
            std::io::stdout().lock(),
            "{}",
            voice::render_voice_report(&report)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
