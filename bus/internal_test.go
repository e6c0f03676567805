package bus

import (
	"strings"
	"testing"
	"time"
)

func TestSQLTableNamesStayDistinctWithinPostgresLimit(t *testing.T) {
	long := "ns." + strings.Repeat("x", 70)
	cases := map[string]string{
		"policykit.events": `"watermill_policykit.events"`,
	}
	for topic, want := range cases {
		if got := sqlTable("watermill_", topic); got != want {
			t.Errorf("sqlTable(%q) = %s, want %s", topic, got, want)
		}
	}
	a, b := sqlTable("watermill_offsets_", long+"a"), sqlTable("watermill_offsets_", long+"b")
	if a == b {
		t.Errorf("two long topics share table %s", a)
	}
	for _, name := range []string{a, b} {
		if n := len(strings.Trim(name, `"`)); n > 63 {
			t.Errorf("table name %s is %d bytes, Postgres keeps 63", name, n)
		}
	}
}

func TestRetryBudget(t *testing.T) {
	r := RetryConfig{MaxRetries: 5, InitialInterval: 100 * time.Millisecond, Multiplier: 2, MaxInterval: time.Second}
	// 100 + 200 + 400 + 800 + 1000 (capped)
	if got, want := r.budget(), 2500*time.Millisecond; got != want {
		t.Errorf("budget = %s, want %s", got, want)
	}
	if got := (RetryConfig{MaxRetries: NoRetry, InitialInterval: time.Second}).budget(); got != 0 {
		t.Errorf("budget without retries = %s, want 0", got)
	}
}

func TestWireTopic(t *testing.T) {
	if got, err := wireTopic("", "policykit.events"); err != nil || got != "policykit.events" {
		t.Errorf("no namespace: %q, %v", got, err)
	}
	if got, err := wireTopic("staging", "policykit.events"); err != nil || got != "staging.policykit.events" {
		t.Errorf("namespace: %q, %v", got, err)
	}
	if _, err := wireTopic(strings.Repeat("n", 100), strings.Repeat("t", 100)); err == nil {
		t.Error("an over-long namespaced topic was accepted")
	}
}
