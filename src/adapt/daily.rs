//! Doses per day (003): how often a day an exercise is meant, and which
//! exercises of a program have had that many today. Kept apart because it
//! counts the day's sessions, which no other rule does.

use crate::content::{Content, Dose, Program};
use crate::journal::queries::History;
use crate::journal::{Date, ExerciseStatus};
use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;

/// The marker in a [`LeftOut::reason`](crate::journal::LeftOut::reason)
/// for an exercise that has had its daily maximum (the coach says so in
/// the first session where it is).
pub const DAILY_MAX: &str = "its daily maximum";

/// How often a day `dose` allows the exercise: `times_per_day_max`, else
/// `times_per_day` (none: no daily limit).
pub fn daily_max(dose: &Dose) -> Option<u32> {
    dose.times_per_day_max
        .or(dose.times_per_day)
        .map(NonZeroU32::get)
}

/// How many sessions on `date` did each exercise (done, not only begun).
pub fn done_on(history: &History, date: Date) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for s in history.sessions.iter().filter(|s| s.day == date) {
        let done: BTreeSet<&str> = s
            .exercises
            .iter()
            .filter(|e| e.status == ExerciseStatus::Done)
            .map(|e| e.exercise.as_str())
            .collect();
        for x in done {
            *out.entry(x.to_string()).or_insert(0) += 1;
        }
    }
    out
}

/// An exercise that has had its daily maximum on the day planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spent {
    pub done: u32,
    pub max: u32,
}

/// The exercises of `program` that have had their daily maximum on `date`
/// (the dose as the program gives it).
pub fn spent_today(
    content: &Content,
    program: &Program,
    history: &History,
    date: Date,
) -> BTreeMap<String, Spent> {
    let done = done_on(history, date);
    program
        .items
        .iter()
        .filter_map(|item| {
            let id = item.exercise.get_ref();
            let ex = content.exercise(id)?;
            let max = daily_max(&item.dose.over(&ex.dose))?;
            let n = done.get(id).copied().unwrap_or(0);
            (n >= max).then(|| (id.clone(), Spent { done: n, max }))
        })
        .collect()
}
