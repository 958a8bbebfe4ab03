//! A device unplugged mid-session, under paused (virtual) time: the shell's
//! `keep_open` watches a fake device that injects the faults, tells the
//! session, retries every 3 s, and tells it again when the device is back.

mod common;

use common::*;
use matcoach::content::Lang;
use matcoach::devices::{Indicator, Journal, Reopen, Standby};
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
    /// What the shell did to it, and when: "close", "wake", "reopen"
    /// (failed tries included).
    calls: Vec<(Duration, &'static str)>,
}

/// A device whose faults the test injects.
#[derive(Clone)]
struct FakeDevice {
    kind: DeviceKind,
    t0: Instant,
    plug: Arc<Mutex<Plug>>,
    standby: Option<Arc<Standby>>,
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
            standby: None,
        }
    }

    /// The device with a standby after `after`, allowed from the start.
    fn with_standby(kind: DeviceKind, t0: Instant, after: Duration) -> FakeDevice {
        let standby = Standby::new(after, t0.into_std());
        standby.allow(true, t0.into_std());
        FakeDevice {
            standby: Some(standby),
            ..FakeDevice::new(kind, t0)
        }
    }

    fn call(&self, what: &'static str) {
        self.plug
            .lock()
            .unwrap()
            .calls
            .push((self.t0.elapsed(), what));
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
        self.call("close");
        self.plug.lock().unwrap().open = false;
    }

    fn standby(&self) -> Option<Arc<Standby>> {
        self.standby.clone()
    }

    fn wake(&mut self) -> Result<String, Unplugged> {
        self.call("wake");
        let mut p = self.plug.lock().unwrap();
        if p.unplugged {
            return Err(Unplugged);
        }
        p.open = true;
        Ok("fake device".into())
    }

    fn reopen(&mut self) -> Result<String, Unplugged> {
        self.call("reopen");
        if let Some(s) = &self.standby {
            s.forget_queued();
        }
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
    let keeper = keep_quietly(device.clone(), tx.clone());
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
    let keeper = keep_quietly(device.clone(), tx);
    tokio::time::sleep(s(1)).await;
    assert!(!keeper.is_finished());
    drop(rx);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(keeper.is_finished(), "it looks every 100 ms");
    // Also while it retries a lost device.
    let (tx, rx) = mpsc::channel(session_loop::INPUT_QUEUE);
    device.unplug();
    let keeper = keep_quietly(device, tx);
    tokio::time::sleep(s(1)).await;
    drop(rx);
    tokio::time::sleep(s(4)).await;
    assert!(keeper.is_finished(), "it stops at the next retry");
}

/// What a standby scenario does to the device, at a virtual time.
#[derive(Clone, Copy, Debug)]
enum Use {
    /// A sound of this length queued and played (taken at once while the
    /// device is open, else once it has woken).
    Play(Duration),
    /// A command queued that the device does not take until the next
    /// `Play` (a stream that has not come round to it yet).
    Queue,
    /// Standby allowed (idle) or not (a session runs).
    Allow(bool),
    Unplug,
    PlugIn,
}

struct StandbyCase {
    name: &'static str,
    script: &'static [(u64, Use)],
    /// Run until (ms).
    until: u64,
    /// What keep_open did to the device, each within 100 ms after the time
    /// given (ms): the watch looks every 100 ms.
    calls: &'static [(u64, &'static str)],
    /// The inputs it sent the session.
    told: &'static [Input],
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const STANDBY_CASES: &[StandbyCase] = &[
    StandbyCase {
        name: "standby 10 s after the last sound; the next sound wakes it at once",
        script: &[
            (1_000, Use::Play(ms(2_000))),
            (20_000, Use::Play(ms(1_000))),
        ],
        until: 40_000,
        calls: &[(13_000, "close"), (20_000, "wake"), (31_000, "close")],
        told: &[],
    },
    StandbyCase {
        name: "never while a session runs, however long it is quiet",
        script: &[(0, Use::Allow(false)), (1_000, Use::Play(ms(2_000)))],
        until: 60_000,
        calls: &[],
        told: &[],
    },
    StandbyCase {
        name: "a session starting (standby forbidden) wakes it before its first sound",
        script: &[(15_000, Use::Allow(false)), (30_000, Use::Allow(true))],
        until: 45_000,
        calls: &[(10_000, "close"), (15_000, "wake"), (40_000, "close")],
        told: &[],
    },
    StandbyCase {
        name: "a command queued and not yet taken keeps it open",
        script: &[(0, Use::Queue), (30_000, Use::Play(ms(0)))],
        until: 45_000,
        calls: &[(40_000, "close")],
        told: &[],
    },
    StandbyCase {
        name: "unplugged in standby: the sound that wakes it finds it gone, and it is retried",
        script: &[
            (12_000, Use::Unplug),
            (15_000, Use::Play(ms(500))),
            (19_000, Use::PlugIn),
        ],
        until: 40_000,
        calls: &[
            (10_000, "close"),
            (15_000, "wake"),
            (18_000, "reopen"),
            (21_000, "reopen"),
            (31_000, "close"),
        ],
        told: &[
            Input::DeviceLost(DeviceKind::Speaker),
            Input::DeviceBack(DeviceKind::Speaker),
        ],
    },
];

/// `keep_open` on `device`, its log ignored.
fn keep_quietly(device: FakeDevice, tx: mpsc::Sender<Input>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(session_loop::keep_open(
        device,
        tx,
        session_loop::DEVICE_RETRY,
        |_| {},
    ))
}

/// Run one standby scenario under `keep_open` in virtual time.
async fn standby_case(case: &'static StandbyCase) {
    let (tx, mut rx) = mpsc::channel(session_loop::INPUT_QUEUE);
    let t0 = Instant::now();
    let device = FakeDevice::with_standby(DeviceKind::Speaker, t0, s(10));
    let standby = device.standby.clone().unwrap();
    let keeper = keep_quietly(device.clone(), tx.clone());
    // The device's audio thread: takes what is queued while it is open,
    // and is busy while a sound plays.
    let fake = device.clone();
    let player = tokio::spawn(async move {
        let mut playing_until: Option<Instant> = None;
        let mut waiting = 0u64;
        let mut held = 0u64;
        let mut script = case.script.iter().peekable();
        loop {
            let now = Instant::now();
            while let Some((at, what)) = script.next_if(|(at, _)| t0 + ms(*at) <= now) {
                let _ = at;
                match *what {
                    Use::Play(d) => {
                        waiting += 1 + std::mem::take(&mut held);
                        standby.asked();
                        playing_until = Some(now + d);
                    }
                    Use::Queue => {
                        held += 1;
                        standby.asked();
                    }
                    Use::Allow(a) => standby.allow(a, now.into_std()),
                    Use::Unplug => fake.unplug(),
                    Use::PlugIn => fake.plug_in(),
                }
            }
            if fake.plug.lock().unwrap().open {
                let busy = playing_until.is_some_and(|u| now <= u);
                standby.took(now.into_std(), std::mem::take(&mut waiting), busy);
            }
            // A block every 20 ms, as an audio callback.
            tokio::time::sleep(ms(20)).await;
        }
    });
    tokio::time::sleep(ms(case.until)).await;
    keeper.abort();
    player.abort();
    let calls = device.plug.lock().unwrap().calls.clone();
    let names: Vec<&str> = calls.iter().map(|(_, c)| *c).collect();
    let want: Vec<&str> = case.calls.iter().map(|(_, c)| *c).collect();
    assert_eq!(names, want, "{}: {calls:?}", case.name);
    for ((t, c), (at, _)) in calls.iter().zip(case.calls) {
        assert!(
            *t >= ms(*at) && *t <= ms(*at + 120),
            "{}: {c} at {t:?}, wanted {at} ms (+100): {calls:?}",
            case.name
        );
    }
    let mut told = Vec::new();
    while let Ok(i) = rx.try_recv() {
        told.push(i);
    }
    assert_eq!(told, case.told, "{}", case.name);
    let asleep_at_end = calls.last().is_some_and(|(_, c)| *c == "close");
    assert_eq!(
        device.standby.unwrap().asleep(),
        asleep_at_end,
        "{}: the flag follows the calls",
        case.name
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_speaker_stands_by_and_wakes_when_wanted() {
    for case in STANDBY_CASES {
        standby_case(case).await;
    }
}
