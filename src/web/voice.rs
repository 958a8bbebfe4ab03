//! Recording your own voice from the page: the checks an uploaded clip
//! must pass before it is kept as `voices/<name>/<lang>/<phrase-id>.wav`.

use std::io::Cursor;

/// The largest upload accepted (20 s of 48 kHz 16-bit stereo is 3.8 MB;
/// the page sends mono).
pub const MAX_UPLOAD: usize = 4 * 1024 * 1024;
/// A clip must be at least this long (seconds) ...
pub const MIN_SECS: f64 = 0.2;
/// ... and at most this long.
pub const MAX_SECS: f64 = 20.0;
/// A count ("three") must fit its second: the coach says one a second.
pub const COUNT_MAX_SECS: f64 = 0.9;
/// Quieter than this at its loudest: nothing was recorded (dBFS).
pub const MIN_PEAK_DBFS: f64 = -30.0;

/// Why an upload was refused; each says what to do.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClipError {
    #[error("the upload is not a WAV file ({0})\n  fix: record again on the page (it sends WAV), or upload a 16-bit PCM .wav")]
    NotWav(String),
    #[error("the upload is {0} bytes, more than the {MAX_UPLOAD} allowed\n  fix: record a shorter clip (at most {MAX_SECS} s)")]
    TooBig(usize),
    #[error("the clip is {format}; only 16-bit PCM or 32-bit float, mono or stereo, 8 to 48 kHz is kept\n  fix: record again on the page, or convert it (sox in.wav -b 16 -c 1 out.wav)")]
    Format { format: String },
    #[error("the clip is {secs:.2} s long; a phrase needs {MIN_SECS} to {MAX_SECS} s\n  fix: record it again")]
    Length { secs: f64 },
    #[error("the count clip is {secs:.2} s long; a count must fit its second (at most {COUNT_MAX_SECS} s)\n  fix: say the number quickly, and stop recording right after it")]
    CountTooLong { secs: f64 },
    #[error("the clip is too quiet (loudest {peak_dbfs:.0} dBFS, below {MIN_PEAK_DBFS} dBFS): was the microphone on?\n  fix: speak closer to the phone and record again")]
    TooQuiet { peak_dbfs: f64 },
}

/// What a kept clip is like.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipInfo {
    pub secs: f64,
    pub peak_dbfs: f64,
    pub rate: u32,
    pub channels: u16,
}

/// Whether a phrase id is a count (said once a second).
pub fn is_count(phrase: &str) -> bool {
    phrase.starts_with("sys.count.")
}

/// Check an uploaded clip for `phrase`.
pub fn check(bytes: &[u8], phrase: &str) -> Result<ClipInfo, ClipError> {
    if bytes.len() > MAX_UPLOAD {
        return Err(ClipError::TooBig(bytes.len()));
    }
    let reader =
        hound::WavReader::new(Cursor::new(bytes)).map_err(|e| ClipError::NotWav(e.to_string()))?;
    let spec = reader.spec();
    let format = format!(
        "{} Hz, {} channel(s), {}-bit {:?}",
        spec.sample_rate, spec.channels, spec.bits_per_sample, spec.sample_format
    );
    let ok_format = matches!(
        (spec.sample_format, spec.bits_per_sample),
        (hound::SampleFormat::Int, 16) | (hound::SampleFormat::Float, 32)
    );
    if !ok_format
        || !(1..=2).contains(&spec.channels)
        || !(8_000..=48_000).contains(&spec.sample_rate)
    {
        return Err(ClipError::Format { format });
    }
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Int => reader
            .into_samples::<i16>()
            .map(|s| s.map(|v| f32::from(v) / 32768.0))
            .collect::<Result<_, _>>(),
        hound::SampleFormat::Float => reader.into_samples::<f32>().collect::<Result<_, _>>(),
    }
    .map_err(|e| ClipError::NotWav(e.to_string()))?;
    let frames = samples.len() / usize::from(spec.channels);
    let secs = frames as f64 / f64::from(spec.sample_rate);
    if !(MIN_SECS..=MAX_SECS).contains(&secs) {
        return Err(ClipError::Length { secs });
    }
    if is_count(phrase) && secs > COUNT_MAX_SECS {
        return Err(ClipError::CountTooLong { secs });
    }
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    let peak_dbfs = if peak > 0.0 {
        20.0 * f64::from(peak).log10()
    } else {
        -120.0
    };
    if peak_dbfs < MIN_PEAK_DBFS {
        return Err(ClipError::TooQuiet { peak_dbfs });
    }
    Ok(ClipInfo {
        secs,
        peak_dbfs,
        rate: spec.sample_rate,
        channels: spec.channels,
    })
}

/// A recorded voice's name: letters, digits, `-` and `_`, 1 to 32 long
/// (it becomes a folder name: no path can be smuggled in).
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16 kHz WAV of a sine, `secs` long at `amp` of full scale.
    fn wav(secs: f64, amp: f32) -> Vec<u8> {
        let samples = (0..(secs * 16_000.0) as usize)
            .map(|i| (amp * (i as f32 * 0.2).sin() * 32767.0) as i16)
            .collect();
        crate::audio::wav::encode(&crate::audio::Clip::new(16_000, samples)).unwrap()
    }

    #[test]
    fn checks_format_length_level_and_counts() {
        let rows: Vec<(Vec<u8>, &str, Result<(), &str>)> = vec![
            (wav(1.0, 0.5), "sys.ready", Ok(())),
            (wav(0.5, 0.5), "sys.count.3", Ok(())),
            (wav(1.5, 0.5), "sys.count.3", Err("CountTooLong")),
            (wav(1.5, 0.5), "sys.ready", Ok(())),
            (wav(0.1, 0.5), "sys.ready", Err("Length")),
            (wav(25.0, 0.5), "sys.ready", Err("Length")),
            (wav(1.0, 0.01), "sys.ready", Err("TooQuiet")),
            (b"OggS not a wav".to_vec(), "sys.ready", Err("NotWav")),
            (vec![0; MAX_UPLOAD + 1], "sys.ready", Err("TooBig")),
        ];
        for (bytes, phrase, want) in rows {
            let got = check(&bytes, phrase).map(|_| ()).map_err(|e| {
                let s = format!("{e:?}");
                s.split(['(', ' ', '{']).next().unwrap_or("").to_string()
            });
            assert_eq!(got, want.map_err(String::from), "{phrase} {}", bytes.len());
        }
        assert!(valid_name("anna_2") && !valid_name("../etc") && !valid_name(""));
    }
}
