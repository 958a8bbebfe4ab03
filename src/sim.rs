//! Running a session in virtual time: scripted inputs, a simulated speaker
//! that takes as long as a calm voice would, and the session's own deadlines.
//! `matcoach sim` and `matcoach plan` print what it records; the tests assert
//! on it.

use crate::command::Command;
use crate::session::{estimate_speech, Action, Input, PlaybackId, Session};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// One scripted user action at a time from the session's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedEvent {
    pub at: Duration,
    pub what: UserAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// A short press (down, then up 150 ms later).
    Press,
    /// A press held for `long_press` plus half a second.
    LongPress,
    Heard(Command),
}

/// A bad `--events` SPEC: which item, and how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--events item {index} `{item}`: {problem}{}", crate::fix::Line(self))]
pub struct SpecError {
    pub index: usize,
    pub item: String,
    pub problem: String,
}

impl crate::fix::Fix for SpecError {
    fn fix(&self) -> Option<String> {
        Some("write items as TIME:press, TIME:long_press or TIME:heard=COMMAND, e.g. `0s:press,95s:heard=pain,2m10s:heard=stop` (commands: next, pain, stop, pause, resume, repeat)".into())
    }
}

/// Parse `1m30s`, `95s`, `1500ms`, `2m`, `1.5s` (and what else humantime
/// reads: `1m 30s`, `2min`, `1h`).
pub fn parse_duration(s: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(s.trim())
}

/// Parse an `--events` SPEC such as `0s:press,95s:heard=pain,400s:long_press`.
pub fn parse_spec(spec: &str) -> Result<Vec<ScriptedEvent>, SpecError> {
    let mut out = Vec::new();
    for (i, raw) in spec.split(',').enumerate() {
        let item = raw.trim();
        if item.is_empty() {
            continue;
        }
        let err = |problem: &str| SpecError {
            index: i + 1,
            item: item.to_string(),
            problem: problem.to_string(),
        };
        let (time, what) = item
            .split_once(':')
            .ok_or_else(|| err("no `:` between the time and the action"))?;
        let at = parse_duration(time)
            .map_err(|e| err(&format!("the time is not like 95s, 1500ms or 2m10s ({e})")))?;
        let what = match what.trim() {
            "press" => UserAction::Press,
            "long_press" | "longpress" => UserAction::LongPress,
            other => match other.strip_prefix("heard=") {
                Some(word) => UserAction::Heard(
                    Command::parse(word).ok_or_else(|| err("unknown command after heard="))?,
                ),
                None => return Err(err("unknown action")),
            },
        };
        out.push(ScriptedEvent { at, what });
    }
    out.sort_by_key(|e| e.at);
    Ok(out)
}

/// An action and when the session asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub t: Duration,
    pub action: Action,
}

impl Record {
    /// One line of `matcoach sim` output.
    pub fn to_json(&self) -> Value {
        let t_ms = self.t.as_millis() as u64;
        match &self.action {
            Action::Speak { id, line, priority } => json!({
                "t_ms": t_ms, "action": "speak", "id": id, "phrase": line.id,
                "text": line.text, "priority": priority,
            }),
            Action::StopSpeech => json!({"t_ms": t_ms, "action": "stop_speech"}),
            Action::Cue(c) => json!({"t_ms": t_ms, "action": "cue", "cue": c}),
            Action::SetLed(l) => json!({"t_ms": t_ms, "action": "led", "led": l}),
            Action::Journal(e) => {
                let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
                if let Value::Object(m) = &mut v {
                    m.insert("t_ms".into(), json!(t_ms));
                    m.insert("action".into(), json!("journal"));
                    m.entry("exercise").or_insert(Value::Null);
                }
                v
            }
            Action::End(r) => json!({"t_ms": t_ms, "action": "end", "reason": r}),
        }
    }
}

/// A speaker living in virtual time, for `run_with`.
pub trait VirtualSpeaker {
    /// Carry out `action` (Speak, StopSpeech, Cue) at virtual time `now`.
    fn act(&mut self, now: Duration, action: &Action);
    /// The next "finished" this speaker will report, and when.
    fn next_finished(&self) -> Option<(Duration, PlaybackId)>;
    /// Everything up to `t` has happened (e.g. audio rendered); report the
    /// finished phrase due at `t`, if `take` asks for it.
    fn advance(&mut self, t: Duration, take: bool) -> Option<PlaybackId>;
}

/// A speaker that says one phrase after the other, each taking
/// `estimate_speech`, and forgets its queue on StopSpeech (a stopped clip
/// reports no "finished").
#[derive(Debug, Default)]
pub struct SimSpeaker {
    busy_until: Duration,
    queue: VecDeque<(Duration, PlaybackId)>,
}

impl VirtualSpeaker for SimSpeaker {
    fn act(&mut self, now: Duration, action: &Action) {
        match action {
            Action::Speak { id, line, .. } => {
                let start = self.busy_until.max(now);
                self.busy_until = start + estimate_speech(&line.text);
                self.queue.push_back((self.busy_until, *id));
            }
            Action::StopSpeech => {
                self.queue.clear();
                self.busy_until = now;
            }
            _ => {}
        }
    }

    fn next_finished(&self) -> Option<(Duration, PlaybackId)> {
        self.queue.front().copied()
    }

    fn advance(&mut self, _t: Duration, take: bool) -> Option<PlaybackId> {
        if take {
            self.queue.pop_front().map(|(_, id)| id)
        } else {
            None
        }
    }
}

/// Run `session` with `events`, until it ends or `limit` of virtual time,
/// with the simulated speaker.
pub fn run(session: &mut Session, events: &[ScriptedEvent], limit: Duration) -> Vec<Record> {
    run_with(session, events, limit, &mut SimSpeaker::default())
}

/// Run `session` with `events` and `speaker`, until it ends or `limit`.
pub fn run_with(
    session: &mut Session,
    events: &[ScriptedEvent],
    limit: Duration,
    speaker: &mut dyn VirtualSpeaker,
) -> Vec<Record> {
    let epoch = Instant::now();
    let long = session.long_press();
    // Expand user actions into button edges and heard words.
    let mut inputs: Vec<(Duration, Input)> = Vec::new();
    for e in events {
        match e.what {
            UserAction::Press => {
                inputs.push((e.at, Input::ButtonPressed));
                inputs.push((e.at + Duration::from_millis(150), Input::ButtonReleased));
            }
            UserAction::LongPress => {
                inputs.push((e.at, Input::ButtonPressed));
                inputs.push((
                    e.at + long + Duration::from_millis(500),
                    Input::ButtonReleased,
                ));
            }
            UserAction::Heard(c) => inputs.push((e.at, Input::Heard(c))),
        }
    }
    inputs.sort_by_key(|(t, _)| *t);
    let mut inputs: VecDeque<_> = inputs.into();
    let mut records = Vec::new();
    let mut now = Duration::ZERO;
    loop {
        let deadline = session
            .next_deadline()
            .map(|d| d.saturating_duration_since(epoch));
        let finished = speaker.next_finished().map(|(t, _)| t);
        let scripted = inputs.front().map(|(t, _)| *t);
        // Earliest of the three; on a tie, a user input first, then a
        // finished phrase, then the session's deadline.
        let candidates = [(scripted, 0), (finished, 1), (deadline, 2)];
        let Some((t, which)) = candidates
            .iter()
            .filter_map(|(t, w)| t.map(|t| (t, *w)))
            .min()
        else {
            break;
        };
        if t > limit {
            break;
        }
        now = now.max(t);
        let reported = speaker.advance(now, which == 1);
        let input = match which {
            0 => match inputs.pop_front() {
                Some((_, i)) => i,
                None => break,
            },
            1 => match reported {
                Some(id) => Input::PlaybackFinished(id),
                None => continue,
            },
            _ => Input::DeadlineReached,
        };
        let actions = session.handle(epoch + now, input);
        let mut ended = false;
        for action in actions {
            speaker.act(now, &action);
            ended |= matches!(action, Action::End(_));
            records.push(Record { t: now, action });
        }
        if ended {
            break;
        }
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        let cases = [
            ("95s", Some(95_000)),
            ("1500ms", Some(1500)),
            ("2m", Some(120_000)),
            ("1m30s", Some(90_000)),
            ("0s", Some(0)),
            ("1.5s", Some(1500)),
            ("1m 30s", Some(90_000)),
            ("", None),
            ("12", None),
            ("5x", None),
        ];
        for (s, want) in cases {
            assert_eq!(
                parse_duration(s).ok().map(|d| d.as_millis() as u64),
                want,
                "{s}"
            );
        }
    }

    #[test]
    fn spec_parses_and_reports_the_bad_item() {
        let ev = parse_spec("0s:press,95s:heard=pain,140s:heard=stop,400s:long_press").unwrap();
        assert_eq!(ev.len(), 4);
        assert_eq!(ev[1].what, UserAction::Heard(Command::Pain));
        let e = parse_spec("0s:press,95:heard=pain").unwrap_err();
        assert_eq!(e.index, 2);
        assert!(e.to_string().contains("the time is not like"), "{e}");
        let e = parse_spec("1s:heard=banana").unwrap_err();
        assert!(e.to_string().contains("unknown command"), "{e}");
        let e = parse_spec("1s:jump").unwrap_err();
        assert!(e.to_string().contains("unknown action"), "{e}");
    }
}
