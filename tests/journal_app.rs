//! The journal in the coach's tokio shell, the way the daemon and the demo
//! use it: `JournalWriter` as the `app::Journal`, today's program from
//! `adapt::plan` on the writer's history, and a journal that fails without
//! stopping the session.

mod journal_support;

use journal_support::*;
use matcoach::adapt::{self, Rules};
use matcoach::app::{self, Indicator, PacedSpeaker};
use matcoach::content::Lang;
use matcoach::journal::{JournalWriter, OpenOptions, Outcome, Source};
use matcoach::session::{self, EndReason, Input, Led, Session, SessionConfig};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

struct NoLed;

impl Indicator for NoLed {
    fn set(&mut self, _: Led) {}
}

/// One session of today's `auto` program through `app::run`.
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
    let cfg = SessionConfig::default();
    let script =
        session::compile(content(), &today.program, Lang::En, &cfg, &today.maxima).unwrap();
    let mut s = Session::new(
        script,
        cfg,
        content().phrases.clone(),
        content().safety.clone(),
    );
    writer.begin(
        date(day).at_midnight().plus(Duration::from_secs(8 * 3600)),
        Some(today.note(Source::Coach)),
    );
    let (tx, mut rx) = mpsc::channel(app::INPUT_QUEUE);
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
    let reason = app::run(&mut s, &mut speaker, &mut NoLed, writer, &mut rx).await;
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
