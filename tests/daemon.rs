//! `matcoach run`, the daemon, on an ALSA `null` PCM (no sound card here):
//! it renders its phrases, opens the speaker, says it is ready, tells
//! systemd, and stops cleanly on SIGTERM with its journal in place.
#![cfg(feature = "speaker-rodio")]

mod bin_support;

use bin_support::*;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_daemon_starts_reports_ready_and_stops_on_sigterm() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".asoundrc"),
        // A sink that takes sound and keeps none (the file PCM, which the
        // playback test uses, would fill the disk: it runs unpaced).
        "pcm.!default {\n  type null\n}\n",
    )
    .unwrap();
    let notify = home.path().join("notify.sock");
    let sock = UnixDatagram::bind(&notify).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut child = in_home(
        &mut command(["--config", "config/matcoach.toml", "run"]),
        home.path(),
    )
    .env("NOTIFY_SOCKET", &notify)
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // systemd hears READY=1 once the coach is ready.
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("READY=1 within two minutes");
    assert_eq!(&buf[..n], b"READY=1");
    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped promptly"
    );
    let log: Vec<String> = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect();
    let log = log.join("\n");
    assert!(log.contains("ready: press the button to start"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(home.path().join("data/matcoach/journal.sqlite").exists());
    let n = sock.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1");
}
