//! The serde model of `content/`: exercises, programs, safety rules and the
//! coach's own phrases. Everything that can be checked while parsing is
//! checked here, so that the TOML parser reports it with a line and column.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::num::NonZeroU32;
use toml::Spanned;

pub use crate::lang::Lang;

/// A string that may not be empty or only white space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct NonEmpty(String);

impl NonEmpty {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            return Err(serde::de::Error::custom(
                "text is empty: write the sentence in this language",
            ));
        }
        Ok(NonEmpty(s.trim().to_string()))
    }
}

/// A text in both languages. Both are required.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub nl: NonEmpty,
    pub en: NonEmpty,
}

impl Text {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => self.en.as_str(),
            Lang::Nl => self.nl.as_str(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Mobilising,
    Stabilising,
    Strengthening,
    Stretching,
    Posture,
    Relaxation,
}

impl Category {
    /// Exercises that prepare the back: what "warm up first" asks for.
    pub fn is_warm_up(self) -> bool {
        matches!(
            self,
            Category::Mobilising | Category::Stretching | Category::Relaxation | Category::Posture
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Basic,
    Advanced,
}

/// The body's position during an exercise: what the safety line after pain
/// may ask ("lie still" fits only lying exercises).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Posture {
    /// Lying on the back.
    Supine,
    /// Lying on the belly.
    Prone,
    /// Lying on one side.
    SideLying,
    /// On hands and knees, or kneeling.
    Kneeling,
    Sitting,
    Standing,
}

impl Posture {
    pub fn is_lying(self) -> bool {
        matches!(self, Posture::Supine | Posture::Prone | Posture::SideLying)
    }
}

/// Things an exercise needs besides a mat, said at the start of a session
/// so the user can fetch them before lying down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Equipment {
    Stool,
    Chair,
    GymBall,
    Pillows,
    Wall,
    Table,
    Towel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DoseOrigin {
    /// Every number is in the source brochure.
    Source,
    /// The source gives no numbers; we chose conservative ones.
    Default,
    /// Some numbers are ours; `defaulted` lists them.
    Mixed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sides {
    /// No sides: both together or symmetrical.
    None,
    /// The full dose on one side, then the full dose on the other.
    Both,
    /// Left and right alternate rep by rep; `reps` counts per side.
    Alternating,
    /// Each set is one side, a rest, then the other side (003 BAOV 5: five
    /// with the left leg, rest, five with the right: that is one set).
    EachSet,
}

/// The names of the dose fields, for `defaulted = [...]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DoseField {
    Reps,
    RepsMax,
    Sets,
    HoldSecs,
    RestSecs,
    Sides,
    UpSecs,
    DownSecs,
    DurationSecs,
    TimesPerDay,
    TimesPerDayMax,
    TimesPerWeek,
    TimesPerWeekMax,
    Startgetal,
}

/// How much of an exercise to do. Every number is above zero (the parser
/// rejects a zero with its line and column).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dose {
    pub reps: Option<NonZeroU32>,
    pub reps_max: Option<NonZeroU32>,
    pub sets: Option<NonZeroU32>,
    pub hold_secs: Option<NonZeroU32>,
    pub rest_secs: Option<NonZeroU32>,
    pub sides: Option<Sides>,
    pub up_secs: Option<NonZeroU32>,
    pub down_secs: Option<NonZeroU32>,
    pub duration_secs: Option<NonZeroU32>,
    pub times_per_day: Option<NonZeroU32>,
    pub times_per_day_max: Option<NonZeroU32>,
    pub times_per_week: Option<NonZeroU32>,
    pub times_per_week_max: Option<NonZeroU32>,
    pub startgetal: Option<bool>,
}

impl Dose {
    /// `self` with every field it leaves open taken from `base`.
    pub fn over(&self, base: &Dose) -> Dose {
        Dose {
            reps: self.reps.or(base.reps),
            reps_max: self.reps_max.or(base.reps_max),
            sets: self.sets.or(base.sets),
            hold_secs: self.hold_secs.or(base.hold_secs),
            rest_secs: self.rest_secs.or(base.rest_secs),
            sides: self.sides.or(base.sides),
            up_secs: self.up_secs.or(base.up_secs),
            down_secs: self.down_secs.or(base.down_secs),
            duration_secs: self.duration_secs.or(base.duration_secs),
            times_per_day: self.times_per_day.or(base.times_per_day),
            times_per_day_max: self.times_per_day_max.or(base.times_per_day_max),
            times_per_week: self.times_per_week.or(base.times_per_week),
            times_per_week_max: self.times_per_week_max.or(base.times_per_week_max),
            startgetal: self.startgetal.or(base.startgetal),
        }
    }

    pub fn sets_or_one(&self) -> u32 {
        self.sets.map_or(1, NonZeroU32::get)
    }

    pub fn sides_or_none(&self) -> Sides {
        self.sides.unwrap_or(Sides::None)
    }

    /// A one-line English summary, e.g. `2×15 reps, hold 3 s, rest 30 s, each side`.
    pub fn summary(&self) -> String {
        let range = |lo: Option<NonZeroU32>, hi: Option<NonZeroU32>| match (lo, hi) {
            (Some(l), Some(h)) if h != l => format!("{l}–{h}"),
            (Some(l), _) => l.to_string(),
            (None, Some(h)) => h.to_string(),
            (None, None) => String::new(),
        };
        let mut parts = Vec::new();
        let sets = self.sets_or_one();
        let reps = range(self.reps, self.reps_max);
        if !reps.is_empty() {
            let noun = if reps == "1" { "rep" } else { "reps" };
            let what = if self.startgetal == Some(true) {
                format!("{reps} {noun} (startgetal: ⅓ of your max)")
            } else {
                format!("{reps} {noun}")
            };
            parts.push(if sets > 1 {
                format!("{sets}×{what}")
            } else {
                what
            });
        } else if sets > 1 {
            parts.push(format!("{sets} sets"));
        }
        if let Some(d) = self.duration_secs {
            let d = d.get();
            parts.push(if d >= 60 && d % 60 == 0 {
                format!("{} min", d / 60)
            } else {
                format!("{d} s")
            });
        }
        if let Some(h) = self.hold_secs {
            parts.push(format!("hold {h} s"));
        }
        if let (Some(u), Some(d)) = (self.up_secs, self.down_secs) {
            parts.push(format!("tempo {u} up/{d} down"));
        }
        if let Some(r) = self.rest_secs {
            parts.push(format!("rest {r} s"));
        }
        match self.sides_or_none() {
            Sides::Both => parts.push("each side".into()),
            Sides::Alternating => parts.push("alternating sides".into()),
            Sides::EachSet => parts.push("each side in every set".into()),
            Sides::None => {}
        }
        let day = range(self.times_per_day, self.times_per_day_max);
        if !day.is_empty() {
            parts.push(format!("{day}×/day"));
        }
        let week = range(self.times_per_week, self.times_per_week_max);
        if !week.is_empty() {
            parts.push(format!("{week}×/week"));
        }
        parts.join(", ")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub id: Spanned<String>,
    pub source: Spanned<String>,
    pub category: Category,
    /// Required by `matcoach check`; optional here only so that the
    /// validator can name every exercise that lacks one at once.
    #[serde(default)]
    pub posture: Option<Posture>,
    #[serde(default)]
    pub equipment: Vec<Equipment>,
    #[serde(default)]
    pub level: Level,
    pub dose_origin: DoseOrigin,
    #[serde(default)]
    pub defaulted: Vec<DoseField>,
    pub name: Text,
    pub position: Text,
    pub movement: Text,
    #[serde(default)]
    pub cues: Vec<Text>,
    #[serde(default)]
    pub cautions: Vec<Text>,
    #[serde(default)]
    pub variants: Vec<Text>,
    #[serde(default)]
    pub notes: Vec<Text>,
    pub easier: Option<Spanned<String>>,
    pub harder: Option<Spanned<String>>,
    pub always_followed_by: Option<Spanned<String>>,
    pub dose: Dose,
}

impl Exercise {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }
}

/// One `content/exercises/*.toml` file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseFile {
    #[serde(default)]
    pub exercise: Vec<Exercise>,
}

crate::string_table::string_table! {
    /// A McKenzie phase (003), in the content, the journal, phrase ids and
    /// `matcoach phase`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Phase ("phase") {
        Acute = "acute",
        Improving = "improving",
        Stiff = "stiff",
        Maintenance = "maintenance",
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramItem {
    pub exercise: Spanned<String>,
    #[serde(default)]
    pub dose: Dose,
}

/// One `content/programs/*.toml` file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub id: Spanned<String>,
    pub sources: Vec<Spanned<String>>,
    pub name: Text,
    pub description: Text,
    pub phase: Option<Phase>,
    pub times_per_day: Option<NonZeroU32>,
    pub times_per_day_max: Option<NonZeroU32>,
    pub condition: Option<Text>,
    #[serde(rename = "item")]
    pub items: Vec<ProgramItem>,
    // ---- issue 13, the McKenzie pain rule ----
    /// How "pain" is handled: absent = the common rule (the exercise ends at
    /// once); `"mckenzie"` = ask where it is first (`safety.toml`
    /// `[pain_rules.mckenzie]`). Required for McKenzie programs.
    #[serde(default)]
    pub pain_rule: Option<PainRuleName>,
    // ---- issue 13, spoken preconditions ----
    /// What the brochure says must hold before this program is done:
    /// spoken at the start of its sessions (`[[precondition]]` tables).
    #[serde(default, rename = "precondition")]
    pub preconditions: Vec<Precondition>,
}

/// A condition a brochure sets before a program is done (e.g. "only once you
/// can lie on your belly easily"). The coach says `says` in the first
/// session of the program and `reminder`, when there is one, in every later
/// session: a condition that can change from day to day gets a reminder, a
/// one-time one (a consultation before starting) does not.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Precondition {
    /// The seed file it comes from; the program must list it in `sources`.
    pub source: Spanned<String>,
    /// Said in full in the first session of the program.
    pub says: Text,
    /// One short sentence said in every later session (at most
    /// [`REMINDER_MAX_WORDS`] words in each language).
    #[serde(default)]
    pub reminder: Option<Spanned<Text>>,
}

/// The longest a precondition's reminder may be, in words: it is said at the
/// start of every session, so it must stay one short sentence.
pub const REMINDER_MAX_WORDS: usize = 12;

impl Program {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }
}

/// A safety rule: where it comes from and what the coach says about it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub sources: Vec<Spanned<String>>,
    /// What the coach says when the rule applies.
    pub says: Text,
}

/// `content/safety.toml`: the rules the engine and the validator apply. Each
/// field is one rule the code knows; a missing or misspelt one is an error.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Safety {
    /// Pain during an exercise ends that exercise at once; what the coach
    /// says fits the exercise's posture.
    pub pain_stops_exercise: PostureRule,
    /// Pain that spreads below the knee: end and see a (manual) therapist.
    pub pain_below_knee: Rule,
    /// Pain that lingers after an exercise: skip it next time.
    pub persistent_pain_skip: Rule,
    /// Pain reported this many times in one session ends the session.
    pub repeated_pain_ends_session: Rule,
    pub pain_events_to_end: NonZeroU32,
    /// Strengthening never comes first in a program (checked at load).
    pub strength_not_first: Rule,
    /// Warm up (mobilise) before strength work (checked at load).
    pub warm_up_before_strength: Rule,
    /// Advanced exercises only when the back is stable (config opt-in).
    pub advanced_only_when_stable: Rule,
    // ---- issue 13, the McKenzie pain rule ----
    /// The pain rules a program can choose with `pain_rule`.
    pub pain_rules: PainRules,
}

impl Safety {
    /// The rule a program chose.
    pub fn pain_rule(&self, name: PainRuleName) -> &AskRule {
        match name {
            PainRuleName::Mckenzie => &self.pain_rules.mckenzie,
        }
    }
}

// ---- issue 13, the McKenzie pain rule ----

/// A safety rule whose words depend on the exercise's posture ("lie still"
/// only fits lying down).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PostureRule {
    pub sources: Vec<Spanned<String>>,
    /// One line per group of postures; every posture an exercise uses needs
    /// one (`matcoach check` says which is missing).
    pub says: Vec<PostureLine>,
}

impl PostureRule {
    /// The line for `posture` (an exercise without a posture counts as
    /// lying on the back).
    pub fn for_posture(&self, posture: Option<Posture>) -> Option<&PostureLine> {
        let p = posture.unwrap_or(Posture::Supine);
        self.says.iter().find(|l| l.postures.contains(&p))
    }
}

/// One wording of a posture rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PostureLine {
    /// A snake_case name, part of the phrase id
    /// (`safety.pain_stops_exercise.<variant>`).
    pub variant: Spanned<String>,
    pub postures: Vec<Posture>,
    pub text: Text,
}

/// The names a program's `pain_rule` may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PainRuleName {
    /// 003: ask whether the pain spreads or stays in the back.
    Mckenzie,
}

impl PainRuleName {
    pub fn key(self) -> &'static str {
        match self {
            PainRuleName::Mckenzie => "mckenzie",
        }
    }
}

/// `[pain_rules.*]` in `safety.toml`: one table per [`PainRuleName`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PainRules {
    pub mckenzie: AskRule,
}

/// A pain rule that asks where the pain is before it ends the exercise.
/// The answer words are the coach's commands: "stop" (it spreads or grows:
/// the exercise ends), "resume" or a short press (it stays in the back: go
/// on where the exercise was).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AskRule {
    pub sources: Vec<Spanned<String>>,
    /// How long the coach waits for the answer once the question is said;
    /// no answer ends the exercise.
    pub answer_secs: NonZeroU32,
    /// The question, naming the words that answer it.
    pub asks: Text,
    /// Said when the pain stays in the back, before the exercise goes on.
    pub carry_on: Text,
    /// Said when no answer came, before the exercise ends.
    pub no_answer: Text,
}

/// A phrase with `{placeholders}` in both languages.
pub type Template = Text;

/// `content/phrases.toml`: everything the coach says around the exercises.
/// Placeholders are checked at load against what each phrase may use.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Phrases {
    pub welcome: Template,
    pub one_minute: Template,
    pub n_minutes: Template,
    pub exercise_of: Template,
    pub get_ready: Template,
    pub side_first: Template,
    pub side_second: Template,
    pub set_of: Template,
    pub rep: Template,
    pub count: Template,
    pub tempo_back: Template,
    pub hold: Template,
    pub release: Template,
    pub time_left_secs: Template,
    pub time_left_min: Template,
    pub time_left_min_secs: Template,
    pub time_left_mins: Template,
    pub time_left_mins_secs: Template,
    pub time_up: Template,
    pub rest: Template,
    pub exercise_done: Template,
    pub skipped_advanced: Template,
    pub paused: Template,
    pub resuming: Template,
    pub moving_on: Template,
    pub ending_by_user: Template,
    pub summary: Template,
    pub summary_pain: Template,
    pub goodbye: Template,
    pub ready: Template,
    pub voice_off: Template,
    pub no_microphone: Template,
    /// At the end of a good McKenzie session: the offer of the next phase.
    pub phase_offer: Template,
    pub phase_advanced: Template,
    pub phase_kept: Template,
    /// Once, when the journal cannot be written (the disk is full or
    /// read-only): the coaching goes on.
    pub journal_fault: Template,
    // ---- issue 13: spoken preconditions, words that work when heard ----
    /// `{exercises}` in the welcome and the summary: "1 exercise", "N exercises".
    pub one_exercise: Template,
    pub n_exercises: Template,
    /// `{seconds}` in the rest and the time left: "1 second", "N seconds".
    pub one_second: Template,
    pub n_seconds: Template,
    /// The closing pain count when the back spoke once (`summary_pain` is
    /// for two and more).
    pub summary_pain_once: Template,
    /// The start of the last repetition of a set (`rep` for the others).
    pub rep_last: Template,
    /// Said at the very first session: when to end and see a doctor today,
    /// after `own_advice`, which says that this is the project's own advice,
    /// not a brochure's.
    pub own_advice: Template,
    pub red_flags: Template,
    /// At the start of a session that needs equipment; `{things}` is the
    /// list, e.g. "a chair and a few pillows". Waits like a get-ready.
    pub equipment_needed: Template,
    /// The word before the last thing of a list ("a, b and c").
    pub list_and: Template,
    /// Each piece of equipment as it is said in a list, with its article.
    pub equipment_stool: Template,
    pub equipment_chair: Template,
    pub equipment_gym_ball: Template,
    pub equipment_pillows: Template,
    pub equipment_wall: Template,
    pub equipment_table: Template,
    pub equipment_towel: Template,
    // adapt (issue 13)
    /// An exercise left out for the rest of the day: its daily maximum.
    pub daily_max_reached: Template,
    /// The McKenzie offers on the brochure's clock: improving → stiff (a
    /// question: still stiff?), improving → maintenance (not stiff), stiff →
    /// maintenance (the knees come easily to the chest).
    pub phase_offer_stiff: Template,
    pub phase_offer_maintenance: Template,
    pub phase_offer_knees: Template,
    /// The daemon refuses a program for after back surgery: too soon, or no
    /// surgery date configured.
    pub surgery_too_soon: Template,
    pub surgery_date_missing: Template,
    /// The daemon: every exercise of today's program has had its daily
    /// maximum.
    pub all_done_today: Template,
    /// The daemon: every exercise of today's program rests after pain.
    pub all_resting: Template,
    // issue 16, item 1: the voice check (`src/hearing/check.rs`).
    pub voice_check_intro: Template,
    pub voice_check_quiet: Template,
    pub voice_check_say: Template,
    pub voice_check_again: Template,
    pub voice_check_once_more: Template,
    pub voice_check_say_other: Template,
    pub voice_check_echo_test: Template,
    pub voice_check_done: Template,
    pub voice_check_result: Template,
    pub voice_check_good: Template,
    pub voice_check_usable: Template,
    pub voice_check_poor: Template,
    pub voice_check_nothing: Template,
    pub voice_check_too_quiet: Template,
    pub voice_check_noisy: Template,
    pub voice_check_clipping: Template,
    pub voice_check_echo: Template,
    pub voice_check_missed: Template,
    pub voice_check_heard_as: Template,
    pub voice_check_taken_as: Template,
    pub voice_check_offer: Template,
}

impl Phrases {
    /// "1 minute" or "N minutes" in `lang`.
    pub fn minutes(&self, n: u64, lang: Lang) -> String {
        if n == 1 {
            self.one_minute.get(lang).to_string()
        } else {
            fill(self.n_minutes.get(lang), &[("n", &n)])
        }
    }

    /// "1 exercise" or "N exercises" in `lang`.
    pub fn exercises(&self, n: u64, lang: Lang) -> String {
        if n == 1 {
            self.one_exercise.get(lang).to_string()
        } else {
            fill(self.n_exercises.get(lang), &[("n", &n)])
        }
    }

    /// "1 second" or "N seconds" in `lang`.
    pub fn seconds(&self, n: u64, lang: Lang) -> String {
        if n == 1 {
            self.one_second.get(lang).to_string()
        } else {
            fill(self.n_seconds.get(lang), &[("n", &n)])
        }
    }

    /// The welcome: `program` with `exercises` exercises, about `minutes`.
    pub fn render_welcome(
        &self,
        program: &str,
        exercises: u64,
        minutes: u64,
        lang: Lang,
    ) -> String {
        fill(
            self.welcome.get(lang),
            &[
                ("program", &program),
                ("exercises", &self.exercises(exercises, lang)),
                ("minutes", &self.minutes(minutes, lang)),
            ],
        )
    }

    /// "Rest for N seconds."
    pub fn render_rest(&self, secs: u64, lang: Lang) -> String {
        fill(
            self.rest.get(lang),
            &[("seconds", &self.seconds(secs, lang))],
        )
    }

    /// "N seconds to go." (under a minute left).
    pub fn render_time_left_secs(&self, secs: u64, lang: Lang) -> String {
        fill(
            self.time_left_secs.get(lang),
            &[("seconds", &self.seconds(secs, lang))],
        )
    }

    /// The closing summary: `done` of `total` exercises in `minutes`.
    pub fn render_summary(&self, done: u64, total: u64, minutes: u64, lang: Lang) -> String {
        fill(
            self.summary.get(lang),
            &[
                ("done", &done),
                ("total", &total),
                ("exercises", &self.exercises(total, lang)),
                ("minutes", &self.minutes(minutes, lang)),
            ],
        )
    }

    /// The closing words on pain, reported `count` times (at least once).
    pub fn render_summary_pain(&self, count: u64, lang: Lang) -> String {
        if count == 1 {
            self.summary_pain_once.get(lang).to_string()
        } else {
            fill(self.summary_pain.get(lang), &[("count", &count)])
        }
    }

    /// How `e` is said in a list.
    pub fn equipment(&self, e: Equipment) -> &Template {
        match e {
            Equipment::Stool => &self.equipment_stool,
            Equipment::Chair => &self.equipment_chair,
            Equipment::GymBall => &self.equipment_gym_ball,
            Equipment::Pillows => &self.equipment_pillows,
            Equipment::Wall => &self.equipment_wall,
            Equipment::Table => &self.equipment_table,
            Equipment::Towel => &self.equipment_towel,
        }
    }

    /// `things` as one spoken list: "a", "a and b", "a, b and c".
    pub fn list(&self, things: &[String], lang: Lang) -> String {
        let and = self.list_and.get(lang);
        match things {
            [] => String::new(),
            [one] => one.clone(),
            [head @ .., last] => format!("{} {and} {last}", head.join(", ")),
        }
    }

    /// Every phrase with its name and the placeholders it may use.
    pub fn table(&self) -> Vec<(&'static str, &Template, &'static [&'static str])> {
        vec![
            (
                "welcome",
                &self.welcome,
                &["program", "exercises", "minutes"],
            ),
            ("one_minute", &self.one_minute, &[]),
            ("n_minutes", &self.n_minutes, &["n"]),
            ("exercise_of", &self.exercise_of, &["n", "total"]),
            ("get_ready", &self.get_ready, &[]),
            ("side_first", &self.side_first, &[]),
            ("side_second", &self.side_second, &[]),
            ("set_of", &self.set_of, &["n", "total"]),
            ("rep", &self.rep, &["n"]),
            ("count", &self.count, &["n"]),
            ("tempo_back", &self.tempo_back, &[]),
            ("hold", &self.hold, &[]),
            ("release", &self.release, &[]),
            ("time_left_secs", &self.time_left_secs, &["seconds"]),
            ("time_left_min", &self.time_left_min, &[]),
            ("time_left_min_secs", &self.time_left_min_secs, &["secs"]),
            ("time_left_mins", &self.time_left_mins, &["mins"]),
            (
                "time_left_mins_secs",
                &self.time_left_mins_secs,
                &["mins", "secs"],
            ),
            ("time_up", &self.time_up, &[]),
            ("rest", &self.rest, &["seconds"]),
            ("exercise_done", &self.exercise_done, &[]),
            ("skipped_advanced", &self.skipped_advanced, &["exercise"]),
            ("paused", &self.paused, &[]),
            ("resuming", &self.resuming, &[]),
            ("moving_on", &self.moving_on, &[]),
            ("ending_by_user", &self.ending_by_user, &[]),
            (
                "summary",
                &self.summary,
                &["done", "total", "minutes", "exercises"],
            ),
            ("summary_pain", &self.summary_pain, &["count"]),
            ("goodbye", &self.goodbye, &[]),
            ("ready", &self.ready, &[]),
            ("voice_off", &self.voice_off, &[]),
            ("no_microphone", &self.no_microphone, &[]),
            ("phase_offer", &self.phase_offer, &["sessions", "phase"]),
            ("phase_advanced", &self.phase_advanced, &["phase"]),
            ("phase_kept", &self.phase_kept, &[]),
            ("journal_fault", &self.journal_fault, &[]),
            // ---- issue 13 ----
            ("one_exercise", &self.one_exercise, &[]),
            ("n_exercises", &self.n_exercises, &["n"]),
            ("one_second", &self.one_second, &[]),
            ("n_seconds", &self.n_seconds, &["n"]),
            ("summary_pain_once", &self.summary_pain_once, &[]),
            ("rep_last", &self.rep_last, &[]),
            ("own_advice", &self.own_advice, &[]),
            ("red_flags", &self.red_flags, &[]),
            ("equipment_needed", &self.equipment_needed, &["things"]),
            ("list_and", &self.list_and, &[]),
            ("equipment_stool", &self.equipment_stool, &[]),
            ("equipment_chair", &self.equipment_chair, &[]),
            ("equipment_gym_ball", &self.equipment_gym_ball, &[]),
            ("equipment_pillows", &self.equipment_pillows, &[]),
            ("equipment_wall", &self.equipment_wall, &[]),
            ("equipment_table", &self.equipment_table, &[]),
            ("equipment_towel", &self.equipment_towel, &[]),
            // adapt (issue 13)
            ("daily_max_reached", &self.daily_max_reached, &["exercise"]),
            ("phase_offer_stiff", &self.phase_offer_stiff, &["phase"]),
            (
                "phase_offer_maintenance",
                &self.phase_offer_maintenance,
                &["phase"],
            ),
            ("phase_offer_knees", &self.phase_offer_knees, &["phase"]),
            ("surgery_too_soon", &self.surgery_too_soon, &[]),
            ("surgery_date_missing", &self.surgery_date_missing, &[]),
            ("all_done_today", &self.all_done_today, &[]),
            ("all_resting", &self.all_resting, &[]),
            // issue 16, item 1
            ("voice_check_intro", &self.voice_check_intro, &[]),
            ("voice_check_quiet", &self.voice_check_quiet, &[]),
            ("voice_check_say", &self.voice_check_say, &["word"]),
            ("voice_check_again", &self.voice_check_again, &["word"]),
            (
                "voice_check_once_more",
                &self.voice_check_once_more,
                &["word"],
            ),
            (
                "voice_check_say_other",
                &self.voice_check_say_other,
                &["word"],
            ),
            ("voice_check_echo_test", &self.voice_check_echo_test, &[]),
            ("voice_check_done", &self.voice_check_done, &[]),
            (
                "voice_check_result",
                &self.voice_check_result,
                &["heard", "total"],
            ),
            ("voice_check_good", &self.voice_check_good, &[]),
            ("voice_check_usable", &self.voice_check_usable, &[]),
            ("voice_check_poor", &self.voice_check_poor, &[]),
            ("voice_check_nothing", &self.voice_check_nothing, &[]),
            ("voice_check_too_quiet", &self.voice_check_too_quiet, &[]),
            ("voice_check_noisy", &self.voice_check_noisy, &[]),
            ("voice_check_clipping", &self.voice_check_clipping, &[]),
            ("voice_check_echo", &self.voice_check_echo, &[]),
            (
                "voice_check_missed",
                &self.voice_check_missed,
                &["word", "n"],
            ),
            (
                "voice_check_heard_as",
                &self.voice_check_heard_as,
                &["word", "other"],
            ),
            (
                "voice_check_taken_as",
                &self.voice_check_taken_as,
                &["word", "other"],
            ),
            ("voice_check_offer", &self.voice_check_offer, &[]),
        ]
    }
}

/// Fill `{name}` placeholders. Unknown placeholders are left as they are
/// (the loader rejects them, so this only matters for hand-built phrases).
pub fn fill(template: &str, args: &[(&str, &dyn fmt::Display)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let key = &after[..close];
                match args.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(&v.to_string()),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{placeholders}` a template uses.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                found.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_known_and_keeps_unknown() {
        let s = fill("Set {n} of {total}, {x}", &[("n", &2), ("total", &3)]);
        assert_eq!(s, "Set 2 of 3, {x}");
        assert_eq!(placeholders("a {b} c {d}"), vec!["b", "d"]);
    }

    #[test]
    fn dose_override_takes_open_fields_from_base() {
        let base = Dose {
            reps: NonZeroU32::new(10),
            hold_secs: NonZeroU32::new(5),
            ..Dose::default()
        };
        let over = Dose {
            reps: NonZeroU32::new(3),
            ..Dose::default()
        };
        let d = over.over(&base);
        assert_eq!(d.reps, NonZeroU32::new(3));
        assert_eq!(d.hold_secs, NonZeroU32::new(5));
    }
}
