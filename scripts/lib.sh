# Shared set-up for scripts/demo and scripts/test: installs what is missing,
# so both work on a bare Debian or Raspberry Pi OS. Sourced, not run.
set -euo pipefail

log() { printf 'matcoach setup: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else log "need root for: $*  (install sudo or run as root)"; return 1
    fi
}

APT_UPDATED=0
# ensure_apt PKG...: install the Debian packages that are not installed yet.
ensure_apt() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    if [ "$APT_UPDATED" -eq 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_rust: a Rust toolchain new enough for Cargo.toml's rust-version,
# with rustfmt and clippy.
ensure_rust() {
    [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
    if ! command -v cargo >/dev/null 2>&1; then
        ensure_apt curl ca-certificates build-essential pkg-config
        log "installing Rust with rustup"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal \
            || { log "could not install Rust: install it from https://rustup.rs and run this again"; return 1; }
        . "$HOME/.cargo/env"
    fi
    if command -v rustup >/dev/null 2>&1; then
        for c in rustfmt clippy; do
            rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
        done
    fi
    command -v cc >/dev/null 2>&1 || ensure_apt build-essential
    ensure_apt pkg-config
}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
