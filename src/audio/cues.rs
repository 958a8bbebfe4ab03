//! Cue tones: short, soft sine notes with smooth edges, so they are heard
//! without startling anyone lying on a mat. They are made in code
//! ([`builtin`]), and shipped as WAV files in `audio/cues/` (the same
//! sounds) that a user may replace: [`install`] reads a directory of them,
//! and a file that cannot be used is reported and its built-in tone plays.

use super::Clip;
use crate::session::Cue;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::Duration;

/// Every cue.
pub const ALL: [Cue; 4] = [Cue::Start, Cue::HoldEnd, Cue::RestEnd, Cue::SessionEnd];

/// The longest a cue may be: longer would run over the next count.
pub const MAX: Duration = Duration::from_millis(900);

/// The cue tones read from files, where [`install`] found usable ones.
static INSTALLED: RwLock<Vec<(Cue, Clip)>> = RwLock::new(Vec::new());

/// The file of `cue` in a cue directory.
pub fn file_name(cue: Cue) -> &'static str {
    match cue {
        Cue::Start => "start.wav",
        Cue::HoldEnd => "hold_end.wav",
        Cue::RestEnd => "rest_end.wav",
        Cue::SessionEnd => "session_end.wav",
    }
}

/// A cue file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}; the built-in tone plays instead\n  fix: replace it with a short mono WAV file (at most {} ms), or delete it to use the built-in tone", path.display(), MAX.as_millis())]
pub struct BadCue {
    pub path: PathBuf,
    pub reason: String,
}

/// The cue tones of `dir` (`start.wav`, `hold_end.wav`, `rest_end.wav`,
/// `session_end.wav`): those present and usable, and what is wrong with
/// the others. A missing file (or directory) is no problem: its built-in
/// tone plays.
pub fn load(dir: &Path) -> (Vec<(Cue, Clip)>, Vec<BadCue>) {
    let mut found = Vec::new();
    let mut bad = Vec::new();
    for cue in ALL {
        let path = dir.join(file_name(cue));
        if !path.exists() {
            continue;
        }
        let reason = match Clip::read_wav(&path) {
            Ok(clip) if clip.is_empty() => "it holds no sound".to_string(),
            Ok(clip) if clip.duration() > MAX => format!(
                "it lasts {} ms, longer than a cue may",
                clip.duration().as_millis()
            ),
            Ok(clip) => {
                found.push((cue, clip));
                continue;
            }
            Err(e) => e.to_string().lines().next().unwrap_or_default().to_string(),
        };
        bad.push(BadCue { path, reason });
    }
    (found, bad)
}

/// Play the cue tones of `dir` from now on ([`load`]), each file that
/// cannot be used reported on stderr; returns those reports.
pub fn install(dir: &Path) -> Vec<BadCue> {
    let (found, bad) = if dir.as_os_str().is_empty() {
        (Vec::new(), Vec::new())
    } else {
        load(dir)
    };
    for b in &bad {
        log::warn!("{b}");
    }
    if let Ok(mut installed) = INSTALLED.write() {
        *installed = found;
    }
    bad
}

/// The tone of `cue`: its installed file's, else the built-in one.
pub fn tone(cue: Cue) -> Clip {
    let installed = INSTALLED.read().ok().and_then(|i| {
        i.iter()
            .find(|(c, _)| *c == cue)
            .map(|(_, clip)| clip.clone())
    });
    installed.unwrap_or_else(|| builtin(cue))
}

/// The rate the tones are made at (brought to the output's rate when played).
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

/// The built-in tone of `cue`, made in code.
pub fn builtin(cue: Cue) -> Clip {
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
        let all = ALL;
        for c in all {
            let t = builtin(c);
            assert!(t.duration() <= MAX, "{c:?}");
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
                assert_ne!(builtin(*a), builtin(*b));
            }
        }
    }

    #[test]
    fn a_bad_or_too_long_file_is_reported_and_a_missing_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("start.wav"), b"not a wav").unwrap();
        Clip::new(RATE, vec![100; RATE as usize])
            .write_wav(&dir.path().join("hold_end.wav"))
            .unwrap();
        builtin(Cue::RestEnd)
            .write_wav(&dir.path().join("rest_end.wav"))
            .unwrap();
        let (found, bad) = load(dir.path());
        assert_eq!(found, [(Cue::RestEnd, builtin(Cue::RestEnd))]);
        let text: Vec<String> = bad.iter().map(|b| b.to_string()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text[0].contains("start.wav") && text[0].contains("built-in tone plays instead"));
        assert!(text[1].contains("hold_end.wav") && text[1].contains("lasts 1000 ms"));
        assert!(text.iter().all(|t| t.contains("fix: ")));
    }
}
