//! `matcoach demo`: a real-time session in the terminal. What the coach says
//! appears when it would be spoken; space is the button and letters stand in
//! for the voice commands.

use anyhow::{Context, Result};
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal;
use matcoach::app::{self, Indicator, Journal, PacedSpeaker, Shown};
use matcoach::session::{Command, Cue, Input, JournalEvent, Led, Priority, Session};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;
use tokio::sync::mpsc;

const KEYS: &str = "keys: space = button (start/pause/resume), e = long press (end), \
n = next, p = pain, s = stop, z = pause, c = resume, r = repeat, q = quit";

/// Print a line; in raw mode the terminal needs an explicit carriage return.
fn say(raw: bool, text: &str) {
    let mut out = std::io::stdout().lock();
    let end = if raw { "\r\n" } else { "\n" };
    // A closed stdout (e.g. `| head`) is not worth failing the session for.
    let _ = write!(out, "{text}{end}");
    let _ = out.flush();
}

struct TerminalLed {
    raw: bool,
}

impl Indicator for TerminalLed {
    fn set(&mut self, led: Led) {
        let shown = match led {
            Led::Idle => "○ idle",
            Led::Running => "● running",
            Led::Paused => "◐ paused",
            Led::Error => "✖ error",
        };
        say(self.raw, &format!("        [LED {shown}]"));
    }
}

struct TerminalJournal {
    raw: bool,
}

impl Journal for TerminalJournal {
    fn record(&mut self, _at: Duration, event: &JournalEvent) {
        if let JournalEvent::Pain { .. } | JournalEvent::CommandIgnored { .. } = event {
            say(
                self.raw,
                &format!(
                    "        [journal {}]",
                    serde_json::to_string(event).unwrap_or_default()
                ),
            );
        }
    }
}

fn key_input(key: KeyEvent) -> Option<Vec<Input>> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let cmd = |c| Some(vec![Input::Heard(c)]);
    match key.code {
        KeyCode::Char(' ') => Some(vec![Input::ButtonPressed, Input::ButtonReleased]),
        KeyCode::Char('n') => cmd(Command::Next),
        KeyCode::Char('p') => cmd(Command::Pain),
        KeyCode::Char('s') => cmd(Command::Stop),
        KeyCode::Char('z') => cmd(Command::Pause),
        KeyCode::Char('c') => cmd(Command::Resume),
        KeyCode::Char('r') => cmd(Command::Repeat),
        _ => None,
    }
}

/// Restores the terminal however the demo ends.
struct RawGuard;

impl Drop for RawGuard {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
    }
}

pub fn run(session: Session) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let raw = std::io::stdin().is_terminal();
    rt.block_on(run_async(session, raw))
}

async fn run_async(mut session: Session, raw: bool) -> Result<()> {
    let (tx, mut rx) = mpsc::channel::<Input>(app::INPUT_QUEUE);
    let long_press = session.long_press() + Duration::from_millis(300);
    let _guard = if raw {
        terminal::enable_raw_mode().context("switching the terminal to raw mode")?;
        Some(RawGuard)
    } else {
        None
    };
    say(
        raw,
        &format!(
            "matcoach demo: {}  ({})",
            session.script().program_name,
            session.lang()
        ),
    );
    say(raw, KEYS);
    let keys = tx.clone();
    let (quit_tx, quit_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || read_keys(keys, raw, long_press, quit_tx));
    let started = tokio::time::Instant::now();
    let mut speaker = PacedSpeaker::spawn(tx.clone(), move |shown| {
        let t = started.elapsed().as_secs();
        let stamp = format!("{:>2}:{:02}", t / 60, t % 60);
        match shown {
            Shown::Said(line, Priority::Count) => say(raw, &format!("{stamp}    {}", line.text)),
            Shown::Said(line, Priority::Safety) => say(raw, &format!("{stamp}  ⚠ {}", line.text)),
            Shown::Said(line, Priority::Instruction) => {
                say(raw, &format!("{stamp}  {}", line.text))
            }
            Shown::Cue(Cue::Start) => say(raw, &format!("{stamp}    ♪ go")),
            Shown::Cue(Cue::HoldEnd) => say(raw, &format!("{stamp}    ♪ done")),
            Shown::Cue(Cue::RestEnd) => say(raw, &format!("{stamp}    ♪ rest over")),
            Shown::Cue(Cue::SessionEnd) => say(raw, &format!("{stamp}    ♪ session end")),
            Shown::Stopped => say(raw, &format!("{stamp}    (speech cut off)")),
        }
    });
    // The demo starts at once, as if the button had been pressed.
    tx.send(Input::ButtonPressed).await.ok();
    tx.send(Input::ButtonReleased).await.ok();
    drop(tx);
    let mut led = TerminalLed { raw };
    let mut journal = TerminalJournal { raw };
    let reason = tokio::select! {
        r = app::run(&mut session, &mut speaker, &mut led, &mut journal, &mut rx) => r,
        Ok(()) = quit_rx => {
            say(raw, "quit");
            return Ok(());
        }
    };
    // Let the closing words finish on screen.
    tokio::time::sleep(Duration::from_millis(200)).await;
    say(raw, &format!("session ended: {reason:?}"));
    Ok(())
}

/// What a key or a typed line does.
fn act(tx: &mpsc::Sender<Input>, c: char, long_press: Duration) -> bool {
    if c == 'e' {
        if tx.blocking_send(Input::ButtonPressed).is_err() {
            return false;
        }
        std::thread::sleep(long_press);
        return tx.blocking_send(Input::ButtonReleased).is_ok();
    }
    let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    key_input(key).is_none_or(|inputs| inputs.into_iter().all(|i| tx.blocking_send(i).is_ok()))
}

/// Read keys (a terminal) or lines (a pipe) until quit or end of input.
fn read_keys(
    tx: mpsc::Sender<Input>,
    raw: bool,
    long_press: Duration,
    quit: tokio::sync::oneshot::Sender<()>,
) {
    if !raw {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            let c = line.trim().chars().next().unwrap_or(' ');
            if c == 'q' {
                let _ = quit.send(());
                return;
            }
            if !act(&tx, c, long_press) {
                return;
            }
        }
        return;
    }
    loop {
        let Ok(Event::Key(key)) = event::read() else {
            continue;
        };
        if key.kind == KeyEventKind::Release {
            continue;
        }
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if key.code == KeyCode::Char('q') || ctrl_c {
            let _ = quit.send(());
            return;
        }
        let KeyCode::Char(c) = key.code else { continue };
        if !act(&tx, c, long_press) {
            return;
        }
    }
}
