//! The content is written in our own words: no text in `content/` may share
//! a run of seven consecutive words with the seed brochures.
//!
//! Every string under a key `nl` (or `en`) anywhere in `content/**/*.toml`
//! is checked: exercise name, position, movement, cues, cautions, variants
//! and notes, program name, description and condition, the safety rules'
//! `says`, and the phrases. The TOML is read as plain `toml::Value`, so this
//! test does not depend on the crate's content types.
//!
//! - Dutch texts are compared with all five seeds, concatenated.
//! - English texts are compared with seed 000, the one bilingual brochure.
//!   The whole file is used; its Dutch paragraphs cannot share seven words
//!   with an English text, so this is the same as using its English parts.
//!
//! Both sides are normalised the same way: lower-cased, everything that is
//! not a letter or digit becomes a space, and words are split on whitespace.
//! In the seeds, a word broken across lines with a hyphen ("ver-\nsteviging")
//! is joined again first.
//!
//! Before comparing, pronouns, definite articles and the verb forms that go
//! with a pronoun are folded into one token each (`normalise`): a brochure
//! sentence with only "uw" turned into "je" is still a copy.
//!
//! The seeds live outside the repository (`shared/seeds` beside it or beside
//! a directory above it); without them the test prints a note and passes,
//! except under scripts/test, where it fails (`fixtures::seeds_dir`).

mod common;
use common::fixtures;

use fixtures::{root, seeds_dir};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// How many consecutive shared words count as copying.
const RUN: usize = 7;

/// The bilingual seed, the only one with English text.
const BILINGUAL_SEED: &str = "000_";

/// Words that only say whose or which thing is meant: a brochure sentence
/// with "uw" turned into "je", or "de voeten" into "je voeten", is still the
/// brochure's sentence. They all become one token, so a swap among them does
/// not break a shared run.
const PRONOUNS: &[&str] = &[
    // Dutch: the formal and the informal second person, and the definite
    // articles a rewrite most often trades for "je".
    "je", "jij", "jou", "jouw", "jezelf", "jullie", "u", "uw", "uzelf", "zich", "zichzelf", "de",
    "het", // English
    "you", "your", "yours", "yourself", "the",
];

/// Verb forms that change with the pronoun ("u kan" / "je kunt", "houdt" /
/// "houd" / "hou"): each pair becomes one word.
const VERB_FORMS: &[(&str, &str)] = &[
    ("kunt", "kan"),
    ("zult", "zal"),
    ("wilt", "wil"),
    ("hebt", "heeft"),
    ("houdt", "houd"),
    ("hou", "houd"),
    ("bent", "is"),
];

/// The token every word of `PRONOUNS` becomes.
const PRONOUN: &str = "·";

/// One word as the comparison sees it.
fn normalise(word: &str) -> String {
    if PRONOUNS.contains(&word) {
        return PRONOUN.to_owned();
    }
    match VERB_FORMS.iter().find(|(form, _)| *form == word) {
        Some((_, base)) => (*base).to_owned(),
        None => word.to_owned(),
    }
}

/// Lower-case, strip punctuation, normalise whitespace, then fold pronouns,
/// articles and the verb forms that follow them (`normalise`).
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .map(normalise)
        .collect()
}

/// Joins words hyphenated across a line break, as in the scanned seed 002.
fn join_line_hyphens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('-') {
        let (head, tail) = rest.split_at(i);
        let after = tail[1..].trim_start_matches([' ', '\t', '\r']);
        let glued = head.ends_with(|c: char| c.is_alphabetic())
            && after.starts_with('\n')
            && after[1..]
                .trim_start()
                .starts_with(|c: char| c.is_lowercase());
        out.push_str(head);
        if glued {
            rest = after[1..].trim_start();
        } else {
            out.push('-');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

fn runs(words: &[String]) -> HashSet<String> {
    words.windows(RUN).map(|w| w.join(" ")).collect()
}

/// One string from the content: where it is and what it says.
struct Text {
    file: PathBuf,
    path: String,
    lang: &'static str,
    text: String,
}

/// Collects every string under a key `nl` or `en`, with a readable path
/// (`exercise[hf_bridge].cues[1].nl`).
fn collect(file: &Path, value: &toml::Value, path: &str, out: &mut Vec<Text>) {
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (key.as_str(), v) {
                    ("nl", toml::Value::String(s)) | ("en", toml::Value::String(s)) => {
                        out.push(Text {
                            file: file.to_owned(),
                            path: here,
                            lang: if key == "nl" { "nl" } else { "en" },
                            text: s.clone(),
                        });
                    }
                    _ => collect(file, v, &here, out),
                }
            }
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let label = match item.get("id").and_then(toml::Value::as_str) {
                    Some(id) => id.to_owned(),
                    None => i.to_string(),
                };
                collect(file, item, &format!("{path}[{label}]"), out);
            }
        }
        _ => {}
    }
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

/// The maximal stretches of `words` that are covered by runs in `seed`.
fn shared_stretches(words: &[String], seed: &HashSet<String>) -> Vec<String> {
    let mut covered = vec![false; words.len()];
    for (i, w) in words.windows(RUN).enumerate() {
        if seed.contains(&w.join(" ")) {
            covered[i..i + RUN].iter_mut().for_each(|c| *c = true);
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if covered[i] {
            let start = i;
            while i < words.len() && covered[i] {
                i += 1;
            }
            out.push(words[start..i].join(" "));
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn no_seven_word_run_is_shared_with_the_seeds() {
    let Some(seeds_dir) = seeds_dir() else {
        return;
    };

    let mut seed_files: Vec<PathBuf> = fs::read_dir(&seeds_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    seed_files.sort();
    assert!(
        !seed_files.is_empty(),
        "no seed files in {}",
        seeds_dir.display()
    );

    let mut all = String::new();
    let mut bilingual = String::new();
    for p in &seed_files {
        let raw = fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let text = join_line_hyphens(&raw);
        all.push_str(&text);
        all.push('\n');
        let name = p.file_name().unwrap().to_string_lossy();
        if name.starts_with(BILINGUAL_SEED) {
            bilingual.push_str(&text);
        }
    }
    assert!(
        !bilingual.is_empty(),
        "seed {BILINGUAL_SEED}* not found in {}",
        seeds_dir.display()
    );
    let dutch_seed = runs(&words(&all));
    let english_seed = runs(&words(&bilingual));

    let mut files = Vec::new();
    toml_files(&root().join("content"), &mut files);
    assert!(!files.is_empty(), "no content found");
    let mut texts = Vec::new();
    for f in &files {
        let src = fs::read_to_string(f).unwrap();
        let value: toml::Value =
            toml::from_str(&src).unwrap_or_else(|e| panic!("{} does not parse: {e}", f.display()));
        collect(f, &value, "", &mut texts);
    }
    assert!(
        texts.iter().any(|t| t.lang == "nl") && texts.iter().any(|t| t.lang == "en"),
        "found no nl/en texts in content"
    );

    let mut report = String::new();
    let mut offending = 0;
    for t in &texts {
        let seed = if t.lang == "nl" {
            &dutch_seed
        } else {
            &english_seed
        };
        let shared = shared_stretches(&words(&t.text), seed);
        if shared.is_empty() {
            continue;
        }
        offending += 1;
        let file = t.file.strip_prefix(root()).unwrap_or(&t.file);
        let _ = writeln!(report, "\n{} {}", file.display(), t.path);
        let _ = writeln!(report, "  text:   {:?}", t.text);
        for s in shared {
            let _ = writeln!(report, "  shared: \"{s}\"");
        }
    }
    assert!(
        offending == 0,
        "{offending} content text(s) share a run of {RUN} or more words with the seed brochures; \
         rephrase them in our own words:\n{report}"
    );
    println!(
        "checked {} texts from {} files against {} seeds",
        texts.len(),
        files.len(),
        seed_files.len()
    );
}

#[test]
fn normalises_texts_and_seeds_the_same_way() {
    assert_eq!(
        words("Ga op je rug liggen, met 's ochtends… \"gebogen\"  knieën!"),
        ["ga", "op", PRONOUN, "rug", "liggen", "met", "s", "ochtends", "gebogen", "knieën"]
    );
    assert_eq!(
        words("U kunt uw hoofd; you hold YOUR head"),
        [PRONOUN, "kan", PRONOUN, "hoofd", PRONOUN, "hold", PRONOUN, "head"]
    );
    assert_eq!(
        join_line_hyphens("ter versoepeling en ver-\nsteviging van de rug"),
        "ter versoepeling en versteviging van de rug"
    );
    assert_eq!(
        join_line_hyphens("Rug- en bilspieren\nMobiliserende -\nLenigmakende"),
        "Rug- en bilspieren\nMobiliserende -\nLenigmakende"
    );
    let seed = runs(&words("een twee drie vier vijf zes zeven acht"));
    assert_eq!(
        shared_stretches(&words("nul een twee drie vier vijf zes zeven negen"), &seed),
        ["een twee drie vier vijf zes zeven"]
    );
    assert!(shared_stretches(&words("een twee drie vier vijf zes acht"), &seed).is_empty());
}

/// Brochure sentences and the versions of them that content/ once held,
/// changed in nothing but the pronoun, the article or the verb form that
/// goes with them (issue 13). Each must count as a copy.
const PRONOUN_SWAPS: &[(&str, &str)] = &[
    (
        "Laat uw armen ontspannen langs uw lichaam hangen en buig met uw bovenste gedeelte",
        "Laat je armen ontspannen langs je lichaam hangen.",
    ),
    (
        "Neem plaats op een kruk op stoelhoogte, of zijwaarts op een keukenstoel; zodat u helemaal kan inzakken",
        "Ga op een kruk van stoelhoogte zitten, of zijdelings op een keukenstoel, zodat je helemaal kunt inzakken.",
    ),
    (
        "Liggend op uw rug met benen gebogen en de voeten op de grond.",
        "Ga op je rug liggen met je benen gebogen en je voeten op de grond.",
    ),
    (
        "Let op dat u uw lage rug niet hol trekt en houdt uw hoofd recht boven uw wervelkolom.",
        "Hou je hoofd recht boven je wervelkolom.",
    ),
];

#[test]
fn a_pronoun_swap_is_still_a_copy() {
    for (brochure, ours) in PRONOUN_SWAPS {
        let seed = runs(&words(brochure));
        assert!(
            !shared_stretches(&words(ours), &seed).is_empty(),
            "not caught as a copy of {brochure:?}: {ours:?}"
        );
    }
    // Our rewrites of the same sentences share no run.
    let seed = runs(&words(
        &PRONOUN_SWAPS
            .iter()
            .map(|(b, _)| *b)
            .collect::<Vec<_>>()
            .join(" "),
    ));
    for ours in [
        "Je armen hangen los naast je.",
        "Ga zitten op een stoel en schuif naar achteren tot je onderrug de leuning raakt. Vouw je handen achter je nek.",
        "Zit op een kruk van stoelhoogte, of dwars op een keukenstoel: zonder leuning in je rug kun je straks ver onderuitzakken.",
        "Lig op je rug. Je knieën zijn gebogen en je voetzolen staan op de mat.",
        "Je hoofd blijft recht en in balans boven je romp.",
    ] {
        assert!(
            shared_stretches(&words(ours), &seed).is_empty(),
            "a rewrite still counts as a copy: {ours:?}"
        );
    }
}
