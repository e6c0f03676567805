package discourse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Pattern is the route of the webhook: a community sets
// {POLICYKIT_BASE_URL}/api/hooks/discourse/{community}/events as its webhook's Payload URL,
// with content type application/json and its webhook secret. It has one more segment than
// the generic hook's /api/hooks/{platform}/{community}, so the two share one mux.
const Pattern = "POST /api/hooks/discourse/{community}/events"

// The headers Discourse sends with a webhook.
const (
	HeaderEvent     = "X-Discourse-Event"           // "topic_created", "post_created", "ping", ...
	HeaderEventType = "X-Discourse-Event-Type"      // "topic", "post", "ping", ...
	HeaderEventID   = "X-Discourse-Event-Id"        // the delivery's id
	HeaderInstance  = "X-Discourse-Instance"        // the site's base URL
	HeaderSignature = "X-Discourse-Event-Signature" // "sha256=" + hex HMAC-SHA256 of the body
)

const maxEvent = 1 << 20

// ServeHTTP is the webhook endpoint. A request is refused with 401, publishing nothing, when
// its signature is not the community's webhook secret's, when it names another site than the
// community's, or when what it reports was created longer than Section.MaxEventAge ago (a
// replay: Discourse signs no time). A good one is acknowledged at once and handled after: a
// topic or a post created becomes a governable action, proposed with an id derived from the
// community and the topic or post, so that however often Discourse delivers it, it is one
// action.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code, msg := a.serve(r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// hookTopic and hookPost are the parts of Discourse's webhook payloads read here.
type hookTopic struct {
	ID         int64     `json:"id"`
	Title      string    `json:"title"`
	CategoryID *int64    `json:"category_id"`
	Archetype  string    `json:"archetype"`
	CreatedAt  time.Time `json:"created_at"`
	UserID     int64     `json:"user_id"`
	CreatedBy  struct {
		Username string `json:"username"`
	} `json:"created_by"`
}

type hookPost struct {
	ID             int64     `json:"id"`
	Username       string    `json:"username"`
	Raw            string    `json:"raw"`
	PostNumber     int64     `json:"post_number"`
	PostType       int       `json:"post_type"`
	TopicID        int64     `json:"topic_id"`
	TopicArchetype string    `json:"topic_archetype"`
	CategoryID     *int64    `json:"category_id"`
	CreatedAt      time.Time `json:"created_at"`
	TopicTitle     string    `json:"topic_title"`
}

func (a *Adapter) serve(r *http.Request) (int, string) {
	communityID := r.PathValue("community")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEvent+1))
	if err != nil {
		return http.StatusBadRequest, "unreadable body"
	}
	if len(body) > maxEvent {
		return http.StatusRequestEntityTooLarge, "body too large"
	}
	s, err := a.site(r.Context(), communityID)
	if errors.Is(err, platform.ErrUnknown) {
		return http.StatusNotFound, "no community here is connected to Discourse"
	}
	if err != nil {
		a.log.Warn("discourse: a webhook for a connection that cannot be used", "community", communityID, "err", err)
		return http.StatusUnauthorized, "the connection's webhook secret cannot be opened here"
	}
	if err := platform.VerifyHMAC([]byte(s.webhook), body, r.Header.Get(HeaderSignature), "sha256="); err != nil {
		return http.StatusUnauthorized, "bad signature"
	}
	if inst := strings.TrimRight(r.Header.Get(HeaderInstance), "/"); inst != "" && !strings.EqualFold(inst, s.base) {
		return http.StatusUnauthorized, "the event is from another site than the community's"
	}
	event := r.Header.Get(HeaderEvent)
	switch event {
	case "topic_created":
		var p struct {
			Topic *hookTopic `json:"topic"`
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Topic == nil || p.Topic.ID == 0 {
			return http.StatusBadRequest, "not a topic"
		}
		if err := a.fresh(p.Topic.CreatedAt); err != nil {
			return http.StatusUnauthorized, err.Error()
		}
		t := *p.Topic
		if t.Archetype == "private_message" {
			return http.StatusOK, "private messages are not governed"
		}
		return a.accept(s, "topic", t.ID, t.CreatedBy.Username, func() map[string]any {
			f := map[string]any{"title": t.Title, "topic_id": t.ID, "raw": ""}
			if t.CategoryID != nil {
				f["category"] = *t.CategoryID
			}
			return f
		})
	case "post_created":
		var p struct {
			Post *hookPost `json:"post"`
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Post == nil || p.Post.ID == 0 {
			return http.StatusBadRequest, "not a post"
		}
		if err := a.fresh(p.Post.CreatedAt); err != nil {
			return http.StatusUnauthorized, err.Error()
		}
		post := *p.Post
		// The first post of a topic is the topic (topic_created), small actions and
		// whispers are not members' posts, and private messages are not governed.
		if post.PostNumber == 1 || (post.PostType != 0 && post.PostType != 1) || post.TopicArchetype == "private_message" {
			return http.StatusOK, "not governed"
		}
		return a.accept(s, "post", post.ID, post.Username, func() map[string]any {
			f := map[string]any{"raw": post.Raw, "topic_id": post.TopicID, "post_id": post.ID}
			if post.CategoryID != nil {
				f["category"] = *post.CategoryID
			}
			return f
		})
	}
	// ping, and events no action stands for: acknowledged.
	return http.StatusOK, "ok"
}

// fresh checks the time of what an event reports against replays.
func (a *Adapter) fresh(at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("%w: the event says not when", platform.ErrStale)
	}
	return platform.Fresh(at, a.deps.Now(), a.sec.MaxEventAge)
}

// accept acknowledges an event and proposes its action on a worker.
func (a *Adapter) accept(s site, kind string, id int64, username string, fields func() map[string]any) (int, string) {
	key := kind + ":" + strconv.FormatInt(id, 10)
	err := a.workers.Go(func(ctx context.Context) {
		if err := a.propose(ctx, s, kind, id, key, username, fields()); err != nil {
			a.log.Error("discourse: an event was not proposed", "community", s.community, "event", key, "err", err)
		}
	})
	if errors.Is(err, platform.ErrBusy) {
		return http.StatusServiceUnavailable, "busy: deliver again later"
	}
	return http.StatusOK, "accepted"
}

func (a *Adapter) propose(ctx context.Context, s site, kind string, id int64, key, username string, fields map[string]any) error {
	if seen, err := a.deps.Seen.Seen(ctx, s.community, key); err != nil || seen {
		return err
	}
	ours, err := a.ours(ctx, s, kind, id, username)
	if err != nil || ours {
		return err
	}
	typ := domain.ActionDiscourseCreateTopic
	if kind == "post" {
		typ = domain.ActionDiscourseCreatePost
	}
	actionID := platform.EventID(domain.PlatformDiscourse, "event", s.community, key)
	cmd := bus.ProposeAction{Action: domain.Action{
		ID: actionID, CommunityID: s.community, Kind: domain.KindPlatform, Type: typ, Platform: domain.PlatformDiscourse,
		Fields: fields, Reversible: true, ExternalID: strconv.FormatInt(id, 10), ProposedAt: a.deps.Now().UTC(),
	}}
	if username != "" {
		cmd.Initiator = &bus.PlatformUser{Platform: domain.PlatformDiscourse, Username: username}
	}
	if err := a.publish.Publish(ctx, bus.TopicProposeAction, actionID, bus.CommandProposeAction, cmd); err != nil {
		return err
	}
	_, err = a.deps.Seen.First(ctx, s.community, key)
	return err
}

// ours reports whether the adapter made the topic or post itself (an execute, a post or a
// poll of policy code's), which is not governed again. What the connection's API user made
// may be reported before the call that made it has answered, so that is waited for a moment.
func (a *Adapter) ours(ctx context.Context, s site, kind string, id int64, username string) (bool, error) {
	wait := time.Duration(0)
	if s.apiUsername != "" && strings.EqualFold(username, s.apiUsername) {
		wait = a.sec.OursWait
	}
	deadline := time.Now().Add(wait)
	for {
		ok, err := a.state.Ours(ctx, s.community, kind, id)
		if err != nil || ok || time.Now().After(deadline) {
			return ok, err
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-t.C:
		}
	}
}
