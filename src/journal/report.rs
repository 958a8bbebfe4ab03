//! `matcoach history`: the sessions as a compact table, minutes a day as a
//! sparkline, weekly adherence as a forgiving streak, and the same as JSON
//! or CSV.
//!
//! **The streak.** 002: a few minutes daily beats one long session a week;
//! 004: strength two to three times a week, the warm-up on the other days.
//! Rest days are part of that, so the streak counts *weeks* (Monday to
//! Sunday) in which the user practised on at least `goal_days` days, not
//! days in a row. The current week never breaks the streak while the goal
//! can still be reached; it adds to it once reached.

use super::queries::{History, SessionInfo};
use super::Date;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One week of practice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Week {
    /// The Monday.
    pub start: Date,
    /// ISO week, e.g. "2025-W07".
    pub label: String,
    /// Days with practice.
    pub days: u32,
    pub sessions: u32,
    pub minutes: u64,
    pub goal_met: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adherence {
    pub goal_days: u32,
    /// Oldest first, ending with the current week.
    pub weeks: Vec<Week>,
    /// Weeks in a row (up to now) that met the goal.
    pub streak_weeks: u32,
    /// Days practised this week so far, and days left in it (today included).
    pub this_week_days: u32,
    pub days_left: u32,
    /// The current week can still meet the goal.
    pub still_possible: bool,
}

/// Days (by date) with practice, and minutes and sessions per day.
fn per_day(history: &History) -> BTreeMap<Date, (u64, u32)> {
    let mut days: BTreeMap<Date, (u64, u32)> = BTreeMap::new();
    for s in history.sessions.iter().filter(|s| s.practised()) {
        let e = days.entry(s.day).or_default();
        e.0 += (s.duration_ms().max(0) as u64) / 60_000;
        e.1 += 1;
    }
    days
}

/// Weekly adherence over the `weeks` weeks up to `today`'s.
pub fn adherence(history: &History, today: Date, goal_days: u32, weeks: u32) -> Adherence {
    let days = per_day(history);
    let this_monday = today.week_start();
    let goal = goal_days.clamp(1, 7);
    let first = days.keys().next().copied();
    // The week you began in asks only for the days it had left.
    let goal_for = |start: Date| match first {
        Some(f) if f.week_start() == start => goal.min(7 - f.weekday()),
        _ => goal,
    };
    let week_of = |start: Date| {
        let mut w = Week {
            start,
            label: {
                let (y, n) = start.iso_week();
                format!("{y}-W{n:02}")
            },
            days: 0,
            sessions: 0,
            minutes: 0,
            goal_met: false,
        };
        for d in 0..7 {
            if let Some((mins, n)) = days.get(&start.add_days(d)) {
                w.days += 1;
                w.sessions += n;
                w.minutes += mins;
            }
        }
        w.goal_met = w.days >= goal_for(start);
        w
    };
    let shown: Vec<Week> = (0..weeks.max(1))
        .rev()
        .map(|k| week_of(this_monday.add_days(-7 * i64::from(k))))
        .collect();
    let current = week_of(this_monday);
    let days_left = 7 - today.weekday();
    let still_possible = current.days + days_left >= goal_for(this_monday);
    let mut streak = u32::from(current.goal_met);
    if current.goal_met || still_possible {
        let mut k = 1;
        loop {
            let start = this_monday.add_days(-7 * k);
            if first.is_none_or(|f| start.add_days(6) < f) {
                break;
            }
            if !week_of(start).goal_met {
                break;
            }
            streak += 1;
            k += 1;
        }
    }
    Adherence {
        goal_days: goal,
        weeks: shown,
        streak_weeks: streak,
        this_week_days: current.days,
        days_left,
        still_possible,
    }
}

/// Unicode bars, lowest to highest; a day without practice is a dot.
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values
        .iter()
        .map(|&v| {
            if v == 0 {
                '·'
            } else {
                let i = ((v * 7 + max / 2) / max).min(7) as usize;
                BARS[i]
            }
        })
        .collect()
}

/// Minutes practised per day from `from` to `to` (both included).
pub fn daily_minutes(history: &History, from: Date, to: Date) -> Vec<u64> {
    let days = per_day(history);
    let n = to.since(from).max(0);
    (0..=n)
        .map(|k| {
            days.get(&from.add_days(k))
                // A practised day shows even when under a minute.
                .map_or(0, |(m, _)| (*m).max(1))
        })
        .collect()
}

fn minutes(ms: i64) -> String {
    let m = ms.max(0).saturating_add(30_000) / 60_000;
    m.to_string()
}

fn pain_list(s: &SessionInfo) -> String {
    s.pains
        .iter()
        .map(|p| {
            let mut t = p
                .exercise
                .clone()
                .unwrap_or_else(|| "(between exercises)".into());
            if let Some(set) = p.set {
                let _ = write!(t, " set {set}");
            }
            if let Some(side) = &p.side {
                let _ = write!(t, " {side}");
            }
            if let Some(l) = p.location {
                let _ = write!(t, " ({})", super::queries::location_name(l));
            }
            let _ = write!(t, " {}", p.at.hm());
            t
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The compact table.
pub fn table(sessions: &[SessionInfo]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10}  {:<5}  {:<28}  {:>3}  {:>5}  {:<14}  pain",
        "date", "time", "program", "min", "done", "outcome"
    );
    for s in sessions {
        let program = if s.program.chars().count() > 28 {
            let short: String = s.program.chars().take(27).collect();
            format!("{short}…")
        } else {
            s.program.clone()
        };
        let _ = writeln!(
            out,
            "{:<10}  {:<5}  {:<28}  {:>3}  {:>5}  {:<14}  {}",
            s.day,
            s.started.hm(),
            program,
            minutes(s.duration_ms()),
            format!("{}/{}", s.done(), s.attempted()),
            s.outcome.as_str(),
            if s.pains.is_empty() {
                "-".to_string()
            } else {
                pain_list(s)
            }
        );
        let left: Vec<String> = s
            .left_out()
            .map(|x| match &x.replaced_by {
                Some(r) => format!("{} (→ {r})", x.exercise),
                None => x.exercise.clone(),
            })
            .collect();
        if !left.is_empty() {
            let _ = writeln!(out, "{:<10}  {:<5}  left out: {}", "", "", left.join(", "));
        }
        if !s.user_note.is_empty() {
            let _ = writeln!(out, "{:<10}  {:<5}  note: {}", "", "", s.user_note);
        }
    }
    out
}

/// The adherence lines under the table.
pub fn adherence_lines(a: &Adherence, spark: &str, from: Date, to: Date) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "minutes a day, {from} to {to}:  {spark}");
    let weeks: Vec<String> = a
        .weeks
        .iter()
        .map(|w| {
            let (_, n) = w.start.iso_week();
            format!("W{n:02} {}/7{}", w.days, if w.goal_met { "✓" } else { "" })
        })
        .collect();
    let _ = writeln!(
        out,
        "days a week (goal {}):  {}",
        a.goal_days,
        weeks.join("  ")
    );
    let plural = |n: u32, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let this_week = if a.this_week_days >= a.goal_days {
        "this week's goal is met".to_string()
    } else if a.still_possible {
        format!(
            "this week: {} so far, {} to go (today included), so the streak holds",
            plural(a.this_week_days, "day", "days"),
            plural(a.days_left, "day", "days")
        )
    } else {
        format!(
            "this week: {} so far; the goal is out of reach, but rest is part of it",
            plural(a.this_week_days, "day", "days")
        )
    };
    let _ = writeln!(
        out,
        "streak: {} in a row with at least {} of practice; {this_week}",
        plural(a.streak_weeks, "week", "weeks"),
        plural(a.goal_days, "day", "days")
    );
    out
}

/// The CSV writer of the export: quotes only the fields that need it
/// (a comma, a quote or a line break inside), and ends rows with `\n`.
fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new())
}

/// The rows written so far, as text (every field was a `&str`, so the
/// bytes are UTF-8).
fn csv_text(w: csv::Writer<Vec<u8>>) -> Result<String, csv::Error> {
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// One row per session.
pub fn csv(sessions: &[SessionInfo]) -> Result<String, csv::Error> {
    let mut out = csv_writer();
    out.write_record([
        "session",
        "date",
        "start",
        "end",
        "program",
        "kind",
        "source",
        "minutes",
        "outcome",
        "exercises_done",
        "exercises_attempted",
        "left_out",
        "pain_events",
        "pain",
        "commands_heard",
        "commands_ignored",
        "button_presses",
        "pauses",
        "device_faults",
        "user_note",
    ])?;
    for s in sessions {
        let left: Vec<String> = s
            .left_out()
            .map(|x| match &x.replaced_by {
                Some(r) => format!("{}->{r}", x.exercise),
                None => x.exercise.clone(),
            })
            .collect();
        let fields = [
            s.id.to_string(),
            s.day.to_string(),
            s.started.to_string(),
            s.ended.map(|e| e.to_string()).unwrap_or_default(),
            s.program.clone(),
            s.kind.as_str().to_string(),
            s.source.clone(),
            minutes(s.duration_ms()),
            s.outcome.as_str().to_string(),
            s.done().to_string(),
            s.attempted().to_string(),
            left.join(" "),
            s.pains.len().to_string(),
            pain_list(s),
            s.commands_heard.to_string(),
            s.commands_ignored.to_string(),
            s.button_presses.to_string(),
            s.pauses.to_string(),
            s.device_faults.to_string(),
            s.user_note.clone(),
        ];
        out.write_record(&fields)?;
    }
    csv_text(out)
}

/// Everything as one JSON document.
pub fn json(
    history: &History,
    sessions: &[SessionInfo],
    a: &Adherence,
    startgetal: &BTreeMap<String, u32>,
) -> Value {
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("duration_ms".into(), json!(s.duration_ms()));
                m.insert("exercises_done".into(), json!(s.done()));
            }
            v
        })
        .collect();
    json!({
        "sessions": sessions,
        "adherence": a,
        "phase": history.phase,
        "maxima": history.maxima,
        "startgetal": startgetal,
        "max_test_requested": history.max_test_requested,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_and_marks_rest_days() {
        assert_eq!(sparkline(&[0, 1, 8, 4]), "·▂█▅");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&[0, 0]), "··");
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        // One field in a row of two, through the export's own writer.
        let field = |s: &str| {
            let mut w = csv_writer();
            w.write_record([s, "x"]).unwrap();
            let row = csv_text(w).unwrap();
            row.strip_suffix(",x\n").unwrap().to_string()
        };
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("plain"), "plain");
    }
}
