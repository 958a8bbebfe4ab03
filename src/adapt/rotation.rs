//! What `auto` runs on a day: the McKenzie phase's program, else a
//! strength day (with a max test first when one is due) or the mobility
//! rotation, least recently done first. Kept apart because it is the only
//! rule that picks a program rather than changing one.

use super::{
    earliest_offer, phase_program, startgetal_exercises, unknown, AdaptError, Choice, Rules, What,
};
use crate::content::Content;
use crate::journal::queries::{History, SessionInfo};
use crate::journal::{Date, SessionKind};
use std::collections::BTreeSet;

/// The programs `auto` would run on `date`, best first (the next one is
/// taken when everything of one rests after pain).
pub(super) fn choose(
    content: &Content,
    rules: &Rules,
    history: &History,
    date: Date,
) -> Result<Vec<Choice>, AdaptError> {
    if let Some(phase) = history.current_phase() {
        let p = phase_program(content, phase).ok_or_else(|| {
            unknown(
                content,
                "the McKenzie phase",
                &format!("mckenzie_{}", phase.name()),
            )
        })?;
        let since = history.phase.as_ref().map(|p| p.since.date());
        return Ok(vec![Choice {
            what: What::Program(p.id().to_string()),
            why: format!(
                "McKenzie phase: {}{} (003; `matcoach phase next` once you feel clearly better{})",
                phase.name(),
                since.map(|d| format!(", since {d}")).unwrap_or_default(),
                since
                    .and_then(|d| earliest_offer(rules, phase, d))
                    .map(|d| format!("; the coach asks about moving on from {d}"))
                    .unwrap_or_default()
            ),
            key: "the McKenzie phase".into(),
        }]);
    }
    let past: Vec<&SessionInfo> = history
        .sessions
        .iter()
        .filter(|s| s.practised() && s.day <= date)
        .collect();
    let strength = &rules.strength_program;
    let is_strength = |s: &SessionInfo| {
        s.kind == SessionKind::MaxTest || (!strength.is_empty() && &s.program == strength)
    };
    let strength_days: BTreeSet<Date> = past
        .iter()
        .filter(|s| is_strength(s))
        .map(|s| s.day)
        .collect();
    let week: usize = strength_days.range(date.add_days(-6)..date).count();
    let started_before = past.iter().any(|s| s.day < date);
    let rested = !strength_days.contains(&date) && !strength_days.contains(&date.add_days(-1));
    let mut choices = Vec::new();
    if !strength.is_empty()
        && started_before
        && rested
        && (week as u32) < rules.strength_days_per_week
    {
        let why = format!(
            "strength day: {week} in the last six days, none yesterday (004: two to three times a week, after the warm-up)"
        );
        if let Some(p) = content.program(strength) {
            let all = startgetal_exercises(content, p);
            let untested: Vec<String> = all
                .iter()
                .filter(|x| !history.maxima.contains_key(*x))
                .cloned()
                .collect();
            if history.max_test_requested.is_some() && !all.is_empty() {
                choices.push(Choice {
                    what: What::MaxTest(all),
                    why: format!("{why}; a max test, as asked with `matcoach calibrate --next`"),
                    key: "journal.strength_program".into(),
                });
            } else if !untested.is_empty() {
                choices.push(Choice {
                    what: What::MaxTest(untested),
                    why: format!(
                        "{why}; first a max test (004: determine your maximum first; a third of it is your startgetal)"
                    ),
                    key: "journal.strength_program".into(),
                });
            }
        }
        choices.push(Choice {
            what: What::Program(strength.clone()),
            why,
            key: "journal.strength_program".into(),
        });
    }
    // Mobility: least recently done first; the last session's program last.
    let last_program = past.last().map(|s| s.program.as_str());
    // By the session sequence, not the wall clock (which may have jumped).
    type Last = Option<(i64, Date)>;
    let mut order: Vec<(bool, Last, usize, &String)> = rules
        .rotation
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let last = past
                .iter()
                .filter(|s| &s.program == id)
                .map(|s| (s.seq, s.day))
                .max();
            (last_program == Some(id.as_str()), last, i, id)
        })
        .collect();
    order.sort();
    for (_, last, _, id) in order {
        let why = match last {
            None => "mobility day: the next program of the rotation, not done before (002: different exercises on different days)".to_string(),
            Some((_, day)) => format!(
                "mobility day: the rotation's least recently done program, last on {day} (002: different exercises on different days)"
            ),
        };
        choices.push(Choice {
            what: What::Program(id.clone()),
            why,
            key: "journal.rotation".into(),
        });
    }
    Ok(choices)
}
