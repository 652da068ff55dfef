package mapping

import "context"

// Resources reads what is stored besides the resource being mapped: the Patient and Encounter
// an Observation refers to, the Conditions an Encounter lists, the Observations a report
// refers to. The store implements it.
type Resources interface {
	// Get returns the current version's JSON of typ/id; ok is false when the resource was never
	// stored or its current version is a delete.
	Get(ctx context.Context, typ, id string) (body []byte, ok bool, err error)
}
