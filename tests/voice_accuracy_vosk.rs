//! Recognition accuracy of the Vosk backend (the default engine) against
//! the goal itself — recall ≥ 95 %, false accepts ≤ 3 % — in English, on
//! the set PocketSphinx is measured on (espeak-ng and flite voices), and in
//! Dutch, on the same design with Dutch words, sound-alikes and espeak-ng's
//! Dutch voices (`voice_data`: three speeds, clean and at 20 and 10 dB
//! SNR), through the daemon's own pipeline for Vosk
//! (`voice::decider_config`, `voice::open_front_end`).
//!
//! They need Vosk's small models, which cannot be downloaded on the
//! machines this is developed on, so they are ignored by default. On a
//! machine that has them (a Pi after `matcoach setup-model --lang en` and
//! `--lang nl`, or `MATCOACH_VOSK_MODEL_EN=DIR` / `MATCOACH_VOSK_MODEL_NL=DIR`):
//!
//! ```sh
//! cargo test --release --features voice-vosk,voice-aec \
//!     --test voice_accuracy_vosk -- --ignored --nocapture
//! ```
#![cfg(feature = "voice-vosk")]

mod common;
use common::voice_data;

use matcoach::content::Lang;
use matcoach::hearing::pipeline::Pipeline;
use matcoach::hearing::vosk::{VoskModel, VoskRecognizer};
use matcoach::hearing::{decider_config, grammar, open_front_end, Engine};
use std::sync::Arc;
use voice_data::score::{evaluate, summarise, GOAL_FALSE_ACCEPTS, GOAL_RECALL};

/// The set's labels agree with the grammar: every command word is the
/// command it stands for, and no non-command parses as one.
#[test]
fn the_sets_are_labelled_by_the_grammar() {
    for words in [&voice_data::ENGLISH, &voice_data::DUTCH] {
        let lang = words.lang;
        let grammar = grammar::words(lang);
        for w in words.commands {
            assert!(grammar.contains(w), "{lang}: {w:?} is not a command word");
            assert!(grammar::parse(w, lang).is_some(), "{lang}: {w:?}");
        }
        for c in matcoach::command::Command::ALL {
            assert!(
                c.words(lang).iter().all(|w| words.commands.contains(w)),
                "{lang}: the set lacks a word for {c:?}"
            );
        }
        assert!(words.non_commands.len() >= 20, "{lang}");
        for w in words.non_commands {
            assert_eq!(grammar::parse(w, lang), None, "{lang}: {w:?} is a command");
        }
    }
}

/// Every stream of `lang` through the daemon's Vosk pipeline (one loaded
/// model shared); asserts the goal.
fn vosk_reaches_the_goal(lang: Lang, streams: &[voice_data::Stream]) {
    let dir = common::vosk_model_dir(lang);
    matcoach::hearing::vosk::quiet_logs();
    let model = Arc::new(VoskModel::load(&dir, lang).unwrap_or_else(|e| panic!("{e}")));
    let voice = matcoach::config::Voice::default();
    let make = || {
        let rec = VoskRecognizer::with_model(
            model.clone(),
            &grammar::words(lang),
            grammar::fillers(lang),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let front = open_front_end(Engine::Vosk, false).unwrap_or_else(|e| panic!("{e}"));
        Pipeline::new(
            Box::new(rec),
            front,
            lang,
            decider_config(Engine::Vosk, &voice),
        )
    };
    // One pipeline first, so a model that cannot listen fails once.
    drop(make());
    let t = std::time::Instant::now();
    let outcomes = evaluate(streams, &make);
    let s = summarise(&outcomes, true);
    println!(
        "{lang}, model {}; decoded in {:.1} s\n{}",
        dir.display(),
        t.elapsed().as_secs_f64(),
        s.text
    );
    assert!(
        s.recall >= GOAL_RECALL && s.false_accepts <= GOAL_FALSE_ACCEPTS,
        "{lang}: recall {:.1}% (goal {:.0}%), false accepts {:.1}% (goal {:.0}%)",
        s.recall * 100.0,
        GOAL_RECALL * 100.0,
        s.false_accepts * 100.0,
        GOAL_FALSE_ACCEPTS * 100.0
    );
}

#[test]
#[ignore = "needs Vosk's English model: `matcoach setup-model --lang en`, or MATCOACH_VOSK_MODEL_EN=DIR"]
fn vosk_hears_english_commands_to_the_goal() {
    vosk_reaches_the_goal(Lang::En, voice_data::english_streams());
}

#[test]
#[ignore = "needs Vosk's Dutch model: `matcoach setup-model --lang nl`, or MATCOACH_VOSK_MODEL_NL=DIR"]
fn vosk_hears_dutch_commands_to_the_goal() {
    vosk_reaches_the_goal(Lang::Nl, voice_data::dutch_streams());
}
