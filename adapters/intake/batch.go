package intake

import (
	"context"
	"fmt"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
)

// committer groups the Accepts of concurrent requests into one store transaction: while one
// commit runs, the next requests queue up and go together in the following one. A lone request
// waits for nothing; under load, commits (a disk sync each) and lock conflicts between
// overlapping Bundles fall from one per request to one per group. Each request still gets its
// own results, and a group that fails is retried request by request, so one bad request cannot
// fail the others.
type committer struct {
	store Store
	reqs  chan commitReq
	max   int // entries in one group, at most
	done  chan struct{}
}

type commitReq struct {
	in  []store.Incoming
	out chan commitRes
}

type commitRes struct {
	res []store.Result
	err error
}

func newCommitter(st Store, maxEntries int) *committer {
	c := &committer{store: st, reqs: make(chan commitReq, 1024), max: maxEntries, done: make(chan struct{})}
	go c.run()
	return c
}

// accept stores in within a group and returns its results. Once queued, the request is
// committed or refused as a whole even if ctx ends: the caller then only misses the answer, and
// a retry is recognised as the same content.
func (c *committer) accept(ctx context.Context, in []store.Incoming) ([]store.Result, error) {
	r := commitReq{in: in, out: make(chan commitRes, 1)}
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res := <-r.out
	return res.res, res.err
}

func (c *committer) close() {
	close(c.reqs)
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	for first := range c.reqs {
		group := []commitReq{first}
		n := len(first.in)
	gather:
		for n < c.max {
			select {
			case r, ok := <-c.reqs:
				if !ok {
					break gather
				}
				group = append(group, r)
				n += len(r.in)
			default:
				break gather
			}
		}
		c.commit(group, n)
	}
}

func (c *committer) commit(group []commitReq, n int) {
	// Not the requests' contexts: a group must not fail because one caller went away.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if len(group) == 1 {
		res, err := c.store.Accept(ctx, group[0].in)
		group[0].out <- commitRes{res, err}
		return
	}
	all := make([]store.Incoming, 0, n)
	for _, r := range group {
		all = append(all, r.in...)
	}
	res, err := c.store.Accept(ctx, all)
	if err != nil {
		for _, r := range group {
			res, err := c.store.Accept(ctx, r.in)
			if err != nil {
				err = fmt.Errorf("alone after its group failed: %w", err)
			}
			r.out <- commitRes{res, err}
		}
		return
	}
	at := 0
	for _, r := range group {
		r.out <- commitRes{res: res[at : at+len(r.in)]}
		at += len(r.in)
	}
}
