//! Turns a program into a script: the linear list of steps a session walks
//! through. Every text is rendered here, in the session's language, with a
//! stable phrase id, so the session itself only moves a cursor and a clock.

use super::{Cue, Line, PhraseId, Priority, SessionConfig, Side};
use crate::content::{
    fill, Content, Dose, Equipment, Exercise, Lang, Level, PainRuleName, Phrases, Posture, Program,
    Safety, Sides, Text,
};
use std::collections::HashSet;
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

/// What the coach does in one step.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// Say an instruction, wait until it has been said, then `gap`.
    Say { line: Line, gap: Duration },
    /// Say the get-ready prompt, then wait for "next", the button, or `timeout`.
    GetReady { line: Line, timeout: Duration },
    /// Events on a fixed schedule from the step's start: counts, rests.
    Timed(Timed),
    /// A journal mark; takes no time.
    Mark(Mark),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    ExerciseStarted,
    ExerciseDone,
}

/// One step, with the exercise it belongs to and its group: "next" skips to
/// the first step of the following group.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub exercise: Option<usize>,
    pub group: usize,
    pub kind: StepKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimedKind {
    /// A set of repetitions or a timed position.
    Work {
        set: u32,
        side: Option<Side>,
        reps_planned: u32,
    },
    Rest,
}

/// Something said or played at a fixed offset from the step's start.
#[derive(Debug, Clone, PartialEq)]
pub enum Emit {
    Speak(Line, Priority),
    Cue(Cue),
    /// Repetition n is complete (for the journal; says nothing).
    RepDone(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimedEvent {
    pub at: Duration,
    pub emit: Emit,
}

/// A step whose events are all placed at `start + offset`: nothing is
/// chained, so nothing drifts.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub kind: TimedKind,
    pub events: Vec<TimedEvent>,
    pub length: Duration,
    /// Where a paused step picks up again: the start of the repetition that
    /// was interrupted. Empty: continue from the whole second it paused at.
    pub restart_points: Vec<Duration>,
}

impl Timed {
    /// The offset to continue from after a pause at `elapsed`.
    pub fn resume_offset(&self, elapsed: Duration) -> Duration {
        if self.restart_points.is_empty() {
            Duration::from_secs(elapsed.as_secs()).min(self.length)
        } else {
            self.restart_points
                .iter()
                .copied()
                .filter(|p| *p <= elapsed)
                .max()
                .unwrap_or(Duration::ZERO)
        }
    }
}

/// An exercise as it appears in this session.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptExercise {
    pub id: String,
    pub name: String,
    pub first_step: usize,
    /// What the safety line after pain fits (None: lying on the back).
    pub posture: Option<Posture>,
}

/// A whole session, ready to run.
#[derive(Debug, Clone)]
pub struct Script {
    pub lang: Lang,
    pub program_id: String,
    pub program_name: String,
    pub exercises: Vec<ScriptExercise>,
    pub steps: Vec<Step>,
    /// Estimated length with no interruptions.
    pub estimated: Duration,
    /// The program's pain rule (None: any pain ends the exercise).
    pub pain_rule: Option<PainRuleName>,
}

/// Why a program cannot become a script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error(
        "program `{program}` names exercise `{exercise}`, which is not in the content{}",
        crate::fix::Line(self)
    )]
    UnknownExercise { program: String, exercise: String },
    #[error(
        "program `{program}` has no exercise left to do (advanced ones are left out){}",
        crate::fix::Line(self)
    )]
    Empty { program: String },
}

impl crate::fix::Fix for ScriptError {
    fn fix(&self) -> Option<String> {
        match self {
            ScriptError::UnknownExercise { .. } => Some("run `matcoach check` and correct the program".into()),
            ScriptError::Empty { .. } => Some("choose another program, or set coach.include_advanced = true if your back is strong and stable".into()),
        }
    }
}

/// A rough speaking time for `text`, used for plans and for the simulated
/// speaker: a calm coach says about 13 characters a second.
pub fn estimate_speech(text: &str) -> Duration {
    let chars = text.chars().count() as u64;
    Duration::from_millis(250 + chars * 75)
}

fn secs(n: u32) -> Duration {
    Duration::from_secs(u64::from(n))
}

fn get(n: Option<NonZeroU32>) -> Option<u32> {
    n.map(NonZeroU32::get)
}

struct Builder<'a> {
    lang: Lang,
    phrases: &'a Phrases,
    cfg: &'a SessionConfig,
    steps: Vec<Step>,
    group: usize,
    exercise: Option<usize>,
    /// The cautions said so far in this session (their text): each is said
    /// once, before the first exercise it belongs to.
    cautions_said: HashSet<String>,
}

impl Builder<'_> {
    fn line(&self, key: &str, template: &Text, args: &[(&str, &dyn fmt::Display)]) -> Line {
        let id = std::iter::once(key.to_string())
            .chain(args.iter().map(|(_, v)| v.to_string()))
            .collect::<Vec<_>>()
            .join(".");
        Line {
            id: PhraseId(format!("sys.{id}")),
            text: fill(template.get(self.lang), args),
        }
    }

    fn exercise_line(&self, ex: &Exercise, what: &str, text: &Text) -> Line {
        Line {
            id: PhraseId(format!("ex.{}.{what}", ex.id())),
            text: text.get(self.lang).to_string(),
        }
    }

    fn new_group(&mut self) {
        self.group += 1;
    }

    fn push(&mut self, kind: StepKind) {
        self.steps.push(Step {
            exercise: self.exercise,
            group: self.group,
            kind,
        });
    }

    fn say(&mut self, line: Line) {
        let gap = self.cfg.gap;
        self.push(StepKind::Say { line, gap });
    }

    fn count(&self, n: u32) -> Line {
        self.line("count", &self.phrases.count, &[("n", &n)])
    }

    /// Say `line` unless the same text was said as a caution already in
    /// this session: a caution is said at its first exercise only.
    fn caution(&mut self, line: Line) {
        if self.cautions_said.insert(line.text.clone()) {
            self.say(line);
        }
    }

    fn time_left(&self, left: u32) -> Line {
        let p = self.phrases;
        let (mins, s) = (left / 60, left % 60);
        if mins == 0 {
            Line {
                id: PhraseId(format!("sys.time_left_secs.{s}")),
                text: p.render_time_left_secs(u64::from(s), self.lang),
            }
        } else if mins == 1 && s == 0 {
            self.line("time_left_min", &p.time_left_min, &[])
        } else if mins == 1 {
            self.line("time_left_min_secs", &p.time_left_min_secs, &[("secs", &s)])
        } else if s == 0 {
            self.line("time_left_mins", &p.time_left_mins, &[("mins", &mins)])
        } else {
            self.line(
                "time_left_mins_secs",
                &p.time_left_mins_secs,
                &[("mins", &mins), ("secs", &s)],
            )
        }
    }

    /// The events of holding still (or moving) for `len` seconds from
    /// `start`: short holds are counted every second, longer ones announce
    /// the time left (see [`time_left_marks`]) and count down the last five
    /// seconds.
    fn hold_events(&self, start: Duration, len: u32, end_line: Line) -> Vec<TimedEvent> {
        let mut ev = Vec::new();
        let at = |k: u32| start + secs(k);
        if len <= self.cfg.count_every_second_up_to {
            for k in 1..=len {
                ev.push(TimedEvent {
                    at: at(k),
                    emit: Emit::Speak(self.count(k), Priority::Count),
                });
            }
        } else {
            for left in time_left_marks(len) {
                ev.push(TimedEvent {
                    at: at(len - left),
                    emit: Emit::Speak(self.time_left(left), Priority::Count),
                });
            }
            for k in (1..=5).rev() {
                ev.push(TimedEvent {
                    at: at(len - k),
                    emit: Emit::Speak(self.count(k), Priority::Count),
                });
            }
        }
        // A long hold ends with a tone; a counted one with its last count,
        // which the tone would only muddle.
        if len > self.cfg.count_every_second_up_to {
            ev.push(TimedEvent {
                at: at(len),
                emit: Emit::Cue(Cue::HoldEnd),
            });
        }
        ev.push(TimedEvent {
            at: at(len),
            emit: Emit::Speak(end_line, Priority::Instruction),
        });
        ev
    }

    /// One set: repetitions at the source's tempo, each with its hold, or
    /// one timed position.
    fn work(&self, dose: &Dose, reps: Option<u32>, set: u32, side: Option<Side>) -> Timed {
        let p = self.phrases;
        let mut events = vec![TimedEvent {
            at: Duration::ZERO,
            emit: Emit::Cue(Cue::Start),
        }];
        let mut restart_points = Vec::new();
        let hold = get(dose.hold_secs);
        let length;
        let reps_planned;
        match (reps, get(dose.duration_secs)) {
            (Some(reps), _) => {
                let total = if dose.sides_or_none() == Sides::Alternating {
                    reps * 2
                } else {
                    reps
                };
                reps_planned = total;
                let tempo_given = dose.up_secs.is_some() || dose.down_secs.is_some();
                let up = get(dose.up_secs).unwrap_or(self.cfg.default_up_secs);
                let down = get(dose.down_secs).unwrap_or(self.cfg.default_down_secs);
                let period = up + hold.unwrap_or(0) + down;
                for k in 1..=total {
                    let base = secs((k - 1) * period);
                    restart_points.push(base);
                    match hold {
                        Some(h) => {
                            if total > 1 {
                                let rep = if k == total {
                                    self.line("rep_last", &p.rep_last, &[])
                                } else {
                                    self.line("rep", &p.rep, &[("n", &k)])
                                };
                                events.push(TimedEvent {
                                    at: base,
                                    emit: Emit::Speak(rep, Priority::Count),
                                });
                            }
                            events.push(TimedEvent {
                                at: base + secs(up),
                                emit: Emit::Speak(self.line("hold", &p.hold, &[]), Priority::Count),
                            });
                            let release = self.line("release", &p.release, &[]);
                            events.extend(self.hold_events(base + secs(up), h, release));
                        }
                        None => {
                            events.push(TimedEvent {
                                at: base,
                                emit: Emit::Speak(self.count(k), Priority::Count),
                            });
                            if tempo_given {
                                events.push(TimedEvent {
                                    at: base + secs(up),
                                    emit: Emit::Speak(
                                        self.line("tempo_back", &p.tempo_back, &[]),
                                        Priority::Count,
                                    ),
                                });
                            }
                        }
                    }
                    events.push(TimedEvent {
                        at: secs(k * period),
                        emit: Emit::RepDone(k),
                    });
                }
                length = secs(total * period);
                if hold.is_none() {
                    events.push(TimedEvent {
                        at: length,
                        emit: Emit::Cue(Cue::HoldEnd),
                    });
                }
            }
            (None, Some(d)) => {
                reps_planned = 0;
                let end = self.line("time_up", &p.time_up, &[]);
                events.extend(self.hold_events(Duration::ZERO, d, end));
                length = secs(d);
            }
            (None, None) => {
                // The validator rejects this; an empty set is the safe reading.
                reps_planned = 0;
                length = Duration::ZERO;
            }
        }
        events.sort_by_key(|e| e.at);
        Timed {
            kind: TimedKind::Work {
                set,
                side,
                reps_planned,
            },
            events,
            length,
            restart_points,
        }
    }

    fn rest(&self, n: u32) -> Timed {
        let p = self.phrases;
        let line = Line {
            id: PhraseId(format!("sys.rest.{n}")),
            text: p.render_rest(u64::from(n), self.lang),
        };
        let mut events = vec![TimedEvent {
            at: Duration::ZERO,
            emit: Emit::Speak(line, Priority::Instruction),
        }];
        if n > 5 {
            for k in (1..=3).rev() {
                events.push(TimedEvent {
                    at: secs(n - k),
                    emit: Emit::Speak(self.count(k), Priority::Count),
                });
            }
        }
        events.push(TimedEvent {
            at: secs(n),
            emit: Emit::Cue(Cue::RestEnd),
        });
        Timed {
            kind: TimedKind::Rest,
            events,
            length: secs(n),
            restart_points: Vec::new(),
        }
    }

    fn exercise(
        &mut self,
        content: &Content,
        ex: &Exercise,
        dose: &Dose,
        reps: Option<u32>,
        n: usize,
        total: usize,
    ) {
        let p = self.phrases;
        self.new_group();
        self.push(StepKind::Mark(Mark::ExerciseStarted));
        self.say(self.line(
            "exercise_of",
            &p.exercise_of,
            &[("n", &n), ("total", &total)],
        ));
        self.say(self.exercise_line(ex, "name", &ex.name));
        self.say(self.exercise_line(ex, "position", &ex.position));
        if ex.level == Level::Advanced {
            let rule = &content.safety.advanced_only_when_stable.says;
            self.caution(Line {
                id: PhraseId("safety.advanced_only_when_stable".into()),
                text: rule.get(self.lang).to_string(),
            });
        }
        for (i, c) in ex.cautions.iter().enumerate() {
            self.caution(self.exercise_line(ex, &format!("caution.{i}"), c));
        }
        self.new_group();
        let line = self.line("get_ready", &p.get_ready, &[]);
        let timeout = self.cfg.get_ready;
        self.push(StepKind::GetReady { line, timeout });
        self.new_group();
        self.say(self.exercise_line(ex, "movement", &ex.movement));
        for (i, c) in ex.cues.iter().enumerate() {
            self.say(self.exercise_line(ex, &format!("cue.{i}"), c));
        }
        let sets = dose.sets_or_one();
        let rest = get(dose.rest_secs).unwrap_or(self.cfg.default_rest_secs);
        // The pieces of work in the order they are done: (set, side).
        let order: Vec<(u32, Option<Side>)> = match dose.sides_or_none() {
            Sides::Both => [Side::Left, Side::Right]
                .into_iter()
                .flat_map(|side| (1..=sets).map(move |set| (set, Some(side))))
                .collect(),
            Sides::EachSet => (1..=sets)
                .flat_map(|set| [(set, Some(Side::Left)), (set, Some(Side::Right))])
                .collect(),
            Sides::None | Sides::Alternating => (1..=sets).map(|set| (set, None)).collect(),
        };
        let each_set = dose.sides_or_none() == Sides::EachSet;
        let mut before: Option<Option<Side>> = None;
        for (set, side) in order {
            // A rest between two pieces of work, except where `both` turns
            // over to the other side: the switch gives that time.
            if let Some(prev) = before {
                if each_set || prev == side {
                    self.new_group();
                    self.push(StepKind::Timed(self.rest(rest)));
                }
            }
            if before != Some(side) {
                match side {
                    Some(Side::Left) => {
                        self.new_group();
                        self.say(self.line("side_first", &p.side_first, &[]));
                    }
                    Some(Side::Right) => {
                        self.new_group();
                        let line = self.line("side_second", &p.side_second, &[]);
                        let gap = self.cfg.switch_sides;
                        self.push(StepKind::Say { line, gap });
                    }
                    None => {}
                }
            }
            before = Some(side);
            self.new_group();
            if sets > 1 && (!each_set || side == Some(Side::Left)) {
                self.say(self.line("set_of", &p.set_of, &[("n", &set), ("total", &sets)]));
            }
            let work = self.work(dose, reps, set, side);
            self.push(StepKind::Timed(work));
        }
        self.new_group();
        self.say(self.line("exercise_done", &p.exercise_done, &[]));
        self.push(StepKind::Mark(Mark::ExerciseDone));
    }
}

impl Builder<'_> {
    /// Before the exercises: the red flags at the very first use of the
    /// coach, then the program's preconditions, in full in its first
    /// session and as their short reminders in later ones (also when there
    /// is no journal to tell).
    fn briefing(&mut self, program: &Program, personal: &dyn Personal) {
        let p = self.phrases;
        if personal.first_use() {
            self.new_group();
            self.say(self.line("own_advice", &p.own_advice, &[]));
            self.say(self.line("red_flags", &p.red_flags, &[]));
        }
        let first_session = personal.sessions_of(program.id()) == Some(0);
        let lines: Vec<Line> = program
            .preconditions
            .iter()
            .enumerate()
            .filter_map(|(i, pc)| {
                let (what, text) = if first_session {
                    ("precondition", &pc.says)
                } else {
                    ("reminder", pc.reminder.as_ref()?.get_ref())
                };
                Some(Line {
                    id: PhraseId(format!("program.{}.{what}.{i}", program.id())),
                    text: text.get(self.lang).to_string(),
                })
            })
            .collect();
        if !lines.is_empty() {
            self.new_group();
            lines.into_iter().for_each(|l| self.say(l));
        }
    }

    /// The equipment the session's exercises need, merged in the order of
    /// first use and said once, with a wait to fetch it (nothing when only
    /// a mat is needed).
    fn equipment<'e>(&mut self, exercises: impl Iterator<Item = &'e Exercise>) {
        let mut needed: Vec<Equipment> = Vec::new();
        for e in exercises.flat_map(|ex| ex.equipment.iter()) {
            if !needed.contains(e) {
                needed.push(*e);
            }
        }
        if needed.is_empty() {
            return;
        }
        let p = self.phrases;
        let things: Vec<String> = needed
            .iter()
            .map(|e| p.equipment(*e).get(self.lang).to_string())
            .collect();
        let key: Vec<String> = needed
            .iter()
            .map(|e| format!("{e:?}").to_lowercase())
            .collect();
        let line = Line {
            id: PhraseId(format!("sys.equipment_needed.{}", key.join("."))),
            text: fill(
                p.equipment_needed.get(self.lang),
                &[("things", &p.list(&things, self.lang))],
            ),
        };
        self.new_group();
        let timeout = self.cfg.get_ready;
        self.push(StepKind::GetReady { line, timeout });
    }
}

/// The time left, in seconds and longest first, announced during a timed
/// position of `len` seconds (one too long to count every second). Up to a
/// minute: every 15 s, until 7 s before the end. Longer: a few marks only,
/// so that a 30-minute rest is not talked through — one minute before the
/// end, halfway (rounded down to half a minute) and, from 15 minutes on,
/// five minutes before the end; each at least 15 s after the start, 10 s
/// before the end (the countdown) and 45 s away from the others (the one
/// listed first wins).
pub fn time_left_marks(len: u32) -> Vec<u32> {
    if len <= 60 {
        return (1..)
            .map(|k| k * 15)
            .take_while(|t| t + 7 <= len)
            .map(|t| len - t)
            .collect();
    }
    let mut candidates = vec![60, len / 2 / 30 * 30];
    if len >= 15 * 60 {
        candidates.push(5 * 60);
    }
    let mut kept: Vec<u32> = Vec::new();
    for left in candidates {
        let fits = left >= 10 && left + 15 <= len;
        if fits && kept.iter().all(|k| k.abs_diff(left) >= 45) {
            kept.push(left);
        }
    }
    kept.sort_unstable_by(|a, b| b.cmp(a));
    kept
}

/// Per-user numbers that change a dose: the tested maximum for exercises
/// that use the startgetal (one third of the maximum).
pub trait Personal {
    fn max_reps(&self, exercise: &str) -> Option<u32>;
    /// The journal holds no session yet: the very first use of the coach
    /// (it says the red flags). Without a journal: false.
    fn first_use(&self) -> bool {
        false
    }
    /// How many sessions of `program` the journal holds before today's
    /// (0: today is its first, so its preconditions are said in full).
    /// Without a journal: None (said briefly, as for a known program).
    fn sessions_of(&self, _program: &str) -> Option<u32> {
        None
    }
    /// adapt (issue 13): exercises left out of this session because they
    /// have had their daily maximum, to be said once (the first session of
    /// the day where each is left out). Without a journal: none.
    fn daily_max_reached(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The very first session of the coach, and so of every program.
struct FirstEver;

impl Personal for FirstEver {
    fn max_reps(&self, _: &str) -> Option<u32> {
        None
    }
    fn first_use(&self) -> bool {
        true
    }
    fn sessions_of(&self, _: &str) -> Option<u32> {
        Some(0)
    }
}

impl Personal for () {
    fn max_reps(&self, _: &str) -> Option<u32> {
        None
    }
}

impl Personal for std::collections::HashMap<String, u32> {
    fn max_reps(&self, exercise: &str) -> Option<u32> {
        self.get(exercise).copied()
    }
}

/// The number of repetitions per set: the startgetal (a third of the tested
/// maximum, at least one) where the exercise uses it and a maximum is known.
pub fn reps_for(ex: &Exercise, dose: &Dose, personal: &dyn Personal) -> Option<u32> {
    let base = get(dose.reps);
    if dose.startgetal == Some(true) {
        if let Some(max) = personal.max_reps(ex.id()) {
            return Some((max / 3).max(1));
        }
    }
    base
}

/// Build the script of `program` in `lang`.
pub fn compile(
    content: &Content,
    program: &Program,
    lang: Lang,
    cfg: &SessionConfig,
    personal: &dyn Personal,
) -> Result<Script, ScriptError> {
    let phrases = &content.phrases;
    let mut chosen = Vec::new();
    let mut skipped = Vec::new();
    for item in &program.items {
        let ex = content.exercise(item.exercise.get_ref()).ok_or_else(|| {
            ScriptError::UnknownExercise {
                program: program.id().to_string(),
                exercise: item.exercise.get_ref().clone(),
            }
        })?;
        if ex.level == Level::Advanced && !cfg.include_advanced {
            skipped.push(ex);
        } else {
            chosen.push((ex, item.dose.over(&ex.dose)));
        }
    }
    if chosen.is_empty() {
        return Err(ScriptError::Empty {
            program: program.id().to_string(),
        });
    }
    let mut b = Builder {
        lang,
        phrases,
        cfg,
        steps: Vec::new(),
        group: 0,
        exercise: None,
        cautions_said: HashSet::new(),
    };
    let total = chosen.len();
    let program_name = program.name.get(lang).to_string();
    // The welcome line says the minutes, so it is added once the rest is
    // built and its length known. What comes between it and the first
    // exercise is in groups of its own, so that "next" skips only the part
    // being said.
    b.briefing(program, personal);
    for ex in &skipped {
        let name = ex.name.get(lang).to_string();
        b.say(b.line(
            "skipped_advanced",
            &phrases.skipped_advanced,
            &[("exercise", &name)],
        ));
        if let Some(last) = b.steps.last_mut() {
            if let StepKind::Say { line, .. } = &mut last.kind {
                line.id = PhraseId(format!("sys.skipped_advanced.{}", ex.id()));
            }
        }
    }
    // adapt (issue 13): left out for the rest of the day (daily maximum).
    for id in personal.daily_max_reached() {
        if let Some(ex) = content.exercise(&id) {
            let name = ex.name.get(lang).to_string();
            let mut line = b.line(
                "daily_max_reached",
                &phrases.daily_max_reached,
                &[("exercise", &name)],
            );
            line.id = PhraseId(format!("sys.daily_max_reached.{id}"));
            b.say(line);
        }
    }
    b.equipment(chosen.iter().map(|(ex, _)| *ex));
    let mut exercises = Vec::new();
    for (n, (ex, dose)) in chosen.iter().enumerate() {
        b.exercise = Some(n);
        exercises.push(ScriptExercise {
            id: ex.id().to_string(),
            name: ex.name.get(lang).to_string(),
            first_step: b.steps.len() + 1,
            posture: ex.posture,
        });
        let reps = reps_for(ex, dose, personal);
        b.exercise(content, ex, dose, reps, n + 1, total);
    }
    let body: Duration = b.steps.iter().map(|s| step_estimate(&s.kind)).sum();
    // Rounded to the nearest minute, with the welcome and closing words.
    let minutes = ((body.as_secs() + 15 + 30) / 60).max(1);
    let welcome = Line {
        id: PhraseId(format!(
            "sys.welcome.{}.{}.{}",
            program.id(),
            total,
            minutes
        )),
        text: phrases.render_welcome(&program_name, total as u64, minutes, lang),
    };
    let mut steps = vec![Step {
        exercise: None,
        group: 0,
        kind: StepKind::Say {
            line: welcome,
            gap: cfg.gap,
        },
    }];
    steps.extend(b.steps);
    let estimated = steps.iter().map(|s| step_estimate(&s.kind)).sum();
    Ok(Script {
        lang,
        program_id: program.id().to_string(),
        program_name,
        exercises,
        steps,
        estimated,
        pain_rule: program.pain_rule,
    })
}

fn step_estimate(kind: &StepKind) -> Duration {
    match kind {
        StepKind::Say { line, gap } => estimate_speech(&line.text) + *gap,
        StepKind::GetReady { line, timeout } => estimate_speech(&line.text) + *timeout,
        StepKind::Timed(t) => t.length,
        StepKind::Mark(_) => Duration::ZERO,
    }
}

/// The lines a session says outside the script: around pauses, pain and the
/// end. Built once per session; `all_lines` lists them too.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedLines {
    pub paused: Line,
    pub resuming: Line,
    pub moving_on: Line,
    pub ending_by_user: Line,
    pub goodbye: Line,
    /// The line after pain that ends an exercise: one per group of
    /// postures (see [`FixedLines::pain_stops_exercise`]).
    pub pain_stops_exercise_by_posture: Vec<(Vec<Posture>, Line)>,
    pub pain_below_knee: Line,
    pub repeated_pain_ends_session: Line,
    pub persistent_pain_skip: Line,
    pub ready: Line,
    pub voice_off: Line,
    pub no_microphone: Line,
    pub phase_kept: Line,
    pub journal_fault: Line,
    /// The McKenzie pain rule's question and answers.
    pub mckenzie: AskLines,
}

/// What the coach says under a pain rule that asks where the pain is.
#[derive(Debug, Clone, PartialEq)]
pub struct AskLines {
    pub asks: Line,
    pub carry_on: Line,
    pub no_answer: Line,
}

impl FixedLines {
    pub fn new(phrases: &Phrases, safety: &Safety, lang: Lang) -> FixedLines {
        let sys = |key: &str, t: &Text| Line {
            id: PhraseId(format!("sys.{key}")),
            text: t.get(lang).to_string(),
        };
        let rule = |key: &str, t: &Text| Line {
            id: PhraseId(format!("safety.{key}")),
            text: t.get(lang).to_string(),
        };
        FixedLines {
            paused: sys("paused", &phrases.paused),
            resuming: sys("resuming", &phrases.resuming),
            moving_on: sys("moving_on", &phrases.moving_on),
            ending_by_user: sys("ending_by_user", &phrases.ending_by_user),
            goodbye: sys("goodbye", &phrases.goodbye),
            pain_stops_exercise_by_posture: safety
                .pain_stops_exercise
                .says
                .iter()
                .map(|v| {
                    let key = format!("pain_stops_exercise.{}", v.variant.get_ref());
                    (v.postures.clone(), rule(&key, &v.text))
                })
                .collect(),
            pain_below_knee: rule("pain_below_knee", &safety.pain_below_knee.says),
            repeated_pain_ends_session: rule(
                "repeated_pain_ends_session",
                &safety.repeated_pain_ends_session.says,
            ),
            persistent_pain_skip: rule("persistent_pain_skip", &safety.persistent_pain_skip.says),
            ready: sys("ready", &phrases.ready),
            voice_off: sys("voice_off", &phrases.voice_off),
            no_microphone: sys("no_microphone", &phrases.no_microphone),
            phase_kept: sys("phase_kept", &phrases.phase_kept),
            journal_fault: sys("journal_fault", &phrases.journal_fault),
            mckenzie: {
                let r = safety.pain_rule(PainRuleName::Mckenzie);
                let key =
                    |what: &str| format!("pain_rules.{}.{what}", PainRuleName::Mckenzie.key());
                AskLines {
                    asks: rule(&key("asks"), &r.asks),
                    carry_on: rule(&key("carry_on"), &r.carry_on),
                    no_answer: rule(&key("no_answer"), &r.no_answer),
                }
            },
        }
    }

    /// The line that ends an exercise after pain, fitting its posture (an
    /// exercise without one counts as lying on the back). None only for
    /// content that `matcoach check` rejects.
    pub fn pain_stops_exercise(&self, posture: Option<Posture>) -> Option<&Line> {
        let p = posture.unwrap_or(Posture::Supine);
        self.pain_stops_exercise_by_posture
            .iter()
            .find(|(ps, _)| ps.contains(&p))
            .map(|(_, line)| line)
    }

    /// The lines of a pain rule that asks.
    pub fn ask_lines(&self, rule: PainRuleName) -> &AskLines {
        match rule {
            PainRuleName::Mckenzie => &self.mckenzie,
        }
    }

    pub fn all(&self) -> Vec<Line> {
        let by_posture = self
            .pain_stops_exercise_by_posture
            .iter()
            .map(|(_, line)| line.clone());
        let ask = |a: &AskLines| vec![a.asks.clone(), a.carry_on.clone(), a.no_answer.clone()];
        vec![
            self.paused.clone(),
            self.resuming.clone(),
            self.moving_on.clone(),
            self.ending_by_user.clone(),
            self.goodbye.clone(),
        ]
        .into_iter()
        .chain(by_posture)
        .chain([
            self.pain_below_knee.clone(),
            self.repeated_pain_ends_session.clone(),
            self.persistent_pain_skip.clone(),
            self.ready.clone(),
            self.voice_off.clone(),
            self.no_microphone.clone(),
            self.phase_kept.clone(),
            self.journal_fault.clone(),
        ])
        .chain(ask(&self.mckenzie))
        .collect()
    }
}

/// Every line of a script, in order (duplicates included).
pub fn script_lines(script: &Script) -> Vec<Line> {
    let mut out = Vec::new();
    for step in &script.steps {
        match &step.kind {
            StepKind::Say { line, .. } | StepKind::GetReady { line, .. } => out.push(line.clone()),
            StepKind::Timed(t) => {
                for e in &t.events {
                    if let Emit::Speak(line, _) = &e.emit {
                        out.push(line.clone());
                    }
                }
            }
            StepKind::Mark(_) => {}
        }
    }
    out
}

/// Every phrase any session can say in `lang`, once each, by phrase id:
/// every program (with and without the advanced exercises; as the very
/// first session, with the red flags and the preconditions in full, and as
/// a later one, with the reminders) and the fixed lines. Not included: the closing summary, whose numbers are only known at
/// the end (it is rendered then).
pub fn all_lines(content: &Content, lang: Lang, cfg: &SessionConfig) -> Vec<Line> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut add = |line: Line| {
        if seen.insert(line.id.clone()) {
            out.push(line);
        }
    };
    for advanced in [false, true] {
        let cfg = SessionConfig {
            include_advanced: advanced,
            ..cfg.clone()
        };
        for program in &content.programs {
            // A later session (the reminders) and the very first one (the
            // red flags and the preconditions in full).
            for personal in [&() as &dyn Personal, &FirstEver] {
                if let Ok(script) = compile(content, program, lang, &cfg, personal) {
                    script_lines(&script).into_iter().for_each(&mut add);
                }
            }
        }
    }
    FixedLines::new(&content.phrases, &content.safety, lang)
        .all()
        .into_iter()
        .for_each(&mut add);
    out
}
