//! What became of the spoken commands (issue 16, item 3): the journal's
//! `voice` table, and `matcoach voice-report`, which sums it up per word and
//! per week: heard, ignored as the coach's own word, ignored otherwise,
//! replaced by the button (likely misses), and undone at once (likely false
//! accepts).

use super::{Date, JournalError};
use crate::command::Command;
use crate::content::Lang;
use crate::hearing::field::Kind;
use rusqlite::{params, Connection};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

pub use crate::hearing::field::VoiceRecord;

/// How often, for one word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub heard: u32,
    pub self_heard: u32,
    pub ignored: u32,
    /// The button did what the word would have done (likely misses).
    pub by_button: u32,
    /// Acted and undone within seconds (likely false accepts).
    pub false_accepts: u32,
}

impl Counts {
    fn add(&mut self, kind: Kind, n: u32) {
        let c = match kind {
            Kind::Heard => &mut self.heard,
            Kind::SelfHeard => &mut self.self_heard,
            Kind::Ignored => &mut self.ignored,
            Kind::Miss => &mut self.by_button,
            Kind::FalseAccept => &mut self.false_accepts,
        };
        *c += n;
    }

    fn plus(mut self, o: Counts) -> Counts {
        self.heard += o.heard;
        self.self_heard += o.self_heard;
        self.ignored += o.ignored;
        self.by_button += o.by_button;
        self.false_accepts += o.false_accepts;
        self
    }

    /// Of the times the user wanted this word (heard, or done with the
    /// button instead), the share heard; None when never wanted.
    pub fn heard_share(&self) -> Option<f64> {
        let wanted = self.heard.saturating_sub(self.false_accepts) + self.by_button;
        (wanted > 0)
            .then(|| f64::from(self.heard.saturating_sub(self.false_accepts)) / f64::from(wanted))
    }
}

/// One word in one week (or in all of them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordCounts {
    /// ISO week, e.g. "2026-W49"; "all" for the totals.
    pub week: String,
    pub lang: String,
    pub command: Command,
    /// The word the coach teaches for it in that language.
    pub word: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// `matcoach voice-report`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoiceReport {
    pub from: Date,
    pub to: Date,
    pub weeks: u32,
    /// Week by week, oldest first, words in the order of `Command::ALL`.
    pub per_week: Vec<WordCounts>,
    /// All the weeks together.
    pub per_word: Vec<WordCounts>,
    /// Rows with a kept clip.
    pub clips: u32,
}

fn word_in(command: Command, lang: &str) -> String {
    let lang = Lang::parse(lang).unwrap_or(Lang::En);
    command
        .words(lang)
        .first()
        .copied()
        .unwrap_or(command.name())
        .to_string()
}

/// The `weeks` weeks up to `today`'s, from the journal's `voice` table.
pub fn voice_report(
    conn: &Connection,
    path: &Path,
    today: Date,
    weeks: u32,
) -> Result<VoiceReport, JournalError> {
    let weeks = weeks.max(1);
    let from = today.week_start().add_days(-7 * (i64::from(weeks) - 1));
    let err = |e: rusqlite::Error| JournalError::sqlite(path, "reading the voice commands", &e);
    let mut stmt = conn
        .prepare(
            "SELECT day, lang, command, kind, COUNT(*), SUM(clip IS NOT NULL) FROM voice
              WHERE day >= ?1 AND day <= ?2 GROUP BY day, lang, command, kind",
        )
        .map_err(err)?;
    let rows = stmt
        .query_map(params![from.to_string(), today.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })
        .map_err(err)?;
    // (week start, lang, command) → counts
    let mut per: BTreeMap<(Date, String, Command), Counts> = BTreeMap::new();
    let mut clips = 0u32;
    for row in rows {
        let (day, lang, command, kind, n, with_clip) = row.map_err(err)?;
        let (Ok(day), Some(command), Some(kind)) = (
            Date::parse(&day),
            Command::parse(&command),
            Kind::parse(&kind),
        ) else {
            continue;
        };
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        clips += u32::try_from(with_clip.unwrap_or(0)).unwrap_or(0);
        per.entry((day.week_start(), lang, command))
            .or_default()
            .add(kind, n);
    }
    let label = |d: Date| {
        let (y, n) = d.iso_week();
        format!("{y}-W{n:02}")
    };
    let order = |c: Command| Command::ALL.iter().position(|x| *x == c).unwrap_or(0);
    let mut per_week: Vec<WordCounts> = per
        .iter()
        .map(|((week, lang, command), counts)| WordCounts {
            week: label(*week),
            lang: lang.clone(),
            command: *command,
            word: word_in(*command, lang),
            counts: *counts,
        })
        .collect();
    per_week.sort_by(|a, b| {
        (&a.week, &a.lang, order(a.command)).cmp(&(&b.week, &b.lang, order(b.command)))
    });
    let mut totals: BTreeMap<(String, usize), WordCounts> = BTreeMap::new();
    for w in &per_week {
        totals
            .entry((w.lang.clone(), order(w.command)))
            .and_modify(|t| t.counts = t.counts.plus(w.counts))
            .or_insert_with(|| WordCounts {
                week: "all".into(),
                ..w.clone()
            });
    }
    Ok(VoiceReport {
        from,
        to: today,
        weeks,
        per_week,
        per_word: totals.into_values().collect(),
        clips,
    })
}

/// The report as a table.
pub fn render_voice_report(r: &VoiceReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Voice commands from {} to {} ({} week{}):",
        r.from,
        r.to,
        r.weeks,
        if r.weeks == 1 { "" } else { "s" }
    );
    if r.per_week.is_empty() {
        let _ = writeln!(
            out,
            "  no spoken command in the journal in that time (the coach records them while it coaches with voice commands on)"
        );
        return out;
    }
    let header = format!(
        "  {:<9} {:<10} {:>6} {:>11} {:>8} {:>10} {:>8} {:>7}",
        "week", "word", "heard", "self-heard", "ignored", "by button", "undone", "heard%"
    );
    let line = |w: &WordCounts| {
        let c = &w.counts;
        format!(
            "  {:<9} {:<10} {:>6} {:>11} {:>8} {:>10} {:>8} {:>7}",
            w.week,
            w.word,
            c.heard,
            c.self_heard,
            c.ignored,
            c.by_button,
            c.false_accepts,
            c.heard_share()
                .map(|s| format!("{:.0} %", s * 100.0))
                .unwrap_or_else(|| "-".into())
        )
    };
    let _ = writeln!(out, "{header}");
    for w in &r.per_week {
        let _ = writeln!(out, "{}", line(w));
    }
    let _ = writeln!(out, "  all weeks:");
    for w in &r.per_word {
        let _ = writeln!(out, "{}", line(w));
    }
    let _ = writeln!(
        out,
        "heard: acted on; self-heard: ignored as the coach's own word; by button: the button did what the word does just after you spoke (a likely miss); undone: taken back within seconds (a likely false accept); heard%: heard of the times wanted"
    );
    if r.clips > 0 {
        let _ = writeln!(
            out,
            "{} of these have a kept clip (in the folder `misses` beside the journal; `matcoach hear CLIP.wav` replays one)",
            r.clips
        );
    }
    out
}
