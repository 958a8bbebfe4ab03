//! The weekly adherence of the progress report (`journal::report`): the
//! streak of weeks that met the goal, over histories built in memory.

mod common;
use common::journal_support::{completed, date};

use matcoach::journal::report::{adherence, adherence_lines};
use matcoach::journal::History;
use std::time::Duration;

/// One completed session of `quick` at 09:00 on each of `days`.
fn practice_on(days: &[&str]) -> History {
    let sessions = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let started = date(d).at_midnight().plus(Duration::from_secs(9 * 3600));
            completed(i as i64 + 1, "quick", started, &["hf_cat_back"], &[])
        })
        .collect();
    History {
        sessions,
        ..History::default()
    }
}

#[test]
fn the_streak_counts_weeks_and_forgives_rest_days() {
    // Started on a Saturday (2025-03-08): that week asks for two days.
    // Then three days a week, with rest days in between.
    let h = practice_on(&[
        "2025-03-08",
        "2025-03-09", // W10: 2 of the 2 it had
        "2025-03-10",
        "2025-03-12",
        "2025-03-15", // W11
        "2025-03-17",
        "2025-03-19",
        "2025-03-21", // W12
        "2025-03-24", // W13 (this week, Tuesday: one day so far)
    ]);
    let today = date("2025-03-25");
    let a = adherence(&h, today, 3, 4);
    assert_eq!(a.streak_weeks, 3, "{a:?}");
    assert!(a.still_possible);
    assert_eq!(a.this_week_days, 1);
    assert_eq!(a.days_left, 6);
    assert_eq!(
        a.weeks.iter().map(|w| w.days).collect::<Vec<_>>(),
        [2, 3, 3, 1]
    );
    // A week with only two days breaks it.
    let h = practice_on(&[
        "2025-03-10",
        "2025-03-12",
        "2025-03-17",
        "2025-03-18",
        "2025-03-19",
    ]);
    let a = adherence(&h, date("2025-03-19"), 3, 4);
    assert_eq!(a.streak_weeks, 1, "{a:?}");
    // Sunday with one day done: out of reach, and the streak is over.
    let h = practice_on(&["2025-03-10", "2025-03-11", "2025-03-12", "2025-03-23"]);
    let a = adherence(&h, date("2025-03-23"), 3, 2);
    assert!(!a.still_possible);
    assert_eq!(a.streak_weeks, 0);
    let lines = adherence_lines(&a, "·", today, today);
    assert!(lines.contains("out of reach"), "{lines}");
}
