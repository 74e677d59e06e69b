package pgcatalog

import (
	"strings"

	"github.com/streamsql/streamsql/pgcatalog/eval"
)

// procRow is one row of pg_proc.
type procRow struct {
	oid       uint32
	name      string
	min, max  int // max < 0: variadic
	aggregate bool
	result    uint32
}

// procRows lists our functions (they live in pg_catalog, as Postgres's
// built-ins do, so \df lists them by name and \dfS with the rest) and
// array_in, which drivers name to tell array types (typinput =
// 'array_in'::regproc). Our functions take and return whatever MySQL's
// rules give, so their arguments are "any" and their result anyelement,
// except for count.
func procRows(fs []Function) []procRow {
	out := []procRow{{oid: oidArrayIn, name: "array_in", min: 3, max: 3, result: oidAnyArray}}
	for i, f := range fs {
		r := procRow{oid: firstFunctionOID + uint32(i), name: f.Name, min: f.MinArgs, max: f.MaxArgs,
			aggregate: f.Aggregate, result: oidAnyElement}
		if f.Name == "count" {
			r.result = eval.OIDInt8
		}
		out = append(out, r)
	}
	return out
}

func (p *procRow) nargs() int {
	if p.max < 0 {
		return p.min + 1
	}
	return p.max
}

func pgProcRows(c *Catalog) []row {
	out := make([]row, 0, len(c.funcs))
	for i := range c.funcs {
		p := &c.funcs[i]
		args := make([]uint32, p.nargs())
		for j := range args {
			args[j] = oidAny
		}
		kind := "f"
		if p.aggregate {
			kind = "a"
		}
		r := row{
			"oid": int64(p.oid), "proname": p.name, "pronamespace": int64(oidPgCatalog), "proowner": int64(oidSuperuser),
			"prolang": int64(12), "procost": float64(1), "prokind": kind, "provolatile": "i", "proparallel": "s",
			"pronargs": int64(len(args)), "prorettype": int64(p.result), "proargtypes": oids(args...), "prosrc": p.name,
		}
		if p.max > p.min {
			r["pronargdefaults"] = int64(p.max - p.min)
		}
		if p.max < 0 {
			r["provariadic"] = int64(oidAny)
			modes := make([]eval.Value, len(args))
			for j := range modes {
				modes[j] = "i"
			}
			modes[len(modes)-1] = "v"
			r["proargmodes"] = modes
			r["proallargtypes"] = oids(args...)
		}
		out = append(out, r)
	}
	return out
}

func (c *Catalog) proc(oid uint32) (*procRow, bool) {
	for i := range c.funcs {
		if c.funcs[i].oid == oid {
			return &c.funcs[i], true
		}
	}
	return nil, false
}

// functionArguments is pg_get_function_arguments: optional arguments are
// shown with DEFAULT NULL, the variadic tail as VARIADIC "any".
func functionArguments(p *procRow, withDefaults bool) string {
	var parts []string
	for i := 0; i < p.nargs(); i++ {
		switch {
		case p.max < 0 && i == p.nargs()-1:
			parts = append(parts, `VARIADIC "any"`)
		case i >= p.min && withDefaults:
			parts = append(parts, `"any" DEFAULT NULL`)
		default:
			parts = append(parts, `"any"`)
		}
	}
	return strings.Join(parts, ", ")
}
