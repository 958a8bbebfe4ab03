//! The project's one resampler, for every rate change: the speaker's (a
//! clip at its own rate, say espeak-ng's 22050 Hz, brought to the output
//! stream's rate before it reaches the mixer) and the microphone's (any
//! device rate to the recogniser's 16 kHz, streaming).
//!
//! Built on `rubato`'s FFT resampler: a band-limited (windowed-sinc)
//! conversion for the fixed ratios audio devices use, so that downsampling
//! does not alias and upsampling leaves no images. Its filter delay is
//! trimmed here, so sample `n` of the output is the input's time
//! `n / to` seconds, as it was before.

use super::{AudioError, Clip};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler as _, WindowFunction};

/// An FFT resampler from `from` to `to` Hz taking about `frames` input
/// frames at a time. Its FFT block is a whole number of the smallest blocks
/// the two rates allow, chosen so that both blocks are even: rubato's delay
/// is half a block, and an odd one leaves the output half an input sample
/// off.
fn fft(from: u32, to: u32, frames: usize) -> Result<Fft<f32>, AudioError> {
    let (f, t) = (from as usize, to as usize);
    let g = gcd(f, t);
    let (min_in, min_out) = (f / g, t / g);
    let mut blocks = frames.div_ceil(min_in).max(1);
    if (blocks * min_in) % 2 == 1 || (blocks * min_out) % 2 == 1 {
        blocks += 1;
    }
    Fft::new_custom(
        f,
        t,
        blocks * min_in,
        1,
        1,
        WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )
    .map_err(|e| error(from, to, e))
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The input frames the streaming resampler takes at a time: 10 ms, a
/// compromise between the FFT's cost per sample and the latency the
/// buffering adds.
fn chunk_of(rate: u32) -> usize {
    (rate as usize / 100).max(1)
}

/// A whole clip goes through in blocks of about this many input frames.
const CLIP_CHUNK: usize = 1024;

/// Streaming resampler between two fixed rates (mono, −1..1). Feed any
/// chunk sizes; output comes in whole internal chunks of 10 ms of input.
pub struct Resampler {
    from: u32,
    to: u32,
    /// None when the rates are equal: samples pass through.
    fft: Option<Fft<f32>>,
    /// Input not yet a whole chunk.
    pending: Vec<f32>,
    /// One chunk of output.
    chunk: Vec<f32>,
    /// Output samples still to drop: the filter's delay, once at the start.
    trim: usize,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("pending", &self.pending.len())
            .finish()
    }
}

fn error(from: u32, to: u32, reason: impl std::fmt::Display) -> AudioError {
    AudioError::Resample {
        from,
        to,
        reason: reason.to_string(),
    }
}

impl Resampler {
    pub fn new(from: u32, to: u32) -> Result<Resampler, AudioError> {
        Resampler::with_chunk(from, to, chunk_of(from))
    }

    fn with_chunk(from: u32, to: u32, chunk: usize) -> Result<Resampler, AudioError> {
        if from == 0 || to == 0 {
            return Err(error(from, to, "a rate of 0 Hz"));
        }
        if from == to {
            return Ok(Resampler {
                from,
                to,
                fft: None,
                pending: Vec::new(),
                chunk: Vec::new(),
                trim: 0,
            });
        }
        let fft = fft(from, to, chunk)?;
        let trim = fft.output_delay();
        let chunk = vec![0.0; fft.output_frames_max()];
        let pending = Vec::with_capacity(fft.input_frames_max());
        Ok(Resampler {
            from,
            to,
            fft: Some(fft),
            pending,
            chunk,
            trim,
        })
    }

    /// Resample `input`, appending what is ready to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        let Some(fft) = self.fft.as_mut() else {
            out.extend_from_slice(input);
            return Ok(());
        };
        let mut input = input;
        loop {
            let need = fft.input_frames_next();
            let take = need.saturating_sub(self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() < need {
                return Ok(());
            }
            let made = run(fft, &self.pending, &mut self.chunk)
                .map_err(|e| error(self.from, self.to, e))?;
            self.pending.clear();
            let skip = self.trim.min(made);
            self.trim -= skip;
            out.extend_from_slice(&self.chunk[skip..made]);
        }
    }
}

/// One whole chunk through `fft` into `out`; the output samples made.
fn run(fft: &mut Fft<f32>, input: &[f32], out: &mut [f32]) -> Result<usize, String> {
    let buf_in = InterleavedSlice::new(input, 1, input.len()).map_err(|e| e.to_string())?;
    let out_len = out.len();
    let mut buf_out = InterleavedSlice::new_mut(out, 1, out_len).map_err(|e| e.to_string())?;
    let (_, made) = fft
        .process_into_buffer(&buf_in, &mut buf_out, None)
        .map_err(|e| e.to_string())?;
    Ok(made)
}

/// A whole mono signal at `from` Hz to `to` Hz, exactly
/// `ceil(len × to / from)` samples long, aligned with the input.
pub fn signal(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    if from == to {
        return Ok(input.to_vec());
    }
    let mut r = Resampler::with_chunk(from, to, CLIP_CHUNK)?;
    let Some(fft) = r.fft.as_mut() else {
        return Ok(input.to_vec());
    };
    let buf_in = InterleavedSlice::new(input, 1, input.len()).map_err(|e| error(from, to, e))?;
    let mut out = vec![0.0; fft.process_all_needed_output_len(input.len())];
    let out_len = out.len();
    let mut buf_out =
        InterleavedSlice::new_mut(&mut out, 1, out_len).map_err(|e| error(from, to, e))?;
    let (_, made) = fft
        .process_all_into_buffer(&buf_in, &mut buf_out, input.len(), None)
        .map_err(|e| error(from, to, e))?;
    // Rubato counts the length in floating point and may give one more.
    let len = (input.len() as u64 * u64::from(to)).div_ceil(u64::from(from));
    out.truncate(made.min(usize::try_from(len).unwrap_or(usize::MAX)));
    Ok(out)
}

/// `clip` at `rate` Hz (shared, not copied, when it already is).
pub fn to_rate(clip: &Clip, rate: u32) -> Result<Clip, AudioError> {
    if clip.rate == rate {
        return Ok(clip.clone());
    }
    let out = signal(&super::analysis::to_f32(&clip.samples), clip.rate, rate)?;
    Ok(Clip::new(rate, super::analysis::to_i16(&out)))
}

/// Mix interleaved frames of `channels` down to mono.
pub fn to_mono(interleaved: &[f32], channels: usize) -> Vec<f32> {
    let c = channels.max(1);
    interleaved
        .chunks(c)
        .map(|f| f.iter().sum::<f32>() / f.len() as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: [u32; 5] = [8_000, 16_000, 22_050, 44_100, 48_000];

    fn sine(freq: f32, rate: u32, secs: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt()
    }

    /// The frequency of a sine, from its zero crossings.
    fn frequency(x: &[f32], rate: u32) -> f32 {
        let ups: Vec<f32> = x
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
            .map(|(i, w)| i as f32 + -w[0] / (w[1] - w[0]))
            .collect();
        let (first, last) = (ups[0], ups[ups.len() - 1]);
        (ups.len() - 1) as f32 * rate as f32 / (last - first)
    }

    /// The middle of a signal, clear of the edges.
    fn middle(x: &[f32]) -> &[f32] {
        &x[x.len() / 8..x.len() * 7 / 8]
    }

    #[test]
    fn every_rate_pair_keeps_length_frequency_and_level() {
        for from in RATES {
            for to in RATES {
                let input = sine(1000.0, from, 1.0);
                // A whole clip.
                let whole = signal(&input, from, to).unwrap();
                assert_eq!(whole.len(), to as usize, "{from} → {to}: whole length");
                // Streamed in odd-sized chunks, as a device gives them.
                let mut r = Resampler::new(from, to).unwrap();
                let mut streamed = Vec::new();
                for chunk in input.chunks(333) {
                    r.process(chunk, &mut streamed).unwrap();
                }
                // What is still inside: a chunk and the filter's delay,
                // under 50 ms at any of these rates.
                let behind = to as usize - streamed.len();
                assert!(
                    behind <= to as usize / 20,
                    "{from} → {to}: streamed {} samples",
                    streamed.len()
                );
                for (how, out) in [("whole", &whole[..]), ("streamed", &streamed[..])] {
                    let f = frequency(middle(out), to);
                    assert!((f - 1000.0).abs() < 1.0, "{from} → {to} {how}: {f} Hz");
                    let level = rms(middle(out));
                    assert!(
                        (level - 0.3536).abs() < 0.005,
                        "{from} → {to} {how}: level {level}"
                    );
                }
                // Aligned with the input: no delay left in either.
                let expected = sine(1000.0, to, 1.0);
                for (how, out) in [("whole", &whole[..]), ("streamed", &streamed[..])] {
                    let n = out.len().min(expected.len());
                    let diff: Vec<f32> = middle(&out[..n])
                        .iter()
                        .zip(middle(&expected[..n]))
                        .map(|(a, b)| a - b)
                        .collect();
                    assert!(rms(&diff) < 0.01, "{from} → {to} {how}: not aligned");
                }
            }
        }
    }

    #[test]
    fn nothing_aliases_below_the_new_nyquist() {
        // (tone, from, to): each tone is above the output's Nyquist and
        // would fold back into the band heard.
        let rows = [
            (10_000.0, 48_000, 16_000),
            (10_000.0, 44_100, 16_000),
            (10_000.0, 22_050, 16_000),
            (12_000.0, 48_000, 16_000),
            (6_000.0, 16_000, 8_000),
            (15_000.0, 48_000, 22_050),
        ];
        for (tone, from, to) in rows {
            let out = signal(&sine(tone, from, 1.0), from, to).unwrap();
            let db = 20.0 * (rms(middle(&out)) / 0.3536).log10();
            assert!(db < -40.0, "{tone} Hz, {from} → {to}: {db:.1} dB");
        }
    }

    #[test]
    fn a_rate_of_zero_is_an_error_that_names_the_rates() {
        let e = Resampler::new(0, 16_000).unwrap_err().to_string();
        assert!(e.contains("0 Hz") && e.contains("16000 Hz"), "{e}");
        assert!(signal(&[0.0; 10], 48_000, 0).is_err());
    }

    #[test]
    fn a_clip_at_the_rate_already_is_shared_not_copied() {
        let c = Clip::new(48_000, vec![1, 2, 3]);
        let same = to_rate(&c, 48_000).unwrap();
        assert!(std::sync::Arc::ptr_eq(&c.samples, &same.samples));
        let up = to_rate(&Clip::new(22_050, vec![0; 22_050]), 48_000).unwrap();
        assert_eq!((up.rate, up.len()), (48_000, 48_000));
    }
}
