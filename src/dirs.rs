//! matcoach's directories under the XDG base directories: the defaults of
//! the journal and the recognition models (data) and of the speech cache
//! (cache). One function rather than a crate (`etcetera`, `directories`):
//! two variables and their fallbacks are all matcoach needs, and those
//! crates fall back to the password database's home directory, which a
//! service should not guess at.

use std::ffi::OsString;
use std::path::PathBuf;

/// An XDG base directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// `$XDG_DATA_HOME`, else `~/.local/share`.
    Data,
    /// `$XDG_CACHE_HOME`, else `~/.cache`.
    Cache,
}

impl Base {
    fn var(self) -> &'static str {
        match self {
            Base::Data => "XDG_DATA_HOME",
            Base::Cache => "XDG_CACHE_HOME",
        }
    }

    fn under_home(self) -> &'static str {
        match self {
            Base::Data => ".local/share",
            Base::Cache => ".cache",
        }
    }
}

/// `<base>/matcoach` from the environment; None when neither the XDG
/// variable nor HOME is an absolute path.
pub fn matcoach_dir(base: Base) -> Option<PathBuf> {
    matcoach_dir_from(base, std::env::var_os(base.var()), std::env::var_os("HOME"))
}

/// [`matcoach_dir`] from given values of the XDG variable and HOME. The XDG
/// spec says to ignore a relative (or empty) XDG variable.
pub fn matcoach_dir_from(
    base: Base,
    xdg: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let absolute = |v: Option<OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    absolute(xdg)
        .or_else(|| absolute(home).map(|h| h.join(base.under_home())))
        .map(|b| b.join("matcoach"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_xdg_then_home() {
        let os = |s: &str| Some(OsString::from(s));
        let cases = [
            (
                Base::Cache,
                os("/x/cache"),
                os("/home/a"),
                Some("/x/cache/matcoach"),
            ),
            (
                Base::Cache,
                os("relative"),
                os("/home/a"),
                Some("/home/a/.cache/matcoach"),
            ),
            (
                Base::Cache,
                os(""),
                os("/home/a"),
                Some("/home/a/.cache/matcoach"),
            ),
            (Base::Cache, None, None, None),
            (Base::Cache, None, os(""), None),
            (Base::Data, os("/d"), os("/home/a"), Some("/d/matcoach")),
            (
                Base::Data,
                None,
                os("/home/a"),
                Some("/home/a/.local/share/matcoach"),
            ),
            (Base::Data, None, os("home"), None),
        ];
        for (base, xdg, home, want) in cases {
            let got = matcoach_dir_from(base, xdg.clone(), home.clone());
            assert_eq!(got, want.map(PathBuf::from), "{base:?} {xdg:?} {home:?}");
        }
    }
}
