//! Rendered phrases on disk: `<dir>/<ab>/<sha256>.wav`, where the hash is of
//! the voice key, the language and the text. Files are written to a temporary
//! name and renamed, so a power cut never leaves half a clip under a real
//! name; a file that does not decode is treated as missing.

use super::SpeechError;
use crate::audio::wav;
use crate::audio::Clip;
use crate::content::Lang;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Bumped when the way clips are trimmed or stored changes.
const CLIP_FORMAT: &str = "clip-2";

#[derive(Debug, Clone)]
pub struct PhraseCache {
    dir: PathBuf,
}

/// `$XDG_CACHE_HOME/matcoach/speech`, else `$HOME/.cache/matcoach/speech`,
/// else `/tmp/matcoach-cache`.
pub fn default_cache_dir() -> PathBuf {
    crate::dirs::matcoach_dir(crate::dirs::Base::Cache).map_or_else(
        || PathBuf::from("/tmp/matcoach-cache"),
        |d| d.join("speech"),
    )
}

impl PhraseCache {
    pub fn new(dir: impl Into<PathBuf>) -> PhraseCache {
        PhraseCache { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// sha256 of `voice_key \n lang \n text`, in hex.
    pub fn hash(voice_key: &str, lang: Lang, text: &str) -> String {
        let mut h = Sha256::new();
        // How clips are prepared (trimming, padding): a change makes every
        // cached clip stale.
        h.update(CLIP_FORMAT.as_bytes());
        h.update(b"\n");
        h.update(voice_key.as_bytes());
        h.update(b"\n");
        h.update(lang.code().as_bytes());
        h.update(b"\n");
        h.update(text.as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Where the clip for this voice, language and text lives.
    pub fn path(&self, voice_key: &str, lang: Lang, text: &str) -> PathBuf {
        let hash = Self::hash(voice_key, lang, text);
        self.dir.join(&hash[..2]).join(format!("{hash}.wav"))
    }

    /// The cached clip, if there is a good one (a file that is missing,
    /// unreadable, not a WAV, or empty counts as not cached).
    pub fn get(&self, voice_key: &str, lang: Lang, text: &str) -> Option<Clip> {
        let bytes = std::fs::read(self.path(voice_key, lang, text)).ok()?;
        wav::decode(bytes).ok().filter(|c| !c.is_empty())
    }

    /// Whether a good clip is cached (as [`PhraseCache::get`] would find,
    /// without decoding the samples).
    pub fn contains(&self, voice_key: &str, lang: Lang, text: &str) -> bool {
        std::fs::read(self.path(voice_key, lang, text)).is_ok_and(wav::is_usable)
    }

    /// Store `clip` (replacing any file there), atomically. Returns its path.
    pub fn put(
        &self,
        voice_key: &str,
        lang: Lang,
        text: &str,
        clip: &Clip,
    ) -> Result<PathBuf, SpeechError> {
        let path = self.path(voice_key, lang, text);
        let parent = path.parent().unwrap_or(&self.dir).to_path_buf();
        let cache_err = |path: &Path, reason: String| SpeechError::Cache {
            path: path.to_path_buf(),
            reason,
        };
        std::fs::create_dir_all(&parent)
            .map_err(|e| cache_err(&parent, format!("cannot create the directory: {e}")))?;
        let bytes = wav::encode(clip)
            .map_err(|e| cache_err(&path, format!("cannot encode the clip: {e}")))?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = parent.join(format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // Its own temporary name: two threads may render one phrase at once.
        crate::durable::write_via(&tmp, &path, &bytes, 0o644)
            .map_err(|e| cache_err(&path, format!("cannot write the clip: {e}")))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_voice_language_and_text() {
        let h = PhraseCache::hash("v", Lang::En, "one");
        assert_eq!(h.len(), 64);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(h, PhraseCache::hash("v", Lang::Nl, "one"));
        assert_ne!(h, PhraseCache::hash("w", Lang::En, "one"));
        assert_ne!(h, PhraseCache::hash("v", Lang::En, "one."));
        // The separator keeps "a\nb" + "c" apart from "a" + "b\nc".
        assert_ne!(
            PhraseCache::hash("a", Lang::En, "x"),
            PhraseCache::hash("", Lang::En, "a\nen\nx")
        );
        let c = PhraseCache::new("/c");
        let p = c.path("v", Lang::En, "one");
        assert_eq!(p, PathBuf::from(format!("/c/{}/{h}.wav", &h[..2])));
    }

    #[test]
    fn stores_and_finds_and_ignores_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let c = PhraseCache::new(dir.path().join("speech"));
        assert!(c.get("v", Lang::En, "one").is_none());
        assert!(!c.contains("v", Lang::En, "one"));
        let clip = Clip::new(22050, vec![1, 2, 3, -4]);
        let path = c.put("v", Lang::En, "one", &clip).unwrap();
        assert_eq!(c.get("v", Lang::En, "one"), Some(clip.clone()));
        assert!(c.contains("v", Lang::En, "one"));
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);

        // Half a clip (a power cut without the rename) is not a clip.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..20]).unwrap();
        assert!(c.get("v", Lang::En, "one").is_none());
        assert!(!c.contains("v", Lang::En, "one"));
        // And putting again replaces it.
        c.put("v", Lang::En, "one", &clip).unwrap();
        assert_eq!(c.get("v", Lang::En, "one"), Some(clip));
    }

    #[test]
    fn an_unwritable_dir_is_a_cache_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let c = PhraseCache::new(&file);
        match c.put("v", Lang::En, "one", &Clip::new(8000, vec![1])) {
            Err(e @ SpeechError::Cache { .. }) => {
                assert!(e.to_string().contains("not-a-dir"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }
}
