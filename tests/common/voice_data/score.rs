//! Scoring a recogniser on the English set: streams through a pipeline
//! (in parallel), detections attributed to the samples, recall and false
//! accepts per noise condition, voice, speed and word, and the latency.

use super::{Noise, Outcome, Stream};
use matcoach::hearing::pipeline::Pipeline;
use matcoach::hearing::Detection;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The goal for any engine: recall over the command samples, and false
/// accepts over the non-command samples.
pub const GOAL_RECALL: f64 = 0.95;
pub const GOAL_FALSE_ACCEPTS: f64 = 0.03;

/// Run one stream through a pipeline, as the daemon would: 100 ms chunks
/// of microphone audio, the coach silent (no playback reference).
fn run_stream(stream: &Stream, mut p: Pipeline) -> Vec<Detection> {
    let mut out = Vec::new();
    for chunk in stream.audio.chunks(1600) {
        out.extend(p.push(chunk, &[]).unwrap_or_else(|e| panic!("{e}")));
    }
    out.extend(p.finish().unwrap_or_else(|e| panic!("{e}")));
    out
}

/// Run every stream (in parallel, a pipeline each from `make`) and
/// attribute the detections.
pub fn evaluate(streams: &[Stream], make: &(dyn Fn() -> Pipeline + Sync)) -> Vec<Outcome> {
    let results: Vec<Vec<Detection>> = std::thread::scope(|s| {
        let handles: Vec<_> = streams
            .iter()
            .map(|st| s.spawn(move || run_stream(st, make())))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| panic!("a stream failed")))
            .collect()
    });
    streams
        .iter()
        .zip(results)
        .flat_map(|(st, dets)| super::attribute(st, &dets))
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
pub struct Summary {
    pub recall: f64,
    pub false_accepts: f64,
    pub latency_p50: i64,
    pub latency_p95: i64,
    pub text: String,
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

pub fn summarise(outcomes: &[Outcome], verbose: bool) -> Summary {
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
