//! Speech-recognition models: where they live and `matcoach setup-model`,
//! which downloads the official small Vosk model of a language, checks it
//! (size, SHA-256, every file's CRC, and — with the `voice-vosk` feature —
//! that Vosk loads it) and unpacks it atomically: a half-finished download
//! never leaves a half model behind.

use super::VoiceError;
use crate::config::Voice;
use crate::content::Lang;
use std::path::{Path, PathBuf};
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

/// `$XDG_DATA_HOME/matcoach/models`, or `~/.local/share/matcoach/models`
/// (`models` when neither is set).
pub fn default_models_dir() -> PathBuf {
    crate::dirs::matcoach_dir(crate::dirs::Base::Data)
        .map_or_else(|| PathBuf::from("models"), |d| d.join("models"))
}

/// Where models go: `voice.models_dir`, or the default place.
pub fn models_dir(cfg: &Voice) -> PathBuf {
    cfg.models_dir.clone().unwrap_or_else(default_models_dir)
}

/// The model directory for `lang`: `voice.model_en`/`model_nl` when set,
/// else the official model's name under [`models_dir`].
pub fn model_dir(cfg: &Voice, lang: Lang) -> PathBuf {
    let explicit = match lang {
        Lang::En => &cfg.model_en,
        Lang::Nl => &cfg.model_nl,
    };
    explicit
        .clone()
        .unwrap_or_else(|| models_dir(cfg).join(info(lang).name))
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

mod download;
mod install;
mod recover;
#[cfg(test)]
mod test_server;

pub use download::setup;
use download::*;
pub use install::setup_from_file;
use install::*;
use recover::{missing_files, model_name};
pub use recover::{recover, recover_logged, Recovered};

#[cfg(test)]
mod tests {
    use super::test_server::Server;
    use super::*;
    use sha2::{Digest, Sha256};
    use std::io::Write;

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
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
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
        cfg.models_dir = Some("/srv/models".into());
        assert_eq!(
            model_dir(&cfg, Lang::En),
            Path::new("/srv/models/vosk-model-small-en-us-0.15")
        );
        cfg.model_nl = Some("/opt/nl".into());
        assert_eq!(model_dir(&cfg, Lang::Nl), Path::new("/opt/nl"));
        assert_eq!(info(Lang::En).name, "vosk-model-small-en-us-0.15");
        assert!(info(Lang::Nl)
            .url
            .ends_with("/vosk-model-small-nl-0.22.zip"));
        assert_eq!(EN.sha256.map(str::len), Some(64));
    }
}
