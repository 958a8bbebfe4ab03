//! A recorded voice: `<voices_dir>/<name>/<lang>/<phrase-id>.wav` replaces
//! the synthesised phrase with that id (e.g. `nl/sys.count.7.wav`).

use super::espeak::{TRIM_MARGIN, TRIM_THRESHOLD};
use super::SpeechError;
use crate::audio::{AudioError, Clip};
use crate::content::Lang;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Recorded {
    name: String,
    dir: PathBuf,
}

impl Recorded {
    /// The recorded voice `name` in `voices_dir`; its directory must exist.
    pub fn open(voices_dir: &Path, name: &str) -> Result<Recorded, SpeechError> {
        let dir = voices_dir.join(name);
        if !dir.is_dir() {
            return Err(SpeechError::RecordedVoiceMissing { path: dir });
        }
        Ok(Recorded {
            name: name.to_string(),
            dir,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `<voices_dir>/<name>`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the clip for `phrase_id` in `lang` would be; `None` for an id
    /// that cannot be a file name (empty, a path separator, a leading dot).
    pub fn path_for(&self, phrase_id: &str, lang: Lang) -> Option<PathBuf> {
        let usable = !phrase_id.is_empty()
            && !phrase_id.starts_with('.')
            && !phrase_id.contains(['/', '\\', '\0']);
        usable.then(|| self.dir.join(lang.code()).join(format!("{phrase_id}.wav")))
    }

    /// The recorded clip for `phrase_id`: `None` when there is no file,
    /// an error naming the file when it cannot be used (empty, not a WAV,
    /// all silence). The clip is trimmed of silence like synthesised ones,
    /// so that counts start on time.
    pub fn lookup(&self, phrase_id: &str, lang: Lang) -> Option<Result<Clip, SpeechError>> {
        let path = self.path_for(phrase_id, lang)?;
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                return Some(Err(SpeechError::BadRecording {
                    path,
                    reason: format!("cannot read it: {e}"),
                }))
            }
        };
        let bad = |reason: String| {
            Some(Err(SpeechError::BadRecording {
                path: path.clone(),
                reason,
            }))
        };
        if !meta.is_file() {
            return bad("it is not a file".into());
        }
        if meta.len() == 0 {
            return bad("the file is empty".into());
        }
        let clip = match Clip::read_wav(&path) {
            Ok(c) => c,
            Err(AudioError::BadWav { reason, .. }) => {
                return bad(format!("not a usable WAV file ({reason})"))
            }
            Err(AudioError::Read { source, .. }) => {
                return bad(format!("cannot read it: {source}"))
            }
            Err(e) => return bad(e.to_string()),
        };
        if clip.is_empty() {
            return bad("it holds no sound (0 samples)".into());
        }
        if clip.peak() == 0.0 {
            return bad("it is all silence".into());
        }
        Some(Ok(clip.trimmed(TRIM_THRESHOLD, TRIM_MARGIN)))
    }

    /// The phrase ids recorded for `lang`, sorted (the `.wav` files in
    /// `<name>/<lang>/`; none when that directory is missing or unreadable).
    pub fn list(&self, lang: Lang) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join(lang.code())) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".wav")?;
                (!id.is_empty() && !id.starts_with('.')).then(|| id.to_string())
            })
            .collect();
        ids.sort();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice() -> (tempfile::TempDir, Recorded) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("anna/nl")).unwrap();
        let r = Recorded::open(dir.path(), "anna").unwrap();
        (dir, r)
    }

    fn tone(ms: usize) -> Clip {
        let mut s = vec![0i16; 441];
        s.extend((0..ms * 22).map(|i| if i % 20 < 10 { 8000 } else { -8000 }));
        s.extend(vec![0i16; 441]);
        Clip::new(22050, s)
    }

    #[test]
    fn a_missing_voice_dir_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        match Recorded::open(dir.path(), "nobody") {
            Err(SpeechError::RecordedVoiceMissing { path }) => {
                assert_eq!(path, dir.path().join("nobody"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn finds_clips_by_phrase_id_with_dots() {
        let (_d, r) = voice();
        tone(300)
            .write_wav(&r.dir().join("nl/sys.count.7.wav"))
            .unwrap();
        let clip = r.lookup("sys.count.7", Lang::Nl).unwrap().unwrap();
        // Trimmed to the sound plus 20 ms each side.
        assert_eq!(clip.len(), 300 * 22 + 2 * 441);
        assert!(r.lookup("sys.count.8", Lang::Nl).is_none());
        assert!(r.lookup("sys.count.7", Lang::En).is_none());
        assert_eq!(r.list(Lang::Nl), vec!["sys.count.7".to_string()]);
        assert!(r.list(Lang::En).is_empty());
    }

    #[test]
    fn bad_files_name_the_file() {
        let (_d, r) = voice();
        let nl = r.dir().join("nl");
        std::fs::write(nl.join("a.empty.wav"), b"").unwrap();
        std::fs::write(nl.join("a.junk.wav"), b"RIFF0000WAVEjunkjunkjunk").unwrap();
        Clip::new(8000, vec![])
            .write_wav(&nl.join("a.nosamples.wav"))
            .unwrap();
        Clip::new(8000, vec![0; 800])
            .write_wav(&nl.join("a.silent.wav"))
            .unwrap();
        std::fs::create_dir(nl.join("a.dir.wav")).unwrap();
        for (id, want) in [
            ("a.empty", "empty"),
            ("a.junk", "WAV"),
            ("a.nosamples", "no sound"),
            ("a.silent", "silence"),
            ("a.dir", "not a file"),
        ] {
            match r.lookup(id, Lang::Nl) {
                Some(Err(e @ SpeechError::BadRecording { .. })) => {
                    let msg = e.to_string();
                    assert!(msg.contains(&format!("{id}.wav")), "{msg}");
                    assert!(msg.contains(want), "{msg}");
                }
                other => panic!("{id}: {other:?}"),
            }
        }
        assert_eq!(r.list(Lang::Nl).len(), 4);
    }

    #[test]
    fn ids_that_are_not_file_names_are_never_looked_up() {
        let (_d, r) = voice();
        for id in ["", "../x", "a/b", ".hidden", "..", "a\\b"] {
            assert!(r.path_for(id, Lang::Nl).is_none(), "{id}");
            assert!(r.lookup(id, Lang::Nl).is_none(), "{id}");
        }
    }
}
