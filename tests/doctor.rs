//! `matcoach doctor`, run as the real binary with a private HOME: its
//! `.asoundrc` gives ALSA a speaker (a `file` PCM) and a microphone (a
//! `file` PCM reading a prepared recording) instead of a sound card.
#![cfg(feature = "speaker-rodio")]

mod common;
use common::bin_support;

use bin_support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

use common::root;

/// A private HOME whose ALSA default plays into a file and records from
/// `mic` (16-bit mono 48 kHz samples).
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(mic: &[i16]) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fake_sound_card(d, mic);
        Home { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A config with the journal and models in this HOME, plus `extra`
    /// (TOML, appended). The companion page listens on loopback unless
    /// `extra` says otherwise: the default (every address) would make the
    /// verdict depend on this machine's addresses (a CI runner's may be
    /// public); the pure check has its own table in `src/doctor.rs`.
    fn config(&self, extra: &str) -> PathBuf {
        let p = self.path().join("matcoach.toml");
        let web = if extra.contains("[web]") {
            ""
        } else {
            "[web]\nlisten = \"127.0.0.1:8080\"\n"
        };
        std::fs::write(
            &p,
            format!(
                "[journal]\npath = \"{d}/data/journal.sqlite\"\n{web}{extra}",
                d = self.path().display()
            ),
        )
        .unwrap();
        p
    }

    fn doctor(&self, config: &Path, args: &[&str]) -> Out {
        let mut c = command(["--config"]);
        c.arg(config)
            .arg("--content")
            .arg(root().join("content"))
            .arg("doctor")
            .args(args);
        let out = Out::of(in_home(&mut c, self.path()));
        assert!(!out.stderr.contains("panicked"), "{}", out.show());
        out
    }
}

impl Out {
    /// The check called `name`, from `--json` output.
    fn check(&self, name: &str) -> Value {
        self.json()["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == name).cloned())
            .unwrap_or_else(|| panic!("no check {name:?}\n{}", self.show()))
    }
}

/// Speech-like: a 300 Hz tone at amplitude 0.3, 10 s.
fn voice() -> Vec<i16> {
    (0..480_000)
        .map(|i| {
            let t = i as f32 / 48_000.0;
            ((2.0 * std::f32::consts::PI * 300.0 * t).sin() * 0.3 * 32767.0) as i16
        })
        .collect()
}

#[test]
fn the_audio_checks_pass_on_working_devices() {
    let home = Home::new(&voice());
    let config = home.config("");
    let out = home.doctor(&config, &["--json", "--tone", "--listen-secs", "1"]);
    let output = out.check("audio output");
    assert_eq!(output["status"], "ok", "{}", out.show());
    assert!(
        output["detail"]
            .as_str()
            .unwrap()
            .contains("a test tone played"),
        "{}",
        out.show()
    );
    assert!(
        std::fs::metadata(home.path().join("speaker.raw")).is_ok_and(|m| m.len() > 0),
        "the tone reached the speaker"
    );
    assert_eq!(out.check("audio input")["status"], "ok", "{}", out.show());
    let level = out.check("microphone level");
    assert_eq!(level["status"], "ok", "{}", out.show());
    // The recording's sine of amplitude 0.3: peak about -10.5 dBFS.
    let detail = level["detail"].as_str().unwrap();
    assert!(detail.contains("peak -10."), "{detail}");
    assert!(detail.contains("over 1.0 s"), "{detail}");
    assert!(
        out.stderr.contains("say something now"),
        "the user is told when to speak\n{}",
        out.show()
    );
}

#[test]
fn everything_in_order_exits_zero() {
    // No listening (this build may have no recogniser), no GPIO.
    let home = Home::new(&voice());
    let config = home.config("[voice]\nenabled = false\n");
    let out = home.doctor(&config, &[]).expect_code(0);
    assert!(out.stdout.ends_with("all good\n"), "{}", out.show());
    for name in ["config", "content", "speech", "audio output", "journal"] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.split("  ").any(|w| w.trim() == name))
            .unwrap_or_else(|| panic!("no line for {name}\n{}", out.show()));
        assert!(line.starts_with("OK "), "{line}");
    }
    assert!(out.stdout.contains("SKIPPED   gpio"), "{}", out.show());
    assert!(out.stdout.contains("disk space"), "{}", out.show());
}

#[test]
fn a_bogus_output_device_is_named_with_the_fix() {
    let home = Home::new(&voice());
    let config =
        home.config("[audio]\noutput_device = \"bogus-speaker\"\n[voice]\nenabled = false\n");
    let out = home.doctor(&config, &[]).expect_code(1);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("PROBLEM") && l.contains("audio output"))
        .unwrap_or_else(|| panic!("no audio output problem\n{}", out.show()));
    assert!(line.contains("\"bogus-speaker\" not found"), "{line}");
    assert!(
        out.stdout
            .contains("fix: set audio.output_device to one of these (see `matcoach devices`)"),
        "{}",
        out.show()
    );
    assert!(
        out.stdout.ends_with("1 problem, 0 warnings\n"),
        "{}",
        out.show()
    );
}

/// A doctor run with no Vosk model installed, in `lang`.
fn without_vosk_model(home: &Home, lang: &str) -> (Out, PathBuf) {
    let models = home.path().join("no-models");
    // `language` is a top-level key: before the first table.
    let config = home.path().join(format!("{lang}.toml"));
    std::fs::write(
        &config,
        format!(
            "language = \"{lang}\"\n[journal]\npath = \"{d}/j.sqlite\"\n[voice]\nmodels_dir = \"{m}\"\n",
            d = home.path().display(),
            m = models.display()
        ),
    )
    .unwrap();
    let out = home.doctor(&config, &["--json", "--no-mic-test"]);
    (out, models)
}

#[test]
fn a_missing_model_is_a_problem_with_the_setup_model_hint() {
    let home = Home::new(&voice());
    let (out, models) = without_vosk_model(&home, "nl");
    let out = out.expect_code(1);
    let c = out.check("speech recognition");
    assert_eq!(c["status"], "problem", "{}", out.show());
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("{}/vosk-model-small-nl-0.22", models.display())),
        "{detail}"
    );
    assert!(
        c["fix"]
            .as_str()
            .unwrap()
            .contains("matcoach setup-model --lang nl"),
        "{c}"
    );
    assert_eq!(out.check("microphone level")["status"], "skipped");
    assert_eq!(out.json()["ok"], false);
}

/// English without Vosk's model is heard by PocketSphinx (Debian's model):
/// a warning that says so, with the hint for Vosk.
#[cfg(feature = "voice-pocketsphinx")]
#[test]
fn english_without_a_vosk_model_is_heard_by_pocketsphinx() {
    let home = Home::new(&voice());
    let (out, _) = without_vosk_model(&home, "en");
    let c = out.check("speech recognition");
    assert_eq!(c["status"], "warn", "{}", out.show());
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(
            "listening with pocketsphinx instead of vosk (no speech-recognition model for en"
        ),
        "{detail}"
    );
    assert!(
        c["fix"]
            .as_str()
            .unwrap()
            .contains("matcoach setup-model --lang en"),
        "{c}"
    );
}

#[test]
fn a_bad_config_is_a_problem_at_its_file_and_line() {
    let home = Home::new(&voice());
    let config = home.path().join("bad.toml");
    std::fs::write(
        &config,
        "[voice]\nenabled = false\n[audio]\nvolume = \"loud\"\n",
    )
    .unwrap();
    let out = home.doctor(&config, &["--json"]).expect_code(1);
    let c = out.check("config");
    assert_eq!(c["status"], "problem");
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!("{}:4:", config.display())),
        "{detail}"
    );
    assert!(c["fix"].as_str().is_some_and(|f| !f.is_empty()), "{c}");
}

#[test]
fn unknown_config_keys_are_a_warning_only() {
    let home = Home::new(&voice());
    let config = home.config("[voice]\nenabled = false\n[audio]\nvolumme = 0.5\n");
    let out = home.doctor(&config, &["--json"]).expect_code(0);
    let c = out.check("config");
    assert_eq!(c["status"], "warn");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("unknown key `audio.volumme`"),
        "{c}"
    );
}

#[test]
fn a_silent_microphone_is_a_problem() {
    let home = Home::new(&vec![0; 480_000]);
    let config = home.config("");
    let out = home
        .doctor(&config, &["--json", "--listen-secs", "1"])
        .expect_code(1);
    let c = out.check("microphone level");
    assert_eq!(c["status"], "problem", "{}", out.show());
    assert!(c["detail"].as_str().unwrap().starts_with("silent"), "{c}");
    assert!(c["fix"].as_str().unwrap().contains("muted"), "{c}");
}

#[test]
fn listen_secs_out_of_range_is_refused() {
    let home = Home::new(&voice());
    let config = home.config("");
    let out = home.doctor(&config, &["--listen-secs", "0"]).expect_code(2);
    assert!(out.stderr.contains("--listen-secs"), "{}", out.show());
}

/// A default device that names a PCM ALSA does not know: alsa-lib would
/// print its own "ALSA lib pcm.c:…" lines at every attempt. matcoach says
/// what failed itself, so those are silenced unless MATCOACH_ALSA_ERRORS=1.
#[test]
fn alsa_lib_s_own_messages_are_silenced_unless_asked_for() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".asoundrc"),
        "pcm.!default \"no-such-pcm\"\n",
    )
    .unwrap();
    for (keep, printed) in [(None, false), (Some("1"), true)] {
        let mut c = command(["doctor", "--no-mic-test"]);
        in_home(&mut c, home.path());
        match keep {
            Some(v) => c.env("MATCOACH_ALSA_ERRORS", v),
            None => c.env_remove("MATCOACH_ALSA_ERRORS"),
        };
        let out = Out::of(&mut c).expect_code(1);
        assert!(out.stdout.contains("audio output"), "{}", out.show());
        assert!(
            out.stdout
                .contains("audio output device \"default\" cannot be opened"),
            "{}",
            out.show()
        );
        assert_eq!(
            out.stderr.contains("ALSA lib") || out.stdout.contains("ALSA lib"),
            printed,
            "MATCOACH_ALSA_ERRORS={keep:?}\n{}",
            out.show()
        );
    }
}

/// Issue 13: the red flags are printed, as the project's own advice, in the
/// text output and in `--json`, in the configured language; a note is not a
/// problem or a warning.
#[test]
fn the_red_flags_are_printed() {
    let home = Home::new(&voice());
    let config = home.config("[voice]\nenabled = false\n");
    let out = home.doctor(&config, &[]).expect_code(0);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("NOTE") && l.contains("red flags"))
        .unwrap_or_else(|| panic!("no red flags\n{}", out.show()));
    assert!(line.contains("the project's own advice"), "{line}");
    for w in [
        "numbness",
        "bladder",
        "weakness in a leg",
        "fever",
        "see a doctor today",
    ] {
        assert!(out.stdout.contains(w), "{w:?}\n{}", out.show());
    }
    assert!(out.stdout.ends_with("all good\n"), "{}", out.show());
    let json = home.doctor(&config, &["--json"]);
    let flags = json.check("red flags");
    assert_eq!(flags["status"], "note");
    assert!(flags["detail"].as_str().unwrap().contains("numbness"));
    let dutch = home.path().join("nl.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&dutch, format!("language = \"nl\"\n{text}")).unwrap();
    let nl = home.doctor(&dutch, &[]);
    assert!(
        nl.stdout.contains("vandaag nog naar een arts"),
        "{}",
        nl.show()
    );
}
