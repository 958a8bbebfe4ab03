//! English recognition accuracy of the PocketSphinx backend, through the
//! same pipeline the daemon uses (20 ms frames → Speex echo canceller and
//! noise suppressor, the coach silent → VAD → recogniser → decider), over espeak-ng speech in several voices,
//! speeds and noise conditions (see `voice_data`).
//!
//! Recall: a command sample counts when its command is detected, emitted
//! after the word started. False accepts: any detection during a
//! non-command sample. Both are asserted; a summary per word, voice and
//! noise condition, every miss and false accept, and the latency from the
//! end of the word to the detection are printed.
#![cfg(all(feature = "voice-pocketsphinx", feature = "voice-aec"))]

mod voice_data;

use matcoach::content::Lang;
use matcoach::voice::aec::{AecOptions, SpeexAec};
use matcoach::voice::pipeline::{DeciderConfig, EchoCanceller, Pipeline};
use matcoach::voice::sphinx::{SphinxOptions, SphinxRecognizer};
use matcoach::voice::{grammar, Detection};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use voice_data::{Noise, Outcome, Stream};

/// The goal for any engine: recall over the command samples, and false
/// accepts over the non-command samples.
const GOAL_RECALL: f64 = 0.95;
const GOAL_FALSE_ACCEPTS: f64 = 0.03;

/// What PocketSphinx must keep achieving on this set (it does not reach the
/// goal: the numbers are measured, and the floors sit a little below them
/// so that a regression fails the test). Overall, and without added noise.
const MIN_RECALL: f64 = 0.72;
const MIN_RECALL_CLEAN: f64 = 0.91;
const MAX_FALSE_ACCEPTS: f64 = 0.16;
const MAX_FALSE_ACCEPTS_CLEAN: f64 = 0.18;

/// The decider settings the daemon uses for PocketSphinx.
fn sphinx_decider() -> DeciderConfig {
    matcoach::voice::decider_config(
        matcoach::voice::Engine::Pocketsphinx,
        &matcoach::config::Voice::default(),
    )
}

/// The echo canceller and noise suppressor the daemon puts in front of
/// PocketSphinx (echo cancellation on, as in the default config).
fn daemon_front_end() -> Option<AecOptions> {
    matcoach::voice::front_end_options(matcoach::voice::Engine::Pocketsphinx, true)
}

/// Run one stream through the pipeline, as the daemon would: 100 ms
/// chunks of microphone audio, the coach silent (no playback reference).
fn run_stream(
    stream: &Stream,
    opts: &SphinxOptions,
    cfg: &DeciderConfig,
    pre: Option<AecOptions>,
) -> Vec<Detection> {
    let words = grammar::words(Lang::En);
    let rec =
        SphinxRecognizer::with_options(Lang::En, &words, opts).unwrap_or_else(|e| panic!("{e}"));
    let pre = pre.map(|o| {
        Box::new(SpeexAec::with_options(320, 250, o).unwrap_or_else(|e| panic!("{e}")))
            as Box<dyn EchoCanceller>
    });
    let mut p = Pipeline::new(Box::new(rec), pre, Lang::En, cfg.clone());
    let mut out = Vec::new();
    for chunk in stream.audio.chunks(1600) {
        out.extend(p.push(chunk, &[]).unwrap_or_else(|e| panic!("{e}")));
    }
    out.extend(p.finish().unwrap_or_else(|e| panic!("{e}")));
    out
}

/// Run every stream (in parallel) and attribute the detections.
fn evaluate(
    streams: &[Stream],
    opts: &SphinxOptions,
    cfg: &DeciderConfig,
    pre: Option<AecOptions>,
) -> Vec<Outcome> {
    let results: Vec<Vec<Detection>> = std::thread::scope(|s| {
        let handles: Vec<_> = streams
            .iter()
            .map(|st| s.spawn(move || run_stream(st, opts, cfg, pre)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| panic!("a stream failed")))
            .collect()
    });
    streams
        .iter()
        .zip(results)
        .flat_map(|(st, dets)| voice_data::attribute(st, &dets))
        .collect()
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    n: usize,
    ok: usize,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        self.n += 1;
        self.ok += usize::from(ok);
    }
    fn rate(&self) -> f64 {
        self.ok as f64 / self.n.max(1) as f64
    }
}

/// The numbers, and a printable summary.
struct Summary {
    recall: f64,
    false_accepts: f64,
    latency_p50: i64,
    latency_p95: i64,
    text: String,
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn summarise(outcomes: &[Outcome], verbose: bool) -> Summary {
    let mut text = String::new();
    let (mut cmd, mut non) = (Tally::default(), Tally::default());
    // Per key: (command samples detected, non-command samples rejected).
    let mut by_word: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_voice: BTreeMap<String, (Tally, Tally)> = BTreeMap::new();
    let mut by_noise: BTreeMap<Noise, (Tally, Tally)> = BTreeMap::new();
    let mut by_speed: BTreeMap<u32, (Tally, Tally)> = BTreeMap::new();
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut latencies: Vec<i64> = Vec::new();
    let mut latency_by_cmd: BTreeMap<&'static str, Vec<i64>> = BTreeMap::new();
    let mut failures = Vec::new();
    for o in outcomes {
        let s = &o.sample;
        let ok = o.ok();
        let is_cmd = s.command.is_some();
        if is_cmd {
            cmd.add(ok);
        } else {
            non.add(ok);
        }
        by_word.entry(s.text.clone()).or_default().add(ok);
        let pick = |e: &mut (Tally, Tally)| {
            if is_cmd {
                e.0.add(ok)
            } else {
                e.1.add(ok)
            }
        };
        pick(by_voice.entry(s.voice.clone()).or_default());
        pick(by_noise.entry(s.noise).or_default());
        pick(by_speed.entry(s.wpm).or_default());
        let heard: Vec<String> = o.detections.iter().map(|d| d.word.clone()).collect();
        if heard.is_empty() {
            if is_cmd {
                *confusion.entry((s.text.clone(), "-".into())).or_default() += 1;
            }
        } else {
            for h in &heard {
                *confusion.entry((s.text.clone(), h.clone())).or_default() += 1;
            }
        }
        if let Some(d) = o.hit() {
            let l = d.detected_ms as i64 - s.word_end_ms as i64;
            latencies.push(l);
            if let Some(c) = s.command {
                latency_by_cmd.entry(c.name()).or_default().push(l);
            }
        }
        if !ok {
            failures.push(format!(
                "  {} {} → heard {:?}",
                if is_cmd { "MISS" } else { "FALSE" },
                s.describe(),
                o.detections
                    .iter()
                    .map(|d| format!(
                        "{}@{}..{} conf {:.2} emitted {}",
                        d.word, d.start_ms, d.end_ms, d.confidence, d.detected_ms
                    ))
                    .collect::<Vec<_>>()
            ));
        }
    }
    latencies.sort_unstable();
    let recall = cmd.rate();
    let false_accepts = 1.0 - non.rate();
    let _ = writeln!(
        text,
        "recall {:.1}% ({}/{}), false accepts {:.1}% ({}/{})",
        recall * 100.0,
        cmd.ok,
        cmd.n,
        false_accepts * 100.0,
        non.n - non.ok,
        non.n
    );
    let both = |t: &(Tally, Tally)| {
        format!(
            "recall {:5.1}% ({:3}/{:3})  false accepts {:5.1}% ({:3}/{:3})",
            t.0.rate() * 100.0,
            t.0.ok,
            t.0.n,
            (1.0 - t.1.rate()) * 100.0,
            t.1.n - t.1.ok,
            t.1.n
        )
    };
    let _ = writeln!(text, "per noise condition:");
    for (k, t) in &by_noise {
        let _ = writeln!(text, "  {:12} {}", k.label(), both(t));
    }
    let _ = writeln!(text, "per voice:");
    for (k, t) in &by_voice {
        let _ = writeln!(text, "  {:18} {}", k, both(t));
    }
    let _ = writeln!(text, "per speed:");
    for (k, t) in &by_speed {
        let _ = writeln!(text, "  {:3} wpm {}", k, both(t));
    }
    let _ = writeln!(text, "per word (commands: detected; others: rejected):");
    for (k, t) in &by_word {
        let heard: Vec<String> = confusion
            .iter()
            .filter(|((w, _), _)| w == k)
            .map(|((_, h), n)| format!("{h}×{n}"))
            .collect();
        let _ = writeln!(
            text,
            "  {:14} {:5.1}% ({:3}/{:3})  heard: {}",
            k,
            t.rate() * 100.0,
            t.ok,
            t.n,
            heard.join(" ")
        );
    }
    let (p50, p95) = (percentile(&latencies, 0.5), percentile(&latencies, 0.95));
    let _ = writeln!(
        text,
        "latency, detection − end of word: p50 {p50} ms, p95 {p95} ms (n = {})",
        latencies.len()
    );
    for (c, l) in &mut latency_by_cmd {
        l.sort_unstable();
        let _ = writeln!(
            text,
            "  {:8} p50 {:4} ms  p95 {:4} ms",
            c,
            percentile(l, 0.5),
            percentile(l, 0.95)
        );
    }
    if verbose {
        let _ = writeln!(text, "failures ({}):", failures.len());
        for f in &failures {
            let _ = writeln!(text, "{f}");
        }
    }
    Summary {
        recall,
        false_accepts,
        latency_p50: p50,
        latency_p95: p95,
        text,
    }
}

#[test]
fn pocketsphinx_hears_english_commands_and_nothing_else() {
    let streams = voice_data::english_streams();
    let t = std::time::Instant::now();
    let outcomes = evaluate(
        streams,
        &SphinxOptions::default(),
        &sphinx_decider(),
        daemon_front_end(),
    );
    let s = summarise(&outcomes, true);
    let audio_s: usize = streams.iter().map(|s| s.audio.len()).sum::<usize>() / 16_000;
    println!(
        "{} s of audio decoded in {:.1} s",
        audio_s,
        t.elapsed().as_secs_f64()
    );
    println!("{}", s.text);
    println!(
        "goal: recall >= {:.0}%, false accepts <= {:.0}%; PocketSphinx: {:.1}%, {:.1}%",
        GOAL_RECALL * 100.0,
        GOAL_FALSE_ACCEPTS * 100.0,
        s.recall * 100.0,
        s.false_accepts * 100.0
    );
    let clean: Vec<Outcome> = outcomes
        .iter()
        .filter(|o| o.sample.noise == Noise::Faint)
        .cloned()
        .collect();
    let c = summarise(&clean, false);
    assert!(
        s.recall >= MIN_RECALL && c.recall >= MIN_RECALL_CLEAN,
        "recall {:.1}% (clean {:.1}%) < {:.0}% ({:.0}%)",
        s.recall * 100.0,
        c.recall * 100.0,
        MIN_RECALL * 100.0,
        MIN_RECALL_CLEAN * 100.0
    );
    assert!(
        s.false_accepts <= MAX_FALSE_ACCEPTS && c.false_accepts <= MAX_FALSE_ACCEPTS_CLEAN,
        "false accepts {:.1}% (clean {:.1}%) > {:.0}% ({:.0}%)",
        s.false_accepts * 100.0,
        c.false_accepts * 100.0,
        MAX_FALSE_ACCEPTS * 100.0,
        MAX_FALSE_ACCEPTS_CLEAN * 100.0
    );
    // Final results come after the word, partial ones ("stop", "pain")
    // may come just before its measured end; nothing comes late.
    assert!(
        s.latency_p50 > -200 && s.latency_p95 < 1000,
        "latency p50 {} ms, p95 {} ms",
        s.latency_p50,
        s.latency_p95
    );
}

/// Tuning aid (ignored by default): the same evaluation with options from
/// the environment, e.g. `SPHINX_MASS=0.05 SPHINX_FREQUENT=3000
/// SPHINX_CONF=0.3 SPHINX_UNK=0 SPHINX_NEIGHBOUR=1 SPHINX_EXTRA="-lw 8"`.
#[test]
#[ignore]
fn explore_sphinx_options() {
    let env = |k: &str| std::env::var(k).ok();
    let mut opts = SphinxOptions::default();
    let mut cfg = sphinx_decider();
    if let Some(v) = env("SPHINX_MASS") {
        opts.command_mass = v.parse().unwrap();
    }
    if let Some(v) = env("SPHINX_FREQUENT") {
        opts.frequent_words = v.parse().unwrap();
    }
    if let Some(v) = env("SPHINX_EDITS") {
        opts.neighbour_edits = v.parse().unwrap();
    }
    if let Some(v) = env("SPHINX_NEIGHBOUR") {
        opts.neighbour_prior = Some(v.parse().unwrap());
    }
    if let Some(v) = env("SPHINX_POST") {
        opts.vad_postspeech = v.parse().unwrap();
    }
    if let Some(v) = env("SPHINX_CONF") {
        cfg.min_confidence = v.parse().unwrap();
    }
    if let Some(v) = env("SPHINX_UNK") {
        cfg.max_unknown_words = v.parse().unwrap();
    }
    if let Some(v) = env("SPHINX_VADTH") {
        opts.vad_threshold = v.parse().unwrap();
    }
    if let Some(v) = env("SPHINX_VOICED") {
        cfg.min_voiced = v.parse().unwrap();
    }
    if let Some(v) = env("SPHINX_URGENT") {
        cfg.urgent_partials = v.parse().unwrap();
    }
    if let Some(x) = env("SPHINX_EXTRA") {
        let t: Vec<&str> = x.split_whitespace().collect();
        for p in t.chunks(2) {
            opts.extra.push((p[0].into(), p[1].into()));
        }
    }
    let streams = voice_data::english_streams();
    let t = std::time::Instant::now();
    // The daemon's front end; SPHINX_NS=-15: Speex's noise suppression
    // always, SPHINX_NOISY=-15: only in a noisy room, SPHINX_NORES=1: no
    // residual-echo suppression, SPHINX_RAW=1: no front end at all.
    let mut pre = daemon_front_end();
    if let Some(o) = pre.as_mut() {
        if let Some(v) = env("SPHINX_NS") {
            o.noise_suppress_db = v.parse().unwrap();
        }
        if env("SPHINX_NORES").is_some() {
            o.residual_suppression = false;
        }
        if let Some(v) = env("SPHINX_NOISY") {
            o.noisy_room_suppress_db = v.parse().unwrap();
        }
    }
    if env("SPHINX_RAW").is_some() {
        pre = None;
    }
    let outcomes = evaluate(streams, &opts, &cfg, pre);
    println!(
        "{opts:?}\n{cfg:?}\ndecoded in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    println!(
        "{}",
        summarise(&outcomes, env("SPHINX_VERBOSE").is_some()).text
    );
}
