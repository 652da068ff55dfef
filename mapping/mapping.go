// Package mapping turns stored FHIR resources into the clinical events that pathways, critical
// values, follow-up and quality indicators are computed from.
//
// It is pure: it reads the resource it is given and answers with events, or says what it still
// needs (a parked resource), or why it cannot map it. It imports no adapter.
package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Input is one stored resource version handed to the mapper.
type Input struct {
	Type     string
	ID       string
	Version  int
	Body     []byte // the resource JSON as stored
	Deleted  bool
	Source   string // source system: his, lis, pacs, generic…
	Hospital string
}

// Ref is "Type/id".
func (in Input) Ref() string { return in.Type + "/" + in.ID }

// Event is a clinical event for one patient.
type Event struct {
	// Key identifies the fact the event states, e.g. "Observation/o1#result": a later version of
	// the same resource restates it, so consumers keep the latest event per key.
	Key       string          `json:"key"`
	Kind      string          `json:"kind"`
	Patient   string          `json:"patient"`
	Encounter string          `json:"encounter,omitempty"`
	Hospital  string          `json:"hospital,omitempty"`
	Source    string          `json:"source,omitempty"`
	At        time.Time       `json:"at"`
	Resource  string          `json:"resource"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// Code is a coded value as received.
type Code struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Result is what mapping one resource produced.
type Result struct {
	Events []Event
	// Unmapped lists the codes no code map knew, so IT can complete the maps. The resource is
	// still mapped with the code as received.
	Unmapped []Code
	// Flags are data-quality remarks on the resource, e.g. "result-without-unit".
	Flags []string
}

// Mapper maps one resource. A *MissingError means "park it until the dependency arrives"; any
// other error fails the message with that reason.
type Mapper interface {
	Map(ctx context.Context, in Input) (Result, error)
}

// MissingError says which resources a mapping needs that are not stored yet.
type MissingError struct {
	Needs []string // "Type/id" references
}

func (e *MissingError) Error() string { return fmt.Sprintf("waiting for %v", e.Needs) }

// IsMissing reports whether err parks the resource.
func IsMissing(err error) bool {
	var m *MissingError
	return errors.As(err, &m)
}

// StoreOnly maps nothing: every resource is kept and recorded as "stored, not mapped". It is
// the mapper until the clinical mapping of a type exists.
type StoreOnly struct{}

func (StoreOnly) Map(context.Context, Input) (Result, error) { return Result{}, nil }

var _ Mapper = StoreOnly{}
