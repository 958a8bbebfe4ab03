//! What the speaker's resampling costs, before and after the project's two
//! resamplers became one (`audio::resample`; issue 14, item 3). A benchmark
//! that *prints figures*; it asserts nothing.
//!
//! A typical phrase (espeak-ng, 22050 Hz) brought to 48000 and 44100 Hz.
//! Before: the mixer interpolated linearly inside the audio callback, sample
//! by sample; after: the whole clip goes through the windowed-sinc
//! resampler once, on the coach's thread, when it is handed over, and the
//! callback only copies. The capture path did not change (it always used
//! this resampler).
//!
//! The "before" code is kept here, verbatim in what it computes, as the
//! baseline: so the ratios come from one run on one machine.

use matcoach::audio::mixer::Mixer;
use matcoach::audio::resample;
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
    println!("speaker path (ms per phrase, median of runs)");
    for to in [48_000u32, 44_100] {
        let before = time(|| old_linear_mixer(&clip.samples, clip.rate, to));
        let once = time(|| resample::to_rate(&clip, to).len());
        let resampled = resample::to_rate(&clip, to);
        let mix = time(|| mix(&resampled, to));
        println!(
            "  {} → {to}: before, linear in the callback {:.3} ms ({:.0}× real time); \
             after, resampled once off the callback {:.3} ms ({:.0}×) + mixing in the callback {:.3} ms ({:.0}×); \
             callback work after/before {:.2}; coach's thread per phrase {:.4} % of its length",
            clip.rate,
            ms(before),
            secs / before.as_secs_f64(),
            ms(once),
            secs / once.as_secs_f64(),
            ms(mix),
            secs / mix.as_secs_f64(),
            mix.as_secs_f64() / before.as_secs_f64(),
            100.0 * once.as_secs_f64() / secs,
        );
    }
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
