//! Cross-checks that the parser cannot do: references, duplicates, the dose
//! rules, program order rules from `safety.toml`, and phrase placeholders.
//! Plus the lint: prompts that contain a command word.

use super::model::*;
use super::{Content, ContentError, SourceFile};
use crate::command::Command;
use std::collections::HashMap;
use std::fmt;
use toml::Spanned;

/// A problem that does not stop the coach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub location: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: warning: {}", self.location, self.message)
    }
}

fn is_snake_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A seed file name: three digits, an underscore, hex, `.txt`.
fn is_seed_name(s: &str) -> bool {
    let Some(stem) = s.strip_suffix(".txt") else {
        return false;
    };
    let Some((num, hash)) = stem.split_once('_') else {
        return false;
    };
    num.len() == 3
        && num.chars().all(|c| c.is_ascii_digit())
        && !hash.is_empty()
        && hash.chars().all(|c| c.is_ascii_hexdigit())
}

struct Checker<'a> {
    content: &'a Content,
    errors: &'a mut Vec<ContentError>,
}

impl Checker<'_> {
    fn file(&self, idx: usize) -> &SourceFile {
        &self.content.files[idx]
    }

    fn at<T>(&mut self, file: usize, spanned: &Spanned<T>, message: String, fix: &str) {
        let err = self
            .file(file)
            .error_at(spanned.span().start, message, fix.to_string());
        self.errors.push(err);
    }

    fn source(&mut self, file: usize, source: &Spanned<String>) {
        if !is_seed_name(source.get_ref()) {
            self.at(
                file,
                source,
                format!("`{}` is not a seed file name", source.get_ref()),
                "cite the brochure's file name in shared/seeds/, e.g. \"003_30b103968d1cbe9a.txt\"",
            );
        }
    }

    fn exercises(&mut self) {
        let content = self.content;
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, ex) in content.exercises.iter().enumerate() {
            let id = ex.id();
            if !is_snake_id(id) {
                self.at(
                    ex.file,
                    &ex.id,
                    format!("exercise id `{id}` is not snake_case"),
                    "use lower-case letters, digits and underscores, starting with a letter",
                );
            }
            if let Some(&first) = seen.get(id) {
                let (line, _) = self
                    .file(content.exercises[first].file)
                    .line_col(content.exercises[first].id.span().start);
                let first_path = self.file(content.exercises[first].file).path.display();
                let msg =
                    format!("duplicate exercise id `{id}` (first defined at {first_path}:{line})");
                self.at(ex.file, &ex.id, msg, "give each exercise its own id");
            } else {
                seen.insert(id, i);
            }
            self.source(ex.file, &ex.source);
            self.dose(ex.file, &ex.id, &ex.dose, "its dose");
            match (ex.dose_origin, ex.defaulted.is_empty()) {
                (DoseOrigin::Mixed, true) => self.at(
                    ex.file,
                    &ex.id,
                    format!("exercise `{id}` has dose_origin = \"mixed\" but no `defaulted` list"),
                    "list the dose fields you chose yourself: defaulted = [\"hold_secs\"]",
                ),
                (DoseOrigin::Source | DoseOrigin::Default, false) => self.at(
                    ex.file,
                    &ex.id,
                    format!("exercise `{id}` lists `defaulted` fields but its dose_origin is not \"mixed\""),
                    "set dose_origin = \"mixed\", or remove `defaulted`",
                ),
                _ => {}
            }
            for (what, reference) in [
                ("easier", &ex.easier),
                ("harder", &ex.harder),
                ("always_followed_by", &ex.always_followed_by),
            ] {
                let Some(r) = reference else { continue };
                if r.get_ref() == id {
                    self.at(
                        ex.file,
                        r,
                        format!("exercise `{id}` names itself as `{what}`"),
                        "name another exercise, or remove the key",
                    );
                } else if content.exercise(r.get_ref()).is_none() {
                    self.at(
                        ex.file,
                        r,
                        format!("`{what}` names `{}`, which is not an exercise", r.get_ref()),
                        "use the id of an exercise in content/exercises/ (see `matcoach exercises`)",
                    );
                }
            }
        }
    }

    fn dose(&mut self, file: usize, at: &Spanned<String>, dose: &Dose, what: &str) {
        let id = at.get_ref();
        if dose.reps.is_none() && dose.duration_secs.is_none() {
            self.at(
                file,
                at,
                format!("`{id}`: {what} has neither `reps` nor `duration_secs`"),
                "give a number of repetitions (reps = 10) or a duration (duration_secs = 120)",
            );
        }
        for (lo, hi, name) in [
            (dose.reps, dose.reps_max, "reps_max"),
            (
                dose.times_per_day,
                dose.times_per_day_max,
                "times_per_day_max",
            ),
            (
                dose.times_per_week,
                dose.times_per_week_max,
                "times_per_week_max",
            ),
        ] {
            if let (Some(lo), Some(hi)) = (lo, hi) {
                if hi < lo {
                    self.at(
                        file,
                        at,
                        format!("`{id}`: {name} = {hi} is below its lower value {lo}"),
                        "the _max value is the upper end of the range: make it at least the lower value",
                    );
                }
            }
        }
        if dose.startgetal == Some(true) && dose.reps.is_none() {
            self.at(
                file,
                at,
                format!("`{id}`: startgetal = true needs `reps` as the start value"),
                "add reps = N: the count used until the user has tested their maximum",
            );
        }
    }

    fn programs(&mut self) {
        let content = self.content;
        let safety = &content.safety;
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for prog in &content.programs {
            let id = prog.id();
            let stem = self
                .file(prog.file)
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            if stem != id {
                self.at(
                    prog.file,
                    &prog.id,
                    format!("program id `{id}` differs from its file name `{stem}.toml`"),
                    "name the file after the id, so that programs are easy to find",
                );
            }
            if seen.insert(id, prog.file).is_some() {
                self.at(
                    prog.file,
                    &prog.id,
                    format!("duplicate program id `{id}`"),
                    "give each program its own id",
                );
            }
            if prog.sources.is_empty() {
                self.at(
                    prog.file,
                    &prog.id,
                    format!("program `{id}` cites no sources"),
                    "list the seed files it follows: sources = [\"…txt\"]",
                );
            }
            for s in &prog.sources {
                self.source(prog.file, s);
            }
            if prog.items.is_empty() {
                self.at(
                    prog.file,
                    &prog.id,
                    format!("program `{id}` has no exercises"),
                    "add [[item]] tables with exercise = \"…\"",
                );
                continue;
            }
            let mut warmed_up = false;
            for (pos, item) in prog.items.iter().enumerate() {
                let Some(ex) = content.exercise(item.exercise.get_ref()) else {
                    self.at(
                        prog.file,
                        &item.exercise,
                        format!("program `{id}` names `{}`, which is not an exercise", item.exercise.get_ref()),
                        "use the id of an exercise in content/exercises/ (see `matcoach exercises`)",
                    );
                    continue;
                };
                let merged = item.dose.over(&ex.dose);
                self.dose(prog.file, &item.exercise, &merged, "the merged dose");
                if ex.category == Category::Strengthening {
                    if pos == 0 {
                        let msg = format!(
                            "program `{id}` starts with strengthening exercise `{}` ({})",
                            ex.id(),
                            safety.strength_not_first.says.en.as_str()
                        );
                        self.at(
                            prog.file,
                            &item.exercise,
                            msg,
                            "start with mobilising or stretching exercises",
                        );
                    } else if !warmed_up {
                        let msg = format!(
                            "program `{id}`: strengthening exercise `{}` comes before any warm-up ({})",
                            ex.id(),
                            safety.warm_up_before_strength.says.en.as_str()
                        );
                        self.at(
                            prog.file,
                            &item.exercise,
                            msg,
                            "put a mobilising, stretching, relaxation or posture exercise before it",
                        );
                    }
                }
                warmed_up |= ex.category.is_warm_up();
                if let Some(follow) = &ex.always_followed_by {
                    let next = prog
                        .items
                        .get(pos + 1)
                        .map(|i| i.exercise.get_ref().as_str());
                    if next != Some(follow.get_ref().as_str()) {
                        self.at(
                            prog.file,
                            &item.exercise,
                            format!(
                                "program `{id}`: `{}` must always be followed by `{}`",
                                ex.id(),
                                follow.get_ref()
                            ),
                            "put the named exercise right after it",
                        );
                    }
                }
            }
        }
    }

    fn safety(&mut self, file: usize) {
        let s = &self.content.safety;
        let rules = [
            &s.pain_below_knee,
            &s.persistent_pain_skip,
            &s.repeated_pain_ends_session,
            &s.strength_not_first,
            &s.warm_up_before_strength,
            &s.advanced_only_when_stable,
        ];
        for rule in rules {
            for src in &rule.sources {
                self.source(file, src);
            }
        }
    }

    fn phrases(&mut self, file: usize) {
        let file_ref = &self.content.files[file];
        for (name, template, allowed) in self.content.phrases.table() {
            for lang in Lang::ALL {
                for used in placeholders(template.get(lang)) {
                    if !allowed.contains(&used) {
                        let offset = key_offset(&file_ref.text, name).unwrap_or(0);
                        let fix = if allowed.is_empty() {
                            "this phrase takes no placeholders: remove it".to_string()
                        } else {
                            format!(
                                "use only {}",
                                allowed
                                    .iter()
                                    .map(|a| format!("{{{a}}}"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        };
                        self.errors.push(file_ref.error_at(
                            offset,
                            format!("phrase `{name}` ({lang}) uses unknown placeholder {{{used}}}"),
                            fix,
                        ));
                    }
                }
            }
        }
    }
}

// ---- issue 13: the McKenzie pain rule and the posture of the pain line ----

impl Checker<'_> {
    /// The pain rules in `safety.toml`: their sources, the posture variants
    /// of the pain line (named, each posture once), and words that would
    /// break the dialogue: the question must name the words that answer it,
    /// and no pain answer may say the pain word (a second "pain" said while
    /// it plays would be taken for the coach's own echo).
    fn pain_rules(&mut self, file: usize) {
        let s = &self.content.safety;
        for src in &s.pain_stops_exercise.sources {
            self.source(file, src);
        }
        let mut seen: HashMap<Posture, &str> = HashMap::new();
        let mut names: Vec<&str> = Vec::new();
        for v in &s.pain_stops_exercise.says {
            let name = v.variant.get_ref().as_str();
            if !is_snake_id(name) {
                self.at(
                    file,
                    &v.variant,
                    format!("pain line variant `{name}` is not snake_case"),
                    "use lower-case letters, digits and underscores (it becomes part of the phrase id)",
                );
            }
            if names.contains(&name) {
                self.at(
                    file,
                    &v.variant,
                    format!("pain line variant `{name}` is defined twice"),
                    "give each [[pain_stops_exercise.says]] its own `variant`",
                );
            }
            names.push(name);
            for p in &v.postures {
                if let Some(first) = seen.insert(*p, name) {
                    self.at(
                        file,
                        &v.variant,
                        format!(
                            "posture `{}` has two pain lines: `{first}` and `{name}`",
                            posture_name(*p)
                        ),
                        "name each posture in one variant's `postures` only",
                    );
                }
            }
            self.no_pain_word(
                file,
                &format!("pain_stops_exercise `{name}`"),
                &v.text,
                || v.variant.span().start,
            );
        }
        let text = &self.content.files[file].text;
        let at = |key: &str| key_offset_in_table(text, "[pain_rules.mckenzie]", key).unwrap_or(0);
        let r = &s.pain_rules.mckenzie;
        for src in &r.sources {
            self.source(file, src);
        }
        for lang in Lang::ALL {
            for cmd in [Command::Stop, Command::Resume] {
                if !cmd.spoken_in(r.asks.get(lang), lang) {
                    let offset = at("asks");
                    let err = self.file(file).error_at(
                        offset,
                        format!(
                            "[pain_rules.mckenzie] asks ({lang}) does not name `{}`, the word that answers it",
                            cmd.words(lang)[0]
                        ),
                        "say which word means what, e.g. \"… say stop. … say resume, or press the button.\"".into(),
                    );
                    self.errors.push(err);
                }
            }
        }
        for (key, t) in [
            ("asks", &r.asks),
            ("carry_on", &r.carry_on),
            ("no_answer", &r.no_answer),
        ] {
            let offset = at(key);
            self.no_pain_word(file, &format!("[pain_rules.mckenzie] {key}"), t, || offset);
        }
    }

    fn no_pain_word(&mut self, file: usize, what: &str, t: &Text, offset: impl Fn() -> usize) {
        for lang in Lang::ALL {
            if Command::Pain.spoken_in(t.get(lang), lang) {
                let err = self.file(file).error_at(
                    offset(),
                    format!(
                        "{what} ({lang}) says `{}`: a second report said while it plays would be taken for the coach's echo",
                        Command::Pain.words(lang)[0]
                    ),
                    "write \"hurt\" / \"zeer doen\" or \"discomfort\" / \"klachten\" instead".into(),
                );
                self.errors.push(err);
            }
        }
    }

    /// A McKenzie program (one with a `phase`, or with an `mk_` exercise:
    /// the 003 McKenzie source tag) must choose McKenzie's pain rule.
    fn mckenzie_programs(&mut self) {
        let content = self.content;
        for prog in &content.programs {
            let mk = prog
                .items
                .iter()
                .find(|i| i.exercise.get_ref().starts_with("mk_"));
            let why = match (prog.phase, mk) {
                (Some(_), _) => "it has a McKenzie `phase`".to_string(),
                (None, Some(item)) => format!("it uses `{}`", item.exercise.get_ref()),
                (None, None) => continue,
            };
            if prog.pain_rule != Some(PainRuleName::Mckenzie) {
                self.at(
                    prog.file,
                    &prog.id,
                    format!(
                        "program `{}` is a McKenzie program ({why}) but does not choose McKenzie's pain rule (003: a slight rise of pain in the back is tolerated; the exercise ends when it spreads or worsens)",
                        prog.id()
                    ),
                    "add pain_rule = \"mckenzie\" before the first [[item]]",
                );
            }
        }
    }

    /// Every exercise's posture has a fitting pain line (an exercise
    /// without a posture counts as lying on the back).
    fn posture_lines(&mut self, _safety_file: usize) {
        let content = self.content;
        for ex in &content.exercises {
            if content
                .safety
                .pain_stops_exercise
                .for_posture(ex.posture)
                .is_some()
            {
                continue;
            }
            let posture = match ex.posture {
                Some(p) => format!("posture `{}`", posture_name(p)),
                None => "no posture (counted as `supine`)".to_string(),
            };
            self.at(
                ex.file,
                &ex.id,
                format!(
                    "exercise `{}` has {posture}, and safety.toml has no pain line that fits it",
                    ex.id()
                ),
                "add its posture to the `postures` of a [[pain_stops_exercise.says]] in safety.toml (or write a line for it), or correct the exercise's posture",
            );
        }
    }
}

// ---- issue 13: spoken preconditions, a caution said once per session ----
impl Checker<'_> {
    /// Each precondition cites a seed file that its program lists, and its
    /// reminder (said at every later session) is one short sentence.
    fn preconditions(&mut self) {
        let content = self.content;
        for prog in &content.programs {
            let id = prog.id();
            for pc in &prog.preconditions {
                self.source(prog.file, &pc.source);
                let cited = pc.source.get_ref();
                if !prog.sources.iter().any(|s| s.get_ref() == cited) {
                    let listed: Vec<&str> =
                        prog.sources.iter().map(|s| s.get_ref().as_str()).collect();
                    self.at(
                        prog.file,
                        &pc.source,
                        format!("program `{id}`: a precondition cites `{cited}`, which the program does not list in `sources` ({})", listed.join(", ")),
                        "cite one of the program's sources, or add the seed file to `sources` if the program follows it",
                    );
                }
                let Some(reminder) = &pc.reminder else {
                    continue;
                };
                for lang in Lang::ALL {
                    let words = reminder.get_ref().get(lang).split_whitespace().count();
                    if words > REMINDER_MAX_WORDS {
                        self.at(
                            prog.file,
                            reminder,
                            format!("program `{id}`: a precondition's {lang} reminder has {words} words; it is said at every session, so at most {REMINDER_MAX_WORDS}"),
                            "shorten it to one short sentence (the full text is in `says`)",
                        );
                    }
                }
            }
        }
    }

    /// No program would say a caution twice. The engine says each caution
    /// text once per session, at its first exercise, so the same caution on
    /// several exercises is fine when it is the same text in both languages.
    /// Rejected: two cautions in one program that are the same in one
    /// language (ignoring case, spaces and punctuation) but not identical in
    /// both, which a session in one of the languages would say twice.
    fn repeated_cautions(&mut self) {
        let content = self.content;
        for prog in &content.programs {
            let id = prog.id();
            // Per language: the caution's key, and the first (exercise, text).
            let mut first: HashMap<(Lang, String), (&str, &Text)> = HashMap::new();
            for item in &prog.items {
                let Some(ex) = content.exercise(item.exercise.get_ref()) else {
                    continue;
                };
                for caution in &ex.cautions {
                    for lang in Lang::ALL {
                        let key = (lang, caution_key(caution.get(lang)));
                        match first.get(&key) {
                            None => {
                                first.insert(key, (ex.id(), caution));
                            }
                            Some((other, text)) if *text != caution => {
                                let msg = format!(
                                    "program `{id}` would say a caution twice ({lang}): `{}` and `{other}` both say {:?}, but not in identical words in both languages",
                                    ex.id(),
                                    caution.get(lang)
                                );
                                self.at(
                                    prog.file,
                                    &item.exercise,
                                    msg,
                                    "give both exercises exactly the same caution in both languages (it is then said once per session), or word one so that it says something else",
                                );
                                // One problem per caution, not one per language.
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
        }
    }
}

/// A caution as heard: lower case, letters and digits only, one space
/// between words.
fn caution_key(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A posture as written in the content files.
fn posture_name(p: Posture) -> &'static str {
    match p {
        Posture::Supine => "supine",
        Posture::Prone => "prone",
        Posture::SideLying => "side_lying",
        Posture::Kneeling => "kneeling",
        Posture::Sitting => "sitting",
        Posture::Standing => "standing",
    }
}

/// Byte offset of the line defining `key` inside the table headed `table`.
fn key_offset_in_table(text: &str, table: &str, key: &str) -> Option<usize> {
    let start = text.find(table)?;
    key_offset(&text[start..], key).map(|o| o + start)
}

/// Byte offset of the line that defines top-level key `key`.
fn key_offset(text: &str, key: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix(key) {
            if rest.trim_start().starts_with('=') {
                return Some(offset);
            }
        }
        offset += line.len();
    }
    None
}

pub(super) fn validate(
    content: &Content,
    safety_file: usize,
    phrases_file: usize,
    errors: &mut Vec<ContentError>,
) {
    let mut c = Checker { content, errors };
    c.exercises();
    c.programs();
    c.preconditions();
    c.repeated_cautions();
    c.safety(safety_file);
    c.phrases(phrases_file);
    // issue 13: the McKenzie pain rule and the posture of the pain line.
    c.pain_rules(safety_file);
    c.mckenzie_programs();
    c.posture_lines(safety_file);
    // Issue 13 (content): the posture check.
    require_postures(content, errors);
}

/// Phrases whose job is to teach the commands ("say next when you are
/// ready"): they name command words on purpose.
const TEACHES_COMMANDS: [&str; 3] = ["get_ready", "paused", "equipment_needed"];

/// Spoken texts that contain a command word: the coach would hear itself say
/// it. The session ignores such a word while it is being said, so this is a
/// warning, not an error; rewording is still better.
pub(super) fn lint(content: &Content, phrases_file: usize) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut check = |location: String, text: &Text| {
        for lang in Lang::ALL {
            for cmd in Command::ALL {
                if cmd.spoken_in(text.get(lang), lang) {
                    out.push(Warning {
                        location: location.clone(),
                        message: format!(
                            "spoken {lang} text contains the command word for `{cmd}`: {:?}; the coach ignores `{cmd}` while saying it, so reword it",
                            text.get(lang)
                        ),
                    });
                }
            }
        }
    };
    for ex in &content.exercises {
        let file = &content.files[ex.file];
        let (line, _) = file.line_col(ex.id.span().start);
        let loc = format!("{}:{line} ({})", file.path.display(), ex.id());
        check(format!("{loc} name"), &ex.name);
        check(format!("{loc} position"), &ex.position);
        check(format!("{loc} movement"), &ex.movement);
        for t in &ex.cues {
            check(format!("{loc} cue"), t);
        }
        for t in &ex.cautions {
            check(format!("{loc} caution"), t);
        }
    }
    for prog in &content.programs {
        let file = &content.files[prog.file];
        check(
            format!("{} ({}) name", file.path.display(), prog.id()),
            &prog.name,
        );
        for pc in &prog.preconditions {
            check(
                format!("{} ({}) precondition", file.path.display(), prog.id()),
                &pc.says,
            );
            if let Some(r) = &pc.reminder {
                check(
                    format!("{} ({}) reminder", file.path.display(), prog.id()),
                    r.get_ref(),
                );
            }
        }
    }
    let pfile = &content.files[phrases_file];
    for (name, template, _) in content.phrases.table() {
        if TEACHES_COMMANDS.contains(&name) {
            continue;
        }
        check(format!("{} {name}", pfile.path.display()), template);
    }
    out
}

// Issue 13 (content): every exercise names its posture.

/// Every exercise must name its starting position: the safety line after
/// pain has to fit it ("lie still" is wrong when standing), so a missing
/// posture is an error, reported at the exercise's id.
fn require_postures(content: &Content, errors: &mut Vec<ContentError>) {
    for ex in &content.exercises {
        if ex.posture.is_some() {
            continue;
        }
        let file = &content.files[ex.file];
        errors.push(file.error_at(
            ex.id.span().start,
            format!("exercise `{}` has no posture", ex.id()),
            "add posture = \"…\" with the starting position the brochure gives: supine, prone, side_lying, kneeling (hands and knees, or kneeling), sitting or standing".to_string(),
        ));
    }
}
