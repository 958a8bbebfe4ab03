//! A mono audio clip: 16-bit samples at their own rate, shared cheaply.
//! Clips are kept at their native rate (espeak-ng speaks at 22050 Hz), so a
//! session's phrases take little memory; each is brought to the output's
//! rate (`audio::resample`) when it is handed to the mixer.

use super::AudioError;
use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    pub rate: u32,
    pub samples: Arc<[i16]>,
}

impl Clip {
    pub fn new(rate: u32, samples: Vec<i16>) -> Clip {
        Clip {
            rate,
            samples: samples.into(),
        }
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    pub fn duration(&self) -> Duration {
        if self.rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(self.samples.len() as f64 / f64::from(self.rate))
    }

    /// Decode a WAV file (PCM 8/16/24/32-bit or float; any rate; channels
    /// are mixed down to mono).
    pub fn read_wav(path: &Path) -> Result<Clip, AudioError> {
        let bytes = std::fs::read(path).map_err(|source| AudioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        super::wav::decode(bytes).map_err(|reason| AudioError::BadWav {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Decode WAV bytes; the error is a reason for the caller to place.
    pub fn decode_wav<R: Read + Seek>(reader: R) -> Result<Clip, String> {
        let reader = hound::WavReader::new(reader).map_err(|e| e.to_string())?;
        let spec = reader.spec();
        let channels = usize::from(spec.channels.max(1));
        if spec.sample_rate == 0 {
            return Err("the sample rate is 0".into());
        }
        let interleaved: Vec<f32> = match spec.sample_format {
            hound::SampleFormat::Float => reader
                .into_samples::<f32>()
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?,
            hound::SampleFormat::Int => {
                let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
                reader
                    .into_samples::<i32>()
                    .map(|s| s.map(|v| v as f32 * scale))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?
            }
        };
        let mono: Vec<i16> = interleaved
            .chunks(channels)
            .map(|frame| {
                let avg = frame.iter().sum::<f32>() / frame.len() as f32;
                super::analysis::sample_to_i16(avg)
            })
            .collect();
        Ok(Clip::new(spec.sample_rate, mono))
    }

    /// Write as 16-bit mono WAV.
    pub fn write_wav(&self, path: &Path) -> Result<(), AudioError> {
        let write_err = |reason: String| AudioError::Write {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = super::wav::encode(self).map_err(write_err)?;
        std::fs::write(path, bytes).map_err(|e| write_err(e.to_string()))
    }

    /// The clip with exactly `margin` of silence before and after the
    /// sound: longer silence is cut, shorter is padded. So every phrase's
    /// sound starts the same time after its clip does, and counts placed a
    /// second apart are *heard* a second apart. "Silence" is below
    /// `threshold` (0..1 of full scale). A clip that is all silence stays as
    /// it is.
    pub fn trimmed(&self, threshold: f32, margin: Duration) -> Clip {
        let limit = (threshold.clamp(0.0, 1.0) * 32767.0) as i32;
        let loud = |s: &i16| i32::from(*s).abs() > limit;
        let (Some(first), Some(last)) = (
            self.samples.iter().position(loud),
            self.samples.iter().rposition(loud),
        ) else {
            return self.clone();
        };
        let m = (margin.as_secs_f64() * f64::from(self.rate)) as usize;
        let start = first.saturating_sub(m);
        let end = (last + 1 + m).min(self.samples.len());
        let mut out = vec![0i16; m - (first - start)];
        out.extend_from_slice(&self.samples[start..end]);
        out.resize(out.len() + (last + 1 + m - end), 0);
        Clip::new(self.rate, out)
    }

    /// The loudest sample, 0..1 of full scale.
    pub fn peak(&self) -> f32 {
        self.samples
            .iter()
            .map(|s| i32::from(*s).unsigned_abs())
            .max()
            .map_or(0.0, |p| p as f32 / 32768.0)
    }
}

pub fn wav_spec(rate: u32) -> hound::WavSpec {
    hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_silence_but_keeps_a_margin() {
        let mut s = vec![0i16; 1000];
        s.extend(std::iter::repeat_n(10_000i16, 500));
        s.extend(vec![0i16; 1000]);
        let c = Clip::new(1000, s).trimmed(0.01, Duration::from_millis(10));
        assert_eq!(c.len(), 500 + 20);
        assert_eq!(c.samples[9], 0);
        assert_eq!(c.samples[10], 10_000);
        // Too little silence: padded to the margin on both sides.
        let c = Clip::new(1000, vec![5000i16; 30]).trimmed(0.01, Duration::from_millis(10));
        assert_eq!(c.len(), 50);
        assert_eq!(c.samples.iter().position(|s| *s != 0), Some(10));
        assert_eq!(c.samples.iter().rposition(|s| *s != 0), Some(39));
    }

    #[test]
    fn wav_round_trip_and_stereo_mixdown() {
        let c = Clip::new(22050, vec![0, 1000, -1000, 32767]);
        let bytes = super::super::wav::encode(&c).unwrap();
        assert_eq!(Clip::decode_wav(std::io::Cursor::new(bytes)).unwrap(), c);

        let stereo = super::super::wav::stereo_8k(&[1000, 3000, -2000, -2000]);
        let m = Clip::decode_wav(std::io::Cursor::new(stereo)).unwrap();
        assert_eq!(m.rate, 8000);
        assert_eq!(m.samples.len(), 2);
        assert!((i32::from(m.samples[0]) - 2000).abs() <= 1);
        assert!((i32::from(m.samples[1]) + 2000).abs() <= 1);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"RIFF", b"RIFF\x10\x00\x00\x00WAVEfmt garbage"] {
            assert!(Clip::decode_wav(std::io::Cursor::new(bytes)).is_err());
        }
    }
}
