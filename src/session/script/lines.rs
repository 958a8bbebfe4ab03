//! The lines a session says outside its script (pauses, pain, the end),
//! and every line any session can say (rendered ahead by the daemon and
//! `matcoach sound`, listed by `matcoach phrases` and the web pages). Kept
//! apart from the builder because these lines do not depend on a program.

use super::{compile, Emit, Personal, Script, StepKind};
use crate::content::{Content, Lang, PainRuleName, Phrases, Posture, Safety, Text};
use crate::session::{Line, PhraseId, SessionConfig};

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
