//! Issue 15, item 2: every parser of outside data, fuzzed. Property tests
//! with a bounded case count (proptest's default here; `PROPTEST_CASES`
//! raises it, and scripts/fuzz runs them for as long as asked): no panic,
//! no hang, and each rejection a clear error naming the file, line, field
//! or item, with a fix that fits the command. The regression tests at the
//! end hold the minimal inputs of the crashes found.

mod common;

use common::fixtures::{example_config, Scratch};
use common::fuzz::{self, apply, edits, text_edit, wav_bytes};
use matcoach::audio::Clip;
use matcoach::config::Config;
use matcoach::content::Lang;
use matcoach::journal::{Date, JournalStore, OpenOptions};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// The cases per property: proptest's `PROPTEST_CASES`, else `default`
/// (small: the whole file runs in well under 90 s in a debug build).
fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        // Shrinking a slow case (a journal, a content directory) may take
        // long; the first failure with its seed is what is needed.
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    }
}

// ---- command-line dates, durations, the `sim --events` language -----------

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn dates_parse_or_say_the_format(s in ".{0,16}|[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}") {
        match Date::parse(&s) {
            Ok(d) => prop_assert_eq!(Date::parse(&d.to_string()).ok(), Some(d)),
            Err(e) => prop_assert!(e.to_string().contains("YYYY-MM-DD"), "{}", e),
        }
    }

    #[test]
    fn durations_parse_or_are_refused(s in "[0-9.]{0,8}(h|m|s|ms|x)?[0-9.]{0,8}(h|m|s|ms)?|.{0,12}") {
        let _ = matcoach::sim::parse_duration(&s);
    }

    #[test]
    fn events_parse_or_name_the_item(
        s in "([0-9]{1,4}(s|ms|m)?:(press|long_press|heard=(next|pain|stop|x)|.{0,4}),?){0,4}|.{0,24}"
    ) {
        if let Err(e) = matcoach::sim::parse_spec(&s) {
            let m = e.to_string();
            prop_assert!(m.starts_with("--events item "), "{}", m);
            prop_assert!(m.contains("fix: write items as"), "{}", m);
        }
    }
}

// ---- the config ------------------------------------------------------------

fn config_text() -> String {
    std::fs::read_to_string(example_config()).unwrap()
}

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn a_damaged_config_names_the_file_and_line(text in text_edit(&config_text())) {
        let path = Path::new("/etc/matcoach/config.toml");
        if let Err(e) = Config::parse(path, &text) {
            let m = e.to_string();
            prop_assert!(m.contains("/etc/matcoach/config.toml"), "{}", m);
            prop_assert!(m.contains("fix:"), "{}", m);
        }
    }
}

// ---- the content -----------------------------------------------------------

/// The content files to damage, relative to the content directory.
fn content_files() -> Vec<String> {
    let root = common::fixtures::content_dir();
    let mut out = vec!["phrases.toml".to_string(), "safety.toml".to_string()];
    for sub in ["exercises", "programs"] {
        let mut names: Vec<String> = std::fs::read_dir(root.join(sub))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| format!("{sub}/{}", e.file_name().to_string_lossy()))
            .filter(|n| n.ends_with(".toml"))
            .collect();
        names.sort();
        out.extend(names);
    }
    out
}

#[test]
fn damaged_content_names_the_file() {
    let scratch = Scratch::new();
    let files = content_files();
    let mut runner = proptest::test_runner::TestRunner::new(cases(48));
    runner
        .run(&(0..files.len(), edits()), |(which, e)| {
            let rel = &files[which];
            let original = std::fs::read(scratch.path(rel)).unwrap();
            std::fs::write(scratch.path(rel), apply(&original, &e)).unwrap();
            let result = matcoach::content::load_dir(&scratch.content());
            std::fs::write(scratch.path(rel), &original).unwrap();
            if let Err(errs) = result {
                let m = errs.to_string();
                // The file, or (for an edit that breaks a reference between
                // files) the other file that names it.
                prop_assert!(m.contains(".toml"), "{rel}: {m}");
            }
            Ok(())
        })
        .unwrap();
}

// ---- recorded voices and `hear`'s WAV files --------------------------------

proptest! {
    #![proptest_config(cases(400))]

    #[test]
    fn any_wav_header_decodes_or_is_refused(bytes in wav_bytes()) {
        let _ = matcoach::audio::wav::decode(bytes.clone());
        let _ = Clip::decode_wav(std::io::Cursor::new(bytes));
    }

    #[test]
    fn an_edited_wav_decodes_or_is_refused(e in edits()) {
        let bytes = apply(&fuzz::tone_wav(), &e);
        let _ = matcoach::audio::wav::decode(bytes);
    }
}

#[test]
fn a_bad_recorded_clip_names_the_file_and_the_recorded_voice_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mine/en")).unwrap();
    let voice = matcoach::speech::Recorded::open(dir.path(), "mine").unwrap();
    let clip = dir.path().join("mine/en/sys.ready.wav");
    let mut runner = proptest::test_runner::TestRunner::new(cases(200));
    runner
        .run(&wav_bytes(), |bytes| {
            std::fs::write(&clip, &bytes).unwrap();
            if let Some(Err(e)) = voice.lookup("sys.ready", Lang::En) {
                let m = e.to_string();
                prop_assert!(m.contains("sys.ready.wav"), "{m}");
                prop_assert!(m.contains("delete it to use the synthesised voice"), "{m}");
            }
            Ok(())
        })
        .unwrap();
}

// ---- setup-model --from ----------------------------------------------------

/// Every path under `root`, symlinks not followed.
fn tree(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

#[test]
fn a_hostile_model_archive_writes_nothing_outside_the_models_directory() {
    let mut runner = proptest::test_runner::TestRunner::new(cases(64));
    runner
        .run(&fuzz::archive(), |entries| {
            let (dir, result) = setup_from(&entries);
            let zip = dir.path().join("model.zip");
            let models = dir.path().join("models");
            for p in tree(dir.path()) {
                prop_assert!(
                    p == zip || p.starts_with(&models),
                    "{} written outside the models directory ({entries:?})",
                    p.display()
                );
                let meta = std::fs::symlink_metadata(&p).unwrap();
                prop_assert!(!meta.file_type().is_symlink(), "a symlink: {}", p.display());
            }
            let written: u64 = tree(&models)
                .iter()
                .filter_map(|p| std::fs::symlink_metadata(p).ok())
                .map(|m| m.len())
                .sum();
            prop_assert!(written <= 8 << 20, "{written} bytes unpacked ({entries:?})");
            match result {
                Ok(p) => prop_assert!(p.join("am/final.mdl").is_file()),
                Err(m) => {
                    prop_assert!(m.contains("model.zip") || m.contains("test-model"), "{m}");
                }
            }
            Ok(())
        })
        .unwrap();
}

// ---- the journal -----------------------------------------------------------

/// A journal with a few sessions, as bytes.
fn journal_bytes() -> Vec<u8> {
    use common::journal_days::{open_store, plain_day, scratch};
    let (_dir, path) = scratch();
    let mut store = open_store(&path);
    let rules = matcoach::adapt::Rules::default();
    for day in ["2025-06-01", "2025-06-02"] {
        plain_day(&mut store, &rules, Date::parse(day).unwrap(), "quick");
    }
    drop(store);
    // One file: fold the WAL back in.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
        .unwrap();
    drop(c);
    std::fs::read(&path).unwrap()
}

#[test]
fn a_damaged_or_foreign_journal_is_moved_aside_or_refused_never_a_panic() {
    let base = journal_bytes();
    // The header's user_version (the schema version) at offset 60.
    let header = base.clone();
    let version = move |v: u32| {
        let mut b = header.clone();
        b[60..64].copy_from_slice(&v.to_be_bytes());
        b
    };
    let strategy = prop_oneof![
        edits().prop_map(move |e| apply(&base, &e)),
        (0u32..12).prop_map(version),
    ];
    let mut runner = proptest::test_runner::TestRunner::new(cases(64));
    runner
        .run(&strategy, |bytes| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("journal.sqlite");
            std::fs::write(&path, &bytes).unwrap();
            match JournalStore::open(&path, &OpenOptions::default()) {
                Ok(opened) => {
                    if let Some(r) = &opened.recovered {
                        prop_assert!(r.moved_to.exists());
                        prop_assert!(!r.reason.is_empty());
                    }
                    // Reading may fail on damage the open did not see, but
                    // clearly.
                    if let Err(e) = opened.store.history(None) {
                        prop_assert!(e.to_string().contains("journal.sqlite"), "{e}");
                    }
                    let _ = opened.store.integrity_check();
                }
                Err(e) => {
                    let m = e.to_string();
                    prop_assert!(m.contains("journal.sqlite"), "{m}");
                    prop_assert!(m.contains("fix:"), "{m}");
                }
            }
            Ok(())
        })
        .unwrap();
}

/// What `setup-model --from` makes of one archive (no hash or size known).
fn setup_from(entries: &[fuzz::Entry]) -> (tempfile::TempDir, Result<PathBuf, String>) {
    let info = matcoach::hearing::installer::ModelInfo {
        lang: Lang::Nl,
        name: "test-model",
        url: "http://127.0.0.1:9/none.zip",
        sha256: None,
        size: 0,
    };
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("model.zip");
    std::fs::write(&zip, fuzz::zip_of(entries)).unwrap();
    let dest = dir.path().join("models/test-model");
    let r = matcoach::hearing::installer::setup_from_file(&info, &zip, &dest)
        .map_err(|e| e.to_string());
    (dir, r)
}

#[test]
fn zip_bombs_and_symlinks_are_refused_by_name() {
    use fuzz::Entry::*;
    let model = || {
        vec![
            File("m/am/final.mdl".into(), b"model".to_vec()),
            File("m/conf/model.conf".into(), b"conf".to_vec()),
        ]
    };
    // (extra entry, words of the refusal)
    let rows = [
        (Zeros("m/graph/HCLr.fst".into(), 24), "zip bomb"),
        (
            Symlink("m/am/link".into(), "/etc/passwd".into()),
            "symbolic link",
        ),
        (
            File("../escape".into(), b"x".to_vec()),
            "outside the model directory",
        ),
    ];
    for (extra, words) in rows {
        let mut entries = model();
        entries.push(extra.clone());
        let (dir, r) = setup_from(&entries);
        let e = r.expect_err(&format!("{extra:?} must be refused"));
        assert!(e.contains(words), "{extra:?}: {e}");
        assert!(e.contains("model.zip"), "{e}");
        assert!(!dir.path().join("models/test-model").exists(), "{extra:?}");
    }
}
