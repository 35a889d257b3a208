# Fuzzes the live API with schemathesis: serves the app with gunicorn (`crmbridge serve`) on a fresh database,
# signs in as a development organizer and runs every operation of /api/openapi.json through schemathesis with
# the checks for server errors and response conformance. Source it (after common.sh); call fuzz_api LABEL [URL].
# URL: a PostgreSQL server (a throwaway schema is made on it); without one, a fresh SQLite file.

FUZZ_CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"

fuzz_api() {
  local label="$1" server_url="${2:-}" dir port token pid schema="" status=0
  dir=$(mktemp -d /tmp/crmbridge-fuzz.XXXXXX)
  port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  (
    export CRMBRIDGE_ENV=test CRMBRIDGE_INSTANCE_PATH="$dir" CRMBRIDGE_ORG_DOMAINS=contoso.com
    export CRMBRIDGE_SECRET_KEY="fuzz-$RANDOM-$RANDOM-$RANDOM-$RANDOM-$RANDOM"
    if [ -n "$server_url" ]; then
      schema="fuzz_$RANDOM$RANDOM"
      DATABASE_URL=$("$PY" - "$server_url" "$schema" <<'PYEOF'
import sys
import sqlalchemy as sa
from crmbridge.config import database_url
url, schema = database_url(sys.argv[1], "."), sys.argv[2]
engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
with engine.begin() as connection:
    connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
print(url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}")
PYEOF
)
      export DATABASE_URL
    else
      unset DATABASE_URL
    fi
    "$VENV/bin/crmbridge" db upgrade >/dev/null
    "$VENV/bin/crmbridge" serve --port "$port" --workers 2 >"$dir/server.log" 2>&1 &
    pid=$!
    trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT
    token=$("$VENV/bin/crmbridge" dev-token anna@contoso.com)
    "$VENV/bin/schemathesis" run "http://127.0.0.1:$port/api/openapi.json" \
      --wait-for-schema 60 --checks "$FUZZ_CHECKS" --header "Authorization: Bearer $token" \
      --phases examples,coverage,fuzzing,stateful --max-examples "${FUZZ_EXAMPLES:-100}" \
      --generation-database none --no-color --workers 2 \
      >"$dir/schemathesis.log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then cat "$dir/schemathesis.log"; else tail -n 25 "$dir/schemathesis.log"; fi
    # gunicorn's access log has one line per request: '127.0.0.1 "GET /api/..." 404 123 4ms'.
    "$PY" - "$label" "$dir/server.log" <<'PYEOF' || status=1
import re, sys
from pathlib import Path
label, server_log = sys.argv[1], Path(sys.argv[2])
answers = re.findall(r'" (\d{3}) ', server_log.read_text())
five_xx = sum(1 for code in answers if code.startswith("5"))
print(f"fuzz {label}: {len(answers)} requests served, {five_xx} answered 5xx")
sys.exit(1 if five_xx or len(answers) < 1000 else 0)
PYEOF
    exit "$status"
  ) || status=$?
  rm -rf "$dir"
  return "$status"
}
