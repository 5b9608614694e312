#!/usr/bin/env bash
# Build KenLM's `lmplz` (ARPA estimation) and `build_binary` (ARPA -> mmap-able binary) and put them in VENV/bin.
#
#   bash scripts/build_kenlm.sh [VENV_DIR]        (default: .venv, relative to the repository root)
#
# Why from source: the `kenlm` wheel on PyPI ships only the Python query module; the estimation tools exist
# only as C++ source, which the PyPI source distribution carries whole (lm/builder included). We build that
# sdist, at the same version as the venv's `kenlm` module, with cmake against Debian's Boost.
# Idempotent: binaries that already exist and run are kept (a second run takes well under a second); the sdist
# and the cmake build tree are cached under ${XDG_CACHE_HOME:-~/.cache}/asr-bench/kenlm, so a new venv only
# re-copies the binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(realpath -m "${1:-.venv}")
BIN="$VENV/bin"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/asr-bench/kenlm"
DEBIAN_PACKAGES=(cmake g++ make libboost-program-options-dev libboost-system-dev libboost-thread-dev
                 libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev)

say() { echo "build_kenlm: $*"; }
die() { echo "build_kenlm: error: $*" >&2; exit 1; }

# A binary "runs" when it starts and prints its usage: that catches missing shared libraries (e.g. a Boost
# upgrade) as well as missing files. The exit status of --help differs between the two tools, so the text is what
# is checked (captured whole: `| grep -q` would close the pipe early and fail under pipefail).
runs() { local usage; usage=$("$1" --help 2>&1 || true); [[ "$usage" == *"$2"* ]]; }
if [ -x "$BIN/lmplz" ] && [ -x "$BIN/build_binary" ] && runs "$BIN/lmplz" "Kneser-Ney" && runs "$BIN/build_binary" "ARPA"; then
    say "lmplz and build_binary already in $BIN"
    exit 0
fi
[ -x "$VENV/bin/python" ] || die "$VENV/bin/python not found: expected a virtual environment (run scripts/setup.sh)"

missing_packages() {
    command -v dpkg-query >/dev/null || return 0  # not Debian: cmake will say what is missing
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
    done
}
missing=$(missing_packages | tr '\n' ' ')
if [ -n "${missing// /}" ]; then
    if [ "$(id -u)" = 0 ]; then sudo=""
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"
    else die "missing build dependencies: $missing; install them with: sudo apt-get install $missing"
    fi
    say "installing $missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

# The venv's kenlm module version, so the tools and the query module read the same formats.
version=$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('kenlm'))" 2>/dev/null || true)
spec="kenlm${version:+==$version}"
mkdir -p "$CACHE"
sdist=$(ls "$CACHE"/kenlm-"${version:-}"*.tar.gz 2>/dev/null | head -n 1 || true)
if [ -z "$sdist" ]; then
    say "downloading the $spec source distribution"
    # --no-binary for kenlm only: ':all:' would also build pip's build dependencies from source (many minutes).
    "$VENV/bin/python" -m pip download --quiet --no-deps --no-binary kenlm "$spec" -d "$CACHE" \
        || die "pip could not download the $spec sdist from PyPI"
    sdist=$(ls "$CACHE"/kenlm-*.tar.gz | head -n 1)
fi
src="$CACHE/$(basename "$sdist" .tar.gz)"
if [ ! -f "$src/lm/builder/lmplz_main.cc" ]; then
    rm -rf "$src"
    tar -xzf "$sdist" -C "$CACHE"
    [ -f "$src/lm/builder/lmplz_main.cc" ] || die "$sdist has no lm/builder/lmplz_main.cc: expected KenLM's full C++ tree"
fi

build="$src/build"
say "building lmplz and build_binary in $build with $(nproc) jobs"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCOMPILE_TESTS=OFF -DENABLE_PYTHON=OFF >"$CACHE/cmake.log" 2>&1 \
    || die "cmake configure failed; see $CACHE/cmake.log"
cmake --build "$build" --target lmplz build_binary -j"$(nproc)" >"$CACHE/build.log" 2>&1 \
    || die "build failed; see $CACHE/build.log"
mkdir -p "$BIN"
install -m 755 "$build/bin/lmplz" "$build/bin/build_binary" "$BIN/"
runs "$BIN/lmplz" "Kneser-Ney" || die "$BIN/lmplz was built but does not run"
say "installed $BIN/lmplz and $BIN/build_binary ($spec)"
