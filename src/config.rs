//! `config/matcoach.toml`: parsed, validated, and unknown keys warned about.

use crate::content::Lang;
use crate::fix::{Fix, Invalid};
use crate::session::SessionConfig;
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A problem with the config file. Each says where and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the config: {source}{}", path.display(), crate::fix::Line(self))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(Invalid),
}

impl Fix for ConfigError {
    fn fix(&self) -> Option<String> {
        match self {
            ConfigError::Read { .. } => Some("check the path, or pass --config FILE (the commented example is config/matcoach.toml)".into()),
            ConfigError::Invalid(e) => e.fix(),
        }
    }
}

/// A path where "" (as in the example configs) or leaving it out means the
/// default place: None.
fn default_if_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let p = PathBuf::deserialize(d)?;
    Ok((!p.as_os_str().is_empty()).then_some(p))
}

/// The whole config. Every section has defaults, so an empty file is valid.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    /// The language the coach speaks: "en" or "nl".
    pub language: Lang,
    /// The program the button starts.
    pub program: String,
    /// Where the content (exercises, programs, phrases) lives.
    pub content_dir: PathBuf,
    pub timing: Timing,
    pub coach: Coach,
    pub speech: Speech,
    pub audio: Audio,
    pub voice: Voice,
    pub gpio: Gpio,
    pub journal: Journal,
    pub web: Web,
    pub log: Log,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            language: Lang::En,
            program: "morning_mobility".into(),
            content_dir: PathBuf::from("content"),
            timing: Timing::default(),
            coach: Coach::default(),
            speech: Speech::default(),
            audio: Audio::default(),
            voice: Voice::default(),
            gpio: Gpio::default(),
            journal: Journal::default(),
            web: Web::default(),
            log: Log::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct Timing {
    pub get_ready_secs: u32,
    pub gap_ms: u32,
    pub switch_sides_secs: u32,
    pub default_rest_secs: u32,
    pub default_up_secs: u32,
    pub default_down_secs: u32,
    pub count_every_second_up_to_secs: u32,
    pub long_press_ms: u32,
    pub echo_tail_ms: u32,
}

impl Default for Timing {
    fn default() -> Self {
        let s = SessionConfig::default();
        Timing {
            get_ready_secs: s.get_ready.as_secs() as u32,
            gap_ms: s.gap.as_millis() as u32,
            switch_sides_secs: s.switch_sides.as_secs() as u32,
            default_rest_secs: s.default_rest_secs,
            default_up_secs: s.default_up_secs,
            default_down_secs: s.default_down_secs,
            count_every_second_up_to_secs: s.count_every_second_up_to,
            long_press_ms: s.long_press.as_millis() as u32,
            echo_tail_ms: s.echo_tail.as_millis() as u32,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct Coach {
    /// Include exercises the brochures reserve for a strong, stable back.
    pub include_advanced: bool,
    /// How long a press of the button accepts the offer of the next McKenzie
    /// phase; 0 turns the spoken offer off.
    pub phase_offer_secs: u32,
    /// The day of a back operation, "YYYY-MM-DD" ("" = none). The BAOV
    /// back school (003) allows its exercises 4 and later from the third week
    /// after it; without a date the coach does not start them.
    pub surgery_date: String,
}

impl Default for Coach {
    fn default() -> Self {
        Coach {
            include_advanced: false,
            phase_offer_secs: SessionConfig::default().phase_offer.as_secs() as u32,
            surgery_date: String::new(),
        }
    }
}

crate::string_table::string_table! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum SpeechEngine ("speech engine") {
        /// espeak-ng, the Debian package (default).
        #[default]
        Espeak = "espeak",
        /// piper: a binary and a voice model per language.
        Piper = "piper",
    }
}

/// How the coach's voice is made.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct Speech {
    pub engine: SpeechEngine,
    /// espeak-ng voice for English and for Dutch (`espeak-ng --voices`).
    pub espeak_voice_en: String,
    pub espeak_voice_nl: String,
    /// Speaking rate in words per minute (espeak-ng); calm is 140 to 160.
    pub rate_wpm: u32,
    /// The piper program, and its voice model (.onnx) per language.
    pub piper_binary: PathBuf,
    #[serde(deserialize_with = "default_if_empty")]
    pub piper_model_en: Option<PathBuf>,
    #[serde(deserialize_with = "default_if_empty")]
    pub piper_model_nl: Option<PathBuf>,
    /// Recorded voice: clips in audio/voices/<name>/<lang>/<phrase-id>.wav
    /// replace the synthesised phrases they name ("" = none).
    pub recorded_voice: String,
    /// Where recorded voices live.
    pub voices_dir: PathBuf,
    /// The cue tones as WAV files (`start.wav`, `hold_end.wav`,
    /// `rest_end.wav`, `session_end.wav`); a missing one plays the built-in
    /// tone ("" = the built-in tones only).
    pub cues_dir: PathBuf,
    /// Where rendered phrases are cached ("" = the default place).
    #[serde(deserialize_with = "default_if_empty")]
    pub cache_dir: Option<PathBuf>,
}

impl Default for Speech {
    fn default() -> Self {
        Speech {
            engine: SpeechEngine::Espeak,
            espeak_voice_en: "en-gb".into(),
            espeak_voice_nl: "nl".into(),
            rate_wpm: 150,
            piper_binary: PathBuf::from("piper"),
            piper_model_en: None,
            piper_model_nl: None,
            recorded_voice: String::new(),
            voices_dir: PathBuf::from("audio/voices"),
            cues_dir: PathBuf::from("audio/cues"),
            cache_dir: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct Audio {
    /// Output device name ("default" = the system's default).
    pub output_device: String,
    /// 0.0 (silent) to 1.0 (full).
    pub volume: f32,
    /// Seconds with nothing to play, while no session runs, before the
    /// output is closed until the next sound (0: kept open).
    pub standby_secs: u32,
}

impl Default for Audio {
    fn default() -> Self {
        Audio {
            output_device: "default".into(),
            volume: 0.8,
            standby_secs: 10,
        }
    }
}

crate::string_table::string_table! {
    /// Which engine recognises speech (`[voice] engine`, `--engine`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum Engine ("engine") {
        #[default]
        Vosk = "vosk",
        Pocketsphinx = "pocketsphinx" | "sphinx",
    }
}

impl Engine {
    /// The other engine.
    pub fn other(self) -> Engine {
        match self {
            Engine::Vosk => Engine::Pocketsphinx,
            Engine::Pocketsphinx => Engine::Vosk,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct Voice {
    /// Listen for voice commands at all.
    pub enabled: bool,
    /// The recogniser: "vosk" (default) or "pocketsphinx" (English only).
    pub engine: Engine,
    /// Input device name ("default" = the system's default).
    pub input_device: String,
    /// Where `matcoach setup-model` puts models ("" = the default place).
    #[serde(deserialize_with = "default_if_empty")]
    pub models_dir: Option<PathBuf>,
    /// A specific model directory per language ("" = the one in models_dir).
    #[serde(deserialize_with = "default_if_empty")]
    pub model_en: Option<PathBuf>,
    #[serde(deserialize_with = "default_if_empty")]
    pub model_nl: Option<PathBuf>,
    /// Cancel the coach's own voice from the microphone signal.
    pub echo_cancellation: bool,
    /// Lowest word confidence accepted as a command (0 to 1).
    pub min_confidence: f32,
    // issue 16, item 3: evidence from the field.
    /// Keep the last seconds of microphone audio when the button does what
    /// a command word would have done, or a command is undone right after
    /// it fired (off by default: it is the user's voice).
    pub keep_misses: bool,
    /// Kept clips are deleted after this many days (1 to 365).
    pub keep_misses_days: u32,
    /// The kept clips take at most this many megabytes; the oldest go first.
    pub keep_misses_max_mb: u32,
}

impl Default for Voice {
    fn default() -> Self {
        Voice {
            enabled: true,
            engine: Engine::Vosk,
            input_device: "default".into(),
            models_dir: None,
            model_en: None,
            model_nl: None,
            echo_cancellation: true,
            min_confidence: 0.6,
            keep_misses: false,
            keep_misses_days: 14,
            keep_misses_max_mb: 50,
        }
    }
}

crate::string_table::string_table! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum GpioBackend ("GPIO backend") {
        #[default]
        None = "none",
        Rppal = "rppal",
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct Gpio {
    pub backend: GpioBackend,
    /// BCM pin of the push button (to ground; internal pull-up).
    pub button_pin: u8,
    /// BCM pin of the LED (through a resistor to ground).
    pub led_pin: u8,
    pub debounce_ms: u32,
}

impl Default for Gpio {
    fn default() -> Self {
        Gpio {
            backend: GpioBackend::None,
            button_pin: 17,
            led_pin: 27,
            debounce_ms: 30,
        }
    }
}

crate::string_table::string_table! {
    /// How much matcoach writes to its log (stderr; the system journal
    /// under systemd). Each level includes the ones above it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
    pub enum LogLevel ("log level") {
        /// Only what went wrong and stops something.
        Error = "error",
        /// Also what went wrong and was worked around.
        Warn = "warn" | "warning",
        /// Also what the coach does: started, heard, the LED (default).
        #[default]
        Info = "info",
        /// Also the details for a bug report.
        Debug = "debug",
    }
}

impl LogLevel {
    /// The `log` crate's filter for this level.
    pub fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
        }
    }
}

/// The `[log]` section: what the log shows when `RUST_LOG` does not say.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct Log {
    pub level: LogLevel,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct Journal {
    /// The journal database ("" = the default place:
    /// $XDG_DATA_HOME/matcoach/journal.sqlite or
    /// ~/.local/share/matcoach/journal.sqlite).
    #[serde(deserialize_with = "default_if_empty")]
    pub path: Option<PathBuf>,
    /// An exercise that hurt is left out (or replaced by its easier variant)
    /// until this many sessions without pain have passed (at least 1).
    pub pain_free_sessions: u32,
    /// With `program = "auto"`: the mobility programs taken in turn on the
    /// days without strength work.
    pub rotation: Vec<String>,
    /// With `program = "auto"`: the strength program (with its warm-up), on
    /// up to `strength_days_per_week` days, never two days running ("" =
    /// none).
    pub strength_program: String,
    pub strength_days_per_week: u32,
    /// `matcoach history`: a week counts in the streak when you practised on
    /// at least this many days (1 to 7).
    pub weekly_goal_days: u32,
    /// McKenzie (003): the acute phase's next phase is offered once this
    /// many days of it have passed ("a day or two after starting").
    pub acute_days: u32,
    /// McKenzie (003): the improving phase's next step is offered after
    /// this many days in it without any pain reported ("about two weeks
    /// pain-free") ...
    pub pain_free_days: u32,
    /// ... or after this many days in it when only pain that stayed central
    /// was reported in the last `pain_free_days` days (a plateau: "after two
    /// to three weeks only a little pain in the middle of the low back").
    pub plateau_days: u32,
    /// McKenzie (003): in the stiff phase the coach asks, once a day from
    /// this many days in it on, whether the knees come easily to the chest.
    pub stiff_days: u32,
}

impl Default for Journal {
    fn default() -> Self {
        Journal {
            path: None,
            pain_free_sessions: 3,
            rotation: vec![
                "morning_mobility".into(),
                "sr_warmup".into(),
                "th_mobility_and_stretching".into(),
                "th_posture_awareness".into(),
            ],
            strength_program: "sr_warmup_and_strength".into(),
            strength_days_per_week: 3,
            weekly_goal_days: 3,
            acute_days: 2,
            pain_free_days: 14,
            plateau_days: 21,
            stiff_days: 2,
        }
    }
}

/// The companion page (issue 17, docs/web.md).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct Web {
    /// `matcoach run` serves the page.
    pub enabled: bool,
    /// Address and port it listens on. The default listens on every
    /// address of the Pi, and [`Web::allow_public`] keeps anyone but the
    /// home network out.
    pub listen: String,
    /// Answer clients from public (internet) addresses too. Off: only
    /// private, link-local and loopback addresses (the home network) get
    /// an answer; the rest get 403.
    pub allow_public: bool,
}

impl Default for Web {
    fn default() -> Self {
        Web {
            enabled: true,
            listen: "0.0.0.0:8080".into(),
            allow_public: false,
        }
    }
}

impl Web {
    /// The listening address (validated at load).
    pub fn addr(&self) -> Option<std::net::SocketAddr> {
        self.listen.trim().parse().ok()
    }
}

impl Config {
    /// The configured surgery date (validated at load; `None` when unset).
    pub fn surgery_date(&self) -> Option<crate::date::Date> {
        crate::date::Date::parse(self.coach.surgery_date.trim()).ok()
    }

    /// The session settings this config asks for.
    pub fn session(&self) -> SessionConfig {
        let t = &self.timing;
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        let s = |v: u32| Duration::from_secs(u64::from(v));
        SessionConfig {
            get_ready: s(t.get_ready_secs),
            gap: ms(t.gap_ms),
            switch_sides: s(t.switch_sides_secs),
            default_rest_secs: t.default_rest_secs,
            default_up_secs: t.default_up_secs,
            default_down_secs: t.default_down_secs,
            count_every_second_up_to: t.count_every_second_up_to_secs,
            long_press: ms(t.long_press_ms),
            echo_tail: ms(t.echo_tail_ms),
            include_advanced: self.coach.include_advanced,
            phase_offer: s(self.coach.phase_offer_secs),
        }
    }

    /// Parse `text` (from `path`, for messages). Returns the config and a
    /// warning for each unknown key.
    pub fn parse(path: &Path, text: &str) -> Result<(Config, Vec<String>), ConfigError> {
        let invalid = |offset: usize, message: String, fix: String| {
            ConfigError::Invalid(Invalid::at(path, text, offset, message, fix))
        };
        let de = toml::Deserializer::parse(text).map_err(|e| {
            invalid(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_string(),
                "fix the TOML syntax here (see the commented example config/matcoach.toml)".into(),
            )
        })?;
        let mut unknown = Vec::new();
        let config: Config = serde_ignored::deserialize(de, |p| unknown.push(p.to_string()))
            .map_err(|e| {
                let msg = e.message().trim().to_string();
                let fix = if msg.contains("unknown variant") {
                    "use one of the values the message lists".to_string()
                } else {
                    "give the value the type the message asks for (see config/matcoach.toml)"
                        .to_string()
                };
                invalid(e.span().map_or(0, |s| s.start), msg, fix)
            })?;
        let warnings = unknown
            .into_iter()
            .map(|key| {
                let offset = find_key(text, &key).unwrap_or(0);
                let before = text.get(..offset).unwrap_or("");
                let line = before.matches('\n').count() + 1;
                format!(
                    "{}:{line}: warning: unknown key `{key}` is ignored; check its spelling against config/matcoach.toml",
                    path.display()
                )
            })
            .collect();
        config.validate(&|keys: &str, message: String, fix: String| {
            // `keys` may name several places, best first: `gpio.led_pin|gpio.button_pin`.
            let offset = keys.split('|').find_map(|k| find_key(text, k)).unwrap_or(0);
            invalid(offset, message, fix)
        })?;
        Ok((config, warnings))
    }

    /// Read and parse a config file.
    pub fn load(path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(path, &text)
    }

    fn validate(
        &self,
        err: &dyn Fn(&str, String, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let t = &self.timing;
        let positive = [
            ("timing.get_ready_secs", t.get_ready_secs),
            ("timing.default_rest_secs", t.default_rest_secs),
            ("timing.default_up_secs", t.default_up_secs),
            ("timing.default_down_secs", t.default_down_secs),
            ("timing.long_press_ms", t.long_press_ms),
        ];
        for (key, v) in positive {
            if v == 0 {
                return Err(err(
                    key,
                    format!("`{key}` is 0"),
                    "use a whole number above zero".into(),
                ));
            }
        }
        if t.long_press_ms < 500 {
            return Err(err(
                "timing.long_press_ms",
                format!(
                    "`timing.long_press_ms` = {} is too short to tell from a normal press",
                    t.long_press_ms
                ),
                "use at least 500 (the default is 2000: two seconds)".into(),
            ));
        }
        if !(80..=400).contains(&self.speech.rate_wpm) {
            return Err(err(
                "speech.rate_wpm",
                format!(
                    "`speech.rate_wpm` = {} is outside 80 to 400",
                    self.speech.rate_wpm
                ),
                "use a speaking rate from 80 to 400 words per minute (calm is about 150)".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.voice.min_confidence) || self.voice.min_confidence.is_nan() {
            return Err(err(
                "voice.min_confidence",
                format!(
                    "`voice.min_confidence` = {} is outside 0.0 to 1.0",
                    self.voice.min_confidence
                ),
                "use a value from 0.0 to 1.0 (the default is 0.6)".into(),
            ));
        }
        if self.program.trim().is_empty() {
            return Err(err(
                "program",
                "`program` is empty".into(),
                "name a program (see `matcoach programs`)".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.audio.volume) || self.audio.volume.is_nan() {
            return Err(err(
                "audio.volume",
                format!(
                    "`audio.volume` = {} is outside 0.0 to 1.0",
                    self.audio.volume
                ),
                "use a value from 0.0 (silent) to 1.0 (full)".into(),
            ));
        }
        if self.audio.standby_secs > 3600 {
            return Err(err(
                "audio.standby_secs",
                format!(
                    "`audio.standby_secs` = {} is more than an hour",
                    self.audio.standby_secs
                ),
                "use 0 to keep the speaker open, or up to 3600 seconds (the default is 10)".into(),
            ));
        }
        for (key, pin) in [
            ("gpio.button_pin", self.gpio.button_pin),
            ("gpio.led_pin", self.gpio.led_pin),
        ] {
            if pin > 27 {
                return Err(err(
                    key,
                    format!("`{key}` = {pin} is not a GPIO pin of the 40-pin header"),
                    "use a BCM number from 0 to 27 (the defaults are 17 for the button, 27 for the LED)".into(),
                ));
            }
        }
        if !self.coach.surgery_date.trim().is_empty() {
            if let Err(e) = crate::date::Date::parse(self.coach.surgery_date.trim()) {
                return Err(err(
                    "coach.surgery_date",
                    format!(
                        "`coach.surgery_date` = \"{}\" is not a date ({e})",
                        self.coach.surgery_date
                    ),
                    "write the day of the operation as \"YYYY-MM-DD\", e.g. \"2025-03-01\", or \"\" for none".into(),
                ));
            }
        }
        let j = &self.journal;
        for (key, v) in [
            ("journal.acute_days", j.acute_days),
            ("journal.pain_free_days", j.pain_free_days),
            ("journal.plateau_days", j.plateau_days),
            ("journal.stiff_days", j.stiff_days),
        ] {
            if v == 0 || v > 365 {
                return Err(err(
                    key,
                    format!("`{key}` = {v} is outside 1 to 365"),
                    "give a number of days from 1 to 365 (the defaults follow 003: acute_days 2, pain_free_days 14, plateau_days 21, stiff_days 2)".into(),
                ));
            }
        }
        if j.plateau_days < j.pain_free_days {
            return Err(err(
                "journal.plateau_days",
                format!(
                    "`journal.plateau_days` = {} is shorter than `journal.pain_free_days` = {}",
                    j.plateau_days, j.pain_free_days
                ),
                "the plateau (only central pain left) is the longer wait: make plateau_days at least pain_free_days (003: two weeks pain-free, or a plateau after two to three weeks)".into(),
            ));
        }
        // issue 16, item 3: the kept clips' folder.
        if !(1..=365).contains(&self.voice.keep_misses_days) {
            return Err(err(
                "voice.keep_misses_days",
                format!(
                    "`voice.keep_misses_days` = {} is outside 1 to 365",
                    self.voice.keep_misses_days
                ),
                "give the number of days kept clips stay, from 1 to 365 (the default is 14)".into(),
            ));
        }
        if !(1..=10_000).contains(&self.voice.keep_misses_max_mb) {
            return Err(err(
                "voice.keep_misses_max_mb",
                format!(
                    "`voice.keep_misses_max_mb` = {} is outside 1 to 10000",
                    self.voice.keep_misses_max_mb
                ),
                "give the most megabytes the kept clips may take, from 1 to 10000 (the default is 50: some 50 to 75 clips)".into(),
            ));
        }
        if self.web.addr().is_none() {
            return Err(err(
                "web.listen",
                format!(
                    "`web.listen` = \"{}\" is not an address and port",
                    self.web.listen
                ),
                "write it as \"ADDRESS:PORT\", e.g. \"0.0.0.0:8080\" (every address; only the home network is answered) or \"192.168.1.20:8080\"".into(),
            ));
        }
        if self.gpio.button_pin == self.gpio.led_pin {
            return Err(err(
                "gpio.led_pin|gpio.button_pin",
                format!("the button and the LED both use GPIO {}", self.gpio.led_pin),
                "give the LED its own pin".into(),
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// issue 17: the settings layer the companion page writes
// ---------------------------------------------------------------------------

/// The keys the settings layer may hold: what the companion page sets.
pub const LAYER_KEYS: &[&str] = &[
    "language",
    "program",
    "coach.include_advanced",
    "coach.surgery_date",
    "speech.engine",
    "speech.recorded_voice",
    "audio.volume",
];

/// The settings layer beside the journal: `settings.toml` in the journal's
/// directory. The service's config (/etc/matcoach) is read-only under its
/// hardening (ProtectSystem=strict), the state directory is not; what the
/// page changes is written here and read on top of the config.
pub fn layer_path(journal: &Path) -> PathBuf {
    journal
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("settings.toml")
}

impl Config {
    /// Apply the settings layer at `path` on top of this config (no file:
    /// nothing to do). Its values are validated as the config's are, and
    /// errors name the layer's file, line and key. Returns a warning per
    /// key the layer may not set.
    pub fn apply_layer(&mut self, path: &Path) -> Result<Vec<String>, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => self.apply_layer_text(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// [`Config::apply_layer`] on the layer's text.
    pub fn apply_layer_text(
        &mut self,
        path: &Path,
        text: &str,
    ) -> Result<Vec<String>, ConfigError> {
        let (layer, mut warnings) = Config::parse(path, text)?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError::Invalid(Invalid {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: e.message().trim().to_string(),
                fix: "fix the TOML syntax, or delete the file to go back to the config's values"
                    .into(),
            })
        })?;
        let mut merged = self.clone();
        for (key, value) in &table {
            let keys: Vec<String> = match value.as_table() {
                Some(section) => section.keys().map(|k| format!("{key}.{k}")).collect(),
                None => vec![key.clone()],
            };
            for k in keys {
                match k.as_str() {
                    "language" => merged.language = layer.language,
                    "program" => merged.program = layer.program.clone(),
                    "coach.include_advanced" => {
                        merged.coach.include_advanced = layer.coach.include_advanced
                    }
                    "coach.surgery_date" => {
                        merged.coach.surgery_date = layer.coach.surgery_date.clone()
                    }
                    "speech.engine" => merged.speech.engine = layer.speech.engine,
                    "speech.recorded_voice" => {
                        merged.speech.recorded_voice = layer.speech.recorded_voice.clone()
                    }
                    "audio.volume" => merged.audio.volume = layer.audio.volume,
                    _ => warnings.push(format!(
                        "{}: warning: `{k}` is ignored here: this file holds only the companion page's settings ({}); set it in the config",
                        path.display(),
                        LAYER_KEYS.join(", ")
                    )),
                }
            }
        }
        merged.validate(&|keys: &str, message: String, fix: String| {
            let offset = keys.split('|').find_map(|k| find_key(text, k)).unwrap_or(0);
            ConfigError::Invalid(Invalid {
                column: 1,
                ..Invalid::at(path, text, offset, message, fix)
            })
        })?;
        *self = merged;
        Ok(warnings)
    }
}

/// Byte offset of a dotted key path in the TOML text: `timing.foo` is the
/// line `foo = …` inside `[timing]`; a section path is its `[header]`; a
/// top-level key is looked for before the first header.
fn find_key(text: &str, path: &str) -> Option<usize> {
    let (section, key) = match path.rsplit_once('.') {
        Some((s, k)) => (s, k),
        None => ("", path),
    };
    let mut offset = 0;
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let at = offset + (line.len() - trimmed.len());
        offset += line.len();
        if let Some(header) = trimmed.strip_prefix('[') {
            let name = header.split(']').next().unwrap_or("").trim().to_string();
            // `[timings]` itself, when the unknown key is a whole section.
            if name == path {
                return Some(at);
            }
            current = name;
            continue;
        }
        if current != section {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix(key) {
            if rest.trim_start().starts_with('=') {
                return Some(at);
            }
        }
    }
    None
}

/// Where `run` and the other commands look for the config when there is no
/// `--config`, in order.
pub const CONFIG_PLACES: [&str; 2] = ["/etc/matcoach/config.toml", "config/matcoach.toml"];

/// The config file to use: `explicit` (`--config`), else the first of
/// [`CONFIG_PLACES`] that exists, else none (built-in defaults).
pub fn find_config(explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => CONFIG_PLACES.iter().map(PathBuf::from).find(|p| p.exists()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_all_defaults() {
        let (c, w) = Config::parse(Path::new("x.toml"), "").unwrap();
        assert_eq!(c, Config::default());
        assert!(w.is_empty());
    }

    #[test]
    fn the_layer_sets_only_the_page_keys_and_names_bad_fields() {
        let mut c = Config::default();
        let w = c
            .apply_layer_text(
                Path::new("settings.toml"),
                "# mine\nlanguage = \"nl\"\n[audio]\nvolume = 0.5\n[timing]\ngap_ms = 1\n",
            )
            .unwrap();
        assert_eq!(c.language, Lang::Nl);
        assert_eq!(c.audio.volume, 0.5);
        assert_eq!(c.timing, Timing::default());
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("timing.gap_ms"), "{w:?}");
        let before = c.clone();
        let e = c
            .apply_layer_text(Path::new("settings.toml"), "[audio]\nvolume = 3.0\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("settings.toml:2") && e.contains("audio.volume"),
            "{e}"
        );
        assert_eq!(c, before, "a bad layer changes nothing");
    }

    #[test]
    fn finds_keys_in_their_own_section() {
        let text = "# volume = 3\nenabled = 1\n[audio]\n  volume = 2\n[voice]\nenabled = true\n[journal]\nenabled = x\n";
        let at = |needle: &str| text.find(needle);
        assert_eq!(
            find_key(text, "audio.volume"),
            at("  volume").map(|o| o + 2)
        );
        assert_eq!(find_key(text, "journal.enabled"), at("enabled = x"));
        assert_eq!(find_key(text, "enabled"), at("enabled = 1"));
        assert_eq!(find_key(text, "voice"), at("[voice]"));
        assert_eq!(find_key(text, "audio.nope"), None);
    }
}
