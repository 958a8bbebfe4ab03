//! Generators for the property tests of every parser of outside data
//! (issue 15, item 2; tests/fuzz_inputs.rs): edits of a valid input (bytes
//! flipped, set, inserted, cut, truncated), WAV files with any header, zip
//! archives with traversal, symlinks and bombs. The case count is
//! proptest's (`PROPTEST_CASES`; scripts/fuzz runs many more).

use proptest::prelude::*;
use std::io::Write;

/// One edit of a byte string; positions are taken modulo its length.
#[derive(Debug, Clone)]
pub enum Edit {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Cut(usize, usize),
    Truncate(usize),
}

pub fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..32))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1..256usize).prop_map(|(i, n)| Edit::Cut(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// Apply `edits` to `base`.
pub fn apply(base: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = base.to_vec();
    for e in edits {
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
        match e {
            Edit::Flip(i, x) if !b.is_empty() => {
                let i = at(*i, b.len());
                b[i] ^= x;
            }
            Edit::Set(i, x) if !b.is_empty() => {
                let i = at(*i, b.len());
                b[i] = *x;
            }
            Edit::Insert(i, bytes) => {
                let i = at(*i, b.len() + 1);
                b.splice(i..i, bytes.iter().copied());
            }
            Edit::Cut(i, n) if !b.is_empty() => {
                let i = at(*i, b.len());
                let end = (i + n).min(b.len());
                b.drain(i..end);
            }
            Edit::Truncate(i) => {
                let i = at(*i, b.len() + 1);
                b.truncate(i);
            }
            _ => {}
        }
    }
    b
}

/// A few edits.
pub fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(edit(), 1..6)
}

/// Edits of text kept as text (the parsers take `&str`).
pub fn text_edit(base: &str) -> impl Strategy<Value = String> {
    let base = base.as_bytes().to_vec();
    edits().prop_map(move |e| String::from_utf8_lossy(&apply(&base, &e)).into_owned())
}

/// A RIFF/WAVE file whose header says anything: format tag, channels,
/// rate, bits, block align and data size, with data of any length (often
/// shorter than it claims), and sometimes an extra chunk before the data.
pub fn wav_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(1u16), Just(3), Just(0xFFFE), any::<u16>()],
        prop_oneof![Just(1u16), Just(2), 0..9u16, any::<u16>()],
        prop_oneof![Just(16_000u32), Just(44_100), Just(0), any::<u32>()],
        prop_oneof![Just(8u16), Just(16), Just(24), Just(32), any::<u16>()],
        any::<u16>(),
        prop_oneof![Just(None), any::<u32>().prop_map(Some)],
        prop::collection::vec(any::<u8>(), 0..4096),
        any::<bool>(),
    )
        .prop_map(|(tag, channels, rate, bits, align, claimed, data, extra)| {
            let mut w = Vec::new();
            let claimed = claimed.unwrap_or(data.len() as u32);
            w.extend_from_slice(b"RIFF");
            w.extend_from_slice(&(36u32.wrapping_add(claimed)).to_le_bytes());
            w.extend_from_slice(b"WAVE");
            w.extend_from_slice(b"fmt ");
            w.extend_from_slice(&16u32.to_le_bytes());
            w.extend_from_slice(&tag.to_le_bytes());
            w.extend_from_slice(&channels.to_le_bytes());
            w.extend_from_slice(&rate.to_le_bytes());
            let byte_rate = rate
                .wrapping_mul(u32::from(channels))
                .wrapping_mul(u32::from(bits / 8));
            w.extend_from_slice(&byte_rate.to_le_bytes());
            w.extend_from_slice(&align.to_le_bytes());
            w.extend_from_slice(&bits.to_le_bytes());
            if extra {
                w.extend_from_slice(b"LIST");
                w.extend_from_slice(&4u32.to_le_bytes());
                w.extend_from_slice(b"INFO");
            }
            w.extend_from_slice(b"data");
            w.extend_from_slice(&claimed.to_le_bytes());
            w.extend_from_slice(&data);
            w
        })
}

/// A valid 16-bit mono WAV of a tone, to edit.
pub fn tone_wav() -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
        for i in 0..1600 {
            let s = ((i as f32 * 0.2).sin() * 8000.0) as i16;
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
    }
    out.into_inner()
}

/// One entry of a generated model archive.
#[derive(Debug, Clone)]
pub enum Entry {
    File(String, Vec<u8>),
    Dir(String),
    Symlink(String, String),
    /// `n` MiB of zeros, deflated (a zip bomb in small).
    Zeros(String, usize),
}

/// Names a hostile archive would use: a model's files, traversal,
/// absolute paths, odd separators.
pub fn entry_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("m/am/final.mdl".to_string()),
        Just("m/conf/model.conf".to_string()),
        Just("am/final.mdl".to_string()),
        Just("../escape".to_string()),
        Just("m/../../escape".to_string()),
        Just("/etc/escape".to_string()),
        Just("m\\..\\..\\escape".to_string()),
        Just("__MACOSX/m/._x".to_string()),
        Just("m/".to_string()),
        "[a-z./]{1,12}",
    ]
}

pub fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        4 => (entry_name(), prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(n, b)| Entry::File(n, b)),
        1 => entry_name().prop_map(Entry::Dir),
        2 => (entry_name(), prop_oneof![
            Just("/etc/passwd".to_string()),
            Just("../../outside".to_string()),
            Just("final.mdl".to_string()),
        ])
            .prop_map(|(n, t)| Entry::Symlink(n, t)),
        1 => (entry_name(), 1..24usize).prop_map(|(n, m)| Entry::Zeros(n, m)),
    ]
}

/// The archive of `entries` (entries the writer refuses are left out).
pub fn zip_of(entries: &[Entry]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for e in entries {
        let _ = match e {
            Entry::File(n, b) => w.start_file(n.as_str(), opts).and_then(|_| {
                w.write_all(b)?;
                Ok(())
            }),
            Entry::Dir(n) => w.add_directory(n.as_str(), opts),
            Entry::Symlink(n, t) => w.add_symlink(n.as_str(), t.as_str(), opts),
            Entry::Zeros(n, mib) => w.start_file(n.as_str(), opts).and_then(|_| {
                let zeros = vec![0u8; 1 << 20];
                for _ in 0..*mib {
                    w.write_all(&zeros)?;
                }
                Ok(())
            }),
        };
    }
    w.finish().map(|c| c.into_inner()).unwrap_or_default()
}

pub fn archive() -> impl Strategy<Value = Vec<Entry>> {
    prop::collection::vec(entry(), 0..8)
}
