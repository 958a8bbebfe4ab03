//! How fast the coach's voice is made, and how well it keeps time when it
//! plays. A benchmark that *prints figures*; it asserts nothing.
//!
//! 1. Rendering: every phrase any session can say (`session::all_lines`),
//!    in English and Dutch, on a fresh cache: one phrase at a time (the
//!    per-phrase distribution), `Speech::render_all` on 1 job, and on
//!    `speech::default_jobs()`.
//! 2. Paced real-time playback through `RodioOutput` (cpal → ALSA → the
//!    PulseAudio `pulse` plugin → a null sink), recorded from the null sink's
//!    monitor with `parec`: counts one second apart for five minutes (count
//!    jitter and drift, output latency), and "stop" during a long
//!    instruction (stop latency). Needs a PulseAudio server with a sink
//!    `matcoach_null` as the default sink; `scripts/bench-speech` sets that
//!    up. Without it this part is skipped with a note.
//!
//! Figures are printed and written to `target/bench-speech.json`.
//!
//! Knobs (environment): `MATCOACH_BENCH_COUNTS` (counts in the paced run,
//! default 300), `MATCOACH_BENCH_NOW_COUNTS` (counts in the `when = now`
//! comparison run, default 30, 0 to skip), `MATCOACH_BENCH_STOP_TRIALS`
//! (default 10), `MATCOACH_BENCH_DEVICE` (default "default"),
//! `MATCOACH_BENCH_SKIP_RENDER=1`, `MATCOACH_BENCH_SKIP_PACED=1`.

use matcoach::audio::analysis;
use matcoach::audio::Clip;
use matcoach::content::{self, Content, Lang};
use matcoach::devices::{ClipSink, Reopen};
use matcoach::session::{self, Input, Line, PhraseId, PlaybackId, Priority, SessionConfig};
use matcoach::speaker::output::{RodioOutput, SCHEDULE_DELAY};
use matcoach::speech::espeak::{TRIM_MARGIN, TRIM_THRESHOLD};
use matcoach::speech::{self, Speech};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The null sink `scripts/bench-speech` creates.
const SINK: &str = "matcoach_null";
/// The recorder's rate (mono, 16-bit).
const REC_RATE: u32 = 16_000;
/// The latency asked of the recorder stream.
const REC_LATENCY_MS: u32 = 10;
/// Sound above this (of full scale) is "heard": the threshold the clips are
/// trimmed with, so a clip's sound starts where the trimming says it does.
const LOUD: f32 = TRIM_THRESHOLD;

type Res<T> = Result<T, String>;

/// The argument that makes this program the playback process.
const CHILD_ARG: &str = "--paced-child";
/// Where the playback process writes its figures.
const CHILD_OUT: &str = "MATCOACH_BENCH_CHILD_OUT";

fn main() {
    if std::env::args().any(|a| a == CHILD_ARG) {
        paced_child();
        return;
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let content = match content::load_dir(&manifest.join("content")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench speech: cannot load content/: {e}");
            return;
        }
    };
    let espeak_version = speech::Espeak::new(
        "espeak-ng".into(),
        "en-gb".into(),
        "nl".into(),
        matcoach::config::Speech::default().rate_wpm,
    )
    .version()
    .to_string();
    println!("matcoach speech benchmark");
    println!(
        "  voice: espeak-ng {espeak_version} (en-gb / nl, {} wpm); {} cores (default_jobs = {})",
        matcoach::config::Speech::default().rate_wpm,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        speech::default_jobs()
    );
    let load_before = loadavg();
    println!("  load average (1, 5, 15 min) at the start: {load_before}");
    let mut report = json!({
        "espeak_ng": espeak_version,
        "default_jobs": speech::default_jobs(),
        "loadavg_start": load_before,
    });

    if env_flag("MATCOACH_BENCH_SKIP_RENDER") {
        println!("\n1. Rendering: skipped (MATCOACH_BENCH_SKIP_RENDER)");
    } else {
        report["render"] = render_bench(&content);
    }

    if env_flag("MATCOACH_BENCH_SKIP_PACED") {
        println!("\n2. Paced playback: skipped (MATCOACH_BENCH_SKIP_PACED)");
    } else {
        report["paced"] = run_paced_child();
    }

    let load_after = loadavg();
    println!("\n  load average (1, 5, 15 min) at the end: {load_after}");
    report["loadavg_end"] = json!(load_after);

    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("target"));
    let out = target.join("bench-speech.json");
    let written = std::fs::create_dir_all(&target)
        .and_then(|()| std::fs::write(&out, format!("{report:#}\n")));
    match written {
        Ok(()) => println!("\nfigures written to {}", out.display()),
        Err(e) => eprintln!("bench speech: cannot write {}: {e}", out.display()),
    }
}

/// The first three fields of /proc/loadavg: other work on the machine
/// shows in every figure here.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------- statistics

/// Summary of a sample of numbers (milliseconds, mostly).
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    n: usize,
    mean: f64,
    std: f64,
    min: f64,
    p50: f64,
    p95: f64,
    max: f64,
}

impl Stats {
    fn of(values: &[f64]) -> Stats {
        if values.is_empty() {
            return Stats::default();
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        // Nearest rank.
        let pct = |p: f64| v[((p / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1];
        Stats {
            n,
            mean,
            std: var.sqrt(),
            min: v[0],
            p50: pct(50.0),
            p95: pct(95.0),
            max: v[n - 1],
        }
    }

    fn json(&self) -> Value {
        let r = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({
            "n": self.n, "mean": r(self.mean), "std": r(self.std), "min": r(self.min),
            "p50": r(self.p50), "p95": r(self.p95), "max": r(self.max),
        })
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ----------------------------------------------------------------- rendering

fn fresh_speech() -> Res<(tempfile::TempDir, Speech)> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary cache: {e}"))?;
    let cfg = matcoach::config::Speech {
        cache_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let speech = Speech::from_config(&cfg, dir.path()).map_err(|e| e.to_string())?;
    Ok((dir, speech))
}

/// The lines `render_all` would synthesise: one per phrase id, then one per
/// text.
fn unique_texts(lines: &[Line]) -> Vec<Line> {
    let mut ids = HashSet::new();
    let mut texts = HashSet::new();
    lines
        .iter()
        .filter(|l| ids.insert(l.id.0.clone()) && texts.insert(l.text.clone()))
        .cloned()
        .collect()
}

fn render_bench(content: &Content) -> Value {
    println!("\n1. Rendering every phrase a session can say");
    println!(
        "   (session::all_lines with SessionConfig::default(); a fresh, empty cache for each run)"
    );
    let jobs = speech::default_jobs();
    let mut rows = Vec::new();
    let mut out = serde_json::Map::new();
    for lang in Lang::ALL {
        match render_lang(content, lang, jobs) {
            Ok((row, v)) => {
                rows.push(row);
                out.insert(lang.code().into(), v);
            }
            Err(e) => {
                println!("   {lang}: failed: {e}");
                out.insert(lang.code().into(), json!({ "error": e }));
            }
        }
    }
    println!();
    println!(
        "   lang  lines  texts  speech   | one at a time (Speech::clip), ms per phrase    | render_all wall time"
    );
    println!(
        "                       audio    |   mean    p50    p95    max    total          |   1 job   {jobs} jobs"
    );
    for r in &rows {
        println!("   {r}");
    }
    println!(
        "   (\"texts\": distinct texts, what is synthesised; \"speech audio\": their total length."
    );
    println!(
        "    Times include running espeak-ng, decoding, trimming and writing the cache file.)"
    );
    Value::Object(out)
}

fn render_lang(content: &Content, lang: Lang, jobs: usize) -> Res<(String, Value)> {
    let lines = session::all_lines(content, lang, &SessionConfig::default());
    let todo = unique_texts(&lines);

    // One phrase at a time, each timed.
    let (_dir, speech) = fresh_speech()?;
    let mut times = Vec::with_capacity(todo.len());
    let mut audio = Duration::ZERO;
    let start = Instant::now();
    for line in &todo {
        let t = Instant::now();
        let clip = speech.clip(line, lang).map_err(|e| e.to_string())?;
        times.push(ms(t.elapsed()));
        audio += clip.duration();
    }
    let sequential = start.elapsed();
    let per = Stats::of(&times);

    let (_dir1, s1) = fresh_speech()?;
    let one = s1.render_all(&lines, lang, 1).map_err(|e| e.to_string())?;
    let (_dirn, sn) = fresh_speech()?;
    let many = sn
        .render_all(&lines, lang, jobs)
        .map_err(|e| e.to_string())?;

    let row = format!(
        "{:<4}  {:>5}  {:>5}  {:>6.1} s | {:>6.1} {:>6.1} {:>6.1} {:>6.1} {:>7.1} s      | {:>5.1} s {:>5.1} s",
        lang.code(),
        lines.len(),
        todo.len(),
        audio.as_secs_f64(),
        per.mean,
        per.p50,
        per.p95,
        per.max,
        sequential.as_secs_f64(),
        one.elapsed.as_secs_f64(),
        many.elapsed.as_secs_f64(),
    );
    let v = json!({
        "lines": lines.len(),
        "distinct_texts": todo.len(),
        "speech_audio_s": audio.as_secs_f64(),
        "per_phrase_ms": per.json(),
        "sequential_total_s": sequential.as_secs_f64(),
        "render_all_1_job": {
            "wall_s": one.elapsed.as_secs_f64(),
            "render_time_s": one.render_time.as_secs_f64(),
            "rendered": one.rendered,
        },
        "render_all_default_jobs": {
            "jobs": jobs,
            "wall_s": many.elapsed.as_secs_f64(),
            "render_time_s": many.render_time.as_secs_f64(),
            "rendered": many.rendered,
        },
    });
    Ok((row, v))
}

// ------------------------------------------------------------------ commands

/// Run a program with a time limit; its stdout if it succeeded.
fn run_with_timeout(program: &str, args: &[&str], limit: Duration) -> Res<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{program} {}` did not answer", args.join(" ")));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', "; ")
        ))
    }
}

/// Check that the PulseAudio null sink is there and is the default sink.
fn probe_pulse() -> Res<()> {
    let fix = "run scripts/bench-speech, which starts PulseAudio with a null sink \"matcoach_null\" and points ALSA at it";
    let limit = Duration::from_secs(5);
    let info = run_with_timeout("pactl", &["info"], limit)
        .map_err(|e| format!("PulseAudio is not reachable ({e}).\n  fix: {fix}"))?;
    let sinks = run_with_timeout("pactl", &["list", "short", "sinks"], limit)
        .map_err(|e| format!("cannot list PulseAudio sinks ({e}).\n  fix: {fix}"))?;
    if !sinks
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(SINK))
    {
        return Err(format!(
            "PulseAudio has no sink \"{SINK}\" (playing 5 minutes of counts to a real speaker is not what this is for).\n  fix: {fix}"
        ));
    }
    let default = info
        .lines()
        .find_map(|l| l.strip_prefix("Default Sink:"))
        .map(str::trim)
        .unwrap_or("");
    if default != SINK {
        return Err(format!(
            "the default PulseAudio sink is \"{default}\", not \"{SINK}\".\n  fix: pactl set-default-sink {SINK}, or {fix}"
        ));
    }
    run_with_timeout("parec", &["--version"], limit).map_err(|e| {
        format!("the recorder parec is missing ({e}).\n  fix: apt install pulseaudio-utils")
    })?;
    Ok(())
}

// ------------------------------------------------------------------ recorder

#[derive(Default)]
struct RecData {
    samples: Vec<i16>,
    /// (seconds since the epoch when a read returned, samples read so far).
    arrivals: Vec<(f64, usize)>,
}

/// `parec` recording the null sink's monitor; a thread reads its output and
/// notes when each piece arrives on the same clock as everything else.
struct Recorder {
    child: Child,
    data: Arc<Mutex<RecData>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    fn start(epoch: Instant) -> Res<Recorder> {
        let mut child = Command::new("parec")
            .args([
                "-d",
                &format!("{SINK}.monitor"),
                &format!("--rate={REC_RATE}"),
                "--channels=1",
                "--format=s16le",
                "--raw",
                &format!("--latency-msec={REC_LATENCY_MS}"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start parec: {e}"))?;
        let mut stdout = child.stdout.take().ok_or("parec has no stdout")?;
        let data = Arc::new(Mutex::new(RecData::default()));
        let shared = data.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            let mut odd: Option<u8> = None;
            loop {
                let n = match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let now = epoch.elapsed().as_secs_f64();
                let mut bytes: Vec<u8> = odd.take().into_iter().collect();
                bytes.extend_from_slice(&buf[..n]);
                if bytes.len() % 2 == 1 {
                    odd = bytes.pop();
                }
                let Ok(mut d) = shared.lock() else { return };
                d.samples.extend(
                    bytes
                        .chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]])),
                );
                let total = d.samples.len();
                d.arrivals.push((now, total));
            }
        });
        Ok(Recorder {
            child,
            data,
            reader: Some(reader),
        })
    }

    fn heard_anything(&self) -> bool {
        let limit = (LOUD * 32768.0) as i32;
        self.data
            .lock()
            .is_ok_and(|d| d.samples.iter().any(|s| i32::from(*s).abs() > limit))
    }

    fn samples_so_far(&self) -> usize {
        self.data.lock().map_or(0, |d| d.samples.len())
    }

    fn finish(mut self) -> Recording {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let d = std::mem::take(&mut *self.data.lock().unwrap_or_else(|e| e.into_inner()));
        Recording::new(d)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The recording, with the mapping from its samples to the bench's clock.
///
/// Sample `n` cannot arrive before it was captured, so for every read,
/// `arrival − n/rate` (the read's offset) is at or after the time the
/// recording really started. The mapping is the lower envelope of these
/// offsets: a line through the smallest offset of the first and of the last
/// 30 seconds (so it follows the recorder's clock rate), lowered until no
/// read lies below it; for recordings under two minutes, the smallest
/// offset of all. It is late by the smallest delivery delay δ (≥ 0,
/// unknown: at least the monitor's own latency), so heard times read late by
/// δ. Intervals and "heard" drift use sample positions only and do not
/// depend on it.
struct Recording {
    samples: Vec<f32>,
    /// Seconds since the epoch of sample 0.
    start: f64,
    /// Seconds of the bench's clock per recorded sample.
    period: f64,
    /// Median of the reads' offsets above the line: how late pieces
    /// usually come.
    delivery_p50_ms: f64,
    /// The recorder's sample clock against the bench clock, in ppm
    /// (positive: it records more samples per second than nominal, i.e. it
    /// runs fast).
    clock_ppm: Option<f64>,
}

impl Recording {
    fn new(d: RecData) -> Recording {
        let rate = f64::from(REC_RATE);
        // (arrival, samples so far, offset)
        let offs: Vec<(f64, f64, f64)> = d
            .arrivals
            .iter()
            .map(|&(t, n)| (t, n as f64, t - n as f64 / rate))
            .collect();
        let lowest = |lo: f64, hi: f64| {
            offs.iter()
                .filter(|o| o.0 >= lo && o.0 < hi)
                .min_by(|a, b| a.2.total_cmp(&b.2))
                .copied()
        };
        // The line's slope in seconds of offset per sample.
        let slope = match (offs.first(), offs.last()) {
            (Some(a), Some(b)) if b.0 - a.0 > 120.0 => {
                match (lowest(a.0, a.0 + 30.0), lowest(b.0 - 30.0, b.0 + 1.0)) {
                    (Some(e), Some(l)) if l.1 > e.1 => (l.2 - e.2) / (l.1 - e.1),
                    _ => 0.0,
                }
            }
            _ => 0.0,
        };
        let start = offs
            .iter()
            .map(|o| o.2 - slope * o.1)
            .fold(f64::INFINITY, f64::min);
        let start = if start.is_finite() { start } else { 0.0 };
        let above: Vec<f64> = offs
            .iter()
            .map(|o| (o.2 - slope * o.1 - start) * 1000.0)
            .collect();
        let long = offs
            .first()
            .zip(offs.last())
            .is_some_and(|(a, b)| b.0 - a.0 > 120.0);
        Recording {
            samples: analysis::to_f32(&d.samples),
            start,
            period: 1.0 / rate + slope,
            delivery_p50_ms: Stats::of(&above).p50,
            clock_ppm: long.then(|| -slope * rate * 1e6),
        }
    }

    /// Seconds since the epoch of sample `i`.
    fn time_of(&self, i: usize) -> f64 {
        self.start + i as f64 * self.period
    }

    /// The sample heard at `t` seconds since the epoch.
    fn index_at(&self, t: f64) -> usize {
        (((t - self.start) / self.period).max(0.0) as usize).min(self.samples.len())
    }
}

// ------------------------------------------------------------- paced playback

fn count_line(n: u64) -> Line {
    Line {
        id: PhraseId(format!("sys.count.{n}")),
        text: n.to_string(),
    }
}

/// Sleep until `deadline` (one sleep from the fixed schedule, never a chain
/// of sleeps); how late we woke.
fn sleep_until(deadline: Instant) -> Duration {
    let now = Instant::now();
    if deadline > now {
        std::thread::sleep(deadline - now);
    }
    Instant::now().saturating_duration_since(deadline)
}

/// A run of counts: the deadline of each (seconds since the epoch) and the
/// word said.
struct CountRun {
    deadlines: Vec<f64>,
    words: Vec<u64>,
    wake_late_ms: Vec<f64>,
}

impl CountRun {
    /// The run after its first `k` counts.
    fn after_count(&self, k: usize) -> CountRun {
        let i = k.min(self.deadlines.len());
        CountRun {
            deadlines: self.deadlines[i..].to_vec(),
            words: self.words[i..].to_vec(),
            wake_late_ms: self.wake_late_ms[i..].to_vec(),
        }
    }
}

/// Counts left out of the "settled" figures: the output's clock mapping
/// is still converging after the stream opens.
const SETTLE_COUNTS: usize = 30;
/// The standby the paced output is opened with: shorter than the daemon's
/// default, so that the trials are quick; closing and opening are the same.
const STANDBY: Duration = Duration::from_millis(500);

fn play_counts(
    handle: &impl ClipSink,
    clips: &[Clip],
    epoch: Instant,
    n: u64,
    when_from_deadline: bool,
    next_id: &mut u64,
) -> CountRun {
    let t0 = Instant::now();
    let mut run = CountRun {
        deadlines: Vec::new(),
        words: Vec::new(),
        wake_late_ms: Vec::new(),
    };
    for k in 1..=n {
        let deadline = t0 + Duration::from_secs(k);
        let late = sleep_until(deadline);
        let when = if when_from_deadline {
            deadline
        } else {
            Instant::now()
        };
        let word = (k - 1) % clips.len() as u64;
        *next_id += 1;
        handle.play(
            PlaybackId(*next_id),
            clips[word as usize].clone(),
            Priority::Count,
            when,
        );
        run.deadlines
            .push(deadline.duration_since(epoch).as_secs_f64());
        run.words.push(word + 1);
        run.wake_late_ms.push(ms(late));
    }
    run
}

struct CountFigures {
    counts: usize,
    heard: usize,
    /// Interval − 1000 ms between consecutive heard counts.
    interval_dev: Stats,
    interval_abs_dev: Stats,
    /// The same after removing each word's mean onset offset (how fast the
    /// word's sound crosses the threshold).
    word_corrected_dev: Option<Stats>,
    drift_ms: Option<f64>,
    /// The same on the bench's clock (through the recorder mapping).
    drift_bench_clock_ms: Option<f64>,
    /// Heard onset − deadline (`when`), ms.
    latency: Stats,
    /// The same for each count (`None`: not heard).
    latency_by_count: Vec<Option<f64>>,
    wake_late: Stats,
    wake_late_by_count: Vec<f64>,
}

impl CountFigures {
    fn json(&self) -> Value {
        json!({
            "counts": self.counts,
            "heard": self.heard,
            "interval_minus_1000_ms": self.interval_dev.json(),
            "abs_interval_deviation_ms": self.interval_abs_dev.json(),
            "word_corrected_interval_deviation_ms": self.word_corrected_dev.as_ref().map(Stats::json),
            "cumulative_drift_heard_ms": self.drift_ms,
            "cumulative_drift_bench_clock_ms": self.drift_bench_clock_ms,
            "latency_deadline_to_heard_ms": self.latency.json(),
            "latency_by_count_ms": self
                .latency_by_count
                .iter()
                .map(|l| l.map(|x| (x * 10.0).round() / 10.0))
                .collect::<Vec<_>>(),
            "sleep_wake_late_ms": self.wake_late.json(),
            "sleep_wake_late_by_count_ms": self
                .wake_late_by_count
                .iter()
                .map(|x| (x * 1000.0).round() / 1000.0)
                .collect::<Vec<_>>(),
        })
    }
}

fn analyse_counts(rec: &Recording, run: &CountRun) -> CountFigures {
    let rate = f64::from(REC_RATE);
    let onsets = analysis::onsets(&rec.samples, LOUD, (REC_RATE / 4) as usize);
    // A count cannot be heard before its deadline + SCHEDULE_DELAY + the
    // clip's lead-in (80 ms), and heard times never read early; so count k
    // is the first onset in [deadline + 60 ms, deadline + 1060 ms). That is
    // right while the output latency stays under 1.06 s (the previous count
    // is then heard before the window opens).
    let found: Vec<Option<usize>> = run
        .deadlines
        .iter()
        .map(|&d| {
            let (lo, hi) = (rec.index_at(d + 0.06), rec.index_at(d + 1.06));
            onsets.iter().copied().find(|&o| o >= lo && o < hi)
        })
        .collect();
    let latency: Vec<(u64, f64)> = found
        .iter()
        .zip(&run.deadlines)
        .zip(&run.words)
        .filter_map(|((o, d), w)| o.map(|o| (*w, (rec.time_of(o) - d) * 1000.0)))
        .collect();
    let mut dev = Vec::new();
    for k in 1..found.len() {
        if let (Some(a), Some(b)) = (found[k - 1], found[k]) {
            dev.push((b - a) as f64 / rate * 1000.0 - 1000.0);
        }
    }
    // Word-corrected: each word's mean latency taken out.
    let mut word_mean = std::collections::HashMap::new();
    let mut word_heard = std::collections::HashMap::new();
    for w in run.words.iter().collect::<HashSet<_>>() {
        let v: Vec<f64> = latency.iter().filter(|l| l.0 == *w).map(|l| l.1).collect();
        word_mean.insert(*w, Stats::of(&v).mean);
        word_heard.insert(*w, v.len());
    }
    let mut corrected = Vec::new();
    for k in 1..found.len() {
        if let (Some(a), Some(b)) = (found[k - 1], found[k]) {
            let bias = word_mean[&run.words[k]] - word_mean[&run.words[k - 1]];
            corrected.push((b - a) as f64 / rate * 1000.0 - 1000.0 - bias);
        }
    }
    let first = found.iter().position(Option::is_some);
    let last = found.iter().rposition(Option::is_some);
    let (drift_ms, drift_bench_clock_ms) = match (first, last) {
        (Some(i), Some(j)) if j > i => {
            let (a, b) = (found[i].unwrap_or(0), found[j].unwrap_or(0));
            let span = (j - i) as f64 * 1000.0;
            (
                Some((b - a) as f64 / rate * 1000.0 - span),
                Some((rec.time_of(b) - rec.time_of(a)) * 1000.0 - span),
            )
        }
        _ => (None, None),
    };
    let abs: Vec<f64> = dev.iter().map(|d| d.abs()).collect();
    CountFigures {
        counts: run.deadlines.len(),
        heard: found.iter().flatten().count(),
        interval_dev: Stats::of(&dev),
        interval_abs_dev: Stats::of(&abs),
        // Only with each word heard at least three times.
        word_corrected_dev: (word_heard.values().all(|n| *n >= 3) && !corrected.is_empty())
            .then(|| Stats::of(&corrected)),
        drift_ms,
        drift_bench_clock_ms,
        latency: Stats::of(&latency.iter().map(|l| l.1).collect::<Vec<_>>()),
        latency_by_count: found
            .iter()
            .zip(&run.deadlines)
            .map(|(o, d)| o.map(|o| (rec.time_of(o) - d) * 1000.0))
            .collect(),
        wake_late: Stats::of(&run.wake_late_ms),
        wake_late_by_count: run.wake_late_ms.clone(),
    }
}

/// One "stop" trial: when the instruction was asked for and when stop was.
struct StopTrial {
    play: f64,
    stop: f64,
}

struct StopFigures {
    trials: usize,
    /// Stop command → the last sound heard.
    to_last_sound: Stats,
    /// Stop command → the latest the cut can have been heard (the clip's
    /// next sound after the last one heard).
    to_cut_upper: Stats,
    /// Instruction asked for (`when`) → its sound heard.
    onset_latency: Stats,
}

fn analyse_stops(rec: &Recording, clip: &Clip, trials: &[StopTrial]) -> StopFigures {
    let limit = (LOUD * 32768.0) as i32;
    let loud: Vec<f64> = clip
        .samples
        .iter()
        .enumerate()
        .filter(|(_, s)| i32::from(**s).abs() > limit)
        .map(|(i, _)| i as f64 / f64::from(clip.rate))
        .collect();
    let first_loud = loud.first().copied().unwrap_or(0.0);
    let (mut last, mut upper, mut onset) = (Vec::new(), Vec::new(), Vec::new());
    for t in trials {
        let lo = rec.index_at(t.play);
        let hi = rec.index_at(t.stop + 1.8);
        let window = &rec.samples[lo..hi];
        let segs = analysis::segments(window, LOUD, 1);
        let (Some(first), Some(end)) = (segs.first(), segs.last()) else {
            continue;
        };
        let heard_onset = rec.time_of(lo + first.start);
        let last_sound = rec.time_of(lo + end.end);
        onset.push((heard_onset - t.play) * 1000.0);
        last.push((last_sound - t.stop) * 1000.0);
        // Where in the clip the last sound was (aligned on the onset), and
        // the clip's next sound after it: the cut lies between the two.
        let pos = last_sound - heard_onset + first_loud;
        if let Some(next) = loud.iter().find(|&&x| x > pos + 0.002) {
            upper.push((heard_onset + (next - first_loud) - t.stop) * 1000.0);
        }
    }
    StopFigures {
        trials: trials.len(),
        to_last_sound: Stats::of(&last),
        to_cut_upper: Stats::of(&upper),
        onset_latency: Stats::of(&onset),
    }
}

/// The playback process: the paced part, its figures to `CHILD_OUT`.
fn paced_child() {
    let epoch = Instant::now();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let result = content::load_dir(&manifest.join("content"))
        .map_err(|e| format!("cannot load content/: {e}"))
        .and_then(|content| paced_bench(epoch, &content));
    let v = result.unwrap_or_else(|note| {
        println!("\n2. Paced playback: SKIPPED\n  {note}");
        json!({ "skipped": note })
    });
    if let Some(path) = std::env::var_os(CHILD_OUT) {
        if let Err(e) = std::fs::write(&path, v.to_string()) {
            eprintln!(
                "bench speech: cannot write {}: {e}",
                Path::new(&path).display()
            );
        }
    }
}

/// Run the paced part in a process of its own, so that a stuck audio stack
/// is killed after a time limit (`cargo bench` never hangs), and so that the
/// output's error callback (which prints each error to stderr) can be
/// summarised instead of flooding the figures.
fn run_paced_child() -> Value {
    let skipped = |note: String| {
        println!("\n2. Paced playback: SKIPPED\n  {note}");
        json!({ "skipped": note })
    };
    let out = match tempfile::NamedTempFile::new() {
        Ok(f) => f,
        Err(e) => return skipped(format!("cannot make a temporary file: {e}")),
    };
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return skipped(format!("cannot find this program: {e}")),
    };
    let spawned = Command::new(exe)
        .arg(CHILD_ARG)
        .env(CHILD_OUT, out.path())
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return skipped(format!("cannot start the playback process: {e}")),
    };
    let started = Instant::now();
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut errors: Vec<(f64, String)> = Vec::new();
        let Some(stderr) = stderr else { return errors };
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(msg) = line.strip_prefix("matcoach: audio output error: ") {
                errors.push((started.elapsed().as_secs_f64(), msg.to_string()));
            } else {
                eprintln!("{line}");
            }
        }
        errors
    });
    let n = env_num("MATCOACH_BENCH_COUNTS", 300)
        + env_num("MATCOACH_BENCH_NOW_COUNTS", 30)
        + 4 * env_num("MATCOACH_BENCH_STOP_TRIALS", 10);
    let limit = Duration::from_secs(n + 120);
    let mut timed_out = false;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                timed_out = true;
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => return skipped(format!("lost the playback process: {e}")),
        }
    }
    let errors = reader.join().unwrap_or_default();
    let mut v = std::fs::read_to_string(out.path())
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .unwrap_or_else(|| {
            let note = if timed_out {
                format!(
                    "the playback process was stopped after {} s",
                    limit.as_secs()
                )
            } else {
                "the playback process ended without figures (see above)".to_string()
            };
            skipped(note)
        });
    // The errors, grouped by message, with when they came (seconds since
    // the playback process started, as the phase times above).
    let mut groups: Vec<(String, usize, f64, f64)> = Vec::new();
    for (t, msg) in &errors {
        match groups.iter_mut().find(|g| &g.0 == msg) {
            Some(g) => {
                g.1 += 1;
                g.3 = *t;
            }
            None => groups.push((msg.clone(), 1, *t, *t)),
        }
    }
    if !groups.is_empty() {
        println!("\n   The output reported errors (its error callback; seconds since the playback process started):");
        for (msg, count, first, last) in &groups {
            println!("   {count:>5} x {msg}   ({first:.1}-{last:.1} s)");
        }
    } else if v.get("skipped").is_none() {
        println!("\n   The output reported no errors.");
    }
    if let Value::Object(map) = &mut v {
        map.insert(
            "audio_output_errors".into(),
            groups
                .iter()
                .map(|(msg, count, first, last)| {
                    json!({ "message": msg, "count": count, "first_s": first, "last_s": last })
                })
                .collect(),
        );
    }
    v
}

fn paced_bench(epoch: Instant, content: &Content) -> Res<Value> {
    probe_pulse()?;
    let device = std::env::var("MATCOACH_BENCH_DEVICE").unwrap_or_else(|_| "default".into());
    let n_counts = env_num("MATCOACH_BENCH_COUNTS", 300);
    let n_now = env_num("MATCOACH_BENCH_NOW_COUNTS", 30);
    let n_stops = env_num("MATCOACH_BENCH_STOP_TRIALS", 10);
    let n_standby = env_num("MATCOACH_BENCH_STANDBY_TRIALS", 10);

    // The clips: counts one to ten, and a long instruction.
    let (_dir, speech) = fresh_speech()?;
    let counts: Vec<Clip> = (1..=10)
        .map(|n| speech.clip(&count_line(n), Lang::En))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut candidates: Vec<Line> =
        session::all_lines(content, Lang::En, &SessionConfig::default())
            .into_iter()
            .filter(|l| l.id.0.starts_with("ex.") && (150..400).contains(&l.text.len()))
            .collect();
    candidates.sort_by_key(|l| std::cmp::Reverse(l.text.len()));
    let mut long = None;
    for line in candidates.iter().take(20) {
        let clip = speech.clip(line, Lang::En).map_err(|e| e.to_string())?;
        if clip.duration() >= Duration::from_secs(4) {
            long = Some((line.clone(), clip));
            break;
        }
    }
    let (long_line, long_clip) = long.ok_or("no instruction of 4 s or more found")?;

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Input>(4096);
    // A standby of STANDBY as the daemon has (forbidden until the last
    // run, as while a session runs), kept by the daemon's keep_open.
    let (output, handle) = RodioOutput::open(&device, 1.0, tx.clone(), None, STANDBY).map_err(|e| {
        format!("cannot open the output \"{device}\": {e}\n  (scripts/bench-speech points ALSA's default device at PulseAudio)")
    })?;
    let standby = output.standby().ok_or("the output has no standby")?;
    let (out_device, out_rate) = (output.device.clone(), output.rate);
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let keeper = runtime.spawn(matcoach::session_loop::keep_open(
        output,
        tx,
        matcoach::session_loop::DEVICE_RETRY,
        |m: &str| eprintln!("   the output: {m}"),
    ));
    let recorder = Recorder::start(epoch)?;
    // Let both streams settle, then check that what is played is heard.
    // (parec takes a good half second to deliver its first samples.)
    let waiting = Instant::now();
    while recorder.samples_so_far() == 0 && waiting.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    if recorder.samples_so_far() == 0 {
        return Err(format!("parec recorded nothing from {SINK}.monitor in 5 s"));
    }
    std::thread::sleep(Duration::from_millis(500));
    let mut next_id = 0u64;
    next_id += 1;
    handle.play(
        PlaybackId(next_id),
        counts[0].clone(),
        Priority::Count,
        Instant::now(),
    );
    // The output latency through PulseAudio varies from run to run (from
    // about 0.1 to 0.7 s here); allow for much more.
    let waiting = Instant::now();
    while !recorder.heard_anything() && waiting.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if !recorder.heard_anything() {
        return Err(format!(
            "a test count played on \"{out_device}\" was not heard on {SINK}.monitor: ALSA's default device does not lead to PulseAudio's {SINK}\n  fix: run scripts/bench-speech (it writes an .asoundrc with pcm.!default {{ type pulse }})",
        ));
    }

    println!("\n2. Paced real-time playback");
    println!(
        "   output: RodioOutput::open(\"{device}\") = ALSA device \"{out_device}\" at {out_rate} Hz -> PulseAudio null sink {SINK};",
    );
    println!(
        "   recorded from {SINK}.monitor with parec ({REC_RATE} Hz mono, latency {REC_LATENCY_MS} ms)."
    );
    let eta = n_counts + n_now + n_stops * 4 + n_standby * 2 + 8;
    println!("   playing for about {} min {} s ...", eta / 60, eta % 60);

    let mut runs = Vec::new();
    runs.push(play_counts(
        &handle,
        &counts,
        epoch,
        n_counts,
        true,
        &mut next_id,
    ));
    std::thread::sleep(Duration::from_millis(2500));
    if n_now > 0 {
        runs.push(play_counts(
            &handle,
            &counts,
            epoch,
            n_now,
            false,
            &mut next_id,
        ));
        std::thread::sleep(Duration::from_millis(2500));
    }
    let mut trials = Vec::new();
    for i in 0..n_stops {
        let play = Instant::now();
        next_id += 1;
        handle.play(
            PlaybackId(next_id),
            long_clip.clone(),
            Priority::Instruction,
            play,
        );
        sleep_until(play + Duration::from_millis(1500 + 113 * i));
        let stop = Instant::now();
        handle.stop();
        trials.push(StopTrial {
            play: play.duration_since(epoch).as_secs_f64(),
            stop: stop.duration_since(epoch).as_secs_f64(),
        });
        std::thread::sleep(Duration::from_millis(2000));
    }
    // From standby: each count played (when = now) once the stream has
    // been closed for having nothing to play.
    standby.allow(true, Instant::now());
    let mut from_standby = CountRun {
        deadlines: Vec::new(),
        words: Vec::new(),
        wake_late_ms: Vec::new(),
    };
    for k in 0..n_standby {
        let waiting = Instant::now();
        while !standby.asleep() {
            if waiting.elapsed() > STANDBY + Duration::from_secs(5) {
                return Err("the output never went into standby".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // Not at the moment it closed: a little later, as a press would.
        std::thread::sleep(Duration::from_millis(300 + 37 * k));
        let word = k % counts.len() as u64;
        let when = Instant::now();
        next_id += 1;
        handle.play(
            PlaybackId(next_id),
            counts[word as usize].clone(),
            Priority::Count,
            when,
        );
        from_standby
            .deadlines
            .push(when.duration_since(epoch).as_secs_f64());
        from_standby.words.push(word + 1);
        from_standby.wake_late_ms.push(0.0);
        std::thread::sleep(Duration::from_millis(1100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let rec = recorder.finish();
    keeper.abort();
    drop(runtime);
    let mut finished = 0;
    while let Ok(Input::PlaybackFinished(_)) = rx.try_recv() {
        finished += 1;
    }

    // All counts scheduled from the deadline; the same from count 31 on;
    // the counts with when = now.
    let count_figs: Vec<Option<CountFigures>> = vec![
        Some(analyse_counts(&rec, &runs[0])),
        (runs[0].deadlines.len() > SETTLE_COUNTS + 1)
            .then(|| analyse_counts(&rec, &runs[0].after_count(SETTLE_COUNTS))),
        runs.get(1).map(|r| analyse_counts(&rec, r)),
    ];
    let stops = analyse_stops(&rec, &long_clip, &trials);
    let woken = (n_standby > 0).then(|| analyse_counts(&rec, &from_standby));
    let lead_ms = ms(SCHEDULE_DELAY) + ms(TRIM_MARGIN);
    let span = |v: &[f64]| match (v.first(), v.last()) {
        (Some(a), Some(b)) => format!("{a:.1}-{b:.1} s"),
        _ => "-".into(),
    };
    let phases = json!({
        "counts_when_deadline": span(&runs[0].deadlines),
        "counts_when_now": runs.get(1).map_or("-".into(), |r| span(&r.deadlines)),
        "stop_trials": span(&trials.iter().map(|t| t.play).collect::<Vec<_>>()),
    });
    println!(
        "\n   phases (seconds since the playback process started): counts, when = deadline {}; when = now {}; stop trials {}",
        phases["counts_when_deadline"].as_str().unwrap_or("-"),
        phases["counts_when_now"].as_str().unwrap_or("-"),
        phases["stop_trials"].as_str().unwrap_or("-"),
    );

    println!();
    println!("   Counts at t0 + k s (k = 1..N, words one..ten), ClipSink::play(.., Priority::Count, when):");
    println!(
        "                                       when = deadline   deadline, k > {SETTLE_COUNTS:<3}  when = now, after"
    );
    println!(
        "                                             all counts   (settled)          the sleep (later)"
    );
    let col = |f: &dyn Fn(&CountFigures) -> String| {
        count_figs
            .iter()
            .map(|c| format!("{:>18}", c.as_ref().map_or("-".into(), f)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "   counts played / heard               {}",
        col(&|c| format!("{} / {}", c.counts, c.heard))
    );
    println!(
        "   interval - 1000 ms: mean ± std      {}",
        col(&|c| format!("{:+.2} ± {:.2} ms", c.interval_dev.mean, c.interval_dev.std))
    );
    println!(
        "   |interval - 1000 ms|: p50 / p95     {}",
        col(&|c| format!(
            "{:.2} / {:.2} ms",
            c.interval_abs_dev.p50, c.interval_abs_dev.p95
        ))
    );
    println!(
        "   |interval - 1000 ms|: max           {}",
        col(&|c| format!("{:.2} ms", c.interval_abs_dev.max))
    );
    println!(
        "   same, word onset bias removed: std  {}",
        col(&|c| c
            .word_corrected_dev
            .map_or("-".into(), |w| format!("{:.2} ms", w.std)))
    );
    println!(
        "   drift, heard: last-first-(N-1) s    {}",
        col(&|c| c.drift_ms.map_or("-".into(), |d| format!("{d:+.2} ms")))
    );
    println!(
        "   drift, on the bench's clock         {}",
        col(&|c| c
            .drift_bench_clock_ms
            .map_or("-".into(), |d| format!("{d:+.2} ms")))
    );
    println!(
        "   deadline -> heard onset: mean ± std {}",
        col(&|c| format!("{:.1} ± {:.2} ms", c.latency.mean, c.latency.std))
    );
    println!(
        "   deadline -> heard onset: min / max  {}",
        col(&|c| format!("{:.1} / {:.1} ms", c.latency.min, c.latency.max))
    );
    println!(
        "   sleep woke late: p50 / max          {}",
        col(&|c| format!("{:.3} / {:.3} ms", c.wake_late.p50, c.wake_late.max))
    );
    if let Some(c) = count_figs[1].as_ref().or(count_figs[0].as_ref()) {
        println!(
            "   of the deadline -> heard latency, {lead_ms:.0} ms is by design (SCHEDULE_DELAY {:.0} ms + the clip's {:.0} ms",
            ms(SCHEDULE_DELAY),
            ms(TRIM_MARGIN)
        );
        println!(
            "   lead-in silence); the rest, {:.1} ms on average once settled, is device buffering (cpal/ALSA/pulse).",
            c.latency.mean - lead_ms
        );
    }

    println!();
    println!(
        "   Stop: {} trials of a {:.1} s instruction ({}), ClipSink::stop() 1.5-{:.1} s after play:",
        stops.trials,
        long_clip.duration().as_secs_f64(),
        long_line.id,
        1.5 + 0.113 * n_stops.saturating_sub(1) as f64
    );
    println!(
        "   stop command -> last sound heard      p50 {:>6.1} ms   max {:>6.1} ms   (n = {})",
        stops.to_last_sound.p50, stops.to_last_sound.max, stops.to_last_sound.n
    );
    println!(
        "   stop command -> cut (upper bound)     p50 {:>6.1} ms   max {:>6.1} ms",
        stops.to_cut_upper.p50, stops.to_cut_upper.max
    );
    println!(
        "   play (when) -> heard onset            p50 {:>6.1} ms   max {:>6.1} ms   (output latency incl. {lead_ms:.0} ms by design)",
        stops.onset_latency.p50, stops.onset_latency.max
    );
    println!(
        "   device buffering alone (onset latency - {lead_ms:.0} ms): p50 {:.1} ms",
        stops.onset_latency.p50 - lead_ms
    );

    if let Some(w) = &woken {
        println!();
        println!(
            "   From standby: {} counts, each played (when = now) {:.0} ms or more after the stream closed for",
            w.counts,
            ms(STANDBY) + 300.0
        );
        println!(
            "   having had nothing to play for {:.0} ms (daemon: audio.standby_secs); heard {}:",
            ms(STANDBY),
            w.heard
        );
        println!(
            "   play (when) -> heard onset: mean ± std {:.1} ± {:.2} ms, min / max {:.1} / {:.1} ms",
            w.latency.mean, w.latency.std, w.latency.min, w.latency.max
        );
        if let Some(now) = count_figs[2].as_ref() {
            println!(
                "   the same counts on the open stream (when = now, above): {:.1} ms; waking adds {:.1} ms",
                now.latency.mean,
                w.latency.mean - now.latency.mean
            );
        }
    }

    println!();
    println!("   How these are measured:");
    for line in [
        format!("   - onsets: audio::analysis::onsets on the recording, threshold {LOUD} of full scale (the"),
        "     clips' trim threshold), gaps under 250 ms bridged. Count k is the first onset in".into(),
        "     [deadline + 60 ms, deadline + 1060 ms): nothing can sound before deadline + 80 ms, and".into(),
        "     while the latency stays under 1.06 s the count before is heard before that window.".into(),
        "   - intervals and \"drift, heard\" use recorder sample positions only, so they carry no".into(),
        "     offset error; resolution 1/16000 s. The word-corrected line takes out each word's mean".into(),
        "     onset offset (\"six\" starts with a quiet /s/), leaving the timing jitter alone.".into(),
        format!("   - \"settled\" leaves out the first {SETTLE_COUNTS} counts: the output's clock mapping converges"),
        "     after the stream opens (latency_by_count_ms in the JSON shows it).".into(),
    ] {
        println!("{line}");
    }
    for line in [
        "   - heard times: recorded sample n is put on the bench's clock at start + n x period, the".to_string(),
        "     lower envelope of the reads' (read time - n/16000 s): a line through the earliest reads".into(),
        "     of the first and last 30 s, lowered below every read. Heard times (latencies) are so".into(),
        format!("     upper bounds, late by the recorder's smallest delivery delay (unknown, >= 0, about the {REC_LATENCY_MS} ms"),
        format!("     asked for); reads usually came {:.1} ms above that line (median).", rec.delivery_p50_ms),
    ] {
        println!("{line}");
    }
    if let Some(ppm) = rec.clock_ppm {
        println!(
            "     The recorder's (= the null sink's) clock against the bench's Instant: {ppm:+.1} ppm"
        );
        println!(
            "     ({:+.2} ms over 300 s): \"drift, heard\" is on the sink's clock, what a listener hears;",
            ppm * 300.0 / 1000.0
        );
        println!("     \"drift, on the bench's clock\" takes that out.");
    }
    println!(
        "   - stop: \"last sound heard\" is the end of the last sound after play; the cut itself"
    );
    println!(
        "     lies between it and the clip's next sound (aligned on the heard onset), which gives"
    );
    println!("     the upper bound; the two agree when the stop lands inside a word.");
    println!(
        "   - {finished} playback-finished reports came back (counts end before the next starts)."
    );

    Ok(json!({
        "device": out_device,
        "device_rate": out_rate,
        "recorder": {
            "rate": REC_RATE,
            "latency_asked_ms": REC_LATENCY_MS,
            "delivery_after_earliest_p50_ms": rec.delivery_p50_ms,
            "clock_ppm_vs_instant": rec.clock_ppm,
            "period_s": rec.period,
            "note": "heard times are start + n * period, the lower envelope of the reads' (read time - n/rate): late by the recorder's smallest delivery delay (>= 0, unknown); intervals and heard drift use sample positions only",
        },
        "by_design_lead_ms": lead_ms,
        "phases": phases,
        "counts_when_deadline": count_figs[0].as_ref().map(CountFigures::json),
        "counts_when_deadline_settled": count_figs[1].as_ref().map(|c| {
            let mut v = c.json();
            v["from_count"] = json!(SETTLE_COUNTS + 1);
            v
        }),
        "counts_when_now": count_figs[2].as_ref().map(CountFigures::json),
        "counts_from_standby": woken.as_ref().map(CountFigures::json),
        "stop": {
            "trials": stops.trials,
            "instruction": long_line.id.0,
            "instruction_s": long_clip.duration().as_secs_f64(),
            "stop_to_last_sound_ms": stops.to_last_sound.json(),
            "stop_to_cut_upper_bound_ms": stops.to_cut_upper.json(),
            "play_to_heard_onset_ms": stops.onset_latency.json(),
        },
        "playback_finished_reports": finished,
    }))
}
