//! A command run under strace (Debian's `strace`): its system calls on
//! chosen files logged, and optionally a SIGKILL delivered as it enters the
//! Nth call of one kind on those files (`-e inject=…:signal=KILL:when=N`),
//! so that a test can kill the real binary at each of its writes and fsyncs
//! without a hook in the code under test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// Whether strace works here; if not, [`super::missing`] says so (a failure
/// under scripts/test) and the caller skips.
pub fn available() -> bool {
    let ok = Command::new("strace")
        .args(["-qq", "-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        super::missing(
            "strace (it kills the process at each write)",
            "apt install strace (scripts/test installs it)",
        );
    }
    ok
}

/// Set in a child run by [`child`]: the role the test plays there.
pub const CHILD_ENV: &str = "MATCOACH_KILL_CHILD";

/// This test binary again, running only the test `test` with
/// [`CHILD_ENV`] set to `role`: for files written by library code, the test
/// plays the child that strace kills (it checks [`child_role`] first).
pub fn child(test: &str, role: &str) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("this test's binary: {e}"));
    let mut c = Command::new(exe);
    c.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role)
        .env_remove("RUST_LOG");
    c
}

/// The role given by [`child`], in the child.
pub fn child_role() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// Kill points `1..=n`, or `cap` of them spread evenly when there are more
/// (`MATCOACH_KILL_ALL=1` takes every one).
pub fn points(n: usize, cap: usize) -> Vec<usize> {
    if n <= cap || std::env::var_os("MATCOACH_KILL_ALL").is_some() {
        return (1..=n).collect();
    }
    (0..cap).map(|i| 1 + i * n / cap).collect()
}

/// One system call on a watched file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The thread that made it (strace -f counts kill points per thread).
    pub pid: u32,
    pub name: String,
    /// The file its descriptor named (strace -y), or its first path
    /// argument (`rename`, `mkdir`, `unlinkat`, …).
    pub path: String,
    /// The arguments after the descriptor, as strace printed them.
    pub args: String,
    /// What it returned; `None` when the process died inside it.
    pub ret: Option<i64>,
}

impl Call {
    /// `pwrite64`'s length and offset (the last two arguments).
    pub fn extent(&self) -> Option<(u64, u64)> {
        let mut parts = self.args.rsplit(',').map(str::trim);
        let offset = parts.next()?.parse().ok()?;
        let len = parts.next()?.parse().ok()?;
        Some((offset, len))
    }

    pub fn is_sync(&self) -> bool {
        self.name == "fsync" || self.name == "fdatasync"
    }
}

/// What to run and how.
pub struct Traced {
    /// The system calls to log (strace's `-e trace=`).
    pub trace: String,
    /// Only calls on these files count (strace's `-P`).
    pub paths: Vec<PathBuf>,
    /// Kill the process as it enters the Nth such call of this name.
    pub kill_at: Option<(String, usize)>,
    /// More faults (strace's `-e inject=`), e.g. `renameat2:error=EINVAL`
    /// for a filesystem without `RENAME_EXCHANGE`; on other call names
    /// than `kill_at`'s.
    pub inject: Vec<String>,
}

/// The result: how the process ended and its calls on the watched files.
pub struct Run {
    pub status: ExitStatus,
    pub calls: Vec<Call>,
    pub stderr: String,
}

impl Run {
    pub fn killed(&self) -> bool {
        use std::os::unix::process::ExitStatusExt;
        self.status.signal() == Some(9)
    }

    pub fn count(&self, pred: impl Fn(&Call) -> bool) -> usize {
        self.calls.iter().filter(|c| pred(c)).count()
    }

    /// The most calls named `name` one thread made: strace's `when=N`
    /// counts per thread, so kills at 1..=this reach every call of the
    /// busiest thread (and the others' first ones).
    pub fn per_thread_max(&self, name: &str) -> usize {
        let mut by = std::collections::BTreeMap::<u32, usize>::new();
        for c in self.calls.iter().filter(|c| c.name == name) {
            *by.entry(c.pid).or_default() += 1;
        }
        by.into_values().max().unwrap_or(0)
    }
}

impl Traced {
    /// Run `cmd` (its program and arguments, its directory and
    /// environment) under strace; the log goes to `log`.
    pub fn run(&self, cmd: &Command, log: &Path) -> Run {
        let mut c = Command::new("strace");
        c.args(["-f", "-qq", "-y", "-o"]).arg(log);
        c.arg(format!("-etrace={}", self.trace));
        for p in &self.paths {
            c.arg("-P").arg(p);
        }
        if let Some((name, n)) = &self.kill_at {
            c.arg(format!("-einject={name}:signal=KILL:when={n}"));
        }
        for spec in &self.inject {
            c.arg(format!("-einject={spec}"));
        }
        c.arg(cmd.get_program()).args(cmd.get_args());
        if let Some(dir) = cmd.get_current_dir() {
            c.current_dir(dir);
        }
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        let out = c
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("strace: {e}"));
        let text = std::fs::read_to_string(log).unwrap_or_default();
        Run {
            status: out.status,
            calls: text.lines().filter_map(parse).collect(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// One line of `strace -f -y`: `[PID ]name(FD<path>, args) = RET`, or
/// `[PID ]name([DIRFD<dir>, ]"path", args) = RET`.
pub fn parse(line: &str) -> Option<Call> {
    let line = line.trim_start();
    let (pid, line) = match line.split_once(' ') {
        Some((pid, rest)) if pid.chars().all(|c| c.is_ascii_digit()) => {
            (pid.parse().unwrap_or(0), rest.trim_start())
        }
        _ => (0, line),
    };
    let (name, rest) = line.split_once('(')?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let (path, rest) = match rest.strip_prefix('<') {
        Some(r) => r.split_once('>')?,
        // A call on a path: its first quoted argument.
        None => {
            let (_, quoted) = rest.split_once('"')?;
            quoted.split_once('"')?
        }
    };
    let (args, ret) = rest.rsplit_once(") = ").unwrap_or((rest, "?"));
    let ret = ret.split_whitespace().next().and_then(|r| r.parse().ok());
    Some(Call {
        pid,
        name: name.to_string(),
        path: path.to_string(),
        args: args.trim_start_matches(',').trim().to_string(),
        ret,
    })
}
