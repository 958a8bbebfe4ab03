//! What an install cut off by a kill or a power cut leaves next to the
//! model directory, put right like a journal's recovery: hidden
//! `.NAME.PID.unpacking` trees, `.NAME.PID.zip.part` downloads and
//! `.NAME.PID.old` models whose process is gone are removed, and an old
//! model moved aside just before the kill is put back when the model
//! directory is missing. Run at the start of `setup-model` and before a
//! model is loaded (one listing of the models directory).

use super::*;

/// The hidden siblings of a model directory an install makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The new model being unpacked (after a swap: the old model on its
    /// way out).
    Unpacking,
    /// The old model moved aside before the new one takes its name.
    Old,
    /// A download in progress.
    ZipPart,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Unpacking, Kind::Old, Kind::ZipPart];

    fn suffix(self) -> &'static str {
        match self {
            Kind::Unpacking => "unpacking",
            Kind::Old => "old",
            Kind::ZipPart => "zip.part",
        }
    }
}

/// The name the hidden siblings of `dest` start with (after the dot).
pub(super) fn model_name(dest: &Path) -> String {
    dest.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into())
}

/// `.NAME.PID.SUFFIX` for `name`: its process id and kind.
fn parse(file: &str, name: &str) -> Option<(u32, Kind)> {
    let rest = file
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?;
    let (pid, suffix) = rest.split_once('.')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let kind = Kind::ALL.into_iter().find(|k| k.suffix() == suffix)?;
    Some((pid.parse().ok()?, kind))
}

/// Whether process `pid` exists (ours counts: another thread may be
/// installing). `kill(pid, 0)` sends nothing; EPERM means it exists under
/// another user, which `/proc` may hide (`hidepid`).
fn running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if p <= 0 {
        return false;
    }
    // SAFETY: signal 0 is only a check; `p` > 0 names one process.
    let r = unsafe { libc::kill(p, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The files every model has: a directory without them is not one (an
/// unpacking cut short, or a tree half removed).
pub(super) fn missing_files(dir: &Path) -> Vec<&'static str> {
    ["am/final.mdl", "conf/model.conf"]
        .into_iter()
        .filter(|f| !dir.join(f).is_file())
        .collect()
}

/// What [`recover`] did next to one model directory.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// The old model put back at the model directory from this hidden one
    /// (an install was killed between moving it aside and renaming the new
    /// one in).
    pub restored: Option<PathBuf>,
    /// Leftovers of installs whose process is gone, removed.
    pub removed: Vec<PathBuf>,
    /// Leftovers of an install still running, left alone.
    pub kept: Vec<PathBuf>,
    /// What could not be done, each naming the path and a fix. None of
    /// them stops a complete model from being used.
    pub failed: Vec<String>,
}

fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn cannot_remove(path: &Path, parent: &Path, e: &std::io::Error) -> String {
    format!(
        "could not remove {}, left by a cut-off `matcoach setup-model`: {e}\n  fix: run \
         `matcoach setup-model` as the user who owns {} (the service's, for /var/lib/matcoach), \
         or remove it by hand: rm -r '{}'",
        path.display(),
        parent.display(),
        path.display()
    )
}

/// Put right what cut-off installs left next to `dest`, the model
/// directory: leftovers of processes that are gone are removed, and when
/// `dest` is missing the newest complete old model moved aside is renamed
/// back (a later old one is only set aside once the one before is gone).
/// Leftovers of a running install are kept. Never fails: what cannot be
/// done is in [`Recovered::failed`].
pub fn recover(dest: &Path) -> Recovered {
    let mut done = Recovered::default();
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let entries = match std::fs::read_dir(&parent) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return done,
        Err(e) => {
            done.failed.push(format!(
                "could not list {} to clear what a cut-off install left: {e}\n  fix: check \
                 that this user can read it (run `matcoach setup-model` as the service's user)",
                parent.display()
            ));
            return done;
        }
    };
    let name = model_name(dest);
    let mut stale: Vec<(Kind, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some((pid, kind)) = parse(&file, &name) else {
            continue;
        };
        if running(pid) {
            done.kept.push(entry.path());
        } else {
            stale.push((kind, entry.path()));
        }
    }
    done.kept.sort();
    // The old model to put back: the newest complete one.
    if !dest.exists() {
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let back = stale
            .iter()
            .filter(|(k, p)| *k == Kind::Old && missing_files(p).is_empty())
            .max_by_key(|(_, p)| mtime(p))
            .map(|(_, p)| p.clone());
        if let Some(old) = back {
            match std::fs::rename(&old, dest) {
                Ok(()) => {
                    if let Err(e) = crate::durable::sync_dir(&parent) {
                        done.failed.push(format!(
                            "put the old model back at {} but could not sync {}: {e}\n  fix: \
                             check the disk (`dmesg`); the model is in place",
                            dest.display(),
                            parent.display()
                        ));
                    }
                    stale.retain(|(_, p)| *p != old);
                    done.restored = Some(old);
                }
                Err(e) => {
                    done.failed.push(format!(
                        "could not put the old model {} back at {}: {e}\n  fix: move it back by \
                         hand (mv '{}' '{}'), or run `matcoach setup-model` again",
                        old.display(),
                        dest.display(),
                        old.display(),
                        dest.display()
                    ));
                    stale.retain(|(_, p)| *p != old);
                    done.kept.push(old);
                }
            }
        }
    }
    let dest_complete = missing_files(dest).is_empty();
    stale.sort_by(|a, b| a.1.cmp(&b.1));
    for (kind, path) in stale {
        // An old model is only removed once a complete one is in place.
        if kind == Kind::Old && !dest_complete && missing_files(&path).is_empty() {
            done.failed.push(format!(
                "{} is not a complete model, and an old one is kept at {}\n  fix: run \
                 `matcoach setup-model` again, or put the old one back by hand (rm -r '{}' && \
                 mv '{}' '{}')",
                dest.display(),
                path.display(),
                dest.display(),
                path.display(),
                dest.display()
            ));
            done.kept.push(path);
            continue;
        }
        match remove(&path) {
            Ok(()) => done.removed.push(path),
            Err(e) => done.failed.push(cannot_remove(&path, &parent, &e)),
        }
    }
    done
}

/// [`recover`], with what it did in the log: a cut-off install is worth a
/// warning, and a failure here must not stop a good model from being used.
pub fn recover_logged(dest: &Path) -> Recovered {
    let done = recover(dest);
    if let Some(old) = &done.restored {
        log::warn!(
            "an install of the model was cut off after moving the old model aside: put it back \
             from {} at {}",
            old.display(),
            dest.display()
        );
    }
    for p in &done.removed {
        log::info!("removed {}, left by a cut-off model install", p.display());
    }
    for f in &done.failed {
        log::warn!("{f}");
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command};

    /// The id of a process that has ended (and been reaped).
    fn dead_pid() -> u32 {
        let mut c = Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    }

    /// A process that runs until killed: another install in progress.
    struct Live(Child);

    impl Drop for Live {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum Pid {
        Dead,
        Live,
    }

    /// What is at a path before recovery.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Tree {
        /// A complete model whose acoustic model holds this text.
        Model(&'static str),
        /// A model cut short: no `conf/model.conf`.
        Partial,
        /// A file (a download's `.zip.part`).
        File,
        Nothing,
    }

    fn make(path: &Path, tree: Tree) {
        match tree {
            Tree::Model(tag) => {
                std::fs::create_dir_all(path.join("am")).unwrap();
                std::fs::create_dir_all(path.join("conf")).unwrap();
                std::fs::write(path.join("am/final.mdl"), tag).unwrap();
                std::fs::write(path.join("conf/model.conf"), "--beam=10.0\n").unwrap();
            }
            Tree::Partial => {
                std::fs::create_dir_all(path.join("am")).unwrap();
                std::fs::write(path.join("am/final.mdl"), "half").unwrap();
            }
            Tree::File => std::fs::write(path, "part of a zip").unwrap(),
            Tree::Nothing => {}
        }
    }

    /// The model at `dest`: its tag when complete.
    fn model_at(dest: &Path) -> Option<String> {
        missing_files(dest)
            .is_empty()
            .then(|| std::fs::read_to_string(dest.join("am/final.mdl")).unwrap())
    }

    struct Case {
        what: &'static str,
        dest: Tree,
        left: &'static [(Pid, &'static str, Tree)],
        /// The complete model at `dest` afterwards.
        then: Option<&'static str>,
        /// The leftovers still there afterwards (their suffixes).
        still: &'static [&'static str],
        restored: bool,
        failed: bool,
    }

    const CASES: &[Case] = &[
        Case {
            what: "stale staging and downloads of a dead process are removed",
            dest: Tree::Model("current"),
            left: &[
                (Pid::Dead, "unpacking", Tree::Partial),
                (Pid::Dead, "zip.part", Tree::File),
            ],
            then: Some("current"),
            still: &[],
            restored: false,
            failed: false,
        },
        Case {
            what: "after a swap the old model sits in the staging name: removed",
            dest: Tree::Model("new"),
            left: &[(Pid::Dead, "unpacking", Tree::Model("old"))],
            then: Some("new"),
            still: &[],
            restored: false,
            failed: false,
        },
        Case {
            what: "a running install's staging and download are kept",
            dest: Tree::Model("current"),
            left: &[
                (Pid::Live, "unpacking", Tree::Partial),
                (Pid::Live, "zip.part", Tree::File),
            ],
            then: Some("current"),
            still: &["unpacking", "zip.part"],
            restored: false,
            failed: false,
        },
        Case {
            what: "the old model is put back when the model is missing (a complete staging is not promoted)",
            dest: Tree::Nothing,
            left: &[
                (Pid::Dead, "old", Tree::Model("old")),
                (Pid::Dead, "unpacking", Tree::Model("new")),
            ],
            then: Some("old"),
            still: &[],
            restored: true,
            failed: false,
        },
        Case {
            what: "the old model is removed when the model is complete",
            dest: Tree::Model("new"),
            left: &[(Pid::Dead, "old", Tree::Model("old"))],
            then: Some("new"),
            still: &[],
            restored: false,
            failed: false,
        },
        Case {
            what: "a half-removed old model is not put back, and removed",
            dest: Tree::Nothing,
            left: &[(Pid::Dead, "old", Tree::Partial)],
            then: None,
            still: &[],
            restored: false,
            failed: false,
        },
        Case {
            what: "a running install's old model is left alone, even with the model missing",
            dest: Tree::Nothing,
            left: &[(Pid::Live, "old", Tree::Model("old"))],
            then: None,
            still: &["old"],
            restored: false,
            failed: false,
        },
        Case {
            what: "an incomplete model keeps the complete old one, and says so",
            dest: Tree::Partial,
            left: &[(Pid::Dead, "old", Tree::Model("old"))],
            then: None,
            still: &["old"],
            restored: false,
            failed: true,
        },
        Case {
            what: "nothing to do",
            dest: Tree::Model("current"),
            left: &[],
            then: Some("current"),
            still: &[],
            restored: false,
            failed: false,
        },
    ];

    /// Entries that are not this model's leftovers, in every case: they
    /// must survive.
    fn bystanders(dir: &Path, dead: u32) -> Vec<PathBuf> {
        let paths = [
            dir.join(format!(".other-model.{dead}.unpacking")),
            dir.join(format!(".test-model.{dead}.unpacking.keep")),
            dir.join(".test-model.x.old"),
            dir.join("test-model.bak"),
            dir.join("other-model"),
        ];
        for p in &paths {
            make(p, Tree::Model("bystander"));
        }
        paths.to_vec()
    }

    #[test]
    fn recovery_removes_what_dead_installs_left_and_puts_the_old_model_back() {
        let live = Live(Command::new("sleep").arg("60").spawn().unwrap());
        let dead = dead_pid();
        assert!(!running(dead) && running(live.0.id()) && running(std::process::id()));
        for case in CASES {
            let dir = tempfile::tempdir().unwrap();
            let dest = dir.path().join("test-model");
            make(&dest, case.dest);
            let others = bystanders(dir.path(), dead);
            let mut left = Vec::new();
            for (pid, suffix, tree) in case.left {
                let pid = match pid {
                    Pid::Dead => dead,
                    Pid::Live => live.0.id(),
                };
                let p = dir.path().join(format!(".test-model.{pid}.{suffix}"));
                make(&p, *tree);
                left.push((*suffix, p));
            }
            let done = recover(&dest);
            let what = format!("{}: {done:?}", case.what);
            assert_eq!(model_at(&dest).as_deref(), case.then, "{what}");
            if case.dest == Tree::Partial {
                assert!(dest.join("am/final.mdl").is_file(), "{what}: dest touched");
            }
            for (suffix, p) in &left {
                let kept = case.still.contains(suffix);
                let restored = done.restored.as_ref() == Some(p);
                assert_eq!(p.exists(), kept, "{what}: {}", p.display());
                assert_eq!(done.kept.contains(p), kept, "{what}");
                assert_eq!(done.removed.contains(p), !kept && !restored, "{what}");
            }
            assert_eq!(done.restored.is_some(), case.restored, "{what}");
            assert_eq!(!done.failed.is_empty(), case.failed, "{what}");
            for p in &others {
                assert!(p.join("am/final.mdl").is_file(), "{what}: {}", p.display());
            }
            let names = std::fs::read_dir(dir.path()).unwrap().count();
            assert_eq!(
                names,
                others.len() + usize::from(dest.exists()) + case.still.len(),
                "{what}"
            );
        }
    }

    #[test]
    fn a_failed_recovery_names_the_directory_and_a_fix_and_does_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        // The model's name is a link to nowhere: the old model cannot be
        // renamed over it (a directory over a non-directory).
        let dest = dir.path().join("test-model");
        std::os::unix::fs::symlink(dir.path().join("gone"), &dest).unwrap();
        let old = dir.path().join(format!(".test-model.{}.old", dead_pid()));
        make(&old, Tree::Model("old"));
        let done = recover(&dest);
        assert_eq!(done.restored, None);
        assert_eq!(done.kept, std::slice::from_ref(&old));
        assert!(old.join("am/final.mdl").is_file(), "the old model is kept");
        let msg = done.failed.join("\n");
        assert!(
            msg.contains(&format!(
                "could not put the old model {} back at {}",
                old.display(),
                dest.display()
            )) && msg.contains("fix: move it back by hand (mv '")
                && msg.contains("or run `matcoach setup-model` again"),
            "{msg}"
        );
        // A models directory that is not there: nothing to do, no failure.
        assert_eq!(
            recover(&dir.path().join("none/test-model")),
            Recovered::default()
        );
    }

    #[test]
    fn leftover_names_are_told_apart() {
        let name = "vosk-model-small-en-us-0.15";
        assert_eq!(
            parse(".vosk-model-small-en-us-0.15.123.unpacking", name),
            Some((123, Kind::Unpacking))
        );
        assert_eq!(
            parse(".vosk-model-small-en-us-0.15.7.zip.part", name),
            Some((7, Kind::ZipPart))
        );
        assert_eq!(
            parse(".vosk-model-small-en-us-0.15.7.old", name),
            Some((7, Kind::Old))
        );
        for other in [
            "vosk-model-small-en-us-0.15",
            ".vosk-model-small-en-us-0.15.old",
            ".vosk-model-small-en-us-0.15.x1.old",
            ".vosk-model-small-en-us-0.15.1.old.tmp",
            ".vosk-model-small-en-us-0.15.2.7.old",
            ".vosk-model-small-en-us-0.1.7.old",
        ] {
            assert_eq!(parse(other, name), None, "{other}");
        }
        assert!(!running(0) && !running(u32::MAX));
    }
}
