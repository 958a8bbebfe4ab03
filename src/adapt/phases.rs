//! McKenzie phases (003): the order of the phases, each phase's program,
//! when the user may move on or back, and when the coach offers to move
//! on. Kept apart because it follows the brochure's clock in days, not the
//! sessions.

use super::{Rules, Today};
use crate::content::{Content, Phase, Program};
use crate::journal::queries::{History, SessionInfo};
use crate::journal::{Date, SessionKind};
use crate::session::PhaseOffer;

pub fn next_phase(p: Phase) -> Option<Phase> {
    match p {
        Phase::Acute => Some(Phase::Improving),
        Phase::Improving => Some(Phase::Stiff),
        Phase::Stiff => Some(Phase::Maintenance),
        Phase::Maintenance => None,
    }
}

pub fn previous_phase(p: Phase) -> Option<Phase> {
    match p {
        Phase::Acute => None,
        Phase::Improving => Some(Phase::Acute),
        Phase::Stiff => Some(Phase::Improving),
        Phase::Maintenance => Some(Phase::Stiff),
    }
}

/// The program of a McKenzie phase (the content's `phase = …`).
pub fn phase_program(content: &Content, phase: Phase) -> Option<&Program> {
    content
        .programs
        .iter()
        .map(|d| &d.value)
        .find(|p| p.phase == Some(phase))
}

/// Why the phase cannot change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhaseError {
    #[error("you are not following the McKenzie program{}", crate::fix::Line(self))]
    NotStarted,
    #[error(
        "you are in the last McKenzie phase (maintenance) already{}",
        crate::fix::Line(self)
    )]
    AtLast,
    #[error(
        "you are in the first McKenzie phase (acute) already{}",
        crate::fix::Line(self)
    )]
    AtFirst,
    #[error(
        "not advancing: your last session ({day}, {program}) had pain{during}{}",
        crate::fix::Line(self)
    )]
    AfterPain {
        day: Date,
        program: String,
        during: String,
    },
}

impl crate::fix::Fix for PhaseError {
    fn fix(&self) -> Option<String> {
        match self {
            PhaseError::NotStarted => Some("`matcoach phase start` begins with the acute phase (003: only once you can lie on your belly comfortably)".into()),
            PhaseError::AtLast => Some("nothing to advance: keep the maintenance exercises as a daily habit (003)".into()),
            PhaseError::AtFirst => Some("nothing to go back to; `matcoach phase stop` ends the McKenzie program".into()),
            PhaseError::AfterPain { .. } => Some("003 moves on only once you feel clearly better; do a session without pain first, then `matcoach phase next` again. If the pain stays or spreads below the knee, see a (manual) therapist".into()),
        }
    }
}

/// The phase `matcoach phase next` would move to, or why it may not: never
/// from no phase, past maintenance, or when the last session had pain
/// (pain that stayed central in the back does not count: 003 tolerates it).
pub fn may_advance(history: &History) -> Result<Phase, PhaseError> {
    let current = history.current_phase().ok_or(PhaseError::NotStarted)?;
    let next = next_phase(current).ok_or(PhaseError::AtLast)?;
    if let Some(last) = history.sessions.last() {
        let pains: Vec<_> = last.pains.iter().filter(|p| !p.central()).collect();
        if !pains.is_empty() {
            let during: Vec<String> = pains.iter().filter_map(|p| p.exercise.clone()).collect();
            return Err(PhaseError::AfterPain {
                day: last.day,
                program: last.program.clone(),
                during: if during.is_empty() {
                    String::new()
                } else {
                    format!(" (during {})", during.join(", "))
                },
            });
        }
    }
    Ok(next)
}

/// The first day the coach may offer to move on from `phase`, begun on
/// `since` (see [`phase_offer`]; later when pain intervenes).
pub fn earliest_offer(rules: &Rules, phase: Phase, since: Date) -> Option<Date> {
    let days = match phase {
        Phase::Acute => rules.acute_days,
        Phase::Improving => rules.pain_free_days,
        Phase::Stiff => rules.stiff_days,
        Phase::Maintenance => return None,
    };
    Some(since.add_days(i64::from(days)))
}

/// Pain reported in the `days` days up to `date` (`date` and the days
/// before it): (any pain, pain that did not stay central).
fn pain_within(history: &History, date: Date, days: u32) -> (bool, bool) {
    let from = date.add_days(1 - i64::from(days.max(1)));
    let pains = history
        .sessions
        .iter()
        .filter(|s| s.day >= from && s.day <= date)
        .flat_map(|s| s.pains.iter());
    let mut any = false;
    let mut spreading = false;
    for p in pains {
        any = true;
        spreading |= !p.central();
    }
    (any, spreading)
}

/// Whether to offer the next McKenzie phase at the end of today's session
/// (the session makes the offer only if it goes well: completed, no pain),
/// on the brochure's clock (003), in days from the journal, at most once a
/// day, only in the current phase's program and never after pain in the
/// last session ([`may_advance`]):
/// - **acute → improving** once `acute_days` days of the phase have
///   passed ("a day or two after starting, once you feel clearly better":
///   the user answers that), with no pain that spread in those days (pain
///   that stayed central is what the acute phase expects);
/// - **improving → stiff, or maintenance** after `pain_free_days` days in
///   the phase with no pain at all in the last `pain_free_days` days ("about
///   two weeks pain-free"; central pain counts here: pain-free means none),
///   or after `plateau_days` days with only central pain in that window (the
///   plateau: "after two to three weeks only a little pain in the middle of
///   the low back"). The stiff phase is only for people who are still stiff,
///   so it is a question ("still stiff when you bend forward?"); when the
///   last offer in this phase asked it and the user did not press, the next
///   day offers maintenance instead ("bending forward goes freely?"), and so
///   on in turn;
/// - **stiff → maintenance** from `stiff_days` days in the phase on, with
///   no pain that spread in those days: the question is whether the knees
///   come easily to the chest (003: then the stiff phase has done its work).
///
/// A press of the button accepts, as before.
pub fn phase_offer(
    content: &Content,
    rules: &Rules,
    history: &History,
    today: &Today,
) -> Option<PhaseOffer> {
    let current = history.current_phase()?;
    if today.kind != SessionKind::Session || today.program.phase != Some(current) {
        return None;
    }
    may_advance(history).ok()?;
    if history
        .phase_offered
        .is_some_and(|at| at.date() == today.date)
    {
        return None;
    }
    let phase = history.phase.as_ref()?;
    let since = phase.since;
    let in_phase = |s: &SessionInfo| match phase.after_seq {
        Some(after) => s.seq > after,
        None => s.started.ms() >= since.ms(),
    };
    let mut days = today.date.since(since.date());
    if history.untrusted_clock {
        // Counted days may run ahead of real ones (a Pi switched off after
        // every session): the phase's days are also at most its sessions
        // (today's included) over the times a day its program is meant.
        let per_day = today
            .program
            .times_per_day
            .map_or(1, |n| i64::from(n.get()));
        let sessions = history
            .sessions
            .iter()
            .filter(|s| in_phase(s) && s.practised())
            .count() as i64
            + 1;
        days = days.min(sessions / per_day);
    }
    let at_least = |n: u32| days >= i64::from(n);
    let to = match current {
        Phase::Acute => {
            let (_, spreading) = pain_within(history, today.date, rules.acute_days);
            (at_least(rules.acute_days) && !spreading).then_some(Phase::Improving)?
        }
        Phase::Improving => {
            let (any, spreading) = pain_within(history, today.date, rules.pain_free_days);
            let clean = at_least(rules.pain_free_days) && !any;
            let plateau = at_least(rules.plateau_days) && !spreading;
            if !(clean || plateau) {
                return None;
            }
            match history.last_offer {
                Some(o)
                    if o.from == Phase::Improving
                        && o.to == Phase::Stiff
                        && o.at.ms() >= since.ms() =>
                {
                    Phase::Maintenance
                }
                _ => Phase::Stiff,
            }
        }
        Phase::Stiff => {
            let (_, spreading) = pain_within(history, today.date, rules.stiff_days);
            (at_least(rules.stiff_days) && !spreading).then_some(Phase::Maintenance)?
        }
        Phase::Maintenance => return None,
    };
    // Sessions in a row without pain in this phase, today's included (for
    // the journal's record of the offer).
    let mut before = 0u32;
    for s in history.sessions.iter().rev() {
        if !in_phase(s) || !s.pains.is_empty() {
            break;
        }
        if s.pain_free() {
            before += 1;
        }
    }
    Some(PhaseOffer {
        from: current,
        to,
        to_name: phase_program(content, to)?.name.clone(),
        pain_free_sessions: before + 1,
    })
}

/// The phase `matcoach phase back` moves to (always allowed: going back is
/// what 003 advises when the pain returns).
pub fn may_go_back(history: &History) -> Result<Phase, PhaseError> {
    let current = history.current_phase().ok_or(PhaseError::NotStarted)?;
    let earlier = |p: Phase| phase_rank(p) < phase_rank(current);
    match history.phase.as_ref().and_then(|p| p.came_from) {
        // Back to where the user came from when that was an earlier phase
        // (maintenance reached from improving goes back to improving).
        Some(p) if earlier(p) => Ok(p),
        _ => previous_phase(current).ok_or(PhaseError::AtFirst),
    }
}

/// The order of the phases: acute first.
fn phase_rank(p: Phase) -> u8 {
    match p {
        Phase::Acute => 0,
        Phase::Improving => 1,
        Phase::Stiff => 2,
        Phase::Maintenance => 3,
    }
}
