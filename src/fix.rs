//! Errors that carry their fix as data. Every error of ours that knows what
//! the user can do about it says so in [`Fix::fix`]; its message ends in
//! that fix ("\n  fix: …", written by [`Line`]), so the command line prints
//! both, and `doctor` and the engine choice take the fix from `fix()`.

/// An error that may know its fix.
pub trait Fix: std::error::Error {
    /// What the user does about it, when the error knows.
    fn fix(&self) -> Option<String>;

    /// The problem alone: the message without its fix line.
    fn problem(&self) -> String {
        let text = self.to_string();
        let line = Line(self).to_string();
        match text.strip_suffix(&line) {
            Some(problem) if !line.is_empty() => problem.to_string(),
            _ => text,
        }
    }
}

/// The line an error's message ends with: "\n  fix: …", or nothing.
pub struct Line<'a, E: Fix + ?Sized>(pub &'a E);

impl<E: Fix + ?Sized> std::fmt::Display for Line<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.fix() {
            Some(fix) => write!(f, "\n  fix: {fix}"),
            None => Ok(()),
        }
    }
}

/// A problem at a line and column of a file, with its fix: a value the
/// config or the content cannot take. `ConfigError::Invalid` and
/// `ContentError::Invalid` carry it.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}:{column}: {message}{}", path.display(), Line(self))]
pub struct Invalid {
    pub path: std::path::PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub fix: String,
}

impl Fix for Invalid {
    fn fix(&self) -> Option<String> {
        Some(self.fix.clone())
    }
}

impl Invalid {
    /// The problem at byte `offset` of `text`, the text of `path`.
    pub fn at(
        path: &std::path::Path,
        text: &str,
        offset: usize,
        message: String,
        fix: String,
    ) -> Invalid {
        let (line, column) = line_col(text, offset);
        Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message,
            fix,
        }
    }
}

/// 1-based line and column of a byte offset in `text` (the end of the text
/// for an offset past it).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(1, |l| l.chars().count() + 1);
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hearing::VoiceError;

    /// The fix comes from the error, not from its text: an engine's own
    /// message that happens to hold "\n  fix: " stays the problem.
    #[test]
    fn the_fix_is_the_errors_own() {
        let cases: Vec<(Box<dyn Fix>, &str, Option<&str>)> = vec![
            (
                Box::new(crate::gpio::GpioError::NoSuchPin { pin: 40 }),
                "GPIO 40 does not exist on this board",
                Some("use a BCM pin number from 0 to 27"),
            ),
            (
                Box::new(VoiceError::Engine {
                    engine: "vosk",
                    reason: "decoder said\n  fix: nothing".into(),
                }),
                "vosk failed: decoder said\n  fix: nothing",
                None,
            ),
            (
                Box::new(VoiceError::Unsupported {
                    engine: "pocketsphinx",
                    lang: crate::content::Lang::Nl,
                    fix: "use vosk".into(),
                }),
                "pocketsphinx does not support nl",
                Some("use vosk"),
            ),
        ];
        for (e, problem, fix) in cases {
            assert_eq!(e.problem(), problem);
            assert_eq!(e.fix().as_deref(), fix);
            let whole = match fix {
                Some(f) => format!("{problem}\n  fix: {f}"),
                None => problem.to_string(),
            };
            assert_eq!(e.to_string(), whole, "the message is unchanged");
        }
    }
}
