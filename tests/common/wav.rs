//! Audio files and rates for the tests: WAV in and out (through `hound`,
//! as the crate does), and the crate's own resampler to and from 16 kHz,
//! the recogniser's rate.

use matcoach::hearing::RATE;
use std::path::Path;

/// A 16 kHz mono 16-bit WAV file's samples (panics on any other format).
pub fn read_16k(path: &Path) -> Vec<i16> {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let spec = r.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, RATE, 16),
        "{path:?}: want 16 kHz mono 16-bit"
    );
    r.samples::<i16>().map(|s| s.unwrap()).collect()
}

/// Write 16-bit `interleaved` samples of `channels` at `rate`.
pub fn write(path: &Path, rate: u32, channels: u16, interleaved: &[i16]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in interleaved {
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();
}

/// Write 16 kHz mono samples.
pub fn write_16k(path: &Path, samples: &[i16]) {
    write(path, RATE, 1, samples);
}

/// A WAV file of any PCM format as floats (-1 to 1), interleaved, with its
/// spec. Reads what is there even when the header's length is unfinished
/// (as ALSA's file PCM leaves it while it writes).
pub fn read_any(path: &Path) -> (hound::WavSpec, Vec<f32>) {
    let mut reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let spec = reader.spec();
    let samples = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map_while(Result::ok).collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map_while(Result::ok)
                .map(|s| s as f32 * scale)
                .collect()
        }
    };
    (spec, samples)
}

/// 16 kHz audio resampled to `to`, through the crate's resampler.
pub fn from_16k(audio: &[f32], to: u32) -> Vec<f32> {
    matcoach::audio::resample::signal(audio, RATE, to)
}
