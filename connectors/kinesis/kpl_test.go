package kinesis

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"google.golang.org/protobuf/encoding/protowire"
)

type userRec struct {
	pk, ehk string
	data    []byte
}

// aggregate builds a KPL aggregate from the published .proto field
// numbers (amazon-kinesis-producer aggregation-format.md).
func aggregate(recs []userRec) []byte {
	var body []byte
	pkIx, ehkIx := map[string]uint64{}, map[string]uint64{}
	var pks, ehks []string
	for _, r := range recs {
		if _, ok := pkIx[r.pk]; !ok {
			pkIx[r.pk] = uint64(len(pks))
			pks = append(pks, r.pk)
		}
		if _, ok := ehkIx[r.ehk]; r.ehk != "" && !ok {
			ehkIx[r.ehk] = uint64(len(ehks))
			ehks = append(ehks, r.ehk)
		}
	}
	for _, pk := range pks {
		body = protowire.AppendTag(body, 1, protowire.BytesType)
		body = protowire.AppendString(body, pk)
	}
	for _, e := range ehks {
		body = protowire.AppendTag(body, 2, protowire.BytesType)
		body = protowire.AppendString(body, e)
	}
	for _, r := range recs {
		var rb []byte
		rb = protowire.AppendTag(rb, 1, protowire.VarintType)
		rb = protowire.AppendVarint(rb, pkIx[r.pk])
		if r.ehk != "" {
			rb = protowire.AppendTag(rb, 2, protowire.VarintType)
			rb = protowire.AppendVarint(rb, ehkIx[r.ehk])
		}
		rb = protowire.AppendTag(rb, 3, protowire.BytesType)
		rb = protowire.AppendBytes(rb, r.data)
		// A tag (field 4) the reader must skip.
		var tag []byte
		tag = protowire.AppendTag(tag, 1, protowire.BytesType)
		tag = protowire.AppendString(tag, "t")
		rb = protowire.AppendTag(rb, 4, protowire.BytesType)
		rb = protowire.AppendBytes(rb, tag)
		body = protowire.AppendTag(body, 3, protowire.BytesType)
		body = protowire.AppendBytes(body, rb)
	}
	return withChecksum(body)
}

func withChecksum(body []byte) []byte {
	sum := md5.Sum(body)
	out := append([]byte{0xF3, 0x89, 0x9A, 0xC2}, body...)
	return append(out, sum[:]...)
}

func TestDeaggregate(t *testing.T) {
	good := aggregate([]userRec{{"a", "", []byte("1")}, {"b", "42", []byte("2")}, {"a", "", []byte("3")}})
	badMD5 := append([]byte(nil), good...)
	badMD5[len(badMD5)-1] ^= 1
	// A user record whose partition key index points past the table.
	var rb []byte
	rb = protowire.AppendTag(rb, 1, protowire.VarintType)
	rb = protowire.AppendVarint(rb, 5)
	rb = protowire.AppendTag(rb, 3, protowire.BytesType)
	rb = protowire.AppendBytes(rb, []byte("x"))
	var body []byte
	body = protowire.AppendTag(body, 1, protowire.BytesType)
	body = protowire.AppendString(body, "a")
	body = protowire.AppendTag(body, 3, protowire.BytesType)
	body = protowire.AppendBytes(body, rb)
	badIndex := withChecksum(body)
	truncated := withChecksum([]byte{0x0a, 0x05, 'a'}) // length 5, one byte
	// A user record without its required data field: protobuf that does
	// not parse as the KPL's message, as Java's proto2 parser sees it.
	var noData []byte
	noData = protowire.AppendTag(noData, 1, protowire.VarintType)
	noData = protowire.AppendVarint(noData, 0)
	var bodyNoData []byte
	bodyNoData = protowire.AppendTag(bodyNoData, 1, protowire.BytesType)
	bodyNoData = protowire.AppendString(bodyNoData, "a")
	bodyNoData = protowire.AppendTag(bodyNoData, 3, protowire.BytesType)
	bodyNoData = protowire.AppendBytes(bodyNoData, noData)
	missingData := withChecksum(bodyNoData)

	for _, tc := range []struct {
		name    string
		data    []byte
		want    []string // pk:ehk:data per user record
		corrupt bool
	}{
		{"plain", []byte("hello"), []string{"pk::hello"}, false},
		{"short magic-like", []byte{0xF3, 0x89, 0x9A, 0xC2}, []string{"pk::\xf3\x89\x9a\xc2"}, false},
		{"aggregate", good, []string{"a::1", "b:42:2", "a::3"}, false},
		// The KCL delivers a record with the magic whose MD5 does not match
		// or whose protobuf does not parse as it came (issue 12, finding 9):
		// such bytes may be a user's own data that happens to start so.
		{"bad md5", badMD5, []string{"pk::" + string(badMD5)}, false},
		{"truncated protobuf", truncated, []string{"pk::" + string(truncated)}, false},
		{"missing required field", missingData, []string{"pk::" + string(missingData)}, false},
		// Checksum and protobuf agree, the contents do not: corrupt.
		{"index out of range", badIndex, nil, true},
		{"empty aggregate", withChecksum(nil), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Deaggregate(nil, Record{SequenceNumber: "7", PartitionKey: "pk", Data: tc.data})
			if tc.corrupt {
				if !errors.Is(err, ErrCorruptAggregate) {
					t.Fatalf("err %v, want ErrCorruptAggregate", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, r := range out {
				got = append(got, r.PartitionKey+":"+r.ExplicitHashKey+":"+string(r.Data))
				if r.SequenceNumber != "7" || (len(out) > 1 && r.SubSequence != i) {
					t.Errorf("record %d: seq %s sub %d", i, r.SequenceNumber, r.SubSequence)
				}
				if len(tc.want) == 1 && (r.Aggregated || r.SubSequence != 0) {
					t.Errorf("plain record %d: aggregated %v, sub %d", i, r.Aggregated, r.SubSequence)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Aggregates put into kinesalite come out as their user records, in
// order, with sub-sequence numbers. A record with the magic but a wrong
// MD5 comes out as it went in (issue 12, finding 9); an aggregate that
// cannot be expanded comes out whole with its DecodeErr set, for the
// consumer to count or fail on, and the reader goes on past it.
func TestSource_KPL(t *testing.T) {
	ctx := context.Background()
	stream, c := newStream(t, 1)
	var entries []ktypes.PutRecordsRequestEntry
	n := map[string]int{}
	var badMD5, badIndex []byte
	for a := 0; a < 3; a++ {
		var recs []userRec
		for i := 0; i < 10; i++ {
			k := fmt.Sprintf("k%d", i%3)
			recs = append(recs, userRec{pk: k, data: encodePayload(k, n[k])})
			n[k]++
		}
		entries = append(entries, ktypes.PutRecordsRequestEntry{PartitionKey: aws.String("agg"), Data: aggregate(recs)})
		if a == 1 {
			badMD5 = aggregate(recs[:2])
			badMD5[len(badMD5)-1] ^= 0xff
			badIndex = aggregate(recs[:2])
			// The second user record's partition key index (the varint
			// after its field-1 tag) now points past the table of two keys.
			body := badIndex[4 : len(badIndex)-16]
			i := bytes.LastIndex(body, []byte{0x08, 0x01})
			body[i+1] = 9
			badIndex = withChecksum(body)
			entries = append(entries,
				ktypes.PutRecordsRequestEntry{PartitionKey: aws.String("md5"), Data: badMD5},
				ktypes.PutRecordsRequestEntry{PartitionKey: aws.String("idx"), Data: badIndex})
		}
	}
	entries = append(entries, ktypes.PutRecordsRequestEntry{PartitionKey: aws.String("k0"), Data: encodePayload("k0", n["k0"])})
	if _, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries}); err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(c, fastOptions(stream, StartTrimHorizon), nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := src.Subscribe(8)
	stop := runSource(t, src)
	defer stop()
	l := newLedger()
	var subs []int
	var plain, corrupt []Record
	deadline := time.After(30 * time.Second)
	for l.total < 31 {
		select {
		case ev := <-sub.Events():
			if b, ok := ev.(*Batch); ok {
				for _, r := range b.Records {
					switch r.PartitionKey {
					case "md5":
						plain = append(plain, r)
						continue
					case "idx":
						corrupt = append(corrupt, r)
						continue
					}
					l.add(r)
					if r.Aggregated {
						subs = append(subs, r.SubSequence)
					}
				}
			}
		case <-deadline:
			t.Fatalf("read %d of 31", l.total)
		}
	}
	l.check(t, 31)
	if len(subs) != 30 || subs[0] != 0 || subs[9] != 9 || subs[10] != 0 {
		t.Errorf("sub-sequences %v", subs)
	}
	if len(plain) != 1 || !bytes.Equal(plain[0].Data, badMD5) || plain[0].Aggregated || plain[0].DecodeErr != nil {
		t.Errorf("the record with a wrong MD5: got %+v, want it as put, plain", plain)
	}
	if len(corrupt) != 1 || !bytes.Equal(corrupt[0].Data, badIndex) || !errors.Is(corrupt[0].DecodeErr, ErrCorruptAggregate) {
		t.Errorf("the aggregate with an index out of range: got %+v, want it whole with ErrCorruptAggregate", corrupt)
	}
}
