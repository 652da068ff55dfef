//go:build !race

package resource

// decodeTyped decodes a resource into the library's struct with sonic, which compiles a decoder
// per Go type on first use and then decodes several times faster than the library's own
// encoding/json path. False: decode it the library's way, the reference.
func decodeTyped(raw []byte, v any) bool { return fastJSON.Unmarshal(raw, v) == nil }
