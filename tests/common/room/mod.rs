//! A simulated room for the listening tests: what a microphone on the floor
//! hears of what the coach's speaker plays, and of the user.
//!
//! The echo path is: a small loudspeaker (no bass: a 150 Hz high-pass), the
//! direct sound after `delay_ms` at `attenuation_db`, a handful of early
//! reflections from the floor, walls and furniture, and a Schroeder
//! reverberator (four parallel comb filters into two all-passes) whose tail
//! decays by 60 dB in `rt60_ms`. Everything gets faint noise (a room is
//! never digitally silent, and exact zeros upset decoders). All at 16 kHz.
#![allow(dead_code)]

// issue 16, item 5: the room built by sox, heard by the binary.
pub mod outside;

/// Sample rate of everything here.
pub const RATE: usize = 16_000;

pub use super::rng::Rng;

/// The room's echo of `playback_16k` as the microphone hears it, sample for
/// sample on the playback's timeline (so `out[t]` is what the microphone
/// records while `playback[t]` is sent to the speaker), plus faint noise.
/// The output is as long as the playback.
pub fn room(
    playback_16k: &[i16],
    delay_ms: u32,
    attenuation_db: f32,
    rt60_ms: u32,
    seed: u64,
) -> Vec<i16> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let e = echo(playback_16k, delay_ms, attenuation_db, rt60_ms, seed);
    let noise = noise(playback_16k.len(), NOISE_DB, &mut rng);
    e.iter().zip(&noise).map(|(a, b)| to_i16(a + b)).collect()
}

/// The room's noise floor, dBFS RMS.
pub const NOISE_DB: f32 = -62.0;

/// The echo alone (no noise), as floats on the playback's timeline, running
/// on past its end until the reverberation has died away (delay + RT60), so
/// echoes of consecutive phrases can be summed.
pub fn echo(
    playback_16k: &[i16],
    delay_ms: u32,
    attenuation_db: f32,
    rt60_ms: u32,
    seed: u64,
) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let delay = delay_ms as usize * RATE / 1000;
    let n = playback_16k.len() + delay + (rt60_ms as usize + 40) * RATE / 1000;
    let gain = db(-attenuation_db.abs());

    // The loudspeaker: a first-order high-pass at 150 Hz.
    let mut x = highpass(playback_16k, 150.0);
    x.resize(n, 0.0);

    // Direct sound and early reflections (2–25 ms after it, weaker).
    let mut taps: Vec<(usize, f32)> = vec![(delay, 1.0)];
    for _ in 0..6 {
        let after = rng.range(2.0, 25.0);
        let sign = if rng.unit() < 0.5 { -1.0 } else { 1.0 };
        taps.push((
            delay + (after * RATE as f32 / 1000.0) as usize,
            sign * rng.range(0.15, 0.45),
        ));
    }
    let mut early = vec![0f32; n];
    for (d, g) in &taps {
        for (t, e) in early.iter_mut().enumerate().skip(*d) {
            *e += g * x[t - d];
        }
    }

    // The diffuse tail, fed by the direct sound, about as loud as it
    // (a direct-to-reverberant ratio near 0 dB, as a few metres away).
    let tail = schroeder(&early, rt60_ms as f32, &mut rng);
    let wet = rng.range(0.35, 0.6);
    early
        .iter()
        .zip(&tail)
        .map(|(e, r)| gain * (e + wet * r))
        .collect()
}

/// A talker close to the microphone (the user on the mat): the direct
/// sound, one floor reflection 1–4 ms after it, and the room's diffuse
/// tail `drr_db` below the direct sound (a direct-to-reverberant ratio of
/// about +10 dB is a metre away in a furnished room), decaying by 60 dB in
/// `rt60_ms`. As floats, running on until the tail has died away.
pub fn talker(speech: &[i16], drr_db: f32, rt60_ms: u32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let n = speech.len() + (rt60_ms as usize + 40) * RATE / 1000;
    let mut direct: Vec<f32> = speech.iter().map(|s| f32::from(*s)).collect();
    direct.resize(n, 0.0);
    let floor = (rng.range(1.0, 4.0) * RATE as f32 / 1000.0) as usize;
    let floor_gain = rng.range(0.2, 0.4);
    let mut early = direct.clone();
    for t in floor..n {
        early[t] += floor_gain * direct[t - floor];
    }
    let tail = schroeder(&direct, rt60_ms as f32, &mut rng);
    let wet = db(-drr_db);
    early.iter().zip(&tail).map(|(e, r)| e + wet * r).collect()
}

/// Round floats to samples (saturating).
pub fn to_i16(v: f32) -> i16 {
    v.round().clamp(-32768.0, 32767.0) as i16
}

/// Faint, slightly low-passed noise at `level_db` dBFS RMS.
pub fn noise(n: usize, level_db: f32, rng: &mut Rng) -> Vec<f32> {
    let amp = db(level_db) * 32768.0 * 1.6;
    super::rng::noise(n, super::rng::Colour::Soft, rng)
        .into_iter()
        .map(|v| v * amp)
        .collect()
}

/// Add `speech` into `mic` starting at sample `at`, scaled by `gain`.
pub fn mix_into(mic: &mut [i16], speech: &[i16], at: usize, gain: f32) {
    for (m, s) in mic.iter_mut().skip(at).zip(speech) {
        *m = to_i16(f32::from(*m) + gain * f32::from(*s));
    }
}

/// The gain that makes `speech`'s active level `ratio_db` above `reference`'s.
pub fn gain_for(speech: &[i16], reference: &[i16], ratio_db: f32) -> f32 {
    active_rms(reference) / active_rms(speech).max(1e-3) * db(ratio_db)
}

/// RMS of the whole signal.
pub fn rms(x: &[i16]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / x.len() as f64).sqrt() as f32
}

/// RMS over the frames (20 ms) that carry speech: those within 30 dB of the
/// loudest frame (a light version of the ITU-T P.56 active speech level).
pub fn active_rms(x: &[i16]) -> f32 {
    let frames: Vec<f64> = x
        .chunks(RATE / 50)
        .map(|f| f.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / f.len() as f64)
        .collect();
    let max = frames.iter().copied().fold(0.0, f64::max);
    let active: Vec<f64> = frames.into_iter().filter(|e| *e > max * 1e-3).collect();
    if active.is_empty() {
        return 0.0;
    }
    (active.iter().sum::<f64>() / active.len() as f64).sqrt() as f32
}

/// Echo return loss enhancement in dB: how much quieter `cleaned` is than
/// `mic` (both the echo only, no near-end speech).
pub fn erle_db(mic: &[i16], cleaned: &[i16]) -> f32 {
    let e = |x: &[i16]| x.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() + 1.0;
    (10.0 * (e(mic) / e(cleaned)).log10()) as f32
}

pub fn db(v: f32) -> f32 {
    10f32.powf(v / 20.0)
}

fn highpass(x: &[i16], hz: f32) -> Vec<f32> {
    let rc = 1.0 / (std::f32::consts::TAU * hz);
    let dt = 1.0 / RATE as f32;
    let a = rc / (rc + dt);
    let mut y = 0.0f32;
    let mut prev = 0.0f32;
    x.iter()
        .map(|s| {
            let v = f32::from(*s);
            y = a * (y + v - prev);
            prev = v;
            y
        })
        .collect()
}

/// A Schroeder reverberator: four parallel feedback combs (delays around
/// 30–45 ms, feedback set for the RT60) into two all-passes; output scaled
/// to about the input's level.
fn schroeder(x: &[f32], rt60_ms: f32, rng: &mut Rng) -> Vec<f32> {
    let rt60 = rt60_ms.max(1.0) / 1000.0;
    let mut out = vec![0f32; x.len()];
    for base in [29.7f32, 37.1, 41.1, 43.7] {
        let d = ((base * rng.range(0.9, 1.1)) * RATE as f32 / 1000.0) as usize;
        // Each pass around the loop loses 60 dB × (d / rt60).
        let g = 10f32.powf(-3.0 * d as f32 / (rt60 * RATE as f32));
        let mut buf = vec![0f32; d];
        let mut i = 0;
        for (o, xi) in out.iter_mut().zip(x) {
            let y = buf[i];
            buf[i] = xi + g * y;
            *o += y;
            i = (i + 1) % d;
        }
    }
    for (ms, g) in [(5.0f32, 0.7f32), (1.7, 0.7)] {
        let d = (ms * RATE as f32 / 1000.0) as usize;
        let mut buf = vec![0f32; d];
        let mut i = 0;
        for o in out.iter_mut() {
            let delayed = buf[i];
            let v = *o + g * delayed;
            buf[i] = v;
            *o = delayed - g * v;
            i = (i + 1) % d;
        }
    }
    // Four combs sum to roughly sqrt(4 / (1 - g²)) times the input's level;
    // normalise to unit energy gain for a white input.
    let e_in: f64 = x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() + 1e-9;
    let e_out: f64 = out.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() + 1e-9;
    let k = (e_in / e_out).sqrt() as f32;
    out.iter_mut().for_each(|v| *v *= k);
    out
}
