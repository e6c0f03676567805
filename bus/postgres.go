package bus

import (
	"encoding/hex"
	"hash/fnv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

// openPostgres returns the watermill-sql transport on cfg.Postgres. Each topic is a table
// "watermill_<topic>" (created on first use) holding the messages, with an offsets table
// "watermill_offsets_<topic>" holding each consumer group's position. Subscribers of one group
// lock the group's offset row while they process a batch, so a message is handled by one of
// them (competing consumers, in publication order); each group keeps its own offset (fan-out),
// and a group that subscribes for the first time starts at the oldest message. Acks move the
// offset in the same transaction that locked it; a nacked message is delivered again after
// RedeliveryDelay, and a message not acked within AckTimeout is rolled back and delivered
// again.
//
// A subscription holds one pool connection while it processes a batch: size the pool for the
// number of subscriptions plus what the handlers need.
func openPostgres(cfg Config, logger watermill.LoggerAdapter) (*transport, error) {
	db := wmsql.BeginnerFromPgx(cfg.Postgres)
	schema := wmsql.DefaultPostgreSQLSchema{
		GenerateMessagesTableName: func(topic string) string { return sqlTable("watermill_", topic) },
		// Payloads are bytes; the bus does not require JSON.
		GeneratePayloadType: func(string) string { return "BYTEA" },
	}
	offsets := wmsql.DefaultPostgreSQLOffsetsAdapter{
		GenerateMessagesOffsetsTableName: func(topic string) string { return sqlTable("watermill_offsets_", topic) },
	}
	pub, err := wmsql.NewPublisher(db, wmsql.PublisherConfig{
		SchemaAdapter:        schema,
		AutoInitializeSchema: true,
	}, logger)
	if err != nil {
		return nil, err
	}
	newSub := func(group string) (message.Subscriber, error) {
		ackDeadline := cfg.AckTimeout
		return wmsql.NewSubscriber(db, wmsql.SubscriberConfig{
			ConsumerGroup:    group,
			AckDeadline:      &ackDeadline,
			PollInterval:     cfg.PollInterval,
			ResendInterval:   cfg.RedeliveryDelay,
			RetryInterval:    time.Second,
			SchemaAdapter:    schema,
			OffsetsAdapter:   offsets,
			InitializeSchema: true,
		}, logger)
	}
	return &transport{pub: pub, newSubscriber: newSub, close: pub.Close}, nil
}

// sqlTable returns the quoted table name prefix+topic. Postgres cuts identifiers at 63 bytes,
// which could make two long topics share a table, so a longer name is shortened and suffixed
// with a hash of the whole. Topics are validated (letters, digits, '.', '_', '-'), so quoting
// is all the escaping needed.
func sqlTable(prefix, topic string) string {
	const maxIdent = 63
	name := prefix + topic
	if len(name) > maxIdent {
		h := fnv.New64a()
		_, _ = h.Write([]byte(name))
		sum := hex.EncodeToString(h.Sum(nil)) // 16 hex digits
		name = name[:maxIdent-len(sum)-1] + "_" + sum
	}
	return `"` + name + `"`
}
