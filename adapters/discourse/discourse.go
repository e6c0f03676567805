// Package discourse is the Discourse platform adapter. Its webhook endpoint (POST
// /api/hooks/discourse/{community}/events) checks X-Discourse-Event-Signature (HMAC-SHA256
// of the body with the community's webhook secret) and turns a topic or a post created on
// the site into the governable discoursecreatetopic or discoursecreatepost; its Performer
// carries out the engine's effect requests for platform "discourse" through Discourse's API
// (post_message, make_call limited to documented endpoints, initiate_vote as a poll, and the
// execute and revert of the two actions), each once by idempotency key; it reads the votes of
// its polls back as the proposals' votes. It meets the engine only on the bus.
//
// A community connects Discourse with the governed policykitaddintegration action: its
// external id and setting "url" the site's base URL, the setting "api_username" and the
// secret "api_key" (an admin API key, sent as Api-Key and Api-Username) or the secret
// "user_api_key" (a User API key, sent as User-Api-Key), and the secret "webhook_secret".
package discourse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/sealed"
)

// The methods of policy code's discourse object besides the kit's (post_message,
// initiate_vote, execute, revert).
const MethodMakeCall = "make_call"

// Deps are the adapter's collaborators.
type Deps struct {
	// Publisher receives the commands (bus.Bus.Publisher()). Required.
	Publisher message.Publisher
	// Directory gives the communities' connections and the proposals' status. Required.
	Directory platform.Directory
	// Box opens the connections' sealed secrets (nil: every connection's secrets fail).
	Box *sealed.Box
	// State, Ledger, Seen default to memory.
	State  State
	Ledger platform.Ledger
	Seen   platform.Seen
	// Client makes the requests (default: the guarded client of Section.AllowedHosts).
	Client *http.Client
	Logger *slog.Logger
	Now    func() time.Time
}

// Adapter is the Discourse adapter. Safe for concurrent use.
type Adapter struct {
	sec    Section
	deps   Deps
	log    *slog.Logger
	state  State
	guard  platform.Outbound
	client *http.Client

	workers *platform.Workers
	publish platform.Publisher

	mu   sync.Mutex
	cast map[string]string // (community, post, username) -> the choice last published
}

var _ effects.Performer = (*Adapter)(nil)

// New returns an adapter for sec (with its defaults).
func New(sec Section, deps Deps) (*Adapter, error) {
	if err := sec.Validate(); err != nil {
		return nil, err
	}
	sec = sec.WithDefaults()
	var errs []error
	if deps.Publisher == nil {
		errs = append(errs, errors.New("discourse: Deps.Publisher is nil"))
	}
	if deps.Directory == nil {
		errs = append(errs, errors.New("discourse: Deps.Directory is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if deps.State == nil {
		deps.State = &MemoryState{}
	}
	if deps.Ledger == nil {
		deps.Ledger = platform.NewMemoryLedger()
	}
	if deps.Seen == nil {
		deps.Seen = &platform.MemorySeen{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	g := platform.NewOutbound("DISCOURSE_ALLOWED_HOSTS", sec.AllowedHosts)
	client := deps.Client
	if client == nil {
		client = g.Client(sec.HTTPTimeout)
	}
	return &Adapter{
		sec: sec, deps: deps, log: deps.Logger, state: deps.State, guard: g, client: client,
		workers: platform.NewWorkers(sec.Workers, sec.WorkTimeout),
		publish: platform.Publisher{Publisher: deps.Publisher},
		cast:    map[string]string{},
	}, nil
}

// Run performs the engine's effect requests for platform "discourse" from b and reads the
// votes of open polls every Section.VotePoll, until ctx ends.
func (a *Adapter) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.runVotes(ctx)
	err := effects.Run(ctx, b, domain.PlatformDiscourse, []string{domain.PlatformDiscourse}, a, a.log, ready)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Close stops accepting events and waits for those being handled.
func (a *Adapter) Close() error {
	a.workers.Close()
	return nil
}

// Perform carries out one effect request for platform "discourse", once per idempotency key
// (platform.Once); a failed attempt is not recorded, so a redelivery tries again.
//
//   - post_message(text, topic_id): a post in the topic; answers {"post_id", "topic_id", "url"}.
//   - make_call(url, values, method): one of the documented endpoints allowed (allowedCalls);
//     answers Discourse's object (another JSON value as {"value": v}).
//   - initiate_vote(users, text, topic_id, options): a poll (Discourse's poll plugin) in the
//     topic, or in a topic of its own; answers {"post_id", "url"}.
//   - create_topic(title, raw, category), create_post(raw, topic_id), delete_topic(topic_id)
//     and delete_post(post_id): the calls of the governed actions.
//   - execute and revert of discoursecreatetopic and discoursecreatepost.
func (a *Adapter) Perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	switch req.Method {
	case bus.MethodPostMessage, MethodMakeCall, bus.MethodInitiateVote, bus.MethodExecute, bus.MethodRevert,
		"create_post", "create_topic", "delete_post", "delete_topic":
	default:
		return nil, fmt.Errorf("discourse cannot %s: its methods are post_message, make_call, initiate_vote, create_post, create_topic, delete_post, delete_topic, execute and revert", req.Method)
	}
	rec := platform.Record{EffectID: req.EffectID, CommunityID: req.CommunityID, Method: req.Method, Purpose: req.Purpose}
	res, err := platform.Once(ctx, a.deps.Ledger, req.IdempotencyKey, rec, platform.OnceOptions{Attempt: a.sec.EffectTimeout},
		func(ctx context.Context) (map[string]any, error) { return a.perform(ctx, req) })
	if err != nil {
		return nil, fmt.Errorf("discourse %s: %w", req.Method, err)
	}
	return res, nil
}

type postArgs struct {
	Text    string `json:"text"`
	TopicID string `json:"topic_id"`
}

type callArgs struct {
	URL    string         `json:"url"`
	Values map[string]any `json:"values"`
	Method string         `json:"method"`
}

func (a *Adapter) perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	s, err := a.site(ctx, req.CommunityID)
	if err != nil {
		return nil, err
	}
	switch req.Method {
	case bus.MethodPostMessage:
		args, err := bus.DecodeArgs[postArgs](req)
		if err != nil {
			return nil, err
		}
		topic, ok := idOf(args.TopicID)
		if !ok || args.Text == "" {
			return nil, errors.New("post_message needs text and a topic_id")
		}
		post, err := a.createPost(ctx, s, map[string]any{"raw": args.Text, "topic_id": topic})
		if err != nil {
			return nil, err
		}
		return map[string]any{"post_id": strconv.FormatInt(post.id, 10), "topic_id": strconv.FormatInt(post.topicID, 10), "url": s.postURL(post.id)}, nil
	case MethodMakeCall:
		args, err := bus.DecodeArgs[callArgs](req)
		if err != nil {
			return nil, err
		}
		return a.makeCall(ctx, s, args)
	case bus.MethodInitiateVote:
		return a.initiateVote(ctx, s, req)
	case "create_post", "create_topic", "delete_post", "delete_topic":
		// The calls of the governed actions, asked by policy code: an execute or a revert of
		// fields it gives.
		fields := make(map[string]any, len(req.Args))
		for k, v := range req.Args {
			fields[k] = v
		}
		typ := domain.ActionDiscourseCreatePost
		if strings.HasSuffix(req.Method, "_topic") {
			typ = domain.ActionDiscourseCreateTopic
		}
		if req.Method == "create_post" || req.Method == "create_topic" {
			delete(fields, "post_id")
			delete(fields, "topic_id")
			if req.Method == "create_post" {
				fields["topic_id"] = req.Args["topic_id"]
			}
		}
		return a.govern(ctx, s, strings.HasPrefix(req.Method, "create_"), bus.GovernArgs{ActionType: typ, Fields: fields})
	default:
		gov, err := bus.DecodeArgs[bus.GovernArgs](req)
		if err != nil {
			return nil, err
		}
		return a.govern(ctx, s, req.Method == bus.MethodExecute, gov)
	}
}

func (s site) postURL(postID int64) string { return s.base + "/p/" + strconv.FormatInt(postID, 10) }

// created is a post Discourse made.
type created struct {
	id, topicID, number int64
	raw                 map[string]any
}

// createPost posts body to /posts.json (a topic when it has a title, else a post in its
// topic_id) and notes the post and its topic as the adapter's own, so that their webhooks
// are not governed again.
func (a *Adapter) createPost(ctx context.Context, s site, body map[string]any) (created, error) {
	v, err := a.call(ctx, s, http.MethodPost, "/posts.json", body)
	if err != nil {
		return created{}, err
	}
	m, _ := v.(map[string]any)
	var c created
	var ok1, ok2 bool
	c.id, ok1 = idOf(m["id"])
	c.topicID, ok2 = idOf(m["topic_id"])
	if !ok1 || !ok2 {
		return created{}, fmt.Errorf("POST /posts.json: Discourse answered no post id and topic id: %.200v", v)
	}
	c.number, _ = idOf(m["post_number"])
	c.raw = m
	if err := a.state.MarkOurs(ctx, s.community, "post", c.id); err != nil {
		return c, err
	}
	if _, isTopic := body["title"]; isTopic {
		if err := a.state.MarkOurs(ctx, s.community, "topic", c.topicID); err != nil {
			return c, err
		}
	}
	return c, nil
}

// govern executes or reverts a discoursecreatetopic or discoursecreatepost. A topic or post
// made on the site is reverted by deleting it and executed by recovering it (re-creating it
// would be refused as a duplicate, and would change its id); one proposed without an id (from
// the dashboard) is executed by creating it.
func (a *Adapter) govern(ctx context.Context, s site, execute bool, g bus.GovernArgs) (map[string]any, error) {
	f := g.Fields
	switch g.ActionType {
	case domain.ActionDiscourseCreateTopic:
		topic, has := idOf(f["topic_id"])
		if !execute {
			if !has {
				return nil, errors.New("cannot revert a topic without its topic_id")
			}
			return a.answerCall(ctx, s, http.MethodDelete, fmt.Sprintf("/t/%d.json", topic), nil)
		}
		if has {
			return a.answerCall(ctx, s, http.MethodPut, fmt.Sprintf("/t/%d/recover.json", topic), nil)
		}
		body := map[string]any{"title": str(f["title"]), "raw": str(f["raw"])}
		if c, ok := idOf(f["category"]); ok {
			body["category"] = c
		}
		post, err := a.createPost(ctx, s, body)
		if err != nil {
			return nil, err
		}
		return map[string]any{"topic_id": strconv.FormatInt(post.topicID, 10), "post_id": strconv.FormatInt(post.id, 10), "url": s.postURL(post.id)}, nil
	case domain.ActionDiscourseCreatePost:
		postID, has := idOf(f["post_id"])
		if !execute {
			if !has {
				return nil, errors.New("cannot revert a post without its post_id")
			}
			return a.answerCall(ctx, s, http.MethodDelete, fmt.Sprintf("/posts/%d.json", postID), nil)
		}
		if has {
			return a.answerCall(ctx, s, http.MethodPut, fmt.Sprintf("/posts/%d/recover.json", postID), nil)
		}
		topic, ok := idOf(f["topic_id"])
		if !ok {
			return nil, errors.New("cannot create a post without its topic_id")
		}
		post, err := a.createPost(ctx, s, map[string]any{"raw": str(f["raw"]), "topic_id": topic})
		if err != nil {
			return nil, err
		}
		return map[string]any{"topic_id": strconv.FormatInt(post.topicID, 10), "post_id": strconv.FormatInt(post.id, 10), "url": s.postURL(post.id)}, nil
	}
	return nil, fmt.Errorf("discourse cannot %s a %q", map[bool]string{true: "execute", false: "revert"}[execute], g.ActionType)
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// answerCall makes a call and answers Discourse's object, another JSON value as {"value": v}.
func (a *Adapter) answerCall(ctx context.Context, s site, method, path string, body any) (map[string]any, error) {
	v, err := a.call(ctx, s, method, path, body)
	if err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok {
		return m, nil
	}
	return map[string]any{"value": v}, nil
}

// allowedCalls are the endpoints of Discourse's API (docs.discourse.org) that make_call may
// reach, by method: reading the forum, and posting, editing, deleting and recovering topics
// and posts. Administration (users, API keys, settings, backups) is not among them: a policy
// acts on the community's conversation, not on the site.
var allowedCalls = map[string][]*regexp.Regexp{
	http.MethodGet: patterns(`/posts\.json`, `/posts/\d+\.json`, `/posts/\d+/replies\.json`, `/t/\d+\.json`, `/t/\d+/posts\.json`,
		`/t/[\w-]+/\d+\.json`, `/latest\.json`, `/top\.json`, `/categories\.json`, `/c/\d+/show\.json`, `/c/[\w-]+/\d+\.json`,
		`/search\.json`, `/tags\.json`, `/tag/[\w-]+\.json`, `/u/[\w.-]+\.json`, `/users/[\w.-]+\.json`, `/groups\.json`,
		`/groups/[\w-]+\.json`, `/groups/[\w-]+/members\.json`, `/polls/voters\.json`, `/site\.json`),
	http.MethodPost: patterns(`/posts\.json`, `/t/\d+/invite\.json`, `/post_actions\.json`),
	http.MethodPut: patterns(`/posts/\d+\.json`, `/t/-/\d+\.json`, `/t/\d+\.json`, `/t/\d+/status\.json`, `/t/\d+/recover(\.json)?`,
		`/posts/\d+/recover(\.json)?`, `/polls/vote(\.json)?`, `/polls/toggle_status(\.json)?`, `/t/\d+/bookmark\.json`),
	http.MethodDelete: patterns(`/posts/\d+\.json`, `/t/\d+\.json`, `/post_actions/\d+\.json`),
}

func patterns(ps ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(ps))
	for i, p := range ps {
		out[i] = regexp.MustCompile(`^` + p + `$`)
	}
	return out
}

// makeCall is PolicyKit's make_call(url, values=None, action=None, method=None): the method
// defaults to POST with values and GET without, as PolicyKit's did; a GET sends its values as
// the query, the others as a JSON body.
func (a *Adapter) makeCall(ctx context.Context, s site, args callArgs) (map[string]any, error) {
	path := strings.TrimSpace(args.URL)
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	method := strings.ToUpper(strings.TrimSpace(args.Method))
	if method == "" {
		method = http.MethodGet
		if len(args.Values) > 0 {
			method = http.MethodPost
		}
	}
	allowed := false
	for _, re := range allowedCalls[method] {
		if re.MatchString(path) {
			allowed = true
			break
		}
	}
	if !allowed {
		return nil, fmt.Errorf("make_call %s %q is not one of the Discourse API endpoints policies may call (posts, topics, categories, search, users' profiles, polls)", method, args.URL)
	}
	var body any
	if method == http.MethodGet {
		if len(args.Values) > 0 {
			q := make([]string, 0, len(args.Values))
			for k, v := range args.Values {
				q = append(q, urlQueryEscape(k)+"="+urlQueryEscape(str(v)))
			}
			path += "?" + strings.Join(q, "&")
		}
	} else {
		values := args.Values
		if values == nil {
			values = map[string]any{}
		}
		body = values
	}
	res, err := a.answerCall(ctx, s, method, path, body)
	if err != nil {
		return nil, err
	}
	if _, isPost := res["topic_id"]; method == http.MethodPost && path == "/posts.json" && isPost {
		if id, ok := idOf(res["id"]); ok {
			if err := a.state.MarkOurs(ctx, s.community, "post", id); err != nil {
				return nil, err
			}
		}
		if topic, ok := idOf(res["topic_id"]); ok && args.Values["title"] != nil {
			if err := a.state.MarkOurs(ctx, s.community, "topic", topic); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}
