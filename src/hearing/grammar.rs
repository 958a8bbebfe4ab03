//! The words the recogniser may hear: the command words of a language, and
//! the `[unk]` catch-all that soaks up everything else. Restricting the
//! recogniser to these is the first guard against phantom commands; the
//! decider does the rest.

use crate::command::Command;
use crate::content::Lang;

/// The recogniser's catch-all for speech that is not a command word.
pub const UNKNOWN: &str = "[unk]";

/// Every word the recogniser listens for in `lang`.
pub fn words(lang: Lang) -> Vec<&'static str> {
    let mut w: Vec<&'static str> = Command::ALL
        .iter()
        .flat_map(|c| c.words(lang).iter().copied())
        .collect();
    w.sort_unstable();
    w.dedup();
    w
}

/// The grammar as a JSON list for Vosk: the words plus `[unk]`.
pub fn vosk_json(lang: Lang) -> String {
    let mut list: Vec<String> = words(lang).iter().map(|w| format!("\"{w}\"")).collect();
    list.push(format!("\"{UNKNOWN}\""));
    format!("[{}]", list.join(", "))
}

/// Ordinary words added to the recogniser's grammar so that other speech
/// has somewhere to go: with only `[unk]` beside the command words, Vosk
/// maps much of normal speech onto the commands (docs/voice.md, "Tuning",
/// measured on the Korean model). They are words of two or more
/// syllables that do not sound like a command (no "again"/"paint" for
/// pain, "top" for stop, "because" for pause, "text" for next, "fijn" or
/// "mijn" for pijn, "verhaal" for herhaal). Fillers the model does not
/// know are left out.
pub fn fillers(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &[
            "hello",
            "okay",
            "water",
            "morning",
            "little",
            "better",
            "window",
            "music",
            "yellow",
            "number",
            "really",
            "maybe",
            "sorry",
            "happy",
            "money",
            "doctor",
            "over",
            "under",
            "breakfast",
            "tomorrow",
            "seven",
            "eleven",
            "twenty",
            "family",
            "animal",
            "telephone",
            "weather",
            "yesterday",
            "garden",
            "kitchen",
        ],
        Lang::Nl => &[
            "hallo",
            "water",
            "morgen",
            "beter",
            "eten",
            "koffie",
            "muziek",
            "alleen",
            "misschien",
            "natuurlijk",
            "zeven",
            "twintig",
            "familie",
            "weekend",
            "lekker",
            "boven",
            "onder",
            "telefoon",
            "gisteren",
            "keuken",
            "tuin",
            "televisie",
            "vandaag",
            "buiten",
            "binnen",
            "eigenlijk",
            "zaterdag",
            "zondag",
            "dokter",
            "oké",
        ],
    }
}

/// The command a recognised word stands for in `lang`, if any.
pub fn parse(word: &str, lang: Lang) -> Option<Command> {
    let w = word.trim().to_lowercase();
    Command::ALL
        .into_iter()
        .find(|c| c.words(lang).contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_has_every_command_word_and_unk() {
        assert_eq!(
            words(Lang::En),
            vec!["continue", "next", "pain", "pause", "repeat", "resume", "stop"]
        );
        assert_eq!(
            words(Lang::Nl),
            vec!["herhaal", "pauze", "pijn", "stop", "verder", "volgende"]
        );
        assert!(vosk_json(Lang::Nl).ends_with("\"[unk]\"]"));
        assert_eq!(parse("Continue", Lang::En), Some(Command::Resume));
        assert_eq!(parse("pijn", Lang::Nl), Some(Command::Pain));
        assert_eq!(
            parse("pijn", Lang::En),
            None,
            "the other language's words do not count"
        );
        assert_eq!(parse("[unk]", Lang::En), None);
    }

    #[test]
    fn fillers_are_never_command_words_nor_start_like_one() {
        for lang in Lang::ALL {
            for f in fillers(lang) {
                assert_eq!(parse(f, lang), None, "{f}");
                for c in Command::ALL {
                    assert!(!c.spoken_in(f, lang), "{f} sounds like {c}");
                }
            }
        }
    }
}
