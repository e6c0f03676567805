package discourse

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Section is the Discourse adapter's part of the App's configuration. A community's site,
// API key and webhook secret are its connection's, never the server's: the server only says
// whether the adapter runs and which hosts it may reach.
type Section struct {
	// On runs the adapter (DISCOURSE_ENABLED=true, or an allow-list set).
	On bool
	// AllowedHosts are the only hosts a site URL may name (DISCOURSE_ALLOWED_HOSTS, comma
	// separated, "host" or "host:port"); empty: any host at a public address.
	AllowedHosts []string
	// MaxEventAge is how old a webhook's topic or post may be (DISCOURSE_MAX_EVENT_AGE,
	// default 1h): Discourse signs the body but no time, so the created_at of what it reports
	// is the signed time a replay is told by.
	MaxEventAge time.Duration
	// VotePoll is how often the votes of open polls are read (DISCOURSE_VOTE_POLL, default
	// 15s).
	VotePoll time.Duration

	// HTTPTimeout bounds one request (default 15s), EffectTimeout one attempt at an effect,
	// its waits included (default 30s).
	HTTPTimeout   time.Duration
	EffectTimeout time.Duration
	// Retries is how often a request Discourse rate-limited (429) is tried again (default 3),
	// RetryMaxWait the waits of one request (default 10s).
	Retries      int
	RetryWait    time.Duration
	RetryMaxWait time.Duration
	// DirectoryWait is how long a lookup waits for the directory to learn a connection made
	// just now (default 5s).
	DirectoryWait time.Duration
	// OursWait is how long the handling of an event by the API user waits to learn whether the
	// adapter made it itself (default 5s): Discourse may report a post before the API call
	// that made it has answered.
	OursWait time.Duration
	// Workers bound the events handled at once (default 16), each for WorkTimeout (30s).
	Workers     int
	WorkTimeout time.Duration

	problems []error
}

// SectionFromEnv reads DISCOURSE_ENABLED, DISCOURSE_ALLOWED_HOSTS, DISCOURSE_MAX_EVENT_AGE and
// DISCOURSE_VOTE_POLL.
func SectionFromEnv(getenv func(string) string) Section {
	var s Section
	if v := strings.TrimSpace(getenv("DISCOURSE_ENABLED")); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			s.problems = append(s.problems, fmt.Errorf("discourse: DISCOURSE_ENABLED %q is not a boolean", v))
		}
		s.On = on
	}
	for _, h := range strings.Split(getenv("DISCOURSE_ALLOWED_HOSTS"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			s.AllowedHosts = append(s.AllowedHosts, h)
		}
	}
	if len(s.AllowedHosts) > 0 {
		s.On = true
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"DISCOURSE_MAX_EVENT_AGE", &s.MaxEventAge}, {"DISCOURSE_VOTE_POLL", &s.VotePoll}} {
		if v := strings.TrimSpace(getenv(d.name)); v != "" {
			dur, err := time.ParseDuration(v)
			if err != nil || dur <= 0 {
				s.problems = append(s.problems, fmt.Errorf("discourse: %s %q is not a positive duration (like 30s)", d.name, v))
			}
			*d.to = dur
		}
	}
	return s
}

// Enabled: DISCOURSE_ENABLED is true or DISCOURSE_ALLOWED_HOSTS is set.
func (s Section) Enabled() bool { return s.On }

// WithDefaults fills the unset bounds.
func (s Section) WithDefaults() Section {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&s.MaxEventAge, time.Hour)
	def(&s.VotePoll, 15*time.Second)
	def(&s.HTTPTimeout, 15*time.Second)
	def(&s.EffectTimeout, 30*time.Second)
	def(&s.RetryWait, 500*time.Millisecond)
	def(&s.RetryMaxWait, 10*time.Second)
	def(&s.DirectoryWait, 5*time.Second)
	def(&s.OursWait, 5*time.Second)
	def(&s.WorkTimeout, 30*time.Second)
	if s.Retries == 0 {
		s.Retries = 3
	}
	if s.Workers == 0 {
		s.Workers = 16
	}
	return s
}

// Validate reports every problem at once.
func (s Section) Validate() error {
	errs := append([]error(nil), s.problems...)
	for _, h := range s.AllowedHosts {
		if strings.ContainsAny(h, "/ @?#") {
			errs = append(errs, fmt.Errorf("discourse: DISCOURSE_ALLOWED_HOSTS: %q is not a host or host:port", h))
		}
	}
	d := s.WithDefaults()
	if d.RetryMaxWait >= d.EffectTimeout {
		errs = append(errs, fmt.Errorf("discourse: RetryMaxWait %s is not under EffectTimeout %s", d.RetryMaxWait, d.EffectTimeout))
	}
	return errors.Join(errs...)
}
