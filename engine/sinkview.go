package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/connectors/kinesis"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// Sinks over continuous queries: CREATE SINK s FROM view and CREATE SINK s
// AS SELECT ... [EMIT ON WINDOW CLOSE].
//
// Such a sink runs as a hidden view owned by the sink (a viewRunner of the
// sink object, checkpointed by the same coordinator), planned from the
// view's query or the sink's own. Its input is append-only (checked at
// CREATE), so its Materialize keeps nothing: the table it gets is a
// sinkStage, which reads every key as absent and turns every row written
// into a record. (With mode = 'upsert' the input may update rows, and the
// stage keeps the view's table and sends each epoch's net change per key:
// sinkupsert.go.) At the epoch's seal the stage numbers the epoch's records
// and writes them, keyed by (epoch, ordinal), into the sink's staging
// table, so that they commit in the SAME CommitEpoch as the pipeline's
// state and positions: a record exists durably exactly when its epoch
// does.
//
// A sender per sink reads the committed staging table after each commit,
// writes the records it has not sent yet to Kinesis, waits for Kinesis to
// acknowledge them (Sink.Flush), and hands their keys back to the stage,
// which deletes them in the next epoch's commit. A crash after the
// acknowledgement and before that commit sends them again on restart, so
// delivery is at least once; every record carries "_id" =
// "sink/epoch/ordinal", fixed when it was staged, for consumers to
// de-duplicate.

// sinkStageTable is the operator id of a sink's staging table. It is the
// Materialize's id: the sink's Materialize stores nothing of its own.
const sinkStageTable = planner.MaterializeTable

// sinkShared is what the pipeline of a sink and its sender share; it
// outlives both, so that a restarted life deletes what the sender sent
// before.
type sinkShared struct {
	mu sync.Mutex
	// sent is the last staged key sent and acknowledged in this process.
	sent []byte
	// acked is the last committed epoch whose records are all acknowledged.
	acked uint64
	// sentAny is set once acked means something (a first pass ran).
	sentAny bool
	// toDelete holds acknowledged keys for the stage to delete.
	toDelete [][]byte
	// failed is why the sender is not running, nil while it is, and
	// failedSince since when.
	failed      error
	failedSince time.Time
}

// sinkStage is the table a sink's Materialize writes to (see above). Its
// methods run on the operator's goroutine.
type sinkStage struct {
	*state.Table
	shared  *sinkShared
	name    string
	keyed   bool
	enc     *format.JSONEncoder
	keyCol  int          // partition key column, -1 for the record id
	hashCol int          // explicit hash key column, -1 for none
	up      *upsertState // nil unless mode = 'upsert' (sinkupsert.go)

	rows [][]byte     // this epoch's JSON objects, without "_id"
	keys []stagedKeys // where each goes
	buf  []byte
}

var _ exec.EpochSealer = (*sinkStage)(nil)

// newSinkStage wraps a sink's staging table.
func newSinkStage(obj *object, t *state.Table, shared *sinkShared) (*sinkStage, error) {
	s := &sinkStage{Table: t, shared: shared, name: obj.entry.Name,
		keyed: obj.stream.Key != nil, enc: format.NewJSONEncoder(obj.sinkColumns),
		keyCol: sinkColumn(obj, "partition_key", obj.sinkColumns), hashCol: sinkColumn(obj, "explicit_hash_key", obj.sinkColumns)}
	if isUpsert(obj) {
		s.up = newUpsertState(obj)
	}
	return s, nil
}

// Get reads every key as absent: the sink's input only inserts, and each
// insert is a record of its own. In upsert mode it reads the view's table.
func (s *sinkStage) Get(k []byte) ([]byte, bool, error) {
	if s.up != nil {
		return s.Table.Get(s.viewKey(k))
	}
	return nil, false, nil
}

// Put records the row a Materialize stores (with its count, for a bag);
// in upsert mode it stores it, and the change is sent at the seal.
func (s *sinkStage) Put(k, value []byte) error {
	if s.up != nil {
		if err := s.touch(k); err != nil {
			return err
		}
		return s.Table.Put(s.viewKey(k), value)
	}
	var stageErr error // from staging a row, as opposed to decoding it
	err := exec.MaterializedRows(s.keyed, bytes.Clone(value), func(row types.Row, n int64) error {
		s.buf, stageErr = s.enc.Append(s.buf[:0], row)
		if stageErr != nil {
			stageErr = fmt.Errorf("sink %s: %w", s.name, stageErr)
			return stageErr
		}
		keys, err := s.recordKeys(row, "")
		if err != nil {
			stageErr = err
			return err
		}
		for ; n > 0; n-- {
			s.rows = append(s.rows, bytes.Clone(s.buf))
			s.keys = append(s.keys, keys)
		}
		return nil
	})
	if stageErr != nil {
		return stageErr
	}
	if err != nil {
		return fmt.Errorf("sink %s: %w", s.name, err)
	}
	return nil
}

// Delete cannot happen for append-only input (Get never finds a row); in
// upsert mode it removes the row, and the change is sent at the seal.
func (s *sinkStage) Delete(k []byte) error {
	if s.up != nil {
		if err := s.touch(k); err != nil {
			return err
		}
		return s.Table.Delete(s.viewKey(k))
	}
	return fmt.Errorf("sink %s: its input deleted a row, which an append-only sink cannot send", s.name)
}

// Scan sees nothing, as Get does.
func (s *sinkStage) Scan(_, _ []byte, _ func(key, value []byte) error) error { return nil }

// SealEpoch stages the epoch's records and deletes the acknowledged ones,
// then seals the table: both commit with the epoch. An error fails the
// pipeline before the epoch commits; the life restarts from the last
// commit. Keys handed over to a life that dies before its commit stay
// staged and are sent again (same ids).
func (s *sinkStage) SealEpoch(epoch uint64) error {
	s.shared.mu.Lock()
	del := s.shared.toDelete
	s.shared.toDelete = nil
	s.shared.mu.Unlock()
	for _, k := range del {
		if err := s.Table.Delete(k); err != nil {
			return fmt.Errorf("sink %s: %w", s.name, err)
		}
	}
	if s.up != nil {
		if err := s.stageChanges(); err != nil {
			return err
		}
	}
	for i, row := range s.rows {
		id := s.name + "/" + strconv.FormatUint(epoch, 10) + "/" + strconv.Itoa(i)
		keys := s.keys[i]
		if keys.partition == "" {
			keys.partition = id
		}
		v := state.AppendBytes(nil, keys.partition)
		if s.hashCol >= 0 {
			v = state.AppendBytes(v, keys.hash)
		}
		v = append(v, withID(id, row)...)
		k := state.AppendUint64(state.AppendUint64(nil, epoch), uint64(i))
		if err := s.Table.Put(k, v); err != nil {
			return fmt.Errorf("sink %s: %w", s.name, err)
		}
	}
	s.rows, s.keys = s.rows[:0], s.keys[:0]
	return s.Table.SealEpoch(epoch)
}

// stagedKeys place a staged record: its partition key ("" for its id) and
// explicit hash key ("" for none).
type stagedKeys struct{ partition, hash string }

// recordKeys returns where row goes; partition is the key when the sink
// names no partition_key column.
func (s *sinkStage) recordKeys(row types.Row, partition string) (stagedKeys, error) {
	if s.keyCol >= 0 {
		partition = row[s.keyCol].String()
	}
	hash, err := explicitHashKey(row, s.hashCol)
	if err != nil {
		return stagedKeys{}, fmt.Errorf("sink %s: %w", s.name, err)
	}
	return stagedKeys{partition, hash}, nil
}

// startViewSink starts a sink over a continuous query: its pipeline (a
// hidden view) and its sender.
func (e *Engine) startViewSink(obj *object) {
	if obj.stream == nil {
		if obj.streamErr != nil {
			e.log.Error("sink cannot run", "sink", obj.entry.Name, "err", obj.streamErr)
		}
		return
	}
	if obj.sinkShared == nil {
		obj.sinkShared = &sinkShared{}
	}
	ctx, stop := context.WithCancel(e.ctx)
	r := &sinkRunner{e: e, obj: obj, stop: stop, done: make(chan struct{})}
	e.sinksMu.Lock()
	e.sinks[obj.entry.Name] = r
	e.sinksMu.Unlock()
	e.views.startView(obj)
	go r.sendLoop(ctx)
}

func (r *sinkRunner) sendLoop(ctx context.Context) {
	defer close(r.done)
	log := r.e.log.With("sink", r.obj.entry.Name)
	sh := r.obj.sinkShared
	for {
		started := time.Now()
		err := r.send(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("sender ended")
		}
		sh.mu.Lock()
		if sh.failed == nil {
			sh.failedSince = time.Now()
		}
		sh.failed = err
		sh.mu.Unlock()
		r.e.views.notify()
		t := time.NewTimer(r.health.lifeFailed(err, time.Since(started), log.With("part", "sender")))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// send is one life of the sender: after every commit, send what is staged
// and not sent yet, wait for the acknowledgements, hand the keys back.
func (r *sinkRunner) send(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sink, err := r.newSink(ctx)
	if err != nil {
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- sink.Run(ctx) }()
	m := r.e.views
	sh := r.obj.sinkShared
	sh.mu.Lock()
	sh.failed = nil
	sh.mu.Unlock()
	id := r.obj.entry.ID
	type staged struct {
		key        []byte
		pkey, hash string
		data       []byte
	}
	hashed := sinkColumn(r.obj, "explicit_hash_key", r.obj.sinkColumns) >= 0
	for {
		ch := m.changes()
		committed := m.committed.Load()
		sh.mu.Lock()
		due := !sh.sentAny || committed > sh.acked
		after := sh.sent
		sh.mu.Unlock()
		if due {
			// Read a bounded pass, then send it outside the transaction:
			// Write blocks while Kinesis throttles. The read sees at least
			// epoch committed.
			var recs []staged
			err := r.e.db.ReadCommitted(func(txn *badger.Txn) error {
				var start []byte
				if after != nil {
					start = append(bytes.Clone(after), 0)
				}
				// An upsert sink's view table follows the records (sinkupsert.go).
				return state.ScanCommitted(txn, id, sinkStageTable, start, matPrefix, func(k, v []byte) error {
					if len(recs) >= sinkSendPass {
						return errPassFull
					}
					pkey, data, err := state.ReadBytes(v)
					if err != nil {
						return fmt.Errorf("staged record: %w", err)
					}
					var hash string
					if hashed {
						if hash, data, err = state.ReadBytes(data); err != nil {
							return fmt.Errorf("staged record: %w", err)
						}
					}
					recs = append(recs, staged{bytes.Clone(k), pkey, hash, bytes.Clone(data)})
					return nil
				})
			})
			full := errors.Is(err, errPassFull)
			if err != nil && !full {
				return fmt.Errorf("read staged records: %w", err)
			}
			for _, rec := range recs {
				if err := sink.Write(ctx, kinesis.SinkRecord{ID: stagedID(rec.key), PartitionKey: rec.pkey,
					ExplicitHashKey: rec.hash, Data: rec.data}); err != nil {
					return err
				}
			}
			if err := sink.Flush(ctx); err != nil {
				return fmt.Errorf("flush: %w", err)
			}
			sh.mu.Lock()
			if len(recs) > 0 {
				sh.sent = recs[len(recs)-1].key
				for _, rec := range recs {
					sh.toDelete = append(sh.toDelete, rec.key)
				}
			}
			if !full {
				sh.acked, sh.sentAny = committed, true
			}
			sh.mu.Unlock()
			m.notify()
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-runErr:
			if err == nil {
				err = errors.New("kinesis sink ended")
			}
			return err
		case <-ch:
		}
	}
}

// sinkSendPass bounds the records one pass of a sender holds in memory.
const sinkSendPass = 5000

var errPassFull = errors.New("pass full")

// stagedID renders a staging key (epoch, ordinal) for logs.
func stagedID(k []byte) string {
	epoch, rest, err := state.ReadUint64(k)
	if err != nil {
		return fmt.Sprintf("%x", k)
	}
	ord, _, err := state.ReadUint64(rest)
	if err != nil {
		return fmt.Sprintf("%x", k)
	}
	return strconv.FormatUint(epoch, 10) + "/" + strconv.FormatUint(ord, 10)
}
