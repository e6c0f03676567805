package sandbox

// PIDs returns the process ids of the pool's live workers.
func PIDs(p *Pool) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for w := range p.live {
		pids = append(pids, w.pid)
	}
	return pids
}

// WithoutAddressLimit makes the pool's workers skip RLIMIT_AS, leaving the parent's
// resident-size watchdog as the only memory ceiling.
func WithoutAddressLimit(o Options) Options {
	o.noAddressLimit = true
	return o
}

// RaceEnabled reports whether this is a race-detector build (no RLIMIT_AS).
const RaceEnabled = raceEnabled
