package cluster

import (
	"context"
	"errors"
	"slices"
	"time"
)

// compactEvery is how many epochs a part's state may span in epoch
// objects after its base before the member writes a new base
// (docs/cluster.md section 5): it bounds what a new owner reads to
// restore, and the size of the lease item's run list, whatever pattern
// of epochs the part commits.
const compactEvery = 60

// compactTimeout bounds one compaction.
const compactTimeout = 5 * time.Minute

// epochsAfterBase counts the epoch objects a restore of loc reads.
func epochsAfterBase(loc Location) uint64 {
	var n uint64
	for _, r := range loc.Runs {
		n += r.Last - r.First + 1
	}
	return n
}

// rebase returns loc with base as its base: the runs of epochs up to
// base's epoch go (their writes are in the base), a run across it is cut.
func rebase(loc, base Location) Location {
	out := Location{Base: base.Base, BaseEpoch: base.BaseEpoch}
	for _, r := range loc.Runs {
		if r.Last <= base.BaseEpoch {
			continue
		}
		r.First = max(r.First, base.BaseEpoch+1)
		out.Runs = append(out.Runs, r)
	}
	return out
}

// maybeCompact starts a compaction of h's part when its state spans
// compactEvery epochs after its base and none is under way; m.mu is
// held. The compaction reads the part's state as committed from the
// store (no help from the engine needed), writes it as a new base, and
// leaves it for the part's next commit to adopt.
func (m *Member) maybeCompactLocked(h *heldPart) {
	if h.compacting || h.base != nil || epochsAfterBase(h.loc) < compactEvery || m.life == nil || m.life.Err() != nil {
		return
	}
	h.compacting = true
	id, counter, loc, epoch := h.lease.ID(), h.lease.Counter, h.loc, h.epoch
	part := partition(h.part)
	m.compactions.Add(1)
	go func() {
		defer m.compactions.Done()
		ctx, cancel := context.WithTimeout(m.life, compactTimeout)
		defer cancel()
		started := m.clock.Now()
		base, err := m.compact(ctx, loc, part, epoch)
		m.mu.Lock()
		cur, ok := m.held[id]
		if ok && cur.lease.Counter == counter {
			cur.compacting = false
			if err == nil {
				cur.base, cur.baseAt = &base, started
			}
		}
		m.mu.Unlock()
		if err != nil {
			if ctx.Err() == nil {
				m.warnf("compact "+id, "compaction failed; retried after the part's next commit", "err", err)
			}
			return
		}
		if !ok || cur.lease.Counter != counter {
			m.deleteBase(base) // the part moved meanwhile: nobody will use it
		}
	}()
}

// compact reads part's state at epoch from loc and writes it as a base.
func (m *Member) compact(ctx context.Context, loc Location, part string, epoch uint64) (Location, error) {
	kv := map[string][]byte{}
	m.metrics.call("s3", "restore")
	err := m.store.Restore(ctx, loc, part, epoch, func(w Write) error {
		if w.Delete {
			delete(kv, string(w.Key))
		} else {
			kv[string(w.Key)] = append([]byte(nil), w.Value...)
		}
		return nil
	})
	if err != nil {
		return Location{}, err
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	m.metrics.call("s3", "compact")
	return m.store.Compact(ctx, part, epoch, func(yield func(Write) error) error {
		for _, k := range keys {
			if err := yield(Write{Key: []byte(k), Value: kv[k]}); err != nil {
				return err
			}
		}
		return nil
	})
}

// deleteBase deletes a base no lease refers to, logging a failure (an
// orphan costs storage only).
func (m *Member) deleteBase(loc Location) {
	if loc.Base == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	m.metrics.call("s3", "delete_base")
	if err := m.store.DeleteBase(ctx, loc); err != nil && !errors.Is(err, context.Canceled) {
		m.warnf("delete base", "could not delete a base no lease refers to", "err", err)
	}
}
