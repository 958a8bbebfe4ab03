//! Histories across boots of a Pi whose clock may be wrong (issue 15, item
//! 3): a [`Boots`] timeline with a wall clock and an uptime that move
//! together or not, sessions recorded on it, and the reading now.

use super::journal_support::completed;
use matcoach::date::{ClockReading, Sync};
use matcoach::journal::{Date, History, SessionInfo, Stamp};
use matcoach::session::PainLocation;
use std::time::Duration;

/// `YYYY-MM-DD` at `HH:MM` on the wall clock.
pub fn at(day: &str, hm: &str) -> Stamp {
    let (h, m) = hm.split_once(':').unwrap();
    Date::parse(day)
        .unwrap()
        .at_midnight()
        .plus(Duration::from_secs(
            h.parse::<u64>().unwrap() * 3600 + m.parse::<u64>().unwrap() * 60,
        ))
}

/// A Pi's timeline: boots, running time, sessions.
#[derive(Clone)]
pub struct Boots {
    pub sessions: Vec<SessionInfo>,
    boot: u32,
    uptime_ms: i64,
    wall: Stamp,
    pub sync: Sync,
}

impl Boots {
    /// The first boot, with the wall clock at `wall`, its synchronisation
    /// unknown (the verdict rests on the journal alone).
    pub fn new(wall: Stamp) -> Boots {
        Boots {
            sessions: Vec::new(),
            boot: 1,
            uptime_ms: 30_000,
            wall,
            sync: Sync::Unknown("a test".into()),
        }
    }

    /// The same timeline with the kernel's verdict `sync`.
    pub fn with_sync(&self, sync: Sync) -> Boots {
        Boots {
            sync,
            ..self.clone()
        }
    }

    /// A new boot whose clock starts at `wall` (the time the Pi thinks it is).
    pub fn boot(&mut self, wall: Stamp) -> &mut Boots {
        self.boot += 1;
        self.uptime_ms = 30_000;
        self.wall = wall;
        self
    }

    /// Running time passes, and the wall clock with it.
    pub fn run(&mut self, d: Duration) -> &mut Boots {
        self.uptime_ms += d.as_millis() as i64;
        self.wall = self.wall.plus(d);
        self
    }

    /// The wall clock is set to `wall` (by hand, or a late first sync):
    /// the uptime does not move.
    pub fn set(&mut self, wall: Stamp) -> &mut Boots {
        self.wall = wall;
        self
    }

    /// A completed ten-minute session of `program` now, with `done`
    /// exercises and pain (that spread) in `pains`.
    pub fn session(&mut self, program: &str, done: &[&str], pains: &[&str]) -> &mut Boots {
        let started = self.wall;
        let seq = self.sessions.len() as i64 + 1;
        let pains: Vec<(&str, Option<PainLocation>)> = pains.iter().map(|x| (*x, None)).collect();
        let mut session = completed(seq, program, started, done, &pains);
        session.boot = Some(format!("boot-{}", self.boot));
        session.uptime_ms = Some(self.uptime_ms);
        self.sessions.push(session);
        self.run(Duration::from_secs(600))
    }

    /// The clock as the shell would read it now.
    pub fn reading(&self) -> ClockReading {
        ClockReading {
            wall: self.wall,
            boot: Some(format!("boot-{}", self.boot)),
            uptime_ms: Some(self.uptime_ms),
            sync: self.sync.clone(),
        }
    }

    pub fn history(&self) -> History {
        History {
            sessions: self.sessions.clone(),
            ..History::default()
        }
    }
}
