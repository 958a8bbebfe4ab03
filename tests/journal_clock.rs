//! Issue 15, item 3: a Raspberry Pi without a clock. The verdict on the
//! clock (trusted, implausible, backwards, stood still across boots,
//! jumped in one boot), and the day-based rules on a clock that cannot be
//! trusted: the daily maximum neither skipped on a stuck clock nor doubled
//! on "tomorrow twice", rests counted by the session sequence whatever the
//! wall clock said, the phase clock counting sessions, the surgery gate
//! never sent back to 1970. In virtual time: histories built on a timeline
//! of boots (tests/common/clock.rs), and a real journal for the sequence.

mod common;
use common::journal_support;

use common::clock::{at, Boots};
use common::journal_days::{
    default_plan, open_store, pain_spec, plain_day, scratch, scratch_store, sim_day,
};
use journal_support::{date, run_today};
use matcoach::adapt::{self, Rules};
use matcoach::clock::{self, Calendar};
use matcoach::content::Phase;
use matcoach::date::{ClockReading, Sync};
use matcoach::journal::{ClockNote, PhaseInfo, SessionInfo, Stamp};
use matcoach::session::JournalEvent;
use std::time::Duration;

const H: Duration = Duration::from_secs(3600);
const IMPROVING: [&str; 3] = [
    "mk_3_press_up",
    "mk_4_standing_backbend",
    "mk_5_sitting_lordosis",
];

fn content() -> &'static matcoach::content::Content {
    common::content()
}

/// Three sessions of the improving phase on one boot, two hours apart,
/// from `wall` (mk_5's daily maximum is three).
fn three_sessions(wall: Stamp) -> Boots {
    let mut b = Boots::new(wall);
    for _ in 0..3 {
        b.session("mckenzie_improving", &IMPROVING, &[]).run(2 * H);
    }
    b
}

#[test]
fn the_clock_is_judged_against_the_journal() {
    let plain = |b: &Boots| b.clone();
    let day1 = || three_sessions(at("2025-06-01", "08:00"));
    // (what happened; the verdict from the journal alone, as with a
    // real-time clock or when the kernel cannot say; the verdict when the
    // kernel says the clock is not synchronised and no real-time clock set it)
    let rows: Vec<(&str, Boots, &str, &str)> = vec![
        (
            "a first session, a plausible clock",
            Boots::new(at("2025-06-01", "08:00")),
            "trusted",
            "trusted",
        ),
        (
            "a first session in 1970",
            Boots::new(at("1970-01-01", "00:01")),
            "implausible",
            "implausible",
        ),
        (
            "two hours later in the same boot",
            plain(day1().run(H)),
            "trusted",
            "unsynced",
        ),
        (
            "the next morning, after a night switched off",
            plain(day1().boot(at("2025-06-02", "08:00"))),
            "trusted",
            "unsynced",
        ),
        (
            "a new boot whose clock starts where the last session ended",
            plain(day1().boot(at("2025-06-01", "12:31"))),
            "stood_still",
            "stood_still",
        ),
        (
            "a new boot at the time of a later shutdown (fake-hwclock)",
            plain(day1().boot(at("2025-06-01", "15:00"))),
            "trusted",
            "unsynced",
        ),
        (
            "a new boot earlier than the last session",
            plain(day1().boot(at("2025-05-30", "08:00"))),
            "backwards",
            "backwards",
        ),
        (
            "the clock set back an hour in one boot",
            plain(day1().run(H).set(at("2025-06-01", "12:00"))),
            "backwards",
            "backwards",
        ),
        (
            "the clock set a day ahead in one boot",
            plain(day1().run(H).set(at("2025-06-02", "15:00"))),
            "jumped",
            "jumped",
        ),
        (
            "a reboot into 1970",
            plain(day1().boot(at("1970-01-01", "00:01"))),
            "implausible",
            "implausible",
        ),
    ];
    for (what, b, alone, unsynced) in rows {
        for (sync, want) in [
            (Sync::Unknown("a test".into()), alone),
            (Sync::Rtc, alone),
            (Sync::No, unsynced),
            // Synchronised: trusted whatever the journal says (its earlier
            // times were the wrong ones).
            (Sync::Yes, "trusted"),
        ] {
            let b = b.with_sync(sync.clone());
            let trust = clock::assess(&b.history(), &b.reading());
            assert_eq!(trust.name(), want, "{what}, {sync:?}: {trust:?}");
            // The log says why, and that sessions are counted.
            let cal = Calendar::new(&b.history(), &b.reading());
            match cal.log_line() {
                Some(l) => {
                    assert_ne!(want, "trusted", "{what}: {l}");
                    assert!(l.contains("counting sessions instead of days"), "{l}");
                }
                None => assert_eq!(want, "trusted", "{what}"),
            }
        }
    }
}

fn has_mk5(today: &adapt::Today) -> bool {
    today
        .program
        .items
        .iter()
        .any(|i| i.exercise.get_ref() == "mk_5_sitting_lordosis")
}

#[test]
fn the_daily_maximum_is_neither_skipped_on_a_stuck_clock_nor_doubled_on_a_jump() {
    let start = at("2025-06-02", "08:00");
    let plain = |b: &Boots| b.clone();
    // (what happened, the verdict, mk_5 in the next session by the counted
    // days, and by the wall clock's date alone as before)
    let rows: Vec<(&str, Boots, &str, bool, bool)> = vec![
        (
            "the fourth session of a normal day: left out",
            plain(three_sessions(start).run(H)),
            "trusted",
            false,
            false,
        ),
        (
            "the next day: back",
            plain(three_sessions(start).boot(at("2025-06-03", "08:00"))),
            "trusted",
            true,
            true,
        ),
        (
            "fake-hwclock: the Pi switched off after each session, its clock standing still",
            {
                let mut b = Boots::new(start);
                for _ in 0..3 {
                    b.session("mckenzie_improving", &IMPROVING, &[]);
                    let now = b.reading().wall;
                    b.boot(now.plus(Duration::from_secs(60)));
                }
                b
            },
            "stood_still",
            true,
            false,
        ),
        (
            "the clock set back a day in one boot: not tomorrow twice",
            plain(three_sessions(start).run(H).set(at("2025-06-01", "14:00"))),
            "backwards",
            false,
            true,
        ),
        (
            "the clock set a day ahead in one boot: still today",
            plain(three_sessions(start).run(H).set(at("2025-06-03", "14:00"))),
            "jumped",
            false,
            true,
        ),
        (
            "a clock set back, but sixteen hours of running later: a new day",
            plain(
                three_sessions(start)
                    .run(17 * H)
                    .set(at("2025-06-01", "14:00")),
            ),
            "backwards",
            true,
            true,
        ),
        (
            "booted into 1970, then synchronised in the same boot: not a fresh day",
            three_sessions(at("1970-01-01", "00:01"))
                .run(H)
                .set(at("2025-06-02", "14:00"))
                .with_sync(Sync::Yes),
            "trusted",
            false,
            true,
        ),
        (
            "a reboot into 1970: a new day after the journal's last",
            plain(three_sessions(start).boot(at("1970-01-01", "00:01"))),
            "implausible",
            true,
            true,
        ),
    ];
    for (what, b, trust, counted, by_wall) in rows {
        let h = b.history();
        let now = b.reading();
        let cal = Calendar::new(&h, &now);
        assert_eq!(cal.trust.name(), trust, "{what}");
        let today = default_plan(&cal.history, cal.date, "mckenzie_improving").unwrap();
        assert_eq!(has_mk5(&today), counted, "{what}: counted days");
        let before = default_plan(&h, now.wall.date(), "mckenzie_improving").unwrap();
        assert_eq!(has_mk5(&before), by_wall, "{what}: by the wall clock");
        // Counted days never go back before the journal's last day.
        let last = h.sessions.iter().map(|s| s.day).max().unwrap();
        assert!(cal.date >= last, "{what}: {} < {last}", cal.date);
    }
}

#[test]
fn the_phase_clock_counts_sessions_when_the_days_cannot_be_trusted() {
    // The acute phase offers "improving" after `acute_days` (2) days; its
    // program is meant six times a day. A Pi switched off after each
    // session with a standing clock counts a day per boot: the offer waits
    // until the sessions make two days' worth too.
    let rules = Rules::default();
    assert_eq!(rules.acute_days, 2);
    let acute = adapt::phase_program(content(), Phase::Acute).unwrap();
    let done: Vec<&str> = acute
        .items
        .iter()
        .map(|i| i.exercise.get_ref().as_str())
        .collect();
    let start = at("2025-06-02", "08:00");
    // (sessions before today's, offered?)
    for (n, offered) in [
        (1, false),
        (2, false),
        (6, false),
        (10, false),
        (11, true),
        (20, true),
    ] {
        let mut b = Boots::new(start);
        for _ in 0..n {
            b.session(acute.id(), &done, &[]);
            let now = b.reading().wall;
            b.boot(now.plus(Duration::from_secs(60)));
        }
        let mut h = b.history();
        h.phase = Some(PhaseInfo {
            phase: Some(Phase::Acute),
            since: start.minus(H),
            after_seq: Some(0),
            came_from: None,
        });
        let cal = Calendar::new(&h, &b.reading());
        assert_eq!(cal.trust.name(), "stood_still", "{n}");
        let today = adapt::plan(content(), &rules, &cal.history, cal.date, adapt::AUTO).unwrap();
        assert_eq!(today.program.id(), acute.id());
        let offer = adapt::phase_offer(content(), &rules, &cal.history, &today);
        assert_eq!(offer.is_some(), offered, "{n} sessions before: {offer:?}");
        if offered {
            assert_eq!(offer.unwrap().to, Phase::Improving);
        }
    }
}

#[test]
fn a_reboot_into_1970_does_not_send_the_surgery_date_back() {
    // The journal's last session was in week four after the operation; the
    // Pi reboots into 1970. By the wall clock that is "before the
    // operation"; by the counted days it is the day after the last session.
    let rules = Rules {
        surgery_date: Some(date("2025-06-01")),
        ..Rules::default()
    };
    let mut b = Boots::new(at("2025-06-20", "08:00"));
    b.session("baov_day_one", &["baov_01_breathing"], &[]);
    b.boot(at("1970-01-01", "00:01"));
    let (h, now) = (b.history(), b.reading());
    let cal = Calendar::new(&h, &now);
    assert_eq!(cal.trust.name(), "implausible");
    assert_eq!(cal.date, date("2025-06-21"));
    adapt::plan(content(), &rules, &cal.history, cal.date, "baov_week_three").unwrap();
    let e = adapt::plan(content(), &rules, &h, now.wall.date(), "baov_week_three").unwrap_err();
    assert!(e.to_string().contains("before the operation"), "{e}");
}

#[test]
fn rests_follow_the_session_sequence_not_the_wall_clock() {
    // Three pain-free sessions in June, then the Pi boots into 1970 and the
    // knee rolls hurt: the exercise rests for the next three sessions,
    // although by the wall clock that pain came before the others.
    let (_dir, mut store) = scratch_store();
    let rules = Rules::default();
    for day in ["2025-06-01", "2025-06-02", "2025-06-03"] {
        plain_day(&mut store, &rules, date(day), "quick");
    }
    let spec = pain_spec(&store, &rules, "1970-01-02", "quick", "an_knee_rolls");
    let (_, rec) = sim_day(&mut store, &rules, date("1970-01-02"), "quick", &spec);
    assert!(rec.iter().any(|r| matches!(
        &r.action,
        matcoach::session::Action::Journal(JournalEvent::Pain { .. })
    )));
    let h = store.history(None).unwrap();
    let seqs: Vec<i64> = h.sessions.iter().map(|s| s.seq).collect();
    assert_eq!(
        seqs,
        [1, 2, 3, 4],
        "the history is in the order of the sequence"
    );
    let rest = adapt::resting(&h, rules.pain_free_sessions);
    let knee = rest.get("an_knee_rolls").expect("the knee rolls rest");
    assert_eq!(knee.sessions_left, 3);
    // Every session knows its boot (read by the store when the plan does
    // not say).
    let boots: Vec<Option<String>> = store
        .connection()
        .prepare("SELECT boot_id FROM sessions ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(boots.iter().all(|b| b.is_some()), "{boots:?}");
}

#[test]
fn the_journal_keeps_the_boot_the_uptime_and_the_verdict() {
    let (_dir, mut store) = scratch_store();
    let reading = ClockReading {
        wall: at("2025-06-01", "08:00"),
        boot: Some("boot-a".into()),
        uptime_ms: Some(123_456),
        sync: Sync::No,
    };
    let trust = clock::Trust::Untrusted(clock::Doubt::Implausible { now: reading.wall });
    let mut today = journal_support::fresh_plan("2025-06-01", "quick");
    today.clock = Some(ClockNote::of(&reading, &trust));
    store.begin(
        reading.wall,
        Some(today.note(matcoach::journal::Source::Coach)),
    );
    for (at, e) in journal_support::journaled(&run_today(content(), &today, "0s:press")) {
        store.record(at, e).unwrap();
    }
    let row: (i64, String, i64, String) = store
        .connection()
        .query_row(
            "SELECT seq, boot_id, uptime_ms, clock FROM sessions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(row, (1, "boot-a".into(), 123_456, "implausible".into()));
    let s: &SessionInfo = &store.history(None).unwrap().sessions[0];
    assert_eq!(
        (s.boot.as_deref(), s.uptime_ms),
        (Some("boot-a"), Some(123_456))
    );
}

#[test]
fn a_version_5_journal_gets_its_sequence_and_phase_marks() {
    let (_dir, path) = scratch();
    {
        let mut store = open_store(&path);
        let rules = Rules::default();
        for day in ["2025-06-01", "2025-06-02"] {
            plain_day(&mut store, &rules, date(day), "quick");
        }
        store
            .set_phase(Some(Phase::Acute), "test", at("2025-06-02", "12:00"))
            .unwrap();
        plain_day(&mut store, &rules, date("2025-06-03"), "quick");
        journal_support::downgrade(store.connection(), 5);
    }
    let store = open_store(&path);
    let h = store.history(None).unwrap();
    let seqs: Vec<(i64, i64)> = h.sessions.iter().map(|s| (s.id, s.seq)).collect();
    assert_eq!(seqs, [(1, 1), (2, 2), (3, 3)]);
    assert_eq!(h.phase.unwrap().after_seq, Some(2));
    assert!(h.sessions.iter().all(|s| s.boot.is_none()));
}
