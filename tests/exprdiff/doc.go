// Package exprdiff is the differential test of streamsql's expressions
// against a real MySQL-compatible server (issue 15): a generator on a fixed
// seed writes thousands of constant expressions over every function and
// operator family; each runs as `SELECT <expr>` in streamsql (engine + wire
// server, pgx over the simple protocol) and in a throwaway MariaDB started
// by internal/mariadb with MySQL 8's session defaults; the answers must
// agree. known_mariadb.txt lists where MariaDB 10.11 differs from MySQL 8
// (MySQL 8 is the reference) and deliberate.txt where streamsql differs
// from MySQL 8 on purpose. tests/README.md says how to run it and read its
// report.
package exprdiff
