#!/usr/bin/env bash
# setup_tools_env.sh [--clean] - the "tools" model-toolchain environment (.venv-tools); see
# setup_tool_env.sh.
exec bash "$(dirname "${BASH_SOURCE[0]}")/setup_tool_env.sh" tools "$@"
