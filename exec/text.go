package exec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/types"
)

// The text form of change streams, for tests of this and other packages
// (after RisingWave's StreamChunk::from_pretty). One change per line:
//
//	+ 1 4        insert
//	- 7 5        delete
//	U- 5 3       update: the old row ...
//	U+ 7 5       ... then the new one
//	watermark 2024-01-01 00:00:05   (or microseconds: watermark 5000000)
//	barrier 3
//
// Values are read with types.ParseText of their column's type; `.` is
// NULL, and a value in single quotes may hold spaces ('it''s' for a quote;
// '.' is the string "."). Consecutive change lines form one batch; a blank
// line or a watermark or barrier line ends it. `#` starts a comment line.

// ParseMessages reads text into the messages it describes.
func ParseMessages(typs []types.Type, text string) ([]Message, error) {
	var msgs []Message
	var cur *Batch
	end := func() {
		if cur != nil {
			msgs = append(msgs, Message{Kind: KindBatch, Batch: cur})
			cur = nil
		}
	}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			end()
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch word {
		case "watermark":
			end()
			wm, err := parseWatermark(rest)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n+1, err)
			}
			msgs = append(msgs, Message{Kind: KindWatermark, Watermark: wm})
			continue
		case "barrier":
			end()
			e, err := strconv.ParseUint(rest, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad barrier epoch %q", n+1, rest)
			}
			msgs = append(msgs, Message{Kind: KindBarrier, Barrier: Barrier{Epoch: e}})
			continue
		}
		op, row, err := parseChange(typs, line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		if cur == nil {
			cur = NewBatch(8)
		}
		cur.Append(op, row)
	}
	end()
	return msgs, nil
}

// ParseBatch reads text that holds changes only (blank lines allowed) into
// one batch; watermark and barrier lines are an error (use ParseMessages).
func ParseBatch(typs []types.Type, text string) (*Batch, error) {
	msgs, err := ParseMessages(typs, text)
	if err != nil {
		return nil, err
	}
	b := NewBatch(8)
	for _, m := range msgs {
		if m.Kind != KindBatch {
			return nil, fmt.Errorf("ParseBatch: unexpected %s", FormatMessage(m))
		}
		for i := 0; i < m.Batch.Len(); i++ {
			b.Append(m.Batch.Op(i), m.Batch.Row(i))
		}
	}
	return b, nil
}

func parseWatermark(s string) (Watermark, error) {
	if us, err := strconv.ParseInt(s, 10, 64); err == nil {
		return Watermark{Micros: us}, nil
	}
	v, err := types.ParseText(types.TypeTimestamp, s)
	if err != nil {
		return Watermark{}, fmt.Errorf("bad watermark %q: %w", s, err)
	}
	return Watermark{Micros: v.Micros()}, nil
}

func parseChange(typs []types.Type, line string) (Op, types.Row, error) {
	toks, quoted, err := splitTokens(line)
	if err != nil {
		return 0, nil, err
	}
	var op Op
	switch toks[0] {
	case "+":
		op = Insert
	case "-":
		op = Delete
	case "U-":
		op = UpdateDelete
	case "U+":
		op = UpdateInsert
	default:
		return 0, nil, fmt.Errorf("unknown op %q (want +, -, U-, U+, watermark or barrier)", toks[0])
	}
	vals := toks[1:]
	if len(vals) != len(typs) {
		return 0, nil, fmt.Errorf("%d values for %d columns in %q", len(vals), len(typs), line)
	}
	row := make(types.Row, len(vals))
	for i, s := range vals {
		if s == "." && !quoted[i+1] {
			continue
		}
		v, err := types.ParseText(typs[i], s)
		if err != nil {
			return 0, nil, fmt.Errorf("column %d: %w", i+1, err)
		}
		row[i] = v
	}
	return op, row, nil
}

// splitTokens splits on spaces, keeping single-quoted tokens whole.
func splitTokens(line string) (toks []string, quoted []bool, err error) {
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '\'':
			var sb strings.Builder
			j := i + 1
			for {
				if j >= len(line) {
					return nil, nil, fmt.Errorf("unterminated quote in %q", line)
				}
				if line[j] == '\'' {
					if j+1 < len(line) && line[j+1] == '\'' {
						sb.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				sb.WriteByte(line[j])
				j++
			}
			toks, quoted = append(toks, sb.String()), append(quoted, true)
			i = j + 1
		default:
			j := i
			for j < len(line) && line[j] != ' ' && line[j] != '\t' {
				j++
			}
			toks, quoted = append(toks, line[i:j]), append(quoted, false)
			i = j
		}
	}
	return toks, quoted, nil
}

// FormatMessage renders one message in the text form (a batch without its
// trailing newline).
func FormatMessage(m Message) string {
	switch m.Kind {
	case KindBatch:
		return strings.TrimSuffix(m.Batch.String(), "\n")
	case KindWatermark:
		return "watermark " + types.FormatTimestamp(m.Watermark.Micros)
	case KindBarrier:
		return "barrier " + strconv.FormatUint(m.Barrier.Epoch, 10)
	}
	return fmt.Sprintf("message of kind %d", m.Kind)
}

// FormatMessages renders messages one change or marker per line, batches
// run together: the output does not depend on how rows were batched.
func FormatMessages(msgs []Message) string {
	var sb strings.Builder
	for _, m := range msgs {
		if m.Kind == KindBatch && m.Batch.Len() == 0 {
			continue
		}
		sb.WriteString(FormatMessage(m))
		sb.WriteByte('\n')
	}
	return sb.String()
}

// ParseTypes reads a comma-separated list of type names for tests:
// int (BIGINT), int32, float (DOUBLE), decimal, text, bool, bytes, date,
// timestamp, json, interval.
func ParseTypes(s string) ([]types.Type, error) {
	var out []types.Type
	for _, name := range strings.Split(s, ",") {
		var t types.Type
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "int", "bigint":
			t = types.TypeBigInt
		case "int32", "integer":
			t = types.TypeInt
		case "float", "double":
			t = types.TypeDouble
		case "decimal":
			t = types.DecimalType(0, 0)
		case "text", "varchar", "string":
			t = types.TypeText
		case "bool", "boolean":
			t = types.TypeBool
		case "bytes":
			t = types.TypeBytes
		case "date":
			t = types.TypeDate
		case "timestamp":
			t = types.TypeTimestamp
		case "json":
			t = types.TypeJSON
		case "interval":
			t = types.TypeInterval
		default:
			return nil, fmt.Errorf("unknown type %q", name)
		}
		out = append(out, t)
	}
	return out, nil
}
