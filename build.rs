//! Build script: only the `voice-vosk` feature needs it. It tells the linker
//! where libvosk.so is (`VOSK_LIB_DIR`, default `.deps/vosk` in this
//! checkout, where `scripts/lib.sh`'s `ensure_vosk_lib` puts it) and adds an
//! rpath so the binaries and tests find the library when they run.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=VOSK_LIB_DIR");
    if std::env::var_os("CARGO_FEATURE_VOICE_VOSK").is_none() {
        return;
    }
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dir = match std::env::var_os("VOSK_LIB_DIR") {
        Some(d) if !d.is_empty() => manifest.join(PathBuf::from(d)),
        _ => manifest.join(".deps").join("vosk"),
    };
    let lib = dir.join("libvosk.so");
    println!("cargo:rerun-if-changed={}", lib.display());
    if !lib.is_file() {
        eprintln!(
            "error: the voice-vosk feature needs libvosk.so, and there is none at {}\n  \
             fix: run `bash scripts/test` (or `. scripts/lib.sh && ensure_vosk_lib`), which \
             takes it from the PyPI `vosk` wheel into .deps/vosk/; or set VOSK_LIB_DIR to a \
             directory that holds libvosk.so",
            lib.display()
        );
        std::process::exit(1);
    }
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
}
