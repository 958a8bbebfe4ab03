//! Installing a model archive: its size and hash checked, unpacked next to
//! the model directory (every file's CRC checked, nothing outside it) and
//! swapped into place only once complete.

use super::*;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Component;

/// Removes a temporary file or directory when dropped.
pub(super) struct Cleanup(pub(super) PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// `.NAME.PID.SUFFIX` next to `dest`: hidden, and [`recover`] can tell
/// whether the install that made it still runs.
pub(super) fn sibling(dest: &Path, suffix: &str) -> PathBuf {
    let name = model_name(dest);
    dest.with_file_name(format!(".{name}.{}.{suffix}", std::process::id()))
}

pub(super) fn parent_of(info: &ModelInfo, dest: &Path) -> Result<PathBuf, VoiceError> {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| io_fail(info, dest, "create", &parent, e))?;
    // What an earlier install cut off left: removed before this one needs
    // the space, and the old model put back if it was moved aside.
    recover_logged(dest);
    Ok(parent)
}

/// Install the model from an archive downloaded by hand (the official zip
/// for `info`), with the same checks as [`setup`].
pub fn setup_from_file(info: &ModelInfo, zip: &Path, dest: &Path) -> Result<PathBuf, VoiceError> {
    let mut file = std::fs::File::open(zip).map_err(|e| {
        not_installed(
            info,
            dest,
            format!("cannot read {}: {e}", zip.display()),
            format!("give the path of the downloaded {}.zip", info.name),
        )
    })?;
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut file, &mut hasher)
        .map_err(|e| bad(info, zip, format!("cannot read it: {e}")))?;
    let got = hex(&hasher.finalize());
    check_archive(info, zip, size, &got, info.sha256)?;
    parent_of(info, dest)?;
    install(info, zip, dest, zip)
}

/// `shown` is the path errors name: the archive given by hand, or the
/// model directory for a download.
pub(super) fn check_archive(
    info: &ModelInfo,
    shown: &Path,
    size: u64,
    got: &str,
    want: Option<&str>,
) -> Result<(), VoiceError> {
    if info.size > 0 && size != info.size {
        return Err(bad(
            info,
            shown,
            format!(
                "the archive is {size} bytes, but {} is {} bytes (a broken or different download)",
                info.name, info.size
            ),
        ));
    }
    if let Some(want) = want {
        if !got.eq_ignore_ascii_case(want) {
            return Err(bad(
                info,
                shown,
                format!(
                    "the archive's SHA-256 is {got}, but {} has {want} (a broken or tampered download)",
                    info.name
                ),
            ));
        }
    }
    Ok(())
}

/// Unpack into a temporary directory next to `dest`, check it, then swap it
/// into place.
pub(super) fn install(
    info: &ModelInfo,
    zip: &Path,
    dest: &Path,
    shown: &Path,
) -> Result<PathBuf, VoiceError> {
    let staging = sibling(dest, "unpacking");
    let _cleanup = Cleanup(staging.clone());
    if staging.exists() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    unzip(info, zip, shown, &staging)?;
    let missing = missing_files(&staging);
    if !missing.is_empty() {
        return Err(bad(
            info,
            shown,
            format!(
                "the archive holds no Vosk model ({} missing)",
                missing.join(", ")
            ),
        ));
    }
    #[cfg(feature = "voice-vosk")]
    {
        crate::hearing::vosk::VoskModel::load(&staging, info.lang).map_err(|e| match e {
            VoiceError::BadModel { reason, .. } => bad(
                info,
                shown,
                format!("its model cannot be loaded by Vosk: {reason}"),
            ),
            other => other,
        })?;
    }
    // Every file on the card before the model takes its name: a power cut
    // after the rename must not leave a model with empty files.
    crate::durable::sync_tree(&staging).map_err(|e| io_fail(info, dest, "sync", &staging, e))?;
    let old = sibling(dest, "old");
    let _cleanup_old = Cleanup(old.clone());
    // One atomic exchange leaves no instant without a model (not even for a
    // daemon starting mid-install, whose recovery must leave a running
    // install's `.old` alone); where the filesystem has none, two renames,
    // and `recover` puts the old model back after a kill between them.
    let exchanged = dest.exists()
        && exchange(&staging, dest).map_err(|e| io_fail(info, dest, "swap in", dest, e))?;
    if !exchanged {
        if dest.exists() {
            std::fs::rename(dest, &old).map_err(|e| io_fail(info, dest, "move aside", dest, e))?;
        }
        if let Err(e) = std::fs::rename(&staging, dest) {
            if old.exists() {
                let _ = std::fs::rename(&old, dest);
            }
            return Err(io_fail(info, dest, "move the new model to", dest, e));
        }
    }
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::durable::sync_dir(parent).map_err(|e| io_fail(info, dest, "sync", parent, e))?;
    }
    Ok(dest.to_path_buf())
}

/// Swap the directories `a` and `b` in one step (`renameat2`'s
/// `RENAME_EXCHANGE`): `false` when the filesystem or kernel cannot, and
/// nothing was changed.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two NUL-terminated paths, relative to the working directory.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        // Not supported by this filesystem (vfat, …) or kernel, or refused
        // by a seccomp filter.
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EPERM) => Ok(false),
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// A model unpacks to at most this many times its archive's size (Vosk's
/// models compress two to three times; a zip bomb a thousand). Counted as
/// written, not as the archive claims; symbolic links are refused too.
pub const MAX_UNPACK_RATIO: u64 = 20;

/// Extract `zip` into `out`, dropping a single top-level folder (the
/// official archives hold `<name>/am/…`). Entries that would land outside
/// `out`, symbolic links, and archives that unpack to more than
/// [`MAX_UNPACK_RATIO`] times their size (counted as written, not as the
/// archive claims) are refused; each file's CRC is checked as it is read.
pub(super) fn unzip(
    info: &ModelInfo,
    zip: &Path,
    shown: &Path,
    out: &Path,
) -> Result<(), VoiceError> {
    let bad_zip = |reason: String| bad(info, shown, reason);
    let file = std::fs::File::open(zip).map_err(|e| bad_zip(format!("cannot open it: {e}")))?;
    let archive_size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut budget = archive_size
        .saturating_mul(MAX_UNPACK_RATIO)
        .saturating_add(1 << 20);
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| bad_zip(format!("it is not a readable zip archive: {e}")))?;
    let mut entries: Vec<(usize, PathBuf, bool)> = Vec::new();
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|e| bad_zip(format!("entry {i}: {e}")))?;
        let Some(path) = entry.enclosed_name() else {
            return Err(bad_zip(format!(
                "it holds {:?}, a path outside the model directory",
                entry.name()
            )));
        };
        if path.components().next() == Some(Component::Normal("__MACOSX".as_ref())) {
            continue;
        }
        if entry.is_symlink() {
            return Err(bad_zip(format!(
                "it holds {:?}, a symbolic link (a model has none; a link could point outside the model directory)",
                entry.name()
            )));
        }
        entries.push((i, path, entry.is_dir()));
    }
    let first = |p: &Path| p.components().next().map(|c| c.as_os_str().to_owned());
    let top = entries.first().and_then(|(_, p, _)| first(p));
    let strip = match &top {
        Some(top) => entries.iter().all(|(_, p, is_dir)| {
            first(p).as_ref() == Some(top) && (*is_dir || p.components().count() > 1)
        }),
        None => false,
    };
    std::fs::create_dir_all(out)
        .map_err(|e| bad_zip(format!("cannot create {}: {e}", out.display())))?;
    for (i, path, is_dir) in entries {
        let rel: PathBuf = if strip {
            path.components().skip(1).collect()
        } else {
            path
        };
        if rel.as_os_str().is_empty() {
            continue;
        }
        let target = out.join(&rel);
        let write_err =
            |e: std::io::Error| bad_zip(format!("cannot write {}: {e}", target.display()));
        if is_dir {
            std::fs::create_dir_all(&target).map_err(write_err)?;
            continue;
        }
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p).map_err(write_err)?;
        }
        let mut entry = archive
            .by_index(i)
            .map_err(|e| bad_zip(format!("entry {}: {e}", rel.display())))?;
        let mut f = std::fs::File::create(&target).map_err(write_err)?;
        let written = std::io::copy(&mut (&mut entry).take(budget.saturating_add(1)), &mut f)
            .map_err(|e| bad_zip(format!("{} is damaged: {e}", rel.display())))?;
        if written > budget {
            return Err(bad_zip(format!(
                "it unpacks to more than {MAX_UNPACK_RATIO} times its size of {archive_size} bytes (at {}): a damaged archive or a zip bomb, not a Vosk model",
                rel.display()
            )));
        }
        budget -= written;
    }
    Ok(())
}
