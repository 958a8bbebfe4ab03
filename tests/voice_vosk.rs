//! The real Vosk path: libvosk, a real model (Korean, the only one a
//! registry ships: see `voice_data::korean`), real synthesised speech,
//! streamed in 20 ms chunks.
#![cfg(feature = "voice-vosk")]

mod common;
use common::voice_data;

use matcoach::content::Lang;
use matcoach::hearing::installer::{self, ModelInfo};
use matcoach::hearing::pipeline::{DeciderConfig, Pipeline, FRAME};
use matcoach::hearing::vosk::VoskRecognizer;
use matcoach::hearing::{Detection, Hypothesis, Recognizer, Word, RATE};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use voice_data::korean::*;

/// Timing tolerance for a word's start and end.
const TOLERANCE_MS: i64 = 300;

/// Feed `pcm` in 20 ms chunks; every hypothesis with the stream position
/// (ms) after the chunk that produced it.
fn run(rec: &mut dyn Recognizer, pcm: &[i16]) -> Vec<(i64, Hypothesis)> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    for chunk in pcm.chunks(FRAME) {
        pos += chunk.len();
        if let Some(h) = rec.accept(chunk).unwrap() {
            out.push(((pos * 1000 / RATE as usize) as i64, h));
        }
    }
    if let Some(h) = rec.flush().unwrap() {
        out.push(((pos * 1000 / RATE as usize) as i64, h));
    }
    out
}

fn finals(hyps: &[(i64, Hypothesis)]) -> Vec<(i64, Vec<Word>)> {
    hyps.iter()
        .filter_map(|(t, h)| match h {
            Hypothesis::Final(w) if !w.is_empty() => Some((*t, w.clone())),
            _ => None,
        })
        .collect()
}

fn show(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| format!("{}@{}-{}/{:.2}", w.text, w.start_ms, w.end_ms, w.conf))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn each_command_is_recognised_at_its_time_with_partials_first() {
    let Some(model) = korean() else { return };
    let mut stream = Stream::default().gap(1000);
    for (word, _) in COMMANDS {
        stream = stream.say(word).gap(1500);
    }
    let pcm = stream.pcm(FAINT);
    for with_fillers in [false, true] {
        let mut rec = recognizer(&model, with_fillers);
        let t = Instant::now();
        let hyps = run(&mut rec, &pcm);
        let took = t.elapsed();
        let fins = finals(&hyps);
        eprintln!(
            "fillers: {with_fillers}; {} ms of audio decoded in {took:?}",
            pcm.len() * 1000 / RATE as usize
        );
        for (t, w) in &fins {
            eprintln!("  final at {t} ms: {}", show(w));
        }
        assert_eq!(
            fins.len(),
            COMMANDS.len(),
            "one final per command: {fins:?}"
        );
        let mut prev_final = 0;
        for (mark, (final_at, words)) in stream.marks.iter().zip(&fins) {
            let heard: Vec<&Word> = words.iter().filter(|w| is_command(&w.text)).collect();
            let [w] = heard.as_slice() else {
                panic!("{}: heard {}", mark.text, show(words));
            };
            assert_eq!(w.text, mark.text);
            let (start, end) = (w.start_ms as i64, w.end_ms as i64);
            assert!(
                (start - mark.onset_ms).abs() <= TOLERANCE_MS
                    && (end - mark.offset_ms).abs() <= TOLERANCE_MS,
                "{}: heard at {start}-{end} ms, spoken at {}-{} ms",
                mark.text,
                mark.onset_ms,
                mark.offset_ms
            );
            assert!(w.conf >= 0.6, "{}: confidence {}", mark.text, w.conf);
            // A partial naming the word comes before its final.
            let first_partial = hyps
                .iter()
                .find(|(t, h)| {
                    *t > prev_final
                        && matches!(h, Hypothesis::Partial(p) if p.iter().any(|x| x == mark.text))
                })
                .map(|(t, _)| *t);
            let Some(p) = first_partial else {
                panic!("{}: no partial result named it", mark.text)
            };
            assert!(
                p < *final_at,
                "{}: partial at {p}, final at {final_at}",
                mark.text
            );
            eprintln!(
                "  {}: spoken {}-{} ms, heard {start}-{end} ms (conf {:.2}); first partial {} ms \
                 after the word's end, final {} ms after",
                mark.text,
                mark.onset_ms,
                mark.offset_ms,
                w.conf,
                p - mark.offset_ms,
                final_at - mark.offset_ms
            );
            assert!(
                final_at - mark.offset_ms <= 1500,
                "{}: the final came {} ms after the word",
                mark.text,
                final_at - mark.offset_ms
            );
            prev_final = *final_at;
        }
    }
}

#[test]
fn sentences_and_noise_give_no_command_word() {
    let Some(model) = korean() else { return };
    let mut stream = Stream::default().gap(1000);
    for s in SENTENCES {
        stream = stream.say(s).gap(1500);
    }
    let pcm = stream.pcm(FAINT);
    let mut share = Vec::new();
    for with_fillers in [false, true] {
        let hyps = run(&mut recognizer(&model, with_fillers), &pcm);
        let fins = finals(&hyps);
        let all: Vec<&Word> = fins.iter().flat_map(|(_, w)| w).collect();
        let commands = all.iter().filter(|w| is_command(&w.text)).count();
        eprintln!(
            "fillers: {with_fillers}: {commands} of {} words heard in {} sentences are command words",
            all.len(),
            SENTENCES.len()
        );
        for (t, w) in &fins {
            eprintln!("  final at {t} ms: {}", show(w));
        }
        assert!(!all.is_empty());
        share.push(commands as f32 / all.len() as f32);
        if with_fillers {
            // A command word heard in a sentence comes with [unk] words
            // around it, so the decider drops it (see the pipeline test).
            for (_, w) in &fins {
                let unk = w.iter().filter(|w| w.text == "[unk]").count();
                let cmd = w.iter().filter(|w| is_command(&w.text)).count();
                assert!(cmd == 0 || unk >= 3, "{}", show(w));
            }
        }
    }
    eprintln!(
        "share of command words in sentences: {:.0}% with the unknown word alone, {:.0}% with fillers",
        share[0] * 100.0,
        share[1] * 100.0
    );
    assert!(
        share[1] <= 0.15,
        "fillers must soak up other speech: {share:?}"
    );

    // Noise alone, faint to loud. Faint and moderate noise give no word
    // at all; loud white noise makes Vosk hear command words (see the
    // pipeline test for what stops them).
    let quiet = Stream::default().gap(6000);
    for amplitude in [FAINT, 0.005, LOUD] {
        for with_fillers in [false, true] {
            let hyps = run(&mut recognizer(&model, with_fillers), &quiet.pcm(amplitude));
            let named: Vec<String> = hyps
                .iter()
                .flat_map(|(_, h)| match h {
                    Hypothesis::Partial(p) => p.clone(),
                    Hypothesis::Final(w) => w.iter().map(|w| w.text.clone()).collect(),
                })
                .filter(|w| is_command(w))
                .collect();
            eprintln!(
                "noise {amplitude}, fillers {with_fillers}: {} hypotheses, {} naming a command word {:?}",
                hyps.len(),
                named.len(),
                named.first()
            );
            if amplitude < LOUD {
                assert!(named.is_empty(), "noise {amplitude} was heard as {named:?}");
            }
        }
    }
}

#[test]
fn the_pipeline_acts_on_commands_only() {
    let Some(model) = korean() else { return };
    let stream = Stream::default()
        .gap(1000)
        .say("멈춰")
        .gap(1500)
        .say(SENTENCES[0])
        .gap(1500)
        .say("계속")
        .gap(1500)
        .say(SENTENCES[1])
        .gap(1500)
        .say("다시")
        .gap(1500)
        .say(SENTENCES[4])
        .gap(1500)
        .say("정지")
        .gap(1500);
    let pcm = stream.pcm(FAINT);
    let listen = |with_fillers: bool, pcm: &[i16]| -> Vec<Detection> {
        let rec = AsEnglish(recognizer(&model, with_fillers));
        let mut pipeline = Pipeline::new(Box::new(rec), None, Lang::En, DeciderConfig::default());
        let mut got: Vec<Detection> = Vec::new();
        for chunk in pcm.chunks(FRAME) {
            got.extend(pipeline.push(chunk, &[]).unwrap());
        }
        got.extend(pipeline.finish().unwrap());
        eprintln!("fillers: {with_fillers}: {} detections", got.len());
        for d in &got {
            eprintln!(
                "  {} ({}) at {}-{} ms, detected at {} ms, conf {:.2}",
                d.command, d.word, d.start_ms, d.end_ms, d.detected_ms, d.confidence
            );
        }
        got
    };
    // Measured, not asserted: with the unknown word alone, the decider
    // still fires "stop" from partial results inside sentences.
    listen(false, &pcm);
    let got = listen(true, &pcm);
    let commands: Vec<&str> = got.iter().map(|d| d.word.as_str()).collect();
    assert_eq!(commands, ["stop", "continue", "repeat", "pause"], "{got:?}");
    let spoken: Vec<&Mark> = stream.marks.iter().filter(|m| is_command(m.text)).collect();
    for (d, m) in got.iter().zip(spoken) {
        assert!(
            (d.start_ms as i64 - m.onset_ms).abs() <= TOLERANCE_MS + 200,
            "{}: at {} ms, spoken at {} ms",
            d.word,
            d.start_ms,
            m.onset_ms
        );
        let latency = d.detected_ms as i64 - m.offset_ms;
        eprintln!("  {}: detected {latency} ms after the word ended", d.word);
        assert!(
            d.detected_ms as i64 > m.onset_ms,
            "{}: detected before it was said",
            d.word
        );
        assert!(latency <= 1500, "{}: latency {latency} ms", d.word);
        if d.word == "stop" {
            // Urgent: fired from partial results, long before the final
            // (which comes about 1 s after the word).
            assert!(latency <= 400, "stop took {latency} ms");
        }
    }

    // Noise alone through the whole pipeline: nothing, even loud noise
    // that Vosk alone hears as command words.
    for amplitude in [FAINT, LOUD] {
        for with_fillers in [false, true] {
            let got = listen(with_fillers, &Stream::default().gap(6000).pcm(amplitude));
            assert!(got.is_empty(), "noise {amplitude}: {got:?}");
        }
    }
}

/// A tiny HTTP server on 127.0.0.1 that serves one file, then stops.
fn serve_once(path: &'static str, file: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        // Serve until the model has been fetched (and its .sha256 refused).
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut served = false;
        while Instant::now() < deadline {
            let Ok((mut conn, _)) = listener.accept() else {
                if served {
                    // Give the client a moment for a .sha256 request.
                    std::thread::sleep(Duration::from_millis(20));
                } else {
                    std::thread::sleep(Duration::from_millis(5));
                }
                continue;
            };
            conn.set_nonblocking(false).unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            if line.split_whitespace().nth(1) == Some(path) {
                let len = std::fs::metadata(&file).unwrap().len();
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                std::io::copy(&mut std::fs::File::open(&file).unwrap(), &mut conn).unwrap();
                served = true;
            } else {
                let _ = conn.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                if served {
                    return;
                }
            }
        }
    });
    port
}

/// Zip a model directory the way the official archives are laid out.
fn zip_model(dir: &Path, top: &str, out: &Path) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            w.start_file(format!("{top}/{rel}"), opts).unwrap();
            std::io::copy(&mut std::fs::File::open(&p).unwrap(), &mut w).unwrap();
        }
    }
    w.finish().unwrap();
}

#[test]
fn setup_model_installs_a_real_model_that_loads() {
    let Some(dir) = model_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("vosk-model-small-ko.zip");
    let t = Instant::now();
    zip_model(&dir, "vosk-model-small-ko", &zip);
    let size = std::fs::metadata(&zip).unwrap().len();
    let port = serve_once("/vosk-model-small-ko.zip", zip.clone());
    let info = ModelInfo {
        lang: Lang::En,
        name: "vosk-model-small-ko",
        url: Box::leak(format!("http://127.0.0.1:{port}/vosk-model-small-ko.zip").into_boxed_str()),
        sha256: None,
        size,
    };
    let dest = tmp.path().join("models").join(info.name);
    let mut last = (0, None);
    let installed =
        installer::setup(&info, &dest, &mut |done, total| last = (done, total)).unwrap();
    eprintln!(
        "zipped, served, checked, unpacked and loaded {size} bytes in {:?}",
        t.elapsed()
    );
    assert_eq!(installed, dest);
    assert_eq!(last, (size, Some(size)));
    assert!(dest.join("graph/HCLr.fst").is_file());
    assert_eq!(
        std::fs::metadata(dest.join("am/final.mdl")).unwrap().len(),
        std::fs::metadata(dir.join("am/final.mdl")).unwrap().len()
    );
    // The zip is gone; only the model is left.
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("models"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("vosk-model-small-ko")]);
    // Dutch command words are not in a Korean model: a clear error.
    let err = VoskRecognizer::with_model(korean().unwrap(), &["멈춰", "volgende"], &[])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("lacks the command word(s) volgende"), "{err}");
}
