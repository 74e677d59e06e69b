package wire

import (
	"context"
	"fmt"
	"strings"

	streamsql "github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/sql/types"
)

// EngineBackend serves an engine's sessions over the wire.
func EngineBackend(e *streamsql.Engine) Backend { return engineBackend{e} }

type engineBackend struct{ e *streamsql.Engine }

func (b engineBackend) NewSession(ctx context.Context, startup map[string]string) (Session, error) {
	s := &engineSession{s: b.e.NewSession()}
	s.s.SetStartup(startup["user"], startup["database"])
	if name := startup["application_name"]; name != "" {
		// Clients may connect whatever the engine thinks of the name, as
		// Postgres lets them: a refused SET leaves the default in place.
		if sts, err := s.s.Prepare(ctx, "SET application_name = "+quoteLiteral(name)); err == nil && len(sts) == 1 {
			if rows, err := s.s.Execute(ctx, sts[0], nil); err == nil {
				for rows.Next() {
				}
				_ = rows.Close()
			}
		}
	}
	return s, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

type engineSession struct{ s *streamsql.Session }

var (
	_ Statement   = (*streamsql.Statement)(nil)
	_ Rows        = (*streamsql.Rows)(nil)
	_ WarningRows = (*streamsql.Rows)(nil)
)

func (s *engineSession) Prepare(ctx context.Context, query string) ([]Statement, error) {
	sts, err := s.s.Prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	out := make([]Statement, len(sts))
	for i, st := range sts {
		out[i] = st
	}
	return out, nil
}

func (s *engineSession) Execute(ctx context.Context, st Statement, params []types.Value) (Rows, error) {
	est, ok := st.(*streamsql.Statement)
	if !ok {
		return nil, fmt.Errorf("wire: statement %T was not prepared by this engine", st)
	}
	rows, err := s.s.Execute(ctx, est, params)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (s *engineSession) ReportedSettings() map[string]string { return s.s.ReportedSettings() }

func (s *engineSession) Close() { s.s.Close() }
