//! Personal calibration from the voice check's takes: per-word acceptance
//! thresholds and the speech level the VAD expects, for one user, microphone
//! and room, per language.
//!
//! The voice check (`matcoach voice-check`) records [`Take`]s; calibration
//! turns them into a [`Calibration`], which the journal keeps per language
//! and the pipeline's decider applies within safe limits.

use crate::command::Command;
use crate::content::Lang;
use crate::voice::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the user was asked to say in one take of the voice check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Asked {
    /// A command word (the first of `Command::words`): it should be heard.
    Command(Command),
    /// A sound-alike or an ordinary sentence: it must not be taken for a
    /// command.
    Other(String),
}

/// One take of the voice check: what was asked and what the microphone
/// heard, as the recogniser hears it (16 kHz mono, after echo
/// cancellation), so that calibration can run the recogniser and the
/// decider over it again with other settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Take {
    pub asked: Asked,
    pub pcm: Vec<i16>,
}

/// The settings calibration found for one user, microphone and room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub lang: Lang,
    pub engine: Engine,
    /// The lowest confidence accepted per command word, where it differs
    /// from the configured `voice.min_confidence`.
    pub min_confidence: BTreeMap<Command, f32>,
    /// The speech level the VAD should expect from this user (dBFS of the
    /// loud part of a command word), if the takes gave one.
    pub speech_level_dbfs: Option<f32>,
}
