// Package webhook delivers live-stream events to subscribers' URLs: each delivery is a row
// written with the event (so none is lost between the database and the network), POSTed with
// an HMAC-SHA256 signature of the body, retried with exponential backoff while the failure is
// retryable, and dead-lettered after the attempts allowed — visible and replayable through the
// API. A receiver that hangs or fails never holds up the clinical loop: delivery runs apart.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lujing-health/lujing/adapters/store"
)

// Store is what the dispatcher needs of the store.
type Store interface {
	Webhooks(ctx context.Context) ([]store.Webhook, error)
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]store.Delivery, error)
	SettleDelivery(ctx context.Context, d store.Delivery) error
}

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body with the webhook's secret>".
const SignatureHeader = "X-Lujing-Signature"

// Sign returns the signature header value of body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature; receivers do this (and the tests).
func Verify(secret string, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}

// Payload is the JSON body of a delivery.
type Payload struct {
	ID         int64           `json:"id"` // the stream position, also the SSE event id
	Event      string          `json:"event"`
	At         time.Time       `json:"at"`
	Record     string          `json:"record"`
	Department string          `json:"department,omitempty"`
	Delivery   int64           `json:"delivery"`
	Attempt    int             `json:"attempt"`
	Data       json.RawMessage `json:"data"`
}

// Options configure a Dispatcher.
type Options struct {
	Client      *http.Client     // default: 10 s timeout
	Now         func() time.Time // default time.Now
	MaxAttempts int              // default 6; then the delivery is dead
	Backoff     time.Duration    // first retry delay, doubled per attempt; default 5 s
	MaxBackoff  time.Duration    // default 10 min
	Interval    time.Duration    // how often Run looks for due deliveries; default 1 s
	Parallel    int              // deliveries in flight; default 4
	Logger      *slog.Logger
	Registerer  prometheus.Registerer
}

// Dispatcher sends due deliveries.
type Dispatcher struct {
	store Store
	opt   Options
	sent  *prometheus.CounterVec
	wake  chan struct{}
}

// New returns a dispatcher.
func New(st Store, opt Options) *Dispatcher {
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 6
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 5 * time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 10 * time.Minute
	}
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Parallel <= 0 {
		opt.Parallel = 4
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	d := &Dispatcher{store: st, opt: opt, wake: make(chan struct{}, 1),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lujing_webhook_deliveries_total",
			Help: "Webhook delivery attempts by result: delivered, retry, dead."}, []string{"result"})}
	if opt.Registerer != nil {
		opt.Registerer.MustRegister(d.sent)
	}
	return d
}

// Published wakes Run at once: new events may have deliveries (livestream's Notifier).
func (d *Dispatcher) Published(int64) {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.opt.Interval)
	defer t.Stop()
	for {
		if _, err := d.Tick(ctx); err != nil && ctx.Err() == nil {
			d.opt.Logger.Warn("webhook deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// Tick sends the deliveries due now and records each result; it returns how many it tried.
func (d *Dispatcher) Tick(ctx context.Context) (int, error) {
	due, err := d.store.DueDeliveries(ctx, d.opt.Now(), 100)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	hooks, err := d.store.Webhooks(ctx)
	if err != nil {
		return 0, err
	}
	byID := make(map[string]store.Webhook, len(hooks))
	for _, h := range hooks {
		byID[h.ID] = h
	}
	sem := make(chan struct{}, d.opt.Parallel)
	var wg sync.WaitGroup
	errs := make(chan error, len(due))
	for _, dl := range due {
		h, ok := byID[dl.Webhook]
		if !ok {
			continue // deleted meanwhile; DeleteWebhook removed its pending rows
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := d.store.SettleDelivery(ctx, d.attempt(ctx, h, dl)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return len(due), <-errs
}

// attempt sends one delivery and returns it settled: delivered, pending with the next try, or
// dead.
func (d *Dispatcher) attempt(ctx context.Context, h store.Webhook, dl store.Delivery) store.Delivery {
	dl.Attempts++
	body, _ := json.Marshal(Payload{ID: dl.Event.ID, Event: dl.Event.Name, At: dl.Event.At, Record: dl.Event.Record,
		Department: dl.Event.Department, Delivery: dl.ID, Attempt: dl.Attempts, Data: json.RawMessage(dl.Event.Data)})
	status, retryable, err := d.post(ctx, h, dl, body)
	dl.LastStatus = status
	if err == nil {
		dl.Status, dl.LastError = store.DeliveryDelivered, ""
		d.sent.WithLabelValues("delivered").Inc()
		return dl
	}
	dl.LastError = err.Error()
	if !retryable || dl.Attempts >= d.opt.MaxAttempts {
		dl.Status = store.DeliveryDead
		d.sent.WithLabelValues("dead").Inc()
		d.opt.Logger.Warn("webhook delivery dead-lettered", "webhook", h.ID, "delivery", dl.ID, "attempts", dl.Attempts, "err", err)
		return dl
	}
	delay := d.opt.Backoff << (dl.Attempts - 1)
	if delay > d.opt.MaxBackoff || delay <= 0 {
		delay = d.opt.MaxBackoff
	}
	dl.Status, dl.NextAt = store.DeliveryPending, d.opt.Now().Add(delay)
	d.sent.WithLabelValues("retry").Inc()
	return dl
}

// post sends body and says whether a failure is worth retrying: network errors, timeouts,
// 408, 429 and 5xx are; other statuses (a receiver that refuses the request) are not.
func (d *Dispatcher) post(ctx context.Context, h store.Webhook, dl store.Delivery, body []byte) (int, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, false, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Lujing-Webhook/1")
	req.Header.Set(SignatureHeader, Sign(h.Secret, body))
	req.Header.Set("X-Lujing-Event", dl.Event.Name)
	req.Header.Set("X-Lujing-Delivery", strconv.FormatInt(dl.ID, 10))
	resp, err := d.opt.Client.Do(req)
	if err != nil {
		return 0, true, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return c, false, nil
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests, c >= 500:
		return c, true, fmt.Errorf("receiver answered HTTP %d", c)
	default:
		return c, false, fmt.Errorf("receiver refused: HTTP %d", c)
	}
}
