//! The log through the real binary: a warning (an unknown key in the
//! config) reaches stderr as `matcoach: warning: …`, or with the journal's
//! priority `<4>` when stderr is the stream systemd names in
//! JOURNAL_STREAM; RUST_LOG, else the config's `[log] level`, hides it.

mod common;
use common::bin_support::{command, in_home, Out};
use std::ffi::OsStr;

/// What JOURNAL_STREAM says.
#[derive(Clone, Copy, Debug)]
enum Stream {
    /// Not set: a terminal or a pipe.
    Unset,
    /// The device and inode of the process's stderr, as under systemd.
    Stderr,
    /// Set, but for another stream (inherited by a child that writes
    /// elsewhere).
    Other,
}

struct Case {
    name: &'static str,
    config_level: Option<&'static str>,
    rust_log: Option<&'static str>,
    stream: Stream,
    /// The warning's line, or None when it must not show.
    want: Option<&'static str>,
}

const WARNING: &str = "unknown key `languag` is ignored";

const CASES: &[Case] = &[
    Case {
        name: "plain on a terminal",
        config_level: None,
        rust_log: None,
        stream: Stream::Unset,
        want: Some("matcoach: warning: "),
    },
    Case {
        name: "with the priority under journald",
        config_level: None,
        rust_log: None,
        stream: Stream::Stderr,
        want: Some("<4>"),
    },
    Case {
        name: "plain when JOURNAL_STREAM names another stream",
        config_level: None,
        rust_log: None,
        stream: Stream::Other,
        want: Some("matcoach: warning: "),
    },
    Case {
        name: "RUST_LOG=error hides it",
        config_level: None,
        rust_log: Some("error"),
        stream: Stream::Unset,
        want: None,
    },
    Case {
        name: "RUST_LOG=error hides it under journald",
        config_level: None,
        rust_log: Some("error"),
        stream: Stream::Stderr,
        want: None,
    },
    Case {
        name: "the config's level = \"error\" hides it",
        config_level: Some("error"),
        rust_log: None,
        stream: Stream::Unset,
        want: None,
    },
    Case {
        name: "RUST_LOG wins over the config",
        config_level: Some("error"),
        rust_log: Some("warn"),
        stream: Stream::Unset,
        want: Some("matcoach: warning: "),
    },
];

#[test]
fn a_warning_reaches_stderr_in_the_form_and_at_the_level_asked() {
    let mut failures = Vec::new();
    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("c.toml");
        let mut text = String::from("languag = \"nl\"\n");
        if let Some(level) = case.config_level {
            text.push_str(&format!("[log]\nlevel = \"{level}\"\n"));
        }
        std::fs::write(&config, text).unwrap();
        let mut c = command([
            OsStr::new("--config"),
            config.as_os_str(),
            OsStr::new("programs"),
        ]);
        in_home(&mut c, dir.path());
        if let Some(r) = case.rust_log {
            c.env("RUST_LOG", r);
        }
        if let Stream::Other = case.stream {
            c.env("JOURNAL_STREAM", "1:1");
        }
        let err = dir.path().join("stderr");
        let out = Out::of_journal(&mut c, &err, matches!(case.stream, Stream::Stderr)).ok();
        let line = out.stderr.lines().find(|l| l.contains(WARNING));
        let problem = match (case.want, line) {
            (Some(prefix), Some(l)) if l.starts_with(prefix) => None,
            (Some(prefix), Some(l)) => {
                Some(format!("the line does not start with {prefix:?}: {l:?}"))
            }
            (Some(_), None) => Some("no warning".to_string()),
            (None, Some(l)) => Some(format!("shown: {l:?}")),
            (None, None) => None,
        };
        if let Some(p) = problem {
            failures.push(format!("{}: {p}\n{}", case.name, out.show()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
