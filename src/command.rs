//! The voice commands and the words that say them, per language.
//!
//! One table serves the session (to ignore a command word the coach is saying
//! itself), the content lint (to warn about prompts that contain one) and,
//! later, the recogniser's grammar.

use crate::lang::Lang;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    Next,
    Pain,
    Stop,
    Pause,
    Resume,
    Repeat,
}

impl Command {
    pub const ALL: [Command; 6] = [
        Command::Next,
        Command::Pain,
        Command::Stop,
        Command::Pause,
        Command::Resume,
        Command::Repeat,
    ];

    /// The words that say this command in `lang`. The first is the one the
    /// coach teaches; the others are accepted synonyms.
    pub fn words(self, lang: Lang) -> &'static [&'static str] {
        match (self, lang) {
            (Command::Next, Lang::En) => &["next"],
            (Command::Pain, Lang::En) => &["pain"],
            (Command::Stop, Lang::En) => &["stop"],
            (Command::Pause, Lang::En) => &["pause"],
            (Command::Resume, Lang::En) => &["resume", "continue"],
            (Command::Repeat, Lang::En) => &["repeat"],
            (Command::Next, Lang::Nl) => &["volgende"],
            (Command::Pain, Lang::Nl) => &["pijn"],
            (Command::Stop, Lang::Nl) => &["stop"],
            (Command::Pause, Lang::Nl) => &["pauze"],
            (Command::Resume, Lang::Nl) => &["verder"],
            (Command::Repeat, Lang::Nl) => &["herhaal"],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Command::Next => "next",
            Command::Pain => "pain",
            Command::Stop => "stop",
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Repeat => "repeat",
        }
    }

    /// A command from its English name or any of its words in any language.
    pub fn parse(word: &str) -> Option<Command> {
        let w = word.trim().to_lowercase();
        Command::ALL
            .into_iter()
            .find(|c| c.name() == w || Lang::ALL.iter().any(|l| c.words(*l).contains(&w.as_str())))
    }

    /// Whether `text` contains one of this command's words in `lang`, as a
    /// word or as the start of a longer word ("stoppen", "pijnlijk"), which a
    /// recogniser restricted to the command words may well hear as the word.
    pub fn spoken_in(self, text: &str, lang: Lang) -> bool {
        let lower = text.to_lowercase();
        let stems = self.stems(lang);
        lower.split(|c: char| !c.is_alphanumeric()).any(|w| {
            self.words(lang).iter().any(|cw| w.starts_with(cw))
                || stems.iter().any(|s| w.starts_with(s))
        })
    }

    /// Inflected forms that sound like the word but do not start with it
    /// ("herhalen" for "herhaal").
    fn stems(self, lang: Lang) -> &'static [&'static str] {
        match (self, lang) {
            (Command::Repeat, Lang::Nl) => &["herhal"],
            (Command::Pause, Lang::Nl) => &["pauzer"],
            _ => &[],
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_words_of_both_languages() {
        let cases = [
            ("next", Some(Command::Next)),
            ("Volgende", Some(Command::Next)),
            ("pijn", Some(Command::Pain)),
            ("continue", Some(Command::Resume)),
            ("verder", Some(Command::Resume)),
            ("herhaal", Some(Command::Repeat)),
            ("pauze", Some(Command::Pause)),
            ("stop", Some(Command::Stop)),
            ("top", None),
            ("", None),
        ];
        for (word, want) in cases {
            assert_eq!(Command::parse(word), want, "{word}");
        }
    }

    #[test]
    fn spoken_in_matches_words_and_their_longer_forms_only() {
        let cases = [
            ("Stop when it hurts", Command::Stop, Lang::En, true),
            ("Don't stopper", Command::Stop, Lang::En, true),
            ("Go on to the top", Command::Stop, Lang::En, false),
            ("Dat is pijnlijk", Command::Pain, Lang::Nl, true),
            ("Span je buik aan", Command::Pain, Lang::Nl, false),
            ("Ga verder", Command::Resume, Lang::Nl, true),
            ("Ga door", Command::Resume, Lang::Nl, false),
            ("Dit herhalen we", Command::Repeat, Lang::Nl, true),
            ("Herhaling drie", Command::Repeat, Lang::Nl, true),
            ("Nextdoor", Command::Next, Lang::En, true),
            ("painting", Command::Pain, Lang::En, true),
            ("spain", Command::Pain, Lang::En, false),
        ];
        for (text, cmd, lang, want) in cases {
            assert_eq!(cmd.spoken_in(text, lang), want, "{text:?} {cmd} {lang}");
        }
    }
}
