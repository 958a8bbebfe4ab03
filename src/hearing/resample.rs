//! Any microphone's rate and format to 16 kHz mono, streaming: a windowed-
//! sinc low-pass (so 44.1/48 kHz input does not alias into the speech band)
//! with fractional-position interpolation.

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

pub use crate::audio::analysis::to_i16;

/// A clip at 16 kHz (the recogniser's rate), as long as the clip: through
/// the resampler, its tail flushed.
pub fn to_16k(clip: &crate::audio::Clip) -> Vec<i16> {
    if clip.rate == crate::hearing::RATE {
        return clip.samples.to_vec();
    }
    let mut r = Resampler::new(clip.rate, crate::hearing::RATE);
    let mut input = crate::audio::analysis::to_f32(&clip.samples);
    input.extend(std::iter::repeat_n(0.0, 64));
    let mut out = Vec::with_capacity(input.len());
    r.process(&input, &mut out);
    let len = clip.samples.len() as u64 * u64::from(crate::hearing::RATE) / u64::from(clip.rate);
    out.truncate(usize::try_from(len).unwrap_or(usize::MAX));
    to_i16(&out)
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
}
