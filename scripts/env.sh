# env.sh - source this (`. scripts/env.sh`) after scripts/setup_env.sh.
# Activates .venv (or $EP_VENV, absolute or relative to the repository: `EP_VENV=.venv-humble
# . scripts/env.sh` after scripts/setup_humble_env.sh) and sets a deterministic ROS 2 (Jazzy
# wheels) environment:
#   - LD_LIBRARY_PATH + _ROS_WHEELS_BOOTSTRAP_COMPLETE=1, so the wheels' .pth bootstrapper
#     does not re-exec every interpreter (child processes must inherit BOTH variables);
#   - Fast DDS on loopback only, with scripts/fastdds_profile.xml (16 MB SHM + UDPv4);
#   - message field type checks on (Humble always checks them).
# Per-run settings (ROS_DOMAIN_ID, ROS_LOG_DIR) are left to the caller/tests.
# Safe to source more than once and under `set -euo pipefail`.

_ep_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_ep_venv="${EP_VENV:-.venv}"
case "$_ep_venv" in /*) ;; *) _ep_venv="$_ep_root/$_ep_venv" ;; esac

if [ ! -x "$_ep_venv/bin/python" ]; then
    case "$_ep_venv" in
        */.venv-humble) _ep_setup=setup_humble_env.sh ;;
        *) _ep_setup=setup_env.sh ;;
    esac
    echo "env.sh: $_ep_venv missing; run: bash $_ep_root/scripts/$_ep_setup" >&2
    unset _ep_setup
    unset _ep_root _ep_venv
    return 1 2>/dev/null || exit 1
fi

# shellcheck disable=SC1091
. "$_ep_venv/bin/activate"

# <venv>/lib (ROS core libs, vision_msgs typesupport) + every ros_*.libs dir, in a fixed order.
_ep_ld="$_ep_venv/lib"
for _ep_d in $(printf '%s\n' "$_ep_venv"/lib/python3.*/site-packages/ros_*.libs | LC_ALL=C sort); do
    [ -d "$_ep_d" ] && _ep_ld="$_ep_ld:$_ep_d"
done
export LD_LIBRARY_PATH="$_ep_ld"
export _ROS_WHEELS_BOOTSTRAP_COMPLETE=1

# What a sourced ROS install would provide; the venv is the only prefix.
export ROS_VERSION=2 ROS_PYTHON_VERSION=3 ROS_DISTRO=jazzy
export AMENT_PREFIX_PATH="$_ep_venv"
export CMAKE_PREFIX_PATH="$_ep_venv"
export RMW_IMPLEMENTATION=rmw_fastrtps_cpp
export ROS_PYTHON_CHECK_FIELDS=1

# Discovery on loopback only (Jazzy+). ROS_LOCALHOST_ONLY is the Humble way; on Jazzy it is
# deprecated, warns on every init and overrides the range, so it is removed here.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
unset ROS_LOCALHOST_ONLY ROS_STATIC_PEERS FASTDDS_BUILTIN_TRANSPORTS RMW_FASTRTPS_USE_QOS_FROM_XML

# Fast DDS 2.x (Humble, Jazzy) reads FASTRTPS_*, Fast DDS 3.x (Kilted) reads FASTDDS_*.
export FASTRTPS_DEFAULT_PROFILES_FILE="$_ep_root/scripts/fastdds_profile.xml"
export FASTDDS_DEFAULT_PROFILES_FILE="$FASTRTPS_DEFAULT_PROFILES_FILE"

# rclpy.init() fails when neither HOME nor ROS_LOG_DIR gives a usable log directory.
if [ -z "${ROS_LOG_DIR:-}" ] && { [ -z "${HOME:-}" ] || [ ! -w "${HOME}" ]; }; then
    export ROS_LOG_DIR="${TMPDIR:-/tmp}/edge_perception-ros-log"
fi

unset _ep_root _ep_venv _ep_ld _ep_d
