package sql

import "strings"

// CommandTag returns the Postgres command tag of a statement, without the
// row count that SELECT and COPY add ("SELECT", "CREATE SOURCE",
// "DROP MATERIALIZED VIEW", "SET").
func CommandTag(st Statement) string {
	switch s := st.(type) {
	case *Select:
		if s.Copy != nil {
			return "COPY"
		}
		return "SELECT"
	case *Explain, *ExplainAnalyze:
		return "EXPLAIN"
	case *ShowObjects, *ShowCreate, *ShowSourceStatus, *ShowCluster, *Describe:
		return "SHOW"
	case *CreateSource:
		return "CREATE SOURCE"
	case *CreateSink:
		return "CREATE SINK"
	case *CreateView:
		return "CREATE MATERIALIZED VIEW"
	case *Drop:
		return "DROP " + strings.ToUpper(s.Kind.String())
	case *SetVar:
		return "SET"
	case *ShowVar:
		return "SHOW"
	case *ResetVar:
		return "RESET"
	case *Flush:
		return "FLUSH"
	case *Subscribe:
		if s.Copy != nil {
			return "COPY"
		}
		return "SUBSCRIBE"
	case *Declare:
		return "DECLARE CURSOR"
	case *Fetch:
		if s.Move {
			return "MOVE"
		}
		return "FETCH"
	case *CloseCursor:
		if s.All {
			return "CLOSE CURSOR ALL"
		}
		return "CLOSE CURSOR"
	case *Begin:
		return "BEGIN"
	case *Commit:
		return "COMMIT"
	case *Rollback:
		return "ROLLBACK"
	case *ClusterPeer:
		if s.Op == "scan" {
			return "SELECT"
		}
		return "FLUSH"
	}
	return ""
}
