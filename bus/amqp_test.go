package bus_test

import (
	"testing"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/bus/bustest"
)

func TestAMQP(t *testing.T) {
	url := bus.DefaultConfig().FromEnv(envOf).AMQPURL
	requireServer(t, "RabbitMQ", url)
	// Queues expire (AMQPQueueTTL) once the run leaves them; the namespace keeps runs apart.
	ns := uniqueNamespace(t)

	bustest.Run(t, func(t *testing.T, group string) *bus.Bus {
		return mustOpen(t, testConfig(bus.TransportAMQP, group, ns))
	})
}
