//! Programs that adapt as the brochures advise, across simulated days
//! written to a real journal: skip after pain, the easier variant, coming
//! back after pain-free sessions, the daily rotation, McKenzie phases
//! advanced by the user only, and the startgetal from a max test.

mod common;
use common::fixtures;
use common::journal_days;
use common::journal_support;

use journal_days::*;
use journal_support::*;
use matcoach::adapt::{self, AdaptError, PhaseError, Rules};
use matcoach::content::{self, Phase, ProgramItem};
use matcoach::journal::{JournalStore, SessionKind};
use matcoach::session::{Action, JournalEvent};
use std::collections::BTreeMap;
use std::collections::BTreeSet;

fn ids(today: &adapt::Today) -> Vec<String> {
    today
        .program
        .items
        .iter()
        .map(|i| i.exercise.get_ref().clone())
        .collect()
}

#[test]
fn an_exercise_that_hurt_is_skipped_until_enough_pain_free_sessions_passed() {
    let (_dir, mut store) = scratch_store();
    let rules = Rules::default();
    assert_eq!(rules.pain_free_sessions, 3);
    let spec = pain_spec(&store, &rules, "2025-03-03", "quick", "an_knee_rolls");
    let (_, rec) = sim_day(&mut store, &rules, date("2025-03-03"), "quick", &spec);
    assert!(journal_events(&rec).iter().any(
        |e| matches!(e, JournalEvent::Pain { exercise: Some(x), .. } if x == "an_knee_rolls")
    ));

    // The next three sessions: left out, with the reason, counting down.
    for (day, left) in [("2025-03-04", 3), ("2025-03-05", 2), ("2025-03-06", 1)] {
        let (today, rec) = plain_day(&mut store, &rules, date(day), "quick");
        assert!(!ids(&today).contains(&"an_knee_rolls".to_string()), "{day}");
        let l = &today.left_out[0];
        assert_eq!(l.exercise, "an_knee_rolls");
        assert!(l.reason.contains("it hurt on 2025-03-03"), "{}", l.reason);
        let s = if left == 1 { "" } else { "s" };
        assert!(
            l.reason
                .contains(&format!("after {left} more session{s} without pain")),
            "{day}: {}",
            l.reason
        );
        assert!(ended(&rec));
    }
    // Three pain-free sessions later it is back.
    let (today, _) = plain_day(&mut store, &rules, date("2025-03-07"), "quick");
    assert_eq!(
        ids(&today),
        ["th_knees_to_chest", "an_knee_rolls", "hf_cat_back"]
    );
    assert!(today.left_out.is_empty());

    // The journal kept what was left out, and why.
    let h = store.history(None).unwrap();
    let left: Vec<_> = h.sessions[1].left_out().collect();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].exercise, "an_knee_rolls");
}

#[test]
fn a_session_with_pain_or_without_exercise_does_not_bring_it_back() {
    let (_dir, mut store) = scratch_store();
    let rules = Rules {
        pain_free_sessions: 1,
        ..Rules::default()
    };
    let spec = pain_spec(&store, &rules, "2025-03-03", "quick", "hf_cat_back");
    sim_day(&mut store, &rules, date("2025-03-03"), "quick", &spec);
    // Ended at once (a long press before any exercise): not a session of practice.
    sim_day(
        &mut store,
        &rules,
        date("2025-03-04"),
        "quick",
        "0s:press,3s:long_press",
    );
    // Pain in another exercise: not pain-free.
    let spec = pain_spec(&store, &rules, "2025-03-05", "quick", "th_knees_to_chest");
    sim_day(&mut store, &rules, date("2025-03-05"), "quick", &spec);
    let h = store.history(None).unwrap();
    let rest = adapt::resting(&h, 1);
    assert!(rest.contains_key("hf_cat_back"), "{rest:?}");
    assert!(rest.contains_key("th_knees_to_chest"));
    // One clean session brings both back (pain_free_sessions = 1).
    plain_day(&mut store, &rules, date("2025-03-06"), "quick");
    let h = store.history(None).unwrap();
    assert!(adapt::resting(&h, 1).is_empty());
}

#[test]
fn an_exercise_with_an_easier_variant_is_replaced_by_it() {
    // A program with the one-leg bridge but not the plain one: a scratch
    // copy of the content with one more program.
    let copy = fixtures::Scratch::new();
    copy.write(
        "programs/bridge_day.toml",
        r#"id = "bridge_day"
sources = ["002_6eadf1f81b90289b.txt"]
name = { nl = "Brugdag", en = "Bridge day" }
description = { nl = "Rekken, dan de brug met één been.", en = "A stretch, then the one-leg bridge." }

[[item]]
exercise = "th_knees_to_chest"

[[item]]
exercise = "th_bridge_leg_extension"
"#,
    );
    let content = content::load_dir(&copy.content()).unwrap();
    let (_d, mut store) = scratch_store();
    let rules = Rules::default();
    let h = store.history(None).unwrap();
    let first = adapt::plan(&content, &rules, &h, date("2025-03-03"), "bridge_day").unwrap();
    let spec = pain_during(
        &run_today(&content, &first, "0s:press"),
        "th_bridge_leg_extension",
    );
    let mut bridge_day = |day: &str, spec: &str| {
        run_day(&mut store, &content, &rules, date(day), "bridge_day", spec)
    };
    bridge_day("2025-03-03", &spec);
    let (today, rec) = bridge_day("2025-03-04", "0s:press");
    assert_eq!(ids(&today), ["th_knees_to_chest", "th_bridge"]);
    assert_eq!(today.left_out[0].replaced_by.as_deref(), Some("th_bridge"));
    assert!(today.left_out[0]
        .reason
        .contains("the easier th_bridge instead"));
    // The session did the plain bridge, and the journal says why.
    assert!(journal_events(&rec).iter().any(
        |e| matches!(e, JournalEvent::ExerciseDone { exercise, .. } if exercise == "th_bridge")
    ));
    let h = store.history(None).unwrap();
    let left: Vec<_> = h.sessions[1].left_out().collect();
    assert_eq!(left[0].replaced_by.as_deref(), Some("th_bridge"));
}

fn rest_of(ids: &[&str]) -> BTreeMap<String, adapt::Rest> {
    ids.iter()
        .map(|id| {
            (
                id.to_string(),
                adapt::Rest {
                    exercise: id.to_string(),
                    since: date("2025-03-03"),
                    session: 1,
                    sessions_left: 2,
                },
            )
        })
        .collect()
}

#[test]
fn the_easier_variant_is_not_doubled_and_the_load_rules_still_hold() {
    let c = content();
    // The plain bridge is in th_strength_and_stability already: left out.
    let p = c.program("th_strength_and_stability").unwrap();
    let (adjusted, left) = adapt::adjust(c, p, &rest_of(&["th_bridge_leg_extension"]), 3).unwrap();
    assert_eq!(
        adjusted
            .items
            .iter()
            .filter(|i| i.exercise.get_ref() == "th_bridge")
            .count(),
        1
    );
    assert!(
        left[0].reason.contains("is in today's program already"),
        "{}",
        left[0].reason
    );

    // mk_6 must always be followed by mk_3: when the press-up rests, so does mk_6.
    let p = c.program("mckenzie_stiff").unwrap();
    let (adjusted, left) = adapt::adjust(c, p, &rest_of(&["mk_3_press_up"]), 3).unwrap();
    let kept: Vec<&str> = adjusted
        .items
        .iter()
        .map(|i| i.exercise.get_ref().as_str())
        .collect();
    assert_eq!(kept, ["mk_4_standing_backbend", "mk_5_sitting_lordosis"]);
    assert!(left
        .iter()
        .any(|l| l.exercise == "mk_6_knees_to_chest_lying"
            && l.reason.contains("always be followed by mk_3_press_up")));

    // Strength never without its warm-up: with the whole warm-up resting the
    // strength exercises go too, and nothing is left.
    let p = c.program("sr_warmup_and_strength").unwrap();
    let warmups = [
        "sr_low_back_stretch",
        "sr_back_lengthening",
        "sr_corkscrew",
        "sr_pelvic_tilt",
        "sr_tail_wag",
        "sr_belly_stretch",
    ];
    let e = adapt::adjust(c, p, &rest_of(&warmups), 3).unwrap_err();
    assert!(matches!(e, AdaptError::NothingLeft { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("sr_abdominals") && msg.contains("fix:"),
        "{msg}"
    );
    // The daemon says it, and what to do (the Pi has no screen; with one
    // fixed program, waiting alone never ends the rest).
    for (lang, words) in [
        (content::Lang::En, "choose another program"),
        (content::Lang::Nl, "kies een ander programma"),
    ] {
        let line = e.spoken(&c.phrases, lang).unwrap();
        assert_eq!(line.id.0, "sys.all_resting");
        assert!(line.text.contains(words), "{}", line.text);
    }
    // One warm-up left is enough.
    let (adjusted, _) = adapt::adjust(c, p, &rest_of(&warmups[1..]), 3).unwrap();
    assert_eq!(adjusted.items.len(), 4);
    // Every adjusted program still compiles and passes the load-time rules.
    for program in &c.programs {
        for ex in &program.items {
            let rest = rest_of(&[ex.exercise.get_ref()]);
            if let Ok((adj, _)) = adapt::adjust(c, program, &rest, 3) {
                check_rules(&adj.items);
                matcoach::session::compile(c, &adj, content::Lang::En, &Default::default(), &())
                    .unwrap_or_else(|e| panic!("{}: {e}", program.id()));
            }
        }
    }
}

fn check_rules(items: &[ProgramItem]) {
    let c = content();
    let mut warmed = false;
    for (i, item) in items.iter().enumerate() {
        let ex = c.exercise(item.exercise.get_ref()).unwrap();
        if ex.category == content::Category::Strengthening {
            assert!(i > 0 && warmed, "strength before warm-up: {}", ex.id());
        }
        warmed |= ex.category.is_warm_up();
        if let Some(f) = &ex.always_followed_by {
            assert_eq!(
                items.get(i + 1).map(|n| n.exercise.get_ref()),
                Some(f.get_ref()),
                "{} not followed by {}",
                ex.id(),
                f.get_ref()
            );
        }
    }
}

#[test]
fn auto_rotates_programs_and_puts_strength_on_two_or_three_days_a_week() {
    let (_dir, mut store) = scratch_store();
    let rules = Rules::default();
    let mut days = Vec::new();
    let start = date("2025-03-03");
    for k in 0..28 {
        let day = start.add_days(k);
        let (today, rec) = plain_day(&mut store, &rules, day, "auto");
        assert!(ended(&rec), "{day}");
        days.push((day, today.program.id().to_string(), today.kind));
    }
    let strength = |p: &str| p == "sr_warmup_and_strength" || p == adapt::MAX_TEST;
    // The first day is gentle; the first strength day is the max test.
    assert!(!strength(&days[0].1), "{days:?}");
    let first_strength = days.iter().find(|d| strength(&d.1)).unwrap();
    assert_eq!(first_strength.1, adapt::MAX_TEST);
    assert_eq!(first_strength.2, SessionKind::MaxTest);
    // Successive days never get the same program; strength never two days
    // running, and two or three times in any seven days.
    for w in days.windows(2) {
        assert_ne!(w[0].1, w[1].1, "{w:?}");
        assert!(!(strength(&w[0].1) && strength(&w[1].1)), "{w:?}");
    }
    for w in days[1..].windows(7) {
        let n = w.iter().filter(|d| strength(&d.1)).count();
        assert!((2..=3).contains(&n), "{n} strength days in {w:?}");
    }
    // Every mobility program of the rotation comes round.
    let used: BTreeSet<&str> = days.iter().map(|d| d.1.as_str()).collect();
    for p in &rules.rotation {
        assert!(used.contains(p.as_str()), "{p} never used: {used:?}");
    }
    // After the max test the strength days use the startgetal.
    let h = store.history(None).unwrap();
    assert_eq!(h.maxima.len(), 3, "{:?}", h.maxima);
}

#[test]
fn mckenzie_users_get_their_phase_which_only_they_advance_and_never_after_pain() {
    let (_dir, mut store) = scratch_store();
    let rules = Rules::default();
    let h = store.history(None).unwrap();
    assert_eq!(adapt::may_advance(&h), Err(PhaseError::NotStarted));
    store
        .set_phase(Some(Phase::Acute), "test", date("2025-03-01").at_midnight())
        .unwrap();
    // Many pain-free sessions: still acute (never automatic).
    for k in 0..5 {
        let (today, _) = plain_day(&mut store, &rules, date("2025-03-03").add_days(k), "auto");
        assert_eq!(today.program.id(), "mckenzie_acute");
        assert!(today.why.contains("McKenzie phase: acute"), "{}", today.why);
    }
    // Pain in the last session: refused, with the reason.
    let spec = pain_spec(&store, &rules, "2025-03-08", "auto", "mk_3_press_up");
    sim_day(&mut store, &rules, date("2025-03-08"), "auto", &spec);
    let h = store.history(None).unwrap();
    let e = adapt::may_advance(&h).unwrap_err();
    assert!(matches!(e, PhaseError::AfterPain { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("2025-03-08") && msg.contains("mk_3_press_up") && msg.contains("fix:"),
        "{msg}"
    );
    // After a session without pain: allowed, one step.
    plain_day(&mut store, &rules, date("2025-03-09"), "auto");
    let h = store.history(None).unwrap();
    assert_eq!(adapt::may_advance(&h), Ok(Phase::Improving));
    store
        .set_phase(
            Some(Phase::Improving),
            "test",
            date("2025-03-09").at_midnight(),
        )
        .unwrap();
    let (today, _) = plain_day(&mut store, &rules, date("2025-03-10"), "auto");
    assert_eq!(today.program.id(), "mckenzie_improving");
    // The last phase has no next; going back is always possible.
    store
        .set_phase(
            Some(Phase::Maintenance),
            "test",
            date("2025-03-10").at_midnight(),
        )
        .unwrap();
    let h = store.history(None).unwrap();
    assert_eq!(adapt::may_advance(&h), Err(PhaseError::AtLast));
    assert_eq!(
        adapt::may_go_back(&h),
        Ok(Phase::Improving),
        "where it came from"
    );
    // Without a phase before it, back is the phase before in the order.
    let (_dir2, mut fresh) = scratch_store();
    fresh
        .set_phase(
            Some(Phase::Maintenance),
            "test",
            date("2025-03-10").at_midnight(),
        )
        .unwrap();
    let h = fresh.history(None).unwrap();
    assert_eq!(adapt::may_go_back(&h), Ok(Phase::Stiff));
}

#[test]
fn the_startgetal_is_a_third_of_the_maximum_from_the_max_test() {
    let (_dir, mut store) = scratch_store();
    let rules = Rules::default();
    let h = store.history(None).unwrap();
    let plan = adapt::plan(content(), &rules, &h, date("2025-03-03"), adapt::MAX_TEST).unwrap();
    assert_eq!(plan.kind, SessionKind::MaxTest);
    assert_eq!(
        plan.tested,
        ["sr_abdominals", "sr_obliques", "sr_back_extensors"]
    );
    // The warm-up first, as 004 says.
    assert_eq!(ids(&plan)[0], "sr_low_back_stretch");
    // Say "stop" 14 s into the abdominal curls (4 s a repetition: 3 done),
    // 30 s into the oblique curls on the left (7) and 10 s on the right
    // (2: the weaker side counts), and never for the back raise (all 50).
    let dry = run_today(content(), &plan, "0s:press");
    let start_of =
        |ex: &str, side: Option<matcoach::session::Side>, records: &[matcoach::sim::Record]| {
            // The first set's start: its SetDone minus its length.
            records
                .iter()
                .find_map(|r| match &r.action {
                    Action::Journal(JournalEvent::SetDone {
                        exercise,
                        side: s,
                        reps_done,
                        ..
                    }) if exercise == ex && *s == side => {
                        Some(r.t.as_millis() as u64 - u64::from(*reps_done) * 4000)
                    }
                    _ => None,
                })
                .unwrap()
        };
    let abs = start_of("sr_abdominals", None, &dry);
    let spec1 = format!("0s:press,{}ms:heard=stop", abs + 14_000);
    let second = run_today(content(), &plan, &spec1);
    let left = start_of("sr_obliques", Some(matcoach::session::Side::Left), &second);
    let spec2 = format!("{spec1},{}ms:heard=stop", left + 30_000);
    let third = run_today(content(), &plan, &spec2);
    let right = start_of("sr_obliques", Some(matcoach::session::Side::Right), &third);
    let spec = format!("{spec2},{}ms:heard=stop", right + 10_000);
    let (_, rec) = sim_day(
        &mut store,
        &rules,
        date("2025-03-03"),
        adapt::MAX_TEST,
        &spec,
    );
    let reps: Vec<(String, u32)> = journal_events(&rec)
        .iter()
        .filter_map(|e| match e {
            JournalEvent::SetDone {
                exercise,
                reps_done,
                ..
            } if exercise.starts_with("sr_") && plan.tested.contains(exercise) => {
                Some((exercise.clone(), *reps_done))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        reps,
        [
            ("sr_abdominals".to_string(), 3),
            ("sr_obliques".to_string(), 7),
            ("sr_obliques".to_string(), 2),
            ("sr_back_extensors".to_string(), 50)
        ]
    );
    let h = store.history(None).unwrap();
    let max: BTreeMap<&str, u32> = h
        .maxima
        .values()
        .map(|m| (m.exercise.as_str(), m.max_reps))
        .collect();
    assert_eq!(
        max,
        BTreeMap::from([
            ("sr_abdominals", 3),
            ("sr_obliques", 2),
            ("sr_back_extensors", 50)
        ])
    );
    // From then on the strength program uses a third of it (at least one),
    // in three sets.
    let (today, rec) = plain_day(
        &mut store,
        &rules,
        date("2025-03-05"),
        "sr_warmup_and_strength",
    );
    assert_eq!(today.maxima.get("sr_back_extensors"), Some(&50));
    let planned: BTreeMap<String, (u32, u32)> = journal_events(&rec)
        .iter()
        .filter_map(|e| match e {
            JournalEvent::SetDone {
                exercise,
                set,
                reps_planned,
                ..
            } if plan.tested.contains(exercise) => Some((exercise.clone(), (*reps_planned, *set))),
            _ => None,
        })
        .collect();
    assert_eq!(planned["sr_abdominals"], (1, 3));
    assert_eq!(planned["sr_obliques"], (1, 3));
    assert_eq!(planned["sr_back_extensors"], (16, 3));
}

#[test]
fn a_requested_max_test_comes_on_the_next_strength_day_and_only_once() {
    let (_dir, mut store) = scratch_store();
    let rules = Rules::default();
    for (k, ex) in ["sr_abdominals", "sr_obliques", "sr_back_extensors"]
        .iter()
        .enumerate()
    {
        store
            .set_max(ex, 30 + k as u32, date("2025-03-01").at_midnight())
            .unwrap();
    }
    let mut kinds = Vec::new();
    for k in 0..6 {
        if k == 3 {
            store
                .request_max_test(date("2025-03-05").at_midnight())
                .unwrap();
        }
        let (today, _) = plain_day(&mut store, &rules, date("2025-03-03").add_days(k), "auto");
        kinds.push((today.program.id().to_string(), today.kind));
    }
    let tests: Vec<usize> = kinds
        .iter()
        .enumerate()
        .filter(|(_, k)| k.1 == SessionKind::MaxTest)
        .map(|(i, _)| i)
        .collect();
    // Tested by hand: no max test until asked; then exactly one, on a strength day.
    assert_eq!(tests.len(), 1, "{kinds:?}");
    assert!(tests[0] >= 3, "{kinds:?}");
    assert!(store.history(None).unwrap().max_test_requested.is_none());
}

#[test]
fn bad_settings_and_unknown_programs_are_clear_errors() {
    let c = content();
    let h = Default::default();
    let d = date("2025-03-03");
    let e = adapt::plan(c, &Rules::default(), &h, d, "yoga").unwrap_err();
    assert!(
        e.to_string().contains("unknown program `yoga`") && e.to_string().contains("fix:"),
        "{e}"
    );
    let rules = Rules {
        rotation: vec!["morning_mobility".into(), "pilates".into()],
        ..Rules::default()
    };
    let e = adapt::plan(c, &rules, &h, d, adapt::AUTO)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("journal.rotation") && e.contains("pilates"),
        "{e}"
    );
    let rules = Rules {
        pain_free_sessions: 0,
        ..Rules::default()
    };
    let e = adapt::plan(c, &rules, &h, d, adapt::AUTO)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("journal.pain_free_sessions = 0") && e.contains("fix:"),
        "{e}"
    );
}

/// A session of today's `auto` program with the phase offer the adaptation
/// decides on, written to `store`. `answer` places the user's actions
/// against the run in which nobody answers the offer.
fn run_day_with_offer(
    store: &mut JournalStore,
    day: &str,
    answer: impl Fn(&[matcoach::sim::Record]) -> String,
) -> (
    adapt::Today,
    Option<matcoach::session::PhaseOffer>,
    Vec<matcoach::sim::Record>,
) {
    let rules = Rules::default();
    let h = store.history(None).unwrap();
    let today = adapt::plan(content(), &rules, &h, date(day), "auto").unwrap();
    let offer = adapt::phase_offer(content(), &rules, &h, &today);
    let run = |spec: &str| {
        let mut s = session_today(content(), &today);
        s.set_phase_offer(offer.clone());
        let events = matcoach::sim::parse_spec(spec).unwrap();
        matcoach::sim::run(&mut s, &events, std::time::Duration::from_secs(6 * 3600))
    };
    let records = run(&answer(&run("0s:press")));
    let base = store.last_on(date(day)).unwrap().map_or(
        date(day)
            .at_midnight()
            .plus(std::time::Duration::from_secs(9 * 3600)),
        |last| last.plus(std::time::Duration::from_secs(60)),
    );
    store.begin(base, Some(today.note(matcoach::journal::Source::Sim)));
    for (at, e) in journaled(&records) {
        store.record(at, e).unwrap();
    }
    (today, offer, records)
}

/// When the button's window for the offer opens (in a run without answer).
fn offer_window(records: &[matcoach::sim::Record]) -> u64 {
    let kept = records
        .iter()
        .find_map(|r| match &r.action {
            Action::Speak { line, .. } if line.id.0 == "sys.phase_kept" => Some(r.t),
            _ => None,
        })
        .expect("an offer that nobody answered");
    (kept - std::time::Duration::from_secs(15)).as_millis() as u64
}

#[test]
fn the_coach_offers_the_next_phase_on_the_brochures_clock_once_a_day() {
    // Issue 13: days from the journal (journal.acute_days = 2: "a day or
    // two after starting"), not a count of sessions.
    let (_dir, mut store) = scratch_store();
    let rules = Rules::default();
    assert_eq!(rules.acute_days, 2);
    store
        .set_phase(Some(Phase::Acute), "test", date("2025-03-01").at_midnight())
        .unwrap();
    let none = |_: &[matcoach::sim::Record]| "0s:press".to_string();
    // The first day, three sessions without pain, and the second: not yet.
    for day in ["2025-03-01", "2025-03-01", "2025-03-01", "2025-03-02"] {
        let (today, offer, _) = run_day_with_offer(&mut store, day, none);
        assert_eq!(today.program.id(), "mckenzie_acute");
        assert_eq!(offer, None, "{day}");
    }
    // Two days on: offered.
    let h = store.history(None).unwrap();
    let mobility = adapt::plan(
        content(),
        &rules,
        &h,
        date("2025-03-03"),
        "morning_mobility",
    )
    .unwrap();
    assert_eq!(
        adapt::phase_offer(content(), &rules, &h, &mobility),
        None,
        "not in another program than the phase's"
    );
    let (_, offer, records) = run_day_with_offer(&mut store, "2025-03-03", none);
    let offer = offer.expect("an offer two days after the phase began");
    assert_eq!(
        (offer.from, offer.to, offer.pain_free_sessions),
        (Phase::Acute, Phase::Improving, 5)
    );
    assert_eq!(offer.to_name.get(content::Lang::En), "McKenzie: improving");
    let said = records
        .iter()
        .find_map(|r| match &r.action {
            Action::Speak { line, .. } if line.id.0.starts_with("sys.phase_offer") => {
                Some(line.text.clone())
            }
            _ => None,
        })
        .unwrap();
    assert!(
        said.contains("a day or two") && !said.contains("session"),
        "{said}"
    );
    assert!(journal_events(&records)
        .iter()
        .any(|e| matches!(e, JournalEvent::PhaseKept { reason, .. } if reason == "no answer")));
    // Nobody answered: still acute, and no second offer that day.
    let (today, offer, _) = run_day_with_offer(&mut store, "2025-03-03", none);
    assert_eq!(today.program.id(), "mckenzie_acute");
    assert_eq!(offer, None, "once a day");
    let h = store.history(None).unwrap();
    assert_eq!(h.phase_offered.map(|s| s.date()), Some(date("2025-03-03")));
    assert_eq!(h.current_phase(), Some(Phase::Acute));
    // Pain in a session (not located: it counts as spreading): no offer
    // after it, nor the next day.
    let spec = pain_spec(&store, &rules, "2025-03-04", "auto", "mk_3_press_up");
    let (_, offer, records) = run_day_with_offer(&mut store, "2025-03-04", |_| spec.clone());
    assert!(
        offer.is_some(),
        "offered before the session; the session withdraws it"
    );
    assert!(!journal_events(&records)
        .iter()
        .any(|e| matches!(e, JournalEvent::PhaseOffered { .. })));
    let (_, offer, _) = run_day_with_offer(&mut store, "2025-03-05", none);
    assert_eq!(offer, None, "pain within the last two days");
    // Two days without it: offered, and the button accepts.
    let (_, offer, records) = run_day_with_offer(&mut store, "2025-03-06", |r| {
        format!("0s:press,{}ms:press", offer_window(r) + 2000)
    });
    assert_eq!(offer.map(|o| o.to), Some(Phase::Improving));
    assert!(
        journal_events(&records).contains(&&JournalEvent::PhaseAdvanced {
            from: Phase::Acute,
            to: Phase::Improving
        })
    );
    // The journal has the new phase; the next session follows it, and the
    // clock starts again in the new phase.
    let h = store.history(None).unwrap();
    assert_eq!(h.current_phase(), Some(Phase::Improving));
    assert_eq!(h.phase.as_ref().unwrap().since.date(), date("2025-03-06"));
    let (today, offer, _) = run_day_with_offer(&mut store, "2025-03-07", none);
    assert_eq!(today.program.id(), "mckenzie_improving");
    assert_eq!(offer, None);
}

#[test]
fn an_accepted_offer_does_not_override_a_phase_changed_meanwhile() {
    let (_dir, mut store) = scratch_store();
    let at = date("2025-03-01").at_midnight();
    store.set_phase(Some(Phase::Stiff), "test", at).unwrap();
    // An advance from acute (an offer made before `matcoach phase` changed
    // it): recorded as an event, but the later choice stands.
    store.begin(at.plus(std::time::Duration::from_secs(3600)), None);
    let started = JournalEvent::SessionStarted {
        program: "mckenzie_acute".into(),
        lang: "en".into(),
    };
    store.record(std::time::Duration::ZERO, &started).unwrap();
    // (seconds in, the advance, the phase after it): then one from the
    // phase that stands is followed.
    for (k, from, to, now) in [
        (1, Phase::Acute, Phase::Improving, Phase::Stiff),
        (2, Phase::Stiff, Phase::Maintenance, Phase::Maintenance),
    ] {
        let advanced = JournalEvent::PhaseAdvanced { from, to };
        store
            .record(std::time::Duration::from_secs(k), &advanced)
            .unwrap();
        assert_eq!(
            store.history(None).unwrap().current_phase(),
            Some(now),
            "after {from:?} to {to:?}"
        );
    }
}
