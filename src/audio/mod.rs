//! Sound: clips, the sample-accurate mixer, cue tones and WAV files. No
//! device here: playback through rodio/cpal on ALSA is `speaker::output`.

#[cfg(any(feature = "speaker-rodio", feature = "mic-cpal"))]
pub mod alsa_log;
pub mod analysis;
pub mod clip;
pub mod cues;
pub mod mixer;
pub mod resample;
pub mod wav;

pub use clip::Clip;

use std::path::PathBuf;

/// A problem with sound: a file, a device, or the stream. Each says what
/// failed, where, and the likely fix.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{}: cannot read: {source}{}", path.display(), crate::fix::Line(self))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a usable WAV file ({reason}){}", path.display(), crate::fix::Line(self))]
    BadWav { path: PathBuf, reason: String },
    #[error("{}: cannot write: {reason}{}", path.display(), crate::fix::Line(self))]
    Write { path: PathBuf, reason: String },
    #[error("no audio output device: {reason}{}", crate::fix::Line(self))]
    NoOutputDevice { reason: String },
    #[error(
        "audio output device \"{name}\" not found\n  available: {available}{}",
        crate::fix::Line(self)
    )]
    UnknownDevice { name: String, available: String },
    #[error(
        "audio output device \"{name}\" cannot be opened: {reason}{}",
        crate::fix::Line(self)
    )]
    OpenFailed {
        name: String,
        reason: String,
        fix: String,
    },
}

impl crate::fix::Fix for AudioError {
    fn fix(&self) -> Option<String> {
        match self {
            AudioError::Read { .. } => Some("check that the file exists and is readable".into()),
            AudioError::BadWav { .. } => Some("re-record or re-export it as a PCM WAV file (16-bit mono is best), or delete it to use the synthesised voice".into()),
            AudioError::Write { .. } => Some("check that the directory exists and that there is disk space".into()),
            AudioError::NoOutputDevice { .. } => Some("plug in a speaker or USB sound card, check `aplay -l`, and make sure the user is in the `audio` group (sudo adduser $USER audio); or write the session to a file with --out FILE".into()),
            AudioError::UnknownDevice { .. } => Some("set audio.output_device to one of these (see `matcoach devices`), or to \"default\"".into()),
            AudioError::OpenFailed { fix, .. } => Some(fix.clone()),
        }
    }
}
