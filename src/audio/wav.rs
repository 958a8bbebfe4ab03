//! WAV bytes to and from clips, through hound. Plain 16-bit mono PCM (what
//! espeak-ng and the speech cache write, and most recordings) has its
//! header read by hound and its sample bytes converted in one pass, which
//! matters in unoptimised builds (hound's per-sample reader is generic, so
//! it is compiled at the test build's opt-level); anything else is decoded
//! sample by sample by hound ([`Clip::decode_wav`]).

use super::Clip;
use std::io::Cursor;
use std::ops::Range;

/// The most samples one 16-bit WAV file holds: its sizes are 32-bit.
const MAX_SAMPLES: usize = (u32::MAX as usize - 44) / 2;

/// Decode WAV bytes (any PCM or float format hound reads; channels are
/// mixed down to mono). The error is a reason for the caller to place.
pub fn decode(bytes: Vec<u8>) -> Result<Clip, String> {
    match pcm16_mono(&bytes)? {
        Some(clip) => Ok(clip),
        None => Clip::decode_wav(Cursor::new(bytes)),
    }
}

/// A clip as 16-bit mono PCM WAV bytes, written by hound.
pub fn encode(clip: &Clip) -> Result<Vec<u8>, String> {
    // Longer clips (over 27 hours at 22050 Hz) are cut: hound counts the
    // data bytes in a u32 and would overflow.
    let samples = &clip.samples[..clip.len().min(MAX_SAMPLES)];
    let n = u32::try_from(samples.len()).map_err(|e| e.to_string())?;
    let mut out = Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    let mut writer = hound::WavWriter::new(&mut out, super::clip::wav_spec(clip.rate))
        .map_err(|e| e.to_string())?;
    let mut samples_out = writer.get_i16_writer(n);
    for s in samples {
        samples_out.write_sample(*s);
    }
    samples_out.flush().map_err(|e| e.to_string())?;
    writer.finalize().map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// Whether `bytes` decode to a clip with sound samples in it, without
/// converting the samples when they are plain 16-bit mono PCM.
pub fn is_usable(bytes: Vec<u8>) -> bool {
    match pcm16_layout(&bytes) {
        Ok(Some((_, data))) => !data.is_empty(),
        Ok(None) => decode(bytes).is_ok_and(|c| !c.is_empty()),
        Err(_) => false,
    }
}

/// The clip, when `b` is 16-bit mono PCM; `None` for other formats.
fn pcm16_mono(b: &[u8]) -> Result<Option<Clip>, String> {
    let Some((rate, data)) = pcm16_layout(b)? else {
        return Ok(None);
    };
    let samples = b[data]
        .chunks_exact(2)
        .map(|s| i16::from_le_bytes([s[0], s[1]]))
        .collect();
    Ok(Some(Clip::new(rate, samples)))
}

/// The rate and the byte range of the samples of a complete 16-bit mono
/// PCM WAV file, from the header hound reads; `None` for other formats, an
/// error for what is no WAV or is cut short.
fn pcm16_layout(b: &[u8]) -> Result<Option<(u32, Range<usize>)>, String> {
    let reader = hound::WavReader::new(Cursor::new(b)).map_err(|e| e.to_string())?;
    let spec = reader.spec();
    if (spec.channels, spec.bits_per_sample, spec.sample_format)
        != (1, 16, hound::SampleFormat::Int)
    {
        return Ok(None);
    }
    if spec.sample_rate == 0 {
        return Err("the sample rate is 0".into());
    }
    let len = reader.len() as usize * 2;
    let start = usize::try_from(reader.into_inner().position()).map_err(|e| e.to_string())?;
    let end = start.saturating_add(len);
    if end > b.len() {
        return Err(format!(
            "the data is cut short: {} of {len} bytes",
            b.len().saturating_sub(start)
        ));
    }
    Ok(Some((spec.sample_rate, start..end)))
}

/// A 16-bit stereo WAV file at 8 kHz of interleaved `samples` (left,
/// right, …), written by hound: not a format the fast path takes.
#[cfg(test)]
pub(crate) fn stereo_8k(samples: &[i16]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(&mut buf, spec).unwrap();
    for s in samples {
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();
    buf.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_wav_path_agrees_with_hound() {
        let clip = Clip::new(22050, vec![0, 1, -1, 32767, -32768, 1234]);
        let bytes = encode(&clip).unwrap();
        assert_eq!(pcm16_mono(&bytes), Ok(Some(clip.clone())));
        assert_eq!(decode(bytes.clone()).unwrap(), clip);
        let decoded = Clip::decode_wav(std::io::Cursor::new(encode(&clip).unwrap())).unwrap();
        assert_eq!(decoded, clip);
        // Truncated: not taken by the fast path, and hound says why.
        assert!(!matches!(
            pcm16_mono(&bytes[..bytes.len() - 3]),
            Ok(Some(_))
        ));
        assert!(is_usable(bytes.clone()));
        assert!(!is_usable(bytes[..bytes.len() - 3].to_vec()));
        assert!(!is_usable(encode(&Clip::new(8000, vec![])).unwrap()));
        assert!(decode(bytes[..bytes.len() - 3].to_vec()).is_err());
        for junk in [
            &b""[..],
            b"RIFF",
            b"RIFF\xff\xff\xff\xffWAVEfmt \xff\xff\xff\xff",
        ] {
            assert!(!matches!(pcm16_mono(junk), Ok(Some(_))));
            assert!(decode(junk.to_vec()).is_err());
        }
        // Other formats go to hound: stereo is mixed down.
        let bytes = stereo_8k(&[1000, 3000]);
        assert_eq!(pcm16_mono(&bytes), Ok(None));
        assert_eq!(decode(bytes).unwrap().len(), 1);
    }
}
