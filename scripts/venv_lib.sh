# venv_lib.sh - helpers shared by setup_env.sh and setup_tools_env.sh (source it; not a script).
# Expects: TAG (log prefix), VENV (the venv folder), STAMP (the stamp file of done steps).

log() { printf '[%s] %s\n' "$TAG" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$TAG" "$*" >&2; exit 1; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
# A step is done when the stamp holds its name with the hash of its current inputs.
done_already() { [ -f "$STAMP" ] && grep -qx "$1 $2" "$STAMP"; }
mark_done() {
    { grep -v "^$1 " "$STAMP" 2>/dev/null || true; echo "$1 $2"; } > "$STAMP.tmp"
    mv "$STAMP.tmp" "$STAMP"
}
# pip, minus this machine's noise about absent local index directories.
pip_q() {
    "$VENV/bin/python" -m pip --disable-pip-version-check "$@" 2>&1 \
        | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
}
