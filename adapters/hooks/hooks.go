// Package hooks is the generic hook, /api/hooks/{platform}/{community}: any platform or
// Metagov plugin that a community connected with a webhook secret posts its events there,
// and each becomes PolicyKit's "webhooktriggeraction" (domain.ActionWebhookTrigger) with its
// event_type and data, so that trigger policies written for PolicyKit run unchanged. The
// updates of a governance process that a proposal started (metagov.start_process) arrive
// there too, and become bus.UpdateGovernanceProcess. docs/hooks.md is the protocol.
package hooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/sealed"
)

// The protocol's headers and limits.
const (
	// HeaderTimestamp is the Unix time (seconds) the sender signed the request at.
	HeaderTimestamp = "X-PolicyKit-Timestamp"
	// HeaderSignature is "v1=" and the hex of HMAC-SHA256(webhook_secret,
	// "v1:<timestamp>:<body>").
	HeaderSignature = "X-PolicyKit-Signature"
	// SecretName is the connection secret that signs a community's hook requests.
	SecretName = "webhook_secret"
	// MaxAge is how far a request's timestamp may be from now, either way.
	MaxAge = 5 * time.Minute
	// MaxBody bounds a request's body: an event's data becomes an action's fields.
	MaxBody = domain.MaxActionFieldsBytes
)

// Event is the body of an event posted to the hook, in Metagov's shape.
type Event struct {
	// EventID is the sender's id of the event; a delivery repeated with the same id is one
	// action. Without one, the body's digest stands in for it.
	EventID string `json:"event_id,omitempty"`
	// EventType names the event ("expense_created"); the action's event_type is
	// "<source>.<event_type>" as Metagov names it, unless it has a "." already.
	EventType string `json:"event_type"`
	// Source is the plugin that saw the event; the hook's platform when empty.
	Source string         `json:"source,omitempty"`
	Data   map[string]any `json:"data,omitempty"`
	// Initiator is the member who caused the event, on the hook's platform, if known.
	Initiator *struct {
		UserID string `json:"user_id"`
	} `json:"initiator,omitempty"`
}

// Hook is the handler of /api/hooks/{platform}/{community}.
type Hook struct {
	Directory platform.Directory
	Box       *sealed.Box
	Publisher platform.Publisher
	Seen      platform.Seen
	Log       *slog.Logger
	Now       func() time.Time
	// Lag is how long a request for a connection the directory does not know yet waits for
	// it (a connection approved a moment ago).
	Lag time.Duration
}

// Pattern is the route of the hook.
const Pattern = "POST /api/hooks/{platform}/{community}"

func (h *Hook) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// refusal is an HTTP answer the hook gives, with the reason logged and shown.
type refusal struct {
	code int
	msg  string
}

func (r refusal) Error() string { return r.msg }

func refuse(code int, format string, args ...any) error {
	return refusal{code: code, msg: fmt.Sprintf(format, args...)}
}

func (h *Hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code, msg := http.StatusAccepted, "accepted"
	if err := h.serve(r); err != nil {
		var rf refusal
		if errors.As(err, &rf) {
			code, msg = rf.code, rf.msg
		} else {
			// The bus or the database failed: the sender tries again later.
			code, msg = http.StatusServiceUnavailable, "try again later"
			h.Log.Error("hook", "platform", r.PathValue("platform"), "community", r.PathValue("community"), "err", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": code < 300, "message": msg})
}

func (h *Hook) serve(r *http.Request) error {
	platformName, communityID := r.PathValue("platform"), r.PathValue("community")
	if !domain.IsKnownPlatform(platformName) || platformName == domain.PlatformConstitution {
		return refuse(http.StatusNotFound, "no platform %q", platformName)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return refuse(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", MaxBody)
	}
	if err != nil {
		return refuse(http.StatusBadRequest, "the body could not be read")
	}
	ctx := r.Context()
	conn, err := platform.WaitFor(ctx, h.Lag, func(ctx context.Context) (platform.Connection, error) {
		return h.Directory.Connection(ctx, communityID, platformName)
	})
	if errors.Is(err, platform.ErrUnknown) {
		return refuse(http.StatusNotFound, "community %q has no %s connection", communityID, platformName)
	}
	if err != nil {
		return err
	}
	if err := h.verify(r, conn, communityID, platformName, body); err != nil {
		h.Log.Warn("hook refused", "platform", platformName, "community", communityID, "err", err)
		return err
	}
	if proposalID := r.URL.Query().Get("proposal"); proposalID != "" {
		return h.processUpdate(ctx, communityID, platformName, proposalID, body)
	}
	return h.event(ctx, communityID, platformName, body)
}

// verify checks the request's timestamp and signature with the connection's webhook secret.
func (h *Hook) verify(r *http.Request, conn platform.Connection, communityID, platformName string, body []byte) error {
	sealedSecret, ok := conn.Secrets[SecretName]
	if !ok {
		return refuse(http.StatusUnauthorized, "the %s connection has no %s: connect it with one to receive events", platformName, SecretName)
	}
	secret, err := h.Box.Open(communityID, platformName, SecretName, sealedSecret)
	if err != nil {
		return refuse(http.StatusUnauthorized, "the %s connection's %s cannot be opened on this server", platformName, SecretName)
	}
	ts := r.Header.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return refuse(http.StatusUnauthorized, "%s is missing or not a Unix time", HeaderTimestamp)
	}
	msg := append([]byte("v1:"+ts+":"), body...)
	if err := platform.VerifyHMAC([]byte(secret), msg, r.Header.Get(HeaderSignature), "v1="); err != nil {
		return refuse(http.StatusUnauthorized, "%v", err)
	}
	if err := platform.Fresh(time.Unix(sec, 0), h.now(), MaxAge); err != nil {
		return refuse(http.StatusUnauthorized, "%v", err)
	}
	return nil
}

// event publishes an event as a webhooktriggeraction, once per event id.
func (h *Hook) event(ctx context.Context, communityID, platformName string, body []byte) error {
	var ev Event
	if err := domain.DecodeJSON(body, &ev); err != nil {
		return refuse(http.StatusBadRequest, "the body is not a JSON event: %v", err)
	}
	ev.EventType = strings.TrimSpace(ev.EventType)
	if ev.EventType == "" {
		return refuse(http.StatusBadRequest, "event_type is missing")
	}
	eventType := ev.EventType
	if !strings.Contains(eventType, ".") {
		source := ev.Source
		if source == "" {
			source = platformName
		}
		eventType = source + "." + eventType
	}
	eventID := ev.EventID
	if eventID == "" {
		sum := sha256.Sum256(body)
		eventID = "sha256:" + hex.EncodeToString(sum[:])
	}
	scope := communityID
	if seen, err := h.Seen.Seen(ctx, scope, eventID); err != nil {
		return err
	} else if seen {
		return nil // delivered again: it is an action already
	}
	id := platform.EventID(platformName, "hook", communityID, eventID)
	data := ev.Data
	if data == nil {
		data = map[string]any{}
	}
	cmd := bus.ProposeAction{Action: domain.Action{
		ID: id, CommunityID: communityID, Kind: domain.KindTrigger, Type: domain.ActionWebhookTrigger,
		Platform: platformName, ExternalID: eventID, ProposedAt: h.now().UTC(),
		Fields: map[string]any{"event_type": eventType, "data": data},
	}}
	if ev.Initiator != nil && ev.Initiator.UserID != "" {
		cmd.Initiator = &bus.PlatformUser{Platform: platformName, Username: ev.Initiator.UserID}
	}
	if err := cmd.Action.Validate(); err != nil {
		return refuse(http.StatusBadRequest, "%v", err)
	}
	if err := h.Publisher.Publish(ctx, bus.TopicProposeAction, id, bus.CommandProposeAction, cmd); err != nil {
		return err
	}
	_, err := h.Seen.First(ctx, scope, eventID)
	return err
}

// processUpdate publishes the new state of the governance process proposalID follows.
func (h *Hook) processUpdate(ctx context.Context, communityID, platformName, proposalID string, body []byte) error {
	var proc map[string]any
	if err := domain.DecodeJSON(body, &proc); err != nil || len(proc) == 0 {
		return refuse(http.StatusBadRequest, "the body is not a JSON process")
	}
	sum := sha256.Sum256(body)
	id := platform.EventID(platformName, "process", communityID, proposalID, hex.EncodeToString(sum[:]))
	cmd := bus.UpdateGovernanceProcess{CommunityID: communityID, ProposalID: proposalID, Process: proc}
	return h.Publisher.Publish(ctx, bus.CommandTopic(bus.CommandUpdateGovernanceProcess), id, bus.CommandUpdateGovernanceProcess, cmd)
}
