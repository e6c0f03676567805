package bus

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"
)

// Transports, the values of Config.Transport and POLICYKIT_BUS.
const (
	// TransportGoChannel is Watermill's in-process GoChannel: the embedded default, needing no
	// broker. Messages live in memory only (lost on exit, dropped when nobody subscribes), and
	// every subscriber gets every message: consumer groups do not exist in-process.
	TransportGoChannel = "gochannel"
	// TransportPostgres stores messages in Postgres tables through watermill-sql.
	TransportPostgres = "postgres"
	// TransportNATS uses NATS JetStream through watermill-nats.
	TransportNATS = "nats"
	// TransportAMQP uses RabbitMQ (AMQP 0.9.1) through watermill-amqp.
	TransportAMQP = "amqp"
)

// Defaults for the zero fields of a Config.
const (
	DefaultTransport       = TransportGoChannel
	DefaultNATSURL         = "nats://127.0.0.1:4222"
	DefaultAMQPURL         = "amqp://guest:guest@127.0.0.1:5672/"
	DefaultConsumerGroup   = "policykit-engine"
	DefaultAckTimeout      = 30 * time.Second
	DefaultRedeliveryDelay = time.Second
	// DefaultMaxMessageBytes: 8 MiB, under RabbitMQ's own maximum.
	DefaultMaxMessageBytes = 8 << 20
	DefaultPollInterval    = 250 * time.Millisecond
	DefaultCloseTimeout    = 10 * time.Second
)

// NoRetry as RetryConfig.MaxRetries turns retrying off: a failing message goes to the poison
// queue at once.
const NoRetry = -1

// Config chooses and tunes the transport. Start from DefaultConfig (or any Config: Open fills
// zero fields with the defaults), overlay FromEnv, and check with Validate.
type Config struct {
	// Transport is one of gochannel (default), postgres, nats, amqp. Env: POLICYKIT_BUS.
	Transport string
	// NATSURL is the NATS server (a comma-separated list is allowed). Env: POLICYKIT_NATS_URL.
	NATSURL string
	// AMQPURL is the RabbitMQ server. Env: POLICYKIT_AMQP_URL.
	AMQPURL string
	// Postgres is the pool the postgres transport stores messages through. The caller owns it
	// (Close does not close it); required for Transport "postgres", ignored otherwise.
	Postgres *pgxpool.Pool
	// Observer, when set, is told how the handlers of every Router fare (metrics). Not from
	// the environment.
	Observer Observer
	// Tracing, when set, traces the handling of messages and carries the trace context in
	// message metadata (MetadataTraceParent). Nil: no tracing. Not from the environment.
	Tracing trace.TracerProvider

	// ConsumerGroup names the subscribers of this process: subscribers in one group share the
	// messages of a topic (each message goes to one of them: competing consumers), and every
	// group gets every message (fan-out). Letters, digits, '_' and '-'. Env: POLICYKIT_BUS_GROUP.
	ConsumerGroup string
	// Namespace, when set, is put before every topic ("<namespace>.<topic>") on the wire, so
	// that several deployments (or test runs) can share one broker. Env: POLICYKIT_BUS_NAMESPACE.
	Namespace string

	// AckTimeout is how long a subscriber waits for a message to be acked before the
	// transport redelivers it (NATS AckWait, watermill-sql ack deadline). Retries of a message
	// happen inside this time, so it must exceed the retry budget.
	AckTimeout time.Duration
	// MaxMessageBytes bounds a message's payload; the transport's own bound, when lower,
	// wins (see Bus.MaxMessageBytes).
	MaxMessageBytes int
	// RedeliveryDelay is the pause before a nacked message is delivered again (NATS nak
	// delay, watermill-sql resend interval). AMQP requeues at once; GoChannel resends at once.
	RedeliveryDelay time.Duration
	// PollInterval is how often the postgres transport looks for new messages when a topic
	// is idle.
	PollInterval time.Duration
	// CloseTimeout bounds how long a Router waits for running handlers when it closes.
	CloseTimeout time.Duration
	// AMQPQueueTTL, when positive, lets RabbitMQ delete a group's queue after it has had no
	// consumer for that long (x-expires): for short-lived groups such as tests. Zero keeps
	// queues for ever, as a production group needs.
	AMQPQueueTTL time.Duration

	// Retry is the in-process retry of a failing Router handler before the message goes to
	// the poison queue.
	Retry RetryConfig
}

// RetryConfig is the exponential backoff of Watermill's Retry middleware.
type RetryConfig struct {
	// MaxRetries is how many times a failed handler is run again; 0 means the default (5) and
	// NoRetry (-1) none.
	MaxRetries int
	// InitialInterval is the wait before the first retry (default 100ms).
	InitialInterval time.Duration
	// Multiplier scales the wait after each retry (default 2).
	Multiplier float64
	// MaxInterval caps the wait between two retries (default 5s).
	MaxInterval time.Duration
}

// DefaultConfig returns the configuration of the embedded default: in-process GoChannel.
func DefaultConfig() Config { return Config{}.WithDefaults() }

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Transport == "" {
		c.Transport = DefaultTransport
	}
	if c.NATSURL == "" {
		c.NATSURL = DefaultNATSURL
	}
	if c.AMQPURL == "" {
		c.AMQPURL = DefaultAMQPURL
	}
	if c.ConsumerGroup == "" {
		c.ConsumerGroup = DefaultConsumerGroup
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.RedeliveryDelay == 0 {
		c.RedeliveryDelay = DefaultRedeliveryDelay
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.Retry.MaxRetries == 0 {
		c.Retry.MaxRetries = 5
	}
	if c.Retry.InitialInterval == 0 {
		c.Retry.InitialInterval = 100 * time.Millisecond
	}
	if c.Retry.Multiplier == 0 {
		c.Retry.Multiplier = 2
	}
	if c.Retry.MaxInterval == 0 {
		c.Retry.MaxInterval = 5 * time.Second
	}
	return c
}

// FromEnv overlays the POLICYKIT_* variables that are set: POLICYKIT_BUS, POLICYKIT_NATS_URL,
// POLICYKIT_AMQP_URL, POLICYKIT_BUS_GROUP, POLICYKIT_BUS_NAMESPACE and
// POLICYKIT_BUS_ACK_TIMEOUT (a duration; one that does not parse is reported by Validate).
func (c Config) FromEnv(getenv func(string) string) Config {
	if v := getenv("POLICYKIT_BUS"); v != "" {
		c.Transport = strings.ToLower(strings.TrimSpace(v))
	}
	if v := getenv("POLICYKIT_NATS_URL"); v != "" {
		c.NATSURL = v
	}
	if v := getenv("POLICYKIT_AMQP_URL"); v != "" {
		c.AMQPURL = v
	}
	if v := getenv("POLICYKIT_BUS_GROUP"); v != "" {
		c.ConsumerGroup = v
	}
	if v := getenv("POLICYKIT_BUS_NAMESPACE"); v != "" {
		c.Namespace = v
	}
	if v := getenv("POLICYKIT_BUS_ACK_TIMEOUT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			c.AckTimeout = d
		} else {
			c.AckTimeout = -1
		}
	}
	return c
}

var groupRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Validate checks every field of a defaulted Config and returns all problems joined, each
// naming its field.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.MaxMessageBytes < 0 {
		bad("MaxMessageBytes: %d, want a positive size (0 for the default)", c.MaxMessageBytes)
	}
	switch c.Transport {
	case TransportGoChannel:
	case TransportPostgres:
		if c.Postgres == nil {
			bad("Postgres: the postgres transport needs a pool")
		}
	case TransportNATS:
		for _, s := range strings.Split(c.NATSURL, ",") {
			if err := checkURL(strings.TrimSpace(s), "nats", "tls", "ws", "wss"); err != nil {
				bad("NATSURL: %w", err)
			}
		}
	case TransportAMQP:
		if err := checkURL(c.AMQPURL, "amqp", "amqps"); err != nil {
			bad("AMQPURL: %w", err)
		}
	default:
		bad("Transport %q: want one of %s, %s, %s, %s (POLICYKIT_BUS)",
			c.Transport, TransportGoChannel, TransportPostgres, TransportNATS, TransportAMQP)
	}
	if !groupRule.MatchString(c.ConsumerGroup) {
		bad("ConsumerGroup %q: want 1 to 64 letters, digits, '_' or '-', starting with a letter or digit", c.ConsumerGroup)
	}
	if c.Namespace != "" {
		if err := ValidateTopic(c.Namespace); err != nil {
			bad("Namespace: %w", err)
		}
	}
	if c.AckTimeout <= 0 {
		bad("AckTimeout %s: must be positive", c.AckTimeout)
	}
	if c.RedeliveryDelay < 0 {
		bad("RedeliveryDelay %s: must not be negative", c.RedeliveryDelay)
	}
	if c.PollInterval <= 0 {
		bad("PollInterval %s: must be positive", c.PollInterval)
	}
	if c.CloseTimeout <= 0 {
		bad("CloseTimeout %s: must be positive", c.CloseTimeout)
	}
	if c.AMQPQueueTTL < 0 {
		bad("AMQPQueueTTL %s: must not be negative", c.AMQPQueueTTL)
	}
	r := c.Retry
	switch {
	case r.MaxRetries < NoRetry:
		bad("Retry.MaxRetries %d: want NoRetry (-1) or more", r.MaxRetries)
	case r.MaxRetries > 100:
		bad("Retry.MaxRetries %d: at most 100", r.MaxRetries)
	}
	if r.InitialInterval <= 0 {
		bad("Retry.InitialInterval %s: must be positive", r.InitialInterval)
	}
	if r.Multiplier < 1 {
		bad("Retry.Multiplier %g: must be at least 1", r.Multiplier)
	}
	if r.MaxInterval < r.InitialInterval {
		bad("Retry.MaxInterval %s: must be at least Retry.InitialInterval %s", r.MaxInterval, r.InitialInterval)
	}
	if len(errs) == 0 && c.Transport != TransportGoChannel && c.Transport != TransportAMQP {
		// A message still being retried when its ack deadline passes is delivered again
		// to another subscriber: keep the whole backoff well inside the deadline.
		if b := r.budget(); b >= c.AckTimeout/2 {
			bad("Retry: the retries wait up to %s in all, want less than half of AckTimeout %s", b, c.AckTimeout)
		}
	}
	return errors.Join(errs...)
}

// budget is the total wait of all retries (without handler run time).
func (r RetryConfig) budget() time.Duration {
	var total time.Duration
	next := r.InitialInterval
	for i := 0; i < r.MaxRetries; i++ {
		total += next
		next = min(time.Duration(float64(next)*r.Multiplier), r.MaxInterval)
	}
	return total
}

func checkURL(s string, schemes ...string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", redact(s))
	}
	for _, scheme := range schemes {
		if u.Scheme == scheme && u.Host != "" {
			return nil
		}
	}
	return fmt.Errorf("%q: want %s://host:port", redact(s), strings.Join(schemes, "|"))
}

// redact hides a password in a URL for error messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
