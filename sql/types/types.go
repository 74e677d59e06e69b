// Package types owns the SQL data model shared by every layer: column types,
// values and rows. It imports only sqlerr (the other leaf), so every package
// may use it.
package types

import (
	"fmt"
	"strings"
)

// Kind is the family of a type. Widths and precisions live in Type.
type Kind uint8

const (
	// Unknown is the type of an untyped NULL or a parameter whose type is not
	// yet inferred.
	Unknown Kind = iota
	Bool
	Int       // TINYINT, SMALLINT, INT, BIGINT (Type.Width = 8, 16, 32, 64)
	Float     // FLOAT (Width 32), DOUBLE (Width 64)
	Decimal   // DECIMAL(Precision, Scale)
	String    // VARCHAR(Length) or TEXT (Length 0)
	Bytes     // BYTES / VARBINARY
	Date      // days since 1970-01-01
	Timestamp // microseconds since 1970-01-01 00:00:00 UTC, Precision = fractional digits
	JSON      // JSON text
	Interval  // months and microseconds
)

var kindNames = [...]string{
	Unknown: "UNKNOWN", Bool: "BOOLEAN", Int: "BIGINT", Float: "DOUBLE", Decimal: "DECIMAL",
	String: "VARCHAR", Bytes: "BYTES", Date: "DATE", Timestamp: "TIMESTAMP", JSON: "JSON",
	Interval: "INTERVAL",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Type is a column or expression type.
type Type struct {
	Kind      Kind
	Width     int // bits for Int (8, 16, 32, 64) and Float (32, 64)
	Precision int // DECIMAL precision; TIMESTAMP fractional digits
	Scale     int // DECIMAL scale
	Length    int // VARCHAR length; 0 means unbounded (TEXT)
}

// Common types.
var (
	TypeUnknown   = Type{Kind: Unknown}
	TypeBool      = Type{Kind: Bool}
	TypeTinyInt   = Type{Kind: Int, Width: 8}
	TypeSmallInt  = Type{Kind: Int, Width: 16}
	TypeInt       = Type{Kind: Int, Width: 32}
	TypeBigInt    = Type{Kind: Int, Width: 64}
	TypeFloat     = Type{Kind: Float, Width: 32}
	TypeDouble    = Type{Kind: Float, Width: 64}
	TypeText      = Type{Kind: String}
	TypeBytes     = Type{Kind: Bytes}
	TypeDate      = Type{Kind: Date}
	TypeTimestamp = Type{Kind: Timestamp, Precision: 6}
	TypeJSON      = Type{Kind: JSON}
	TypeInterval  = Type{Kind: Interval}
)

// DecimalType returns DECIMAL(p, s).
func DecimalType(p, s int) Type { return Type{Kind: Decimal, Precision: p, Scale: s} }

// VarcharType returns VARCHAR(n).
func VarcharType(n int) Type { return Type{Kind: String, Length: n} }

// String renders the type in the dialect's spelling, as SHOW CREATE and
// DESCRIBE print it.
func (t Type) String() string {
	switch t.Kind {
	case Int:
		switch t.Width {
		case 8:
			return "TINYINT"
		case 16:
			return "SMALLINT"
		case 32:
			return "INT"
		}
		return "BIGINT"
	case Float:
		if t.Width == 32 {
			return "FLOAT"
		}
		return "DOUBLE"
	case Decimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	case String:
		if t.Length > 0 {
			return fmt.Sprintf("VARCHAR(%d)", t.Length)
		}
		return "TEXT"
	case Timestamp:
		return fmt.Sprintf("TIMESTAMP(%d)", t.Precision)
	}
	return t.Kind.String()
}

// Column is a named, typed column of a relation.
type Column struct {
	Name string
	Type Type
}

// Row is one tuple. Its length equals the number of columns of its relation.
type Row []Value

// String renders a row for logs and test failures.
func (r Row) String() string {
	var b strings.Builder
	for i, v := range r {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(v.String())
	}
	return b.String()
}
