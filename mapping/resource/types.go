package resource

import (
	"reflect"
	"sync"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// KnownType reports whether name is an R4 (4.0.1) resource type.
func KnownType(name string) bool { return knownTypes()[name] }

// knownTypes is the library's ResourceType enum (the R4 resource-types
// value set) without the abstract Resource and DomainResource.
var knownTypes = sync.OnceValue(func() map[string]bool {
	known := map[string]bool{}
	for _, c := range enumCodes(reflect.TypeFor[fhir.ResourceType]()) {
		known[c] = true
	}
	delete(known, "Resource")
	delete(known, "DomainResource")
	return known
})
