//! Pairing a phone with the coach: a 6-digit code valid for five minutes,
//! exchanged for a long-lived session token kept in an HttpOnly cookie.
//!
//! The state lives in `pairing.json` beside the journal (mode 0600), so
//! `matcoach pair` and the page served for the same journal agree. Only
//! SHA-256 hashes of the code and the tokens are stored. The throttle
//! (five wrong codes, then a minute of 429) is kept in memory by the
//! server that checks the codes.

use super::WebError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a code may be entered.
pub const CODE_VALID: Duration = Duration::from_secs(5 * 60);
/// Wrong codes allowed before pairing is refused for [`LOCKOUT`].
pub const MAX_WRONG: u32 = 5;
pub const LOCKOUT: Duration = Duration::from_secs(60);
/// The cookie's name.
pub const COOKIE: &str = "matcoach_session";

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// The code waiting to be entered, hashed, and when it expires.
    code: Option<Pending>,
    /// Paired sessions (hashed tokens).
    sessions: Vec<Paired>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    sha256: String,
    expires_unix: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Paired {
    sha256: String,
    since_unix: u64,
}

/// What became of a code entered on the page.
#[derive(Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Paired: the new session's token, for the cookie.
    Paired(String),
    Wrong,
    /// Too many wrong codes: try again after this long.
    Throttled(Duration),
}

#[derive(Default)]
struct Throttle {
    wrong: u32,
    until: Option<SystemTime>,
}

pub struct Pairing {
    path: PathBuf,
    throttle: Mutex<Throttle>,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn sha(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_bytes<const N: usize>() -> Result<[u8; N], WebError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| WebError::Random(e.to_string()))?;
    Ok(b)
}

impl Pairing {
    /// The pairing state beside the journal at `journal`.
    pub fn beside(journal: &Path) -> Pairing {
        let dir = journal
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Pairing {
            path: dir.join("pairing.json"),
            throttle: Mutex::new(Throttle::default()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> Result<State, WebError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| WebError::PairingFile {
                path: self.path.clone(),
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(WebError::PairingFile {
                path: self.path.clone(),
                detail: e.to_string(),
            }),
        }
    }

    fn save(&self, state: &State) -> Result<(), WebError> {
        let text = serde_json::to_string_pretty(state).map_err(|e| WebError::PairingFile {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        super::write_atomically(&self.path, text.as_bytes(), 0o600).map_err(|e| {
            WebError::PairingFile {
                path: self.path.clone(),
                detail: e.to_string(),
            }
        })
    }

    /// A new code, valid for [`CODE_VALID`] from `now` (it replaces any
    /// earlier one).
    pub fn new_code(&self, now: SystemTime) -> Result<String, WebError> {
        // Rejection sampling: every code equally likely.
        let code = loop {
            let b = random_bytes::<4>()?;
            let v = u32::from_le_bytes(b);
            if v < u32::MAX - u32::MAX % 1_000_000 {
                break v % 1_000_000;
            }
        };
        let code = format!("{code:06}");
        let mut state = self.load()?;
        state.code = Some(Pending {
            sha256: sha(&code),
            expires_unix: unix(now + CODE_VALID),
        });
        self.save(&state)?;
        Ok(code)
    }

    /// End every paired session (and any code waiting); how many ended.
    pub fn revoke(&self) -> Result<usize, WebError> {
        let mut state = self.load()?;
        let n = state.sessions.len();
        state.sessions.clear();
        state.code = None;
        self.save(&state)?;
        Ok(n)
    }

    /// A code entered on the page at `now`.
    pub fn attempt(&self, code: &str, now: SystemTime) -> Result<Attempt, WebError> {
        let mut throttle = self.throttle.lock().map_err(|_| WebError::Poisoned)?;
        if let Some(until) = throttle.until {
            if now < until {
                return Ok(Attempt::Throttled(
                    until.duration_since(now).unwrap_or_default(),
                ));
            }
            throttle.until = None;
        }
        let mut state = self.load()?;
        let code = code.trim();
        let right = state.code.as_ref().is_some_and(|p| {
            p.expires_unix > unix(now)
                && code.len() == 6
                && code.bytes().all(|b| b.is_ascii_digit())
                && p.sha256 == sha(code)
        });
        if !right {
            throttle.wrong += 1;
            if throttle.wrong >= MAX_WRONG {
                throttle.wrong = 0;
                throttle.until = Some(now + LOCKOUT);
            }
            return Ok(Attempt::Wrong);
        }
        throttle.wrong = 0;
        let token: String = random_bytes::<32>()?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        state.code = None;
        state.sessions.push(Paired {
            sha256: sha(&token),
            since_unix: unix(now),
        });
        self.save(&state)?;
        Ok(Attempt::Paired(token))
    }

    /// Whether `token` is a paired session's (read from the file each
    /// time, so that `matcoach pair --revoke` takes effect at once).
    pub fn is_paired(&self, token: &str) -> bool {
        if token.len() != 64 {
            return false;
        }
        let want = sha(token);
        self.load()
            .map(|s| s.sessions.iter().any(|p| p.sha256 == want))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_pairs_once_expires_and_five_wrong_throttle() {
        let dir = tempfile::tempdir().unwrap();
        let p = Pairing::beside(&dir.path().join("journal.sqlite"));
        let t0 = SystemTime::now();
        let code = p.new_code(t0).unwrap();
        assert_eq!(code.len(), 6);
        let Attempt::Paired(token) = p.attempt(&code, t0).unwrap() else {
            panic!("not paired")
        };
        assert!(p.is_paired(&token));
        assert_eq!(p.attempt(&code, t0).unwrap(), Attempt::Wrong, "used once");
        let code = p.new_code(t0).unwrap();
        assert_eq!(
            p.attempt(&code, t0 + CODE_VALID + Duration::from_secs(1))
                .unwrap(),
            Attempt::Wrong,
            "expired"
        );
        let code = p.new_code(t0).unwrap();
        let wrong = if code == "000000" { "000001" } else { "000000" };
        // Two wrong counted above (the used and the expired code): the
        // fifth locks.
        for _ in 0..2 {
            assert_eq!(p.attempt(wrong, t0).unwrap(), Attempt::Wrong);
        }
        assert_eq!(p.attempt(wrong, t0).unwrap(), Attempt::Wrong);
        assert!(matches!(
            p.attempt(&code, t0).unwrap(),
            Attempt::Throttled(_)
        ));
        assert!(matches!(
            p.attempt(&code, t0 + LOCKOUT).unwrap(),
            Attempt::Paired(_)
        ));
        assert_eq!(p.revoke().unwrap(), 2);
        assert!(!p.is_paired(&token));
    }
}
