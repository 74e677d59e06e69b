package wire

import (
	"github.com/jackc/pgproto3/v2"
	"github.com/streamsql/streamsql/sql/sqlerr"
)

// WarningRows is implemented by Rows whose statement has warnings for the
// client (a read of a materialized view that is not running, a FLUSH that
// did not wait for such a view). The server sends each as a NoticeResponse
// of severity WARNING once the statement has been executed, before its
// first row or its CommandComplete.
type WarningRows interface {
	Rows
	Warnings() []*sqlerr.Error
}

// sendWarnings sends rows' warnings, if it has any.
func (c *conn) sendWarnings(rows Rows) {
	wr, ok := rows.(WarningRows)
	if !ok {
		return
	}
	for _, w := range wr.Warnings() {
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
