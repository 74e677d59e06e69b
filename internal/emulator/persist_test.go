package emulator

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// The demo's emulator: a fixed port and a data directory, so that an
// emulator started again after the first one is gone answers at the same
// endpoint with the same streams and records.
func TestStart_FixedPortAndDir_KeepsStreams(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	port, dir := freePort(t), filepath.Join(t.TempDir(), "kinesalite")
	opts := Options{Port: port, Dir: dir}
	e, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("http://127.0.0.1:%d", port)
	if e.Endpoint() != want {
		t.Fatalf("Endpoint() = %q, want %q", e.Endpoint(), want)
	}
	if err := e.CreateStream(ctx, "kept", 2); err != nil {
		t.Fatal(err)
	}
	var recs []Record
	var sent []string
	for i := range 10 {
		data := fmt.Sprintf(`{"n":%d}`, i)
		recs = append(recs, Record{PartitionKey: fmt.Sprint(i), Data: []byte(data)})
		sent = append(sent, data)
	}
	if _, err := e.PutRecords(ctx, "kept", recs); err != nil {
		t.Fatal(err)
	}
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}

	again := StartForTest(ctx, t, opts)
	if again.Endpoint() != want {
		t.Fatalf("restarted Endpoint() = %q, want %q", again.Endpoint(), want)
	}
	if again.InMemory() {
		t.Fatal("given a Dir, the emulator keeps its streams in memory (leveldown did not load)")
	}
	c, err := again.Client()
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(ctx, t, c, "kept")
	slices.Sort(got)
	slices.Sort(sent)
	if !slices.Equal(got, sent) {
		t.Fatalf("after a restart on the same dir the stream holds %v, want %v", got, sent)
	}
}

// A fixed port that stays taken is refused, within the emulator's bound
// for a predecessor on its way out, with an error naming the port.
func TestStart_FixedPortTaken(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	start := time.Now()
	e, err := Start(ctx, Options{Port: port})
	if err == nil {
		_ = e.Stop()
		t.Fatalf("started on port %d, which another listener holds", port)
	}
	if want := fmt.Sprintf("port %d", port); !strings.Contains(err.Error(), want) {
		t.Fatalf("error does not name %q: %v", want, err)
	}
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("error is not ErrBusy: %v", err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("refusing a taken port took %v", d)
	}
}
