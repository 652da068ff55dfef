package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping/resource"
	"github.com/lujing-health/lujing/pathways"
)

// CoreStore is what the native API reads of the clinical cores' records, the stream and the
// webhooks.
type CoreStore interface {
	CoreState(ctx context.Context, core, patient string) (store.CoreState, error)
	Record(ctx context.Context, kind, id string) (store.Record, error)
	Records(ctx context.Context, f store.RecordFilter) ([]store.Record, error)
	Stream(ctx context.Context, after int64, limit int) ([]store.StreamEvent, error)
	StreamHead(ctx context.Context) (int64, error)
	PutWebhook(ctx context.Context, w store.Webhook) error
	Webhooks(ctx context.Context) ([]store.Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	Deliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error)
	RetryDelivery(ctx context.Context, id int64, now time.Time) (store.Delivery, error)
}

// decodeJSON reads a JSON request body into v, refusing unknown fields and trailing data.
func decodeJSON(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errMediaType
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return &resource.Error{Status: http.StatusBadRequest, Issues: []resource.Issue{{Severity: "error", Code: "structure",
			Diagnostics: fmt.Sprintf("the body is not the JSON expected: %v", err)}}}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &resource.Error{Status: http.StatusBadRequest, Issues: []resource.Issue{{Severity: "error", Code: "structure",
			Diagnostics: "the body has data after the JSON object"}}}
	}
	return nil
}

// coreProblem is the row of the error table for a core's refusal.
func coreProblem(e *pathways.Error) (problem, []resource.Issue) {
	status, code := http.StatusUnprocessableEntity, "invalid"
	switch e.Code {
	case pathways.ENOTFOUND:
		status, code = http.StatusNotFound, "not-found"
	case pathways.ECONFLICT:
		status, code = http.StatusConflict, "conflict"
	case pathways.EFORBIDDEN:
		status, code = http.StatusForbidden, "forbidden"
	}
	return problem{status, code, e.Message}, []resource.Issue{{Severity: "error", Code: code, Expression: e.Field, Diagnostics: e.Message}}
}
