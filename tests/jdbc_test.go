package tests

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// pgjdbcJar is where Debian's libpostgresql-jdbc-java (pgjdbc 42.5) puts
// the driver; `make deps` installs it.
const pgjdbcJar = "/usr/share/java/postgresql.jar"

// TestJDBC runs tests/testdata/jdbc/JdbcChecks.java, compiled here with
// javac, against the binary through Debian's pgjdbc: DatabaseMetaData
// (getTables, getColumns, getSchemas, getPrimaryKeys) as JDBC tools read
// it, typed setters in WHERE clauses, and a fetch-size cursor with
// autocommit off. Each check the program reports is a subtest.
func TestJDBC(t *testing.T) {
	javac, err := exec.LookPath("javac")
	needClient(t, err, "`make deps` installs default-jdk-headless")
	java, err := exec.LookPath("java")
	needClient(t, err, "`make deps` installs default-jdk-headless")
	if _, err := os.Stat(pgjdbcJar); err != nil {
		needClient(t, errors.New("pgjdbc is not at "+pgjdbcJar), "`make deps` installs libpostgresql-jdbc-java")
	}

	classes := t.TempDir()
	ctx := clientContext(t)
	compile := exec.CommandContext(ctx, javac, "-encoding", "UTF-8", "-d", classes, "-cp", pgjdbcJar,
		testdataPath(t, "jdbc/JdbcChecks.java"))
	if out, err := compile.CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}

	host, port := startOrdersServer(t)
	ctx = clientContext(t)
	// UTC: setTimestamp, setDate and getTimestamp convert through the JVM's
	// time zone, and the expected answers are written in UTC.
	runChecks(t, exec.CommandContext(ctx, java, "-Duser.timezone=UTC",
		"-cp", classes+string(filepath.ListSeparator)+pgjdbcJar, "JdbcChecks", host, port))
}
