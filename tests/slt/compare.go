package slt

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Result is one statement's result in text form, as a Postgres server sends
// it with text result format.
type Result struct {
	Columns []string
	// Rows holds each value as text; nil is SQL NULL.
	Rows [][]*string
	Tag  string
}

// FormatValue renders one value for comparison by its column type letter:
// NULL as NULL, an empty string as (empty), a real with three decimals (as
// sqllogictest does, so 2 and 2.0 compare equal), a bool as true/false;
// any value of a '*' column (one that changes from run to run, such as a
// time) as *.
func FormatValue(typ byte, v *string) string {
	if typ == '*' {
		return "*"
	}
	if v == nil {
		return "NULL"
	}
	s := *v
	switch typ {
	case 'R':
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return strconv.FormatFloat(f, 'f', 3, 64)
		}
	case 'B':
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "t", "true", "1":
			return "true"
		case "f", "false", "0":
			return "false"
		}
	case 'I':
		s = strings.TrimSpace(s)
	}
	if s == "" {
		return "(empty)"
	}
	return s
}

// normalize collapses runs of spaces and tabs so that expected rows may be
// aligned freely.
func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// formatRows renders every value of rows by types.
func formatRows(types string, rows [][]*string) ([][]string, error) {
	out := make([][]string, len(rows))
	for i, row := range rows {
		if len(row) != len(types) {
			return nil, fmt.Errorf("row %d has %d values, query declares %d columns (%s)", i+1, len(row), len(types), types)
		}
		vals := make([]string, len(row))
		for j, v := range row {
			vals[j] = FormatValue(types[j], v)
		}
		out[i] = vals
	}
	return out, nil
}

// layout is how expected results are written: one row per line, or (the
// original sqllogictest layout) one value per line.
type layout int

const (
	rowPerLine layout = iota
	valuePerLine
)

// chooseLayout decides how to read the expected lines: one value per line
// when there is more than one column and the line count fits values, not rows.
func chooseLayout(mode SortMode, ncols, nrows, nexpected int) layout {
	if mode == ValueSort {
		return valuePerLine
	}
	if ncols > 1 && nexpected == nrows*ncols && nexpected != nrows {
		return valuePerLine
	}
	return rowPerLine
}

// render turns formatted rows into comparable lines for a layout and sort
// mode. Row-per-line output is also what a failure message shows.
func render(rows [][]string, mode SortMode, l layout) []string {
	switch {
	case mode == ValueSort:
		var vals []string
		for _, r := range rows {
			for _, v := range r {
				vals = append(vals, normalize(v))
			}
		}
		sort.Strings(vals)
		return vals
	case l == valuePerLine:
		groups := make([][]string, len(rows))
		for i, r := range rows {
			g := make([]string, len(r))
			for j, v := range r {
				g[j] = normalize(v)
			}
			groups[i] = g
		}
		if mode == RowSort {
			sortGroups(groups)
		}
		var out []string
		for _, g := range groups {
			out = append(out, g...)
		}
		return out
	default:
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = normalize(strings.Join(r, " "))
		}
		if mode == RowSort {
			sort.Strings(out)
		}
		return out
	}
}

func sortGroups(groups [][]string) {
	sort.SliceStable(groups, func(i, j int) bool {
		return strings.Join(groups[i], "\x00") < strings.Join(groups[j], "\x00")
	})
}

// expectedLines normalizes the expected lines for a layout and sort mode;
// rowsort and valuesort sort them too, so a file may list rows in any order.
func expectedLines(lines []string, ncols int, mode SortMode, l layout) []string {
	norm := make([]string, len(lines))
	for i, s := range lines {
		norm[i] = normalize(s)
	}
	switch {
	case mode == ValueSort:
		sort.Strings(norm)
	case mode == RowSort && l == valuePerLine && ncols > 0 && len(norm)%ncols == 0:
		var groups [][]string
		for i := 0; i < len(norm); i += ncols {
			groups = append(groups, norm[i:i+ncols])
		}
		sortGroups(groups)
		norm = norm[:0:0]
		for _, g := range groups {
			norm = append(norm, g...)
		}
	case mode == RowSort:
		sort.Strings(norm)
	}
	return norm
}

// Comparison is the outcome of checking a query's rows.
type Comparison struct {
	OK       bool
	Expected []string // normalized, in the order compared
	Actual   []string // normalized, in the same layout
}

// CompareRows checks res against the record's expected lines.
func CompareRows(rec *Record, res *Result) (Comparison, error) {
	if len(res.Columns) != len(rec.Types) {
		return Comparison{}, fmt.Errorf("query returned %d columns %v, the record declares %d (%s)",
			len(res.Columns), res.Columns, len(rec.Types), rec.Types)
	}
	rows, err := formatRows(rec.Types, res.Rows)
	if err != nil {
		return Comparison{}, err
	}
	l := chooseLayout(rec.Sort, len(rec.Types), len(rows), len(rec.Results))
	c := Comparison{
		Expected: expectedLines(rec.Results, len(rec.Types), rec.Sort, l),
		Actual:   render(rows, rec.Sort, l),
	}
	c.OK = equalLines(c.Expected, c.Actual)
	return c, nil
}

// ResultLines renders a result the way a file would list it (row per line,
// sorted as the record asks); labels compare these.
func ResultLines(rec *Record, res *Result) ([]string, error) {
	rows, err := formatRows(rec.Types, res.Rows)
	if err != nil {
		return nil, err
	}
	return render(rows, rec.Sort, rowPerLine), nil
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// SQLStater is an error carrying a SQLSTATE, as pgx's *pgconn.PgError does.
type SQLStater interface {
	error
	SQLState() string
}

// CheckError says what is wrong with err given what the record expects; ""
// means it is as expected.
func CheckError(want Expect, err error) string {
	if !want.Error {
		if err != nil {
			return "unexpected error: " + describeErr(err)
		}
		return ""
	}
	if err == nil {
		return fmt.Sprintf("expected an error%s, got success", describeWant(want))
	}
	if want.Code != "" {
		code := ""
		if s, ok := asSQLStater(err); ok {
			code = s.SQLState()
		}
		if code != want.Code {
			return fmt.Sprintf("expected SQLSTATE %s, got %s", want.Code, describeErr(err))
		}
	}
	if want.Position > 0 {
		var se *ServerError
		got := 0
		if errors.As(err, &se) {
			got = se.Position
		}
		if got != want.Position {
			return fmt.Sprintf("expected the error at position %d, got position %d (%s)", want.Position, got, describeErr(err))
		}
	}
	if want.Pattern != nil && !want.Pattern.MatchString(errMessage(err)) {
		return fmt.Sprintf("error %s does not match %q", describeErr(err), want.Pattern)
	}
	return ""
}

func describeWant(want Expect) string {
	var s string
	if want.Code != "" {
		s += " with SQLSTATE " + want.Code
	}
	if want.Position > 0 {
		s += fmt.Sprintf(" at position %d", want.Position)
	}
	if want.Pattern != nil {
		s += " matching " + strconv.Quote(want.Pattern.String())
	}
	return s
}

func asSQLStater(err error) (SQLStater, bool) {
	var s SQLStater
	ok := errors.As(err, &s)
	return s, ok
}

// ServerError is an error the server sent: its SQLSTATE, its message and
// the 1-based position it points at (0 when none).
type ServerError struct {
	Code     string
	Message  string
	Detail   string
	Hint     string
	Position int
}

func (e *ServerError) Error() string {
	s := fmt.Sprintf("ERROR: %s (SQLSTATE %s)", e.Message, e.Code)
	if e.Position > 0 {
		s += fmt.Sprintf(" at position %d", e.Position)
	}
	return s
}

// SQLState returns the error's code.
func (e *ServerError) SQLState() string { return e.Code }

// errMessage is the text an error pattern is matched against: the server's
// message alone when the server sent the error.
func errMessage(err error) string {
	var se *ServerError
	if errors.As(err, &se) {
		return se.Message
	}
	return err.Error()
}

func describeErr(err error) string {
	if s, ok := asSQLStater(err); ok {
		return fmt.Sprintf("%s %q", s.SQLState(), errMessage(err))
	}
	return strconv.Quote(err.Error())
}

// varPattern matches ${NAME} substitutions in SQL.
var varPattern = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// usesVar reports whether sql refers to ${name}.
func usesVar(sql, name string) bool { return strings.Contains(sql, "${"+name+"}") }

// substitute replaces ${NAME} in sql from vars; an unknown name is an error
// rather than text sent to the server.
func substitute(sql string, vars map[string]string) (string, error) {
	var missing []string
	out := varPattern.ReplaceAllStringFunc(sql, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("unknown variable(s) %s in SQL", strings.Join(missing, ", "))
	}
	return out, nil
}
