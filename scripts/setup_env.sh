#!/usr/bin/env bash
# setup_env.sh - create or refresh the development/CI environment in <repo>/.venv:
#   1. ROS 2 Jazzy wheels, build tooling and Python deps, all from scripts/requirements-dev.txt
#      (a complete lock, installed with --no-deps);
#   2. ros_interfaces/vision_msgs, ai_msgs and tf2_msgs built with plain cmake into the
#      venv prefix;
#   3. this repository in editable mode (once setup.py exists);
#   4. the NPU vendors' real runtime wheels, unpacked into .vendor/ (fetch_vendor_wheels.sh).
# Idempotent: .venv/.setup_env.stamp records a hash of each step's inputs; a re-run with
# nothing changed does not call pip or cmake. `--clean` deletes .venv first.
# Needs only python3 (3.11), gcc/g++ and cmake. Afterwards: `. scripts/env.sh`.
# Another venv from another lock (setup_humble_env.sh: .venv-humble, Python 3.10): set
# EP_VENV (absolute or relative to the repository), EP_REQ, PYTHON and EP_PYTHON_VERSION.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${EP_VENV:-.venv}"
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
REQ="${EP_REQ:-$ROOT/scripts/requirements-dev.txt}"
INTERFACES="vision_msgs ai_msgs tf2_msgs"      # folders of ros_interfaces/ built into the venv
STAMP="$VENV/.setup_env.stamp"
PYTHON="${PYTHON:-python3}"

TAG="${EP_TAG:-setup_env}"
# shellcheck disable=SC1091
. "$ROOT/scripts/venv_lib.sh"

[ "${1:-}" = "--clean" ] && { log "removing $VENV"; rm -rf "$VENV"; }
SELF="$ROOT/scripts/setup_env.sh"
T0=$SECONDS

# --- 0. the venv itself (recreated if its interpreter is gone or changed) -------------------
ensure_venv "${EP_PYTHON_VERSION:-3.11}"

# --- 1. Python packages (ROS wheels, build tooling, deps) -----------------------------------
H_DEPS="$(hash_of "$SELF" "$REQ")"
if ! done_already deps "$H_DEPS"; then
    install_lock
    # The wheels' exported cmake files name their build host's Python/numpy include dirs.
    inc="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
    npinc="$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')"
    { grep -rlZ --include='*.cmake' '/opt/python/' "$VENV/share" "$VENV/lib" 2>/dev/null || true; } \
        | xargs -0 -r sed -i \
            -e "s#/opt/python/[^;\" ]*/site-packages/numpy/_\{0,1\}core/include#$npinc#g" \
            -e "s#/opt/python/cp3[0-9]*-cp3[0-9]*/include/python3\.[0-9]*#$inc#g"
    left="$(grep -rl --include='*.cmake' '/opt/python/' "$VENV/share" "$VENV/lib" 2>/dev/null || true)"
    [ -z "$left" ] || die "cmake files still name /opt/python: $left"
    mark_done deps "$H_DEPS"
fi

# --- 2. interface packages (our copies of vision_msgs (Humble) and TROS ai_msgs) ----------
# Each is built with plain cmake into the venv prefix, in this order (no dependencies between
# them), and rebuilt only when its files (or this script or the lock) change.
build_interface() {
    local name="$1" dir="$ROOT/ros_interfaces/$1" h bdir blog
    h="$(hash_of "$SELF" "$REQ" $(find "$dir" -type f | LC_ALL=C sort))"
    done_already "$name" "$h" && return 0
    log "building $name with cmake (log: $VENV/build/$name.log)"
    bdir="$VENV/build/$name"
    blog="$VENV/build/$name.log"
    mkdir -p "$bdir"
    if ! (
        export AMENT_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
        cmake -S "$dir" -B "$bdir" -DCMAKE_INSTALL_PREFIX="$VENV" \
            -DCMAKE_PREFIX_PATH="$VENV" -DPython3_EXECUTABLE="$VENV/bin/python" \
            -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release
        cmake --build "$bdir" -j "$(nproc)"
        cmake --install "$bdir"
    ) > "$blog" 2>&1; then
        tail -n 40 "$blog" >&2
        die "$name build failed (full log: $blog)"
    fi
    mark_done "$name" "$h"
}
for iface in $INTERFACES; do
    build_interface "$iface"
done

# --- 3. this package, editable ---------------------------------------------------------------
pkg_files=()
for f in setup.py setup.cfg pyproject.toml package.xml edge_perception/_native.c; do
    [ -f "$ROOT/$f" ] && pkg_files+=("$ROOT/$f")
done
if [ -f "$ROOT/setup.py" ]; then
    H_PKG="$(hash_of "$SELF" "$REQ" "${pkg_files[@]}")"
    if ! done_already package "$H_PKG"; then
        log "installing this repository (pip -e, --no-deps)"
        # PEP 660 editable: console scripts land in .venv/bin; setup.py develop (pip's default
        # here) would put them in .venv/lib/<pkg> (setup.cfg) and leave them off PATH.
        pip_q install --no-deps --no-build-isolation --use-pep517 --progress-bar off -q -e "$ROOT"
        # An editable install skips data_files: register the package in the ament index and
        # link its share dir to the sources, so get_package_share_directory() works.
        pkg="$(cd "$ROOT" && "$VENV/bin/python" setup.py --name 2>/dev/null | tail -n 1)"
        mkdir -p "$VENV/share/ament_index/resource_index/packages" "$VENV/share/$pkg"
        touch "$VENV/share/ament_index/resource_index/packages/$pkg"
        for f in package.xml launch config models; do
            [ -e "$ROOT/$f" ] && ln -sfn "$ROOT/$f" "$VENV/share/$pkg/$f"
        done
        mark_done package "$H_PKG"
    fi
else
    log "no setup.py yet: skipping the editable install of this repository"
fi

# --- 4. the vendors' real runtime wheels (aarch64, read/partly run by the contract tests) ----
bash "$ROOT/scripts/fetch_vendor_wheels.sh"

# --- check --------------------------------------------------------------------------------
# shellcheck disable=SC1091
EP_VENV="$VENV" . "$ROOT/scripts/env.sh"
python -c 'import rclpy, vision_msgs.msg, ai_msgs.msg, tf2_msgs.msg, sensor_msgs.msg' \
    || die "the environment does not import rclpy/vision_msgs/ai_msgs/tf2_msgs"
log "ready in $((SECONDS - T0)) s; use it with:" \
    "$([ "$VENV" = "$ROOT/.venv" ] || echo "EP_VENV=${VENV#"$ROOT"/} "). scripts/env.sh"
