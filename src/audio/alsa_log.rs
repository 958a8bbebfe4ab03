//! ALSA's own error messages. When a device is missing, alsa-lib prints
//! eight lines to stderr ("ALSA lib confmisc.c:855:(parse_card) cannot find
//! card '0'"…) every time it is opened, so a coach retrying a lost
//! microphone every few seconds would bury its log and the demo's text.
//! matcoach reports every device error itself, naming the device and the
//! fix; [`quiet`] turns alsa-lib's copies off unless
//! `MATCOACH_ALSA_ERRORS=1` asks for them (to debug an `.asoundrc`).

use std::ffi::{c_char, c_int};

/// The environment variable that keeps alsa-lib's own messages.
pub const KEEP_VAR: &str = "MATCOACH_ALSA_ERRORS";

/// alsa-lib's error handler, without its trailing variadic arguments: a
/// handler that ignores them can be called as the variadic one on the C
/// ABIs of Linux (x86_64, aarch64, arm), where the fixed arguments are
/// passed the same way.
type Handler = unsafe extern "C" fn(*const c_char, c_int, *const c_char, c_int, *const c_char);

#[link(name = "asound")]
extern "C" {
    fn snd_lib_error_set_handler(handler: Option<Handler>) -> c_int;
}

unsafe extern "C" fn ignore(
    _file: *const c_char,
    _line: c_int,
    _function: *const c_char,
    _err: c_int,
    _fmt: *const c_char,
) {
}

/// Silence alsa-lib's messages (see the module), unless
/// `MATCOACH_ALSA_ERRORS` is set to anything but "0" or "". Returns whether
/// they are silenced. `tests/doctor.rs` checks both ways.
pub fn quiet() -> bool {
    let keep = std::env::var(KEEP_VAR).is_ok_and(|v| !v.is_empty() && v != "0");
    quiet_unless(keep)
}

fn quiet_unless(keep: bool) -> bool {
    // SAFETY: sets a process-wide function pointer in alsa-lib; `ignore`
    // reads none of its arguments, and None restores the default handler.
    let rc = unsafe { snd_lib_error_set_handler(if keep { None } else { Some(ignore) }) };
    rc == 0 && !keep
}
