package resource

import (
	"maps"
	"slices"
)

// Types lists every R4 resource type name, sorted: what the CapabilityStatement declares.
func Types() []string { return slices.Sorted(maps.Keys(knownTypes())) }
