//! The voice checks (issue 16, item 1): the latest per language, or that
//! none was done.

use super::{Check, Status};
use crate::content::Lang;
use std::path::Path;

const NAME: &str = "voice check";

/// The latest voice check in the configured language (done or not) and in
/// any other language that has one. Reads the journal without changing it.
pub fn voice_checks(journal: &Path, configured: Lang) -> Vec<Check> {
    use rusqlite::OpenFlags;
    let rows = if journal.exists() {
        rusqlite::Connection::open_with_flags(
            journal,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|c| crate::journal::voice_checks::read(&c, None))
    } else {
        Ok(Vec::new())
    };
    let rows = match rows {
        Ok(r) => r,
        // The journal check says what is wrong with the file.
        Err(e) => {
            return vec![Check::skipped(
                NAME,
                format!("cannot read the journal: {e}"),
            )]
        }
    };
    let mut out = Vec::new();
    for lang in Lang::ALL {
        let latest = rows.iter().rev().find(|r| r.lang == lang.code());
        let name = format!("{NAME} ({lang})");
        match latest {
            None if lang == configured => out.push(Check {
                name,
                status: Status::Note,
                detail: "never done: run matcoach voice-check".into(),
                fix: None,
            }),
            None => {}
            Some(r) => {
                use crate::hearing::check::Verdict;
                let detail = r.summary();
                let advice: Vec<String> = r.results["advice"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x["kind"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(match r.verdict {
                    Verdict::Good => Check::ok(&name, detail),
                    _ => Check::warn(
                        &name,
                        detail,
                        format!(
                            "follow the check's advice{} and run `matcoach voice-check` again; until it is good, use the button when a word is not heard",
                            if advice.is_empty() { String::new() } else { format!(" ({})", advice.join(", ")) }
                        ),
                    ),
                });
            }
        }
    }
    out
}
