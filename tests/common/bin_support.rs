//! Running the real `matcoach` binary from a test: the command, run from
//! the checkout, and what came out of it with the assertions the command
//! line tests share.
#![allow(dead_code)]

use serde_json::Value;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_matcoach");

/// `matcoach ARGS`, run in the checkout (so `content/` and `config/` are
/// where the defaults look).
pub fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(BIN);
    // The log's form and level are the test's to set, not the runner's
    // (a runner under systemd passes JOURNAL_STREAM on).
    c.current_dir(super::root())
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("JOURNAL_STREAM");
    c
}

/// A private HOME for `c`: ALSA reads its `.asoundrc` there, and the
/// speech cache and the journal go below it.
pub fn in_home<'a>(c: &'a mut Command, home: &Path) -> &'a mut Command {
    c.env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
}

/// Give ALSA in `home` a default device that is a sink keeping nothing
/// (the `null` PCM): for a daemon left running (the file PCM of
/// [`fake_sound_card`] runs unpaced and would fill the disk).
pub fn null_sound_card(home: &Path) {
    std::fs::write(home.join(".asoundrc"), "pcm.!default {\n  type null\n}\n").unwrap();
}

/// Give ALSA in `home` (through its `.asoundrc`) a sound card made of
/// files: the default device plays into `home/speaker.raw` and records
/// from `mic` (16-bit mono 48 kHz samples, written to `home/mic.raw`).
pub fn fake_sound_card(home: &Path, mic: &[i16]) {
    let raw: Vec<u8> = mic.iter().flat_map(|s| s.to_le_bytes()).collect();
    sound_card_of_files(home, &raw, true);
}

/// The sound card of [`fake_sound_card`] with the microphone's file as raw
/// bytes: behind ALSA's `plug` (`plug`: 16-bit mono 48 kHz, converted to
/// what the reader opens), or read directly in the format the reader opens
/// the file PCM with (which then arrives sample for sample: `plug` in front
/// of a file PCM reads the file faster than it delivers the audio).
pub fn sound_card_of_files(home: &Path, mic_raw: &[u8], plug: bool) {
    std::fs::write(home.join("mic.raw"), mic_raw).unwrap();
    let capture = if plug { "mic" } else { "micfile" };
    std::fs::write(
        home.join(".asoundrc"),
        format!(
            r#"pcm.!default {{
  type asym
  playback.pcm "speaker"
  capture.pcm "{capture}"
}}
pcm.speaker {{
  type file
  slave.pcm "null"
  file "{d}/speaker.raw"
  format "raw"
}}
pcm.mic {{
  type plug
  slave {{
    pcm "micfile"
    format S16_LE
    channels 1
    rate 48000
  }}
}}
pcm.micfile {{
  type file
  slave.pcm "null"
  file "/dev/null"
  infile "{d}/mic.raw"
  format "raw"
}}
"#,
            d = home.display()
        ),
    )
    .unwrap();
}

/// What a run of the binary gave.
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Run `c` to its end.
    pub fn of(c: &mut Command) -> Out {
        let o = c.output().expect("run matcoach");
        Out {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Run `c` to its end with its stderr in the file `stderr` and, when
    /// `journal` is true, `JOURNAL_STREAM` naming that file's device and
    /// inode, as systemd names the journal's stream it connects.
    pub fn of_journal(c: &mut Command, stderr: &Path, journal: bool) -> Out {
        use std::os::unix::fs::MetadataExt;
        let file = std::fs::File::create(stderr).unwrap();
        let meta = file.metadata().unwrap();
        if journal {
            c.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
        }
        let o = c.stderr(file).output().expect("run matcoach");
        Out {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: std::fs::read_to_string(stderr).unwrap(),
        }
    }

    /// Everything, for an assertion's message.
    pub fn show(&self) -> String {
        format!(
            "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Exit code `code`, and no panic.
    pub fn expect_code(self, code: i32) -> Out {
        assert_eq!(self.code, Some(code), "{}", self.show());
        assert!(!self.stderr.contains("panicked"), "{}", self.show());
        self
    }

    /// Exit code 0, and no panic.
    pub fn ok(self) -> Out {
        self.expect_code(0)
    }

    pub fn stderr_has(self, fragment: &str) -> Out {
        assert!(
            self.stderr.contains(fragment),
            "stderr lacks {fragment:?}\n{}",
            self.show()
        );
        self
    }

    /// Stdout as one JSON value.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.show()))
    }

    /// Every stdout line as JSON.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{}", self.show()))
            })
            .collect()
    }

    /// Every stdout line as a session record: JSON with `t_ms` and `action`.
    pub fn records(&self) -> Vec<Value> {
        let lines = self.json_lines();
        for v in &lines {
            assert!(v["t_ms"].is_u64(), "no t_ms: {v}");
            assert!(v["action"].is_string(), "no action: {v}");
        }
        lines
    }
}
