//! The page's settings: a form in, the settings layer
//! (`config::layer_path`) out, validated exactly as the config is and
//! written atomically with `toml_edit`, so that comments a user wrote in
//! the layer stay.

use crate::config::{Config, ConfigError};
use std::path::Path;
use toml_edit::{value, DocumentMut, Item, Table};

/// A new layer file starts with this.
const HEADER: &str = "# Settings changed on the companion page (matcoach web). They are read on\n# top of the config (/etc/matcoach/config.toml on the Pi), which the\n# service may not write. Delete a line to go back to the config's value.\n";

/// Why the settings were not changed.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A field's value is not even of its type.
    #[error("`{field}`: {message}\n  fix: {fix}")]
    Field {
        field: String,
        message: String,
        fix: String,
    },
    /// The config's own validation (same message as for the file).
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{path}: {detail}\n  fix: make the journal's directory writable by the coach (on the Pi: /var/lib/matcoach)")]
    Write { path: String, detail: String },
}

/// The settings the page sends (`None`: not in the form).
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Form {
    pub language: Option<String>,
    pub program: Option<String>,
    pub include_advanced: Option<String>,
    pub surgery_date: Option<String>,
    pub engine: Option<String>,
    pub recorded_voice: Option<String>,
    pub volume: Option<String>,
}

fn field(field: &str, message: String, fix: &str) -> SettingsError {
    SettingsError::Field {
        field: field.into(),
        message,
        fix: fix.into(),
    }
}

/// Set `name.key` (a hand-edited layer whose `name` is not a table gets
/// a table there).
fn set(doc: &mut DocumentMut, name: &str, key: &str, v: Item) {
    if !doc.get(name).is_some_and(|i| i.is_table()) {
        doc.insert(name, Item::Table(Table::new()));
    }
    doc[name][key] = v;
}

/// The layer's new text: `old` (the layer as it is, "" when none) with the
/// form's values set. Checked for type only; [`apply`] validates.
pub fn edit(old: &str, form: &Form, path: &Path) -> Result<String, SettingsError> {
    let mut doc: DocumentMut = if old.trim().is_empty() {
        HEADER.parse().map_err(|e: toml_edit::TomlError| {
            field("settings", e.to_string(), "report this as a bug")
        })?
    } else {
        old.parse().map_err(|e: toml_edit::TomlError| {
            SettingsError::Config(ConfigError::Invalid(crate::fix::Invalid {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: e.message().to_string(),
                fix: "fix the TOML syntax, or delete the file to go back to the config's values"
                    .into(),
            }))
        })?
    };
    if let Some(l) = &form.language {
        doc["language"] = value(l.trim());
    }
    if let Some(p) = &form.program {
        doc["program"] = value(p.trim());
    }
    // A checkbox sends its field only when ticked; the form says it has one
    // with any value of `include_advanced` ("on", or "off" from a hidden
    // field before it).
    if let Some(a) = &form.include_advanced {
        let on = match a.trim() {
            "on" | "true" | "1" => true,
            "off" | "false" | "0" | "" => false,
            other => {
                return Err(field(
                    "coach.include_advanced",
                    format!("\"{other}\" is not on or off"),
                    "tick the box or leave it empty",
                ))
            }
        };
        set(&mut doc, "coach", "include_advanced", value(on));
    }
    if let Some(d) = &form.surgery_date {
        set(&mut doc, "coach", "surgery_date", value(d.trim()));
    }
    if let Some(e) = &form.engine {
        set(&mut doc, "speech", "engine", value(e.trim()));
    }
    if let Some(v) = &form.recorded_voice {
        set(&mut doc, "speech", "recorded_voice", value(v.trim()));
    }
    if let Some(v) = &form.volume {
        let f: f64 = v.trim().parse().map_err(|_| {
            field(
                "audio.volume",
                format!("\"{v}\" is not a number"),
                "use a value from 0.0 (silent) to 1.0 (full)",
            )
        })?;
        set(&mut doc, "audio", "volume", value(f));
    }
    Ok(doc.to_string())
}

/// What changed, and whether the coach must restart for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub config: Config,
    /// The changed keys that take effect only after a restart.
    pub restart_for: Vec<&'static str>,
}

/// Validate the new layer on top of `base` (the config without the layer)
/// and write it to `path` atomically. `current` is the config in effect,
/// to tell which changes need a restart.
pub fn apply(
    base: &Config,
    current: &Config,
    path: &Path,
    form: &Form,
) -> Result<Applied, SettingsError> {
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(SettingsError::Write {
                path: path.display().to_string(),
                detail: e.to_string(),
            })
        }
    };
    let text = edit(&old, form, path)?;
    let mut config = base.clone();
    config.apply_layer_text(path, &text)?;
    super::write_atomically(path, text.as_bytes(), 0o640).map_err(|e| SettingsError::Write {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    let mut restart_for = Vec::new();
    if config.language != current.language {
        restart_for.push("language");
    }
    if config.speech != current.speech {
        restart_for.push("speech");
    }
    if config.audio.volume != current.audio.volume {
        restart_for.push("audio.volume");
    }
    Ok(Applied {
        config,
        restart_for,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_comments_and_names_the_bad_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.toml");
        std::fs::write(&path, "# my own note\nlanguage = \"en\" # keep\n").unwrap();
        let base = Config::default();
        let form = Form {
            language: Some("nl".into()),
            volume: Some("0.4".into()),
            ..Form::default()
        };
        let a = apply(&base, &base, &path, &form).unwrap();
        assert_eq!(a.config.language, crate::content::Lang::Nl);
        assert_eq!(a.restart_for, vec!["language", "audio.volume"]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("# my own note") && text.contains("volume = 0.4"),
            "{text}"
        );
        for (form, want) in [
            (
                Form {
                    volume: Some("2".into()),
                    ..Form::default()
                },
                "audio.volume",
            ),
            (
                Form {
                    volume: Some("loud".into()),
                    ..Form::default()
                },
                "audio.volume",
            ),
            (
                Form {
                    surgery_date: Some("yesterday".into()),
                    ..Form::default()
                },
                "coach.surgery_date",
            ),
            (
                Form {
                    language: Some("fr".into()),
                    ..Form::default()
                },
                "unknown variant",
            ),
        ] {
            let e = apply(&base, &base, &path, &form).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "unchanged");
        }
    }
}
