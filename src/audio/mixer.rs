//! The mixer: one speech channel plus cue tones, rendered sample by sample.
//!
//! It is pure and deterministic — no clock, no device — so the same code
//! plays live (inside the output stream) and renders a session to a file,
//! sample-accurately. Clips arrive at the mixer's rate (the side that hands
//! them over brings them there with `audio::resample`, off the real-time
//! thread), so the mixer only copies and adds samples.
//!
//! **Priority policy** (nothing is spoken over something else):
//! - a *safety* line cuts off anything but another safety line, and clears
//!   the queue; a second safety line waits for the first;
//! - an *instruction* waits its turn: it never cuts anything off;
//! - a *count* starts at once when the voice is free or only counting (a
//!   newer count replaces an older one); it is dropped, reported as finished,
//!   when an instruction or safety line is speaking — a count never cuts off
//!   an instruction.

use super::Clip;
use crate::session::{PlaybackId, Priority};
use std::collections::VecDeque;

/// What the mixer reports, with the sample at which it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixEvent {
    /// The phrase's first sample was played.
    Started { id: PlaybackId, at: u64 },
    /// The phrase was said to its end, or dropped/cut by the policy.
    Finished { id: PlaybackId, at: u64 },
}

#[derive(Debug, Clone)]
struct Playing {
    id: PlaybackId,
    clip: Clip,
    priority: Priority,
    /// The output sample at which it starts (may be ahead of `pos`).
    start: u64,
    /// The next of the clip's samples to play.
    next: usize,
    started: bool,
}

impl Playing {
    fn new(id: PlaybackId, clip: Clip, priority: Priority, start: u64) -> Playing {
        Playing {
            id,
            clip,
            priority,
            start,
            next: 0,
            started: false,
        }
    }

    /// The output samples it still needs from `start`.
    fn remaining(&self) -> u64 {
        self.clip.len().saturating_sub(self.next) as u64
    }

    /// The next sample (−1..1) and whether the clip is now done.
    fn next(&mut self) -> (f32, bool) {
        let Some(s) = self.clip.samples.get(self.next) else {
            return (0.0, true);
        };
        self.next += 1;
        (f32::from(*s) / 32768.0, self.next >= self.clip.len())
    }
}

#[derive(Debug)]
pub struct Mixer {
    rate: u32,
    pos: u64,
    volume: f32,
    voice: Option<Playing>,
    queue: VecDeque<Playing>,
    cues: Vec<Playing>,
    events: Vec<MixEvent>,
    /// Where finished clips go, so that the audio thread never frees one
    /// (issue 15, item 5): the other end drops them off the real-time
    /// thread. None (offline rendering): dropped here.
    retired: Option<rtrb::Producer<Clip>>,
}

/// Room reserved up front, so that the real-time thread does not allocate
/// in the common case.
const RESERVE: usize = 64;

impl Mixer {
    pub fn new(rate: u32, volume: f32) -> Mixer {
        Mixer {
            rate: rate.max(1),
            pos: 0,
            volume: volume.clamp(0.0, 1.0),
            voice: None,
            queue: VecDeque::with_capacity(RESERVE),
            cues: Vec::with_capacity(RESERVE),
            events: Vec::with_capacity(RESERVE),
            retired: None,
        }
    }

    /// Hand finished clips to `to` instead of dropping them.
    pub fn hand_back(&mut self, to: rtrb::Producer<Clip>) {
        self.retired = Some(to);
    }

    /// A voice is done with: its clip goes back (if the ring is full, it is
    /// dropped here after all; the ring is sized so that it is not).
    fn retire(&mut self, v: Playing) {
        if let Some(r) = self.retired.as_mut() {
            let _ = r.push(v.clip);
        }
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// The next sample to be rendered.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    pub fn set_volume(&mut self, volume: f32) {
        self.volume = volume.clamp(0.0, 1.0);
    }

    /// Whether a phrase is speaking or waiting.
    pub fn is_speaking(&self) -> bool {
        self.voice.is_some() || !self.queue.is_empty()
    }

    /// Whether anything at all is still to be heard (speech or a cue).
    pub fn is_busy(&self) -> bool {
        self.is_speaking() || !self.cues.is_empty()
    }

    /// Say `clip` (at the mixer's rate), not before output sample `at`,
    /// under the priority policy.
    pub fn speak(&mut self, id: PlaybackId, clip: Clip, priority: Priority, at: u64) {
        let at = at.max(self.pos);
        let new = Playing::new(id, clip, priority, at);
        let current = self.voice.as_ref().map(|v| v.priority);
        match (priority, current) {
            (_, None) => self.voice = Some(new),
            (Priority::Safety, Some(Priority::Safety)) => {
                for _ in 0..self.queue.len() {
                    if let Some(q) = self.queue.pop_front() {
                        if q.priority == Priority::Safety {
                            self.queue.push_back(q);
                        } else {
                            self.retire(q);
                        }
                    }
                }
                self.queue.push_back(new);
            }
            (Priority::Safety, Some(_)) => {
                self.cut_current();
                while let Some(q) = self.queue.pop_front() {
                    self.events.push(MixEvent::Finished {
                        id: q.id,
                        at: self.pos,
                    });
                    self.retire(q);
                }
                self.voice = Some(new);
            }
            (Priority::Instruction, Some(_)) => self.queue.push_back(new),
            (Priority::Count, Some(Priority::Count)) => {
                self.cut_current();
                self.voice = Some(new);
            }
            (Priority::Count, Some(_)) => {
                self.events.push(MixEvent::Finished { id, at: self.pos });
                self.retire(new);
            }
        }
    }

    fn cut_current(&mut self) {
        if let Some(v) = self.voice.take() {
            self.events.push(MixEvent::Finished {
                id: v.id,
                at: self.pos,
            });
            self.retire(v);
        }
    }

    /// Silence all speech at once. Stopped phrases report nothing.
    pub fn stop(&mut self) {
        if let Some(v) = self.voice.take() {
            self.retire(v);
        }
        while let Some(q) = self.queue.pop_front() {
            self.retire(q);
        }
    }

    /// Play a cue tone (at the mixer's rate) on top of the speech, not
    /// before `at`.
    pub fn cue(&mut self, clip: Clip, at: u64) {
        let at = at.max(self.pos);
        self.cues
            .push(Playing::new(PlaybackId(0), clip, Priority::Count, at));
    }

    /// When the speaking phrase will have finished (the sample after its
    /// last), if one is speaking.
    pub fn current_finish(&self) -> Option<(PlaybackId, u64)> {
        self.voice
            .as_ref()
            .map(|v| (v.id, v.start.max(self.pos) + v.remaining()))
    }

    /// Events since the last call, in order.
    pub fn take_events(&mut self) -> Vec<MixEvent> {
        std::mem::take(&mut self.events)
    }

    /// The same, keeping the buffer (for the real-time thread: nothing is
    /// freed or allocated).
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, MixEvent> {
        self.events.drain(..)
    }

    /// The earliest event already recorded (a dropped or cut phrase).
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Render the next `out.len()` samples (mono, −1..1).
    pub fn render(&mut self, out: &mut [f32]) {
        for slot in out.iter_mut() {
            let mut s = 0.0f32;
            if self.voice.is_none() {
                if let Some(mut next) = self.queue.pop_front() {
                    next.start = next.start.max(self.pos);
                    self.voice = Some(next);
                }
            }
            let mut done = None;
            if let Some(v) = self.voice.as_mut() {
                if self.pos >= v.start {
                    if !v.started {
                        v.started = true;
                        self.events.push(MixEvent::Started {
                            id: v.id,
                            at: self.pos,
                        });
                    }
                    let (x, finished) = v.next();
                    s += x;
                    if finished {
                        done = Some(v.id);
                    }
                }
            }
            if let Some(id) = done {
                if let Some(v) = self.voice.take() {
                    self.retire(v);
                }
                self.events.push(MixEvent::Finished {
                    id,
                    at: self.pos + 1,
                });
            }
            let pos = self.pos;
            let mut i = 0;
            while i < self.cues.len() {
                let c = &mut self.cues[i];
                if pos < c.start {
                    i += 1;
                    continue;
                }
                let (x, finished) = c.next();
                s += x;
                if finished {
                    let c = self.cues.swap_remove(i);
                    self.retire(c);
                } else {
                    i += 1;
                }
            }
            *slot = (s * self.volume).clamp(-1.0, 1.0);
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn clip(len: usize, value: i16) -> Clip {
        Clip::new(1000, vec![value; len])
    }

    fn run(m: &mut Mixer, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; n];
        m.render(&mut out);
        out
    }

    fn finished(events: &[MixEvent]) -> Vec<(u64, u64)> {
        events
            .iter()
            .filter_map(|e| match e {
                MixEvent::Finished { id, at } => Some((id.0, *at)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn finished_cut_dropped_and_stopped_clips_go_back_never_freed_here() {
        // (what happens to the phrase, clips handed back)
        type Act = fn(&mut Mixer, &Clip);
        let rows: [(&str, Act, usize); 5] = [
            (
                "said to its end",
                |m, c| {
                    m.speak(PlaybackId(1), c.clone(), Priority::Instruction, 0);
                    run(m, 20);
                },
                1,
            ),
            (
                "cut by a newer count",
                |m, c| {
                    m.speak(PlaybackId(1), c.clone(), Priority::Count, 0);
                    m.speak(PlaybackId(2), c.clone(), Priority::Count, 0);
                    run(m, 20);
                },
                2,
            ),
            (
                "a count dropped under an instruction",
                |m, c| {
                    m.speak(PlaybackId(1), c.clone(), Priority::Instruction, 0);
                    m.speak(PlaybackId(2), c.clone(), Priority::Count, 0);
                },
                1,
            ),
            (
                "stopped with one waiting",
                |m, c| {
                    m.speak(PlaybackId(1), c.clone(), Priority::Instruction, 0);
                    m.speak(PlaybackId(2), c.clone(), Priority::Instruction, 0);
                    m.stop();
                },
                2,
            ),
            (
                "a cue that ended",
                |m, c| {
                    m.cue(c.clone(), 0);
                    run(m, 20);
                },
                1,
            ),
        ];
        for (what, act, back) in rows {
            let (tx, mut rx) = rtrb::RingBuffer::new(8);
            let mut m = Mixer::new(1000, 1.0);
            m.hand_back(tx);
            let c = clip(10, 1000);
            act(&mut m, &c);
            let mut got = 0;
            while let Ok(returned) = rx.pop() {
                assert!(Arc::ptr_eq(&returned.samples, &c.samples), "{what}");
                got += 1;
            }
            assert_eq!(got, back, "{what}");
        }
    }

    #[test]
    fn plays_a_clip_at_its_sample_and_reports_the_end() {
        let mut m = Mixer::new(1000, 1.0);
        m.speak(PlaybackId(1), clip(10, 16384), Priority::Instruction, 5);
        assert_eq!(m.current_finish(), Some((PlaybackId(1), 15)));
        let out = run(&mut m, 20);
        assert!(out[..5].iter().all(|s| *s == 0.0));
        assert!(out[5..15].iter().all(|s| (*s - 0.5).abs() < 1e-3));
        assert!(out[15..].iter().all(|s| *s == 0.0));
        let ev = m.take_events();
        assert_eq!(
            ev[0],
            MixEvent::Started {
                id: PlaybackId(1),
                at: 5
            }
        );
        assert_eq!(finished(&ev), vec![(1, 15)]);
    }

    #[test]
    fn instructions_queue_and_never_overlap() {
        let mut m = Mixer::new(1000, 1.0);
        m.speak(PlaybackId(1), clip(10, 1000), Priority::Instruction, 0);
        m.speak(PlaybackId(2), clip(10, 2000), Priority::Instruction, 0);
        run(&mut m, 30);
        assert_eq!(finished(&m.take_events()), vec![(1, 10), (2, 20)]);
    }

    #[test]
    fn the_priority_policy() {
        // (current, new) → finished events right after the call, who speaks.
        let cases = [
            (Priority::Instruction, Priority::Count, vec![(2, 3)], 1),
            (Priority::Count, Priority::Count, vec![(1, 3)], 2),
            (Priority::Count, Priority::Instruction, vec![], 1),
            (Priority::Instruction, Priority::Safety, vec![(1, 3)], 2),
            (Priority::Safety, Priority::Safety, vec![], 1),
            (Priority::Safety, Priority::Count, vec![(2, 3)], 1),
        ];
        for (current, new, events, speaking) in cases {
            let mut m = Mixer::new(1000, 1.0);
            m.speak(PlaybackId(1), clip(100, 1000), current, 0);
            run(&mut m, 3);
            m.take_events();
            m.speak(PlaybackId(2), clip(100, 1000), new, 3);
            assert_eq!(
                finished(&m.take_events()),
                events,
                "{current:?} then {new:?}"
            );
            assert_eq!(
                m.current_finish().map(|f| f.0 .0),
                Some(speaking),
                "{current:?} then {new:?}"
            );
        }
    }

    #[test]
    fn stop_silences_at_once_and_reports_nothing() {
        let mut m = Mixer::new(1000, 1.0);
        m.speak(PlaybackId(1), clip(100, 10000), Priority::Instruction, 0);
        m.speak(PlaybackId(2), clip(100, 10000), Priority::Instruction, 0);
        run(&mut m, 10);
        m.stop();
        let out = run(&mut m, 10);
        assert!(out.iter().all(|s| *s == 0.0));
        assert!(finished(&m.take_events()).is_empty());
        assert!(!m.is_speaking());
    }

    #[test]
    fn a_clip_brought_to_the_output_rate_ends_on_time() {
        let mut m = Mixer::new(2000, 1.0);
        let clip = crate::audio::resample::to_rate(&clip(100, 1000), m.rate());
        m.speak(PlaybackId(1), clip, Priority::Instruction, 0);
        assert_eq!(m.current_finish(), Some((PlaybackId(1), 200)));
        run(&mut m, 300);
        assert_eq!(finished(&m.take_events()), vec![(1, 200)]);
    }

    #[test]
    fn cues_mix_on_top_and_volume_scales() {
        let mut m = Mixer::new(1000, 0.5);
        m.speak(PlaybackId(1), clip(10, 8192), Priority::Instruction, 0);
        m.cue(clip(5, 8192), 2);
        let out = run(&mut m, 10);
        assert!((out[0] - 0.125).abs() < 1e-3);
        assert!((out[3] - 0.25).abs() < 1e-3);
        assert!((out[8] - 0.125).abs() < 1e-3);
    }
}
