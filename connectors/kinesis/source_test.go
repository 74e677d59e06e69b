package kinesis

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Issue 12, finding 7: one shard's reader failing for good ends Run with
// its error at once, and every subscriber (shared, joined later, or still
// backfilling) learns it, while the other shards' readers are stopped
// rather than waited for.
func TestSource_RunShardFails(t *testing.T) {
	for _, mode := range []string{"error", "panic"} {
		t.Run(mode, func(t *testing.T) { testSourceShardFails(t, mode) })
	}
}

// testSourceShardFails: shard-1's reader fails for good, by an error or by
// a panic in the reader's goroutine (which must be the source's error, not
// the end of the process).
func testSourceShardFails(t *testing.T, mode string) {
	var mu sync.Mutex
	calls := map[string]int{}
	api := &fakeAPI{
		listShards: func(*kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error) {
			return &kinesis.ListShardsOutput{Shards: []ktypes.Shard{
				{ShardId: aws.String("shard-0")}, {ShardId: aws.String("shard-1")},
			}}, nil
		},
		getShardIterator: func(in *kinesis.GetShardIteratorInput) (*kinesis.GetShardIteratorOutput, error) {
			return &kinesis.GetShardIteratorOutput{ShardIterator: in.ShardId}, nil
		},
		getRecords: func(in *kinesis.GetRecordsInput) (*kinesis.GetRecordsOutput, error) {
			shard := aws.ToString(in.ShardIterator)
			mu.Lock()
			calls[shard]++
			n := calls[shard]
			mu.Unlock()
			if shard == "shard-1" && n > 1 {
				if mode == "panic" {
					panic("boom in shard-1")
				}
				return nil, apiErr("AccessDeniedException")
			}
			// shard-0 is caught up and stays healthy: its reader never
			// ends by itself.
			return &kinesis.GetRecordsOutput{NextShardIterator: in.ShardIterator, MillisBehindLatest: aws.Int64(0)}, nil
		},
	}
	opts := fastOptions("s", StartTrimHorizon)
	src, err := NewSource(api, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := src.Subscribe(8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- src.Run(ctx) }()
	// Drain events so that no delivery waits on this subscriber.
	go func() {
		for {
			select {
			case <-sub.Events():
			case <-sub.Failed():
				return
			}
		}
	}()
	select {
	case err := <-runErr:
		if err == nil {
			t.Fatal("Run returned nil, want shard-1's error")
		}
		if mode == "panic" && !strings.Contains(err.Error(), "shard shard-1: internal error: reader panicked: boom in shard-1") {
			t.Errorf("Run = %v, want the panic as shard-1's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after shard-1 failed for good (it waits for shard-0's reader before stopping it)")
	}
	select {
	case <-sub.Failed():
		if sub.Err() == nil || sub.Err() == ErrSourceStopped {
			t.Errorf("subscription error %v, want shard-1's", sub.Err())
		}
	default:
		t.Error("subscription not failed after Run returned")
	}
	// A subscriber that comes after the failure is told at once too.
	for name, late := range map[string]*Subscription{
		"SubscribeFrom": src.SubscribeFrom(ctx, 1, nil), "Subscribe": src.Subscribe(1),
	} {
		select {
		case <-late.Failed():
		default:
			t.Errorf("%s after the source failed: the subscription is not failed", name)
		}
	}
}
