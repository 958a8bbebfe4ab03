//! Cue tones, made in code: short, soft sine notes with smooth edges, so
//! they are heard without startling anyone lying on a mat.

use super::Clip;
use crate::session::Cue;

/// The rate the tones are made at (the mixer resamples them).
pub const RATE: u32 = 22_050;

/// Notes (frequency in Hz, length in ms) of each cue.
fn notes(cue: Cue) -> &'static [(f32, u32)] {
    match cue {
        // A rising step: "go".
        Cue::Start => &[(660.0, 90), (880.0, 110)],
        // One soft high note: "that's it".
        Cue::HoldEnd => &[(880.0, 140)],
        // Two rising notes: "back to work".
        Cue::RestEnd => &[(523.3, 100), (784.0, 140)],
        // Three falling notes: "done for today".
        Cue::SessionEnd => &[(784.0, 140), (659.3, 140), (523.3, 260)],
    }
}

/// The tone of `cue`.
pub fn tone(cue: Cue) -> Clip {
    let mut samples = Vec::new();
    for &(freq, ms) in notes(cue) {
        let n = (RATE * ms / 1000) as usize;
        let fade = (RATE as usize * 12 / 1000).min(n / 2).max(1);
        for i in 0..n {
            let t = i as f32 / RATE as f32;
            let edge = i.min(n - 1 - i);
            let env = if edge < fade {
                0.5 - 0.5 * (std::f32::consts::PI * edge as f32 / fade as f32).cos()
            } else {
                1.0
            };
            let v = (2.0 * std::f32::consts::PI * freq * t).sin() * env * 0.3;
            samples.push((v * 32767.0) as i16);
        }
    }
    Clip::new(RATE, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tones_are_short_soft_and_distinct() {
        let all = [Cue::Start, Cue::HoldEnd, Cue::RestEnd, Cue::SessionEnd];
        for c in all {
            let t = tone(c);
            assert!(
                t.duration().as_millis() >= 100 && t.duration().as_millis() <= 600,
                "{c:?}"
            );
            assert!(t.peak() > 0.2 && t.peak() < 0.35, "{c:?}");
            // Smooth edges: no click at either end.
            assert!(
                t.samples[0].abs() < 100 && t.samples[t.len() - 1].abs() < 300,
                "{c:?}"
            );
        }
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(tone(*a), tone(*b));
            }
        }
    }
}
