package tests

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/internal/emulator"
)

// TestSink_Upsert: a sink with mode = 'upsert' over a GROUP BY view that
// updates and deletes rows (HAVING COUNT(*) < 3) sends, per key and in
// order, an "insert" of the new row for every change and a "delete" with
// the key columns when the row leaves the view; the partition key is the
// group key; replaying the ops gives the view's rows, across a SIGKILL.
func TestSink_Upsert(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 5*time.Minute)
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	for _, s := range []string{"up-in", "up-out"} {
		if err := e.CreateStream(ctx, s, 1); err != nil {
			t.Fatal(err)
		}
	}
	bin, dataDir := buildBinary(t), t.TempDir()
	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	with := fmt.Sprintf("connector = 'kinesis', endpoint = '%s', region = 'us-east-1'", e.Endpoint())
	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE up_in (user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3)) "+
			"WITH (%s, stream = 'up-in', start_position = 'trim_horizon')", with),
		"CREATE MATERIALIZED VIEW up_totals AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total " +
			"FROM up_in GROUP BY user_id HAVING COUNT(*) < 3",
		fmt.Sprintf("CREATE SINK up_sink FROM up_totals WITH (%s, stream = 'up-out', mode = 'upsert')", with),
		fmt.Sprintf("CREATE SOURCE up_out (_id TEXT, op TEXT, user_id BIGINT, n BIGINT, total DOUBLE, _partition_key TEXT) "+
			"WITH (%s, stream = 'up-out', start_position = 'trim_horizon')", with),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	// Each phase changes a key at most once, so every change is its own
	// record whatever the epochs' boundaries.
	phases := [][]timedEvent{
		{{user: 1, amount: 10}, {user: 2, amount: 5}, {user: 3, amount: 1}},
		{{user: 1, amount: 20}, {user: 3, amount: 2}},
		{{user: 3, amount: 4}}, // user 3's third record: it leaves the view
	}
	for i, p := range phases {
		if i == 2 {
			// SIGKILL and restart before the delete: the sink's copy of
			// the view must come back for user 3's row to leave it.
			_ = conn.Close(ctx)
			srv.kill(t)
			srv = startBinary(t, bin, dataDir)
			conn = connect(t, srv.addr)
		}
		putEvents(ctx, t, e, "up-in", p)
		if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
			t.Fatalf("phase %d: FLUSH: %v", i+1, err)
		}
	}

	// Worked out by hand: the ops per key, in order.
	want := map[int64][]string{
		1: {"insert 1 10", "insert 2 30"},
		2: {"insert 1 5"},
		3: {"insert 1 1", "insert 2 3", "delete"},
	}
	type change struct {
		epoch, ord uint64
		user       int64
		text       string
	}
	rows, err := conn.Query(ctx, "SELECT _id, op, user_id, n, total, _partition_key FROM up_out")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var changes []change
	for rows.Next() {
		var id, op, pkey string
		var user int64
		var n *int64
		var total *float64
		if err := rows.Scan(&id, &op, &user, &n, &total, &pkey); err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(id, "/")
		if len(parts) != 3 || parts[0] != "up_sink" {
			t.Fatalf("id %q is not sink/epoch/ordinal", id)
		}
		if seen[id] { // at least once: a resend carries the same id
			continue
		}
		seen[id] = true
		if pkey != strconv.FormatInt(user, 10) {
			t.Errorf("record %s of user %d has partition key %q, want the group key", id, user, pkey)
		}
		epoch, _ := strconv.ParseUint(parts[1], 10, 64)
		ord, _ := strconv.ParseUint(parts[2], 10, 64)
		text := op
		switch op {
		case "insert":
			if n == nil || total == nil {
				t.Fatalf("insert %s lacks columns", id)
			}
			text = fmt.Sprintf("insert %d %g", *n, *total)
		case "delete":
			if n != nil || total != nil {
				t.Fatalf("delete %s carries more than the key: n=%v total=%v", id, n, total)
			}
		default:
			t.Fatalf("record %s has op %q", id, op)
		}
		changes = append(changes, change{epoch, ord, user, text})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Slice(changes, func(i, j int) bool {
		a, b := changes[i], changes[j]
		return a.epoch < b.epoch || a.epoch == b.epoch && a.ord < b.ord
	})
	got := map[int64][]string{}
	last := map[int64]string{}
	for _, c := range changes {
		got[c.user] = append(got[c.user], c.text)
		if c.text == "delete" {
			delete(last, c.user)
		} else {
			last[c.user] = strings.TrimPrefix(c.text, "insert ")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ops per key:\n%v\nwant\n%v", got, want)
	}

	// Replaying the ops gives the view.
	view := map[int64]string{}
	vr, err := conn.Query(ctx, "SELECT user_id, n, total FROM up_totals")
	if err != nil {
		t.Fatal(err)
	}
	for vr.Next() {
		var user, n int64
		var total float64
		if err := vr.Scan(&user, &n, &total); err != nil {
			t.Fatal(err)
		}
		view[user] = fmt.Sprintf("%d %g", n, total)
	}
	if err := vr.Err(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(last) != fmt.Sprint(view) || fmt.Sprint(view) != "map[1:2 30 2:1 5]" {
		t.Fatalf("the sink's last state per key is %v, the view holds %v, want map[1:2 30 2:1 5]", last, view)
	}
}
