//! Measuring audio: where sounds start and stop. Used by the tests and the
//! benchmark to check timing from the audio itself.

/// A sound found in a signal: the sample where it starts and where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub start: usize,
    pub end: usize,
}

/// The sounds in `samples`: runs above `threshold` (0..1), separated by at
/// least `min_gap` samples below it. Short silences inside a word do not
/// split it.
pub fn segments(samples: &[f32], threshold: f32, min_gap: usize) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut last_loud: Option<usize> = None;
    for (i, s) in samples.iter().enumerate() {
        if s.abs() <= threshold {
            continue;
        }
        match (out.last_mut(), last_loud) {
            (Some(seg), Some(prev)) if i - prev <= min_gap => seg.end = i + 1,
            _ => out.push(Segment {
                start: i,
                end: i + 1,
            }),
        }
        last_loud = Some(i);
    }
    out
}

/// Where each sound starts.
pub fn onsets(samples: &[f32], threshold: f32, min_gap: usize) -> Vec<usize> {
    segments(samples, threshold, min_gap)
        .into_iter()
        .map(|s| s.start)
        .collect()
}

/// One 16-bit sample as −1..1.
pub fn sample_to_f32(s: i16) -> f32 {
    f32::from(s) / 32768.0
}

/// One −1..1 sample as 16 bits: rounded, and clipped at full scale.
pub fn sample_to_i16(s: f32) -> i16 {
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Convert 16-bit samples to −1..1.
pub fn to_f32(samples: &[i16]) -> Vec<f32> {
    samples.iter().copied().map(sample_to_f32).collect()
}

/// Convert −1..1 samples to 16 bits (rounded, clipped).
pub fn to_i16(samples: &[f32]) -> Vec<i16> {
    samples.iter().copied().map(sample_to_i16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sounds_and_bridges_short_gaps() {
        let mut s = vec![0.0f32; 100];
        s[10..20].fill(0.5);
        s[23..30].fill(0.5); // a 3-sample gap: same sound
        s[60..70].fill(-0.5);
        let seg = segments(&s, 0.1, 5);
        assert_eq!(
            seg,
            vec![
                Segment { start: 10, end: 30 },
                Segment { start: 60, end: 70 }
            ]
        );
        assert_eq!(onsets(&s, 0.1, 2), vec![10, 23, 60]);
    }
}
