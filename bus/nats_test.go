package bus_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/bus/bustest"
)

func TestNATS(t *testing.T) {
	url := bus.DefaultConfig().FromEnv(envOf).NATSURL
	requireServer(t, "NATS", url)
	ns := uniqueNamespace(t)
	t.Cleanup(func() { deleteNATSStreams(t, url, ns) })

	bustest.Run(t, func(t *testing.T, group string) *bus.Bus {
		return mustOpen(t, testConfig(bus.TransportNATS, group, ns))
	})
}

// deleteNATSStreams removes the streams (and with them the consumers and messages) the run
// created under its namespace.
func deleteNATSStreams(t *testing.T, url, ns string) {
	nc, err := nats.Connect(url)
	if err != nil {
		t.Errorf("cleanup: connect to NATS: %v", err)
		return
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	prefix := strings.ReplaceAll(ns, ".", "_") + "_"
	for name := range js.StreamNames() {
		if strings.HasPrefix(name, prefix) {
			if err := js.DeleteStream(name); err != nil {
				t.Errorf("cleanup: delete stream %s: %v", name, err)
			}
		}
	}
}
