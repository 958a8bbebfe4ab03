//! The languages the coach speaks: below content, commands and the config,
//! which all name one.

crate::string_table::string_table! {
    /// A language the coach speaks.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub enum Lang ("language") {
        #[default]
        En = "en" | "english",
        Nl = "nl" | "dutch" | "nederlands",
    }
}

impl Lang {
    /// The language code: the name in the table.
    pub fn code(self) -> &'static str {
        self.name()
    }
}
