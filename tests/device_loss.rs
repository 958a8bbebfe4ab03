//! A device unplugged mid-session, under paused (virtual) time: the shell's
//! `keep_open` watches a fake device that injects the faults, tells the
//! session, retries every 3 s, and tells it again when the device is back.

mod common;

use common::*;
use matcoach::content::Lang;
use matcoach::devices::{Indicator, Journal, Reopen};
use matcoach::session::{DeviceKind, EndReason, Input, JournalEvent, Led};
use matcoach::session_loop::{self, PacedSpeaker, Shown};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Default, Clone)]
struct Leds(Arc<Mutex<Vec<(Duration, Led)>>>);

struct FakeIndicator {
    t0: Instant,
    leds: Leds,
}

impl Indicator for FakeIndicator {
    fn set(&mut self, led: Led) {
        self.leds.0.lock().unwrap().push((self.t0.elapsed(), led));
    }
}

#[derive(Default, Clone)]
struct FakeJournal(Arc<Mutex<Vec<(Duration, JournalEvent)>>>);

impl Journal for FakeJournal {
    fn record(&mut self, at: Duration, event: &JournalEvent) {
        self.0.lock().unwrap().push((at, event.clone()));
    }
}

/// What the test does to the fake device, and what the shell did to it.
#[derive(Default)]
struct Plug {
    /// Unplugged: the open stream failed, and opening fails.
    unplugged: bool,
    /// The stream failed (set on unplugging; cleared by a reopen).
    failed: bool,
    open: bool,
    /// When the shell tried to open it, and whether that worked.
    attempts: Vec<(Duration, bool)>,
}

/// A device whose faults the test injects.
#[derive(Clone)]
struct FakeDevice {
    kind: DeviceKind,
    t0: Instant,
    plug: Arc<Mutex<Plug>>,
}

#[derive(Debug)]
struct Unplugged;

impl std::fmt::Display for Unplugged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fake device: not plugged in")
    }
}

impl FakeDevice {
    fn new(kind: DeviceKind, t0: Instant) -> FakeDevice {
        FakeDevice {
            kind,
            t0,
            plug: Arc::new(Mutex::new(Plug {
                open: true,
                ..Plug::default()
            })),
        }
    }

    fn unplug(&self) {
        let mut p = self.plug.lock().unwrap();
        p.unplugged = true;
        p.failed = true;
    }

    fn plug_in(&self) {
        self.plug.lock().unwrap().unplugged = false;
    }
}

impl Reopen for FakeDevice {
    type Error = Unplugged;

    fn kind(&self) -> DeviceKind {
        self.kind
    }

    fn failed(&self) -> bool {
        self.plug.lock().unwrap().failed
    }

    fn close(&mut self) {
        self.plug.lock().unwrap().open = false;
    }

    fn reopen(&mut self) -> Result<String, Unplugged> {
        let mut p = self.plug.lock().unwrap();
        let ok = !p.unplugged;
        p.attempts.push((self.t0.elapsed(), ok));
        if ok {
            p.open = true;
            p.failed = false;
            Ok("fake device".into())
        } else {
            Err(Unplugged)
        }
    }
}

enum Step {
    Input(Input),
    Unplug,
    PlugIn,
}

struct Rig {
    said: Arc<Mutex<Vec<(Duration, Shown)>>>,
    leds: Leds,
    journal: FakeJournal,
    log: Arc<Mutex<Vec<(Duration, String)>>>,
    plug: Arc<Mutex<Plug>>,
    reason: Option<EndReason>,
}

impl Rig {
    fn leds_between(&self, from: Duration, to: Duration) -> Vec<Led> {
        self.leds
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, l)| *l)
            .collect()
    }

    fn journaled(&self, want: impl Fn(&JournalEvent) -> bool) -> Vec<Duration> {
        self.journal
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e)| want(e))
            .map(|(t, _)| *t)
            .collect()
    }

    fn said_between(&self, from: Duration, to: Duration) -> Vec<String> {
        self.said
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .filter_map(|(_, s)| match s {
                Shown::Said(l, _) => Some(l.id.0.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Run `program` with a fake `kind` device under `keep_open`, doing
/// `script` at virtual times from the start.
async fn run(program: &str, kind: DeviceKind, script: Vec<(Duration, Step)>) -> Rig {
    let (tx, mut rx) = mpsc::channel(session_loop::INPUT_QUEUE);
    let t0 = Instant::now();
    let said: Arc<Mutex<Vec<(Duration, Shown)>>> = Default::default();
    let shown = said.clone();
    let mut speaker = PacedSpeaker::spawn(tx.clone(), move |s| {
        shown.lock().unwrap().push((t0.elapsed(), s));
    });
    let leds = Leds::default();
    let mut indicator = FakeIndicator {
        t0,
        leds: leds.clone(),
    };
    let mut journal = FakeJournal::default();
    let device = FakeDevice::new(kind, t0);
    let log: Arc<Mutex<Vec<(Duration, String)>>> = Default::default();
    let lines = log.clone();
    let keeper = tokio::spawn(session_loop::keep_open(
        device.clone(),
        tx.clone(),
        session_loop::DEVICE_RETRY,
        move |m| lines.lock().unwrap().push((t0.elapsed(), m.to_string())),
    ));
    let sender = tx.clone();
    let fake = device.clone();
    tokio::spawn(async move {
        for (at, step) in script {
            tokio::time::sleep_until(t0 + at).await;
            match step {
                Step::Input(i) => {
                    if sender.send(i).await.is_err() {
                        return;
                    }
                }
                Step::Unplug => fake.unplug(),
                Step::PlugIn => fake.plug_in(),
            }
        }
    });
    drop(tx);
    let mut session = session(program, Lang::En);
    let reason = session_loop::run(
        &mut session,
        &mut speaker,
        &mut indicator,
        &mut journal,
        &mut rx,
    )
    .await;
    keeper.abort();
    Rig {
        said,
        leds,
        journal,
        log,
        plug: device.plug,
        reason,
    }
}

fn press(at: Duration) -> Vec<(Duration, Step)> {
    vec![
        (at, Step::Input(Input::ButtonPressed)),
        (
            at + Duration::from_millis(120),
            Step::Input(Input::ButtonReleased),
        ),
    ]
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

#[tokio::test(start_paused = true)]
async fn an_unplugged_speaker_pauses_the_session_until_it_is_back() {
    let real = std::time::Instant::now();
    let mut script = press(Duration::ZERO);
    script.push((s(20), Step::Unplug));
    // A press while it is gone does not resume: there is no voice.
    script.extend(press(s(25)));
    script.push((s(31), Step::PlugIn));
    // Back at the next retry (32.1 s); the user resumes.
    script.extend(press(s(40)));
    let rig = run("hf_mobilise_then_stabilise", DeviceKind::Speaker, script).await;

    // The session pauses at once (within one look at the device: 100 ms).
    let lost = rig.journaled(|e| {
        matches!(
            e,
            JournalEvent::DeviceLost {
                device: DeviceKind::Speaker
            }
        )
    });
    assert_eq!(lost.len(), 1, "one loss journaled");
    assert!(lost[0] >= s(20) && lost[0] <= s(20) + Duration::from_millis(100));
    let paused = rig.journaled(|e| matches!(e, JournalEvent::Paused { .. }));
    assert_eq!(paused, vec![lost[0]], "paused when the speaker went");
    // The LED: paused, then the fault pattern; the press at 25 s keeps it.
    assert_eq!(
        rig.leds_between(s(20), s(31)),
        vec![Led::Paused, Led::Error, Led::Error]
    );
    // Nothing but the "paused" line is said while it is gone.
    assert_eq!(
        rig.said_between(lost[0], s(32)),
        vec!["sys.paused".to_string()]
    );

    // Retries every 3 s in virtual time; the fourth one finds it back.
    let attempts = rig.plug.lock().unwrap().attempts.clone();
    let times: Vec<Duration> = attempts.iter().map(|(t, _)| *t).collect();
    let oks: Vec<bool> = attempts.iter().map(|(_, ok)| *ok).collect();
    assert_eq!(oks, vec![false, false, false, true], "{attempts:?}");
    for (k, t) in times.iter().enumerate() {
        assert_eq!(*t, lost[0] + s(3) * (k as u32 + 1), "{times:?}");
    }
    let back = rig.journaled(|e| {
        matches!(
            e,
            JournalEvent::DeviceBack {
                device: DeviceKind::Speaker
            }
        )
    });
    assert_eq!(back, vec![times[3]]);
    // Back: the LED shows the pause again, the coach says how to go on,
    // and the press resumes.
    assert_eq!(rig.leds_between(s(31), s(40)), vec![Led::Paused]);
    assert_eq!(
        rig.said_between(times[3], s(40)),
        vec!["sys.paused".to_string()]
    );
    assert_eq!(
        rig.leds_between(s(40), s(41)),
        vec![Led::Running],
        "resumed"
    );
    let resumed = rig.journaled(|e| matches!(e, JournalEvent::Resumed { .. }));
    assert_eq!(resumed.len(), 1);
    assert!(resumed[0] >= s(40));
    // And the program runs to its end.
    assert_eq!(rig.reason, Some(EndReason::Completed));
    assert!(rig.plug.lock().unwrap().open);
    // The log: one line for the loss, one error (not one per retry), one
    // for the return.
    let log: Vec<String> = rig
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(
        log,
        vec![
            "the speaker is gone; trying again every 3 s".to_string(),
            "fake device: not plugged in".to_string(),
            "the speaker is back: fake device".to_string(),
        ]
    );
    assert!(real.elapsed() < Duration::from_secs(30), "virtual time");
}

#[tokio::test(start_paused = true)]
async fn an_unplugged_microphone_shows_on_the_led_and_the_session_goes_on() {
    let mut script = press(Duration::ZERO);
    // Unplugged while the first exercise is being introduced (the coach is
    // talking, not waiting at the equipment line before it).
    script.push((s(29), Step::Unplug));
    script.push((s(37), Step::PlugIn));
    let rig = run("hf_mobilise_then_stabilise", DeviceKind::Microphone, script).await;
    let lost = rig.journaled(|e| matches!(e, JournalEvent::DeviceLost { .. }));
    assert_eq!(lost.len(), 1);
    // Not paused: the button still works, and the coach still talks.
    assert!(rig
        .journaled(|e| matches!(e, JournalEvent::Paused { .. }))
        .is_empty());
    assert!(!rig.said_between(s(30), s(37)).is_empty());
    assert_eq!(rig.leds_between(s(29), s(37)), vec![Led::Error]);
    let attempts = rig.plug.lock().unwrap().attempts.clone();
    assert_eq!(
        attempts,
        vec![
            (lost[0] + s(3), false),
            (lost[0] + s(6), false),
            (lost[0] + s(9), true)
        ]
    );
    // Back: the LED shows the session running again.
    assert_eq!(rig.leds_between(s(37), s(39)), vec![Led::Running]);
    assert_eq!(rig.reason, Some(EndReason::Completed));
}

#[tokio::test(start_paused = true)]
async fn a_speaker_lost_and_back_between_sessions_changes_only_the_led() {
    // Idle (never started): the session does not start or speak.
    let script = vec![(s(2), Step::Unplug), (s(4), Step::PlugIn)];
    let (tx, mut rx) = mpsc::channel(session_loop::INPUT_QUEUE);
    let t0 = Instant::now();
    let device = FakeDevice::new(DeviceKind::Speaker, t0);
    let keeper = tokio::spawn(session_loop::keep_open(
        device.clone(),
        tx.clone(),
        session_loop::DEVICE_RETRY,
        |_| {},
    ));
    let fake = device.clone();
    tokio::spawn(async move {
        for (at, step) in script {
            tokio::time::sleep_until(t0 + at).await;
            match step {
                Step::Unplug => fake.unplug(),
                Step::PlugIn => fake.plug_in(),
                Step::Input(_) => {}
            }
        }
    });
    let mut s = session("quick", Lang::En);
    let mut got = Vec::new();
    for _ in 0..2 {
        let input = rx.recv().await.unwrap();
        got.push((input, s.handle(std::time::Instant::now(), input)));
    }
    keeper.abort();
    assert_eq!(got[0].0, Input::DeviceLost(DeviceKind::Speaker));
    assert_eq!(got[1].0, Input::DeviceBack(DeviceKind::Speaker));
    let leds: Vec<_> = got
        .iter()
        .flat_map(|(_, actions)| actions.iter())
        .filter(|a| matches!(a, matcoach::session::Action::SetLed(_)))
        .cloned()
        .collect();
    assert_eq!(
        leds,
        vec![
            matcoach::session::Action::SetLed(Led::Error),
            matcoach::session::Action::SetLed(Led::Idle)
        ]
    );
    assert!(s.is_idle());
}

#[tokio::test(start_paused = true)]
async fn the_keeper_ends_when_the_coach_is_gone() {
    let (tx, rx) = mpsc::channel(session_loop::INPUT_QUEUE);
    let device = FakeDevice::new(DeviceKind::Speaker, Instant::now());
    let keeper = tokio::spawn(session_loop::keep_open(
        device.clone(),
        tx,
        session_loop::DEVICE_RETRY,
        |_| {},
    ));
    tokio::time::sleep(s(1)).await;
    assert!(!keeper.is_finished());
    drop(rx);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(keeper.is_finished(), "it looks every 100 ms");
    // Also while it retries a lost device.
    let (tx, rx) = mpsc::channel(session_loop::INPUT_QUEUE);
    device.unplug();
    let keeper = tokio::spawn(session_loop::keep_open(
        device,
        tx,
        session_loop::DEVICE_RETRY,
        |_| {},
    ));
    tokio::time::sleep(s(1)).await;
    drop(rx);
    tokio::time::sleep(s(4)).await;
    assert!(keeper.is_finished(), "it stops at the next retry");
}
