//! The few libspeexdsp functions (echo canceller and preprocessor) the
//! canceller calls, and the constants of their control requests.

use std::ffi::{c_int, c_void};

/// Opaque `SpeexEchoState`.
#[repr(C)]
pub struct SpeexEchoState {
    _private: [u8; 0],
}

/// Opaque `SpeexPreprocessState`.
#[repr(C)]
pub struct SpeexPreprocessState {
    _private: [u8; 0],
}

// speex/speex_echo.h
pub const SPEEX_ECHO_SET_SAMPLING_RATE: c_int = 24;
// speex/speex_preprocess.h
pub const SPEEX_PREPROCESS_SET_DENOISE: c_int = 0;
pub const SPEEX_PREPROCESS_SET_NOISE_SUPPRESS: c_int = 18;
pub const SPEEX_PREPROCESS_SET_ECHO_SUPPRESS: c_int = 20;
pub const SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE: c_int = 22;
pub const SPEEX_PREPROCESS_SET_ECHO_STATE: c_int = 24;

#[link(name = "speexdsp")]
extern "C" {
    pub fn speex_echo_state_init(frame_size: c_int, filter_length: c_int) -> *mut SpeexEchoState;
    pub fn speex_echo_state_destroy(st: *mut SpeexEchoState);
    pub fn speex_echo_cancellation(
        st: *mut SpeexEchoState,
        rec: *const i16,
        play: *const i16,
        out: *mut i16,
    );
    pub fn speex_echo_state_reset(st: *mut SpeexEchoState);
    pub fn speex_echo_ctl(st: *mut SpeexEchoState, request: c_int, ptr: *mut c_void) -> c_int;

    pub fn speex_preprocess_state_init(
        frame_size: c_int,
        sampling_rate: c_int,
    ) -> *mut SpeexPreprocessState;
    pub fn speex_preprocess_state_destroy(st: *mut SpeexPreprocessState);
    pub fn speex_preprocess_run(st: *mut SpeexPreprocessState, x: *mut i16) -> c_int;
    pub fn speex_preprocess_ctl(
        st: *mut SpeexPreprocessState,
        request: c_int,
        ptr: *mut c_void,
    ) -> c_int;
}
