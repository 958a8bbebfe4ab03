//! The doctor's disk check: free space where the coach writes.

use super::*;

/// Free space where the coach writes, one check per disk; below `low`
/// bytes is a warning.
pub fn disk_space(places: &[(&str, PathBuf)], low: u64) -> Vec<Check> {
    struct Disk {
        dev: u64,
        whats: Vec<String>,
        at: PathBuf,
        free: std::io::Result<u64>,
    }
    let mut disks: Vec<Disk> = Vec::new();
    for (what, path) in places {
        let at = existing_ancestor(path);
        let dev = std::fs::metadata(&at).map(|m| std::os::unix::fs::MetadataExt::dev(&m));
        let dev = dev.unwrap_or(u64::MAX);
        let what = format!("{what} {}", path.display());
        match disks.iter_mut().find(|d| d.dev == dev && dev != u64::MAX) {
            Some(d) => d.whats.push(what),
            None => disks.push(Disk {
                dev,
                whats: vec![what],
                free: free_space(&at),
                at,
            }),
        }
    }
    disks
        .into_iter()
        .map(|Disk { whats, at, free, .. }| {
            let name = "disk space";
            let whats = whats.join(", ");
            match free {
                Err(e) => Check::warn(
                    name,
                    format!("{whats}: cannot tell the free space of {}: {e}", at.display()),
                    "check the disk with `df -h`",
                ),
                Ok(n) if n < low => Check::warn(
                    name,
                    format!("{whats}: only {} free", bytes(n)),
                    format!(
                        "free some space there (at least {}); with a full disk the journal waits in memory and new phrases cannot be cached",
                        bytes(low)
                    ),
                ),
                Ok(n) => Check::ok(name, format!("{whats}: {} free", bytes(n))),
            }
        })
        .collect()
}

fn bytes(n: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    let mb = n as f64 / MB;
    if mb >= 1024.0 {
        format!("{:.1} GB", mb / 1024.0)
    } else {
        format!("{mb:.0} MB")
    }
}

/// `path`, or its nearest ancestor that exists.
pub(super) fn existing_ancestor(path: &Path) -> PathBuf {
    path.ancestors()
        .find(|p| !p.as_os_str().is_empty() && p.exists())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Create and remove a small file in `dir`.
pub(super) fn probe_write(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".matcoach-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// Bytes available to this user on the file system holding `path`.
fn free_space(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c` is a valid NUL-terminated path and `st` points to writable
    // memory of the right type; statvfs fills it in when it returns 0.
    let r = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it initialised `st`.
    let st = unsafe { st.assume_init() };
    // The field types are 32-bit on 32-bit ARM (Raspberry Pi OS armhf).
    #[allow(clippy::useless_conversion)]
    Ok(u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize)))
}
