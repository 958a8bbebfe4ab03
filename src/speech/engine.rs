//! What the synthesiser engines (espeak-ng, piper) share: running the
//! program on a phrase within a deadline, and turning its failures and its
//! WAV output into the coach's errors and clips.

use super::{espeak, SpeechError};
use crate::audio::Clip;
use crate::content::Lang;
use std::process::Command;
use std::time::Duration;

/// How long a synthesiser may take for one phrase before it is stopped
/// (issue 15, item 5: a hung espeak-ng or piper must not hang rendering or
/// the daemon's start). espeak-ng takes milliseconds and piper on a Pi a
/// few seconds for the longest phrase.
pub const RENDER_DEADLINE: Duration = Duration::from_secs(30);

/// Run `cmd` with `input` on its stdin and collect its output, for at most
/// `deadline` (see [`crate::subprocess::run`]).
pub(crate) fn run_with_stdin(
    cmd: &mut Command,
    input: &str,
    deadline: Duration,
) -> Result<crate::subprocess::Output, crate::subprocess::RunError> {
    crate::subprocess::run(cmd, input.as_bytes(), deadline)
}

/// A synthesiser stopped at its deadline, naming the phrase and the voice.
pub(crate) fn timed_out(
    engine: &str,
    text: &str,
    lang: Lang,
    voice: &str,
    after: Duration,
) -> SpeechError {
    SpeechError::RenderFailed {
        engine: engine.into(),
        text: text.into(),
        lang,
        reason: format!(
            "with the voice {voice}, it did not finish within {} s and was stopped",
            after.as_secs_f32()
        ),
        fix: format!(
            "try the phrase by hand (`echo TEXT | {engine} …`); if the program hangs, reinstall it or choose another voice"
        ),
    }
}

/// The last few lines of a program's stderr, for a message.
pub(crate) fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = &lines[lines.len().saturating_sub(4)..];
    tail.join(" / ")
}

/// `text` as one line for a program's stdin: a control character (a
/// newline) would be spoken as a pause.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The `RenderFailed` of `engine` saying `text`, from a reason and a fix.
pub(crate) fn render_failed<'a>(
    engine: &'a str,
    text: &'a str,
    lang: Lang,
) -> impl Fn(String, &str) -> SpeechError + 'a {
    move |reason: String, fix: &str| SpeechError::RenderFailed {
        engine: engine.into(),
        text: text.into(),
        lang,
        reason,
        fix: fix.into(),
    }
}

/// `engine`'s WAV output as a clip, trimmed of its silent ends. Output
/// that is not a WAV file (`fix`: how to check the installation) or holds
/// no sound is an error made by `failed`.
pub(crate) fn engine_clip(
    wav: Vec<u8>,
    engine: &str,
    fix: &str,
    failed: impl Fn(String, &str) -> SpeechError,
) -> Result<Clip, SpeechError> {
    let clip = crate::audio::wav::decode(wav)
        .map_err(|e| failed(format!("its output is not a WAV file: {e}"), fix))?;
    if clip.is_empty() {
        return Err(failed(
            format!("{engine} gave an empty clip"),
            "check the text: it must contain words",
        ));
    }
    Ok(clip.trimmed(espeak::TRIM_THRESHOLD, espeak::TRIM_MARGIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_tail_keeps_the_last_lines() {
        assert_eq!(stderr_tail(b"a\n\n b \nc\nd\ne\n"), "b / c / d / e");
        assert_eq!(stderr_tail(b""), "");
    }
}
