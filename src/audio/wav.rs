//! WAV bytes to and from clips. Plain 16-bit mono PCM (what espeak-ng and
//! the speech cache write, and most recordings) is read and written
//! directly, which matters in unoptimised builds; anything else goes
//! through hound ([`Clip::decode_wav`]).

use super::Clip;

/// Decode WAV bytes. The common case here, complete 16-bit mono PCM (what
/// espeak-ng and the cache write), is read directly, which matters for
/// unoptimised test builds; anything else goes through [`Clip::decode_wav`].
pub fn decode(bytes: Vec<u8>) -> Result<Clip, String> {
    if let Some(clip) = pcm16_mono(&bytes) {
        return Ok(clip);
    }
    Clip::decode_wav(std::io::Cursor::new(bytes))
}

/// A clip as 16-bit mono PCM WAV bytes (what a WAV writer would,
/// without the per-sample overhead).
pub fn encode(clip: &Clip) -> Vec<u8> {
    let data = u32::try_from(clip.samples.len() * 2).unwrap_or(u32::MAX - 36) & !1;
    let mut out = Vec::with_capacity(44 + data as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&clip.rate.to_le_bytes());
    out.extend_from_slice(&clip.rate.saturating_mul(2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    for s in clip.samples.iter().take(data as usize / 2) {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Whether `bytes` decode to a clip with sound samples in it, without
/// converting the samples when they are plain 16-bit mono PCM.
pub fn is_usable(bytes: Vec<u8>) -> bool {
    match pcm16_layout(&bytes) {
        Some((_, data)) => !data.is_empty(),
        None => decode(bytes).is_ok_and(|c| !c.is_empty()),
    }
}

fn pcm16_mono(b: &[u8]) -> Option<Clip> {
    let (rate, data) = pcm16_layout(b)?;
    let samples = b[data]
        .chunks_exact(2)
        .map(|s| i16::from_le_bytes([s[0], s[1]]))
        .collect();
    Some(Clip::new(rate, samples))
}

/// The rate and the byte range of the samples of a complete 16-bit mono
/// PCM WAV file; `None` for anything else (other formats, truncated data).
fn pcm16_layout(b: &[u8]) -> Option<(u32, std::ops::Range<usize>)> {
    let u16_at = |i: usize| Some(u16::from_le_bytes([*b.get(i)?, *b.get(i + 1)?]));
    let u32_at = |i: usize| {
        Some(u32::from_le_bytes([
            *b.get(i)?,
            *b.get(i + 1)?,
            *b.get(i + 2)?,
            *b.get(i + 3)?,
        ]))
    };
    if b.get(0..4)? != b"RIFF" || b.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut rate = None;
    let mut pos = 12usize;
    loop {
        let id = b.get(pos..pos + 4)?;
        let size = usize::try_from(u32_at(pos + 4)?).ok()?;
        let body = pos + 8;
        if id == b"fmt " {
            let (format, channels, bits) = (u16_at(body)?, u16_at(body + 2)?, u16_at(body + 14)?);
            if size < 16 || format != 1 || channels != 1 || bits != 16 {
                return None;
            }
            rate = Some(u32_at(body + 4)?).filter(|r| *r > 0);
        } else if id == b"data" {
            let end = body.checked_add(size)?;
            if size % 2 != 0 || end > b.len() {
                return None;
            }
            return Some((rate?, body..end));
        }
        pos = body.checked_add(size)?.checked_add(size % 2)?;
    }
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
        let bytes = encode(&clip);
        assert_eq!(pcm16_mono(&bytes), Some(clip.clone()));
        assert_eq!(decode(bytes.clone()).unwrap(), clip);
        let decoded = Clip::decode_wav(std::io::Cursor::new(encode(&clip))).unwrap();
        assert_eq!(decoded, clip);
        // Truncated: not taken by the fast path, and hound says why.
        assert_eq!(pcm16_mono(&bytes[..bytes.len() - 3]), None);
        assert!(is_usable(bytes.clone()));
        assert!(!is_usable(bytes[..bytes.len() - 3].to_vec()));
        assert!(!is_usable(encode(&Clip::new(8000, vec![]))));
        assert!(decode(bytes[..bytes.len() - 3].to_vec()).is_err());
        for junk in [
            &b""[..],
            b"RIFF",
            b"RIFF\xff\xff\xff\xffWAVEfmt \xff\xff\xff\xff",
        ] {
            assert_eq!(pcm16_mono(junk), None);
            assert!(decode(junk.to_vec()).is_err());
        }
        // Other formats go to hound: stereo is mixed down.
        let bytes = stereo_8k(&[1000, 3000]);
        assert_eq!(pcm16_mono(&bytes), None);
        assert_eq!(decode(bytes).unwrap().len(), 1);
    }
}
