package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
)

// StreamHub wakes stream readers (livestream.Hub).
type StreamHub interface {
	Wait(ctx context.Context, after int64) (int64, error)
}

// heartbeat keeps idle connections (and proxies between) from timing out.
const heartbeat = 15 * time.Second

// events serves the live stream as Server-Sent Events. A reader resumes with Last-Event-ID
// (EventSource sends it on reconnect) or ?after=; without either it starts at the head, with
// only new events. ?events= keeps names with the given prefixes (comma-separated) and
// ?department= one department; a token bound to departments gets only theirs.
func (s *Server) events(c echo.Context) error {
	cs, hub := s.cfg.Cores, s.cfg.Hub
	if cs == nil || hub == nil {
		return echo.ErrNotFound
	}
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	stop := context.AfterFunc(s.streams, cancel)
	defer stop()
	q := c.QueryParams()
	pos := int64(-1)
	for _, v := range []string{c.Request().Header.Get("Last-Event-ID"), q.Get("after")} {
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return badParam("after", "Last-Event-ID and after must be a stream position (a non-negative integer)")
		}
		pos = n
		break
	}
	if pos < 0 {
		head, err := cs.StreamHead(ctx)
		if err != nil {
			return err
		}
		pos = head
	}
	var prefixes []string
	if v := q.Get("events"); v != "" {
		prefixes = strings.Split(v, ",")
	}
	dept := q.Get("department")
	tok := principal(c)
	if dept != "" && len(tok.Departments) > 0 && !slices.Contains(tok.Departments, dept) {
		return errForbidden
	}
	// One audit entry per connection: the stream carries patient data.
	if err := s.audit(c, "stream", "/api/v1/events", ""); err != nil {
		return err
	}
	keep := func(e store.StreamEvent) bool {
		if dept != "" && e.Department != dept {
			return false
		}
		if len(tok.Departments) > 0 && !slices.Contains(tok.Departments, e.Department) {
			return false
		}
		if len(prefixes) == 0 {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(e.Name, p) {
				return true
			}
		}
		return false
	}

	w := c.Response()
	h := w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream; charset=utf-8")
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	// Tell EventSource to reconnect after 2 s, and open the stream at once.
	if _, err := fmt.Fprintf(w, "retry: 2000\n: position %d\n\n", pos); err != nil {
		return nil
	}
	w.Flush()
	for {
		evs, err := cs.Stream(ctx, pos, 500)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("stream read", "err", err)
			return nil // the client reconnects with its Last-Event-ID
		}
		for _, e := range evs {
			pos = e.ID
			if !keep(e) {
				continue
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Name, e.Data); err != nil {
				return nil
			}
		}
		if len(evs) > 0 {
			w.Flush()
		}
		if len(evs) == 500 {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, heartbeat)
		_, err = hub.Wait(wctx, pos)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil { // idle: a comment line keeps the connection alive
			if _, err := fmt.Fprintf(w, ": ping\n\n"); err != nil {
				return nil
			}
			w.Flush()
		}
	}
}
