#!/usr/bin/env bash
# The test suite (`make test`; arguments go to pytest). With TEST_PROCESSES=1 (the default:
# most tests here are bound by the two cores, and share them badly) it is one pytest run.
# With more, for a machine with the cores to spare, it runs in two parts:
#   1. every test not marked `serial`, spread over TEST_PROCESSES pytest processes (pytest-xdist,
#      a module to a process); each process has a slot of the services of its own (its database,
#      Redis database, key and index prefixes: tests/environment.py) and its own server and
#      workers;
#   2. the `serial` tests alone: they stop a service every process shares, or pause the
#      replica's replay, which the others would see.
# Both parts always run; the exit status is the first failure's (pytest's 5, no test selected,
# counts as none: an argument naming one part's tests selects nothing in the other; it is the
# status when neither part selects one).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
TEST_PROCESSES=${TEST_PROCESSES:-1}

if ((TEST_PROCESSES <= 1)); then
  exec "$PY" -m pytest "$@"
fi

status=0 selected=0
run() {
  "$PY" -m pytest "$@"
  local code=$?
  if ((code != 5)); then selected=1; fi
  if ((code != 0 && code != 5 && status == 0)); then status=$code; fi
  if ((code == 2)); then exit 2; fi # interrupted (Ctrl-C): the other part is not wanted
}

run -n "$TEST_PROCESSES" --dist loadscope -m "not serial" "$@"
run -m serial "$@"
if ((!selected)); then exit 5; fi # neither part selected a test
exit "$status"
