//! Pain, as the coach handles it (issue 13): McKenzie's own rule (ask
//! whether the pain spreads or stays in the back), "pain, pain!" as one
//! report, the pain line that fits the exercise's posture and says how to
//! end, and what `matcoach check` rejects. Sessions run in virtual time.

mod common;
use common::fixtures;

use common::*;
use fixtures::{position, Scratch};
use matcoach::content::{self, Lang, Posture};
use matcoach::session::{
    self, estimate_speech, Action, EndReason, JournalEvent, Led, PainLocation, Priority, Session,
    SessionConfig,
};
use matcoach::sim::{self, ScriptedEvent};
use matcoach::Command;
use std::time::Duration;

/// A session of `program` whose exercises have the given postures (the
/// content files may not say yet; without one, an exercise counts as lying).
fn session_postured(program: &str, lang: Lang, postures: &[(&str, Posture)]) -> Session {
    let mut c = content().clone();
    for ex in &mut c.exercises {
        if let Some((_, p)) = postures.iter().find(|(id, _)| *id == ex.value.id()) {
            ex.value.posture = Some(*p);
        }
    }
    let cfg = SessionConfig::default();
    let p = c.program(program).unwrap();
    let script = session::compile(&c, p, lang, &cfg, &()).unwrap();
    Session::new(script, cfg, c.phrases.clone(), c.safety.clone())
}

fn run_postured(
    program: &str,
    lang: Lang,
    postures: &[(&str, Posture)],
    events: &[ScriptedEvent],
) -> Run {
    let mut s = session_postured(program, lang, postures);
    Run(sim::run(&mut s, events, LIMIT))
}

fn say(lang: Lang, t: &matcoach::content::Text) -> Duration {
    estimate_speech(t.get(lang))
}

/// How long the McKenzie question takes to say (in English).
fn ask_len() -> Duration {
    say(Lang::En, &content().safety.pain_rules.mckenzie.asks)
}

fn carry_on_len() -> Duration {
    say(Lang::En, &content().safety.pain_rules.mckenzie.carry_on)
}

fn answer_secs() -> Duration {
    Duration::from_secs(u64::from(
        content().safety.pain_rules.mckenzie.answer_secs.get(),
    ))
}

/// Past the question and its echo: an answer now is heard.
fn answer_at(pain: Duration) -> Duration {
    pain + ask_len() + ms(1500)
}

/// During the relaxed lying of mk_1 (a 5-minute position).
fn mk1_pain(plan: &Run) -> Duration {
    plan.first_said("sys.time_left") + ms(2000)
}

/// Times of the counts said after `from` (up to `to`).
fn counts(run: &Run, from: Duration, to: Duration) -> Vec<(Duration, String)> {
    run.0
        .iter()
        .filter(|r| r.t > from && r.t < to)
        .filter_map(|r| match &r.action {
            Action::Speak { line, .. } if line.id.0.starts_with("sys.count.") => {
                Some((r.t, line.id.0.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The k-th count (1-based) of mk_3's press-ups in the plan.
fn mk3_count(plan: &Run, k: usize) -> Duration {
    let start = plan.first_said("ex.mk_3_press_up.movement");
    counts(plan, start, Duration::MAX)[k - 1].0
}

fn pains(run: &Run) -> Vec<(Duration, Option<String>)> {
    run.journal()
        .into_iter()
        .filter_map(|(t, e)| match e {
            JournalEvent::Pain { exercise, .. } => Some((t, exercise)),
            _ => None,
        })
        .collect()
}

fn located(run: &Run) -> Vec<(Duration, String, PainLocation)> {
    run.journal()
        .into_iter()
        .filter_map(|(t, e)| match e {
            JournalEvent::PainLocated {
                exercise: Some(x),
                location,
            } => Some((t, x, location)),
            _ => None,
        })
        .collect()
}

/// Where each located pain was, in order.
fn locations(run: &Run) -> Vec<PainLocation> {
    located(run).into_iter().map(|x| x.2).collect()
}

fn skipped(run: &Run) -> Vec<String> {
    run.journal()
        .into_iter()
        .filter_map(|(_, e)| match e {
            JournalEvent::ExerciseSkipped { exercise, reason } if reason == "pain" => {
                Some(exercise)
            }
            _ => None,
        })
        .collect()
}

fn ended(run: &Run) -> Option<(EndReason, u32)> {
    run.journal().into_iter().find_map(|(_, e)| match e {
        JournalEvent::SessionEnded {
            reason,
            pain_events,
            ..
        } => Some((reason, pain_events)),
        _ => None,
    })
}

/// The text of the first line said with exactly this id.
fn text_of(run: &Run, id: &str) -> String {
    match run.phrases().iter().position(|x| x == id) {
        Some(i) => run.texts()[i].clone(),
        None => panic!("{id} never said:\n{}", run.dump()),
    }
}

fn led_at(run: &Run, t: Duration) -> Vec<Led> {
    run.0
        .iter()
        .filter(|r| r.t == t)
        .filter_map(|r| match r.action {
            Action::SetLed(l) => Some(l),
            _ => None,
        })
        .collect()
}

const MK1: &str = "mk_1_prone_lying";
const MK3: &str = "mk_3_press_up";
const ASKS: &str = "safety.pain_rules.mckenzie.asks";
const CARRY_ON: &str = "safety.pain_rules.mckenzie.carry_on";
const NO_ANSWER: &str = "safety.pain_rules.mckenzie.no_answer";
const LYING: &str = "safety.pain_stops_exercise.lying";
const KNEE: &str = "safety.pain_below_knee";
const STANDING: &str = "safety.pain_stops_exercise.standing";

struct Scenario {
    name: &'static str,
    program: &'static str,
    lang: Lang,
    postures: &'static [(&'static str, Posture)],
    /// The user's actions, placed against the uninterrupted plan.
    events: fn(&Run) -> Vec<ScriptedEvent>,
    check: fn(&Run, &Run),
}

const fn mk(
    name: &'static str,
    events: fn(&Run) -> Vec<ScriptedEvent>,
    check: fn(&Run, &Run),
) -> Scenario {
    Scenario {
        name,
        program: "mckenzie_acute",
        lang: Lang::En,
        postures: &[],
        events,
        check,
    }
}

/// A scenario in the quick program, under the common rule.
const fn quick(
    name: &'static str,
    events: fn(&Run) -> Vec<ScriptedEvent>,
    check: fn(&Run, &Run),
) -> Scenario {
    Scenario {
        program: "quick",
        ..mk(name, events, check)
    }
}

/// Four seconds into the first hold of the quick program.
fn quick_pain(plan: &Run) -> Duration {
    plan.first_said("sys.hold") + ms(4000)
}

/// A scenario in mckenzie_acute in `lang`, with mk_4 a standing exercise.
const fn standing(
    name: &'static str,
    lang: Lang,
    events: fn(&Run) -> Vec<ScriptedEvent>,
    check: fn(&Run, &Run),
) -> Scenario {
    Scenario {
        lang,
        postures: &[("mk_4_standing_backbend", Posture::Standing)],
        ..mk(name, events, check)
    }
}

/// One second after the third count of mk_4's movement in the plan.
fn mk4_pain(plan: &Run) -> Duration {
    let start = plan.first_said("ex.mk_4_standing_backbend.movement");
    counts(plan, start, Duration::MAX)[2].0 + ms(1000)
}

const SCENARIOS: &[Scenario] = &[
    mk(
        "mckenzie: pain cuts off at once and asks, holding the session still",
        |plan| vec![press(Duration::ZERO), heard(mk1_pain(plan), Command::Pain)],
        |plan, run| {
            let p = mk1_pain(plan);
            assert!(run.stops().contains(&p));
            let after = run.speaks_from(p);
            assert_eq!((after[0].0, after[0].1.as_str(), after[0].2), (p, ASKS, Priority::Safety));
            assert_eq!(pains(run), [(p, Some(MK1.to_string()))]);
            assert_eq!(led_at(run, p), [Led::Paused], "held still while asking");
            // Nothing counts on while the question waits.
            let settled = p + ask_len() + answer_secs();
            assert!(run.said("sys.time_left").iter().all(|t| *t < p || *t > settled), "{}", run.dump());
            let text = &text_of(run, ASKS);
            assert!(text.contains("say stop") && text.contains("say resume") && text.contains("press the button"), "{text}");
            assert!(text.contains("buttock or leg") && text.contains("stay in your back"), "{text}");
        },
    ),
    mk(
        "mckenzie: 'stop' = it spreads: the exercise ends, journaled as spreading",
        |plan| {
            let p = mk1_pain(plan);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(answer_at(p), Command::Stop)]
        },
        |plan, run| {
            let a = answer_at(mk1_pain(plan));
            assert_eq!(located(run), [(a, MK1.to_string(), PainLocation::Spreading)]);
            let after: Vec<String> = run.speaks_from(a).into_iter().take(3).map(|x| x.1).collect();
            assert_eq!(after, [LYING, KNEE, "sys.moving_on"]);
            assert_eq!(run.speaks_from(a)[0].0, a, "answered at once");
            assert_eq!(led_at(run, a), [Led::Running]);
            assert_eq!(skipped(run), [MK1]);
            assert!(run.journal().iter().any(|(t, e)| *t == a && matches!(e,
                JournalEvent::SetDone { exercise, complete: false, .. } if exercise == MK1)));
            assert_eq!(run.started(), [MK1, "mk_2_prone_on_elbows", MK3, "mk_4_standing_backbend"]);
            assert_eq!(ended(run), Some((EndReason::Completed, 1)));
        },
    ),
    mk(
        "mckenzie: 'resume' = it stays in the back: the repetition starts over, not skipped, not counted to end",
        |plan| {
            let p = mk3_count(plan, 3) + ms(1500);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(answer_at(p), Command::Resume)]
        },
        |plan, run| {
            let p = mk3_count(plan, 3) + ms(1500);
            let a = answer_at(p);
            assert_eq!(located(run), [(a, MK3.to_string(), PainLocation::Central)]);
            assert_eq!(run.said(CARRY_ON), [a]);
            assert_eq!(led_at(run, a), [Led::Running]);
            let back = a + carry_on_len();
            assert!(counts(run, p, back).is_empty(), "no counting while asking:\n{}", run.dump());
            // The interrupted third press-up starts over, then the rest.
            let after: Vec<String> = counts(run, back - ms(1), Duration::MAX).into_iter().take(8).map(|x| x.1).collect();
            let want: Vec<String> = (3..=10).map(|k| format!("sys.count.{k}")).collect();
            assert_eq!(after, want);
            assert_eq!(counts(run, back - ms(1), Duration::MAX)[0].0, back);
            assert!(skipped(run).is_empty());
            assert!(run.journal().iter().any(|(_, e)| matches!(e,
                JournalEvent::ExerciseDone { exercise, complete: true } if exercise == MK3)));
            assert!(!run.said("sys.summary_pain").is_empty(), "the summary names the pain");
            assert_eq!(ended(run), Some((EndReason::Completed, 1)));
        },
    ),
    mk(
        "mckenzie: a short press once the question is said = it stays in the back",
        |plan| {
            let p = mk1_pain(plan);
            vec![press(Duration::ZERO), heard(p, Command::Pain), press(answer_at(p))]
        },
        |plan, run| {
            let a = answer_at(mk1_pain(plan)) + ms(150);
            assert_eq!(located(run), [(a, MK1.to_string(), PainLocation::Central)]);
            assert_eq!(run.said(CARRY_ON), [a]);
            assert!(skipped(run).is_empty());
            assert_eq!(led_at(run, mk1_pain(plan)), [Led::Paused]);
            assert_eq!(led_at(run, a), [Led::Running], "the press answers; it does not pause");
            assert!(run.said("sys.paused").is_empty());
            assert_eq!(ended(run), Some((EndReason::Completed, 1)));
        },
    ),
    mk(
        "mckenzie: a press while the question is still said does not answer it",
        |plan| {
            let p = mk1_pain(plan);
            vec![press(Duration::ZERO), heard(p, Command::Pain), press(p + ms(2000))]
        },
        |plan, run| {
            let p = mk1_pain(plan);
            assert!(run.said(CARRY_ON).is_empty(), "{}", run.dump());
            let timeout = p + ask_len() + answer_secs();
            assert_eq!(located(run), [(timeout, MK1.to_string(), PainLocation::Unanswered)]);
        },
    ),
    mk(
        "mckenzie: no answer in time is the safe choice: the exercise ends, journaled as unanswered",
        |plan| vec![press(Duration::ZERO), heard(mk1_pain(plan), Command::Pain)],
        |plan, run| {
            let timeout = mk1_pain(plan) + ask_len() + answer_secs();
            assert_eq!(located(run), [(timeout, MK1.to_string(), PainLocation::Unanswered)]);
            let after: Vec<String> = run.speaks_from(timeout).into_iter().take(4).map(|x| x.1).collect();
            assert_eq!(after, [NO_ANSWER, LYING, KNEE, "sys.moving_on"]);
            assert_eq!(skipped(run), [MK1]);
            assert_eq!(ended(run), Some((EndReason::Completed, 1)));
        },
    ),
    mk(
        "mckenzie: 'pain, pain!' while the question is said is one report, and no 'stays in the back'",
        |plan| {
            let p = mk1_pain(plan);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(p + ms(1500), Command::Pain)]
        },
        |plan, run| {
            let p = mk1_pain(plan);
            assert_eq!(pains(run).len(), 1, "one report");
            assert_eq!(located(run), [(p + ms(1500), MK1.to_string(), PainLocation::Unanswered)]);
            assert_eq!(run.said(ASKS), [p], "the question is not started again");
            assert_eq!(run.first_said(LYING), p + ms(1500));
            assert_eq!(skipped(run), [MK1]);
            assert_eq!(ended(run), Some((EndReason::Completed, 1)), "one report does not end the session");
        },
    ),
    mk(
        "mckenzie: 'pain' once the question was said is a second report: unanswered, and the session ends",
        |plan| {
            let p = mk1_pain(plan);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(answer_at(p), Command::Pain)]
        },
        |plan, run| {
            let p = mk1_pain(plan);
            let a = answer_at(p);
            assert_eq!(pains(run), [(p, Some(MK1.to_string())), (a, Some(MK1.to_string()))]);
            assert_eq!(
                located(run),
                [(a, MK1.to_string(), PainLocation::Unanswered), (a, MK1.to_string(), PainLocation::Unanswered)]
            );
            assert_eq!(run.said("safety.repeated_pain_ends_session"), [a]);
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::EndedForPain));
            assert_eq!(ended(run), Some((EndReason::EndedForPain, 2)));
        },
    ),
    mk(
        "mckenzie: 'pain' again while the coach ends the exercise is the same report",
        |plan| {
            let p = mk1_pain(plan);
            let a = answer_at(p);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(a, Command::Stop), heard(a + ms(2500), Command::Pain)]
        },
        |plan, run| {
            let a = answer_at(mk1_pain(plan));
            assert_eq!(pains(run).len(), 1);
            assert_eq!(run.said(LYING), [a], "the line is not started again");
            assert!(!run.stops().contains(&(a + ms(2500))), "not cut off");
            assert!(run.journal().iter().any(|(t, e)| *t == a + ms(2500)
                && matches!(e, JournalEvent::CommandIgnored { command: Command::Pain, .. })));
            assert_eq!(ended(run), Some((EndReason::Completed, 1)));
        },
    ),
    mk(
        "mckenzie: 'next' while asking ends the exercise, unanswered; 'pause' is ignored",
        |plan| {
            let p = mk1_pain(plan);
            let a = answer_at(p);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(a, Command::Pause), heard(a + ms(1000), Command::Next)]
        },
        |plan, run| {
            let a = answer_at(mk1_pain(plan));
            assert!(run.said("sys.paused").is_empty());
            assert_eq!(located(run), [(a + ms(1000), MK1.to_string(), PainLocation::Unanswered)]);
            assert_eq!(skipped(run), [MK1]);
        },
    ),
    mk(
        "mckenzie: 'repeat' asks again, and the answer time starts over",
        |plan| {
            let p = mk1_pain(plan);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(answer_at(p), Command::Repeat)]
        },
        |plan, run| {
            let a = answer_at(mk1_pain(plan));
            assert_eq!(run.said(ASKS).len(), 2);
            assert_eq!(run.said(ASKS)[1], a);
            let timeout = a + ask_len() + answer_secs();
            assert_eq!(located(run), [(timeout, MK1.to_string(), PainLocation::Unanswered)]);
        },
    ),
    mk(
        "mckenzie: a long press while asking ends the session, the pain unanswered",
        |plan| {
            let p = mk1_pain(plan);
            vec![press(Duration::ZERO), heard(p, Command::Pain), long_press(answer_at(p))]
        },
        |plan, run| {
            assert_eq!(located(run).len(), 1);
            assert_eq!(located(run)[0].2, PainLocation::Unanswered);
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::EndedByUser));
            // The end comes while the button is held (at the long press).
            let at = answer_at(mk1_pain(plan)) + run_long_press();
            assert_eq!(led_at(run, at), [Led::Running], "not 'paused' through the goodbye");
            assert_eq!(run.leds().last(), Some(&Led::Idle));
        },
    ),
    mk(
        "mckenzie: 'pain' after answering 'stays in the back' is a new report: the coach asks again",
        |plan| {
            let p = mk1_pain(plan);
            let a = answer_at(p);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(a, Command::Resume), heard(a + ms(2000), Command::Pain)]
        },
        |plan, run| {
            let a = answer_at(mk1_pain(plan));
            assert_eq!(pains(run).len(), 2);
            assert_eq!(run.said(ASKS).len(), 2);
            assert_eq!(run.said(ASKS)[1], a + ms(2000));
            assert!(run.stops().contains(&(a + ms(2000))), "the carry-on line is cut off");
            assert_eq!(locations(run), [PainLocation::Central, PainLocation::Unanswered]);
            assert_eq!(ended(run), Some((EndReason::Completed, 2)), "one of them counts");
        },
    ),
    mk(
        "mckenzie: 'pain' during the welcome, before any exercise, follows the common rule",
        |_| vec![press(Duration::ZERO), heard(ms(2000), Command::Pain)],
        |_, run| {
            assert!(run.said(ASKS).is_empty());
            assert_eq!(run.said(LYING), [ms(2000)]);
            assert!(located(run).is_empty());
        },
    ),
    quick(
        "common rule: 'pain, pain!' within the answer is one report: no second cut, no restart",
        |plan| {
            let p = quick_pain(plan);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(p + ms(2500), Command::Pain)]
        },
        |plan, run| {
            let p = quick_pain(plan);
            assert_eq!(pains(run).len(), 1);
            assert_eq!(run.stops(), [p], "cut off once");
            assert_eq!(run.said(LYING), [p], "said once");
            assert!(run.journal().iter().any(|(t, e)| *t == p + ms(2500)
                && matches!(e, JournalEvent::CommandIgnored { command: Command::Pain, reason } if reason.contains("one report"))));
            assert_eq!(run.started(), ["th_knees_to_chest", "an_knee_rolls", "hf_cat_back"]);
            assert_eq!(ended(run), Some((EndReason::Completed, 1)));
            assert!(located(run).is_empty(), "the common rule does not ask");
        },
    ),
    quick(
        "common rule: 'pain' in the echo of the answer is still the same report",
        |plan| {
            let p = quick_pain(plan);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(answer_end(p) + ms(300), Command::Pain)]
        },
        |_, run| {
            assert_eq!(pains(run).len(), 1, "{}", run.dump());
            assert_eq!(ended(run), Some((EndReason::Completed, 1)));
        },
    ),
    quick(
        "common rule: 'pain' after the answer and its echo is a second report and ends the session",
        |plan| {
            let p = quick_pain(plan);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(answer_end(p) + ms(800), Command::Pain)]
        },
        |_, run| {
            assert_eq!(pains(run).len(), 2, "{}", run.dump());
            assert_eq!(ended(run), Some((EndReason::EndedForPain, 2)));
        },
    ),
    quick(
        "the below-the-knee advice says how to end, and 'stop' twice after it ends the session",
        |plan| {
            let p = quick_pain(plan);
            let e = answer_end(p);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(e + ms(1000), Command::Stop), heard(e + ms(4000), Command::Stop)]
        },
        |_, run| {
            let text = &text_of(run, KNEE);
            assert!(text.contains("below your knee") && text.contains("hold the button down") && text.contains("say stop twice"), "{text}");
            assert_eq!(run.end().map(|e| e.1), Some(EndReason::EndedByUser), "{}", run.dump());
        },
    ),
    standing(
        "a standing exercise gets the standing line, not 'stay lying'",
        Lang::En,
        |plan| {
            let p = mk4_pain(plan);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(answer_at(p), Command::Stop)]
        },
        |_, run| {
            assert!(run.said(LYING).is_empty());
            let text = &text_of(run, STANDING);
            assert!(!text.contains("Stay lying") && !text.contains("Lie still"), "{text}");
            assert!(text.contains("Stand easy"), "{text}");
        },
    ),
    standing(
        "a standing exercise in Dutch: no 'blijf liggen'",
        Lang::Nl,
        |plan| {
            let p = mk4_pain(plan);
            let asks = say(Lang::Nl, &content().safety.pain_rules.mckenzie.asks);
            vec![press(Duration::ZERO), heard(p, Command::Pain), heard(p + asks + ms(1500), Command::Stop)]
        },
        |_, run| {
            let text = &text_of(run, STANDING);
            assert!(!text.contains("Blijf liggen") && !text.contains("Blijf rustig liggen"), "{text}");
            assert!(text.contains("staan"), "{text}");
            assert!(!text.starts_with("Goed.") && !text.contains("Ga er nooit doorheen"), "{text}");
        },
    ),
];

fn run_long_press() -> Duration {
    SessionConfig::default().long_press
}

/// When the common rule's answer to a pain at `p` in the quick program
/// (lying line, below-the-knee advice, moving on) has been said.
fn answer_end(p: Duration) -> Duration {
    let s = &content().safety;
    let lying = s
        .pain_stops_exercise
        .for_posture(None)
        .map_or(Duration::ZERO, |l| say(Lang::En, &l.text));
    p + lying + say(Lang::En, &s.pain_below_knee.says) + say(Lang::En, &content().phrases.moving_on)
}

#[test]
fn pain_scenarios() {
    let mut failed = Vec::new();
    for s in SCENARIOS {
        let plan = run_postured(s.program, s.lang, s.postures, &[press(Duration::ZERO)]);
        let run = run_postured(s.program, s.lang, s.postures, &(s.events)(&plan));
        if std::panic::catch_unwind(|| (s.check)(&plan, &run)).is_err() {
            failed.push(s.name);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} scenarios failed: {failed:#?}",
        failed.len(),
        SCENARIOS.len()
    );
}

/// Pain in mk_1 answered with `answer`, then pain 20 s into mk_3's
/// movement, answered 'stop' (it spreads). The second pain is placed in a
/// first run of the session up to the first answer, as that answer shifts
/// the timeline.
fn pain_in_mk1_then_spreading_in_mk3(answer: Command) -> Run {
    let plan = plan("mckenzie_acute", Lang::En);
    let p = mk1_pain(&plan);
    let mut events = vec![
        press(Duration::ZERO),
        heard(p, Command::Pain),
        heard(answer_at(p), answer),
    ];
    let stage = simulate("mckenzie_acute", Lang::En, &events);
    let q = stage.first_said("ex.mk_3_press_up.movement") + ms(20_000);
    events.extend([heard(q, Command::Pain), heard(answer_at(q), Command::Stop)]);
    simulate("mckenzie_acute", Lang::En, &events)
}

#[test]
fn mckenzie_pain_in_a_later_exercise_after_a_central_one_does_not_end_the_session() {
    let run = pain_in_mk1_then_spreading_in_mk3(Command::Resume);
    assert_eq!(
        locations(&run),
        [PainLocation::Central, PainLocation::Spreading],
        "{}",
        run.dump()
    );
    assert_eq!(skipped(&run), [MK3]);
    assert!(run.said("safety.repeated_pain_ends_session").is_empty());
    assert_eq!(
        run.started().last().map(String::as_str),
        Some("mk_4_standing_backbend")
    );
    assert_eq!(ended(&run), Some((EndReason::Completed, 2)));
}

#[test]
fn mckenzie_spreading_pain_twice_still_ends_the_session() {
    let run = pain_in_mk1_then_spreading_in_mk3(Command::Stop);
    assert_eq!(
        locations(&run),
        [PainLocation::Spreading, PainLocation::Spreading],
        "{}",
        run.dump()
    );
    assert_eq!(run.said("safety.repeated_pain_ends_session").len(), 1);
    assert_eq!(ended(&run), Some((EndReason::EndedForPain, 2)));
    assert!(!run
        .started()
        .contains(&"mk_4_standing_backbend".to_string()));
}

#[test]
fn a_program_without_the_rule_ends_the_exercise_at_once() {
    // hf_cat_back kneels: its own line, said the moment "pain" is heard.
    for (posture, variant) in [
        (Posture::Supine, "lying"),
        (Posture::Prone, "lying"),
        (Posture::SideLying, "lying"),
        (Posture::Kneeling, "kneeling"),
        (Posture::Sitting, "sitting"),
        (Posture::Standing, "standing"),
    ] {
        for lang in Lang::ALL {
            let postures = [("th_knees_to_chest", posture)];
            let plan = run_postured("quick", lang, &postures, &[press(Duration::ZERO)]);
            let p = plan.first_said("sys.hold") + ms(2000);
            let run = run_postured(
                "quick",
                lang,
                &postures,
                &[press(Duration::ZERO), heard(p, Command::Pain)],
            );
            let after = run.speaks_from(p);
            assert_eq!(
                after[0].1,
                format!("safety.pain_stops_exercise.{variant}"),
                "{posture:?} {lang}"
            );
            assert_eq!(after[0].0, p);
            assert_eq!(after[1].1, KNEE);
            assert!(run.said(ASKS).is_empty());
        }
    }
}

// ---- the data ----------------------------------------------------------------

#[test]
fn every_posture_has_a_fitting_pain_line_in_both_languages() {
    let rule = &content().safety.pain_stops_exercise;
    for p in [
        Posture::Supine,
        Posture::Prone,
        Posture::SideLying,
        Posture::Kneeling,
        Posture::Sitting,
        Posture::Standing,
    ] {
        let line = rule
            .for_posture(Some(p))
            .unwrap_or_else(|| panic!("no pain line for {p:?}"));
        for lang in Lang::ALL {
            let text = line.text.get(lang);
            assert!(!text.trim().is_empty(), "{p:?} {lang}");
            let stays_lying = [
                "Stay lying",
                "Lie still",
                "Blijf liggen",
                "Blijf rustig liggen",
            ]
            .iter()
            .any(|w| text.contains(w));
            assert_eq!(stays_lying, p.is_lying(), "{p:?} {lang}: {text}");
            assert!(
                !text.starts_with("Goed.")
                    && !text.starts_with("Okay.")
                    && !text.contains("Ga er nooit doorheen"),
                "{p:?} {lang}: {text}"
            );
            for cmd in Command::ALL {
                assert!(
                    !cmd.spoken_in(text, lang),
                    "{p:?} {lang} says {cmd}: {text}"
                );
            }
        }
    }
    // Without a posture (until every exercise has one): lying.
    assert_eq!(
        rule.for_posture(None).map(|l| l.variant.get_ref().as_str()),
        Some("lying")
    );
}

#[test]
fn the_question_names_its_answers_in_both_languages_and_never_the_pain_word() {
    let r = &content().safety.pain_rules.mckenzie;
    for lang in Lang::ALL {
        let asks = r.asks.get(lang);
        assert!(Command::Stop.spoken_in(asks, lang), "{lang}: {asks}");
        assert!(Command::Resume.spoken_in(asks, lang), "{lang}: {asks}");
        for t in [&r.asks, &r.carry_on, &r.no_answer] {
            assert!(
                !Command::Pain.spoken_in(t.get(lang), lang),
                "{lang}: {}",
                t.get(lang)
            );
        }
    }
    let nl = r.asks.get(Lang::Nl);
    assert!(
        nl.contains("bil of been") && nl.contains("Zeg dan stop") && nl.contains("Zeg dan verder"),
        "{nl}"
    );
}

#[test]
fn the_mckenzie_programs_choose_the_rule_and_the_others_do_not() {
    use matcoach::content::PainRuleName;
    for p in &content().programs {
        let mk = p.phase.is_some()
            || p.items
                .iter()
                .any(|i| i.exercise.get_ref().starts_with("mk_"));
        let want = mk.then_some(PainRuleName::Mckenzie);
        assert_eq!(p.pain_rule, want, "{}", p.id());
    }
}

#[test]
fn every_line_of_the_rules_is_among_the_phrases_to_render() {
    for lang in Lang::ALL {
        let ids: Vec<String> = session::all_lines(content(), lang, &SessionConfig::default())
            .into_iter()
            .map(|l| l.id.0)
            .collect();
        for id in [
            ASKS,
            CARRY_ON,
            NO_ANSWER,
            LYING,
            "safety.pain_stops_exercise.kneeling",
            "safety.pain_stops_exercise.sitting",
            STANDING,
            KNEE,
        ] {
            assert!(ids.iter().any(|x| x == id), "{lang}: {id}");
        }
    }
}

// ---- matcoach check ------------------------------------------------------------

const SAFETY: &str = "safety.toml";
const F003: &str = "exercises/003_30b103968d1cbe9a.toml";

/// Load the edited copy: its one problem (the whole message, with the
/// `file:line:col:` it starts with).
fn problem(s: &Scratch) -> String {
    match content::load_dir(&s.content()) {
        Ok(_) => panic!("loaded without error"),
        Err(e) => e.to_string(),
    }
}

fn at(s: &Scratch, rel: &str, needle: &str, skip: usize) -> String {
    let (line, col) = position(&s.read(rel), needle, 1, skip);
    format!("{}:{line}:{col}: ", s.path(rel).display())
}

/// Give exercise `id` this posture, whether or not it has one yet.
fn set_posture(s: &Scratch, id: &str, posture: &str) {
    let text = s.read(F003);
    let anchor = format!("id = \"{id}\"\n");
    let start = text.find(&anchor).unwrap();
    let end = text[start..]
        .find("[[exercise]]")
        .map_or(text.len(), |e| start + e);
    let block = &text[start..end];
    let new_block = match block.find("\nposture = ") {
        Some(i) => {
            let line_end = block[i + 1..].find('\n').map_or(block.len(), |e| i + 1 + e);
            format!(
                "{}\nposture = \"{posture}\"{}",
                &block[..i],
                &block[line_end..]
            )
        }
        None => block.replacen(&anchor, &format!("{anchor}posture = \"{posture}\"\n"), 1),
    };
    s.write(
        F003,
        &format!("{}{new_block}{}", &text[..start], &text[end..]),
    );
}

/// The standing line's table, to remove or to edit.
const STANDING_TABLE: &str = "[[pain_stops_exercise.says]]\nvariant = \"standing\"\n";

#[test]
fn check_rejects_a_mckenzie_program_without_its_pain_rule() {
    // By its phase...
    let s = Scratch::new();
    s.replace(
        "programs/mckenzie_acute.toml",
        "pain_rule = \"mckenzie\"\n",
        "",
    );
    let err = problem(&s);
    assert!(err.starts_with("content has 1 problem:\n"), "{err}");
    let want = format!(
        "{}program `mckenzie_acute` is a McKenzie program (it has a McKenzie `phase`) but does not choose McKenzie's pain rule",
        at(&s, "programs/mckenzie_acute.toml", "\"mckenzie_acute\"", 0)
    );
    assert!(err.contains(&want), "{err}");
    assert!(err.contains("  fix: add pain_rule = \"mckenzie\""), "{err}");

    // ...or by its exercises, without a phase.
    let s = Scratch::new();
    s.append(
        "programs/quick.toml",
        "\n[[item]]\nexercise = \"mk_1_prone_lying\"\n",
    );
    let err = problem(&s);
    let want = format!(
        "{}program `quick` is a McKenzie program (it uses `mk_1_prone_lying`)",
        at(&s, "programs/quick.toml", "\"quick\"", 0)
    );
    assert!(err.contains(&want), "{err}");
    // Choosing the rule makes it valid.
    s.replace(
        "programs/quick.toml",
        "\n[[item]]",
        "\npain_rule = \"mckenzie\"\n\n[[item]]",
    );
    content::load_dir(&s.content()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn check_rejects_an_unknown_pain_rule() {
    let s = Scratch::new();
    s.replace(
        "programs/mckenzie_acute.toml",
        "pain_rule = \"mckenzie\"",
        "pain_rule = \"gentle\"",
    );
    let err = problem(&s);
    assert!(
        err.contains(&at(&s, "programs/mckenzie_acute.toml", "\"gentle\"", 0)),
        "{err}"
    );
    assert!(
        err.contains("unknown variant `gentle`, expected `mckenzie`"),
        "{err}"
    );
}

#[test]
fn check_rejects_an_exercise_whose_posture_has_no_pain_line() {
    let s = Scratch::new();
    s.remove_table(SAFETY, STANDING_TABLE);
    set_posture(&s, "mk_4_standing_backbend", "standing");
    let err = problem(&s);
    let want = format!(
        "{}exercise `mk_4_standing_backbend` has posture `standing`, and safety.toml has no pain line that fits it",
        at(&s, F003, "\"mk_4_standing_backbend\"", 0)
    );
    assert!(err.contains(&want), "{err}");
    assert!(
        err.contains("  fix: add its posture to the `postures` of a [[pain_stops_exercise.says]]"),
        "{err}"
    );
}

/// Edits of safety.toml that `matcoach check` rejects with one problem:
/// (name, text to replace, its replacement, where the error points, what it
/// says there).
const SAFETY_REJECTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "a posture with two pain lines",
        "postures = [\"standing\"]",
        "postures = [\"standing\", \"sitting\"]",
        "\"standing\"\npostures",
        "posture `sitting` has two pain lines: `sitting` and `standing`",
    ),
    (
        "a question that does not name its answer",
        "Then say resume, or press the button.",
        "Then press the button.",
        "asks = ",
        "[pain_rules.mckenzie] asks (en) does not name `resume`, the word that answers it",
    ),
    (
        "the pain word in an answer to pain",
        "A little more ache in the back",
        "A little more pain in the back",
        "carry_on = ",
        "[pain_rules.mckenzie] carry_on (en) says `pain`",
    ),
];

#[test]
fn check_rejects_broken_pain_rules() {
    for (name, from, to, anchor, says) in SAFETY_REJECTS {
        let s = Scratch::new();
        s.replace(SAFETY, from, to);
        let err = problem(&s);
        assert!(err.starts_with("content has 1 problem:\n"), "{name}: {err}");
        let want = format!("{}{says}", at(&s, SAFETY, anchor, 0));
        assert!(err.contains(&want), "{name}: {err}");
    }
}

// ---- input by input ----------------------------------------------------------

#[test]
fn mckenzie_a_speaker_lost_while_asking_leaves_the_question_unanswered_and_pauses() {
    use matcoach::session::{DeviceKind, Input};
    use std::time::Instant;
    let journal = |a: &[Action]| -> Vec<JournalEvent> {
        a.iter()
            .filter_map(|x| match x {
                Action::Journal(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    };
    let mut s = session("mckenzie_acute", Lang::En);
    let t0 = Instant::now();
    s.handle(t0, Input::ButtonPressed);
    s.handle(t0 + ms(100), Input::ButtonReleased);
    // Skip what is said before the first exercise (the welcome, the
    // preconditions' reminder) until the first exercise is being introduced.
    let mut at = ms(1000);
    while !journal(&s.handle(t0 + at, Input::Heard(Command::Next)))
        .iter()
        .any(|e| matches!(e, JournalEvent::ExerciseStarted { .. }))
    {
        at += ms(1000);
        assert!(at < ms(10_000), "no exercise started after {at:?} of next");
    }
    let asked = s.handle(t0 + at + ms(1000), Input::Heard(Command::Pain));
    assert!(asked
        .iter()
        .any(|a| matches!(a, Action::Speak { line, .. } if line.id.0 == ASKS)));
    assert!(journal(&asked)
        .iter()
        .all(|e| !matches!(e, JournalEvent::PainLocated { .. })));
    let lost = s.handle(t0 + at + ms(3000), Input::DeviceLost(DeviceKind::Speaker));
    let events = journal(&lost);
    assert!(
        events.contains(&JournalEvent::PainLocated {
            exercise: Some(MK1.into()),
            location: PainLocation::Unanswered,
        }),
        "{lost:?}"
    );
    assert!(events.contains(&JournalEvent::ExerciseSkipped {
        exercise: MK1.into(),
        reason: "pain".into(),
    }));
    assert!(s.is_paused(), "held until the speaker is back");
    assert!(lost.contains(&Action::SetLed(Led::Error)));
    // Back: the coach says how to go on, and goes on with the next exercise.
    let back = s.handle(t0 + at + ms(7000), Input::DeviceBack(DeviceKind::Speaker));
    assert!(back
        .iter()
        .any(|a| matches!(a, Action::Speak { line, .. } if line.id.0 == "sys.paused")));
    s.handle(t0 + ms(10_000), Input::ButtonPressed);
    s.handle(t0 + ms(10_100), Input::ButtonReleased);
    let mut next = Vec::new();
    for _ in 0..50 {
        let Some(now) = s.next_deadline() else { break };
        for a in s.handle(now, Input::DeadlineReached) {
            if let Action::Journal(JournalEvent::ExerciseStarted { exercise }) = a {
                next.push(exercise);
            }
        }
        if !next.is_empty() {
            break;
        }
    }
    assert_eq!(next, ["mk_2_prone_on_elbows"]);
}
