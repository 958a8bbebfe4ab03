//! The one logger of the process (installed by `main`): diagnostics from
//! every module go through the `log` crate's macros to stderr, which under
//! systemd is the system journal.
//!
//! The level comes from `RUST_LOG` when it is set (env_logger's directives:
//! `debug`, `matcoach::hearing=debug`), else from the config's `[log]
//! level` once the config is read (`info` until then). Without `RUST_LOG`
//! the other crates' records show from `warn` up only, so that `debug`
//! means matcoach's details, not the HTTP server's.
//!
//! When stderr is the journal's stream (systemd sets `JOURNAL_STREAM` to its
//! device and inode, `man systemd.exec`), each line starts with its syslog
//! priority (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug; `man
//! sd-daemon`), which journald keeps as the entry's priority: `journalctl
//! -u matcoach -p warning` then shows the warnings and errors. Otherwise a
//! line reads `matcoach: warning: …`.

use crate::config::LogLevel;
use log::{Level, LevelFilter};
use std::io::Write;

/// The syslog priority of a level, as sd-daemon's prefix.
pub fn priority(level: Level) -> &'static str {
    match level {
        Level::Error => "<3>",
        Level::Warn => "<4>",
        Level::Info => "<6>",
        Level::Debug | Level::Trace => "<7>",
    }
}

/// The level's word in a plain line.
fn word(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// One record as the lines written to stderr: under journald every line of
/// a multi-line message carries the priority, since journald reads each
/// line as its own entry.
pub fn format_line(journald: bool, level: Level, message: &str) -> String {
    if journald {
        let p = priority(level);
        let mut out = String::new();
        for line in message.lines() {
            out.push_str(p);
            out.push_str(line);
            out.push('\n');
        }
        if out.is_empty() {
            out.push_str(p);
            out.push('\n');
        }
        out
    } else {
        format!("matcoach: {}: {message}\n", word(level))
    }
}

/// Whether stderr is the journal's stream: `JOURNAL_STREAM` holds
/// `DEVICE:INODE` of the stream systemd connected, and a child that
/// inherited the variable but writes elsewhere (a terminal, a pipe) must
/// not prefix its lines.
fn stderr_is_journal() -> bool {
    let Some(want) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = want.to_str().and_then(|s| s.trim().split_once(':')) else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    stderr_identity().is_some_and(|id| id == (dev, ino))
}

/// The device and inode of this process's stderr.
#[cfg(unix)]
fn stderr_identity() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn stderr_identity() -> Option<(u64, u64)> {
    None
}

/// The `RUST_LOG` directives, when set and not empty.
fn env_directives() -> Option<String> {
    std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// Install the logger. Called once, first thing in `main`; a second call
/// leaves the first logger in place.
pub fn init() {
    let directives = env_directives();
    let journald = stderr_is_journal();
    let mut b = env_logger::Builder::new();
    match &directives {
        Some(d) => {
            b.parse_filters(d);
        }
        None => {
            // matcoach's own records pass the logger's filter at every
            // level; `set_level` lowers what passes through `log`'s global
            // maximum, which the config can only give after it is read.
            b.filter_level(LevelFilter::Warn)
                .filter_module("matcoach", LevelFilter::Trace);
        }
    }
    b.target(env_logger::Target::Stderr)
        .format(move |buf, record| {
            let text = format_line(journald, record.level(), &record.args().to_string());
            buf.write_all(text.as_bytes())
        });
    if b.try_init().is_ok() && directives.is_none() {
        log::set_max_level(LogLevel::default().filter());
    }
}

/// The config's `[log] level`, unless `RUST_LOG` says otherwise.
pub fn set_level(level: LogLevel) {
    if env_directives().is_none() {
        log::set_max_level(level.filter());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_the_priority_under_journald_and_the_level_otherwise() {
        let cases = [
            (true, Level::Error, "no mic", "<3>no mic\n"),
            (true, Level::Warn, "a\n  fix: b", "<4>a\n<4>  fix: b\n"),
            (true, Level::Info, "LED: On", "<6>LED: On\n"),
            (true, Level::Debug, "", "<7>\n"),
            (false, Level::Warn, "late", "matcoach: warning: late\n"),
            (false, Level::Error, "gone", "matcoach: error: gone\n"),
            (false, Level::Info, "heard", "matcoach: info: heard\n"),
        ];
        for (journald, level, message, want) in cases {
            assert_eq!(format_line(journald, level, message), want, "{message:?}");
        }
    }
}
