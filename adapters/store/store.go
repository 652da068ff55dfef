// Package store declares what Lujing keeps: every accepted FHIR resource version (the inbox),
// the current version of each resource, the processing status of every message, the clinical
// events derived from them, access tokens and the audit log of reads of patient data.
//
// The database is the truth. Everything a queue holds can be rebuilt from here (see Pending and
// Backlog), so an implementation must commit Accept before it returns.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors an implementation returns, wrapped or as they are; callers test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Status is where a message stands in processing. Every stored message is in exactly one.
type Status string

const (
	// StatusReceived: stored and waiting for the worker.
	StatusReceived Status = "received"
	// StatusProcessed: mapped (or recorded as "stored, not mapped") and applied once.
	StatusProcessed Status = "processed"
	// StatusFailed: the worker could not map it; Error says why. Replay sets it back to received.
	StatusFailed Status = "failed"
	// StatusParked: waiting for a resource it depends on (a result before its admission).
	StatusParked Status = "parked"
)

// Outcome says what Accept did with one incoming resource.
type Outcome string

const (
	OutcomeCreated   Outcome = "created"   // first version of the resource
	OutcomeUpdated   Outcome = "updated"   // a new current version
	OutcomeUnchanged Outcome = "unchanged" // same content as the current version: nothing new stored
	// OutcomeStale: older than the current version (by meta.lastUpdated). It is stored and
	// mapped under a version number of its own, but the current resource stays as it is, and
	// consumers keep the events of the highest version per fact, so it cannot roll state back.
	OutcomeStale   Outcome = "stale"
	OutcomeDeleted Outcome = "deleted" // a delete (stored as a version with Deleted set)
)

// Identifier is a business identifier of a resource, indexed for conditional references
// such as Organization?identifier=system|value.
type Identifier struct {
	System string
	Value  string
}

// Incoming is one resource the intake has validated and resolved, ready to be stored.
type Incoming struct {
	Source   string // source system of the sending token: his, lis, pacs, generic…
	Hospital string // the hospital (organization) the record belongs to
	Type     string // FHIR resource type
	ID       string // logical id, already assigned
	// Body is the resource JSON as received (references inside a Bundle resolved); nil for a delete.
	Body []byte
	// Hash is the hex SHA-256 of the canonical content (without meta.versionId/lastUpdated);
	// equal hashes mean "same content again".
	Hash string
	// SourceUpdated is the sender's meta.lastUpdated, zero when absent. A version whose
	// SourceUpdated is before the current version's is stale.
	SourceUpdated time.Time
	PatientKey    string // "Patient/<id>" for patient data, else "<Type>/<id>": the ordering key
	Identifiers   []Identifier
	Delete        bool
}

// Result is what Accept did with one Incoming, in the same order.
type Result struct {
	MessageID   int64 // 0 when unchanged (nothing stored)
	VersionID   int   // the resource's current version after the call (or the stale version stored)
	Outcome     Outcome
	LastUpdated time.Time // server time of the current version
	PatientKey  string    // the ordering key the message was filed under ("" when nothing was stored)
}

// Message is one stored resource version and its processing state.
type Message struct {
	ID            int64
	Source        string
	Hospital      string
	Type          string
	ResourceID    string
	VersionID     int
	Hash          string
	Body          []byte
	Deleted       bool
	PatientKey    string
	ReceivedAt    time.Time
	SourceUpdated time.Time
	Status        Status
	Error         string
	Flags         []string // data-quality remarks from the mapping
	Needs         []string // what a parked message waits for
	Applied       int      // how many times the worker applied it; the contract is at most once
	ProcessedAt   time.Time
}

// Resource is the current version of a resource.
type Resource struct {
	Type        string
	ID          string
	VersionID   int
	LastUpdated time.Time
	Body        []byte
	Deleted     bool
	Source      string
	PatientKey  string
}

// Event is a clinical event derived from a message, stored with the message's completion.
type Event struct {
	Key string // the fact it states, e.g. "Observation/o1#result"
	// Version orders the events of one Key; the highest is in force. The worker sets it to the
	// source's meta.lastUpdated (unix µs) when sent, else to the arrival time, so that a late
	// older version never outranks a newer one whatever the arrival order.
	Version   int64
	Kind      string
	Patient   string
	Encounter string
	Hospital  string
	Source    string
	At        time.Time
	Resource  string // "Type/id" of the resource it came from
	Data      json.RawMessage
	// Position is where the event was stored, increasing (EventsSince); 0 when not read so.
	Position int64
}

// Completion is the worker's verdict on one message.
type Completion struct {
	MessageID int64
	Status    Status // processed, failed or parked
	Error     string
	Events    []Event
	// Needs are the "Type/id" references a parked message waits for; storing any of them
	// later makes it received again (Unpark).
	Needs []string
	// Unmapped are the codes no code map knew; counted per (system, code, source).
	Unmapped []Code
	// Flags are data-quality remarks kept on the message, e.g. "result-without-unit".
	Flags []string
}

// Code is a coded value as a source sent it.
type Code struct {
	System  string
	Code    string
	Display string
}

// UnmappedCode is one code no code map knew, with how often and from where it came, so that
// hospital IT can complete the maps.
type UnmappedCode struct {
	System    string
	Code      string
	Display   string // the latest display seen
	Source    string
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time
}

// Document is a versioned configuration document: a code map, a pathway definition, a
// follow-up template… Kind says which; Body is the document as uploaded (YAML or JSON).
type Document struct {
	Kind      string
	ID        string
	Version   string
	Body      []byte
	UpdatedAt time.Time
	UpdatedBy string
}

// MessageFilter selects messages for listing.
type MessageFilter struct {
	Status         Status
	Source         string
	ReceivedBefore time.Time // zero: any time; else only messages received before it
	Limit          int
	After          int64 // keyset pagination: messages with ID > After
}

// Count is one row of a message count by source and status.
type Count struct {
	Source string
	Status Status
	N      int64
}

// Role of a token.
type Role string

const (
	RoleIntegration Role = "integration"
	RoleClinician   Role = "clinician"
	RoleQC          Role = "qc"
	RoleAdmin       Role = "admin"
)

// GrantSubjects lets a token read the patients behind a QC indicator's numerator or
// denominator; no role has it by default (a QC center sees counts and rates).
const GrantSubjects = "subjects"

// Token is an access token. Only the hash of its secret is stored.
type Token struct {
	ID          string
	Name        string
	Role        Role
	Source      string   // for integration tokens: the source system it writes as
	Hospital    string   // the hospital its data belongs to
	Departments []string // empty: hospital-wide
	// Grants are permissions beyond the role, e.g. GrantSubjects.
	Grants    []string
	Hash      string // hex SHA-256 of the secret
	CreatedAt time.Time
	RevokedAt time.Time
}

// AuditEntry records one read of patient data.
type AuditEntry struct {
	At         time.Time
	Actor      string // token or user name
	Role       Role
	Action     string // read, search, export…
	Resource   string // "Type/id" or the query
	PatientKey string
	RemoteAddr string
	RequestID  string
}

// Store is the persistence contract. Implementations: SQLite (embedded default) and PostgreSQL.
type Store interface {
	// Accept stores the entries in one transaction: all or nothing. A resource whose content hash
	// equals its current version's is OutcomeUnchanged and stores nothing.
	Accept(ctx context.Context, in []Incoming) ([]Result, error)
	// Resource returns the current version; ErrNotFound when never stored.
	Resource(ctx context.Context, typ, id string) (Resource, error)
	// LookupIdentifier returns the id of the resource of that type carrying the identifier.
	LookupIdentifier(ctx context.Context, typ string, id Identifier) (string, error)

	// Pending returns up to limit received messages for a patient key, oldest first.
	Pending(ctx context.Context, patientKey string, limit int) ([]Message, error)
	// Complete records the worker's verdict only if the message is still received, and returns
	// false when it was not (another worker got there first): nothing is applied twice.
	Complete(ctx context.Context, c Completion) (bool, error)
	// CompleteAll is Complete for many messages in one transaction (all or nothing); results
	// in order, a repeated message id is false.
	CompleteAll(ctx context.Context, cs []Completion) ([]bool, error)
	// Unpark makes received again the parked messages waiting for any of refs ("Type/id") and
	// returns their patient keys.
	Unpark(ctx context.Context, refs []string) ([]string, error)
	// RequeueAll sets every message of the status (failed or parked), of one source when
	// source is not empty, back to received and returns their patient keys.
	RequeueAll(ctx context.Context, status Status, source string) ([]string, error)
	// UnmappedCodes lists the codes no map knew, most frequent first.
	UnmappedCodes(ctx context.Context, limit int) ([]UnmappedCode, error)

	// PutDocument stores a configuration document, replacing the one of the same kind and id.
	PutDocument(ctx context.Context, d Document) error
	// Document returns one; ErrNotFound when absent.
	Document(ctx context.Context, kind, id string) (Document, error)
	// Documents returns all of a kind, by id.
	Documents(ctx context.Context, kind string) ([]Document, error)
	// Backlog returns distinct patient keys with received messages stored before the given time,
	// for the relay that re-publishes work a queue may have lost.
	Backlog(ctx context.Context, before time.Time, limit int) ([]string, error)
	// Requeue sets failed or parked messages back to received and returns their patient keys.
	Requeue(ctx context.Context, ids []int64) ([]string, error)

	Message(ctx context.Context, id int64) (Message, error)
	// PriorBody returns the body of the latest version before version that is not a delete:
	// what a delete withdraws. ErrNotFound when there is none.
	PriorBody(ctx context.Context, typ, id string, version int) ([]byte, error)
	Messages(ctx context.Context, f MessageFilter) ([]Message, error)
	Counts(ctx context.Context) ([]Count, error)
	Events(ctx context.Context, patientKey string) ([]Event, error)
	// EventsSince returns the patient's events stored after position after (0: all), in the
	// order stored, with their positions (Event.Position).
	EventsSince(ctx context.Context, patientKey string, after int64) ([]Event, error)

	CreateToken(ctx context.Context, t Token) error
	TokenByHash(ctx context.Context, hash string) (Token, error)
	Tokens(ctx context.Context) ([]Token, error)
	RevokeToken(ctx context.Context, nameOrID string, at time.Time) error

	Audit(ctx context.Context, e AuditEntry) error
	AuditLog(ctx context.Context, limit int) ([]AuditEntry, error)

	Ping(ctx context.Context) error
	Close() error
}
