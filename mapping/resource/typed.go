package resource

import (
	"fmt"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Typed access for mapping. Each decodes the resource with
// golang-fhir-models when called; Parse has already checked it against the
// same structs, so for a resource Parse accepted the decode succeeds. Asking
// for the wrong type is an error, not a silently empty struct.

func (r *Resource) AdverseEvent() (fhir.AdverseEvent, error) {
	return decodeAs(r, "AdverseEvent", fhir.UnmarshalAdverseEvent)
}
func (r *Resource) Composition() (fhir.Composition, error) {
	return decodeAs(r, "Composition", fhir.UnmarshalComposition)
}
func (r *Resource) Condition() (fhir.Condition, error) {
	return decodeAs(r, "Condition", fhir.UnmarshalCondition)
}
func (r *Resource) DiagnosticReport() (fhir.DiagnosticReport, error) {
	return decodeAs(r, "DiagnosticReport", fhir.UnmarshalDiagnosticReport)
}
func (r *Resource) DocumentReference() (fhir.DocumentReference, error) {
	return decodeAs(r, "DocumentReference", fhir.UnmarshalDocumentReference)
}
func (r *Resource) Encounter() (fhir.Encounter, error) {
	return decodeAs(r, "Encounter", fhir.UnmarshalEncounter)
}
func (r *Resource) ImagingStudy() (fhir.ImagingStudy, error) {
	return decodeAs(r, "ImagingStudy", fhir.UnmarshalImagingStudy)
}
func (r *Resource) Location() (fhir.Location, error) {
	return decodeAs(r, "Location", fhir.UnmarshalLocation)
}
func (r *Resource) MedicationRequest() (fhir.MedicationRequest, error) {
	return decodeAs(r, "MedicationRequest", fhir.UnmarshalMedicationRequest)
}
func (r *Resource) Observation() (fhir.Observation, error) {
	return decodeAs(r, "Observation", fhir.UnmarshalObservation)
}
func (r *Resource) Organization() (fhir.Organization, error) {
	return decodeAs(r, "Organization", fhir.UnmarshalOrganization)
}
func (r *Resource) Patient() (fhir.Patient, error) {
	return decodeAs(r, "Patient", fhir.UnmarshalPatient)
}
func (r *Resource) Practitioner() (fhir.Practitioner, error) {
	return decodeAs(r, "Practitioner", fhir.UnmarshalPractitioner)
}
func (r *Resource) Procedure() (fhir.Procedure, error) {
	return decodeAs(r, "Procedure", fhir.UnmarshalProcedure)
}
func (r *Resource) ServiceRequest() (fhir.ServiceRequest, error) {
	return decodeAs(r, "ServiceRequest", fhir.UnmarshalServiceRequest)
}

func decodeAs[T any](r *Resource, typ string, unmarshal func([]byte) (T, error)) (T, error) {
	if r.Type != typ {
		var zero T
		return zero, fmt.Errorf("resource: %s/%s read as %s", r.Type, r.ID, typ)
	}
	var v T
	if fastJSON.Unmarshal(r.Raw, &v) == nil {
		return v, nil
	}
	v, err := unmarshal(r.Raw)
	if err != nil && r.m != nil {
		// The library's enum decoders compare a code's raw bytes, so a valid
		// code written with escapes ("\u003c" for "<", as Go encoders write
		// it) fails, as does a duplicated key whose first value was bad. The
		// canonical encoding of what Parse checked has neither.
		v, err = unmarshal(canonical(r.m))
	}
	if err != nil {
		return v, fmt.Errorf("resource: decode %s/%s: %w", typ, r.ID, err)
	}
	return v, nil
}
