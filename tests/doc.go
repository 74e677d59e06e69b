// Package tests owns streamsql's end-to-end tests: the sqllogictest files
// (*.slt, run by TestSLT through the runner in tests/slt) and the tests with
// real clients (psql, pgx, the built binary), all over the Postgres wire
// protocol against a real server and, where Kinesis is needed, a real
// kinesalite started on a loopback port. It has no code of its own outside
// its tests.
package tests
