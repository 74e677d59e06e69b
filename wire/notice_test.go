package wire

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// warningRows are rows with warnings, as a read of a view that is not
// running returns.
type warningRows struct {
	*funcRows
	warnings []*sqlerr.Error
}

func (r *warningRows) Warnings() []*sqlerr.Error { return r.warnings }

// TestNotice_Warnings: a statement's warnings go out as NoticeResponses of
// severity WARNING after the statement ran and before its first row, in
// the simple and the extended protocol; rows without Warnings send none.
func TestNotice_Warnings(t *testing.T) {
	b := newScriptBackend()
	backend := &fakeBackend{NewSessionFunc: func(ctx context.Context, startup map[string]string) (Session, error) {
		s, err := b.NewSession(ctx, startup)
		if err != nil {
			return nil, err
		}
		fs := s.(*fakeSession)
		inner := fs.ExecuteFunc
		fs.ExecuteFunc = func(ctx context.Context, st Statement, params []types.Value) (Rows, error) {
			rows, err := inner(ctx, st, params)
			if err != nil || !strings.HasPrefix(st.SQL(), "gen") {
				return rows, err
			}
			return &warningRows{funcRows: rows.(*funcRows), warnings: []*sqlerr.Error{
				sqlerr.Newf(sqlerr.Warning, "materialized view v is failed since then: decode: bad; its rows are as of epoch 7"),
			}}, nil
		}
		return fs, nil
	}}
	_, addr := testServer(t, backend, Options{})
	tests := []struct {
		name string
		msgs []pgproto3.FrontendMessage
		want string
	}{
		{
			name: "simple",
			msgs: []pgproto3.FrontendMessage{&pgproto3.Query{String: "gen 1; select 1"}},
			want: "Notice WARNING 01000 materialized view v is failed since then: decode: bad; its rows are as of epoch 7|" +
				"RowDescription id:20,name:25|DataRow 0,row|CommandComplete SELECT 1|" +
				"RowDescription ?column?:23|DataRow 1|CommandComplete SELECT 1|ReadyForQuery I",
		},
		{
			name: "extended",
			msgs: []pgproto3.FrontendMessage{
				&pgproto3.Parse{Query: "gen 2"}, &pgproto3.Bind{}, &pgproto3.Describe{ObjectType: 'P'},
				&pgproto3.Execute{MaxRows: 1}, &pgproto3.Execute{}, &pgproto3.Sync{},
			},
			want: "ParseComplete|BindComplete|RowDescription id:20,name:25|" +
				"Notice WARNING 01000 materialized view v is failed since then: decode: bad; its rows are as of epoch 7|" +
				"DataRow 0,row|PortalSuspended|DataRow 1,row|CommandComplete SELECT 2|ReadyForQuery I",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startRaw(t, addr)
			c.send(tt.msgs...)
			got := withoutStatus(c.expectUntilReady())
			if g := strings.Join(got, "|"); g != tt.want {
				t.Errorf("got\n  %s\nwant\n  %s", g, tt.want)
			}
		})
	}
}
