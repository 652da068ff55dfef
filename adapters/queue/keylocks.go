package queue

import (
	"context"
	"sync"
)

// KeyLocks keeps two handlers of one key from running at once, for an implementation whose
// lanes are consumed apart: one patient's messages must be applied one delivery at a time.
// The zero value is ready to use.
type KeyLocks struct {
	mu   sync.Mutex
	busy map[string]chan struct{} // keys in a handler; closed when it returns
}

// Lock waits until no handler runs for key and marks it running; false if ctx ended first.
func (k *KeyLocks) Lock(ctx context.Context, key string) bool {
	for {
		k.mu.Lock()
		ch, busy := k.busy[key]
		if !busy {
			if k.busy == nil {
				k.busy = map[string]chan struct{}{}
			}
			k.busy[key] = make(chan struct{})
			k.mu.Unlock()
			return true
		}
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// Unlock ends the handler of key.
func (k *KeyLocks) Unlock(key string) {
	k.mu.Lock()
	close(k.busy[key])
	delete(k.busy, key)
	k.mu.Unlock()
}
