package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql"
)

// Sinks in a cluster: a sink from a source runs as parts by shard. Part r
// of R reads every shard of the source (the shared readers' subscription,
// as one process does) and sends the records of the shards with
// planner.PartOfShard(shard, R) == r, dropping the others' batches before
// decoding them. Its positions are what it commits: each save goes to
// Committer.Commit first (the part's only write, sinkPositionsKey), then
// to local Badger, so a new owner restores them and resends what came
// after: at least once, with the same "_id" per record as in one process.
// A sink over a view or a query is not run in a cluster yet (refused).

// sinkPositionsKey is a sink part's one write: its positions.
var sinkPositionsKey = []byte("sink/positions")

// errSinkFenced ends the life of a sink part whose save the cluster
// refused.
var errSinkFenced = errors.New("the cluster refused the sink's commit: another node holds its part now")

// stateObject is the object id the sink's positions are saved under.
func (r *sinkRunner) stateObject() uint64 {
	if r.stateID != 0 {
		return r.stateID
	}
	return r.obj.entry.ID
}

// consumer names the runner as a consumer of its source (SHOW SOURCE
// STATUS).
func (r *sinkRunner) consumer() string {
	if r.part != nil {
		return "sink " + r.obj.entry.Name + " part " + r.part.Key()
	}
	return "sink " + r.obj.entry.Name
}

// keepsShard reports whether the runner sends the records of shard.
func (r *sinkRunner) keepsShard(shard string) bool {
	return r.part == nil || planner.PartOfShard(shard, r.part.Count) == r.part.Index
}

// saveOffsets saves the sink's positions: through the cluster first, for a
// part.
func (r *sinkRunner) saveOffsets(ctx context.Context, b []byte) error {
	if r.part != nil {
		if err := r.e.cluster.commitSink(ctx, r, b); err != nil {
			return err
		}
	}
	return r.e.db.SaveOffsets(r.stateObject(), b)
}

// commitSink commits a sink part's positions to the cluster under an epoch
// of the coordinator's counter (above every epoch the part committed
// anywhere, as a view part's).
func (c *clusterMember) commitSink(ctx context.Context, r *sinkRunner, positions []byte) error {
	epoch := c.e.views.injected.Add(1)
	fenced, err := c.cfg.Committer.Commit(ctx, epoch, []PartWrites{{Part: *r.part, Token: r.heldToken,
		Writes: []Write{{Key: sinkPositionsKey, Val: positions}}}})
	if err != nil {
		return fmt.Errorf("commit the sink's positions to the cluster: %w", err)
	}
	if len(fenced) == 0 {
		return nil
	}
	r.fenced.Store(true)
	r.stop()
	c.fenced.Add(1)
	c.fencedNow(*r.part)
	c.e.log.Warn("cluster: commit fenced: another node holds the part now; stopped it", "part", r.part.String(), "epoch", epoch)
	c.wake()
	return errSinkFenced
}

// sinkParts is how many parts a sink has; 0 for one a cluster does not
// run.
func (c *clusterMember) sinkParts(obj *object) int {
	if obj.createSink == nil || obj.createSink.Query != nil {
		return 0
	}
	from, ok := c.e.catalog.get(obj.createSink.From)
	if !ok || from.createSource == nil {
		return 0
	}
	return c.ranges
}

// sinkCreated makes the leases of a new (or loaded) sink's parts exist.
func (c *clusterMember) sinkCreated(obj *object) {
	n := c.sinkParts(obj)
	if n == 0 {
		c.e.log.Error("sink cannot run in a cluster: only a sink from a source can", "sink", obj.entry.Name)
		return
	}
	ctx, cancel := context.WithTimeout(c.e.ctx, ensureTimeout)
	defer cancel()
	if err := c.cfg.Membership.Ensure(ctx, SinkGroup(obj.entry.Name), n); err != nil {
		c.e.log.Warn("cluster: make the sink's leases; retried", "sink", obj.entry.Name, "err", err)
		c.mu.Lock()
		c.unensured[obj.entry.Name] = obj
		c.mu.Unlock()
	}
	c.wake()
}

// heldSink returns the sink a held part belongs to, if this node knows it
// and the part fits it.
func (c *clusterMember) heldSink(id PartID) (*object, bool) {
	name, ok := strings.CutPrefix(id.Group, "sink/")
	if !ok {
		return nil, false
	}
	obj, ok := c.e.catalog.get(name)
	if !ok || obj.kind != sql.KindSink || c.sinkParts(obj) != id.Count {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return obj, !c.dropping[obj.entry.ID]
}

// reconcileSinks is reconcile for the parts of sinks.
func (c *clusterMember) reconcileSinks(ctx context.Context, want map[PartID]HeldPart) {
	c.mu.Lock()
	running := make(map[PartID]*sinkRunner, len(c.sinkPartsRunning))
	for id, r := range c.sinkPartsRunning {
		running[id] = r
	}
	c.mu.Unlock()
	for id, r := range running {
		h, ok := want[id]
		obj, known := c.heldSink(id)
		if ok && known && obj == r.obj && h.Token == r.heldToken && !r.fenced.Load() {
			continue
		}
		c.mu.Lock()
		if c.sinkPartsRunning[id] == r {
			delete(c.sinkPartsRunning, id)
		}
		c.mu.Unlock()
		r.stop()
		<-r.done
		if err := c.e.db.DeleteOffsets(r.stateID); err != nil {
			c.e.log.Warn("cluster: drop the positions of a sink part no longer running here", "part", id.String(), "err", err)
		}
		delete(running, id)
	}
	for id, h := range want {
		if _, ok := running[id]; ok || ctx.Err() != nil || !strings.HasPrefix(id.Group, "sink/") || c.recentlyFenced(id) {
			continue
		}
		obj, ok := c.heldSink(id)
		if !ok {
			continue
		}
		if err := c.startSinkPart(ctx, obj, h); err != nil && ctx.Err() == nil {
			c.logStartFailure(id, err)
		}
	}
}

// startSinkPart restores a held sink part's positions and starts it.
func (c *clusterMember) startSinkPart(ctx context.Context, obj *object, h HeldPart) error {
	from, ok := c.e.catalog.get(obj.createSink.From)
	if !ok || from.createSource == nil {
		return fmt.Errorf("sink %s: source %s is missing", obj.entry.Name, obj.createSink.From)
	}
	id := h.Part
	sid := partStateID(obj.entry.ID, id.Index)
	var pos []byte
	if err := c.cfg.Restorer.Restore(ctx, id, func(key, val []byte, del bool) error {
		if bytes.Equal(key, sinkPositionsKey) {
			pos = nil
			if !del {
				pos = bytes.Clone(val)
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("restore part %s: %w", id, err)
	}
	if pos != nil {
		if err := c.e.db.SaveOffsets(sid, pos); err != nil {
			return err
		}
	} else if err := c.e.db.DeleteOffsets(sid); err != nil {
		return err
	}
	c.restores.Add(1)
	c.raiseEpoch(h.Epoch)
	rctx, stop := context.WithCancel(c.e.ctx)
	r := &sinkRunner{e: c.e, obj: obj, from: from, stop: stop, done: make(chan struct{}),
		part: &id, stateID: sid, heldToken: h.Token}
	r.health.created = time.Now()
	c.mu.Lock()
	c.sinkPartsRunning[id] = r
	c.mu.Unlock()
	go r.loop(rctx)
	c.e.log.Info("cluster: part started", "part", id.String(), "epoch", h.Epoch)
	return nil
}

// stopSinkParts stops the parts of sink o (nil: every one, as the engine
// closes) and, for a dropped sink, forgets their positions.
func (c *clusterMember) stopSinkParts(o *object) {
	c.mu.Lock()
	var rs []*sinkRunner
	for id, r := range c.sinkPartsRunning {
		if o == nil || r.obj.entry.ID == o.entry.ID {
			delete(c.sinkPartsRunning, id)
			rs = append(rs, r)
		}
	}
	if o != nil {
		c.dropping[o.entry.ID] = true
	}
	c.mu.Unlock()
	for _, r := range rs {
		r.stop()
	}
	for _, r := range rs {
		<-r.done
		if o != nil {
			if err := c.e.db.DeleteOffsets(r.stateID); err != nil {
				c.e.log.Warn("drop: forget the positions of a sink's part", "sink", o.entry.Name, "part", r.part.Key(), "err", err)
			}
		}
	}
}

// sinkRunners returns the sink parts running here (of sink only, or all).
func (c *clusterMember) sinkRunners(only string) []*sinkRunner {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*sinkRunner
	for _, r := range c.sinkPartsRunning {
		if only == "" || r.obj.entry.Name == only {
			out = append(out, r)
		}
	}
	return out
}

// sinkPartNow returns the runner of sink part id running here now (nil:
// none) and whether this node holds the part.
func (c *clusterMember) sinkPartNow(id PartID) (*sinkRunner, bool) {
	c.mu.Lock()
	r := c.sinkPartsRunning[id]
	c.mu.Unlock()
	held, _ := c.cfg.Membership.Held()
	return r, slices.ContainsFunc(held, func(h HeldPart) bool { return h.Part == id })
}

// sinkStatusRunner returns a part of sink o running here, preferring one
// that is not well, for SHOW SINKS; nil if none runs here.
func (c *clusterMember) sinkStatusRunner(o *object) *sinkRunner {
	var first *sinkRunner
	for _, r := range c.sinkRunners(o.entry.Name) {
		if r.obj != o {
			continue
		}
		if r.live.Load() == 0 {
			return r
		}
		if first == nil {
			first = r
		}
	}
	return first
}
