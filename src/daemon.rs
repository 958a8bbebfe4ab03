//! `matcoach run`: the appliance. Waits for the button, coaches today's
//! program, journals it, and goes back to waiting. Devices that are missing
//! or lost are retried; the LED and the voice say what is wrong.

use anyhow::{Context, Result};
use matcoach::adapt::{self, Rules};
use matcoach::app::{self, Hooks, Indicator, Speaker};
use matcoach::config::Config;
use matcoach::content::Content;
use matcoach::journal::{self, JournalWriter, OpenOptions, Source};
use matcoach::session::{self, DeviceKind, Input, Led, Line, PlaybackId, Priority, Session};
use matcoach::speaker::ClipSpeaker;
use matcoach::speech::Speech;
use matcoach::systemd;
use matcoach::voice::field::{self, tell, Event, Tap};
use matcoach::voice::misses;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often a missing speaker is tried again.
const RETRY: Duration = app::DEVICE_RETRY.every;

fn log(msg: &str) {
    // Under systemd, stderr goes to the journal.
    eprintln!("matcoach: {msg}");
}

/// The LED when there is no GPIO: the state goes to the log.
struct LogLed(Option<Led>);

impl Indicator for LogLed {
    fn set(&mut self, led: Led) {
        if self.0 != Some(led) {
            self.0 = Some(led);
            log(&format!("LED: {led:?}"));
        }
    }
}

/// The devices that are lost now.
#[derive(Debug, Default)]
struct Faults(Vec<DeviceKind>);

impl Faults {
    /// Note a device input; other inputs pass.
    fn note(&mut self, input: Input) {
        match input {
            Input::DeviceLost(d) if !self.0.contains(&d) => self.0.push(d),
            Input::DeviceBack(d) => self.0.retain(|x| *x != d),
            _ => {}
        }
    }

    fn has(&self, d: DeviceKind) -> bool {
        self.0.contains(&d)
    }

    /// The LED between sessions.
    fn idle_led(&self) -> Led {
        if self.0.is_empty() {
            Led::Idle
        } else {
            Led::Error
        }
    }
}

/// The watchdog ping, the max-test reading of "stop", and the devices.
struct DaemonHooks {
    today: Option<adapt::Today>,
    presses: journal::JournalHandle,
    started: tokio::time::Instant,
    faults: Faults,
    /// issue 16, item 3: the evidence thread, told every input.
    evidence: Evidence,
}

impl Hooks for DaemonHooks {
    fn input(&mut self, input: Input) -> Input {
        tell(&self.evidence, Event::Input(input));
        if input == Input::ButtonPressed {
            self.presses.button_pressed(self.started.elapsed());
        }
        // The journal (issue 5): its faults come in as a device lost/back.
        match input {
            Input::DeviceLost(DeviceKind::Journal) => {
                if let Some(f) = self.presses.fault() {
                    log(&format!("{f}\n  coaching goes on; the LED shows the fault"));
                }
            }
            Input::DeviceBack(DeviceKind::Journal) => log("journal: writing works again"),
            _ => {}
        }
        self.faults.note(input);
        match &self.today {
            Some(t) => t.input(input),
            None => input,
        }
    }

    fn tick_every(&self) -> Option<Duration> {
        systemd::watchdog_interval()
    }

    fn tick(&mut self) {
        systemd::notify("WATCHDOG=1");
    }
}

// ---------------------------------------------------------------------------
// issue 16, item 3: evidence from the field
// ---------------------------------------------------------------------------

/// Where the evidence thread's events go (None: it is not running).
type Evidence = field::Sink;

/// Start the evidence thread for the listener about to start: the rings
/// the pipeline fills (audio only with `keep_misses`), and the sender.
fn start_evidence(
    config: &Config,
    journal_path: &std::path::Path,
    engine: matcoach::voice::Engine,
    handle: journal::JournalHandle,
) -> (Option<Tap>, Evidence) {
    let voice = &config.voice;
    let keep = voice.keep_misses;
    let tap = Tap::new(field::CLIP_SECS, keep);
    let folder = keep.then(|| misses::Folder::beside(journal_path, voice));
    if let Some(f) = &folder {
        log(&format!(
            "keep_misses is on: clips of likely misses go to {} (deleted after {} days, at most {} MB)",
            f.dir.display(),
            voice.keep_misses_days,
            voice.keep_misses_max_mb
        ));
    }
    let setup = misses::Setup {
        folder,
        tap: keep.then(|| tap.clone()),
        journal: handle,
        engine: engine.name().into(),
        model: misses::model_name(engine, voice, config.language),
        lang: config.language,
        rules: misses::rules(),
        log: Box::new(|m: &str| log(m)),
    };
    match misses::spawn(setup) {
        Ok(tx) => (Some(tap.with_speech(tx.clone())), Some(tx)),
        Err(e) => {
            log(&format!("the evidence thread did not start: {e}"));
            (None, None)
        }
    }
}

pub fn run(config: Config, content: Content) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(daemon(config, content))
}

/// SIGTERM or ctrl-c. The SIGTERM handler is installed now, not when the
/// future is first polled: a SIGTERM right after READY=1 must not kill the
/// process before the loop first waits for it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let term = async {
            match term {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = term => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
}

/// Speak one fixed line and wait (bounded) for it to finish. Devices lost
/// or back meanwhile are noted in `faults`; other inputs are dropped.
async fn announce(
    speaker: &mut dyn Speaker,
    rx: &mut mpsc::Receiver<Input>,
    line: &Line,
    id: PlaybackId,
    faults: &mut Faults,
) {
    speaker.speak(id, line, Priority::Instruction);
    let limit = tokio::time::Instant::now() + session::estimate_speech(&line.text) * 3;
    while let Ok(Some(input)) = tokio::time::timeout_at(limit, rx.recv()).await {
        faults.note(input);
        if input == Input::PlaybackFinished(id) {
            return;
        }
    }
}

async fn daemon(config: Config, content: Content) -> Result<()> {
    let lang = config.language;
    let (tx, mut rx) = mpsc::channel::<Input>(app::INPUT_QUEUE);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);

    // The journal: never stops the coach.
    let path = journal::resolve_path(&config.journal.path)?;
    let started = JournalWriter::start(&path, &OpenOptions::default());
    if let Some(r) = &started.recovered {
        log(&format!("{r}"));
    }
    if let Some(e) = &started.error {
        log(&format!("{e}"));
    }
    let mut writer = started.writer;

    // The button and the LED.
    let (mut led, _button): (Box<dyn Indicator>, Option<Box<dyn std::any::Any + Send>>) =
        match matcoach::gpio::open(&config.gpio, tx.clone()) {
            Ok(Some(opened)) => (Box::new(opened.led), Some(opened.button)),
            Ok(None) => (Box::new(LogLed(None)), None),
            Err(e) => {
                log(&format!("{e}"));
                (Box::new(LogLed(None)), None)
            }
        };
    led.set(Led::Idle);

    // The voice: every phrase rendered once, now.
    let speech = Arc::new(Speech::from_config(
        &config.speech,
        std::path::Path::new("."),
    )?);
    speech.check(lang)?;
    let lines = session::all_lines(&content, lang, &config.session());
    let renderer = speech.clone();
    let stats = tokio::task::spawn_blocking(move || {
        renderer.render_all(&lines, lang, matcoach::speech::default_jobs())
    })
    .await
    .context("rendering the phrases")??;
    log(&format!(
        "voice ready: {} phrases rendered, {} cached, {} recorded",
        stats.rendered, stats.cached, stats.recorded
    ));

    // From here on the daemon keeps running whatever the devices do, so
    // systemd may count it as started (a Pi booted without its speaker
    // must not sit in "activating" and be restarted in a loop).
    systemd::notify("READY=1\nSTATUS=opening the speaker");

    // The speaker: without it there is no coaching; show it and retry.
    let mut last_error: Option<String> = None;
    let (output, mut speaker, reference) = loop {
        let (ref_tx, ref_rx) = rtrb::RingBuffer::new(96_000);
        match matcoach::audio::output::RodioOutput::open(
            &config.audio.output_device,
            config.audio.volume,
            tx.clone(),
            Some(ref_tx),
        ) {
            Ok((out, handle)) => {
                log(&format!(
                    "speaking through {} ({} Hz)",
                    out.device, out.rate
                ));
                let reference = matcoach::voice::capture::Reference {
                    samples: ref_rx,
                    rate: out.rate,
                };
                break (
                    out,
                    ClipSpeaker::new(handle, speech.clone(), lang, tx.clone()),
                    reference,
                );
            }
            Err(e) => {
                // Said once per different error, not at every retry.
                let text = e.to_string();
                if last_error.as_ref() != Some(&text) {
                    log(&text);
                    last_error = Some(text);
                }
                systemd::notify(&format!(
                    "WATCHDOG=1\nSTATUS=waiting for a speaker: {}",
                    e.to_string().lines().next().unwrap_or_default()
                ));
                led.set(Led::Error);
                tokio::select! {
                    _ = tokio::time::sleep(RETRY) => {}
                    _ = &mut shutdown => {
                        // As at the end: LED off, journal closed.
                        drop(led);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        drop(writer);
                        systemd::notify("STOPPING=1");
                        return Ok(());
                    }
                }
            }
        }
    };
    // Watch the speaker: when it is unplugged, the session pauses and the
    // LED shows it until it is back.
    let keeper = tokio::spawn(app::keep_open(output, tx.clone(), app::DEVICE_RETRY, |m| {
        log(m)
    }));
    let fixed = session::FixedLines::new(&content.phrases, &content.safety, lang);
    speaker
        .preload(&fixed.all())
        .context("loading the fixed phrases")?;
    led.set(Led::Idle);

    // The microphone.
    let mut faults = Faults::default();
    let stop = Arc::new(AtomicBool::new(false));
    // Announcements use ids far from the sessions' own.
    let mut next_id = 1_000_000u64;
    let mut id = move || {
        next_id += 1;
        PlaybackId(next_id)
    };
    let mut evidence: Evidence = None;
    let listener = if config.voice.enabled {
        match matcoach::voice::choose_engine(lang, &config.voice) {
            Ok(choice) => {
                if let Some(notice) = choice.notice() {
                    log(&notice);
                }
                let (tap, ev) = start_evidence(&config, &path, choice.engine, writer.handle());
                evidence = ev.clone();
                let (voice, tx, stop) = (config.voice.clone(), tx.clone(), stop.clone());
                // issue 16, item 2: the user's calibration for this language.
                let cal =
                    matcoach::voice::calibrate::latest_for(&config, lang, choice.engine, |m| {
                        log(m)
                    });
                let echo = voice.echo_cancellation;
                let reference = echo.then_some(reference);
                let device = voice.input_device.clone();
                Some(std::thread::spawn(move || {
                    let observer = tap.clone();
                    let r = matcoach::voice::capture::listen(
                        device,
                        || {
                            let mut p = choice.into_pipeline_calibrated(
                                lang,
                                &voice,
                                echo,
                                cal.as_ref(),
                            )?;
                            if let Some(t) = &observer {
                                p.set_observer(t.observer());
                            }
                            Ok(p)
                        },
                        reference,
                        tx,
                        stop,
                        |d| {
                            log(&format!("heard \"{}\" ({:.2})", d.word, d.confidence));
                            if let Some(t) = &tap {
                                t.note_detection(d);
                            }
                            tell(
                                &ev,
                                Event::Detected {
                                    command: d.command,
                                    word: d.word.clone(),
                                    confidence: d.confidence,
                                },
                            );
                        },
                    );
                    if let Err(e) = r {
                        log(&format!("voice commands stopped: {e}"));
                    }
                }))
            }
            Err(e) => {
                log(&format!("voice commands are off: {e}"));
                announce(&mut speaker, &mut rx, &fixed.voice_off, id(), &mut faults).await;
                None
            }
        }
    } else {
        None
    };

    announce(&mut speaker, &mut rx, &fixed.ready, id(), &mut faults).await;
    led.set(faults.idle_led());
    systemd::notify("STATUS=ready: press the button to start");
    log("ready: press the button to start");

    let rules = Rules::for_config(&config);
    let mut mic_lost_said = false;
    'idle: loop {
        // Wait for a short press; meanwhile keep the watchdog fed.
        let mut pressed: Option<tokio::time::Instant> = None;
        let watchdog = systemd::watchdog_interval().unwrap_or(Duration::from_secs(3600));
        loop {
            tokio::select! {
                input = rx.recv() => match input {
                    Some(Input::ButtonPressed) => pressed = Some(tokio::time::Instant::now()),
                    Some(Input::ButtonReleased) => {
                        let short = pressed.take().is_some_and(|p| p.elapsed() < config.session().long_press);
                        if short && faults.has(DeviceKind::Speaker) {
                            log("no speaker: the session starts once it is back");
                        } else if short {
                            break;
                        }
                    }
                    Some(Input::DeviceLost(d)) => {
                        faults.note(Input::DeviceLost(d));
                        led.set(Led::Error);
                        if d == DeviceKind::Microphone && !mic_lost_said {
                            mic_lost_said = true;
                            announce(&mut speaker, &mut rx, &fixed.no_microphone, id(), &mut faults).await;
                            led.set(faults.idle_led());
                        }
                    }
                    Some(Input::DeviceBack(d)) => {
                        faults.note(Input::DeviceBack(d));
                        led.set(faults.idle_led());
                    }
                    Some(_) => {}
                    None => break 'idle,
                },
                _ = tokio::time::sleep(watchdog) => systemd::notify("WATCHDOG=1"),
                _ = &mut shutdown => break 'idle,
            }
        }

        // Today's program, adapted to the journal.
        let history = writer.history(Duration::from_secs(2)).unwrap_or_default();
        let today = match adapt::plan(
            &content,
            &rules,
            &history,
            journal::today(),
            &config.program,
        ) {
            Ok(t) => t,
            Err(e) => {
                log(&format!("{e}"));
                // A refusal the user must hear (after back surgery, or
                // everything done as often as meant for today).
                if let Some(line) = e.spoken(&content.phrases, lang) {
                    announce(&mut speaker, &mut rx, &line, id(), &mut faults).await;
                    led.set(faults.idle_led());
                } else {
                    led.set(Led::Error);
                }
                continue;
            }
        };
        log(&format!("today: {} ({})", today.program.id(), today.why));
        let cfg = config.session();
        let script = match session::compile(&content, &today.program, lang, &cfg, &today.facts) {
            Ok(s) => s,
            Err(e) => {
                log(&format!("{e}"));
                led.set(Led::Error);
                continue;
            }
        };
        let mut lines = session::script_lines(&script);
        lines.extend(fixed.all());
        let mut preload = || speaker.preload(&lines);
        if let Err(e) = preload() {
            log(&format!("{e}"));
            led.set(Led::Error);
            continue;
        }
        let mut session =
            Session::new(script, cfg, content.phrases.clone(), content.safety.clone());
        // The journal (issue 5): the spoken offer of the next McKenzie phase.
        session.set_phase_offer(adapt::phase_offer(&content, &rules, &history, &today));
        writer.begin(journal::local_now(), Some(today.note(Source::Coach)));
        let mut hooks = DaemonHooks {
            today: Some(today),
            presses: writer.handle(),
            started: tokio::time::Instant::now(),
            faults: std::mem::take(&mut faults),
            evidence: evidence.clone(),
        };
        let mut journal_tee = field::JournalTee {
            inner: &mut writer,
            sink: evidence.clone(),
        };
        let mut speaker_tee = field::SpeakerTee {
            inner: &mut speaker,
            sink: evidence.clone(),
        };
        // The session learns of a microphone lost before it started.
        let mut first = vec![Input::ButtonPressed, Input::ButtonReleased];
        if hooks.faults.has(DeviceKind::Microphone) {
            first.push(Input::DeviceLost(DeviceKind::Microphone));
        }
        let ended = tokio::select! {
            r = app::run_with(&mut session, &mut speaker_tee, led.as_mut(), &mut journal_tee, &mut rx, &first, &mut hooks) => r,
            _ = &mut shutdown => {
                speaker_tee.stop();
                log("stopping");
                break 'idle;
            }
        };
        log(&format!("session ended: {ended:?}"));
        // The devices still lost stay on the LED; the journal's state is
        // asked afresh (between sessions nothing reports it).
        faults = std::mem::take(&mut hooks.faults);
        faults.note(if writer.fault().is_some() {
            Input::DeviceLost(DeviceKind::Journal)
        } else {
            Input::DeviceBack(DeviceKind::Journal)
        });
        led.set(faults.idle_led());
    }

    // Clean shutdown: silence, LED off, journal closed, threads joined.
    speaker.stop();
    keeper.abort();
    stop.store(true, Ordering::Relaxed);
    if let Some(l) = listener {
        let _ = l.join();
    }
    drop(led);
    // Give the LED task a moment to switch the LED off.
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(writer);
    systemd::notify("STOPPING=1");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_follow_lost_and_back() {
        let mut f = Faults::default();
        assert_eq!(f.idle_led(), Led::Idle);
        f.note(Input::DeviceLost(DeviceKind::Speaker));
        f.note(Input::DeviceLost(DeviceKind::Speaker));
        f.note(Input::DeviceLost(DeviceKind::Microphone));
        f.note(Input::ButtonPressed);
        assert!(f.has(DeviceKind::Speaker) && f.has(DeviceKind::Microphone));
        assert_eq!(f.idle_led(), Led::Error);
        f.note(Input::DeviceBack(DeviceKind::Speaker));
        assert!(!f.has(DeviceKind::Speaker));
        assert_eq!(f.idle_led(), Led::Error, "the microphone is still gone");
        f.note(Input::DeviceBack(DeviceKind::Microphone));
        assert_eq!(f.idle_led(), Led::Idle);
    }
}
