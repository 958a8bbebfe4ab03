//! Exercises, programs, safety rules and phrases: loading and validation.
//!
//! `load_dir` reads `content/` and returns either a validated [`Content`] or
//! every problem it found, each with its file, line, column and a fix.

pub mod model;
mod validate;

pub use model::*;
pub use validate::Warning;

use crate::fix::{Fix, Invalid};
use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with a content file. Each says where and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("{}: cannot read: {source}{}", path.display(), crate::fix::Line(self))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(Invalid),
    #[error("{}: {message}{}", path.display(), crate::fix::Line(self))]
    Missing {
        path: PathBuf,
        message: String,
        fix: String,
    },
}

impl Fix for ContentError {
    fn fix(&self) -> Option<String> {
        match self {
            ContentError::Read { .. } => Some(
                "check that the content directory exists and is readable (or pass --content DIR)"
                    .into(),
            ),
            ContentError::Invalid(e) => e.fix(),
            ContentError::Missing { fix, .. } => Some(fix.clone()),
        }
    }
}

/// All the problems found in one load, in file order.
#[derive(Debug)]
pub struct ContentErrors(pub Vec<ContentError>);

impl fmt::Display for ContentErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "content has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ContentErrors {}

/// A file that was read, kept so that spans can be turned into lines.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        crate::fix::line_col(&self.text, offset)
    }

    pub fn error_at(&self, offset: usize, message: String, fix: String) -> ContentError {
        ContentError::Invalid(Invalid::at(&self.path, &self.text, offset, message, fix))
    }
}

/// Where an exercise or program was defined.
#[derive(Debug, Clone)]
pub struct Defined<T> {
    pub file: usize,
    pub value: T,
}

impl<T> std::ops::Deref for Defined<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// The whole, validated content.
#[derive(Debug, Clone)]
pub struct Content {
    pub dir: PathBuf,
    pub files: Vec<SourceFile>,
    pub exercises: Vec<Defined<Exercise>>,
    pub programs: Vec<Defined<Program>>,
    pub safety: Safety,
    pub phrases: Phrases,
    /// Problems that do not stop the coach (e.g. a command word in a prompt).
    pub warnings: Vec<Warning>,
}

impl Content {
    pub fn exercise(&self, id: &str) -> Option<&Exercise> {
        self.exercises
            .iter()
            .find(|e| e.id() == id)
            .map(|d| &d.value)
    }

    pub fn program(&self, id: &str) -> Option<&Program> {
        self.programs
            .iter()
            .find(|p| p.id() == id)
            .map(|d| &d.value)
    }

    pub fn program_ids(&self) -> Vec<&str> {
        self.programs.iter().map(|p| p.id()).collect()
    }
}

fn fix_for_parse_error(message: &str) -> String {
    let m = message.to_ascii_lowercase();
    if m.contains("unknown field") {
        "remove this key or correct its spelling (the allowed keys are listed in the message; see content/README.md)".into()
    } else if m.contains("missing field `en`") {
        "add the English text: { nl = \"…\", en = \"…\" }".into()
    } else if m.contains("missing field `nl`") {
        "add the Dutch text: { nl = \"…\", en = \"…\" }".into()
    } else if m.contains("missing field") {
        "add the missing field (see content/README.md for the format)".into()
    } else if m.contains("nonzero") || m.contains("non-zero") {
        "use a whole number above zero, or leave the field out".into()
    } else if m.contains("text is empty") {
        "write the text, or remove the entry".into()
    } else if m.contains("unknown variant") {
        "use one of the values listed in the message".into()
    } else if m.contains("invalid type") {
        "give the value the type the message asks for (numbers without quotes, texts in quotes)"
            .into()
    } else {
        "fix the TOML syntax at this place (see content/README.md for the format)".into()
    }
}

fn read(path: &Path, errors: &mut Vec<ContentError>) -> Option<SourceFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(SourceFile {
            path: path.to_path_buf(),
            text,
        }),
        Err(source) => {
            errors.push(ContentError::Read {
                path: path.to_path_buf(),
                source,
            });
            None
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    file: &SourceFile,
    errors: &mut Vec<ContentError>,
) -> Option<T> {
    match toml::from_str::<T>(&file.text) {
        Ok(v) => Some(v),
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            let message = e.message().trim().to_string();
            let fix = fix_for_parse_error(&message);
            errors.push(file.error_at(offset, message, fix));
            None
        }
    }
}

/// The `*.toml` files of a directory, sorted by name.
fn toml_files(dir: &Path, errors: &mut Vec<ContentError>) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            errors.push(ContentError::Read {
                path: dir.to_path_buf(),
                source,
            });
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Load and validate `dir` (normally `content/`).
pub fn load_dir(dir: &Path) -> Result<Content, ContentErrors> {
    let mut errors = Vec::new();
    if !dir.is_dir() {
        let source = std::fs::metadata(dir).err().unwrap_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a directory")
        });
        return Err(ContentErrors(vec![ContentError::Read {
            path: dir.to_path_buf(),
            source,
        }]));
    }
    let mut files = Vec::new();
    let mut exercises = Vec::new();
    let mut programs = Vec::new();

    for path in toml_files(&dir.join("exercises"), &mut errors) {
        if let Some(file) = read(&path, &mut errors) {
            if let Some(parsed) = parse::<ExerciseFile>(&file, &mut errors) {
                let idx = files.len();
                exercises.extend(
                    parsed
                        .exercise
                        .into_iter()
                        .map(|value| Defined { file: idx, value }),
                );
            }
            files.push(file);
        }
    }
    for path in toml_files(&dir.join("programs"), &mut errors) {
        if let Some(file) = read(&path, &mut errors) {
            if let Some(value) = parse::<Program>(&file, &mut errors) {
                programs.push(Defined {
                    file: files.len(),
                    value,
                });
            }
            files.push(file);
        }
    }
    let safety_file = read(&dir.join("safety.toml"), &mut errors);
    let safety = safety_file
        .as_ref()
        .and_then(|f| parse::<Safety>(f, &mut errors));
    let phrases_file = read(&dir.join("phrases.toml"), &mut errors);
    let phrases = phrases_file
        .as_ref()
        .and_then(|f| parse::<Phrases>(f, &mut errors));

    if exercises.is_empty() && errors.is_empty() {
        errors.push(ContentError::Missing {
            path: dir.join("exercises"),
            message: "no exercises found".into(),
            fix: "add [[exercise]] tables in content/exercises/*.toml".into(),
        });
    }
    if programs.is_empty() && errors.is_empty() {
        errors.push(ContentError::Missing {
            path: dir.join("programs"),
            message: "no programs found".into(),
            fix: "add a program file in content/programs/".into(),
        });
    }

    let (Some(safety), Some(phrases), Some(safety_file), Some(phrases_file)) =
        (safety, phrases, safety_file, phrases_file)
    else {
        return Err(ContentErrors(errors));
    };
    // A file that did not parse lost all its entries: checking references
    // now would only echo that one problem many times.
    if !errors.is_empty() {
        return Err(ContentErrors(errors));
    }
    let safety_idx = files.len();
    files.push(safety_file);
    let phrases_idx = files.len();
    files.push(phrases_file);

    let mut content = Content {
        dir: dir.to_path_buf(),
        files,
        exercises,
        programs,
        safety,
        phrases,
        warnings: Vec::new(),
    };
    validate::validate(&content, safety_idx, phrases_idx, &mut errors);
    if !errors.is_empty() {
        return Err(ContentErrors(errors));
    }
    content.warnings = validate::lint(&content, phrases_idx);
    Ok(content)
}
