#!/usr/bin/env bash
# The API's contract under fuzzing (docs/architecture.md, "API contract"): a fresh database
# with the demo world, gunicorn with production settings, and schemathesis generating
# requests from /api/schema/ and checking every answer against it.
#
#   tests/contract/fuzz.sh                      SQLite file in a temporary directory
#   DATABASE_URL=postgres://.../parkshare_fuzz tests/contract/fuzz.sh
#                                               that PostgreSQL database, emptied first
#
# FUZZ_MAX_EXAMPLES (cases per operation and phase), FUZZ_SEED, FUZZ_PORT, FUZZ_WORKERS and
# FUZZ_CHECKS (schemathesis's --checks) tune the run; BIN is the directory of the
# virtualenv's executables. Any failed check, or a server that does not start, exits
# non-zero.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=$(cd "${BIN:-.venv/bin}" && pwd)
PORT=${FUZZ_PORT:-8765}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-10}
SEED=${FUZZ_SEED:-20261206}
WORKERS=${FUZZ_WORKERS:-2}
CHECKS=${FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance}
BASE="http://127.0.0.1:${PORT}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/parkshare-fuzz.XXXXXX")
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# Production settings: DEBUG off, a key of this run only, the host the fuzzer calls.
export DEBUG=false
SECRET_KEY=$("$BIN/python" -c "import secrets; print(secrets.token_urlsafe(50))")
export SECRET_KEY
export ALLOWED_HOSTS=127.0.0.1
export SECURE_SSL_REDIRECT=false
# Throttles answer 429 long before a fuzzer has covered the API.
export THROTTLE_ANON=100000/min THROTTLE_USER_READ=100000/min
export THROTTLE_USER_WRITE=100000/min THROTTLE_MATCHING_RUN=100000/min
export THROTTLE_EXPENSIVE_LIST=100000/min
# Tasks run in the server's process after each commit, as without a broker in development.
export CELERY_BROKER_URL="" REDIS_URL=""

if [[ -n "${DATABASE_URL:-}" ]]; then
  echo "== fuzz database: ${DATABASE_URL##*/} (PostgreSQL), emptied"
  psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 \
    -c "DROP SCHEMA public CASCADE" -c "CREATE SCHEMA public" >/dev/null
else
  export DATABASE_URL="sqlite:///${WORK}/fuzz.sqlite3"
  echo "== fuzz database: ${WORK}/fuzz.sqlite3 (SQLite)"
fi

"$BIN/python" manage.py migrate --no-input --verbosity 0
"$BIN/python" manage.py seed_demo --verbosity 0 --accounts-json "$WORK/accounts.json"
# An enterprise admin: the role that may write the most of the API.
FUZZ_USER=$("$BIN/python" -c "
import json, sys
accounts = json.load(open(sys.argv[1]))
print(next(a['username'] for a in accounts if a['role'] == 'enterprise_admin'))
" "$WORK/accounts.json")
TOKEN=$("$BIN/python" manage.py issue_api_token --user "$FUZZ_USER" --days 1 | tail -n 1)

echo "== gunicorn on ${BASE} (DEBUG off), fuzzing as ${FUZZ_USER}"
if curl -s -o /dev/null "${BASE}/" 2>/dev/null; then
  echo "Port ${PORT} is already taken: set FUZZ_PORT." >&2
  exit 1
fi
# --limit-request-line 0: long query strings reach Django, whose answer is the one tested.
"$BIN/gunicorn" config.wsgi:application --bind "127.0.0.1:${PORT}" --workers 2 \
  --limit-request-line 0 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 60); do
  curl -fsS -o /dev/null "${BASE}/healthz" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.5
done
curl -fsS -o /dev/null "${BASE}/healthz"

echo "== schemathesis: ${MAX_EXAMPLES} cases per operation and phase, seed ${SEED}"
status=0
# Run from the temporary directory: schemathesis keeps its crash cache in the working
# directory, and a fresh run must not replay an earlier run's cases.
(cd "$WORK" && "$BIN/schemathesis" --no-color run "${BASE}/api/schema/" \
  --header "Authorization: Bearer ${TOKEN}" \
  --checks "$CHECKS" \
  --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers "$WORKERS" \
  --request-timeout 30 --warnings off) || status=$?
# The park reports refuse every enterprise role (403): a park's regulator fuzzes them too,
# so that their answers (JSON, CSV, XLSX) are checked against the schema as well.
REGULATOR=$("$BIN/python" -c "
import json, sys
accounts = json.load(open(sys.argv[1]))
print(next(a['username'] for a in accounts if a['role'] == 'regulator'))
" "$WORK/accounts.json")
REGULATOR_TOKEN=$("$BIN/python" manage.py issue_api_token --user "$REGULATOR" --days 1 | tail -n 1)
echo "== schemathesis: the park reports as ${REGULATOR}"
(cd "$WORK" && "$BIN/schemathesis" --no-color run "${BASE}/api/schema/" \
  --header "Authorization: Bearer ${REGULATOR_TOKEN}" \
  --include-path-regex '^/api/v1/reports/' \
  --checks "$CHECKS" \
  --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers "$WORKERS" \
  --request-timeout 30 --warnings off) || status=$?
if [[ $status -ne 0 ]]; then
  echo "== server errors logged by the server (each with its traceback)"
  awk '/ ERROR /{show=1} / (INFO|WARNING) /{show=0} show' "$WORK/server.log" | tail -n 200 || true
fi
exit "$status"
