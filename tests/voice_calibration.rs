//! Personal calibration (issue 16, item 2), measured: voices that the
//! default settings hear poorly (synthetic voices altered with sox, in a
//! reverberant, noisy room), calibrated on three takes per command word,
//! then scored on that voice's other takes and on sound-alikes and prose.
//! PocketSphinx, English, through `voice::calibrate::fit` and the daemon's
//! pipeline (`voice::open_pipeline_calibrated`).
#![cfg(all(feature = "voice-pocketsphinx", feature = "voice-aec"))]

mod common;
use common::voice_data;

use matcoach::command::Command;
use matcoach::content::Lang;
use matcoach::hearing::calibrate::{fit, run_takes, Score, Take};
use matcoach::hearing::grammar;
use matcoach::hearing::Engine;
use voice_data::altered::{self, Noise, Voice};

const PROSE: [&str; 4] = [
    "I think we should go for a walk later today",
    "the kettle is boiling, can you get it",
    "my back feels a little better this morning",
    "put the paper on the table please",
];

/// The takes of `voice`: each text at each speed.
fn takes(voice: &Voice, texts: &[&str], speeds: &[u32], seed: u64) -> Vec<Take> {
    altered::takes(voice, texts, speeds, seed, &|t| grammar::parse(t, Lang::En))
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

/// The dry speech's peak: half of full scale.
const PEAK_DBFS: f32 = -6.02;

/// The English voice `base` altered by the effects `sox`, a metre away
/// in a reverberant room (RT60 400 ms) with pink noise 15 dB below the
/// speech.
fn in_room(name: &'static str, base: &'static str, sox: &'static [&'static str]) -> Voice {
    Voice {
        name,
        base,
        lang: Lang::En,
        sox,
        peak_dbfs: PEAK_DBFS,
        drr_db: 6.0,
        rt60_ms: 400,
        snr_db: 15.0,
        noise: Noise::Room,
    }
}

/// A synthetic voice PocketSphinx hears poorly by default: espeak-ng's
/// Klatt voice 4, two semitones lower (pitch and formants, sox `pitch`),
/// a metre away in a reverberant room (RT60 400 ms) with pink noise 18 dB
/// below the speech.
fn low_klatt() -> Voice {
    Voice {
        snr_db: 18.0,
        ..in_room(
            "espeak-ng en-us+klatt4, sox pitch -200, RT60 400 ms, pink noise 18 dB SNR",
            "en-us+klatt4",
            &["pitch", "-200"],
        )
    }
}

/// The first voice in a rumbling room (a washing machine, traffic): a low
/// rumble 6 dB below the speech instead of broadband noise. PocketSphinx
/// still decodes the words, but the default VAD, which measures all of the
/// sound's energy, backs too little of them; the speech level calibration
/// finds lets it hear them.
fn rumbling_klatt() -> Voice {
    Voice {
        name: "espeak-ng en-us+klatt4, sox pitch -200, RT60 400 ms, rumble 6 dB SNR",
        noise: Noise::Rumble,
        snr_db: 6.0,
        ..low_klatt()
    }
}

/// The issue asks that calibrating on three takes per word raise recall
/// on the voice's other takes without raising false accepts. Measured here
/// (docs/voice.md, "Calibration"), PocketSphinx's recogniser-side levers
/// did not do both on any of four generated voices in broadband noise; the
/// speech level the VAD expects does in a rumbling room, which this
/// asserts.
#[test]
fn calibration_hears_more_of_other_takes_without_more_false_commands() {
    let v = rumbling_klatt();
    let m = measure(&v);
    altered::show_and_assert(v.name, &m.before, &m.after, (18, 30), &m.cal, m.secs);
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
        in_room(
            "flite kal (8 kHz), RT60 400 ms, pink noise 15 dB SNR",
            "flite/kal",
            &[],
        ),
        in_room(
            "espeak-ng en-gb-scotland+klatt, sox tempo 1.1, RT60 400 ms, pink noise 15 dB SNR",
            "en-gb-scotland+klatt",
            &["tempo", "1.1"],
        ),
        rumbling_klatt(),
        Voice {
            drr_db: 3.0,
            rt60_ms: 600,
            ..in_room(
                "flite slt, sox pitch -400 tempo 0.9, RT60 600 ms, pink noise 15 dB SNR",
                "flite/slt",
                &["pitch", "-400", "tempo", "0.9"],
            )
        },
    ];
    let only = std::env::var("CALIBRATION_ONLY").unwrap_or_default();
    println!("{}", altered::TABLE_HEADER);
    for v in voices.iter().filter(|v| v.name.contains(only.as_str())) {
        let m = measure(v);
        println!("{}", altered::table_row(v.name, &m.before, &m.after));
        eprintln!("  {:?} ({:.0} s)", m.cal, m.secs);
    }
}

/// Diagnosis aid (ignored): what PocketSphinx alone hears in each take of
/// some voices, sound-alikes of the command words as themselves.
#[test]
#[ignore]
fn explore_voices() {
    let voices = [low_klatt(), in_room("kal", "flite/kal", &[])];
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
