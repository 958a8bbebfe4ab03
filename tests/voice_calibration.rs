//! Personal calibration (issue 16, item 2), measured: voices that the
//! default settings hear poorly (synthetic voices altered with sox, in a
//! reverberant, noisy room), calibrated on three takes per command word,
//! then scored on that voice's other takes and on sound-alikes and prose.
//! PocketSphinx, English, through `voice::calibrate::fit` and the daemon's
//! pipeline (`voice::open_pipeline_calibrated`).
#![cfg(all(feature = "voice-pocketsphinx", feature = "voice-aec"))]

mod common;
use common::room;
use common::voice_data;

use matcoach::audio::Clip;
use matcoach::command::Command;
use matcoach::content::Lang;
use matcoach::hearing::calibrate::{fit, run_takes, Asked, Score, Take};
use matcoach::hearing::grammar;
use matcoach::hearing::Engine;
use matcoach::hearing::RATE;
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
    Clip::new(RATE, matcoach::audio::resample::to_i16(audio))
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
        .map(|s| matcoach::audio::analysis::sample_to_f32(*s))
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
    let lead = RATE as usize * 4 / 10;
    let mut out = vec![0f32; lead];
    out.extend(&wet);
    out.resize(out.len() + RATE as usize / 2, 0.0);
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

/// What a voice's evaluation found, before and after calibration.
struct Measured {
    cal: matcoach::hearing::calibrate::Calibration,
    before: Score,
    after: Score,
    secs: f64,
}

/// The calibration takes: every command word three times (three speeds),
/// a few sound-alikes and two sentences. The evaluation: the same words at
/// three other speeds (other noise), the other sound-alikes, two other
/// sentences.
fn measure(v: &Voice) -> Measured {
    let t0 = std::time::Instant::now();
    let words = command_words();
    let alikes_fit = ["top", "paint", "nest", "stock", "pose", "report"];
    let mut fit_takes = takes(v, &words, &[140, 180, 220], 1);
    fit_takes.extend(takes(
        v,
        &alikes_fit
            .iter()
            .copied()
            .chain(PROSE[..2].iter().copied())
            .collect::<Vec<_>>(),
        &[160],
        100,
    ));
    let mut eval = takes(v, &words, &[120, 160, 200], 1000);
    let others: Vec<&str> = voice_data::NON_COMMANDS
        .iter()
        .copied()
        .filter(|w| !alikes_fit.contains(w))
        .chain(PROSE[2..].iter().copied())
        .collect();
    eval.extend(takes(v, &others, &[170], 2000));
    let voice = matcoach::config::Voice {
        engine: Engine::Pocketsphinx,
        ..matcoach::config::Voice::default()
    };
    let cal =
        fit(&fit_takes, Lang::En, Engine::Pocketsphinx, &voice).unwrap_or_else(|e| panic!("{e}"));
    let run = |c: Option<&matcoach::hearing::calibrate::Calibration>| {
        let p = matcoach::hearing::open_pipeline_calibrated(
            Engine::Pocketsphinx,
            Lang::En,
            &voice,
            false,
            c,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Score::of(
            &eval,
            &run_takes(&eval, p).unwrap_or_else(|e| panic!("{e}")),
        )
    };
    let (before, after) = std::thread::scope(|s| {
        let b = s.spawn(|| run(None));
        let a = run(Some(&cal));
        (
            b.join()
                .unwrap_or_else(|_| panic!("the run before calibration failed")),
            a,
        )
    });
    Measured {
        cal,
        before,
        after,
        secs: t0.elapsed().as_secs_f64(),
    }
}

fn row(v: &Voice, m: &Measured) -> String {
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    format!(
        "| {} | {}/{} ({:.0} %) | {}/{} ({:.0} %) | {}/{} | {}/{} |",
        v.name,
        m.before.heard,
        m.before.commands,
        pct(m.before.heard, m.before.commands),
        m.after.heard,
        m.after.commands,
        pct(m.after.heard, m.after.commands),
        m.before.false_accepts,
        m.before.others,
        m.after.false_accepts,
        m.after.others,
    )
}

const HEADER: &str = "| voice | recall before | recall after | false accepts before | false accepts after |\n|---|---|---|---|---|";

/// A synthetic voice PocketSphinx hears poorly by default: espeak-ng's
/// Klatt voice 4, two semitones lower (pitch and formants, sox `pitch`),
/// a metre away in a reverberant room (RT60 400 ms) with pink noise 18 dB
/// below the speech.
fn low_klatt() -> Voice {
    Voice {
        name: "espeak-ng en-us+klatt4, sox pitch -200, RT60 400 ms, pink noise 18 dB SNR",
        base: "en-us+klatt4",
        sox: &["pitch", "-200"],
        drr_db: 6.0,
        rt60_ms: 400,
        snr_db: 18.0,
    }
}

/// The issue asks that calibrating on three takes per word raise recall
/// on the voice's other takes without raising false accepts. Measured here
/// (docs/voice.md, "Calibration"), PocketSphinx's levers did not do both
/// on any of four generated voices: so this asserts what calibration must
/// never do (hear fewer of the user's other takes, or take more other
/// speech for commands) and prints the before/after row; the rise is not
/// asserted because it was not achieved.
#[test]
fn calibration_never_hears_less_nor_more_false_commands_on_other_takes() {
    let v = low_klatt();
    let m = measure(&v);
    println!("{HEADER}\n{}", row(&v, &m));
    println!("calibration: {:?}\n({:.0} s)", m.cal, m.secs);
    assert!(
        m.after.heard >= m.before.heard,
        "recall fell: {:?} → {:?}",
        m.before,
        m.after
    );
    assert!(
        m.after.false_accepts <= m.before.false_accepts,
        "false accepts rose: {:?} → {:?}",
        m.before,
        m.after
    );
    assert!(
        m.before.commands == 18 && m.before.others == 30,
        "{:?}",
        m.before
    );
    assert!(m.cal.speech_level_dbfs.is_some(), "{:?}", m.cal);
}

/// The table for docs/voice.md (ignored: several voices take minutes):
/// `cargo test --release --features voice-pocketsphinx,voice-aec --test
/// voice_calibration -- --ignored --nocapture`.
#[test]
#[ignore]
fn calibration_table() {
    let voices = [
        low_klatt(),
        Voice {
            name: "flite kal (8 kHz), RT60 400 ms, pink noise 15 dB SNR",
            base: "flite/kal",
            sox: &[],
            drr_db: 6.0,
            rt60_ms: 400,
            snr_db: 15.0,
        },
        Voice {
            name:
                "espeak-ng en-gb-scotland+klatt, sox tempo 1.1, RT60 400 ms, pink noise 15 dB SNR",
            base: "en-gb-scotland+klatt",
            sox: &["tempo", "1.1"],
            drr_db: 6.0,
            rt60_ms: 400,
            snr_db: 15.0,
        },
        Voice {
            name: "flite slt, sox pitch -400 tempo 0.9, RT60 600 ms, pink noise 15 dB SNR",
            base: "flite/slt",
            sox: &["pitch", "-400", "tempo", "0.9"],
            drr_db: 3.0,
            rt60_ms: 600,
            snr_db: 15.0,
        },
    ];
    println!("{HEADER}");
    for v in &voices {
        let m = measure(v);
        println!("{}", row(v, &m));
        eprintln!("  {:?} ({:.0} s)", m.cal, m.secs);
    }
}

/// Diagnosis aid (ignored): what PocketSphinx alone hears in each take of
/// some voices, sound-alikes of the command words as themselves.
#[test]
#[ignore]
fn explore_voices() {
    let voices = [
        low_klatt(),
        Voice {
            name: "kal",
            base: "flite/kal",
            sox: &[],
            drr_db: 6.0,
            rt60_ms: 400,
            snr_db: 15.0,
        },
    ];
    for v in &voices {
        let all = takes(v, &command_words(), &[140, 180, 220], 1);
        let opts = matcoach::hearing::sphinx::SphinxOptions {
            garbage_words: true,
            ..Default::default()
        };
        let mut rec = matcoach::hearing::sphinx::SphinxRecognizer::with_options(
            Lang::En,
            &grammar::words(Lang::En),
            &opts,
        )
        .unwrap();
        let heard = matcoach::hearing::calibrate::heard_words(&all, &mut rec).unwrap();
        for (t, h) in all.iter().zip(&heard) {
            println!("{} {:?}: {:?}", v.name, t.asked, h);
        }
    }
}
