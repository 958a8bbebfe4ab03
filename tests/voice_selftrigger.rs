//! The coach must not obey its own voice. The coach's phrases (real
//! espeak-ng audio of the shipped content) are played through a simulated
//! room (tests/room) and the microphone signal goes through the real
//! listening pipeline: Speex echo cancellation with what was played as the
//! reference, then PocketSphinx and the decider.
//!
//! - echo reduction: ERLE of [`SpeexAec`] on content phrases in rooms
//!   (needs only `voice-aec`);
//! - the echo tracker (`voice::dtd`): what a canceller that has not learned
//!   the room leaves of the coach is not taken for the user, and the user
//!   over a converged one is (needs only `voice-aec`);
//! - self-trigger: the coach's phrases back to back must give no detection
//!   at all with echo cancellation (and we report how many they give
//!   without it);
//! - barge-in: "stop" said by the user (another voice) over the coach, as
//!   loud as the echo, is heard shortly after it is said.
//!
//! By default the self-trigger tests play every phrase that contains a
//! command word plus a sample of the rest (a debug build plays the whole
//! content too slowly); `cargo test --release --features
//! voice-aec,voice-pocketsphinx --test voice_selftrigger -- --ignored`
//! plays every phrase of the content. Run with `--nocapture` to see the
//! measured figures. With Vosk's models (`matcoach setup-model`, or
//! `MATCOACH_VOSK_MODEL_EN`/`_NL`), `--features voice-aec,voice-vosk -- --ignored
//! vosk` plays the whole content of each language into its own Vosk
//! pipeline.
#![cfg(feature = "voice-aec")]

mod room;

mod common;

#[cfg(feature = "voice-vosk")]
mod voice_data;

use common::{content, root};
use matcoach::audio::Clip;
use matcoach::content::Lang;
use matcoach::session::{self, Line, SessionConfig};
use matcoach::speech::{default_jobs, Espeak, Speech, Voice};
use matcoach::voice::aec::{AecOptions, SpeexAec};
use matcoach::voice::dtd::EchoTracker;
use matcoach::voice::pipeline::{DeciderConfig, EchoCanceller, FRAME};
use matcoach::voice::resample::{to_i16, Resampler};
use matcoach::voice::vad::Vad;
use room::Rng;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The coach's voice (the default espeak-ng config) with its phrase cache
/// in this test's scratch directory (keyed by voice and text, so it is
/// never stale; it only saves rendering again on the next run).
fn speech() -> &'static Speech {
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
struct Phrase {
    line: Line,
    lang: Lang,
    pcm: OnceLock<Vec<i16>>,
}

impl Phrase {
    fn pcm(&self) -> &[i16] {
        self.pcm
            .get_or_init(|| to_16k(&speech().clip(&self.line, self.lang).unwrap()))
    }
}

/// Every line of the content in `lang` (what `matcoach render` renders).
fn phrases(lang: Lang) -> &'static [Phrase] {
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
fn prepare(all: &[Phrase], chosen: &[usize]) {
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

/// A clip at 16 kHz, through the crate's own resampler.
fn to_16k(clip: &Clip) -> Vec<i16> {
    if clip.rate == 16_000 {
        return clip.samples.to_vec();
    }
    let mut r = Resampler::new(clip.rate, 16_000);
    let mut input: Vec<f32> = clip
        .samples
        .iter()
        .map(|s| f32::from(*s) / 32768.0)
        .collect();
    input.extend(std::iter::repeat_n(0.0, 64));
    let mut out = Vec::with_capacity(input.len());
    r.process(&input, &mut out);
    out.truncate((clip.samples.len() as u64 * 16_000 / u64::from(clip.rate)) as usize);
    to_i16(&out)
}

/// The range the room's parameters are drawn from.
#[derive(Debug, Clone, Copy)]
struct RoomRange {
    delay_ms: (u32, u32),
    attenuation_db: (f32, f32),
    rt60_ms: (u32, u32),
}

const ROOMS: RoomRange = RoomRange {
    delay_ms: (20, 80),
    attenuation_db: (3.0, 20.0),
    rt60_ms: (150, 450),
};

/// One room, drawn from a range.
#[derive(Debug, Clone, Copy)]
struct Room {
    delay_ms: u32,
    attenuation_db: f32,
    rt60_ms: u32,
    seed: u64,
}

impl Room {
    fn draw(range: RoomRange, rng: &mut Rng) -> Room {
        Room {
            delay_ms: rng.range(range.delay_ms.0 as f32, range.delay_ms.1 as f32) as u32,
            attenuation_db: rng.range(range.attenuation_db.0, range.attenuation_db.1),
            rt60_ms: rng.range(range.rt60_ms.0 as f32, range.rt60_ms.1 as f32) as u32,
            seed: rng.next_u64(),
        }
    }

    fn echo(&self, playback: &[i16]) -> Vec<f32> {
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
struct Stream {
    playback: Vec<i16>,
    /// The echo alone (no noise, no user), for ERLE and levels.
    echo: Vec<f32>,
    mic: Vec<i16>,
    /// Each phrase: where it starts and ends in the playback, its index.
    spans: Vec<(usize, usize, usize)>,
}

/// `chosen` phrases back to back with short gaps (0.3–0.8 s), as a session
/// plays them, through the room. The room (delay, attenuation, reverb) is
/// drawn anew every `room_every` phrases: 1 changes it for every phrase, so
/// the canceller must converge again each time.
fn stream(
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
fn erle(s: &Stream, cleaned: &[i16], range: std::ops::Range<usize>) -> f32 {
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
fn long_phrases(all: &[Phrase], n: usize, min_s: f32, seed: u64) -> Vec<usize> {
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
const TAIL_MS: u32 = matcoach::voice::aec::TAIL_MS;

#[test]
fn echo_is_reduced_by_at_least_15_db() {
    let all = phrases(Lang::En);
    let sets: Vec<Vec<usize>> = (1..=4)
        .map(|seed| long_phrases(all, 4, 4.0, seed))
        .collect();
    prepare(all, &sets.concat());
    let variants = [
        (
            "AEC + residual suppression (default)",
            AecOptions::default(),
        ),
        (
            "AEC alone",
            AecOptions {
                residual_suppression: false,
                ..AecOptions::default()
            },
        ),
    ];
    let mut report = Vec::new();
    let mut worst = f32::INFINITY;
    for (name, opts) in variants {
        let mut converged = Vec::new();
        let mut after_change = Vec::new();
        for (seed, chosen) in sets.iter().enumerate() {
            // One room for the first half; then the room changes (the user
            // moved the speaker) and the canceller must follow.
            let s = stream(all, chosen, ROOMS, 2, seed as u64 + 1);
            let mut aec = SpeexAec::with_options(FRAME, TAIL_MS, opts).unwrap();
            let cleaned = aec.process_all(&s.mic, &s.playback);
            // After 3 s of the first room, to the end of its second phrase.
            let (a, b) = (s.spans[0].0 + 3 * 16_000, s.spans[2].0);
            converged.push(erle(&s, &cleaned, a..b));
            after_change.push(erle(&s, &cleaned, b..s.spans[3].0));
        }
        let line = |v: &[f32]| {
            v.iter()
                .map(|d| format!("{d:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        report.push(format!(
            "{name}: ERLE converged {} dB; first phrase after a room change {} dB",
            line(&converged),
            line(&after_change)
        ));
        if opts == AecOptions::default() {
            worst = converged.iter().copied().fold(worst, f32::min);
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        worst >= 15.0,
        "ERLE {worst:.1} dB < 15 dB:\n{}",
        report.join("\n")
    );
}

/// The user's "stop", in another voice than the coach's, trimmed to its
/// sound (espeak-ng pads it with silence).
fn user_stop() -> Vec<i16> {
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
fn trimmed(word: &[i16]) -> Vec<i16> {
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
const USER_DRR_DB: f32 = 20.0;

/// One "stop" said over the coach.
struct Trial {
    /// Where the word starts and ends at the microphone (ms).
    start_ms: u64,
    end_ms: u64,
    /// The coach's phrase it was said over (for the barge-in report).
    #[cfg_attr(
        not(any(feature = "voice-pocketsphinx", feature = "voice-vosk")),
        allow(dead_code)
    )]
    phrase: String,
}

/// The microphone with the user's words: with the coach's echo, and
/// without it (the same words and noise, for the recogniser's baseline).
struct BargeIn {
    stream: Stream,
    #[cfg_attr(
        not(any(feature = "voice-pocketsphinx", feature = "voice-vosk")),
        allow(dead_code)
    )]
    user_only: Vec<i16>,
    trials: Vec<Trial>,
}

/// Phrases of at least 4 s through one room; the user says "stop" in
/// each but the first (which lets the canceller converge, as the
/// session's earlier phrases would), once at 15–85 % of the phrase, or
/// twice (15–40 % and 60–85 %) in phrases over 7 s, `ratio_db` louder
/// at the microphone than the echo of the phrase it is said over. The
/// user is close to the microphone (on the mat beside it): the word
/// comes with a floor reflection and the room's reverberation 20 dB
/// below it ([`USER_DRR_DB`]).
fn barge_in_stream(
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
fn frames_taken_for_the_user(mic: &[i16], reference: &[i16]) -> Vec<(usize, f32, Option<f32>)> {
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

fn quartiles(what: &str, v: &[f32]) -> String {
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

/// The echo tracker (voice::dtd) against what the share test cannot tell
/// apart: the coach's voice passed by a canceller that has not learned the
/// room (which changes with every phrase here), and the user's "stop", as
/// loud as the echo, over a converged canceller and over one still
/// learning (the daemon's first phrases: "ready", then the welcome). A
/// frame passes when its envelope does not follow the playback's or it
/// rises well above the echo the playback predicts. Pass must most of the
/// user's frames (a word needs half of its frames) and few of the coach's.
#[test]
fn the_coach_left_over_by_the_canceller_is_not_taken_for_the_user() {
    let all = phrases(Lang::En);
    let cfg = DeciderConfig::default();
    let mut rng = Rng::new(31);
    let mut chosen: Vec<usize> = (0..all.len()).collect();
    for k in (1..chosen.len()).rev() {
        chosen.swap(k, rng.next_u64() as usize % (k + 1));
    }
    chosen.truncate(60);
    let users = long_phrases(all, 9, 5.0, 5);
    let learning = after_ready(all, 12);
    prepare(
        all,
        &[chosen.clone(), users.clone(), learning.concat()].concat(),
    );
    let changing = stream(all, &chosen, ROOMS, 1, 32);
    let coach = frames_taken_for_the_user(&changing.mic, &changing.playback);
    // The user's frames: over each set's phrases but the first.
    let user = |sets: &[Vec<usize>]| {
        let mut out = Vec::new();
        for (k, set) in sets.iter().enumerate() {
            let b = barge_in_stream(all, set, &user_stop(), 0.0, 5 + k as u64);
            out.extend(
                frames_taken_for_the_user(&b.stream.mic, &b.stream.playback)
                    .into_iter()
                    .filter(|(f, _, _)| {
                        let ms = *f as u64 * 20;
                        b.trials.iter().any(|t| t.start_ms <= ms && ms <= t.end_ms)
                    }),
            );
        }
        out
    };
    let converged = user(std::slice::from_ref(&users));
    let learning = user(&learning);
    let passes = |v: &[(usize, f32, Option<f32>)]| {
        v.iter()
            .filter(|(_, c, x)| cfg.not_the_echo(*c, || *x))
            .count() as f32
            / v.len().max(1) as f32
    };
    let line = |name: &str, v: &[(usize, f32, Option<f32>)]| {
        let corr: Vec<f32> = v.iter().map(|f| f.1).collect();
        let excess: Vec<f32> = v.iter().map(|f| f.2.unwrap_or(f32::NAN)).collect();
        format!(
            "  {name}:\n    {}\n    {}\n    {:.0} % pass",
            quartiles("correlation", &corr),
            quartiles("excess (dB)", &excess),
            passes(v) * 100.0
        )
    };
    let text = format!(
        "echo tracker, correlation below {} (or below {} with an excess of {} dB):\n{}\n{}\n{}",
        cfg.max_echo_correlation,
        cfg.max_loud_echo_correlation,
        cfg.min_user_excess_db,
        line("the coach, room changing with every phrase", &coach),
        line("the user over a converged canceller", &converged),
        line("the user over a canceller still learning", &learning),
    );
    eprintln!("{text}");
    assert!(
        coach.len() >= 500 && converged.len() >= 100 && learning.len() >= 100,
        "{text}"
    );
    assert!(passes(&coach) <= 0.15, "{text}");
    assert!(passes(&converged) >= 0.85, "{text}");
    assert!(passes(&learning) >= 0.7, "{text}");
}

/// `n` sets as the daemon starts: "ready" (the first thing the canceller
/// hears), then a session's welcome.
fn after_ready(all: &[Phrase], n: usize) -> Vec<Vec<usize>> {
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

#[cfg(any(feature = "voice-pocketsphinx", feature = "voice-vosk"))]
mod recognised {
    use super::*;
    use matcoach::command::Command;
    use matcoach::voice::grammar;
    use matcoach::voice::pipeline::Pipeline;
    use matcoach::voice::{Detection, Engine};

    /// The recogniser listening: PocketSphinx in English (what these
    /// machines have), or Vosk with a loaded model.
    enum Ear {
        #[cfg(feature = "voice-pocketsphinx")]
        Sphinx,
        #[cfg(feature = "voice-vosk")]
        Vosk(std::sync::Arc<matcoach::voice::vosk::VoskModel>, Lang),
        /// Vosk with the Korean model (`voice_data::korean`), its command
        /// words reported as the English ones they stand for: the daemon's
        /// Vosk pipeline with the one real model these machines have.
        #[cfg(feature = "voice-vosk")]
        Korean(std::sync::Arc<matcoach::voice::vosk::VoskModel>),
    }

    impl Ear {
        fn engine(&self) -> Engine {
            match self {
                #[cfg(feature = "voice-pocketsphinx")]
                Ear::Sphinx => Engine::Pocketsphinx,
                #[cfg(feature = "voice-vosk")]
                Ear::Vosk(..) | Ear::Korean(_) => Engine::Vosk,
            }
        }

        fn lang(&self) -> Lang {
            match self {
                #[cfg(feature = "voice-pocketsphinx")]
                Ear::Sphinx => Lang::En,
                #[cfg(feature = "voice-vosk")]
                Ear::Vosk(_, lang) => *lang,
                #[cfg(feature = "voice-vosk")]
                Ear::Korean(_) => Lang::En,
            }
        }

        fn label(&self) -> String {
            match self {
                #[cfg(feature = "voice-vosk")]
                Ear::Korean(_) => "the vosk pipeline with the Korean model".into(),
                _ => format!("the {} {} pipeline", self.lang(), self.engine().name()),
            }
        }

        /// The echo canceller as the daemon builds it for this engine.
        fn aec(&self) -> Option<AecOptions> {
            matcoach::voice::front_end_options(self.engine(), true)
        }

        /// The pipeline as the daemon builds it, with or without an echo
        /// canceller.
        fn pipeline(&self, aec: Option<AecOptions>) -> Pipeline {
            let lang = self.lang();
            let rec: Box<dyn matcoach::voice::Recognizer> = match self {
                #[cfg(feature = "voice-pocketsphinx")]
                Ear::Sphinx => Box::new(
                    matcoach::voice::sphinx::SphinxRecognizer::new(lang, &grammar::words(lang))
                        .unwrap(),
                ),
                #[cfg(feature = "voice-vosk")]
                Ear::Vosk(model, _) => Box::new(
                    matcoach::voice::vosk::VoskRecognizer::with_model(
                        model.clone(),
                        &grammar::words(lang),
                        grammar::fillers(lang),
                    )
                    .unwrap(),
                ),
                #[cfg(feature = "voice-vosk")]
                Ear::Korean(model) => Box::new(voice_data::korean::AsEnglish(
                    voice_data::korean::recognizer(model, true),
                )),
            };
            let aec = aec.map(|o| {
                Box::new(SpeexAec::with_options(FRAME, TAIL_MS, o).unwrap())
                    as Box<dyn EchoCanceller>
            });
            let decider =
                matcoach::voice::decider_config(self.engine(), &matcoach::config::Voice::default());
            Pipeline::new(rec, aec, lang, decider)
        }
    }

    /// PocketSphinx, as the tests on these machines use it.
    #[cfg(feature = "voice-pocketsphinx")]
    const SPHINX: Ear = Ear::Sphinx;

    /// The echo canceller the daemon puts in front of PocketSphinx.
    #[cfg(feature = "voice-pocketsphinx")]
    fn aec() -> Option<AecOptions> {
        SPHINX.aec()
    }

    /// Feed microphone and reference as the live path does, in 20 ms
    /// chunks, the reference being what was sent to the speaker at the
    /// moment the microphone recorded its chunk.
    fn listen(
        ear: &Ear,
        aec: Option<AecOptions>,
        mic: &[i16],
        reference: &[i16],
    ) -> Vec<Detection> {
        let mut p = ear.pipeline(aec);
        let mut out = Vec::new();
        for (m, r) in mic.chunks(FRAME).zip(reference.chunks(FRAME)) {
            out.extend(p.push(m, r).unwrap());
        }
        out.extend(p.finish().unwrap());
        out
    }

    /// The phrase playing (or last played) at `ms`.
    fn phrase_at(s: &Stream, all: &[Phrase], ms: u64) -> String {
        let at = (ms * 16) as usize;
        s.spans
            .iter()
            .rev()
            .find(|(start, _, _)| *start <= at)
            .map_or("(before the first phrase)".into(), |(_, _, i)| {
                format!("{}: {:?}", all[*i].line.id, all[*i].line.text)
            })
    }

    fn describe(s: &Stream, all: &[Phrase], found: &[Detection]) -> Vec<String> {
        found
            .iter()
            .map(|d| {
                format!(
                    "{:?} at {} ms, in {}",
                    d.word,
                    d.start_ms,
                    phrase_at(s, all, d.start_ms)
                )
            })
            .collect()
    }

    /// The phrases to play: every one that says a command word of either
    /// language (where self-triggering is likeliest) plus `others` of the
    /// rest at random, shuffled; `None` plays them all.
    fn selection(all: &[Phrase], lang: Lang, others: Option<usize>, seed: u64) -> Vec<usize> {
        let mut rng = Rng::new(seed);
        let says_command = |p: &Phrase| {
            Command::ALL
                .iter()
                .any(|c| c.spoken_in(&p.line.text, lang) || c.spoken_in(&p.line.text, Lang::En))
        };
        let mut chosen: Vec<usize> = match others {
            None => (0..all.len()).collect(),
            Some(others) => {
                let mut chosen: Vec<usize> =
                    (0..all.len()).filter(|&i| says_command(&all[i])).collect();
                let mut rest: Vec<usize> =
                    (0..all.len()).filter(|&i| !says_command(&all[i])).collect();
                for _ in 0..others.min(rest.len()) {
                    let k = rng.next_u64() as usize % rest.len();
                    chosen.push(rest.swap_remove(k));
                }
                chosen
            }
        };
        for k in (1..chosen.len()).rev() {
            chosen.swap(k, rng.next_u64() as usize % (k + 1));
        }
        chosen
    }

    struct SelfTrigger {
        /// Which pipeline listened.
        ear: String,
        phrases: usize,
        audio_s: f32,
        without_aec: Vec<String>,
        with_aec: Vec<String>,
        /// With AEC, the room changing with every phrase.
        jumpy: Option<Vec<String>>,
    }

    impl SelfTrigger {
        fn report(&self, lang: Lang) -> String {
            let list = |v: &[String]| v.iter().map(|d| format!("\n    {d}")).collect::<String>();
            let mut text = format!(
                "self-trigger, {lang} content ({} phrases, {:.0} s of audio) into {}:\n  \
                 without AEC: {} detections{}\n  with AEC: {} detections{}",
                self.phrases,
                self.audio_s,
                self.ear,
                self.without_aec.len(),
                list(&self.without_aec),
                self.with_aec.len(),
                list(&self.with_aec),
            );
            if let Some(j) = &self.jumpy {
                text += &format!(
                    "\n  with AEC, the room changing with every phrase: {} detections{}",
                    j.len(),
                    list(j)
                );
            }
            text
        }
    }

    /// Play the chosen phrases of `lang` back to back through the room into
    /// the English pipeline, without and with echo cancellation. The room
    /// is drawn anew every ten phrases (a session's room does not change,
    /// but so several rooms are tried, each starting unconverged); with
    /// `jumpy`, also through a room that changes with every phrase (the
    /// worst case for the canceller, which must converge again each time).
    fn self_trigger(
        ear: &Ear,
        lang: Lang,
        others: Option<usize>,
        jumpy: bool,
        seed: u64,
    ) -> SelfTrigger {
        let all = phrases(lang);
        let chosen = selection(all, lang, others, seed);
        prepare(all, &chosen);
        let steady = stream(all, &chosen, ROOMS, 10, seed);
        let changing = jumpy.then(|| stream(all, &chosen, ROOMS, 1, seed + 1));
        let (without, with, per_phrase) = std::thread::scope(|sc| {
            let a = sc.spawn(|| listen(ear, None, &steady.mic, &steady.playback));
            let c = changing
                .as_ref()
                .map(|j| sc.spawn(|| listen(ear, ear.aec(), &j.mic, &j.playback)));
            let b = listen(ear, ear.aec(), &steady.mic, &steady.playback);
            (a.join().unwrap(), b, c.map(|c| c.join().unwrap()))
        });
        SelfTrigger {
            ear: ear.label(),
            phrases: chosen.len(),
            audio_s: steady.mic.len() as f32 / 16_000.0,
            without_aec: describe(&steady, all, &without),
            with_aec: describe(&steady, all, &with),
            jumpy: changing
                .as_ref()
                .zip(per_phrase)
                .map(|(j, d)| describe(j, all, &d)),
        }
    }

    /// How one condition did over all trials.
    #[derive(Default)]
    struct Score {
        trials: usize,
        hits: usize,
        latencies: Vec<i64>,
        missed: Vec<String>,
        stray: Vec<String>,
    }

    impl Score {
        fn add(&mut self, trials: &[Trial], found: &[Detection]) {
            // A hit: "stop" emitted after the word began and within 1.5 s
            // of its end.
            let hit = |t: &Trial, d: &Detection| {
                d.command == Command::Stop
                    && d.detected_ms >= t.start_ms
                    && d.detected_ms <= t.end_ms + 1500
            };
            self.trials += trials.len();
            for t in trials {
                match found.iter().find(|d| hit(t, d)) {
                    Some(d) => {
                        self.hits += 1;
                        self.latencies.push(d.detected_ms as i64 - t.end_ms as i64);
                    }
                    None => self
                        .missed
                        .push(format!("{} ms, in {}", t.start_ms, t.phrase)),
                }
            }
            for d in found.iter().filter(|d| !trials.iter().any(|t| hit(t, d))) {
                self.stray
                    .push(format!("{:?} at {} ms", d.word, d.start_ms));
            }
            self.latencies.sort_unstable();
        }

        fn rate(&self) -> f32 {
            self.hits as f32 / self.trials.max(1) as f32
        }

        fn line(&self, name: &str) -> String {
            format!(
            "{name}: {}/{} heard ({:.0} %), emitted after the word's end: median {} ms, max {} ms; {} other detections",
            self.hits,
            self.trials,
            self.rate() * 100.0,
            self.latencies.get(self.latencies.len() / 2).copied().unwrap_or(-1),
            self.latencies.last().copied().unwrap_or(-1),
            self.stray.len(),
        )
        }
    }

    /// Barge-in over `sets` of phrases (one room each), the user's `word`
    /// `ratio_db` above the echo, heard through each of `conditions` (an
    /// echo canceller or none; `alone` is the user without the coach, the
    /// recogniser's own baseline). Conditions past `all_sets` run on the
    /// first set only.
    fn barge_in(
        ear: &Ear,
        word: &[i16],
        sets: &[Vec<usize>],
        ratio_db: f32,
        conditions: &[(bool, Option<AecOptions>)],
        all_sets: usize,
    ) -> Vec<Score> {
        let all = phrases(Lang::En);
        prepare(all, &sets.concat());
        let streams: Vec<BargeIn> = sets
            .iter()
            .enumerate()
            .map(|(k, chosen)| barge_in_stream(all, chosen, word, ratio_db, 5 + k as u64))
            .collect();
        let jobs: Vec<(usize, usize)> = (0..streams.len())
            .flat_map(|s| (0..conditions.len()).map(move |c| (s, c)))
            .filter(|(s, c)| *s == 0 || *c < all_sets)
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let found: Vec<(usize, usize, Vec<Detection>)> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..default_jobs())
                .map(|_| {
                    sc.spawn(|| {
                        let mut out = Vec::new();
                        loop {
                            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(&(s, c)) = jobs.get(k) else { break };
                            let b = &streams[s];
                            let (alone, aec) = conditions[c];
                            let d = if alone {
                                listen(ear, aec, &b.user_only, &vec![0; b.user_only.len()])
                            } else {
                                listen(ear, aec, &b.stream.mic, &b.stream.playback)
                            };
                            out.push((s, c, d));
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut scores: Vec<Score> = conditions.iter().map(|_| Score::default()).collect();
        for (s, c, d) in &found {
            scores[*c].add(&streams[*s].trials, d);
        }
        scores
    }

    /// Vosk, when its model for the language is here (a Pi after `matcoach
    /// setup-model`): every phrase of the content into the pipeline of its
    /// own language.
    #[cfg(feature = "voice-vosk")]
    mod vosk {
        use super::*;

        fn full_content(lang: Lang, seed: u64) {
            let dir = common::vosk_model_dir(lang);
            matcoach::voice::vosk::quiet_logs();
            let model = matcoach::voice::vosk::VoskModel::load(&dir, lang)
                .unwrap_or_else(|e| panic!("{e}"));
            let ear = Ear::Vosk(std::sync::Arc::new(model), lang);
            let r = self_trigger(&ear, lang, None, true, seed);
            let text = r.report(lang);
            eprintln!("{text}");
            assert!(r.with_aec.is_empty(), "{text}");
            assert!(r.jumpy.as_ref().is_some_and(|j| j.is_empty()), "{text}");
        }

        /// The default engine's path with a real model, here: Vosk with the
        /// Korean model behind the daemon's echo canceller, while the coach
        /// speaks its English phrases. The coach alone gives no command, in
        /// a steady room and in one that changes with every phrase; the
        /// user's 멈춰 ("stop", espeak-ng's Korean voice) over the coach, as
        /// loud as its echo, is heard.
        #[test]
        fn vosk_hears_stop_over_the_coach_and_not_the_coach() {
            // Without the model (not run through scripts/test) this says so
            // and skips, as tests/voice_vosk.rs does; scripts/test installs it.
            let Some(model) = voice_data::korean::korean() else {
                return;
            };
            let ear = Ear::Korean(model);
            let r = self_trigger(&ear, Lang::En, Some(8), true, 41);
            let quiet = r.report(Lang::En);
            let all = phrases(Lang::En);
            let sets = [long_phrases(all, 9, 5.0, 7), long_phrases(all, 9, 5.0, 8)];
            let word = trimmed(&to_i16(&voice_data::korean::speak("멈춰")));
            let scores = barge_in(
                &ear,
                &word,
                &sets,
                0.0,
                &[(true, None), (false, ear.aec())],
                2,
            );
            let [alone, with_aec] = &scores[..] else {
                unreachable!()
            };
            // Over the first phrases after start (the canceller still learning).
            let first = barge_in(
                &ear,
                &word,
                &after_ready(all, 12),
                0.0,
                &[(false, ear.aec())],
                1,
            );
            let text = format!(
                "{quiet}\nbarge-in, 멈춰 over the coach at 0 dB user-to-echo, {}:\n  {}\n  {}\n  {}\n  missed with AEC: {:#?}\n  other detections with AEC: {:#?}",
                ear.label(),
                alone.line("the user alone (no echo)"),
                with_aec.line("over the coach, with AEC"),
                first[0].line("over the first phrases after start, with AEC"),
                [&with_aec.missed[..], &first[0].missed[..]].concat(),
                [&with_aec.stray[..], &first[0].stray[..]].concat(),
            );
            eprintln!("{text}");
            assert!(r.with_aec.is_empty(), "{text}");
            assert!(r.jumpy.as_ref().is_some_and(|j| j.is_empty()), "{text}");
            assert!(with_aec.trials >= 20, "{text}");
            // Measured 20 of 26 on the content of issue 13 (its new long
            // phrases: preconditions, red flags); 22 of 23 before. Raising
            // it is issue 16, item 5 (docs/voice.md, "Barge-in").
            assert!(with_aec.rate() >= 0.75, "{text}");
            assert!(with_aec.stray.is_empty(), "{text}");
            assert!(first[0].trials >= 12, "{text}");
            assert!(first[0].rate() >= 0.75, "{text}");
            assert!(first[0].stray.is_empty(), "{text}");
        }

        #[test]
        #[ignore = "needs Vosk's English model (`matcoach setup-model --lang en` or MATCOACH_VOSK_MODEL_EN=DIR); run with --release"]
        fn the_coach_does_not_trigger_vosk_in_english() {
            full_content(Lang::En, 31);
        }

        #[test]
        #[ignore = "needs Vosk's Dutch model (`matcoach setup-model --lang nl` or MATCOACH_VOSK_MODEL_NL=DIR); run with --release"]
        fn the_coach_does_not_trigger_vosk_in_dutch() {
            full_content(Lang::Nl, 32);
        }
    }

    /// PocketSphinx (English): the tests that run on these machines.
    #[cfg(feature = "voice-pocketsphinx")]
    mod sphinx {
        use super::*;

        /// Phrases besides the command-word ones in the default (debug) run.
        const SAMPLE_EN: usize = 16;
        const SAMPLE_NL: usize = 12;

        #[test]
        fn the_coach_does_not_trigger_itself() {
            let r = self_trigger(&SPHINX, Lang::En, Some(SAMPLE_EN), true, 11);
            let text = r.report(Lang::En);
            eprintln!("{text}");
            assert!(r.with_aec.is_empty(), "{text}");
            assert!(r.jumpy.as_ref().is_some_and(|j| j.is_empty()), "{text}");
        }

        #[test]
        fn dutch_speech_does_not_trigger_the_english_recogniser() {
            let r = self_trigger(&SPHINX, Lang::Nl, Some(SAMPLE_NL), false, 12);
            let text = r.report(Lang::Nl);
            eprintln!("{text}");
            assert!(r.with_aec.is_empty(), "{text}");
        }

        #[test]
        #[ignore = "every phrase of the content (79 min of audio, ~14 min to run in release): run with --release -- --ignored; last run: no command with echo cancellation, in steady rooms and in rooms that change with every phrase, English and Dutch"]
        fn the_coach_does_not_trigger_itself_full_content() {
            let mut texts = Vec::new();
            let mut failed = false;
            for (lang, seed) in [(Lang::En, 21), (Lang::Nl, 22)] {
                let r = self_trigger(&SPHINX, lang, None, true, seed);
                failed |= !r.with_aec.is_empty() || r.jumpy.as_ref().is_some_and(|j| !j.is_empty());
                let text = r.report(lang);
                eprintln!("{text}");
                texts.push(text);
            }
            assert!(!failed, "{}", texts.join("\n"));
        }

        /// The canceller still learning the room: the daemon's first
        /// phrases ("ready", then a session's welcome), the user's "stop"
        /// over the welcome as loud as its echo.
        #[test]
        fn stop_is_heard_over_the_first_phrases() {
            let sets = after_ready(phrases(Lang::En), 12);
            let scores = barge_in(
                &SPHINX,
                &user_stop(),
                &sets,
                0.0,
                &[(true, None), (false, aec())],
                2,
            );
            let [alone, with_aec] = &scores[..] else {
                unreachable!()
            };
            let text = format!(
                "barge-in over the first phrases after start:\n  {}\n  {}\n  missed with AEC: {:#?}",
                alone.line("the user alone (no echo)"),
                with_aec.line("over the coach, with AEC"),
                with_aec.missed,
            );
            eprintln!("{text}");
            assert!(with_aec.trials >= 12, "{text}");
            assert!(with_aec.rate() >= 0.75, "{text}");
            assert!(with_aec.stray.is_empty(), "{text}");
        }

        #[test]
        fn stop_is_heard_over_the_coach() {
            let all = phrases(Lang::En);
            let sets = [long_phrases(all, 9, 5.0, 5), long_phrases(all, 9, 5.0, 6)];
            // The user alone (the recogniser's baseline) and over the coach
            // with echo cancellation on both sets; without it on the first.
            let scores = barge_in(
                &SPHINX,
                &user_stop(),
                &sets,
                0.0,
                &[(true, None), (false, aec()), (false, None)],
                2,
            );
            let [alone, with_aec, without_aec] = &scores[..] else {
                unreachable!()
            };
            let text = format!(
            "barge-in, \"stop\" (espeak-ng en-us+m3) over the coach at 0 dB user-to-echo:\n  {}\n  {}\n  {}\n  missed with AEC: {:#?}\n  other detections with AEC: {:#?}",
            alone.line("the user alone (no echo)"),
            with_aec.line("over the coach, with AEC"),
            without_aec.line("over the coach, without AEC"),
            with_aec.missed,
            with_aec.stray,
        );
            eprintln!("{text}");
            assert!(with_aec.trials >= 20, "{text}");
            // Measured 19 of 26 with the echo tail of 500 ms (20 of 26 with
            // 250 ms). The longer tail is kept because the harder room
            // measured from outside (tests/voice_bargein.rs) goes from 8 to
            // 11 of 12 with it; docs/voice.md, "Barge-in".
            assert!(with_aec.rate() >= 0.70, "{text}");
            assert!(
                with_aec.latencies.last().is_some_and(|l| *l <= 1000),
                "{text}"
            );
            assert!(with_aec.stray.is_empty(), "{text}");
        }
    }
}
