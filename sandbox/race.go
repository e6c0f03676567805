//go:build race

package sandbox

// raceEnabled: the race detector's runtime cannot live under RLIMIT_AS.
const raceEnabled = true
