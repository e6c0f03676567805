package memory_test

import (
	"testing"

	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
	"github.com/policykit-go/policykit/eventstore/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return memory.New() })
}
