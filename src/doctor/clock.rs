//! `doctor`'s clock check (issue 15, item 3): is the system clock
//! synchronised (the kernel's flag, and systemd-timesyncd when systemd
//! runs), and what the coach makes of it against the journal.

use super::Check;
use crate::clock::{self, Trust};
use crate::date::{ClockReading, Sync};
use crate::journal::History;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const NAME: &str = "clock";

/// What systemd says about time synchronisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timesync {
    /// systemd is not running here (a container, another init).
    NoSystemd,
    /// `timedatectl show`: network time on (NTP=yes) or off.
    Ntp { on: bool },
    /// systemd runs but timedatectl could not say: why.
    Unknown(String),
}

/// Ask systemd (`timedatectl show`, with a deadline).
pub fn timesync() -> Timesync {
    if !Path::new("/run/systemd/system").exists() {
        return Timesync::NoSystemd;
    }
    match crate::subprocess::run(
        Command::new("timedatectl").args(["show", "--property=NTP"]),
        b"",
        Duration::from_secs(5),
    ) {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            Timesync::Ntp {
                on: text.lines().any(|l| l.trim() == "NTP=yes"),
            }
        }
        Ok(out) => Timesync::Unknown(format!(
            "timedatectl failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Timesync::Unknown(format!("timedatectl: {e}")),
    }
}

/// The check, from the clock now, systemd's answer and the journal's
/// history (none: no journal yet, or unreadable).
pub fn check(now: &ClockReading, sync: &Timesync, history: Option<&History>) -> Check {
    const KEEP_TIME: &str = "README, \"Keeping time on an offline Pi\"";
    let service = match sync {
        Timesync::NoSystemd => {
            "no systemd here, so systemd-timesyncd cannot be asked; the kernel's own flag is used"
                .to_string()
        }
        Timesync::Ntp { on: true } => "systemd-timesyncd: network time is on".into(),
        Timesync::Ntp { on: false } => "systemd-timesyncd: network time is off".into(),
        Timesync::Unknown(why) => format!("systemd-timesyncd: unknown ({why})"),
    };
    let state = match &now.sync {
        Sync::Yes => "the system clock is synchronised".to_string(),
        Sync::Rtc => "the system clock was set from a real-time clock at boot (not synchronised to a time server)".into(),
        Sync::No => "the system clock is NOT synchronised, and no real-time clock set it".into(),
        Sync::Unknown(why) => format!("whether the system clock is synchronised is unknown ({why})"),
    };
    let verdict = history.map(|h| clock::assess(h, now));
    let journal = match &verdict {
        None => String::new(),
        Some(Trust::Trusted) => "; the journal agrees with it".into(),
        Some(Trust::Untrusted(d)) => format!(
            "; against the journal: {d}. The day-based rules (daily maximum, strength days, McKenzie phase clock) count sessions instead of days until it is synchronised; rest after pain always counts sessions"
        ),
    };
    let detail = format!("it says {}; {state}; {service}{journal}", now.wall);
    let untrusted = matches!(verdict, Some(Trust::Untrusted(_)));
    let fix = match sync {
        Timesync::Ntp { on: false } => format!("turn network time on (`sudo timedatectl set-ntp true`) and connect the Pi to a network now and then, or fit a real-time clock module; see the {KEEP_TIME}"),
        Timesync::NoSystemd => format!("keep the clock with chrony or ntpd, or a real-time clock module; see the {KEEP_TIME}"),
        _ => format!("connect the Pi to a network now and then (systemd-timesyncd then sets the clock), or fit a real-time clock module (or install fake-hwclock, so the clock at least never goes back); see the {KEEP_TIME}"),
    };
    match &now.sync {
        Sync::Yes | Sync::Rtc if !untrusted => Check::ok(NAME, detail),
        // The coach counts sessions instead of days now.
        _ if untrusted => Check::warn(NAME, detail, fix),
        // Nothing depends on it yet (no journal, or one that agrees), but
        // it will after a reboot: said, not counted as a warning.
        _ => Check {
            name: NAME.into(),
            status: super::Status::Note,
            detail: format!(
                "{detail}; after a reboot the coach will count sessions instead of days"
            ),
            fix: Some(fix),
        },
    }
}

/// The journal's history for the check, read-only (none when there is no
/// journal or it cannot be read: the journal check says why).
pub fn journal_history(path: &Path) -> Option<History> {
    if !path.exists() {
        return None;
    }
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    crate::journal::queries::load(&conn, path, None).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use crate::journal::{Date, Stamp};

    fn reading(sync: Sync) -> ClockReading {
        ClockReading {
            sync,
            ..ClockReading::at(Stamp(
                Date::parse("2026-06-01").unwrap().at_midnight().ms() + 8 * 3_600_000,
            ))
        }
    }

    #[test]
    fn the_clock_check_says_how_time_is_kept() {
        // A journal whose last session was a day ahead of the clock now.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        let mut store = crate::journal::JournalStore::open(&path, &Default::default())
            .unwrap()
            .store;
        store.begin(Stamp(reading(Sync::No).wall.ms() + 86_400_000), None);
        let started = crate::session::JournalEvent::SessionStarted {
            program: "quick".into(),
            lang: "en".into(),
        };
        store.record(Duration::ZERO, &started).unwrap();
        drop(store);
        let went_back = journal_history(&path).unwrap();
        // (kernel, systemd, journal, status, words in the detail or fix)
        type Row<'a> = (Sync, Timesync, Option<&'a History>, Status, &'a [&'a str]);
        let rows: Vec<Row> = vec![
            (
                Sync::Yes,
                Timesync::Ntp { on: true },
                None,
                Status::Ok,
                &["is synchronised", "network time is on"],
            ),
            (
                Sync::Rtc,
                Timesync::Ntp { on: true },
                None,
                Status::Ok,
                &["real-time clock"],
            ),
            (
                Sync::No,
                Timesync::Ntp { on: true },
                None,
                Status::Note,
                &[
                    "NOT synchronised",
                    "fake-hwclock",
                    "Keeping time",
                    "after a reboot",
                ],
            ),
            (
                Sync::No,
                Timesync::Ntp { on: false },
                None,
                Status::Note,
                &["network time is off", "set-ntp true"],
            ),
            (
                Sync::No,
                Timesync::NoSystemd,
                None,
                Status::Note,
                &["no systemd here", "chrony"],
            ),
            (
                Sync::No,
                Timesync::NoSystemd,
                Some(&went_back),
                Status::Warn,
                &["went backwards", "chrony"],
            ),
            (
                Sync::Rtc,
                Timesync::NoSystemd,
                Some(&went_back),
                Status::Warn,
                &["went backwards", "count sessions instead of days"],
            ),
            (
                Sync::Yes,
                Timesync::Ntp { on: true },
                Some(&went_back),
                Status::Ok,
                &["the journal agrees"],
            ),
        ];
        for (sync, ts, h, status, words) in rows {
            let c = check(&reading(sync.clone()), &ts, h);
            assert_eq!(c.status, status, "{sync:?} {ts:?}: {c:?}");
            let all = format!("{} {}", c.detail, c.fix.clone().unwrap_or_default());
            for w in words {
                assert!(all.contains(w), "{sync:?} {ts:?}: `{w}` missing from {all}");
            }
        }
    }
}
