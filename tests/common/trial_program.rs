//! A program of our own, written into a scratch copy of the content, for
//! the tests that need exercises in an order (or of a kind) no shipped
//! program has.

use super::fixtures::Scratch;

/// The TOML of program `id`, citing the seed file `source`, made of these
/// exercises in this order; its name and description say it is a trial.
pub fn trial_program_toml(id: &str, source: &str, exercises: &[&str]) -> String {
    let mut text = format!("id = \"{id}\"\nsources = [\"{source}\"]\n");
    text.push_str("name = { nl = \"Proef\", en = \"Trial\" }\n");
    text.push_str("description = { nl = \"Proef.\", en = \"Trial.\" }\n");
    for e in exercises {
        text.push_str(&format!("\n[[item]]\nexercise = \"{e}\"\n"));
    }
    text
}

/// Write [`trial_program_toml`] to `programs/<id>.toml` of the copy.
pub fn write_trial_program(s: &Scratch, id: &str, source: &str, exercises: &[&str]) {
    s.write(
        &format!("programs/{id}.toml"),
        &trial_program_toml(id, source, exercises),
    );
}
