//! The coach must not obey its own voice. The coach's phrases (real
//! espeak-ng audio of the shipped content) are played through a simulated
//! room (tests/common/room) and the microphone signal goes through the real
//! listening pipeline: Speex echo cancellation with what was played as the
//! reference, then PocketSphinx and the decider.
//!
//! - echo reduction: ERLE of [`SpeexAec`] on content phrases in rooms
//!   (needs only `voice-aec`);
//! - the echo tracker (`hearing::echo_tracker`): what a canceller that has not learned
//!   the room leaves of the coach is not taken for the user, and the user
//!   over a converged one is (needs only `voice-aec`);
//! - self-trigger: the coach's phrases back to back must give no detection
//!   at all with echo cancellation (and we report how many they give
//!   without it);
//! - barge-in: "stop" said by the user (another voice) over the coach, as
//!   loud as the echo, is heard shortly after it is said.
//!
//! By default the self-trigger tests play every phrase that contains a
//! command word plus a sample of the rest (a debug build plays the whole
//! content too slowly); `cargo test --release --features
//! voice-aec,voice-pocketsphinx --test voice_selftrigger -- --ignored`
//! plays every phrase of the content. Run with `--nocapture` to see the
//! measured figures. With Vosk's models (`matcoach setup-model`, or
//! `MATCOACH_VOSK_MODEL_EN`/`_NL`), `--features voice-aec,voice-vosk -- --ignored
//! vosk` plays the whole content of each language into its own Vosk
//! pipeline.
//!
//! The harness (rooms, streams, the ear, the scores) is
//! `tests/common/selftrigger`; this file holds the tests and their limits.
#![cfg(feature = "voice-aec")]

mod common;

#[cfg(feature = "voice-vosk")]
use common::voice_data;

use common::rng::Rng;
use common::selftrigger::*;
use matcoach::audio::resample::to_i16;
use matcoach::content::Lang;
use matcoach::hearing::aec::{AecOptions, SpeexAec};
use matcoach::hearing::pipeline::{DeciderConfig, EchoCanceller, FRAME};

#[test]
fn echo_is_reduced_by_at_least_15_db() {
    let all = phrases(Lang::En);
    let sets: Vec<Vec<usize>> = (1..=4)
        .map(|seed| long_phrases(all, 4, 4.0, seed))
        .collect();
    prepare(all, &sets.concat());
    let variants = [
        (
            "AEC + residual suppression (default)",
            AecOptions::default(),
        ),
        (
            "AEC alone",
            AecOptions {
                residual_suppression: false,
                ..AecOptions::default()
            },
        ),
    ];
    let mut report = Vec::new();
    let mut worst = f32::INFINITY;
    for (name, opts) in variants {
        let mut converged = Vec::new();
        let mut after_change = Vec::new();
        for (seed, chosen) in sets.iter().enumerate() {
            // One room for the first half; then the room changes (the user
            // moved the speaker) and the canceller must follow.
            let s = stream(all, chosen, ROOMS, 2, seed as u64 + 1);
            let mut aec = SpeexAec::with_options(FRAME, TAIL_MS, opts).unwrap();
            let cleaned = aec.process_all(&s.mic, &s.playback);
            // After 3 s of the first room, to the end of its second phrase.
            let (a, b) = (s.spans[0].0 + 3 * 16_000, s.spans[2].0);
            converged.push(erle(&s, &cleaned, a..b));
            after_change.push(erle(&s, &cleaned, b..s.spans[3].0));
        }
        let line = |v: &[f32]| {
            v.iter()
                .map(|d| format!("{d:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        report.push(format!(
            "{name}: ERLE converged {} dB; first phrase after a room change {} dB",
            line(&converged),
            line(&after_change)
        ));
        if opts == AecOptions::default() {
            worst = converged.iter().copied().fold(worst, f32::min);
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        worst >= 15.0,
        "ERLE {worst:.1} dB < 15 dB:\n{}",
        report.join("\n")
    );
}

/// The echo tracker (hearing::echo_tracker) against what the share test cannot tell
/// apart: the coach's voice passed by a canceller that has not learned the
/// room (which changes with every phrase here), and the user's "stop", as
/// loud as the echo, over a converged canceller and over one still
/// learning (the daemon's first phrases: "ready", then the welcome). A
/// frame passes when its envelope does not follow the playback's or it
/// rises well above the echo the playback predicts. Pass must most of the
/// user's frames (a word needs half of its frames) and few of the coach's.
#[test]
fn the_coach_left_over_by_the_canceller_is_not_taken_for_the_user() {
    let all = phrases(Lang::En);
    let cfg = DeciderConfig::default();
    let mut rng = Rng::new(31);
    let mut chosen: Vec<usize> = (0..all.len()).collect();
    for k in (1..chosen.len()).rev() {
        chosen.swap(k, rng.next_u64() as usize % (k + 1));
    }
    chosen.truncate(60);
    let users = long_phrases(all, 9, 5.0, 5);
    let learning = after_ready(all, 12);
    prepare(
        all,
        &[chosen.clone(), users.clone(), learning.concat()].concat(),
    );
    let changing = stream(all, &chosen, ROOMS, 1, 32);
    let coach = frames_taken_for_the_user(&changing.mic, &changing.playback);
    // The user's frames: over each set's phrases but the first.
    let user = |sets: &[Vec<usize>]| {
        let mut out = Vec::new();
        for (k, set) in sets.iter().enumerate() {
            let b = barge_in_stream(all, set, &user_stop(), 0.0, 5 + k as u64);
            out.extend(
                frames_taken_for_the_user(&b.stream.mic, &b.stream.playback)
                    .into_iter()
                    .filter(|(f, _, _)| {
                        let ms = *f as u64 * 20;
                        b.trials.iter().any(|t| t.start_ms <= ms && ms <= t.end_ms)
                    }),
            );
        }
        out
    };
    let converged = user(std::slice::from_ref(&users));
    let learning = user(&learning);
    let passes = |v: &[(usize, f32, Option<f32>)]| {
        v.iter()
            .filter(|(_, c, x)| cfg.not_the_echo(*c, || *x))
            .count() as f32
            / v.len().max(1) as f32
    };
    let line = |name: &str, v: &[(usize, f32, Option<f32>)]| {
        let corr: Vec<f32> = v.iter().map(|f| f.1).collect();
        let excess: Vec<f32> = v.iter().map(|f| f.2.unwrap_or(f32::NAN)).collect();
        format!(
            "  {name}:\n    {}\n    {}\n    {:.0} % pass",
            quartiles("correlation", &corr),
            quartiles("excess (dB)", &excess),
            passes(v) * 100.0
        )
    };
    let text = format!(
        "echo tracker, correlation below {} (or below {} with an excess of {} dB):\n{}\n{}\n{}",
        cfg.max_echo_correlation,
        cfg.max_loud_echo_correlation,
        cfg.min_user_excess_db,
        line("the coach, room changing with every phrase", &coach),
        line("the user over a converged canceller", &converged),
        line("the user over a canceller still learning", &learning),
    );
    eprintln!("{text}");
    assert!(
        coach.len() >= 500 && converged.len() >= 100 && learning.len() >= 100,
        "{text}"
    );
    assert!(passes(&coach) <= 0.15, "{text}");
    assert!(passes(&converged) >= 0.85, "{text}");
    assert!(passes(&learning) >= 0.7, "{text}");
}

#[cfg(any(feature = "voice-pocketsphinx", feature = "voice-vosk"))]
mod recognised {
    use super::*;
    use common::selftrigger::recognised::*;

    /// Vosk, when its model for the language is here (a Pi after `matcoach
    /// setup-model`): every phrase of the content into the pipeline of its
    /// own language.
    #[cfg(feature = "voice-vosk")]
    mod vosk {
        use super::*;

        fn full_content(lang: Lang, seed: u64) {
            let dir = common::vosk_model_dir(lang);
            matcoach::hearing::vosk::quiet_logs();
            let model = matcoach::hearing::vosk::VoskModel::load(&dir, lang)
                .unwrap_or_else(|e| panic!("{e}"));
            let ear = Ear::Vosk(std::sync::Arc::new(model), lang);
            let r = self_trigger(&ear, lang, None, true, seed);
            let text = r.report(lang);
            eprintln!("{text}");
            assert!(r.with_aec.is_empty(), "{text}");
            assert!(r.jumpy.as_ref().is_some_and(|j| j.is_empty()), "{text}");
        }

        /// The default engine's path with a real model, here: Vosk with the
        /// Korean model behind the daemon's echo canceller, while the coach
        /// speaks its English phrases. The coach alone gives no command, in
        /// a steady room and in one that changes with every phrase; the
        /// user's 멈춰 ("stop", espeak-ng's Korean voice) over the coach, as
        /// loud as its echo, is heard.
        #[test]
        fn vosk_hears_stop_over_the_coach_and_not_the_coach() {
            // Without the model (not run through scripts/test) this says so
            // and skips, as tests/voice_vosk.rs does; scripts/test installs it.
            let Some(model) = voice_data::korean::korean() else {
                return;
            };
            let ear = Ear::Korean(model);
            let r = self_trigger(&ear, Lang::En, Some(8), true, 41);
            let quiet = r.report(Lang::En);
            let all = phrases(Lang::En);
            let sets = [long_phrases(all, 9, 5.0, 7), long_phrases(all, 9, 5.0, 8)];
            let word = trimmed(&to_i16(&voice_data::korean::speak("멈춰")));
            let scores = barge_in(
                &ear,
                &word,
                &sets,
                0.0,
                &[(true, None), (false, ear.aec())],
                2,
            );
            let [alone, with_aec] = &scores[..] else {
                unreachable!()
            };
            // Over the first phrases after start (the canceller still learning).
            let first = barge_in(
                &ear,
                &word,
                &after_ready(all, 12),
                0.0,
                &[(false, ear.aec())],
                1,
            );
            let text = format!(
                "{quiet}\nbarge-in, 멈춰 over the coach at 0 dB user-to-echo, {}:\n  {}\n  {}\n  {}\n  missed with AEC: {:#?}\n  other detections with AEC: {:#?}",
                ear.label(),
                alone.line("the user alone (no echo)"),
                with_aec.line("over the coach, with AEC"),
                first[0].line("over the first phrases after start, with AEC"),
                [&with_aec.missed[..], &first[0].missed[..]].concat(),
                [&with_aec.stray[..], &first[0].stray[..]].concat(),
            );
            eprintln!("{text}");
            assert!(r.with_aec.is_empty(), "{text}");
            assert!(r.jumpy.as_ref().is_some_and(|j| j.is_empty()), "{text}");
            assert!(with_aec.trials >= 20, "{text}");
            // Measured 20 of 26 on the content of issue 13 (its new long
            // phrases: preconditions, red flags); 22 of 23 before. Raising
            // it is issue 16, item 5 (docs/voice.md, "Barge-in").
            assert!(with_aec.rate() >= 0.75, "{text}");
            assert!(with_aec.stray.is_empty(), "{text}");
            assert!(first[0].trials >= 12, "{text}");
            assert!(first[0].rate() >= 0.75, "{text}");
            assert!(first[0].stray.is_empty(), "{text}");
        }

        #[test]
        #[ignore = "needs Vosk's English model (`matcoach setup-model --lang en` or MATCOACH_VOSK_MODEL_EN=DIR); run with --release"]
        fn the_coach_does_not_trigger_vosk_in_english() {
            full_content(Lang::En, 31);
        }

        #[test]
        #[ignore = "needs Vosk's Dutch model (`matcoach setup-model --lang nl` or MATCOACH_VOSK_MODEL_NL=DIR); run with --release"]
        fn the_coach_does_not_trigger_vosk_in_dutch() {
            full_content(Lang::Nl, 32);
        }
    }

    /// PocketSphinx (English): the tests that run on these machines.
    #[cfg(feature = "voice-pocketsphinx")]
    mod sphinx {
        use super::*;

        /// Phrases besides the command-word ones in the default (debug) run.
        const SAMPLE_EN: usize = 16;
        const SAMPLE_NL: usize = 12;

        #[test]
        fn the_coach_does_not_trigger_itself() {
            let r = self_trigger(&SPHINX, Lang::En, Some(SAMPLE_EN), true, 11);
            let text = r.report(Lang::En);
            eprintln!("{text}");
            assert!(r.with_aec.is_empty(), "{text}");
            assert!(r.jumpy.as_ref().is_some_and(|j| j.is_empty()), "{text}");
        }

        #[test]
        fn dutch_speech_does_not_trigger_the_english_recogniser() {
            let r = self_trigger(&SPHINX, Lang::Nl, Some(SAMPLE_NL), false, 12);
            let text = r.report(Lang::Nl);
            eprintln!("{text}");
            assert!(r.with_aec.is_empty(), "{text}");
        }

        #[test]
        #[ignore = "every phrase of the content (79 min of audio, ~14 min to run in release): run with --release -- --ignored; last run: no command with echo cancellation, in steady rooms and in rooms that change with every phrase, English and Dutch"]
        fn the_coach_does_not_trigger_itself_full_content() {
            let mut texts = Vec::new();
            let mut failed = false;
            for (lang, seed) in [(Lang::En, 21), (Lang::Nl, 22)] {
                let r = self_trigger(&SPHINX, lang, None, true, seed);
                failed |= !r.with_aec.is_empty() || r.jumpy.as_ref().is_some_and(|j| !j.is_empty());
                let text = r.report(lang);
                eprintln!("{text}");
                texts.push(text);
            }
            assert!(!failed, "{}", texts.join("\n"));
        }

        /// The canceller still learning the room: the daemon's first
        /// phrases ("ready", then a session's welcome), the user's "stop"
        /// over the welcome as loud as its echo.
        #[test]
        fn stop_is_heard_over_the_first_phrases() {
            let sets = after_ready(phrases(Lang::En), 12);
            let scores = barge_in(
                &SPHINX,
                &user_stop(),
                &sets,
                0.0,
                &[(true, None), (false, aec())],
                2,
            );
            let [alone, with_aec] = &scores[..] else {
                unreachable!()
            };
            let text = format!(
                "barge-in over the first phrases after start:\n  {}\n  {}\n  missed with AEC: {:#?}",
                alone.line("the user alone (no echo)"),
                with_aec.line("over the coach, with AEC"),
                with_aec.missed,
            );
            eprintln!("{text}");
            assert!(with_aec.trials >= 12, "{text}");
            assert!(with_aec.rate() >= 0.75, "{text}");
            assert!(with_aec.stray.is_empty(), "{text}");
        }

        #[test]
        fn stop_is_heard_over_the_coach() {
            let all = phrases(Lang::En);
            let sets = [long_phrases(all, 9, 5.0, 5), long_phrases(all, 9, 5.0, 6)];
            // The user alone (the recogniser's baseline) and over the coach
            // with echo cancellation on both sets; without it on the first.
            let scores = barge_in(
                &SPHINX,
                &user_stop(),
                &sets,
                0.0,
                &[(true, None), (false, aec()), (false, None)],
                2,
            );
            let [alone, with_aec, without_aec] = &scores[..] else {
                unreachable!()
            };
            let text = format!(
            "barge-in, \"stop\" (espeak-ng en-us+m3) over the coach at 0 dB user-to-echo:\n  {}\n  {}\n  {}\n  missed with AEC: {:#?}\n  other detections with AEC: {:#?}",
            alone.line("the user alone (no echo)"),
            with_aec.line("over the coach, with AEC"),
            without_aec.line("over the coach, without AEC"),
            with_aec.missed,
            with_aec.stray,
        );
            eprintln!("{text}");
            assert!(with_aec.trials >= 20, "{text}");
            // Measured 19 of 26 with the echo tail of 500 ms (20 of 26 with
            // 250 ms). The longer tail is kept because the harder room
            // measured from outside (tests/voice_bargein.rs) goes from 8 to
            // 11 of 12 with it; docs/voice.md, "Barge-in".
            assert!(with_aec.rate() >= 0.70, "{text}");
            assert!(
                with_aec.latencies.last().is_some_and(|l| *l <= 1000),
                "{text}"
            );
            assert!(with_aec.stray.is_empty(), "{text}");
        }
    }
}
