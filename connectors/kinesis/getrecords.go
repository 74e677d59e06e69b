package kinesis

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// getRecordsProtocol is the SDK's own wire protocol (awsJson1_1) with the
// decoding of successful GetRecords responses done here. The SDK's decoder
// is generic: it walks the response shape by shape, and for every record
// allocates its Data (base64), its strings and its pointers, about a dozen
// allocations and several microseconds per record, a third of the
// engine's CPU end to end. Ours knows the one shape and decodes a whole
// response into a few slabs: every record's Data in shared chunks, its
// strings in one string, its pointers into slices. Everything else stays
// the SDK's: signing, endpoints, credentials, the request, error responses
// (so classify still sees the SDK's typed errors), and any response ours
// does not fully understand, which it hands back to the SDK's decoder
// unchanged (a content type other than JSON, an escaped string, a
// ChildShards list at a shard's end, anything malformed).
type getRecordsProtocol struct {
	smithyhttp.ClientProtocol
}

// withGetRecordsDecoder wraps the client's protocol; NewClient applies it.
func withGetRecordsDecoder(o *kinesis.Options) {
	if o.Protocol != nil {
		o.Protocol = getRecordsProtocol{o.Protocol}
	}
}

var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// DeserializeResponse implements smithyhttp.ClientProtocol.
func (p getRecordsProtocol) DeserializeResponse(ctx context.Context, schema *smithy.OperationSchema, types *smithy.TypeRegistry,
	resp *smithyhttp.Response, out smithy.Deserializable) error {
	o, ok := out.(*kinesis.GetRecordsOutput)
	if !ok || resp.StatusCode < 200 || resp.StatusCode >= 300 || !jsonContent(resp.Header.Get("Content-Type")) {
		return p.ClientProtocol.DeserializeResponse(ctx, schema, types, resp, out)
	}
	buf := bodyBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 16<<20 { // a 10 MB response is GetRecords' largest
			bodyBufs.Put(buf)
		}
	}()
	if n := resp.ContentLength; n > 0 && n <= 16<<20 {
		buf.Grow(int(n) + bytes.MinRead) // one allocation, not a doubling series
	}
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return &smithy.DeserializationError{Err: err}
	}
	if buf.Len() == 0 {
		return nil // as the SDK: an empty body is an empty output
	}
	if decodeGetRecords(buf.Bytes(), o) == nil {
		return nil
	}
	// Not a shape we decode: the SDK decodes it, or says what is wrong.
	*o = kinesis.GetRecordsOutput{}
	body := resp.Body
	resp.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
	defer func() { resp.Body = body }()
	return p.sdkDecode(ctx, schema, types, resp, out)
}

// sdkDecode is the SDK's decoding of a response ours left to it. That
// panics on some bodies (a timestamp of "NaN": smithy-go's
// ParseEpochSeconds calls big.NewFloat on it), which would end the
// process from a reader's goroutine; here it is a failed call instead.
func (p getRecordsProtocol) sdkDecode(ctx context.Context, schema *smithy.OperationSchema, types *smithy.TypeRegistry,
	resp *smithyhttp.Response, out smithy.Deserializable) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &smithy.DeserializationError{Err: fmt.Errorf("kinesis: the SDK's decoder failed on a GetRecords response: %v", r)}
		}
	}()
	return p.ClientProtocol.DeserializeResponse(ctx, schema, types, resp, out)
}

// jsonContent reports whether a response's content type is one this
// decoder reads. No content type is JSON too: the protocol is JSON and the
// SDK's decoder does not look.
func jsonContent(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	switch strings.TrimSpace(ct) {
	case "", "application/x-amz-json-1.1", "application/json":
		return true
	}
	return false
}

// errFallback means "not decoded here": the caller hands the body to the
// SDK's decoder. It is never returned to a user.
var errFallback = errors.New("kinesis: GetRecords response left to the SDK's decoder")

// decodeGetRecords decodes a GetRecords response body into out, as the
// SDK's decoder would (equal values: TestDecodeGetRecords_AsSDK), or
// returns errFallback. body is not referenced once it returns.
func decodeGetRecords(body []byte, out *kinesis.GetRecordsOutput) error {
	d := grDecoder{b: body}
	// A capacity hint only: each record is an object.
	n := bytes.Count(body, []byte{'{'})
	d.recs = make([]ktypes.Record, 0, n)
	d.spans = make([]recSpans, 0, n)
	d.times = make([]time.Time, n)
	if err := d.top(); err != nil {
		return err
	}
	d.finish(out)
	return nil
}

// grDecoder is one response's scan. Strings are gathered into chunks of
// strChunk bytes, each one Go string (a Builder's String does not copy);
// spans say where each one is. Chunks, not one string, because a string
// kept (a shard's last sequence number) keeps its whole chunk.
type grDecoder struct {
	b []byte
	i int

	recs  []ktypes.Record
	spans []recSpans      // per record: where its strings are in strs
	strs  strings.Builder // the chunk being filled
	full  []string        // the chunks filled before it
	times []time.Time     // per record, at its index (one per object at most)
	chunk []byte          // Data of the records, decoded; a new chunk when full

	millis     int64
	hasMillis  bool
	next       span
	hasNext    bool
	hasRecords bool
}

type span struct{ chunk, from, to int32 }

type recSpans struct {
	seq, key, enc          span
	hasSeq, hasKey, hasEnc bool
}

const (
	dataChunk = 32 << 10
	strChunk  = 8 << 10
)

func (d *grDecoder) finish(out *kinesis.GetRecordsOutput) {
	chunks := append(d.full, d.strs.String())
	at := func(sp span) string { return chunks[sp.chunk][sp.from:sp.to] }
	if d.hasMillis {
		millis := d.millis // not &d.millis, which would keep the decoder
		out.MillisBehindLatest = &millis
	}
	if d.hasNext {
		n := at(d.next)
		out.NextShardIterator = &n
	}
	if !d.hasRecords {
		return
	}
	// One slab for the pointers of every record: two strings and a time.
	ptrs := make([]string, 2*len(d.recs))
	for i := range d.recs {
		r, sp := &d.recs[i], &d.spans[i]
		if sp.hasSeq {
			ptrs[2*i] = at(sp.seq)
			r.SequenceNumber = &ptrs[2*i]
		}
		if sp.hasKey {
			ptrs[2*i+1] = at(sp.key)
			r.PartitionKey = &ptrs[2*i+1]
		}
		if sp.hasEnc {
			r.EncryptionType = encryptionType(at(sp.enc))
		}
	}
	out.Records = d.recs
}

func encryptionType(s string) ktypes.EncryptionType {
	switch s {
	case string(ktypes.EncryptionTypeNone):
		return ktypes.EncryptionTypeNone
	case string(ktypes.EncryptionTypeKms):
		return ktypes.EncryptionTypeKms
	}
	return ktypes.EncryptionType(s)
}

func (d *grDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte (0 at the end).
func (d *grDecoder) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *grDecoder) expect(c byte) error {
	if d.peek() != c {
		return errFallback
	}
	d.i++
	return nil
}

// null consumes a null literal if one is next.
func (d *grDecoder) null() bool {
	if d.peek() == 'n' && bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return true
	}
	return false
}

// str returns the raw bytes of the next string, which must have no escape
// (those are rare; the SDK decodes them).
func (d *grDecoder) str() ([]byte, error) {
	if d.peek() != '"' {
		return nil, errFallback
	}
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			return d.b[start:j], nil
		case c == '\\' || c < 0x20:
			return nil, errFallback // control characters are not JSON: the SDK says so
		}
	}
	return nil, errFallback
}

// keep copies a string into the chunk being filled.
func (d *grDecoder) keep(s []byte) span {
	if n := d.strs.Len(); n > 0 && n+len(s) > strChunk {
		d.full = append(d.full, d.strs.String())
		d.strs = strings.Builder{}
	}
	if d.strs.Cap() == 0 {
		d.strs.Grow(max(strChunk, len(s)))
	}
	from := d.strs.Len()
	d.strs.Write(s)
	return span{int32(len(d.full)), int32(from), int32(d.strs.Len())}
}

// number returns the bytes of the next number, which must be a JSON
// number (strconv would take more: "+1", ".5", "1_0").
func (d *grDecoder) number() ([]byte, error) {
	d.ws()
	start := d.i
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	lead := d.i
	if n := digits(); n == 0 || (n > 1 && d.b[lead] == '0') {
		return nil, errFallback
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return nil, errFallback
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return nil, errFallback
		}
	}
	return d.b[start:d.i], nil
}

// integer parses a plain decimal integer, as the SDK's int reader accepts.
func integer(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 { // longer ones are left to the SDK
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func (d *grDecoder) top() error {
	if err := d.object(d.topMember); err != nil {
		return err
	}
	if d.peek() != 0 {
		return errFallback
	}
	return nil
}

// object reads {"key": value, ...}, calling member for each key with the
// decoder at the value. Members whose value is null are skipped, as the
// SDK skips them.
func (d *grDecoder) object(member func(key []byte) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	if d.peek() == '}' {
		d.i++
		return nil
	}
	for {
		key, err := d.str()
		if err != nil {
			return err
		}
		if err := d.expect(':'); err != nil {
			return err
		}
		if !d.null() {
			if err := member(key); err != nil {
				return err
			}
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return errFallback
		}
	}
}

func (d *grDecoder) topMember(key []byte) error {
	switch string(key) {
	case "Records":
		d.hasRecords = true
		d.recs, d.spans = d.recs[:0], d.spans[:0]
		return d.records()
	case "MillisBehindLatest":
		n, err := d.number()
		if err != nil {
			return err
		}
		v, ok := integer(n)
		if !ok {
			return errFallback
		}
		d.millis, d.hasMillis = v, true
		return nil
	case "NextShardIterator":
		s, err := d.str()
		if err != nil {
			return err
		}
		d.next, d.hasNext = d.keep(s), true
		return nil
	}
	// ChildShards (only at a shard's end) and anything else: the SDK.
	return errFallback
}

func (d *grDecoder) records() error {
	if err := d.expect('['); err != nil {
		return err
	}
	if d.peek() == ']' {
		d.i++
		return nil
	}
	for {
		if d.null() {
			// The SDK keeps a null element as a zero record.
			d.recs = append(d.recs, ktypes.Record{})
			d.spans = append(d.spans, recSpans{})
		} else if err := d.record(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return errFallback
		}
	}
}

func (d *grDecoder) record() error {
	var r ktypes.Record
	var sp recSpans
	err := d.object(func(key []byte) error {
		switch string(key) {
		case "Data":
			var err error
			r.Data, err = d.data()
			return err
		case "SequenceNumber":
			s, err := d.str()
			if err != nil {
				return err
			}
			sp.seq, sp.hasSeq = d.keep(s), true
		case "PartitionKey":
			s, err := d.str()
			if err != nil {
				return err
			}
			sp.key, sp.hasKey = d.keep(s), true
		case "EncryptionType":
			s, err := d.str()
			if err != nil {
				return err
			}
			sp.enc, sp.hasEnc = d.keep(s), true
		case "ApproximateArrivalTimestamp":
			n, err := d.number()
			if err != nil {
				return err
			}
			t, ok := epochSeconds(n)
			if !ok {
				return errFallback
			}
			// times has a slot for every '{' of the body, so for every
			// record unless null ones come first.
			i := len(d.recs)
			if i >= len(d.times) {
				return errFallback
			}
			d.times[i] = t
			r.ApproximateArrivalTimestamp = &d.times[i]
		default:
			return errFallback
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.recs = append(d.recs, r)
	d.spans = append(d.spans, sp)
	return nil
}

// data decodes a record's base64 Data into the current chunk. The chunks
// are not reused: records (and so their Data) are shared with every
// subscriber of the source for as long as they like.
func (d *grDecoder) data() ([]byte, error) {
	if d.peek() != '"' {
		return nil, errFallback
	}
	// Base64 has no quote, backslash or control character, and the
	// decoder below refuses those, save \r and \n, which it skips: the
	// length check after it catches them.
	end := bytes.IndexByte(d.b[d.i+1:], '"')
	if end < 0 {
		return nil, errFallback
	}
	b64 := d.b[d.i+1 : d.i+1+end]
	d.i += end + 2
	if len(b64) == 0 {
		return []byte{}, nil // the SDK's decoding of "" is empty, not nil
	}
	if len(b64)%4 != 0 {
		return nil, errFallback // not padded: the SDK reports it
	}
	n := len(b64) / 4 * 3
	if cap(d.chunk)-len(d.chunk) < n {
		d.chunk = make([]byte, 0, max(n, dataChunk))
	}
	dst := d.chunk[len(d.chunk) : len(d.chunk)+n]
	m, err := base64.StdEncoding.Decode(dst, b64)
	if err != nil {
		return nil, errFallback // the SDK reports it
	}
	pad := 0
	if b64[len(b64)-1] == '=' {
		pad++
		if b64[len(b64)-2] == '=' {
			pad++
		}
	}
	if m != n-pad {
		return nil, errFallback // a raw line break: not JSON
	}
	d.chunk = d.chunk[:len(d.chunk)+m]
	return dst[:m:m], nil
}

// epochSeconds reads a timestamp as the SDK does (smithy-go's
// ParseEpochSeconds: the float's value times 1000 in float64 precision,
// truncated to whole milliseconds), without its big.Float allocations.
func epochSeconds(n []byte) (time.Time, bool) {
	var v float64
	if i, ok := integer(n); ok {
		v = float64(i)
	} else {
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return time.Time{}, false
		}
		v = f
	}
	ms := v * 1000
	if math.IsNaN(ms) || math.Abs(ms) >= 1<<62 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(ms)*1e6).UTC(), true
}
