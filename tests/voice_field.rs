//! Evidence from the field (issue 16, item 3), end to end:
//!
//! - the evidence thread, fed what the daemon feeds it (a press that paused
//!   just after the user spoke), records a likely miss in the journal and
//!   keeps the clip with its sidecar in the folder beside the journal;
//! - `matcoach hear CLIP.wav` replays a kept clip through today's pipeline
//!   (PocketSphinx) and prints what was heard then beside what is heard now;
//!   a bad clip is named, with a fix that fits `hear`;
//! - `matcoach voice-report` sums up a journal filled with voice events per
//!   word and per week;
//! - the config's keep_misses fields are validated with the field named.

mod common;
use common::bin_support;
use common::journal_days::open_store;
#[cfg(feature = "voice-pocketsphinx")]
use common::voice_data;

use bin_support::*;
use matcoach::command::Command;
use matcoach::config::Config;
use matcoach::hearing::field::{self, Event, Kind, Tap};
use matcoach::hearing::misses::{self, Folder, Sidecar};
use matcoach::hearing::pipeline::Observer;
use matcoach::journal::voice::VoiceRecord;
use matcoach::journal::{Date, JournalWriter, Stamp};
use matcoach::session::{Input, JournalEvent};
use std::path::Path;
use std::time::{Duration, Instant};

fn day(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// The sidecar of a kept clip of a missed `command` in English at 16 kHz;
/// what was noticed, when and by what are for the caller to add, and the
/// clip's files for the folder that keeps it.
fn miss(command: Command) -> Sidecar {
    Sidecar {
        version: misses::SIDECAR_VERSION,
        kind: Kind::Miss,
        command,
        word: None,
        confidence: None,
        what: String::new(),
        time: String::new(),
        engine: String::new(),
        model: String::new(),
        language: "en".into(),
        rate: 16_000,
        mic: String::new(),
        heard_audio: String::new(),
        playback: None,
        heard: Vec::new(),
        commands: Vec::new(),
    }
}

/// The folder of kept clips in the home `home`: 50 MB for 14 days.
#[cfg(feature = "voice-pocketsphinx")]
fn misses_in(home: &Path) -> Folder {
    Folder {
        dir: home.join("misses"),
        max_bytes: 50 << 20,
        days: 14,
    }
}

/// `text` said by flite's kal16 voice at 160 words a minute.
#[cfg(feature = "voice-pocketsphinx")]
fn say(text: &str) -> Vec<f32> {
    voice_data::render_all(&[voice_data::Utterance {
        text: text.into(),
        voice: "flite/kal16".into(),
        wpm: 160,
        lang: matcoach::content::Lang::En,
    }])
    .remove(0)
    .audio
}

/// `matcoach hear CLIP --engine pocketsphinx` in the home `home`.
#[cfg(feature = "voice-pocketsphinx")]
fn hear(clip: &Path, home: &Path) -> Out {
    Out::of(in_home(
        &mut command([
            "hear".as_ref(),
            clip.as_os_str(),
            "--engine".as_ref(),
            "pocketsphinx".as_ref(),
        ]),
        home,
    ))
}

#[test]
fn the_evidence_thread_journals_a_miss_and_keeps_its_clip() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("journal.sqlite");
    let store = open_store(&db);
    let writer = JournalWriter::new(store);
    let voice = matcoach::config::Voice {
        keep_misses: true,
        ..Default::default()
    };
    let folder = Folder::beside(&db, &voice);
    assert_eq!(folder.dir, tmp.path().join("misses"));
    // 3 s of audio: a tone for the user's speech, the coach silent.
    let mut tap = Tap::new(field::CLIP_SECS, true);
    for k in 0..150 {
        let frame: Vec<i16> = (0..320)
            .map(|i| (((k * 320 + i) as f32 * 0.05).sin() * 8000.0) as i16)
            .collect();
        tap.frame(&frame, &[0; 320], &frame, (50..70).contains(&k));
    }
    let logged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let lines = logged.clone();
    let tx = misses::spawn(misses::Setup {
        folder: Some(folder.clone()),
        tap: Some(tap.clone()),
        journal: Box::new(writer.handle()),
        engine: "pocketsphinx".into(),
        model: "test".into(),
        lang: matcoach::content::Lang::En,
        rules: misses::rules(),
        log: Box::new(move |m: &str| lines.lock().unwrap().push(m.to_string())),
    })
    .unwrap();
    let t = Instant::now();
    let ms = Duration::from_millis;
    for (dt, e) in [
        (0, Event::Speech { ms: 400 }),
        (1200, Event::Input(Input::ButtonPressed)),
        (1400, Event::Input(Input::ButtonReleased)),
        (
            1400,
            Event::Journal(JournalEvent::Paused { exercise: None }),
        ),
    ] {
        tx.send((t + ms(dt), e)).unwrap();
    }
    drop(tx);
    // The thread writes on its own time: wait for the sidecar.
    let started = Instant::now();
    let json = loop {
        let found = std::fs::read_dir(&folder.dir).ok().and_then(|d| {
            d.flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "json"))
        });
        if let Some(p) = found {
            break p;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no clip kept: {:?}",
            logged.lock().unwrap()
        );
        std::thread::sleep(ms(50));
    };
    let name = json.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.ends_with("-miss-pause.json"), "{name}");
    let side = Sidecar::of(&json.with_extension("wav")).unwrap().unwrap();
    assert_eq!((side.kind, side.command), (Kind::Miss, Command::Pause));
    assert_eq!(
        (side.engine.as_str(), side.language.as_str()),
        ("pocketsphinx", "en")
    );
    assert!(
        side.what.contains("1.2 s after the user spoke"),
        "{}",
        side.what
    );
    assert_eq!(side.playback, None, "the coach was silent");
    let wav = folder.dir.join(&side.mic);
    let clip = matcoach::audio::Clip::read_wav(&wav).unwrap();
    assert_eq!((clip.rate, clip.samples.len()), (16_000, 48_000));
    // The journal has it, with the clip's name.
    let report = writer.finish();
    assert!(report.complete(), "{report:?}");
    let store = open_store(&db);
    let row: (String, String, Option<String>) = store
        .connection()
        .query_row("SELECT kind, command, clip FROM voice", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(
        row,
        (
            "miss".to_string(),
            "pause".to_string(),
            Some(side.mic.clone())
        )
    );
    assert!(
        logged.lock().unwrap().iter().any(|l| l.contains("kept")),
        "{:?}",
        logged.lock().unwrap()
    );
}

/// Fill a journal with voice events around `today` = 2026-03-11 (a
/// Wednesday): the week before and this week.
fn filled_journal(db: &Path) {
    let mut store = open_store(db);
    let at = |d: &str, h: u64| day(d).at_midnight().plus(Duration::from_secs(h * 3600));
    let rec =
        |at: Stamp, kind: Kind, command: Command, lang: &str, clip: Option<&str>| VoiceRecord {
            at,
            kind,
            command,
            word: Some(command.name().into()),
            confidence: Some(0.7),
            engine: "pocketsphinx".into(),
            lang: lang.into(),
            what: "test".into(),
            clip: clip.map(String::from),
        };
    let rows = [
        // Three weeks back: outside --weeks 2.
        rec(at("2026-02-24", 9), Kind::Heard, Command::Stop, "en", None),
        // Last week (2026-W10).
        rec(at("2026-03-02", 9), Kind::Heard, Command::Stop, "en", None),
        rec(at("2026-03-02", 9), Kind::Heard, Command::Stop, "en", None),
        rec(
            at("2026-03-03", 9),
            Kind::SelfHeard,
            Command::Stop,
            "en",
            None,
        ),
        rec(
            at("2026-03-04", 9),
            Kind::Miss,
            Command::Stop,
            "en",
            Some("a.wav"),
        ),
        rec(at("2026-03-04", 9), Kind::Miss, Command::Next, "en", None),
        // This week (2026-W11).
        rec(at("2026-03-09", 9), Kind::Heard, Command::Next, "en", None),
        rec(
            at("2026-03-09", 10),
            Kind::FalseAccept,
            Command::Next,
            "en",
            Some("b.wav"),
        ),
        rec(
            at("2026-03-10", 9),
            Kind::Heard,
            Command::Resume,
            "nl",
            None,
        ),
        rec(
            at("2026-03-10", 9),
            Kind::Ignored,
            Command::Pain,
            "en",
            None,
        ),
        // Tomorrow: not yet.
        rec(at("2026-03-12", 9), Kind::Heard, Command::Stop, "en", None),
    ];
    for r in &rows {
        store.record_voice(r).unwrap();
    }
}

#[test]
fn voice_report_sums_up_a_journal_per_word_and_week() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("journal.sqlite");
    filled_journal(&db);
    let run = |extra: &[&str]| {
        let mut args = vec![
            "voice-report",
            "--db",
            db.to_str().unwrap(),
            "--today",
            "2026-03-11",
        ];
        args.extend(extra);
        Out::of(in_home(&mut command(args), tmp.path()))
    };
    let json = run(&["--weeks", "2", "--json"]).ok().json();
    assert_eq!(json["from"], "2026-03-02");
    assert_eq!(json["to"], "2026-03-11");
    assert_eq!(json["clips"], 2);
    let find = |list: &str, week: &str, command: &str, lang: &str| {
        json[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["week"] == week && w["command"] == command && w["lang"] == lang)
            .cloned()
            .unwrap_or_else(|| panic!("no {week} {command} {lang} in {json:#}"))
    };
    let counts = |w: &serde_json::Value| {
        [
            "heard",
            "self_heard",
            "ignored",
            "by_button",
            "false_accepts",
        ]
        .map(|k| w[k].as_u64().unwrap())
    };
    // (list, week, command, lang, heard, self-heard, ignored, by button, undone)
    let cases = [
        ("per_week", "2026-W10", "stop", "en", [2, 1, 0, 1, 0]),
        ("per_week", "2026-W10", "next", "en", [0, 0, 0, 1, 0]),
        ("per_week", "2026-W11", "next", "en", [1, 0, 0, 0, 1]),
        ("per_week", "2026-W11", "resume", "nl", [1, 0, 0, 0, 0]),
        ("per_week", "2026-W11", "pain", "en", [0, 0, 1, 0, 0]),
        ("per_word", "all", "next", "en", [1, 0, 0, 1, 1]),
        ("per_word", "all", "stop", "en", [2, 1, 0, 1, 0]),
    ];
    for (list, week, command, lang, want) in cases {
        let w = find(list, week, command, lang);
        assert_eq!(counts(&w), want, "{list} {week} {command} {lang}: {w}");
    }
    assert_eq!(
        find("per_week", "2026-W11", "resume", "nl")["word"],
        "verder"
    );
    assert_eq!(json["per_week"].as_array().unwrap().len(), 5);

    let text = run(&["--weeks", "2"]).ok();
    assert!(
        text.stdout
            .contains("Voice commands from 2026-03-02 to 2026-03-11"),
        "{}",
        text.show()
    );
    let stop = text
        .stdout
        .lines()
        .find(|l| l.contains("2026-W10") && l.contains(" stop "))
        .unwrap_or_else(|| panic!("{}", text.show()));
    // heard 2, self-heard 1, ignored 0, by button 1, undone 0: 2 of 3 heard.
    let cells: Vec<&str> = stop.split_whitespace().collect();
    assert_eq!(
        cells,
        ["2026-W10", "stop", "2", "1", "0", "1", "0", "67", "%"],
        "{stop}"
    );

    // Bad input gets a clear error.
    run(&["--weeks", "0"])
        .expect_code(2)
        .stderr_has("--weeks 0 is outside 1 to 520");
    let missing = tmp.path().join("none.sqlite");
    Out::of(in_home(
        &mut command(["voice-report", "--db", missing.to_str().unwrap()]),
        tmp.path(),
    ))
    .expect_code(2)
    .stderr_has("no journal here yet");
}

#[test]
fn keep_misses_settings_are_validated_with_the_field_named() {
    let ok = Config::parse(
        Path::new("c.toml"),
        "[voice]\nkeep_misses = true\nkeep_misses_days = 30\nkeep_misses_max_mb = 200\n",
    )
    .unwrap()
    .0;
    assert!(ok.voice.keep_misses);
    assert!(!Config::default().voice.keep_misses, "off by default");
    // (text, the field named, the line)
    let cases = [
        (
            "[voice]\nkeep_misses_days = 0\n",
            "voice.keep_misses_days",
            2,
        ),
        (
            "[voice]\n\nkeep_misses_days = 400\n",
            "voice.keep_misses_days",
            3,
        ),
        (
            "[voice]\nkeep_misses_max_mb = 0\n",
            "voice.keep_misses_max_mb",
            2,
        ),
        ("[voice]\nkeep_misses = \"yes\"\n", "invalid type", 2),
    ];
    for (text, named, line) in cases {
        let e = Config::parse(Path::new("c.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(e.contains(named), "{text}: {e}");
        assert!(e.starts_with(&format!("c.toml:{line}:")), "{text}: {e}");
        assert!(e.contains("fix: "), "{text}: {e}");
    }
}

/// A kept clip of "stop" that was missed then: the sidecar says no command
/// fired; today's pipeline hears it.
#[cfg(feature = "voice-pocketsphinx")]
#[test]
fn hear_replays_a_kept_clip_beside_what_was_heard_then() {
    let stop = say("stop");
    // 10 s: 2 s of quiet, the word, quiet; in faint noise.
    let mut audio = vec![0.0f32; 32_000];
    audio.extend(&stop);
    audio.resize(160_000, 0.0);
    let faint = voice_data::noise(audio.len(), voice_data::FAINT_NOISE_RMS, false, 5);
    let mic = matcoach::audio::resample::to_i16(
        &audio
            .iter()
            .zip(&faint)
            .map(|(s, n)| s + n)
            .collect::<Vec<_>>(),
    );
    let home = tempfile::tempdir().unwrap();
    let folder = misses_in(home.path());
    let snap = field::Snapshot {
        heard: mic.clone(),
        reference: vec![0; mic.len()],
        mic,
        results: vec![field::HeardWords {
            at_ms: 2600,
            is_final: true,
            words: vec![field::HeardWord {
                text: "[unk]".into(),
                conf: Some(0.31),
                start_ms: Some(2000),
                end_ms: Some(2400),
            }],
        }],
        commands: Vec::new(),
    };
    let sidecar = Sidecar {
        what: "the button did what \"stop\" does, 1.5 s after the user spoke and no spoken command acted".into(),
        time: "2026-03-04T09:00:00".into(),
        engine: "pocketsphinx".into(),
        model: "/usr/share/pocketsphinx/model/en-us (Debian)".into(),
        ..miss(Command::Stop)
    };
    let at = day("2026-03-04")
        .at_midnight()
        .plus(Duration::from_secs(9 * 3600));
    let wav = folder.keep(at, sidecar, &snap).unwrap();
    let out = hear(&wav, home.path()).ok();
    let heard = out.json_lines();
    assert_eq!(heard.len(), 1, "{}", out.show());
    assert_eq!(heard[0]["command"], "stop", "{}", out.show());
    let err = &out.stderr;
    assert!(
        err.contains("kept clip: miss of \"stop\" at 2026-03-04T09:00:00 (pocketsphinx"),
        "{}",
        out.show()
    );
    assert!(
        err.contains("then: no command; the recogniser's results: \"[unk] 0.31\" at 2.6 s"),
        "{}",
        out.show()
    );
    let now = err
        .lines()
        .find(|l| l.trim_start().starts_with("now:"))
        .unwrap_or_else(|| panic!("{}", out.show()));
    assert!(now.contains("stop (\"stop\", 2."), "{now}");

    // A broken clip: the file is named, with a fix for `hear`.
    let bad = home.path().join("misses").join("broken.wav");
    std::fs::write(&bad, b"RIFF not really").unwrap();
    let out = hear(&bad, home.path()).expect_code(2);
    assert!(
        out.stderr.contains(&bad.display().to_string()),
        "{}",
        out.show()
    );
    assert!(
        out.stderr.contains("fix: give `hear` a PCM WAV recording"),
        "{}",
        out.show()
    );
    assert!(!out.stderr.contains("synthesised voice"), "{}", out.show());
}

#[test]
fn doctor_says_whether_clips_are_kept_and_how_much() {
    use matcoach::doctor::{kept_clips, Status};
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("journal.sqlite");
    let mut config = Config::default();
    let off = kept_clips(&config, Some(&db));
    assert_eq!(off.status, Status::Skipped, "{off:?}");
    assert!(off.detail.contains("keep_misses = false"), "{off:?}");
    config.voice.keep_misses = true;
    let folder = Folder::beside(&db, &config.voice);
    let snap = field::Snapshot {
        mic: vec![0; 16_000],
        heard: vec![0; 16_000],
        reference: vec![0; 16_000],
        results: Vec::new(),
        commands: Vec::new(),
    };
    folder
        .keep(matcoach::journal::local_now(), miss(Command::Pause), &snap)
        .unwrap();
    let on = kept_clips(&config, Some(&db));
    assert_eq!(on.status, Status::Note, "{on:?}");
    for part in [
        "keep_misses is on",
        "1 clip (0.1 of 50 MB)",
        "deleted after 14 days",
        &folder.dir.display().to_string(),
    ] {
        assert!(on.detail.contains(part), "{part}: {on:?}");
    }
    assert!(on.fix.unwrap().contains("to delete them: remove"));
    // Switched off with clips left from before: said, with how to delete.
    config.voice.keep_misses = false;
    let left = kept_clips(&config, Some(&db));
    assert_eq!(left.status, Status::Note, "{left:?}");
    assert!(left.detail.contains("1 clip kept before"), "{left:?}");
}

/// Records what the session journals.
struct Kept(Vec<JournalEvent>);

impl matcoach::devices::Journal for Kept {
    fn record(&mut self, _at: Duration, event: &JournalEvent) {
        self.0.push(event.clone());
    }
}

struct NoLed;

impl matcoach::devices::Indicator for NoLed {
    fn set(&mut self, _: matcoach::session::Led) {}
}

/// Tells the detector every input, as the daemon's hooks do.
struct Told(field::Sink);

impl matcoach::session_loop::Hooks for Told {
    fn input(&mut self, input: Input) -> Input {
        field::tell(&self.0, Event::Input(input));
        input
    }
}

/// A real session of "quick" in the tokio shell (virtual time), with the
/// daemon's tees: the detector's notes for the scripted inputs and what
/// the listening thread would have told it.
/// Inputs for the session loop (Ok) and what the listening thread tells
/// the detector (Err), at ms from the start.
type Script = Vec<(u64, Result<Input, Event>)>;

/// The detector's notes, as (kind, command).
type Notes = Vec<(Kind, Command)>;

async fn coached(script: Script) -> Notes {
    use matcoach::session_loop::{self, PacedSpeaker};
    let content = common::content();
    let cfg = matcoach::session::SessionConfig::default();
    let program = content.program("quick").unwrap();
    let compiled = matcoach::session::compile(
        content,
        program,
        matcoach::content::Lang::En,
        &cfg,
        &std::collections::HashMap::<String, u32>::new(),
    )
    .unwrap();
    let mut session = matcoach::session::Session::new(
        compiled,
        cfg,
        content.phrases.clone(),
        content.safety.clone(),
    );
    let (events_tx, events_rx) = std::sync::mpsc::channel();
    let sink: field::Sink = Some(events_tx);
    let (tx, mut rx) = tokio::sync::mpsc::channel(session_loop::INPUT_QUEUE);
    let mut paced = PacedSpeaker::spawn(tx.clone(), |_| {});
    let t0 = tokio::time::Instant::now();
    let feeder = sink.clone();
    tokio::spawn(async move {
        for (at, what) in script {
            tokio::time::sleep_until(t0 + Duration::from_millis(at)).await;
            match what {
                Ok(input) => {
                    if tx.send(input).await.is_err() {
                        return;
                    }
                }
                // What the listening thread tells, straight to the detector.
                Err(event) => field::tell(&feeder, event),
            }
        }
    });
    let mut kept = Kept(Vec::new());
    let mut journal = field::JournalTee {
        inner: &mut kept,
        sink: sink.clone(),
    };
    let mut speaker = field::SpeakerTee {
        inner: &mut paced,
        sink: sink.clone(),
    };
    let mut hooks = Told(sink.clone());
    session_loop::run_with(
        &mut session,
        &mut speaker,
        &mut NoLed,
        &mut journal,
        &mut rx,
        &[],
        &mut hooks,
    )
    .await;
    drop((hooks, speaker, journal, sink));
    let stamped: Vec<(Instant, Event)> = events_rx.try_iter().collect();
    let start = stamped.first().map(|e| e.0).unwrap();
    let events: Vec<(Duration, Event)> = stamped
        .into_iter()
        .map(|(at, e)| (at.saturating_duration_since(start), e))
        .collect();
    field::notes(&events, &field::Rules::default())
        .iter()
        .map(|n| (n.kind, n.command))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_real_session_gives_the_detector_what_it_needs() {
    use Input::{ButtonPressed as Down, ButtonReleased as Up};
    let speech = || Err(Event::Speech { ms: 400 });
    let press = |at: u64| [(at, Ok(Down)), (at + 150, Ok(Up))];
    // (case, the script in ms, the notes)
    let cases: Vec<(&str, Script, Notes)> = vec![
        (
            "stop heard, resumed with the button 3 s later; then speech and a pause press; then a long press",
            [
                press(0).to_vec(),
                vec![
                    (
                        29_900,
                        Err(Event::Detected {
                            command: Command::Stop,
                            word: "stop".into(),
                            confidence: 0.7,
                        }),
                    ),
                    (30_000, Ok(Input::Heard(Command::Stop))),
                ],
                press(33_000).to_vec(),
                vec![(59_000, speech())],
                press(60_000).to_vec(),
                vec![(90_000, Ok(Down)), (93_000, Ok(Up))],
            ]
            .concat(),
            vec![
                (Kind::Heard, Command::Stop),
                (Kind::FalseAccept, Command::Stop),
                (Kind::Miss, Command::Pause),
            ],
        ),
        (
            "speech at the first get-ready, then the press; later speech and a long press",
            [
                press(0).to_vec(),
                vec![(19_000, speech())],
                press(20_000).to_vec(),
                press(40_000).to_vec(),
                vec![(60_000, speech()), (61_000, Ok(Down)), (64_000, Ok(Up))],
            ]
            .concat(),
            vec![(Kind::Miss, Command::Next), (Kind::Miss, Command::Stop)],
        ),
    ];
    for (name, script, want) in cases {
        assert_eq!(coached(script).await, want, "{name}");
    }
}

/// A kept clip with the coach's playback beside it: `hear` cancels the
/// coach's own "continue" with it, as the daemon did, and hears only the
/// user's "stop"; without it, the coach's word is heard too.
#[cfg(feature = "voice-pocketsphinx")]
#[test]
fn hear_replays_a_kept_clip_with_its_playback() {
    let (cont, stop) = (say("continue"), say("stop"));
    // 10 s: the coach says "continue" at 2 s; the user says "stop" at 5 s.
    let mut played = vec![0.0f32; 32_000];
    played.extend(&cont);
    played.resize(160_000, 0.0);
    let mut user = vec![0.0f32; 80_000];
    user.extend(&stop);
    user.resize(160_000, 0.0);
    let faint = voice_data::noise(160_000, voice_data::FAINT_NOISE_RMS, false, 9);
    // The coach through the room: 30 ms later, at half the level.
    let mic: Vec<f32> = (0..160_000)
        .map(|i| {
            let echo = if i >= 480 { played[i - 480] * 0.5 } else { 0.0 };
            echo + user[i] + faint[i]
        })
        .collect();
    let to16 = matcoach::audio::resample::to_i16;
    let snap = field::Snapshot {
        mic: to16(&mic),
        heard: to16(&user),
        reference: to16(&played),
        results: Vec::new(),
        commands: Vec::new(),
    };
    let home = tempfile::tempdir().unwrap();
    let folder = misses_in(home.path());
    let sidecar = Sidecar {
        what: "test".into(),
        time: "2026-03-04T09:00:00".into(),
        engine: "pocketsphinx".into(),
        model: "m".into(),
        ..miss(Command::Pause)
    };
    let at = day("2026-03-04").at_midnight();
    let wav = folder.keep(at, sidecar, &snap).unwrap();
    let replay = || hear(&wav, home.path()).ok();
    let commands = |out: &Out| {
        out.json_lines()
            .iter()
            .map(|d| d["command"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let with = replay();
    assert!(
        with.stderr
            .contains("with the coach's playback kept beside it"),
        "{}",
        with.show()
    );
    assert_eq!(commands(&with), ["stop"], "{}", with.show());
    // Without the playback file, the coach's own word is heard as well.
    let side = Sidecar::of(&wav).unwrap().unwrap();
    std::fs::remove_file(folder.dir.join(side.playback.unwrap())).unwrap();
    let without = replay();
    assert_eq!(commands(&without), ["resume", "stop"], "{}", without.show());
}
