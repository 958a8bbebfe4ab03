//! The room built from outside the project: a session rendered by the real
//! binary (`matcoach render-session`), the coach's echo made by sox (a
//! delay, a gain and sox's own `reverb`, a Freeverb, which knows nothing of
//! this crate's Schroeder room), the user's word mixed in, and the result
//! heard by the real binary (`matcoach hear --playback`). Nothing here goes
//! through the crate's own audio code, so the measurement does not share
//! its assumptions.

use super::{active_rms, noise, to_i16, Rng, RATE};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary's output for one command heard.
#[derive(Debug, Clone)]
pub struct Heard {
    pub command: String,
    pub start_ms: u64,
    pub detected_ms: u64,
}

/// `matcoach ARGS` run from the package root with the speech cache in
/// `cache` (kept between runs: rendering is keyed by voice and text).
pub fn matcoach(bin: &Path, cache: &Path) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(crate::common::root())
        .env("XDG_CACHE_HOME", cache)
        .env("XDG_DATA_HOME", cache.join("data"));
    c
}

fn run(c: &mut Command) -> String {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{c:?} did not start: {e}"));
    assert!(
        out.status.success(),
        "{c:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `render-session PROGRAM --lang LANG` at 16 kHz into `out`; its samples.
pub fn render_session(bin: &Path, cache: &Path, program: &str, lang: &str, out: &Path) -> Vec<i16> {
    run(matcoach(bin, cache).args([
        "render-session".as_ref(),
        program.as_ref(),
        "--lang".as_ref(),
        lang.as_ref(),
        "--rate".as_ref(),
        "16000".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]));
    read_wav(out)
}

/// The plain room: the playback `delay_ms` later, `gain_db` louder (< 0:
/// quieter), through sox's `reverb REVERBERANCE`, as long as the playback,
/// plus noise at `noise_db` dBFS. Needs sox.
pub fn sox_room(
    playback: &Path,
    out: &Path,
    delay_ms: u32,
    gain_db: f32,
    reverberance: u32,
    noise_db: f32,
) -> Vec<i16> {
    let len = read_wav(playback).len();
    let wet = out.with_extension("wet.wav");
    run(Command::new("sox").args([
        playback.as_os_str(),
        wet.as_os_str(),
        "pad".as_ref(),
        format!("{}", f64::from(delay_ms) / 1000.0).as_ref(),
        "vol".as_ref(),
        format!("{gain_db}dB").as_ref(),
        "reverb".as_ref(),
        reverberance.to_string().as_ref(),
    ]));
    let mut rng = Rng::new(u64::from(delay_ms) ^ 0x50C5);
    let n = noise(len, noise_db, &mut rng);
    let mut mic = read_wav(&wet);
    mic.resize(len, 0);
    let mic: Vec<i16> = mic
        .iter()
        .zip(&n)
        .map(|(a, b)| to_i16(f32::from(*a) + b))
        .collect();
    let _ = std::fs::remove_file(&wet);
    write_wav(out, &mic);
    mic
}

/// A synthesiser and its voice, for the user's word.
#[derive(Debug, Clone, Copy)]
pub enum Synth {
    /// `flite -voice VOICE`.
    Flite(&'static str),
    /// `espeak-ng -v VOICE`.
    Espeak(&'static str),
}

/// `word` said by `synth`, resampled to 16 kHz by sox, without the silence
/// around it.
pub fn say(word: &str, synth: Synth, dir: &Path) -> Vec<i16> {
    let raw = dir.join(format!("say-{word}.wav"));
    let at16 = dir.join(format!("say-{word}-16k.wav"));
    match synth {
        Synth::Espeak(v) => run(Command::new("espeak-ng").args([
            "-v".as_ref(),
            v.as_ref(),
            "-w".as_ref(),
            raw.as_os_str(),
            word.as_ref(),
        ])),
        Synth::Flite(v) => run(Command::new("flite").args([
            "-voice".as_ref(),
            v.as_ref(),
            "-t".as_ref(),
            word.as_ref(),
            "-o".as_ref(),
            raw.as_os_str(),
        ])),
    };
    run(Command::new("sox").args([
        raw.as_os_str(),
        "-r".as_ref(),
        "16000".as_ref(),
        at16.as_os_str(),
    ]));
    let w = read_wav(&at16);
    let loud = active_rms(&w) * 0.05;
    let is_loud = |s: &i16| f32::from(s.unsigned_abs()) > loud;
    let first = w.iter().position(is_loud).unwrap_or(0);
    let last = w.len() - w.iter().rev().position(is_loud).unwrap_or(0);
    w[first..last.max(first)].to_vec()
}

/// `matcoach hear MIC --engine ENGINE --lang LANG [--playback REF]`: the
/// commands it printed.
pub fn hear(
    bin: &Path,
    cache: &Path,
    mic: &Path,
    playback: Option<&Path>,
    engine: &str,
    lang: &str,
) -> Vec<Heard> {
    let mut c = matcoach(bin, cache);
    c.args([
        "hear".as_ref(),
        mic.as_os_str(),
        "--engine".as_ref(),
        engine.as_ref(),
        "--lang".as_ref(),
        lang.as_ref(),
    ]);
    if let Some(p) = playback {
        c.args(["--playback".as_ref(), p.as_os_str()]);
    }
    run(&mut c)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}"));
            Heard {
                command: v["command"].as_str().unwrap_or("?").to_string(),
                start_ms: v["start_ms"].as_u64().unwrap_or(0),
                detected_ms: v["detected_ms"].as_u64().unwrap_or(0),
            }
        })
        .collect()
}

/// Where the playback carries speech: 20 ms frames within 40 dB of the
/// loudest, joined across gaps shorter than `join_ms` (the pauses inside
/// a phrase); as sample ranges.
pub fn spoken(playback: &[i16], join_ms: usize) -> Vec<std::ops::Range<usize>> {
    let f = RATE / 50;
    let energy: Vec<f64> = playback
        .chunks(f)
        .map(|c| c.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / c.len() as f64)
        .collect();
    let max = energy.iter().copied().fold(0.0, f64::max);
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for (k, e) in energy.iter().enumerate() {
        if *e <= max * 1e-4 {
            continue;
        }
        let r = k * f..(k + 1) * f;
        match out.last_mut() {
            Some(last) if r.start - last.end <= join_ms * RATE / 1000 => last.end = r.end,
            _ => out.push(r),
        }
    }
    out
}

/// `n` moments (sample positions) spread evenly over the session where a
/// word of `word_len` samples falls wholly inside the coach's speech, with
/// 300 ms of it before and after: for each of `n` evenly spaced targets,
/// the nearest such position at least 3 s from the moments already taken.
pub fn over_speech(playback: &[i16], n: usize, word_len: usize) -> Vec<usize> {
    let margin = RATE * 3 / 10;
    let fits: Vec<std::ops::Range<usize>> = spoken(playback, 250)
        .into_iter()
        .filter(|r| r.end - r.start >= word_len + 2 * margin)
        .map(|r| r.start + margin..r.end - margin - word_len)
        .collect();
    let mut taken: Vec<usize> = Vec::new();
    for k in 0..n {
        let target = (2 * k + 1) * playback.len() / (2 * n);
        let free = |p: &usize| taken.iter().all(|t| t.abs_diff(*p) >= 3 * RATE);
        // Candidates: the target clamped into each stretch, and each
        // stretch's ends (when the clamped one is taken).
        let best = fits
            .iter()
            .flat_map(|r| [target.clamp(r.start, r.end), r.start, r.end])
            .filter(free)
            .min_by_key(|p| p.abs_diff(target));
        taken.extend(best);
    }
    taken
}

/// For each of `at`, the gain that makes `word` as loud (active level) as
/// the echo over the coach's speech around it (the 2.5 s from 0.5 s
/// before it).
pub fn echo_level_gains(echo: &[i16], word: &[i16], at: &[usize]) -> Vec<f32> {
    at.iter()
        .map(|&a| {
            let from = a.saturating_sub(RATE / 2);
            let to = (a + 2 * RATE).min(echo.len());
            active_rms(&echo[from..to]) / active_rms(word).max(1e-3)
        })
        .collect()
}

/// One measurement: hits, the moments missed, the other commands.
#[derive(Debug, Default)]
pub struct Count {
    pub trials: usize,
    pub hits: usize,
    pub latencies_ms: Vec<i64>,
    pub missed_ms: Vec<u64>,
    pub stray: Vec<String>,
}

/// A hit: "stop" emitted after the word began and within 1.5 s of its end.
pub fn count(heard: &[Heard], at: &[usize], word_len: usize) -> Count {
    let ms = |s: usize| (s * 1000 / RATE) as u64;
    let hit = |a: usize, h: &Heard| {
        h.command == "stop" && h.detected_ms >= ms(a) && h.detected_ms <= ms(a + word_len) + 1500
    };
    let mut c = Count {
        trials: at.len(),
        ..Count::default()
    };
    for &a in at {
        match heard.iter().find(|h| hit(a, h)) {
            Some(h) => {
                c.hits += 1;
                c.latencies_ms
                    .push(h.detected_ms as i64 - ms(a + word_len) as i64);
            }
            None => c.missed_ms.push(ms(a)),
        }
    }
    for h in heard.iter().filter(|h| !at.iter().any(|a| hit(*a, h))) {
        c.stray.push(format!("{} at {} ms", h.command, h.start_ms));
    }
    c
}

pub use crate::common::wav::{read_16k as read_wav, write_16k as write_wav};

/// A scratch directory kept under the target dir (for the speech cache
/// and the files to listen to after a run).
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}
