package bus_test

import (
	"testing"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/bus/bustest"
)

func TestGoChannel(t *testing.T) {
	// Each bus is its own in-process world; the suite skips what needs two processes.
	bustest.Run(t, func(t *testing.T, group string) *bus.Bus {
		return mustOpen(t, testConfig(bus.TransportGoChannel, group, ""))
	})
}
