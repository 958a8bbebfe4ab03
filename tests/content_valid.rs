//! The shipped content validates; broken content gives the expected message,
//! with the file, the exact line and column, and a fix.

mod common;
use common::fixtures;

use fixtures::*;
use matcoach::content::{self, Content, Lang};
use matcoach::session::{self, SessionConfig};
use std::collections::{BTreeMap, HashSet};

const F000: &str = "exercises/000_ab683799f572d549.toml";
const F002: &str = "exercises/002_6eadf1f81b90289b.toml";
const F004: &str = "exercises/004_3523419042a87738.toml";

/// Seed file, the id prefixes its exercises use, and how many it has at least.
const SEEDS: [(&str, &[&str], usize); 5] = [
    ("000_ab683799f572d549.txt", &["hf_"], 2),
    ("001_4b26efd423b1ba44.txt", &["an_"], 7),
    ("002_6eadf1f81b90289b.txt", &["th_"], 24),
    ("003_30b103968d1cbe9a.txt", &["mk_", "baov_"], 22),
    ("004_3523419042a87738.txt", &["sr_"], 9),
];

fn shipped() -> &'static Content {
    common::content()
}

// ---------------------------------------------------------------------------
// The shipped content
// ---------------------------------------------------------------------------

#[test]
fn shipped_content_loads_without_warnings() {
    let c = shipped();
    let warnings: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
    assert!(warnings.is_empty(), "warnings:\n{}", warnings.join("\n"));
    assert!(
        c.exercises.len() >= 64,
        "only {} exercises",
        c.exercises.len()
    );
    assert!(c.program("morning_mobility").is_some());
    assert!(c.program("quick").is_some());
}

#[test]
fn every_exercise_speaks_both_languages() {
    let mut bad = Vec::new();
    for ex in &shipped().exercises {
        for (field, text) in [
            ("name", &ex.name),
            ("position", &ex.position),
            ("movement", &ex.movement),
        ] {
            for lang in Lang::ALL {
                if text.get(lang).trim().is_empty() {
                    bad.push(format!("{} {field} ({lang})", ex.id()));
                }
            }
        }
    }
    assert!(bad.is_empty(), "empty texts: {bad:?}");
}

#[test]
fn exercise_ids_are_unique() {
    let mut seen = HashSet::new();
    let dups: Vec<&str> = shipped()
        .exercises
        .iter()
        .map(|e| e.id())
        .filter(|id| !seen.insert(*id))
        .collect();
    assert!(dups.is_empty(), "duplicate ids: {dups:?}");
}

#[test]
fn ids_carry_the_prefix_of_their_source() {
    let c = shipped();
    let mut bad = Vec::new();
    for ex in &c.exercises {
        let source = ex.source.get_ref().as_str();
        match SEEDS.iter().find(|(s, _, _)| *s == source) {
            Some((_, prefixes, _)) => {
                if !prefixes.iter().any(|p| ex.id().starts_with(p)) {
                    bad.push(format!(
                        "{} cites {source}: want prefix {prefixes:?}",
                        ex.id()
                    ));
                }
            }
            None => bad.push(format!("{} cites an unknown seed {source}", ex.id())),
        }
        // One exercise file per seed, named after it.
        let stem = c.files[ex.file]
            .path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        if format!("{stem}.txt") != source {
            bad.push(format!(
                "{} cites {source} but lives in {stem}.toml",
                ex.id()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn every_seed_is_cited_often_enough() {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for ex in &shipped().exercises {
        *counts.entry(ex.source.get_ref().as_str()).or_default() += 1;
    }
    for (seed, _, at_least) in SEEDS {
        let n = counts.get(seed).copied().unwrap_or(0);
        assert!(
            n >= at_least,
            "{seed} is cited by {n} exercises, expected at least {at_least}"
        );
    }
}

#[test]
fn every_program_compiles_in_both_languages() {
    let c = shipped();
    let cfg = SessionConfig::default();
    assert!(c.programs.len() >= 15, "{} programs", c.programs.len());
    for p in &c.programs {
        for lang in Lang::ALL {
            let script = session::compile(c, p, lang, &cfg, &())
                .unwrap_or_else(|e| panic!("{} ({lang}): {e}", p.id()));
            assert_eq!(script.lang, lang);
            assert_eq!(script.program_id, p.id());
            assert!(!script.exercises.is_empty(), "{} ({lang})", p.id());
        }
    }
}

#[test]
fn cited_seed_files_exist() {
    let Some(seeds) = seeds_dir() else {
        return;
    };
    let c = shipped();
    let mut cited: Vec<(String, String)> = Vec::new();
    for ex in &c.exercises {
        cited.push((ex.id().to_string(), ex.source.get_ref().clone()));
    }
    for p in &c.programs {
        for s in &p.sources {
            cited.push((format!("program {}", p.id()), s.get_ref().clone()));
        }
    }
    let s = &c.safety;
    for (name, rule) in [
        ("pain_below_knee", &s.pain_below_knee),
        ("persistent_pain_skip", &s.persistent_pain_skip),
        ("repeated_pain_ends_session", &s.repeated_pain_ends_session),
        ("strength_not_first", &s.strength_not_first),
        ("warm_up_before_strength", &s.warm_up_before_strength),
        ("advanced_only_when_stable", &s.advanced_only_when_stable),
    ] {
        for src in &rule.sources {
            cited.push((format!("safety {name}"), src.get_ref().clone()));
        }
    }
    // issue 13: the rules whose shape differs from the others.
    for (name, sources) in [
        ("pain_stops_exercise", &s.pain_stops_exercise.sources),
        ("pain_rules.mckenzie", &s.pain_rules.mckenzie.sources),
    ] {
        for src in sources {
            cited.push((format!("safety {name}"), src.get_ref().clone()));
        }
    }
    let missing: Vec<String> = cited
        .iter()
        .filter(|(_, f)| !seeds.join(f).is_file())
        .map(|(who, f)| format!("{who}: {f}"))
        .collect();
    assert!(
        missing.is_empty(),
        "missing seed files:\n{}",
        missing.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Broken content
// ---------------------------------------------------------------------------

/// Where an error must point: the `n`-th occurrence of `needle` in the edited
/// file, plus `skip` bytes.
struct At {
    needle: &'static str,
    n: usize,
    skip: usize,
}

const fn at(needle: &'static str, skip: usize) -> At {
    At { needle, n: 1, skip }
}

struct Broken {
    name: &'static str,
    edit: fn(&Scratch),
    /// The file the error names (relative to content/).
    file: &'static str,
    at: At,
    message: &'static [&'static str],
    fix: &'static str,
    /// The message also names this place, as `path:line` (file, needle).
    mentions: Option<(&'static str, &'static str)>,
    /// It is the only problem reported. (Not yet for parse errors in an
    /// exercise file: see `a_parse_error_in_an_exercise_file_is_the_only_problem`.)
    only: bool,
}

const BRIDGE: &str = "id = \"hf_bridge\"";

/// The hf_cat_back table of the 000 file, from its `[[exercise]]` to the next.
fn cat_back_block(s: &Scratch) -> String {
    let text = s.read(F000);
    let start = text.find("[[exercise]]\nid = \"hf_cat_back\"").unwrap();
    let len = text[start + 1..]
        .find("\n[[exercise]]")
        .map_or(text.len() - start, |e| e + 2);
    text[start..start + len].to_string()
}

const STIFF: &str = "programs/mckenzie_stiff.toml";

/// `edit` leaves mk_6 in mckenzie_stiff without mk_3 right after it.
const fn mk6_without_mk3(name: &'static str, edit: fn(&Scratch)) -> Broken {
    Broken {
        name,
        edit,
        file: STIFF,
        at: at("\"mk_6_knees_to_chest_lying\"", 0),
        message: &["program `mckenzie_stiff`: `mk_6_knees_to_chest_lying` must always be followed by `mk_3_press_up`"],
        fix: "put the named exercise right after it",
        mentions: None,
        only: true,
    }
}

const BROKEN: &[Broken] = &[
    Broken {
        name: "unknown key in an exercise",
        edit: |s| s.replace(F000, "id = \"hf_bridge\"\n", "id = \"hf_bridge\"\ncolour = \"red\"\n"),
        file: F000,
        at: at("colour = ", 0),
        message: &["unknown field `colour`, expected one of `id`, "],
        fix: "remove this key or correct its spelling",
        mentions: None,
        only: false,
    },
    Broken {
        name: "unknown key in a dose",
        edit: |s| s.set_line(F000, BRIDGE, "[exercise.dose]", "[exercise.dose]\nhold_mins = 1"),
        file: F000,
        at: at("hold_mins", 0),
        message: &["unknown field `hold_mins`, expected one of `reps`, "],
        fix: "remove this key or correct its spelling",
        mentions: None,
        only: false,
    },
    Broken {
        name: "a missing en text",
        edit: |s| s.set_line(F000, BRIDGE, "name = ", "name = { nl = \"De brug\" }"),
        file: F000,
        at: at("name = { nl = \"De brug\" }", 7),
        message: &["missing field `en`"],
        fix: "add the English text",
        mentions: None,
        only: false,
    },
    Broken {
        name: "an empty text",
        edit: |s| s.set_line(F000, BRIDGE, "name = ", "name = { nl = \"De brug\", en = \"  \" }"),
        file: F000,
        at: at("en = \"  \"", 5),
        message: &["text is empty"],
        fix: "write the text, or remove the entry",
        mentions: None,
        only: false,
    },
    Broken {
        name: "hold_secs = 0",
        edit: |s| s.set_line(F000, BRIDGE, "hold_secs = ", "hold_secs = 0"),
        file: F000,
        at: at("hold_secs = 0", 12),
        message: &["invalid value: integer `0`, expected a nonzero u32"],
        fix: "use a whole number above zero",
        mentions: None,
        only: false,
    },
    Broken {
        name: "an unknown category",
        edit: |s| s.set_line(F000, BRIDGE, "category = ", "category = \"cardio\""),
        file: F000,
        at: at("\"cardio\"", 0),
        message: &["unknown variant `cardio`, expected one of `mobilising`"],
        fix: "use one of the values listed in the message",
        mentions: None,
        only: false,
    },
    Broken {
        name: "invalid TOML syntax in an exercise file",
        edit: |s| s.set_line(F002, "[[exercise]]", "category = ", "category = mobilising"),
        file: F002,
        at: at("category = mobilising", 11),
        message: &["string values must be quoted"],
        fix: "fix the TOML syntax at this place",
        mentions: None,
        only: false,
    },
    Broken {
        name: "invalid TOML syntax in a program",
        edit: |s| s.replace("programs/quick.toml", "id = \"quick\"", "id = quick"),
        file: "programs/quick.toml",
        at: at("id = quick", 5),
        message: &["string values must be quoted"],
        fix: "fix the TOML syntax at this place",
        mentions: None,
        only: true,
    },
    Broken {
        name: "a source that is not a seed file name",
        edit: |s| s.set_line(F000, BRIDGE, "source = ", "source = \"000_brochure.txt\""),
        file: F000,
        at: at("\"000_brochure.txt\"", 0),
        message: &["`000_brochure.txt` is not a seed file name"],
        fix: "cite the brochure's file name in shared/seeds/",
        mentions: None,
        only: true,
    },
    Broken {
        name: "a dangling easier",
        edit: |s| s.replace(F000, "id = \"hf_bridge\"\n", "id = \"hf_bridge\"\neasier = \"nope\"\n"),
        file: F000,
        at: at("easier = \"nope\"", 9),
        message: &["`easier` names `nope`, which is not an exercise"],
        fix: "use the id of an exercise in content/exercises/",
        mentions: None,
        only: true,
    },
    Broken {
        name: "an exercise that names itself as harder",
        edit: |s| s.replace(F000, "id = \"hf_bridge\"\n", "id = \"hf_bridge\"\nharder = \"hf_bridge\"\n"),
        file: F000,
        at: at("harder = \"hf_bridge\"", 9),
        message: &["exercise `hf_bridge` names itself as `harder`"],
        fix: "name another exercise, or remove the key",
        mentions: None,
        only: true,
    },
    Broken {
        name: "a duplicate exercise id (in another file)",
        edit: |s| {
            let block = cat_back_block(s);
            s.append(F004, &format!("\n{block}"));
        },
        file: F004,
        at: at("id = \"hf_cat_back\"", 5),
        message: &["duplicate exercise id `hf_cat_back` (first defined at "],
        fix: "give each exercise its own id",
        mentions: Some((F000, "id = \"hf_cat_back\"")),
        only: true,
    },
    Broken {
        name: "a duplicate exercise id (in the same file)",
        edit: |s| {
            let block = cat_back_block(s);
            s.append(F000, &format!("\n{block}"));
        },
        file: F000,
        at: At {
            needle: "id = \"hf_cat_back\"",
            n: 2,
            skip: 5,
        },
        message: &["duplicate exercise id `hf_cat_back` (first defined at "],
        fix: "give each exercise its own id",
        mentions: Some((F000, "id = \"hf_cat_back\"")),
        only: true,
    },
    Broken {
        name: "a program naming an unknown exercise",
        edit: |s| s.append("programs/quick.toml", "\n[[item]]\nexercise = \"no_such_exercise\"\n"),
        file: "programs/quick.toml",
        at: at("\"no_such_exercise\"", 0),
        message: &["program `quick` names `no_such_exercise`, which is not an exercise"],
        fix: "use the id of an exercise in content/exercises/",
        mentions: None,
        only: true,
    },
    Broken {
        name: "a program starting with strengthening",
        edit: |s| s.set_items("programs/quick.toml", &["an_glute_bridge", "hf_cat_back"]),
        file: "programs/quick.toml",
        at: at("\"an_glute_bridge\"", 0),
        message: &[
            "program `quick` starts with strengthening exercise `an_glute_bridge` (strengthening never comes first",
        ],
        fix: "start with mobilising or stretching exercises",
        mentions: None,
        only: true,
    },
    Broken {
        name: "strengthening before any warm-up",
        edit: |s| {
            s.set_items(
                "programs/hf_mobilise_then_stabilise.toml",
                &["hf_bridge", "an_glute_bridge"],
            )
        },
        file: "programs/hf_mobilise_then_stabilise.toml",
        at: at("\"an_glute_bridge\"", 0),
        message: &[
            "program `hf_mobilise_then_stabilise`: strengthening exercise `an_glute_bridge` comes before any warm-up (warm up before strength work)",
        ],
        fix: "put a mobilising, stretching, relaxation or posture exercise before it",
        mentions: None,
        only: true,
    },
    mk6_without_mk3(
        "mk_6 not followed by mk_3",
        |s| s.set_items(STIFF, &["mk_6_knees_to_chest_lying", "mk_4_standing_backbend"]),
    ),
    mk6_without_mk3(
        "mk_6 last in a program",
        |s| s.set_items(STIFF, &["mk_3_press_up", "mk_6_knees_to_chest_lying"]),
    ),
    Broken {
        name: "a program id differing from its file name",
        edit: |s| s.replace("programs/quick.toml", "id = \"quick\"", "id = \"quick_five\""),
        file: "programs/quick.toml",
        at: at("\"quick_five\"", 0),
        message: &["program id `quick_five` differs from its file name `quick.toml`"],
        fix: "name the file after the id",
        mentions: None,
        only: true,
    },
    Broken {
        name: "a phrase with an unknown placeholder",
        edit: |s| {
            s.set_line(
                "phrases.toml",
                "",
                "exercise_of = ",
                "exercise_of = { en = \"Exercise {n} of {totals}.\", nl = \"Oefening {n} van {total}.\" }",
            )
        },
        file: "phrases.toml",
        at: at("exercise_of = ", 0),
        message: &["phrase `exercise_of` (en) uses unknown placeholder {totals}"],
        fix: "use only {n}, {total}",
        mentions: None,
        only: true,
    },
    Broken {
        name: "a missing rule in safety.toml",
        edit: |s| s.remove_table("safety.toml", "[pain_below_knee]\n"),
        file: "safety.toml",
        // A missing table has no place of its own: the error points at the
        // start of the file.
        at: at("", 0),
        message: &["missing field `pain_below_knee`"],
        fix: "add the missing field",
        mentions: None,
        only: true,
    },
];

/// Check one case; `Err` says what is wrong.
fn check_broken(case: &Broken) -> Result<(), String> {
    let s = Scratch::new();
    (case.edit)(&s);
    let text = s.read(case.file);
    let (line, col) = position(&text, case.at.needle, case.at.n, case.at.skip);
    let err = match content::load_dir(&s.content()) {
        Ok(_) => return Err("loaded without error".into()),
        Err(e) => e.to_string(),
    };
    let path = s.path(case.file);
    let where_ = format!("{}:{line}:{col}: ", path.display());
    if case.only && !err.starts_with("content has 1 problem:\n") {
        return Err(format!("expected exactly one problem:\n{err}"));
    }
    // The expected problem comes first (problems are listed in file order,
    // parse errors before cross-checks).
    let lines: Vec<&str> = err.lines().collect();
    let msg = lines.get(1).copied().unwrap_or("");
    if !msg.starts_with(&where_) {
        return Err(format!("the first problem is not at {where_:?}:\n{err}"));
    }
    for frag in case.message {
        if !msg.contains(frag) {
            return Err(format!("message lacks {frag:?}:\n{err}"));
        }
    }
    if let Some((file, needle)) = case.mentions {
        let other = s.read(file);
        let (l, _) = position(&other, needle, 1, 0);
        let want = format!("(first defined at {}:{l})", s.path(file).display());
        if !msg.contains(&want) {
            return Err(format!("message does not mention {want:?}:\n{err}"));
        }
    }
    let fix = lines.get(2).copied().unwrap_or("");
    if !(fix.starts_with("  fix: ") && fix.contains(case.fix)) {
        return Err(format!(
            "no `  fix: …{}…` line after the message:\n{err}",
            case.fix
        ));
    }
    Ok(())
}

#[test]
fn the_exercises_the_broken_cases_use_are_what_they_assume() {
    use matcoach::content::Category;
    let c = shipped();
    let cat = |id: &str| c.exercise(id).map(|e| e.category);
    assert_eq!(cat("an_glute_bridge"), Some(Category::Strengthening));
    assert_eq!(cat("hf_bridge"), Some(Category::Stabilising));
    let mk6 = c.exercise("mk_6_knees_to_chest_lying").unwrap();
    assert_eq!(
        mk6.always_followed_by
            .as_ref()
            .map(|f| f.get_ref().as_str()),
        Some("mk_3_press_up")
    );
    assert!(c.exercise("mk_4_standing_backbend").is_some());
    assert!(c.exercise("hf_bridge").unwrap().dose.hold_secs.is_some());
}

#[test]
fn broken_content_is_reported_with_file_line_column_and_fix() {
    let failures: Vec<String> = BROKEN
        .iter()
        .filter_map(|c| check_broken(c).err().map(|e| format!("[{}] {e}", c.name)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        BROKEN.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a_missing_content_dir_is_a_read_error_naming_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("no_such_content");
    let err = content::load_dir(&dir).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err.0.first(), Some(content::ContentError::Read { .. })),
        "{text}"
    );
    assert_eq!(
        err.0.len(),
        1,
        "one problem, not one per subdirectory: {text}"
    );
    let first = text.lines().nth(1).unwrap_or("");
    assert!(
        first.starts_with(&format!("{}: cannot read: ", dir.display())),
        "{text}"
    );
    assert!(
        text.contains(
            "  fix: check that the content directory exists and is readable (or pass --content DIR)"
        ),
        "{text}"
    );
}

// ---------------------------------------------------------------------------
// The lint: command words in spoken text
// ---------------------------------------------------------------------------

fn warnings_after(edit: impl FnOnce(&Scratch)) -> (Scratch, Vec<content::Warning>) {
    let s = Scratch::new();
    edit(&s);
    let c = content::load_dir(&s.content()).unwrap_or_else(|e| panic!("{e}"));
    let w = c.warnings.clone();
    (s, w)
}

#[test]
fn a_command_word_in_spoken_text_is_a_warning_naming_the_exercise() {
    let cases = [
        (
            "movement = { nl = \"Til je billen op en zak rustig terug.\", en = \"Raise your buttocks, then stop and sink back down.\" }",
            "en",
            "stop",
        ),
        (
            "movement = { nl = \"Til je billen op; bij pijn zak je rustig terug.\", en = \"Raise your buttocks, then sink back down.\" }",
            "nl",
            "pain",
        ),
    ];
    for (line, lang, cmd) in cases {
        let (s, warnings) = warnings_after(|s| s.set_line(F000, BRIDGE, "movement = ", line));
        let text = s.read(F000);
        let (id_line, _) = position(&text, BRIDGE, 1, 0);
        let location = format!("{}:{id_line} (hf_bridge) movement", s.path(F000).display());
        assert_eq!(warnings.len(), 1, "{lang}: {warnings:#?}");
        let w = &warnings[0];
        assert_eq!(w.location, location, "{lang}");
        assert!(
            w.message.starts_with(&format!(
                "spoken {lang} text contains the command word for `{cmd}`"
            )),
            "{lang}: {}",
            w.message
        );
        assert_eq!(w.to_string(), format!("{location}: warning: {}", w.message));
    }
}

#[test]
fn a_command_word_in_notes_or_variants_is_not_a_warning() {
    let (_, warnings) = warnings_after(|s| {
        let entry = "{ nl = \"Bij pijn: stop, pauze, en herhaal later.\", en = \"On pain, stop; pause, then repeat later.\" },";
        s.set_line(F000, BRIDGE, "notes = [", &format!("notes = [\n  {entry}"));
        s.set_line(
            F000,
            BRIDGE,
            "variants = [",
            &format!("variants = [\n  {entry}"),
        );
    });
    assert!(warnings.is_empty(), "{warnings:#?}");
}

#[test]
fn a_parse_error_in_an_exercise_file_is_the_only_problem() {
    let s = Scratch::new();
    s.set_line(F000, BRIDGE, "hold_secs = ", "hold_secs = 0");
    let err = content::load_dir(&s.content()).unwrap_err().to_string();
    assert!(err.starts_with("content has 1 problem:\n"), "{err}");
}

#[test]
fn an_unknown_placeholder_is_reported_at_its_phrase_for_every_phrase() {
    let names: Vec<&str> = shipped()
        .phrases
        .table()
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    // issue 16, item 1: 21 phrases of the voice check; all_resting (a
    // refusal the Pi must say).
    assert_eq!(names.len(), 82);
    let mut failures = Vec::new();
    for name in names {
        let s = Scratch::new();
        let key = format!("{name} = ");
        s.set_line(
            "phrases.toml",
            "",
            &key,
            &format!("{name} = {{ en = \"Fine.\", nl = \"Goed {{bogus}}.\" }}"),
        );
        let text = s.read("phrases.toml");
        let (line, col) = position(&text, &format!("\n{key}"), 1, 1);
        let want = format!(
            "{}:{line}:{col}: phrase `{name}` (nl) uses unknown placeholder {{bogus}}",
            s.path("phrases.toml").display()
        );
        match content::load_dir(&s.content()) {
            Ok(_) => failures.push(format!("{name}: loaded")),
            Err(e) => {
                let e = e.to_string();
                if !e.starts_with("content has 1 problem:\n") || !e.contains(&want) {
                    failures.push(format!("{name}: want {want:?}, got:\n{e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
