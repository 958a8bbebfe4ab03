//! The few libpocketsphinx and libsphinxbase (0.8+5prealpha) functions the
//! recogniser calls.

use std::ffi::{c_char, c_double, c_int, c_void};

#[repr(C)]
pub struct cmd_ln_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct arg_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ps_decoder_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ps_seg_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct logmath_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ngram_model_t {
    _private: [u8; 0],
}
/// `NGRAM_AUTO` of `ngram_file_type_t`.
pub const NGRAM_AUTO: c_int = 0;

#[link(name = "pocketsphinx")]
extern "C" {
    pub fn ps_args() -> *const arg_t;
    pub fn ps_init(config: *mut cmd_ln_t) -> *mut ps_decoder_t;
    pub fn ps_free(ps: *mut ps_decoder_t) -> c_int;
    pub fn ps_get_logmath(ps: *mut ps_decoder_t) -> *mut logmath_t;
    pub fn ps_start_stream(ps: *mut ps_decoder_t) -> c_int;
    pub fn ps_start_utt(ps: *mut ps_decoder_t) -> c_int;
    pub fn ps_end_utt(ps: *mut ps_decoder_t) -> c_int;
    pub fn ps_process_raw(
        ps: *mut ps_decoder_t,
        data: *const i16,
        n_samples: usize,
        no_search: c_int,
        full_utt: c_int,
    ) -> c_int;
    pub fn ps_get_in_speech(ps: *mut ps_decoder_t) -> u8;
    pub fn ps_get_hyp(ps: *mut ps_decoder_t, out_best_score: *mut i32) -> *const c_char;
    pub fn ps_get_prob(ps: *mut ps_decoder_t) -> i32;
    pub fn ps_seg_iter(ps: *mut ps_decoder_t) -> *mut ps_seg_t;
    pub fn ps_seg_next(seg: *mut ps_seg_t) -> *mut ps_seg_t;
    pub fn ps_seg_word(seg: *mut ps_seg_t) -> *const c_char;
    pub fn ps_seg_frames(seg: *mut ps_seg_t, out_sf: *mut c_int, out_ef: *mut c_int);
    pub fn ps_seg_prob(
        seg: *mut ps_seg_t,
        out_ascr: *mut i32,
        out_lscr: *mut i32,
        out_lback: *mut i32,
    ) -> i32;
}

#[link(name = "sphinxbase")]
extern "C" {
    pub fn cmd_ln_parse_r(
        inout: *mut cmd_ln_t,
        defn: *const arg_t,
        argc: i32,
        argv: *mut *mut c_char,
        strict: i32,
    ) -> *mut cmd_ln_t;
    pub fn cmd_ln_free_r(cmdln: *mut cmd_ln_t) -> c_int;
    pub fn logmath_init(base: c_double, shift: c_int, use_table: c_int) -> *mut logmath_t;
    pub fn logmath_free(lmath: *mut logmath_t) -> c_int;
    pub fn logmath_exp(lmath: *mut logmath_t, logb_p: c_int) -> c_double;
    pub fn logmath_log_to_ln(lmath: *mut logmath_t, logb_p: c_int) -> c_double;
    pub fn ngram_model_read(
        config: *mut cmd_ln_t,
        file_name: *const c_char,
        file_type: c_int,
        lmath: *mut logmath_t,
    ) -> *mut ngram_model_t;
    pub fn ngram_model_free(model: *mut ngram_model_t) -> c_int;
    pub fn ngram_model_get_counts(model: *mut ngram_model_t) -> *const u32;
    pub fn ngram_word(model: *mut ngram_model_t, wid: i32) -> *const c_char;
    pub fn ngram_ng_score(
        model: *mut ngram_model_t,
        wid: i32,
        history: *mut i32,
        n_hist: i32,
        n_used: *mut i32,
    ) -> i32;
    /// `FILE *`; NULL turns sphinxbase's logging off.
    pub fn err_set_logfp(stream: *mut c_void);
}
