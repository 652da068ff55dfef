// Package livestream wakes readers of the live stream when events are stored. The events
// themselves are rows in the store (read by position, so a reader that reconnects with
// Last-Event-ID misses nothing); the hub only says "there is something after n", at once for
// events this process stored, and within the poll interval for events another replica stored.
package livestream

import (
	"context"
	"sync"
	"time"
)

// Hub broadcasts the stream head.
type Hub struct {
	mu   sync.Mutex
	head int64
	ch   chan struct{} // closed and replaced when head moves
}

// NewHub returns a hub whose head is head.
func NewHub(head int64) *Hub { return &Hub{head: head, ch: make(chan struct{})} }

// Published moves the head to last if it is ahead, waking every waiter.
func (h *Hub) Published(last int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if last <= h.head {
		return
	}
	h.head = last
	close(h.ch)
	h.ch = make(chan struct{})
}

// Head is the latest position known.
func (h *Hub) Head() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.head
}

// Wait returns the head once it is beyond after, or when ctx ends (then ctx's error).
func (h *Hub) Wait(ctx context.Context, after int64) (int64, error) {
	for {
		h.mu.Lock()
		head, ch := h.head, h.ch
		h.mu.Unlock()
		if head > after {
			return head, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return head, ctx.Err()
		}
	}
}

// Poll reads the store's head every interval until ctx ends, for events other processes
// stored.
func (h *Hub) Poll(ctx context.Context, interval time.Duration, head func(context.Context) (int64, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := head(ctx); err == nil {
				h.Published(n)
			}
		}
	}
}
