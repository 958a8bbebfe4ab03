//! Speech-recognition models: where they live and `matcoach setup-model`,
//! which downloads the official small Vosk model of a language, checks it
//! (size, SHA-256, every file's CRC, and — with the `voice-vosk` feature —
//! that Vosk loads it) and unpacks it atomically: a half-finished download
//! never leaves a half model behind.

use super::VoiceError;
use crate::config::Voice;
use crate::content::Lang;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// An official Vosk model archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    pub lang: Lang,
    /// The directory name inside the zip, and under the models directory.
    pub name: &'static str,
    pub url: &'static str,
    /// The archive's SHA-256 (lowercase hex), where one is known. Without
    /// it, `setup` checks a `.sha256` file next to the archive on the same
    /// host if there is one, and otherwise the size and every file's CRC.
    pub sha256: Option<&'static str>,
    /// The archive's size in bytes (0 = unknown).
    pub size: u64,
}

/// vosk-model-small-en-us-0.15 (Apache-2.0, from the Vosk model list).
pub const EN: ModelInfo = ModelInfo {
    lang: Lang::En,
    name: "vosk-model-small-en-us-0.15",
    url: "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
    sha256: Some("30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"),
    size: 41_205_931,
};

/// vosk-model-small-nl-0.22 (Apache-2.0, from the Vosk model list). Its
/// SHA-256 is not published; see [`ModelInfo::sha256`].
pub const NL: ModelInfo = ModelInfo {
    lang: Lang::Nl,
    name: "vosk-model-small-nl-0.22",
    url: "https://alphacephei.com/vosk/models/vosk-model-small-nl-0.22.zip",
    sha256: None,
    size: 40_441_176,
};

/// The model `setup-model` installs for `lang`.
pub fn info(lang: Lang) -> &'static ModelInfo {
    match lang {
        Lang::En => &EN,
        Lang::Nl => &NL,
    }
}

/// `$XDG_DATA_HOME/matcoach/models`, or `~/.local/share/matcoach/models`.
pub fn default_models_dir() -> PathBuf {
    let xdg = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = xdg.or_else(|| {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".local").join("share"))
    });
    match base {
        Some(b) => b.join("matcoach").join("models"),
        None => PathBuf::from("models"),
    }
}

/// Where models go: `voice.models_dir`, or the default place.
pub fn models_dir(cfg: &Voice) -> PathBuf {
    if cfg.models_dir.as_os_str().is_empty() {
        default_models_dir()
    } else {
        cfg.models_dir.clone()
    }
}

/// The model directory for `lang`: `voice.model_en`/`model_nl` when set,
/// else the official model's name under [`models_dir`].
pub fn model_dir(cfg: &Voice, lang: Lang) -> PathBuf {
    let explicit = match lang {
        Lang::En => &cfg.model_en,
        Lang::Nl => &cfg.model_nl,
    };
    if explicit.as_os_str().is_empty() {
        models_dir(cfg).join(info(lang).name)
    } else {
        explicit.clone()
    }
}

/// How to install the model without this machine downloading it.
fn by_hand(info: &ModelInfo, dest: &Path) -> String {
    format!(
        "on a computer that is online, download {url}; copy it here and unzip it, then move its \
         folder {name} to {dest} (so that {dest}/am/final.mdl exists)",
        url = info.url,
        name = info.name,
        dest = dest.display()
    )
}

/// The model is not there and could not be fetched.
fn not_installed(info: &ModelInfo, dest: &Path, reason: String, fix: String) -> VoiceError {
    VoiceError::NoModel {
        lang: info.lang,
        path: dest.to_path_buf(),
        fix: format!("{reason}\n  {fix}"),
    }
}

/// The archive or its contents are wrong.
fn bad(info: &ModelInfo, path: &Path, reason: String) -> VoiceError {
    VoiceError::BadModel {
        engine: "vosk",
        lang: info.lang,
        path: path.to_path_buf(),
        reason,
    }
}

fn io_fail(
    info: &ModelInfo,
    dest: &Path,
    what: &str,
    path: &Path,
    e: std::io::Error,
) -> VoiceError {
    not_installed(
        info,
        dest,
        format!("could not {what} {}: {e}", path.display()),
        "check that the directory is writable and the disk is not full, then run the command again"
            .into(),
    )
}

/// Network failures that mean "this machine cannot reach the host".
fn is_offline(e: &ureq::Error) -> bool {
    use std::io::ErrorKind as K;
    match e {
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed | ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => matches!(
            io.kind(),
            K::ConnectionRefused
                | K::ConnectionReset
                | K::ConnectionAborted
                | K::NotConnected
                | K::TimedOut
                | K::AddrNotAvailable
                | K::NetworkUnreachable
                | K::HostUnreachable
                | K::NetworkDown
        ),
        _ => false,
    }
}

fn network_error(info: &ModelInfo, dest: &Path, url: &str, e: &ureq::Error) -> VoiceError {
    let reason = if is_offline(e) {
        format!("this machine seems to be offline (could not download {url}: {e})")
    } else if let ureq::Error::StatusCode(code) = e {
        format!("the server answered HTTP {code} for {url}")
    } else {
        format!("could not download {url}: {e}")
    };
    not_installed(
        info,
        dest,
        reason,
        format!("To install it by hand: {}", by_hand(info, dest)),
    )
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .build(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `.sha256` file published next to the archive: its first word, if it is
/// a SHA-256. None when there is none (or it cannot be fetched).
fn published_sha256(agent: &ureq::Agent, url: &str) -> Option<String> {
    let mut resp = agent.get(&format!("{url}.sha256")).call().ok()?;
    let text = resp
        .body_mut()
        .with_config()
        .limit(4096)
        .read_to_string()
        .ok()?;
    let word = text.split_whitespace().next()?.to_ascii_lowercase();
    (word.len() == 64 && word.bytes().all(|b| b.is_ascii_hexdigit())).then_some(word)
}

/// Removes a temporary file or directory when dropped.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn sibling(dest: &Path, suffix: &str) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    dest.with_file_name(format!(".{name}.{}.{suffix}", std::process::id()))
}

fn parent_of(info: &ModelInfo, dest: &Path) -> Result<PathBuf, VoiceError> {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| io_fail(info, dest, "create", &parent, e))?;
    Ok(parent)
}

/// Download the model archive, check it, and unpack it into `dest` (the
/// model directory itself, e.g. [`model_dir`]'s answer), replacing what is
/// there only once the new model is complete. `progress` is called with the
/// bytes downloaded so far and the total, when known.
pub fn setup(
    info: &ModelInfo,
    dest: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<PathBuf, VoiceError> {
    parent_of(info, dest)?;
    let agent = agent();
    let mut resp = agent
        .get(info.url)
        .call()
        .map_err(|e| network_error(info, dest, info.url, &e))?;
    let total = resp
        .body()
        .content_length()
        .or((info.size > 0).then_some(info.size));
    let part = sibling(dest, "zip.part");
    let _cleanup = Cleanup(part.clone());
    let mut file =
        std::fs::File::create(&part).map_err(|e| io_fail(info, dest, "create", &part, e))?;
    let mut reader = resp.body_mut().as_reader();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut done: u64 = 0;
    progress(0, total);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(not_installed(
                    info,
                    dest,
                    format!(
                        "the download of {} broke off after {done} bytes: {e}",
                        info.url
                    ),
                    format!("run the command again, or by hand: {}", by_hand(info, dest)),
                ))
            }
        };
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .map_err(|e| io_fail(info, dest, "write", &part, e))?;
        done += n as u64;
        progress(done, total);
    }
    file.sync_all()
        .map_err(|e| io_fail(info, dest, "write", &part, e))?;
    drop(file);
    let got = hex(&hasher.finalize());
    let want = match info.sha256 {
        Some(h) => Some(h.to_string()),
        None => published_sha256(&agent, info.url),
    };
    check_archive(info, dest, done, &got, want.as_deref())?;
    install(info, &part, dest, dest)
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
fn check_archive(
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
fn install(info: &ModelInfo, zip: &Path, dest: &Path, shown: &Path) -> Result<PathBuf, VoiceError> {
    let staging = sibling(dest, "unpacking");
    let _cleanup = Cleanup(staging.clone());
    if staging.exists() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    unzip(info, zip, shown, &staging)?;
    let missing: Vec<&str> = ["am/final.mdl", "conf/model.conf"]
        .into_iter()
        .filter(|f| !staging.join(f).is_file())
        .collect();
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
        super::vosk::VoskModel::load(&staging, info.lang).map_err(|e| match e {
            VoiceError::BadModel { reason, .. } => bad(
                info,
                shown,
                format!("its model cannot be loaded by Vosk: {reason}"),
            ),
            other => other,
        })?;
    }
    let old = sibling(dest, "old");
    let _cleanup_old = Cleanup(old.clone());
    if dest.exists() {
        std::fs::rename(dest, &old).map_err(|e| io_fail(info, dest, "move aside", dest, e))?;
    }
    if let Err(e) = std::fs::rename(&staging, dest) {
        if old.exists() {
            let _ = std::fs::rename(&old, dest);
        }
        return Err(io_fail(info, dest, "move the new model to", dest, e));
    }
    Ok(dest.to_path_buf())
}

/// A model unpacks to at most this many times its archive's size (Vosk's
/// models compress two to three times; a zip bomb a thousand).
pub const MAX_UNPACK_RATIO: u64 = 20;

/// Extract `zip` into `out`, dropping a single top-level folder (the
/// official archives hold `<name>/am/…`). Entries that would land outside
/// `out`, symbolic links, and archives that unpack to more than
/// [`MAX_UNPACK_RATIO`] times their size (counted as written, not as the
/// archive claims) are refused; each file's CRC is checked as it is read.
fn unzip(info: &ModelInfo, zip: &Path, shown: &Path, out: &Path) -> Result<(), VoiceError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// A tiny HTTP/1.1 server on 127.0.0.1 serving fixed bodies by path
    /// (everything else is 404). It stops when dropped, or after 30 s.
    struct Server {
        port: u16,
        stop: Arc<AtomicBool>,
        hits: Arc<std::sync::Mutex<Vec<String>>>,
    }

    impl Server {
        fn start(routes: Vec<(&str, Vec<u8>)>) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let port = listener.local_addr().unwrap().port();
            let stop = Arc::new(AtomicBool::new(false));
            let hits = Arc::new(std::sync::Mutex::new(Vec::new()));
            let routes: Vec<(String, Vec<u8>)> = routes
                .into_iter()
                .map(|(p, b)| (p.to_string(), b))
                .collect();
            let (stop2, hits2) = (stop.clone(), hits.clone());
            std::thread::spawn(move || {
                let deadline = std::time::Instant::now() + Duration::from_secs(30);
                while !stop2.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                    let Ok((mut conn, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    conn.set_nonblocking(false).unwrap();
                    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        continue;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                    }
                    hits2.lock().unwrap().push(path.clone());
                    let resp = match routes.iter().find(|(p, _)| *p == path) {
                        Some((_, body)) => {
                            let mut r = format!(
                                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/zip\r\nConnection: close\r\n\r\n",
                                body.len()
                            )
                            .into_bytes();
                            r.extend_from_slice(body);
                            r
                        }
                        None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
                            .to_vec(),
                    };
                    let _ = conn.write_all(&resp);
                    let _ = conn.flush();
                }
            });
            Server { port, stop, hits }
        }

        fn url(&self, path: &str) -> &'static str {
            Box::leak(format!("http://127.0.0.1:{}{path}", self.port).into_boxed_str())
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
        }
    }

    /// A zip shaped like the official ones: `<top>/am/final.mdl`, …
    fn model_zip(top: &str) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        w.add_directory(format!("{top}/"), opts).unwrap();
        for (name, body) in [
            ("am/final.mdl", "acoustic model".repeat(100)),
            ("conf/model.conf", "--beam=10.0\n".into()),
            ("graph/phones/word_boundary.int", "1 nonword\n".into()),
            ("README", "test model\n".into()),
        ] {
            w.start_file(format!("{top}/{name}"), opts).unwrap();
            w.write_all(body.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn sha(bytes: &[u8]) -> &'static str {
        Box::leak(hex(&Sha256::digest(bytes)).into_boxed_str())
    }

    fn test_info(url: &'static str, zip: &[u8]) -> ModelInfo {
        ModelInfo {
            lang: Lang::Nl,
            name: "test-model",
            url,
            sha256: Some(sha(zip)),
            size: zip.len() as u64,
        }
    }

    /// With the feature, Vosk must load what was unpacked, and our fake
    /// model cannot be loaded: setup stops there and leaves nothing behind.
    fn expect_installed_or_refused_by_vosk(result: Result<PathBuf, VoiceError>, dest: &Path) {
        if cfg!(feature = "voice-vosk") {
            let err = result.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("cannot be loaded by Vosk"), "{err}");
            assert!(!dest.exists(), "no half-installed model");
        } else {
            assert_eq!(result.unwrap(), dest);
            assert!(dest.join("am/final.mdl").is_file());
            assert!(dest.join("graph/phones/word_boundary.int").is_file());
            assert_eq!(
                std::fs::read_to_string(dest.join("conf/model.conf")).unwrap(),
                "--beam=10.0\n"
            );
        }
        let leftovers: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    #[test]
    fn downloads_verifies_and_unpacks() {
        let zip = model_zip("test-model");
        let server = Server::start(vec![("/m.zip", zip.clone())]);
        let info = test_info(server.url("/m.zip"), &zip);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("models").join("test-model");
        let mut calls: Vec<(u64, Option<u64>)> = Vec::new();
        let result = setup(&info, &dest, &mut |done, total| calls.push((done, total)));
        assert_eq!(calls.first(), Some(&(0, Some(zip.len() as u64))));
        assert_eq!(
            calls.last(),
            Some(&(zip.len() as u64, Some(zip.len() as u64)))
        );
        assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));
        expect_installed_or_refused_by_vosk(result, &dest);
        assert_eq!(
            server.hits.lock().unwrap().as_slice(),
            ["/m.zip"],
            "a known hash needs no .sha256"
        );
    }

    #[test]
    fn replaces_an_existing_model_only_when_the_new_one_is_good() {
        let zip = model_zip("test-model");
        let server = Server::start(vec![
            ("/m.zip", zip.clone()),
            ("/bad.zip", b"garbage".to_vec()),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("test-model");
        std::fs::create_dir_all(dest.join("am")).unwrap();
        std::fs::write(dest.join("am/final.mdl"), "old").unwrap();
        // A broken archive (right hash, so it gets as far as unzipping).
        let broken = ModelInfo {
            sha256: Some(sha(b"garbage")),
            size: 7,
            ..test_info(server.url("/bad.zip"), &zip)
        };
        let err = setup(&broken, &dest, &mut |_, _| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a readable zip archive"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dest.join("am/final.mdl")).unwrap(),
            "old"
        );
        let result = setup(
            &test_info(server.url("/m.zip"), &zip),
            &dest,
            &mut |_, _| {},
        );
        if cfg!(feature = "voice-vosk") {
            assert!(result.is_err());
            assert_eq!(
                std::fs::read_to_string(dest.join("am/final.mdl")).unwrap(),
                "old"
            );
        } else {
            result.unwrap();
            assert!(std::fs::read_to_string(dest.join("am/final.mdl"))
                .unwrap()
                .starts_with("acoustic model"));
        }
    }

    #[test]
    fn a_wrong_hash_is_refused_and_leaves_nothing() {
        let zip = model_zip("test-model");
        let server = Server::start(vec![("/m.zip", zip.clone())]);
        let info = ModelInfo {
            sha256: Some("00000000000000000000000000000000000000000000000000000000000000ff"),
            ..test_info(server.url("/m.zip"), &zip)
        };
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("test-model");
        let err = setup(&info, &dest, &mut |_, _| {}).unwrap_err();
        assert!(matches!(err, VoiceError::BadModel { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains(&format!("SHA-256 is {}", sha(&zip))), "{msg}");
        assert!(msg.contains("tampered"), "{msg}");
        assert!(!dest.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no temp files"
        );
        // A wrong size is refused too.
        let info = ModelInfo {
            size: zip.len() as u64 + 1,
            ..test_info(server.url("/m.zip"), &zip)
        };
        let msg = setup(&info, &dest, &mut |_, _| {}).unwrap_err().to_string();
        assert!(
            msg.contains(&format!("the archive is {} bytes", zip.len())),
            "{msg}"
        );
    }

    #[test]
    fn without_a_known_hash_the_published_sha256_file_is_checked() {
        let zip = model_zip("test-model");
        let good = format!("{}  m.zip\n", sha(&zip)).into_bytes();
        let wrong = format!("{}  w.zip\n", "ab".repeat(32)).into_bytes();
        let server = Server::start(vec![
            ("/m.zip", zip.clone()),
            ("/m.zip.sha256", good),
            ("/w.zip", zip.clone()),
            ("/w.zip.sha256", wrong),
            ("/n.zip", zip.clone()),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let unhashed = |path: &str| ModelInfo {
            sha256: None,
            ..test_info(server.url(path), &zip)
        };
        let r = setup(
            &unhashed("/m.zip"),
            &dir.path().join("a/test-model"),
            &mut |_, _| {},
        );
        expect_installed_or_refused_by_vosk(r, &dir.path().join("a/test-model"));
        let msg = setup(
            &unhashed("/w.zip"),
            &dir.path().join("b/test-model"),
            &mut |_, _| {},
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains(&format!("has {}", "ab".repeat(32))), "{msg}");
        // No .sha256 published (404): the size and the CRCs are the check.
        let r = setup(
            &unhashed("/n.zip"),
            &dir.path().join("c/test-model"),
            &mut |_, _| {},
        );
        expect_installed_or_refused_by_vosk(r, &dir.path().join("c/test-model"));
        let hits = server.hits.lock().unwrap().clone();
        assert_eq!(
            hits,
            [
                "/m.zip",
                "/m.zip.sha256",
                "/w.zip",
                "/w.zip.sha256",
                "/n.zip",
                "/n.zip.sha256"
            ]
        );
    }

    #[test]
    fn http_404_names_the_status_and_the_way_by_hand() {
        let server = Server::start(vec![]);
        let info = test_info(server.url("/missing.zip"), b"");
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("test-model");
        let err = setup(&info, &dest, &mut |_, _| {}).unwrap_err();
        assert!(matches!(err, VoiceError::NoModel { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("the server answered HTTP 404 for http://"),
            "{msg}"
        );
        assert!(!msg.contains("offline"), "{msg}");
        assert!(msg.contains("move its folder test-model to"), "{msg}");
        assert!(!dest.exists());
    }

    #[test]
    fn connection_refused_says_offline_and_how_to_install_by_hand() {
        // A port that nothing listens on.
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url: &'static str = Box::leak(
            format!("http://127.0.0.1:{port}/vosk-model-small-nl-0.22.zip").into_boxed_str(),
        );
        let info = ModelInfo { url, ..NL };
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("vosk-model-small-nl-0.22");
        let err = setup(&info, &dest, &mut |_, _| {}).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("this machine seems to be offline (could not download"),
            "{msg}"
        );
        assert!(msg.contains("To install it by hand"), "{msg}");
        assert!(
            msg.contains(&format!(
                "download {url}; copy it here and unzip it, then move its folder vosk-model-small-nl-0.22 to {}",
                dest.display()
            )),
            "{msg}"
        );
        assert!(msg.contains("am/final.mdl exists"), "{msg}");
        assert!(!dest.exists());
    }

    #[test]
    fn setup_from_a_file_checks_the_same_things() {
        let dir = tempfile::tempdir().unwrap();
        let zip = model_zip("test-model");
        let path = dir.path().join("test-model.zip");
        std::fs::write(&path, &zip).unwrap();
        let info = test_info("http://unused.invalid/x.zip", &zip);
        let dest = dir.path().join("models/test-model");
        let r = setup_from_file(&info, &path, &dest);
        expect_installed_or_refused_by_vosk(r, &dest);
        let wrong = ModelInfo {
            sha256: Some(sha(b"other")),
            ..info.clone()
        };
        let msg = setup_from_file(&wrong, &path, &dest.with_file_name("x"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("SHA-256"), "{msg}");
        let msg = setup_from_file(&info, &dir.path().join("nope.zip"), &dest)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("cannot read"), "{msg}");
    }

    #[test]
    fn archives_escaping_the_directory_or_without_a_model_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        w.start_file("../evil.txt", opts).unwrap();
        w.write_all(b"x").unwrap();
        let evil = w.finish().unwrap().into_inner();
        let path = dir.path().join("evil.zip");
        std::fs::write(&path, &evil).unwrap();
        let dest = dir.path().join("m/model");
        let msg = setup_from_file(&test_info("http://unused.invalid/", &evil), &path, &dest)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("outside the model directory"), "{msg}");
        assert!(!dir.path().join("m/evil.txt").exists() && !dir.path().join("evil.txt").exists());

        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("notes/readme.txt", opts).unwrap();
        w.write_all(b"hello").unwrap();
        let empty = w.finish().unwrap().into_inner();
        std::fs::write(&path, &empty).unwrap();
        let msg = setup_from_file(&test_info("http://unused.invalid/", &empty), &path, &dest)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("no Vosk model (am/final.mdl, conf/model.conf missing)"),
            "{msg}"
        );
        assert!(!dest.exists());
    }

    #[test]
    fn a_zip_without_a_top_folder_unpacks_as_is() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for f in ["am/final.mdl", "conf/model.conf"] {
            w.start_file(f, opts).unwrap();
            w.write_all(b"x").unwrap();
        }
        let flat = w.finish().unwrap().into_inner();
        let info = test_info("http://unused.invalid/", &flat);
        let out = dir.path().join("out");
        let path = dir.path().join("flat.zip");
        std::fs::write(&path, &flat).unwrap();
        unzip(&info, &path, &path, &out).unwrap();
        assert!(out.join("am/final.mdl").is_file() && out.join("conf/model.conf").is_file());
    }

    #[test]
    fn model_dirs_follow_the_config() {
        let mut cfg = Voice::default();
        let default = default_models_dir();
        assert!(
            default.ends_with("matcoach/models"),
            "{}",
            default.display()
        );
        assert_eq!(
            model_dir(&cfg, Lang::Nl),
            default.join("vosk-model-small-nl-0.22")
        );
        cfg.models_dir = "/srv/models".into();
        assert_eq!(
            model_dir(&cfg, Lang::En),
            Path::new("/srv/models/vosk-model-small-en-us-0.15")
        );
        cfg.model_nl = "/opt/nl".into();
        assert_eq!(model_dir(&cfg, Lang::Nl), Path::new("/opt/nl"));
        assert_eq!(info(Lang::En).name, "vosk-model-small-en-us-0.15");
        assert!(info(Lang::Nl)
            .url
            .ends_with("/vosk-model-small-nl-0.22.zip"));
        assert_eq!(EN.sha256.map(str::len), Some(64));
    }
}
