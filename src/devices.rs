//! The device traits, named by capability: what the shells (daemon, demo,
//! sim, tests) carry the session's and the appliance's actions out on.
//! Each has a real implementation (`speaker::ClipSpeaker` over
//! `speaker::output::OutputHandle`, `gpio::LedIndicator`,
//! `journal::JournalWriter`, `speaker::output::RodioOutput`) and test doubles
//! in `tests/common`. Device code and the shells both import them from here,
//! so neither depends on the other.

use crate::audio::Clip;
use crate::session::{Cue, DeviceKind, JournalEvent, Led, Line, PlaybackId, Priority};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Something that says phrases and plays cue sounds. When a phrase has been
/// said completely, the implementation sends `Input::PlaybackFinished(id)`.
/// A stopped phrase reports nothing.
pub trait Speaker {
    fn speak(&mut self, id: PlaybackId, line: &Line, priority: Priority);
    fn stop(&mut self);
    fn cue(&mut self, cue: Cue);
}

/// The LED (or whatever shows the coach's state).
pub trait Indicator {
    fn set(&mut self, led: Led);
}

/// Where the session's journal events go.
pub trait Journal {
    fn record(&mut self, at: Duration, event: &JournalEvent);

    /// Whether writing started or stopped failing since the last call:
    /// `Some(true)` it fails now (read-only or full disk, …), `Some(false)` it
    /// works again, `None` no change. The loop polls this and tells the
    /// session ([`DeviceKind::Journal`]), which shows it on the LED and goes
    /// on coaching.
    fn failing_changed(&mut self) -> Option<bool> {
        None
    }
}

/// Where clips are played. `when` is the moment the session asked: a sink
/// places every phrase at the same delay after it, so spacing is exact.
pub trait ClipSink: Clone + Send + Sync + 'static {
    /// The rate clips should come at: the open stream's, which a reopened
    /// device may change. A clip at another rate is resampled by `play` on
    /// the caller's thread, so callers that play a clip often hold it at
    /// this rate.
    fn rate(&self) -> u32;
    fn play(&self, id: PlaybackId, clip: Clip, priority: Priority, when: Instant);
    /// Play a cue's tone (a clip, like a phrase's; see [`ClipSink::play`]).
    fn cue(&self, tone: Clip, when: Instant);
    fn stop(&self);
}

/// A sound device the shell keeps open. It may fail while in use (a USB
/// speaker unplugged mid-session); [`crate::session_loop::keep_open`] then lets go of it and
/// opens it again until that works. The speaker's real one is
/// `speaker::output::RodioOutput`; tests use doubles that inject the faults.
pub trait Reopen: Send + 'static {
    type Error: std::fmt::Display;
    /// Which device this is, for the session.
    fn kind(&self) -> DeviceKind;
    /// Whether the open device has failed. Cheap: the audio thread only
    /// sets a flag, and this reads it.
    fn failed(&self) -> bool;
    /// Let go of the device: it failed, or it goes into standby.
    fn close(&mut self);
    /// Open it again; on success, what was opened (for the log). Runs on
    /// tokio's blocking pool, as `close` does (a device may take its time).
    /// What waited to be played on the failed device is dropped.
    fn reopen(&mut self) -> Result<String, Self::Error>;
    /// The device's [`Standby`], if it may be let go of while it has
    /// nothing to do. None (the default): it stays open.
    fn standby(&self) -> Option<Arc<Standby>> {
        None
    }
    /// Open it again after standby, keeping what was queued for it
    /// meanwhile (the phrase that woke it). Runs on the blocking pool.
    fn wake(&mut self) -> Result<String, Self::Error> {
        self.reopen()
    }
}

/// When a sound device may be let go of while nothing uses it: an open
/// output stream renders silence in its callback all day long, which is
/// most of an idle coach's CPU (docs/web.md, "What the page costs").
/// Shared by the device, which says when it last had something to do and
/// counts what it was asked and what it took; the shell, which allows
/// standby only while no session runs; and
/// [`crate::session_loop::keep_open`], which closes the device when
/// [`Standby::due`] and opens it again when it is wanted. Lock-free: the
/// audio thread calls [`Standby::took`].
#[derive(Debug)]
pub struct Standby {
    after: Duration,
    epoch: Instant,
    /// When the device last had something to do: milliseconds after `epoch`.
    busy_at: AtomicU64,
    /// Commands queued for the device, and commands it took from its queue.
    asked: AtomicU64,
    taken: AtomicU64,
    allowed: AtomicBool,
    asleep: AtomicBool,
    wake: tokio::sync::Notify,
}

impl Standby {
    /// Standby after `after` with nothing to do; `Duration::ZERO` never.
    /// Not allowed until the shell says so ([`Standby::allow`]).
    pub fn new(after: Duration, now: Instant) -> Arc<Standby> {
        Arc::new(Standby {
            after,
            epoch: now,
            busy_at: AtomicU64::new(0),
            asked: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            allowed: AtomicBool::new(false),
            asleep: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
        })
    }

    fn millis(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// The device's side, after each block: it took `commands` from its
    /// queue, and had something to do (`busy`: sound playing or waiting
    /// to). A command taken counts as something to do.
    pub fn took(&self, now: Instant, commands: u64, busy: bool) {
        if busy || commands > 0 {
            self.busy_at.store(self.millis(now), Ordering::Release);
        }
        if commands > 0 {
            // After `busy_at`: whoever sees every command taken sees the
            // time they were taken too.
            self.taken.fetch_add(commands, Ordering::AcqRel);
        }
    }

    /// The sender's side: a command was queued for the device. Wakes it if
    /// it is in standby.
    pub fn asked(&self) {
        self.asked.fetch_add(1, Ordering::AcqRel);
        self.wake.notify_waiters();
    }

    /// [`crate::session_loop::keep_open`] opened the device at `now`: the
    /// wait for standby starts afresh.
    pub fn opened(&self, now: Instant) {
        self.busy_at.fetch_max(self.millis(now), Ordering::AcqRel);
    }

    /// The device's side, reopened after a loss: what was queued for the
    /// lost stream is dropped, so it counts as taken.
    pub fn forget_queued(&self) {
        self.taken
            .fetch_max(self.asked.load(Ordering::Acquire), Ordering::AcqRel);
    }

    /// The shell's side: whether standby is allowed now (not while a
    /// session runs, so a long rest or a pause never waits for the device
    /// to open). Forbidding it wakes a device in standby; allowing it at
    /// `now` starts the wait for standby afresh.
    pub fn allow(&self, allowed: bool, now: Instant) {
        if self.allowed.load(Ordering::Acquire) == allowed {
            return;
        }
        if allowed {
            self.opened(now);
        }
        self.allowed.store(allowed, Ordering::Release);
        if !allowed {
            self.wake.notify_waiters();
        }
    }

    /// Commands queued so far: read it before [`Standby::due`], and compare
    /// after closing, to catch one queued in between.
    pub fn asked_count(&self) -> u64 {
        self.asked.load(Ordering::Acquire)
    }

    /// Whether the device should go into standby now: allowed, every
    /// command queued up to `asked` taken, and nothing to do for `after`.
    pub fn due(&self, now: Instant, asked: u64) -> bool {
        !self.after.is_zero()
            && self.allowed.load(Ordering::Acquire)
            && self.taken.load(Ordering::Acquire) >= asked
            && self
                .millis(now)
                .saturating_sub(self.busy_at.load(Ordering::Acquire))
                >= u64::try_from(self.after.as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the device, in standby since `asked` commands were queued,
    /// is wanted again: something was queued since, or standby is no
    /// longer allowed.
    pub fn wanted(&self, asked: u64) -> bool {
        self.asked_count() != asked || !self.allowed.load(Ordering::Acquire)
    }

    /// Wait until [`Standby::wanted`] may have changed.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.notified()
    }

    /// Whether the device is in standby now.
    pub fn asleep(&self) -> bool {
        self.asleep.load(Ordering::Acquire)
    }

    /// Set by [`crate::session_loop::keep_open`] as it closes and reopens.
    pub fn set_asleep(&self, asleep: bool) {
        self.asleep.store(asleep, Ordering::Release);
    }
}

/// The memory of one device being tried again and again: each different
/// error is told once, not at every try. The one retry mechanism of the
/// speaker's start-up, [`crate::session_loop::keep_open`] and the microphone's listener.
#[derive(Debug, Default)]
pub struct Retrying {
    last: Option<String>,
}

impl Retrying {
    /// A try failed with `error`: the error when it is new (tell it), None
    /// when it was told already.
    pub fn failed<'e>(&mut self, error: &'e str) -> Option<&'e str> {
        if self.last.as_deref() == Some(error) {
            return None;
        }
        self.last = Some(error.to_string());
        Some(error)
    }

    /// It works (again): the next failure is told whatever it is.
    pub fn succeeded(&mut self) {
        self.last = None;
    }
}
