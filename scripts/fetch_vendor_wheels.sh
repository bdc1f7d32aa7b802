#!/usr/bin/env bash
# fetch_vendor_wheels.sh - download the NPU vendors' real Python runtime packages (aarch64
# wheels, never committed) and unpack them into <repo>/.vendor/<name>/, for the tests that hold
# our backends and fakes against the real artifacts:
#   rknn-toolkit-lite2 2.5.0   rknnlite/api/rknn_lite.py is plain Python (the real RKNNLite);
#                              its compiled helpers are aarch64 and are replaced in the tests;
#   hobot-dnn-rdkx5 3.0.6      hobot_dnn_rdkx5/pyeasy_dnn.so (aarch64, symbols intact: read only);
#   hbm-runtime 0.1.0.post1    hbm_runtime/HB_HBMRuntime.pyi (type stub of the whole API).
# Idempotent: a wheel already unpacked is not downloaded again. Needs pip (any Python).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.vendor"
PYTHON="${PYTHON:-python3}"
TAG=fetch_vendor_wheels
log() { printf '[%s] %s\n' "$TAG" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$TAG" "$*" >&2; exit 1; }

# name==version | pip download options (the wheels exist for aarch64 only)
WHEELS=(
    "rknn-toolkit-lite2==2.5.0|--only-binary=:all: --platform manylinux2014_aarch64 --python-version 3.10"
    "hobot-dnn-rdkx5==3.0.6|"
    "hbm-runtime==0.1.0.post1|--only-binary=:all: --platform manylinux_2_34_aarch64 --python-version 3.10"
)
mkdir -p "$DEST/wheels"
for entry in "${WHEELS[@]}"; do
    req="${entry%%|*}" opts="${entry#*|}"
    name="${req%%==*}"
    out="$DEST/$name"
    [ -f "$out/.unpacked" ] && grep -qx "$req" "$out/.unpacked" && continue
    log "downloading $req (aarch64 wheel, unpacked to $out)"
    rm -rf "$out" && mkdir -p "$out"
    # shellcheck disable=SC2086
    "$PYTHON" -m pip --disable-pip-version-check download --no-deps -q $opts \
        -d "$DEST/wheels" "$req" 2>&1 | { grep -v 'is ignored: it is neither' || true; }
    whl="$(ls "$DEST/wheels/$(echo "$name" | tr - _)"-"${req##*==}"-*.whl 2>/dev/null | head -n 1)"
    [ -n "$whl" ] || die "pip download $req gave no wheel"
    "$PYTHON" -m zipfile -e "$whl" "$out" || die "cannot unpack $whl"
    echo "$req" > "$out/.unpacked"
done
log "vendor wheels in $DEST: $(ls "$DEST" | grep -v wheels | tr '\n' ' ')"
