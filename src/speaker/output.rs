//! Live playback through rodio/cpal (ALSA on Linux).
//!
//! The output stream is opened once and kept. Our [`Mixer`] runs inside the
//! stream as a rodio `Source`: the audio thread only takes commands from a
//! lock-free ring buffer, renders small blocks, and reports finished phrases
//! with a non-blocking `try_send`. Phrases are placed on the sample clock at
//! `when + delay`, so counts keep their exact spacing whatever the buffer
//! phase; "stop" is applied at the next block (a few milliseconds).

use crate::audio::mixer::{MixEvent, Mixer};
use crate::audio::{resample, AudioError, Clip};
use crate::devices::{ClipSink, Reopen, Standby};
use crate::session::{DeviceKind, Input, PlaybackId, Priority};
use cpal::traits::{DeviceTrait, HostTrait};
use rodio::Source;
use std::num::NonZero;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Samples rendered per block inside the audio callback.
const BLOCK: usize = 256;
/// How far ahead of "now" phrases are placed: enough to cover one device
/// buffer, so that a phrase's place on the sample clock is never in the past.
pub const SCHEDULE_DELAY: Duration = Duration::from_millis(60);

enum Command {
    Speak {
        id: PlaybackId,
        clip: Clip,
        priority: Priority,
        when: Instant,
    },
    Cue {
        clip: Clip,
        when: Instant,
    },
    Stop,
    Volume(f32),
}

/// The mapping from wall-clock time to the mixer's sample clock. Each block
/// is rendered some time before it is heard, by a varying amount; the
/// earliest render time (relative to its position) over the last couple of
/// seconds is the steady mapping. A window, not an all-time minimum: the
/// first fill of the device buffer, or the refill after an underrun, renders
/// blocks far ahead of time and must not skew the mapping for long.
struct Clock {
    rate: f64,
    /// (render time − position/rate) of the latest blocks, oldest first.
    window: std::collections::VecDeque<Instant>,
    base: Option<Instant>,
}

/// Blocks in the window: about two seconds at 48 kHz.
const CLOCK_WINDOW: usize = 400;

impl Clock {
    fn new(rate: u32) -> Clock {
        Clock {
            rate: f64::from(rate),
            window: std::collections::VecDeque::with_capacity(CLOCK_WINDOW),
            base: None,
        }
    }

    fn observe(&mut self, now: Instant, pos: u64) {
        let since_base = Duration::from_secs_f64(pos as f64 / self.rate);
        let observed = now.checked_sub(since_base).unwrap_or(now);
        if self.window.len() == CLOCK_WINDOW {
            self.window.pop_front();
        }
        self.window.push_back(observed);
        self.base = self.window.iter().min().copied();
    }

    fn sample_of(&self, when: Instant, delay: Duration) -> u64 {
        match self.base {
            Some(b) => {
                ((when + delay).saturating_duration_since(b).as_secs_f64() * self.rate) as u64
            }
            None => 0,
        }
    }
}

/// The mixer as a never-ending rodio source.
struct LiveSource {
    mixer: Mixer,
    /// Always Some while the stream plays; goes back to `commands_home`
    /// when it ends, so that a stream opened after standby takes what was
    /// queued meanwhile.
    commands: Option<rtrb::Consumer<Command>>,
    commands_home: Arc<Mutex<Option<rtrb::Consumer<Command>>>>,
    standby: Arc<Standby>,
    inputs: mpsc::Sender<Input>,
    block: Vec<f32>,
    next: usize,
    clock: Clock,
    /// What is played, for the microphone's echo canceller.
    reference: Option<rtrb::Producer<f32>>,
    /// Where `reference` goes back when the stream ends, for the next one.
    reference_home: Arc<Mutex<Option<rtrb::Producer<f32>>>>,
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        // This may run on the audio thread: never wait for the lock. Nobody
        // else holds it while a stream is being torn down.
        if let Some(r) = self.reference.take() {
            if let Ok(mut home) = self.reference_home.try_lock() {
                *home = Some(r);
            }
        }
        if let Some(c) = self.commands.take() {
            if let Ok(mut home) = self.commands_home.try_lock() {
                *home = Some(c);
            }
        }
    }
}

impl LiveSource {
    fn refill(&mut self) {
        let now = Instant::now();
        self.clock.observe(now, self.mixer.pos());
        let mut taken = 0;
        while let Some(cmd) = self.commands.as_mut().and_then(|c| c.pop().ok()) {
            taken += 1;
            match cmd {
                Command::Speak {
                    id,
                    clip,
                    priority,
                    when,
                } => {
                    let at = self.clock.sample_of(when, SCHEDULE_DELAY);
                    self.mixer.speak(id, clip, priority, at);
                }
                Command::Cue { clip, when } => {
                    let at = self.clock.sample_of(when, SCHEDULE_DELAY);
                    self.mixer.cue(clip, at);
                }
                Command::Stop => self.mixer.stop(),
                Command::Volume(v) => self.mixer.set_volume(v),
            }
        }
        self.mixer.render(&mut self.block);
        self.standby.took(now, taken, self.mixer.is_busy());
        if let Some(r) = self.reference.as_mut() {
            // Drop what the listener has not taken: it fell behind.
            for s in &self.block {
                if r.push(*s).is_err() {
                    break;
                }
            }
        }
        for e in self.mixer.drain_events() {
            if let MixEvent::Finished { id, .. } = e {
                // Never block the audio thread; the loop drains quickly.
                let _ = self.inputs.try_send(Input::PlaybackFinished(id));
            }
        }
        self.next = 0;
    }
}

impl Iterator for LiveSource {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        if self.next >= self.block.len() {
            self.refill();
        }
        let s = self.block.get(self.next).copied().unwrap_or(0.0);
        self.next += 1;
        Some(s)
    }
}

impl Source for LiveSource {
    fn current_span_len(&self) -> Option<usize> {
        None
    }

    fn channels(&self) -> rodio::ChannelCount {
        NonZero::<u16>::MIN
    }

    fn sample_rate(&self) -> rodio::SampleRate {
        NonZero::new(self.mixer.rate()).unwrap_or(NonZero::<u32>::MIN)
    }

    fn total_duration(&self) -> Option<Duration> {
        None
    }
}

/// An output device, as `matcoach devices` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The name to put in the config.
    pub name: String,
    pub description: String,
    pub is_default: bool,
}

fn device_name(d: &cpal::Device) -> String {
    d.id()
        .map(|id| id.id().to_string())
        .or_else(|_| d.description().map(|x| x.name().to_string()))
        .unwrap_or_else(|_| "?".into())
}

fn list(devices: impl Iterator<Item = cpal::Device>, default: Option<String>) -> Vec<DeviceInfo> {
    devices
        .map(|d| {
            let name = device_name(&d);
            DeviceInfo {
                description: d
                    .description()
                    .map(|x| x.name().to_string())
                    .unwrap_or_default(),
                is_default: default.as_deref() == Some(name.as_str()),
                name,
            }
        })
        .collect()
}

/// Output and input devices of the default host.
pub fn devices() -> Result<(Vec<DeviceInfo>, Vec<DeviceInfo>), AudioError> {
    let host = cpal::default_host();
    let no = |e: cpal::Error| AudioError::NoOutputDevice {
        reason: e.to_string(),
    };
    let def_out = host.default_output_device().map(|d| device_name(&d));
    let def_in = host.default_input_device().map(|d| device_name(&d));
    let outs = list(host.output_devices().map_err(no)?, def_out);
    let ins = list(host.input_devices().map_err(no)?, def_in);
    Ok((outs, ins))
}

fn find_output(name: &str) -> Result<cpal::Device, AudioError> {
    let host = cpal::default_host();
    if name.is_empty() || name == "default" {
        return host
            .default_output_device()
            .ok_or_else(|| AudioError::NoOutputDevice {
                reason: "the system has no default output device".into(),
            });
    }
    let devices: Vec<cpal::Device> = host
        .output_devices()
        .map_err(|e| AudioError::NoOutputDevice {
            reason: e.to_string(),
        })?
        .collect();
    let names: Vec<String> = devices.iter().map(device_name).collect();
    devices
        .into_iter()
        .zip(names.iter())
        .find(|(d, n)| n.as_str() == name || d.description().is_ok_and(|x| x.name() == name))
        .map(|(d, _)| d)
        .ok_or_else(|| AudioError::UnknownDevice {
            name: name.into(),
            available: if names.is_empty() {
                "(none)".into()
            } else {
                names.join(", ")
            },
        })
}

fn open_fix(reason: &str) -> String {
    let r = reason.to_ascii_lowercase();
    if r.contains("permission") || r.contains("eacces") {
        "add the user to the audio group: sudo adduser $USER audio (then log in again)".into()
    } else if r.contains("busy") || r.contains("ebusy") {
        "another program is using the device: close it, or use a device that mixes (e.g. \"default\" through PulseAudio/PipeWire)".into()
    } else {
        "plug in a speaker or USB sound card and check it with `aplay -l` and `matcoach devices`, or choose another in audio.output_device".into()
    }
}

/// An open output device. Keep it alive as long as sound is wanted; the
/// stream closes when it is dropped. When the device fails (a USB speaker
/// unplugged), [`Reopen::failed`] says so and [`Reopen::reopen`] opens it
/// again: the same [`OutputHandle`] then plays through the new stream
/// (`session_loop::keep_open` does this).
pub struct RodioOutput {
    sink: Option<Box<rodio::MixerDeviceSink>>,
    /// The device's name, as opened.
    pub device: String,
    /// The rate it was first opened at (the echo reference's rate).
    pub rate: u32,
    /// What the config asked for ("default" or a name).
    wanted: String,
    volume: f32,
    inputs: mpsc::Sender<Input>,
    commands: Arc<Mutex<rtrb::Producer<Command>>>,
    retired: Arc<Mutex<rtrb::Consumer<Clip>>>,
    /// The open stream's rate, shared with the handles.
    stream_rate: Arc<AtomicU32>,
    reference: Arc<Mutex<Option<rtrb::Producer<f32>>>>,
    /// Where the command queue's reading end waits while no stream plays.
    commands_home: Arc<Mutex<Option<rtrb::Consumer<Command>>>>,
    standby: Arc<Standby>,
    /// Set by the stream's error callback when the device is gone.
    lost: Arc<AtomicBool>,
}

/// Sends phrases to the open output; cheap to clone.
#[derive(Clone)]
pub struct OutputHandle {
    commands: Arc<Mutex<rtrb::Producer<Command>>>,
    /// The clips the audio thread is done with: dropped here, on the
    /// coach's threads, never on the real-time one.
    retired: Arc<Mutex<rtrb::Consumer<Clip>>>,
    /// The open stream's rate: clips reach the audio thread at it.
    rate: Arc<AtomicU32>,
    /// Told of every command, to wake the device from standby.
    standby: Arc<Standby>,
}

/// A stream playing our mixer.
struct Stream {
    sink: rodio::MixerDeviceSink,
    device: String,
    rate: u32,
    retired: rtrb::Consumer<Clip>,
}

/// What a new stream shares with the output that opens it.
struct Shared<'a> {
    inputs: &'a mpsc::Sender<Input>,
    reference: &'a Arc<Mutex<Option<rtrb::Producer<f32>>>>,
    commands_home: &'a Arc<Mutex<Option<rtrb::Consumer<Command>>>>,
    standby: &'a Arc<Standby>,
    lost: &'a Arc<AtomicBool>,
}

/// Whether a stream error means the device is gone (unplugged, or its
/// stream can no longer be used), as opposed to an underrun.
fn is_loss(kind: cpal::ErrorKind) -> bool {
    matches!(
        kind,
        cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::StreamInvalidated
    )
}

/// Open `wanted` and start our mixer on it, reading `commands`. The
/// reference producer is taken from `reference` only once the stream is open
/// (and, with `reference_rate`, only if the stream plays at that rate, the
/// one the listener expects), and goes back there when the stream ends, as
/// `commands` goes back to `commands_home`.
fn start(
    wanted: &str,
    volume: f32,
    commands: rtrb::Consumer<Command>,
    shared: Shared,
    reference_rate: Option<u32>,
) -> Result<Stream, AudioError> {
    let Shared {
        inputs,
        reference,
        commands_home,
        standby,
        lost,
    } = shared;
    let dev = find_output(wanted)?;
    let name = device_name(&dev);
    let failed = |e: &dyn std::fmt::Display| {
        let reason = e.to_string();
        AudioError::OpenFailed {
            name: name.clone(),
            fix: open_fix(&reason),
            reason,
        }
    };
    let native = dev
        .default_output_config()
        .map(|c| c.sample_rate())
        .unwrap_or(48_000);
    let frames = (native / 50).max(256); // about 20 ms
    let builder = rodio::DeviceSinkBuilder::from_device(dev)
        .map_err(|e| failed(&e))?
        .with_buffer_size(cpal::BufferSize::Fixed(frames))
        // 16-bit: what every USB sound card and ALSA plugin takes.
        .with_sample_format(cpal::SampleFormat::I16)
        .with_error_callback({
            // An underrun can bring thousands of errors: say the first,
            // then every thousandth. A lost device only sets a flag, which
            // the coach's side watches.
            let count = Arc::new(AtomicU64::new(0));
            let lost = lost.clone();
            move |e: cpal::Error| {
                if is_loss(e.kind()) {
                    lost.store(true, Ordering::Relaxed);
                }
                let n = count.fetch_add(1, Ordering::Relaxed);
                if n.is_multiple_of(1000) {
                    log::error!("audio output error ({} so far): {e}", n + 1);
                }
            }
        });
    let mut sink = builder.open_sink_or_fallback().map_err(|e| failed(&e))?;
    sink.log_on_drop(false);
    let rate = sink.config().sample_rate().get();
    // Every clip sent can come back: as many as commands, and more.
    let (retire, retired) = rtrb::RingBuffer::new(1024);
    let mut mixer = Mixer::new(rate, volume);
    mixer.hand_back(retire);
    let source = LiveSource {
        mixer,
        commands: Some(commands),
        commands_home: commands_home.clone(),
        standby: standby.clone(),
        inputs: inputs.clone(),
        block: vec![0.0; BLOCK],
        next: BLOCK,
        clock: Clock::new(rate),
        reference: if reference_rate.is_none_or(|r| r == rate) {
            reference.lock().ok().and_then(|mut r| r.take())
        } else {
            None
        },
        reference_home: reference.clone(),
    };
    sink.mixer().add(source);
    Ok(Stream {
        sink,
        device: name,
        rate,
        retired,
    })
}

/// Commands waiting for the audio thread: 256 unread mean it is stuck.
fn command_queue() -> (rtrb::Producer<Command>, rtrb::Consumer<Command>) {
    rtrb::RingBuffer::new(256)
}

impl RodioOutput {
    /// Open `device` ("default" or a name from `matcoach devices`) once,
    /// with a small buffer so that "stop" is quick. Finished phrases are
    /// reported on `inputs`. With `reference`, every sample played is also
    /// pushed there (mono, at [`RodioOutput::rate`]) for echo cancellation.
    /// After `standby` with nothing to play (zero: never) the stream may be
    /// closed, when the shell allows it (see [`Standby`]).
    pub fn open(
        device: &str,
        volume: f32,
        inputs: mpsc::Sender<Input>,
        reference: Option<rtrb::Producer<f32>>,
        standby: Duration,
    ) -> Result<(RodioOutput, OutputHandle), AudioError> {
        let reference = Arc::new(Mutex::new(reference));
        let lost = Arc::new(AtomicBool::new(false));
        let commands_home = Arc::new(Mutex::new(None));
        let standby = Standby::new(standby, Instant::now());
        let (producer, consumer) = command_queue();
        let stream = start(
            device,
            volume,
            consumer,
            Shared {
                inputs: &inputs,
                reference: &reference,
                commands_home: &commands_home,
                standby: &standby,
                lost: &lost,
            },
            None,
        )?;
        let commands = Arc::new(Mutex::new(producer));
        let retired = Arc::new(Mutex::new(stream.retired));
        let stream_rate = Arc::new(AtomicU32::new(stream.rate));
        Ok((
            RodioOutput {
                sink: Some(Box::new(stream.sink)),
                device: stream.device,
                rate: stream.rate,
                wanted: device.to_string(),
                volume,
                inputs,
                commands: commands.clone(),
                retired: retired.clone(),
                stream_rate: stream_rate.clone(),
                reference,
                commands_home,
                standby: standby.clone(),
                lost,
            },
            OutputHandle {
                commands,
                retired,
                rate: stream_rate,
                standby,
            },
        ))
    }

    /// Open the device again, reading `commands` (after standby: what was
    /// queued meanwhile) or, without them, a new queue (after a loss: what
    /// waited for the old stream is dropped with it).
    fn start_again(
        &mut self,
        commands: Option<rtrb::Consumer<Command>>,
    ) -> Result<String, AudioError> {
        self.sink = None;
        self.lost.store(false, Ordering::Relaxed);
        let (producer, consumer) = match commands {
            Some(c) => (None, c),
            None => {
                let (p, c) = command_queue();
                (Some(p), c)
            }
        };
        let stream = start(
            &self.wanted,
            self.volume,
            consumer,
            Shared {
                inputs: &self.inputs,
                reference: &self.reference,
                commands_home: &self.commands_home,
                standby: &self.standby,
                lost: &self.lost,
            },
            Some(self.rate),
        )?;
        self.stream_rate.store(stream.rate, Ordering::Relaxed);
        if let Some(p) = producer {
            // The handle's queue now feeds the new stream. What was queued
            // for the lost one is dropped with it: counted as taken under
            // the lock, so every command pushed to the old queue is
            // counted and none pushed to the new one is.
            if let Ok(mut commands) = self.commands.lock() {
                *commands = p;
                self.standby.forget_queued();
            }
        }
        if let Ok(mut retired) = self.retired.lock() {
            *retired = stream.retired;
        }
        self.sink = Some(Box::new(stream.sink));
        let mut what = format!("{} ({} Hz)", stream.device, stream.rate);
        if stream.rate != self.rate {
            // `rate` stays the first stream's: the listener's reference rate.
            what.push_str(&format!(
                "; not the {} Hz it had before, so echo cancellation is off until matcoach restarts",
                self.rate
            ));
        }
        self.device = stream.device;
        Ok(what)
    }
}

impl Reopen for RodioOutput {
    type Error = AudioError;

    fn kind(&self) -> DeviceKind {
        DeviceKind::Speaker
    }

    fn failed(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    fn close(&mut self) {
        // Dropping the sink stops the stream and ends its thread.
        self.sink = None;
    }

    fn reopen(&mut self) -> Result<String, AudioError> {
        // What waited for the lost stream is dropped with it.
        if let Ok(mut home) = self.commands_home.lock() {
            *home = None;
        }
        self.start_again(None)
    }

    fn standby(&self) -> Option<Arc<Standby>> {
        Some(self.standby.clone())
    }

    fn wake(&mut self) -> Result<String, AudioError> {
        let waiting = self.commands_home.lock().ok().and_then(|mut h| h.take());
        if waiting.is_none() {
            log::warn!("the speaker's queue was not handed back at standby; what was queued since is dropped");
        }
        self.start_again(waiting)
    }
}

impl OutputHandle {
    fn send(&self, cmd: Command) {
        // Free what the audio thread has finished with, here.
        if let Ok(mut retired) = self.retired.lock() {
            while retired.pop().is_ok() {}
        }
        // Only the coach's threads take this lock, never the audio thread.
        let Ok(mut producer) = self.commands.lock() else {
            return;
        };
        // A full ring (256 commands unread) means the audio thread is stuck;
        // dropping a command then is better than blocking the coach.
        if producer.push(cmd).is_err() {
            log::warn!("audio command queue full; a phrase was dropped");
            return;
        }
        // After the push, and under the lock (see `start_again`): a stream
        // opened on this queue sees the command.
        self.standby.asked();
    }

    pub fn set_volume(&self, volume: f32) {
        self.send(Command::Volume(volume));
    }

    /// `clip` at the stream's rate (shared, not copied, when it already
    /// is), so the audio thread only copies samples.
    fn at_stream_rate(&self, clip: Clip) -> Clip {
        resample::to_rate(&clip, self.rate())
    }
}

impl ClipSink for OutputHandle {
    fn rate(&self) -> u32 {
        self.rate.load(Ordering::Relaxed)
    }

    fn play(&self, id: PlaybackId, clip: Clip, priority: Priority, when: Instant) {
        self.send(Command::Speak {
            id,
            clip: self.at_stream_rate(clip),
            priority,
            when,
        });
    }

    fn cue(&self, tone: Clip, when: Instant) {
        self.send(Command::Cue {
            clip: self.at_stream_rate(tone),
            when,
        });
    }

    fn stop(&self) {
        self.send(Command::Stop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gone_device_counts_as_lost() {
        assert!(is_loss(cpal::ErrorKind::DeviceNotAvailable));
        assert!(is_loss(cpal::ErrorKind::StreamInvalidated));
        assert!(!is_loss(cpal::ErrorKind::Xrun));
        assert!(!is_loss(cpal::ErrorKind::DeviceBusy));
    }

    #[test]
    fn the_clock_forgets_a_fast_first_fill() {
        let rate = 48_000;
        let mut c = Clock::new(rate);
        let t0 = Instant::now();
        // The first fill: 20 blocks rendered at once.
        for k in 0..20u64 {
            c.observe(t0, k * 256);
        }
        // Then steady: each block rendered as its time comes, 100 ms later.
        let block = Duration::from_secs_f64(256.0 / f64::from(rate));
        let mut pos = 20 * 256;
        let mut t = t0 + Duration::from_millis(100);
        for _ in 0..(CLOCK_WINDOW + 10) {
            c.observe(t, pos);
            pos += 256;
            t += block;
        }
        // The mapping now follows the steady blocks, not the first fill.
        let steady_base = t0 + Duration::from_millis(100)
            - Duration::from_secs_f64(20.0 * 256.0 / f64::from(rate));
        let got = c.base.unwrap();
        let err = if got > steady_base {
            got - steady_base
        } else {
            steady_base - got
        };
        assert!(err < Duration::from_micros(100), "{err:?}");
    }
}
