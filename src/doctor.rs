//! `matcoach doctor`: checks what the daemon needs, one thing at a time, and
//! says for each what is wrong and how to fix it. Each check is a function
//! returning a [`Check`]; [`run`] does them all in order, and [`render`] /
//! [`to_json`] print the result.

use crate::config::{Config, GpioBackend};
use crate::content::{self, Lang};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod audio;
// issue 15, item 3
pub mod clock;
mod disk;
// issue 16, item 1
mod voice_check;

pub use audio::{audio_output, level, levels, microphone};
pub use disk::disk_space;
use disk::{existing_ancestor, probe_write};
pub use voice_check::voice_checks;

/// Warn when a disk the coach writes to has less free space than this.
pub const LOW_DISK: u64 = 50 * 1024 * 1024;

use crate::config::{find_config, CONFIG_PLACES};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, but something deserves attention.
    Warn,
    /// The coach cannot work properly until it is fixed.
    Problem,
    /// Not checked (not configured, or asked not to).
    Skipped,
    /// Not a check: something the user must know (the red flags).
    Note,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Problem => "PROBLEM",
            Status::Skipped => "SKIPPED",
            Status::Note => "NOTE",
        }
    }
}

/// The result of one check: what was looked at, what was found, and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: &str, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn skipped(name: &str, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Skipped,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn warn(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn problem(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Problem,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// A problem from one of our errors, with the fix it carries.
    pub fn from_error(name: &str, e: &dyn crate::fix::Fix) -> Check {
        Check {
            name: name.into(),
            status: Status::Problem,
            detail: e.problem().trim().to_string(),
            fix: e.fix().map(|f| f.trim().to_string()),
        }
    }
}

/// What `matcoach doctor` was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--content`.
    pub content: Option<PathBuf>,
    /// Play a short tone on the output.
    pub tone: bool,
    /// Record this long for the microphone level (None: `--no-mic-test`).
    pub listen: Option<Duration>,
}

/// Every check, in order. `say` is told when to speak into the microphone.
pub fn run(opts: &Options, say: &mut dyn FnMut(&str)) -> Vec<Check> {
    let mut checks = Vec::new();
    let (check, config) = config(opts.config.as_deref());
    checks.push(check);
    let dir = opts
        .content
        .clone()
        .unwrap_or_else(|| config.content_dir.clone());
    checks.push(content(&dir, &config));
    checks.push(speech(&config));
    checks.push(audio_output(&config, opts.tone));
    checks.extend(microphone(&config, opts.listen, say));
    checks.push(model(&config));
    checks.push(gpio(&config));
    let journal_path = crate::journal::resolve_path(config.journal.path.as_deref());
    checks.push(journal(journal_path.as_ref().map(PathBuf::as_path)));
    // issue 15, item 3
    checks.push(clock::check(
        &crate::date::read(),
        &clock::timesync(),
        journal_path
            .as_ref()
            .ok()
            .and_then(|p| clock::journal_history(p))
            .as_ref(),
    ));
    let mut places = Vec::new();
    if let Ok(p) = &journal_path {
        if let Some(dir) = p.parent() {
            places.push(("journal", dir.to_path_buf()));
        }
    }
    places.push(("speech cache", speech_cache_dir(&config)));
    checks.extend(disk_space(&places, LOW_DISK));
    // issue 16, item 3.
    checks.push(kept_clips(
        &config,
        journal_path.as_ref().ok().map(PathBuf::as_path),
    ));
    checks.push(red_flags(&dir, config.language));
    // issue 17
    checks.push(web(&config, &local_addresses()));
    // issue 16, item 1
    if let Ok(p) = &journal_path {
        checks.extend(voice_checks(p, config.language));
    }
    checks
}

/// The addresses of this machine's network interfaces.
pub fn local_addresses() -> Vec<std::net::IpAddr> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we only read and
    // then free with freeifaddrs; each sockaddr is read as the family it
    // says it is.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut p = list;
        while !p.is_null() {
            let a = (*p).ifa_addr;
            if !a.is_null() {
                match i32::from((*a).sa_family) {
                    libc::AF_INET => {
                        let v4 = &*(a as *const libc::sockaddr_in);
                        out.push(std::net::IpAddr::V4(std::net::Ipv4Addr::from(
                            u32::from_be(v4.sin_addr.s_addr),
                        )));
                    }
                    libc::AF_INET6 => {
                        let v6 = &*(a as *const libc::sockaddr_in6);
                        out.push(std::net::IpAddr::V6(std::net::Ipv6Addr::from(
                            v6.sin6_addr.s6_addr,
                        )));
                    }
                    _ => {}
                }
            }
            p = (*p).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    out
}

/// The companion page (issue 17): off, or where it listens; a warning when
/// it listens on a public (internet) address, given this machine's
/// addresses `local`.
pub fn web(config: &Config, local: &[std::net::IpAddr]) -> Check {
    const NAME: &str = "companion page";
    let w = &config.web;
    if !w.enabled {
        return Check::skipped(NAME, "off ([web] enabled = false)");
    }
    let Some(addr) = w.addr() else {
        return Check::problem(
            NAME,
            format!("[web] listen = \"{}\" is not an address", w.listen),
            "write it as ADDRESS:PORT, e.g. 0.0.0.0:8080",
        );
    };
    let ip = addr.ip();
    let public: Vec<String> = if ip.is_unspecified() {
        local
            .iter()
            .filter(|a| !crate::web::is_home(**a))
            .map(|a| a.to_string())
            .collect()
    } else if crate::web::is_home(ip) {
        Vec::new()
    } else {
        vec![ip.to_string()]
    };
    if public.is_empty() {
        return Check::ok(
            NAME,
            format!("http://{addr}/ on the home network only; pair a phone with `matcoach pair`"),
        );
    }
    if w.allow_public {
        Check::warn(
            NAME,
            format!(
                "listens on the public address(es) {} and answers them ([web] allow_public = true): the internet can reach the pairing page",
                public.join(", ")
            ),
            "set [web] allow_public = false, or listen on the Pi's home address (e.g. 192.168.1.20:8080)",
        )
    } else {
        Check::warn(
            NAME,
            format!(
                "listens on the public address(es) {}; clients there get 403 (allow_public = false), but the port is open",
                public.join(", ")
            ),
            "set [web] listen to the Pi's home address (e.g. 192.168.1.20:8080), or block the port in the router",
        )
    }
}

/// Whether any check found a problem (the exit code is then 1).
pub fn has_problem(checks: &[Check]) -> bool {
    checks.iter().any(|c| c.status == Status::Problem)
}

// ---------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------

/// The config, found as `run` finds it: parsed, with unknown keys warned
/// about. Returns the config to check the rest with (the built-in defaults
/// when it does not load).
pub fn config(explicit: Option<&Path>) -> (Check, Config) {
    const NAME: &str = "config";
    let Some(path) = find_config(explicit) else {
        return (
            Check::ok(
                NAME,
                format!(
                    "no config file ({}): the built-in defaults",
                    CONFIG_PLACES.join(", ")
                ),
            ),
            Config::default(),
        );
    };
    match Config::load(&path) {
        Ok((config, warnings)) if warnings.is_empty() => {
            (Check::ok(NAME, path.display().to_string()), config)
        }
        Ok((config, warnings)) => (
            Check::warn(
                NAME,
                warnings.join("\n"),
                "remove or correct those keys (config/matcoach.toml lists every setting)",
            ),
            config,
        ),
        Err(e) => {
            let mut c = Check::from_error(NAME, &e);
            c.detail
                .push_str("\n(the other checks use the built-in defaults)");
            (c, Config::default())
        }
    }
}

/// The content directory loads and validates, and has the config's program.
pub fn content(dir: &Path, config: &Config) -> Check {
    const NAME: &str = "content";
    let content = match content::load_dir(dir) {
        Ok(c) => c,
        Err(e) => {
            return Check::problem(
                NAME,
                format!("{}: {}", dir.display(), e.to_string().trim_end()),
                "fix each problem at its file and line (the format is in content/README.md), or pass --content DIR",
            )
        }
    };
    let known = content.program(&config.program).is_some()
        || config.program == crate::adapt::AUTO
        || config.program == crate::adapt::MAX_TEST;
    if !known {
        return Check::problem(
            NAME,
            format!(
                "program `{}` (the config's `program`) is not in {}; available: {}",
                config.program,
                dir.display(),
                content.program_ids().join(", ")
            ),
            "set `program` to one of these, or to \"auto\"",
        );
    }
    // Every program must compile in both languages (as `matcoach check`).
    let cfg = config.session();
    for p in &content.programs {
        for lang in Lang::ALL {
            if let Err(e) = crate::session::compile(&content, p, lang, &cfg, &()) {
                let mut c = Check::from_error(NAME, &e);
                c.detail = format!("program `{}` ({lang}): {}", p.id(), c.detail);
                if c.fix.is_none() {
                    c.fix = Some("fix the program in the content (see `matcoach check`)".into());
                }
                return c;
            }
        }
    }
    let detail = format!(
        "{}: {} exercises, {} programs",
        dir.display(),
        content.exercises.len(),
        content.programs.len()
    );
    if content.warnings.is_empty() {
        Check::ok(NAME, detail)
    } else {
        Check::warn(
            NAME,
            format!(
                "{detail}; {}",
                content
                    .warnings
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            "see each warning (`matcoach check` lists them too)",
        )
    }
}

/// Not a check: the red flags, the project's own advice (not a
/// brochure's) on when to end the exercises and see a doctor today, from
/// the content's `phrases.toml` in `lang`. Read from that file alone, so
/// that they are printed even when other content files have problems.
pub fn red_flags(dir: &Path, lang: Lang) -> Check {
    const NAME: &str = "red flags";
    let path = dir.join("phrases.toml");
    let phrases = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| toml::from_str::<content::Phrases>(&t).map_err(|e| e.to_string()));
    match phrases {
        Ok(p) => Check {
            name: NAME.into(),
            status: Status::Note,
            detail: format!(
                "the project's own advice, not from the brochures:\n{}",
                p.red_flags.get(lang)
            ),
            fix: None,
        },
        Err(e) => Check::problem(
            NAME,
            format!(
                "{}: cannot read the red flags: {}",
                path.display(),
                e.trim()
            ),
            "fix phrases.toml (see `matcoach check`); the red flags are also in README.md",
        ),
    }
}

/// The coach's voice: the synthesiser the config asks for runs.
pub fn speech(config: &Config) -> Check {
    const NAME: &str = "speech";
    let speech = match crate::speech::Speech::from_config(&config.speech, Path::new(".")) {
        Ok(s) => s,
        Err(e) => return Check::from_error(NAME, &e),
    };
    match speech.check(config.language) {
        Ok(()) => Check::ok(
            NAME,
            format!("{} ({})", speech.key(config.language), config.language),
        ),
        Err(e) => Check::from_error(NAME, &e),
    }
}

/// The recognition model for the configured engine and language, loaded
/// as the daemon loads it.
pub fn model(config: &Config) -> Check {
    const NAME: &str = "speech recognition";
    let voice = &config.voice;
    let lang = config.language;
    if !voice.enabled {
        return Check::skipped(NAME, "voice.enabled = false");
    }
    let choice = match crate::hearing::choose_engine(lang, voice) {
        Ok(c) => c,
        Err(e) => {
            let dir = crate::hearing::installer::model_dir(voice, lang);
            if voice.engine == crate::hearing::Engine::Vosk && !dir.is_dir() {
                let key = match lang {
                    Lang::En => "voice.model_en",
                    Lang::Nl => "voice.model_nl",
                };
                return Check::problem(
                    NAME,
                    format!(
                        "no Vosk model for {lang} at {}: spoken commands are off (the button still works)",
                        dir.display()
                    ),
                    format!("`matcoach setup-model --lang {lang}` installs it (or set {key} to a model directory)"),
                );
            }
            return Check::from_error(NAME, &e);
        }
    };
    if let Some((what, fix)) = choice.explain() {
        return Check::warn(NAME, what, fix);
    }
    let what = match choice.engine {
        crate::hearing::Engine::Vosk => format!(
            "vosk loads the model at {}",
            crate::hearing::installer::model_dir(voice, lang).display()
        ),
        crate::hearing::Engine::Pocketsphinx => format!("pocketsphinx loads ({lang})"),
    };
    Check::ok(NAME, what)
}

/// issue 16, item 3: whether the coach keeps audio of likely misses,
/// where, and how much it holds now.
pub fn kept_clips(config: &Config, journal: Option<&Path>) -> Check {
    const NAME: &str = "kept clips";
    let v = &config.voice;
    let Some(journal) = journal else {
        return Check::skipped(NAME, "no journal path, so no folder for kept clips");
    };
    let folder = crate::hearing::misses::Folder::beside(journal, v);
    let dir = folder.dir.display();
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    match (v.keep_misses, folder.usage()) {
        (_, Err(e)) => Check::from_error(NAME, &e),
        (true, Ok((n, bytes))) => Check {
            name: NAME.into(),
            status: Status::Note,
            detail: format!(
                "voice.keep_misses is on: the coach keeps 10 s of microphone audio when the button does what a command word would have done, or a command is undone at once; {n} clip{} ({:.1} of {} MB) in {dir}, each deleted after {} days; nothing leaves this device",
                if n == 1 { "" } else { "s" },
                mb(bytes),
                v.keep_misses_max_mb,
                v.keep_misses_days
            ),
            fix: Some(format!(
                "to delete them: remove {dir}; to keep none from now on: set [voice] keep_misses = false"
            )),
        },
        (false, Ok((0, _))) => Check::skipped(NAME, "voice.keep_misses = false: no audio is kept"),
        (false, Ok((n, bytes))) => Check {
            name: NAME.into(),
            status: Status::Note,
            detail: format!(
                "voice.keep_misses = false, but {n} clip{} kept before ({:.1} MB) remain in {dir}",
                if n == 1 { "" } else { "s" },
                mb(bytes)
            ),
            fix: Some(format!("to delete them: remove {dir}")),
        },
    }
}

/// The button and LED pins open (with backend "rppal").
pub fn gpio(config: &Config) -> Check {
    const NAME: &str = "gpio";
    let g = &config.gpio;
    match g.backend {
        GpioBackend::None => Check::skipped(
            NAME,
            "gpio.backend = \"none\": no button or LED (set \"rppal\" on a Raspberry Pi)",
        ),
        GpioBackend::Rppal => gpio_rppal(g, NAME),
    }
}

#[cfg(feature = "gpio-rppal")]
fn gpio_rppal(g: &crate::config::Gpio, name: &str) -> Check {
    let (tx, _rx) = tokio::sync::mpsc::channel(4);
    match crate::gpio::rppal::open(g, tx) {
        Ok(_pins) => Check::ok(
            name,
            format!("button on GPIO {}, LED on GPIO {}", g.button_pin, g.led_pin),
        ),
        Err(e) => Check::from_error(name, &e),
    }
}

#[cfg(not(feature = "gpio-rppal"))]
fn gpio_rppal(_g: &crate::config::Gpio, name: &str) -> Check {
    Check::from_error(name, &crate::gpio::GpioError::NotBuilt)
}

/// The journal: its directory is writable, and an existing file opens and
/// passes SQLite's integrity check. Changes nothing.
pub fn journal(path: Result<&Path, &crate::journal::JournalError>) -> Check {
    const NAME: &str = "journal";
    let path = match path {
        Ok(p) => p,
        Err(e) => return Check::from_error(NAME, e),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let unwritable = |what: &str, e: &std::io::Error| {
        Check::problem(
            NAME,
            format!("{}: {what}: {e}", path.display()),
            "make the directory writable by the user matcoach runs as (on the Pi: `sudo chown -R matcoach: /var/lib/matcoach`), or set journal.path to a writable place",
        )
    };
    if !path.exists() {
        // The daemon creates the file (and missing directories) when it
        // starts: check the nearest directory that exists.
        let base = existing_ancestor(&dir);
        if let Err(e) = probe_write(&base) {
            return unwritable(&format!("cannot create it in {}", base.display()), &e);
        }
        return Check::ok(
            NAME,
            format!(
                "{}: not there yet; the daemon creates it (the directory is writable)",
                path.display()
            ),
        );
    }
    if let Err(e) = probe_write(&dir) {
        return unwritable(
            &format!("its directory {} is not writable", dir.display()),
            &e,
        );
    }
    if let Err(e) = std::fs::OpenOptions::new().append(true).open(path) {
        return unwritable("the file is not writable", &e);
    }
    use rusqlite::OpenFlags;
    let damaged = |detail: String| {
        Check::problem(
            NAME,
            format!("{}: damaged: {detail}", path.display()),
            "the daemon moves a damaged journal aside and starts a fresh one when it starts; to rescue the history: `sqlite3 FILE .recover`",
        )
    };
    let conn = match rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        Ok(c) => c,
        Err(e) => return damaged(e.to_string()),
    };
    let result: Result<Vec<String>, rusqlite::Error> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect());
    match result {
        Ok(rows) if rows == ["ok"] => {
            let sessions: i64 = conn
                .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
                .unwrap_or(0);
            Check::ok(
                NAME,
                format!(
                    "{}: opens, integrity ok, {sessions} session{}",
                    path.display(),
                    if sessions == 1 { "" } else { "s" }
                ),
            )
        }
        Ok(rows) => damaged(rows.join("; ")),
        Err(e) => damaged(e.to_string()),
    }
}

/// The speech cache directory the config asks for (as `Speech` resolves it
/// for the daemon, which runs from its working directory).
pub fn speech_cache_dir(config: &Config) -> PathBuf {
    match &config.speech.cache_dir {
        None => crate::speech::default_cache_dir(),
        Some(dir) if dir.is_absolute() => dir.clone(),
        Some(dir) => PathBuf::from(".").join(dir),
    }
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// The checks as text, one block per check, and a summary line.
pub fn render(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    let pad = " ".repeat(width + 12);
    for c in checks {
        let mut lines = c.detail.lines();
        out.push_str(&format!(
            "{:<8}  {:<width$}  {}\n",
            c.status.label(),
            c.name,
            lines.next().unwrap_or("")
        ));
        for l in lines {
            out.push_str(&format!("{pad}{l}\n"));
        }
        if let Some(fix) = &c.fix {
            out.push_str(&format!("{pad}fix: {fix}\n"));
        }
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    let (p, w) = (count(Status::Problem), count(Status::Warn));
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if p == 0 && w == 0 {
        out.push_str("all good\n");
    } else {
        out.push_str(&format!(
            "{}, {}\n",
            plural(p, "problem"),
            plural(w, "warning")
        ));
    }
    out
}

/// The checks as one JSON object: `{"ok": bool, "checks": [...]}`.
pub fn to_json(checks: &[Check]) -> serde_json::Value {
    serde_json::json!({
        "ok": !has_problem(checks),
        "checks": checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(amp: f32, n: usize) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * 0.07).sin() * amp).collect()
    }

    /// The companion page's check: the verdict by listening address, the
    /// machine's own addresses and `allow_public`.
    #[test]
    fn the_companion_page_warns_about_public_addresses_only() {
        let home: Vec<std::net::IpAddr> = vec!["192.168.1.20".parse().unwrap()];
        let with_public: Vec<std::net::IpAddr> = vec![
            "192.168.1.20".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
        ];
        // (enabled, listen, allow_public, local addresses, status, in detail)
        type Row<'a> = (bool, &'a str, bool, &'a [std::net::IpAddr], Status, &'a str);
        let table: &[Row] = &[
            (
                false,
                "0.0.0.0:8080",
                false,
                &with_public,
                Status::Skipped,
                "enabled = false",
            ),
            (
                true,
                "0.0.0.0:8080",
                false,
                &home,
                Status::Ok,
                "home network only",
            ),
            (
                true,
                "127.0.0.1:8080",
                false,
                &with_public,
                Status::Ok,
                "home network only",
            ),
            (
                true,
                "192.168.1.20:8080",
                false,
                &with_public,
                Status::Ok,
                "home network only",
            ),
            (
                true,
                "0.0.0.0:8080",
                false,
                &with_public,
                Status::Warn,
                "get 403",
            ),
            (
                true,
                "0.0.0.0:8080",
                true,
                &with_public,
                Status::Warn,
                "the internet can reach",
            ),
            (
                true,
                "192.0.2.2:8080",
                false,
                &home,
                Status::Warn,
                "192.0.2.2",
            ),
            (
                true,
                "not an address",
                false,
                &home,
                Status::Problem,
                "not an address",
            ),
        ];
        for (enabled, listen, allow_public, local, status, detail) in table {
            let mut c = Config::default();
            c.web.enabled = *enabled;
            c.web.listen = listen.to_string();
            c.web.allow_public = *allow_public;
            let check = web(&c, local);
            assert_eq!(check.status, *status, "{listen} {local:?}: {check:?}");
            assert!(check.detail.contains(detail), "{listen}: {check:?}");
        }
    }

    #[test]
    fn a_silent_microphone_is_a_problem() {
        let c = level(&vec![0.0; 48_000], Duration::from_secs(1));
        assert_eq!(c.status, Status::Problem);
        assert!(c.detail.starts_with("silent: peak -inf dBFS"), "{c:?}");
        assert!(c.fix.unwrap().contains("muted"));
        let hiss = tone(0.0005, 48_000);
        assert_eq!(level(&hiss, Duration::from_secs(1)).status, Status::Problem);
    }

    #[test]
    fn a_clipping_microphone_is_a_warning() {
        let loud: Vec<f32> = tone(3.0, 48_000)
            .iter()
            .map(|s| s.clamp(-1.0, 1.0))
            .collect();
        let c = level(&loud, Duration::from_secs(1));
        assert_eq!(c.status, Status::Warn);
        assert!(c.detail.starts_with("clipped"), "{c:?}");
    }

    #[test]
    fn speech_level_is_fine_and_measured() {
        let c = level(&tone(0.3, 48_000), Duration::from_secs(1));
        assert_eq!(c.status, Status::Ok, "{c:?}");
        // A sine of amplitude 0.3: peak -10.5 dBFS, RMS -13.5 dBFS.
        assert!(c.detail.contains("peak -10.5 dBFS"), "{c:?}");
        assert!(c.detail.contains("RMS -13.5 dBFS"), "{c:?}");
        let quiet = level(&tone(0.002, 48_000), Duration::from_secs(1));
        assert_eq!(quiet.status, Status::Warn, "{quiet:?}");
        assert!(quiet.detail.starts_with("very quiet"));
        let none = level(&[], Duration::from_secs(3));
        assert_eq!(none.status, Status::Problem);
    }

    #[test]
    fn errors_split_into_detail_and_fix() {
        let e = crate::gpio::GpioError::NotAPi;
        let c = Check::from_error("gpio", &e);
        assert_eq!(c.status, Status::Problem);
        assert_eq!(
            c.detail,
            "not a Raspberry Pi (the board could not be identified)"
        );
        assert_eq!(
            c.fix.as_deref(),
            Some("set gpio.backend = \"none\" in the config")
        );
    }

    #[test]
    fn a_busy_device_may_be_the_daemon() {
        let c = audio::busy_hint(Check::problem("audio output", "device busy", "close it"));
        assert!(c.fix.unwrap().contains("systemctl stop matcoach"));
        let c = audio::busy_hint(Check::problem(
            "audio output",
            "not found",
            "choose another",
        ));
        assert_eq!(c.fix.as_deref(), Some("choose another"));
    }

    #[test]
    fn gpio_none_is_skipped() {
        let c = gpio(&Config::default());
        assert_eq!(c.status, Status::Skipped);
    }

    #[test]
    fn gpio_off_a_pi_says_to_set_the_backend_to_none() {
        // This machine is no Raspberry Pi (and may lack the feature).
        let mut config = Config::default();
        config.gpio.backend = GpioBackend::Rppal;
        let c = gpio(&config);
        assert_eq!(c.status, Status::Problem, "{c:?}");
        let fix = c.fix.unwrap_or_default();
        assert!(
            fix.contains("gpio.backend = \"none\"") || fix.contains("gpio group"),
            "{fix}"
        );
    }

    #[test]
    fn a_sound_journal_passes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        let opened =
            crate::journal::JournalStore::open(&path, &crate::journal::OpenOptions::default())
                .unwrap();
        drop(opened);
        let c = journal(Ok(&path));
        assert_eq!(c.status, Status::Ok, "{c:?}");
        assert!(
            c.detail.ends_with("opens, integrity ok, 0 sessions"),
            "{c:?}"
        );
    }

    #[test]
    fn a_missing_model_names_setup_model() {
        let mut config = Config {
            language: Lang::Nl,
            ..Config::default()
        };
        config.voice.models_dir = Some(PathBuf::from("/nonexistent/models"));
        let c = model(&config);
        assert_eq!(c.status, Status::Problem);
        assert!(c
            .detail
            .contains("/nonexistent/models/vosk-model-small-nl-0.22"));
        assert!(c.fix.unwrap().contains("matcoach setup-model --lang nl"));
    }

    #[test]
    fn the_journal_directory_must_be_writable_and_the_file_sound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/journal.sqlite");
        let c = journal(Ok(&path));
        assert_eq!(c.status, Status::Ok, "{c:?}");
        assert!(c.detail.contains("not there yet"));
        let bad = dir.path().join("bad.sqlite");
        std::fs::write(&bad, vec![7u8; 8192]).unwrap();
        let c = journal(Ok(&bad));
        assert_eq!(c.status, Status::Problem, "{c:?}");
        assert!(c.detail.contains("damaged"), "{c:?}");
    }

    #[test]
    fn little_disk_space_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let places = [
            ("journal", dir.path().join("a")),
            ("speech cache", dir.path().join("b/c")),
        ];
        let ok = disk_space(&places, 1);
        assert_eq!(ok.len(), 1, "one disk: {ok:?}");
        assert_eq!(ok[0].status, Status::Ok);
        assert!(ok[0].detail.contains("journal") && ok[0].detail.contains("speech cache"));
        let low = disk_space(&places, u64::MAX);
        assert_eq!(low[0].status, Status::Warn);
        assert!(low[0].detail.contains("only"), "{low:?}");
    }

    #[test]
    fn the_page_warns_on_a_public_address() {
        let mut c = Config::default();
        let home: Vec<std::net::IpAddr> =
            vec!["127.0.0.1".parse().unwrap(), "192.168.1.5".parse().unwrap()];
        let mut public = home.clone();
        public.push("203.0.113.7".parse().unwrap());
        assert_eq!(web(&c, &home).status, Status::Ok);
        let w = web(&c, &public);
        assert_eq!(w.status, Status::Warn);
        assert!(w.detail.contains("203.0.113.7"), "{}", w.detail);
        c.web.listen = "203.0.113.7:8080".into();
        assert_eq!(web(&c, &home).status, Status::Warn);
        c.web.listen = "192.168.1.5:8080".into();
        assert_eq!(web(&c, &public).status, Status::Ok);
        c.web.enabled = false;
        assert_eq!(web(&c, &public).status, Status::Skipped);
    }

    #[test]
    fn the_summary_counts_problems_and_warnings() {
        let checks = vec![
            Check::ok("a", "fine"),
            Check::warn("b", "hmm", "do x"),
            Check::problem("c", "broken\nsecond line", "do y"),
        ];
        let text = render(&checks);
        assert!(text.contains("PROBLEM   c  broken\n"), "{text}");
        assert!(text.contains("second line\n"), "{text}");
        assert!(text.contains("fix: do y\n"), "{text}");
        assert!(text.ends_with("1 problem, 1 warning\n"), "{text}");
        assert!(has_problem(&checks));
        assert_eq!(to_json(&checks)["ok"], false);
        assert_eq!(to_json(&checks)["checks"][2]["status"], "problem");
    }
}
