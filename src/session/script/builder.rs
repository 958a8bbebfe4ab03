//! Compiling a program into a script: the briefing, the equipment, each
//! exercise's sets, sides and rests, and the timed events of a set (counts,
//! holds, the time left). Kept apart from the types because it is the one
//! place that turns content into steps.

use super::{
    estimate_speech, Emit, Mark, Personal, Script, ScriptError, ScriptExercise, Step, StepKind,
    Timed, TimedEvent, TimedKind,
};
use crate::content::{
    fill, Content, Dose, Equipment, Exercise, Lang, Level, Phrases, Program, Sides, Text,
};
use crate::session::{Cue, Line, PhraseId, Priority, SessionConfig, Side};
use std::collections::HashSet;
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

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
