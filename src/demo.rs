//! `matcoach demo`: a real-time session in the terminal. What the coach says
//! appears when it would be spoken; space is the button and letters stand in
//! for the voice commands.

use anyhow::{Context, Result};
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal;
use matcoach::config::Config;
use matcoach::content::Content;
use matcoach::devices::{Indicator, Journal, Speaker};
use matcoach::session::{
    self, Command, Cue, Input, JournalEvent, Led, Line, PlaybackId, Priority, Session,
};
use matcoach::session_loop::{self, PacedSpeaker, Shown};
use matcoach::speaker::{ClipSpeaker, FileSink};
use matcoach::speech::Speech;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
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

/// How the demo sounds.
pub enum Sound {
    /// Text only.
    Silent,
    /// Through the configured output device (text only if there is none).
    Device(Speech),
    /// Into a WAV file at this sample rate, in real time.
    File(Speech, PathBuf, u32),
}

/// Shows each phrase as it is handed to the real speaker.
struct Showing<S> {
    inner: S,
    show: Box<dyn FnMut(Shown) + Send>,
}

impl<S: Speaker> Speaker for Showing<S> {
    fn speak(&mut self, id: PlaybackId, line: &Line, priority: Priority) {
        (self.show)(Shown::Said(line.clone(), priority));
        self.inner.speak(id, line, priority);
    }

    fn stop(&mut self) {
        (self.show)(Shown::Stopped);
        self.inner.stop();
    }

    fn cue(&mut self, cue: Cue) {
        (self.show)(Shown::Cue(cue));
        self.inner.cue(cue);
    }
}

fn shower(raw: bool) -> impl FnMut(Shown) + Send + 'static {
    let started = std::time::Instant::now();
    move |shown| {
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
    }
}

/// Everything a sounding speaker needs kept alive until the end.
enum Keep {
    None,
    #[cfg(feature = "speaker-rodio")]
    Device(
        matcoach::speaker::output::RodioOutput,
        Option<matcoach::hearing::capture::Reference>,
    ),
    File(FileSink),
}

fn lines_of(session: &Session, content: &Content) -> Vec<Line> {
    let mut lines = session::script_lines(session.script());
    lines.extend(session::FixedLines::new(&content.phrases, &content.safety, session.lang()).all());
    lines
}

pub fn run(session: Session, content: &Content, config: &Config, sound: Sound) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let _enter = rt.enter();
    let raw = std::io::stdin().is_terminal();
    let (tx, rx) = mpsc::channel::<Input>(session_loop::INPUT_QUEUE);
    let lang = session.lang();
    let volume = config.audio.volume;
    let text_only = |why: Option<String>| -> Box<dyn Speaker> {
        if let Some(why) = why {
            say(false, &why);
            say(
                false,
                "Showing the text only. To hear it without a sound card, write it to a file: matcoach demo --out session.wav",
            );
        }
        Box::new(PacedSpeaker::spawn(tx.clone(), shower(raw)))
    };
    let (speaker, keep): (Box<dyn Speaker>, Keep) = match sound {
        Sound::Silent => (text_only(None), Keep::None),
        Sound::File(speech, path, rate) => {
            speech.check(lang)?;
            let sink = FileSink::create(&path, rate, volume, tx.clone())?;
            let mut clip = ClipSpeaker::new(sink.clone(), Arc::new(speech), lang, tx.clone());
            say(false, "preparing the voice…");
            clip.preload(&lines_of(&session, content))?;
            say(false, &format!("writing the sound to {}", path.display()));
            let shown = Showing {
                inner: clip,
                show: Box::new(shower(raw)),
            };
            (Box::new(shown), Keep::File(sink))
        }
        Sound::Device(speech) => device_speaker(speech, &session, content, config, &tx, raw)
            .unwrap_or_else(|why| (text_only(Some(why)), Keep::None)),
    };
    let mut keep = keep;
    let stop = Arc::new(matcoach::hearing::capture::Control::default());
    let listener = start_listening(config, lang, &mut keep, &tx, &stop, raw);
    let result = rt.block_on(run_async(session, raw, speaker, tx, rx));
    stop.stop();
    if let Some(l) = listener {
        let _ = l.join();
    }
    match keep {
        Keep::File(sink) => {
            let path = sink.finish()?;
            say(false, &format!("sound written to {}", path.display()));
        }
        #[cfg(feature = "speaker-rodio")]
        Keep::Device(out, _) => {
            // Let the goodbye be heard before the stream closes.
            std::thread::sleep(Duration::from_millis(2500));
            drop(out);
        }
        Keep::None => {}
    }
    result
}

/// Listen on the microphone when voice is enabled and a recogniser can be
/// opened; otherwise say why and go on with the keys.
fn start_listening(
    config: &Config,
    lang: matcoach::content::Lang,
    keep: &mut Keep,
    tx: &mpsc::Sender<Input>,
    stop: &Arc<matcoach::hearing::capture::Control>,
    raw: bool,
) -> Option<std::thread::JoinHandle<()>> {
    if !config.voice.enabled {
        return None;
    }
    let voice = config.voice.clone();
    // Check a recogniser can be opened before starting the thread.
    let choice = match matcoach::hearing::choose_engine(lang, &voice) {
        Ok(choice) => {
            if let Some(notice) = choice.notice() {
                say(false, &notice);
            }
            choice
        }
        Err(e) => {
            say(false, &format!("voice commands are off: {e}"));
            say(false, "the keys stand in for them");
            return None;
        }
    };
    let reference = match keep {
        #[cfg(feature = "speaker-rodio")]
        Keep::Device(_, reference) if voice.echo_cancellation => reference.take(),
        _ => None,
    };
    let echo = reference.is_some();
    let engine = choice.engine;
    let (tx, stop) = (tx.clone(), stop.clone());
    let device = voice.input_device.clone();
    Some(std::thread::spawn(move || {
        let result = matcoach::hearing::capture::listen(
            device,
            {
                let mut choice = Some(choice);
                move || match choice.take() {
                    Some(c) => c.into_pipeline(lang, &voice, echo),
                    None => matcoach::hearing::open_pipeline(engine, lang, &voice, echo),
                }
            },
            reference,
            tx,
            stop,
            |d| {
                say(
                    raw,
                    &format!("        [heard \"{}\" ({:.2})]", d.word, d.confidence),
                )
            },
        );
        if let Err(e) = result {
            say(raw, &format!("voice commands stopped: {e}"));
        }
    }))
}

#[cfg(feature = "speaker-rodio")]
fn device_speaker(
    speech: Speech,
    session: &Session,
    content: &Content,
    config: &Config,
    tx: &mpsc::Sender<Input>,
    raw: bool,
) -> Result<(Box<dyn Speaker>, Keep), String> {
    use matcoach::speaker::output::RodioOutput;
    let lang = session.lang();
    speech.check(lang).map_err(|e| format!("no voice: {e}"))?;
    let (ref_tx, ref_rx) = rtrb::RingBuffer::new(96_000);
    let (out, handle) = RodioOutput::open(
        &config.audio.output_device,
        config.audio.volume,
        tx.clone(),
        Some(ref_tx),
        // One session, then the demo ends: never in standby.
        std::time::Duration::ZERO,
    )
    .map_err(|e| format!("no sound: {e}"))?;
    let reference = matcoach::hearing::capture::Reference {
        samples: ref_rx,
        rate: out.rate,
    };
    let mut clip = ClipSpeaker::new(handle, Arc::new(speech), lang, tx.clone());
    say(false, "preparing the voice…");
    clip.preload(&lines_of(session, content))
        .map_err(|e| format!("no voice: {e}"))?;
    say(
        false,
        &format!("speaking through {} ({} Hz)", out.device, out.rate),
    );
    let shown = Showing {
        inner: clip,
        show: Box::new(shower(raw)),
    };
    Ok((Box::new(shown), Keep::Device(out, Some(reference))))
}

#[cfg(not(feature = "speaker-rodio"))]
fn device_speaker(
    _speech: Speech,
    _session: &Session,
    _content: &Content,
    _config: &Config,
    _tx: &mpsc::Sender<Input>,
    _raw: bool,
) -> Result<(Box<dyn Speaker>, Keep), String> {
    Err("this build has no sound support (built without the speaker-rodio feature)".into())
}

async fn run_async(
    mut session: Session,
    raw: bool,
    mut speaker: Box<dyn Speaker>,
    tx: mpsc::Sender<Input>,
    mut rx: mpsc::Receiver<Input>,
) -> Result<()> {
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
    // The demo starts at once, as if the button had been pressed.
    tx.send(Input::ButtonPressed).await.ok();
    tx.send(Input::ButtonReleased).await.ok();
    drop(tx);
    let mut led = TerminalLed { raw };
    let mut journal = TerminalJournal { raw };
    let reason = tokio::select! {
        r = session_loop::run(&mut session, speaker.as_mut(), &mut led, &mut journal, &mut rx) => r,
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
            // A blank line is nothing; a line with a space is the button.
            let Some(c) = line
                .trim_end_matches(['\r', '\n'])
                .chars()
                .find(|c| !c.is_control())
            else {
                continue;
            };
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
