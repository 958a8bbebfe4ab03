//! Count timing in virtual time, and every program run to its end.

mod common;

use common::*;
use matcoach::content::Lang;
use matcoach::session::{Action, Cue, EndReason, JournalEvent};
use std::time::Duration;

/// The bridge of 000: 10 repetitions of a 10-second hold. Every count is
/// exactly 1000 ms after the previous one within a hold, and every
/// repetition starts exactly one period (2 up + 10 hold + 2 down) after the
/// last.
#[test]
fn bridge_counts_are_exactly_one_second_apart() {
    let run = plan("hf_mobilise_then_stabilise", Lang::En);
    let holds = run.said_id("sys.hold");
    assert_eq!(holds.len(), 10, "ten holds:\n{}", run.dump());
    for (i, pair) in holds.windows(2).enumerate() {
        assert_eq!(pair[1] - pair[0], ms(14_000), "rep {} to {}", i + 1, i + 2);
    }
    for (rep, &h) in holds.iter().enumerate() {
        let counts: Vec<_> = run
            .said("sys.count.")
            .into_iter()
            .filter(|t| *t > h && *t <= h + ms(10_000))
            .collect();
        let expected: Vec<_> = (1..=10).map(|k| h + ms(1000 * k)).collect();
        assert_eq!(counts, expected, "rep {}", rep + 1);
        // The count's number is the second.
        let ids: Vec<_> = run
            .0
            .iter()
            .filter(|r| r.t > h && r.t <= h + ms(10_000))
            .filter_map(|r| match &r.action {
                Action::Speak { line, .. } if line.id.0.starts_with("sys.count.") => {
                    Some(line.id.0.clone())
                }
                _ => None,
            })
            .collect();
        let want: Vec<_> = (1..=10).map(|k| format!("sys.count.{k}")).collect();
        assert_eq!(ids, want);
        // The hold ends on its last count with "and relax" — no tone to
        // muddle the count.
        let release: Vec<_> = run
            .said_id("sys.release")
            .into_iter()
            .filter(|t| *t > h && *t <= h + ms(10_000))
            .collect();
        assert_eq!(release, vec![h + ms(10_000)]);
        assert!(!run
            .0
            .iter()
            .any(|r| r.action == Action::Cue(Cue::HoldEnd) && r.t > h && r.t <= h + ms(10_000)));
    }
    let sets: Vec<_> = run
        .journal()
        .into_iter()
        .filter_map(|(_, e)| match e {
            JournalEvent::SetDone {
                exercise,
                reps_done,
                reps_planned,
                complete,
                ..
            } if exercise == "hf_bridge" => Some((reps_done, reps_planned, complete)),
            _ => None,
        })
        .collect();
    assert_eq!(sets, vec![(10, 10, true)]);
}

/// The cat back: 15 repetitions at its own tempo (issue 13: 4 s to round
/// up, 6 s "very gradually" back to hollow), counted at the start of each,
/// with "and back" once the way up is done.
#[test]
fn repetitions_without_a_hold_are_counted_at_the_tempo() {
    let run = plan("hf_mobilise_then_stabilise", Lang::En);
    let start = run
        .0
        .iter()
        .find(|r| r.action == Action::Cue(Cue::Start))
        .map(|r| r.t)
        .unwrap();
    let counts: Vec<_> = run
        .said("sys.count.")
        .into_iter()
        .filter(|t| *t >= start && *t < start + ms(150_000))
        .collect();
    let expected: Vec<_> = (0..15).map(|k| start + ms(10_000 * k)).collect();
    assert_eq!(counts, expected);
    let back: Vec<_> = run
        .said_id("sys.tempo_back")
        .into_iter()
        .filter(|t| *t >= start && *t < start + ms(150_000))
        .collect();
    let expected: Vec<_> = (0..15).map(|k| start + ms(4000 + 10_000 * k)).collect();
    assert_eq!(back, expected);
}

/// McKenzie 1: five minutes lying prone. The time left is announced twice
/// (halfway and one minute before the end: a long position is not talked
/// through), the last five seconds are counted down, and "time" falls
/// exactly on 300 s.
#[test]
fn a_long_hold_announces_the_time_left_and_counts_down() {
    let run = plan("mckenzie_acute", Lang::En);
    let start = run
        .0
        .iter()
        .find(|r| r.action == Action::Cue(Cue::Start))
        .map(|r| r.t)
        .unwrap();
    let left: Vec<_> = run
        .said("sys.time_left")
        .into_iter()
        .filter(|t| *t < start + ms(300_000))
        .map(|t| t - start)
        .collect();
    assert_eq!(left, vec![ms(150_000), ms(240_000)]);
    let texts = run.texts();
    assert!(
        texts.contains(&"2 minutes 30 to go.".to_string()),
        "{texts:?}"
    );
    assert!(texts.contains(&"1 minute to go.".to_string()));
    let countdown: Vec<_> = run
        .said("sys.count.")
        .into_iter()
        .filter(|t| *t > start && *t < start + ms(300_000))
        .map(|t| t - start)
        .collect();
    assert_eq!(
        countdown,
        (295..300).map(|s| ms(s * 1000)).collect::<Vec<_>>()
    );
    assert_eq!(run.said_id("sys.time_up")[0] - start, ms(300_000));
}

/// Rests between sets are announced and their last three seconds counted.
#[test]
fn rests_are_announced_and_counted_down() {
    let run = plan("baov_week_three", Lang::En);
    let rest = run.first_said("sys.rest.30");
    let countdown: Vec<_> = run
        .said("sys.count.")
        .into_iter()
        .filter(|t| *t > rest && *t < rest + ms(30_000))
        .map(|t| t - rest)
        .collect();
    assert_eq!(countdown, vec![ms(27_000), ms(28_000), ms(29_000)]);
    let end = run
        .0
        .iter()
        .find(|r| r.action == Action::Cue(Cue::RestEnd) && r.t > rest)
        .map(|r| r.t)
        .unwrap();
    assert_eq!(end - rest, ms(30_000));
}

/// Every program runs to its end in both languages with no interruption:
/// every exercise starts and finishes complete, nothing is cut off, and the
/// coach's estimate of the length is honest.
#[test]
fn every_program_completes_in_both_languages() {
    let c = content();
    for p in &c.programs {
        for lang in Lang::ALL {
            let mut s = session(p.id(), lang);
            let estimate = s.script().estimated;
            let exercises = s.script().exercises.len();
            let run = Run(matcoach::sim::run(
                &mut s,
                &[press_at(Duration::ZERO)],
                LIMIT,
            ));
            let (end, reason) = run
                .end()
                .unwrap_or_else(|| panic!("{} {lang} never ended", p.id()));
            assert_eq!(reason, EndReason::Completed, "{} {lang}", p.id());
            assert!(run.stops().is_empty(), "{} {lang}: nothing cut off", p.id());
            assert_eq!(run.started().len(), exercises, "{} {lang}", p.id());
            let done = run
                .journal()
                .iter()
                .filter(|(_, e)| matches!(e, JournalEvent::ExerciseDone { complete: true, .. }))
                .count();
            assert_eq!(done, exercises, "{} {lang}", p.id());
            // The estimate (used in the welcome) is within 10% of the run.
            let ratio = end.as_secs_f64() / estimate.as_secs_f64();
            assert!(
                (0.9..1.1).contains(&ratio),
                "{} {lang}: ran {end:?}, estimated {estimate:?}",
                p.id()
            );
            // In Dutch, the coach speaks Dutch.
            if lang == Lang::Nl {
                assert!(run.texts()[0].starts_with("Welkom"), "{}", run.texts()[0]);
            }
        }
    }
}

/// The welcome line states the minutes, and they match the run.
#[test]
fn the_welcome_tells_the_truth_about_the_length() {
    for program in ["quick", "morning_mobility"] {
        let run = plan(program, Lang::En);
        let welcome = &run.texts()[0];
        let (end, _) = run.end().unwrap();
        let minutes: u64 = welcome
            .split("about ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no minutes in {welcome:?}"));
        let actual = end.as_secs_f64() / 60.0;
        assert!(
            (actual - minutes as f64).abs() <= 1.0,
            "{program}: says {minutes}, runs {actual:.1}"
        );
    }
}
