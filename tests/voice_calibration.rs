//! Personal calibration (issue 16, item 2), measured: voices that the
//! default settings hear poorly (synthetic voices altered with sox, in a
//! reverberant, noisy room), calibrated on three takes per command word,
//! then scored on that voice's other takes and on sound-alikes and prose.
#![cfg(all(feature = "voice-pocketsphinx", feature = "voice-aec"))]

mod room;
mod voice_data;

use matcoach::audio::Clip;
use matcoach::command::Command;
use matcoach::content::Lang;
use matcoach::voice::calibrate::{Asked, Take};
use matcoach::voice::grammar;
use matcoach::voice::RATE;
use std::path::PathBuf;
use voice_data::Utterance;

/// A voice the default settings hear poorly.
#[derive(Debug, Clone)]
struct Voice {
    name: &'static str,
    /// espeak-ng or flite (`flite/NAME`) voice.
    base: &'static str,
    /// sox effects applied to the rendering (pitch and formants, speed).
    sox: &'static [&'static str],
    /// The room: direct-to-reverberant ratio (dB), RT60 (ms).
    drr_db: f32,
    rt60_ms: u32,
    /// Pink noise this many dB below the speech.
    snr_db: f32,
}

/// `audio` (16 kHz, −1..1) through sox with `effects`.
fn sox(audio: &[f32], effects: &[&str], tag: &str) -> Vec<f32> {
    if effects.is_empty() {
        return audio.to_vec();
    }
    let dir = std::env::temp_dir();
    let id = format!("{}-{tag}", std::process::id());
    let (inp, out): (PathBuf, PathBuf) = (
        dir.join(format!("calib-in-{id}.wav")),
        dir.join(format!("calib-out-{id}.wav")),
    );
    Clip::new(RATE, matcoach::voice::resample::to_i16(audio))
        .write_wav(&inp)
        .unwrap();
    let status = std::process::Command::new("sox")
        .arg(&inp)
        .arg(&out)
        .args(effects)
        .args(["rate", "16000"])
        .status()
        .unwrap_or_else(|e| panic!("sox must be installed (sudo apt install sox): {e}"));
    assert!(status.success(), "sox {effects:?}: {status}");
    let clip = Clip::read_wav(&out).unwrap();
    let _ = std::fs::remove_file(&inp);
    let _ = std::fs::remove_file(&out);
    clip.samples
        .iter()
        .map(|s| f32::from(*s) / 32768.0)
        .collect()
}

/// One take: `text` in `voice` at `wpm`, altered, in the room, with noise
/// before and after (as the voice check records it).
fn take(voice: &Voice, rendered: &[f32], seed: u64) -> Vec<i16> {
    let altered = sox(rendered, voice.sox, &format!("{seed}"));
    let peak = altered.iter().fold(0f32, |m, s| m.max(s.abs())).max(1e-6);
    let speech: Vec<i16> = altered
        .iter()
        .map(|s| room::to_i16(s / peak * 0.5 * 32767.0))
        .collect();
    let wet = room::talker(&speech, voice.drr_db, voice.rt60_ms, seed);
    let lead = RATE as usize * 6 / 10;
    let mut out = vec![0f32; lead];
    out.extend(&wet);
    out.resize(out.len() + RATE as usize * 6 / 10, 0.0);
    let active = room::active_rms(&speech);
    let noise_db = 20.0 * (active / 32768.0).log10() - voice.snr_db;
    let mut rng = room::Rng::new(seed);
    let noise = room::noise(out.len(), noise_db, &mut rng);
    out.iter()
        .zip(&noise)
        .map(|(a, b)| room::to_i16(a + b))
        .collect()
}

const PROSE: [&str; 4] = [
    "I think we should go for a walk later today",
    "the kettle is boiling, can you get it",
    "my back feels a little better this morning",
    "put the paper on the table please",
];

fn asked_of(text: &str) -> Asked {
    match grammar::parse(text, Lang::En) {
        Some(c) => Asked::Command(c),
        None => Asked::Other(text.to_string()),
    }
}

/// The takes of `voice`: each text at each speed.
fn takes(voice: &Voice, texts: &[&str], speeds: &[u32], seed: u64) -> Vec<Take> {
    let mut set = Vec::new();
    for t in texts {
        for wpm in speeds {
            set.push(Utterance {
                text: (*t).into(),
                voice: voice.base.into(),
                wpm: *wpm,
                lang: Lang::En,
            });
        }
    }
    let rendered = voice_data::render_all(&set);
    set.iter()
        .zip(&rendered)
        .enumerate()
        .map(|(k, (u, r))| Take {
            asked: asked_of(&u.text),
            pcm: take(voice, &r.audio, seed + k as u64),
        })
        .collect()
}

fn command_words() -> Vec<&'static str> {
    Command::ALL.iter().map(|c| c.words(Lang::En)[0]).collect()
}

#[test]
#[ignore]
fn explore_voices() {
    use matcoach::voice::calibrate::score;
    use matcoach::voice::pipeline::{DeciderConfig, Pipeline};
    use matcoach::voice::sphinx::{SphinxOptions, SphinxRecognizer};
    let voices = [
        Voice {
            name: "klatt4 low",
            base: "en-us+klatt4",
            sox: &["pitch", "-200"],
            drr_db: 6.0,
            rt60_ms: 400,
            snr_db: 18.0,
        },
        Voice {
            name: "kal",
            base: "flite/kal",
            sox: &[],
            drr_db: 6.0,
            rt60_ms: 400,
            snr_db: 15.0,
        },
        Voice {
            name: "scot",
            base: "en-gb-scotland+klatt",
            sox: &["tempo", "1.1"],
            drr_db: 6.0,
            rt60_ms: 400,
            snr_db: 15.0,
        },
    ];
    for v in &voices {
        let words = command_words();
        let mut all = takes(v, &words, &[140, 180, 220], 1);
        all.extend(takes(
            v,
            &voice_data::NON_COMMANDS[..20]
                .iter()
                .copied()
                .chain(PROSE)
                .collect::<Vec<_>>(),
            &[160],
            500,
        ));
        let cfg = matcoach::config::Voice::default();
        let base = matcoach::voice::decider_config(matcoach::voice::Engine::Pocketsphinx, &cfg);
        for (mass, voiced, unk) in [
            (0.1, 0.5, 0),
            (0.1, 0.0, 0),
            (0.1, 0.5, 1),
            (0.3, 0.5, 0),
            (0.6, 0.5, 0),
        ] {
            let d = DeciderConfig {
                min_voiced: voiced,
                max_unknown_words: unk,
                ..base.clone()
            };
            let opts = SphinxOptions {
                command_mass: mass,
                ..SphinxOptions::default()
            };
            let make = || {
                let rec =
                    SphinxRecognizer::with_options(Lang::En, &grammar::words(Lang::En), &opts)
                        .unwrap();
                Pipeline::new(
                    Box::new(rec),
                    matcoach::voice::open_front_end(matcoach::voice::Engine::Pocketsphinx, false)
                        .unwrap(),
                    Lang::En,
                    d.clone(),
                )
            };
            let runs = matcoach::voice::calibrate::run_takes(&all, make()).unwrap();
            let r = matcoach::voice::calibrate::Score::of(&all, &runs);
            let confs: Vec<String> = all
                .iter()
                .zip(&runs)
                .filter(|(_, d)| !d.is_empty())
                .map(|(t, d)| {
                    format!(
                        "{:?}:{}",
                        t.asked,
                        d.iter()
                            .map(|d| format!("{}/{:.2}", d.word, d.confidence))
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                })
                .collect();
            println!(
                "{} mass {mass} voiced {voiced} unk {unk}: heard {}/{} false {}/{}\n   {}",
                v.name,
                r.heard,
                r.commands,
                r.false_accepts,
                r.others,
                confs.join("  ")
            );
            let _ = score;
        }
    }
}
