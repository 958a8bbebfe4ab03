//! espeak-ng as a subprocess: `espeak-ng -v VOICE -s WPM --stdout`, the text
//! on stdin (so a text starting with '-' is never taken for an option), the
//! WAV read from stdout and trimmed of its leading and trailing silence.

use super::engine::{engine_clip, one_line, render_failed, run_with_stdin, stderr_tail};
use super::{SpeechError, Voice};
use crate::audio::Clip;
use crate::content::Lang;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const ENGINE: &str = "espeak-ng";
const INSTALL_FIX: &str = "sudo apt install espeak-ng (or put the espeak-ng program on $PATH)";

/// Sound quieter than this (of full scale) counts as silence when trimming.
pub const TRIM_THRESHOLD: f32 = 0.01;
/// Silence kept before and after the sound.
pub const TRIM_MARGIN: Duration = Duration::from_millis(20);

/// The espeak-ng voice.
#[derive(Debug)]
pub struct Espeak {
    binary: PathBuf,
    voice_en: String,
    voice_nl: String,
    wpm: u32,
    version: OnceLock<String>,
    /// How long one phrase may take (see [`super::RENDER_DEADLINE`]).
    deadline: Duration,
}

impl Espeak {
    pub fn new(binary: PathBuf, voice_en: String, voice_nl: String, wpm: u32) -> Espeak {
        Espeak {
            binary,
            voice_en,
            voice_nl,
            wpm,
            version: OnceLock::new(),
            deadline: super::RENDER_DEADLINE,
        }
    }

    /// The same voice with another deadline per phrase.
    pub fn with_deadline(mut self, deadline: Duration) -> Espeak {
        self.deadline = deadline;
        self
    }

    /// `espeak-ng --version`, with the deadline.
    fn run_version(&self) -> Result<crate::subprocess::Output, crate::subprocess::RunError> {
        crate::subprocess::run(
            Command::new(&self.binary).arg("--version"),
            b"",
            self.deadline,
        )
    }

    /// The espeak-ng voice name used for `lang`.
    pub fn voice(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.voice_en,
            Lang::Nl => &self.voice_nl,
        }
    }

    /// The program's version ("1.51"), asked once; "unknown" if it cannot
    /// be run.
    pub fn version(&self) -> &str {
        self.version.get_or_init(|| {
            self.run_version()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| parse_version(&String::from_utf8_lossy(&o.stdout)))
                .unwrap_or_else(|| "unknown".into())
        })
    }

    /// Check that the program is there and that the voice for `lang` speaks.
    pub fn check(&self, lang: Lang) -> Result<(), SpeechError> {
        if let Err(e) = self.run_version() {
            return Err(self.run_error(e, "", lang));
        }
        let probe = match lang {
            Lang::En => "one",
            Lang::Nl => "een",
        };
        self.render(probe, lang).map(|_| ())
    }

    fn run_error(&self, e: crate::subprocess::RunError, text: &str, lang: Lang) -> SpeechError {
        match e {
            crate::subprocess::RunError::Spawn(e) => self.spawn_error(e, text, lang),
            crate::subprocess::RunError::TimedOut { after } => {
                super::engine::timed_out(ENGINE, text, lang, self.voice(lang), after)
            }
            other => SpeechError::RenderFailed {
                engine: ENGINE.into(),
                text: text.into(),
                lang,
                reason: other.to_string(),
                fix: "check the espeak-ng installation (`espeak-ng --stdout hello | aplay`)".into(),
            },
        }
    }

    fn spawn_error(&self, e: std::io::Error, text: &str, lang: Lang) -> SpeechError {
        if e.kind() == std::io::ErrorKind::NotFound {
            SpeechError::ProgramMissing {
                program: self.binary.clone(),
                fix: INSTALL_FIX.into(),
            }
        } else {
            SpeechError::RenderFailed {
                engine: ENGINE.into(),
                text: text.into(),
                lang,
                reason: format!("cannot run {}: {e}", self.binary.display()),
                fix: "check that the program is executable".into(),
            }
        }
    }

    fn voice_missing(&self, lang: Lang, reason: String) -> SpeechError {
        SpeechError::VoiceMissing {
            engine: ENGINE.into(),
            voice: self.voice(lang).into(),
            lang,
            reason,
            fix: format!(
                "see the voices with `espeak-ng --voices={lang}` and set speech.espeak_voice_{lang} to one of them (the default is \"{}\")",
                match lang {
                    Lang::En => "en-gb",
                    Lang::Nl => "nl",
                }
            ),
        }
    }
}

impl Voice for Espeak {
    fn key(&self, lang: Lang) -> String {
        format!(
            "{ENGINE}/{}/{}/{}",
            self.version(),
            self.voice(lang),
            self.wpm
        )
    }

    fn render(&self, text: &str, lang: Lang) -> Result<Clip, SpeechError> {
        let failed = render_failed(ENGINE, text, lang);
        // One line: espeak-ng reads stdin to its end either way, but a
        // newline would be spoken as a pause.
        let input = one_line(text);
        let output = run_with_stdin(
            Command::new(&self.binary)
                .arg("-v")
                .arg(self.voice(lang))
                .arg("-s")
                .arg(self.wpm.to_string())
                .arg("--stdout"),
            &input,
            self.deadline,
        )
        .map_err(|e| self.run_error(e, text, lang))?;
        let stderr = stderr_tail(&output.stderr);
        if output.stdout.len() <= 44 || !output.status.success() {
            // An unknown voice: "Error: The specified espeak-ng voice does
            // not exist." (the exit status is not always telling).
            if stderr.to_ascii_lowercase().contains("voice") {
                return Err(self.voice_missing(lang, stderr));
            }
            return Err(failed(
                format!(
                    "espeak-ng gave no sound ({}{}{})",
                    output.status,
                    if stderr.is_empty() { "" } else { ": " },
                    stderr
                ),
                &format!(
                    "try `echo hello | espeak-ng -v {} --stdout | aplay` by hand",
                    self.voice(lang)
                ),
            ));
        }
        engine_clip(
            fix_stream_header(output.stdout),
            ENGINE,
            "check the espeak-ng installation (`espeak-ng --stdout hello | aplay`)",
            failed,
        )
    }
}

/// "eSpeak NG text-to-speech: 1.51  Data at: …" → "1.51".
fn parse_version(out: &str) -> Option<String> {
    let line = out.lines().find(|l| !l.trim().is_empty())?;
    let after = match line.split_once("text-to-speech:") {
        Some((_, rest)) => rest,
        None => line,
    };
    let v = after.split_whitespace().next()?;
    Some(v.replace('/', "_"))
}

/// espeak-ng writing to a pipe cannot go back to fill in the sizes, so its
/// header claims a huge RIFF and data chunk. Set them to what arrived.
fn fix_stream_header(mut wav: Vec<u8>) -> Vec<u8> {
    if wav.len() < 12 || &wav[0..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return wav;
    }
    let riff = u32::try_from(wav.len() - 8).unwrap_or(u32::MAX);
    wav[4..8].copy_from_slice(&riff.to_le_bytes());
    let mut pos = 12;
    while pos + 8 <= wav.len() {
        let id = [wav[pos], wav[pos + 1], wav[pos + 2], wav[pos + 3]];
        if &id == b"data" {
            let len = wav.len() - (pos + 8);
            // Whole 16-bit frames only.
            let len = u32::try_from(len - len % 2).unwrap_or(u32::MAX);
            wav[pos + 4..pos + 8].copy_from_slice(&len.to_le_bytes());
            break;
        }
        let size = u32::from_le_bytes([wav[pos + 4], wav[pos + 5], wav[pos + 6], wav[pos + 7]]);
        pos += 8 + size as usize + (size as usize % 2);
    }
    wav
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::wav;

    fn streamed(samples: &[i16]) -> Vec<u8> {
        let mut wav = wav::encode(&Clip::new(22050, samples.to_vec())).unwrap();
        // What espeak-ng writes to a pipe.
        wav[4..8].copy_from_slice(&0x7fff_f024u32.to_le_bytes());
        wav[40..44].copy_from_slice(&0x7fff_f000u32.to_le_bytes());
        wav
    }

    #[test]
    fn a_streamed_header_is_fixed_so_the_clip_decodes() {
        let samples = [0i16, 100, -100, 20000, 5];
        let wav = streamed(&samples);
        let fixed = fix_stream_header(wav);
        let clip = Clip::decode_wav(std::io::Cursor::new(fixed)).unwrap();
        assert_eq!(&clip.samples[..], &samples[..]);
        assert_eq!(clip.rate, 22050);
    }

    #[test]
    fn an_odd_trailing_byte_is_dropped() {
        let mut wav = streamed(&[1, 2, 3]);
        wav.push(7);
        let clip = Clip::decode_wav(std::io::Cursor::new(fix_stream_header(wav))).unwrap();
        assert_eq!(&clip.samples[..], &[1, 2, 3]);
    }

    #[test]
    fn header_fixing_leaves_garbage_alone() {
        for bytes in [
            &b""[..],
            b"RIFF",
            b"hello world, not a wav",
            b"RIFF\0\0\0\0WAVEdata",
        ] {
            let out = fix_stream_header(bytes.to_vec());
            assert_eq!(out.len(), bytes.len());
            assert!(Clip::decode_wav(std::io::Cursor::new(out)).is_err());
        }
    }

    #[test]
    fn parses_the_version_line() {
        assert_eq!(
            parse_version("eSpeak NG text-to-speech: 1.51  Data at: /usr/lib/x/espeak-ng-data\n")
                .as_deref(),
            Some("1.51")
        );
        assert_eq!(parse_version("1.52-dev\n").as_deref(), Some("1.52-dev"));
        assert_eq!(parse_version("\n"), None);
    }

    #[test]
    fn a_missing_program_is_program_missing() {
        let e = Espeak::new(
            PathBuf::from("/nonexistent/espeak-ng"),
            "en-gb".into(),
            "nl".into(),
            150,
        );
        assert!(matches!(
            e.render("one", Lang::En),
            Err(SpeechError::ProgramMissing { .. })
        ));
        assert!(matches!(
            e.check(Lang::Nl),
            Err(SpeechError::ProgramMissing { .. })
        ));
        assert_eq!(e.key(Lang::Nl), "espeak-ng/unknown/nl/150");
    }
}
