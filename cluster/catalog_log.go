package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/streamsql/streamsql/engine"
)

// catalogPoll is how often Follow reads the catalog log for new versions
// (docs/cluster.md section 6).
const catalogPoll = time.Second

// catalogAttempts bounds AppendDDL's retries when other nodes keep taking
// the next version first.
const catalogAttempts = 20

// Catalog is the engine's CatalogLog over the cluster's versioned catalog
// items: a statement is appended at the last version this node has seen
// plus one, conditional on nobody having written it.
type Catalog struct {
	log CatalogLog
	lg  *slog.Logger

	mu   sync.Mutex
	last int64 // the highest version this node has seen
}

var _ engine.CatalogLog = (*Catalog)(nil)

func newCatalog(log CatalogLog, lg *slog.Logger) *Catalog { return &Catalog{log: log, lg: lg} }

func (c *Catalog) seen(v int64) {
	c.mu.Lock()
	c.last = max(c.last, v)
	c.mu.Unlock()
}

func (c *Catalog) lastSeen() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// AppendDDL implements engine.CatalogLog. When another node took the next
// version first, the versions it missed are read (Follow applies them)
// and the append is retried after them.
func (c *Catalog) AppendDDL(ctx context.Context, stmt string) (uint64, error) {
	for range catalogAttempts {
		v := c.lastSeen() + 1
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err := c.log.AppendCatalog(cctx, v, stmt)
		cancel()
		if err == nil {
			c.seen(v)
			return uint64(v), nil
		}
		if !errors.Is(err, ErrVersionTaken) {
			return 0, fmt.Errorf("cluster catalog: append version %d: %w", v, err)
		}
		cctx, cancel = context.WithTimeout(ctx, callTimeout)
		newer, err := c.log.CatalogAfter(cctx, v-1)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("cluster catalog: read versions after %d: %w", v-1, err)
		}
		for _, e := range newer {
			c.seen(e.Version)
		}
	}
	return 0, fmt.Errorf("cluster catalog: other nodes took the next version %d times in a row", catalogAttempts)
}

// Follow implements engine.CatalogLog: it reads the versions after after
// every second and applies them in order. A failed read or apply ends it
// with that error (the engine retries); so does ctx.
func (c *Catalog) Follow(ctx context.Context, after uint64, apply func(version uint64, stmt string) error) error {
	t := time.NewTicker(catalogPoll)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		entries, err := c.log.CatalogAfter(cctx, int64(after))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("cluster catalog: read versions after %d: %w", after, err)
		}
		for _, e := range entries {
			c.seen(e.Version)
			if uint64(e.Version) <= after {
				continue
			}
			if err := apply(uint64(e.Version), e.Stmt); err != nil {
				return fmt.Errorf("cluster catalog: apply version %d: %w", e.Version, err)
			}
			after = uint64(e.Version)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
