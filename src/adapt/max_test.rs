//! The startgetal (004) and the max test that finds it: the tested
//! maxima, a third of each, and the max-test program built from the
//! strength program. Kept apart because it is the only rule that writes
//! a program of its own.

use crate::content::{Content, Dose, Program, ProgramItem, Text};
use crate::journal::queries::History;
use serde_json::json;
use std::collections::HashMap;
use std::num::NonZeroU32;
use toml::Spanned;

/// The id of the max-test program (built from the strength program).
pub const MAX_TEST: &str = "sr_max_test";
/// The most repetitions a max test counts (004: "this can be thirty").
pub const MAX_TEST_REPS: u32 = 50;

/// The latest tested maximum per exercise.
pub fn maxima(history: &History) -> HashMap<String, u32> {
    history
        .maxima
        .values()
        .map(|m| (m.exercise.clone(), m.max_reps))
        .collect()
}

/// The startgetal: a third of the maximum, at least one (004).
pub fn startgetal(max: u32) -> u32 {
    (max / 3).max(1)
}

/// The exercises of `program` whose dose follows the startgetal.
pub fn startgetal_exercises(content: &Content, program: &Program) -> Vec<String> {
    program
        .items
        .iter()
        .filter_map(|item| {
            let ex = content.exercise(item.exercise.get_ref())?;
            (item.dose.over(&ex.dose).startgetal == Some(true)).then(|| ex.id().to_string())
        })
        .collect()
}

fn text(en: &str, nl: &str) -> Option<Text> {
    serde_json::from_value(json!({ "en": en, "nl": nl })).ok()
}

/// The max test: the strength program's warm-up, then each exercise of
/// `which` once, as many repetitions as the user can (up to
/// [`MAX_TEST_REPS`]), counted but not cut to the startgetal. The other
/// startgetal exercises are left out (they are tested already).
pub fn max_test_program(content: &Content, strength: &Program, which: &[String]) -> Program {
    let items = strength
        .items
        .iter()
        .filter_map(|item| {
            let id = item.exercise.get_ref();
            let ex = content.exercise(id)?;
            let startgetal = item.dose.over(&ex.dose).startgetal == Some(true);
            if !startgetal {
                return Some(item.clone());
            }
            which.iter().any(|w| w == id).then(|| ProgramItem {
                exercise: item.exercise.clone(),
                dose: Dose {
                    reps: NonZeroU32::new(MAX_TEST_REPS),
                    reps_max: None,
                    sets: NonZeroU32::new(1),
                    startgetal: Some(false),
                    ..item.dose.clone()
                },
            })
        })
        .collect();
    let name = text(
        "Max test: do each strength exercise as many times as you can, and say stop after your last one",
        "Maximumtest: doe elke krachtoefening zo vaak als je kunt, en zeg stop na de laatste",
    );
    let description = text(
        "The warm-up, then each strength exercise once, as many times as you can. Say stop after your last repetition: that number is your maximum, and a third of it your start number from now on (004).",
        "De warming-up, daarna elke krachtoefening één keer, zo vaak als je kunt. Zeg stop na je laatste herhaling: dat aantal is je maximum, en een derde daarvan voortaan je startgetal (004).",
    );
    Program {
        id: Spanned::new(0..0, MAX_TEST.to_string()),
        sources: strength.sources.clone(),
        name: name.unwrap_or_else(|| strength.name.clone()),
        description: description.unwrap_or_else(|| strength.description.clone()),
        phase: None,
        times_per_day: None,
        times_per_day_max: None,
        condition: None,
        items,
        pain_rule: strength.pain_rule,
        preconditions: strength.preconditions.clone(),
    }
}
