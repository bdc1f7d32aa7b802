#!/usr/bin/env bash
# setup_export_env.sh [--clean] - the "export" model-toolchain environment (.venv-export); see
# setup_tool_env.sh.
exec bash "$(dirname "${BASH_SOURCE[0]}")/setup_tool_env.sh" export "$@"
