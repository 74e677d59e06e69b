package slt

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PgxDB runs records over one pgx connection, asking for every result in
// text format so that values compare as a Postgres client prints them.
type PgxDB struct {
	Conn *pgx.Conn
}

var _ DB = (*PgxDB)(nil)

// Run implements DB.
func (d *PgxDB) Run(ctx context.Context, sql string, p Protocol) (*Result, error) {
	pc := d.Conn.PgConn()
	if p == Extended {
		// No parameters, all results in text format.
		res, err := readResult(pc.ExecParams(ctx, sql, nil, nil, nil, nil))
		return res, convertErr(err)
	}
	mrr := pc.Exec(ctx, sql)
	var last *Result
	var firstErr error
	for mrr.NextResult() {
		res, err := readResult(mrr.ResultReader())
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if res != nil {
			last = res
		}
	}
	if err := mrr.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return nil, convertErr(firstErr)
	}
	if last == nil {
		last = &Result{}
	}
	return last, nil
}

// readResult reads one result set. Unlike ResultReader.Read it keeps the
// columns of a result with no rows.
func readResult(rr *pgconn.ResultReader) (*Result, error) {
	res := &Result{}
	for _, fd := range rr.FieldDescriptions() {
		res.Columns = append(res.Columns, fd.Name)
	}
	for rr.NextRow() {
		vals := rr.Values()
		row := make([]*string, len(vals))
		for i, v := range vals {
			if v != nil {
				s := string(v) // copies: v is only valid until the next row
				row[i] = &s
			}
		}
		res.Rows = append(res.Rows, row)
	}
	tag, err := rr.Close()
	if err != nil {
		return nil, err
	}
	res.Tag = tag.String()
	return res, nil
}

// convertErr turns a server error into *ServerError; other errors (a broken
// connection, a timeout) pass through with context.
func convertErr(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return &ServerError{Code: pe.Code, Message: pe.Message, Detail: pe.Detail, Hint: pe.Hint, Position: int(pe.Position)}
	}
	return fmt.Errorf("pgx: %w", err)
}
