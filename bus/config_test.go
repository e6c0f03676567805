package bus_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
)

func TestDefaultConfigIsEmbeddedAndValid(t *testing.T) {
	cfg := bus.DefaultConfig()
	if cfg.Transport != bus.TransportGoChannel || cfg.ConsumerGroup != "policykit-engine" {
		t.Errorf("defaults: transport %q group %q, want gochannel and policykit-engine", cfg.Transport, cfg.ConsumerGroup)
	}
	if cfg.NATSURL != "nats://127.0.0.1:4222" || cfg.AMQPURL != "amqp://guest:guest@127.0.0.1:5672/" {
		t.Errorf("default URLs: %q %q", cfg.NATSURL, cfg.AMQPURL)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{
		"POLICYKIT_BUS":             " NATS ",
		"POLICYKIT_NATS_URL":        "nats://nats.internal:4222",
		"POLICYKIT_AMQP_URL":        "amqps://u:p@rabbit:5671/vh",
		"POLICYKIT_BUS_GROUP":       "adapters-slack",
		"POLICYKIT_BUS_NAMESPACE":   "staging",
		"POLICYKIT_BUS_ACK_TIMEOUT": "12s",
	}
	cfg := bus.DefaultConfig().FromEnv(func(k string) string { return env[k] })
	if cfg.Transport != bus.TransportNATS || cfg.NATSURL != env["POLICYKIT_NATS_URL"] ||
		cfg.AMQPURL != env["POLICYKIT_AMQP_URL"] || cfg.ConsumerGroup != "adapters-slack" || cfg.Namespace != "staging" ||
		cfg.AckTimeout != 12*time.Second {
		t.Errorf("FromEnv = %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	bad := bus.DefaultConfig().FromEnv(func(k string) string { return map[string]string{"POLICYKIT_BUS_ACK_TIMEOUT": "soon"}[k] })
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "AckTimeout") {
		t.Errorf("an ack timeout that is not a duration: %v", err)
	}
	// Unset variables leave the fields alone.
	if got := bus.DefaultConfig().FromEnv(func(string) string { return "" }); got != bus.DefaultConfig() {
		t.Errorf("FromEnv with nothing set changed the config: %+v", got)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*bus.Config)
		wants []string // each must appear in the error
	}{
		{"unknown transport", func(c *bus.Config) { c.Transport = "kafka" }, []string{`Transport "kafka"`}},
		{"postgres without pool", func(c *bus.Config) { c.Transport = bus.TransportPostgres }, []string{"Postgres:"}},
		{"bad NATS URL", func(c *bus.Config) { c.Transport = bus.TransportNATS; c.NATSURL = "http://x:1" }, []string{"NATSURL"}},
		{"bad AMQP URL hides password", func(c *bus.Config) {
			c.Transport = bus.TransportAMQP
			c.AMQPURL = "http://guest:secret@x:1/"
		}, []string{"AMQPURL", "xxxxx"}},
		{"bad group", func(c *bus.Config) { c.ConsumerGroup = "has.dot" }, []string{"ConsumerGroup"}},
		{"bad namespace", func(c *bus.Config) { c.Namespace = "a b" }, []string{"Namespace"}},
		{"durations", func(c *bus.Config) {
			c.AckTimeout, c.RedeliveryDelay, c.PollInterval, c.CloseTimeout, c.AMQPQueueTTL = -1, -1, -1, -1, -1
		}, []string{"AckTimeout", "RedeliveryDelay", "PollInterval", "CloseTimeout", "AMQPQueueTTL"}},
		{"retry", func(c *bus.Config) {
			c.Retry = bus.RetryConfig{MaxRetries: -2, InitialInterval: -1, Multiplier: 0.5, MaxInterval: -2}
		}, []string{"Retry.MaxRetries", "Retry.InitialInterval", "Retry.Multiplier", "Retry.MaxInterval"}},
		{"retries outlast the ack timeout", func(c *bus.Config) {
			c.Transport = bus.TransportNATS
			c.AckTimeout = time.Second
			c.Retry = bus.RetryConfig{MaxRetries: 5, InitialInterval: 200 * time.Millisecond, Multiplier: 1, MaxInterval: time.Second}
		}, []string{"half of AckTimeout"}},
		{"several at once", func(c *bus.Config) {
			c.Transport = "kafka"
			c.ConsumerGroup = "-x"
			c.AckTimeout = -1
		}, []string{"Transport", "ConsumerGroup", "AckTimeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := bus.DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows a password", err)
			}
		})
	}
}

func TestOpenRefusesInvalidConfig(t *testing.T) {
	_, err := bus.Open(context.Background(), bus.Config{Transport: "carrier-pigeon"}, nil)
	if err == nil || !strings.Contains(err.Error(), "carrier-pigeon") {
		t.Fatalf("Open = %v, want a config error naming the transport", err)
	}
}

func TestValidateTopic(t *testing.T) {
	good := []string{"policykit.events", bus.EffectsTopic("slack"), bus.CommandTopic("cast_vote"), "a", "A-1.b_2"}
	bad := []string{"", ".", "a.", ".a", "a..b", "a b", "a.*", "a.>", "_a", "a._b", "ä", strings.Repeat("a", 181)}
	for _, topic := range good {
		if err := bus.ValidateTopic(topic); err != nil {
			t.Errorf("ValidateTopic(%q) = %v, want nil", topic, err)
		}
	}
	for _, topic := range bad {
		if err := bus.ValidateTopic(topic); !errors.Is(err, bus.ErrInvalidTopic) {
			t.Errorf("ValidateTopic(%q) = %v, want ErrInvalidTopic", topic, err)
		}
	}
}

func TestTopicNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{bus.TopicEvents, "policykit.events"},
		{bus.TopicProposeAction, "policykit.commands.propose_action"},
		{bus.TopicCastVote, "policykit.commands.cast_vote"},
		{bus.TopicRecordEffectResult, "policykit.commands.record_effect_result"},
		{bus.TopicEffectResults, "policykit.commands.record_effect_result"},
		{bus.EffectsTopic("discord"), "policykit.effects.discord"},
		{bus.CommandTopic("add_role"), "policykit.commands.add_role"},
		{bus.TopicPoison, "policykit.poison"},
	} {
		if tc.got != tc.want {
			t.Errorf("topic %q, want %q: topic names are a contract with adapters", tc.got, tc.want)
		}
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("malformed")
	err := bus.Permanent(base)
	if !bus.IsPermanent(err) || !errors.Is(err, base) || err.Error() != "malformed" {
		t.Errorf("Permanent(%v) = %v: IsPermanent %v, Is base %v", base, err, bus.IsPermanent(err), errors.Is(err, base))
	}
	if wrapped := errors.Join(errors.New("ctx"), err); !bus.IsPermanent(wrapped) {
		t.Error("a wrapped permanent error is not permanent")
	}
	if bus.Permanent(nil) != nil || bus.IsPermanent(base) || bus.IsPermanent(nil) {
		t.Error("Permanent(nil) or IsPermanent of a plain error is wrong")
	}
}
