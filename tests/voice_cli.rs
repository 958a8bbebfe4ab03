//! `matcoach hear` and `matcoach listen`, run as the real binary with real
//! recognition (PocketSphinx, English: the engine these machines have).
//!
//! - `hear`: a 44.1 kHz stereo WAV (so the conversion to 16 kHz mono is in
//!   the path) gives one JSON object per command on stdout, at the right
//!   place in the file, "continue" as resume, the summary on stderr; with
//!   the coach's playback as the reference, the coach's own command word is
//!   not taken for the user's.
//! - `listen`: the live path, from an ALSA `file` PCM that plays a 48 kHz
//!   recording as the microphone (cpal callback → ring buffer → 16 kHz →
//!   pipeline on its own thread), prints the command said;
//! - `demo`: with that microphone and no Vosk model, PocketSphinx stands in
//!   and the user's "stop" cuts the coach off and pauses the session.
#![cfg(feature = "voice-pocketsphinx")]

mod common;
use common::bin_support;
use common::voice_data;

use bin_support::*;
use common::wav::from_16k;
use matcoach::audio::resample::to_i16;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use voice_data::{Rendered, Utterance};

/// A word said by one of the test set's voices (the ones PocketSphinx hears
/// best), rendered at 16 kHz and normalised.
fn say(text: &str, voice: &str) -> Rendered {
    let u = Utterance {
        text: text.into(),
        voice: voice.into(),
        wpm: 160,
        lang: matcoach::content::Lang::En,
    };
    voice_data::render_all(&[u]).remove(0)
}

/// Words laid out after `gap_ms` of quiet each, in faint noise, at 16 kHz;
/// and where each word's sound starts and ends (ms).
fn lay_out(words: &[(u64, &Rendered, f32)]) -> (Vec<f32>, Vec<(u64, u64)>) {
    let mut audio = Vec::new();
    let mut bounds = Vec::new();
    for (gap_ms, r, gain) in words {
        audio.resize(audio.len() + (*gap_ms as usize) * 16, 0.0);
        let at = audio.len();
        audio.extend(r.audio.iter().map(|s| s * gain));
        bounds.push((((at + r.start) / 16) as u64, ((at + r.end + 1) / 16) as u64));
    }
    audio.resize(audio.len() + 1500 * 16, 0.0);
    let faint = voice_data::noise(audio.len(), voice_data::FAINT_NOISE_RMS, false, 3);
    let audio = audio.iter().zip(&faint).map(|(s, n)| s + n).collect();
    (audio, bounds)
}

/// Write `audio` (16 kHz) as a 44.1 kHz stereo 16-bit WAV.
fn write_wav_44k_stereo(path: &Path, audio: &[f32]) {
    let stereo: Vec<i16> = to_i16(&from_16k(audio, 44_100))
        .into_iter()
        .flat_map(|s| [s, s])
        .collect();
    common::wav::write(path, 44_100, 2, &stereo);
}

/// `matcoach hear WAV ARGS` in `home`: what it printed, the JSON objects
/// (one per line) and their commands.
fn hear(home: &Path, wav: &Path, args: &[&std::ffi::OsStr]) -> (Out, Vec<Value>, Vec<String>) {
    let mut c = command(["hear".as_ref(), wav.as_os_str()]);
    c.args(args);
    let out = Out::of(in_home(&mut c, home)).ok();
    let seen: Vec<Value> = out
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let commands = seen
        .iter()
        .map(|d| d["command"].as_str().unwrap_or("?").to_string())
        .collect();
    (out, seen, commands)
}

/// A private HOME with no Vosk model in it.
fn home() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn hear_prints_each_command_where_it_was_said() {
    let (stop, cont, hello, next) = (
        say("stop", "flite/kal16"),
        say("continue", "flite/kal16"),
        say("hello", "flite/kal16"),
        say("next", "flite/kal16"),
    );
    let (audio, bounds) = lay_out(&[
        (1500, &stop, 1.0),
        (1600, &cont, 1.0),
        (1600, &hello, 1.0),
        (1600, &next, 1.0),
    ]);
    let home = home();
    let wav = home.path().join("words.wav");
    write_wav_44k_stereo(&wav, &audio);
    // (extra arguments, the notice expected on stderr)
    let cases: [(&[&str], Option<&str>); 2] = [
        (&["--engine", "pocketsphinx"], None),
        // No Vosk model in this HOME: the daemon's choice stands in.
        (&[], Some("listening with pocketsphinx instead of vosk")),
    ];
    for (extra, notice) in cases {
        let mut args: Vec<&std::ffi::OsStr> =
            ["--lang", "en", "--json"].map(|a| a.as_ref()).to_vec();
        args.extend(extra.iter().map(|a| a.as_ref() as &std::ffi::OsStr));
        let (out, seen, commands) = hear(home.path(), &wav, &args);
        assert_eq!(
            commands,
            ["stop", "resume", "next"],
            "{extra:?}\n{}",
            out.show()
        );
        assert_eq!(seen[1]["word"], "continue", "{}", out.show());
        for (d, k) in seen.iter().zip([0, 1, 3]) {
            let (start, end) = bounds[k];
            let at = |key: &str| d[key].as_i64().unwrap_or_else(|| panic!("{key} in {d}"));
            assert!(
                (at("start_ms") - start as i64).abs() <= 300
                    && (at("end_ms") - end as i64).abs() <= 300,
                "{d} vs the word at {start}..{end} ms"
            );
            // Emitted once the word was (nearly) over, well within a second.
            assert!(
                (end as i64 - 200..end as i64 + 1000).contains(&at("detected_ms")),
                "{d} vs the word's end at {end} ms"
            );
            let conf = d["confidence"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&conf), "{d}");
        }
        assert!(
            out.stderr.contains("s of audio in") && out.stderr.contains("3 commands heard"),
            "{}",
            out.show()
        );
        match notice {
            Some(n) => assert!(out.stderr.contains(n), "{}", out.show()),
            None => assert!(!out.stderr.contains("instead of"), "{}", out.show()),
        }
    }
}

#[test]
fn hear_with_the_playback_does_not_take_the_coach_for_the_user() {
    // The coach says "hello", then "next" (its voice through the room: 30 ms
    // later, at half the level); two seconds later the user says "stop".
    let (hello, next) = (say("hello", "flite/kal16"), say("next", "flite/kal16"));
    let user = say("stop", "flite/kal16");
    let (played, _) = lay_out(&[(1500, &hello, 1.0), (1600, &next, 1.0)]);
    let (user_only, bounds) = lay_out(&[(played.len() as u64 / 16 + 500, &user, 1.0)]);
    let n = played.len().max(user_only.len());
    let delay = 30 * 16;
    let mic: Vec<f32> = (0..n)
        .map(|i| {
            let echo = if i >= delay {
                played.get(i - delay).copied().unwrap_or(0.0) * 0.5
            } else {
                0.0
            };
            echo + user_only.get(i).copied().unwrap_or(0.0)
        })
        .collect();
    let home = home();
    let (mic_wav, ref_wav) = (home.path().join("mic.wav"), home.path().join("ref.wav"));
    write_wav_44k_stereo(&mic_wav, &mic);
    write_wav_44k_stereo(&ref_wav, &played);
    // (with the playback, the commands heard)
    for (playback, want) in [(false, vec!["next", "stop"]), (true, vec!["stop"])] {
        let mut args: Vec<&std::ffi::OsStr> = ["--lang", "en", "--engine", "pocketsphinx"]
            .map(|a| a.as_ref())
            .to_vec();
        if playback {
            args.extend(["--playback".as_ref(), ref_wav.as_os_str()]);
        }
        let (out, seen, commands) = hear(home.path(), &mic_wav, &args);
        assert_eq!(commands, want, "playback {playback}\n{}", out.show());
        let stop = seen.last().unwrap();
        assert!(
            (stop["start_ms"].as_i64().unwrap() - bounds[0].0 as i64).abs() <= 300,
            "{stop}"
        );
    }
}

/// A HOME whose ALSA microphone (a file PCM, 48 kHz) says "stop" early on.
///
/// ALSA's file PCM delivers the recording far faster than real time, so
/// the capture ring (2 s of 48 kHz stereo) overflows and drops what comes
/// later, as it should when the recogniser falls behind a real microphone;
/// the first 2 s always fit, so the word is said early.
fn home_saying_stop() -> tempfile::TempDir {
    let stop = say("stop", "flite/kal16");
    let (audio, _) = lay_out(&[(500, &stop, 1.0)]);
    let home = home();
    fake_sound_card(home.path(), &to_i16(&from_16k(&audio, 48_000)));
    home
}

/// Run `matcoach ARGS` in `home` until what it printed so far (stdout and
/// stderr lines) satisfies `done`, or 60 s pass; then `finish` it (ctrl-c,
/// or "q" on its stdin). Its stdout and stderr lines, and whether `done` was
/// met.
fn run_until(
    home: &Path,
    args: &[&str],
    done: impl Fn(&[String], &[String]) -> bool,
    quit_with_q: bool,
) -> (Vec<String>, Vec<String>, bool) {
    let mut c = command(args);
    let mut child = in_home(&mut c, home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let read = |from: Box<dyn std::io::Read + Send>, err: bool| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(from).lines().map_while(Result::ok) {
                if tx.send((err, line)).is_err() {
                    break;
                }
            }
        })
    };
    let readers = [
        read(Box::new(child.stdout.take().unwrap()), false),
        read(Box::new(child.stderr.take().unwrap()), true),
    ];
    drop(tx);
    let started = Instant::now();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut met = false;
    while !met && started.elapsed() < Duration::from_secs(60) {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok((is_err, line)) => {
                if is_err { &mut err } else { &mut out }.push(line);
                met = done(&out, &err);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    if quit_with_q {
        let mut stdin = child.stdin.take().unwrap();
        let _ = std::io::Write::write_all(&mut stdin, b"q\n");
    } else {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
    }
    // It must end on its own; a hang is a failure, not a stuck test run.
    let asked = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if asked.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "matcoach {args:?} did not end within 30 s of being asked to ({})",
                if quit_with_q { "q" } else { "ctrl-c" }
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    for r in readers {
        let _ = r.join();
    }
    for (is_err, line) in rx.try_iter() {
        if is_err { &mut err } else { &mut out }.push(line);
    }
    err.push(format!("(exit {status:?})"));
    assert!(!err.iter().any(|l| l.contains("panicked")), "{err:#?}");
    (out, err, met)
}

/// Also: ALSA's file PCM outruns the recogniser (see [`home_saying_stop`]),
/// and `listen` says that it fell behind and how to fix it.
#[test]
fn listen_hears_the_microphone() {
    let home = home_saying_stop();
    let is_stop = |line: &String| {
        let d: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        d["command"] == "stop"
    };
    let behind = |line: &String| line.contains("the recogniser fell behind");
    let (out, err, met) = run_until(
        home.path(),
        &["listen", "--lang", "en", "--engine", "pocketsphinx"],
        |out, err| out.iter().any(is_stop) && err.iter().any(behind),
        false,
    );
    assert!(met, "{out:#?}\n{err:#?}");
    assert!(err[0].starts_with("listening on \"default\""), "{err:#?}");
    let note = err.iter().position(behind).unwrap();
    assert!(err[note + 1].contains("fix: "), "{err:#?}");
}

/// The demo, with a microphone and no Vosk model: PocketSphinx stands in,
/// and the user's "stop" cuts the coach off and pauses the session.
#[test]
fn the_demo_obeys_the_microphone() {
    let home = home_saying_stop();
    let (lines, err, paused) = run_until(
        home.path(),
        &["demo", "quick", "--lang", "en", "--silent"],
        |out, _| out.last().is_some_and(|l| l.contains("paused")),
        true,
    );
    let text = format!("{lines:#?}\n{err:#?}");
    assert!(paused, "{text}");
    assert!(
        lines[0].starts_with("listening with pocketsphinx instead of vosk"),
        "{text}"
    );
    let heard = lines.iter().position(|l| l.contains("[heard \"stop\""));
    let cut = lines.iter().position(|l| l.contains("(speech cut off)"));
    assert!(
        heard.is_some() && heard < cut.or(Some(usize::MAX)),
        "{text}"
    );
}
