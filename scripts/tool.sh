# Sourced by scripts/hunt, scripts/replay, scripts/fig16 and scripts/merge (not a command of its own).
# run_tool NAME ARGS...: has cargo bring the release binary NAME up to date, then runs it in
# the caller's directory, so relative paths in ARGS are the caller's. cargo checks in well
# under a second when nothing changed, and then nothing is printed; a build that takes longer
# (the first one takes minutes) is announced on stderr, so that a first run is not silent.
# Respects CARGO_TARGET_DIR. `hunt` and `replay` run our reference Raft, so they are binaries
# of the raft-reference package (reference/); `merge` is the scripts package's.
run_tool() {
  local name="$1"
  shift
  local root manifest package=scripts
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  manifest="$root/Cargo.toml"
  if [ "$name" != merge ]; then
    package=raft-reference
    if [ ! -f "$root/reference/Cargo.toml" ]; then
      echo "scripts/$name runs this repository's reference Raft, which this copy of the harness" \
        "does not include. Hunt and replay your own Raft with its own binaries: see" \
        "scripts/README.md, \"Your own Raft\"." >&2
      exit 2
    fi
  fi
  (
    sleep 1 </dev/null >/dev/null 2>&1
    echo "scripts/$name: building the release binary (first run, or the sources changed; the first build takes a few minutes)…" >&2
  ) &
  local announcer=$!
  # shellcheck disable=SC2064 # the pid is known now
  trap "kill $announcer 2>/dev/null || true" EXIT
  local status=0
  cargo build --release -q --manifest-path "$manifest" -p "$package" --bin "$name" || status=$?
  kill "$announcer" 2>/dev/null || true
  wait "$announcer" 2>/dev/null || true
  trap - EXIT
  if [ "$status" -ne 0 ]; then
    exit "$status"
  fi
  exec cargo run --release -q --manifest-path "$manifest" -p "$package" --bin "$name" -- "$@"
}
