//! `matcoach`: the command line. Parses arguments, loads config and content,
//! and hands over to the command. The only place that exits.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::exit)]

mod cli;
#[cfg(feature = "speaker-rodio")]
mod daemon;
mod demo;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // The one logger, before anything logs (src/logging.rs).
    matcoach::logging::init();
    // Device errors are reported by matcoach itself, with the fix.
    #[cfg(any(feature = "speaker-rodio", feature = "mic-cpal"))]
    matcoach::audio::alsa_log::quiet();
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("matcoach: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
