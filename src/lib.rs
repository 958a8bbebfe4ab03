//! matcoach: a hands-free, voice-guided exercise coach for low-back pain.
//!
//! The core ([`session`]) is a pure state machine; [`content`] loads and
//! validates the exercises; [`sim`] runs sessions in virtual time; [`session_loop`] is
//! the thin tokio shell that wires devices to the core; [`hearing`] is speech
//! recognition ([`speech`] is the coach's own voice).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::exit)
)]

pub mod adapt;
pub mod appliance;
pub mod audio;
pub mod clock;
pub mod command;
pub mod devices;
pub mod gpio;
pub mod hearing;
pub mod string_table;
pub use command::Command;
pub mod config;
pub mod content;
pub mod date;
pub mod dirs;
pub mod doctor;
pub mod durable;
pub mod fix;
pub mod journal;
pub mod lang;
pub mod logging;
pub mod memory;
pub mod render;
pub mod session;
pub mod session_loop;
pub mod sim;
pub mod simulate;
pub mod speaker;
pub mod speech;
pub mod subprocess;
pub mod systemd;
pub mod web;
