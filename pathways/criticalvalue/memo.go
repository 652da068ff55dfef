package criticalvalue

import (
	"hash/maphash"
	"sync"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// memo remembers what each fact contributed to detection. Every run of a patient judges all
// the patient's results again (that is what makes any arrival order give the same records),
// but a fact that did not change gives the same answer: decoding its data and running the
// rules is most of a run's time. The key covers everything detectFact reads — the whole fact
// and the patient's birth date and sex — so a hit is the same answer, never a stale one.
type memo struct {
	seed maphash.Seed
	max  int
	mu   sync.Mutex
	m    map[uint64]memoEntry
}

type memoEntry struct {
	key string // the fact's Key, checked on a hit against a hash collision
	d   detected
}

func newMemo(max int) *memo {
	return &memo{seed: maphash.MakeSeed(), max: max, m: map[uint64]memoEntry{}}
}

func (m *memo) hash(p pathways.Patient, f mapping.Event) uint64 {
	var h maphash.Hash
	h.SetSeed(m.seed)
	for _, s := range []string{f.Key, f.Kind, f.Patient, f.Encounter, f.Hospital, f.Source, f.Resource, p.Gender} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	var b [8 * 3]byte
	put := func(i int, v int64) {
		for j := range 8 {
			b[i*8+j] = byte(v >> (8 * j))
		}
	}
	put(0, int64(f.Version))
	put(1, f.At.UnixNano())
	put(2, p.BirthDate.UnixNano())
	h.Write(b[:])
	h.Write(f.Data)
	return h.Sum64()
}

// detectFactMemo is detectFact through the memo.
func (e *Engine) detectFactMemo(p pathways.Patient, f mapping.Event) detected {
	k := e.memo.hash(p, f)
	e.memo.mu.Lock()
	if x, ok := e.memo.m[k]; ok && x.key == f.Key {
		e.memo.mu.Unlock()
		return x.d
	}
	e.memo.mu.Unlock()
	d := e.detectFact(p, f)
	e.memo.mu.Lock()
	if len(e.memo.m) >= e.memo.max {
		clear(e.memo.m) // a generation: the working set comes back within a few runs
	}
	e.memo.m[k] = memoEntry{key: f.Key, d: d}
	e.memo.mu.Unlock()
	return d
}
