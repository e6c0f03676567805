package kurrent_test

import (
	"context"
	"os"
	"testing"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/kurrent"
	"github.com/policykit-go/policykit/eventstore/kurrent/kurrenttest"
	"github.com/policykit-go/policykit/eventstore/storetest"
)

// contract is the suite's options for this backend: ids are idempotency keys per stream.
var contract = storetest.Options{StreamScopedIDs: true}

func open(t *testing.T, url string) *kurrent.Store {
	t.Helper()
	s, err := kurrent.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// The contract suite against the in-process server: a fresh server per subtest gives each an
// empty store.
func TestContractInProcess(t *testing.T) {
	storetest.RunWith(t, contract, func(t *testing.T) eventstore.Store {
		return open(t, kurrenttest.Start(t))
	})
}

// The contract suite against a real KurrentDB server, when POLICYKIT_TEST_KURRENTDB_URL names
// one (e.g. esdb://127.0.0.1:2113?tls=false). A real server is not emptied between subtests,
// so each subtest sees the store through a prefix of its own.
func TestContractRealServer(t *testing.T) {
	url := os.Getenv("POLICYKIT_TEST_KURRENTDB_URL")
	if url == "" {
		t.Skip("POLICYKIT_TEST_KURRENTDB_URL is not set: no KurrentDB server to test against")
	}
	s := open(t, url)
	storetest.RunWith(t, contract, func(t *testing.T) eventstore.Store {
		return newPrefixed(t, s, "t"+uuid.NewString()[:8]+"-")
	})
}

// The harness used against a real server, run against the in-process one: every subtest
// shares one server and sees only its own streams.
func TestContractSharedServer(t *testing.T) {
	s := open(t, kurrenttest.Start(t))
	storetest.RunWith(t, contract, func(t *testing.T) eventstore.Store {
		return newPrefixed(t, s, "t"+uuid.NewString()[:8]+"-")
	})
}
