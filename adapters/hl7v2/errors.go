package hl7v2

import "fmt"

// Error codes of HL7 table 0357 (message error condition codes), as ERR-3 reports them.
const (
	CodeSegmentSequence    = 100 // segment sequence error: also a message whose structure cannot be read
	CodeRequiredMissing    = 101
	CodeDataType           = 102
	CodeTableValue         = 103
	CodeUnsupportedType    = 200
	CodeUnsupportedEvent   = 201
	CodeUnsupportedVersion = 203
	CodeInternal           = 207
)

// Error is a problem with a message: where it is and what an acknowledgement says. Msg never
// quotes a value of the message (it is logged, and values are patient data).
type Error struct {
	Code    int    // HL7 table 0357
	Segment string // segment id, e.g. "OBX"
	Seq     int    // which segment of the message, 1-based; 0 when not known
	Field   int    // field number; 0 for the whole segment
	Msg     string
}

func (e *Error) Error() string {
	switch {
	case e.Segment != "" && e.Field > 0:
		return fmt.Sprintf("%s-%d: %s", e.Segment, e.Field, e.Msg)
	case e.Segment != "":
		return e.Segment + ": " + e.Msg
	}
	return e.Msg
}

// codeText names the table 0357 codes.
var codeText = map[int]string{
	0:                      "Message accepted",
	CodeSegmentSequence:    "Segment sequence error",
	CodeRequiredMissing:    "Required field missing",
	CodeDataType:           "Data type error",
	CodeTableValue:         "Table value not found",
	CodeUnsupportedType:    "Unsupported message type",
	CodeUnsupportedEvent:   "Unsupported event code",
	CodeUnsupportedVersion: "Unsupported version id",
	CodeInternal:           "Application internal error",
}
