#!/usr/bin/env bash
# demo.sh - README command 1: set up the environment (idempotent), then run the ROS 2 demo graph
# on the CPU default: sample pictures -> detector_node (fall-detection YOLOv8s, ONNX Runtime)
# -> annotated PNGs, overview.png and detections.json in out/demo/. Extra args go to
# `edge-perception demo` (e.g. --output DIR, --model CARD).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
# shellcheck disable=SC1091
. "$ROOT/scripts/env.sh"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( (RANDOM % 90) + 10 ))}"
export ROS_LOG_DIR="${ROS_LOG_DIR:-$ROOT/out/ros_log}"
cd "$ROOT"
exec edge-perception demo --output "$ROOT/out/demo" "$@"
