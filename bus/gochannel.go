package bus

import (
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
)

// goChannelBuffer is the per-subscription output buffer of the in-process transport.
const goChannelBuffer = 64

// openGoChannel returns the in-process transport: one GoChannel is both the publisher and
// every subscriber. It is not persistent (a message published while nobody subscribes to its
// topic is dropped; everything is lost on exit) and has no consumer groups: every subscriber
// of a topic gets every message, so it cannot spread work over processes. A nacked message is
// resent at once to the same subscriber.
func openGoChannel(logger watermill.LoggerAdapter) *transport {
	gc := gochannel.NewGoChannel(gochannel.Config{
		OutputChannelBuffer: goChannelBuffer,
		Persistent:          false,
	}, logger)
	return &transport{
		pub:           gc,
		newSubscriber: func(string) (message.Subscriber, error) { return gc, nil },
		close:         gc.Close,
	}
}
