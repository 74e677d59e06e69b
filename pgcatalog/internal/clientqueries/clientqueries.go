// Package clientqueries reads the corpus of catalog queries captured from
// real clients (pgcatalog/testdata/clients/*.sql), which the tests of
// pgcatalog and pgcatalog/eval both run: one corpus, one reader.
//
// An entry starts with a line "-- query: <what sent it>", may follow it
// with "-- params: a | b" (the values bound to $1, $2), and runs to the
// next entry. Lines before the first entry are the file's commentary.
package clientqueries

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Query is one captured query.
type Query struct {
	File, Name, Text string
	Params           []string
}

// Read reads every *.sql file in dir.
func Read(dir string) ([]Query, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no corpus files in %s", dir)
	}
	var out []Query
	for _, f := range files {
		qs, err := readFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, qs...)
	}
	return out, nil
}

func readFile(path string) ([]Query, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []Query
	var cur *Query
	var body []string
	flush := func() {
		if cur != nil {
			cur.Text = strings.TrimSpace(strings.Join(body, "\n"))
			out = append(out, *cur)
		}
		body = nil
	}
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "-- query: "):
			flush()
			cur = &Query{File: filepath.Base(path), Name: strings.TrimPrefix(line, "-- query: ")}
		case cur != nil && len(body) == 0 && strings.HasPrefix(line, "-- params: "):
			cur.Params = strings.Split(strings.TrimPrefix(line, "-- params: "), " | ")
		case cur != nil:
			body = append(body, line)
		}
	}
	flush()
	return out, sc.Err()
}
