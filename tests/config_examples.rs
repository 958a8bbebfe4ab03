//! `config/matcoach.toml` documents every setting with its default; the
//! Debian package's `config/deb/config.toml` is the same with the system's
//! paths, which agree with the package's files and the systemd unit; bad
//! configs are reported with the file, line and a fix.

mod common;
use common::fixtures;

use fixtures::*;
use matcoach::config::{Config, ConfigError, GpioBackend};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn example_text() -> String {
    std::fs::read_to_string(example_config()).unwrap()
}

// ---------------------------------------------------------------------------
// The example
// ---------------------------------------------------------------------------

#[test]
fn the_example_parses_without_warnings_and_documents_the_defaults() {
    let (c, warnings) =
        Config::load(&example_config()).unwrap_or_else(|e| panic!("the example must load:\n{e}"));
    assert!(warnings.is_empty(), "warnings:\n{}", warnings.join("\n"));
    let d = Config::default();
    // Field by field first, so that a difference names its place.
    assert_eq!(
        c.language, d.language,
        "`language` differs from the default"
    );
    assert_eq!(c.program, d.program, "`program` differs from the default");
    assert_eq!(
        c.content_dir, d.content_dir,
        "`content_dir` differs from the default"
    );
    assert_eq!(c.timing, d.timing, "[timing] differs from the defaults");
    assert_eq!(c.coach, d.coach, "[coach] differs from the defaults");
    assert_eq!(c.audio, d.audio, "[audio] differs from the defaults");
    assert_eq!(c.voice, d.voice, "[voice] differs from the defaults");
    assert_eq!(c.gpio, d.gpio, "[gpio] differs from the defaults");
    assert_eq!(c.journal, d.journal, "[journal] differs from the defaults");
    // And as a whole, which also covers sections added later.
    assert_eq!(c, d, "the example differs from Config::default()");
    assert_eq!(c.session(), matcoach::session::SessionConfig::default());
}

/// The keys of `Config`, as `section.key`, read off its pretty `Debug`
/// output: every field shows there, so a new setting shows up here without
/// anyone updating a list.
fn config_keys() -> BTreeSet<String> {
    let debug = format!("{:#?}", Config::default());
    let mut keys = BTreeSet::new();
    let mut path: Vec<String> = Vec::new();
    for line in debug.lines().skip(1) {
        let indent = line.len() - line.trim_start().len();
        let depth = indent / 4;
        let trimmed = line.trim_start();
        let Some((name, value)) = trimmed.split_once(": ") else {
            continue;
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            continue;
        }
        path.truncate(depth.saturating_sub(1));
        if value.ends_with('{') {
            path.push(name.to_string());
        } else {
            let mut key = path.clone();
            key.push(name.to_string());
            keys.insert(key.join("."));
        }
    }
    keys
}

/// The keys the example file sets, as `section.key`.
fn example_keys() -> BTreeSet<String> {
    keys_of(&example_text())
}

/// The keys a config text sets, as `section.key`.
fn keys_of(text: &str) -> BTreeSet<String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(t) => walk(&key, t, out),
                _ => {
                    out.insert(key);
                }
            }
        }
    }
    let table: toml::Table = text.parse().unwrap();
    let mut out = BTreeSet::new();
    walk("", &table, &mut out);
    out
}

#[test]
fn the_key_list_is_read_correctly_off_config() {
    // A few keys of each kind, so that the Debug reading cannot silently
    // come back empty or flat.
    let keys = config_keys();
    for k in [
        "language",
        "program",
        "content_dir",
        "timing.get_ready_secs",
        "timing.echo_tail_ms",
        "coach.include_advanced",
        "audio.volume",
        "voice.models_dir",
        "gpio.backend",
        "gpio.led_pin",
        "journal.path",
        "log.level",
    ] {
        assert!(keys.contains(k), "{k} not in {keys:?}");
    }
    assert!(keys.len() >= 20, "{keys:?}");
}

#[test]
fn the_example_sets_every_key_of_config() {
    let config = config_keys();
    let example = example_keys();
    let missing: Vec<_> = config.difference(&example).collect();
    let extra: Vec<_> = example.difference(&config).collect();
    assert!(
        missing.is_empty(),
        "config/matcoach.toml does not document {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "config/matcoach.toml sets keys Config does not have: {extra:?}"
    );
}

#[test]
fn every_key_of_the_example_is_known_to_the_parser() {
    // Each key alone, in its section: no "unknown key" warning.
    let text = example_text();
    let table: toml::Table = text.parse().unwrap();
    for key in example_keys() {
        let (section, leaf) = match key.split_once('.') {
            Some((s, l)) => (Some(s), l),
            None => (None, key.as_str()),
        };
        let value = match section {
            Some(s) => &table[s][leaf],
            None => &table[leaf],
        };
        let doc = match section {
            Some(s) => format!("[{s}]\n{leaf} = {value}\n"),
            None => format!("{leaf} = {value}\n"),
        };
        let (_, warnings) =
            Config::parse(Path::new("one.toml"), &doc).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert!(warnings.is_empty(), "{key}: {warnings:?}");
    }
}

// ---------------------------------------------------------------------------
// The Debian package's config (/etc/matcoach/config.toml)
// ---------------------------------------------------------------------------

fn package_config() -> PathBuf {
    root().join("config").join("deb").join("config.toml")
}

/// `[package.metadata.deb]` of Cargo.toml.
fn deb_metadata() -> toml::Table {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let mut manifest: toml::Table = text.parse().unwrap();
    let Some(toml::Value::Table(mut package)) = manifest.remove("package") else {
        panic!("Cargo.toml has no [package]");
    };
    let Some(toml::Value::Table(mut metadata)) = package.remove("metadata") else {
        panic!("Cargo.toml has no [package.metadata]");
    };
    let Some(toml::Value::Table(deb)) = metadata.remove("deb") else {
        panic!("Cargo.toml has no [package.metadata.deb]");
    };
    deb
}

/// Where the package installs `source`: the `dest` of its asset.
fn asset_dest(deb: &toml::Table, source: &str) -> String {
    let assets = deb["assets"].as_array().expect("assets is a list");
    assets
        .iter()
        .filter_map(|a| a.as_array())
        .find(|a| a[0].as_str() == Some(source))
        .and_then(|a| a[1].as_str())
        .unwrap_or_else(|| panic!("no asset {source} in [package.metadata.deb]"))
        .to_string()
}

/// `Key=` lines of the systemd unit (every value, in order).
fn unit_values(key: &str) -> Vec<String> {
    let text = std::fs::read_to_string(
        root()
            .join("config")
            .join("systemd")
            .join("matcoach.service"),
    )
    .unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_package_config_is_the_example_with_the_system_paths() {
    let path = package_config();
    let (c, warnings) =
        Config::load(&path).unwrap_or_else(|e| panic!("the package's config must load:\n{e}"));
    assert!(warnings.is_empty(), "warnings:\n{}", warnings.join("\n"));
    assert_eq!(c.content_dir, Path::new("/usr/share/matcoach/content"));
    assert_eq!(
        c.journal.path.as_deref(),
        Some(Path::new("/var/lib/matcoach/journal.sqlite"))
    );
    assert_eq!(
        c.voice.models_dir.as_deref(),
        Some(Path::new("/var/lib/matcoach/models"))
    );
    assert_eq!(c.speech.voices_dir, Path::new("/var/lib/matcoach/voices"));
    assert_eq!(
        c.speech.cache_dir.as_deref(),
        Some(Path::new("/var/cache/matcoach/speech"))
    );
    assert_eq!(
        c.speech.cues_dir,
        Path::new("/usr/share/matcoach/audio/cues")
    );
    assert_eq!(c.gpio.backend, GpioBackend::Rppal);
    // Everything else is the example's (the defaults), so that the two files
    // cannot drift apart.
    let mut want = Config {
        content_dir: c.content_dir.clone(),
        ..Config::default()
    };
    want.journal.path = c.journal.path.clone();
    want.voice.models_dir = c.voice.models_dir.clone();
    want.speech.voices_dir = c.speech.voices_dir.clone();
    want.speech.cache_dir = c.speech.cache_dir.clone();
    want.speech.cues_dir = c.speech.cues_dir.clone();
    want.gpio.backend = c.gpio.backend;
    assert_eq!(
        c, want,
        "config/deb/config.toml differs from the defaults in more than its paths"
    );
    // And it documents every key, as the example does.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(keys_of(&text), example_keys());
}

#[test]
fn the_package_installs_its_config_and_content_where_the_config_and_unit_say() {
    let deb = deb_metadata();
    let (c, _) = Config::load(&package_config()).unwrap();
    // The unit runs `matcoach --config /etc/matcoach/config.toml run`, and
    // `matcoach` without --config reads that file too.
    assert_eq!(
        format!("/{}", asset_dest(&deb, "config/deb/config.toml")),
        "/etc/matcoach/config.toml"
    );
    let exec = unit_values("ExecStart");
    assert_eq!(
        exec,
        ["/usr/bin/matcoach --config /etc/matcoach/config.toml run"]
    );
    // content/**/* is installed under the config's content_dir, and the
    // cue tones in its cues_dir.
    let content = format!("/{}", asset_dest(&deb, "content/**/*"));
    assert_eq!(
        Path::new(content.trim_end_matches('/')),
        c.content_dir.as_path()
    );
    let cues = format!("/{}", asset_dest(&deb, "audio/cues/*.wav"));
    assert_eq!(
        Path::new(cues.trim_end_matches('/')),
        c.speech.cues_dir.as_path()
    );
}

#[test]
fn the_service_may_write_where_the_package_config_puts_its_data() {
    let (c, _) = Config::load(&package_config()).unwrap();
    // ProtectSystem=strict: only these are writable.
    let writable: Vec<String> = unit_values("ReadWritePaths")
        .iter()
        .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert_eq!(writable, ["/var/lib/matcoach", "/var/cache/matcoach"]);
    // …and systemd creates them for the service's user.
    assert_eq!(unit_values("StateDirectory"), ["matcoach"]);
    assert_eq!(unit_values("CacheDirectory"), ["matcoach"]);
    for (key, path) in [
        ("journal.path", c.journal.path.as_deref()),
        ("voice.models_dir", c.voice.models_dir.as_deref()),
        ("speech.voices_dir", Some(c.speech.voices_dir.as_path())),
    ] {
        let path = path.unwrap_or(Path::new(""));
        assert!(
            path.starts_with("/var/lib/matcoach"),
            "{key} = {} is outside the state directory",
            path.display()
        );
    }
    assert!(c
        .speech
        .cache_dir
        .as_deref()
        .is_some_and(|d| d.starts_with("/var/cache/matcoach")));
    // With the paths left empty, the unit's XDG variables lead to the same
    // places (the journal's and the cache's default is <XDG dir>/matcoach/…).
    assert_eq!(
        unit_values("Environment"),
        ["XDG_DATA_HOME=/var/lib XDG_CACHE_HOME=/var/cache"]
    );
}

// ---------------------------------------------------------------------------
// Bad configs
// ---------------------------------------------------------------------------

enum Want {
    /// Loads, with exactly this one warning about `key` at the line of
    /// `needle`.
    Warning {
        key: &'static str,
        needle: &'static str,
    },
    /// Fails at `needle` (+ `skip` bytes) with a message and a fix.
    Error {
        needle: &'static str,
        skip: usize,
        message: &'static str,
        fix: &'static str,
    },
}

struct Bad {
    name: &'static str,
    /// (anchor, line start, new line) as for `set_line_in`.
    edit: (&'static str, &'static str, &'static str),
    want: Want,
}

const BAD: &[Bad] = &[
    Bad {
        name: "an unknown top-level key",
        edit: ("", "language = ", "language = \"en\"\nlanguag = \"nl\""),
        want: Want::Warning {
            key: "languag",
            needle: "languag = ",
        },
    },
    Bad {
        name: "an unknown key in [timing]",
        edit: ("", "[timing]", "[timing]\nfoo = 1"),
        want: Want::Warning {
            key: "timing.foo",
            needle: "foo = 1",
        },
    },
    Bad {
        name: "language = \"de\"",
        edit: ("", "language = ", "language = \"de\""),
        want: Want::Error {
            needle: "language = \"de\"",
            skip: 11,
            message: "unknown variant `de`, expected `en` or `nl`",
            fix: "use one of the values the message lists",
        },
    },
    Bad {
        name: "audio.volume = 3.0",
        edit: ("[audio]", "volume = ", "volume = 3.0"),
        want: Want::Error {
            needle: "volume = 3.0",
            skip: 0,
            message: "`audio.volume` = 3 is outside 0.0 to 1.0",
            fix: "use a value from 0.0 (silent) to 1.0 (full)",
        },
    },
    Bad {
        name: "audio.volume = -0.5",
        edit: ("[audio]", "volume = ", "volume = -0.5"),
        want: Want::Error {
            needle: "volume = -0.5",
            skip: 0,
            message: "`audio.volume` = -0.5 is outside 0.0 to 1.0",
            fix: "use a value from 0.0 (silent) to 1.0 (full)",
        },
    },
    Bad {
        name: "audio.volume = nan",
        edit: ("[audio]", "volume = ", "volume = nan"),
        want: Want::Error {
            needle: "volume = nan",
            skip: 0,
            message: "`audio.volume` = NaN is outside 0.0 to 1.0",
            fix: "use a value from 0.0 (silent) to 1.0 (full)",
        },
    },
    Bad {
        name: "audio.standby_secs = 7200",
        edit: ("[audio]", "standby_secs = ", "standby_secs = 7200"),
        want: Want::Error {
            needle: "standby_secs = 7200",
            skip: 0,
            message: "`audio.standby_secs` = 7200 is more than an hour",
            fix: "use 0 to keep the speaker open, or up to 3600 seconds (the default is 10)",
        },
    },
    Bad {
        name: "timing.get_ready_secs = 0",
        edit: ("[timing]", "get_ready_secs = ", "get_ready_secs = 0"),
        want: Want::Error {
            needle: "get_ready_secs = 0",
            skip: 0,
            message: "`timing.get_ready_secs` is 0",
            fix: "use a whole number above zero",
        },
    },
    Bad {
        name: "timing.long_press_ms = 100",
        edit: ("[timing]", "long_press_ms = ", "long_press_ms = 100"),
        want: Want::Error {
            needle: "long_press_ms = 100",
            skip: 0,
            message: "`timing.long_press_ms` = 100 is too short to tell from a normal press",
            fix: "use at least 500",
        },
    },
    Bad {
        name: "gpio.button_pin = 40",
        edit: ("[gpio]", "button_pin = ", "button_pin = 40"),
        want: Want::Error {
            needle: "button_pin = 40",
            skip: 0,
            message: "`gpio.button_pin` = 40 is not a GPIO pin of the 40-pin header",
            fix: "use a BCM number from 0 to 27",
        },
    },
    Bad {
        name: "button and LED on the same pin",
        edit: ("[gpio]", "led_pin = ", "led_pin = 17"),
        want: Want::Error {
            needle: "led_pin = 17",
            skip: 0,
            message: "the button and the LED both use GPIO 17",
            fix: "give the LED its own pin",
        },
    },
    Bad {
        name: "an empty program",
        edit: ("", "program = ", "program = \" \""),
        want: Want::Error {
            needle: "program = \" \"",
            skip: 0,
            message: "`program` is empty",
            fix: "name a program (see `matcoach programs`)",
        },
    },
    Bad {
        name: "a string where a number is expected",
        edit: ("[timing]", "gap_ms = ", "gap_ms = \"700\""),
        want: Want::Error {
            needle: "gap_ms = \"700\"",
            skip: 9,
            message: "invalid type: string \"700\", expected u32",
            fix: "give the value the type the message asks for",
        },
    },
    Bad {
        name: "a pin number too big for its type",
        edit: ("[gpio]", "button_pin = ", "button_pin = 300"),
        want: Want::Error {
            needle: "button_pin = 300",
            skip: 13,
            message: "invalid value: integer `300`, expected u8",
            fix: "give the value the type the message asks for",
        },
    },
    Bad {
        name: "log.level = \"loud\"",
        edit: ("[log]", "level = ", "level = \"loud\""),
        want: Want::Error {
            needle: "level = \"loud\"",
            skip: 8,
            message: "unknown variant `loud`, expected one of `error`, `warn`, `info`, `debug`",
            fix: "use one of the values the message lists",
        },
    },
    Bad {
        name: "broken TOML syntax",
        edit: ("", "[timing]", "[timing"),
        want: Want::Error {
            needle: "[timing\n",
            skip: 7,
            message: "unclosed table, expected `]`",
            fix: "fix the TOML syntax here",
        },
    },
];

fn check_bad(case: &Bad, path: &Path) -> Result<(), String> {
    let (anchor, starts, new_line) = case.edit;
    let text = set_line_in(&example_text(), anchor, starts, new_line);
    std::fs::write(path, &text).unwrap();
    let got = Config::load(path);
    match (&case.want, got) {
        (Want::Warning { key, needle }, Ok((_, warnings))) => {
            let (line, _) = position(&text, needle, 1, 0);
            let want = format!(
                "{}:{line}: warning: unknown key `{key}` is ignored; check its spelling against config/matcoach.toml",
                path.display()
            );
            if warnings != [want.clone()] {
                return Err(format!("want [{want:?}], got {warnings:#?}"));
            }
            Ok(())
        }
        (
            Want::Error {
                needle,
                skip,
                message,
                fix,
            },
            Err(e),
        ) => {
            let (line, col) = position(&text, needle, 1, *skip);
            let shown = e.to_string();
            let ConfigError::Invalid(matcoach::fix::Invalid {
                line: l, column: c, ..
            }) = &e
            else {
                return Err(format!("not an Invalid error: {shown}"));
            };
            if (*l, *c) != (line, col) {
                return Err(format!("at {l}:{c}, want {line}:{col}: {shown}"));
            }
            let head = format!("{}:{line}:{col}: ", path.display());
            let mut lines = shown.lines();
            let first = lines.next().unwrap_or("");
            if !(first.starts_with(&head) && first.contains(message)) {
                return Err(format!("want `{head}…{message}…`, got:\n{shown}"));
            }
            let second = lines.next().unwrap_or("");
            if !(second.starts_with("  fix: ") && second.contains(fix)) {
                return Err(format!("want `  fix: …{fix}…`, got:\n{shown}"));
            }
            Ok(())
        }
        (_, Ok((c, w))) => Err(format!("loaded: {c:?}, warnings {w:?}")),
        (_, Err(e)) => Err(format!("failed: {e}")),
    }
}

#[test]
fn bad_configs_are_reported_with_file_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let failures: Vec<String> = BAD
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let path = dir.path().join(format!("bad_{i}.toml"));
            check_bad(c, &path)
                .err()
                .map(|e| format!("[{}] {e}", c.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        BAD.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a_missing_config_is_a_read_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let e = Config::load(&path).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e:?}");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("{}: cannot read the config: ", path.display())),
        "{shown}"
    );
    assert!(
        shown.contains("\n  fix: check the path, or pass --config FILE"),
        "{shown}"
    );
}

#[test]
fn an_empty_config_is_all_defaults() {
    let (c, w) = Config::parse(Path::new("empty.toml"), "").unwrap();
    assert_eq!(c, Config::default());
    assert!(w.is_empty());
}

#[test]
fn an_unknown_key_is_reported_at_its_own_line_when_another_section_has_that_key() {
    let text = set_line_in(
        &example_text(),
        "[journal]",
        "[journal]",
        "[journal]\nenabled = true",
    );
    let (_, warnings) = Config::parse(Path::new("c.toml"), &text).unwrap();
    let (line, _) = position(&text, "[journal]\nenabled = true", 1, 10);
    assert_eq!(
        warnings,
        [format!(
            "c.toml:{line}: warning: unknown key `journal.enabled` is ignored; check its spelling against config/matcoach.toml"
        )]
    );
}

#[test]
fn an_unknown_section_is_reported_at_its_header() {
    let text = set_line_in(
        &example_text(),
        "",
        "[timing]",
        "[timings]\nget_ready_secs = 15\n\n[timing]",
    );
    let (_, warnings) = Config::parse(Path::new("c.toml"), &text).unwrap();
    let (line, _) = position(&text, "[timings]", 1, 0);
    assert_eq!(
        warnings,
        [format!(
            "c.toml:{line}: warning: unknown key `timings` is ignored; check its spelling against config/matcoach.toml"
        )]
    );
}

#[test]
fn a_shared_pin_is_reported_at_the_key_that_is_in_the_file() {
    let text = "# my config\n\n[gpio]\nbutton_pin = 27\n";
    let e = Config::parse(Path::new("c.toml"), text).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("c.toml:4:1: the button and the LED both use GPIO 27"),
        "{e}"
    );
}

/// The coach's clock reads the system's zone (/etc/localtime, a link into
/// /usr/share/zoneinfo, or a `TZ` naming one): the hardening may make them
/// read-only (ProtectSystem=strict) but must not hide them, nor pin the
/// zone to something else.
#[test]
fn the_service_can_read_the_local_time_zone() {
    assert_eq!(unit_values("ProtectSystem"), ["strict"]);
    let zone_files = [
        "/etc",
        "/etc/localtime",
        "/usr",
        "/usr/share",
        "/usr/share/zoneinfo",
    ];
    for key in [
        "InaccessiblePaths",
        "TemporaryFileSystem",
        "BindPaths",
        "BindReadOnlyPaths",
    ] {
        for value in unit_values(key) {
            for path in value.split_whitespace() {
                let path = path.trim_start_matches(['-', '+']);
                let path = path.split(':').next().unwrap_or(path);
                assert!(
                    !zone_files.contains(&path),
                    "{key}={value} hides the time zone the journal's clock reads"
                );
            }
        }
    }
    for value in unit_values("Environment") {
        assert!(
            !value.split_whitespace().any(|v| v.starts_with("TZ=")),
            "Environment={value} pins the time zone: the coach should follow the system's"
        );
    }
}
