//! `matcoach run`: the appliance. Waits for the button, coaches today's
//! program, journals it, and goes back to waiting. Devices that are missing
//! or lost are retried; the LED and the voice say what is wrong.

use anyhow::{Context, Result};
use matcoach::appliance::{Action, Appliance, Event, Hearing, Settings};
use matcoach::config::Config;
use matcoach::content::Content;
use matcoach::devices::{Indicator, Journal, Speaker};
use matcoach::hearing::capture::Control;
use matcoach::hearing::field::{self, tell, Event as Evidenced, Tap};
use matcoach::hearing::misses;
use matcoach::journal::{self, JournalWriter, OpenOptions};
use matcoach::session::{self, DeviceKind, Input, Led};
use matcoach::session_loop;
use matcoach::speaker::output::OutputHandle;
use matcoach::speaker::ClipSpeaker;
use matcoach::speech::Speech;
use matcoach::systemd;
use matcoach::web::{self, Live};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The LED when there is no GPIO: the state goes to the log.
struct LogLed(Option<Led>);

impl Indicator for LogLed {
    fn set(&mut self, led: Led) {
        if self.0 != Some(led) {
            self.0 = Some(led);
            log::info!("LED: {led:?}");
        }
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
    engine: matcoach::hearing::Engine,
    handle: journal::JournalHandle,
) -> (Option<Tap>, Evidence) {
    let voice = &config.voice;
    let keep = voice.keep_misses;
    let tap = Tap::new(field::CLIP_SECS, keep);
    let folder = keep.then(|| misses::Folder::beside(journal_path, voice));
    if let Some(f) = &folder {
        log::info!(
            "keep_misses is on: clips of likely misses go to {} (deleted after {} days, at most {} MB)",
            f.dir.display(),
            voice.keep_misses_days,
            voice.keep_misses_max_mb
        );
    }
    let setup = misses::Setup {
        folder,
        tap: keep.then(|| tap.clone()),
        journal: Box::new(handle),
        engine: engine.name().into(),
        model: misses::model_name(engine, voice, config.language),
        lang: config.language,
        rules: misses::rules(),
        log: Box::new(|m: &str| log::info!("{m}")),
    };
    match misses::spawn(setup) {
        Ok(tx) => (Some(tap.with_speech(tx.clone())), Some(tx)),
        Err(e) => {
            log::error!("the evidence thread did not start: {e}");
            (None, None)
        }
    }
}

/// The listening thread, and how to steer it.
struct Listener {
    hearing: Hearing,
    control: Arc<Control>,
    thread: Option<std::thread::JoinHandle<()>>,
    evidence: Evidence,
}

impl Listener {
    /// Choose the engine and start listening (with echo cancellation
    /// against `reference` when the config asks for it).
    fn start(
        config: &Config,
        journal_path: &Path,
        reference: matcoach::hearing::capture::Reference,
        writer: &JournalWriter,
        tx: mpsc::Sender<Input>,
    ) -> Listener {
        let control = Arc::new(Control::default());
        let mut listener = Listener {
            hearing: Hearing::Disabled,
            control: control.clone(),
            thread: None,
            evidence: None,
        };
        if !config.voice.enabled {
            return listener;
        }
        let lang = config.language;
        let choice = match matcoach::hearing::choose_engine(lang, &config.voice) {
            Ok(choice) => choice,
            Err(e) => {
                log::error!("voice commands are off: {e}");
                listener.hearing = Hearing::Failed;
                return listener;
            }
        };
        if let Some(notice) = choice.notice() {
            log::warn!("{notice}");
        }
        let engine = choice.engine;
        let (tap, ev) = start_evidence(config, journal_path, engine, writer.handle());
        listener.evidence = ev.clone();
        let config = config.clone();
        let voice = config.voice.clone();
        let echo = voice.echo_cancellation;
        let reference = echo.then_some(reference);
        let device = voice.input_device.clone();
        // issue 16, item 2: the user's calibration for this language, read
        // again whenever the pipeline is made (after a voice check).
        let calibration = move || {
            matcoach::journal::voice_checks::calibration_for(&config, lang, engine, |m: &str| {
                log::info!("{m}")
            })
        };
        listener.thread = Some(std::thread::spawn(move || {
            let observer = tap.clone();
            let mut choice = Some(choice);
            let r = matcoach::hearing::capture::listen(
                device,
                || {
                    let cal = calibration();
                    let mut p = match choice.take() {
                        Some(c) => c.into_pipeline_calibrated(lang, &voice, echo, cal.as_ref())?,
                        None => matcoach::hearing::open_pipeline_calibrated(
                            engine,
                            lang,
                            &voice,
                            echo,
                            cal.as_ref(),
                        )?,
                    };
                    if let Some(t) = &observer {
                        p.set_observer(t.observer());
                    }
                    Ok(p)
                },
                reference,
                tx,
                control,
                |d| {
                    log::info!("heard \"{}\" ({:.2})", d.word, d.confidence);
                    if let Some(t) = &tap {
                        t.note_detection(d);
                    }
                    tell(
                        &ev,
                        Evidenced::Detected {
                            command: d.command,
                            word: d.word.clone(),
                            confidence: d.confidence,
                        },
                    );
                },
            );
            if let Err(e) = r {
                log::error!("voice commands stopped: {e}");
            }
        }));
        listener.hearing = Hearing::Listening;
        listener
    }

    fn stop(self) {
        self.control.stop();
        if let Some(t) = self.thread {
            let _ = t.join();
        }
    }
}

/// Runs the voice check when the user accepts the offer: the listener
/// stands aside (it lets go of the microphone), the check speaks through
/// the open speaker on a thread of its own, keeps its result and the
/// calibration in the journal, and the listener comes back with it.
struct VoiceCheckRunner {
    config: Config,
    content: Arc<Content>,
    journal: PathBuf,
    control: Arc<Control>,
    output: OutputHandle,
    speech: Arc<Speech>,
    /// Where the end of the check is told.
    done: mpsc::Sender<Event>,
}

/// How long the listener may take to let go of the microphone.
const STAND_ASIDE: Duration = Duration::from_secs(5);

impl VoiceCheckRunner {
    fn start(&self) {
        let (config, content) = (self.config.clone(), self.content.clone());
        let (journal, control) = (self.journal.clone(), self.control.clone());
        let (output, speech, done) = (self.output.clone(), self.speech.clone(), self.done.clone());
        tokio::task::spawn_blocking(move || {
            control.stand_aside();
            let asked = std::time::Instant::now();
            while !control.is_aside() && asked.elapsed() < STAND_ASIDE {
                std::thread::sleep(Duration::from_millis(20));
            }
            match run_voice_check(&config, &content, &journal, output, speech) {
                Ok(summary) => log::info!("voice check: {summary}"),
                Err(e) => log::error!("voice check failed: {e}"),
            }
            control.come_back();
            let _ = done.blocking_send(Event::VoiceCheckEnded);
        });
    }
}

/// The check itself (blocking): its one-line summary.
fn run_voice_check(
    config: &Config,
    content: &Content,
    journal: &Path,
    output: OutputHandle,
    speech: Arc<Speech>,
) -> Result<String> {
    use matcoach::hearing::live_check::{self, LiveAudio};
    let lang = config.language;
    let voice = &config.voice;
    let (engine, pipeline, _) = live_check::open_pipeline(None, lang, voice)?;
    // Two seconds of 48 kHz stereo: the check reads as it goes.
    let mic = matcoach::hearing::capture::Mic::open(&voice.input_device, 192_000)?;
    let mut audio = LiveAudio::new(
        speech,
        lang,
        output,
        None,
        mic,
        Box::new(|what: &str| log::info!("voice check: {what}")),
    );
    let checked = live_check::check_and_calibrate(
        engine,
        pipeline,
        lang,
        voice,
        &content.phrases,
        &mut audio,
    )?;
    if let Some(why) = &checked.no_calibration {
        log::warn!("voice check: no calibration: {why}");
    }
    if let Err(e) = matcoach::journal::voice_checks::store_check(journal, &checked) {
        log::error!("voice check: not stored in the journal: {e}");
    }
    Ok(format!(
        "{:?}, {} of {} command words heard, calibration {}",
        checked.report.verdict,
        checked.report.commands_heard,
        checked.report.commands_asked,
        if checked.calibration.is_some() {
            "kept"
        } else {
            "not made"
        }
    ))
}

/// `base` is the config file alone, `config` it with the companion page's
/// settings layer on top (what the coach uses).
pub fn run(base: Config, config: Config, content: Content) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(daemon(base, config, content))
}

/// The companion page on the daemon's runtime (issue 17): its buttons go
/// in as the push button's inputs, its requests (a spoken pairing code,
/// new settings) as appliance events, and it shows the live state the
/// loop follows from the appliance's actions. A page that cannot listen
/// is logged; the coach goes on without it.
fn start_page(
    base: &Config,
    config: &Config,
    content: Arc<Content>,
    journal: &Path,
    inputs: mpsc::Sender<Input>,
    events: mpsc::Sender<Event>,
    live: tokio::sync::watch::Receiver<Live>,
) -> Option<tokio::sync::oneshot::Sender<()>> {
    if !config.web.enabled {
        return None;
    }
    let addr = config.web.addr()?;
    let coach = web::Coach {
        inputs,
        events,
        long_press: config.session().long_press,
    };
    let shared = Arc::new(web::Shared::new(
        journal.to_path_buf(),
        base.clone(),
        config.clone(),
        content,
        live,
        Some(coach),
    ));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let r = web::serve(
            shared,
            addr,
            |bound| log::info!("companion page on http://{bound}/ (pair a phone: `matcoach pair`)"),
            async move {
                let _ = stop_rx.await;
            },
        )
        .await;
        if let Err(e) = r {
            log::error!("the companion page is off: {e}");
        }
    });
    Some(stop_tx)
}

/// The devices and threads the shell carries the appliance's actions out
/// on.
struct Shell<'a> {
    speaker: &'a mut ClipSpeaker<OutputHandle>,
    led: &'a mut dyn Indicator,
    writer: &'a mut JournalWriter,
    evidence: Evidence,
    checks: VoiceCheckRunner,
}

impl Shell<'_> {
    /// Carry out `actions`; what they answer comes back as events, in order.
    fn carry_out(&mut self, actions: Vec<Action>) -> (Vec<Event>, bool) {
        let mut answers = Vec::new();
        for action in actions {
            match action {
                Action::Speak { id, line, priority } => field::SpeakerTee {
                    inner: &mut *self.speaker,
                    sink: self.evidence.clone(),
                }
                .speak(id, &line, priority),
                Action::StopSpeech => self.speaker.stop(),
                Action::Cue(c) => self.speaker.cue(c),
                Action::SetLed(l) => self.led.set(l),
                Action::Journal { at, event } => field::JournalTee {
                    inner: &mut *self.writer,
                    sink: self.evidence.clone(),
                }
                .record(at, &event),
                Action::BeginJournal(note) => self.writer.begin(journal::local_now(), Some(note)),
                Action::JournalPress(at) => self.writer.button_pressed(at),
                Action::Log(m) => log::info!("{m}"),
                Action::Status(s) => systemd::notify(&format!("STATUS={s}")),
                Action::ReadHistory => {
                    let history = self
                        .writer
                        .history(Duration::from_secs(2))
                        .unwrap_or_default();
                    answers.push(Event::History {
                        history: Box::new(history),
                        clock: matcoach::date::read(),
                    });
                }
                Action::Preload(lines) => {
                    answers.push(Event::Preloaded(
                        self.speaker.preload(&lines).map_err(|e| e.to_string()),
                    ));
                }
                Action::RunVoiceCheck => self.checks.start(),
                Action::SessionEnded(_) => {}
                Action::Exit => return (answers, true),
            }
        }
        (answers, false)
    }
}

async fn daemon(base: Config, config: Config, content: Content) -> Result<()> {
    let lang = config.language;
    let (tx, mut rx) = mpsc::channel::<Input>(session_loop::INPUT_QUEUE);
    // The companion page's requests, and the live state it shows.
    let (page_tx, mut page_rx) = mpsc::channel::<Event>(8);
    let (live_tx, live_rx) = tokio::sync::watch::channel(Live::starting());
    let shutdown = matcoach::systemd::shutdown_signal();
    tokio::pin!(shutdown);
    let content = Arc::new(content);
    let mut appliance = Appliance::new(content.clone(), Settings::from_config(&config));
    let now = || tokio::time::Instant::now().into_std();

    // The journal: never stops the coach.
    let path = journal::resolve_path(config.journal.path.as_deref())?;
    let started = JournalWriter::start(&path, &OpenOptions::default());
    if let Some(r) = &started.recovered {
        log::warn!("{r}");
    }
    if let Some(e) = &started.error {
        log::error!("{e}");
    }
    let mut writer = started.writer;
    let page = start_page(
        &base,
        &config,
        content.clone(),
        &path,
        tx.clone(),
        page_tx,
        live_rx,
    );

    // The button and the LED.
    let (mut led, _button): (Box<dyn Indicator>, Option<Box<dyn std::any::Any + Send>>) =
        match matcoach::gpio::open(&config.gpio, tx.clone()) {
            Ok(Some(opened)) => (Box::new(opened.led), Some(opened.button)),
            Ok(None) => (Box::new(LogLed(None)), None),
            Err(e) => {
                log::error!("{e}");
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
    let mut lines = session::all_lines(&content, lang, &config.session());
    lines.extend(appliance.fixed_lines());
    let renderer = speech.clone();
    let stats = tokio::task::spawn_blocking(move || {
        renderer.render_all(&lines, lang, matcoach::speech::default_jobs())
    })
    .await
    .context("rendering the phrases")??;
    log::info!(
        "voice ready: {} phrases rendered, {} cached, {} recorded",
        stats.rendered,
        stats.cached,
        stats.recorded
    );

    // From here on the daemon keeps running whatever the devices do, so
    // systemd may count it as started (a Pi booted without its speaker
    // must not sit in "activating" and be restarted in a loop).
    systemd::notify("READY=1\nSTATUS=opening the speaker");

    // The speaker: without it there is no coaching; show it and retry.
    let mut retry = matcoach::devices::Retrying::default();
    let (output, mut speaker, reference, output_handle) = loop {
        let (ref_tx, ref_rx) = rtrb::RingBuffer::new(96_000);
        match matcoach::speaker::output::RodioOutput::open(
            &config.audio.output_device,
            config.audio.volume,
            tx.clone(),
            Some(ref_tx),
            Duration::from_secs(config.audio.standby_secs.into()),
        ) {
            Ok((out, handle)) => {
                log::info!("speaking through {} ({} Hz)", out.device, out.rate);
                let reference = matcoach::hearing::capture::Reference {
                    samples: ref_rx,
                    rate: out.rate,
                };
                break (
                    out,
                    ClipSpeaker::new(handle.clone(), speech.clone(), lang, tx.clone()),
                    reference,
                    handle,
                );
            }
            Err(e) => {
                let text = e.to_string();
                if let Some(new) = retry.failed(&text) {
                    log::error!("{new}");
                }
                systemd::notify(&format!(
                    "WATCHDOG=1\nSTATUS=waiting for a speaker: {}",
                    text.lines().next().unwrap_or_default()
                ));
                for a in appliance.handle(now(), Input::DeviceLost(DeviceKind::Speaker).into()) {
                    if let Action::SetLed(l) = a {
                        led.set(l);
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(session_loop::DEVICE_RETRY.every) => {}
                    _ = &mut shutdown => {
                        close(led, writer).await;
                        return Ok(());
                    }
                }
            }
        }
    };
    // Watch the speaker: when it is unplugged, the session pauses and the
    // LED shows it until it is back.
    // Standby only while idle: pressing the button wakes the speaker while
    // the session is being prepared, and a pause or a long rest never waits
    // for it to open.
    let standby = matcoach::devices::Reopen::standby(&output);
    let keeper = tokio::spawn(session_loop::keep_open(
        output,
        tx.clone(),
        session_loop::DEVICE_RETRY,
        |m: &str| log::warn!("{m}"),
    ));
    speaker
        .preload(&appliance.fixed_lines())
        .context("loading the fixed phrases")?;

    // The microphone.
    let listener = Listener::start(&config, &path, reference, &writer, tx.clone());
    let (done_tx, mut done_rx) = mpsc::channel::<Event>(4);
    let mut shell = Shell {
        speaker: &mut speaker,
        led: led.as_mut(),
        writer: &mut writer,
        evidence: listener.evidence.clone(),
        checks: VoiceCheckRunner {
            config: config.clone(),
            content: content.clone(),
            journal: path.clone(),
            control: listener.control.clone(),
            output: output_handle,
            speech: speech.clone(),
            done: done_tx,
        },
    };

    let mut events = std::collections::VecDeque::from([Event::Ready {
        hearing: listener.hearing,
    }]);
    let watchdog = systemd::watchdog_interval();
    let mut next_tick = watchdog.map(|d| tokio::time::Instant::now() + d);
    let mut next_poll = tokio::time::Instant::now();
    loop {
        let event = if let Some(e) = events.pop_front() {
            e
        } else {
            let deadline = appliance
                .next_deadline()
                .map(tokio::time::Instant::from_std);
            tokio::select! {
                biased;
                _ = &mut shutdown => Event::Shutdown,
                received = rx.recv() => match received {
                    Some(i) => {
                        if appliance.coaching() {
                            tell(&shell.evidence, Evidenced::Input(i));
                        }
                        Event::Input(i)
                    }
                    None => Event::Shutdown,
                },
                Some(e) = done_rx.recv() => e,
                Some(e) = page_rx.recv() => e,
                _ = sleep_until(deadline), if deadline.is_some() => Event::Input(Input::DeadlineReached),
                _ = sleep_until(next_tick), if next_tick.is_some() => {
                    systemd::notify("WATCHDOG=1");
                    next_tick = watchdog.map(|d| tokio::time::Instant::now() + d);
                    continue;
                }
                // The journal: a fault is a device lost, shown on the LED
                // while the coaching goes on.
                _ = tokio::time::sleep_until(next_poll) => {
                    next_poll = tokio::time::Instant::now() + session_loop::JOURNAL_POLL;
                    match shell.writer.fault_changed() {
                        Some(Some(f)) => {
                            log::error!("{f}\n  coaching goes on; the LED shows the fault");
                            Event::Input(Input::DeviceLost(DeviceKind::Journal))
                        }
                        Some(None) => {
                            log::info!("journal: writing works again");
                            Event::Input(Input::DeviceBack(DeviceKind::Journal))
                        }
                        None => continue,
                    }
                }
            }
        };
        let actions = appliance.handle(now(), event);
        if let Some(s) = &standby {
            s.allow(appliance.idle(), now());
        }
        live_tx.send_if_modified(|live| {
            // Every action applied (no short-circuit): any change is sent.
            let mut changed = false;
            for a in &actions {
                changed |= live.apply(a);
            }
            changed
        });
        let (answers, exit) = shell.carry_out(actions);
        events.extend(answers);
        if exit {
            break;
        }
    }

    // Clean shutdown: silence, LED off, journal closed, threads joined.
    if let Some(stop) = page {
        let _ = stop.send(());
    }
    speaker.stop();
    keeper.abort();
    listener.stop();
    close(led, writer).await;
    Ok(())
}

/// The last of every shutdown: the LED off, the journal closed (its writer
/// finishes what waits), and systemd told.
async fn close(led: Box<dyn Indicator>, writer: JournalWriter) {
    drop(led);
    // Give the LED task a moment to switch the LED off.
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(writer);
    systemd::notify("STOPPING=1");
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
