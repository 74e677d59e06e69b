package sql

import (
	"errors"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

const kin = "WITH (connector = 'kinesis', stream = 's')"

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" -- only a comment\n /* and another */ ;; ", nil},
		{"SELECT 1", []string{"{SELECT 1}"}},
		{"select a, b from t where a > 1; SELECT 2", []string{"{SELECT `a`,`b` FROM `t` WHERE `a`>1}", "{SELECT 2}"}},
		{"CREATE SOURCE clicks (user_id BIGINT NOT NULL, url VARCHAR(2048), amount DOUBLE, ts TIMESTAMP(3), " +
			"WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (connector = 'kinesis', stream = 'clicks', region = 'eu-west-1')",
			[]string{"create source clicks@15 (user_id BIGINT@23 NOT NULL, url VARCHAR(2048)@48, amount DOUBLE@67, ts TIMESTAMP(3)@82) " +
				"watermark ts-5s@113 (connector=kinesis@151, stream=clicks@174, region=eu-west-1@193)"}},
		{"create source if not exists \"Mixed\" (A int, b bool, c decimal, d numeric(12,2), e text, f string, g bytes, " +
			"h varbinary(10), i bytea, j date, k timestamp, l json, m jsonb, n float, o real, p double precision, q tinyint, " +
			"r smallint, s integer, t varchar, u float(53), v datetime(6)) " + kin,
			[]string{"create source Mixed@29 if not exists (a INT@38, b BOOLEAN@45, c DECIMAL(10,0)@53, d DECIMAL(12,2)@64, e TEXT@81, f TEXT@89, " +
				"g BYTES@99, h BYTES@108, i BYTES@125, j DATE@134, k TIMESTAMP(6)@142, l JSON@155, m JSON@163, n FLOAT@172, o FLOAT@181, " +
				"p DOUBLE@189, q TINYINT@209, r SMALLINT@220, s INT@232, t TEXT@243, u DOUBLE@254, v TIMESTAMP(6)@267) " +
				"(connector=kinesis@288, stream=s@311)"}},
		{"CREATE SOURCE s (ts TIMESTAMP, WATERMARK FOR ts AS ts) " + kin,
			[]string{"create source s@15 (ts TIMESTAMP(6)@18) watermark ts-0s@46 (connector=kinesis@62, stream=s@85)"}},
		{"CREATE SOURCE s (ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL 1500 MILLISECONDS) " + kin,
			[]string{"create source s@15 (ts TIMESTAMP(6)@18) watermark ts-1.5s@46 (connector=kinesis@91, stream=s@114)"}},
		{"CREATE MATERIALIZED VIEW spend AS\nSELECT user_id, window_start, COUNT(*) AS n FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE)\n" +
			"GROUP BY user_id, window_start\nEMIT ON WINDOW CLOSE;",
			[]string{"create view spend@26 as {SELECT `user_id`,`window_start`,COUNT(1) AS `n` FROM `__tf0` GROUP BY `user_id`,`window_start`" +
				" __tf0=TUMBLE@84(clicks, ts, 1m0s)} eowc"}},
		{"CREATE MATERIALIZED VIEW IF NOT EXISTS v AS SELECT * FROM HOP(clicks, ts, INTERVAL 10 SECOND, INTERVAL '1' MINUTE) AS w JOIN " +
			"session(\"Clicks\", ts, interval '30 seconds') s2 ON w.a = s2.a",
			[]string{"create view v@40 if not exists as {SELECT * FROM `__tf0` AS `w` JOIN `__tf1` AS `s2` ON `w`.`a`=`s2`.`a`" +
				" __tf0=HOP@59(clicks, ts, 10s, 1m0s) as w __tf1=SESSION@126(Clicks, ts, 30s) as s2}"}},
		{"SELECT * FROM t, tumble(t, ts, interval 1 hour) WHERE x IN (SELECT y FROM generate_series(1, 10, 2))",
			[]string{"{SELECT * FROM (`t`) JOIN `__tf0` WHERE `x` IN (SELECT `y` FROM `__tf1`) __tf0=TUMBLE@18(t, ts, 1h0m0s) __tf1=GENERATE_SERIES@75(1, 10, 2)}"}},
		{"SELECT * FROM generate_series(1, $2) WHERE a = $1 OR b = $2",
			[]string{"{SELECT * FROM `__tf0` WHERE `a`=? OR `b`=? __tf0=GENERATE_SERIES@15(1, ?) params=[1 0 1]/2}"}},
		{"SELECT * FROM t WHERE a = ? AND b = ?", []string{"{SELECT * FROM `t` WHERE `a`=? AND `b`=? params=[0 1]/2}"}},
		{"SELECT ts + INTERVAL '5' SECONDS, DATE_ADD(ts, INTERVAL 2 minutes) FROM t",
			[]string{"{SELECT DATE_ADD(`ts`, INTERVAL _UTF8MB4'5' SECOND),DATE_ADD(`ts`, INTERVAL 2 MINUTE) FROM `t`}"}},
		{"SELECT 'a\\b' || \"Col\" FROM `T`", []string{"{SELECT CONCAT(_UTF8MB4'a\\b', `Col`) FROM `T`}"}},
		{"SELECT 1 UNION ALL SELECT 2", []string{"{SELECT 1 UNION ALL SELECT 2}"}},
		{"WITH x AS (SELECT 1 AS a) SELECT a FROM x", []string{"{WITH `x` AS (SELECT 1 AS `a`) SELECT `a` FROM `x`}"}},
		{"CREATE SINK out FROM spend WITH (connector='kinesis', stream_arn='arn:aws:kinesis:us-east-1:1:stream/x', partition_key='user_id')",
			[]string{"create sink out@13 from spend@22 (connector=kinesis@34, stream_arn=arn:aws:kinesis:us-east-1:1:stream/x@55, partition_key=user_id@106)"}},
		{"CREATE SINK IF NOT EXISTS out AS SELECT a FROM t WITH (connector = 'kinesis', stream = 's', mode = 'UPSERT')",
			[]string{"create sink out@27 if not exists as {SELECT `a` FROM `t`} (connector=kinesis@56, stream=s@79, mode=upsert@93)"}},
		{"CREATE SINK out AS WITH c AS (SELECT 1) SELECT * FROM TUMBLE(c, ts, INTERVAL '1' SECOND) EMIT ON WINDOW CLOSE " + kin,
			[]string{"create sink out@13 as {WITH `c` AS (SELECT 1) SELECT * FROM `__tf0` __tf0=TUMBLE@55(c, ts, 1s)} eowc (connector=kinesis@117, stream=s@140)"}},
		{"DROP SOURCE clicks CASCADE; drop sink if exists o; DROP MATERIALIZED VIEW v RESTRICT",
			[]string{"drop source clicks@13 cascade", "drop sink o@49 if exists", "drop materialized view v@75"}},
		{"SHOW SOURCES; SHOW SINKS; show materialized views; SHOW CREATE SOURCE clicks; show create materialized view v; SHOW CREATE SINK k",
			[]string{"show sources", "show sinks", "show materialized views", "show create source clicks@71",
				"show create materialized view v@109", "show create sink k@129"}},
		{"DESCRIBE clicks; DESC \"V\"", []string{"describe clicks@10", "describe V@23"}},
		{"SHOW SOURCE STATUS clicks", []string{"show source status clicks@20"}},
		{"EXPLAIN SELECT 1; EXPLAIN CREATE MATERIALIZED VIEW v AS SELECT 1; EXPLAIN CREATE SINK k FROM v " + kin,
			[]string{"explain {SELECT 1}", "explain create view v@52 as {SELECT 1}",
				"explain create sink k@87 from v@94 (connector=kinesis@102, stream=s@125)"}},
		{"EXPLAIN ANALYZE spend; explain analyze \"V\"", []string{"explain analyze spend@17", "explain analyze V@40"}},
		{"FLUSH", []string{"flush"}},
		{"FLUSH spend", []string{"flush spend@7"}},
		{`FLUSH "Spend"`, []string{"flush Spend@7"}},
		{"SUBSCRIBE TO spend; SUBSCRIBE spend WITH (PROGRESS); COPY (SUBSCRIBE TO v) TO STDOUT; copy (subscribe v with (snapshot = false)) to stdout with (format text)",
			[]string{"subscribe spend@14 ( | progress=false, snapshot=true)", "subscribe spend@31 (progress=true@43 | snapshot=true)",
				"subscribe v@73 ( | progress=false, snapshot=true) copy", "subscribe v@103 (snapshot=false@111 | progress=false) copy"}},
		{"SET x = 1; SET SESSION application_name TO 'psql'; SET LOCAL search_path = a, \"B\"; SET TIME ZONE 'UTC'; SET extra_float_digits = -3; SET datestyle TO DEFAULT; SET NAMES 'utf8'; SET TIME ZONE LOCAL",
			[]string{`set x "1"`, `set application_name "psql"`, `set search_path "a, B" local`, `set timezone "UTC"`,
				`set extra_float_digits "-3"`, "set datestyle default", `set client_encoding "utf8"`, "set timezone default"}},
		{"SHOW server_version; SHOW ALL; SHOW TIME ZONE; SHOW TRANSACTION ISOLATION LEVEL; RESET x; RESET ALL",
			[]string{"show var server_version", "show var all", "show var timezone", "show var transaction_isolation", "reset x", "reset all"}},
		{"BEGIN; BEGIN ISOLATION LEVEL READ COMMITTED; START TRANSACTION; COMMIT; END; ROLLBACK; ABORT WORK",
			[]string{"begin", "begin", "begin", "commit", "commit", "rollback", "rollback"}},
		{"SELECT 1 -- ; not a split\n; /* ; */ SELECT 'a;b'", []string{"{SELECT 1}", "{SELECT _UTF8MB4'a;b'}"}},
		{"(SELECT 1) UNION (SELECT 2); VALUES ROW(1)", []string{"{(SELECT 1) UNION (SELECT 2)}", "{VALUES ROW(1)}"}},
		{"SELECT \"Ünï\", Ünï FROM \"T\" AS \"X\"", []string{"{SELECT `Ünï`,`Ünï` FROM `T` AS `X`}"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			stmts, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v (code %s, position %d)", err, sqlerr.CodeOf(err), sqlerr.Flatten(err).Position)
			}
			var got []string
			for _, st := range stmts {
				got = append(got, render(st))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		in   string
		code sqlerr.Code
		pos  int
		msg  string // a substring of the message
	}{
		{"SELEC 1", sqlerr.SyntaxError, 1, `syntax error at or near "SELEC"`},
		{"SELECT a FROM t WHERE", sqlerr.SyntaxError, 22, "at end of input"},
		{"SELECT 'héllo', a FROM t WHERE )", sqlerr.SyntaxError, 32, `near ")"`},
		{"SELECT 1; SELECT é FROM WHERE", sqlerr.SyntaxError, 25, `near "WHERE"`},
		{"SELECT 'abc", sqlerr.SyntaxError, 8, "unterminated quoted string"},
		{"SELECT \"abc", sqlerr.SyntaxError, 8, "unterminated quoted identifier"},
		{"SELECT 1 /* x", sqlerr.SyntaxError, 10, "unterminated /* comment"},
		{"SELECT a::nosuchtype FROM t", sqlerr.UndefinedObject, 11, `type "nosuchtype" does not exist`},
		{"SELECT E'\\u00' FROM t", sqlerr.InvalidEscapeSequence, 10, "Unicode escape"},
		{"SELECT E'\\0' FROM t", sqlerr.CharacterNotInRepertoire, 8, "invalid byte sequence"},
		{"SELECT interval '1 fortnight'", sqlerr.InvalidDatetimeFormat, 17, "interval"},
		{"SELECT 1::", sqlerr.SyntaxError, 11, "end of input"},
		{"SELECT ::int", sqlerr.SyntaxError, 8, `near "::"`},
		{"SELECT $0", sqlerr.UndefinedParameter, 8, "no parameter $0"},
		{"SELECT $1, ?", sqlerr.SyntaxError, 12, "cannot mix"},
		{"INSERT INTO t VALUES (1) RETURNING a", sqlerr.FeatureNotSupported, 26, "RETURNING is not supported"},
		{"INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", sqlerr.FeatureNotSupported, 26, "ON CONFLICT"},
		{"UPDATE t SET a = (1 WHERE b = 2", sqlerr.SyntaxError, 21, `near "WHERE"`},
		{"DELETE FROM t WHERE", sqlerr.SyntaxError, 20, "end of input"},
		{"CREATE TABLE t (a INT, PRIMARY KEY (b))", sqlerr.UndefinedColumn, 24, `column "b" named in key does not exist`},
		{"CREATE TABLE t (a INT, A TEXT)", sqlerr.DuplicateColumn, 24, `column "a" specified more than once`},
		{"CREATE TABLE t (a INT PRIMARY KEY, PRIMARY KEY (a))", sqlerr.InvalidObjectDefinition, 36, "multiple primary keys"},
		{"CREATE INDEX i ON t (a)", sqlerr.FeatureNotSupported, 1, "CREATE INDEX is not supported"},
		{"CREATE VIEW v AS SELECT 1", sqlerr.FeatureNotSupported, 8, "materialized"},
		{"DROP VIEW t", sqlerr.FeatureNotSupported, 6, "DROP VIEW"},
		{"CREATE SOURCE s (a BIGNT) " + kin, sqlerr.UndefinedObject, 20, `type "bignt" does not exist`},
		{"CREATE SOURCE s (a INT, A TEXT) " + kin, sqlerr.DuplicateColumn, 25, `column "a" specified more than once`},
		{"CREATE SOURCE s (a DECIMAL(70, 2)) " + kin, sqlerr.InvalidParameterValue, 28, "precision"},
		{"CREATE SOURCE s (a DECIMAL(5, 6)) " + kin, sqlerr.InvalidParameterValue, 31, "scale"},
		{"CREATE SOURCE s (a TIMESTAMP(7)) " + kin, sqlerr.InvalidParameterValue, 30, "precision"},
		{"CREATE SOURCE s (a TIMESTAMPTZ) " + kin, sqlerr.FeatureNotSupported, 20, "TIMESTAMPTZ"},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', bogus = 1)", sqlerr.InvalidParameterValue, 68, `unknown option "bogus" for kinesis source; valid options: connector, stream`},
		{"CREATE SOURCE s (a INT) WITH (stream = 's')", sqlerr.InvalidParameterValue, 1, `missing required option "connector"`},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kafka')", sqlerr.InvalidParameterValue, 43, `unknown source connector "kafka"; known source connectors: kinesis`},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kinesis')", sqlerr.InvalidParameterValue, 1, "needs one of the options stream, stream_arn"},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', stream_arn = 'x')", sqlerr.InvalidParameterValue, 68, "cannot both"},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', format = 'avro')", sqlerr.InvalidParameterValue, 77, "not one of json, csv, raw"},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', poll_interval = '10')", sqlerr.InvalidParameterValue, 84, "not a duration"},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', max_records_per_call = 10001)", sqlerr.InvalidParameterValue, 91, "between 1 and 10000"},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', start_position = 'at_timestamp')", sqlerr.InvalidParameterValue, 85, `"start_timestamp" is required`},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', start_timestamp = '2024-01-01T00:00:00Z')", sqlerr.InvalidParameterValue, 68, "only allowed"},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', start_position = 'at_timestamp', start_timestamp = 'yesterday')", sqlerr.InvalidParameterValue, 119, "RFC 3339"},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', endpoint = 'localhost:4567')", sqlerr.InvalidParameterValue, 79, "URL"},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', access_key = 'x')", sqlerr.InvalidParameterValue, 68, "needs secret_key"},
		{"CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', stream = 't')", sqlerr.SyntaxError, 68, "more than once"},
		{"CREATE SOURCE s (a INT)", sqlerr.SyntaxError, 24, "needs WITH"},
		{"CREATE SOURCE s (ts TIMESTAMP, WATERMARK FOR t AS t) " + kin, sqlerr.UndefinedColumn, 46, `column "t" named in WATERMARK does not exist`},
		{"CREATE SOURCE s (ts INT, WATERMARK FOR ts AS ts) " + kin, sqlerr.InvalidObjectDefinition, 40, "must be a TIMESTAMP"},
		{"CREATE SOURCE s (ts TIMESTAMP, t2 TIMESTAMP, WATERMARK FOR ts AS t2 - INTERVAL 1 SECOND) " + kin, sqlerr.InvalidObjectDefinition, 66, "computed from ts"},
		{"CREATE SOURCE s (ts TIMESTAMP, WATERMARK FOR ts AS ts + INTERVAL 1 SECOND) " + kin, sqlerr.InvalidObjectDefinition, 55, "a WATERMARK must be"},
		{"CREATE SOURCE s (ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL 1 MONTH) " + kin, sqlerr.InvalidObjectDefinition, 57, "fixed length"},
		{"CREATE SOURCE s (ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL 1 FORTNIGHT) " + kin, sqlerr.SyntaxError, 68, "unknown interval unit"},
		{"CREATE SINK k FROM v WITH (connector = 'kinesis', stream = 's', format = 'csv')", sqlerr.InvalidParameterValue, 74, "not one of json"},
		{"CREATE SINK k AS SELECT 1", sqlerr.SyntaxError, 26, "needs WITH"},
		{"CREATE MATERIALIZED VIEW v AS SELECT * FROM t WHERE a = $1", sqlerr.FeatureNotSupported, 57, "parameters are not allowed"},
		{"SELECT * FROM TUMBLE(t, ts)", sqlerr.UndefinedFunction, 15, "TUMBLE takes 3 arguments, TUMBLE(source, time column, size); got 2"},
		{"SELECT * FROM HOP(t, ts, INTERVAL 1 SECOND)", sqlerr.UndefinedFunction, 15, "HOP takes 4"},
		{"SELECT * FROM generate_series(1)", sqlerr.UndefinedFunction, 15, "GENERATE_SERIES takes 2 or 3 arguments"},
		{"SELECT * FROM TUMBLE(t, ts, 5)", sqlerr.DatatypeMismatch, 29, "must be an interval"},
		{"SELECT * FROM TUMBLE(t + 1, ts, INTERVAL 5 SECOND)", sqlerr.SyntaxError, 22, "must be a name"},
		{"SELECT * FROM TUMBLE(t, ts, INTERVAL 0 SECOND)", sqlerr.InvalidParameterValue, 29, "positive"},
		{"SELECT * FROM HOP(t, ts, INTERVAL 2 SECOND, INTERVAL 3 SECOND)", sqlerr.InvalidParameterValue, 45, "multiple"},
		{"SELECT * FROM TUMBLE(t, , INTERVAL 5 SECOND)", sqlerr.SyntaxError, 25, `near ","`},
		{"SELECT * FROM generate_series(1, 2 +)", sqlerr.SyntaxError, 37, `near ")"`},
		{"SELECT * FROM TUMBLE(t, ts, INTERVAL 'x' SECOND)", sqlerr.InvalidDatetimeFormat, 38, "invalid interval value"},
		{"SELECT * FROM TUMBLE(t, ts, INTERVAL '1.5' MONTH)", sqlerr.InvalidDatetimeFormat, 38, "whole number of months"},
		{"SELECT * FROM TUMBLE(t, ts, INTERVAL '1 parsec')", sqlerr.InvalidDatetimeFormat, 38, "unknown unit"},
		{"DROP SOURCE", sqlerr.SyntaxError, 12, "end of input"},
		{"DROP SOURCE a, b", sqlerr.SyntaxError, 14, `near ","`},
		{"SHOW COLUMNS", sqlerr.FeatureNotSupported, 6, "SHOW COLUMNS is not supported"},
		{"FLUSH spend now", sqlerr.SyntaxError, 13, `near "now"`},
		{"FLUSH 1", sqlerr.SyntaxError, 7, `near "1"`},
		{"SUBSCRIBE TO v WITH (foo)", sqlerr.InvalidParameterValue, 22, `unknown option "foo" for SUBSCRIBE`},
		{"SUBSCRIBE (SELECT 1)", sqlerr.FeatureNotSupported, 11, "SUBSCRIBE to a query"},
		{"COPY t TO STDOUT", sqlerr.FeatureNotSupported, 1, "COPY table TO is not supported"},
		{"COPY (SUBSCRIBE v) TO STDOUT (FORMAT binary)", sqlerr.FeatureNotSupported, 31, "FORMAT"},
		{"EXPLAIN DROP SOURCE s", sqlerr.FeatureNotSupported, 9, "EXPLAIN supports"},
		{"EXPLAIN ANALYZE SELECT 1", sqlerr.FeatureNotSupported, 17, "EXPLAIN ANALYZE takes the name of a materialized view"},
		{"EXPLAIN ANALYZE v w", sqlerr.SyntaxError, 19, `near "w"`},
		{"ROLLBACK TO SAVEPOINT a", sqlerr.FeatureNotSupported, 10, "savepoints"},
		{"SET x", sqlerr.SyntaxError, 6, "end of input"},
		{"SELECT 1;\nSELEC 2", sqlerr.SyntaxError, 11, `near "SELEC"`},
		{"SELECT 1e999", sqlerr.SyntaxError, 1, "Illegal double"},
		{"SELECT 1;\nCREATE SOURCE s (a BIGNT) " + kin, sqlerr.UndefinedObject, 30, `type "bignt"`},
		{"SELECT 'ü'; CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', x = 1)", sqlerr.InvalidParameterValue, 80, `unknown option "x"`},
		{"CREATE OR REPLACE MATERIALIZED VIEW v AS SELECT 1", sqlerr.FeatureNotSupported, 8, "OR REPLACE"},
		{"EXPLAIN INSERT INTO t VALUES (1)", sqlerr.FeatureNotSupported, 9, "EXPLAIN supports SELECT"},
		{"SELECT * FROM t WHERE a = 'x' AND b = \"unterminated", sqlerr.SyntaxError, 39, "unterminated quoted identifier"},
		{"CREATE MATERIALIZED VIEW v AS", sqlerr.SyntaxError, 30, "end of input"},
		{"CREATE MATERIALIZED VIEW v AS SELECT 1 EMIT ON WINDOW", sqlerr.SyntaxError, 45, `near "ON"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse succeeded; want %s at %d", tt.code, tt.pos)
			}
			var e *sqlerr.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *sqlerr.Error", err)
			}
			if e.Code != tt.code || e.Position != tt.pos || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("got %s at %d: %s\nwant %s at %d: ...%s...", e.Code, e.Position, e.Message, tt.code, tt.pos, tt.msg)
			}
		})
	}
}
