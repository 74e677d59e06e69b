package exprdiff

import (
	"math/rand/v2"
	"strings"
)

// testCase is one generated expression; SELECT + Expr is the statement.
type testCase struct {
	Family string
	Expr   string
}

// Value pools: the edge values that break things.
var pools = map[byte][]string{
	// numbers and strings read as numbers
	'n': {"0", "-0", "1", "-1", "2", "3", "7", "-7", "10", "100", "255", "0.5", "-0.5", "1.5", "2.5", "-2.5",
		"0.001", "-0.0001", "0.0001", "123.456", "-123.456", "1e0", "0.5e0", "2.5e0", "-2.5e0", "1.5e0", "1e308",
		"1e-308", "1e-5", "3.14159", "9223372036854775807", "-9223372036854775808", "18446744073709551615",
		"9223372036854775808", "NULL", "''", "'12abc'", "'abc'", "' 3 '", "'1e3'", "'-0'", "'2.5'", "1/3",
		"TRUE", "FALSE", "0.1e1", "99999999999999999999.99"},
	// small integers (scales, lengths, positions, counts)
	'i': {"0", "1", "2", "3", "-1", "-3", "5", "10", "NULL", "'2'"},
	// strings
	's': {"'abc'", "'ABC'", "''", "'a b c'", "'  pad  '", "'héllo'", "'日本語'", "'a,b,c'", "'12abc'", "'%_'",
		"NULL", "'x'", "'hello world'", "'Ünïcödé'", "'emoji 😀'", "'aAbB'", "'0'", "'1.50'", "'abcabc'", "'b'"},
	// dates, datetimes and MySQL's other date forms
	'd': {"'2024-02-29'", "'2023-02-29'", "'2024-01-01'", "'1999-12-31'", "'0001-01-01'", "'9999-12-31'",
		"'20240101'", "'2024-1-5'", "'24-1-1'", "'2024-13-01'", "'abc'", "NULL", "'2000-02-29 12:00:00'",
		"'2024-1-5 3:4:5'", "'1970-01-01 00:00:00'", "'2038-01-19 03:14:07'", "'1900-03-01'",
		"DATE '2024-02-29'", "TIMESTAMP '2024-01-01 10:20:30.123456'", "'2024-06-15 23:59:59.999999'",
		"'0000-00-00'", "20240101", "'2024-02-30'", "'9999-12-31 23:59:59'", "'2008-12-31'", "'2010-01-03'"},
	// times
	't': {"'10:20:30'", "'-01:00:00'", "'838:59:59'", "'25:00:00'", "'12:34:56.789'", "'00:00:00'", "NULL",
		"'1:2:3'", "'abc'", "TIME '23:59:59'"},
	// interval units
	'u': {"MICROSECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR",
		"SECOND_MICROSECOND", "MINUTE_SECOND", "HOUR_MINUTE", "DAY_HOUR", "YEAR_MONTH", "DAY_SECOND", "HOUR_SECOND"},
	// units of TIMESTAMPDIFF and TIMESTAMPADD (no compound ones)
	'U': {"MICROSECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"},
	// interval amounts
	'a': {"1", "-1", "'1.5'", "0", "31", "12", "'1:30'", "'1-2'", "1.5", "NULL", "1000000", "'abc'"},
	// DATE_FORMAT / STR_TO_DATE formats
	'f': {"'%Y-%m-%d'", "'%d/%m/%y'", "'%W %M %e %Y'", "'%U %u %V %v %X %x'", "'%H:%i:%s'", "'%h:%i %p'",
		"'%j'", "'%a %b %c %D'", "'%f'", "'%r'", "'%T'", "'%k %l'", "'%%'", "'%w'", "'%y'", "'%Y%m%d'"},
	// JSON documents
	'j': {`'{"a":1,"b":[1,2,{"c":3}]}'`, "'[1,2,3]'", `'"str"'`, "'1'", "'null'", `'{"a":{"b":{"a":5}}}'`,
		"'[]'", "'{}'", "'[1,[2,[3]]]'", "'invalid'", "NULL", `'{"x": "y", "n": null}'`, `'["abc","b",{"k":"abc"}]'`,
		"'1.5'", "'true'"},
	// JSON paths
	'p': {"'$'", "'$.a'", "'$.b[1]'", "'$.b[*]'", "'$.*'", "'$**.a'", "'$[last]'", "'$[0]'", "'$.b[last]'",
		"'$[*]'", "'$.b[2].c'", "'$.nope'", "'$[1 to 2]'", "'$.a.b'", "'bad'"},
	// regular expressions
	'r': {"'^a'", "'b+'", "'[0-9]+'", "'(a|b)c'", "'.'", "'x*'", "'[[:alpha:]]+'", "'c$'", "'A'", "'é'", "'('", "NULL"},
	// truth values and comparisons, in parentheses: an operand of + or IN
	'b': {"(1=1)", "(1=0)", "('a'<'b')", "(NULL=1)", "(2>1)", "(1 IS NULL)", "(NOT 0)"},
}

// pools of anything: a mix of the above
var anyPool = []byte{'n', 'n', 's', 'd', 'b', 'i'}

// families lists, per family, templates whose {c} placeholders take a value
// from pool c ({x}: any pool).
var families = []struct {
	name      string
	templates []string
}{
	{"arithmetic", []string{"{n} + {n}", "{n} - {n}", "{n} * {n}", "{n} / {n}", "{n} DIV {n}", "{n} % {n}",
		"MOD({n}, {n})", "-{n}", "{n} + {s}", "{n} * {i} + {n}", "{n} / {n} * {n}", "{i} & {i}", "{i} | {i}",
		"{i} ^ {i}", "~{i}", "{i} << {i}", "{i} >> {i}", "{n} - -{n}", "{d} + 0", "{b} + {n}"}},
	{"comparison", []string{"{x} = {x}", "{x} <=> {x}", "{x} <> {x}", "{n} < {n}", "{s} < {s}", "{n} >= {n}",
		"{x} IS NULL", "{x} IS NOT NULL", "{n} BETWEEN {n} AND {n}", "{x} IN ({x}, {x}, {x})", "{n} NOT IN ({n}, {n})",
		"NOT {x}", "{x} AND {x}", "{x} OR {x}", "{x} XOR {x}", "{s} LIKE {s}", "{s} LIKE 'a%'", "{s} NOT LIKE '%b_'",
		"ISNULL({x})", "{x} IS TRUE", "{n} IS NOT FALSE", "{d} = {d}", "{d} < {d}", "{n} = {s}", "{d} = {n}",
		"{s} = {s}", "GREATEST({n}, {n})", "LEAST({n}, {n}, {n})", "GREATEST({s}, {s})", "LEAST({d}, {d})"}},
	{"cast", []string{"CAST({x} AS SIGNED)", "CAST({x} AS UNSIGNED)", "CAST({n} AS DECIMAL(10,2))",
		"CAST({n} AS DECIMAL(3,3))", "CAST({x} AS CHAR)", "CAST({d} AS DATE)", "CAST({d} AS DATETIME)",
		"CAST({t} AS TIME)", "CAST({d} AS TIME)", "CAST({n} AS DOUBLE)", "CAST({d} AS SIGNED)", "CAST({n} AS DATE)",
		"CAST({n} AS DATETIME)", "CONVERT({x}, SIGNED)", "CONCAT({n}, '')", "CONCAT({b}, 'x')", "{s} + 0",
		"CAST({b} AS CHAR)", "CAST({s} AS DECIMAL(5,1))", "CONVERT({n}, CHAR)", "CAST({s} AS DOUBLE)",
		"CAST({d} AS DECIMAL(20,6))"}},
	{"control", []string{"IF({x}, {x}, {x})", "CASE {x} WHEN {x} THEN {x} ELSE {x} END",
		"CASE WHEN {x} THEN {x} WHEN {x} THEN {x} END", "COALESCE({x}, {x})", "COALESCE(NULL, {x}, {x})",
		"NULLIF({x}, {x})", "IFNULL({x}, {x})", "IF({n} > {n}, {s}, {n})", "IF({b}, {b}, {s})",
		"NULLIF({s}, {d})", "CASE {n} WHEN 1 THEN 'one' WHEN 2 THEN 'two' END"}},
	{"math", []string{"ABS({n})", "CEIL({n})", "CEILING({n})", "FLOOR({n})", "ROUND({n})", "ROUND({n}, {i})",
		"TRUNCATE({n}, {i})", "SIGN({n})", "SQRT({n})", "POW({n}, {n})", "POWER({n}, {i})", "EXP({n})", "LN({n})",
		"LOG({n})", "LOG({n}, {n})", "LOG2({n})", "LOG10({n})", "PI()", "MOD({n}, {i})", "SIN({n})", "COS({n})",
		"TAN({n})", "ATAN({n})", "ATAN2({n}, {n})", "DEGREES({n})", "RADIANS({n})", "RAND({i})",
		"ROUND({n}, -{i})", "ROUND(9223372036854775807, -{i})"}},
	{"string", []string{"CONCAT({s}, {s})", "CONCAT_WS({s}, {s}, {s})", "LENGTH({s})", "CHAR_LENGTH({s})",
		"UPPER({s})", "LOWER({s})", "LEFT({s}, {i})", "RIGHT({s}, {i})", "SUBSTRING({s}, {i})",
		"SUBSTRING({s}, {i}, {i})", "SUBSTR({s}, {i})", "TRIM({s})", "LTRIM({s})", "RTRIM({s})",
		"REPLACE({s}, {s}, {s})", "LPAD({s}, {i}, {s})", "RPAD({s}, {i}, {s})", "LOCATE({s}, {s})",
		"LOCATE({s}, {s}, {i})", "INSTR({s}, {s})", "REVERSE({s})", "REPEAT({s}, {i})", "SPACE({i})",
		"ASCII({s})", "STRCMP({s}, {s})", "SUBSTRING_INDEX({s}, ',', {i})", "POSITION({s} IN {s})",
		"TRIM(LEADING 'a' FROM {s})", "TRIM(BOTH ' ' FROM {s})", "CONCAT({n}, {s})", "LENGTH({n})", "UPPER({n})"}},
	{"regexp", []string{"{s} REGEXP {r}", "{s} RLIKE {r}", "{s} NOT REGEXP {r}", "REGEXP_REPLACE({s}, {r}, 'X')",
		"REGEXP_SUBSTR({s}, {r})", "REGEXP_INSTR({s}, {r})"}},
	{"date", []string{"DATE({d})", "YEAR({d})", "MONTH({d})", "DAY({d})", "DAYOFMONTH({d})", "HOUR({d})",
		"MINUTE({d})", "SECOND({d})", "MICROSECOND({d})", "DAYOFWEEK({d})", "DAYOFYEAR({d})", "DAYNAME({d})",
		"MONTHNAME({d})", "WEEK({d})", "WEEK({d}, {i})", "WEEKDAY({d})", "YEARWEEK({d})", "QUARTER({d})",
		"LAST_DAY({d})", "MAKEDATE({n}, {i})", "DATEDIFF({d}, {d})", "TIMEDIFF({d}, {d})", "TIMEDIFF({t}, {t})",
		"DATE_ADD({d}, INTERVAL {a} {u})", "DATE_SUB({d}, INTERVAL {a} {u})", "{d} + INTERVAL {a} {u}",
		"ADDDATE({d}, {i})", "DATE_FORMAT({d}, {f})", "STR_TO_DATE({s}, {f})", "STR_TO_DATE({d}, {f})",
		"FROM_UNIXTIME({n})", "FROM_UNIXTIME({n}, {f})", "UNIX_TIMESTAMP({d})", "SEC_TO_TIME({n})",
		"TIME_TO_SEC({t})", "CONVERT_TZ({d}, '+00:00', '+05:30')", "TIMESTAMPDIFF({U}, {d}, {d})", "TIMESTAMPADD({U}, {i}, {d})",
		"EXTRACT({u} FROM {d})", "TO_DAYS({d})", "FROM_DAYS({n})", "HOUR({t})", "DATE_FORMAT({n}, {f})"}},
	{"json", []string{"JSON_EXTRACT({j}, {p})", "JSON_UNQUOTE(JSON_EXTRACT({j}, {p}))", "JSON_UNQUOTE({s})",
		"JSON_UNQUOTE({j})", "JSON_LENGTH({j})", "JSON_LENGTH({j}, {p})", "JSON_TYPE({j})", "JSON_VALID({j})",
		"JSON_VALID({s})", "JSON_OBJECT('a', {x}, 'b', {x})", "JSON_ARRAY({x}, {x})", "JSON_CONTAINS({j}, {j})",
		"JSON_CONTAINS({j}, {j}, {p})", "JSON_KEYS({j})", "JSON_SEARCH({j}, 'one', {s})",
		"JSON_SEARCH({j}, 'all', 'abc')", "JSON_QUOTE({s})", "JSON_CONTAINS_PATH({j}, 'one', {p})",
		"JSON_DEPTH({j})", "JSON_EXTRACT({j}, {p}, {p})"}},
	{"aggregate", []string{"GROUP_CONCAT(x) FROM ({t3}) t", "GROUP_CONCAT(x ORDER BY x DESC SEPARATOR '-') FROM ({t3}) t",
		"STDDEV(x) FROM ({t3}) t", "STDDEV_POP(x) FROM ({t3}) t", "STDDEV_SAMP(x) FROM ({t3}) t",
		"VARIANCE(x) FROM ({t3}) t", "VAR_POP(x) FROM ({t3}) t", "VAR_SAMP(x) FROM ({t3}) t",
		"BIT_AND(x) FROM ({t3}) t", "BIT_OR(x) FROM ({t3}) t", "BIT_XOR(x) FROM ({t3}) t",
		"JSON_ARRAYAGG(x) FROM ({t3}) t", "JSON_OBJECTAGG(x, x) FROM ({t3}) t", "COUNT(x) FROM ({t3}) t",
		"SUM(x) FROM ({t3}) t", "AVG(x) FROM ({t3}) t", "MIN(x) FROM ({t3}) t", "MAX(x) FROM ({t3}) t"}},
}

// aggInputs are the values of the derived tables the aggregates run over.
var aggInputs = []string{"1", "2", "3", "0", "-1", "NULL", "7", "255", "2.5", "10"}

// generate writes n expressions on seed: first every template once with
// values drawn from its pools, then more drawn at random, families in turn,
// without duplicates.
func generate(seed uint64, n int) []testCase {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	seen := map[string]bool{}
	var out []testCase
	add := func(fam, expr string) {
		if !seen[expr] {
			seen[expr] = true
			out = append(out, testCase{Family: fam, Expr: expr})
		}
	}
	for _, c := range fixedCases {
		add(c.Family, c.Expr)
	}
	for attempts := 0; len(out) < n && attempts < 50*n; attempts++ {
		f := families[attempts%len(families)]
		tpl := f.templates[rng.IntN(len(f.templates))]
		add(f.name, fill(rng, tpl))
	}
	return out
}

func fill(rng *rand.Rand, tpl string) string {
	var b strings.Builder
	for i := 0; i < len(tpl); i++ {
		if tpl[i] == '{' && i+2 < len(tpl) && tpl[i+2] == '}' {
			b.WriteString(pick(rng, tpl[i+1]))
			i += 2
			continue
		}
		if strings.HasPrefix(tpl[i:], "{t3}") {
			k := 1 + rng.IntN(4)
			for j := 0; j < k; j++ {
				if j > 0 {
					b.WriteString(" UNION ALL ")
				}
				b.WriteString("SELECT " + aggInputs[rng.IntN(len(aggInputs))])
				if j == 0 {
					b.WriteString(" AS x")
				}
			}
			i += 3
			continue
		}
		b.WriteByte(tpl[i])
	}
	return b.String()
}

func pick(rng *rand.Rand, c byte) string {
	if c == 'x' {
		c = anyPool[rng.IntN(len(anyPool))]
	}
	p := pools[c]
	return p[rng.IntN(len(p))]
}

// fixedCases are always in: the examples.
var fixedCases = []testCase{
	{"math", "CEIL(0.001)"}, {"math", "FLOOR(-0.0001)"}, {"math", "ROUND(9223372036854775807, -3)"},
	{"math", "ROUND(9223372036854775807, -1)"}, {"date", "DATE_FORMAT('1999-12-31', '%V')"},
	{"cast", "CAST(-1 AS UNSIGNED)"}, {"cast", "CONCAT(1=1, 'x')"}, {"control", "IF(1, 1=1, '12')"},
	{"arithmetic", "1/3*3"}, {"math", "POWER(2, 1/3)"}, {"cast", "CAST(1e308 AS CHAR)"}, {"cast", "CONCAT(1e-5, '')"},
	{"math", "ROUND(0.5e0)"}, {"math", "ROUND('2.5')"}, {"date", "DATE_SUB('2000-02-29 12:00:00', INTERVAL '1.5' HOUR)"},
	{"date", "UNIX_TIMESTAMP('1900-03-01')"}, {"json", `JSON_UNQUOTE('"a')`}, {"math", "ABS(-9223372036854775808)"},
	{"math", "POW(-8, 0.5)"}, {"date", "DATE_ADD('9999-12-31', INTERVAL 1 DAY)"},
	{"date", "DATE_SUB('0001-01-01', INTERVAL 1 DAY)"},
	{"date", "DATE_ADD('2024-01-01', INTERVAL -9223372036854775808 MICROSECOND)"},
	{"comparison", "'abc' LIKE 'A%'"}, {"arithmetic", "3 + ''"}, {"arithmetic", "'12abc' + 0"},
	{"date", "DATE('abc')"}, {"comparison", "NOT 'a'"}, {"cast", "CAST(DATE '2024-02-29' AS SIGNED)"},
	{"cast", "CAST(7 AS DECIMAL(3,3))"}, {"control", "NULLIF('x', DATE '2024-01-01')"},
	{"date", "STR_TO_DATE('01/02/2024', '%d/%m/%Y')"}, {"date", "STR_TO_DATE('2024-02-29 13:14:15', '%Y-%m-%d %H:%i:%s')"},
	{"date", "DATE('20240101')"}, {"date", "DATE('2024-1-5 3:4:5')"}, {"date", "DATE('24-1-1')"},
}
