//! Rendering a whole session to audio in virtual time, sample-accurately:
//! the session's own clock drives the same mixer that plays live, and each
//! phrase ends exactly where its clip ends. `matcoach render-session` writes
//! the result as a WAV file.

use crate::audio::{cues, mixer::MixEvent, mixer::Mixer, resample, Clip};
use crate::session::{Action, Line, PlaybackId, Session};
use crate::sim::{self, Record, ScriptedEvent, VirtualSpeaker};
use crate::speech::SpeechError;
use std::collections::VecDeque;
use std::time::Duration;

/// Sample index of a virtual time.
pub fn sample_at(t: Duration, rate: u32) -> u64 {
    ((t.as_nanos() * u128::from(rate) + 500_000_000) / 1_000_000_000) as u64
}

/// Virtual time of a sample index.
pub fn time_at(sample: u64, rate: u32) -> Duration {
    Duration::from_nanos((u128::from(sample) * 1_000_000_000 / u128::from(rate.max(1))) as u64)
}

/// A virtual speaker that mixes real clips into a buffer.
pub struct MixerSpeaker<'a> {
    mixer: Mixer,
    clips: &'a mut dyn FnMut(&Line) -> Result<Clip, SpeechError>,
    out: Vec<f32>,
    finished: VecDeque<(u64, PlaybackId)>,
    error: Option<SpeechError>,
}

impl<'a> MixerSpeaker<'a> {
    pub fn new(
        rate: u32,
        volume: f32,
        clips: &'a mut dyn FnMut(&Line) -> Result<Clip, SpeechError>,
    ) -> Self {
        MixerSpeaker {
            mixer: Mixer::new(rate, volume),
            clips,
            out: Vec::new(),
            finished: VecDeque::new(),
            error: None,
        }
    }

    fn render_to(&mut self, sample: u64) {
        let pos = self.mixer.pos();
        if sample > pos {
            let start = self.out.len();
            self.out.resize(start + (sample - pos) as usize, 0.0);
            self.mixer.render(&mut self.out[start..]);
        }
        self.collect();
    }

    fn collect(&mut self) {
        for e in self.mixer.take_events() {
            if let MixEvent::Finished { id, at } = e {
                self.finished.push_back((at, id));
            }
        }
    }

    /// Let the last words finish, add `tail` of silence, and return the
    /// audio — or the first phrase that could not be rendered.
    pub fn finish(mut self, tail: Duration) -> Result<Vec<f32>, SpeechError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let rate = self.mixer.rate();
        // Everything still sounding, in steps of 0.1 s (bounded: an hour).
        for _ in 0..36_000 {
            if !self.mixer.is_busy() {
                break;
            }
            let next = self.mixer.pos() + u64::from(rate / 10);
            self.render_to(next);
        }
        let end = self.mixer.pos() + sample_at(tail, rate);
        self.render_to(end);
        Ok(self.out)
    }
}

impl VirtualSpeaker for MixerSpeaker<'_> {
    fn act(&mut self, now: Duration, action: &Action) {
        let at = sample_at(now, self.mixer.rate());
        self.render_to(at);
        match action {
            Action::Speak { id, line, priority } => match (self.clips)(line) {
                Ok(clip) => {
                    let clip = resample::to_rate(&clip, self.mixer.rate());
                    self.mixer.speak(*id, clip, *priority, at)
                }
                Err(e) => {
                    // Keep going so the timeline stays whole; report at the end.
                    self.error.get_or_insert(e);
                    self.finished.push_back((at, *id));
                }
            },
            Action::StopSpeech => self.mixer.stop(),
            Action::Cue(c) => {
                let clip = resample::to_rate(&cues::tone(*c), self.mixer.rate());
                self.mixer.cue(clip, at)
            }
            _ => {}
        }
        self.collect();
    }

    fn next_finished(&self) -> Option<(Duration, PlaybackId)> {
        let rate = self.mixer.rate();
        let queued = self.finished.front().copied();
        let current = self.mixer.current_finish().map(|(id, at)| (at, id));
        let next = match (queued, current) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        next.map(|(at, id)| (time_at(at, rate), id))
    }

    fn advance(&mut self, t: Duration, take: bool) -> Option<PlaybackId> {
        let at = sample_at(t, self.mixer.rate());
        self.render_to(at);
        if !take {
            return None;
        }
        let i = self
            .finished
            .iter()
            .enumerate()
            .filter(|(_, (s, _))| *s <= at)
            .min_by_key(|(_, (s, _))| *s)
            .map(|(i, _)| i)?;
        self.finished.remove(i).map(|(_, id)| id)
    }
}

/// What a rendered session is: its audio, at `rate`, and what happened.
pub struct Rendered {
    pub rate: u32,
    pub samples: Vec<f32>,
    pub records: Vec<Record>,
}

/// Render `session` with `events` into audio. `clips` gives each line's
/// clip (the speech cache in the CLI; anything in tests).
pub fn render_session(
    session: &mut Session,
    events: &[ScriptedEvent],
    rate: u32,
    volume: f32,
    clips: &mut dyn FnMut(&Line) -> Result<Clip, SpeechError>,
) -> Result<Rendered, SpeechError> {
    let mut speaker = MixerSpeaker::new(rate, volume, clips);
    let records = sim::run_with(session, events, Duration::from_secs(6 * 3600), &mut speaker);
    let samples = speaker.finish(Duration::from_millis(800))?;
    Ok(Rendered {
        rate,
        samples,
        records,
    })
}

impl Rendered {
    /// As a clip (16-bit), e.g. to write a WAV file.
    pub fn to_clip(&self) -> Clip {
        Clip::new(self.rate, crate::audio::analysis::to_i16(&self.samples))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_and_time_round_trip() {
        for rate in [8000, 22050, 44100, 48000] {
            for s in [0u64, 1, 22049, 22050, 1_000_003, 99_999_999] {
                assert_eq!(sample_at(time_at(s, rate), rate), s, "{rate} {s}");
            }
        }
        assert_eq!(sample_at(Duration::from_secs(1), 22050), 22050);
    }
}
