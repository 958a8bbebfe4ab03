//! Time that cannot be trusted (issue 15, item 3).
//!
//! A Raspberry Pi has no real-time clock: offline, it boots with the time
//! fake-hwclock saved at shutdown (or 1970) and may never synchronise. The
//! day-based rules of [`crate::adapt`] (the daily maximum, the strength
//! rotation, the McKenzie phase clock) would then punish or skip: a session
//! "in 1970", or "tomorrow" twice. So the shell reads a [`ClockReading`]
//! (the wall clock, the boot id, the time since boot and whether the kernel
//! says the clock is synchronised) before each session; [`assess`] compares
//! it with the journal's last session, and [`Calendar`] gives the rules the
//! days to use: the real ones when the clock is trustworthy, otherwise days
//! counted from the sessions themselves (a new day at each boot, or after
//! [`DAY_OF_UPTIME`] of running), never earlier than the last day the
//! journal holds. Rest after pain counts sessions anyway.
//!
//! Pure: the reading comes from [`crate::date::read`].

use crate::date::{ClockReading, Date, Stamp, Sync};
use crate::journal::{History, SessionInfo};
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// Before this date the wall clock is certainly wrong (older than this
/// program): a Pi that booted into 1970, or into its image's build date.
pub const PLAUSIBLE_FROM: (i64, u32, u32) = (2025, 1, 1);

/// How far the wall clock may drift from the time since boot between two
/// sessions of one boot before it counts as a jump (NTP corrections are
/// milliseconds; a jump is a clock set by hand or a late first sync).
pub const JUMP_TOLERANCE: Duration = Duration::from_secs(10 * 60);

/// A boot whose clock starts no later than this after the previous boot's
/// last recorded moment did not see the time pass while the Pi was off: the
/// clock "stands still" across boots (fake-hwclock, or a fixed boot time).
pub const STILL_TOLERANCE: Duration = Duration::from_secs(10 * 60);

/// Without a trustworthy clock, one boot running this long starts a new
/// day of sessions.
pub const DAY_OF_UPTIME: Duration = Duration::from_secs(16 * 3600);

/// Why the wall clock is not to be trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "doubt", rename_all = "snake_case")]
pub enum Doubt {
    /// Before [`PLAUSIBLE_FROM`].
    Implausible { now: Stamp },
    /// Earlier than the journal's last session.
    Backwards { last: Stamp, now: Stamp },
    /// A new boot whose clock began where the last boot's left off: the
    /// time the Pi was off is missing.
    StoodStill { last: Stamp, boot_at: Stamp },
    /// In one boot, the wall clock moved differently from the time since
    /// boot (`wall_ms` against `uptime_ms` since the last session).
    Jumped { wall_ms: i64, uptime_ms: i64 },
    /// Not synchronised and no real-time clock: the journal's days cannot
    /// be told from the wall clock.
    Unsynced,
}

impl Doubt {
    /// The journal's short name for it (`sessions.clock`).
    pub fn name(&self) -> &'static str {
        match self {
            Doubt::Implausible { .. } => "implausible",
            Doubt::Backwards { .. } => "backwards",
            Doubt::StoodStill { .. } => "stood_still",
            Doubt::Jumped { .. } => "jumped",
            Doubt::Unsynced => "unsynced",
        }
    }
}

impl fmt::Display for Doubt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Doubt::Implausible { now } => write!(f, "the clock says {now}, before this program was made"),
            Doubt::Backwards { last, now } => write!(
                f,
                "the clock went backwards: it says {now}, but the last session was recorded at {last}"
            ),
            Doubt::StoodStill { last, boot_at } => write!(
                f,
                "the clock stood still while the Pi was off: this boot began at {boot_at}, just after the last session ({last})"
            ),
            Doubt::Jumped { wall_ms, uptime_ms } => write!(
                f,
                "the clock jumped: {} min passed on it since the last session, but {} min of running",
                wall_ms / 60_000,
                uptime_ms / 60_000
            ),
            Doubt::Unsynced => write!(
                f,
                "the clock is not synchronised and no real-time clock kept it while the Pi was off"
            ),
        }
    }
}

/// The verdict on a reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Trust {
    /// The days of the wall clock apply.
    Trusted,
    /// Days are counted from the sessions instead.
    Untrusted(Doubt),
}

impl Trust {
    /// `sessions.clock`: "trusted" or the doubt's name.
    pub fn name(&self) -> &'static str {
        match self {
            Trust::Trusted => "trusted",
            Trust::Untrusted(d) => d.name(),
        }
    }

    pub fn doubt(&self) -> Option<&Doubt> {
        match self {
            Trust::Trusted => None,
            Trust::Untrusted(d) => Some(d),
        }
    }
}

/// The journal's last session (by sequence), and its last recorded moment.
fn last_session(history: &History) -> Option<&SessionInfo> {
    history.sessions.iter().max_by_key(|s| s.seq)
}

/// Whether `now` can be trusted, given the journal. A clock the kernel
/// calls synchronised is trusted whatever the journal says (the journal's
/// earlier times were the wrong ones); otherwise it must be plausible, not
/// earlier than the last session, have moved with the time since boot
/// within one boot, and have moved while the Pi was off between boots; and
/// once the journal holds a session, a clock the kernel calls
/// unsynchronised that no real-time clock set is not trusted at all (an
/// offline Pi with fake-hwclock boots at its last shutdown's time).
pub fn assess(history: &History, now: &ClockReading) -> Trust {
    if now.sync == Sync::Yes {
        return Trust::Trusted;
    }
    let (y, m, d) = PLAUSIBLE_FROM;
    if Date::from_ymd(y, m, d).is_some_and(|from| now.wall.date() < from) {
        return Trust::Untrusted(Doubt::Implausible { now: now.wall });
    }
    let Some(last) = last_session(history) else {
        return Trust::Trusted;
    };
    if now.wall < last.last {
        return Trust::Untrusted(Doubt::Backwards {
            last: last.last,
            now: now.wall,
        });
    }
    let same_boot = matches!((&now.boot, &last.boot), (Some(a), Some(b)) if a == b);
    if same_boot {
        if let (Some(u_now), Some(u_last)) = (now.uptime_ms, last.uptime_ms) {
            let uptime_ms = u_now - u_last;
            let wall_ms = now.wall.ms() - last.started.ms();
            if (wall_ms - uptime_ms).unsigned_abs() > JUMP_TOLERANCE.as_millis() as u64 {
                return Trust::Untrusted(Doubt::Jumped { wall_ms, uptime_ms });
            }
        }
    } else if now.boot.is_some() {
        if let Some(boot_at) = now.boot_wall() {
            if boot_at.ms() <= last.last.ms() + STILL_TOLERANCE.as_millis() as i64 {
                return Trust::Untrusted(Doubt::StoodStill {
                    last: last.last,
                    boot_at,
                });
            }
        }
    }
    if now.sync == Sync::No {
        return Trust::Untrusted(Doubt::Unsynced);
    }
    Trust::Trusted
}

/// The history as the day-based rules should see it, today's date, and the
/// verdict on the clock.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub history: History,
    pub date: Date,
    pub trust: Trust,
}

impl Calendar {
    /// With a trusted clock, the wall clock's date, and `history` as it is
    /// but for this boot's sessions, dated by the time since boot (they may
    /// have been recorded before a late first sync). Otherwise each session's day is replaced by a counted day (a new
    /// one at each boot, or after [`DAY_OF_UPTIME`] in one boot; sessions
    /// of unknown boot, recorded before the journal knew boots, each count
    /// as a day), today is the next counted day or the last one, and the
    /// counted days end on the latest of the wall clock's date and the last
    /// day the journal holds: so the clock's jumps neither reset rests (they
    /// count sessions), nor skip a phase, nor repeat a day's dose, and a
    /// date after back surgery never goes backwards.
    pub fn new(history: &History, now: &ClockReading) -> Calendar {
        let trust = assess(history, now);
        let mut history = history.clone();
        history.sessions.sort_by_key(|s| s.seq);
        if trust == Trust::Trusted {
            // This boot's sessions may have been recorded before the clock
            // was set right (a late first sync): their days come from the
            // time since boot, which did not jump, so a day's dose given
            // under the wrong date still counts today.
            if let (Some(boot), Some(up_now)) = (&now.boot, now.uptime_ms) {
                for s in history.sessions.iter_mut() {
                    if let (Some(b), Some(up)) = (&s.boot, s.uptime_ms) {
                        if b == boot && up <= up_now {
                            s.day = Stamp(now.wall.ms() - (up_now - up)).date();
                        }
                    }
                }
            }
            history.untrusted_clock = false;
            return Calendar {
                date: now.wall.date(),
                history,
                trust,
            };
        }
        // Counted days: group k of the sessions, and today's group.
        let mut group = Vec::with_capacity(history.sessions.len());
        let mut current: i64 = 0;
        let mut first: Option<(&Option<String>, Option<i64>)> = None;
        let same_day =
            |a: (&Option<String>, Option<i64>), boot: &Option<String>, up: Option<i64>| {
                matches!((a.0, boot), (Some(x), Some(y)) if x == y)
                    && matches!((a.1, up), (Some(u0), Some(u1))
                    if u1 >= u0 && u1 - u0 < DAY_OF_UPTIME.as_millis() as i64)
            };
        for (i, s) in history.sessions.iter().enumerate() {
            match first {
                Some(f) if same_day(f, &s.boot, s.uptime_ms) => {}
                _ => {
                    if i > 0 {
                        current += 1;
                    }
                    first = Some((&s.boot, s.uptime_ms));
                }
            }
            group.push(current);
        }
        let today_group = match first {
            Some(f) if same_day(f, &now.boot, now.uptime_ms) => current,
            Some(_) => current + 1,
            None => 0,
        };
        let last_day = history.sessions.iter().map(|s| s.day).max();
        let date = match last_day {
            Some(d) => {
                let next = d.add_days(today_group - current);
                next.max(now.wall.date())
            }
            None => now.wall.date(),
        };
        let day_of = |g: i64| date.add_days(g - today_group);
        for (s, g) in history.sessions.iter_mut().zip(&group) {
            s.day = day_of(*g);
        }
        // The phase began on the day of its first session (or today).
        if let Some(p) = history.phase.as_mut() {
            let first_after = history
                .sessions
                .iter()
                .zip(&group)
                .find(|(s, _)| p.after_seq.is_none_or(|a| s.seq > a))
                .map(|(_, g)| day_of(*g));
            let day = match p.after_seq {
                Some(_) => first_after.unwrap_or(date),
                // Set before the journal knew sequences: its own day if
                // plausible, else today.
                None => p.since.date().min(date),
            };
            p.since = day.at_midnight();
        }
        // An offer of the next phase was made in the last session.
        let last_day_counted = group.last().map(|g| day_of(*g));
        if let (Some(o), Some(d)) = (history.phase_offered.as_mut(), last_day_counted) {
            *o = d.at_midnight();
        }
        if let (Some(o), Some(d)) = (history.last_offer.as_mut(), last_day_counted) {
            o.at = d.at_midnight();
        }
        history.untrusted_clock = true;
        Calendar {
            history,
            date,
            trust,
        }
    }

    /// The line for the log, when the clock is not trusted.
    pub fn log_line(&self) -> Option<String> {
        self.trust.doubt().map(|d| {
            format!(
                "{d}; counting sessions instead of days until the clock is synchronised (today is counted as {})",
                self.date
            )
        })
    }
}

impl crate::journal::ClockNote {
    /// The note the journal keeps for a reading and its verdict.
    pub fn of(reading: &ClockReading, trust: &Trust) -> crate::journal::ClockNote {
        crate::journal::ClockNote {
            boot: reading.boot.clone(),
            uptime_ms: reading.uptime_ms,
            trust: trust.name().to_string(),
        }
    }
}
