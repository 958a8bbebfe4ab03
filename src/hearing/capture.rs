//! The live microphone. The cpal input callback only copies samples into a
//! lock-free ring buffer; a dedicated thread converts them to 16 kHz mono,
//! runs the listening [`Pipeline`] and sends what it hears to the session.
//! When the microphone fails or is unplugged, the thread tells the session
//! (so the LED can show it), retries every few seconds, and the coach goes on
//! with the button.

use super::pipeline::Pipeline;
use super::{VoiceError, RATE};
use crate::audio::resample::{to_i16, to_mono, Resampler};
use crate::session::{DeviceKind, Input};
#[cfg(feature = "mic-cpal")]
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often a failed microphone is tried again.
pub const RETRY: Duration = Duration::from_secs(3);

/// Samples the ring holds: about 2 s at 48 kHz stereo.
const RING: usize = 192_000;

/// A playback reference for echo cancellation: the coach's output samples
/// (mono, at `rate`), pushed by the audio output as it plays them.
pub struct Reference {
    pub samples: rtrb::Consumer<f32>,
    pub rate: u32,
}

#[cfg(feature = "mic-cpal")]
const MIC_FIX: &str = "plug in a USB microphone and check `arecord -l` and `matcoach devices`; make sure the user is in the `audio` group";

/// A device's name as `matcoach devices` and the config give it.
#[cfg(feature = "mic-cpal")]
fn name_of(d: &cpal::Device) -> String {
    d.id()
        .map(|i| i.id().to_string())
        .or_else(|_| d.description().map(|x| x.name().to_string()))
        .unwrap_or_else(|_| "?".into())
}

#[cfg(feature = "mic-cpal")]
fn find_input(name: &str) -> Result<cpal::Device, VoiceError> {
    let host = cpal::default_host();
    let missing = |reason: String| VoiceError::Microphone {
        device: name.into(),
        reason,
        fix: MIC_FIX.into(),
    };
    if name.is_empty() || name == "default" {
        return host
            .default_input_device()
            .ok_or_else(|| missing("the system has no default input device".into()));
    }
    let devices: Vec<cpal::Device> = host
        .input_devices()
        .map_err(|e| missing(e.to_string()))?
        .collect();
    let mut names = Vec::new();
    for d in devices {
        let id = name_of(&d);
        let desc = d
            .description()
            .map(|x| x.name().to_string())
            .unwrap_or_default();
        if id == name || desc == name {
            return Ok(d);
        }
        names.push(id);
    }
    Err(VoiceError::Microphone {
        device: name.into(),
        reason: format!("not found (available: {})", names.join(", ")),
        fix: "set voice.input_device to one of these (see `matcoach devices`), or to \"default\""
            .into(),
    })
}

/// An open, running input stream whose callback only copies the samples
/// (as f32, interleaved) into a lock-free ring.
pub struct Mic {
    #[cfg(feature = "mic-cpal")]
    _stream: cpal::Stream,
    /// What was opened.
    pub device: String,
    pub samples: rtrb::Consumer<f32>,
    pub rate: u32,
    pub channels: usize,
    failed: Arc<AtomicBool>,
    /// Samples the ring had no room for (the listening thread fell behind).
    dropped: Arc<AtomicU64>,
}

impl Mic {
    /// Open input device `name` ("" or "default": the system's default) at
    /// its native rate and format, with a ring of `ring` samples.
    #[cfg(feature = "mic-cpal")]
    pub fn open(name: &str, ring: usize) -> Result<Mic, VoiceError> {
        let device = find_input(name)?;
        let opened = name_of(&device);
        let fail = |reason: String| {
            let r = reason.to_ascii_lowercase();
            let fix = if r.contains("permission") {
                "add the user to the audio group: sudo adduser $USER audio (then log in again)"
            } else if r.contains("not available") || r.contains("disconnected") {
                MIC_FIX
            } else {
                "check the microphone with `arecord -l`; if another program uses it, close that program"
            };
            VoiceError::Microphone {
                device: opened.clone(),
                reason,
                fix: fix.into(),
            }
        };
        let supported = device
            .default_input_config()
            .map_err(|e| fail(e.to_string()))?;
        let format = supported.sample_format();
        let config = supported.config();
        let rate = config.sample_rate;
        let channels = usize::from(config.channels);
        let (mut producer, consumer) = rtrb::RingBuffer::<f32>::new(ring.max(1024));
        let failed = Arc::new(AtomicBool::new(false));
        let flag = failed.clone();
        let dropped = Arc::new(AtomicU64::new(0));
        let lost = dropped.clone();
        let stream = device
            .build_input_stream_raw(
                config,
                format,
                move |data: &cpal::Data, _: &cpal::InputCallbackInfo| {
                    // Only copy: convert to f32 and push; count what does
                    // not fit (one atomic add per callback).
                    let mut missed = 0u64;
                    let mut push = |x: f32| {
                        if producer.push(x).is_err() {
                            missed += 1;
                        }
                    };
                    if let Some(s) = data.as_slice::<f32>() {
                        s.iter().for_each(|x| push(*x));
                    } else if let Some(s) = data.as_slice::<i16>() {
                        s.iter()
                            .for_each(|x| push(crate::audio::analysis::sample_to_f32(*x)));
                    } else if let Some(s) = data.as_slice::<i32>() {
                        s.iter().for_each(|x| push(*x as f32 / 2_147_483_648.0));
                    } else if let Some(s) = data.as_slice::<u16>() {
                        s.iter()
                            .for_each(|x| push((f32::from(*x) - 32768.0) / 32768.0));
                    } else if let Some(s) = data.as_slice::<u8>() {
                        s.iter().for_each(|x| push((f32::from(*x) - 128.0) / 128.0));
                    }
                    if missed > 0 {
                        lost.fetch_add(missed, Ordering::Relaxed);
                    }
                },
                move |_err| flag.store(true, Ordering::Relaxed),
                None,
            )
            .map_err(|e| fail(e.to_string()))?;
        stream.play().map_err(|e| fail(e.to_string()))?;
        Ok(Mic {
            _stream: stream,
            device: opened,
            samples: consumer,
            rate,
            channels,
            failed,
            dropped,
        })
    }

    /// Without the `mic-cpal` feature there is no microphone to open: the
    /// error says so, and the coach goes on with the button.
    #[cfg(not(feature = "mic-cpal"))]
    pub fn open(name: &str, _ring: usize) -> Result<Mic, VoiceError> {
        Err(VoiceError::Microphone {
            device: name.into(),
            reason: "this build has no microphone support".into(),
            fix: "build matcoach with the `mic-cpal` feature (a default one), or use the button"
                .into(),
        })
    }

    /// Whether the stream reported an error (a device unplugged).
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Seconds of audio dropped so far because the listening thread did
    /// not keep up.
    pub fn dropped_secs(&self) -> f64 {
        let frames = self.dropped.load(Ordering::Relaxed) / self.channels.max(1) as u64;
        frames as f64 / f64::from(self.rate.max(1))
    }
}

/// How the shell steers a listening thread: stop it, or have it stand
/// aside for a while (let go of the microphone, as while the voice check
/// uses it) and come back with a pipeline made afresh (which picks up a new
/// calibration).
#[derive(Debug, Default)]
pub struct Control {
    stop: AtomicBool,
    aside: AtomicBool,
    /// Set by the thread while it has let go of the microphone.
    standing_aside: AtomicBool,
}

impl Control {
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Ask the thread to let go of the microphone; see [`Control::is_aside`].
    pub fn stand_aside(&self) {
        self.aside.store(true, Ordering::Relaxed);
    }

    /// Whether the thread has let go of the microphone.
    pub fn is_aside(&self) -> bool {
        self.standing_aside.load(Ordering::Relaxed)
    }

    /// Listen again.
    pub fn come_back(&self) {
        self.aside.store(false, Ordering::Relaxed);
    }

    fn asked_aside(&self) -> bool {
        self.aside.load(Ordering::Relaxed)
    }
}

/// Listen on `device` until `control` stops it, sending heard commands to
/// `inputs`. `make` builds the pipeline (recogniser, echo canceller) on
/// this thread: once at the start, and again after standing aside. Runs on
/// its own thread: call from `std::thread::spawn`.
pub fn listen(
    device: String,
    mut make: impl FnMut() -> Result<Pipeline, VoiceError>,
    mut reference: Option<Reference>,
    inputs: mpsc::Sender<Input>,
    control: Arc<Control>,
    mut on_detection: impl FnMut(&super::Detection),
) -> Result<(), VoiceError> {
    let mut pipeline = Some(make()?);
    let mut reported_lost = false;
    let mut retry = crate::devices::Retrying::default();
    let mut buf = Vec::new();
    let mut ref_buf = Vec::new();
    let stop = &control.stop;
    while !stop.load(Ordering::Relaxed) {
        if control.asked_aside() {
            // Let go of the microphone and the recogniser until asked back;
            // what the speaker plays meanwhile is not paired with anything.
            pipeline = None;
            control.standing_aside.store(true, Ordering::Relaxed);
            while control.asked_aside() && !stop.load(Ordering::Relaxed) {
                drain(&mut reference);
                std::thread::sleep(Duration::from_millis(50));
            }
            control.standing_aside.store(false, Ordering::Relaxed);
            continue;
        }
        let p = match pipeline.as_mut() {
            Some(p) => p,
            None => pipeline.insert(make()?),
        };
        let mut mic = match Mic::open(&device, RING) {
            Ok(m) => m,
            Err(e) => {
                if let Some(new) = retry.failed(&e.to_string()) {
                    log::error!("{new}");
                }
                if !reported_lost {
                    let _ = inputs.try_send(Input::DeviceLost(DeviceKind::Microphone));
                    reported_lost = true;
                }
                sleep_unless(stop, RETRY);
                continue;
            }
        };
        retry.succeeded();
        if reported_lost {
            let _ = inputs.try_send(Input::DeviceBack(DeviceKind::Microphone));
            reported_lost = false;
        }
        let mut resampler = Resampler::new(mic.rate, RATE);
        let mut ref_resampler = reference.as_ref().map(|r| Resampler::new(r.rate, RATE));
        let mut mono16 = Vec::new();
        let mut ref16 = Vec::new();
        let mut behind = Behind::default();
        let mut dropped_before = 0.0;
        while !stop.load(Ordering::Relaxed) && !control.asked_aside() {
            let dropped = mic.dropped_secs();
            if dropped > dropped_before {
                // What the speaker played while the microphone's audio was
                // lost can no longer be paired with it: start pairing afresh.
                dropped_before = dropped;
                drain(&mut reference);
                p.drop_reference_backlog();
            }
            if let Some(note) = behind.check(dropped, std::time::Instant::now()) {
                log::warn!("microphone \"{device}\": {note}");
            }
            if mic.failed() {
                log::error!(
                    "microphone \"{device}\" stopped; trying again every {} s",
                    RETRY.as_secs()
                );
                let _ = inputs.try_send(Input::DeviceLost(DeviceKind::Microphone));
                reported_lost = true;
                break;
            }
            let n = mic.samples.slots();
            if n < mic.channels * 160 {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            buf.clear();
            if let Ok(chunk) = mic.samples.read_chunk(n - n % mic.channels) {
                buf.extend(chunk);
            }
            mono16.clear();
            resampler.process(&to_mono(&buf, mic.channels), &mut mono16);
            // The reference: what the speaker played over the same time.
            ref16.clear();
            if let (Some(r), Some(rs)) = (reference.as_mut(), ref_resampler.as_mut()) {
                ref_buf.clear();
                let avail = r.samples.slots();
                if let Ok(chunk) = r.samples.read_chunk(avail) {
                    ref_buf.extend(chunk);
                }
                rs.process(&ref_buf, &mut ref16);
            }
            let mic_i16 = to_i16(&mono16);
            let ref_i16 = to_i16(&ref16);
            for d in p.push(&mic_i16, &ref_i16)? {
                on_detection(&d);
                if inputs.try_send(Input::Heard(d.command)).is_err() {
                    log::warn!("the coach is busy; a heard command was dropped");
                }
            }
        }
    }
    Ok(())
}

/// Forget what the speaker played so far.
fn drain(reference: &mut Option<Reference>) {
    if let Some(r) = reference.as_mut() {
        let n = r.samples.slots();
        if let Ok(chunk) = r.samples.read_chunk(n) {
            chunk.commit_all();
        }
    }
}

/// Tells, at most once a minute, that the listening thread fell behind the
/// microphone (its audio was dropped: a CPU too slow for the engine).
#[derive(Debug, Default)]
struct Behind {
    told_secs: f64,
    told_at: Option<std::time::Instant>,
}

impl Behind {
    const EVERY: Duration = Duration::from_secs(60);

    fn check(&mut self, dropped_secs: f64, now: std::time::Instant) -> Option<String> {
        if dropped_secs <= self.told_secs {
            return None;
        }
        if self
            .told_at
            .is_some_and(|t| now.duration_since(t) < Self::EVERY)
        {
            return None;
        }
        let note = format!(
            "the recogniser fell behind: {:.1} s of audio dropped{}; commands said meanwhile may be missed\n  \
             fix: close other busy programs; on a small Pi, PocketSphinx is the lighter engine ([voice] engine = \"pocketsphinx\", English)",
            dropped_secs - self.told_secs,
            if self.told_at.is_some() { " in the last minute or so" } else { "" },
        );
        self.told_secs = dropped_secs;
        self.told_at = Some(now);
        Some(note)
    }
}

fn sleep_unless(stop: &AtomicBool, total: Duration) {
    let step = Duration::from_millis(100);
    let mut waited = Duration::ZERO;
    while waited < total && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(step);
        waited += step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falling_behind_is_told_at_most_once_a_minute() {
        let t0 = std::time::Instant::now();
        let s = Duration::from_secs;
        let mut b = Behind::default();
        // (seconds since start, seconds dropped so far, told)
        let steps = [
            (0, 0.0, false),
            (1, 0.5, true),
            (2, 0.5, false),
            (30, 2.0, false),
            (62, 2.5, true),
            (70, 2.5, false),
            (200, 2.5, false),
            (201, 3.0, true),
        ];
        for (at, dropped, told) in steps {
            let note = b.check(dropped, t0 + s(at));
            assert_eq!(
                note.is_some(),
                told,
                "at {at} s, {dropped} s dropped: {note:?}"
            );
        }
    }
}
