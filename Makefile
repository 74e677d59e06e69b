# streamsql's build, test and demo entry points. CI runs `make test` (.ci/run)
# on a fresh clone with only Go and Node.js installed: every other thing the
# tests need is installed by `deps`.

GO  ?= go
NPM ?= npm
# apt-get needs root; CI is root, a developer may need sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps node-deps clients go-deps build vet test fuzz demo bench clean

all: build

# npm writes node_modules/.package-lock.json on every install, so it is
# older than package-lock.json exactly when node_modules is stale.
node_modules/.package-lock.json: package.json package-lock.json
	@echo "installing kinesalite, dynalite and s3rver, the Kinesis, DynamoDB and S3 emulators (npm ci)"
	$(NPM) ci --no-audit --no-fund --ignore-scripts
	@touch $@

node-deps: node_modules/.package-lock.json

# The real clients of the client tests, from Debian, with one apt-get update
# for whatever is missing: psql (tests/clients_test.go), psycopg2 for
# /usr/bin/python3 (tests/psycopg2_test.go: the python3 on PATH may be
# another interpreter), pgjdbc and, when javac is missing, a JDK
# (tests/jdbc_test.go), and MariaDB (mariadbd, mariadb-install-db, the
# client) for the expression differential test (tests/exprdiff, started by
# internal/mariadb), and headless Chromium for the dashboard's browser test
# (tests/dashboard_test.go). node-postgres comes from npm with kinesalite.
PGJDBC_JAR := /usr/share/java/postgresql.jar

clients:
	@pkgs=""; \
	command -v psql >/dev/null 2>&1 || pkgs="$$pkgs postgresql-client"; \
	/usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 || pkgs="$$pkgs python3-psycopg2"; \
	[ -f $(PGJDBC_JAR) ] || pkgs="$$pkgs libpostgresql-jdbc-java"; \
	command -v javac >/dev/null 2>&1 || pkgs="$$pkgs default-jdk-headless"; \
	{ [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1; } && command -v mariadb-install-db >/dev/null 2>&1 || pkgs="$$pkgs mariadb-server"; \
	command -v chromium >/dev/null 2>&1 || pkgs="$$pkgs chromium"; \
	if [ -n "$$pkgs" ]; then \
		echo "installing the test clients:$$pkgs"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$pkgs; \
	fi
	@command -v psql >/dev/null 2>&1 || { echo "psql is still missing after installing postgresql-client" >&2; exit 1; }
	@/usr/bin/python3 -c 'import psycopg2' || { echo "/usr/bin/python3 cannot import psycopg2 after installing python3-psycopg2" >&2; exit 1; }
	@[ -f $(PGJDBC_JAR) ] || { echo "$(PGJDBC_JAR) is still missing after installing libpostgresql-jdbc-java" >&2; exit 1; }
	@command -v javac >/dev/null 2>&1 || { echo "javac is still missing after installing default-jdk-headless" >&2; exit 1; }
	@{ [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1; } && command -v mariadb-install-db >/dev/null 2>&1 || { echo "mariadbd or mariadb-install-db is still missing after installing mariadb-server" >&2; exit 1; }
	@command -v chromium >/dev/null 2>&1 || { echo "chromium is still missing after installing chromium" >&2; exit 1; }

go-deps:
	$(GO) mod download

deps: node-deps clients go-deps

build:
	$(GO) build ./...
	$(GO) build -o streamsql ./cmd/streamsql

vet:
	$(GO) vet ./...

# The whole suite, with the race detector, against a real kinesalite and
# real clients. -count=1: the tests talk to processes, never cache them.
test: deps vet
	$(GO) test -race -count=1 -timeout 40m ./...

# Every native Go fuzz target (func FuzzX in a _test.go file) for FUZZTIME
# each. `make test` runs only their seed corpora (testdata/fuzz/FuzzX); a
# failure here writes the crasher to testdata/fuzz/FuzzX: fix it and commit
# the file as a regression case.
FUZZTIME ?= 60s
FUZZ_DIRS := $(shell grep -rl --include='*_test.go' '^func Fuzz' . 2>/dev/null | grep -v node_modules | xargs -r -n1 dirname | sort -u)

fuzz:
	@set -e; for dir in $(FUZZ_DIRS); do \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go); do \
			echo "== $$dir $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$dir; \
		done; \
	done

# kinesalite on 127.0.0.1:4567, the server on 127.0.0.1:4566 and a producer
# of click events, with their data in ./streamsql-demo. The binary is built,
# then run (not `go run`, which would end in an error on Ctrl-C): the demo
# exits 0 when Ctrl-C stops it.
demo: node-deps
	@echo "building ./streamsql (go build; the first build downloads and compiles for a few minutes)"
	$(GO) build -o streamsql ./cmd/streamsql
	./streamsql demo

# The benchmark scenarios, each beside its hand-written ceiling in the same
# run: the tumbling scenario in process (a view over a file source, rulego)
# and end to end through kinesalite, then Nexmark in process; the tables go
# to stdout, one JSON report to bench/results/ (docs/benchmarks.md).
bench:
	$(GO) run ./cmd/streamsql bench --scenario all

clean:
	rm -rf node_modules streamsql streamsql-demo
