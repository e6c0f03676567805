package bus_test

import (
	"errors"
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

// A message over the NATS server's max_payload is refused before it is sent, as ErrTooLarge,
// and the publisher goes on working; the bus says how much it carries.
func TestNATSRefusesAMessageOverTheServersMaxPayload(t *testing.T) {
	url := bus.DefaultConfig().FromEnv(envOf).NATSURL
	requireServer(t, "NATS", url)
	ns := uniqueNamespace(t)
	t.Cleanup(func() { deleteNATSStreams(t, url, ns) })
	b := mustOpen(t, testConfig(bus.TransportNATS, "g", ns))
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	server := int(nc.MaxPayload())
	nc.Close()
	limit := b.MaxMessageBytes()
	if limit <= 0 || limit >= server {
		t.Fatalf("the bus carries %d bytes; the server's max_payload is %d", limit, server)
	}
	err = b.Publisher().Publish("test.large", bus.NewMessage("m-large", "t", make([]byte, server+100<<10)))
	if !errors.Is(err, bus.ErrTooLarge) {
		t.Fatalf("publishing %d bytes: %v, want ErrTooLarge", server+100<<10, err)
	}
	if err := b.Publisher().Publish("test.large", bus.NewMessage("m-fits", "t", make([]byte, limit))); err != nil {
		t.Fatalf("a message of the bus's size after the refusal: %v", err)
	}
}
