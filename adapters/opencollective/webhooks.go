package opencollective

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// activity is one expense activity of Open Collective: the webhook's activityType (the
// GraphQL ActivityType enum), the type its deliveries carry, and PolicyKit's trigger action.
type activity struct {
	enum, typ, action string
}

// activities are the expense activities the adapter subscribes to, in that order.
var activities = []activity{
	{"COLLECTIVE_EXPENSE_CREATED", "collective.expense.created", domain.ActionExpenseCreated},
	{"COLLECTIVE_EXPENSE_APPROVED", "collective.expense.approved", domain.ActionExpenseApproved},
	{"COLLECTIVE_EXPENSE_REJECTED", "collective.expense.rejected", domain.ActionExpenseRejected},
	{"COLLECTIVE_EXPENSE_DELETED", "collective.expense.deleted", domain.ActionExpenseDeleted},
	{"COLLECTIVE_EXPENSE_UNAPPROVED", "collective.expense.unapproved", domain.ActionExpenseUnapproved},
	{"COLLECTIVE_EXPENSE_PAID", "collective.expense.paid", domain.ActionExpensePaid},
}

// ActivityTypes are the ActivityType values the adapter registers a webhook for.
func ActivityTypes() []string {
	out := make([]string, len(activities))
	for i, a := range activities {
		out[i] = a.enum
	}
	return out
}

func activityOf(typ string) (activity, bool) {
	for _, a := range activities {
		if a.typ == typ {
			return a, true
		}
	}
	return activity{}, false
}

// secret is the webhook URL secret of a connection: HMAC-SHA256 under the server's key of
// the community, the collective and the connection's sealed token. A sealed value is new
// with every sealing, so every connection made (and a token changed) has a secret of its
// own, and the webhooks of a connection replaced stop being accepted; none is stored.
func (a *Adapter) secret(communityID, collective string, secrets map[string]string) string {
	m := hmac.New(sha256.New, a.key)
	for _, part := range []string{"opencollective-webhook", communityID, strings.ToLower(collective), secrets[SecretAPIToken], secrets[SecretAccessToken]} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// connectionTag names a connection in the adapter's state without telling its secret.
func connectionTag(secret string) string {
	sum := sha256.Sum256([]byte("connection:" + secret))
	return hex.EncodeToString(sum[:12])
}

// WebhookURL is where Open Collective delivers a connection's activities.
func (a *Adapter) WebhookURL(communityID, secret string) string {
	return a.deps.BaseURL + "/api/hooks/opencollective/" + communityID + "/" + secret
}

// runConnections follows the connections on b (bus.TopicEvents, consumer group
// "adapter-opencollective-webhooks"): a collective connected gets its webhooks, those of a
// connection replaced or removed are deleted. Work that failed for now is delivered again
// by the bus; a refusal of the API (a token without the webhooks scope) is logged.
func (a *Adapter) runConnections(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	sub, err := b.NewSubscriber("adapter-opencollective-webhooks")
	if err != nil {
		return err
	}
	msgs, err := sub.Subscribe(ctx, bus.TopicEvents)
	if err != nil {
		return fmt.Errorf("opencollective: subscribe to events: %w", err)
	}
	close(ready)
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-msgs:
			if !ok {
				return nil
			}
			var env bus.EventEnvelope
			if err := json.Unmarshal(msg.Payload, &env); err != nil {
				msg.Ack()
				continue
			}
			err := a.HandleEvent(ctx, env)
			var ge *GraphQLError
			switch {
			case err == nil:
			case errors.As(err, &ge):
				a.log.Error("opencollective: the webhooks of a connection could not be changed", "event", env.ID, "err", err)
			default:
				a.log.Warn("opencollective: webhooks not changed for now; tried again", "event", env.ID, "err", err)
				msg.Nack()
				continue
			}
			msg.Ack()
		}
	}
}

// HandleEvent registers or removes webhooks for a PlatformConnected or PlatformDisconnected
// of the opencollective platform; other events change nothing. Each webhook is created and
// deleted once however often the event is delivered and by however many processes
// (platform.Once with the ledger).
func (a *Adapter) HandleEvent(ctx context.Context, env bus.EventEnvelope) error {
	switch env.Type {
	case domain.EventPlatformConnected:
		var e domain.PlatformConnected
		if err := json.Unmarshal(env.Data, &e); err != nil || e.Platform != domain.PlatformOpenCollective {
			return nil
		}
		return a.connect(ctx, e)
	case domain.EventPlatformDisconnected:
		var e domain.PlatformDisconnected
		if err := json.Unmarshal(env.Data, &e); err != nil || e.Platform != domain.PlatformOpenCollective {
			return nil
		}
		return a.removeWebhooks(ctx, e.CommunityID, "")
	}
	return nil
}

func (a *Adapter) connect(ctx context.Context, e domain.PlatformConnected) error {
	t, err := a.targetOf(e.CommunityID, e.ExternalID, e.Secrets)
	if err != nil {
		// Nothing will ever open it: say so, and do not ask for it again.
		a.log.Error("opencollective: a connection without a usable token gets no webhooks", "community", e.CommunityID, "err", err)
		return nil
	}
	secret := a.secret(e.CommunityID, e.ExternalID, e.Secrets)
	tag := connectionTag(secret)
	tokenName := SecretAPIToken
	if e.Secrets[SecretAPIToken] == "" {
		tokenName = SecretAccessToken
	}
	hookURL := a.WebhookURL(e.CommunityID, secret)
	for _, act := range activities {
		key := "opencollective:webhook:" + e.CommunityID + ":" + tag + ":" + act.enum
		rec := platform.Record{CommunityID: e.CommunityID, Method: "createWebhook", Purpose: act.enum}
		res, err := platform.Once(ctx, a.deps.Ledger, key, rec, platform.OnceOptions{Attempt: a.cfg.EffectTimeout},
			func(ctx context.Context) (map[string]any, error) {
				id, err := a.api.createWebhook(ctx, t.cred, t.collective, act.enum, hookURL)
				if err != nil {
					return nil, err
				}
				return map[string]any{"id": id}, nil
			})
		if err != nil {
			return fmt.Errorf("community %s: webhook for %s: %w", e.CommunityID, act.enum, err)
		}
		id, _ := res["id"].(string)
		if err := a.deps.State.SaveWebhook(ctx, Webhook{CommunityID: e.CommunityID, Connection: tag, ActivityType: act.enum,
			Collective: t.collective, WebhookID: id, TokenName: tokenName, SealedToken: e.Secrets[tokenName]}); err != nil {
			return err
		}
	}
	a.log.Info("opencollective: webhooks registered", "community", e.CommunityID, "collective", t.collective)
	// The webhooks of the connection this one replaced point to a secret no longer accepted.
	return a.removeWebhooks(ctx, e.CommunityID, tag)
}

// removeWebhooks deletes the community's webhooks of every connection but keep, each once,
// with the token that registered it.
func (a *Adapter) removeWebhooks(ctx context.Context, communityID, keep string) error {
	hooks, err := a.deps.State.Webhooks(ctx, communityID)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if h.Connection == keep {
			continue
		}
		t, err := a.targetOf(communityID, h.Collective, map[string]string{h.TokenName: h.SealedToken})
		if err == nil {
			key := "opencollective:unhook:" + communityID + ":" + h.WebhookID
			rec := platform.Record{CommunityID: communityID, Method: "deleteWebhook", Purpose: h.ActivityType}
			_, err = platform.Once(ctx, a.deps.Ledger, key, rec, platform.OnceOptions{Attempt: a.cfg.EffectTimeout},
				func(ctx context.Context) (map[string]any, error) {
					return map[string]any{}, a.api.deleteWebhook(ctx, t.cred, h.WebhookID)
				})
		}
		var ge *GraphQLError
		if err != nil && !errors.As(err, &ge) && t.cred.value != "" {
			return fmt.Errorf("community %s: delete webhook %s: %w", communityID, h.WebhookID, err)
		}
		if err != nil {
			// The token cannot remove it (revoked, or no key to open it): Open Collective
			// keeps delivering to a secret this server no longer accepts.
			a.log.Warn("opencollective: a webhook could not be removed", "community", communityID, "webhook", h.WebhookID, "err", err)
		}
		if err := a.deps.State.DeleteWebhook(ctx, communityID, h.Connection, h.ActivityType); err != nil {
			return err
		}
	}
	return nil
}
