//! The real speaker reopened, as `session_loop::keep_open` does after an unplug:
//! on an ALSA `null` PCM (no sound card here), the same handle plays
//! through the new stream, and the echo reference goes on.
#![cfg(feature = "speaker-rodio")]

mod common;

use common::wait_finished;
use matcoach::audio::Clip;
use matcoach::devices::ClipSink;
use matcoach::devices::Reopen;
use matcoach::session::{DeviceKind, PlaybackId, Priority};
use matcoach::speaker::output::RodioOutput;
use std::time::Instant;
use tokio::sync::mpsc;

#[test]
fn a_reopened_output_plays_through_the_same_handle() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".asoundrc"),
        "pcm.!default {\n  type null\n}\n",
    )
    .unwrap();
    // ALSA reads ~/.asoundrc when first used; this test has its own process.
    std::env::set_var("HOME", dir.path());

    let (ref_tx, mut ref_rx) = rtrb::RingBuffer::new(1 << 20);
    let (tx, mut rx) = mpsc::channel(64);
    let (mut output, handle) =
        RodioOutput::open("default", 1.0, tx, Some(ref_tx)).expect("open the ALSA null PCM");
    assert_eq!(output.kind(), DeviceKind::Speaker);
    assert!(!output.failed());
    let clip = Clip::new(22_050, vec![8_000; 2_205]);
    handle.play(
        PlaybackId(1),
        clip.clone(),
        Priority::Instruction,
        Instant::now(),
    );
    wait_finished(&mut rx, PlaybackId(1));
    assert!(ref_rx.slots() > 0, "the echo reference is fed");

    // As after an unplug: let go, open again.
    output.close();
    let what = output.reopen().expect("reopen the ALSA null PCM");
    assert!(what.contains("Hz"), "{what}");
    assert!(!output.failed());
    // Empty the reference ring (the null PCM may run faster than real
    // time), then look for new samples.
    let n = ref_rx.slots();
    ref_rx.read_chunk(n).unwrap().commit_all();
    handle.play(PlaybackId(2), clip, Priority::Instruction, Instant::now());
    wait_finished(&mut rx, PlaybackId(2));
    assert!(
        ref_rx.slots() > 0,
        "the echo reference goes on after a reopen"
    );
}
