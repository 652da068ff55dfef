// Package mapping turns stored FHIR resources into the clinical events that pathways, critical
// values, follow-up and quality indicators are computed from.
//
// It is pure: it reads the resource it is given and answers with events, or says what it still
// needs (a parked resource), or why it cannot map it. It imports no adapter.
//
// The events form one small vocabulary (the Kind* constants, each with its Data struct):
// admitted, transferred, discharged, diagnosed, operated, ordered, result, imaging, documented,
// died, adverse_event, and cancelled, which withdraws an earlier event of the same Key. Codes
// are translated to the standards the rules are written in (ICD-10, ICD-9-CM-3, LOINC) through
// the code maps a source's Profile names; a code no map knows is kept and reported in
// Result.Unmapped. Clinical is the Mapper; New builds it.
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
	// Profile names the source profile to map with (the sending token's); empty means the
	// profile named like Source, and "generic" when there is none.
	Profile string
}

// Ref is "Type/id".
func (in Input) Ref() string { return in.Type + "/" + in.ID }

// Event is a clinical event for one patient.
type Event struct {
	// Key identifies the fact the event states, e.g. "Observation/o1#result": a later version of
	// the same resource restates it, so consumers keep the latest event per key.
	Key string `json:"key"`
	// Version is the Input.Version the event was mapped from. The latest event of a Key is the
	// one of the highest Version (a parked older version may be mapped after a newer one), and
	// of two with one Version the one mapped last (a dependency it reads may have changed).
	Version   int             `json:"version"`
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
	System  string `json:"system" yaml:"system"`
	Code    string `json:"code" yaml:"code"`
	Display string `json:"display,omitempty" yaml:"display"`
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
