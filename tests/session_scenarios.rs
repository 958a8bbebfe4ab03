//! Table-driven session scenarios, run in virtual time: each one scripts
//! the user's presses and words against the uninterrupted plan of a program,
//! then checks what the coach did.

mod common;

use common::*;
use matcoach::content::Lang;
use matcoach::session::{Action, EndReason, JournalEvent, Led, Priority, Side};
use matcoach::sim::ScriptedEvent;
use matcoach::Command;
use std::time::Duration;

struct Scenario {
    name: &'static str,
    program: &'static str,
    /// The user's actions, placed against the uninterrupted plan.
    events: fn(&Run) -> Vec<ScriptedEvent>,
    /// Checks on (plan, run).
    check: fn(&Run, &Run),
}

/// The first bridge hold of `hf_mobilise_then_stabilise` (cat back has none).
fn first_hold(plan: &Run) -> Duration {
    plan.first_said("sys.hold")
}

fn counts_between(run: &Run, from: Duration, to: Duration) -> Vec<Duration> {
    run.said("sys.count.")
        .into_iter()
        .filter(|t| *t > from && *t < to)
        .collect()
}

/// A row's test name: its name in snake case.
fn test_name(row: &str) -> String {
    let mut out = String::new();
    for c in row.chars().filter(|c| *c != '\'') {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// The row of `rows` whose test is `test`.
fn row<'a, T>(rows: &'a [T], test: &str, name: impl Fn(&T) -> &str) -> &'a T {
    rows.iter()
        .find(|r| test_name(name(r)) == test)
        .unwrap_or_else(|| panic!("no row for the test {test}"))
}

/// Every row has its test, in the table's order (a row added without one
/// fails here).
fn every_row_has_its_test<'a>(rows: impl Iterator<Item = &'a str>, tests: &[&str]) {
    let want: Vec<String> = rows.map(test_name).collect();
    assert_eq!(want, tests, "add a test per row to the rows! list");
}

/// One test per row, named after it, so that a failing row runs alone.
macro_rules! rows {
    ($run:ident, $tests:ident: $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $run(stringify!($name));
            }
        )*
        const $tests: &[&str] = &[$(stringify!($name)),*];
    };
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "pause mid-hold: silence, then the repetition starts over, counts on the second",
        program: "hf_mobilise_then_stabilise",
        events: |plan| {
            let h = first_hold(plan);
            vec![press(Duration::ZERO), heard(h + ms(3500), Command::Pause), heard(h + ms(20_000), Command::Resume)]
        },
        check: |plan, run| {
            let h = first_hold(plan);
            let paused = h + ms(3500);
            let resumed = h + ms(20_000);
            assert!(run.stops().contains(&paused), "speech cut at the pause");
            assert!(run.leds().contains(&Led::Paused));
            assert!(counts_between(run, paused + ms(1), resumed).is_empty(), "no counting while paused");
            let back = run.said("sys.resuming");
            assert_eq!(back, vec![resumed]);
            // The interrupted repetition (round 1) starts over after "here we go again".
            let rounds: Vec<_> = run.said_id("sys.rep.1").into_iter().filter(|t| *t > resumed).collect();
            assert_eq!(rounds.len(), 1, "round 1 again:\n{}", run.dump());
            let hold = run.said("sys.hold").into_iter().find(|t| *t > resumed).unwrap();
            let counts = counts_between(run, hold, hold + ms(10_500));
            assert_eq!(counts.len(), 10);
            for (k, t) in counts.iter().enumerate() {
                assert_eq!(*t - hold, ms(1000 * (k as u64 + 1)), "count {} on the second", k + 1);
            }
            let j = run.journal();
            assert!(j.iter().any(|(_, e)| matches!(e, JournalEvent::Paused { exercise: Some(x) } if x == "hf_bridge")));
            assert!(j.iter().any(|(_, e)| matches!(e, JournalEvent::Resumed { .. })));
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::Completed));
        },
    },
    Scenario {
        name: "pain during a hold: cut off at once, calm safety line, recorded, on to the next exercise",
        program: "quick",
        events: |plan| vec![press(Duration::ZERO), heard(plan.first_said("sys.hold") + ms(4000), Command::Pain)],
        check: |plan, run| {
            let at = plan.first_said("sys.hold") + ms(4000);
            assert!(run.stops().contains(&at), "speech stopped the moment pain was heard");
            let after = run.speaks_from(at);
            assert_eq!(after[0].1, "safety.pain_stops_exercise.lying");
            assert_eq!(after[0].0, at, "the safety line starts at once");
            assert_eq!(after[0].2, Priority::Safety);
            assert_eq!(after[1].1, "safety.pain_below_knee");
            let pain = run.journal().into_iter().find_map(|(t, e)| match e {
                JournalEvent::Pain { exercise, set, .. } => Some((t, exercise, set)),
                _ => None,
            });
            assert_eq!(pain, Some((at, Some("th_knees_to_chest".to_string()), Some(1))));
            assert!(run.journal().iter().any(|(_, e)| matches!(e,
                JournalEvent::ExerciseSkipped { exercise, reason } if exercise == "th_knees_to_chest" && reason == "pain")));
            // The hurting exercise is not finished or counted further; the next one starts.
            assert!(!run.journal().iter().any(|(_, e)| matches!(e,
                JournalEvent::ExerciseDone { exercise, .. } if exercise == "th_knees_to_chest")));
            assert_eq!(run.started(), vec!["th_knees_to_chest", "an_knee_rolls", "hf_cat_back"]);
            let next = run.first_said("ex.an_knee_rolls.name");
            assert!(next > at && next < at + ms(40_000), "moved on promptly");
            assert!(run.said("safety.persistent_pain_skip").len() == 1, "the closing words advise skipping it next time");
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::Completed));
        },
    },
    Scenario {
        name: "a second pain ends the session kindly",
        program: "quick",
        events: |plan| {
            let first = plan.first_said("sys.hold") + ms(2000);
            // Knee rolls start later once the first exercise is cut short; say
            // pain well inside them.
            vec![press(Duration::ZERO), heard(first, Command::Pain), heard(first + ms(70_000), Command::Pain)]
        },
        check: |_, run| {
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::EndedForPain), "{}", run.dump());
            assert_eq!(run.said("safety.repeated_pain_ends_session").len(), 1);
            let pains = run.journal().iter().filter(|(_, e)| matches!(e, JournalEvent::Pain { .. })).count();
            assert_eq!(pains, 2);
            assert_eq!(run.started(), vec!["th_knees_to_chest", "an_knee_rolls"], "no third exercise");
            let ended = run.journal().into_iter().find_map(|(_, e)| match e {
                JournalEvent::SessionEnded { reason, pain_events, .. } => Some((reason, pain_events)),
                _ => None,
            });
            assert_eq!(ended, Some((EndReason::EndedForPain, 2)));
            assert_eq!(run.leds().last(), Some(&Led::Idle));
        },
    },
    Scenario {
        name: "stop during a rest pauses; the button goes on with the rest where it was",
        program: "sr_warmup",
        events: |plan| {
            let rest = plan.first_said("sys.rest.");
            vec![press(Duration::ZERO), heard(rest + ms(2500), Command::Stop), press(rest + ms(30_000))]
        },
        check: |plan, run| {
            let rest = plan.first_said("sys.rest.");
            let stop = rest + ms(2500);
            assert!(run.stops().contains(&stop));
            assert!(run.said("sys.paused").contains(&stop));
            assert!(run.leds().contains(&Led::Paused));
            // The rest (10 s) picks up at its 2nd second once "here we go again" is said.
            let back = run.said("sys.resuming")[0];
            assert!(back >= rest + ms(30_000));
            let ends: Vec<_> = run.0.iter().filter(|r| r.t > back && r.action == Action::Cue(matcoach::session::Cue::RestEnd)).map(|r| r.t).collect();
            let resumed_at = back + matcoach::session::estimate_speech(&run.texts()[run.phrases().iter().position(|p| p == "sys.resuming").unwrap()]);
            assert_eq!(ends[0] - resumed_at, ms(8000), "the rest continues from where it was stopped");
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::Completed));
        },
    },
    Scenario {
        name: "stop twice ends the session",
        program: "sr_warmup",
        events: |plan| {
            let rest = plan.first_said("sys.rest.");
            vec![press(Duration::ZERO), heard(rest + ms(1000), Command::Stop), heard(rest + ms(9000), Command::Stop)]
        },
        check: |plan, run| {
            let second = plan.first_said("sys.rest.") + ms(9000);
            assert_eq!(run.said("sys.ending_by_user"), vec![second]);
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::EndedByUser));
        },
    },
    Scenario {
        name: "repeat says the last instruction again",
        program: "hf_mobilise_then_stabilise",
        events: |plan| vec![press(Duration::ZERO), heard(plan.first_said("ex.hf_cat_back.position") + ms(1000), Command::Repeat)],
        check: |plan, run| {
            let at = plan.first_said("ex.hf_cat_back.position") + ms(1000);
            assert!(run.stops().contains(&at));
            assert_eq!(run.said("ex.hf_cat_back.position").len(), 2);
            assert_eq!(run.said("ex.hf_cat_back.position")[1], at);
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::Completed));
        },
    },
    Scenario {
        name: "next during the briefing skips to get-ready",
        program: "hf_mobilise_then_stabilise",
        events: |plan| vec![press(Duration::ZERO), heard(plan.first_said("ex.hf_cat_back.name") + ms(300), Command::Next)],
        check: |plan, run| {
            let at = plan.first_said("ex.hf_cat_back.name") + ms(300);
            assert!(run.stops().contains(&at));
            assert!(run.said("ex.hf_cat_back.position").is_empty(), "the position was skipped");
            assert_eq!(run.first_said("sys.get_ready"), at);
        },
    },
    Scenario {
        name: "next while waiting to get ready starts the movement at once",
        program: "hf_mobilise_then_stabilise",
        events: |plan| vec![press(Duration::ZERO), heard(plan.first_said("sys.get_ready") + ms(8000), Command::Next)],
        check: |plan, run| {
            let at = plan.first_said("sys.get_ready") + ms(8000);
            assert_eq!(run.first_said("ex.hf_cat_back.movement"), at);
            assert!(plan.first_said("ex.hf_cat_back.movement") > at + ms(5000), "the plan would have waited");
        },
    },
    Scenario {
        name: "the button while waiting to get ready means 'ready'",
        program: "hf_mobilise_then_stabilise",
        events: |plan| vec![press(Duration::ZERO), press(plan.first_said("sys.get_ready") + ms(8000))],
        check: |plan, run| {
            let released = plan.first_said("sys.get_ready") + ms(8150);
            assert_eq!(run.first_said("ex.hf_cat_back.movement"), released);
            assert!(!run.leds().contains(&Led::Paused));
        },
    },
    Scenario {
        name: "the button pauses and resumes",
        program: "hf_mobilise_then_stabilise",
        events: |plan| {
            let c = plan.said("sys.count.")[3];
            vec![press(Duration::ZERO), press(c + ms(500)), press(c + ms(10_000))]
        },
        check: |_, run| {
            assert_eq!(run.leds(), vec![Led::Running, Led::Paused, Led::Running, Led::Idle]);
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::Completed));
        },
    },
    Scenario {
        name: "a long press ends the session",
        program: "hf_mobilise_then_stabilise",
        events: |plan| vec![press(Duration::ZERO), long_press(plan.first_said("sys.hold") + ms(2000))],
        check: |plan, run| {
            // The end comes while the button is still held: at 2 s.
            let at = plan.first_said("sys.hold") + ms(4000);
            assert!(run.stops().contains(&at));
            assert_eq!(run.first_said("sys.ending_by_user"), at);
            assert!(run.said("sys.summary.").len() == 1);
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::EndedByUser));
            assert!(!run.leds().contains(&Led::Paused), "a long press is not also a short one");
        },
    },
    Scenario {
        name: "the coach does not obey its own 'say next'",
        program: "hf_mobilise_then_stabilise",
        events: |plan| vec![press(Duration::ZERO), heard(plan.first_said("sys.get_ready") + ms(1500), Command::Next)],
        check: |plan, run| {
            assert_eq!(run.first_said("ex.hf_cat_back.movement"), plan.first_said("ex.hf_cat_back.movement"));
            assert!(run.journal().iter().any(|(_, e)| matches!(e, JournalEvent::CommandIgnored { command: Command::Next, .. })));
        },
    },
    Scenario {
        name: "'pain' works while the coach is talking",
        program: "hf_mobilise_then_stabilise",
        events: |plan| vec![press(Duration::ZERO), heard(plan.first_said("ex.hf_cat_back.position") + ms(500), Command::Pain)],
        check: |plan, run| {
            let at = plan.first_said("ex.hf_cat_back.position") + ms(500);
            assert!(run.stops().contains(&at));
            assert_eq!(run.first_said("safety.pain_stops_exercise"), at);
            assert_eq!(run.started(), vec!["hf_cat_back", "hf_bridge"]);
        },
    },
    Scenario {
        name: "words before the start are ignored; the button starts",
        program: "quick",
        events: |_| vec![heard(Duration::ZERO, Command::Next), heard(ms(100), Command::Pain), press(ms(1000))],
        check: |_, run| {
            assert_eq!(run.first_said("sys.welcome"), ms(1150));
            assert!(run.journal().iter().all(|(_, e)| !matches!(e, JournalEvent::Pain { .. })));
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::Completed));
        },
    },
    Scenario {
        name: "sides: the full dose on each side, with the switch announced",
        program: "th_mobility_and_stretching",
        events: |_| vec![press(Duration::ZERO)],
        check: |_, run| {
            let sets: Vec<_> = run.journal().into_iter().filter_map(|(_, e)| match e {
                JournalEvent::SetDone { exercise, side, secs_done, complete, .. } if exercise == "th_single_knee_to_chest" => Some((side, secs_done, complete)),
                _ => None,
            }).collect();
            assert_eq!(sets.len(), 2);
            assert_eq!(sets[0].0, Some(Side::Left));
            assert_eq!(sets[1].0, Some(Side::Right));
            assert_eq!(sets[0].1, sets[1].1, "the same time on both sides");
            assert!(sets.iter().all(|s| s.2));
            assert!(!run.said("sys.side_second").is_empty());
        },
    },
];

fn run_scenario(name: &str) {
    let s = row(SCENARIOS, name, |s| s.name);
    let plan = plan(s.program, Lang::En);
    let run = simulate(s.program, Lang::En, &(s.events)(&plan));
    (s.check)(&plan, &run);
}

rows!(run_scenario, SCENARIO_TESTS:
    pause_mid_hold_silence_then_the_repetition_starts_over_counts_on_the_second,
    pain_during_a_hold_cut_off_at_once_calm_safety_line_recorded_on_to_the_next_exercise,
    a_second_pain_ends_the_session_kindly,
    stop_during_a_rest_pauses_the_button_goes_on_with_the_rest_where_it_was,
    stop_twice_ends_the_session,
    repeat_says_the_last_instruction_again,
    next_during_the_briefing_skips_to_get_ready,
    next_while_waiting_to_get_ready_starts_the_movement_at_once,
    the_button_while_waiting_to_get_ready_means_ready,
    the_button_pauses_and_resumes,
    a_long_press_ends_the_session,
    the_coach_does_not_obey_its_own_say_next,
    pain_works_while_the_coach_is_talking,
    words_before_the_start_are_ignored_the_button_starts,
    sides_the_full_dose_on_each_side_with_the_switch_announced,
);

#[test]
fn every_scenario_has_its_test() {
    every_row_has_its_test(SCENARIOS.iter().map(|s| s.name), SCENARIO_TESTS);
}

// ---- the spoken offer of the next McKenzie phase ----------------------------

use matcoach::content::Phase;
use matcoach::session::PhaseOffer;
use matcoach::sim;

fn acute_to_improving() -> Option<PhaseOffer> {
    Some(PhaseOffer {
        from: Phase::Acute,
        to: Phase::Improving,
        to_name: content()
            .program("mckenzie_improving")
            .unwrap()
            .name
            .clone(),
        pain_free_sessions: 3,
    })
}

fn simulate_offer(program: &str, offer: Option<PhaseOffer>, events: &[ScriptedEvent]) -> Run {
    let mut s = session(program, Lang::En);
    s.set_phase_offer(offer);
    Run(sim::run(&mut s, events, LIMIT))
}

struct OfferScenario {
    name: &'static str,
    program: &'static str,
    /// What the adaptation passed in at the start.
    offer: fn() -> Option<PhaseOffer>,
    /// Placed against the run in which the user does nothing at the offer.
    events: fn(&Run) -> Vec<ScriptedEvent>,
    check: fn(&Run, &Run),
}

/// When the offer has been said and the button's window opens.
fn window_opens(plan: &Run) -> Duration {
    plan.first_said("sys.phase_kept") - Duration::from_secs(15)
}

fn phase_events(run: &Run) -> Vec<JournalEvent> {
    run.journal()
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| {
            matches!(
                e,
                JournalEvent::PhaseOffered { .. }
                    | JournalEvent::PhaseAdvanced { .. }
                    | JournalEvent::PhaseKept { .. }
                    | JournalEvent::SessionEnded { .. }
            )
        })
        .collect()
}

fn offered() -> JournalEvent {
    JournalEvent::PhaseOffered {
        from: Phase::Acute,
        to: Phase::Improving,
        pain_free_sessions: 3,
    }
}

fn kept(reason: &str) -> JournalEvent {
    JournalEvent::PhaseKept {
        phase: Phase::Acute,
        reason: reason.into(),
    }
}

fn ended(pains: u32) -> JournalEvent {
    JournalEvent::SessionEnded {
        reason: EndReason::Completed,
        exercises_done: 4,
        pain_events: pains,
    }
}

/// The closing phrases, from the summary on.
fn closing(run: &Run) -> Vec<String> {
    let p = run.phrases();
    let i = p
        .iter()
        .position(|x| x.starts_with("sys.summary."))
        .unwrap();
    p[i..]
        .iter()
        .map(|x| x.split('.').take(2).collect::<Vec<_>>().join("."))
        .collect()
}

/// A scenario of `mckenzie_acute`, offered the improving phase.
const fn acute(
    name: &'static str,
    events: fn(&Run) -> Vec<ScriptedEvent>,
    check: fn(&Run, &Run),
) -> OfferScenario {
    OfferScenario {
        name,
        program: "mckenzie_acute",
        offer: acute_to_improving,
        events,
        check,
    }
}

const OFFER_SCENARIOS: &[OfferScenario] = &[
    acute(
        "offered after the summary; no answer keeps the phase after the window",
        |_| vec![press(Duration::ZERO)],
        |_, run| {
            assert_eq!(
                closing(run),
                [
                    "sys.summary",
                    "sys.phase_offer",
                    "sys.phase_kept",
                    "sys.goodbye"
                ],
                "{}",
                run.dump()
            );
            let text = &run.texts()[run
                .phrases()
                .iter()
                .position(|p| p.starts_with("sys.phase_offer"))
                .unwrap()];
            assert!(
                // Issue 13: the brochure's clock, in days, not sessions.
                text.contains("a day or two")
                    && text.contains("McKenzie: improving")
                    && text.contains("press the button"),
                "{text}"
            );
            assert_eq!(phase_events(run), [offered(), kept("no answer"), ended(0)]);
            // The window: 15 s after the offer has been said.
            let said = run.first_said("sys.phase_offer");
            let text_len = matcoach::session::estimate_speech(text);
            assert_eq!(
                run.first_said("sys.phase_kept"),
                said + text_len + Duration::from_secs(15)
            );
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::Completed));
            assert_eq!(run.leds().last(), Some(&Led::Idle));
        },
    ),
    acute(
        "a press in the window accepts: the advance is recorded and confirmed",
        |plan| vec![press(Duration::ZERO), press(window_opens(plan) + ms(4000))],
        |plan, run| {
            let at = window_opens(plan) + ms(4150);
            assert_eq!(
                phase_events(run),
                [
                    offered(),
                    JournalEvent::PhaseAdvanced {
                        from: Phase::Acute,
                        to: Phase::Improving
                    },
                    ended(0)
                ]
            );
            assert_eq!(
                run.first_said("sys.phase_advanced"),
                at,
                "confirmed at once"
            );
            assert_eq!(
                closing(run),
                [
                    "sys.summary",
                    "sys.phase_offer",
                    "sys.phase_advanced",
                    "sys.goodbye"
                ]
            );
            assert!(run
                .texts()
                .iter()
                .any(|t| t
                    .starts_with("Good. From now on, your sessions follow McKenzie: improving.")));
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::Completed));
        },
    ),
    acute(
        "a press while the offer is still being said accepts too, and cuts it short",
        |plan| {
            vec![
                press(Duration::ZERO),
                press(plan.first_said("sys.phase_offer") + ms(3000)),
            ]
        },
        |plan, run| {
            let at = plan.first_said("sys.phase_offer") + ms(3150);
            assert!(run.stops().contains(&at));
            assert!(phase_events(run).contains(&JournalEvent::PhaseAdvanced {
                from: Phase::Acute,
                to: Phase::Improving
            }));
        },
    ),
    acute(
        "stop declines at once",
        |plan| {
            vec![
                press(Duration::ZERO),
                heard(window_opens(plan) + ms(2000), Command::Stop),
            ]
        },
        |plan, run| {
            assert_eq!(phase_events(run), [offered(), kept("declined"), ended(0)]);
            assert_eq!(
                run.first_said("sys.phase_kept"),
                window_opens(plan) + ms(2000)
            );
        },
    ),
    acute(
        "a long press declines too",
        |plan| {
            vec![
                press(Duration::ZERO),
                long_press(window_opens(plan) + ms(1000)),
            ]
        },
        |_, run| {
            assert_eq!(phase_events(run), [offered(), kept("declined"), ended(0)]);
        },
    ),
    acute(
        "a heard 'next' never accepts: only the button does",
        |plan| {
            vec![
                press(Duration::ZERO),
                heard(window_opens(plan) + ms(2000), Command::Next),
            ]
        },
        |plan, run| {
            assert_eq!(phase_events(run), [offered(), kept("no answer"), ended(0)]);
            assert!(run.journal().iter().any(|(_, e)| matches!(e, JournalEvent::CommandIgnored { command: Command::Next, reason } if reason.contains("only the button"))));
            assert_eq!(
                run.first_said("sys.phase_kept"),
                plan.first_said("sys.phase_kept"),
                "the window runs its course"
            );
        },
    ),
    acute(
        "'pain' during the offer: recorded, the phase stays, the safety advice is given",
        |plan| {
            vec![
                press(Duration::ZERO),
                heard(window_opens(plan) + ms(2000), Command::Pain),
                press(window_opens(plan) + ms(3000)),
            ]
        },
        |plan, run| {
            let at = window_opens(plan) + ms(2000);
            assert_eq!(phase_events(run), [offered(), kept("pain"), ended(1)]);
            assert!(run
                .journal()
                .iter()
                .any(|(t, e)| *t == at && matches!(e, JournalEvent::Pain { exercise: None, .. })));
            assert_eq!(run.first_said("safety.pain_below_knee"), at);
            assert_eq!(
                run.stops().iter().filter(|t| **t >= at).count(),
                1,
                "the advice is not cut off"
            );
            // A press after it changes nothing.
            assert!(!phase_events(run)
                .iter()
                .any(|e| matches!(e, JournalEvent::PhaseAdvanced { .. })));
        },
    ),
    acute(
        "no offer after pain in this session",
        |plan| {
            vec![
                press(Duration::ZERO),
                heard(plan.first_said("sys.time_left") + ms(2000), Command::Pain),
                press(window_opens(plan) + ms(1000)),
            ]
        },
        |_, run| {
            assert!(run.said("sys.phase_offer").is_empty(), "{}", run.dump());
            assert!(!phase_events(run).iter().any(|e| matches!(
                e,
                JournalEvent::PhaseOffered { .. } | JournalEvent::PhaseAdvanced { .. }
            )));
            assert!(!run.said("sys.summary_pain").is_empty());
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::Completed));
        },
    ),
    acute(
        "'pain' during the summary: no offer, the pain is recorded",
        |plan| {
            vec![
                press(Duration::ZERO),
                heard(plan.first_said("sys.summary.") + ms(1000), Command::Pain),
                press(window_opens(plan) + ms(1000)),
            ]
        },
        |_, run| {
            assert!(run.said("sys.phase_offer").is_empty(), "{}", run.dump());
            assert_eq!(phase_events(run), [ended(1)]);
            assert!(!run.said("safety.pain_below_knee").is_empty());
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::Completed));
        },
    ),
    acute(
        "no offer when the session is ended early",
        |plan| {
            vec![
                press(Duration::ZERO),
                long_press(plan.first_said("sys.time_left") + ms(2000)),
            ]
        },
        |_, run| {
            assert!(run.said("sys.phase_offer").is_empty());
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::EndedByUser));
        },
    ),
    OfferScenario {
        name: "no offer passed in (not a McKenzie session): the usual ending",
        program: "morning_mobility",
        offer: || None,
        events: |_| vec![press(Duration::ZERO)],
        check: |_, run| {
            assert_eq!(closing(run), ["sys.summary", "sys.goodbye"]);
            assert!(!phase_events(run)
                .iter()
                .any(|e| !matches!(e, JournalEvent::SessionEnded { .. })));
        },
    },
];

fn run_offer_scenario(name: &str) {
    let s = row(OFFER_SCENARIOS, name, |s| s.name);
    let plan = simulate_offer(s.program, (s.offer)(), &[press(Duration::ZERO)]);
    let run = simulate_offer(s.program, (s.offer)(), &(s.events)(&plan));
    (s.check)(&plan, &run);
}

rows!(run_offer_scenario, OFFER_TESTS:
    offered_after_the_summary_no_answer_keeps_the_phase_after_the_window,
    a_press_in_the_window_accepts_the_advance_is_recorded_and_confirmed,
    a_press_while_the_offer_is_still_being_said_accepts_too_and_cuts_it_short,
    stop_declines_at_once,
    a_long_press_declines_too,
    a_heard_next_never_accepts_only_the_button_does,
    pain_during_the_offer_recorded_the_phase_stays_the_safety_advice_is_given,
    no_offer_after_pain_in_this_session,
    pain_during_the_summary_no_offer_the_pain_is_recorded,
    no_offer_when_the_session_is_ended_early,
    no_offer_passed_in_not_a_mckenzie_session_the_usual_ending,
);

#[test]
fn every_offer_scenario_has_its_test() {
    every_row_has_its_test(OFFER_SCENARIOS.iter().map(|s| s.name), OFFER_TESTS);
}

#[test]
fn the_offer_is_off_with_a_zero_window() {
    let cfg = matcoach::session::SessionConfig {
        phase_offer: Duration::ZERO,
        ..Default::default()
    };
    let mut s = session_with("mckenzie_acute", Lang::En, cfg);
    s.set_phase_offer(acute_to_improving());
    let run = Run(sim::run(&mut s, &[press(Duration::ZERO)], LIMIT));
    assert!(run.said("sys.phase_offer").is_empty());
    assert_eq!(run.end().map(|e| e.1), Some(EndReason::Completed));
}

#[test]
fn the_offer_is_said_in_dutch_too() {
    let mut s = session("mckenzie_acute", Lang::Nl);
    s.set_phase_offer(acute_to_improving());
    let run = Run(sim::run(&mut s, &[press(Duration::ZERO)], LIMIT));
    let texts = run.texts();
    let offer = &texts[run
        .phrases()
        .iter()
        .position(|p| p.starts_with("sys.phase_offer"))
        .unwrap()];
    assert!(
        // Issue 13: the brochure's clock, in days, not sessions.
        offer.contains("een dag of twee")
            && offer.contains("McKenzie: het gaat beter")
            && offer.contains("druk dan nu op de knop"),
        "{offer}"
    );
}
