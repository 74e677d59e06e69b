package sql

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
)

// render prints a statement compactly for table tests.
func render(st Statement) string {
	switch s := st.(type) {
	case *CreateSource:
		var cols []string
		for _, c := range s.Columns {
			col := fmt.Sprintf("%s %s@%d", c.Name, c.Type, c.Pos)
			if c.NotNull {
				col += " NOT NULL"
			}
			cols = append(cols, col)
		}
		out := fmt.Sprintf("create source %s@%d%s (%s)", s.Name, s.NamePos, ine(s.IfNotExists), strings.Join(cols, ", "))
		if s.Watermark != nil {
			out += fmt.Sprintf(" watermark %s-%s@%d", s.Watermark.Column, s.Watermark.Delay, s.Watermark.Pos)
		}
		return out + " " + renderOpts(s.Options)
	case *CreateSink:
		out := fmt.Sprintf("create sink %s@%d%s", s.Name, s.NamePos, ine(s.IfNotExists))
		if s.Query != nil {
			out += " as " + renderSelect(s.Query)
		} else {
			out += fmt.Sprintf(" from %s@%d", s.From, s.FromPos)
		}
		if s.EmitOnWindowClose {
			out += " eowc"
		}
		return out + " " + renderOpts(s.Options)
	case *CreateView:
		out := fmt.Sprintf("create view %s@%d%s as %s", s.Name, s.NamePos, ine(s.IfNotExists), renderSelect(s.Query))
		if s.EmitOnWindowClose {
			out += " eowc"
		}
		return out
	case *Drop:
		out := fmt.Sprintf("drop %s %s@%d", s.Kind, s.Name, s.NamePos)
		if s.IfExists {
			out += " if exists"
		}
		if s.Cascade {
			out += " cascade"
		}
		return out
	case *ShowObjects:
		return fmt.Sprintf("show %ss", s.Kind)
	case *ShowCreate:
		return fmt.Sprintf("show create %s %s@%d", s.Kind, s.Name, s.NamePos)
	case *Describe:
		return fmt.Sprintf("describe %s@%d", s.Name, s.NamePos)
	case *ShowSourceStatus:
		return fmt.Sprintf("show source status %s@%d", s.Name, s.NamePos)
	case *Explain:
		return "explain " + render(s.Stmt)
	case *ExplainAnalyze:
		return fmt.Sprintf("explain analyze %s@%d", s.Name, s.NamePos)
	case *Select:
		return renderSelect(s)
	case *SetVar:
		out := fmt.Sprintf("set %s", s.Name)
		if s.Default {
			out += " default"
		} else {
			out += fmt.Sprintf(" %q", s.Value)
		}
		if s.Local {
			out += " local"
		}
		return out
	case *ShowVar:
		return "show var " + s.Name
	case *ResetVar:
		return "reset " + s.Name
	case *Flush:
		if s.Name != "" {
			return fmt.Sprintf("flush %s@%d", s.Name, s.NamePos)
		}
		return "flush"
	case *Subscribe:
		out := fmt.Sprintf("subscribe %s@%d %s", s.Name, s.NamePos, renderOpts(s.Options))
		if s.Copy != nil {
			out += " copy"
		}
		return out
	case *Begin:
		return "begin"
	case *Commit:
		return "commit"
	case *Rollback:
		return "rollback"
	}
	return fmt.Sprintf("%T", st)
}

func ine(b bool) string {
	if b {
		return " if not exists"
	}
	return ""
}

// renderOpts prints the options the user wrote, then the defaults after '|'.
func renderOpts(o Options) string {
	var given, defs []string
	for _, opt := range o.List {
		if opt.Default {
			defs = append(defs, opt.Key+"="+opt.Value)
		} else {
			given = append(given, fmt.Sprintf("%s=%s@%d", opt.Key, opt.Value, opt.KeyPos))
		}
	}
	out := "(" + strings.Join(given, ", ")
	if len(defs) > 0 && len(given) > 0 && given[0][:10] == "connector=" {
		// defaults of connector options are checked by their own test
		return out + ")"
	}
	if len(defs) > 0 {
		out += " | " + strings.Join(defs, ", ")
	}
	return out + ")"
}

func renderSelect(q *Select) string {
	var b strings.Builder
	if err := q.AST.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags, &b)); err != nil {
		return "restore error: " + err.Error()
	}
	out := "{" + b.String()
	var names []string
	for n := range q.TableFuncs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		tf := q.TableFuncs[n]
		var args []string
		for _, a := range tf.Args {
			switch {
			case a.Ident != "":
				args = append(args, a.Ident)
			case a.Interval != nil:
				if d, ok := a.Interval.Duration(); ok {
					args = append(args, d.String())
				} else {
					args = append(args, fmt.Sprintf("%dmon%dus", a.Interval.Months, a.Interval.Micros))
				}
			default:
				args = append(args, restoreExpr(a.Expr))
			}
		}
		out += fmt.Sprintf(" %s=%s@%d(%s)", n, tf.Name, tf.Pos, strings.Join(args, ", "))
		if tf.Alias != "" {
			out += " as " + tf.Alias
		}
	}
	if q.NumParams > 0 {
		out += fmt.Sprintf(" params=%v/%d", q.ParamOrder, q.NumParams)
	}
	return out + "}"
}

func restoreExpr(e ast.ExprNode) string {
	var b strings.Builder
	if err := e.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags, &b)); err != nil {
		return "restore error: " + err.Error()
	}
	return b.String()
}
