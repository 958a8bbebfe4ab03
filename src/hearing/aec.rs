//! Acoustic echo cancellation with Debian's libspeexdsp (`libspeexdsp-dev`
//! to build, `libspeexdsp1` to run): an adaptive filter learns the path from
//! the speaker to the microphone (delay, room reverberation, loudspeaker
//! colour) and subtracts the coach's voice from the microphone signal, and
//! the Speex preprocessor then suppresses the residual echo the filter
//! cannot model, using the canceller's own estimate of it.
//!
//! The reference is what was sent to the speaker at the moment the
//! microphone frame was captured; the echo arrives later (the room delay)
//! and the filter covers delays up to `tail_ms`.

use super::pipeline::EchoCanceller;
use super::{VoiceError, RATE};
use std::ffi::c_int;
use std::ptr::NonNull;

mod ffi;
use ffi::*;

// issue 16, item 5: barge-in over the coach.
/// The echo tail the daemon's canceller covers (ms after the reference):
/// the loudspeaker's delay plus the room's reverberation. A living room's
/// reverberation outlasts 250 ms: what the filter cannot model stays in
/// its output, and the residual-echo suppression, judging by that leak,
/// then also cuts the user's word said over the coach (docs/voice.md,
/// "Barge-in").
pub const TAIL_MS: u32 = 500;

/// The reference's mean square (full scale 1) below which it counts as
/// silent (−70 dBFS).
const REFERENCE_SILENCE: f32 = 1e-7;

/// How the residual echo (what the adaptive filter leaves) is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AecOptions {
    /// Run the Speex preprocessor with the canceller's echo estimate to
    /// suppress the residual echo.
    pub residual_suppression: bool,
    /// Most attenuation of residual echo while only the coach talks (dB, ≤ 0).
    pub echo_suppress_db: i32,
    /// Most attenuation of residual echo while the user talks too (dB, ≤ 0):
    /// kept mild so the user's word survives.
    pub echo_suppress_active_db: i32,
    /// Most attenuation of stationary noise (dB, ≤ 0; 0 leaves the noise).
    pub noise_suppress_db: i32,
    /// In a noisy room (the microphone's noise floor above
    /// [`AecOptions::noisy_floor_dbfs`]), this attenuation of stationary
    /// noise instead (dB, ≤ 0; 0: the same as in a quiet room).
    pub noisy_room_suppress_db: i32,
    /// The noise floor (dBFS) above which the room counts as noisy; it
    /// counts as quiet again 6 dB below.
    pub noisy_floor_dbfs: i32,
}

impl Default for AecOptions {
    /// Residual-echo suppression on at Speex's default levels, the noise
    /// left alone: it takes off more of the coach's echo and leaves the
    /// user's word cleaner, not weaker (the figures: docs/voice.md,
    /// "Tuning", measured by `tests/voice_selftrigger.rs`).
    fn default() -> Self {
        AecOptions::DEFAULT
    }
}

impl AecOptions {
    /// What [`AecOptions::default`] gives.
    pub const DEFAULT: AecOptions = AecOptions {
        residual_suppression: true,
        echo_suppress_db: -40,
        echo_suppress_active_db: -15,
        noise_suppress_db: 0,
        noisy_room_suppress_db: 0,
        noisy_floor_dbfs: -50,
    };
}

/// Speex echo canceller (plus residual-echo suppression) for one mono
/// 16 kHz stream, frame by frame.
///
/// With the residual suppression (the default) the output lags the
/// microphone by one frame (20 ms): the preprocessor works on overlapping
/// windows. While it has nothing to do (the coach silent for longer than the
/// echo tail, a quiet room) its output is swapped for the canceller's own,
/// delayed by the same frame.
pub struct SpeexAec {
    echo: NonNull<SpeexEchoState>,
    pre: Option<NonNull<SpeexPreprocessState>>,
    frame: usize,
    mic: Vec<i16>,
    reference: Vec<i16>,
    out: Vec<i16>,
    opts: AecOptions,
    /// The microphone's noise floor (mean square, full scale 1): the
    /// smallest frame energy of the last three blocks and the current one.
    floor: f32,
    minima: [f32; 3],
    block_min: f32,
    block_frames: usize,
    /// Whether the noisy-room suppression is in force.
    noisy: bool,
    /// Frames since the reference last carried sound, and after how many
    /// its echo is surely gone (the tail plus 100 ms).
    quiet_frames: usize,
    echo_gone_frames: usize,
    /// The echo canceller's previous output frame: the preprocessor's
    /// output lags by one frame, so this is what a bypass puts out.
    previous: Vec<i16>,
    /// Whether the preprocessor is bypassed now.
    bypassed: bool,
    /// Scratch: this frame's canceller output.
    raw: Vec<i16>,
}

// SAFETY: the Speex states are plain heap memory owned by this value alone:
// libspeexdsp keeps no thread-local or global state and takes no locks, and
// every call goes through `&mut self`, so moving the value to another thread
// (which is all `Send` allows; it is not `Sync`) cannot race.
unsafe impl Send for SpeexAec {}

impl std::fmt::Debug for SpeexAec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeexAec")
            .field("frame", &self.frame)
            .field("residual_suppression", &self.pre.is_some())
            .finish()
    }
}

impl SpeexAec {
    /// An echo canceller for frames of `frame` samples at 16 kHz whose filter
    /// covers echoes up to `tail_ms` after the reference (the speaker-to-mic
    /// delay plus the room's reverberation: 200–300 ms for a living room).
    pub fn new(frame: usize, tail_ms: u32) -> Result<SpeexAec, VoiceError> {
        SpeexAec::with_options(frame, tail_ms, AecOptions::default())
    }

    /// As [`SpeexAec::new`], with explicit residual-echo options.
    pub fn with_options(
        frame: usize,
        tail_ms: u32,
        opts: AecOptions,
    ) -> Result<SpeexAec, VoiceError> {
        let bad = |reason: String| VoiceError::Engine {
            engine: "speexdsp",
            reason,
        };
        let frame_c = c_int::try_from(frame)
            .ok()
            .filter(|f| (16..=8192).contains(f))
            .ok_or_else(|| {
                bad(format!(
                    "frame of {frame} samples: use 16..=8192 (20 ms is 320)"
                ))
            })?;
        if !(10..=2000).contains(&tail_ms) {
            return Err(bad(format!(
                "echo tail of {tail_ms} ms: use 10..=2000 ms (250 ms suits a room)"
            )));
        }
        let filter = c_int::try_from(u64::from(tail_ms) * u64::from(RATE) / 1000)
            .map_err(|_| bad("echo tail too long".into()))?;
        // SAFETY: plain constructor; a null return (out of memory) is handled.
        let echo = NonNull::new(unsafe { speex_echo_state_init(frame_c, filter) })
            .ok_or_else(|| bad("could not create the echo canceller (out of memory?)".into()))?;
        let mut aec = SpeexAec {
            echo,
            pre: None,
            frame,
            mic: vec![0; frame],
            reference: vec![0; frame],
            out: vec![0; frame],
            opts,
            floor: 0.0,
            minima: [f32::MAX; 3],
            block_min: f32::MAX,
            block_frames: 0,
            noisy: false,
            quiet_frames: 0,
            echo_gone_frames: (u64::from(tail_ms + 100) * u64::from(RATE) / 1000)
                .div_ceil(frame as u64) as usize,
            previous: vec![0; frame],
            bypassed: false,
            raw: vec![0; frame],
        };
        let mut rate = RATE as c_int;
        // SAFETY: `echo` is a live state; the request takes a pointer to int.
        unsafe {
            speex_echo_ctl(
                aec.echo.as_ptr(),
                SPEEX_ECHO_SET_SAMPLING_RATE,
                (&raw mut rate).cast(),
            )
        };
        if opts.residual_suppression
            || opts.noise_suppress_db < 0
            || opts.noisy_room_suppress_db < 0
        {
            // SAFETY: plain constructor; null is handled. From here on `aec`
            // owns it, so an early return frees it in Drop.
            let pre = NonNull::new(unsafe { speex_preprocess_state_init(frame_c, RATE as c_int) })
                .ok_or_else(|| bad("could not create the preprocessor (out of memory?)".into()))?;
            aec.pre = Some(pre);
            // The preprocessor applies no gain at all (not even the
            // residual-echo one) unless "denoise" is on; how much noise it
            // removes is the noise-suppression level, which may be 0 dB.
            let mut denoise: c_int = 1;
            let mut noise_db: c_int = opts.noise_suppress_db.min(0);
            let mut sup: c_int = opts.echo_suppress_db.min(0);
            let mut sup_active: c_int = opts.echo_suppress_active_db.min(0);
            let p = pre.as_ptr();
            // SAFETY: `p` is live; each request takes a pointer to int,
            // except SET_ECHO_STATE, which takes the echo state (or null).
            // The echo state outlives the preprocessor (see Drop).
            unsafe {
                speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_DENOISE, (&raw mut denoise).cast());
                speex_preprocess_ctl(
                    p,
                    SPEEX_PREPROCESS_SET_NOISE_SUPPRESS,
                    (&raw mut noise_db).cast(),
                );
                if opts.residual_suppression {
                    speex_preprocess_ctl(
                        p,
                        SPEEX_PREPROCESS_SET_ECHO_STATE,
                        aec.echo.as_ptr().cast(),
                    );
                    speex_preprocess_ctl(
                        p,
                        SPEEX_PREPROCESS_SET_ECHO_SUPPRESS,
                        (&raw mut sup).cast(),
                    );
                    speex_preprocess_ctl(
                        p,
                        SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE,
                        (&raw mut sup_active).cast(),
                    );
                }
            }
        }
        Ok(aec)
    }

    /// Samples per frame.
    pub fn frame(&self) -> usize {
        self.frame
    }

    /// Follow the microphone's noise floor and switch the noisy-room suppression
    /// on or off when it crosses the threshold.
    fn track_noise(&mut self) {
        if self.opts.noisy_room_suppress_db >= 0 {
            return;
        }
        let Some(pre) = self.pre else { return };
        let energy = super::mean_square(&self.mic).max(1e-12);
        // Minimum statistics: the quietest frame of the last 1.5 s (three
        // blocks of 0.5 s), which speech, with its pauses, does not lift.
        self.block_min = self.block_min.min(energy);
        self.block_frames += 1;
        if self.block_frames * self.frame >= RATE as usize / 2 {
            self.minima.rotate_left(1);
            self.minima[2] = self.block_min;
            self.block_min = f32::MAX;
            self.block_frames = 0;
        }
        self.floor = self.minima.iter().copied().fold(self.block_min, f32::min);
        let floor_db = 10.0 * self.floor.log10();
        let threshold = self.opts.noisy_floor_dbfs as f32;
        let noisy = if self.noisy {
            floor_db > threshold - 6.0
        } else {
            floor_db > threshold
        };
        if noisy != self.noisy {
            self.noisy = noisy;
            let mut db: c_int = if noisy {
                self.opts.noisy_room_suppress_db.min(0)
            } else {
                self.opts.noise_suppress_db.min(0)
            };
            // SAFETY: `pre` is live; the request takes a pointer to int.
            unsafe {
                speex_preprocess_ctl(
                    pre.as_ptr(),
                    SPEEX_PREPROCESS_SET_NOISE_SUPPRESS,
                    (&raw mut db).cast(),
                )
            };
        }
    }

    /// Whether the preprocessor has nothing to do: no sound in the
    /// reference for longer than the echo tail (no echo to suppress) and a
    /// quiet room (no noise to suppress, unless suppression is always on).
    /// Even with no noise suppression the preprocessor shaves words, so it
    /// is bypassed then (the recall with and without: docs/voice.md,
    /// "Tuning"; `tests/voice_accuracy.rs`).
    fn idle(&mut self) -> bool {
        if super::mean_square(&self.reference) > REFERENCE_SILENCE {
            self.quiet_frames = 0;
        } else {
            self.quiet_frames = self.quiet_frames.saturating_add(1);
        }
        let no_echo = !self.opts.residual_suppression || self.quiet_frames > self.echo_gone_frames;
        no_echo && !self.noisy && self.opts.noise_suppress_db >= 0
    }

    /// Whether the preprocessor is bypassed now (see [`SpeexAec::idle`]).
    pub fn bypassed(&self) -> bool {
        self.bypassed
    }

    /// Whether the noisy-room suppression is in force now.
    pub fn noisy_room(&self) -> bool {
        self.noisy
    }

    /// Forget what the filter has learnt (after the speaker or the
    /// microphone changed).
    pub fn reset(&mut self) {
        // SAFETY: `echo` is live.
        unsafe { speex_echo_state_reset(self.echo.as_ptr()) };
    }
}

impl EchoCanceller for SpeexAec {
    /// One frame: `mic` and `reference` should hold `frame` samples each
    /// (shorter ones are padded with silence, longer ones cut); `out` gets
    /// up to `frame` cleaned samples.
    fn process(&mut self, mic: &[i16], reference: &[i16], out: &mut [i16]) {
        fill(&mut self.mic, mic);
        fill(&mut self.reference, reference);
        // SAFETY: the three buffers hold exactly `frame` samples, the size
        // the state was created with, and do not overlap.
        unsafe {
            speex_echo_cancellation(
                self.echo.as_ptr(),
                self.mic.as_ptr(),
                self.reference.as_ptr(),
                self.out.as_mut_ptr(),
            );
        }
        self.track_noise();
        if let Some(pre) = self.pre {
            let bypass = self.idle();
            self.raw.copy_from_slice(&self.out);
            // SAFETY: `out` holds `frame` samples, the preprocessor's size.
            unsafe { speex_preprocess_run(pre.as_ptr(), self.out.as_mut_ptr()) };
            // The preprocessor keeps running (its noise and echo estimates
            // stay current). A bypass puts out the canceller's previous
            // frame, which lines up with the preprocessor's output (it lags
            // one frame); a switch fades across one frame.
            let (from, to) = (
                f32::from(u8::from(self.bypassed)),
                f32::from(u8::from(bypass)),
            );
            if from + to > 0.0 {
                let n = self.frame as f32;
                for (i, (o, d)) in self.out.iter_mut().zip(&self.previous).enumerate() {
                    let b = from + (to - from) * (i as f32 + 1.0) / n;
                    *o = (f32::from(*o) * (1.0 - b) + f32::from(*d) * b).round() as i16;
                }
            }
            self.bypassed = bypass;
            std::mem::swap(&mut self.previous, &mut self.raw);
        }
        let n = out.len().min(self.frame);
        out[..n].copy_from_slice(&self.out[..n]);
        out[n..].fill(0);
    }
}

fn fill(dst: &mut [i16], src: &[i16]) {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
    dst[n..].fill(0);
}

impl Drop for SpeexAec {
    fn drop(&mut self) {
        // SAFETY: each state was created by its init function, is owned by
        // this value only and is destroyed once. The preprocessor points at
        // the echo state, so it goes first.
        unsafe {
            if let Some(pre) = self.pre.take() {
                speex_preprocess_state_destroy(pre.as_ptr());
            }
            speex_echo_state_destroy(self.echo.as_ptr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hearing::pipeline::FRAME;

    /// The next value of a xorshift generator, uniform in −1..1.
    fn uniform(x: &mut u32) -> f32 {
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        (*x as f32 / u32::MAX as f32) * 2.0 - 1.0
    }

    /// A deterministic noise-like signal (speech-band-ish), 16 kHz.
    fn signal(n: usize, seed: u32) -> Vec<i16> {
        let mut x = seed.max(1);
        let mut prev = 0.0f32;
        (0..n)
            .map(|i| {
                let white = uniform(&mut x);
                prev = 0.7 * prev + 0.3 * white;
                // Syllable-like envelope, 4 Hz.
                let env = 0.5 + 0.5 * (i as f32 * 4.0 * std::f32::consts::TAU / 16_000.0).sin();
                (prev * env * 12_000.0) as i16
            })
            .collect()
    }

    fn energy(x: &[i16]) -> f64 {
        x.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() + 1.0
    }

    #[test]
    fn rejects_bad_sizes() {
        assert!(SpeexAec::new(0, 250).is_err());
        assert!(SpeexAec::new(FRAME, 0).is_err());
        assert!(SpeexAec::new(FRAME, 5000).is_err());
        let aec = SpeexAec::new(FRAME, 250);
        assert!(aec.is_ok(), "{aec:?}");
    }

    #[test]
    fn cancels_a_delayed_attenuated_echo() {
        // Echo: the reference 40 ms later at −6 dB plus a short reflection.
        let n = 16_000 * 8;
        let play = signal(n, 7);
        let delay = 640;
        let mic: Vec<i16> = (0..n)
            .map(|i| {
                let a = if i >= delay {
                    f32::from(play[i - delay]) * 0.5
                } else {
                    0.0
                };
                let b = if i >= delay + 97 {
                    f32::from(play[i - delay - 97]) * 0.2
                } else {
                    0.0
                };
                (a + b) as i16
            })
            .collect();
        for opts in [
            AecOptions::default(),
            AecOptions {
                residual_suppression: false,
                ..AecOptions::default()
            },
        ] {
            let mut aec = SpeexAec::with_options(FRAME, 200, opts).unwrap();
            let out = aec.process_all(&mic, &play);
            // After 3 s of convergence.
            let tail = 16_000 * 3;
            let erle = 10.0 * (energy(&mic[tail..]) / energy(&out[tail..])).log10();
            assert!(erle > 15.0, "{opts:?}: ERLE {erle:.1} dB");
        }
    }

    /// White noise at `rms` (full scale 1), deterministic.
    fn hiss(n: usize, rms: f32, seed: u32) -> Vec<i16> {
        let mut x = seed.max(1);
        (0..n)
            .map(|_| {
                let u = uniform(&mut x);
                // A uniform variable has an RMS of 1/√3.
                (u * rms * 3f32.sqrt() * 32768.0) as i16
            })
            .collect()
    }

    #[test]
    fn noise_is_suppressed_only_once_the_room_is_noisy() {
        let opts = AecOptions {
            noisy_room_suppress_db: -15,
            ..AecOptions::DEFAULT
        };
        // (case, noise RMS in dBFS, speech over it, noisy after 3 s)
        let cases = [
            ("a quiet room", -66.0, false, false),
            ("a quiet room with someone talking", -66.0, true, false),
            ("a fan", -40.0, false, true),
            ("a fan and someone talking", -40.0, true, true),
        ];
        for (name, db, talk, noisy) in cases {
            let mut aec = SpeexAec::with_options(FRAME, 250, opts).unwrap();
            let n = 3 * 16_000;
            let mut mic = hiss(n, 10f32.powf(db / 20.0), 3);
            if talk {
                for (m, s) in mic.iter_mut().zip(signal(n, 5)) {
                    *m = m.saturating_add(s);
                }
            }
            let silence = vec![0i16; FRAME];
            let mut out = vec![0i16; FRAME];
            let mut after_noise = 0f64;
            for (k, m) in mic.chunks_exact(FRAME).enumerate() {
                aec.process(m, &silence, &mut out);
                if k * FRAME >= 2 * 16_000 && !talk {
                    after_noise += energy(&out);
                }
            }
            assert_eq!(aec.noisy_room(), noisy, "{name}");
            if !talk {
                // What is left of the noise in the last second.
                let input = energy(&mic[2 * 16_000..]);
                let reduction = 10.0 * (input / after_noise).log10();
                let want = if noisy { 6.0..30.0 } else { -2.0..2.0 };
                assert!(want.contains(&reduction), "{name}: {reduction:.1} dB");
            }
        }
    }

    #[test]
    fn the_preprocessor_stands_aside_while_it_has_nothing_to_do() {
        let opts = AecOptions {
            noisy_room_suppress_db: -15,
            ..AecOptions::DEFAULT
        };
        let ms = |t: usize| t * 16;
        // (case, noise dBFS, coach plays until (ms), bypassed at 2 s)
        let cases = [
            ("a quiet room, the coach silent", -66.0, 0, true),
            ("the coach stopped 100 ms ago", -66.0, 1900, false),
            ("the coach stopped 500 ms ago", -66.0, 1500, true),
            ("the coach still talks", -66.0, 2000, false),
            ("a noisy room, the coach silent", -40.0, 0, false),
        ];
        for (name, db, coach_ms, bypassed) in cases {
            let mut aec = SpeexAec::with_options(FRAME, 250, opts).unwrap();
            let n = ms(2000);
            let mut mic = hiss(n, 10f32.powf(db / 20.0), 3);
            for (m, s) in mic.iter_mut().zip(signal(n, 5)).skip(ms(1000)) {
                *m = m.saturating_add(s / 4);
            }
            let mut play = signal(n, 9);
            play[ms(coach_ms)..].fill(0);
            let out = aec.process_all(&mic, &play);
            assert_eq!(aec.bypassed(), bypassed, "{name}");
            if bypassed {
                // What comes out is what the canceller alone puts out, one
                // frame late: the preprocessor shaves nothing off the user.
                let alone = AecOptions {
                    residual_suppression: false,
                    noisy_room_suppress_db: 0,
                    ..AecOptions::DEFAULT
                };
                let mut canceller = SpeexAec::with_options(FRAME, 250, alone).unwrap();
                let want = canceller.process_all(&mic, &play);
                let (a, b) = (&want[ms(1880)..n - FRAME], &out[ms(1880) + FRAME..]);
                let diff: Vec<i16> = a.iter().zip(b).map(|(x, y)| x - y).collect();
                let snr = 10.0 * (energy(a) / energy(&diff)).log10();
                assert!(snr > 40.0, "{name}: output differs ({snr:.1} dB)");
            }
        }
    }

    #[test]
    fn is_send() {
        fn send<T: Send>() {}
        send::<SpeexAec>();
    }
}
