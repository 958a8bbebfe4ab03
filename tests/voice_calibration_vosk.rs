//! Personal calibration (issue 16, item 2) on the real Vosk path: the
//! Korean model (the only Vosk model to be had here, see
//! `voice_data::korean`) with its words reported as the English commands
//! they stand for, espeak-ng's Korean voice, three takes per command word
//! and sentences. Calibration must work with either engine.
#![cfg(feature = "voice-vosk")]

mod common;
use common::voice_data;

use matcoach::command::Command;
use matcoach::content::Lang;
use matcoach::hearing::calibrate::{fit_with, run_takes, Asked, Calibration, Score, Take};
use matcoach::hearing::pipeline::Pipeline;
use matcoach::hearing::{Engine, Recognizer};
use voice_data::korean::{self, AsEnglish};

fn take(text: &'static str) -> Vec<i16> {
    korean::Stream::default()
        .gap(400)
        .say(text)
        .gap(600)
        .pcm(korean::FAINT)
}

#[test]
fn vosk_calibrates_on_korean_takes_and_the_pipeline_applies_it() {
    let Some(model) = korean::korean() else {
        return;
    };
    let mut takes = Vec::new();
    for (word, english) in korean::COMMANDS {
        let cmd = matcoach::hearing::grammar::parse(english, Lang::En).unwrap();
        for _ in 0..3 {
            takes.push(Take {
                asked: Asked::Command(cmd),
                pcm: take(word),
            });
        }
    }
    for s in &korean::SENTENCES[..3] {
        takes.push(Take {
            asked: Asked::Other((*s).into()),
            pcm: take(s),
        });
    }
    let voice = matcoach::config::Voice::default();
    let open = || -> Box<dyn Recognizer> { Box::new(AsEnglish(korean::recognizer(&model, true))) };
    let cal = fit_with(&takes, Lang::En, Engine::Vosk, &voice, &mut |_, _| {
        Ok(open())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    println!("{cal:?}");
    assert!(cal.fits(Lang::En, Engine::Vosk));
    let level = cal.speech_level_dbfs.expect("a speech level");
    assert!((-40.0..0.0).contains(&level), "speech level {level} dBFS");
    assert!(
        cal.command_prior.is_empty() && cal.heard_as.is_empty(),
        "Vosk has neither"
    );
    assert_eq!(cal.before.commands, 12);
    assert!(cal.after.heard >= cal.before.heard, "{:?}", cal);
    assert!(
        cal.after.false_accepts <= cal.before.false_accepts,
        "{:?}",
        cal
    );
    for (cmd, t) in &cal.min_confidence {
        let lim = matcoach::hearing::calibrate::limits(*cmd);
        assert!(
            (lim.floor..=lim.ceiling).contains(t),
            "{cmd:?}: {t} outside the limits"
        );
    }
    // The pipeline with the calibration gives what the fit measured.
    let cfg = matcoach::hearing::decider_config(Engine::Vosk, &voice);
    let with = |c: Option<&Calibration>| {
        let p = Pipeline::calibrated(open(), None, Lang::En, cfg.clone(), c);
        Score::of(&takes, &run_takes(&takes, p).unwrap())
    };
    assert_eq!(with(Some(&cal)), cal.after);
    assert_eq!(with(None), cal.before);
    // A stop heard at all is heard with the calibration.
    assert!(cal.after.heard > 0, "{cal:?}");
    let _ = Command::Stop;
}
