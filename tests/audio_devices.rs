//! Bad device names give a clear error that lists what there is.
#![cfg(feature = "speaker-rodio")]
// Its own test binary: tests/alsa_playback.rs points HOME (and so ALSA's
// configuration) at a file PCM for its whole process.

mod common;

use matcoach::audio::AudioError;
use matcoach::speaker::output::RodioOutput;

#[test]
fn an_unknown_output_device_is_named_with_the_alternatives() {
    let (tx, _rx) = tokio::sync::mpsc::channel(4);
    match RodioOutput::open("no-such-speaker", 1.0, tx, None, std::time::Duration::ZERO) {
        Err(e @ AudioError::UnknownDevice { .. }) => {
            let text = e.to_string();
            assert!(text.contains("\"no-such-speaker\" not found"), "{text}");
            assert!(text.contains("available:"), "{text}");
            assert!(text.contains("fix: set audio.output_device"), "{text}");
        }
        Err(e) => panic!("expected UnknownDevice, got {e}"),
        Ok(_) => panic!("a device that does not exist was opened"),
    }
}
