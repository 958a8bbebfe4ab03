//! The sounds the project ships (`audio/`, see audio/README.md): every file
//! there is known and checked, the cue tones load as the coach loads them
//! and are the built-in tones, and the layout the config points at exists.

mod common;

use common::root;
use matcoach::audio::cues;
use std::path::{Path, PathBuf};

/// Every file under `dir`, relative to the repository, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(root()).unwrap();
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

fn cue_dir() -> PathBuf {
    root().join("audio").join("cues")
}

#[test]
fn every_shipped_sound_file_is_known() {
    let mut want: Vec<String> = ["audio/README.md", "audio/voices/README.md"]
        .map(String::from)
        .to_vec();
    want.extend(cues::ALL.map(|c| format!("audio/cues/{}", cues::file_name(c))));
    want.sort();
    assert_eq!(
        files(&root().join("audio")),
        want,
        "a file under audio/ that no test checks (add it here), or a shipped one missing"
    );
}

#[test]
fn the_shipped_cue_tones_load_and_are_the_built_in_ones() {
    let (found, bad) = cues::load(&cue_dir());
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(found.len(), cues::ALL.len());
    for (cue, clip) in found {
        assert_eq!(
            clip,
            cues::builtin(cue),
            "audio/cues/{}",
            cues::file_name(cue)
        );
    }
}

#[test]
fn the_default_config_points_at_the_shipped_sounds() {
    let s = matcoach::config::Speech::default();
    assert_eq!(root().join(&s.cues_dir), cue_dir());
    assert!(root().join(&s.voices_dir).join("README.md").is_file());
}

#[test]
fn a_replaced_cue_plays_and_a_bad_one_falls_back_to_the_built_in_tone() {
    let dir = tempfile::tempdir().unwrap();
    let start = cues::builtin(matcoach::session::Cue::RestEnd);
    start.write_wav(&dir.path().join("start.wav")).unwrap();
    std::fs::write(dir.path().join("hold_end.wav"), b"RIFF, but no more").unwrap();
    let bad = cues::install(dir.path());
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].to_string().contains("hold_end.wav"), "{}", bad[0]);
    use matcoach::session::Cue;
    assert_eq!(cues::tone(Cue::Start), start);
    assert_eq!(cues::tone(Cue::HoldEnd), cues::builtin(Cue::HoldEnd));
    assert_eq!(cues::tone(Cue::SessionEnd), cues::builtin(Cue::SessionEnd));
}

/// Writes the built-in tones to audio/cues (after changing them in code):
/// `cargo test --test audio_files -- --ignored write_the_cue_files`.
#[test]
#[ignore = "writes audio/cues from the built-in tones"]
fn write_the_cue_files() {
    for cue in cues::ALL {
        cues::builtin(cue)
            .write_wav(&cue_dir().join(cues::file_name(cue)))
            .unwrap();
    }
}
