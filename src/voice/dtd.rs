//! Is what the echo canceller left the coach's voice or the user's?
//!
//! An adaptive echo canceller needs time to learn the room: at the start,
//! after the room changes (someone moves, a door opens) or after it resets
//! itself, its output still carries the coach's voice almost unchanged, and
//! an energy test ("did the canceller remove most of it?") takes that for
//! the user talking. What it leaves of the coach is still a filtered copy of
//! what was played, so its loudness rises and falls with the playback a few
//! tens of milliseconds later; the user's voice does not. This tracker
//! measures that: the correlation between the residual's amplitude envelope
//! and the playback's, at the best delay within the echo's reach. It needs
//! no converged filter, so it holds exactly when the canceller does not.

use std::collections::VecDeque;

/// Envelope resolution: 5 ms at 16 kHz.
const SUB: usize = 80;

/// Correlation of the residual's envelope with the playback's envelope.
#[derive(Debug, Clone)]
pub struct EchoTracker {
    /// Playback and residual amplitude (RMS) per 5 ms, newest last.
    playback: VecDeque<f32>,
    residual: VecDeque<f32>,
    /// Partial sub-frames not yet complete.
    pend_p: Vec<i16>,
    pend_r: Vec<i16>,
    /// Sub-frames compared.
    window: usize,
    /// Delays tried, in sub-frames.
    min_lag: usize,
    max_lag: usize,
}

impl Default for EchoTracker {
    /// An 800 ms window and delays of 0–150 ms (the loudspeaker's
    /// buffering and the sound's way through the room; reverberation smears
    /// the envelope further, which the correlation tolerates). Measured on
    /// the content through simulated rooms (tests/voice_selftrigger.rs):
    /// shorter windows let the echo before the user's word dominate, so
    /// the user's frames looked like echo (400 ms: median 0.47, 95th
    /// percentile 0.87); at 800 ms the user's frames stay below about 0.5
    /// and what an unconverged canceller leaves of the coach mostly above.
    fn default() -> Self {
        EchoTracker::new(160, 0, 30)
    }
}

fn rms(x: &[i16]) -> f32 {
    super::mean_square(x).sqrt()
}

impl EchoTracker {
    /// `window`, `min_lag` and `max_lag` in 5 ms steps.
    pub fn new(window: usize, min_lag: usize, max_lag: usize) -> EchoTracker {
        let max_lag = max_lag.max(min_lag);
        let window = window.max(2);
        EchoTracker {
            playback: VecDeque::with_capacity(window + max_lag + 1),
            residual: VecDeque::with_capacity(window + 1),
            pend_p: Vec::with_capacity(SUB),
            pend_r: Vec::with_capacity(SUB),
            window,
            min_lag,
            max_lag,
        }
    }

    /// Feed the canceller's output and the playback it was given (the same
    /// length; 16 kHz).
    pub fn push(&mut self, residual: &[i16], playback: &[i16]) {
        for (r, p) in residual.iter().zip(playback) {
            self.pend_r.push(*r);
            self.pend_p.push(*p);
            if self.pend_r.len() == SUB {
                self.playback.push_back(rms(&self.pend_p));
                self.residual.push_back(rms(&self.pend_r));
                self.pend_p.clear();
                self.pend_r.clear();
                if self.playback.len() > self.window + self.max_lag {
                    self.playback.pop_front();
                }
                if self.residual.len() > self.window {
                    self.residual.pop_front();
                }
            }
        }
    }

    /// The highest correlation (−1..=1) over the delays; 0 until the window
    /// is full, or when either envelope is flat (nothing played, or nothing
    /// left).
    pub fn correlation(&mut self) -> f32 {
        let n = self.window;
        if self.residual.len() < n {
            return 0.0;
        }
        let res = self.residual.make_contiguous();
        let Some((r_mean, r_norm)) = spread(res) else {
            return 0.0;
        };
        let play = self.playback.make_contiguous();
        let mut best = 0f64;
        for lag in self.min_lag..=self.max_lag {
            // The playback `lag` steps before each residual step.
            let Some(start) = play.len().checked_sub(lag + n) else {
                break;
            };
            let p = &play[start..start + n];
            let Some((p_mean, p_norm)) = spread(p) else {
                continue;
            };
            let dot: f64 = res
                .iter()
                .zip(p)
                .map(|(a, b)| (f64::from(*a) - r_mean) * (f64::from(*b) - p_mean))
                .sum();
            best = best.max(dot / (r_norm * p_norm));
        }
        best as f32
    }
}

/// Mean and the length of `x` minus its mean (None: no variation).
fn spread(x: &[f32]) -> Option<(f64, f64)> {
    let mean = x.iter().map(|v| f64::from(*v)).sum::<f64>() / x.len().max(1) as f64;
    let norm = x
        .iter()
        .map(|v| (f64::from(*v) - mean).powi(2))
        .sum::<f64>()
        .sqrt();
    (norm > 1e-9).then_some((mean, norm))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(residual: &[i16], playback: &[i16]) -> f32 {
        let mut t = EchoTracker::default();
        let mut last = 0.0;
        for (r, p) in residual.chunks(320).zip(playback.chunks(320)) {
            t.push(r, p);
            last = t.correlation();
        }
        last
    }

    #[test]
    fn a_delayed_copy_of_the_playback_is_echo_and_another_voice_is_not() {
        let play = crate::voice::syllables(32_000, 1, 8000.0);
        // The playback 60 ms later, quieter.
        let mut echo = vec![0i16; 960];
        echo.extend(play.iter().map(|s| s / 8));
        echo.truncate(play.len());
        let user = crate::voice::syllables(32_000, 2, 8000.0);
        let cases: [(&str, &[i16], bool); 3] = [
            ("delayed echo", &echo, true),
            ("another voice", &user, false),
            ("silence", &[0; 32_000], false),
        ];
        for (name, residual, echo_like) in cases {
            let c = run(residual, &play);
            assert_eq!(c > 0.6, echo_like, "{name}: correlation {c}");
        }
    }

    #[test]
    fn nothing_is_echo_until_the_window_is_full() {
        let play = crate::voice::syllables(12_000, 1, 8000.0);
        let mut t = EchoTracker::default();
        t.push(&play, &play);
        assert_eq!(t.correlation(), 0.0);
        t.push(&play, &play);
        assert!(t.correlation() > 0.99);
    }
}
