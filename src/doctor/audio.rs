//! The doctor's sound checks: the output device (and a test tone), the
//! microphone and its level.

use super::*;

/// The output device opens (and, with `tone`, plays a short tone).
#[cfg(feature = "speaker-rodio")]
pub fn audio_output(config: &Config, tone: bool) -> Check {
    use crate::devices::ClipSink;
    const NAME: &str = "audio output";
    let wanted = &config.audio.output_device;
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let (out, handle) = match crate::speaker::output::RodioOutput::open(
        wanted,
        config.audio.volume,
        tx,
        None,
        std::time::Duration::ZERO,
    ) {
        Ok(x) => x,
        Err(e) => return busy_hint(Check::from_error(NAME, &e)),
    };
    let what = format!("\"{}\" opens as {} ({} Hz)", wanted, out.device, out.rate);
    if !tone {
        return Check::ok(NAME, format!("{what}; `--tone` plays a test tone"));
    }
    let id = crate::session::PlaybackId(1);
    let clip = test_tone();
    let limit = clip.duration() + Duration::from_secs(5);
    handle.play(
        id,
        clip,
        crate::session::Priority::Instruction,
        std::time::Instant::now(),
    );
    let start = std::time::Instant::now();
    loop {
        match rx.try_recv() {
            Ok(crate::session::Input::PlaybackFinished(done)) if done == id => break,
            Ok(_) => {}
            Err(_) if start.elapsed() > limit => {
                return Check::problem(
                    NAME,
                    format!("{what}, but the test tone did not finish playing within {} s: the device takes no sound", limit.as_secs()),
                    "check the device with `speaker-test -D <device> -c 2 -t sine`; another program may hold it",
                )
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    drop(out);
    Check::ok(
        NAME,
        format!("{what}; a test tone played (heard it? if not, check the volume: `alsamixer`)"),
    )
}

/// Without sound output in this build.
#[cfg(not(feature = "speaker-rodio"))]
pub fn audio_output(_config: &Config, _tone: bool) -> Check {
    Check::problem(
        "audio output",
        "this build has no sound output",
        "build with the default features (`speaker-rodio`)",
    )
}

/// A device in use may be in use by the daemon itself.
pub(super) fn busy_hint(mut c: Check) -> Check {
    if c.detail.to_ascii_lowercase().contains("busy") {
        let fix = c.fix.take().unwrap_or_default();
        c.fix = Some(format!(
            "{fix} (if it is the matcoach daemon: `sudo systemctl stop matcoach`, run the doctor, then start it again)"
        ));
    }
    c
}

/// Half a second of 660 Hz, softly in and out.
#[cfg(feature = "speaker-rodio")]
fn test_tone() -> crate::audio::Clip {
    let rate = 22_050u32;
    let n = rate as usize / 2;
    let fade = rate as usize / 50;
    let samples = (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let edge = (i.min(n - 1 - i) as f32 / fade as f32).min(1.0);
            ((2.0 * std::f32::consts::PI * 660.0 * t).sin() * 0.4 * edge * 32767.0) as i16
        })
        .collect();
    crate::audio::Clip::new(rate, samples)
}

/// The input device opens; with `listen`, the microphone's level while the
/// user says something. Two checks: "audio input" and "microphone level".
pub fn microphone(
    config: &Config,
    listen: Option<Duration>,
    say: &mut dyn FnMut(&str),
) -> Vec<Check> {
    const INPUT: &str = "audio input";
    const LEVEL: &str = "microphone level";
    if !config.voice.enabled {
        let why = "voice.enabled = false: the coach does not listen";
        return vec![Check::skipped(INPUT, why), Check::skipped(LEVEL, why)];
    }
    let wanted = &config.voice.input_device;
    let secs = listen.unwrap_or(Duration::ZERO);
    match record(wanted, secs, say) {
        Err(e) => vec![
            busy_hint(Check::from_error(INPUT, &e)),
            Check::skipped(LEVEL, "no input device"),
        ],
        Ok(rec) => {
            let input = Check::ok(
                INPUT,
                format!(
                    "\"{wanted}\" opens as {} ({} Hz, {} channel{})",
                    rec.device,
                    rec.rate,
                    rec.channels,
                    if rec.channels == 1 { "" } else { "s" }
                ),
            );
            let level = match listen {
                None => Check::skipped(LEVEL, "--no-mic-test"),
                Some(d) => level(&rec.samples, d),
            };
            vec![input, level]
        }
    }
}

/// A recording from an input device.
struct Recording {
    device: String,
    rate: u32,
    channels: usize,
    /// Interleaved, -1 to 1.
    samples: Vec<f32>,
}

/// Open `wanted` as the daemon does and record `secs` of it (none: only
/// open it).
fn record(
    wanted: &str,
    secs: Duration,
    say: &mut dyn FnMut(&str),
) -> Result<Recording, crate::hearing::VoiceError> {
    let room = (48_000.0 * 2.0 * (secs.as_secs_f64() + 1.0)) as usize;
    let mut mic = crate::hearing::capture::Mic::open(wanted, room)?;
    let (name, rate, channels) = (mic.device.clone(), mic.rate, mic.channels);
    let fail = |reason: &str| {
        crate::hearing::VoiceError::Microphone {
        device: name.clone(),
        reason: reason.into(),
        fix: "replug the microphone, check it with `arecord -l`, or choose another in voice.input_device".into(),
    }
    };
    let mut samples = Vec::new();
    if !secs.is_zero() {
        say(&format!(
            "say something now ({:.0} s): \"next, stop, pause\"…",
            secs.as_secs_f64()
        ));
        // From the prompt on, not what came before it.
        if let Ok(old) = mic.samples.read_chunk(mic.samples.slots()) {
            old.commit_all();
        }
        let end = std::time::Instant::now() + secs;
        while std::time::Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
            let n = mic.samples.slots();
            if let Ok(chunk) = mic.samples.read_chunk(n) {
                samples.extend(chunk);
            }
        }
        if mic.failed() && samples.is_empty() {
            return Err(fail("the stream failed while recording"));
        }
    }
    Ok(Recording {
        device: name,
        rate,
        channels,
        samples,
    })
}

/// Peak and RMS level in dBFS (-inf for silence).
pub fn levels(samples: &[f32]) -> (f64, f64) {
    let db = |x: f64| {
        if x > 0.0 {
            20.0 * x.log10()
        } else {
            f64::NEG_INFINITY
        }
    };
    let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    let sum: f64 = samples.iter().map(|s| f64::from(*s) * f64::from(*s)).sum();
    let rms = if samples.is_empty() {
        0.0
    } else {
        (sum / samples.len() as f64).sqrt()
    };
    (db(f64::from(peak)), db(rms))
}

/// Below this peak the microphone hears nothing: dead, muted or unplugged.
pub const SILENT_DBFS: f64 = -60.0;
/// Below this RMS, over the whole recording, speech is too quiet.
pub const QUIET_DBFS: f64 = -50.0;

/// How the microphone sounded over a recording of `secs`.
pub fn level(samples: &[f32], secs: Duration) -> Check {
    const NAME: &str = "microphone level";
    if samples.is_empty() {
        return Check::problem(
            NAME,
            format!(
                "no sound came from the microphone in {:.1} s",
                secs.as_secs_f64()
            ),
            "check the microphone with `arecord -d 3 /tmp/t.wav`; replug it, or choose another in voice.input_device",
        );
    }
    let (peak, rms) = levels(samples);
    let fmt = |x: f64| {
        if x.is_finite() {
            format!("{x:.1} dBFS")
        } else {
            "-inf dBFS".into()
        }
    };
    let measured = format!(
        "peak {}, RMS {} over {:.1} s",
        fmt(peak),
        fmt(rms),
        secs.as_secs_f64()
    );
    let clipped = samples.iter().filter(|s| s.abs() >= 0.999).count();
    if peak < SILENT_DBFS {
        Check::problem(
            NAME,
            format!("silent: {measured} (a dead or muted microphone)"),
            "check that it is plugged in and not muted (a switch on it, or `alsamixer`, F4 for capture: unmute and raise the level); then run `matcoach doctor` again",
        )
    } else if clipped * 1000 > samples.len() {
        Check::warn(
            NAME,
            format!(
                "clipped: {measured}, {:.1}% of the samples at full scale",
                100.0 * clipped as f64 / samples.len() as f64
            ),
            "lower the capture level (`alsamixer`, F4) or move the microphone further away",
        )
    } else if rms < QUIET_DBFS {
        Check::warn(
            NAME,
            format!("very quiet: {measured}"),
            "speak during the test; if you did, raise the capture level (`alsamixer`, F4) or move the microphone closer",
        )
    } else {
        Check::ok(NAME, measured)
    }
}
