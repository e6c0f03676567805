package bus

import (
	"github.com/ThreeDotsLabs/watermill"
	wmamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

// openAMQP returns the RabbitMQ transport, after watermill-amqp's durable pub/sub: each topic
// is a durable fanout exchange of the same name; each consumer group has a durable queue
// "<topic>_<group>" bound to it. The group's subscribers consume from that one queue
// (competing consumers) and every group's queue gets a copy of every message (fan-out).
// Messages are published persistent and with publisher confirms, so Publish returns once
// RabbitMQ has them. A nacked message is requeued at once; one whose subscriber disconnects
// unacked is requeued too.
//
// A group receives only messages published after its queue exists: the queue is declared by
// the group's first Subscribe or by Bus.Initialize, and stays when the subscribers go.
func openAMQP(cfg Config, logger watermill.LoggerAdapter) (*transport, error) {
	pub, err := wmamqp.NewPublisher(amqpConfig(cfg, cfg.ConsumerGroup), logger)
	if err != nil {
		return nil, err
	}
	newSub := func(group string) (message.Subscriber, error) {
		return wmamqp.NewSubscriber(amqpConfig(cfg, group), logger)
	}
	return &transport{pub: pub, newSubscriber: newSub, close: pub.Close}, nil
}

func amqpConfig(cfg Config, group string) wmamqp.Config {
	c := wmamqp.NewDurablePubSubConfig(cfg.AMQPURL, wmamqp.GenerateQueueNameTopicNameWithSuffix(group))
	c.Publish.ConfirmDelivery = true
	c.Publish.ChannelPoolSize = 4
	c.Consume.Qos.PrefetchCount = 16
	if cfg.AMQPQueueTTL > 0 {
		c.Queue.Arguments = amqp091.Table{"x-expires": cfg.AMQPQueueTTL.Milliseconds()}
	}
	return c
}
