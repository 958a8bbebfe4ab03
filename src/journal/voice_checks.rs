//! The voice checks in the journal (issue 16, item 1): one row per
//! `matcoach voice-check`, with its report as JSON.

use super::{JournalError, JournalStore, Stamp};
use crate::hearing::check::{Report, Verdict};
use rusqlite::params;

/// A voice check as the journal keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VoiceCheckRow {
    pub at: Stamp,
    pub engine: String,
    /// The model's name or path (PocketSphinx: its acoustic model).
    pub model: String,
    pub lang: String,
    pub verdict: Verdict,
    pub commands_heard: u32,
    pub commands_asked: u32,
    pub false_accepts: u32,
    pub noise_floor_dbfs: f32,
    pub echo_residue_db: Option<f32>,
    /// The whole report.
    pub results: serde_json::Value,
}

impl VoiceCheckRow {
    /// One line for `history` and `doctor`.
    pub fn summary(&self) -> String {
        format!(
            "{} {} ({}, {}): {}; {} of {} command words heard, {} false accept{}, noise floor {:.0} dBFS{}",
            self.at.date(),
            self.at.hm(),
            self.lang,
            self.engine,
            self.verdict.name(),
            self.commands_heard,
            self.commands_asked,
            self.false_accepts,
            if self.false_accepts == 1 { "" } else { "s" },
            self.noise_floor_dbfs,
            self.echo_residue_db
                .map(|e| format!(", echo {e:.0} dB after cancellation"))
                .unwrap_or_default()
        )
    }
}

impl JournalStore {
    /// Record a voice check done at `at` with `engine` and `model`.
    pub fn record_voice_check(
        &mut self,
        at: Stamp,
        engine: &str,
        model: &str,
        report: &Report,
    ) -> Result<(), JournalError> {
        let fail =
            |e: rusqlite::Error| JournalError::sqlite(self.path(), "recording the voice check", &e);
        let results = serde_json::to_string(report).map_err(|e| JournalError::Io {
            path: self.path().to_path_buf(),
            what: "recording the voice check".into(),
            detail: e.to_string(),
            fix: "report this as a bug".into(),
        })?;
        self.connection()
            .execute(
                "INSERT INTO voice_checks (at_ms, day, engine, model, lang, verdict, commands_heard,
                   commands_asked, false_accepts, noise_floor_dbfs, echo_residue_db, results)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    at.ms(),
                    at.date().to_string(),
                    engine,
                    model,
                    report.lang.code(),
                    report.verdict.name(),
                    report.commands_heard,
                    report.commands_asked,
                    report.false_accepts,
                    f64::from(report.noise_floor_dbfs),
                    report.echo.map(|e| f64::from(e.residue_db)),
                    results,
                ],
            )
            .map_err(fail)?;
        Ok(())
    }

    /// Every voice check, oldest first (only `lang`'s, with one).
    pub fn voice_checks(&self, lang: Option<&str>) -> Result<Vec<VoiceCheckRow>, JournalError> {
        read(self.connection(), lang)
            .map_err(|e| JournalError::sqlite(self.path(), "reading the voice checks", &e))
    }

    /// The latest voice check in `lang`, if any.
    pub fn latest_voice_check(&self, lang: &str) -> Result<Option<VoiceCheckRow>, JournalError> {
        Ok(self.voice_checks(Some(lang))?.pop())
    }
}

/// Every voice check in the journal open on `conn`, oldest first (only
/// `lang`'s, with one). A journal from before schema version 3 has none.
pub fn read(
    conn: &rusqlite::Connection,
    lang: Option<&str>,
) -> Result<Vec<VoiceCheckRow>, rusqlite::Error> {
    let has_table: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'voice_checks'",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT at_ms, engine, model, lang, verdict, commands_heard, commands_asked,
                false_accepts, noise_floor_dbfs, echo_residue_db, results
           FROM voice_checks WHERE ?1 IS NULL OR lang = ?1 ORDER BY at_ms, id",
    )?;
    let rows = stmt.query_map(params![lang], |r| {
        let verdict: String = r.get(4)?;
        let results: String = r.get(10)?;
        Ok(VoiceCheckRow {
            at: Stamp(r.get(0)?),
            engine: r.get(1)?,
            model: r.get(2)?,
            lang: r.get(3)?,
            // The table's CHECK allows only these three.
            verdict: Verdict::parse(&verdict).unwrap_or(Verdict::Poor),
            commands_heard: r.get(5)?,
            commands_asked: r.get(6)?,
            false_accepts: r.get(7)?,
            noise_floor_dbfs: r.get::<_, f64>(8)? as f32,
            echo_residue_db: r.get::<_, Option<f64>>(9)?.map(|e| e as f32),
            results: serde_json::from_str(&results).unwrap_or(serde_json::Value::Null),
        })
    })?;
    rows.collect()
}

/// Keep a check and its calibration in the journal at `path`.
#[cfg(feature = "speaker-rodio")]
pub fn store_check(
    path: &std::path::Path,
    checked: &crate::hearing::live_check::Checked,
) -> Result<(), super::JournalError> {
    let opened = super::JournalStore::open(path, &super::OpenOptions::default())?;
    let mut s = opened.store;
    let now = crate::date::local_now();
    s.record_voice_check(now, checked.engine.name(), &checked.model, &checked.report)?;
    if let Some(cal) = &checked.calibration {
        s.save_calibration(cal, now)?;
    }
    Ok(())
}

/// The latest calibration for `lang` and `engine` in the journal at
/// `journal` (none yet, or no journal yet: None). The daemon, `listen` and
/// `hear` call this where they build their pipeline.
pub fn latest_calibration(
    journal: &std::path::Path,
    lang: crate::lang::Lang,
    engine: crate::config::Engine,
) -> Result<Option<crate::hearing::calibrate::Calibration>, super::JournalError> {
    match super::JournalStore::open_existing(journal) {
        Ok(opened) => opened.store.calibration(lang, engine),
        Err(super::JournalError::Missing { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`latest_calibration`] for the configured journal, for the pipelines: a problem
/// reading it is reported through `say` and the defaults apply.
pub fn calibration_for(
    config: &crate::config::Config,
    lang: crate::lang::Lang,
    engine: crate::config::Engine,
    say: impl Fn(&str),
) -> Option<crate::hearing::calibrate::Calibration> {
    let found = super::resolve_path(config.journal.path.as_deref())
        .and_then(|path| latest_calibration(&path, lang, engine));
    match found {
        Ok(c) => c,
        // No journal configured and no place for one: nothing calibrated.
        Err(super::JournalError::NoDefaultPath) => None,
        Err(e) => {
            say(&format!(
                "the voice calibration could not be read, the default settings apply: {e}"
            ));
            None
        }
    }
}
