package tests

import (
	"fmt"
	"os/exec"
	"testing"
)

// debianPython is the interpreter Debian's python3-psycopg2 belongs to; the
// python3 on PATH may be another one, without psycopg2.
const debianPython = "/usr/bin/python3"

// TestPsycopg2 runs tests/testdata/psycopg2_checks.py against the binary
// through Debian's psycopg2: parameters of every common Python type (which
// psycopg2 interpolates as '...'::timestamp and the like), a named
// (server-side) cursor read 2 rows at a time, and copy_expert of
// COPY (SELECT ...) TO STDOUT in CSV and text. Each check the script
// reports is a subtest.
func TestPsycopg2(t *testing.T) {
	var missing error
	if out, err := exec.Command(debianPython, "-c", "import psycopg2").CombinedOutput(); err != nil {
		missing = fmt.Errorf("%s cannot import psycopg2: %v: %s", debianPython, err, out)
	}
	needClient(t, missing, "`make deps` installs python3-psycopg2")

	host, port := startOrdersServer(t)
	cmd := exec.CommandContext(clientContext(t), debianPython, testdataPath(t, "psycopg2_checks.py"), host, port)
	// libpq reads PG* variables: the developer's must not change what it does.
	cmd.Env = append(withoutPGEnv(cmd.Environ()), "PYTHONDONTWRITEBYTECODE=1")
	runChecks(t, cmd)
}
