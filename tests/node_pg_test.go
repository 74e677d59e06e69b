package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/streamsql/streamsql/internal/emulator"
)

// TestNodePg runs tests/testdata/node_pg_checks.js against the binary
// through node-postgres (pg, pinned by package-lock.json beside
// kinesalite): integers that fit 32 bits come back as numbers, BIGINT as
// strings (node-postgres's choice for int8), and parameters of several
// types. Each check the script reports is a subtest.
func TestNodePg(t *testing.T) {
	node, err := exec.LookPath("node")
	needClient(t, err, "Node.js is a prerequisite (README, Set-up on a fresh machine)")
	root, err := emulator.FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	pg := filepath.Join(root, "node_modules", "pg", "package.json")
	if _, err := os.Stat(pg); err != nil {
		err = fmt.Errorf("node-postgres is not installed (%s is missing)", pg)
		needClient(t, err, "`make deps` runs npm ci")
	}

	host, port := startOrdersServer(t)
	cmd := exec.CommandContext(clientContext(t), node, testdataPath(t, "node_pg_checks.js"), host, port)
	// node-postgres reads PG* variables; dates are read and written in the
	// process's time zone, and the expected answers are in UTC.
	cmd.Env = append(withoutPGEnv(cmd.Environ()), "TZ=UTC", "NODE_PATH="+filepath.Join(root, "node_modules"))
	runChecks(t, cmd)
}
