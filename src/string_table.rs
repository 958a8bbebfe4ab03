//! One string table per user-facing enum: the spellings written once serve
//! the command line (clap's `ValueParserFactory`), the config and JSON (serde),
//! `Display` and `FromStr`, so that a spelling `--lang` accepts is one
//! `language =` accepts too. Errors keep each side's wording: the command
//! line's "unknown language `de`: use `en` or `nl`", serde's "unknown variant
//! `de`, expected `en` or `nl`" (the config's and content's fixes key on it).
//!
//! A declarative macro rather than strum: strum's derives cover `Display`
//! and `FromStr` only, and clap and serde would still need glue to share its
//! table.

/// Declares an enum with its spellings: the first literal of each variant is
/// its name (written by `Display`, serde and `--help`), the others are
/// aliases accepted on input. Matching ignores ASCII case and surrounding
/// white space. `$what` names the value in the command line's errors.
macro_rules! string_table {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $canon:literal $(| $alias:literal)*
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($canon),+].len()] = [$($name::$variant),+];

            /// Every value's name.
            pub const NAMES: &'static [&'static str] = &[$($canon),+];

            /// The name written in the config, on the command line and in
            /// messages.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $canon,)+
                }
            }

            /// The spellings accepted for this value: the name first.
            pub fn spellings(self) -> &'static [&'static str] {
                match self {
                    $($name::$variant => &[$canon $(, $alias)*],)+
                }
            }

            /// The value a spelling names, if any.
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.spellings().iter().any(|w| w.eq_ignore_ascii_case(s)))
            }

            /// "unknown language `de`: use `en` or `nl`".
            fn unknown(s: &str) -> String {
                $crate::string_table::unknown($what, s, $name::ALL.iter().map(|v| v.name()))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::parse(s).ok_or_else(|| $name::unknown(s))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                // serde's own wording ("unknown variant `de`, expected `en`
                // or `nl`"), which the config's and content's fixes key on.
                $name::parse(&s).ok_or_else(|| ::serde::de::Error::unknown_variant(&s, $name::NAMES))
            }
        }

        impl ::clap::builder::ValueParserFactory for $name {
            type Parser = $crate::string_table::Parser<$name>;
            fn value_parser() -> Self::Parser {
                $crate::string_table::Parser::default()
            }
        }
    };
}
pub(crate) use string_table;

/// The error for a spelling no value has.
pub fn unknown<'a>(what: &str, s: &str, names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    let list = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    };
    format!("unknown {what} `{}`: use {list}", s.trim())
}

/// The command line's parser for a string table: the same matching and the
/// same errors as the config's. (Not `clap::ValueEnum`: clap checks its
/// possible values case-sensitively before the parser sees them.)
#[derive(Clone, Copy)]
pub struct Parser<T>(std::marker::PhantomData<T>);

impl<T> Default for Parser<T> {
    fn default() -> Self {
        Parser(std::marker::PhantomData)
    }
}

impl<T> clap::builder::TypedValueParser for Parser<T>
where
    T: std::str::FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let parse = |s: &str| s.parse::<T>();
        parse.parse_ref(cmd, arg, value)
    }
}
