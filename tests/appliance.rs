//! The appliance's life between sessions, in virtual time: start-up,
//! presses, faults, planning, the voice check offer, shutdown. Each row of
//! the table is a script of timed events and what must (and must not)
//! happen, read from a compact trace of the actions.

mod common;

use common::clock::{at, Boots};
use matcoach::appliance::{Action, Appliance, Event, Hearing, Settings};
use matcoach::command::Command;
use matcoach::content::Lang;
use matcoach::date::ClockReading;
use matcoach::journal::{Date, History};
use matcoach::session::{self, DeviceKind, Input, PlaybackId, SessionConfig};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the simulated shell answers.
#[derive(Clone)]
struct Shell {
    history: History,
    /// The speaker reports every phrase as finished (false: it never does).
    reports: bool,
    preload: Result<(), String>,
    hearing: Hearing,
    program: &'static str,
    /// The clock as the shell reads it before planning.
    clock: ClockReading,
}

impl Default for Shell {
    fn default() -> Self {
        Shell {
            history: History::default(),
            reports: true,
            preload: Ok(()),
            hearing: Hearing::Listening,
            program: "quick",
            clock: ClockReading::at(Date::parse("2026-12-04").unwrap().at_midnight()),
        }
    }
}

/// A user's or device's event at a time (seconds).
#[derive(Clone, Copy)]
enum Ev {
    Press,
    LongPress,
    Heard(Command),
    Lost(DeviceKind),
    Back(DeviceKind),
    Shutdown,
    /// The companion page asks for a pairing code to be said (issue 17).
    SayCode,
}

struct Rig {
    app: Appliance,
    epoch: Instant,
    shell: Shell,
    /// When each queued phrase finishes.
    speaking: VecDeque<(Duration, PlaybackId)>,
    busy_until: Duration,
    answers: VecDeque<(Duration, Event)>,
    trace: Vec<String>,
}

fn trace(a: &Action) -> String {
    match a {
        Action::Speak { line, .. } => format!("say {}", line.id),
        Action::StopSpeech => "stop".into(),
        Action::Cue(c) => format!("cue {c:?}"),
        Action::SetLed(l) => format!("led {l:?}"),
        Action::Journal { event, .. } => format!(
            "journal {}",
            serde_json::to_value(event)
                .ok()
                .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(String::from))
                .unwrap_or_default()
        ),
        Action::BeginJournal(_) => "begin".into(),
        Action::JournalPress(_) => "press".into(),
        Action::Log(s) => format!("log {s}"),
        Action::Status(s) => format!("status {s}"),
        Action::ReadHistory => "read_history".into(),
        Action::Preload(_) => "preload".into(),
        Action::RunVoiceCheck => "voice_check".into(),
        Action::SessionEnded(r) => format!("ended {r:?}"),
        Action::Exit => "exit".into(),
    }
}

impl Rig {
    fn new(shell: Shell) -> Rig {
        let c = common::content();
        let settings = Settings {
            lang: Lang::En,
            program: shell.program.into(),
            session: SessionConfig::default(),
            rules: matcoach::adapt::Rules::from_config(&Default::default()),
        };
        Rig {
            app: Appliance::new(Arc::new(c.clone()), settings),
            epoch: Instant::now(),
            shell,
            speaking: VecDeque::new(),
            busy_until: Duration::ZERO,
            answers: VecDeque::new(),
            trace: Vec::new(),
        }
    }

    fn feed(&mut self, t: Duration, event: Event) {
        for a in self.app.handle(self.epoch + t, event) {
            self.trace.push(trace(&a));
            match a {
                Action::Speak { id, line, .. } if self.shell.reports => {
                    let start = self.busy_until.max(t);
                    self.busy_until = start + session::estimate_speech(&line.text);
                    self.speaking.push_back((self.busy_until, id));
                }
                Action::StopSpeech => {
                    self.speaking.clear();
                    self.busy_until = t;
                }
                Action::ReadHistory => self.answers.push_back((
                    t,
                    Event::History {
                        history: Box::new(self.shell.history.clone()),
                        clock: self.shell.clock.clone(),
                    },
                )),
                Action::Preload(_) => self
                    .answers
                    .push_back((t, Event::Preloaded(self.shell.preload.clone()))),
                Action::RunVoiceCheck => self
                    .answers
                    .push_back((t + Duration::from_secs(180), Event::VoiceCheckEnded)),
                _ => {}
            }
        }
    }

    /// Run the script until `end` (seconds) of virtual time.
    fn run(&mut self, script: &[(u64, Ev)], end: u64) {
        let mut inputs: VecDeque<(Duration, Event)> = VecDeque::new();
        let mut timed: Vec<(Duration, Event)> = Vec::new();
        for &(at, ev) in script {
            let t = Duration::from_secs(at);
            match ev {
                Ev::Press => {
                    timed.push((t, Input::ButtonPressed.into()));
                    timed.push((t + Duration::from_millis(150), Input::ButtonReleased.into()));
                }
                Ev::LongPress => {
                    timed.push((t, Input::ButtonPressed.into()));
                    timed.push((
                        t + Duration::from_millis(2500),
                        Input::ButtonReleased.into(),
                    ));
                }
                Ev::Heard(c) => timed.push((t, Input::Heard(c).into())),
                Ev::Lost(d) => timed.push((t, Input::DeviceLost(d).into())),
                Ev::Back(d) => timed.push((t, Input::DeviceBack(d).into())),
                Ev::Shutdown => timed.push((t, Event::Shutdown)),
                Ev::SayCode => timed.push((t, Event::SayPairingCode("123456".into()))),
            }
        }
        timed.sort_by_key(|(t, _)| *t);
        inputs.extend(timed);
        let end = Duration::from_secs(end);
        self.feed(
            Duration::ZERO,
            Event::Ready {
                hearing: self.shell.hearing,
            },
        );
        let mut now = Duration::ZERO;
        for _ in 0..1_000_000 {
            let answer = self.answers.front().map(|(t, _)| *t);
            let scripted = inputs.front().map(|(t, _)| *t);
            let finished = self.speaking.front().map(|(t, _)| *t);
            let deadline = self
                .app
                .next_deadline()
                .map(|d| d.saturating_duration_since(self.epoch));
            let Some((t, which)) = [(answer, 0), (scripted, 1), (finished, 2), (deadline, 3)]
                .iter()
                .filter_map(|(t, w)| t.map(|t| (t, *w)))
                .min()
            else {
                return;
            };
            if t > end {
                return;
            }
            now = now.max(t);
            let event = match which {
                0 => self.answers.pop_front().map(|(_, e)| e),
                1 => inputs.pop_front().map(|(_, e)| e),
                2 => self
                    .speaking
                    .pop_front()
                    .map(|(_, id)| Input::PlaybackFinished(id).into()),
                _ => Some(Input::DeadlineReached.into()),
            };
            if let Some(e) = event {
                self.feed(now, e);
            }
        }
        panic!("the appliance never settles: {:?}", self.trace);
    }
}

struct Row {
    name: &'static str,
    shell: Shell,
    script: Vec<(u64, Ev)>,
    /// Run this long (seconds of virtual time).
    until: u64,
    /// Trace entries (prefixes) that must appear, in this order.
    then: Vec<&'static str>,
    /// Trace entries (prefixes) that must not appear anywhere.
    never: Vec<&'static str>,
}

fn check(row: &Row) {
    let mut rig = Rig::new(row.shell.clone());
    rig.run(&row.script, row.until);
    let t = &rig.trace;
    let mut at = 0;
    for want in &row.then {
        match t[at..].iter().position(|x| x.starts_with(want)) {
            Some(i) => at += i + 1,
            None => panic!(
                "{}: `{want}` missing (in order) from the trace:\n{}",
                row.name,
                t.join("\n")
            ),
        }
    }
    for bad in &row.never {
        assert!(
            !t.iter().any(|x| x.starts_with(bad)),
            "{}: `{bad}` must not happen; trace:\n{}",
            row.name,
            t.join("\n")
        );
    }
}

/// A McKenzie user two days into the acute phase: the session ends with
/// the offer of the next phase (issue 13).
fn mckenzie_two_days_in() -> History {
    use matcoach::journal::{JournalStore, OpenOptions};
    let dir = tempfile::tempdir().unwrap();
    let mut store = JournalStore::open(&dir.path().join("j.sqlite"), &OpenOptions::default())
        .unwrap()
        .store;
    store
        .set_phase(
            Some(matcoach::content::Phase::Acute),
            "test",
            Date::parse("2026-12-01").unwrap().at_midnight(),
        )
        .unwrap();
    store.history(None).unwrap()
}

/// Yesterday's `quick`, in which every exercise hurt (the pain not said to
/// stay in the back): today all of them rest.
fn every_exercise_hurt_yesterday() -> History {
    let quick = common::content().program("quick").unwrap();
    let done: Vec<&str> = quick
        .items
        .iter()
        .map(|i| i.exercise.get_ref().as_str())
        .collect();
    let pains: Vec<_> = done.iter().map(|x| (*x, None)).collect();
    let yesterday = at("2026-12-03", "09:00");
    History {
        sessions: vec![common::journal_support::completed(
            1, "quick", yesterday, &done, &pains,
        )],
        ..History::default()
    }
}

fn checked_once() -> History {
    let mut h = History::default();
    h.voice_checks.insert("en".into(), 1);
    h
}

/// A session ended by a long press, after which the coach does not offer
/// the voice check (the shell says why not).
fn no_offer_after_a_session(name: &'static str, shell: Shell) -> Row {
    Row {
        name,
        shell,
        script: vec![(30, Ev::Press), (200, Ev::LongPress)],
        until: 400,
        then: vec!["ended EndedByUser"],
        never: vec!["say sys.voice_check_offer"],
    }
}

fn rows() -> Vec<Row> {
    use DeviceKind::*;
    use Ev::*;
    let base = Shell::default;
    vec![
        Row {
            name: "start_up_says_ready_and_waits",
            shell: base(),
            script: vec![],
            until: 600,
            then: vec!["say sys.ready", "led Idle", "status ready", "log ready"],
            never: vec!["read_history", "say sys.voice_off"],
        },
        Row {
            name: "without_a_listener_the_coach_says_voice_commands_are_off",
            shell: Shell {
                hearing: Hearing::Failed,
                ..base()
            },
            script: vec![],
            until: 60,
            then: vec!["say sys.voice_off", "say sys.ready", "led Idle"],
            never: vec![],
        },
        Row {
            name: "voice_commands_turned_off_in_the_config_are_not_announced",
            shell: Shell {
                hearing: Hearing::Disabled,
                ..base()
            },
            script: vec![(30, Press), (200, LongPress)],
            until: 400,
            then: vec!["say sys.ready", "begin", "ended EndedByUser"],
            never: vec!["say sys.voice_off", "say sys.voice_check_offer"],
        },
        Row {
            name: "a_speaker_that_never_reports_does_not_hang_the_start_up",
            shell: Shell {
                reports: false,
                hearing: Hearing::Failed,
                ..base()
            },
            script: vec![],
            until: 120,
            then: vec![
                "say sys.voice_off",
                "say sys.ready",
                "led Idle",
                "status ready",
            ],
            never: vec![],
        },
        Row {
            name: "a_press_starts_today_s_program_which_runs_to_its_end",
            shell: Shell {
                history: checked_once(),
                ..base()
            },
            script: vec![(30, Press)],
            until: 7200,
            then: vec![
                "read_history",
                "log today: quick",
                "preload",
                "begin",
                "led Running",
                "journal session_started",
                "journal session_ended",
                "log session ended: Completed",
                "ended Completed",
                "led Idle",
            ],
            never: vec!["say sys.voice_check_offer", "led Error"],
        },
        Row {
            name: "a_long_press_while_idle_starts_nothing",
            shell: base(),
            script: vec![(30, LongPress)],
            until: 120,
            then: vec!["led Idle"],
            never: vec!["read_history"],
        },
        Row {
            name: "voice_commands_while_idle_start_nothing",
            shell: base(),
            script: vec![(30, Heard(Command::Next)), (40, Heard(Command::Resume))],
            until: 120,
            then: vec!["led Idle"],
            never: vec!["read_history"],
        },
        Row {
            name: "presses_during_a_session_are_journaled_a_long_press_ends_it",
            shell: Shell {
                history: checked_once(),
                ..base()
            },
            script: vec![(30, Press), (120, Press), (130, Press), (200, LongPress)],
            until: 600,
            then: vec![
                "begin",
                "press",
                "journal paused",
                "press",
                "journal resumed",
                "press",
                "ended EndedByUser",
                "led Idle",
            ],
            never: vec![],
        },
        Row {
            name: "after_the_first_session_the_voice_check_is_offered_a_press_runs_it",
            shell: base(),
            script: vec![(30, Press), (200, LongPress), (215, Press)],
            until: 900,
            then: vec![
                "ended EndedByUser",
                "led Idle",
                "say sys.voice_check_offer",
                "stop",
                "log voice check: starting",
                "led Running",
                "voice_check",
                "led Idle",
            ],
            never: vec!["log voice check: not now"],
        },
        Row {
            name: "an_offer_not_taken_lapses_and_the_next_press_starts_a_session",
            shell: base(),
            script: vec![(30, Press), (200, LongPress), (400, Press)],
            until: 500,
            then: vec![
                "say sys.voice_check_offer",
                "log voice check: not now",
                "led Idle",
                "read_history",
                "begin",
            ],
            never: vec!["voice_check"],
        },
        Row {
            name: "a_long_press_declines_the_offer_at_once",
            shell: base(),
            script: vec![(30, Press), (200, LongPress), (212, LongPress)],
            until: 300,
            then: vec!["say sys.voice_check_offer", "log voice check: not now"],
            never: vec!["voice_check"],
        },
        Row {
            name: "no_offer_after_pain",
            shell: base(),
            script: vec![
                (30, Press),
                (100, Heard(Command::Pain)),
                (200, Heard(Command::Pain)),
                (300, Heard(Command::Pain)),
            ],
            until: 3600,
            then: vec!["journal pain", "ended EndedForPain"],
            never: vec!["say sys.voice_check_offer"],
        },
        Row {
            name: "no_offer_after_the_offer_of_the_next_phase",
            shell: Shell {
                history: mckenzie_two_days_in(),
                program: "auto",
                ..base()
            },
            script: vec![(30, Press)],
            until: 7200,
            then: vec![
                "journal phase_offered",
                "say sys.phase_offer",
                "ended Completed",
            ],
            never: vec!["say sys.voice_check_offer"],
        },
        no_offer_after_a_session(
            "no_offer_without_a_listener",
            Shell {
                hearing: Hearing::Failed,
                ..base()
            },
        ),
        no_offer_after_a_session(
            "no_offer_once_a_check_has_been_done",
            Shell {
                history: checked_once(),
                ..base()
            },
        ),
        Row {
            name: "no_speaker_the_led_shows_it_and_a_press_waits_for_it",
            shell: base(),
            script: vec![
                (20, Lost(Speaker)),
                (30, Press),
                (40, Back(Speaker)),
                (50, Press),
            ],
            until: 120,
            then: vec![
                "led Error",
                "log no speaker: the session starts once it is back",
                "led Idle",
                "read_history",
            ],
            never: vec![],
        },
        Row {
            name: "a_lost_microphone_is_said_once_and_the_session_learns_of_it",
            shell: Shell {
                history: checked_once(),
                ..base()
            },
            script: vec![
                (20, Lost(Microphone)),
                (40, Back(Microphone)),
                (50, Lost(Microphone)),
                (70, Press),
            ],
            until: 120,
            then: vec![
                "led Error",
                "say sys.no_microphone",
                "led Idle",
                "led Error",
                "begin",
                "journal device_lost",
            ],
            never: vec![],
        },
        Row {
            name: "a_program_refused_after_back_surgery_is_said_not_shown",
            shell: Shell {
                program: "baov_week_three",
                ..base()
            },
            script: vec![(30, Press)],
            until: 120,
            then: vec![
                "read_history",
                "log program `baov_week_three`",
                "say sys.surgery",
            ],
            never: vec!["begin", "preload"],
        },
        Row {
            name: "every_exercise_resting_after_pain_is_said_not_shown",
            shell: Shell {
                history: every_exercise_hurt_yesterday(),
                ..base()
            },
            script: vec![(30, Press)],
            until: 120,
            then: vec![
                "read_history",
                "log program `quick`: every exercise rests after pain",
                "say sys.all_resting",
                "led Idle",
            ],
            never: vec!["begin", "preload", "led Error"],
        },
        Row {
            name: "phrases_that_cannot_be_loaded_the_led_shows_it_the_next_press_tries_again",
            shell: Shell {
                preload: Err("espeak-ng failed".into()),
                ..base()
            },
            script: vec![(30, Press), (60, Press)],
            until: 120,
            then: vec![
                "preload",
                "log espeak-ng failed",
                "led Error",
                "read_history",
                "preload",
            ],
            never: vec!["begin"],
        },
        Row {
            name: "shutdown_during_a_session_silences_it_and_exits",
            shell: base(),
            script: vec![(30, Press), (90, Shutdown), (100, Press)],
            until: 200,
            then: vec!["begin", "stop", "log stopping", "exit"],
            never: vec!["ended"],
        },
        Row {
            name: "shutdown_while_starting_exits",
            shell: base(),
            script: vec![(0, Shutdown), (10, Press)],
            until: 60,
            then: vec!["exit"],
            never: vec!["read_history"],
        },
        Row {
            name: "a_pairing_code_asked_for_while_idle_is_said",
            shell: base(),
            script: vec![(30, SayCode), (90, Press)],
            until: 200,
            then: vec![
                "say sys.ready",
                "log saying a pairing code",
                "say sys.pairing_code",
                "led Idle",
                "read_history",
                "begin",
            ],
            never: vec![],
        },
        Row {
            name: "a_pairing_code_asked_for_during_a_session_is_not_said",
            shell: base(),
            script: vec![(30, Press), (60, SayCode)],
            until: 120,
            then: vec!["begin", "log pairing code not said"],
            never: vec!["say sys.pairing_code"],
        },
        Row {
            name: "a_journal_lost_between_sessions_shows_on_the_led_and_comes_back",
            shell: base(),
            script: vec![(30, Lost(Journal)), (60, Back(Journal))],
            until: 120,
            then: vec!["led Idle", "led Error", "led Idle"],
            never: vec!["read_history"],
        },
        Row {
            // Issue 15, item 3: the journal's last session is later than
            // the clock now. The coach still coaches, counting sessions.
            name: "a_clock_gone_backwards_is_logged_and_the_session_still_runs",
            shell: Shell {
                history: {
                    let mut b = Boots::new(at("2026-12-05", "09:00"));
                    b.session("quick", &[], &[]);
                    History {
                        voice_checks: checked_once().voice_checks,
                        ..b.history()
                    }
                },
                ..base()
            },
            script: vec![(30, Press)],
            until: 7200,
            then: vec![
                "read_history",
                "log the clock went backwards",
                "log today: quick",
                "begin",
                "ended Completed",
            ],
            never: vec!["led Error"],
        },
    ]
}

fn run_row(name: &str) {
    match rows().into_iter().find(|r| r.name == name) {
        Some(row) => check(&row),
        None => panic!("no row {name}"),
    }
}

/// One test per row, so that a failing row runs alone by its name.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_row(stringify!($name));
            }
        )*
        const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

scenarios!(
    start_up_says_ready_and_waits,
    without_a_listener_the_coach_says_voice_commands_are_off,
    voice_commands_turned_off_in_the_config_are_not_announced,
    a_speaker_that_never_reports_does_not_hang_the_start_up,
    a_press_starts_today_s_program_which_runs_to_its_end,
    a_long_press_while_idle_starts_nothing,
    voice_commands_while_idle_start_nothing,
    presses_during_a_session_are_journaled_a_long_press_ends_it,
    after_the_first_session_the_voice_check_is_offered_a_press_runs_it,
    an_offer_not_taken_lapses_and_the_next_press_starts_a_session,
    a_long_press_declines_the_offer_at_once,
    no_offer_after_pain,
    no_offer_after_the_offer_of_the_next_phase,
    no_offer_without_a_listener,
    no_offer_once_a_check_has_been_done,
    no_speaker_the_led_shows_it_and_a_press_waits_for_it,
    a_lost_microphone_is_said_once_and_the_session_learns_of_it,
    a_program_refused_after_back_surgery_is_said_not_shown,
    every_exercise_resting_after_pain_is_said_not_shown,
    phrases_that_cannot_be_loaded_the_led_shows_it_the_next_press_tries_again,
    shutdown_during_a_session_silences_it_and_exits,
    shutdown_while_starting_exits,
    a_pairing_code_asked_for_while_idle_is_said,
    a_pairing_code_asked_for_during_a_session_is_not_said,
    a_journal_lost_between_sessions_shows_on_the_led_and_comes_back,
    a_clock_gone_backwards_is_logged_and_the_session_still_runs,
);

#[test]
fn every_row_has_its_test() {
    let rows: Vec<_> = rows().iter().map(|r| r.name).collect();
    assert_eq!(rows, NAMES);
}

#[test]
fn shutdown_is_final() {
    let mut rig = Rig::new(Shell::default());
    rig.run(&[(5, Ev::Shutdown)], 10);
    let n = rig.trace.len();
    rig.feed(Duration::from_secs(20), Input::ButtonPressed.into());
    rig.feed(Duration::from_secs(21), Input::ButtonReleased.into());
    rig.feed(Duration::from_secs(22), Event::Shutdown);
    assert_eq!(rig.trace.len(), n, "{:?}", rig.trace);
    assert!(rig.app.stopped());
}
