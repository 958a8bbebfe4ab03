//! Build script: only the `voice-vosk` feature needs it. It tells the linker
//! where libvosk.so is (`VOSK_LIB_DIR`, default `.deps/vosk` in this
//! checkout, where `scripts/lib.sh`'s `ensure_vosk_lib` puts it) and adds an
//! rpath so the binaries and tests find the library when they run.
//!
//! The rpath is that directory, unless `MATCOACH_VOSK_RPATH` names another:
//! the Debian package (`scripts/package`) links against the wheel's library
//! in `.deps/vosk-<arch>/` but installs it as `/usr/lib/matcoach/libvosk.so`,
//! so it builds with `MATCOACH_VOSK_RPATH=/usr/lib/matcoach`.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=VOSK_LIB_DIR");
    println!("cargo:rerun-if-env-changed=MATCOACH_VOSK_RPATH");
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
    let target_arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if let Some(lib_arch) = elf_arch(&lib) {
        if !target_arch.is_empty() && lib_arch != target_arch {
            // scripts/lib.sh names the wheels' architectures as uname -m does.
            let wheel_arch = if target_arch == "arm" {
                "armv7l"
            } else {
                target_arch.as_str()
            };
            eprintln!(
                "error: {} is built for {lib_arch}, but this build is for {target_arch}\n  \
                 fix: point VOSK_LIB_DIR at a libvosk.so for {target_arch}; \
                 `. scripts/lib.sh && ensure_vosk_lib {wheel_arch}` fetches one from the PyPI \
                 `vosk` wheel and sets VOSK_LIB_DIR (scripts/package does this)",
                lib.display()
            );
            std::process::exit(1);
        }
    }
    println!("cargo:rustc-link-search=native={}", dir.display());
    let rpath = match std::env::var("MATCOACH_VOSK_RPATH") {
        Ok(r) if !r.is_empty() => r,
        _ => dir.display().to_string(),
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{rpath}");
}

/// The architecture of an ELF file, in Rust's `target_arch` names, when it
/// is one this project builds for; `None` when it cannot be told.
fn elf_arch(path: &Path) -> Option<&'static str> {
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    if &header[..4] != b"\x7fELF" {
        return None;
    }
    // e_machine, in the file's byte order (EI_DATA: 1 = little endian).
    let machine = if header[5] == 1 {
        u16::from_le_bytes([header[18], header[19]])
    } else {
        u16::from_be_bytes([header[18], header[19]])
    };
    match machine {
        0x3e => Some("x86_64"),
        0xb7 => Some("aarch64"),
        0x28 => Some("arm"),
        0x03 => Some("x86"),
        _ => None,
    }
}
