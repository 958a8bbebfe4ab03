//! The device traits, named by capability: what the shells (daemon, demo,
//! sim, tests) carry the session's and the appliance's actions out on.
//! Each has a real implementation (`speaker::ClipSpeaker` over
//! `speaker::output::OutputHandle`, `gpio::LedIndicator`,
//! `journal::JournalWriter`, `speaker::output::RodioOutput`) and test doubles
//! in `tests/common`. Device code and the shells both import them from here,
//! so neither depends on the other.

use crate::audio::Clip;
use crate::session::{Cue, DeviceKind, JournalEvent, Led, Line, PlaybackId, Priority};
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
    /// Let go of the failed device.
    fn close(&mut self);
    /// Open it again; on success, what was opened (for the log). Runs on
    /// tokio's blocking pool, as `close` does (a device may take its time).
    fn reopen(&mut self) -> Result<String, Self::Error>;
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
