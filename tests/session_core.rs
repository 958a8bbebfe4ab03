//! The state machine driven directly, input by input, where the simulator
//! would hide the detail: playback ids, fallback deadlines, button timing.

mod common;

use common::*;
use matcoach::content::Lang;
use matcoach::session::{Action, EndReason, Input, JournalEvent, Led, PlaybackId, Session};
use matcoach::Command;
use std::time::{Duration, Instant};

fn speaks(actions: &[Action]) -> Vec<(PlaybackId, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Speak { id, line, .. } => Some((*id, line.id.0.clone())),
            _ => None,
        })
        .collect()
}

fn start(s: &mut Session, t0: Instant) -> Vec<Action> {
    assert!(s.handle(t0, Input::ButtonPressed).is_empty());
    s.handle(t0 + Duration::from_millis(100), Input::ButtonReleased)
}

#[test]
fn a_late_finished_from_an_old_clip_is_ignored() {
    let mut s = session("quick", Lang::En);
    let t0 = Instant::now();
    let a = start(&mut s, t0);
    assert!(a.contains(&Action::SetLed(Led::Running)));
    let welcome = speaks(&a);
    assert_eq!(welcome.len(), 1);
    assert!(welcome[0].1.starts_with("sys.welcome."));
    let old = welcome[0].0;

    // "next" during the welcome skips to the first exercise.
    let t1 = t0 + Duration::from_secs(1);
    let a = s.handle(t1, Input::Heard(Command::Next));
    assert!(a.contains(&Action::StopSpeech));
    let new = speaks(&a);
    assert_eq!(new[0].1, "sys.exercise_of.1.3");

    // The welcome clip's "finished" arrives late: nothing happens.
    let deadline = s.next_deadline();
    assert!(s
        .handle(t1 + Duration::from_millis(10), Input::PlaybackFinished(old))
        .is_empty());
    assert_eq!(
        s.next_deadline(),
        deadline,
        "the session still waits for the new phrase"
    );

    // The new phrase's "finished" moves on: a gap, then the exercise name.
    let t2 = t1 + Duration::from_secs(2);
    assert!(s.handle(t2, Input::PlaybackFinished(new[0].0)).is_empty());
    let gap_end = s.next_deadline().unwrap();
    assert_eq!(gap_end, t2 + Duration::from_millis(700));
    let a = s.handle(gap_end, Input::DeadlineReached);
    assert_eq!(speaks(&a)[0].1, "ex.th_knees_to_chest.name");
}

#[test]
fn a_speaker_that_never_reports_does_not_hang_the_session() {
    let mut s = session("quick", Lang::En);
    let t0 = Instant::now();
    start(&mut s, t0);
    let mut said = Vec::new();
    // Never deliver PlaybackFinished: only deadlines.
    for _ in 0..5000 {
        let Some(now) = s.next_deadline() else {
            break;
        };
        for a in s.handle(now, Input::DeadlineReached) {
            match a {
                Action::Speak { line, .. } => said.push(line.id.0),
                Action::End(r) => {
                    assert_eq!(r, EndReason::Completed);
                    assert!(said.iter().any(|p| p == "ex.hf_cat_back.movement"));
                    assert!(
                        now - t0 < Duration::from_secs(3600),
                        "fallbacks are bounded"
                    );
                    return;
                }
                _ => {}
            }
        }
    }
    panic!("the session never ended; said {said:?}");
}

#[test]
fn a_deadline_before_its_time_does_nothing() {
    let mut s = session("quick", Lang::En);
    let t0 = Instant::now();
    start(&mut s, t0);
    let d = s.next_deadline().unwrap();
    assert!(s
        .handle(d - Duration::from_millis(1), Input::DeadlineReached)
        .is_empty());
    assert_eq!(s.next_deadline(), Some(d));
}

#[test]
fn a_press_shorter_than_the_long_press_is_a_short_press_on_release() {
    // Table: how long the button is held → what happens.
    let cases: &[(u64, Option<Led>, bool)] = &[
        (50, Some(Led::Paused), false),
        (1900, Some(Led::Paused), false),
        (2000, None, true),
        (5000, None, true),
    ];
    for &(held_ms, led, ends) in cases {
        let mut s = session("quick", Lang::En);
        let t0 = Instant::now();
        start(&mut s, t0);
        let t1 = t0 + Duration::from_secs(3);
        let mut actions = s.handle(t1, Input::ButtonPressed);
        // Deliver every deadline while the button is held.
        let up = t1 + Duration::from_millis(held_ms);
        while let Some(d) = s.next_deadline() {
            if d > up {
                break;
            }
            actions.extend(s.handle(d, Input::DeadlineReached));
        }
        actions.extend(s.handle(up, Input::ButtonReleased));
        let leds: Vec<_> = actions
            .iter()
            .filter_map(|a| match a {
                Action::SetLed(l) => Some(*l),
                _ => None,
            })
            .collect();
        let ended = speaks(&actions)
            .iter()
            .any(|(_, p)| p == "sys.ending_by_user");
        assert_eq!(ended, ends, "held {held_ms} ms");
        if let Some(l) = led {
            assert_eq!(leds, vec![l], "held {held_ms} ms");
        }
        if ends {
            let i = actions
                .iter()
                .position(|a| matches!(a, Action::Speak { line, .. } if line.id.0 == "sys.ending_by_user"))
                .unwrap();
            assert!(
                actions[..i].contains(&Action::StopSpeech),
                "cut off before the goodbye"
            );
        }
    }
}

#[test]
fn the_long_press_fires_while_the_button_is_still_held() {
    let mut s = session("quick", Lang::En);
    let t0 = Instant::now();
    start(&mut s, t0);
    let t1 = t0 + Duration::from_secs(3);
    s.handle(t1, Input::ButtonPressed);
    assert_eq!(s.next_deadline(), Some(t1 + Duration::from_secs(2)));
    let a = s.handle(t1 + Duration::from_secs(2), Input::DeadlineReached);
    assert!(speaks(&a).iter().any(|(_, p)| p == "sys.ending_by_user"));
    // Releasing afterwards is not also a short press.
    let a = s.handle(t1 + Duration::from_secs(4), Input::ButtonReleased);
    assert!(a.is_empty(), "{a:?}");
}

#[test]
fn pain_while_paused_is_recorded_and_moves_on() {
    let mut s = session("quick", Lang::En);
    let t0 = Instant::now();
    start(&mut s, t0);
    let t1 = t0 + Duration::from_secs(2);
    let a = s.handle(t1, Input::Heard(Command::Pause));
    assert!(a.contains(&Action::SetLed(Led::Paused)));
    assert!(s.is_paused());
    let t2 = t1 + Duration::from_secs(10);
    let a = s.handle(t2, Input::Heard(Command::Pain));
    assert!(a.contains(&Action::StopSpeech));
    assert!(a.contains(&Action::SetLed(Led::Running)));
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::Journal(JournalEvent::Pain { .. }))));
    assert_eq!(s.pain_events(), 1);
    assert!(!s.is_paused());
}

#[test]
fn commands_are_ignored_while_the_coach_says_them_and_for_the_echo_tail() {
    let mut s = session("hf_mobilise_then_stabilise", Lang::En);
    let t0 = Instant::now();
    start(&mut s, t0);
    let mut now;
    // Run until the coach says the get-ready line (it teaches "say next").
    let id = loop {
        now = s.next_deadline().unwrap();
        let a = s.handle(now, Input::DeadlineReached);
        if let Some((id, _)) = speaks(&a).into_iter().find(|(_, p)| p == "sys.get_ready") {
            break id;
        }
        // Finish every phrase immediately.
        for (id, _) in speaks(&a) {
            s.handle(now, Input::PlaybackFinished(id));
        }
    };
    let ignored = |a: &[Action]| {
        a.iter()
            .any(|x| matches!(x, Action::Journal(JournalEvent::CommandIgnored { .. })))
    };
    let a = s.handle(now + Duration::from_secs(1), Input::Heard(Command::Next));
    assert!(ignored(&a), "while saying it");
    let done = now + Duration::from_secs(5);
    s.handle(done, Input::PlaybackFinished(id));
    let a = s.handle(
        done + Duration::from_millis(300),
        Input::Heard(Command::Next),
    );
    assert!(ignored(&a), "within the echo tail");
    let a = s.handle(
        done + Duration::from_millis(600),
        Input::Heard(Command::Next),
    );
    assert!(!ignored(&a), "after the echo tail");
    assert!(speaks(&a)
        .iter()
        .any(|(_, p)| p == "ex.hf_cat_back.movement"));
    // Other commands are never blocked by a phrase without their word.
    let a = s.handle(
        done + Duration::from_millis(700),
        Input::Heard(Command::Pain),
    );
    assert!(!ignored(&a));
}

#[test]
fn after_the_end_everything_is_ignored() {
    let mut s = session("quick", Lang::En);
    let run = sim_to_end(&mut s);
    assert_eq!(run, EndReason::Completed);
    assert!(s.is_finished());
    let t = Instant::now() + Duration::from_secs(7200);
    for input in [
        Input::ButtonPressed,
        Input::ButtonReleased,
        Input::Heard(Command::Pain),
        Input::DeadlineReached,
    ] {
        assert!(s.handle(t, input).is_empty(), "{input:?}");
    }
    assert_eq!(s.next_deadline(), None);
}

fn sim_to_end(s: &mut Session) -> EndReason {
    let records = matcoach::sim::run(s, &[press_at(Duration::ZERO)], LIMIT);
    records
        .iter()
        .find_map(|r| match r.action {
            Action::End(e) => Some(e),
            _ => None,
        })
        .unwrap()
}

#[test]
fn a_lost_device_shows_on_the_led_until_it_is_back() {
    use matcoach::session::DeviceKind;
    let mut s = session("quick", Lang::En);
    let t0 = Instant::now();
    start(&mut s, t0);
    let t = t0 + Duration::from_secs(1);
    let lost = s.handle(t, Input::DeviceLost(DeviceKind::Microphone));
    assert!(lost.contains(&Action::SetLed(Led::Error)));
    assert!(lost
        .iter()
        .any(|a| matches!(a, Action::Journal(JournalEvent::DeviceLost { .. }))));
    // Reported again while still lost: nothing new.
    assert!(s
        .handle(t, Input::DeviceLost(DeviceKind::Microphone))
        .is_empty());
    // The session goes on with the button meanwhile.
    s.handle(t, Input::ButtonPressed);
    let paused = s.handle(t + Duration::from_millis(100), Input::ButtonReleased);
    assert!(paused.contains(&Action::SetLed(Led::Paused)));
    let back = s.handle(
        t + Duration::from_secs(4),
        Input::DeviceBack(DeviceKind::Microphone),
    );
    assert!(back.contains(&Action::SetLed(Led::Paused)), "{back:?}");
}
