//! What resampling costs, before and after the project's two resamplers
//! became one (`audio::resample`, on rubato; issue 14, item 3). A benchmark
//! that *prints figures*; it asserts nothing.
//!
//! 1. The speaker path: a typical phrase (espeak-ng, 22050 Hz) brought to
//!    48000 and 44100 Hz. Before: the mixer interpolated linearly inside the
//!    audio callback, sample by sample; after: the whole clip is resampled
//!    once when it is handed over, and the callback only copies. Both are
//!    timed, as is the windowed-sinc resampler that used to serve the
//!    microphone, had it been used for the speaker.
//! 2. The capture path: 48000 → 16000 Hz, streaming in 10 ms chunks (as
//!    ALSA delivers them): the old windowed-sinc resampler against the new.
//!
//! The "before" code is kept here, verbatim in what it computes, as the
//! baseline: so the ratios come from one run on one machine.

use matcoach::audio::analysis::to_f32;
use matcoach::audio::mixer::Mixer;
use matcoach::audio::resample::{self, Resampler};
use matcoach::content::Lang;
use matcoach::session::{PlaybackId, Priority};
use matcoach::speech::espeak::Espeak;
use matcoach::speech::Voice;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const PHRASE: &str =
    "Lie on your back with your knees bent. Slowly lift your hips and hold for five seconds.";

fn main() {
    let d = matcoach::config::Speech::default();
    let espeak = Espeak::new(
        PathBuf::from("espeak-ng"),
        d.espeak_voice_en,
        d.espeak_voice_nl,
        d.rate_wpm,
    );
    let clip = espeak
        .render(PHRASE, Lang::En)
        .unwrap_or_else(|e| panic!("espeak-ng: {e}"));
    let secs = clip.duration().as_secs_f64();
    println!(
        "phrase: {:.2} s at {} Hz ({} samples)",
        secs,
        clip.rate,
        clip.len()
    );
    println!();
    println!("speaker path (ms per phrase, median of runs; × real time in brackets)");
    for to in [48_000u32, 44_100] {
        let before = time(|| old_linear_mixer(&clip.samples, clip.rate, to));
        let old_sinc = time(|| {
            let mut r = OldSinc::new(clip.rate, to);
            let mut out = Vec::new();
            r.process(&to_f32(&clip.samples), &mut out);
            out.len()
        });
        let after = time(|| {
            resample::to_rate(&clip, to)
                .unwrap_or_else(|e| panic!("{e}"))
                .len()
        });
        let resampled = resample::to_rate(&clip, to).unwrap_or_else(|e| panic!("{e}"));
        let mix = time(|| mix(&resampled, to));
        println!(
            "  {} → {to}: before, linear in the callback {:.3} ms ({:.0}×); old sinc {:.3} ms ({:.0}×); \
             after, rubato once {:.3} ms ({:.0}×) + mixing in the callback {:.3} ms ({:.0}×); \
             callback work after/before {:.2}; resampling rubato/old sinc {:.2}",
            clip.rate,
            ms(before),
            secs / before.as_secs_f64(),
            ms(old_sinc),
            secs / old_sinc.as_secs_f64(),
            ms(after),
            secs / after.as_secs_f64(),
            ms(mix),
            secs / mix.as_secs_f64(),
            mix.as_secs_f64() / before.as_secs_f64(),
            after.as_secs_f64() / old_sinc.as_secs_f64(),
        );
    }
    println!();
    println!("capture path: 48000 → 16000, 10 ms chunks, 60 s of noise (ms; × real time)");
    let mut seed = 1u32;
    let noise: Vec<f32> = (0..48_000 * 60)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect();
    let old = time(|| {
        let mut r = OldSinc::new(48_000, 16_000);
        let mut out = Vec::with_capacity(160);
        let mut n = 0;
        for chunk in noise.chunks(480) {
            out.clear();
            r.process(chunk, &mut out);
            n += out.len();
        }
        n
    });
    let new = time(|| {
        let mut r = Resampler::new(48_000, 16_000).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::with_capacity(160);
        let mut n = 0;
        for chunk in noise.chunks(480) {
            out.clear();
            r.process(chunk, &mut out).unwrap_or_else(|e| panic!("{e}"));
            n += out.len();
        }
        n
    });
    println!(
        "  before, old sinc {:.1} ms ({:.0}×); after, rubato {:.1} ms ({:.0}×); after/before {:.2}",
        ms(old),
        60.0 / old.as_secs_f64(),
        ms(new),
        60.0 / new.as_secs_f64(),
        new.as_secs_f64() / old.as_secs_f64()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median time of `f` over enough runs to last about a second.
fn time(mut f: impl FnMut() -> usize) -> Duration {
    let t = Instant::now();
    std::hint::black_box(f());
    let once = t.elapsed().max(Duration::from_micros(1));
    let runs = (Duration::from_secs(1).as_secs_f64() / once.as_secs_f64()).clamp(5.0, 2000.0);
    let mut times: Vec<Duration> = (0..runs as usize)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// The mixer rendering a clip already at its rate, in 256-sample blocks
/// (the audio callback's work now).
fn mix(clip: &matcoach::audio::Clip, rate: u32) -> usize {
    let mut m = Mixer::new(rate, 1.0);
    m.speak(PlaybackId(1), clip.clone(), Priority::Instruction, 0);
    let mut block = [0.0f32; 256];
    let mut n = 0;
    while m.is_busy() {
        m.render(&mut block);
        n += block.len();
    }
    n
}

/// Before: the mixer's linear interpolation, sample by sample, in 256-sample
/// blocks (what the audio callback did for each phrase).
fn old_linear_mixer(samples: &[i16], from: u32, to: u32) -> usize {
    let step = f64::from(from) / f64::from(to);
    let mut phase = 0.0f64;
    let mut block = [0.0f32; 256];
    let mut n = 0;
    let len = samples.len();
    while (phase as usize) < len {
        for slot in block.iter_mut() {
            let i = phase as usize;
            if i >= len {
                *slot = 0.0;
                continue;
            }
            let a = f32::from(samples[i]);
            let b = samples.get(i + 1).map_or(a, |s| f32::from(*s));
            let frac = (phase - i as f64) as f32;
            phase += step;
            *slot = ((a + (b - a) * frac) / 32768.0).clamp(-1.0, 1.0);
        }
        std::hint::black_box(&block);
        n += block.len();
    }
    n
}

/// Before: the microphone's windowed-sinc resampler (`voice/resample.rs`).
struct OldSinc {
    step: f64,
    pos: f64,
    history: Vec<f32>,
    taps: Vec<f32>,
    half: usize,
}

impl OldSinc {
    fn new(from: u32, to: u32) -> OldSinc {
        let ratio = f64::from(to) / f64::from(from);
        let cutoff = 0.45 * ratio.min(1.0);
        let half = if ratio < 1.0 { 24 } else { 8 };
        let taps = (0..=2 * half)
            .map(|i| {
                let x = i as f64 - half as f64;
                let sinc = if x == 0.0 {
                    2.0 * cutoff
                } else {
                    (2.0 * std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * x)
                };
                let w =
                    0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (2 * half) as f64).cos();
                (sinc * w) as f32
            })
            .collect::<Vec<f32>>();
        let gain: f32 = taps.iter().sum();
        let taps = taps.into_iter().map(|t| t / gain).collect();
        OldSinc {
            step: 1.0 / ratio,
            pos: half as f64,
            history: vec![0.0; half],
            taps,
            half,
        }
    }

    fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.history.extend_from_slice(input);
        while self.pos + (self.half as f64) + 1.0 < self.history.len() as f64 {
            let i = self.pos.floor() as usize;
            let frac = (self.pos - i as f64) as f32;
            let at = |j: usize| -> f32 {
                let start = j - self.half;
                self.history[start..=start + 2 * self.half]
                    .iter()
                    .zip(&self.taps)
                    .map(|(x, t)| x * t)
                    .sum()
            };
            let a = at(i);
            let b = at(i + 1);
            out.push(a + (b - a) * frac);
            self.pos += self.step;
        }
        let keep_from = (self.pos.floor() as usize).saturating_sub(self.half);
        if keep_from > 0 {
            self.history.drain(..keep_from);
            self.pos -= keep_from as f64;
        }
    }
}
