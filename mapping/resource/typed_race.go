//go:build race

package resource

// decodeTyped leaves a race-detector build to the library's own decoding. sonic's decoders are
// machine code it writes at run time, which the race detector neither instruments nor speeds:
// compiling one for a FHIR type took 1–2 s under -race (0.1 s without), all types behind one
// lock, so a test process's first resources waited tens of seconds when CI ran several at
// once. The fast path is tested by the builds without -race (.ci/run runs those packages too).
func decodeTyped(raw []byte, v any) bool { return false }
