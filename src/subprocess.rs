//! Programs run with a deadline (issue 15, item 5): a hung synthesiser
//! must not hang rendering or the daemon's start. Each program runs in its
//! own process group, its stdin is written and its stdout and stderr read on
//! threads (so no pipe can deadlock), and past the deadline the whole group
//! is killed (a shell script's children too) and the caller is told.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// What a program wrote, and how it ended.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// How long it ran.
    pub took: Duration,
}

/// Why a program gave no output.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot start it: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("it did not finish within {} s and was stopped", .after.as_secs_f32())]
    TimedOut { after: Duration },
    #[error("waiting for it failed: {0}")]
    Wait(#[source] std::io::Error),
}

impl RunError {
    /// The program is not there at all.
    pub fn not_found(&self) -> bool {
        matches!(self, RunError::Spawn(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// How long the pipes may stay open once the program has ended or been
/// killed (a grandchild that escaped the group could hold them).
const DRAIN: Duration = Duration::from_secs(2);

fn reader(mut from: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error ends the output: what came so far is what there is.
        let _ = from.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Run `cmd` with `input` on its stdin, and its output collected, for at
/// most `deadline`.
pub fn run(cmd: &mut Command, input: &[u8], deadline: Duration) -> Result<Output, RunError> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(RunError::Spawn)?;
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        std::thread::spawn(move || {
            // A program that exits early closes the pipe; its exit status
            // and stderr say why, so a write error here is not the story.
            let _ = stdin.write_all(&input);
        });
    }
    let stdout = child.stdout.take().map(reader);
    let stderr = child.stderr.take().map(reader);
    let collect = |rx: Option<mpsc::Receiver<Vec<u8>>>| {
        rx.and_then(|rx| rx.recv_timeout(DRAIN).ok())
            .unwrap_or_default()
    };
    match child.wait_timeout(deadline) {
        Ok(Some(status)) => Ok(Output {
            status,
            stdout: collect(stdout),
            stderr: collect(stderr),
            took: start.elapsed(),
        }),
        Ok(None) => {
            kill_group(&mut child);
            Err(RunError::TimedOut { after: deadline })
        }
        Err(e) => {
            kill_group(&mut child);
            Err(RunError::Wait(e))
        }
    }
}

/// Kill the child's process group and reap the child.
fn kill_group(child: &mut std::process::Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group the
        // child leads (process_group(0) made it its own group); no memory is
        // touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_status_come_back() {
        let out = run(
            Command::new("sh")
                .arg("-c")
                .arg("cat; echo err >&2; exit 3"),
            b"hello",
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(out.stdout, b"hello");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));
    }

    #[test]
    fn a_hung_program_and_its_children_are_killed_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        let script = format!(
            "sleep 60 & echo $! > {p}; echo $$ >> {p}; wait",
            p = pids.display()
        );
        let t = Instant::now();
        let e = run(
            Command::new("sh").arg("-c").arg(script),
            b"",
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(matches!(e, RunError::TimedOut { .. }), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(e.to_string().contains("did not finish within 0.3 s"), "{e}");
        std::thread::sleep(Duration::from_millis(100));
        for pid in std::fs::read_to_string(&pids).unwrap().split_whitespace() {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Gone, or a zombie of a parent that is gone too.
            assert!(
                stat.is_empty() || stat.contains(") Z"),
                "{pid} lives: {stat}"
            );
        }
    }

    #[test]
    fn a_missing_program_is_not_found() {
        let e = run(
            &mut Command::new("/nonexistent/espeak-ng"),
            b"",
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.not_found(), "{e}");
    }
}
