package wire

import (
	"github.com/jackc/pgproto3/v2"
	"github.com/streamsql/streamsql/sql/sqlerr"
)

// WarningRows is implemented by Rows whose statement has warnings for the
// client (a read of a materialized view that is not running, a FLUSH that
// did not wait for such a view). The server sends each as a NoticeResponse
// of severity WARNING once the statement has been executed, before its
// first row or its CommandComplete, and those added while the rows were
// read (expression warnings) after the last row. The list only grows.
type WarningRows interface {
	Rows
	Warnings() []*sqlerr.Error
}

// sendWarnings sends the warnings of p's rows that it has not sent yet:
// those known when the statement was executed, before the first row, and
// those raised while the rows were computed, when they end.
func (c *conn) sendWarnings(p *portal) {
	wr, ok := p.rows.(WarningRows)
	if !ok {
		return
	}
	ws := wr.Warnings()
	if p.warned >= len(ws) {
		return
	}
	ws, p.warned = ws[p.warned:], len(ws)
	for _, w := range ws {
		code := w.Code
		if code == "" {
			code = sqlerr.Warning
		}
		c.send(&pgproto3.NoticeResponse{
			Severity:            "WARNING",
			SeverityUnlocalized: "WARNING",
			Code:                string(code),
			Message:             w.Message,
			Detail:              w.Detail,
			Hint:                w.Hint,
		})
	}
}
