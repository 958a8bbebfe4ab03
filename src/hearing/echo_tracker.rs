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
//!
//! That test also refuses the user who talks over the coach while the
//! canceller is still learning (the first phrases after start): their word
//! rides on the coach's envelope. So the tracker also predicts how loud the
//! coach's leftover should be (the loudest recent playback times the leak
//! it learned over the seconds before) and says how far the residual rises
//! above that: the user's word by 10–30 dB, the coach itself rarely.

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
    /// How far back (sub-frames) played sound can still be heard: the
    /// longest delay plus the room's reverberation.
    reach: usize,
    /// Scratch for the leak's ratios (kept: computed every frame while the
    /// coach plays).
    ratios: Vec<f32>,
}

impl Default for EchoTracker {
    /// An 800 ms window and delays of 0–150 ms (the loudspeaker's
    /// buffering and the sound's way through the room; reverberation smears
    /// the envelope further, which the correlation tolerates). A shorter
    /// window lets the echo before the user's word dominate, so that the
    /// user's frames look like echo (docs/voice.md, "Tuning", measured by
    /// tests/voice_selftrigger.rs).
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
        let reach = max_lag + REVERB;
        EchoTracker {
            playback: VecDeque::with_capacity(window.max(LEAK_SPAN + RECENT) + reach + 1),
            residual: VecDeque::with_capacity(window.max(LEAK_SPAN + RECENT) + 1),
            pend_p: Vec::with_capacity(SUB),
            pend_r: Vec::with_capacity(SUB),
            window,
            min_lag,
            max_lag,
            reach,
            ratios: Vec::with_capacity(LEAK_SPAN),
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
                if self.playback.len() > self.history() + self.reach {
                    self.playback.pop_front();
                }
                if self.residual.len() > self.history() {
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
        let res = &res[res.len() - n..];
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

impl EchoTracker {
    /// Sub-frames of envelope kept: the correlation's window, and what the
    /// leak is learned from.
    fn history(&self) -> usize {
        self.window.max(LEAK_SPAN + RECENT)
    }

    /// How far (dB) the newest 20 ms of the residual rises above the echo
    /// the playback predicts: the loudest playback within the echo's reach
    /// times the leak, what the canceller lets through of it (high in its
    /// range over 1.5 s that ended 0.5 s ago, so that the user's word does
    /// not raise it). The coach alone stays near or below 0 dB however
    /// badly the canceller does, and in whatever rhythm; someone talking
    /// over it rises above. None until enough has been played.
    pub fn excess_db(&mut self) -> Option<f32> {
        let len = self.residual.len();
        if len < LEAK_SPAN + RECENT {
            return None;
        }
        let res = self.residual.make_contiguous();
        let play = self.playback.make_contiguous();
        let offset = play.len() - len;
        // The loudest playback that can be heard at residual step i.
        let heard = |i: usize| -> f32 {
            let at = offset + i;
            play[at.saturating_sub(self.reach)..=at.saturating_sub(self.min_lag)]
                .iter()
                .fold(0f32, |m, v| m.max(*v))
        };
        let learn = len - RECENT - LEAK_SPAN..len - RECENT;
        let ratios = &mut self.ratios;
        ratios.clear();
        ratios.extend(learn.filter_map(|i| {
            let h = heard(i);
            (h > PLAYED_FLOOR).then(|| res[i] / h)
        }));
        if ratios.len() < LEAK_SPAN / 4 {
            return None;
        }
        ratios.sort_unstable_by(f32::total_cmp);
        let leak = ratios[((ratios.len() - 1) as f32 * LEAK_PERCENTILE) as usize];
        let now = len - NOW;
        let residual = (res[now..].iter().map(|v| v * v).sum::<f32>() / NOW as f32).sqrt();
        let predicted = (now..len).map(heard).fold(0f32, f32::max) * leak;
        Some(20.0 * (residual.max(1e-6) / predicted.max(1e-6)).log10())
    }
}

/// Sub-frames (5 ms) of reverberation after the direct echo.
const REVERB: usize = 50;
/// Playback envelope (RMS, full scale 1) below which nothing counts as
/// played (−60 dBFS).
const PLAYED_FLOOR: f32 = 0.001;
/// The leak is learned over this many sub-frames (1.5 s)…
const LEAK_SPAN: usize = 300;
/// …ending this many ago (0.5 s).
const RECENT: usize = 100;
/// The leak is this percentile of residual / heard playback.
const LEAK_PERCENTILE: f32 = 0.8;
/// Sub-frames in "now" (one 20 ms frame).
const NOW: usize = 4;

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
        let play = crate::hearing::syllables(32_000, 1, 8000.0);
        // The playback 60 ms later, quieter.
        let mut echo = vec![0i16; 960];
        echo.extend(play.iter().map(|s| s / 8));
        echo.truncate(play.len());
        let user = crate::hearing::syllables(32_000, 2, 8000.0);
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
        let play = crate::hearing::syllables(12_000, 1, 8000.0);
        let mut t = EchoTracker::default();
        t.push(&play, &play);
        assert_eq!(t.correlation(), 0.0);
        t.push(&play, &play);
        assert!(t.correlation() > 0.99);
    }

    /// Excess over the predicted echo per 20 ms frame, once known.
    fn excess(residual: &[i16], playback: &[i16]) -> Vec<Option<f32>> {
        let mut t = EchoTracker::default();
        residual
            .chunks(320)
            .zip(playback.chunks(320))
            .map(|(r, p)| {
                t.push(r, p);
                t.excess_db()
            })
            .collect()
    }

    #[test]
    fn someone_talking_over_the_coach_rises_above_the_predicted_echo() {
        let play = crate::hearing::syllables(96_000, 1, 8000.0);
        // The room: the playback 60 ms later at a quarter; the canceller
        // still learning, taking off only 10 dB of it.
        let mut echo = vec![0i16; 960];
        echo.extend(play.iter().map(|s| s / 4));
        echo.truncate(play.len());
        let leak = |e: i16| (f32::from(e) * 0.316) as i16;
        let coach: Vec<i16> = echo.iter().map(|e| leak(*e)).collect();
        // The user, as loud at the microphone as the echo, from 4 to 4.5 s.
        let user = crate::hearing::syllables(96_000, 2, 2000.0);
        let said = 64_000..72_000;
        let mut both = coach.clone();
        for i in said.clone() {
            both[i] = both[i].saturating_add(user[i]);
        }
        let frames = |x: &[Option<f32>], r: std::ops::Range<usize>| -> Vec<f32> {
            x[r.start / 320..r.end / 320]
                .iter()
                .flatten()
                .copied()
                .collect()
        };
        let median = |mut v: Vec<f32>| {
            v.sort_by(f32::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(f32::NAN)
        };
        // Once the window is full, the coach alone never looks like someone else.
        let alone = frames(&excess(&coach, &play), 32_000..96_000);
        assert!(alone.len() > 150, "{} frames known", alone.len());
        let top = alone.iter().fold(f32::MIN, |m, v| m.max(*v));
        assert!(top < 6.0, "the coach alone: up to {top:.1} dB");
        // The user does, in the frames where they speak.
        let all = excess(&both, &play);
        let speaking: Vec<f32> = said
            .step_by(320)
            .filter(|&i| rms(&user[i..i + 320]) > 0.03)
            .filter_map(|i| all[i / 320])
            .collect();
        assert!(speaking.len() >= 8, "{speaking:?}");
        assert!(median(speaking.clone()) >= 9.0, "the user: {speaking:?}");
        // Nothing played: nothing to predict.
        assert!(excess(&user, &[0; 96_000]).iter().all(Option::is_none));
    }
}
