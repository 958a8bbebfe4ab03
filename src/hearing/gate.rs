//! Gating the recogniser on long speech (issue 16, item 4).
//!
//! A command is a short word said on its own. When speech goes on for
//! longer than any command word lasts (a sentence, a conversation, a TV),
//! the decider rejects whatever the recogniser makes of it; decoding it all
//! the same is most of the listener's CPU on continuous speech, and a long
//! utterance grows the decoder's search tables (memory, and the time each
//! partial result takes). [`Gated`] wraps any [`Recognizer`]: it follows
//! the sound level against the room's noise floor and, once a stretch of
//! sound (gaps shorter than [`GateOptions::reopen_quiet_ms`] included) is
//! longer than [`GateOptions::max_speech_ms`], ends the recogniser's
//! utterance and feeds it nothing until the room has been quiet for
//! [`GateOptions::reopen_quiet_ms`]. The floor is the quietest level of
//! the recent past (it follows the level down and rises 3 dB a second): unlike the
//! decider's VAD, whose floor climbs onto the weak sounds of continuous
//! speech within a few seconds, it keeps hearing a long sentence as sound. The cut utterance ends with an empty
//! final result, so the decider drops what it had counted for it; a
//! command fired from partial results before the cut stands.
//!
//! The recogniser's clock counts only the audio it was fed; the gate adds
//! the audio it skipped to the word times of the finals, so that they keep
//! naming places in the stream.

use super::{mean_square, Hypothesis, Recognizer, VoiceError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The least level that can be sound: −60 dBFS (mean square).
const MIN_SOUND: f32 = 1e-6;

/// When the gate closes and opens again.
#[derive(Debug, Clone, PartialEq)]
pub struct GateOptions {
    /// A stretch of speech (as the VAD hears it, its hangover included)
    /// longer than this is not a command: the recogniser stops hearing it.
    pub max_speech_ms: u64,
    /// Quiet that ends a stretch of sound and opens the gate again.
    pub reopen_quiet_ms: u64,
    /// A frame is sound when it is this many dB over the floor.
    pub margin_db: f32,
}

impl Default for GateOptions {
    fn default() -> Self {
        GateOptions {
            max_speech_ms: 1800,
            reopen_quiet_ms: 300,
            margin_db: 9.0,
        }
    }
}

/// A recogniser that hears only stretches of speech short enough to be a
/// command word (see the module docs).
pub struct Gated {
    inner: Box<dyn Recognizer>,
    opts: GateOptions,
    /// The room's noise floor (mean square, full scale 1), and the level
    /// smoothed over a few frames that it follows down.
    floor: f32,
    smooth: f32,
    /// Samples of the current stretch of speech (0 in quiet).
    speech: u64,
    /// Samples of quiet since the gate closed.
    quiet: u64,
    open: bool,
    /// Samples not fed to the recogniser so far.
    skipped: u64,
    /// The same, for whoever watches (see [`Gated::skipped_samples`]).
    watch: Arc<AtomicU64>,
    /// How many times the gate has closed.
    cuts: u64,
    /// The coach's voice may be in the audio (see
    /// [`Recognizer::coach_playing`]).
    coach: bool,
}

impl Gated {
    pub fn new(inner: Box<dyn Recognizer>, opts: GateOptions) -> Gated {
        Gated {
            inner,
            opts,
            floor: 1e-4,
            smooth: 1e-4,
            speech: 0,
            quiet: 0,
            open: true,
            skipped: 0,
            watch: Arc::new(AtomicU64::new(0)),
            cuts: 0,
            coach: false,
        }
    }

    /// How often long speech was cut off, and how much audio (in 16 kHz
    /// samples) the recogniser was spared.
    pub fn stats(&self) -> (u64, u64) {
        (self.cuts, self.skipped)
    }

    /// A counter of the samples the recogniser was spared, readable after
    /// the gate has gone into a pipeline.
    pub fn skipped_samples(&self) -> Arc<AtomicU64> {
        self.watch.clone()
    }

    fn skip(&mut self, n: u64) {
        self.skipped += n;
        self.watch.store(self.skipped, Ordering::Relaxed);
    }

    fn ms(samples: u64) -> u64 {
        samples * 1000 / u64::from(super::RATE)
    }

    /// Word times from the recogniser's clock to the stream's.
    fn shift(&self, h: Hypothesis) -> Hypothesis {
        let ms = Gated::ms(self.skipped);
        match h {
            Hypothesis::Final(mut words) if ms > 0 => {
                for w in &mut words {
                    w.start_ms += ms;
                    w.end_ms += ms;
                }
                Hypothesis::Final(words)
            }
            h => h,
        }
    }
}

impl Recognizer for Gated {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn also_know(&mut self, others: &[String]) -> Result<(), VoiceError> {
        self.inner.also_know(others)
    }

    fn accept(&mut self, pcm: &[i16]) -> Result<Option<Hypothesis>, VoiceError> {
        let n = pcm.len() as u64;
        let energy = mean_square(pcm).max(1e-10);
        // Rises 3 dB a second (in 20 ms frames), falls with the smoothed
        // level; sound is also above −60 dBFS, so that a stretch of
        // near-digital silence (a canceller settling) cannot drop the floor
        // under the room's noise and have that taken for speech.
        self.smooth = 0.6 * self.smooth + 0.4 * energy;
        self.floor = (self.floor * 1.014).min(self.smooth).max(1e-9);
        let sound =
            energy > MIN_SOUND && 10.0 * (energy / self.floor).log10() > self.opts.margin_db;
        if sound {
            self.quiet = 0;
        } else {
            self.quiet += n;
        }
        // A stretch lasts through gaps shorter than the reopening quiet.
        let quiet_ms = Gated::ms(self.quiet);
        if quiet_ms >= self.opts.reopen_quiet_ms {
            self.speech = 0;
        } else {
            self.speech += n;
        }
        let voiced = quiet_ms < self.opts.reopen_quiet_ms;
        if !self.open {
            if Gated::ms(self.quiet) >= self.opts.reopen_quiet_ms {
                self.open = true;
            } else {
                self.skip(n);
                return Ok(None);
            }
        }
        if self.coach {
            self.speech = 0;
        }
        if voiced && Gated::ms(self.speech) > self.opts.max_speech_ms {
            // Too long for a command: end the utterance, drop its words.
            self.open = false;
            self.cuts += 1;
            self.skip(n);
            self.inner.flush()?;
            return Ok(Some(Hypothesis::Final(Vec::new())));
        }
        let h = self.inner.accept(pcm)?;
        Ok(h.map(|h| self.shift(h)))
    }

    fn coach_playing(&mut self, playing: bool) {
        // What is left of the coach's voice would count as one long
        // stretch and shut the user out for the whole phrase: while the
        // coach may be heard, nothing is cut and a closed gate opens.
        self.coach = playing;
        if playing {
            self.speech = 0;
            self.open = true;
        }
        self.inner.coach_playing(playing);
    }

    fn flush(&mut self) -> Result<Option<Hypothesis>, VoiceError> {
        if !self.open {
            return Ok(None);
        }
        let h = self.inner.flush()?;
        Ok(h.map(|h| self.shift(h)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hearing::Word;

    /// Counts the samples it is fed; after each chunk, a partial naming
    /// the count; on flush, a final with one word at the last 100 ms it
    /// was fed.
    #[derive(Default)]
    struct Counts {
        fed: std::sync::Arc<std::sync::atomic::AtomicU64>,
        flushes: u32,
    }

    impl Recognizer for Counts {
        fn name(&self) -> &'static str {
            "counts"
        }
        fn accept(&mut self, pcm: &[i16]) -> Result<Option<Hypothesis>, VoiceError> {
            use std::sync::atomic::Ordering;
            let n = self.fed.fetch_add(pcm.len() as u64, Ordering::Relaxed) + pcm.len() as u64;
            Ok(Some(Hypothesis::Partial(vec![n.to_string()])))
        }
        fn flush(&mut self) -> Result<Option<Hypothesis>, VoiceError> {
            use std::sync::atomic::Ordering;
            self.flushes += 1;
            let end = self.fed.load(Ordering::Relaxed) / 16;
            Ok(Some(Hypothesis::Final(vec![Word {
                text: "stop".into(),
                start_ms: end.saturating_sub(100),
                end_ms: end,
                conf: 1.0,
            }])))
        }
    }

    #[test]
    fn long_speech_is_cut_off_and_short_words_pass() {
        let fed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let inner = Counts {
            fed: fed.clone(),
            flushes: 0,
        };
        let mut g = Gated::new(Box::new(inner), GateOptions::default());
        let frame = |loud: bool, t: usize| -> Vec<i16> {
            (0..320)
                .map(|k| {
                    let a = if loud { 8000.0 } else { 20.0 };
                    (a * ((t * 320 + k) as f32 * 0.11).sin()) as i16
                })
                .collect()
        };
        let mut t = 0;
        let mut run = |g: &mut Gated, loud: bool, frames: usize| -> Vec<Option<Hypothesis>> {
            (0..frames)
                .map(|_| {
                    t += 1;
                    g.accept(&frame(loud, t)).unwrap()
                })
                .collect()
        };
        // 2 s of quiet, a 600 ms word, 1 s of quiet: all of it is heard.
        run(&mut g, false, 100);
        run(&mut g, true, 30);
        run(&mut g, false, 50);
        assert_eq!(fed.load(std::sync::atomic::Ordering::Relaxed), 180 * 320);
        assert_eq!(g.stats(), (0, 0));
        // 5 s of speech: cut once, after 1.8 s, with an empty final.
        let out = run(&mut g, true, 250);
        let cut = out
            .iter()
            .position(|h| matches!(h, Some(Hypothesis::Final(w)) if w.is_empty()))
            .unwrap();
        assert_eq!(cut, 90);
        assert!(out[cut + 1..].iter().all(Option::is_none));
        assert_eq!(g.stats().0, 1);
        // Quiet opens it again; the recogniser missed the rest of the
        // speech and the quiet before the gate opened, and its finals are
        // placed in the stream.
        run(&mut g, false, 20);
        let skipped = g.stats().1;
        assert_eq!(g.skipped_samples().load(Ordering::Relaxed), skipped);
        // (300 ms of quiet: 14 frames skipped, the 15th fed.)
        assert_eq!(skipped, (250 - 90 + 14) * 320);
        let fed_now = fed.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(fed_now + skipped, (180 + 250 + 20) * 320);
        let Some(Hypothesis::Final(words)) = g.flush().unwrap() else {
            panic!("a final")
        };
        assert_eq!(words[0].end_ms, (180 + 250 + 20) * 20);
        // While the coach may be heard, long sound is not cut.
        let cuts = g.stats().0;
        g.coach_playing(true);
        run(&mut g, true, 250);
        assert_eq!(g.stats().0, cuts, "cut while the coach played");
        g.coach_playing(false);
        run(&mut g, true, 100);
        assert_eq!(g.stats().0, cuts + 1, "cut once the coach is silent");
    }
}
