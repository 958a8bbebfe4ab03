//! `setup-model`'s download: the archive fetched over HTTPS (the SHA-256
//! computed as it streams in), network failures told apart from a broken
//! archive, then handed to [`super::install`].

use super::*;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

/// Network failures that mean "this machine cannot reach the host".
pub(super) fn is_offline(e: &ureq::Error) -> bool {
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

pub(super) fn network_error(
    info: &ModelInfo,
    dest: &Path,
    url: &str,
    e: &ureq::Error,
) -> VoiceError {
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

pub(super) fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .build(),
    )
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `.sha256` file published next to the archive: its first word, if it is
/// a SHA-256. None when there is none (or it cannot be fetched).
pub(super) fn published_sha256(agent: &ureq::Agent, url: &str) -> Option<String> {
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
