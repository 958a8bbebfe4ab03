//! The shipped content against the five brochures (issue 13): levels,
//! postures and equipment, texts that work when heard, doses and tempo.
//! Each table holds what a brochure says; the content must match it, and
//! where a number is ours, the content must say so (`defaulted`).

mod common;
use common::fixtures;

use fixtures::*;
use matcoach::content::{
    self, Content, DoseField, DoseOrigin, Equipment, Exercise, Lang, Level, Posture, Sides,
};
use matcoach::session::script::{Emit, StepKind, Timed, TimedKind};
use matcoach::session::{self, SessionConfig, Side};
use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

fn shipped() -> &'static Content {
    common::content()
}

fn ex(id: &str) -> &'static Exercise {
    shipped()
        .exercise(id)
        .unwrap_or_else(|| panic!("no exercise {id}"))
}

fn n(v: u32) -> Option<NonZeroU32> {
    NonZeroU32::new(v)
}

/// The texts the coach says aloud for an exercise, in one language.
fn spoken(e: &Exercise, lang: Lang) -> Vec<&str> {
    let mut out = vec![e.name.get(lang), e.position.get(lang), e.movement.get(lang)];
    out.extend(e.cues.iter().map(|t| t.get(lang)));
    out.extend(e.cautions.iter().map(|t| t.get(lang)));
    out
}

// ---------------------------------------------------------------------------
// 1. Levels
// ---------------------------------------------------------------------------

/// "Advanced" is 002's "only with a strong trunk and a stable back": its two
/// back extensions, and an_superman (001), which lifts arms and legs lying on
/// the front: the heavier form of 002's prone extension. Nothing else.
const ADVANCED: [&str; 3] = [
    "an_superman",
    "th_back_extension_ball",
    "th_back_extension_prone",
];

#[test]
fn only_what_the_brochures_keep_for_a_stable_back_is_advanced() {
    let advanced: BTreeSet<&str> = shipped()
        .exercises
        .iter()
        .filter(|e| e.level == Level::Advanced)
        .map(|e| e.id())
        .collect();
    assert_eq!(advanced, ADVANCED.into_iter().collect::<BTreeSet<_>>());
}

#[test]
fn no_exercise_of_a_mckenzie_program_is_advanced() {
    let c = shipped();
    let mckenzie: Vec<_> = c
        .programs
        .iter()
        .filter(|p| p.phase.is_some() || p.id().starts_with("mckenzie"))
        .collect();
    assert!(mckenzie.len() >= 4, "{} McKenzie programs", mckenzie.len());
    for p in mckenzie {
        for item in &p.items {
            assert_eq!(
                ex(item.exercise.get_ref()).level,
                Level::Basic,
                "{} in {}",
                item.exercise.get_ref(),
                p.id()
            );
        }
        // With the default config nothing is left out of a McKenzie session.
        let script = session::compile(c, p, Lang::En, &SessionConfig::default(), &())
            .unwrap_or_else(|e| panic!("{}: {e}", p.id()));
        assert_eq!(script.exercises.len(), p.items.len(), "{}", p.id());
    }
    assert!(
        shipped()
            .program("mckenzie_stiff")
            .unwrap()
            .items
            .iter()
            .any(|i| i.exercise.get_ref() == "mk_6_knees_to_chest_lying"),
        "the stiff phase is built around mk_6"
    );
}

// ---------------------------------------------------------------------------
// 2. Posture and equipment
// ---------------------------------------------------------------------------

/// Starting positions as the brochures give them.
const POSTURES: &[(&str, Posture)] = &[
    ("mk_1_prone_lying", Posture::Prone),
    ("mk_2_prone_on_elbows", Posture::Prone),
    ("mk_3_press_up", Posture::Prone),
    ("mk_4_standing_backbend", Posture::Standing),
    ("mk_5_sitting_lordosis", Posture::Sitting),
    ("mk_6_knees_to_chest_lying", Posture::Supine),
    ("th_quadriceps_stretch_standing", Posture::Standing),
    ("th_hamstring_stretch_chair", Posture::Standing),
    ("th_pelvic_tilt_standing", Posture::Standing),
    ("th_pelvic_tilt_sitting", Posture::Sitting),
    ("baov_12_elbows_together_back", Posture::Sitting),
    ("baov_13_backbend_over_chair", Posture::Sitting),
    ("baov_relaxed_lying", Posture::Supine),
    ("baov_15_ball_opposite_arm_leg", Posture::Prone),
    ("th_side_plank", Posture::SideLying),
    ("sr_corkscrew", Posture::SideLying),
    ("hf_cat_back", Posture::Kneeling),
    ("an_child_pose", Posture::Kneeling),
    ("th_hip_flexor_stretch_kneeling", Posture::Kneeling),
    ("sr_tail_wag", Posture::Kneeling),
    ("sr_back_extensors", Posture::Prone),
    ("hf_bridge", Posture::Supine),
];

#[test]
fn every_exercise_has_a_posture() {
    let missing: Vec<&str> = shipped()
        .exercises
        .iter()
        .filter(|e| e.posture.is_none())
        .map(|e| e.id())
        .collect();
    assert!(missing.is_empty(), "no posture: {missing:?}");
}

#[test]
fn postures_are_the_brochures_starting_positions() {
    for (id, want) in POSTURES {
        assert_eq!(ex(id).posture, Some(*want), "{id}");
    }
}

/// What the brochures ask for besides a mat.
const EQUIPMENT: &[(&str, &[Equipment])] = &[
    ("th_rotation_gym_ball", &[Equipment::GymBall]),
    ("th_back_extension_ball", &[Equipment::GymBall]),
    ("baov_15_ball_opposite_arm_leg", &[Equipment::GymBall]),
    ("th_pelvic_tilt_sitting", &[Equipment::Stool]),
    ("mk_5_sitting_lordosis", &[Equipment::Stool]),
    ("th_hamstring_stretch_chair", &[Equipment::Chair]),
    ("th_quadriceps_stretch_standing", &[Equipment::Chair]),
    ("baov_12_elbows_together_back", &[Equipment::Chair]),
    ("baov_13_backbend_over_chair", &[Equipment::Chair]),
    ("sr_abdominals", &[Equipment::Chair]),
    ("sr_obliques", &[Equipment::Chair]),
    ("baov_relaxed_lying", &[Equipment::Pillows]),
    ("th_pelvic_tilt_standing", &[Equipment::Wall]),
    ("hf_bridge", &[Equipment::Towel]),
    ("mk_1_prone_lying", &[]),
    ("mk_3_press_up", &[]),
];

#[test]
fn equipment_is_what_the_brochures_ask_for() {
    for (id, want) in EQUIPMENT {
        assert_eq!(ex(id).equipment, *want, "{id}");
    }
}

/// Words in a spoken position or movement that name a thing to fetch, and
/// the equipment that covers each.
const PROPS: &[(&[&str], &[Equipment])] = &[
    (
        &["zitbal", "oefenbal", "gym ball", "exercise ball"],
        &[Equipment::GymBall],
    ),
    (
        &["stoel", "kruk", "chair", "stool"],
        &[Equipment::Chair, Equipment::Stool],
    ),
    (&["kussen", "pillow", "cushion"], &[Equipment::Pillows]),
    (&["muur", "wall"], &[Equipment::Wall]),
    (&["handdoek", "towel"], &[Equipment::Towel]),
];

#[test]
fn a_thing_named_in_the_briefing_is_in_the_equipment() {
    let mut bad = Vec::new();
    for e in &shipped().exercises {
        for lang in Lang::ALL {
            let mut said = spoken(e, lang).join(" ").to_lowercase();
            said.push(' ');
            for (words, covers) in PROPS {
                // "a stack of pillows or a stool": a thing offered as the
                // other choice need not be fetched as well.
                let offered_instead = |w: &str| {
                    ["of een ", "of op een ", "or a ", "or on a "]
                        .iter()
                        .any(|or| said.contains(&format!("{or}{w}")))
                };
                let named = words
                    .iter()
                    .find(|w| said.contains(*w) && !offered_instead(w));
                if let Some(w) = named {
                    if !covers.iter().any(|c| e.equipment.contains(c)) {
                        bad.push(format!("{} says {w:?} but lists {:?}", e.id(), e.equipment));
                    }
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn a_content_dir_without_a_posture_is_rejected_naming_the_exercise_and_the_fix() {
    let s = Scratch::new();
    let rel = "exercises/000_ab683799f572d549.toml";
    let text = s.read(rel);
    let start = text.find("id = \"hf_bridge\"").unwrap();
    let line = text[start..].find("posture = \"supine\"\n").unwrap() + start;
    let edited = format!(
        "{}{}",
        &text[..line],
        &text[line + "posture = \"supine\"\n".len()..]
    );
    s.write(rel, &edited);
    let err = content::load_dir(&s.content())
        .expect_err("an exercise without a posture must not load")
        .to_string();
    let (l, c) = position(&edited, "id = \"hf_bridge\"", 1, 5);
    let want = format!(
        "{}:{l}:{c}: exercise `hf_bridge` has no posture",
        s.path(rel).display()
    );
    assert!(err.contains(&want), "want {want:?} in:\n{err}");
    assert!(
        err.contains("  fix: add posture = \"…\"") && err.contains("side_lying"),
        "no fix that lists the postures:\n{err}"
    );
    assert!(
        err.starts_with("content has 1 problem:"),
        "only that problem:\n{err}"
    );
}

// ---------------------------------------------------------------------------
// 3. Texts that work when heard
// ---------------------------------------------------------------------------

#[test]
fn legs_go_up_in_the_movement_not_in_the_starting_position() {
    let up = [
        "omhoog",
        "til ",
        "45 graden",
        "in de lucht",
        "raise",
        "lift",
        "45 degrees",
        "in the air",
    ];
    for id in [
        "th_leg_scissors",
        "th_legs_open_close",
        "th_cycling_in_the_air",
    ] {
        let e = ex(id);
        for lang in Lang::ALL {
            let pos = e.position.get(lang).to_lowercase();
            let mov = e.movement.get(lang).to_lowercase();
            assert!(
                !up.iter().any(|w| pos.contains(w)),
                "{id} ({lang}) position raises the legs: {pos:?}"
            );
            assert!(
                up.iter().any(|w| mov.contains(w)),
                "{id} ({lang}) movement does not raise the legs: {mov:?}"
            );
        }
    }
}

#[test]
fn relaxed_lying_props_the_legs_high_enough_for_a_right_angle() {
    let e = ex("baov_relaxed_lying");
    let nl = e.position.nl.as_str();
    let en = e.position.en.as_str();
    assert!(
        nl.contains("stapel kussens") && nl.contains("kruk"),
        "{nl:?}"
    );
    assert!(
        en.contains("stack of pillows") && en.contains("stool"),
        "{en:?}"
    );
    assert!(!nl.contains("op een kussen,"), "{nl:?}");
}

#[test]
fn strength_work_after_a_warm_up_does_not_ask_for_a_warm_up() {
    let c = shipped();
    let mut bad = Vec::new();
    for p in &c.programs {
        let mut warmed_up = false;
        for item in &p.items {
            let e = ex(item.exercise.get_ref());
            if warmed_up {
                for lang in Lang::ALL {
                    for t in spoken(e, lang) {
                        if t.to_lowercase().contains("warm") {
                            bad.push(format!("{} in {}: {t:?}", e.id(), p.id()));
                        }
                    }
                }
            }
            warmed_up |= e.category.is_warm_up();
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_diagonal_curl_up_says_which_shoulder_goes_to_which_knee() {
    let e = ex("sr_obliques");
    assert_eq!(e.dose.sides, Some(Sides::Both));
    let en = e.movement.en.as_str();
    let nl = e.movement.nl.as_str();
    assert!(
        en.contains("left shoulder towards your right knee")
            && en.contains("right shoulder goes towards your left knee"),
        "{en:?}"
    );
    assert!(
        nl.contains("linkerschouder naar je rechterknie")
            && nl.contains("rechterschouder naar je linkerknie"),
        "{nl:?}"
    );
}

#[test]
fn no_curl_up_is_named_oblique_in_english() {
    for id in ["sr_obliques", "baov_05_oblique_abdominals"] {
        let name = ex(id).name.en.as_str();
        assert!(!name.to_lowercase().contains("oblique"), "{id}: {name:?}");
        assert!(name.contains("url-up"), "{id}: {name:?}");
    }
}

#[test]
fn baov_02_holds_the_thigh_above_the_knee_crease_not_the_calf() {
    let e = ex("baov_02_hamstring_stretch");
    let en = e.position.en.as_str();
    let nl = e.position.nl.as_str();
    assert!(!en.contains("below the back of the knee"), "{en:?}");
    assert!(
        en.contains("back of that thigh") && en.contains("above"),
        "{en:?}"
    );
    assert!(
        nl.contains("achterkant van dat bovenbeen") && nl.contains("boven je knieholte"),
        "{nl:?}"
    );
}

/// Every Dutch text in `content/`, with where it is.
fn dutch_texts() -> Vec<(String, String)> {
    fn collect(value: &toml::Value, path: &str, out: &mut Vec<(String, String)>) {
        match value {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    match (k.as_str(), v) {
                        ("nl", toml::Value::String(s)) => out.push((path.to_string(), s.clone())),
                        _ => collect(v, &format!("{path}.{k}"), out),
                    }
                }
            }
            toml::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    let label = v
                        .get("id")
                        .and_then(toml::Value::as_str)
                        .map_or(i.to_string(), str::to_string);
                    collect(v, &format!("{path}[{label}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        content_dir(),
        content_dir().join("exercises"),
        content_dir().join("programs"),
    ] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let value: toml::Value = toml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        collect(&value, &name, &mut out);
    }
    out
}

/// Flemish words (and the short "hou"), each with the Netherlands Dutch word
/// to use instead.
const NOT_NETHERLANDS_DUTCH: &[(&str, &str)] = &[
    ("achteraan", "aan de achterkant"),
    ("nadien", "daarna"),
    ("enkel", "alleen"),
    ("vooraleer", "voordat"),
    ("lichtjes", "een beetje"),
    ("seffens", "straks"),
    ("hou", "houd"),
];

#[test]
fn dutch_texts_are_netherlands_dutch_and_say_houd() {
    let texts = dutch_texts();
    assert!(texts.len() > 300, "{} Dutch texts", texts.len());
    let mut bad = Vec::new();
    let mut houd = 0;
    for (path, text) in &texts {
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        houd += words.iter().filter(|w| **w == "houd").count();
        for (flemish, instead) in NOT_NETHERLANDS_DUTCH {
            if words.contains(flemish) {
                bad.push(format!("{path}: {flemish:?} (write {instead:?}): {text:?}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(houd >= 10, "\"houd\" is the form we use, found {houd}");
}

// ---------------------------------------------------------------------------
// 4. Doses and tempo
// ---------------------------------------------------------------------------

/// A dose as the brochure gives it (with our documented choices where it
/// gives none): reps, sets, hold, rest, sides, up, down, duration.
struct Want {
    id: &'static str,
    reps: Option<u32>,
    sets: Option<u32>,
    hold: Option<u32>,
    rest: Option<u32>,
    sides: Option<Sides>,
    up: Option<u32>,
    down: Option<u32>,
    duration: Option<u32>,
}

const DOSES: &[Want] = &[
    // 003 BAOV 5: five with the left leg straight, 30 s rest, five with the
    // right: one set; the set twice, at two counts up and two down.
    Want {
        id: "baov_05_oblique_abdominals",
        reps: Some(5),
        sets: Some(2),
        hold: None,
        rest: Some(30),
        sides: Some(Sides::EachSet),
        up: Some(2),
        down: Some(2),
        duration: None,
    },
    // 003 BAOV 10: ten holds of 10 s; 3 s up and 7 s down are ours: 10 s
    // between two holds.
    Want {
        id: "baov_10_curl_up_hold",
        reps: Some(10),
        sets: None,
        hold: Some(10),
        rest: None,
        sides: None,
        up: Some(3),
        down: Some(7),
        duration: None,
    },
    // 004: ten wags in all, alternating: five to each side.
    Want {
        id: "sr_tail_wag",
        reps: Some(5),
        sets: None,
        hold: None,
        rest: None,
        sides: Some(Sides::Alternating),
        up: None,
        down: None,
        duration: None,
    },
    // 002: 30 s forwards; the backward round is optional (a variant).
    Want {
        id: "th_cycling_in_the_air",
        reps: None,
        sets: None,
        hold: None,
        rest: None,
        sides: None,
        up: None,
        down: None,
        duration: Some(30),
    },
    // 001: breathing-paced: four counts in, four out.
    Want {
        id: "an_cat_cow",
        reps: Some(10),
        sets: None,
        hold: None,
        rest: None,
        sides: Some(Sides::None),
        up: Some(4),
        down: Some(4),
        duration: None,
    },
    // 000: fifteen a day, back to hollow "very gradually".
    Want {
        id: "hf_cat_back",
        reps: Some(15),
        sets: None,
        hold: None,
        rest: None,
        sides: Some(Sides::None),
        up: Some(4),
        down: Some(6),
        duration: None,
    },
    // 003 McKenzie 3: ten take about a minute.
    Want {
        id: "mk_3_press_up",
        reps: Some(10),
        sets: None,
        hold: None,
        rest: None,
        sides: None,
        up: Some(3),
        down: Some(3),
        duration: None,
    },
    Want {
        id: "baov_04_straight_abdominals",
        ..BAOV_TWO_COUNTS
    },
    Want {
        id: "baov_07_pelvic_bridge",
        ..BAOV_TWO_COUNTS
    },
];

/// 003 BAOV 4 and 7, the same dose: two counts up, two counts down.
const BAOV_TWO_COUNTS: Want = Want {
    id: "",
    reps: Some(5),
    sets: Some(3),
    hold: None,
    rest: Some(30),
    sides: None,
    up: Some(2),
    down: Some(2),
    duration: None,
};

#[test]
fn doses_match_the_brochures() {
    for w in DOSES {
        let d = &ex(w.id).dose;
        let got = (
            d.reps,
            d.sets,
            d.hold_secs,
            d.rest_secs,
            d.sides,
            d.up_secs,
            d.down_secs,
            d.duration_secs,
        );
        let want = (
            w.reps.and_then(n),
            w.sets.and_then(n),
            w.hold.and_then(n),
            w.rest.and_then(n),
            w.sides,
            w.up.and_then(n),
            w.down.and_then(n),
            w.duration.and_then(n),
        );
        assert_eq!(got, want, "{}", w.id);
    }
}

/// Exercises whose tempo is the brochure's own ("twee tellen heen en twee
/// tellen terug", 003 BAOV 4, 5 and 7).
const TEMPO_FROM_SOURCE: [&str; 3] = [
    "baov_04_straight_abdominals",
    "baov_05_oblique_abdominals",
    "baov_07_pelvic_bridge",
];

#[test]
fn a_tempo_records_its_origin_like_any_dose_field() {
    let mut bad = Vec::new();
    for e in &shipped().exercises {
        for (field, value) in [
            (DoseField::UpSecs, e.dose.up_secs),
            (DoseField::DownSecs, e.dose.down_secs),
        ] {
            if value.is_none() || TEMPO_FROM_SOURCE.contains(&e.id()) {
                continue;
            }
            let ours = e.dose_origin == DoseOrigin::Default
                || (e.dose_origin == DoseOrigin::Mixed && e.defaulted.contains(&field));
            if !ours {
                bad.push(format!(
                    "{}: {field:?} is not in the brochure; list it in `defaulted`",
                    e.id()
                ));
            }
        }
    }
    for id in TEMPO_FROM_SOURCE {
        let e = ex(id);
        assert!(
            !e.defaulted.contains(&DoseField::UpSecs) && e.dose.up_secs == n(2),
            "{id}: the brochure's own two counts"
        );
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The timed work steps of `exercise` in `program`, in order.
fn work_steps(program: &str, exercise: &str, cfg: &SessionConfig) -> Vec<Timed> {
    let c = shipped();
    let p = c.program(program).unwrap();
    let script = session::compile(c, p, Lang::En, cfg, &()).unwrap();
    let index = script
        .exercises
        .iter()
        .position(|e| e.id == exercise)
        .unwrap_or_else(|| panic!("{exercise} not in {program}"));
    script
        .steps
        .iter()
        .filter(|s| s.exercise == Some(index))
        .filter_map(|s| match &s.kind {
            StepKind::Timed(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// When repetition `k` is complete, from the step's start.
fn rep_done(t: &Timed, k: u32) -> Duration {
    t.events
        .iter()
        .find(|e| e.emit == Emit::RepDone(k))
        .map(|e| e.at)
        .unwrap_or_else(|| panic!("no repetition {k}"))
}

/// When the first thing is said after the start of a repetition at `from`.
fn next_spoken_after(t: &Timed, from: Duration) -> Duration {
    t.events
        .iter()
        .filter(|e| e.at > from && matches!(e.emit, Emit::Speak(..)))
        .map(|e| e.at)
        .min()
        .unwrap_or_else(|| panic!("nothing said after {from:?}"))
}

#[test]
fn the_user_hears_the_slower_tempo() {
    let cfg = SessionConfig::default();
    let default_period =
        Duration::from_secs(u64::from(cfg.default_up_secs + cfg.default_down_secs));
    for (program, id, up, period) in [
        ("an_daily_mobility", "an_cat_cow", 4, 8),
        ("hf_mobilise_then_stabilise", "hf_cat_back", 4, 10),
        ("mckenzie_acute", "mk_3_press_up", 3, 6),
    ] {
        let work = work_steps(program, id, &cfg);
        let t = &work[0];
        let period = Duration::from_secs(period);
        assert!(period > default_period, "{id}");
        assert_eq!(rep_done(t, 1), period, "{id}: one repetition");
        assert_eq!(rep_done(t, 2), period * 2, "{id}: two repetitions");
        // After the count, the way back is announced once the way there is done.
        assert_eq!(
            next_spoken_after(t, Duration::ZERO),
            Duration::from_secs(up),
            "{id}: the turn"
        );
    }
}

#[test]
fn baov_10_rests_as_long_between_holds_as_it_holds() {
    let cfg = SessionConfig::default();
    let work = work_steps("baov_week_three", "baov_10_curl_up_hold", &cfg);
    assert_eq!(work.len(), 1);
    let t = &work[0];
    let hold = Duration::from_secs(10);
    let period = rep_done(t, 1);
    assert!(
        period - hold >= hold,
        "between two holds {:?}, hold {hold:?}",
        period - hold
    );
    assert_eq!(rep_done(t, 10), period * 10);
}

#[test]
fn baov_05_does_five_and_five_per_leg_with_30_seconds_between() {
    let cfg = SessionConfig::default();
    let c = shipped();
    let p = c.program("baov_week_three").unwrap();
    let script = session::compile(c, p, Lang::En, &cfg, &()).unwrap();
    let index = script
        .exercises
        .iter()
        .position(|e| e.id == "baov_05_oblique_abdominals")
        .unwrap();
    let kinds: Vec<(TimedKind, Duration)> = script
        .steps
        .iter()
        .filter(|s| s.exercise == Some(index))
        .filter_map(|s| match &s.kind {
            StepKind::Timed(t) => Some((t.kind, t.length)),
            _ => None,
        })
        .collect();
    let work = |set, side| TimedKind::Work {
        set,
        side: Some(side),
        reps_planned: 5,
    };
    let per_rep = Duration::from_secs(4);
    let rest = (TimedKind::Rest, Duration::from_secs(30));
    assert_eq!(
        kinds,
        [
            (work(1, Side::Left), per_rep * 5),
            rest,
            (work(1, Side::Right), per_rep * 5),
            rest,
            (work(2, Side::Left), per_rep * 5),
            rest,
            (work(2, Side::Right), per_rep * 5),
        ]
    );
}

#[test]
fn sr_tail_wag_counts_ten_wags_in_all() {
    let work = work_steps("sr_warmup", "sr_tail_wag", &SessionConfig::default());
    assert_eq!(work.len(), 1);
    assert!(matches!(
        work[0].kind,
        TimedKind::Work {
            reps_planned: 10,
            ..
        }
    ));
}

#[test]
fn cycling_backwards_is_offered_not_required() {
    let e = ex("th_cycling_in_the_air");
    assert_eq!(e.dose.sets_or_one(), 1);
    for lang in Lang::ALL {
        for t in spoken(e, lang) {
            let t = t.to_lowercase();
            assert!(
                !t.contains("achteruit") && !t.contains("backward"),
                "spoken as required work: {t:?}"
            );
        }
    }
    assert!(
        e.variants
            .iter()
            .any(|v| v.nl.as_str().contains("achteruit") && v.en.as_str().contains("backwards")),
        "the backward round is a variant"
    );
}

#[test]
fn baov_day_one_ends_with_the_half_hour_of_relaxation() {
    let p = shipped().program("baov_day_one").unwrap();
    let ids: Vec<&str> = p
        .items
        .iter()
        .map(|i| i.exercise.get_ref().as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "baov_01_knee_rocking",
            "baov_02_hamstring_stretch",
            "baov_03_cat",
            "baov_relaxed_lying"
        ]
    );
    assert_eq!(ex("baov_relaxed_lying").dose.duration_secs, n(1800));
}
