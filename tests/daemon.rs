//! `matcoach run`, the daemon, on an ALSA `null` PCM (no sound card here):
//! it renders its phrases, tells systemd it has started, opens the
//! speaker (or waits for it, saying so), says it is ready, and stops
//! cleanly on SIGTERM with its journal in place.
#![cfg(feature = "speaker-rodio")]

mod common;
use common::bin_support;

use bin_support::*;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A daemon under a fake systemd (a notify socket), in a private HOME
/// whose ALSA default device is a sink that keeps nothing (the file PCM,
/// which the playback test uses, would fill the disk: it runs unpaced).
struct Daemon {
    home: tempfile::TempDir,
    sock: UnixDatagram,
    child: std::process::Child,
}

impl Daemon {
    /// Start `matcoach run` with `config/matcoach.toml`, its text changed
    /// by `edit`.
    fn start(edit: impl Fn(String) -> String) -> Daemon {
        let home = tempfile::tempdir().unwrap();
        null_sound_card(home.path());
        let root = common::root();
        let config = home.path().join("config.toml");
        let text = std::fs::read_to_string(root.join("config/matcoach.toml")).unwrap();
        let text = text.replace(
            "content_dir = \"content\"",
            &format!("content_dir = {:?}", root.join("content")),
        );
        // The companion page on a free port of the loopback only: the
        // daemon tests run side by side.
        let text = text.replace("listen = \"0.0.0.0:8080\"", "listen = \"127.0.0.1:0\"");
        std::fs::write(&config, edit(text)).unwrap();
        let notify = home.path().join("notify.sock");
        let sock = UnixDatagram::bind(&notify).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        let child = in_home(
            &mut command(["--config".as_ref(), config.as_os_str(), "run".as_ref()]),
            home.path(),
        )
        .env("NOTIFY_SOCKET", &notify)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        Daemon { home, sock, child }
    }

    /// The next message to systemd.
    fn next(&self) -> String {
        let mut buf = [0u8; 512];
        let n = self
            .sock
            .recv(&mut buf)
            .expect("a message within two minutes");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// Messages until one contains `want`; all of them.
    fn until(&self, want: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let m = self.next();
            let done = m.contains(want);
            seen.push(m);
            if done {
                return seen;
            }
        }
    }

    /// SIGTERM; it must exit cleanly and promptly. Its log.
    fn stop(mut self) -> String {
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "exit status {exit:?}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "stopped promptly"
        );
        let log: Vec<String> = BufReader::new(self.child.stderr.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .collect();
        let log = log.join("\n");
        assert!(!log.contains("panicked"), "{log}");
        assert!(self
            .home
            .path()
            .join("data/matcoach/journal.sqlite")
            .exists());
        let rest = self.until("STOPPING=1");
        assert!(rest.last().is_some_and(|m| m == "STOPPING=1"), "{rest:?}");
        log
    }
}

#[test]
fn the_daemon_starts_reports_ready_and_stops_on_sigterm() {
    let d = Daemon::start(|t| t);
    // systemd hears READY=1 first, then the status, up to "ready".
    let seen = d.until("STATUS=ready: press the button to start");
    assert!(seen[0].starts_with("READY=1"), "{seen:?}");
    let log = d.stop();
    assert!(log.contains("ready: press the button to start"), "{log}");
    // No Vosk model in this HOME: English is heard by PocketSphinx when
    // this build has it, and the log says why and how to get Vosk's model.
    let voice = if cfg!(feature = "voice-pocketsphinx") {
        "listening with pocketsphinx instead of vosk (no speech-recognition model for en"
    } else {
        "voice commands are off"
    };
    assert!(log.contains(voice), "{log}");
}

#[test]
fn without_its_speaker_the_daemon_is_started_and_waits_for_it() {
    let d = Daemon::start(|t| {
        t.replace(
            "output_device = \"default\"",
            "output_device = \"no-such-speaker\"",
        )
    });
    // Started for systemd (not stuck in "activating"), and saying why it
    // is not coaching; the watchdog is fed while it waits.
    let first = d.next();
    assert!(first.starts_with("READY=1"), "{first}");
    let waiting = d.until("STATUS=waiting for a speaker");
    let last = waiting.last().unwrap();
    assert!(last.contains("WATCHDOG=1"), "{last}");
    assert!(last.contains("no-such-speaker"), "{last}");
    let log = d.stop();
    assert!(log.contains("no-such-speaker"), "{log}");
    assert!(!log.contains("ready: press the button"), "{log}");
}
