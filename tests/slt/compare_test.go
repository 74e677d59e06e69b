package slt

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func sp(s string) *string { return &s }

func TestFormatValue(t *testing.T) {
	tests := []struct {
		typ  byte
		v    *string
		want string
	}{
		{'I', nil, "NULL"},
		{'T', nil, "NULL"},
		{'I', sp("42"), "42"},
		{'I', sp(" 7 "), "7"},
		{'T', sp(""), "(empty)"},
		{'T', sp("a b"), "a b"},
		{'R', sp("2"), "2.000"},
		{'R', sp("0.1234"), "0.123"},
		{'R', sp("-1.5e3"), "-1500.000"},
		{'R', sp("NaN"), "NaN"},
		{'R', sp("abc"), "abc"},
		{'B', sp("t"), "true"},
		{'B', sp("FALSE"), "false"},
		{'B', sp("1"), "true"},
		{'B', sp("maybe"), "maybe"},
		{'*', sp("2026-01-01 00:00:00"), "*"},
		{'*', nil, "*"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.typ, tt.v); got != tt.want {
			v := "nil"
			if tt.v != nil {
				v = *tt.v
			}
			t.Errorf("FormatValue(%c, %q) = %q, want %q", tt.typ, v, got, tt.want)
		}
	}
}

// rowsOf builds a Result from rows written as "a|b|NULL" (NULL = nil).
func rowsOf(cols int, rows ...string) *Result {
	res := &Result{}
	for i := range cols {
		res.Columns = append(res.Columns, fmt.Sprintf("c%d", i))
	}
	for _, r := range rows {
		var row []*string
		for _, v := range strings.Split(r, "|") {
			if v == "NULL" {
				row = append(row, nil)
			} else {
				row = append(row, sp(v))
			}
		}
		res.Rows = append(res.Rows, row)
	}
	return res
}

func TestCompareRows(t *testing.T) {
	tests := []struct {
		name     string
		types    string
		sort     SortMode
		expected []string
		res      *Result
		ok       bool
		wantErr  string
	}{
		{"row per line", "IT", NoSort, []string{"1 a", "2  b"}, rowsOf(2, "1|a", "2|b"), true, ""},
		{"tabs", "IT", NoSort, []string{"1\ta"}, rowsOf(2, "1|a"), true, ""},
		{"order matters without sort", "IT", NoSort, []string{"2 b", "1 a"}, rowsOf(2, "1|a", "2|b"), false, ""},
		{"rowsort", "IT", RowSort, []string{"2 b", "1 a"}, rowsOf(2, "1|a", "2|b"), true, ""},
		{"value per line", "IT", NoSort, []string{"1", "a", "2", "b"}, rowsOf(2, "1|a", "2|b"), true, ""},
		{"value per line rowsort", "IT", RowSort, []string{"2", "b", "1", "a"}, rowsOf(2, "1|a", "2|b"), true, ""},
		{"valuesort", "II", ValueSort, []string{"1", "2", "3", "4"}, rowsOf(2, "4|2", "3|1"), true, ""},
		{"null and empty", "TT", NoSort, []string{"NULL (empty)"}, rowsOf(2, "NULL|"), true, ""},
		{"value with spaces", "IT", NoSort, []string{"1 hello   world"}, rowsOf(2, "1|hello world"), true, ""},
		{"reals", "R", NoSort, []string{"2.000"}, rowsOf(1, "2"), true, ""},
		{"missing row", "I", NoSort, []string{"1", "2"}, rowsOf(1, "1"), false, ""},
		{"extra row", "I", NoSort, []string{"1"}, rowsOf(1, "1", "2"), false, ""},
		{"no rows expected", "I", NoSort, nil, rowsOf(1), true, ""},
		{"wrong column count", "I", NoSort, []string{"1 a"}, rowsOf(2, "1|a"), false, "returned 2 columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &Record{Kind: KindQuery, Types: tt.types, Sort: tt.sort, Results: tt.expected, HasRows: true}
			c, err := CompareRows(rec, tt.res)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.OK != tt.ok {
				t.Fatalf("OK = %v, want %v\nexpected %q\nactual   %q", c.OK, tt.ok, c.Expected, c.Actual)
			}
		})
	}
}

func TestCheckError(t *testing.T) {
	server := &ServerError{Code: "42P07", Message: `source "s" already exists`, Position: 15}
	tests := []struct {
		name string
		want Expect
		err  error
		ok   bool
		msg  string
	}{
		{"ok and no error", Expect{}, nil, true, ""},
		{"ok but error", Expect{}, server, false, `unexpected error: 42P07 "source \"s\" already exists"`},
		{"error but success", Expect{Error: true, Code: "42P07"}, nil, false, "expected an error with SQLSTATE 42P07, got success"},
		{"any error", Expect{Error: true}, server, true, ""},
		{"code matches", Expect{Error: true, Code: "42P07"}, server, true, ""},
		{"code differs", Expect{Error: true, Code: "42P01"}, server, false, "expected SQLSTATE 42P01, got 42P07"},
		{"pattern matches", Expect{Error: true, Pattern: regexp.MustCompile(`"s" already`)}, server, true, ""},
		{"pattern matches message only", Expect{Error: true, Pattern: regexp.MustCompile(`^source`)}, server, true, ""},
		{"pattern differs", Expect{Error: true, Pattern: regexp.MustCompile(`no such`)}, server, false, "does not match"},
		{"position matches", Expect{Error: true, Code: "42P07", Position: 15}, server, true, ""},
		{"position differs", Expect{Error: true, Position: 3}, server, false, "expected the error at position 3, got position 15"},
		{"position on a client error", Expect{Error: true, Position: 3}, errors.New("conn closed"), false, "got position 0"},
		{"wrapped server error", Expect{Error: true, Code: "42P07"}, fmt.Errorf("ctx: %w", server), true, ""},
		{"client error has no code", Expect{Error: true, Code: "42P07"}, errors.New("conn closed"), false, `got "conn closed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckError(tt.want, tt.err)
			if (got == "") != tt.ok || (tt.msg != "" && !strings.Contains(got, tt.msg)) {
				t.Fatalf("CheckError = %q, want ok=%v containing %q", got, tt.ok, tt.msg)
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	vars := map[string]string{"KINESIS_ENDPOINT": "http://127.0.0.1:1234"}
	got, err := substitute("endpoint = '${KINESIS_ENDPOINT}', x = '$1', y = '${KINESIS_ENDPOINT}'", vars)
	if err != nil || got != "endpoint = 'http://127.0.0.1:1234', x = '$1', y = 'http://127.0.0.1:1234'" {
		t.Fatalf("substitute = %q, %v", got, err)
	}
	if _, err := substitute("${NOPE}", vars); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Fatalf("unknown variable: err = %v", err)
	}
}
