//! The tokio shell with test doubles, under paused (virtual) time: a whole
//! program runs in milliseconds of real time.

mod common;

use common::*;
use matcoach::content::Lang;
use matcoach::devices::{Indicator, Journal};
use matcoach::session::{EndReason, Input, JournalEvent, Led};
use matcoach::session_loop::{self, PacedSpeaker, Shown};
use matcoach::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Default, Clone)]
struct FakeIndicator(Arc<Mutex<Vec<Led>>>);

impl Indicator for FakeIndicator {
    fn set(&mut self, led: Led) {
        self.0.lock().unwrap().push(led);
    }
}

#[derive(Default, Clone)]
struct FakeJournal(Arc<Mutex<Vec<(Duration, JournalEvent)>>>);

impl Journal for FakeJournal {
    fn record(&mut self, at: Duration, event: &JournalEvent) {
        self.0.lock().unwrap().push((at, event.clone()));
    }
}

type Said = Arc<Mutex<Vec<(Duration, Shown)>>>;

struct Rig {
    said: Said,
    leds: FakeIndicator,
    journal: FakeJournal,
    reason: Option<EndReason>,
    elapsed: Duration,
}

/// Run `program` through `session_loop::run`, with `script` sending inputs at
/// virtual times from the start.
async fn run_app(program: &str, script: Vec<(Duration, Input)>) -> Rig {
    let (tx, mut rx) = mpsc::channel(session_loop::INPUT_QUEUE);
    let t0 = Instant::now();
    let said: Said = Default::default();
    let log = said.clone();
    let mut speaker = PacedSpeaker::spawn(tx.clone(), move |shown| {
        log.lock().unwrap().push((t0.elapsed(), shown));
    });
    let mut leds = FakeIndicator::default();
    let mut journal = FakeJournal::default();
    let sender = tx.clone();
    tokio::spawn(async move {
        for (at, input) in script {
            tokio::time::sleep_until(t0 + at).await;
            if sender.send(input).await.is_err() {
                return;
            }
        }
    });
    drop(tx);
    let mut session = session(program, Lang::En);
    let reason =
        session_loop::run(&mut session, &mut speaker, &mut leds, &mut journal, &mut rx).await;
    Rig {
        said,
        leds,
        journal,
        reason,
        elapsed: t0.elapsed(),
    }
}

fn press_release(at: Duration) -> Vec<(Duration, Input)> {
    vec![
        (at, Input::ButtonPressed),
        (at + Duration::from_millis(120), Input::ButtonReleased),
    ]
}

#[tokio::test(start_paused = true)]
async fn a_whole_program_runs_in_virtual_time() {
    let real = std::time::Instant::now();
    let rig = run_app("hf_mobilise_then_stabilise", press_release(Duration::ZERO)).await;
    assert_eq!(rig.reason, Some(EndReason::Completed));
    assert_eq!(*rig.leds.0.lock().unwrap(), vec![Led::Running, Led::Idle]);
    // The same length as the simulator's plan (both pace speech alike).
    let (planned, _) = plan("hf_mobilise_then_stabilise", Lang::En).end().unwrap();
    let diff = rig.elapsed.abs_diff(planned);
    assert!(
        diff < Duration::from_secs(2),
        "app {:?} vs plan {planned:?}",
        rig.elapsed
    );
    assert!(
        real.elapsed() < Duration::from_secs(30),
        "virtual time, not real time"
    );

    // The bridge's counts, as heard, are one second apart.
    let said = rig.said.lock().unwrap();
    let holds: Vec<Duration> = said
        .iter()
        .filter(|(_, s)| matches!(s, Shown::Said(l, _) if l.id.0 == "sys.hold"))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(holds.len(), 10);
    let h = holds[0];
    let counts: Vec<Duration> = said
        .iter()
        .filter(|(t, s)| {
            *t > h
                && *t <= h + Duration::from_secs(10)
                && matches!(s, Shown::Said(l, _) if l.id.0.starts_with("sys.count."))
        })
        .map(|(t, _)| *t - h)
        .collect();
    let want: Vec<Duration> = (1..=10).map(Duration::from_secs).collect();
    // The count starts within a few ms of its slot (the speaker queue is
    // empty during a hold); virtual time makes it exact.
    assert_eq!(counts, want);
    let events = rig.journal.0.lock().unwrap();
    assert!(matches!(
        events.first(),
        Some((_, JournalEvent::SessionStarted { .. }))
    ));
    assert!(matches!(
        events.last(),
        Some((
            _,
            JournalEvent::SessionEnded {
                reason: EndReason::Completed,
                ..
            }
        ))
    ));
}

#[tokio::test(start_paused = true)]
async fn pain_cuts_the_speaker_off_and_is_journaled() {
    let plan = plan("hf_mobilise_then_stabilise", Lang::En);
    let pain_at = plan.first_said("sys.hold") + Duration::from_secs(3);
    let mut script = press_release(Duration::ZERO);
    script.push((pain_at, Input::Heard(Command::Pain)));
    let rig = run_app("hf_mobilise_then_stabilise", script).await;
    assert_eq!(rig.reason, Some(EndReason::Completed));
    let said = rig.said.lock().unwrap();
    let stop = said
        .iter()
        .position(|(_, s)| *s == Shown::Stopped)
        .expect("speech was stopped");
    let (t_stop, _) = said[stop];
    assert!(
        t_stop.abs_diff(pain_at) < Duration::from_millis(50),
        "{t_stop:?} vs {pain_at:?}"
    );
    match &said[stop + 1] {
        (t, Shown::Said(line, _)) => {
            assert_eq!(line.id.0, "safety.pain_stops_exercise.lying");
            assert!(t.abs_diff(pain_at) < Duration::from_millis(50));
        }
        other => panic!("expected the safety line, got {other:?}"),
    }
    let events = rig.journal.0.lock().unwrap();
    assert!(events.iter().any(
        |(_, e)| matches!(e, JournalEvent::Pain { exercise: Some(x), .. } if x == "hf_bridge")
    ));
}

#[tokio::test(start_paused = true)]
async fn the_loop_ends_when_inputs_close_and_nothing_is_pending() {
    // Never started: no deadline, and the only sender goes away.
    let (tx, mut rx) = mpsc::channel::<Input>(1);
    drop(tx);
    let mut session = session("quick", Lang::En);
    let (stx, _srx) = mpsc::channel(1);
    let mut speaker = PacedSpeaker::spawn(stx, |_| {});
    let reason = session_loop::run(
        &mut session,
        &mut speaker,
        &mut FakeIndicator::default(),
        &mut FakeJournal::default(),
        &mut rx,
    )
    .await;
    assert_eq!(reason, None);
}
