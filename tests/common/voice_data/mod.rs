//! A synthetic English test set for the speech recognisers: every command
//! word and a set of sound-alike (and ordinary) non-commands, spoken by
//! espeak-ng (through `matcoach::speech::Espeak`) and flite in several
//! voices and speeds, resampled to 16 kHz with `audio::resample`, placed in
//! faint noise with known word boundaries, and again in white and pink noise
//! at 20 and 10 dB SNR.
//!
//! The samples are laid out in long *streams*, one per noise condition, as a
//! microphone would hear them on the mat: noise throughout, a word, 1.6 s of
//! noise, the next word… Each sample knows where its word starts and ends in
//! its stream, so a detection can be attributed to it and its latency
//! measured.
//!
//! The renderings are cached as 16 kHz WAV files in a temporary
//! directory keyed by the set's specification and espeak-ng's version
//! (`$TMPDIR/matcoach-voice-data-<key>/`), so every test binary of a run,
//! and later runs, reuse them. Nothing is committed.
#![allow(dead_code)]

pub mod altered;
#[cfg(feature = "voice-vosk")]
pub mod korean;
pub mod score;

use matcoach::audio::resample::{signal, to_f32};
use matcoach::audio::Clip;
use matcoach::command::Command;
use matcoach::content::Lang;
use matcoach::hearing::{Detection, RATE};
use matcoach::speech::{Espeak, Voice};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The command words, each said alone.
pub const COMMAND_WORDS: [&str; 7] = [
    "next", "pain", "stop", "pause", "resume", "continue", "repeat",
];

/// Things a user (or someone in the room) may say that are *not* commands:
/// sound-alikes of the command words first, then two-word phrases that start
/// with or contain one, then ordinary words. Exact homophones of a command
/// word ("pane" = "pain", "paws" = "pause": espeak-ng gives them the very
/// same phonemes) are left out: no recogniser can tell them apart.
pub const NON_COMMANDS: [&str; 34] = [
    "top",
    "shop",
    "paint",
    "nest",
    "text",
    "pose",
    "pass",
    "rest",
    "stock",
    "plain",
    "pay",
    "neck",
    "peat",
    "mop",
    "stomp",
    "pawn",
    "pained",
    "deep",
    "step",
    "spain",
    "cane",
    "pen",
    "report",
    "consume",
    "contain",
    "remove",
    "post",
    "next door",
    "stop watch",
    "hello",
    "thank you",
    "water",
    "okay",
    "good morning",
];

/// The voices the words are spoken in: espeak-ng voices with the Klatt
/// variants, and flite's voices (`flite/NAME`), which are made from
/// recordings of real speakers. espeak-ng's default voices are left out:
/// PocketSphinx's acoustic model, trained on real speech, cannot make sense
/// of them (open-vocabulary decoding of a clean "pain" gives "do you").
pub const VOICES: [&str; 6] = [
    "en-us+klatt2",
    "en-gb-x-rp+klatt4",
    "flite/slt",
    "flite/rms",
    "flite/awb",
    "flite/kal16",
];

/// The Dutch command words, each said alone.
pub const DUTCH_COMMAND_WORDS: [&str; 6] =
    ["volgende", "pijn", "stop", "pauze", "verder", "herhaal"];

/// Dutch non-commands: sound-alikes of the command words first (rhymes and
/// one-sound changes of "pijn", "stop", "pauze", "verder", "volgende",
/// "herhaal"), then phrases that start with a command word, then ordinary
/// words. Forms of a command ("stoppen", "herhalen", "pijnlijk") are left
/// out: said on the mat they mean the command.
pub const DUTCH_NON_COMMANDS: [&str; 30] = [
    "wijn",
    "lijn",
    "fijn",
    "mijn",
    "pijp",
    "pijl",
    "trein",
    "klein",
    "stok",
    "top",
    "stof",
    "stap",
    "kop",
    "paus",
    "pauw",
    "saus",
    "vader",
    "verf",
    "ver",
    "volgen",
    "verhaal",
    "herstel",
    "haal",
    "verder weg",
    "volgende week",
    "hallo",
    "dank je wel",
    "water",
    "goedemorgen",
    "lekker",
];

/// The Dutch voices: espeak-ng's Dutch with several of its variants (flite
/// has no Dutch).
pub const DUTCH_VOICES: [&str; 5] = ["nl", "nl+klatt2", "nl+klatt4", "nl+m3", "nl+f3"];

/// Speaking rates, words per minute.
pub const SPEEDS: [u32; 3] = [130, 160, 190];

/// The level every word is normalised to (RMS over the word, full scale 1).
pub const SPEECH_RMS: f32 = 0.08;
/// The noise that is always there (about 44 dB below the speech): exact
/// digital silence is not what a microphone hears and confuses decoders.
pub const FAINT_NOISE_RMS: f32 = 0.0005;
/// Noise before the first word of a stream (lets noise trackers settle).
pub const LEAD_IN_MS: u64 = 1500;
/// Noise before each word.
pub const BEFORE_MS: u64 = 500;
/// Noise after each word.
pub const AFTER_MS: u64 = 1300;

/// The background of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Noise {
    /// Only the faint noise.
    Faint,
    White20,
    Pink20,
    White10,
    Pink10,
}

impl Noise {
    pub const ALL: [Noise; 5] = [
        Noise::Faint,
        Noise::White20,
        Noise::Pink20,
        Noise::White10,
        Noise::Pink10,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Noise::Faint => "clean",
            Noise::White20 => "white 20dB",
            Noise::Pink20 => "pink 20dB",
            Noise::White10 => "white 10dB",
            Noise::Pink10 => "pink 10dB",
        }
    }

    /// Signal-to-noise ratio in dB, for the added noise (None: faint only).
    pub fn snr_db(self) -> Option<f32> {
        match self {
            Noise::Faint => None,
            Noise::White20 | Noise::Pink20 => Some(20.0),
            Noise::White10 | Noise::Pink10 => Some(10.0),
        }
    }

    fn pink(self) -> bool {
        matches!(self, Noise::Pink20 | Noise::Pink10)
    }
}

/// One spoken item in a stream.
#[derive(Debug, Clone)]
pub struct Sample {
    /// What was said.
    pub text: String,
    /// The command it is (None: a non-command).
    pub command: Option<Command>,
    pub voice: String,
    pub wpm: u32,
    pub noise: Noise,
    /// The sample's stretch of its stream, in ms from the stream start: a
    /// detection emitted in `[from_ms, to_ms)` belongs to this sample.
    pub from_ms: u64,
    pub to_ms: u64,
    /// Where the spoken sound starts and ends in the stream.
    pub word_start_ms: u64,
    pub word_end_ms: u64,
}

impl Sample {
    pub fn describe(&self) -> String {
        format!(
            "{:?} by {} at {} wpm, {} (stream {}..{} ms, word {}..{} ms)",
            self.text,
            self.voice,
            self.wpm,
            self.noise.label(),
            self.from_ms,
            self.to_ms,
            self.word_start_ms,
            self.word_end_ms
        )
    }
}

/// What happened to one sample.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub sample: Sample,
    /// The detections emitted during the sample's stretch of the stream.
    pub detections: Vec<Detection>,
}

impl Outcome {
    /// For a command sample: the first right detection after the word began.
    pub fn hit(&self) -> Option<&Detection> {
        let want = self.sample.command?;
        self.detections
            .iter()
            .find(|d| d.command == want && d.detected_ms >= self.sample.word_start_ms)
    }
    pub fn ok(&self) -> bool {
        match self.sample.command {
            Some(_) => self.hit().is_some(),
            None => self.detections.is_empty(),
        }
    }
}

/// Attribute a stream's detections to its samples.
pub fn attribute(stream: &Stream, detections: &[Detection]) -> Vec<Outcome> {
    stream
        .samples
        .iter()
        .map(|sample| Outcome {
            sample: sample.clone(),
            detections: detections
                .iter()
                .filter(|d| (sample.from_ms..sample.to_ms).contains(&d.detected_ms))
                .cloned()
                .collect(),
        })
        .collect()
}

/// A continuous 16 kHz recording of many samples in one noise condition.
#[derive(Debug, Clone)]
pub struct Stream {
    pub noise: Noise,
    pub audio: Vec<i16>,
    pub samples: Vec<Sample>,
}

impl Stream {
    /// Write the stream as a WAV file (to listen to a failure).
    pub fn write_wav(&self, path: &Path) {
        Clip::new(RATE, self.audio.clone())
            .write_wav(path)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// What to say, in which voice and at which speed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Utterance {
    pub text: String,
    pub voice: String,
    pub wpm: u32,
    pub lang: Lang,
}

/// A language's words and voices for the set.
pub struct Words {
    pub lang: Lang,
    pub commands: &'static [&'static str],
    pub non_commands: &'static [&'static str],
    pub voices: &'static [&'static str],
}

pub const ENGLISH: Words = Words {
    lang: Lang::En,
    commands: &COMMAND_WORDS,
    non_commands: &NON_COMMANDS,
    voices: &VOICES,
};

pub const DUTCH: Words = Words {
    lang: Lang::Nl,
    commands: &DUTCH_COMMAND_WORDS,
    non_commands: &DUTCH_NON_COMMANDS,
    voices: &DUTCH_VOICES,
};

/// The English set for one noise condition (see [`utterances`]).
pub fn english_utterances(noise: Noise) -> Vec<Utterance> {
    utterances(&ENGLISH, noise)
}

/// A language's set for one noise condition (sized so that the English set
/// decodes in about a minute on two cores). Without added noise: every
/// command word in every voice at every speed, and every non-command in
/// half of the voices at one speed (rotating through the speeds). In noise:
/// every command word in every voice at one speed, and every non-command in
/// a third of the voices.
pub fn utterances(words: &Words, noise: Noise) -> Vec<Utterance> {
    let clean = noise == Noise::Faint;
    let turn = noise as usize;
    let mut out = Vec::new();
    for (wi, word) in words.commands.iter().enumerate() {
        for (vi, voice) in words.voices.iter().enumerate() {
            for (si, wpm) in SPEEDS.iter().enumerate() {
                if clean || (wi + vi + turn) % SPEEDS.len() == si {
                    out.push(Utterance {
                        text: (*word).into(),
                        voice: (*voice).into(),
                        wpm: *wpm,
                        lang: words.lang,
                    });
                }
            }
        }
    }
    for (wi, text) in words.non_commands.iter().enumerate() {
        for (vi, voice) in words.voices.iter().enumerate() {
            let keep = if clean { 2 } else { 3 };
            if (wi + vi + turn).is_multiple_of(keep) {
                out.push(Utterance {
                    text: (*text).into(),
                    voice: (*voice).into(),
                    wpm: SPEEDS[(wi + vi) % SPEEDS.len()],
                    lang: words.lang,
                });
            }
        }
    }
    out
}

/// A rendered word at 16 kHz, normalised, with the sound's bounds.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub audio: Vec<f32>,
    /// First and last sample of the sound.
    pub start: usize,
    pub end: usize,
}

fn espeak_version() -> String {
    std::process::Command::new("espeak-ng")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| panic!("espeak-ng must be installed (sudo apt install espeak-ng): {e}"))
}

/// The cache directory for a set of utterances.
pub fn cache_dir(utterances: &[Utterance]) -> PathBuf {
    let mut h = DefaultHasher::new();
    espeak_version().hash(&mut h);
    utterances.hash(&mut h);
    RATE.hash(&mut h);
    let dir = std::env::temp_dir().join(format!("matcoach-voice-data-{:016x}", h.finish()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn file_name(u: &Utterance) -> String {
    // Letters beyond ASCII (Korean) by their code, so that two words of
    // the same length do not share a name.
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                c if c.is_ascii_alphanumeric() => c.to_string(),
                c if c.is_alphanumeric() => format!("u{:x}", u32::from(c)),
                _ => "_".into(),
            })
            .collect()
    };
    format!("{}__{}__{}.wav", safe(&u.text), safe(&u.voice), u.wpm)
}

/// The rendering of `u` at 16 kHz (from the cache when there).
fn render_16k(u: &Utterance, dir: &Path) -> Vec<i16> {
    let path = dir.join(file_name(u));
    if let Ok(c) = Clip::read_wav(&path) {
        if c.rate == RATE && !c.is_empty() {
            return c.samples.to_vec();
        }
    }
    let clip = match u.voice.strip_prefix("flite/") {
        Some(voice) => flite(&u.text, voice, u.wpm, dir),
        None => {
            let espeak = Espeak::new(
                PathBuf::from("espeak-ng"),
                u.voice.clone(),
                u.voice.clone(),
                u.wpm,
            );
            espeak.render(&u.text, u.lang).unwrap_or_else(|e| {
                panic!("espeak-ng could not say {:?} with {}: {e}", u.text, u.voice)
            })
        }
    };
    let out = signal(&to_f32(&clip.samples), clip.rate, RATE);
    let samples = matcoach::audio::resample::to_i16(&out);
    // Write under a temporary name and rename: other test binaries may be
    // reading the same cache at the same time.
    let tmp = dir.join(format!("{}.{}.tmp", file_name(u), std::process::id()));
    Clip::new(RATE, samples.clone())
        .write_wav(&tmp)
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    samples
}

/// `text` said by flite's `voice`; the rate is set through flite's
/// duration stretch (160 wpm is its natural pace).
fn flite(text: &str, voice: &str, wpm: u32, dir: &Path) -> Clip {
    static N: AtomicU64 = AtomicU64::new(0);
    let out = dir.join(format!(
        "flite-{}-{}.wav.tmp",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let stretch = 160.0 / wpm.max(1) as f32;
    let status = std::process::Command::new("flite")
        .args(["-voice", voice, "--setf"])
        .arg(format!("duration_stretch={stretch:.3}"))
        .arg("-t")
        .arg(text)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| {
            panic!("flite must be installed for the speech test set (sudo apt install flite): {e}")
        });
    assert!(
        status.success(),
        "flite -voice {voice} failed on {text:?}: {status}"
    );
    let clip = Clip::read_wav(&out).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(&out);
    clip
}

/// Normalise a 16 kHz rendering and find where its sound is.
fn normalise(samples: &[i16]) -> Rendered {
    let x: Vec<f32> = samples
        .iter()
        .map(|s| matcoach::audio::analysis::sample_to_f32(*s))
        .collect();
    let peak = x.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(peak > 0.0, "espeak-ng gave silence");
    let loud = |s: &f32| s.abs() > peak * 0.02;
    let start = x.iter().position(loud).unwrap_or(0);
    let end = x.iter().rposition(loud).unwrap_or(x.len() - 1);
    let rms = (x[start..=end].iter().map(|s| s * s).sum::<f32>() / (end + 1 - start) as f32).sqrt();
    let gain = SPEECH_RMS / rms.max(1e-6);
    Rendered {
        audio: x.iter().map(|s| s * gain).collect(),
        start,
        end,
    }
}

/// Render every utterance (in parallel, from the cache when possible).
pub fn render_all(utterances: &[Utterance]) -> Vec<Rendered> {
    let dir = cache_dir(utterances);
    let jobs = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8);
    let mut out: Vec<Option<Rendered>> = vec![None; utterances.len()];
    std::thread::scope(|s| {
        let chunks: Vec<_> = out
            .chunks_mut(utterances.len().div_ceil(jobs))
            .zip(utterances.chunks(utterances.len().div_ceil(jobs)))
            .map(|(slots, us)| {
                let dir = &dir;
                s.spawn(move || {
                    for (slot, u) in slots.iter_mut().zip(us) {
                        *slot = Some(normalise(&render_16k(u, dir)));
                    }
                })
            })
            .collect();
        for c in chunks {
            c.join().unwrap_or_else(|_| panic!("rendering failed"));
        }
    });
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| unreachable!()))
        .collect()
}

pub use super::rng::Rng;

/// `n` samples of noise with RMS `rms`: white, or pink (Paul Kellet's
/// filter), deterministic for `seed`.
pub fn noise(n: usize, rms: f32, pink: bool, seed: u64) -> Vec<f32> {
    let colour = if pink {
        super::rng::Colour::Pink
    } else {
        super::rng::Colour::White
    };
    super::rng::noise_at_rms(n, rms, colour, seed)
}

fn ms_to_samples(ms: u64) -> usize {
    (ms * u64::from(RATE) / 1000) as usize
}

fn samples_to_ms(n: usize) -> u64 {
    n as u64 * 1000 / u64::from(RATE)
}

/// Lay `utterances` (rendered as `rendered`) out as one stream in `noise`,
/// in a shuffled order (deterministic for the condition).
pub fn build_stream(
    utterances: &[Utterance],
    rendered: &[Rendered],
    noise_kind: Noise,
    lang: Lang,
) -> Stream {
    let mut order: Vec<usize> = (0..utterances.len()).collect();
    let mut rng = Rng::new(noise_kind as u64 + 7);
    for i in (1..order.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let mut audio: Vec<f32> = vec![0.0; ms_to_samples(LEAD_IN_MS - BEFORE_MS)];
    let mut samples = Vec::new();
    for i in order {
        let (u, r) = (&utterances[i], &rendered[i]);
        let from = audio.len();
        audio.resize(from + ms_to_samples(BEFORE_MS), 0.0);
        let at = audio.len();
        // The rendering's own margins are part of the word's stretch.
        audio.extend_from_slice(&r.audio);
        audio.resize(audio.len() + ms_to_samples(AFTER_MS), 0.0);
        samples.push(Sample {
            text: u.text.clone(),
            command: matcoach::hearing::grammar::parse(&u.text, lang),
            voice: u.voice.clone(),
            wpm: u.wpm,
            noise: noise_kind,
            from_ms: samples_to_ms(from),
            to_ms: samples_to_ms(audio.len()),
            word_start_ms: samples_to_ms(at + r.start),
            word_end_ms: samples_to_ms(at + r.end + 1),
        });
    }
    let faint = noise(audio.len(), FAINT_NOISE_RMS, false, 1);
    let added = match noise_kind.snr_db() {
        Some(snr) => noise(
            audio.len(),
            SPEECH_RMS / 10f32.powf(snr / 20.0),
            noise_kind.pink(),
            noise_kind as u64 + 100,
        ),
        None => vec![0.0; audio.len()],
    };
    let audio = audio
        .iter()
        .zip(&faint)
        .zip(&added)
        .map(|((s, f), n)| matcoach::audio::analysis::sample_to_i16(s + f + n))
        .collect();
    Stream {
        noise: noise_kind,
        audio,
        samples,
    }
}

/// The English streams, one per noise condition, built once per process.
pub fn english_streams() -> &'static [Stream] {
    static STREAMS: OnceLock<Vec<Stream>> = OnceLock::new();
    STREAMS.get_or_init(|| build_streams(&ENGLISH))
}

/// The Dutch streams, one per noise condition, built once per process.
pub fn dutch_streams() -> &'static [Stream] {
    static STREAMS: OnceLock<Vec<Stream>> = OnceLock::new();
    STREAMS.get_or_init(|| build_streams(&DUTCH))
}

fn build_streams(words: &Words) -> Vec<Stream> {
    let sets: Vec<Vec<Utterance>> = Noise::ALL.iter().map(|n| utterances(words, *n)).collect();
    let mut all: Vec<Utterance> = Vec::new();
    for u in sets.iter().flatten() {
        if !all.contains(u) {
            all.push(u.clone());
        }
    }
    let rendered = render_all(&all);
    Noise::ALL
        .iter()
        .zip(&sets)
        .map(|(n, set)| {
            let r: Vec<Rendered> = set
                .iter()
                .map(|u| {
                    let i = all
                        .iter()
                        .position(|a| a == u)
                        .unwrap_or_else(|| unreachable!());
                    rendered[i].clone()
                })
                .collect();
            build_stream(set, &r, *n, words.lang)
        })
        .collect()
}
