package state

// lru is a read cache of a Table's latest values, bounded by bytes, so that
// hot keys are served from memory while state larger than memory stays in
// Badger. It is used by the table's owning goroutine only, so it has no lock.
// It also remembers keys known to be absent, so a miss costs one Badger read.
type lru struct {
	max, used int
	items     map[string]*lruItem
	head      lruItem // sentinel: head.next is the most recently used
}

type lruItem struct {
	key        string
	val        []byte
	present    bool
	prev, next *lruItem
}

// lruOverhead approximates the map entry and item header per cached key.
const lruOverhead = 96

func newLRU(maxBytes int) *lru {
	c := &lru{max: maxBytes, items: make(map[string]*lruItem)}
	c.head.next, c.head.prev = &c.head, &c.head
	return c
}

func (c *lru) get(key []byte) (val []byte, present, ok bool) {
	it, ok := c.items[string(key)]
	if !ok {
		return nil, false, false
	}
	c.unlink(it)
	c.pushFront(it)
	return it.val, it.present, true
}

// set records key's latest value; val is kept, not copied.
func (c *lru) set(key []byte, val []byte, present bool) {
	if c.max <= 0 {
		return
	}
	if it, ok := c.items[string(key)]; ok {
		c.used += len(val) - len(it.val)
		it.val, it.present = val, present
		c.unlink(it)
		c.pushFront(it)
	} else {
		it := &lruItem{key: string(key), val: val, present: present}
		c.items[it.key] = it
		c.used += len(it.key) + len(val) + lruOverhead
		c.pushFront(it)
	}
	for c.used > c.max && c.head.prev != &c.head {
		old := c.head.prev
		c.unlink(old)
		delete(c.items, old.key)
		c.used -= len(old.key) + len(old.val) + lruOverhead
	}
}

// written updates key's entry after a write, if the cache holds one. A
// write does not add an entry: the buffers above the cache answer for
// the key until its epoch commits, and operators that write much (an
// aggregate storing every group at each barrier) read little of it back,
// so caching writes would only evict what reads put there.
func (c *lru) written(key []byte, val []byte, present bool) {
	if _, ok := c.items[string(key)]; ok {
		c.set(key, val, present)
	}
}

func (c *lru) reset() {
	clear(c.items)
	c.used = 0
	c.head.next, c.head.prev = &c.head, &c.head
}

func (c *lru) unlink(it *lruItem) {
	it.prev.next, it.next.prev = it.next, it.prev
}

func (c *lru) pushFront(it *lruItem) {
	it.prev, it.next = &c.head, c.head.next
	c.head.next.prev = it
	c.head.next = it
}
