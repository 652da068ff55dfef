//go:build race

package pathways

import "encoding/json"

// decode is encoding/json in a race-detector build, for the reason given in
// mapping/resource/typed_race.go: sonic's run-time compiled decoders are slow to compile under
// -race and invisible to it.
var decode = json.Unmarshal
