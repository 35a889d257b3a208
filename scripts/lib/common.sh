# Shared by scripts/dev and scripts/test. Source it; do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Create .venv if missing and install the project (editable) with the given extras, once per change of
# pyproject.toml, so a second run starts at once.
ensure_venv() {
  local extras="${1:-}"
  command -v python3 >/dev/null || die "python3 is needed (3.11 or newer)."
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11 or newer is needed."
  if [ ! -x "$PY" ]; then
    say "Creating .venv"
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-${extras:-base}"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    say "Installing crmbridge${extras:+ [$extras]} into .venv"
    "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$PY" -m pip install --quiet --disable-pip-version-check -e "$ROOT${extras:+[$extras]}"
    touch "$stamp"
  fi
}

# Install Debian packages when they are missing: as root directly, otherwise through sudo if it works without
# a password. Returns non-zero when they cannot be installed.
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then sudo="sudo -n"; else return 1; fi
  fi
  say "Installing ${missing[*]} (Debian packages)"
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Node.js and npm (Debian's, installed where possible) and node_modules as package-lock.json pins them: `npm ci`
# runs when node_modules is missing or older than the lockfile. Without Node.js it says what is lost ($2) and
# returns 1; in CI (CI=true) that is a failure. $1 names the job, for the messages.
ensure_npm_packages() {
  local job="$1" lost="$2"
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm 2>/dev/null || true
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    [ "${CI:-}" = "true" ] && die "CI needs Node.js and npm to $job, and they could not be installed."
    say "Node.js and npm are missing: $lost (Debian: apt-get install nodejs npm)"
    return 1
  fi
  local installed="$ROOT/node_modules/.package-lock.json"
  if [ ! -f "$installed" ] || [ "$ROOT/package-lock.json" -nt "$installed" ]; then
    say "Installing the taskpane's npm packages (npm ci)"
    # No install scripts: esbuild's binary comes in its platform package; nothing else needs one.
    (cd "$ROOT" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  fi
}

pg_bin_dir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

# Start a throwaway PostgreSQL cluster on 127.0.0.1 and export TEST_DATABASE_URL. Stopped by stop_postgres.
start_postgres() {
  local bin port user
  bin=$(pg_bin_dir) || return 1
  PG_DIR=$(mktemp -d /tmp/crmbridge-pg.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  user=$(id -un)
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    # initdb refuses to run as root; the postgresql package brings a postgres user.
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_DIR"
    run=(runuser -u postgres --)
    user=postgres
  fi
  "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -U "$user" --auth=trust -E UTF8 >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_DIR -c fsync=off" start >/dev/null
  PG_RUN=("${run[@]}")
  PG_BIN="$bin"
  export TEST_DATABASE_URL="postgresql://$user@127.0.0.1:$port/postgres"
}

stop_postgres() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
