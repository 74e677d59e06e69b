package kinesis

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/schemas"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithytime "github.com/aws/smithy-go/time"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

var getRecordsOp = smithy.NewOperationSchema(schemas.GetRecords, schemas.GetRecordsInput, schemas.GetRecordsOutput)

func grResponse(status int, contentType string, body []byte) *smithyhttp.Response {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body))}}
}

// decodeWith runs a protocol's decoding of a GetRecords response.
func decodeWith(p smithyhttp.ClientProtocol, status int, contentType string, body []byte) (*kinesis.GetRecordsOutput, error) {
	out := &kinesis.GetRecordsOutput{}
	err := p.DeserializeResponse(context.Background(), getRecordsOp, kinesis.TypeRegistry, grResponse(status, contentType, body), out)
	return out, err
}

func sdkProtocol() smithyhttp.ClientProtocol { return awsjson.New11(schemas.Kinesis_20131202) }

// grBody is a GetRecords response of n records of the given payloads, as
// the service writes one.
func grBody(payloads [][]byte, millis int64, next string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"MillisBehindLatest":`)
	fmt.Fprint(&b, millis)
	if next != "" {
		b.WriteString(`,"NextShardIterator":"` + next + `"`)
	}
	b.WriteString(`,"Records":[`)
	for i, p := range payloads {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"SequenceNumber":"4959%052d","ApproximateArrivalTimestamp":1.764e9,"Data":"%s","PartitionKey":"user-%d"}`,
			i, base64.StdEncoding.EncodeToString(p), i%1000)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func TestDecodeGetRecords_AsSDK(t *testing.T) {
	iter := "AAAAAAAAAAGq+0rq2X5/Vhn3r9mUtfW3h5JR0pDp4WhKZ3wq1x1HnV8="
	cases := []struct {
		name string
		body string
		// fast: decoded here, not handed to the SDK's decoder.
		fast bool
	}{
		{"records", string(grBody([][]byte{[]byte(`{"user_id":1,"amount":2.5,"ts":1}`), []byte("x"), []byte("ab")}, 0, iter)), true},
		{"empty records, caught up", `{"MillisBehindLatest":0,"NextShardIterator":"` + iter + `","Records":[]}`, true},
		{"behind", `{"Records":[],"MillisBehindLatest":86400000,"NextShardIterator":"` + iter + `"}`, true},
		{"shard end: iterator null", `{"MillisBehindLatest":0,"NextShardIterator":null,"Records":[]}`, true},
		{"shard end: no iterator", `{"MillisBehindLatest":12,"Records":[]}`, true},
		{"records null", `{"Records":null,"MillisBehindLatest":0}`, true},
		{"no records member", `{"NextShardIterator":"a"}`, true},
		{"empty object", `{}`, true},
		{"white space", " \n{ \"Records\" : [ { \"Data\" : \"eA==\" , \"SequenceNumber\" : \"1\" } ] , \"MillisBehindLatest\" : 3 }\r\n", true},
		{"null record", `{"Records":[null,{"Data":"eA=="}]}`, true},
		{"null records, then a timestamp", `{"Records":[null,null,{"Data":"eA==","ApproximateArrivalTimestamp":1}]}`, false},
		{"null members", `{"Records":[{"Data":null,"SequenceNumber":null,"PartitionKey":"k","ApproximateArrivalTimestamp":null}]}`, true},
		{"empty data", `{"Records":[{"Data":"","SequenceNumber":"1","PartitionKey":"k"}]}`, true},
		{"encryption", `{"Records":[{"Data":"eA==","EncryptionType":"KMS"},{"Data":"eA==","EncryptionType":"NONE"},{"Data":"eA==","EncryptionType":"OTHER"}]}`, true},
		{"timestamps", `{"Records":[{"ApproximateArrivalTimestamp":1764000000},{"ApproximateArrivalTimestamp":1764000000.123},` +
			`{"ApproximateArrivalTimestamp":1.764000000999E9},{"ApproximateArrivalTimestamp":-1.5},{"ApproximateArrivalTimestamp":0.0007}]}`, true},
		{"kinesalite's shape", `{"MillisBehindLatest":0,"NextShardIterator":"` + iter + `","Records":[{"PartitionKey":"7","Data":"eyJ1c2VyX2lkIjo3fQ==",` +
			`"ApproximateArrivalTimestamp":1764000000.5,"SequenceNumber":"49659449296384596519394385519830843541591316474523680770"}]}`, true},
		{"raw utf-8 key", `{"Records":[{"Data":"eA==","PartitionKey":"clé ключ"}]}`, true},
		{"duplicate records member", `{"Records":[{"Data":"eA=="}],"Records":[{"Data":"eQ=="},{"Data":"eg=="}]}`, true},
		{"many records (several string chunks)", string(grBody(bytes.Fields(bytes.Repeat([]byte("abc "), 1000)), 0, iter)), true},
		{"large data", string(grBody([][]byte{bytes.Repeat([]byte("a"), 100_000), bytes.Repeat([]byte("b"), 40_000)}, 1, iter)), true},

		// Handed to the SDK, which decodes them or says what is wrong.
		{"child shards", `{"MillisBehindLatest":0,"Records":[],"ChildShards":[{"ShardId":"shardId-000000000002",` +
			`"ParentShards":["shardId-000000000000"],"HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"170141183460469231731687303715884105727"}}]}`, false},
		{"escaped key", `{"Records":[{"Data":"eA==","PartitionKey":"a\"b\\c\u00e9\n"}]}`, false},
		{"escaped member name", `{"Rec\u006frds":[{"Data":"eA=="}]}`, false},
		{"unknown member", `{"Records":[],"Unknown":{"a":[1,2]}}`, false},
		{"unknown record member", `{"Records":[{"Data":"eA==","Extra":1}]}`, false},
		{"bad base64", `{"Records":[{"Data":"e$A=="}]}`, false},
		{"base64 without padding", `{"Records":[{"Data":"eA"}]}`, false},
		{"base64 with trailing bits", `{"Records":[{"Data":"eB=="}]}`, true}, // accepted by both
		{"data not a string", `{"Records":[{"Data":12}]}`, false},
		{"data with a line break", "{\"Records\":[{\"Data\":\"eA\n==\"}]}", false},
		{"data with an escape", `{"Records":[{"Data":"eA\u003d="}]}`, false},
		{"millis a float", `{"MillisBehindLatest":1.5}`, false},
		{"millis huge", `{"MillisBehindLatest":123456789012345678901}`, false},
		{"millis a string", `{"MillisBehindLatest":"1"}`, false},
		{"timestamp a string", `{"Records":[{"ApproximateArrivalTimestamp":"Infinity"}]}`, false},
		{"timestamp plus sign", `{"Records":[{"ApproximateArrivalTimestamp":+1}]}`, false},
		{"timestamp leading zero", `{"Records":[{"ApproximateArrivalTimestamp":01}]}`, false},
		{"truncated", `{"Records":[{"Data":"eA=="}`, false},
		{"trailing garbage", `{"Records":[]} x`, false},
		{"not an object", `[1]`, false},
		{"records not a list", `{"Records":{}}`, false},
		{"control character", "{\"Records\":[{\"PartitionKey\":\"a\x01\"}]}", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var direct kinesis.GetRecordsOutput
			if fast := decodeGetRecords([]byte(c.body), &direct) == nil; fast != c.fast {
				t.Errorf("decoded here: %v, want %v", fast, c.fast)
			}
			want, werr := decodeWith(sdkProtocol(), 200, "application/x-amz-json-1.1", []byte(c.body))
			got, gerr := decodeWith(getRecordsProtocol{sdkProtocol()}, 200, "application/x-amz-json-1.1", []byte(c.body))
			if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
				t.Fatalf("error %v, the SDK's %v", gerr, werr)
			}
			if werr != nil {
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%s\nthe SDK's\n%s", dumpOutput(got), dumpOutput(want))
			}
		})
	}
}

func dumpOutput(o *kinesis.GetRecordsOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "millis %v next %v child %v records(nil %v):\n", ptrText(o.MillisBehindLatest), ptrText(o.NextShardIterator), o.ChildShards, o.Records == nil)
	for _, r := range o.Records {
		fmt.Fprintf(&b, "  seq %v key %v t %v enc %q data %q (nil %v)\n", ptrText(r.SequenceNumber), ptrText(r.PartitionKey),
			ptrText(r.ApproximateArrivalTimestamp), r.EncryptionType, r.Data, r.Data == nil)
	}
	return b.String()
}

func ptrText[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// The error responses stay the SDK's typed errors, which classify reads.
func TestDecodeGetRecords_ErrorsAreTheSDKs(t *testing.T) {
	cases := []struct {
		status int
		body   string
		check  func(error) bool
		class  errClass
	}{
		{400, `{"__type":"ExpiredIteratorException","message":"Iterator expired"}`,
			func(err error) bool { var e *ktypes.ExpiredIteratorException; return errors.As(err, &e) }, errExpired},
		{400, `{"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded"}`,
			func(err error) bool { var e *ktypes.ProvisionedThroughputExceededException; return errors.As(err, &e) }, errThrottled},
		{400, `{"__type":"ResourceNotFoundException","message":"Stream s not found"}`,
			func(err error) bool { var e *ktypes.ResourceNotFoundException; return errors.As(err, &e) }, errFatal},
		{500, `{"__type":"InternalFailure","message":"boom"}`,
			func(err error) bool {
				var e smithy.APIError
				return errors.As(err, &e) && e.ErrorCode() == "InternalFailure"
			}, errRetryable},
	}
	for _, c := range cases {
		_, want := decodeWith(sdkProtocol(), c.status, "application/x-amz-json-1.1", []byte(c.body))
		_, got := decodeWith(getRecordsProtocol{sdkProtocol()}, c.status, "application/x-amz-json-1.1", []byte(c.body))
		if got == nil || !c.check(got) || got.Error() != want.Error() {
			t.Errorf("%d %s: got %v (%T), the SDK's %v", c.status, c.body, got, got, want)
			continue
		}
		if cl := classify(context.Background(), got); cl != c.class {
			t.Errorf("%s: class %v, want %v", c.body, cl, c.class)
		}
	}
}

// The SDK's decoder panics on a timestamp of "NaN"; through ours the call
// fails instead (a panic in a reader's goroutine would end the process).
func TestDecodeGetRecords_SDKPanicIsAnError(t *testing.T) {
	body := []byte(`{"Records":[{"ApproximateArrivalTimestamp":"NaN"}]}`)
	_, err := decodeWith(getRecordsProtocol{sdkProtocol()}, 200, "application/x-amz-json-1.1", body)
	var de *smithy.DeserializationError
	if !errors.As(err, &de) {
		t.Fatalf("got %v (%T), want a DeserializationError", err, err)
	}
}

// A content type that is not JSON goes to the SDK's decoder untouched.
func TestDecodeGetRecords_OtherContentType(t *testing.T) {
	body := []byte(`{"Records":[{"Data":"eA=="}],"MillisBehindLatest":0}`)
	for _, ct := range []string{"application/x-amz-cbor-1.1", "text/html"} {
		got, gerr := decodeWith(getRecordsProtocol{sdkProtocol()}, 200, ct, body)
		want, werr := decodeWith(sdkProtocol(), 200, ct, body)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v %v, the SDK's %v %v", ct, dumpOutput(got), gerr, dumpOutput(want), werr)
		}
	}
	for _, ct := range []string{"", "application/x-amz-json-1.1; charset=utf-8", "application/json"} {
		if !jsonContent(ct) {
			t.Errorf("%q: not taken as JSON", ct)
		}
	}
	if jsonContent("application/x-amz-cbor-1.1") {
		t.Error("CBOR taken as JSON")
	}
}

// Timestamps come out as smithy-go's ParseEpochSeconds makes them.
func TestEpochSeconds_AsSmithy(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "1764000000", "1764000000.1", "1764000000.123", "1764000000.1239",
		"1764000000.999999", "1.764000000001e9", "1e3", "-0.0005", "0.0009", "1700000000.3", "2147483647.999"} {
		got, ok := epochSeconds([]byte(s))
		if !ok {
			t.Errorf("%s: not decoded", s)
			continue
		}
		var f float64
		fmt.Sscan(s, &f)
		if want := smithytime.ParseEpochSeconds(f); !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("%s: %v, smithy's %v", s, got, want)
		}
	}
	for ms := int64(1_764_000_000_000); ms < 1_764_000_000_000+20_000; ms += 7 {
		s := fmt.Sprintf("%d.%03d", ms/1000, ms%1000)
		var f float64
		fmt.Sscan(s, &f)
		got, _ := epochSeconds([]byte(s))
		if want := smithytime.ParseEpochSeconds(f); !got.Equal(want) {
			t.Fatalf("%s: %v, smithy's %v", s, got, want)
		}
	}
}

// The client NewClient builds decodes GetRecords with ours, end to end
// through the SDK's stack, and leaves the other operations alone.
func TestNewClient_DecodesGetRecords(t *testing.T) {
	body := grBody([][]byte{[]byte(`{"a":1}`), []byte(`{"a":2}`)}, 5, "it")
	c, err := NewClient(context.Background(), ClientOptions{Region: "us-east-1", Endpoint: "http://127.0.0.1:1", AccessKey: "a", SecretKey: "b",
		HTTPClient: &http.Client{Transport: cannedTransport{body: body}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.GetRecords(context.Background(), &kinesis.GetRecordsInput{ShardIterator: aws.String("x")}, noSDKRetry)
	if err != nil {
		t.Fatal(err)
	}
	want, err := decodeWith(sdkProtocol(), 200, "application/x-amz-json-1.1", body)
	if err != nil {
		t.Fatal(err)
	}
	out.ResultMetadata = want.ResultMetadata
	if !reflect.DeepEqual(out, want) {
		t.Errorf("got\n%s\nthe SDK's\n%s", dumpOutput(out), dumpOutput(want))
	}
	if _, ok := c.Options().Protocol.(getRecordsProtocol); !ok {
		t.Errorf("protocol %T", c.Options().Protocol)
	}
}

// cannedTransport answers every request with one body.
type cannedTransport struct{ body []byte }

func (c cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Requestid", "r")
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: int64(len(c.body)), Request: req}, nil
}

func FuzzDecodeGetRecords(f *testing.F) {
	f.Add(grBody([][]byte{[]byte(`{"user_id":1}`), []byte("x")}, 0, "it"))
	f.Add([]byte(`{"MillisBehindLatest":0,"NextShardIterator":null,"Records":[]}`))
	f.Add([]byte(`{"Records":[null,{"Data":"","EncryptionType":"KMS","ApproximateArrivalTimestamp":1.5e9}]}`))
	f.Add([]byte(`{"Records":[{"Data":"eA==","PartitionKey":"a\"b"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		// The SDK's decoder, less its panics (TestDecodeGetRecords_SDKPanicIsAnError).
		want := &kinesis.GetRecordsOutput{}
		werr := getRecordsProtocol{sdkProtocol()}.sdkDecode(context.Background(), getRecordsOp, kinesis.TypeRegistry, grResponse(200, "", body), want)
		got, gerr := decodeWith(getRecordsProtocol{sdkProtocol()}, 200, "", body)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("error %v, the SDK's %v", gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("got\n%s\nthe SDK's\n%s", dumpOutput(got), dumpOutput(want))
		}
	})
}

// BenchmarkDecodeGetRecords decodes one GetRecords response of 1,000
// records of ~60-byte JSON events: the SDK's decoder and ours, alone
// (decode) and through the whole client stack with a canned HTTP
// response (call: serializing, signing, middleware, decoding).
func BenchmarkDecodeGetRecords(b *testing.B) {
	payloads := make([][]byte, 1000)
	for i := range payloads {
		payloads[i] = fmt.Appendf(nil, `{"user_id":%d,"amount":%d.%02d,"ts":%d}`, 1+i*7919%100000, i%500, i%100, 1764000000000+int64(i)*3)
	}
	body := grBody(payloads, 0, "AAAAAAAAAAGq+0rq2X5/Vhn3r9mUtfW3h5JR0pDp4WhKZ3wq1x1HnV8=")
	for _, p := range []struct {
		name  string
		proto smithyhttp.ClientProtocol
	}{{"sdk", sdkProtocol()}, {"ours", getRecordsProtocol{sdkProtocol()}}} {
		b.Run("decode/"+p.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				out, err := decodeWith(p.proto, 200, "application/x-amz-json-1.1", body)
				if err != nil || len(out.Records) != len(payloads) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(payloads)), "ns/record")
		})
		b.Run("call/"+p.name, func(b *testing.B) {
			c := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
				Credentials: aws.AnonymousCredentials{}, HTTPClient: &http.Client{Transport: cannedTransport{body: body}},
				Retryer: aws.NopRetryer{}}, func(o *kinesis.Options) { o.Protocol = p.proto })
			in := &kinesis.GetRecordsInput{ShardIterator: aws.String("x"), Limit: aws.Int32(10000)}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				out, err := c.GetRecords(context.Background(), in)
				if err != nil || len(out.Records) != len(payloads) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(payloads)), "ns/record")
		})
	}
}
