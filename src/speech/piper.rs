//! piper as a subprocess: `piper --model MODEL --output_file FILE` with the
//! text on stdin, the WAV read back from FILE and trimmed of its silence.

use super::engine::{engine_clip, one_line, render_failed, run_with_stdin, stderr_tail};
use super::{SpeechError, Voice};
use crate::audio::Clip;
use crate::content::Lang;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

const ENGINE: &str = "piper";

/// The piper voice: one model per language.
#[derive(Debug, Clone)]
pub struct Piper {
    binary: PathBuf,
    model_en: Option<PathBuf>,
    model_nl: Option<PathBuf>,
    /// How long one phrase may take (see [`super::RENDER_DEADLINE`]).
    deadline: Duration,
}

impl Piper {
    pub fn new(binary: PathBuf, model_en: Option<PathBuf>, model_nl: Option<PathBuf>) -> Piper {
        Piper {
            binary,
            model_en,
            model_nl,
            deadline: super::RENDER_DEADLINE,
        }
    }

    /// The same voice with another deadline per phrase.
    pub fn with_deadline(mut self, deadline: Duration) -> Piper {
        self.deadline = deadline;
        self
    }

    /// The model file used for `lang` (None: not configured).
    pub fn model(&self, lang: Lang) -> Option<&Path> {
        match lang {
            Lang::En => self.model_en.as_deref(),
            Lang::Nl => self.model_nl.as_deref(),
        }
    }

    /// Check that the model for `lang` is there and that piper speaks with it.
    pub fn check(&self, lang: Lang) -> Result<(), SpeechError> {
        let probe = match lang {
            Lang::En => "one",
            Lang::Nl => "een",
        };
        self.render(probe, lang).map(|_| ())
    }

    /// The model for `lang`, or why it cannot be used.
    fn usable_model(&self, lang: Lang) -> Result<&Path, SpeechError> {
        let model = self.model(lang);
        let missing = |reason: String| {
            SpeechError::VoiceMissing {
            engine: ENGINE.into(),
            voice: model.map_or_else(String::new, |m| m.display().to_string()),
            lang,
            reason,
            fix: format!(
                "set speech.piper_model_{lang} to a piper voice model (a .onnx file with its .onnx.json next to it, from https://huggingface.co/rhasspy/piper-voices); matcoach does not download models, so copy one onto this machine"
            ),
        }
        };
        let Some(model) = model else {
            return Err(missing(format!(
                "no model is set (speech.piper_model_{lang} is empty)"
            )));
        };
        match std::fs::metadata(model) {
            Err(e) => Err(missing(format!(
                "cannot read the model {}: {e}",
                model.display()
            ))),
            Ok(m) if !m.is_file() => Err(missing(format!(
                "the model {} is not a file",
                model.display()
            ))),
            Ok(m) if m.len() == 0 => {
                Err(missing(format!("the model {} is empty", model.display())))
            }
            Ok(_) => {
                let config = config_path(model);
                if config.is_file() {
                    Ok(model)
                } else {
                    Err(missing(format!(
                        "the model's config {} is missing",
                        config.display()
                    )))
                }
            }
        }
    }
}

/// piper reads a model's settings from `<model>.json`.
fn config_path(model: &Path) -> PathBuf {
    let mut p = model.as_os_str().to_owned();
    p.push(".json");
    PathBuf::from(p)
}

/// A temporary output file, removed when dropped.
struct TempWav(PathBuf);

impl TempWav {
    fn new() -> TempWav {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        TempWav(std::env::temp_dir().join(format!("matcoach-piper-{}-{n}.wav", std::process::id())))
    }
}

impl Drop for TempWav {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Voice for Piper {
    fn key(&self, lang: Lang) -> String {
        let Some(model) = self.model(lang) else {
            return format!("{ENGINE}//missing");
        };
        let stamp = match std::fs::metadata(model) {
            Ok(m) => {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or_else(
                        || "?".to_string(),
                        |d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()),
                    );
                format!("{}/{mtime}", m.len())
            }
            Err(_) => "missing".into(),
        };
        format!("{ENGINE}/{}/{stamp}", model.display())
    }

    fn render(&self, text: &str, lang: Lang) -> Result<Clip, SpeechError> {
        let model = self.usable_model(lang)?;
        let failed = render_failed(ENGINE, text, lang);
        let out = TempWav::new();
        let input = one_line(text);
        let output = run_with_stdin(
            Command::new(&self.binary)
                .arg("--model")
                .arg(model)
                .arg("--output_file")
                .arg(&out.0),
            &input,
            self.deadline,
        )
        .map_err(|e| {
            if let crate::subprocess::RunError::TimedOut { after } = e {
                let voice = model.display().to_string();
                return super::engine::timed_out(ENGINE, text, lang, &voice, after);
            }
            if e.not_found() {
                SpeechError::ProgramMissing {
                    program: self.binary.clone(),
                    fix: "install piper (e.g. `pip install piper-tts`, or a release from https://github.com/rhasspy/piper) and set speech.piper_binary to the program's path".into(),
                }
            } else {
                failed(
                    format!("cannot run {}: {e}", self.binary.display()),
                    "check that speech.piper_binary is an executable program",
                )
            }
        })?;
        let stderr = stderr_tail(&output.stderr);
        if !output.status.success() {
            return Err(failed(
                format!(
                    "piper failed ({}){}{}",
                    output.status,
                    if stderr.is_empty() { "" } else { ": " },
                    stderr
                ),
                &format!(
                    "try `echo hello | {} --model {} --output_file /tmp/t.wav` by hand",
                    self.binary.display(),
                    model.display()
                ),
            ));
        }
        let bytes = std::fs::read(&out.0).map_err(|e| {
            failed(
                format!("piper wrote no output file ({e}){}", {
                    if stderr.is_empty() {
                        String::new()
                    } else {
                        format!("; it said: {stderr}")
                    }
                }),
                "check that speech.piper_binary is piper, which takes --model and --output_file",
            )
        })?;
        engine_clip(
            bytes,
            ENGINE,
            "check the piper installation and the model",
            failed,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_models_are_voice_missing() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.onnx");
        std::fs::write(&empty, b"").unwrap();
        let no_config = dir.path().join("noconf.onnx");
        std::fs::write(&no_config, b"model").unwrap();
        let p = Piper::new(PathBuf::from("piper"), None, Some(empty.clone()));
        for (lang, want) in [(Lang::En, "no model is set"), (Lang::Nl, "is empty")] {
            match p.render("one", lang) {
                Err(SpeechError::VoiceMissing { reason, fix, .. }) => {
                    assert!(reason.contains(want), "{reason}");
                    assert!(fix.contains(&format!("speech.piper_model_{lang}")), "{fix}");
                }
                other => panic!("{other:?}"),
            }
        }
        let p = Piper::new(
            PathBuf::from("piper"),
            Some(no_config),
            Some(dir.path().join("nope.onnx")),
        );
        for (lang, want) in [(Lang::En, "config"), (Lang::Nl, "cannot read")] {
            match p.render("one", lang) {
                Err(SpeechError::VoiceMissing { reason, .. }) => {
                    assert!(reason.contains(want), "{reason}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn key_changes_with_the_model_file() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("v.onnx");
        let p = Piper::new(PathBuf::from("piper"), Some(m.clone()), None);
        let before = p.key(Lang::En);
        assert!(before.ends_with("/missing"), "{before}");
        std::fs::write(&m, b"abc").unwrap();
        let k1 = p.key(Lang::En);
        assert!(
            k1.contains(&m.display().to_string()) && k1.contains("/3/"),
            "{k1}"
        );
        std::fs::write(&m, b"abcd").unwrap();
        assert_ne!(p.key(Lang::En), k1);
    }
}
