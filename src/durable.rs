//! Files the coach writes, written so that a killed process or a power cut
//! leaves either the old file or the new one, never a mix, an empty file or
//! half a file (issue 15, item 4: SD cards and power cuts). The pattern: the
//! bytes go to a temporary file beside the target, which is synced; it is
//! renamed over the target (atomic on one file system); the directory is
//! synced so that the rename itself survives a power cut.
//!
//! Used for the settings layer and the pairing state (the companion page),
//! recorded voice uploads, the speech cache, kept clips and an installed
//! model (whose tree is synced before it takes the model's name). The journal
//! is SQLite's own business (WAL, `synchronous = FULL`: see
//! [`crate::journal`]). `tests/durable_writes.rs` kills the process at each
//! of these system calls and checks what is left.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The temporary name [`write_atomically`] writes `path` through:
/// `.NAME.tmp` in the same directory (so that the rename stays on one file
/// system). One writer per file at a time; see [`write_via`] otherwise.
pub fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent_of(path).join(format!(".{name}.tmp"))
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Write `bytes` to `path` atomically and durably, with permissions `mode`
/// for a new file (creating the directory if needed).
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    write_via(&tmp_path(path), path, bytes, mode)
}

/// [`write_atomically`] through the temporary file `tmp` (in `path`'s
/// directory), for writers that may write one file from several threads at
/// once. On an error the temporary file is removed.
pub fn write_via(tmp: &Path, path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = parent_of(path);
    std::fs::create_dir_all(dir)?;
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(tmp)?;
        f.write_all(bytes)?;
        // On the card before it takes the real name: otherwise a power cut
        // can leave the new name on an empty file.
        f.sync_all()?;
        drop(f);
        std::fs::rename(tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// Sync a directory, so that the names made, renamed or removed in it
/// survive a power cut.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Sync every file and directory under `root` (and `root`): a tree about to
/// be renamed into place (an installed model).
pub fn sync_tree(root: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            sync_tree(&entry.path())?;
        } else if kind.is_file() {
            std::fs::File::open(entry.path())?.sync_all()?;
        }
    }
    sync_dir(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/settings.toml");
        write_atomically(&path, b"one", 0o600).unwrap();
        write_atomically(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert!(!tmp_path(&path).exists());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("voice.wav");
        write_atomically(&path, b"old", 0o644).unwrap();
        // The target is a directory now: the rename fails.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir_all(blocked.join("inside")).unwrap();
        assert!(write_atomically(&blocked, b"new", 0o644).is_err());
        assert!(!tmp_path(&blocked).exists());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn sync_tree_walks_a_model() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("am/conf")).unwrap();
        std::fs::write(dir.path().join("am/final.mdl"), b"x").unwrap();
        sync_tree(dir.path()).unwrap();
        assert!(sync_tree(&dir.path().join("missing")).is_err());
    }
}
