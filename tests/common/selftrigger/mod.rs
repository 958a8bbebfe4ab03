//! The self-trigger and barge-in harness of `tests/voice_selftrigger.rs`:
//! the coach's phrases (real espeak-ng audio of the shipped content) played
//! through a simulated room ([`super::room`]), the microphone signal and
//! the playback as the live path sees them, and (in [`recognised`]) the
//! real listening pipeline that hears them, with the scores the tests
//! assert on.

#[cfg(any(feature = "voice-pocketsphinx", feature = "voice-vosk"))]
pub mod recognised;

use super::room::{self, Rng};
use super::{content, root};
use matcoach::content::Lang;
use matcoach::hearing::aec::{AecOptions, SpeexAec};
use matcoach::hearing::echo_tracker::EchoTracker;
use matcoach::hearing::pipeline::{DeciderConfig, EchoCanceller, FRAME};
use matcoach::hearing::to_16k;
use matcoach::hearing::vad::Vad;
use matcoach::session::{self, Line, SessionConfig};
use matcoach::speech::{default_jobs, Espeak, Speech, Voice};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The coach's voice (the default espeak-ng config) with its phrase cache
/// in this test's scratch directory (keyed by voice and text, so it is
/// never stale; it only saves rendering again on the next run).
pub fn speech() -> &'static Speech {
    static SPEECH: OnceLock<Speech> = OnceLock::new();
    SPEECH.get_or_init(|| {
        let cfg = matcoach::config::Speech {
            cache_dir: Some(
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("voice_selftrigger_speech"),
            ),
            ..Default::default()
        };
        Speech::from_config(&cfg, &root()).unwrap()
    })
}

/// One phrase of the content; its audio at 16 kHz (as the speaker plays it)
/// is made on first use.
pub struct Phrase {
    pub line: Line,
    pub lang: Lang,
    pub pcm: OnceLock<Vec<i16>>,
}

impl Phrase {
    pub fn pcm(&self) -> &[i16] {
        self.pcm
            .get_or_init(|| to_16k(&speech().clip(&self.line, self.lang).unwrap()))
    }
}

/// Every line of the content in `lang` (what `matcoach render` renders).
pub fn phrases(lang: Lang) -> &'static [Phrase] {
    static EN: OnceLock<Vec<Phrase>> = OnceLock::new();
    static NL: OnceLock<Vec<Phrase>> = OnceLock::new();
    let cell = match lang {
        Lang::En => &EN,
        Lang::Nl => &NL,
    };
    cell.get_or_init(|| {
        session::all_lines(content(), lang, &SessionConfig::default())
            .into_iter()
            .map(|line| Phrase {
                line,
                lang,
                pcm: OnceLock::new(),
            })
            .collect()
    })
}

/// Render (in parallel) and resample `chosen` phrases ahead of use.
pub fn prepare(all: &[Phrase], chosen: &[usize]) {
    let Some(first) = chosen.first() else { return };
    let lang = all[*first].lang;
    let lines: Vec<Line> = chosen.iter().map(|&i| all[i].line.clone()).collect();
    speech().render_all(&lines, lang, default_jobs()).unwrap();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..default_jobs() {
            s.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&i) = chosen.get(k) else { break };
                all[i].pcm();
            });
        }
    });
}

/// The range the room's parameters are drawn from.
#[derive(Debug, Clone, Copy)]
pub struct RoomRange {
    pub delay_ms: (u32, u32),
    pub attenuation_db: (f32, f32),
    pub rt60_ms: (u32, u32),
}

pub const ROOMS: RoomRange = RoomRange {
    delay_ms: (20, 80),
    attenuation_db: (3.0, 20.0),
    rt60_ms: (150, 450),
};

/// One room, drawn from a range.
#[derive(Debug, Clone, Copy)]
pub struct Room {
    pub delay_ms: u32,
    pub attenuation_db: f32,
    pub rt60_ms: u32,
    pub seed: u64,
}

impl Room {
    pub fn draw(range: RoomRange, rng: &mut Rng) -> Room {
        Room {
            delay_ms: rng.range(range.delay_ms.0 as f32, range.delay_ms.1 as f32) as u32,
            attenuation_db: rng.range(range.attenuation_db.0, range.attenuation_db.1),
            rt60_ms: rng.range(range.rt60_ms.0 as f32, range.rt60_ms.1 as f32) as u32,
            seed: rng.next_u64(),
        }
    }

    pub fn echo(&self, playback: &[i16]) -> Vec<f32> {
        room::echo(
            playback,
            self.delay_ms,
            self.attenuation_db,
            self.rt60_ms,
            self.seed,
        )
    }
}

/// A stretch of a session: what was sent to the speaker (the reference) and
/// what the microphone heard, on one timeline at 16 kHz.
pub struct Stream {
    pub playback: Vec<i16>,
    /// The echo alone (no noise, no user), for ERLE and levels.
    pub echo: Vec<f32>,
    pub mic: Vec<i16>,
    /// Each phrase: where it starts and ends in the playback, its index.
    pub spans: Vec<(usize, usize, usize)>,
}

/// `chosen` phrases back to back with short gaps (0.3–0.8 s), as a session
/// plays them, through the room. The room (delay, attenuation, reverb) is
/// drawn anew every `room_every` phrases: 1 changes it for every phrase, so
/// the canceller must converge again each time.
pub fn stream(
    all: &[Phrase],
    chosen: &[usize],
    range: RoomRange,
    room_every: usize,
    seed: u64,
) -> Stream {
    let mut rng = Rng::new(seed);
    let mut playback: Vec<i16> = vec![0; 8000];
    let mut spans = Vec::new();
    for &i in chosen {
        let start = playback.len();
        playback.extend_from_slice(all[i].pcm());
        spans.push((start, playback.len(), i));
        let gap = rng.range(0.3, 0.8);
        playback.extend(std::iter::repeat_n(0, (gap * 16_000.0) as usize));
    }
    playback.extend(std::iter::repeat_n(0, 16_000));
    let mut echo = vec![0f32; playback.len()];
    let mut current = Room::draw(range, &mut rng);
    for (k, &(start, end, _)) in spans.iter().enumerate() {
        if k > 0 && k % room_every.max(1) == 0 {
            current = Room::draw(range, &mut rng);
        }
        for (o, v) in echo
            .iter_mut()
            .skip(start)
            .zip(current.echo(&playback[start..end]))
        {
            *o += v;
        }
    }
    let noise = room::noise(playback.len(), room::NOISE_DB, &mut rng);
    let mic = echo
        .iter()
        .zip(&noise)
        .map(|(e, n)| room::to_i16(e + n))
        .collect();
    Stream {
        playback,
        echo,
        mic,
        spans,
    }
}

/// ERLE (dB) over the frames in `range` where the echo is well above the
/// room's noise (by 25 dB, so the noise, which the canceller leaves alone,
/// does not cap the figure): the power of the microphone signal against
/// what is left after cancellation.
pub fn erle(s: &Stream, cleaned: &[i16], range: std::ops::Range<usize>) -> f32 {
    let noise_power = (room::db(room::NOISE_DB) * 32768.0).powi(2);
    let (mut e_in, mut e_out) = (0f64, 0f64);
    let last = cleaned.len().min(range.end) / FRAME;
    for f in range.start / FRAME..last {
        let r = f * FRAME..(f + 1) * FRAME;
        let p = s.echo[r.clone()].iter().map(|v| v * v).sum::<f32>() / FRAME as f32;
        if p < noise_power * 316.0 {
            continue;
        }
        e_in += s.mic[r.clone()]
            .iter()
            .map(|v| f64::from(*v).powi(2))
            .sum::<f64>();
        e_out += cleaned[r]
            .iter()
            .map(|v| f64::from(*v).powi(2))
            .sum::<f64>();
    }
    (10.0 * (e_in / e_out.max(1.0)).log10()) as f32
}

/// `n` of the content's phrases longer than `min_s` seconds, at random.
pub fn long_phrases(all: &[Phrase], n: usize, min_s: f32, seed: u64) -> Vec<usize> {
    let min_chars = (min_s * 13.0) as usize; // about 13 characters a second
    let mut long: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].line.text.len() > min_chars)
        .collect();
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    while out.len() < n && !long.is_empty() {
        let k = rng.next_u64() as usize % long.len();
        out.push(long.swap_remove(k));
    }
    out
}

/// The canceller as the app builds it: 20 ms frames, its tail.
pub const TAIL_MS: u32 = matcoach::hearing::aec::TAIL_MS;

/// The user's "stop", in another voice than the coach's, trimmed to its
/// sound (espeak-ng pads it with silence).
pub fn user_stop() -> Vec<i16> {
    let d = matcoach::config::Speech::default();
    let voice = Espeak::new(
        PathBuf::from("espeak-ng"),
        "en-us+m3".into(),
        d.espeak_voice_nl,
        d.rate_wpm,
    );
    trimmed(&to_16k(&voice.render("stop", Lang::En).unwrap()))
}

/// `word` without the silence around it.
pub fn trimmed(word: &[i16]) -> Vec<i16> {
    let loud = room::active_rms(word) * 0.05;
    let is_loud = |s: &i16| f32::from(s.unsigned_abs()) > loud;
    let first = word.iter().position(is_loud).unwrap();
    let last = word.len() - word.iter().rev().position(is_loud).unwrap();
    word[first..last].to_vec()
}

/// The user's direct-to-reverberant ratio at the microphone. PocketSphinx
/// does not stand much reverberation: with the tail 10 dB below the
/// direct sound (the user about 30 cm away in a furnished room) it
/// heard 1 of 12 clean "stop"s in this voice; at 20 dB, 12 of 12.
pub const USER_DRR_DB: f32 = 20.0;

/// One "stop" said over the coach.
pub struct Trial {
    /// Where the word starts and ends at the microphone (ms).
    pub start_ms: u64,
    pub end_ms: u64,
    /// The coach's phrase it was said over (for the barge-in report).
    #[cfg_attr(
        not(any(feature = "voice-pocketsphinx", feature = "voice-vosk")),
        allow(dead_code)
    )]
    pub phrase: String,
}

/// The microphone with the user's words: with the coach's echo, and
/// without it (the same words and noise, for the recogniser's baseline).
pub struct BargeIn {
    pub stream: Stream,
    #[cfg_attr(
        not(any(feature = "voice-pocketsphinx", feature = "voice-vosk")),
        allow(dead_code)
    )]
    pub user_only: Vec<i16>,
    pub trials: Vec<Trial>,
}

/// Phrases of at least 4 s through one room; the user says "stop" in
/// each but the first (which lets the canceller converge, as the
/// session's earlier phrases would), once at 15–85 % of the phrase, or
/// twice (15–40 % and 60–85 %) in phrases over 7 s, `ratio_db` louder
/// at the microphone than the echo of the phrase it is said over. The
/// user is close to the microphone (on the mat beside it): the word
/// comes with a floor reflection and the room's reverberation 20 dB
/// below it ([`USER_DRR_DB`]).
pub fn barge_in_stream(
    all: &[Phrase],
    chosen: &[usize],
    word: &[i16],
    ratio_db: f32,
    seed: u64,
) -> BargeIn {
    let mut s = stream(all, chosen, ROOMS, usize::MAX, seed);
    let mut rng = Rng::new(seed ^ 0xBA26E);
    let said: Vec<i16> = room::talker(word, USER_DRR_DB, 300, seed)
        .iter()
        .map(|v| room::to_i16(*v))
        .collect();
    let mut trials = Vec::new();
    for &(start, end, i) in s.spans.clone().iter().skip(1) {
        let len = end - start;
        let spots: &[(f32, f32)] = if len > 7 * 16_000 {
            &[(0.15, 0.4), (0.6, 0.85)]
        } else {
            &[(0.15, 0.85)]
        };
        let echo: Vec<i16> = s.echo[start..end]
            .iter()
            .map(|v| room::to_i16(*v))
            .collect();
        let gain = room::gain_for(&said, &echo, ratio_db);
        for (a, b) in spots {
            let at = start + (len as f32 * rng.range(*a, *b)) as usize;
            room::mix_into(&mut s.mic, &said, at, gain);
            trials.push(Trial {
                start_ms: (at * 1000 / 16_000) as u64,
                end_ms: ((at + word.len()) * 1000 / 16_000) as u64,
                phrase: format!("{}: {:?}", all[i].line.id, all[i].line.text),
            });
        }
    }
    let user_only = s
        .mic
        .iter()
        .zip(&s.echo)
        .map(|(m, e)| room::to_i16(f32::from(*m) - e))
        .collect();
    BargeIn {
        stream: s,
        user_only,
        trials,
    }
}

/// Per 20 ms frame, as the pipeline sees it while the coach's echo may be
/// heard: (frame index, the echo tracker's correlation and excess over the
/// predicted echo) for the frames the share test alone takes for the user
/// (voiced, and the canceller removed less than `min_user_share_db` of the
/// microphone's energy).
pub fn frames_taken_for_the_user(mic: &[i16], reference: &[i16]) -> Vec<(usize, f32, Option<f32>)> {
    let cfg = DeciderConfig::default();
    let mut aec = SpeexAec::with_options(FRAME, TAIL_MS, AecOptions::DEFAULT).unwrap();
    let cleaned = aec.process_all(mic, reference);
    let mut tracker = EchoTracker::default();
    let mut vad = Vad::default();
    let energy = |x: &[i16]| x.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>();
    let (mut hold, mut prev) = (0u32, 0f64);
    let mut out = Vec::new();
    let frames = mic
        .chunks_exact(FRAME)
        .zip(reference.chunks_exact(FRAME))
        .zip(cleaned.chunks_exact(FRAME));
    for (k, ((m, r), c)) in frames.enumerate() {
        tracker.push(c, r);
        let voiced = vad.frame(c);
        hold = if energy(r) > 0.0 {
            15
        } else {
            hold.saturating_sub(1)
        };
        let share =
            energy(c) >= energy(m).max(prev) * 10f64.powf(f64::from(cfg.min_user_share_db) / 10.0);
        prev = energy(m);
        if hold > 0 && voiced && share {
            out.push((k, tracker.correlation(), tracker.excess_db()));
        }
    }
    out
}

pub fn quartiles(what: &str, v: &[f32]) -> String {
    let mut v = v.to_vec();
    v.sort_by(f32::total_cmp);
    let q = |p: f32| {
        v.get(((v.len().max(1) - 1) as f32 * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    format!(
        "{} frames, {what} 5/25/50/75/95 %: {:.2} {:.2} {:.2} {:.2} {:.2}",
        v.len(),
        q(0.05),
        q(0.25),
        q(0.5),
        q(0.75),
        q(0.95)
    )
}

/// `n` sets as the daemon starts: "ready" (the first thing the canceller
/// hears), then a session's welcome.
pub fn after_ready(all: &[Phrase], n: usize) -> Vec<Vec<usize>> {
    let id = |i: usize| all[i].line.id.0.as_str();
    let ready = (0..all.len())
        .find(|&i| id(i) == "sys.ready")
        .expect("the content has sys.ready");
    (0..all.len())
        .filter(|&i| id(i).starts_with("sys.welcome"))
        .take(n)
        .map(|w| vec![ready, w])
        .collect()
}
