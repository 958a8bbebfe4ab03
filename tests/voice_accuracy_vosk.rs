//! English recognition accuracy of the Vosk backend (the default engine)
//! against the goal itself — recall ≥ 95 %, false accepts ≤ 3 % — on the
//! set PocketSphinx is measured on (`voice_data`: espeak-ng and flite
//! voices, three speeds, clean and at 20 and 10 dB SNR), through the
//! daemon's own pipeline for Vosk (`voice::decider_config`,
//! `voice::open_front_end`).
//!
//! It needs Vosk's small English model, which cannot be downloaded on the
//! machines this is developed on, so it is ignored by default. On a
//! machine that has it (a Pi after `matcoach setup-model --lang en`, or
//! `MATCOACH_VOSK_MODEL_EN=/path/to/vosk-model-small-en-us-0.15`):
//!
//! ```sh
//! cargo test --release --features voice-vosk,voice-aec \
//!     --test voice_accuracy_vosk -- --ignored --nocapture
//! ```
#![cfg(feature = "voice-vosk")]

mod voice_data;

use matcoach::content::Lang;
use matcoach::voice::pipeline::Pipeline;
use matcoach::voice::vosk::{VoskModel, VoskRecognizer};
use matcoach::voice::{decider_config, grammar, open_front_end, Engine};
use std::path::PathBuf;
use std::sync::Arc;
use voice_data::score::{evaluate, summarise, GOAL_FALSE_ACCEPTS, GOAL_RECALL};

/// Where the English model is: `MATCOACH_VOSK_MODEL_EN`, else where
/// `matcoach setup-model --lang en` puts it for this user.
fn model_dir() -> PathBuf {
    match std::env::var_os("MATCOACH_VOSK_MODEL_EN") {
        Some(d) => PathBuf::from(d),
        None => matcoach::voice::model::model_dir(&matcoach::config::Voice::default(), Lang::En),
    }
}

#[test]
#[ignore = "needs Vosk's English model: `matcoach setup-model --lang en`, or MATCOACH_VOSK_MODEL_EN=DIR"]
fn vosk_hears_english_commands_to_the_goal() {
    let dir = model_dir();
    assert!(
        dir.is_dir(),
        "no Vosk English model at {}: run `matcoach setup-model --lang en`, or set \
         MATCOACH_VOSK_MODEL_EN to a model directory",
        dir.display()
    );
    matcoach::voice::vosk::quiet_logs();
    let model = Arc::new(VoskModel::load(&dir, Lang::En).unwrap_or_else(|e| panic!("{e}")));
    let voice = matcoach::config::Voice::default();
    // The daemon's Vosk pipeline, sharing one loaded model.
    let make = || {
        let rec = VoskRecognizer::with_model(
            model.clone(),
            &grammar::words(Lang::En),
            grammar::fillers(Lang::En),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let front = open_front_end(Engine::Vosk, false).unwrap_or_else(|e| panic!("{e}"));
        Pipeline::new(
            Box::new(rec),
            front,
            Lang::En,
            decider_config(Engine::Vosk, &voice),
        )
    };
    // One pipeline first, so a model that cannot listen fails once.
    drop(make());
    let streams = voice_data::english_streams();
    let t = std::time::Instant::now();
    let outcomes = evaluate(streams, &make);
    let s = summarise(&outcomes, true);
    println!(
        "model {}; decoded in {:.1} s\n{}",
        dir.display(),
        t.elapsed().as_secs_f64(),
        s.text
    );
    assert!(
        s.recall >= GOAL_RECALL && s.false_accepts <= GOAL_FALSE_ACCEPTS,
        "recall {:.1}% (goal {:.0}%), false accepts {:.1}% (goal {:.0}%)",
        s.recall * 100.0,
        GOAL_RECALL * 100.0,
        s.false_accepts * 100.0,
        GOAL_FALSE_ACCEPTS * 100.0
    );
}
