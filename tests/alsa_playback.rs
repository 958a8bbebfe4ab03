//! The real playback path — our mixer inside a rodio source, cpal, ALSA —
//! writing into an ALSA `file` PCM instead of a sound card. The file plugin
//! runs faster than real time, so the assertions are on samples: each clip
//! must appear in the file exactly as the mixer renders it, in order.
#![cfg(feature = "speaker-rodio")]

mod common;

use matcoach::audio::mixer::Mixer;
use matcoach::audio::{analysis, Clip};
use matcoach::devices::ClipSink;
use matcoach::session::{PlaybackId, Priority};
use matcoach::speaker::output::RodioOutput;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A clip with a distinct tone and length, so each is recognisable.
fn tone(freq: f32, ms: u32) -> Clip {
    let rate = 22_050;
    let n = (rate * ms / 1000) as usize;
    let samples = (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let edge = (i.min(n - 1 - i) as f32 / 100.0).min(1.0);
            ((2.0 * std::f32::consts::PI * freq * t).sin() * 0.5 * edge * 32767.0) as i16
        })
        .collect();
    Clip::new(rate, samples)
}

#[test]
fn clips_reach_alsa_in_order_and_intact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wav");
    std::fs::write(
        dir.path().join(".asoundrc"),
        format!(
            "pcm.!default {{\n  type file\n  slave.pcm \"null\"\n  file \"{}\"\n  format \"wav\"\n}}\n",
            out.display()
        ),
    )
    .unwrap();
    // ALSA reads ~/.asoundrc when first used; this test has its own process.
    std::env::set_var("HOME", dir.path());

    let clips = [tone(440.0, 300), tone(880.0, 150), tone(660.0, 450)];
    let (tx, mut rx) = mpsc::channel(64);
    let (output, handle) = RodioOutput::open("default", 1.0, tx, None, Duration::ZERO)
        .expect("open the ALSA file PCM");
    let rate = output.rate;
    // Like the session: the next phrase once the last has finished.
    for (i, clip) in clips.iter().enumerate() {
        let id = PlaybackId(i as u64 + 1);
        handle.play(id, clip.clone(), Priority::Instruction, Instant::now());
        common::wait_finished(&mut rx, id);
    }
    drop(output);

    // The data length in the header may be unfinished; read what is there.
    let (spec, interleaved) = common::wav::read_any(&out);
    assert_eq!(spec.sample_rate, rate);
    let channels = usize::from(spec.channels);
    let left: Vec<f32> = interleaved.chunks(channels).map(|f| f[0]).collect();
    let found = analysis::segments(&left, 0.002, (rate / 20) as usize);
    assert_eq!(found.len(), 3, "three clips, apart: {found:?}");
    for (clip, seg) in clips.iter().zip(&found) {
        // What the mixer makes of the clip, brought to the device's rate.
        let mut m = Mixer::new(rate, 1.0);
        let at_rate = matcoach::audio::resample::to_rate(clip, rate);
        m.speak(PlaybackId(1), at_rate, Priority::Instruction, 0);
        let (_, end) = m.current_finish().unwrap();
        let mut want = vec![0.0; end as usize];
        m.render(&mut want);
        let first = want.iter().position(|s| s.abs() > 0.002).unwrap();
        let got = &left[seg.start..];
        let want = &want[first..];
        let n = want.len().min(got.len());
        let worst = (0..n).map(|i| (got[i] - want[i]).abs()).fold(0.0, f32::max);
        assert!(
            worst < 2.0 / 32768.0 + 1e-6,
            "clip samples differ by up to {worst}"
        );
        let len = seg.end - seg.start;
        let want_len = want.iter().rposition(|s| s.abs() > 0.002).unwrap() + 1;
        assert!(len.abs_diff(want_len) <= 1, "length {len} vs {want_len}");
    }
}
