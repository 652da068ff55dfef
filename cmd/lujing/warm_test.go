//go:build !race

// The warm-up compiles decoders: under the race detector that takes twenty seconds.

package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestWarmUp: the warm-up runs synthetic patients through the mapping and every core, and
// stores nothing.
func TestWarmUp(t *testing.T) {
	ctx := context.Background()
	st, m := testMapper(t)
	zone := time.FixedZone("CST", 8*3600)
	cs, err := loadCores(ctx, st, "", zone, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if n := warmUp(m, cs.named(), zone, slog.New(slog.NewTextHandler(io.Discard, nil))); n < 5 {
		t.Errorf("warmed up on %d patients", n)
	}
	if head, err := st.StreamHead(ctx); err != nil || head != 0 {
		t.Errorf("stream head %d, %v after the warm-up: it must store nothing", head, err)
	}
}
