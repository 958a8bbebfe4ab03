//! Kept clips (issue 16, item 3, `[voice] keep_misses`): the folder
//! `misses` beside the journal, its size cap and expiry, the JSON sidecar
//! of each clip, and the evidence thread that runs the
//! [`field::Detector`](super::field::Detector), writes what it finds to the
//! journal and keeps the audio.
//!
//! A clip is a group of files named after the local time and what it is:
//! `20261204-175502-miss-pause.wav` (the microphone at 16 kHz, before echo
//! cancellation: what `matcoach hear` replays), `….heard.wav` (what the
//! recogniser was given, after echo cancellation), `….playback.wav` (what the
//! coach played meanwhile, when it played anything) and `….json` (the
//! sidecar). Each is written to a temporary name and renamed, the sidecar
//! last. Nothing ever leaves the device.

use super::field::{self, Detector, Event, HeardWords, Kind, Note, Rules, Snapshot, Tap};
use super::{Detection, Engine, RATE};
use crate::command::Command;
use crate::content::Lang;
use crate::date::{self, Date, Stamp};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The sidecar's format version.
pub const SIDECAR_VERSION: u32 = 1;

/// What a kept clip is, beside it as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    pub version: u32,
    pub kind: Kind,
    pub command: Command,
    /// The word as heard, for a false accept.
    pub word: Option<String>,
    pub confidence: Option<f32>,
    /// What happened, in a sentence.
    pub what: String,
    /// Local time, `YYYY-MM-DDTHH:MM:SS`.
    pub time: String,
    pub engine: String,
    pub model: String,
    pub language: String,
    pub rate: u32,
    /// The files of the clip (names in the same folder).
    pub mic: String,
    pub heard_audio: String,
    pub playback: Option<String>,
    /// What the recogniser said during the clip (ms from its start).
    pub heard: Vec<HeardWords>,
    /// The commands the decider fired during the clip (ms from its start).
    pub commands: Vec<Detection>,
}

impl Sidecar {
    /// A clip's sidecar saying only what happened: the word, time and
    /// recogniser are for the caller to give, the files and what was heard
    /// in them for [`Folder::keep`] to fill in.
    pub fn new(kind: Kind, command: Command, what: String) -> Sidecar {
        Sidecar {
            version: SIDECAR_VERSION,
            kind,
            command,
            word: None,
            confidence: None,
            what,
            time: String::new(),
            engine: String::new(),
            model: String::new(),
            language: String::new(),
            rate: RATE,
            mic: String::new(),
            heard_audio: String::new(),
            playback: None,
            heard: Vec::new(),
            commands: Vec::new(),
        }
    }

    /// The sidecar of the clip `wav` (`X.wav` → `X.json`), if it has one:
    /// `Ok(None)` when there is none, an error naming the file when it
    /// cannot be read.
    pub fn of(wav: &Path) -> Result<Option<Sidecar>, String> {
        let path = sidecar_path(wav);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: not a kept clip's sidecar ({e})", path.display()))
    }
}

/// `X.wav` → `X.json` (and `X.heard.wav` → `X.json`).
pub fn sidecar_path(wav: &Path) -> PathBuf {
    let name = wav
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let base = name.split('.').next().unwrap_or("");
    wav.with_file_name(format!("{base}.json"))
}

/// A problem keeping a clip.
#[derive(Debug, thiserror::Error)]
#[error("{}: {what}: {detail}{}", path.display(), crate::fix::Line(self))]
pub struct KeepError {
    pub path: PathBuf,
    pub what: String,
    pub detail: String,
    pub fix: String,
}

impl crate::fix::Fix for KeepError {
    fn fix(&self) -> Option<String> {
        let KeepError { fix, .. } = self;
        Some(fix.clone())
    }
}

fn keep_error(path: &Path, what: &str, e: impl std::fmt::Display) -> KeepError {
    KeepError {
        path: path.to_path_buf(),
        what: what.into(),
        detail: e.to_string(),
        fix: "make the folder beside the journal writable by the user matcoach runs as, and check the disk (`matcoach doctor`); or set [voice] keep_misses = false".into(),
    }
}

/// What pruning deleted, and what is left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Clips deleted for their age.
    pub expired: u32,
    /// Clips deleted (oldest first) to stay under the cap.
    pub over_cap: u32,
    /// Clips and bytes left.
    pub clips: u32,
    pub bytes: u64,
}

/// The folder of kept clips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub dir: PathBuf,
    pub max_bytes: u64,
    pub days: u32,
}

/// One clip's files on disk.
#[derive(Debug)]
struct Group {
    at: Stamp,
    base: String,
    files: Vec<(PathBuf, u64)>,
}

impl Group {
    fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.1).sum()
    }
}

impl Folder {
    /// The folder `misses` beside the journal at `journal`, as `voice`
    /// configures it.
    pub fn beside(journal: &Path, voice: &crate::config::Voice) -> Folder {
        let dir = journal
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("misses");
        Folder {
            dir,
            max_bytes: u64::from(voice.keep_misses_max_mb) * 1024 * 1024,
            days: voice.keep_misses_days,
        }
    }

    /// The clips in the folder, oldest first (files not named like a clip
    /// are left alone).
    fn groups(&self) -> Result<Vec<Group>, KeepError> {
        let mut groups: Vec<Group> = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(groups),
            Err(e) => return Err(keep_error(&self.dir, "reading the kept clips", e)),
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let base = name.split('.').next().unwrap_or("").to_string();
            let Some(at) = Stamp::parse_compact(&base) else {
                continue;
            };
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            match groups.iter_mut().find(|g| g.base == base) {
                Some(g) => g.files.push((entry.path(), size)),
                None => groups.push(Group {
                    at,
                    base,
                    files: vec![(entry.path(), size)],
                }),
            }
        }
        groups.sort_by(|a, b| (a.at, &a.base).cmp(&(b.at, &b.base)));
        Ok(groups)
    }

    /// How many clips, and how many bytes, the folder holds.
    pub fn usage(&self) -> Result<(u32, u64), KeepError> {
        let g = self.groups()?;
        Ok((g.len() as u32, g.iter().map(Group::bytes).sum()))
    }

    /// Delete the clips older than `days` at `now`, then the oldest until
    /// the rest fit under the cap; never the clip named `keep`.
    pub fn prune(&self, now: Stamp, keep: Option<&str>) -> Result<Pruned, KeepError> {
        let mut out = Pruned::default();
        let limit = Duration::from_secs(u64::from(self.days) * 86_400);
        let delete = |g: &Group| -> Result<(), KeepError> {
            for (f, _) in &g.files {
                match std::fs::remove_file(f) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(keep_error(f, "deleting an old clip", e)),
                }
            }
            Ok(())
        };
        let mut left = Vec::new();
        for g in self.groups()? {
            if g.at.plus(limit) < now && keep != Some(g.base.as_str()) {
                delete(&g)?;
                out.expired += 1;
            } else {
                left.push(g);
            }
        }
        let mut total: u64 = left.iter().map(Group::bytes).sum();
        let mut rest = Vec::new();
        for g in left {
            if total > self.max_bytes && keep != Some(g.base.as_str()) {
                delete(&g)?;
                total -= g.bytes();
                out.over_cap += 1;
            } else {
                rest.push(g);
            }
        }
        out.clips = rest.len() as u32;
        out.bytes = rest.iter().map(Group::bytes).sum();
        Ok(out)
    }

    /// Keep `snap` as a clip made at `at`, with `sidecar` (whose file names
    /// are filled in here); then prune. Returns the clip's WAV.
    pub fn keep(
        &self,
        at: Stamp,
        mut sidecar: Sidecar,
        snap: &Snapshot,
    ) -> Result<PathBuf, KeepError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| keep_error(&self.dir, "creating the folder for kept clips", e))?;
        let stem = format!(
            "{}-{}-{}",
            at.compact(),
            sidecar.kind.as_str().replace('_', "-"),
            sidecar.command.name()
        );
        let mut base = stem.clone();
        let mut n = 2;
        while self.dir.join(format!("{base}.json")).exists()
            || self.dir.join(format!("{base}.wav")).exists()
        {
            base = format!("{stem}-{n}");
            n += 1;
        }
        let mic = format!("{base}.wav");
        let heard = format!("{base}.heard.wav");
        write_wav(&self.dir.join(&mic), &snap.mic)?;
        write_wav(&self.dir.join(&heard), &snap.heard)?;
        let played = snap.reference.iter().any(|s| s.unsigned_abs() > 32);
        sidecar.playback = if played {
            let name = format!("{base}.playback.wav");
            write_wav(&self.dir.join(&name), &snap.reference)?;
            Some(name)
        } else {
            None
        };
        sidecar.mic = mic.clone();
        sidecar.heard_audio = heard;
        sidecar.heard = snap.results.clone();
        sidecar.commands = snap.commands.clone();
        let json = serde_json::to_string_pretty(&sidecar)
            .map_err(|e| keep_error(&self.dir, "writing a clip's sidecar", e))?;
        write_atomic(&self.dir.join(format!("{base}.json")), json.as_bytes())?;
        self.prune(at, Some(&base))?;
        Ok(self.dir.join(mic))
    }
}

fn tmp_of(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KeepError> {
    crate::durable::write_via(&tmp_of(path), path, bytes, 0o644)
        .map_err(|e| keep_error(path, "writing a kept clip", e))
}

/// 16 kHz mono 16-bit, to a temporary name, then renamed.
fn write_wav(path: &Path, samples: &[i16]) -> Result<(), KeepError> {
    let tmp = tmp_of(path);
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let fail = |e: hound::Error| keep_error(&tmp, "writing a kept clip", e);
    let mut bytes = std::io::Cursor::new(Vec::with_capacity(44 + 2 * samples.len()));
    let mut w = hound::WavWriter::new(&mut bytes, spec).map_err(fail)?;
    for s in samples {
        w.write_sample(*s).map_err(fail)?;
    }
    w.finalize().map_err(fail)?;
    write_atomic(path, bytes.get_ref())
}

/// The model an engine listens with, for the sidecar.
pub fn model_name(engine: Engine, voice: &crate::config::Voice, lang: Lang) -> String {
    match engine {
        Engine::Vosk => super::installer::model_dir(voice, lang)
            .display()
            .to_string(),
        Engine::Pocketsphinx => "/usr/share/pocketsphinx/model/en-us (Debian)".into(),
    }
}

/// What the evidence thread needs.
pub struct Setup {
    /// Where clips go; None: keep no audio (`keep_misses = false`).
    pub folder: Option<Folder>,
    /// The listening pipeline's rings.
    pub tap: Option<Tap>,
    pub journal: Box<dyn super::field::VoiceLog>,
    pub engine: String,
    pub model: String,
    pub lang: Lang,
    pub rules: Rules,
    /// Told one line per kept clip and per problem.
    pub log: Box<dyn FnMut(&str) + Send>,
}

/// Start the evidence thread: it reads events from the returned sender
/// (stamped when they happened) until every sender is gone. It prunes the
/// folder at once and then once a day. Writing happens on this thread,
/// never on the realtime callback or the async runtime.
pub fn spawn(mut setup: Setup) -> std::io::Result<mpsc::Sender<(Instant, Event)>> {
    let (tx, rx) = mpsc::channel::<(Instant, Event)>();
    let t0 = Instant::now();
    std::thread::Builder::new()
        .name("matcoach-evidence".into())
        .spawn(move || {
            let mut detector = Detector::new(setup.rules.clone());
            let mut pruned_on: Option<Date> = None;
            loop {
                let today = date::today();
                if pruned_on != Some(today) {
                    pruned_on = Some(today);
                    if let Some(f) = &setup.folder {
                        match f.prune(date::local_now(), None) {
                            Ok(p) if p.expired + p.over_cap > 0 => (setup.log)(&format!(
                                "kept clips: {} deleted for their age, {} to stay under the cap; {} left ({:.1} MB) in {}",
                                p.expired,
                                p.over_cap,
                                p.clips,
                                p.bytes as f64 / 1e6,
                                f.dir.display()
                            )),
                            Ok(_) => {}
                            Err(e) => (setup.log)(&e.to_string()),
                        }
                    }
                }
                let (when, event) = match rx.recv_timeout(Duration::from_secs(3600)) {
                    Ok(m) => m,
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                };
                let at = when.saturating_duration_since(t0);
                for note in detector.push(at, &event) {
                    record(&mut setup, &note);
                }
            }
        })?;
    Ok(tx)
}

fn record(setup: &mut Setup, note: &Note) {
    let now = date::local_now();
    let mut clip = None;
    if let (true, Some(folder), Some(tap)) = (
        note.kind.is_evidence(),
        setup.folder.as_ref(),
        setup.tap.as_ref(),
    ) {
        let sidecar = Sidecar {
            word: note.word.clone(),
            confidence: note.confidence,
            time: now.to_string(),
            engine: setup.engine.clone(),
            model: setup.model.clone(),
            language: setup.lang.to_string(),
            ..Sidecar::new(note.kind, note.command, note.what.clone())
        };
        match folder.keep(now, sidecar, &tap.snapshot()) {
            Ok(path) => {
                (setup.log)(&format!("{}: kept {}", note.what, path.display()));
                clip = path.file_name().map(|n| n.to_string_lossy().to_string());
            }
            Err(e) => (setup.log)(&e.to_string()),
        }
    } else if note.kind.is_evidence() {
        (setup.log)(&note.what);
    }
    setup.journal.voice(super::field::VoiceRecord {
        at: now,
        kind: note.kind,
        command: note.command,
        word: note.word.clone(),
        confidence: note.confidence,
        engine: setup.engine.clone(),
        lang: setup.lang.to_string(),
        what: note.what.clone(),
        clip,
    });
}

/// Re-exported for the daemon: the rules the detector uses.
pub fn rules() -> Rules {
    field::Rules::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(dir: &Path, max_bytes: u64, days: u32) -> Folder {
        Folder {
            dir: dir.to_path_buf(),
            max_bytes,
            days,
        }
    }

    fn at(day: u32, h: u64) -> Stamp {
        Date::from_ymd(2026, 3, day)
            .unwrap()
            .at_midnight()
            .plus(Duration::from_secs(h * 3600))
    }

    fn sidecar(kind: Kind, command: Command) -> Sidecar {
        Sidecar {
            engine: "pocketsphinx".into(),
            model: "m".into(),
            language: "en".into(),
            ..Sidecar::new(kind, command, "test".into())
        }
    }

    fn snap(secs: usize, played: bool) -> Snapshot {
        Snapshot {
            mic: vec![1000; secs * 16_000],
            heard: vec![500; secs * 16_000],
            reference: vec![if played { 3000 } else { 0 }; secs * 16_000],
            results: Vec::new(),
            commands: Vec::new(),
        }
    }

    /// Keep a clip of one second in `f`, with playback or without.
    fn keep_one(f: &Folder, now: Stamp, kind: Kind, command: Command, played: bool) -> PathBuf {
        f.keep(now, sidecar(kind, command), &snap(1, played))
            .unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn clips_expire_after_their_days_and_the_oldest_go_over_the_cap() {
        let tmp = tempfile::tempdir().unwrap();
        // One clip of 1 s without playback: two WAVs of 32 044 bytes and a
        // small sidecar.
        let f = folder(tmp.path(), 1_000_000, 14);
        let one = keep_one(&f, at(1, 9), Kind::Miss, Command::Pause, false);
        assert_eq!(
            one.file_name().unwrap().to_string_lossy(),
            "20260301-090000-miss-pause.wav"
        );
        assert_eq!(
            names(tmp.path()),
            [
                "20260301-090000-miss-pause.heard.wav",
                "20260301-090000-miss-pause.json",
                "20260301-090000-miss-pause.wav"
            ]
        );
        // The same second again gets its own name.
        let again = keep_one(&f, at(1, 9), Kind::Miss, Command::Pause, true);
        assert!(
            again.ends_with("20260301-090000-miss-pause-2.wav"),
            "{again:?}"
        );
        assert!(tmp
            .path()
            .join("20260301-090000-miss-pause-2.playback.wav")
            .exists());
        keep_one(&f, at(10, 9), Kind::FalseAccept, Command::Stop, false);
        // Something that is not a clip is left alone.
        std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
        assert_eq!(f.usage().unwrap().0, 3);

        // (case, now, cap, deleted for age, deleted for the cap, clips left)
        let cases = [
            ("all young, all fit", at(14, 9), 1_000_000, 0, 0, 3),
            (
                "day 15 at 9:00 is exactly 14 days",
                at(15, 9),
                1_000_000,
                0,
                0,
                3,
            ),
            (
                "an hour later the first two expire",
                at(15, 10),
                1_000_000,
                2,
                0,
                1,
            ),
        ];
        for (name, now, cap, expired, over, left) in cases {
            let f = folder(tmp.path(), cap, 14);
            let p = f.prune(now, None).unwrap();
            assert_eq!(
                (p.expired, p.over_cap, p.clips),
                (expired, over, left),
                "{name}: {p:?}"
            );
        }
        assert!(tmp.path().join("notes.txt").exists());

        // Over the cap: the oldest go first, never the one just kept.
        let tmp = tempfile::tempdir().unwrap();
        let f = folder(tmp.path(), 150_000, 14);
        for h in 1..=3 {
            keep_one(&f, at(2, h), Kind::Miss, Command::Next, false);
        }
        // Each clip is about 64 kB: two fit in 150 kB.
        let (clips, bytes) = f.usage().unwrap();
        assert_eq!(clips, 2);
        assert!(bytes <= 150_000, "{bytes}");
        assert!(
            names(tmp.path()).iter().all(|n| !n.contains("-010000-")),
            "the oldest went: {:?}",
            names(tmp.path())
        );
    }

    #[test]
    fn a_clip_and_its_sidecar_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let f = folder(tmp.path(), 10_000_000, 14);
        let mut s = snap(2, true);
        s.mic = (0..32_000).map(|i| ((i % 200) as i16 - 100) * 50).collect();
        s.results = vec![HeardWords {
            at_ms: 1200,
            is_final: true,
            words: vec![field::HeardWord {
                text: "stop".into(),
                conf: Some(0.42),
                start_ms: Some(800),
                end_ms: Some(1100),
            }],
        }];
        let mut side = sidecar(Kind::FalseAccept, Command::Stop);
        side.word = Some("stop".into());
        side.confidence = Some(0.42);
        let wav = f.keep(at(3, 12), side.clone(), &s).unwrap();
        let clip = crate::audio::Clip::read_wav(&wav).unwrap();
        assert_eq!((clip.rate, clip.samples.to_vec()), (RATE, s.mic.clone()));
        let back = Sidecar::of(&wav).unwrap().unwrap();
        assert_eq!(back.kind, Kind::FalseAccept);
        assert_eq!(back.word.as_deref(), Some("stop"));
        assert_eq!(back.heard, s.results);
        assert_eq!(back.mic, wav.file_name().unwrap().to_string_lossy());
        let played = tmp.path().join(back.playback.unwrap());
        assert_eq!(
            crate::audio::Clip::read_wav(&played)
                .unwrap()
                .samples
                .to_vec(),
            s.reference
        );
        // No temporary file is left behind.
        assert!(names(tmp.path()).iter().all(|n| !n.ends_with(".tmp")));
        // A clip without a sidecar has none; a broken one names its file.
        let bare = tmp.path().join("bare.wav");
        assert_eq!(Sidecar::of(&bare).unwrap(), None);
        std::fs::write(tmp.path().join("bad.json"), "{").unwrap();
        let e = Sidecar::of(&tmp.path().join("bad.wav")).unwrap_err();
        assert!(e.contains("bad.json"), "{e}");
    }
}
