//! The session loop, the thin tokio shell around one session: turns device events into session inputs and carries
//! out the session's actions on devices behind small traits.
//!
//! Devices report back only by sending [`Input`]s into the one bounded
//! channel the loop reads. Nothing here blocks the runtime.

use crate::devices::{Indicator, Journal, Reopen, Speaker, Standby};
use crate::session::{
    Action, Cue, DeviceKind, EndReason, Input, Line, PlaybackId, Priority, Session,
};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How often the loop asks the journal whether it fails (besides after
/// every input).
pub const JOURNAL_POLL: Duration = Duration::from_secs(1);

/// The size of the input channel: enough for bursts of button bounces and
/// recogniser results; senders use `try_send` and drop on overflow.
pub const INPUT_QUEUE: usize = 64;

/// What a shell may add to the loop: a different reading of an input (a
/// max test hears "stop" as "next"), and a regular tick (the systemd
/// watchdog), both from inside the loop so a stuck loop stops them.
pub trait Hooks {
    fn input(&mut self, input: Input) -> Input {
        input
    }
    /// How often `tick` wants to run (None: never).
    fn tick_every(&self) -> Option<Duration> {
        None
    }
    fn tick(&mut self) {}
}

/// No hooks.
pub struct NoHooks;

impl Hooks for NoHooks {}

/// Drive `session` until it ends, or until every input sender is gone and
/// the session has nothing left to wait for. Returns why it ended.
pub async fn run(
    session: &mut Session,
    speaker: &mut dyn Speaker,
    indicator: &mut dyn Indicator,
    journal: &mut dyn Journal,
    inputs: &mut mpsc::Receiver<Input>,
) -> Option<EndReason> {
    run_with(
        session,
        speaker,
        indicator,
        journal,
        inputs,
        &[],
        &mut NoHooks,
    )
    .await
}

/// [`run`], with inputs to handle first (e.g. the press that started the
/// session) and [`Hooks`].
pub async fn run_with(
    session: &mut Session,
    speaker: &mut dyn Speaker,
    indicator: &mut dyn Indicator,
    journal: &mut dyn Journal,
    inputs: &mut mpsc::Receiver<Input>,
    first: &[Input],
    hooks: &mut dyn Hooks,
) -> Option<EndReason> {
    let started = Instant::now();
    let mut open = true;
    let mut pending: std::collections::VecDeque<Input> = first.iter().copied().collect();
    let tick_every = hooks.tick_every();
    let mut next_tick = tick_every.map(|d| started + d);
    let mut next_poll = started;
    loop {
        // A journal that starts or stops failing is a device lost or back:
        // the LED shows it, the coaching goes on.
        if let Some(failing) = journal.failing_changed() {
            pending.push_back(hooks.input(if failing {
                Input::DeviceLost(DeviceKind::Journal)
            } else {
                Input::DeviceBack(DeviceKind::Journal)
            }));
        }
        let input = if let Some(i) = pending.pop_front() {
            i
        } else {
            let deadline = session.next_deadline().map(Instant::from_std);
            tokio::select! {
                biased;
                received = inputs.recv(), if open => match received {
                    Some(i) => hooks.input(i),
                    None => { open = false; continue; }
                },
                _ = sleep_until_opt(deadline), if deadline.is_some() => Input::DeadlineReached,
                _ = sleep_until_opt(next_tick), if next_tick.is_some() => {
                    hooks.tick();
                    next_tick = tick_every.map(|d| Instant::now() + d);
                    continue;
                }
                // Only while someone can still send inputs: a closed loop
                // with nothing to wait for ends.
                _ = tokio::time::sleep_until(next_poll), if open => {
                    next_poll = Instant::now() + JOURNAL_POLL;
                    continue;
                }
                else => return None,
            }
        };
        let now = Instant::now();
        for action in session.handle(now.into_std(), input) {
            match action {
                Action::Speak { id, line, priority } => speaker.speak(id, &line, priority),
                Action::StopSpeech => speaker.stop(),
                Action::Cue(c) => speaker.cue(c),
                Action::SetLed(l) => indicator.set(l),
                Action::Journal(e) => journal.record(now - started, &e),
                Action::End(reason) => return Some(reason),
            }
        }
    }
}

/// How [`keep_open`] watches a device and retries a lost one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// How often the device is looked at.
    pub watch: Duration,
    /// How often a lost device is tried again.
    pub every: Duration,
}

/// Look every 100 ms; retry every 3 s (as the microphone does).
pub const DEVICE_RETRY: Retry = Retry {
    watch: Duration::from_millis(100),
    every: Duration::from_secs(3),
};

fn device_name(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Microphone => "microphone",
        DeviceKind::Speaker => "speaker",
        DeviceKind::Journal => "journal",
    }
}

/// Keep `device` (open now) working: when it fails, tell the session
/// (`DeviceLost`), try to open it again every `retry.every`, and once that
/// works, tell the session (`DeviceBack`). `log` gets one line per change
/// and each new error (not every retry's). A device with a
/// [`Standby`] is closed while it has had nothing to do for a while (and
/// the shell allows it) and opened again as soon as something is queued
/// for it; one that cannot be opened then is lost as above. Runs until
/// `inputs` closes; spawn it, and abort it at shutdown.
pub async fn keep_open<D: Reopen>(
    mut device: D,
    inputs: mpsc::Sender<Input>,
    retry: Retry,
    mut log: impl FnMut(&str) + Send + 'static,
) {
    let kind = device.kind();
    let name = device_name(kind);
    let standby = device.standby();
    loop {
        // Watch it until it fails (or fails to wake from standby).
        let woken = loop {
            if inputs.is_closed() {
                return;
            }
            if device.failed() {
                break None;
            }
            if let Some(s) = &standby {
                let asked = s.asked_count();
                if s.due(Instant::now().into_std(), asked) {
                    let Some((d, woke)) = rest(device, s, asked, &inputs).await else {
                        return log(&format!("the {name} could not be put in standby"));
                    };
                    device = d;
                    match woke {
                        Ok(what) => log::debug!("the {name} is awake: {what}"),
                        Err(_) if inputs.is_closed() => return,
                        Err(e) => break Some(e),
                    }
                    continue;
                }
            }
            tokio::time::sleep(retry.watch).await;
        };
        if woken.is_none() {
            device = match tokio::task::spawn_blocking(move || {
                device.close();
                device
            })
            .await
            {
                Ok(d) => d,
                Err(e) => return log(&format!("the {name} could not be closed: {e}")),
            };
        }
        let mut retrying = crate::devices::Retrying::default();
        let why = woken.map(|e| {
            // The first error is told here; the retries tell only new ones.
            let _ = retrying.failed(&e);
            format!(" ({e})")
        });
        log(&format!(
            "the {name} is gone{}; trying again every {} s",
            why.unwrap_or_default(),
            retry.every.as_secs_f32()
        ));
        if inputs.send(Input::DeviceLost(kind)).await.is_err() {
            return;
        }
        loop {
            tokio::time::sleep(retry.every).await;
            if inputs.is_closed() {
                return;
            }
            let (d, tried) = match tokio::task::spawn_blocking(move || {
                let r = device.reopen().map_err(|e| e.to_string());
                (device, r)
            })
            .await
            {
                Ok(v) => v,
                Err(e) => return log(&format!("the {name} could not be reopened: {e}")),
            };
            device = d;
            match tried {
                Ok(what) => {
                    log(&format!("the {name} is back: {what}"));
                    if let Some(s) = &standby {
                        s.opened(Instant::now().into_std());
                    }
                    break;
                }
                Err(e) => {
                    if let Some(new) = retrying.failed(&e) {
                        log(new);
                    }
                }
            }
        }
        if inputs.send(Input::DeviceBack(kind)).await.is_err() {
            return;
        }
    }
}

/// Standby: close `device`, wait until it is wanted again (something
/// queued since `asked` commands, or standby no longer allowed) and open it
/// again, keeping what was queued. Returns the device and how waking went;
/// None when the blocking pool is gone. While `inputs` closes, it stays
/// closed.
async fn rest<D: Reopen>(
    mut device: D,
    standby: &Standby,
    asked: u64,
    inputs: &mpsc::Sender<Input>,
) -> Option<(D, Result<String, String>)> {
    device = tokio::task::spawn_blocking(move || {
        device.close();
        device
    })
    .await
    .ok()?;
    standby.set_asleep(true);
    loop {
        let changed = standby.changed();
        tokio::pin!(changed);
        // Registered before the check: a command queued after it wakes us.
        changed.as_mut().enable();
        if standby.wanted(asked) {
            break;
        }
        tokio::select! {
            _ = changed => {}
            _ = inputs.closed() => return Some((device, Err("shutting down".into()))),
        }
    }
    let (device, woke) = tokio::task::spawn_blocking(move || {
        let r = device.wake().map_err(|e| e.to_string());
        (device, r)
    })
    .await
    .ok()?;
    standby.opened(Instant::now().into_std());
    standby.set_asleep(false);
    Some((device, woke))
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// A speaker that paces phrases like speech: one after the other, each
/// lasting as long as a calm voice takes, and hands each text to `show` as
/// it starts. The terminal demo shows them on screen; tests record them.
pub struct PacedSpeaker {
    commands: mpsc::UnboundedSender<PacedCommand>,
}

enum PacedCommand {
    Speak(PlaybackId, Line, Priority),
    Stop,
    Cue(Cue),
}

/// What a paced speaker reports to its display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    Said(Line, Priority),
    Cue(Cue),
    Stopped,
}

impl PacedSpeaker {
    /// Spawn the pacing task on the current runtime.
    pub fn spawn(
        inputs: mpsc::Sender<Input>,
        mut show: impl FnMut(Shown) + Send + 'static,
    ) -> PacedSpeaker {
        let (tx, mut rx) = mpsc::unbounded_channel::<PacedCommand>();
        tokio::spawn(async move {
            let mut queue: std::collections::VecDeque<(PlaybackId, Line, Priority)> =
                Default::default();
            let mut current: Option<(PlaybackId, Instant)> = None;
            loop {
                if current.is_none() {
                    if let Some((id, line, priority)) = queue.pop_front() {
                        let end = Instant::now() + crate::session::estimate_speech(&line.text);
                        show(Shown::Said(line, priority));
                        current = Some((id, end));
                    }
                }
                let end = current.map(|(_, e)| e);
                tokio::select! {
                    cmd = rx.recv() => match cmd {
                        Some(PacedCommand::Speak(id, line, p)) => queue.push_back((id, line, p)),
                        Some(PacedCommand::Stop) => {
                            queue.clear();
                            current = None;
                            show(Shown::Stopped);
                        }
                        Some(PacedCommand::Cue(c)) => show(Shown::Cue(c)),
                        None => return,
                    },
                    _ = sleep_until_opt(end), if end.is_some() => {
                        if let Some((id, _)) = current.take() {
                            // The loop may be gone at shutdown; nothing to tell then.
                            let _ = inputs.try_send(Input::PlaybackFinished(id));
                        }
                    }
                }
            }
        });
        PacedSpeaker { commands: tx }
    }
}

impl Speaker for PacedSpeaker {
    fn speak(&mut self, id: PlaybackId, line: &Line, priority: Priority) {
        // The task lives as long as the speaker; a failed send means the
        // runtime is shutting down.
        let _ = self
            .commands
            .send(PacedCommand::Speak(id, line.clone(), priority));
    }

    fn stop(&mut self) {
        let _ = self.commands.send(PacedCommand::Stop);
    }

    fn cue(&mut self, cue: Cue) {
        let _ = self.commands.send(PacedCommand::Cue(cue));
    }
}
