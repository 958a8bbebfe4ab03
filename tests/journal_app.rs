//! The journal in the coach's tokio shell, the way the daemon and the demo
//! use it: `JournalWriter` as the `session_loop::Journal`, today's program from
//! `adapt::plan` on the writer's history, and a journal that fails without
//! stopping the session.

mod common;
use common::journal_support;

use journal_support::*;
use matcoach::adapt::{self, Rules};
use matcoach::content::Lang;
use matcoach::devices::Indicator;
use matcoach::journal::{JournalWriter, OpenOptions, Outcome, Source};
use matcoach::session::{self, EndReason, Input, Led, Session, SessionConfig};
use matcoach::session_loop::{self, PacedSpeaker};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

struct NoLed;

impl Indicator for NoLed {
    fn set(&mut self, _: Led) {}
}

/// One session of today's `auto` program through `session_loop::run`.
async fn coach_once(
    writer: &mut JournalWriter,
    day: &str,
    inputs: Vec<(Duration, Input)>,
) -> (Option<EndReason>, adapt::Today) {
    let history = writer.history(Duration::from_secs(10)).unwrap_or_default();
    let today = adapt::plan(
        content(),
        &Rules::default(),
        &history,
        date(day),
        adapt::AUTO,
    )
    .unwrap();
    let mut s = session_today(content(), &today);
    writer.begin(
        date(day).at_midnight().plus(Duration::from_secs(8 * 3600)),
        Some(today.note(Source::Coach)),
    );
    let (tx, mut rx) = mpsc::channel(session_loop::INPUT_QUEUE);
    let mut speaker = PacedSpeaker::spawn(tx.clone(), |_| {});
    let t0 = tokio::time::Instant::now();
    let sender = tx.clone();
    let handle = writer.handle();
    let plan = today.clone();
    tokio::spawn(async move {
        for (at, input) in inputs {
            tokio::time::sleep_until(t0 + at).await;
            if input == Input::ButtonPressed {
                handle.button_pressed(at);
            }
            // What the shell does with every input: the max test's "stop".
            if sender.send(plan.input(input)).await.is_err() {
                return;
            }
        }
    });
    drop(tx);
    let reason = session_loop::run(&mut s, &mut speaker, &mut NoLed, writer, &mut rx).await;
    (reason, today)
}

fn press() -> Vec<(Duration, Input)> {
    vec![
        (Duration::ZERO, Input::ButtonPressed),
        (Duration::from_millis(120), Input::ButtonReleased),
    ]
}

#[tokio::test(start_paused = true)]
async fn the_shell_journals_sessions_and_adapts_the_next_day() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let started = JournalWriter::start(&path, &OpenOptions::default());
    assert!(started.error.is_none() && started.recovered.is_none());
    let mut writer = started.writer;
    // Day 1 (morning_mobility): pain 100 s into the session.
    let mut inputs = press();
    inputs.push((
        Duration::from_secs(100),
        Input::Heard(matcoach::Command::Pain),
    ));
    let (reason, today) = coach_once(&mut writer, "2025-03-03", inputs).await;
    assert_eq!(reason, Some(EndReason::Completed));
    assert_eq!(today.program.id(), "morning_mobility");
    let h = writer.history(Duration::from_secs(10)).unwrap();
    let s = &h.sessions[0];
    assert_eq!(s.outcome, Outcome::Completed);
    assert_eq!(s.source, "coach");
    assert_eq!(s.button_presses, 1);
    assert_eq!(s.pains.len(), 1);
    let hurt = s.pains[0].exercise.clone().unwrap();
    // Day 2: another program, and what hurt rests if it is in it.
    let (reason, today) = coach_once(&mut writer, "2025-03-04", press()).await;
    assert_eq!(reason, Some(EndReason::Completed));
    assert_ne!(today.program.id(), "morning_mobility");
    assert!(!today
        .program
        .items
        .iter()
        .any(|i| i.exercise.get_ref() == &hurt));
    let report = writer.finish();
    assert!(report.complete(), "{report:?}");
    assert!(report.fault.is_none());
}

fn unwritable(dir: &Path) -> std::path::PathBuf {
    // A path under a regular file can never be created, root or not.
    let file = dir.join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    file.join("journal.sqlite")
}

#[tokio::test(start_paused = true)]
async fn a_journal_that_cannot_be_written_does_not_stop_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let started = JournalWriter::start(&unwritable(dir.path()), &OpenOptions::default());
    let e = started.error.clone().expect("an error");
    assert!(e.to_string().contains("fix:"), "{e}");
    let mut writer = started.writer;
    // The shell polls this to show the fault (LED).
    assert!(matches!(writer.fault_changed(), Some(Some(_))));
    assert!(writer.history(Duration::from_secs(10)).is_err());
    let (reason, _) = coach_once(&mut writer, "2025-03-03", press()).await;
    assert_eq!(reason, Some(EndReason::Completed), "coaching goes on");
    let report = writer.finish();
    assert!(!report.complete());
    assert!(report.fault.is_some());
}

// ---- journal faults: the LED shows them, the coaching goes on ---------------

use matcoach::devices::Journal;
use matcoach::session::JournalEvent;
use matcoach::session_loop::Shown;
use std::sync::{Arc, Mutex};

/// A journal that fails when told to, behind the same trait the shell uses
/// (a read-only or full disk is hard to make on cue, even as root).
#[derive(Clone, Default)]
struct FaultyJournal(Arc<Mutex<Faulty>>);

#[derive(Default)]
struct Faulty {
    failing: bool,
    changed: bool,
    written: Vec<JournalEvent>,
    waiting: Vec<JournalEvent>,
}

impl FaultyJournal {
    fn set_failing(&self, failing: bool) {
        let mut f = self.0.lock().unwrap();
        if f.failing != failing {
            f.failing = failing;
            f.changed = true;
        }
        if !failing {
            // What waited is written once the disk works again.
            let waiting = std::mem::take(&mut f.waiting);
            f.written.extend(waiting);
        }
    }
}

impl Journal for FaultyJournal {
    fn record(&mut self, _at: Duration, event: &JournalEvent) {
        let mut f = self.0.lock().unwrap();
        if f.failing {
            f.waiting.push(event.clone());
        } else {
            f.written.push(event.clone());
        }
    }

    fn failing_changed(&mut self) -> Option<bool> {
        let mut f = self.0.lock().unwrap();
        std::mem::take(&mut f.changed).then_some(f.failing)
    }
}

/// An LED that remembers when it showed what.
#[derive(Clone, Default)]
struct Leds(
    Arc<Mutex<Vec<(Duration, Led)>>>,
    Option<tokio::time::Instant>,
);

impl Indicator for Leds {
    fn set(&mut self, led: Led) {
        let t0 = *self.1.get_or_insert_with(tokio::time::Instant::now);
        self.0.lock().unwrap().push((t0.elapsed(), led));
    }
}

/// `program` through `session_loop::run` with `journal`; what was said, and when.
async fn coach_with(
    program: &str,
    journal: &mut dyn Journal,
    leds: &mut Leds,
    at: impl FnOnce(tokio::time::Instant) + Send + 'static,
) -> (Option<EndReason>, Vec<(Duration, String)>) {
    let cfg = SessionConfig::default();
    let p = content().program(program).unwrap();
    let script = session::compile(content(), p, Lang::En, &cfg, &()).unwrap();
    let mut s = Session::new(
        script,
        cfg,
        content().phrases.clone(),
        content().safety.clone(),
    );
    let (tx, mut rx) = mpsc::channel(session_loop::INPUT_QUEUE);
    let t0 = tokio::time::Instant::now();
    leds.1 = Some(t0);
    let said = Arc::new(Mutex::new(Vec::new()));
    let log = said.clone();
    let mut speaker = PacedSpeaker::spawn(tx.clone(), move |shown| {
        if let Shown::Said(line, _) = shown {
            log.lock().unwrap().push((t0.elapsed(), line.id.0));
        }
    });
    at(t0);
    tx.send(Input::ButtonPressed).await.unwrap();
    tx.send(Input::ButtonReleased).await.unwrap();
    let reason = session_loop::run(&mut s, &mut speaker, leds, journal, &mut rx).await;
    drop(tx);
    let said = said.lock().unwrap().clone();
    (reason, said)
}

#[tokio::test(start_paused = true)]
async fn a_journal_fault_shows_on_the_led_and_the_session_goes_on() {
    let journal = FaultyJournal::default();
    let control = journal.clone();
    let fails = Duration::from_secs(30);
    let works = Duration::from_secs(120);
    let mut leds = Leds::default();
    let (reason, said) = coach_with("quick", &mut journal.clone(), &mut leds, move |t0| {
        tokio::spawn(async move {
            tokio::time::sleep_until(t0 + fails).await;
            control.set_failing(true);
            tokio::time::sleep_until(t0 + works).await;
            control.set_failing(false);
        });
    })
    .await;
    assert_eq!(reason, Some(EndReason::Completed), "coaching goes on");
    let leds = leds.0.lock().unwrap().clone();
    // Running; the error within a second of the fault (the loop polls the
    // journal), kept until it works again; running again; idle at the end.
    let shown: Vec<Led> = leds.iter().map(|(_, l)| *l).collect();
    assert_eq!(
        shown,
        [Led::Running, Led::Error, Led::Running, Led::Idle],
        "{leds:?}"
    );
    assert!(
        leds[1].0 >= fails && leds[1].0 <= fails + Duration::from_secs(1),
        "{leds:?}"
    );
    assert!(
        leds[2].0 >= works && leds[2].0 <= works + Duration::from_secs(1),
        "{leds:?}"
    );
    // No pause for a journal fault; one calm notice, at the next exercise
    // (knee rolls begin at about 74 s).
    let notices: Vec<_> = said
        .iter()
        .filter(|(_, id)| id == "sys.journal_fault")
        .collect();
    assert_eq!(notices.len(), 1, "{said:?}");
    assert!(notices[0].0 > fails && notices[0].0 < works, "{notices:?}");
    assert!(!said.iter().any(|(_, id)| id == "sys.paused"));
    // Every exercise was done, and everything reached the journal in the end,
    // the fault itself included.
    let f = journal.0.lock().unwrap();
    assert!(f.waiting.is_empty());
    let done = f
        .written
        .iter()
        .filter(|e| matches!(e, JournalEvent::ExerciseDone { .. }))
        .count();
    assert_eq!(done, 3);
    assert!(f.written.contains(&JournalEvent::DeviceLost {
        device: session::DeviceKind::Journal
    }));
    assert!(f.written.contains(&JournalEvent::DeviceBack {
        device: session::DeviceKind::Journal
    }));
}

#[tokio::test(start_paused = true)]
async fn a_fault_that_clears_before_the_next_exercise_is_not_mentioned() {
    let journal = FaultyJournal::default();
    let control = journal.clone();
    let mut leds = Leds::default();
    let (reason, said) = coach_with("quick", &mut journal.clone(), &mut leds, move |t0| {
        tokio::spawn(async move {
            tokio::time::sleep_until(t0 + Duration::from_secs(20)).await;
            control.set_failing(true);
            tokio::time::sleep_until(t0 + Duration::from_secs(25)).await;
            control.set_failing(false);
        });
    })
    .await;
    assert_eq!(reason, Some(EndReason::Completed));
    assert!(
        !said.iter().any(|(_, id)| id == "sys.journal_fault"),
        "{said:?}"
    );
    let shown: Vec<Led> = leds.0.lock().unwrap().iter().map(|(_, l)| *l).collect();
    assert_eq!(shown, [Led::Running, Led::Error, Led::Running, Led::Idle]);
}

#[tokio::test(start_paused = true)]
async fn a_journal_that_fails_from_the_start_shows_on_the_led_throughout() {
    // A read-only disk when we may mount one (root), else a path that can
    // never be created; either way the real writer, as the daemon uses it.
    let dir = tempfile::tempdir().unwrap();
    let tmpfs = if is_root() {
        Tmpfs::mount(&dir.path().join("ro"), 1024).filter(|fs| fs.remount("ro"))
    } else {
        None
    };
    let path = match &tmpfs {
        Some(fs) => fs.dir.join("journal.sqlite"),
        None => unwritable(dir.path()),
    };
    let started = JournalWriter::start(&path, &OpenOptions::default());
    let e = started.error.clone().expect("an error");
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("fix:"),
        "{msg}"
    );
    if tmpfs.is_some() {
        assert!(
            msg.contains("read-only") && msg.contains("coaching goes on"),
            "{msg}"
        );
    }
    let mut writer = started.writer;
    let mut leds = Leds::default();
    let (reason, said) = coach_with("quick", &mut writer, &mut leds, |_| {}).await;
    assert_eq!(reason, Some(EndReason::Completed));
    let shown: Vec<Led> = leds.0.lock().unwrap().iter().map(|(_, l)| *l).collect();
    assert!(
        !shown.is_empty() && shown.iter().all(|l| *l == Led::Error),
        "{shown:?}"
    );
    let notices = said
        .iter()
        .filter(|(_, id)| id == "sys.journal_fault")
        .count();
    assert_eq!(notices, 1, "{said:?}");
    let report = writer.finish();
    assert!(!report.complete());
    drop(tmpfs);
}
