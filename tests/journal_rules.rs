//! Issue 13, the journal's part: McKenzie phases on the brochure's clock
//! (days, not sessions), pain that stayed central does not rest an
//! exercise, doses per day kept across sessions, the BAOV week-three gate on
//! the surgery date, and the facts `compile` gets (first use, sessions of a
//! program). Histories are built in memory; the daily maximum also through
//! `matcoach sim --db --date`.

mod common;
use common::bin_support;
use common::journal_days;
use common::journal_support;

use bin_support::*;
use journal_days::{default_plan, open_store, scratch};
use journal_support::*;
use matcoach::adapt::{self, AdaptError, Facts, Rules};
use matcoach::content::{Lang, Phase};
use matcoach::journal::queries::{OfferInfo, PhaseInfo};
use matcoach::journal::{ExerciseInfo, ExerciseStatus, History, SessionInfo, Stamp};
use matcoach::session::script::Personal;
use matcoach::session::{self, Action, JournalEvent, PainLocation, PhaseOffer, SessionConfig};
use std::time::Duration;

// ---- histories in memory ---------------------------------------------------

/// A completed session of `program` on `day` (the `n`th of the day, an
/// hour apart from 08:00), with `done` exercises and `pains`.
fn session(
    id: i64,
    program: &str,
    day: &str,
    n: i64,
    done: &[&str],
    pains: &[(&str, Option<PainLocation>)],
) -> SessionInfo {
    let started = date(day)
        .at_midnight()
        .plus(Duration::from_secs((8 + n as u64) * 3600));
    completed(id, program, started, done, pains)
}

/// `per_day` sessions of the phase's program on every day from `from` up to
/// and including `to`, without pain unless `pain_on` names the day (one
/// pain in its first session, at `location`).
fn days_of(
    phase: Phase,
    from: &str,
    to: &str,
    per_day: i64,
    pain_on: Option<(&str, Option<PainLocation>)>,
) -> Vec<SessionInfo> {
    let program = adapt::phase_program(content(), phase).unwrap();
    let done: Vec<&str> = program
        .items
        .iter()
        .map(|i| i.exercise.get_ref().as_str())
        .collect();
    let mut out = Vec::new();
    let mut day = date(from);
    while day <= date(to) {
        for n in 0..per_day {
            let d = day.to_string();
            let pains: Vec<(&str, Option<PainLocation>)> = match pain_on {
                Some((p, l)) if p == d && n == 0 => vec![(done[0], l)],
                _ => Vec::new(),
            };
            out.push(session(
                out.len() as i64 + 1,
                program.id(),
                &d,
                n,
                &done,
                &pains,
            ));
        }
        day = day.add_days(1);
    }
    out
}

fn in_phase(phase: Phase, since: &str, sessions: Vec<SessionInfo>) -> History {
    History {
        sessions,
        phase: Some(PhaseInfo {
            phase: Some(phase),
            since: date(since).at_midnight(),
            after_seq: None,
            came_from: None,
        }),
        ..History::default()
    }
}

/// The offer `auto` would get on `day` (the phase's program).
fn offer_on(h: &History, day: &str) -> Option<PhaseOffer> {
    let rules = Rules::default();
    let today = adapt::plan(content(), &rules, h, date(day), adapt::AUTO).unwrap();
    adapt::phase_offer(content(), &rules, h, &today)
}

const C: Option<PainLocation> = Some(PainLocation::Central);
const S: Option<PainLocation> = Some(PainLocation::Spreading);

#[test]
fn phases_are_offered_on_the_brochures_clock_in_days() {
    struct Case {
        name: &'static str,
        phase: Phase,
        /// Sessions from the phase's first day up to and including `last`.
        last: &'static str,
        per_day: i64,
        pain: Option<(&'static str, Option<PainLocation>)>,
        /// The day of the session that would make the offer.
        today: &'static str,
        want: Option<Phase>,
    }
    // Every phase starts on 2025-03-01. The first day at 8 sessions a
    // day, in either phase counted in days: no offer.
    let mut cases = Vec::from([Phase::Acute, Phase::Improving].map(|phase| Case {
        name: "day 1 at 8 sessions a day: no offer",
        phase,
        last: "2025-03-01",
        per_day: 7,
        pain: None,
        today: "2025-03-01",
        want: None,
    }));
    cases.extend([
        Case {
            name: "acute, the second day: not yet (acute_days = 2)",
            phase: Phase::Acute,
            last: "2025-03-01",
            per_day: 8,
            pain: None,
            today: "2025-03-02",
            want: None,
        },
        Case {
            name: "acute, two days on: offered",
            phase: Phase::Acute,
            last: "2025-03-02",
            per_day: 8,
            pain: None,
            today: "2025-03-03",
            want: Some(Phase::Improving),
        },
        Case {
            name: "acute, central pain in the last session: what the phase expects, offered",
            phase: Phase::Acute,
            last: "2025-03-02",
            per_day: 1,
            pain: Some(("2025-03-02", C)),
            today: "2025-03-03",
            want: Some(Phase::Improving),
        },
        Case {
            name: "acute, spreading pain yesterday: not yet",
            phase: Phase::Acute,
            last: "2025-03-02",
            per_day: 6,
            pain: Some(("2025-03-02", S)),
            today: "2025-03-03",
            want: None,
        },
        Case {
            name: "improving, day 14: not yet",
            phase: Phase::Improving,
            last: "2025-03-13",
            per_day: 6,
            pain: None,
            today: "2025-03-14",
            want: None,
        },
        Case {
            name: "improving, day 15 pain-free: the stiff question",
            phase: Phase::Improving,
            last: "2025-03-14",
            per_day: 6,
            pain: None,
            today: "2025-03-15",
            want: Some(Phase::Stiff),
        },
        Case {
            name: "improving, central pain on day 10: not pain-free yet",
            phase: Phase::Improving,
            last: "2025-03-14",
            per_day: 6,
            pain: Some(("2025-03-10", C)),
            today: "2025-03-15",
            want: None,
        },
        Case {
            name: "improving, unlocated pain on day 10: not yet",
            phase: Phase::Improving,
            last: "2025-03-14",
            per_day: 6,
            pain: Some(("2025-03-10", None)),
            today: "2025-03-15",
            want: None,
        },
        Case {
            name: "improving, day 22, only central pain (day 10): the plateau",
            phase: Phase::Improving,
            last: "2025-03-21",
            per_day: 6,
            pain: Some(("2025-03-10", C)),
            today: "2025-03-22",
            want: Some(Phase::Stiff),
        },
        Case {
            name: "improving, day 22, spreading pain on day 10: no plateau",
            phase: Phase::Improving,
            last: "2025-03-21",
            per_day: 6,
            pain: Some(("2025-03-10", S)),
            today: "2025-03-22",
            want: None,
        },
        Case {
            name: "stiff, the first day: not yet",
            phase: Phase::Stiff,
            last: "2025-03-01",
            per_day: 6,
            pain: None,
            today: "2025-03-02",
            want: None,
        },
        Case {
            name: "stiff, two days on: the knees question",
            phase: Phase::Stiff,
            last: "2025-03-02",
            per_day: 6,
            pain: None,
            today: "2025-03-03",
            want: Some(Phase::Maintenance),
        },
        Case {
            name: "maintenance: nothing after it",
            phase: Phase::Maintenance,
            last: "2025-03-20",
            per_day: 2,
            pain: None,
            today: "2025-03-21",
            want: None,
        },
    ]);
    let mut failed = Vec::new();
    for c in &cases {
        let h = in_phase(
            c.phase,
            "2025-03-01",
            days_of(c.phase, "2025-03-01", c.last, c.per_day, c.pain),
        );
        let got = offer_on(&h, c.today);
        if got.as_ref().map(|o| o.to) != c.want {
            failed.push(format!(
                "{:?}, {}: got {:?}",
                c.phase,
                c.name,
                got.as_ref().map(|o| o.to)
            ));
        }
        if let Some(o) = got {
            assert_eq!(o.from, c.phase, "{:?}, {}", c.phase, c.name);
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn the_stiff_phase_is_asked_and_unanswered_maintenance_is_offered_next() {
    let sessions = days_of(Phase::Improving, "2025-03-01", "2025-03-14", 6, None);
    let mut h = in_phase(Phase::Improving, "2025-03-01", sessions);
    assert_eq!(offer_on(&h, "2025-03-15").map(|o| o.to), Some(Phase::Stiff));
    // Asked on the 15th, not taken: the 16th asks about maintenance.
    h.phase_offered = Some(date("2025-03-15").at_midnight());
    h.last_offer = Some(OfferInfo {
        at: date("2025-03-15")
            .at_midnight()
            .plus(Duration::from_secs(9 * 3600)),
        from: Phase::Improving,
        to: Phase::Stiff,
    });
    assert_eq!(offer_on(&h, "2025-03-15"), None, "once a day");
    assert_eq!(
        offer_on(&h, "2025-03-16").map(|o| o.to),
        Some(Phase::Maintenance)
    );
    // And after that one, the stiff question again.
    h.last_offer = Some(OfferInfo {
        at: date("2025-03-16")
            .at_midnight()
            .plus(Duration::from_secs(9 * 3600)),
        from: Phase::Improving,
        to: Phase::Maintenance,
    });
    h.phase_offered = Some(date("2025-03-16").at_midnight());
    assert_eq!(offer_on(&h, "2025-03-17").map(|o| o.to), Some(Phase::Stiff));
}

/// The offer as the session says it, in `lang`.
fn said_offer(program: &str, offer: PhaseOffer, lang: Lang) -> String {
    let cfg = SessionConfig::default();
    let p = content().program(program).unwrap();
    let script = session::compile(content(), p, lang, &cfg, &()).unwrap();
    let mut s = session::Session::new(
        script,
        cfg,
        content().phrases.clone(),
        content().safety.clone(),
    );
    s.set_phase_offer(Some(offer));
    let press = matcoach::sim::parse_spec("0s:press").unwrap();
    let records = matcoach::sim::run(&mut s, &press, Duration::from_secs(6 * 3600));
    records
        .iter()
        .find_map(|r| match &r.action {
            Action::Speak { line, .. } if line.id.0.starts_with("sys.phase_offer") => {
                Some(line.text.clone())
            }
            _ => None,
        })
        .expect("the offer is said")
}

#[test]
fn each_offer_asks_its_own_question_in_days_or_weeks_in_both_languages() {
    let offer = |from, to| PhaseOffer {
        from,
        to,
        to_name: adapt::phase_program(content(), to).unwrap().name.clone(),
        pain_free_sessions: 40,
    };
    let cases = [
        (
            "mckenzie_acute",
            Phase::Acute,
            Phase::Improving,
            ["a day or two", "clearly better"],
            ["een dag of twee", "duidelijk beter"],
        ),
        (
            "mckenzie_improving",
            Phase::Improving,
            Phase::Stiff,
            ["two weeks", "still feel stiff"],
            ["twee weken", "nog stijf"],
        ),
        (
            "mckenzie_improving",
            Phase::Improving,
            Phase::Maintenance,
            ["two weeks", "without stiffness"],
            ["twee weken", "zonder stijfheid"],
        ),
        (
            "mckenzie_stiff",
            Phase::Stiff,
            Phase::Maintenance,
            ["knees come easily to your chest", "press the button"],
            ["gemakkelijk tegen je borst", "Druk dan nu op de knop"],
        ),
    ];
    for (program, from, to, en, nl) in cases {
        for (lang, words) in [(Lang::En, en), (Lang::Nl, nl)] {
            let text = said_offer(program, offer(from, to), lang);
            for w in words {
                assert!(text.contains(w), "{from:?}→{to:?} {lang:?}: {text}");
            }
            assert!(
                !text.contains("40")
                    && !text.contains("sessions in a row")
                    && !text.contains("sessies achter elkaar"),
                "days or weeks, not sessions: {text}"
            );
        }
    }
}

// ---- pain that stayed central ---------------------------------------------

#[test]
fn central_pain_does_not_rest_the_exercise_spreading_or_unanswered_does() {
    let cases = [
        (C, false),
        (S, true),
        (Some(PainLocation::Unanswered), true),
        (None, true),
    ];
    for (location, rests) in cases {
        let h = History {
            sessions: vec![session(
                1,
                "mckenzie_acute",
                "2025-03-03",
                0,
                &["mk_1_prone_lying"],
                &[("mk_3_press_up", location)],
            )],
            ..History::default()
        };
        let rest = adapt::resting(&h, 3);
        assert_eq!(rest.contains_key("mk_3_press_up"), rests, "{location:?}");
        let today = default_plan(&h, date("2025-03-04"), "mckenzie_acute").unwrap();
        let kept = today
            .program
            .items
            .iter()
            .any(|i| i.exercise.get_ref() == "mk_3_press_up");
        assert_eq!(kept, !rests, "{location:?}");
    }
}

#[test]
fn the_journal_stores_where_the_pain_was_and_history_shows_it() {
    let (_dir, path) = scratch();
    let mut store = open_store(&path);
    store.begin(date("2025-03-03").at_midnight(), None);
    let ms = Duration::from_millis;
    // The session starts; in each exercise, pain in the first set, then
    // where it was.
    let hurt = |exercise: &str, location| {
        let x = || exercise.to_string();
        [
            JournalEvent::ExerciseStarted { exercise: x() },
            JournalEvent::Pain {
                exercise: Some(x()),
                set: Some(1),
                side: None,
            },
            JournalEvent::PainLocated {
                exercise: Some(x()),
                location,
            },
        ]
    };
    let started = JournalEvent::SessionStarted {
        program: "mckenzie_acute".into(),
        lang: "en".into(),
    };
    let events: Vec<JournalEvent> = std::iter::once(started)
        .chain(hurt("mk_3_press_up", PainLocation::Central))
        .chain(hurt("mk_4_standing_backbend", PainLocation::Spreading))
        .collect();
    for (k, e) in events.iter().enumerate() {
        store.record(ms(1000 * k as u64), e).unwrap();
    }
    let h = store.history(None).unwrap();
    let located: Vec<(Option<&str>, Option<PainLocation>)> = h.sessions[0]
        .pains
        .iter()
        .map(|p| (p.exercise.as_deref(), p.location))
        .collect();
    assert_eq!(
        located,
        [
            (Some("mk_3_press_up"), C),
            (Some("mk_4_standing_backbend"), S)
        ]
    );
    let rest = adapt::resting(&h, 3);
    assert!(!rest.contains_key("mk_3_press_up") && rest.contains_key("mk_4_standing_backbend"));
    drop(store);
    let out = Out::of(&mut command([
        "history",
        "--db",
        path.to_str().unwrap(),
        "--today",
        "2025-03-03",
    ]))
    .ok();
    assert!(
        out.stdout.contains("mk_3_press_up set 1 (central)")
            && out
                .stdout
                .contains("mk_4_standing_backbend set 1 (spreading)"),
        "{}",
        out.show()
    );
}

// ---- doses per day ----------------------------------------------------------

#[test]
fn an_exercise_at_its_daily_maximum_is_left_out_today_said_once_and_back_tomorrow() {
    let all = [
        "mk_3_press_up",
        "mk_4_standing_backbend",
        "mk_5_sitting_lordosis",
    ];
    let without_5 = ["mk_3_press_up", "mk_4_standing_backbend"];
    // (sessions done today with mk_5, left out today already, day planned,
    // left out?, said?)
    let cases = [
        (2, false, "2025-03-03", false, false),
        (3, false, "2025-03-03", true, true),
        (3, true, "2025-03-03", true, false),
        (3, true, "2025-03-04", false, false),
    ];
    for (with5, already, day, left, said) in cases {
        let mut sessions: Vec<SessionInfo> = (0..with5)
            .map(|n| session(n + 1, "mckenzie_improving", "2025-03-03", n, &all, &[]))
            .collect();
        if already {
            let mut s = session(9, "mckenzie_improving", "2025-03-03", 5, &without_5, &[]);
            s.exercises.push(ExerciseInfo {
                position: None,
                exercise: "mk_5_sitting_lordosis".into(),
                status: ExerciseStatus::LeftOut,
                complete: None,
                reason: Some(format!("done 3 times today, {}", adapt::DAILY_MAX)),
                replaced_by: None,
                sets: 0,
                reps: 0,
                secs: 0,
            });
            sessions.push(s);
        }
        let h = History {
            sessions,
            ..History::default()
        };
        let today = default_plan(&h, date(day), "mckenzie_improving").unwrap();
        let case = format!("{with5} done, already {already}, {day}");
        let present = today
            .program
            .items
            .iter()
            .any(|i| i.exercise.get_ref() == "mk_5_sitting_lordosis");
        assert_eq!(present, !left, "{case}");
        let why = today
            .left_out
            .iter()
            .find(|l| l.exercise == "mk_5_sitting_lordosis");
        assert_eq!(why.is_some(), left, "{case}");
        if let Some(w) = why {
            assert!(
                w.reason.contains(adapt::DAILY_MAX) && w.reason.contains("3 a day"),
                "{}",
                w.reason
            );
        }
        assert_eq!(
            today.facts.daily_max_reached == ["mk_5_sitting_lordosis"],
            said,
            "{case}"
        );
        // The script says it, once, before the first exercise.
        let script = session::compile(
            content(),
            &today.program,
            Lang::En,
            &SessionConfig::default(),
            &today.facts,
        )
        .unwrap();
        let lines = session::script_lines(&script);
        let says: Vec<&str> = lines
            .iter()
            .filter(|l| l.id.0 == "sys.daily_max_reached.mk_5_sitting_lordosis")
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(says.len(), usize::from(said), "{case}");
        if said {
            assert!(says[0].contains("Making a hollow lower back while sitting"));
        }
    }
}

#[test]
fn a_program_with_every_exercise_at_its_daily_maximum_says_come_back_tomorrow() {
    let done = ["mk_3_press_up", "mk_4_standing_backbend"];
    let h = History {
        sessions: (0..8)
            .map(|n| session(n + 1, "mckenzie_no_pain", "2025-03-03", n, &done, &[]))
            .collect(),
        ..History::default()
    };
    let e = default_plan(&h, date("2025-03-03"), "mckenzie_no_pain").unwrap_err();
    assert!(matches!(e, AdaptError::AllDoneToday { .. }), "{e}");
    assert!(e.to_string().contains("fix: come back tomorrow"), "{e}");
    // The daemon says it (the Pi has no screen).
    for (lang, words) in [(Lang::En, "come back tomorrow"), (Lang::Nl, "morgen weer")] {
        let line = e.spoken(&content().phrases, lang).unwrap();
        assert_eq!(line.id.0, "sys.all_done_today");
        assert!(line.text.contains(words), "{}", line.text);
    }
}

#[test]
fn the_day_clock_settings_are_checked_with_the_field_named() {
    use matcoach::config::Config;
    let path = std::path::Path::new("c.toml");
    let (c, w) =
        Config::parse(path, "[journal]\npain_free_days = 10\nplateau_days = 18\n").unwrap();
    assert!(w.is_empty());
    let rules = Rules::for_config(&c);
    assert_eq!((rules.pain_free_days, rules.plateau_days), (10, 18));
    let cases = [
        ("[journal]\nacute_days = 0\n", "journal.acute_days", ":2:"),
        ("[journal]\nstiff_days = 400\n", "journal.stiff_days", ":2:"),
        (
            "[journal]\npain_free_days = 14\nplateau_days = 7\n",
            "journal.plateau_days",
            ":3:",
        ),
        (
            "[coach]\nsurgery_date = \"2025-02-30\"\n",
            "coach.surgery_date",
            ":2:",
        ),
    ];
    for (text, key, line) in cases {
        let e = Config::parse(path, text).unwrap_err().to_string();
        assert!(
            e.contains(key) && e.contains(line) && e.contains("fix:"),
            "{text}: {e}"
        );
    }
    let (c, _) = Config::parse(path, "[coach]\nsurgery_date = \"2025-02-03\"\n").unwrap();
    assert_eq!(Rules::for_config(&c).surgery_date, Some(date("2025-02-03")));
}

#[test]
fn sim_with_a_journal_leaves_mk_5_out_after_three_sessions_on_one_date() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("journal.sqlite");
    let db = db.to_str().unwrap();
    let sim = |day: &str| {
        Out::of(&mut command([
            "sim",
            "mckenzie_improving",
            "--db",
            db,
            "--date",
            day,
        ]))
        .ok()
    };
    let mut said = Vec::new();
    let mut left = Vec::new();
    for _ in 0..5 {
        let out = sim("2025-03-03");
        let lines = out.json_lines();
        assert_eq!(lines[0]["action"], "plan", "{}", out.show());
        left.push(
            lines[0]["left_out"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["exercise"] == "mk_5_sitting_lordosis"),
        );
        said.push(
            lines
                .iter()
                .filter(|l| l["phrase"] == "sys.daily_max_reached.mk_5_sitting_lordosis")
                .count(),
        );
    }
    assert_eq!(left, [false, false, false, true, true]);
    assert_eq!(
        said,
        [0, 0, 0, 1, 0],
        "said once, at the first it is left out"
    );
    let out = sim("2025-03-04");
    assert_eq!(out.json_lines()[0]["left_out"], serde_json::json!([]));
}

// ---- the BAOV week-three gate ----------------------------------------------

#[test]
fn baov_week_three_waits_for_the_third_week_after_surgery() {
    let rules = |surgery: Option<&str>| Rules {
        surgery_date: surgery.map(date),
        ..Rules::default()
    };
    let h = History::default();
    let today = "2025-03-15";
    // (surgery date, ok?, what the message must say)
    let cases: [(Option<&str>, bool, &[&str]); 5] = [
        (
            None,
            false,
            &[
                "no surgery date is set",
                "surgery_date = \"YYYY-MM-DD\"",
                "[coach]",
            ],
        ),
        (
            Some("2025-03-05"),
            false,
            &["week 2", "2025-03-19", "2025-03-05", "baov_day_one"],
        ),
        (Some("2025-03-20"), false, &["before the operation"]),
        (Some("2025-03-01"), true, &[]),
        (Some("2024-12-01"), true, &[]),
    ];
    for (surgery, ok, words) in cases {
        let got = adapt::plan(
            content(),
            &rules(surgery),
            &h,
            date(today),
            "baov_week_three",
        );
        match got {
            Ok(t) => assert!(ok, "{surgery:?}: planned {}", t.program.id()),
            Err(e) => {
                assert!(!ok, "{surgery:?}: {e}");
                assert!(e.surgery_refusal().is_some(), "{e}");
                let msg = e.to_string();
                for w in words {
                    assert!(msg.contains(w), "{surgery:?}: `{w}` in {msg}");
                }
                assert!(msg.contains("fix:"), "{msg}");
            }
        }
    }
    // Exercises 1 to 3 right after the operation: no gate.
    adapt::plan(content(), &rules(None), &h, date(today), "baov_day_one").unwrap();
    // auto never picks it before then.
    let mut r = rules(Some("2025-03-10"));
    r.rotation = vec!["baov_week_three".into(), "baov_day_one".into()];
    r.strength_program = String::new();
    let t = adapt::plan(content(), &r, &h, date(today), adapt::AUTO).unwrap();
    assert_eq!(t.program.id(), "baov_day_one");
    r.surgery_date = Some(date("2025-03-01"));
    let t = adapt::plan(content(), &r, &h, date(today), adapt::AUTO).unwrap();
    assert_eq!(t.program.id(), "baov_week_three");
}

#[test]
fn the_refusal_is_spoken_in_both_languages_and_plan_says_what_to_set() {
    for e in [
        AdaptError::NoSurgeryDate {
            program: "baov_week_three".into(),
        },
        AdaptError::TooSoonAfterSurgery {
            program: "baov_week_three".into(),
            surgery: date("2025-03-05"),
            today: date("2025-03-10"),
            when: "day 5 after it (week 1)".into(),
            from: date("2025-03-19"),
        },
    ] {
        let r = e.surgery_refusal().unwrap();
        for lang in [Lang::En, Lang::Nl] {
            let line = r.line(&content().phrases, lang);
            assert!(line.id.0.starts_with("sys.surgery_"), "{}", line.id);
            assert!(
                line.text.contains("third week") || line.text.contains("derde week"),
                "{}",
                line.text
            );
        }
    }
    // `plan` with the shipped config (no date): a clear error.
    let out = Out::of(&mut command(["plan", "baov_week_three"])).expect_code(2);
    assert!(
        out.stderr.contains("coach.surgery_date") || out.stderr.contains("surgery_date ="),
        "{}",
        out.show()
    );
    // With a date long ago: planned.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[coach]\nsurgery_date = \"2024-01-10\"\n").unwrap();
    Out::of(&mut command([
        "plan",
        "baov_week_three",
        "--config",
        config.to_str().unwrap(),
    ]))
    .ok();
    // A bad date names the field.
    std::fs::write(&config, "[coach]\nsurgery_date = \"10-01-2024\"\n").unwrap();
    let out = Out::of(&mut command([
        "plan",
        "quick",
        "--config",
        config.to_str().unwrap(),
    ]))
    .expect_code(2);
    assert!(
        out.stderr.contains("coach.surgery_date") && out.stderr.contains(":2:"),
        "{}",
        out.show()
    );
}

// ---- the facts compile gets -------------------------------------------------

#[test]
fn first_use_and_sessions_of_come_from_the_journal() {
    let empty = Facts::of(&History::default());
    assert!(empty.first_use());
    assert_eq!(empty.sessions_of("mckenzie_acute"), Some(0));
    let h = History {
        sessions: vec![
            session(
                1,
                "mckenzie_acute",
                "2025-03-01",
                0,
                &["mk_3_press_up"],
                &[],
            ),
            session(
                2,
                "mckenzie_acute",
                "2025-03-01",
                1,
                &["mk_3_press_up"],
                &[],
            ),
            session(3, "quick", "2025-03-02", 0, &["hf_cat_back"], &[]),
        ],
        ..History::default()
    };
    let f = Facts::of(&h);
    assert!(!f.first_use());
    let cases = [("mckenzie_acute", 2), ("quick", 1), ("baov_day_one", 0)];
    for (program, n) in cases {
        assert_eq!(f.sessions_of(program), Some(n), "{program}");
    }
    // Today's plan carries them, with the maxima.
    let mut h = h;
    h.maxima.insert(
        "sr_abdominals".into(),
        matcoach::journal::MaxInfo {
            exercise: "sr_abdominals".into(),
            max_reps: 30,
            at: Stamp(0),
            source: "manual".into(),
        },
    );
    let today = default_plan(&h, date("2025-03-03"), "quick").unwrap();
    assert_eq!(today.facts.sessions_of("quick"), Some(1));
    assert!(!today.facts.first_use());
    assert_eq!(today.facts.max_reps("sr_abdominals"), Some(30));
}

#[test]
fn a_version_1_journal_is_upgraded_and_keeps_its_pain_reports_unlocated() {
    let (_dir, path) = scratch();
    {
        let mut store = open_store(&path);
        store.begin(date("2025-03-03").at_midnight(), None);
        for (k, e) in [
            JournalEvent::SessionStarted {
                program: "quick".into(),
                lang: "en".into(),
            },
            JournalEvent::Pain {
                exercise: Some("hf_cat_back".into()),
                set: None,
                side: None,
            },
        ]
        .iter()
        .enumerate()
        {
            store.record(Duration::from_secs(k as u64), e).unwrap();
        }
    }
    // Back to version 1: the pain table without its location.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        downgrade(&c, 1);
    }
    let store = open_store(&path);
    let version: i64 = store
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, matcoach::journal::SCHEMA_VERSION);
    let h = store.history(None).unwrap();
    assert_eq!(h.sessions[0].pains.len(), 1);
    assert_eq!(h.sessions[0].pains[0].location, None);
}

#[test]
fn matcoach_phase_says_from_which_day_the_coach_asks() {
    let rules = Rules::default();
    let since = date("2025-03-01");
    let cases = [
        (Phase::Acute, Some("2025-03-03")),
        (Phase::Improving, Some("2025-03-15")),
        (Phase::Stiff, Some("2025-03-03")),
        (Phase::Maintenance, None),
    ];
    for (phase, want) in cases {
        assert_eq!(
            adapt::earliest_offer(&rules, phase, since),
            want.map(date),
            "{phase:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("journal.sqlite");
    let db = db.to_str().unwrap();
    Out::of(&mut command(["phase", "start", "--db", db])).ok();
    let out = Out::of(&mut command(["phase", "--db", db])).ok();
    let from = matcoach::journal::today().add_days(2).to_string();
    // And the plan of `auto` says it.
    let h = History {
        phase: Some(PhaseInfo {
            phase: Some(Phase::Improving),
            since: date("2025-03-01").at_midnight(),
            after_seq: None,
            came_from: None,
        }),
        ..History::default()
    };
    let today = adapt::plan(content(), &rules, &h, date("2025-03-02"), adapt::AUTO).unwrap();
    assert!(
        today
            .why
            .contains("the coach asks about moving on from 2025-03-15"),
        "{}",
        today.why
    );
    assert!(
        out.stdout.contains(&format!("from {from} on")),
        "{}",
        out.show()
    );
}
