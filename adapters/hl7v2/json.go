package hl7v2

import "encoding/json"

// jsonNumber keeps a decimal's digits as sent (7.20 stays 7.20) in the JSON written.
func jsonNumber(s string) json.Number { return json.Number(s) }
