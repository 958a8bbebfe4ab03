//! Skip what hurt (002, 003): the exercises resting after pain, and
//! today's program without them (or with their easier variants) and
//! without those done as often as meant today, still keeping the rules the
//! content was checked against. Kept apart because it is the one place
//! that takes exercises out of a program.

use super::{AdaptError, Spent, DAILY_MAX};
use crate::content::{Category, Content, Dose, Program, ProgramItem};
use crate::journal::queries::History;
use crate::journal::{Date, LeftOut};
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// An exercise resting after pain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rest {
    pub exercise: String,
    /// The day it last hurt, and in which session.
    pub since: Date,
    pub session: i64,
    /// Sessions without pain still needed before it comes back.
    pub sessions_left: u32,
}

/// The exercises resting today: each that hurt in a session after which
/// fewer than `pain_free_sessions` pain-free sessions followed. Pain that
/// stayed central (the McKenzie pain rule's answer "it stays in my back")
/// does not rest the exercise: 003 says a slight rise of back pain at first
/// is to be tolerated. Pain that spread, or was not answered, rests it.
pub fn resting(history: &History, pain_free_sessions: u32) -> BTreeMap<String, Rest> {
    let mut last_pain: BTreeMap<String, usize> = BTreeMap::new();
    for (i, s) in history.sessions.iter().enumerate() {
        for p in s.pains.iter().filter(|p| !p.central()) {
            if let Some(x) = &p.exercise {
                last_pain.insert(x.clone(), i);
            }
        }
    }
    let mut out = BTreeMap::new();
    for (exercise, i) in last_pain {
        let free = history.sessions[i + 1..]
            .iter()
            .filter(|s| s.pain_free())
            .count() as u32;
        if free < pain_free_sessions {
            let s = &history.sessions[i];
            out.insert(
                exercise.clone(),
                Rest {
                    exercise,
                    since: s.day,
                    session: s.id,
                    sessions_left: pain_free_sessions - free,
                },
            );
        }
    }
    out
}

/// `program` without the resting exercises (or with their easier variants),
/// and still valid: partners of resting exercises and strength work without
/// a warm-up are left out too.
pub fn adjust(
    content: &Content,
    program: &Program,
    rest: &BTreeMap<String, Rest>,
    pain_free_sessions: u32,
) -> Result<(Program, Vec<LeftOut>), AdaptError> {
    adjust_for_today(content, program, rest, &BTreeMap::new(), pain_free_sessions)
}

/// [`adjust`], and without the exercises that have had their daily maximum
/// today (`spent`; 003: e.g. the sitting exercise three times a day in
/// programs done six to eight times a day).
pub fn adjust_for_today(
    content: &Content,
    program: &Program,
    rest: &BTreeMap<String, Rest>,
    spent: &BTreeMap<String, Spent>,
    pain_free_sessions: u32,
) -> Result<(Program, Vec<LeftOut>), AdaptError> {
    let present: BTreeSet<&str> = program
        .items
        .iter()
        .map(|i| i.exercise.get_ref().as_str())
        .collect();
    let mut items: Vec<ProgramItem> = Vec::new();
    let mut left: Vec<LeftOut> = Vec::new();
    for item in &program.items {
        let id = item.exercise.get_ref();
        if let Some(sp) = spent.get(id) {
            left.push(LeftOut {
                exercise: id.clone(),
                reason: format!(
                    "done {} time{} today, {DAILY_MAX} ({} a day); it comes back tomorrow",
                    sp.done,
                    if sp.done == 1 { "" } else { "s" },
                    sp.max
                ),
                replaced_by: None,
            });
            continue;
        }
        let Some(r) = rest.get(id) else {
            items.push(item.clone());
            continue;
        };
        let why = format!(
            "it hurt on {} (session {}); it comes back after {} more session{} without pain",
            r.since,
            r.session,
            r.sessions_left,
            if r.sessions_left == 1 { "" } else { "s" }
        );
        let easier = content
            .exercise(id)
            .and_then(|e| e.easier.as_ref())
            .map(|e| e.get_ref().clone());
        match easier {
            Some(e)
                if !rest.contains_key(&e)
                    && !present.contains(e.as_str())
                    && content.exercise(&e).is_some()
                    && !items.iter().any(|i| i.exercise.get_ref() == &e) =>
            {
                items.push(ProgramItem {
                    exercise: Spanned::new(0..0, e.clone()),
                    dose: Dose::default(),
                });
                left.push(LeftOut {
                    exercise: id.clone(),
                    reason: format!("{why}; the easier {e} instead"),
                    replaced_by: Some(e),
                });
            }
            Some(e) => {
                let because = if rest.contains_key(&e) {
                    "rests too"
                } else {
                    "is in today's program already"
                };
                left.push(LeftOut {
                    exercise: id.clone(),
                    reason: format!("{why}; its easier variant {e} {because}"),
                    replaced_by: None,
                });
            }
            None => left.push(LeftOut {
                exercise: id.clone(),
                reason: why,
                replaced_by: None,
            }),
        }
    }
    // Keep the rules the content was checked against at load.
    'fix: loop {
        let mut warmed_up = false;
        for i in 0..items.len() {
            let id = items[i].exercise.get_ref().clone();
            let Some(ex) = content.exercise(&id) else {
                continue;
            };
            if let Some(partner) = &ex.always_followed_by {
                let next = items.get(i + 1).map(|n| n.exercise.get_ref());
                if next != Some(partner.get_ref()) {
                    items.remove(i);
                    left.push(LeftOut {
                        exercise: id,
                        reason: format!(
                            "it must always be followed by {}, which is left out today",
                            partner.get_ref()
                        ),
                        replaced_by: None,
                    });
                    continue 'fix;
                }
            }
            if ex.category == Category::Strengthening && !warmed_up {
                items.remove(i);
                left.push(LeftOut {
                    exercise: id,
                    reason: "strength work needs a warm-up before it, and today's is left out"
                        .into(),
                    replaced_by: None,
                });
                continue 'fix;
            }
            warmed_up |= ex.category.is_warm_up();
        }
        break;
    }
    let none_rests = !program
        .items
        .iter()
        .any(|i| rest.contains_key(i.exercise.get_ref()));
    if items.is_empty() && !spent.is_empty() && none_rests {
        return Err(AdaptError::AllDoneToday {
            program: program.id().to_string(),
            exercises: left
                .iter()
                .map(|l| l.exercise.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    if items.is_empty() {
        return Err(AdaptError::NothingLeft {
            program: program.id().to_string(),
            resting: left
                .iter()
                .map(|l| l.exercise.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            sessions: pain_free_sessions,
        });
    }
    let mut out = program.clone();
    out.items = items;
    Ok((out, left))
}
