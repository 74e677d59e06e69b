package kinesis

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// KPL aggregation format (amazon-kinesis-producer, aggregation-format.md):
// magic, a protobuf AggregatedRecord, and the MD5 of the protobuf bytes.
//
//	message AggregatedRecord {
//	  repeated string partition_key_table     = 1;
//	  repeated string explicit_hash_key_table = 2;
//	  repeated Record records                 = 3;
//	}
//	message Record {
//	  required uint64 partition_key_index     = 1;
//	  optional uint64 explicit_hash_key_index = 2;
//	  required bytes  data                    = 3;
//	  repeated Tag    tags                    = 4;
//	}
//
// The message is read with protowire rather than generated code: three
// fields do not justify a protoc step and a generated file to keep in step,
// protowire reads varints and length-delimited fields without allocating,
// and google.golang.org/protobuf is already a dependency of the module.
var kplMagic = []byte{0xF3, 0x89, 0x9A, 0xC2}

const md5Len = md5.Size

// ErrCorruptAggregate marks a KPL aggregate whose checksum and protobuf
// are sound but whose contents are not (an index past its table, no user
// records): it cannot be expanded, and is not a plain record either.
var ErrCorruptAggregate = errors.New("corrupt KPL aggregate")

// IsAggregate reports whether data starts with the KPL magic and is long
// enough to hold a checksum.
func IsAggregate(data []byte) bool {
	return len(data) >= len(kplMagic)+md5Len && bytes.Equal(data[:len(kplMagic)], kplMagic)
}

// Deaggregate appends to dst the user records of r: r itself when it is
// not a KPL aggregate, else one record per aggregated user record, sharing
// r's sequence number, with SubSequence numbering them. The Data of the
// returned records aliases r.Data. As the KCL does, a record that starts
// with the magic but whose MD5 does not match or whose protobuf does not
// parse is r itself: it may be user data that happens to start so. A
// corrupt aggregate returns an error wrapping ErrCorruptAggregate and
// leaves dst as it was.
func Deaggregate(dst []Record, r Record) ([]Record, error) {
	if !IsAggregate(r.Data) {
		return append(dst, r), nil
	}
	body := r.Data[len(kplMagic) : len(r.Data)-md5Len]
	sum := md5.Sum(body)
	if !bytes.Equal(sum[:], r.Data[len(r.Data)-md5Len:]) {
		return append(dst, r), nil
	}
	agg, err := parseAggregate(body)
	if err != nil {
		return append(dst, r), nil
	}
	out, err := agg.expand(dst, r)
	if err != nil {
		return dst, fmt.Errorf("%w: record %s: %v", ErrCorruptAggregate, r.SequenceNumber, err)
	}
	return out, nil
}

// kplAggregate is a parsed AggregatedRecord.
type kplAggregate struct {
	pkTable, ehkTable []string
	users             []userRecord
}

type userRecord struct {
	pk, ehk uint64
	hasEHK  bool
	data    []byte
}

// parseAggregate reads the protobuf of an AggregatedRecord; an error
// means the bytes are not one.
func parseAggregate(body []byte) (*kplAggregate, error) {
	var a kplAggregate
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		body = body[n:]
		switch {
		case num == 1 && typ == protowire.BytesType, num == 2 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			if num == 1 {
				a.pkTable = append(a.pkTable, string(v))
			} else {
				a.ehkTable = append(a.ehkTable, string(v))
			}
			body = body[n:]
		case num == 3 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			u, err := parseUserRecord(v)
			if err != nil {
				return nil, fmt.Errorf("user record %d: %w", len(a.users), err)
			}
			a.users = append(a.users, u)
			body = body[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, body)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			body = body[n:]
		}
	}
	return &a, nil
}

// expand appends a's user records to dst as records of r.
func (a *kplAggregate) expand(dst []Record, r Record) ([]Record, error) {
	if len(a.users) == 0 {
		return nil, errors.New("no user records")
	}
	for i, u := range a.users {
		if u.pk >= uint64(len(a.pkTable)) {
			return nil, fmt.Errorf("user record %d: partition key index %d out of range (table has %d)", i, u.pk, len(a.pkTable))
		}
		out := r
		out.SubSequence = i
		out.Aggregated = true
		out.PartitionKey = a.pkTable[u.pk]
		out.ExplicitHashKey = ""
		if u.hasEHK {
			if u.ehk >= uint64(len(a.ehkTable)) {
				return nil, fmt.Errorf("user record %d: explicit hash key index %d out of range (table has %d)", i, u.ehk, len(a.ehkTable))
			}
			out.ExplicitHashKey = a.ehkTable[u.ehk]
		}
		out.Data = u.data
		dst = append(dst, out)
	}
	return dst, nil
}

func parseUserRecord(b []byte) (userRecord, error) {
	var u userRecord
	var havePK, haveData bool
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return u, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case (num == 1 || num == 2) && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return u, protowire.ParseError(n)
			}
			if num == 1 {
				u.pk, havePK = v, true
			} else {
				u.ehk, u.hasEHK = v, true
			}
			b = b[n:]
		case num == 3 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return u, protowire.ParseError(n)
			}
			u.data, haveData = v, true
			b = b[n:]
		default: // tags (4) and unknown fields
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return u, protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	if !havePK || !haveData {
		return u, errors.New("missing required partition_key_index or data")
	}
	return u, nil
}
