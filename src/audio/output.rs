//! Live playback through rodio/cpal (ALSA on Linux).
//!
//! The output stream is opened once and kept. Our [`Mixer`] runs inside the
//! stream as a rodio `Source`: the audio thread only takes commands from a
//! lock-free ring buffer, renders small blocks, and reports finished phrases
//! with a non-blocking `try_send`. Phrases are placed on the sample clock at
//! `when + delay`, so counts keep their exact spacing whatever the buffer
//! phase; "stop" is applied at the next block (a few milliseconds).

use super::mixer::{MixEvent, Mixer};
use super::{cues, AudioError, Clip};
use crate::session::{Cue, Input, PlaybackId, Priority};
use crate::speaker::ClipSink;
use cpal::traits::{DeviceTrait, HostTrait};
use rodio::Source;
use std::num::NonZero;
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
    commands: rtrb::Consumer<Command>,
    inputs: mpsc::Sender<Input>,
    block: Vec<f32>,
    next: usize,
    clock: Clock,
    /// What is played, for the microphone's echo canceller.
    reference: Option<rtrb::Producer<f32>>,
}

impl LiveSource {
    fn refill(&mut self) {
        self.clock.observe(Instant::now(), self.mixer.pos());
        while let Ok(cmd) = self.commands.pop() {
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
        if let Some(r) = self.reference.as_mut() {
            // Drop what the listener has not taken: it fell behind.
            for s in &self.block {
                if r.push(*s).is_err() {
                    break;
                }
            }
        }
        for e in self.mixer.take_events() {
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
        "check the device with `aplay -l` and `matcoach devices`, or choose another in audio.output_device".into()
    }
}

/// An open output device. Keep it alive as long as sound is wanted; the
/// stream closes when it is dropped.
pub struct RodioOutput {
    _sink: rodio::MixerDeviceSink,
    pub device: String,
    pub rate: u32,
}

/// Sends phrases to the open output; cheap to clone.
#[derive(Clone)]
pub struct OutputHandle {
    commands: Arc<Mutex<rtrb::Producer<Command>>>,
}

impl RodioOutput {
    /// Open `device` ("default" or a name from `matcoach devices`) once,
    /// with a small buffer so that "stop" is quick. Finished phrases are
    /// reported on `inputs`. With `reference`, every sample played is also
    /// pushed there (mono, at [`RodioOutput::rate`]) for echo cancellation.
    pub fn open(
        device: &str,
        volume: f32,
        inputs: mpsc::Sender<Input>,
        reference: Option<rtrb::Producer<f32>>,
    ) -> Result<(RodioOutput, OutputHandle), AudioError> {
        let dev = find_output(device)?;
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
                // then every thousandth.
                let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
                move |e| {
                    let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n.is_multiple_of(1000) {
                        eprintln!("matcoach: audio output error ({} so far): {e}", n + 1);
                    }
                }
            });
        let mut sink = builder.open_sink_or_fallback().map_err(|e| failed(&e))?;
        sink.log_on_drop(false);
        let rate = sink.config().sample_rate().get();
        let (producer, consumer) = rtrb::RingBuffer::new(256);
        let source = LiveSource {
            mixer: Mixer::new(rate, volume),
            commands: consumer,
            inputs,
            block: vec![0.0; BLOCK],
            next: BLOCK,
            clock: Clock::new(rate),
            reference,
        };
        sink.mixer().add(source);
        Ok((
            RodioOutput {
                _sink: sink,
                device: name,
                rate,
            },
            OutputHandle {
                commands: Arc::new(Mutex::new(producer)),
            },
        ))
    }
}

impl OutputHandle {
    fn send(&self, cmd: Command) {
        // Only the coach's threads take this lock, never the audio thread.
        let Ok(mut producer) = self.commands.lock() else {
            return;
        };
        // A full ring (256 commands unread) means the audio thread is stuck;
        // dropping a command then is better than blocking the coach.
        if producer.push(cmd).is_err() {
            eprintln!("matcoach: audio command queue full; a phrase was dropped");
        }
    }

    pub fn set_volume(&self, volume: f32) {
        self.send(Command::Volume(volume));
    }
}

impl ClipSink for OutputHandle {
    fn play(&self, id: PlaybackId, clip: Clip, priority: Priority, when: Instant) {
        self.send(Command::Speak {
            id,
            clip,
            priority,
            when,
        });
    }

    fn cue(&self, cue: Cue, when: Instant) {
        self.send(Command::Cue {
            clip: cues::tone(cue),
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
