// Package hl7v2 reads HL7 version 2 messages as hospital systems send them and turns the ones
// Lujing understands into FHIR R4, so that they enter through the same intake as FHIR input.
//
// Parsing (Parse) survives real traffic: segments ended by CR, LF or CRLF, a UTF-8 byte-order
// mark, custom encoding characters from MSH-1/MSH-2 (the five-character "^~\&#" of v2.7+
// included), escape sequences, repetitions, components and subcomponents, and the character
// set named in MSH-18 (ASCII, UNICODE UTF-8, GB 18030-2000, GBK, ISO 8859 and BIG-5 through
// golang.org/x/text), for versions 2.3 to 2.9. No maintained Go HL7 library was available
// (the module proxy serves none of the old ones, and none reads MSH-18), so this is a small
// parser of its own, fuzzed (FuzzParse).
//
// Mapping (ToFHIR) builds one transaction Bundle per message with deterministic ids (the same
// message always gives the same ids) and a Provenance naming the message:
//
//	ADT A01/A04/A05/A06/A07/A08/A13 → Patient, Encounter (admitted; status from the event)
//	ADT A02                          → Patient, Encounter whose location history is the transfer
//	ADT A03                          → Patient, Encounter finished (discharged)
//	ADT A11                          → Patient, Encounter cancelled (the admission is withdrawn)
//	ADT A28/A31                      → Patient
//	ORM^O01, OML^O21                 → Patient, ServiceRequest per ORC/OBR
//	ORU^R01                          → Patient, DiagnosticReport per OBR, Observation per OBX
//	MDM^T01–T11                      → Patient, DocumentReference (TXA, OBX text as content)
//
// Other message types parse and are acknowledged but not mapped (Unsupported). Building the
// acknowledgement is Ack.
package hl7v2
