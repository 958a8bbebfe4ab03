//! `render-session`: a whole session rendered with the real voice (espeak-ng)
//! into audio, sample-accurately. Timing is checked from the audio itself.

mod common;

use common::*;
use matcoach::audio::analysis;
use matcoach::content::Lang;
use matcoach::render::{render_session, sample_at, Rendered};
use matcoach::session::Action;
use matcoach::speech::Speech;
use std::time::Duration;

fn speech(cache: &std::path::Path) -> Speech {
    let cfg = matcoach::config::Speech {
        cache_dir: Some(cache.to_path_buf()),
        ..Default::default()
    };
    Speech::from_config(&cfg, &root()).unwrap()
}

fn render(program: &str, lang: Lang, spec: &str, cache: &std::path::Path) -> Rendered {
    let speech = speech(cache);
    let mut s = session(program, lang);
    let events = matcoach::sim::parse_spec(spec).unwrap();
    let mut clips = |line: &matcoach::session::Line| speech.clip(line, lang);
    render_session(&mut s, &events, 22_050, 1.0, &mut clips).unwrap()
}

fn said(r: &Rendered, id: &str) -> Vec<Duration> {
    r.records
        .iter()
        .filter_map(|x| match &x.action {
            Action::Speak { line, .. } if line.id.0 == id => Some(x.t),
            _ => None,
        })
        .collect()
}

/// The bridge's 10-second holds: the counts heard in the audio start
/// 1000 ms ± 5 ms apart.
#[test]
fn count_onsets_in_the_audio_are_one_second_apart() {
    let cache = tempfile::tempdir().unwrap();
    for lang in Lang::ALL {
        let r = render("hf_mobilise_then_stabilise", lang, "0s:press", cache.path());
        let holds = said(&r, "sys.hold");
        assert_eq!(holds.len(), 10);
        for &h in holds.iter().take(3) {
            // From just after "Hold." to just after the tenth count.
            let from = sample_at(h + Duration::from_millis(900), r.rate) as usize;
            let to = sample_at(h + Duration::from_millis(10_200), r.rate) as usize;
            let onsets = analysis::onsets(&r.samples[from..to], 0.01, (r.rate / 5) as usize);
            assert_eq!(
                onsets.len(),
                10,
                "{lang}: ten counts after {h:?}: {onsets:?}"
            );
            for pair in onsets.windows(2) {
                let ms = (pair[1] - pair[0]) as f64 * 1000.0 / f64::from(r.rate);
                assert!(
                    (ms - 1000.0).abs() <= 5.0,
                    "{lang}: counts {ms:.1} ms apart"
                );
            }
            // And the first count falls one second after the hold began,
            // give or take the clip's lead-in.
            let first = (from + onsets[0]) as f64 / f64::from(r.rate);
            let expected = (h + Duration::from_secs(1)).as_secs_f64();
            assert!(
                (first - expected).abs() < 0.05,
                "{lang}: {first} vs {expected}"
            );
        }
    }
}

/// Phrases never overlap: each speech segment in the audio is one phrase,
/// and a session with pain and stop renders as the sim says.
#[test]
fn a_session_with_pain_renders_the_safety_line_at_once() {
    let cache = tempfile::tempdir().unwrap();
    let plan = plan("hf_mobilise_then_stabilise", Lang::En);
    let pain = plan.first_said("sys.hold") + Duration::from_millis(3500);
    let spec = format!("0s:press,{}ms:heard=pain", pain.as_millis());
    let r = render("hf_mobilise_then_stabilise", Lang::En, &spec, cache.path());
    let safety = said(&r, "safety.pain_stops_exercise.lying");
    assert_eq!(safety, vec![pain]);
    // Sound starts within 30 ms of the word "pain" (the clip's lead-in).
    let at = sample_at(pain, r.rate) as usize;
    let window = &r.samples[at..at + r.rate as usize];
    let onset = analysis::onsets(window, 0.01, 100)[0];
    assert!(
        onset * 1000 / (r.rate as usize) < 30,
        "onset after {onset} samples"
    );
    // Before it, the count in progress was cut: silence right before "pain"
    // is not required, but after the safety lines the session ends normally.
    assert!(r.records.iter().any(|x| matches!(
        x.action,
        Action::End(matcoach::session::EndReason::Completed)
    )));
    // The file ends after the last words.
    let last = analysis::segments(&r.samples, 0.01, r.rate as usize / 5);
    let tail = r.samples.len() - last.last().unwrap().end;
    assert!(tail > r.rate as usize / 2, "silence after the goodbye");
}
