//! After back surgery (003, BAOV): which programs wait for the third week
//! after the operation, the check against `coach.surgery_date`, and what
//! the coach says when it refuses. Kept apart because it depends on the
//! date alone, not on the journal.

use super::AdaptError;
use crate::content::Program;
use crate::journal::Date;

/// Why a program after back surgery is refused (the daemon says it: the
/// Pi has no screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurgeryRefusal {
    /// No `coach.surgery_date`.
    NoDate,
    /// Before the third week after the operation.
    TooSoon,
}

impl SurgeryRefusal {
    /// The spoken line (phrases `surgery_date_missing`, `surgery_too_soon`).
    pub fn line(
        self,
        phrases: &crate::content::Phrases,
        lang: crate::content::Lang,
    ) -> crate::session::Line {
        let (key, t) = match self {
            SurgeryRefusal::NoDate => ("surgery_date_missing", &phrases.surgery_date_missing),
            SurgeryRefusal::TooSoon => ("surgery_too_soon", &phrases.surgery_too_soon),
        };
        crate::session::Line {
            id: crate::session::PhraseId(format!("sys.{key}")),
            text: t.get(lang).to_string(),
        }
    }
}

/// The programs that hold BAOV exercises 4 and later (003: only from the
/// third week after the operation): any exercise `baov_NN_…` with NN ≥ 4.
pub fn needs_week_three(program: &Program) -> bool {
    program.items.iter().any(|i| {
        i.exercise
            .get_ref()
            .strip_prefix("baov_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= 4)
    })
}

/// The first day of the third week after an operation on `surgery`.
pub fn week_three(surgery: Date) -> Date {
    surgery.add_days(14)
}

/// Whether `program` may be done on `date` after an operation on
/// `surgery` (see [`needs_week_three`]).
pub fn surgery_gate(
    program: &Program,
    surgery: Option<Date>,
    date: Date,
) -> Result<(), AdaptError> {
    if !needs_week_three(program) {
        return Ok(());
    }
    let Some(surgery) = surgery else {
        return Err(AdaptError::NoSurgeryDate {
            program: program.id().to_string(),
        });
    };
    let from = week_three(surgery);
    if date >= from {
        return Ok(());
    }
    let days = date.since(surgery);
    let when = if days < 0 {
        "before the operation".to_string()
    } else {
        format!("day {} after it (week {})", days, days / 7 + 1)
    };
    Err(AdaptError::TooSoonAfterSurgery {
        program: program.id().to_string(),
        surgery,
        today: date,
        when,
        from,
    })
}
