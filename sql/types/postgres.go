package types

// PostgresType is how a type of ours appears to Postgres clients: the
// pg_type OID, length and type modifier that RowDescription sends and that
// pg_attribute holds. The wire protocol and the catalog both use it, so a
// column is described the same way in a result and in \d.
type PostgresType struct {
	OID    uint32
	Len    int16 // pg_type.typlen: -1 for variable length
	Typmod int32 // -1 when the type has no modifier
}

// Postgres maps t to the Postgres type clients see. TINYINT has no
// Postgres type of its own and is smallint; a type Postgres lacks is text.
func (t Type) Postgres() PostgresType {
	switch t.Kind {
	case Bool:
		return PostgresType{16, 1, -1}
	case Int:
		switch t.Width {
		case 8, 16:
			return PostgresType{21, 2, -1}
		case 32:
			return PostgresType{23, 4, -1}
		}
		return PostgresType{20, 8, -1}
	case Float:
		if t.Width == 32 {
			return PostgresType{700, 4, -1}
		}
		return PostgresType{701, 8, -1}
	case Decimal:
		if t.Precision > 0 {
			// Postgres packs numeric(p, s) as ((p << 16) | s) + VARHDRSZ.
			return PostgresType{1700, -1, int32(t.Precision<<16|t.Scale) + 4}
		}
		return PostgresType{1700, -1, -1}
	case String:
		if t.Length > 0 {
			return PostgresType{1043, -1, int32(t.Length) + 4}
		}
		return PostgresType{25, -1, -1}
	case Bytes:
		return PostgresType{17, -1, -1}
	case Date:
		return PostgresType{1082, 4, -1}
	case Timestamp:
		if t.Precision > 0 && t.Precision < 6 {
			return PostgresType{1114, 8, int32(t.Precision)}
		}
		return PostgresType{1114, 8, -1}
	case JSON:
		return PostgresType{114, -1, -1}
	case Interval:
		return PostgresType{1186, 16, -1}
	}
	return PostgresType{25, -1, -1}
}
