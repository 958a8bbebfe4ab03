//! Issue 13, "spoken, not only written" and "words that work when heard":
//! the preconditions of a program (in full in its first session, as a
//! reminder later), the red flags at the very first use, the equipment line,
//! a caution said once per session, sparse time-left announcements for long
//! positions, the words that start a repetition, counts that read right for
//! 1 and for many, and the `matcoach check` rules that keep them so.

mod common;
use common::fixtures;

use common::trial_program::write_trial_program;
use common::{content, heard, ms, press_at, Run, LIMIT};
use fixtures::{position, Scratch};
use matcoach::content::{self, Content, Equipment, Lang, Precondition, Program, Text};
use matcoach::session::script::{time_left_marks, Emit, Personal, StepKind, Timed};
use matcoach::session::{compile, script_lines, Command, Script, Session, SessionConfig};
use matcoach::sim::{self, ScriptedEvent};
use std::collections::HashMap;
use std::time::Duration;

/// What the journal would tell the briefing: is this the very first use of
/// the coach, and how many sessions of the program came before.
struct Me {
    first_use: bool,
    sessions: Option<u32>,
}

impl Personal for Me {
    fn max_reps(&self, _: &str) -> Option<u32> {
        None
    }
    fn first_use(&self) -> bool {
        self.first_use
    }
    fn sessions_of(&self, _: &str) -> Option<u32> {
        self.sessions
    }
}

const FIRST_EVER: Me = Me {
    first_use: true,
    sessions: Some(0),
};
const FIRST_OF_PROGRAM: Me = Me {
    first_use: false,
    sessions: Some(0),
};
const LATER: Me = Me {
    first_use: false,
    sessions: Some(4),
};
const NO_JOURNAL: Me = Me {
    first_use: false,
    sessions: None,
};

fn script_in(c: &Content, program: &str, lang: Lang, me: &Me) -> Script {
    let p = c
        .program(program)
        .unwrap_or_else(|| panic!("no program {program}"));
    compile(c, p, lang, &SessionConfig::default(), me).unwrap()
}

fn script(program: &str, lang: Lang, me: &Me) -> Script {
    script_in(content(), program, lang, me)
}

/// The (id, text) of everything said before the first exercise.
fn intro(s: &Script) -> Vec<(String, String)> {
    script_lines(s)
        .into_iter()
        .take_while(|l| !l.id.0.starts_with("sys.exercise_of."))
        .map(|l| (l.id.0, l.text))
        .collect()
}

fn intro_ids(s: &Script) -> Vec<String> {
    intro(s).into_iter().map(|(id, _)| id).collect()
}

/// The uninterrupted run of `s`, started with a press.
fn run_in(c: &Content, s: Script, events: &[ScriptedEvent]) -> Run {
    let cfg = SessionConfig::default();
    let mut session = Session::new(s, cfg, c.phrases.clone(), c.safety.clone());
    Run(sim::run(&mut session, events, LIMIT))
}

// ---------------------------------------------------------------------------
// Preconditions: in full in a program's first session, briefly later
// ---------------------------------------------------------------------------

/// The (id, text) of each of `program`'s preconditions as the line `kind`
/// ("precondition" in full, or "reminder") says it: `text` picks the words.
fn numbered(
    program: &Program,
    kind: &str,
    text: impl Fn(&Precondition) -> &str,
) -> Vec<(String, String)> {
    let id = program.id();
    program
        .preconditions
        .iter()
        .enumerate()
        .map(|(i, pc)| (format!("program.{id}.{kind}.{i}"), text(pc).to_string()))
        .collect()
}

#[test]
fn mckenzie_acute_says_its_preconditions_in_full_first_and_as_reminders_later() {
    let c = content();
    let program = c.program("mckenzie_acute").unwrap();
    assert_eq!(program.preconditions.len(), 2);
    for lang in Lang::ALL {
        let first = intro(&script("mckenzie_acute", lang, &FIRST_OF_PROGRAM));
        assert!(first[0].0.starts_with("sys.welcome."), "{first:?}");
        let said: Vec<_> = first[1..].to_vec();
        let want = numbered(program, "precondition", |pc| pc.says.get(lang));
        assert_eq!(said, want, "{lang}: the first session says them in full");

        let want_brief = numbered(program, "reminder", |pc| {
            pc.reminder.as_ref().unwrap().get_ref().get(lang)
        });
        for me in [&LATER, &NO_JOURNAL] {
            let later = intro(&script("mckenzie_acute", lang, me));
            assert_eq!(later[1..].to_vec(), want_brief, "{lang}: later, briefly");
        }
    }
    // What they say, in English: the belly rule and the severe-pain rule.
    let en = intro(&script("mckenzie_acute", Lang::En, &FIRST_OF_PROGRAM));
    assert!(
        en[1].1.contains("belly") && en[1].1.contains("easy"),
        "{en:?}"
    );
    assert!(en[2].1.contains("stay in bed") && en[2].1.contains("doctor"));
}

#[test]
fn a_reminder_is_one_short_sentence() {
    for p in &content().programs {
        for pc in &p.preconditions {
            let Some(r) = &pc.reminder else { continue };
            for lang in Lang::ALL {
                let (brief, full) = (r.get_ref().get(lang), pc.says.get(lang));
                let words = brief.split_whitespace().count();
                assert!(words <= 12, "{}: {brief:?} has {words} words", p.id());
                assert!(brief.len() < full.len(), "{}: {brief:?}", p.id());
            }
        }
    }
}

/// Which programs say what before they start: (program, source cited, a
/// word the English text holds, reminder or not).
const PRECONDITIONS: &[(&str, &str, &str, bool)] = &[
    ("mckenzie_acute", "003_", "belly", true),
    ("mckenzie_acute", "003_", "bed", true),
    ("mckenzie_improving", "003_", "belly", false),
    ("mckenzie_stiff", "003_", "belly", false),
    ("mckenzie_maintenance", "003_", "belly", false),
    ("an_daily_mobility", "001_", "hernia", false),
    ("quick", "001_", "hernia", false),
    ("morning_mobility", "001_", "hernia", false),
    (
        "hf_mobilise_then_stabilise",
        "000_",
        "physiotherapist",
        false,
    ),
    ("baov_day_one", "003_", "third week", false),
    ("baov_week_three", "003_", "third week", false),
];

#[test]
fn the_brochures_conditions_are_in_the_programs_that_need_them() {
    let c = content();
    for (program, source, word, reminder) in PRECONDITIONS {
        let p = c.program(program).unwrap();
        let found = p.preconditions.iter().find(|pc| {
            pc.source.get_ref().starts_with(source) && pc.says.get(Lang::En).contains(word)
        });
        let pc = found.unwrap_or_else(|| panic!("{program}: no precondition on {word:?}"));
        assert_eq!(pc.reminder.is_some(), *reminder, "{program}: {word}");
    }
}

/// Which exercises bring which condition along: (exercise id prefix, source
/// cited, a word the English text holds). Every program with such an
/// exercise says it, also programs added later.
const BRINGS: &[(&str, &str, &str)] = &[
    ("mk_", "003_", "belly"),
    ("an_", "001_", "hernia"),
    ("hf_bridge", "000_", "physiotherapist"),
    ("baov_", "003_", "third week"),
];

#[test]
fn every_program_with_such_an_exercise_says_its_condition() {
    let c = content();
    let mut missing = Vec::new();
    for p in &c.programs {
        for (prefix, source, word) in BRINGS {
            let has = p
                .items
                .iter()
                .any(|i| i.exercise.get_ref().starts_with(prefix));
            let says = p.preconditions.iter().any(|pc| {
                pc.source.get_ref().starts_with(source) && pc.says.get(Lang::En).contains(word)
            });
            if has && !says {
                missing.push(format!("{}: {word:?} ({source}) for its {prefix}", p.id()));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_program_says_all_its_preconditions_first_and_only_its_reminders_later() {
    let c = content();
    for p in &c.programs {
        for lang in Lang::ALL {
            let first = intro_ids(&script(p.id(), lang, &FIRST_OF_PROGRAM));
            let full = first
                .iter()
                .filter(|id| id.contains(".precondition."))
                .count();
            assert_eq!(full, p.preconditions.len(), "{} {lang}: {first:?}", p.id());
            assert!(!first.iter().any(|id| id.contains(".reminder.")));
            let later = intro_ids(&script(p.id(), lang, &LATER));
            let brief = later.iter().filter(|id| id.contains(".reminder.")).count();
            let reminders = p.preconditions.iter().filter(|pc| pc.reminder.is_some());
            assert_eq!(brief, reminders.count(), "{} {lang}: {later:?}", p.id());
            assert!(!later.iter().any(|id| id.contains(".precondition.")));
        }
    }
}

#[test]
fn a_session_says_the_preconditions_before_the_first_exercise() {
    let c = content();
    let first = run_in(
        c,
        script("mckenzie_acute", Lang::Nl, &FIRST_OF_PROGRAM),
        &[press_at(Duration::ZERO)],
    );
    let ids = first.phrases();
    let exercise = ids
        .iter()
        .position(|i| i.starts_with("sys.exercise_of."))
        .unwrap();
    let pre0 = ids
        .iter()
        .position(|i| i == "program.mckenzie_acute.precondition.0");
    let pre1 = ids
        .iter()
        .position(|i| i == "program.mckenzie_acute.precondition.1");
    assert_eq!((pre0, pre1), (Some(1), Some(2)), "{ids:?}");
    assert!(exercise > 2);
    let texts = first.texts();
    assert!(texts[1].contains("buik"), "{texts:?}");
}

// ---------------------------------------------------------------------------
// Red flags at the very first use
// ---------------------------------------------------------------------------

#[test]
fn the_red_flags_are_said_at_first_use_only_marked_as_our_own_advice() {
    let words = [
        (
            Lang::En,
            "not from the brochures",
            &[
                "numbness",
                "bladder",
                "bowels",
                "weakness in a leg",
                "fever",
                "at night",
                "see a doctor today",
            ][..],
        ),
        (
            Lang::Nl,
            "niet uit de folders",
            &[
                "doof gevoel",
                "blaas",
                "darmen",
                "been",
                "koorts",
                "'s nachts",
                "vandaag nog naar een arts",
            ][..],
        ),
    ];
    for (lang, own, flags) in words {
        for program in ["mckenzie_acute", "sr_warmup", "quick"] {
            let first = intro(&script(program, lang, &FIRST_EVER));
            let ids: Vec<&str> = first.iter().map(|(id, _)| id.as_str()).collect();
            assert_eq!(ids[1..3], ["sys.own_advice", "sys.red_flags"], "{ids:?}");
            assert!(first[1].1.contains(own), "{lang}: {:?}", first[1].1);
            for w in flags {
                assert!(first[2].1.contains(w), "{lang}: {w:?} in {:?}", first[2].1);
            }
            // Then the program's preconditions in full.
            let p = content().program(program).unwrap();
            assert_eq!(first.len(), 3 + p.preconditions.len(), "{ids:?}");
            for me in [&FIRST_OF_PROGRAM, &LATER, &NO_JOURNAL] {
                let ids = intro_ids(&script(program, lang, me));
                assert!(!ids.iter().any(|i| i.contains("red_flags")), "{ids:?}");
            }
        }
    }
}

/// "next" skips only what is being said: during the red flags, the coach
/// goes on with the preconditions, not with the first exercise.
#[test]
fn next_during_the_red_flags_goes_on_with_the_preconditions() {
    let c = content();
    let s = || script("mckenzie_acute", Lang::En, &FIRST_EVER);
    let plan = run_in(c, s(), &[press_at(Duration::ZERO)]);
    let flags = plan.first_said("sys.red_flags");
    let run = run_in(
        c,
        s(),
        &[
            press_at(Duration::ZERO),
            heard(flags + ms(1500), Command::Next),
        ],
    );
    assert!(run.stops().contains(&(flags + ms(1500))));
    let pre = run.first_said("program.mckenzie_acute.precondition.0");
    assert_eq!(pre, flags + ms(1500), "{}", run.dump());
}

// ---------------------------------------------------------------------------
// Equipment: said once, merged, at the start, with a wait to fetch it
// ---------------------------------------------------------------------------

/// An exercise and the equipment it is given.
type Needs<'a> = (&'a str, &'a [Equipment]);

fn with_equipment(program: &str, equipment: &[Needs]) -> Content {
    let mut c = content().clone();
    for ex in &mut c.exercises {
        ex.value.equipment.clear();
    }
    for (id, eq) in equipment {
        let ex = c
            .exercises
            .iter_mut()
            .find(|e| e.id() == *id)
            .unwrap_or_else(|| panic!("no exercise {id}"));
        ex.value.equipment = eq.to_vec();
    }
    assert!(c.program(program).is_some());
    c
}

/// The equipment lines of a script: (step index, text), and whether each
/// waits like a get-ready.
fn equipment_steps(s: &Script) -> Vec<(usize, String, bool)> {
    s.steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| match &step.kind {
            StepKind::GetReady { line, .. } if line.id.0.starts_with("sys.equipment_needed") => {
                Some((i, line.text.clone(), true))
            }
            StepKind::Say { line, .. } if line.id.0.starts_with("sys.equipment_needed") => {
                Some((i, line.text.clone(), false))
            }
            _ => None,
        })
        .collect()
}

/// The exercises of the quick program, in order.
fn quick_items() -> Vec<String> {
    content()
        .program("quick")
        .unwrap()
        .items
        .iter()
        .map(|i| i.exercise.get_ref().clone())
        .collect()
}

#[test]
fn the_equipment_is_said_once_merged_in_natural_language() {
    use Equipment::*;
    let items = quick_items();
    assert!(items.len() >= 2, "{items:?}");
    let (a, b) = (items[0].as_str(), items[1].as_str());
    // The equipment given, and the line said (en, nl), if any.
    type Case<'a> = (Vec<Needs<'a>>, Option<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (vec![], None),
        (
            vec![(a, &[Wall])],
            Some((
                "For this session you need a free stretch of wall. Get everything ready now, then press the button or say next.",
                "Voor deze sessie heb je een stuk vrije muur nodig. Zorg dat alles klaar is, en druk dan op de knop of zeg volgende.",
            )),
        ),
        (
            vec![(a, &[Stool]), (b, &[Towel, Stool])],
            Some((
                "For this session you need a stool and a towel. Get everything ready now, then press the button or say next.",
                "Voor deze sessie heb je een kruk en een handdoek nodig. Zorg dat alles klaar is, en druk dan op de knop of zeg volgende.",
            )),
        ),
        (
            vec![(a, &[Chair, Pillows]), (b, &[Pillows, GymBall])],
            Some((
                "For this session you need a chair, a few pillows and a large exercise ball. Get everything ready now, then press the button or say next.",
                "Voor deze sessie heb je een stoel, een paar kussens en een grote oefenbal nodig. Zorg dat alles klaar is, en druk dan op de knop of zeg volgende.",
            )),
        ),
    ];
    for (equipment, want) in cases {
        let c = with_equipment("quick", &equipment);
        for lang in Lang::ALL {
            let s = script_in(&c, "quick", lang, &LATER);
            let found = equipment_steps(&s);
            match want {
                None => assert!(found.is_empty(), "{found:?}"),
                Some((en, nl)) => {
                    let text = if lang == Lang::En { en } else { nl };
                    assert_eq!(found.len(), 1, "said once: {found:?}");
                    let (at, said, waits) = &found[0];
                    assert_eq!(said, text);
                    assert!(waits, "the coach waits while the user fetches it");
                    let first_exercise = s.exercises[0].first_step;
                    assert!(*at < first_exercise, "before the first exercise");
                    assert!(s.steps[*at].exercise.is_none());
                }
            }
        }
    }
}

#[test]
fn the_coach_waits_for_the_equipment_and_a_press_goes_on() {
    let items = quick_items();
    let c = with_equipment("quick", &[(items[0].as_str(), &[Equipment::Chair])]);
    let s = || script_in(&c, "quick", Lang::En, &LATER);
    let plan = run_in(&c, s(), &[press_at(Duration::ZERO)]);
    let said = plan.first_said("sys.equipment_needed");
    let first = plan.first_said("sys.exercise_of.");
    let cfg = SessionConfig::default();
    assert!(
        first - said >= cfg.get_ready,
        "it waits: {said:?} {first:?}"
    );
    // Said once in the whole session.
    assert_eq!(plan.said("sys.equipment_needed").len(), 1);
    // A press once it has been said: on to the first exercise at once.
    let press = first - ms(5000);
    let run = run_in(&c, s(), &[press_at(Duration::ZERO), press_at(press)]);
    let next = run.first_said("sys.exercise_of.");
    assert!(next >= press && next <= press + ms(200), "{}", run.dump());
}

// ---------------------------------------------------------------------------
// A caution is said once per session
// ---------------------------------------------------------------------------

fn is_caution(id: &str) -> bool {
    id.contains(".caution.") || id == "safety.advanced_only_when_stable"
}

#[test]
fn no_session_says_a_caution_twice() {
    let c = content();
    for advanced in [false, true] {
        let cfg = SessionConfig {
            include_advanced: advanced,
            ..SessionConfig::default()
        };
        for p in &c.programs {
            for lang in Lang::ALL {
                let Ok(s) = compile(c, p, lang, &cfg, &FIRST_EVER) else {
                    continue;
                };
                let mut seen: HashMap<String, String> = HashMap::new();
                for line in script_lines(&s) {
                    if !is_caution(&line.id.0) {
                        continue;
                    }
                    if let Some(first) = seen.insert(line.text.clone(), line.id.0.clone()) {
                        panic!(
                            "{} ({lang}, advanced {advanced}) says {:?} twice: {first} and {}",
                            p.id(),
                            line.text,
                            line.id.0
                        );
                    }
                }
            }
        }
    }
}

/// The programs the issue names: each caution that several of their
/// exercises share is said once, before the first of them.
#[test]
fn a_shared_caution_is_said_at_its_first_exercise_only() {
    let c = content();
    let mut shared_somewhere = 0;
    for program in [
        "th_strength_and_stability",
        "baov_week_three",
        "mckenzie_acute",
        "mckenzie_improving",
    ] {
        let p = c.program(program).unwrap();
        // Each caution text and the exercises that carry it, in order.
        let mut carriers: Vec<(&Text, Vec<&str>)> = Vec::new();
        for item in &p.items {
            let ex = c.exercise(item.exercise.get_ref()).unwrap();
            for caution in &ex.cautions {
                match carriers.iter_mut().find(|(t, _)| *t == caution) {
                    Some((_, v)) => v.push(ex.id()),
                    None => carriers.push((caution, vec![ex.id()])),
                }
            }
        }
        for lang in Lang::ALL {
            let run = run_in(
                c,
                script(program, lang, &LATER),
                &[press_at(Duration::ZERO)],
            );
            let records: Vec<(String, String)> =
                run.phrases().into_iter().zip(run.texts()).collect();
            for (text, exercises) in &carriers {
                if exercises.len() < 2 {
                    continue;
                }
                shared_somewhere += 1;
                let said: Vec<&String> = records
                    .iter()
                    .filter(|(_, t)| t == text.get(lang))
                    .map(|(id, _)| id)
                    .collect();
                assert_eq!(said.len(), 1, "{program} {lang}: {text:?} said {said:?}");
                assert!(
                    said[0].starts_with(&format!("ex.{}.caution.", exercises[0])),
                    "{program} {lang}: said with {}, not at {}",
                    said[0],
                    exercises[0]
                );
            }
        }
    }
    assert!(shared_somewhere > 0, "the issue's programs share cautions");
}

// ---------------------------------------------------------------------------
// Time left: a few announcements for long positions
// ---------------------------------------------------------------------------

#[test]
fn time_left_marks_are_few_for_long_positions() {
    let table: &[(u32, &[u32])] = &[
        (30, &[15]),
        (45, &[30, 15]),
        (60, &[45, 30, 15]),
        (70, &[30]),
        (90, &[60]),
        (120, &[60]),
        (180, &[60]),
        (240, &[120, 60]),
        (300, &[150, 60]),
        (600, &[300, 60]),
        (900, &[450, 300, 60]),
        (1800, &[900, 300, 60]),
    ];
    for (len, want) in table {
        assert_eq!(time_left_marks(*len), *want, "{len} s");
    }
    for len in 61..=3600 {
        let marks = time_left_marks(len);
        assert!(marks.len() <= 3, "{len}: {marks:?}");
        for w in marks.windows(2) {
            assert!(w[0] >= w[1] + 45, "{len}: {marks:?}");
        }
        for m in &marks {
            assert!(*m >= 10 && m + 15 <= len, "{len}: {marks:?}");
        }
    }
}

/// The timed step of `len` seconds in `s`, and the time-left lines it says
/// (offset, text).
fn time_left_in(s: &Script, len: u64) -> Vec<(Duration, String)> {
    let timed: &Timed = s
        .steps
        .iter()
        .find_map(|step| match &step.kind {
            StepKind::Timed(t) if t.length == Duration::from_secs(len) => Some(t),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {len} s position in {}", s.program_id));
    timed
        .events
        .iter()
        .filter_map(|e| match &e.emit {
            Emit::Speak(line, _) if line.id.0.starts_with("sys.time_left") => {
                Some((e.at, line.text.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_thirty_minute_and_a_five_minute_position_announce_the_time_left_sparsely() {
    let s = |d| Duration::from_secs(d);
    // (program, length of the position, language, (offset, what is said)).
    type Case<'a> = (&'a str, u64, Lang, &'a [(u64, &'a str)]);
    let cases: &[Case] = &[
        (
            "baov_day_one",
            1800,
            Lang::En,
            &[
                (900, "15 minutes to go."),
                (1500, "5 minutes to go."),
                (1740, "1 minute to go."),
            ],
        ),
        (
            "baov_day_one",
            1800,
            Lang::Nl,
            &[
                (900, "Nog 15 minuten."),
                (1500, "Nog 5 minuten."),
                (1740, "Nog 1 minuut."),
            ],
        ),
        (
            "mckenzie_acute",
            300,
            Lang::En,
            &[(150, "2 minutes 30 to go."), (240, "1 minute to go.")],
        ),
        (
            "mckenzie_acute",
            300,
            Lang::Nl,
            &[(150, "Nog 2 minuten 30."), (240, "Nog 1 minuut.")],
        ),
    ];
    for (program, len, lang, want) in cases {
        let got = time_left_in(&script(program, *lang, &LATER), *len);
        let want: Vec<(Duration, String)> =
            want.iter().map(|(t, x)| (s(*t), x.to_string())).collect();
        assert_eq!(got, want, "{program} {lang}");
    }
}

// ---------------------------------------------------------------------------
// Counting repetitions: what a trainer says
// ---------------------------------------------------------------------------

/// The words that start each repetition of the first set of `exercise`.
fn rep_words(s: &Script, exercise: &str) -> (Vec<String>, u32) {
    let n = s.exercises.iter().position(|e| e.id == exercise).unwrap();
    let timed = s
        .steps
        .iter()
        .filter(|step| step.exercise == Some(n))
        .find_map(|step| match &step.kind {
            StepKind::Timed(t) => Some(t),
            _ => None,
        })
        .unwrap();
    let words = timed
        .events
        .iter()
        .filter_map(|e| match &e.emit {
            Emit::Speak(line, _) if line.id.0.starts_with("sys.rep") => Some(line.text.clone()),
            _ => None,
        })
        .collect();
    let reps = timed
        .events
        .iter()
        .filter(|e| matches!(e.emit, Emit::RepDone(_)))
        .count() as u32;
    (words, reps)
}

#[test]
fn repetitions_with_a_hold_start_with_their_number_and_the_last_one_is_named() {
    let ex = "hf_bridge";
    for (lang, number, last) in [
        (Lang::En, "Number", "Last one."),
        (Lang::Nl, "Nummer", "De laatste."),
    ] {
        let s = script("hf_mobilise_then_stabilise", lang, &LATER);
        let (words, reps) = rep_words(&s, ex);
        assert!(reps >= 2, "{ex} has several repetitions");
        let mut want: Vec<String> = (1..reps).map(|k| format!("{number} {k}.")).collect();
        want.push(last.to_string());
        assert_eq!(words, want, "{lang}");
    }
    // No repetition anywhere starts with "Round" or "Keer".
    for lang in Lang::ALL {
        let lines = matcoach::session::all_lines(content(), lang, &SessionConfig::default());
        let bad: Vec<&str> = lines
            .iter()
            .filter(|l| l.id.0.starts_with("sys.rep"))
            .filter(|l| l.text.starts_with("Round ") || l.text.starts_with("Keer "))
            .map(|l| l.text.as_str())
            .collect();
        assert!(bad.is_empty(), "{lang}: {bad:?}");
    }
}

// ---------------------------------------------------------------------------
// Counts read right for 1 and for many
// ---------------------------------------------------------------------------

/// Nouns after a number: (after 1, after more). Dutch "keer" is both, and
/// "keren" is never right after a number.
const NOUNS: &[(Lang, &[(&str, &str)])] = &[
    (
        Lang::En,
        &[
            ("exercise", "exercises"),
            ("second", "seconds"),
            ("minute", "minutes"),
            ("time", "times"),
            ("set", "sets"),
            ("session", "sessions"),
            ("rep", "reps"),
        ],
    ),
    (
        Lang::Nl,
        &[
            ("oefening", "oefeningen"),
            ("seconde", "seconden"),
            ("minuut", "minuten"),
            ("keer", "keer"),
            ("serie", "series"),
            ("sessie", "sessies"),
        ],
    ),
];

/// What is wrong with the counts in `text`: "1 seconds", "2 minute", "1 keren"…
fn count_grammar(text: &str, lang: Lang) -> Vec<String> {
    let nouns = NOUNS.iter().find(|(l, _)| *l == lang).unwrap().1;
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut wrong = Vec::new();
    for pair in words.windows(2) {
        let (n, noun) = (pair[0].as_str(), pair[1].as_str());
        for (one, many) in nouns {
            let bad = (n == "1" && noun == *many && one != many)
                || (n.parse::<u64>().is_ok_and(|n| n > 1) && noun == *one && one != many);
            if bad {
                wrong.push(format!("{n} {noun}"));
            }
        }
    }
    for pair in words.windows(2) {
        if lang == Lang::Nl && pair[0].parse::<u64>().is_ok() && pair[1] == "keren" {
            wrong.push(format!("{} keren", pair[0]));
        }
    }
    if text.contains('{') {
        wrong.push("an unfilled placeholder".into());
    }
    wrong
}

#[test]
fn the_grammar_check_catches_what_it_should() {
    assert_eq!(
        count_grammar("Your back told us 1 times today", Lang::En),
        ["1 times"]
    );
    assert_eq!(count_grammar("Rust 1 seconden.", Lang::Nl), ["1 seconden"]);
    assert_eq!(
        count_grammar("Je rug liet 3 keren merken", Lang::Nl),
        ["3 keren"]
    );
    assert_eq!(count_grammar("Nog 2 minuut.", Lang::Nl), ["2 minuut"]);
    assert!(count_grammar("Je rug liet 2 keer merken", Lang::Nl).is_empty());
    assert!(count_grammar("You did 1 of 3 exercises in 1 minute.", Lang::En).is_empty());
}

/// Every phrase that says a number with a noun, rendered for 1 and 2 (and
/// more) in both languages, as the coach renders it.
#[test]
fn every_count_phrase_reads_right_for_one_and_for_many() {
    let p = &content().phrases;
    let mut failures = Vec::new();
    for lang in Lang::ALL {
        for n in [1u64, 2, 3, 10] {
            let rendered = [
                ("welcome", p.render_welcome("X", n, n, lang)),
                ("summary (all done)", p.render_summary(n, n, n, lang)),
                ("summary (none done)", p.render_summary(0, n, n, lang)),
                ("summary (one done)", p.render_summary(1, n.max(1), n, lang)),
                ("summary_pain", p.render_summary_pain(n, lang)),
                ("rest", p.render_rest(n, lang)),
                ("time_left_secs", p.render_time_left_secs(n, lang)),
                ("minutes", p.minutes(n, lang)),
                ("exercises", p.exercises(n, lang)),
                ("seconds", p.seconds(n, lang)),
            ];
            for (name, text) in rendered {
                let wrong = count_grammar(&text, lang);
                if !wrong.is_empty() {
                    failures.push(format!("{name} {lang} n={n}: {text:?}: {wrong:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        p.render_welcome("Quick", 1, 1, Lang::En),
        "Welcome. Today: Quick. 1 exercise, about 1 minute."
    );
    assert_eq!(
        p.render_summary(1, 1, 2, Lang::Nl),
        "Je hebt 1 van de 1 oefening gedaan in 2 minuten."
    );
    assert!(p.render_summary_pain(1, Lang::En).contains("once"));
    assert!(p.render_summary_pain(1, Lang::Nl).contains("één keer"));
    assert_eq!(p.render_rest(1, Lang::En), "Rest for 1 second.");
    assert_eq!(p.render_time_left_secs(1, Lang::Nl), "Nog 1 seconde.");
}

/// The closing words after a single pain report say "once", through the
/// session itself.
#[test]
fn one_pain_report_is_summed_up_as_once() {
    let c = content();
    for (lang, word) in [(Lang::En, "once"), (Lang::Nl, "één keer")] {
        let s = || script("quick", lang, &LATER);
        let plan = run_in(c, s(), &[press_at(Duration::ZERO)]);
        let at = plan.first_said("sys.hold") + ms(2000);
        let run = run_in(
            c,
            s(),
            &[press_at(Duration::ZERO), heard(at, Command::Pain)],
        );
        let i = run
            .phrases()
            .iter()
            .position(|id| id.starts_with("sys.summary_pain"))
            .unwrap_or_else(|| panic!("{}", run.dump()));
        let text = &run.texts()[i];
        assert!(text.contains(word), "{lang}: {text:?}");
        assert!(count_grammar(text, lang).is_empty(), "{text:?}");
    }
}

/// Whole sessions: nothing said in any program reads "1 seconds" or alike.
#[test]
fn no_line_of_any_program_gets_a_count_wrong() {
    for lang in Lang::ALL {
        for line in matcoach::session::all_lines(content(), lang, &SessionConfig::default()) {
            let wrong = count_grammar(&line.text, lang);
            assert!(
                wrong.is_empty(),
                "{}: {:?}: {wrong:?}",
                line.id.0,
                line.text
            );
        }
    }
}

// ---------------------------------------------------------------------------
// `matcoach check`: what it rejects
// ---------------------------------------------------------------------------

/// Load `s`; the first problem must be at `needle` (its `n`-th occurrence)
/// in `rel`, and the message and fix must contain the fragments.
fn rejected(s: &Scratch, rel: &str, needle: &str, n: usize, message: &[&str], fix: &str) {
    let err = match content::load_dir(&s.content()) {
        Ok(_) => panic!("loaded without error"),
        Err(e) => e.to_string(),
    };
    let text = s.read(rel);
    let (line, col) = position(&text, needle, n, 0);
    let at = format!("{}:{line}:{col}: ", s.path(rel).display());
    let lines: Vec<&str> = err.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with(&at))
        .unwrap_or_else(|| panic!("no problem at {at}:\n{err}"));
    for m in message {
        assert!(lines[i].contains(m), "message lacks {m:?}:\n{err}");
    }
    let f = lines.get(i + 1).copied().unwrap_or("");
    assert!(
        f.starts_with("  fix: ") && f.contains(fix),
        "fix lacks {fix:?}:\n{err}"
    );
}

const S003: &str = "003_30b103968d1cbe9a.txt";

#[test]
fn a_precondition_must_cite_a_source_its_program_lists() {
    let s = Scratch::new();
    let program = s.read("programs/quick.toml");
    assert!(!program.contains(S003), "quick does not follow 003");
    s.append(
        "programs/quick.toml",
        &format!("\n[[precondition]]\nsource = \"{S003}\"\nsays = {{ en = \"Only when it feels right.\", nl = \"Alleen als het goed voelt.\" }}\n"),
    );
    rejected(
        &s,
        "programs/quick.toml",
        &format!("\"{S003}\""),
        1,
        &[
            "program `quick`: a precondition cites `003_30b103968d1cbe9a.txt`",
            "which the program does not list in `sources`",
        ],
        "cite one of the program's sources",
    );
}

#[test]
fn a_precondition_source_must_be_a_seed_file_name() {
    let s = Scratch::new();
    s.append(
        "programs/quick.toml",
        "\n[[precondition]]\nsource = \"brochure.pdf\"\nsays = { en = \"Only when it feels right.\", nl = \"Alleen als het goed voelt.\" }\n",
    );
    rejected(
        &s,
        "programs/quick.toml",
        "\"brochure.pdf\"",
        1,
        &["`brochure.pdf` is not a seed file name"],
        "cite the brochure's file name",
    );
}

#[test]
fn a_long_reminder_is_rejected() {
    let s = Scratch::new();
    let long = "Only when lying on your belly feels easy and your back is calm today.";
    assert_eq!(long.split_whitespace().count(), 14);
    s.append(
        "programs/mckenzie_acute.toml",
        &format!("\n[[precondition]]\nsource = \"{S003}\"\nsays = {{ en = \"Only when it feels right to begin.\", nl = \"Alleen als het goed voelt om te beginnen.\" }}\nreminder = {{ en = \"{long}\", nl = \"Alleen als het goed voelt.\" }}\n"),
    );
    rejected(
        &s,
        "programs/mckenzie_acute.toml",
        &format!("{{ en = \"{long}\""),
        1,
        &[
            "program `mckenzie_acute`: a precondition's en reminder has 14 words",
            "at most 12",
        ],
        "shorten it to one short sentence",
    );
}

/// Two exercises of our own, in a program of our own, each with `caution_a`
/// and `caution_b` (TOML inline tables).
fn caution_fixture(caution_a: &str, caution_b: &str) -> Scratch {
    let s = Scratch::new();
    let exercise = |id: &str, caution: &str| {
        format!(
            r#"
[[exercise]]
id = "{id}"
source = "000_ab683799f572d549.txt"
category = "mobilising"
posture = "supine"
dose_origin = "default"
name = {{ nl = "Oefening {id}", en = "Exercise {id}" }}
position = {{ nl = "Ga op je rug liggen.", en = "Lie on your back." }}
movement = {{ nl = "Beweeg rustig.", en = "Move calmly." }}
cautions = [{caution}]

[exercise.dose]
reps = 3
"#
        )
    };
    s.write(
        "exercises/zz_spoken.toml",
        &format!(
            "{}{}",
            exercise("zz_one", caution_a),
            exercise("zz_two", caution_b)
        ),
    );
    write_trial_program(
        &s,
        "zz_spoken",
        "000_ab683799f572d549.txt",
        &["zz_one", "zz_two"],
    );
    s
}

#[test]
fn a_caution_that_a_program_would_say_twice_is_rejected() {
    // Near-identical: the English differs only in its punctuation, the Dutch
    // in one word. The engine merges identical texts only, so an English
    // session would say it twice; the check asks for one caution, identical
    // in both languages.
    let s = caution_fixture(
        r#"{ nl = "Houd je rug plat.", en = "Keep your back flat." }"#,
        r#"{ nl = "Houd je rug helemaal plat.", en = "Keep your back flat!" }"#,
    );
    rejected(
        &s,
        "programs/zz_spoken.toml",
        "\"zz_two\"",
        1,
        &[
            "program `zz_spoken` would say a caution twice (en)",
            "`zz_two` and `zz_one` both say",
        ],
        "give both exercises exactly the same caution in both languages",
    );
}

#[test]
fn the_same_caution_on_two_exercises_is_fine_and_said_once() {
    let caution = r#"{ nl = "Houd je rug plat.", en = "Keep your back flat." }"#;
    let s = caution_fixture(caution, caution);
    let c = content::load_dir(&s.content()).unwrap_or_else(|e| panic!("{e}"));
    for (lang, text) in [
        (Lang::En, "Keep your back flat."),
        (Lang::Nl, "Houd je rug plat."),
    ] {
        let script = script_in(&c, "zz_spoken", lang, &LATER);
        let said: Vec<String> = script_lines(&script)
            .into_iter()
            .filter(|l| l.text == text)
            .map(|l| l.id.0)
            .collect();
        assert_eq!(said, ["ex.zz_one.caution.0"], "{lang}");
    }
}

// ---------------------------------------------------------------------------
// `matcoach doctor` prints the red flags
// ---------------------------------------------------------------------------

#[test]
fn doctor_prints_the_red_flags_as_our_own_advice() {
    use matcoach::doctor::{red_flags, render, Status};
    let dir = fixtures::content_dir();
    for (lang, words) in [
        (
            Lang::En,
            ["numbness", "bladder", "weakness", "fever", "doctor today"],
        ),
        (
            Lang::Nl,
            ["doof gevoel", "blaas", "zwakker", "koorts", "arts"],
        ),
    ] {
        let check = red_flags(&dir, lang);
        assert_eq!(check.status, Status::Note);
        assert!(check
            .detail
            .starts_with("the project's own advice, not from the brochures:"));
        for w in words {
            assert!(
                check.detail.contains(w),
                "{lang}: {w:?} in {}",
                check.detail
            );
        }
        let out = render(std::slice::from_ref(&check));
        assert!(out.starts_with("NOTE "), "{out}");
        assert!(
            out.ends_with("all good\n"),
            "a note is not a problem: {out}"
        );
    }
    // Without a readable phrases.toml: a problem that points to the README.
    let missing = red_flags(std::path::Path::new("/nonexistent"), Lang::En);
    assert_eq!(missing.status, Status::Problem);
    assert!(missing.fix.unwrap().contains("README.md"));
}

/// The speech cache is rendered from `all_lines`: it holds what the first
/// session says (red flags, preconditions in full) and the reminders.
#[test]
fn all_lines_hold_the_first_session_and_the_reminders() {
    for lang in Lang::ALL {
        let lines = matcoach::session::all_lines(content(), lang, &SessionConfig::default());
        let ids: Vec<&str> = lines.iter().map(|l| l.id.0.as_str()).collect();
        for want in [
            "sys.own_advice",
            "sys.red_flags",
            "program.mckenzie_acute.precondition.0",
            "program.mckenzie_acute.precondition.1",
            "program.mckenzie_acute.reminder.0",
            "program.mckenzie_acute.reminder.1",
            "program.baov_week_three.precondition.0",
        ] {
            assert!(ids.contains(&want), "{lang}: no {want}");
        }
    }
}
