//! The real speaker reopened, as `session_loop::keep_open` does after an unplug:
//! on an ALSA `null` PCM (no sound card here), the same handle plays
//! through the new stream, and the echo reference goes on.
#![cfg(feature = "speaker-rodio")]

mod common;

use common::wait_finished;
use matcoach::audio::Clip;
use matcoach::devices::ClipSink;
use matcoach::devices::Reopen;
use matcoach::session::{DeviceKind, Input, PlaybackId, Priority};
use matcoach::session_loop;
use matcoach::speaker::output::{OutputHandle, RodioOutput};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// ALSA's default device is its `null` PCM, for every test here (ALSA
/// reads ~/.asoundrc when first used, once per process).
fn null_pcm() {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".asoundrc"),
            "pcm.!default {\n  type null\n}\n",
        )
        .unwrap();
        std::env::set_var("HOME", dir.path());
        dir
    });
}

/// The real output on the null PCM, with its echo reference and its
/// inputs; standby after `standby` (zero: never).
fn open_null(
    standby: Duration,
) -> (
    RodioOutput,
    OutputHandle,
    rtrb::Consumer<f32>,
    mpsc::Sender<Input>,
    mpsc::Receiver<Input>,
) {
    null_pcm();
    let (ref_tx, ref_rx) = rtrb::RingBuffer::new(1 << 22);
    let (tx, rx) = mpsc::channel(64);
    let (output, handle) = RodioOutput::open("default", 1.0, tx.clone(), Some(ref_tx), standby)
        .expect("open the ALSA null PCM");
    (output, handle, ref_rx, tx, rx)
}

/// A 100 ms phrase, played now.
fn play_now(handle: &OutputHandle, id: u64) {
    let clip = Clip::new(22_050, vec![8_000; 2_205]);
    handle.play(PlaybackId(id), clip, Priority::Instruction, Instant::now());
}

/// Empty the reference ring; how many samples it held.
fn drain(reference: &mut rtrb::Consumer<f32>) -> usize {
    let n = reference.slots();
    reference.read_chunk(n).unwrap().commit_all();
    n
}

#[test]
fn a_reopened_output_plays_through_the_same_handle() {
    let (mut output, handle, mut ref_rx, _tx, mut rx) = open_null(Duration::ZERO);
    assert_eq!(output.kind(), DeviceKind::Speaker);
    assert!(!output.failed());
    play_now(&handle, 1);
    wait_finished(&mut rx, PlaybackId(1));
    assert!(ref_rx.slots() > 0, "the echo reference is fed");

    // As after an unplug: let go, open again.
    output.close();
    let what = output.reopen().expect("reopen the ALSA null PCM");
    assert!(what.contains("Hz"), "{what}");
    assert!(!output.failed());
    // Empty the reference ring (the null PCM may run faster than real
    // time), then look for new samples.
    drain(&mut ref_rx);
    play_now(&handle, 2);
    wait_finished(&mut rx, PlaybackId(2));
    assert!(
        ref_rx.slots() > 0,
        "the echo reference goes on after a reopen"
    );
}

/// Every input the output sends until `id` has finished (10 s at most).
fn inputs_until_finished(rx: &mut mpsc::Receiver<Input>, id: PlaybackId) -> Vec<Input> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while Instant::now() < deadline {
        match rx.try_recv() {
            Ok(i) => {
                got.push(i);
                if i == Input::PlaybackFinished(id) {
                    return got;
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    panic!("{id:?} never finished; got {got:?}");
}

#[test]
fn an_idle_output_stands_by_and_the_next_phrase_wakes_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (output, handle, mut ref_rx, tx, mut rx) = open_null(Duration::from_millis(300));
    let standby = output.standby().expect("the speaker has a standby");
    standby.allow(true, Instant::now());
    let log: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let lines = log.clone();
    let keeper = runtime.spawn(session_loop::keep_open(
        output,
        tx,
        session_loop::DEVICE_RETRY,
        move |m| lines.lock().unwrap().push(m.to_string()),
    ));
    play_now(&handle, 1);
    let first = inputs_until_finished(&mut rx, PlaybackId(1));
    assert_eq!(first, vec![Input::PlaybackFinished(PlaybackId(1))]);

    // 300 ms after the phrase, the stream is closed: nothing more is
    // rendered (the null PCM, faster than real time, would fill the
    // reference ring at once).
    let deadline = Instant::now() + Duration::from_secs(5);
    while !standby.asleep() {
        assert!(Instant::now() < deadline, "never went into standby");
        std::thread::sleep(Duration::from_millis(5));
    }
    drain(&mut ref_rx);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(drain(&mut ref_rx), 0, "a stream in standby renders nothing");

    // The next phrase wakes it, plays whole through the same handle, and
    // feeds the echo reference again.
    let asked = Instant::now();
    play_now(&handle, 2);
    let second = inputs_until_finished(&mut rx, PlaybackId(2));
    println!("woken and played a 100 ms phrase in {:?}", asked.elapsed());
    assert_eq!(
        second,
        vec![Input::PlaybackFinished(PlaybackId(2))],
        "no loss told"
    );
    // The keeper marks the device awake once its wake returns, which may
    // be after the null PCM, faster than real time, has played the phrase.
    let deadline = Instant::now() + Duration::from_secs(5);
    while standby.asleep() {
        assert!(Instant::now() < deadline, "never marked awake");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        drain(&mut ref_rx) >= 4_800,
        "the echo reference goes on after standby"
    );

    // A session starting forbids standby: it stays awake, however quiet.
    standby.allow(false, Instant::now());
    std::thread::sleep(Duration::from_millis(600));
    assert!(!standby.asleep(), "no standby while a session runs");
    assert!(drain(&mut ref_rx) > 0, "the stream plays on");
    keeper.abort();
    assert!(log.lock().unwrap().is_empty(), "{:?}", log.lock().unwrap());
}
