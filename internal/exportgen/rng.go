package exportgen

// Every random choice is drawn from a counter-based generator keyed by
// (seed, stream, index), never from a shared sequential source: any item,
// change or file name can then be regenerated on its own, in any order and
// on any goroutine, and the output stays byte-identical run to run.

// Streams keep the draws for different purposes independent, so adding a
// draw to one (say, a new item attribute) does not shift any other.
const (
	streamItem uint64 = iota + 1
	streamKey
	streamMutation
	streamPlan
	streamName
	streamPartition
	streamTime
	streamEdge
)

// mix64 is the SplitMix64 finalizer: a cheap bijective scrambler with good
// avalanche, enough for test data (not for anything adversarial).
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rng is a SplitMix64 sequence. It is a value type so each call site gets
// its own copy without allocating.
type rng struct{ s uint64 }

func newRng(seed, stream, index uint64) rng {
	return rng{s: mix64(seed ^ mix64(stream^mix64(index)))}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a value in [0, n). The modulo bias is irrelevant for
// generated data and keeps the draw a single multiply-free operation.
func (r *rng) intn(n int) int {
	return int(r.next() % uint64(n))
}

func (r *rng) int63n(n int64) int64 {
	return int64(r.next() % uint64(n))
}

// chance reports true with probability pct/100.
func (r *rng) chance(pct int) bool {
	return r.intn(100) < pct
}
