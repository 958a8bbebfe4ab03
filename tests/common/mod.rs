//! The shared test kit, used by every integration test (`mod common;`):
//! the real content, sessions built from it, and queries over what a
//! simulated session did; below, one module a subject.
#![allow(dead_code)]

/// Running the real binary, and a sound card made of files.
pub mod bin_support;
/// Histories across boots of a Pi whose clock may be wrong.
pub mod clock;
/// A scratch copy of the content to break one thing in; text positions.
pub mod fixtures;
/// Generators for the property tests of outside data.
pub mod fuzz;
/// Journals opened for a test; plain days and days with pain.
pub mod journal_days;
/// Simulated days written to a journal; a tmpfs.
pub mod journal_support;
/// The one seeded random generator, and noise.
pub mod rng;
/// A simulated room: echo, reverberation, a talker, noise.
pub mod room;
/// The coach heard through a room by the real pipeline (self-trigger,
/// barge-in).
#[cfg(feature = "voice-aec")]
pub mod selftrigger;
/// The real binary under strace, killed at its Nth write or fsync.
pub mod strace;
/// A program of our own in a scratch copy of the content.
pub mod trial_program;
/// Spoken command words rendered by real synthesisers, in noise.
pub mod voice_data;
/// WAV files, and audio to and from 16 kHz.
pub mod wav;

use matcoach::content::{self, Content, Lang};
use matcoach::session::{self, Action, EndReason, JournalEvent, Led, Session, SessionConfig};
use matcoach::sim::{self, Record, ScriptedEvent, UserAction};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// Wait (up to 10 s of wall time) until an output reports playback `id`
/// finished on `rx`.
pub fn wait_finished(
    rx: &mut tokio::sync::mpsc::Receiver<session::Input>,
    id: session::PlaybackId,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match rx.try_recv() {
            Ok(session::Input::PlaybackFinished(done)) if done == id => return,
            Ok(_) => {}
            Err(_) if std::time::Instant::now() > deadline => panic!("{id:?} never finished"),
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// The environment variable under which a test that lacks what it needs
/// fails instead of skipping: scripts/test (so CI) sets it.
pub const REQUIRE_VAR: &str = "MATCOACH_REQUIRE_TEST_MODELS";

/// A test cannot run here for want of `what` (a model, the seed
/// brochures, root for a tmpfs): in a developer's plain `cargo test` it
/// says so and the caller skips; under scripts/test ([`REQUIRE_VAR`] set)
/// it fails, naming what is missing and `fix`, so CI cannot pass without
/// running it.
pub fn missing(what: &str, fix: &str) {
    if std::env::var_os(REQUIRE_VAR).is_some() {
        panic!("this test needs {what}, and {REQUIRE_VAR} is set\n  fix: {fix}");
    }
    eprintln!("NOTE: skipped: {what} is missing here ({fix})");
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn content() -> &'static Content {
    static CONTENT: OnceLock<Content> = OnceLock::new();
    CONTENT.get_or_init(|| match content::load_dir(&root().join("content")) {
        Ok(c) => c,
        Err(e) => panic!("the shipped content must load:\n{e}"),
    })
}

pub fn session_with(program: &str, lang: Lang, cfg: SessionConfig) -> Session {
    let c = content();
    let p = c
        .program(program)
        .unwrap_or_else(|| panic!("no program {program}"));
    let script = session::compile(c, p, lang, &cfg, &()).unwrap();
    Session::new(script, cfg, c.phrases.clone(), c.safety.clone())
}

pub fn session(program: &str, lang: Lang) -> Session {
    session_with(program, lang, SessionConfig::default())
}

pub const LIMIT: Duration = Duration::from_secs(6 * 3600);

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn press_at(at: Duration) -> ScriptedEvent {
    ScriptedEvent {
        at,
        what: UserAction::Press,
    }
}

pub fn press(at: Duration) -> ScriptedEvent {
    press_at(at)
}

pub fn long_press(at: Duration) -> ScriptedEvent {
    ScriptedEvent {
        at,
        what: UserAction::LongPress,
    }
}

pub fn heard(at: Duration, c: matcoach::Command) -> ScriptedEvent {
    ScriptedEvent {
        at,
        what: UserAction::Heard(c),
    }
}

/// The uninterrupted run of a program.
pub fn plan(program: &str, lang: Lang) -> Run {
    let mut s = session(program, lang);
    Run(sim::run(&mut s, &[press_at(Duration::ZERO)], LIMIT))
}

pub fn simulate(program: &str, lang: Lang, events: &[ScriptedEvent]) -> Run {
    let mut s = session(program, lang);
    Run(sim::run(&mut s, events, LIMIT))
}

pub fn simulate_spec(program: &str, lang: Lang, spec: &str) -> Run {
    simulate(program, lang, &sim::parse_spec(spec).unwrap())
}

/// What a simulated session did, with queries for assertions.
#[derive(Debug, Clone)]
pub struct Run(pub Vec<Record>);

impl Run {
    /// Times at which a phrase whose id starts with `prefix` was said.
    pub fn said(&self, prefix: &str) -> Vec<Duration> {
        self.0
            .iter()
            .filter_map(|r| match &r.action {
                Action::Speak { line, .. } if line.id.0.starts_with(prefix) => Some(r.t),
                _ => None,
            })
            .collect()
    }

    /// What was said from `t` on: time, phrase id and priority.
    pub fn speaks_from(&self, t: Duration) -> Vec<(Duration, String, session::Priority)> {
        self.0
            .iter()
            .filter(|r| r.t >= t)
            .filter_map(|r| match &r.action {
                Action::Speak { line, priority, .. } => Some((r.t, line.id.0.clone(), *priority)),
                _ => None,
            })
            .collect()
    }

    /// Times at which exactly the phrase `id` was said.
    pub fn said_id(&self, id: &str) -> Vec<Duration> {
        self.0
            .iter()
            .filter_map(|r| match &r.action {
                Action::Speak { line, .. } if line.id.0 == id => Some(r.t),
                _ => None,
            })
            .collect()
    }

    pub fn first_said(&self, prefix: &str) -> Duration {
        *self
            .said(prefix)
            .first()
            .unwrap_or_else(|| panic!("nothing said with id {prefix}:\n{}", self.dump()))
    }

    /// Phrase ids in order.
    pub fn phrases(&self) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|r| match &r.action {
                Action::Speak { line, .. } => Some(line.id.0.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn texts(&self) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|r| match &r.action {
                Action::Speak { line, .. } => Some(line.text.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn journal(&self) -> Vec<(Duration, JournalEvent)> {
        self.0
            .iter()
            .filter_map(|r| match &r.action {
                Action::Journal(e) => Some((r.t, e.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn leds(&self) -> Vec<Led> {
        self.0
            .iter()
            .filter_map(|r| match &r.action {
                Action::SetLed(l) => Some(*l),
                _ => None,
            })
            .collect()
    }

    pub fn stops(&self) -> Vec<Duration> {
        self.0
            .iter()
            .filter(|r| r.action == Action::StopSpeech)
            .map(|r| r.t)
            .collect()
    }

    pub fn end(&self) -> Option<(Duration, EndReason)> {
        self.0.iter().find_map(|r| match r.action {
            Action::End(reason) => Some((r.t, reason)),
            _ => None,
        })
    }

    pub fn started(&self) -> Vec<String> {
        self.journal()
            .into_iter()
            .filter_map(|(_, e)| match e {
                JournalEvent::ExerciseStarted { exercise } => Some(exercise),
                _ => None,
            })
            .collect()
    }

    /// Everything, one line per record, for failure messages.
    pub fn dump(&self) -> String {
        self.0
            .iter()
            .map(|r| r.to_json().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Where Vosk's model for `lang` is for the tests that need one:
/// `MATCOACH_VOSK_MODEL_EN` / `MATCOACH_VOSK_MODEL_NL`, else where
/// `matcoach setup-model --lang LANG` puts it for this user. Panics, saying
/// how to get it, when there is none.
pub fn vosk_model_dir(lang: Lang) -> PathBuf {
    let var = match lang {
        Lang::En => "MATCOACH_VOSK_MODEL_EN",
        Lang::Nl => "MATCOACH_VOSK_MODEL_NL",
    };
    let dir = match std::env::var_os(var) {
        Some(d) => PathBuf::from(d),
        None => matcoach::hearing::installer::model_dir(&matcoach::config::Voice::default(), lang),
    };
    assert!(
        dir.is_dir(),
        "no Vosk model for {lang} at {}: run `matcoach setup-model --lang {lang}`, or set {var} \
         to a model directory",
        dir.display()
    );
    dir
}
