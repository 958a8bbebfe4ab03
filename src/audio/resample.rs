//! The project's one resampler, for every rate change: the microphone's
//! (any device rate to the recogniser's 16 kHz, streaming) and the
//! speaker's (a clip at its own rate, say espeak-ng's 22050 Hz, brought to
//! the output stream's rate when it is handed over, off the real-time
//! thread). A windowed-sinc low-pass (so 44.1/48 kHz input does not alias
//! into the speech band) with fractional-position interpolation; output
//! sample `n` is the input's time `n / to` seconds.
//!
//! Hand-written, not `rubato`: with rubato's FFT resampler in the capture
//! path the echo canceller's barge-in test and the Vosk voice check heard
//! fewer words (docs/sound.md, "Resampling").

/// Streaming resampler to a fixed output rate. Feed any chunk sizes.
#[derive(Debug, Clone)]
pub struct Resampler {
    step: f64,
    /// Position of the next output sample, in input samples, relative to
    /// the start of `history`.
    pos: f64,
    history: Vec<f32>,
    taps: Vec<f32>,
    half: usize,
}

impl Resampler {
    pub fn new(from: u32, to: u32) -> Resampler {
        let from = from.max(1);
        let to = to.max(1);
        let ratio = f64::from(to) / f64::from(from);
        // Cut-off just below the lower Nyquist frequency.
        let cutoff = 0.45 * ratio.min(1.0);
        let half = if ratio < 1.0 { 24 } else { 8 };
        let taps = (0..=2 * half)
            .map(|i| {
                let x = i as f64 - half as f64;
                let sinc = if x == 0.0 {
                    2.0 * cutoff
                } else {
                    (2.0 * std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * x)
                };
                let w =
                    0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (2 * half) as f64).cos();
                (sinc * w) as f32
            })
            .collect::<Vec<f32>>();
        let gain: f32 = taps.iter().sum();
        let taps = taps.into_iter().map(|t| t / gain).collect();
        Resampler {
            step: 1.0 / ratio,
            pos: half as f64,
            history: vec![0.0; half],
            taps,
            half,
        }
    }

    /// Resample `input` (mono, −1..1), appending to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.history.extend_from_slice(input);
        while self.pos + (self.half as f64) + 1.0 < self.history.len() as f64 {
            let i = self.pos.floor() as usize;
            let frac = (self.pos - i as f64) as f32;
            let at = |j: usize| -> f32 {
                let start = j - self.half;
                self.history[start..=start + 2 * self.half]
                    .iter()
                    .zip(&self.taps)
                    .map(|(x, t)| x * t)
                    .sum()
            };
            let a = at(i);
            let b = at(i + 1);
            out.push(a + (b - a) * frac);
            self.pos += self.step;
        }
        // Keep what the next call still needs.
        let keep_from = (self.pos.floor() as usize).saturating_sub(self.half);
        if keep_from > 0 {
            self.history.drain(..keep_from);
            self.pos -= keep_from as f64;
        }
    }
}

/// Mix interleaved frames of `channels` down to mono.
pub fn to_mono(interleaved: &[f32], channels: usize) -> Vec<f32> {
    let c = channels.max(1);
    interleaved
        .chunks(c)
        .map(|f| f.iter().sum::<f32>() / f.len() as f32)
        .collect()
}

pub use super::analysis::{to_f32, to_i16};

/// Input samples of silence fed after a whole signal, so that the filter's
/// last outputs are made (more than the widest filter's half).
const FLUSH: usize = 64;

/// A whole mono signal at `from` Hz brought to `to` Hz, followed by the
/// filter's ringing on the silence after it (about `FLUSH × to / from`
/// samples): nothing of the signal is cut off.
pub fn signal(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to {
        return input.to_vec();
    }
    let mut r = Resampler::new(from, to);
    let mut padded = Vec::with_capacity(input.len() + FLUSH);
    padded.extend_from_slice(input);
    padded.extend(std::iter::repeat_n(0.0, FLUSH));
    let mut out = Vec::with_capacity(proportional(input.len(), from, to) + FLUSH);
    r.process(&padded, &mut out);
    out
}

/// How many samples at `to` Hz last as long as `len` samples at `from` Hz
/// (rounded down).
fn proportional(len: usize, from: u32, to: u32) -> usize {
    let n = len as u64 * u64::from(to.max(1)) / u64::from(from.max(1));
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// `clip` at `rate` Hz (shared, not copied, when it already is), exactly
/// as long as the clip: `floor(len × rate / clip.rate)` samples, so a count
/// still fits its second and cues stay where the timeline put them.
pub fn to_rate(clip: &super::Clip, rate: u32) -> super::Clip {
    if clip.rate == rate {
        return clip.clone();
    }
    let mut out = signal(&to_f32(&clip.samples), clip.rate, rate);
    out.truncate(proportional(clip.samples.len(), clip.rate, rate));
    super::Clip::new(rate, to_i16(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, secs: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt()
    }

    #[test]
    fn keeps_speech_and_removes_what_would_alias() {
        for from in [44_100, 48_000, 22_050, 8_000] {
            let mut r = Resampler::new(from, 16_000);
            let mut out = Vec::new();
            // Fed in odd-sized chunks, as a device would.
            for chunk in sine(1000.0, from, 1.0).chunks(333) {
                r.process(chunk, &mut out);
            }
            assert!(
                (out.len() as i64 - 16_000).abs() < 60,
                "{from}: {} samples",
                out.len()
            );
            let level = rms(&out[2000..14000]);
            assert!(
                (level - 0.3535).abs() < 0.02,
                "{from}: 1 kHz kept at {level}"
            );
        }
        // 12 kHz at 48 kHz would alias to 4 kHz at 16 kHz: it must be gone.
        let mut r = Resampler::new(48_000, 16_000);
        let mut out = Vec::new();
        r.process(&sine(12_000.0, 48_000, 1.0), &mut out);
        assert!(rms(&out[2000..14000]) < 0.01);
    }

    #[test]
    fn a_clip_keeps_its_duration_and_a_signal_keeps_its_tail() {
        for (from, to, len) in [
            (22_050, 16_000, 22_050),
            (16_000, 48_000, 1_601),
            (44_100, 22_050, 7),
        ] {
            let clip =
                super::super::Clip::new(from, to_i16(&sine(440.0, from, len as f32 / from as f32)));
            let out = to_rate(&clip, to);
            assert_eq!(out.rate, to);
            assert_eq!(
                out.samples.len(),
                proportional(clip.samples.len(), from, to),
                "{from} -> {to}"
            );
            let whole = signal(&to_f32(&clip.samples), from, to);
            assert!(
                whole.len() > out.samples.len(),
                "{from} -> {to}: {}",
                whole.len()
            );
        }
    }
}
