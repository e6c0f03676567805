package slack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack/slacktest"
)

// fakeSlack is slacktest's fake Slack server with handlers (bound before slacktest's own)
// that record every Web API call and answer with the documented response shapes.
type fakeSlack struct {
	srv *slacktest.Server

	t testing.TB

	mu         sync.Mutex
	calls      []apiCall
	ts         int
	limited    map[string]int    // method -> how many more calls get 429
	retryAfter string            // the Retry-After of a 429 (seconds)
	refused    map[string]string // token -> the Slack error every call made with it gets
	gates      map[string]*gate  // method -> the gate its calls wait at
	channels   []fakeChannel     // what conversations.list and conversations.info know
}

// fakeChannel is a channel of the fake workspace.
type fakeChannel struct {
	ID, Name string
	Private  bool
}

// fakeListPage is how many channels a conversations.list page holds, whatever the limit
// asked (Slack may return fewer), so that the tests page.
const fakeListPage = 2

type apiCall struct {
	Method  string
	Form    url.Values
	Token   string // from the Authorization header or the token form field
	Limited bool   // answered 429
}

// gate holds the calls of a method until the test releases them.
type gate struct {
	entered chan string // the method, each time a call arrives at the gate
	open    chan struct{}
	once    sync.Once
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

func newFakeSlack(t testing.TB) *fakeSlack {
	t.Helper()
	f := &fakeSlack{t: t, limited: map[string]int{}, retryAfter: "1", refused: map[string]string{}, gates: map[string]*gate{},
		channels: []fakeChannel{{ID: "C1", Name: "general"}, {ID: "C2", Name: "random"}, {ID: "G1", Name: "core-team", Private: true}}}
	answers := map[string]func(url.Values) map[string]any{
		"auth.test": func(url.Values) map[string]any {
			return map[string]any{"user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1"}
		},
		"conversations.info": func(v url.Values) map[string]any {
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, c := range f.channels {
				if c.ID == v.Get("channel") {
					return map[string]any{"channel": c.object()}
				}
			}
			return map[string]any{"ok": false, "error": "channel_not_found"}
		},
		"conversations.list": func(v url.Values) map[string]any {
			f.mu.Lock()
			defer f.mu.Unlock()
			from, _ := strconv.Atoi(v.Get("cursor"))
			to := min(from+fakeListPage, len(f.channels))
			page := []any{}
			for _, c := range f.channels[from:to] {
				if (c.Private && strings.Contains(v.Get("types"), "private_channel")) || (!c.Private && strings.Contains(v.Get("types"), "public_channel")) {
					page = append(page, c.object())
				}
			}
			next := ""
			if to < len(f.channels) {
				next = strconv.Itoa(to)
			}
			return map[string]any{"channels": page, "response_metadata": map[string]any{"next_cursor": next}}
		},
		"chat.postMessage": func(v url.Values) map[string]any {
			return map[string]any{"channel": v.Get("channel"), "ts": f.nextTS(), "message": map[string]any{"text": v.Get("text")}}
		},
		"chat.postEphemeral": func(url.Values) map[string]any { return map[string]any{"message_ts": f.nextTS()} },
		"chat.delete": func(v url.Values) map[string]any {
			return map[string]any{"channel": v.Get("channel"), "ts": v.Get("ts")}
		},
		"chat.getPermalink": func(v url.Values) map[string]any {
			return map[string]any{"channel": v.Get("channel"), "permalink": "https://example.slack.com/archives/" + v.Get("channel") + "/p" + v.Get("message_ts")}
		},
		"chat.scheduleMessage": func(v url.Values) map[string]any {
			return map[string]any{"channel": v.Get("channel"), "scheduled_message_id": "Q1", "post_at": v.Get("post_at")}
		},
		"conversations.rename": func(v url.Values) map[string]any {
			return map[string]any{"channel": map[string]any{"id": v.Get("channel"), "name": v.Get("name")}}
		},
		"conversations.invite": func(v url.Values) map[string]any {
			return map[string]any{"channel": map[string]any{"id": v.Get("channel")}}
		},
		"conversations.kick": func(url.Values) map[string]any { return map[string]any{} },
		"conversations.open": func(v url.Values) map[string]any {
			return map[string]any{"channel": map[string]any{"id": "D-" + v.Get("users")}}
		},
		"pins.add":    func(url.Values) map[string]any { return map[string]any{} },
		"pins.remove": func(url.Values) map[string]any { return map[string]any{} },
	}
	bind := func(c slacktest.Customize) {
		for method, answer := range answers {
			c.Handle("/"+method, func(w http.ResponseWriter, r *http.Request) {
				if err := r.ParseForm(); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
				if token == "" {
					token = r.Form.Get("token")
				}
				f.mu.Lock()
				g := f.gates[method]
				f.mu.Unlock()
				if g != nil {
					g.entered <- method
					select {
					case <-g.open:
					case <-r.Context().Done():
						return
					}
				}
				f.mu.Lock()
				limited := f.limited[method] > 0
				if limited {
					f.limited[method]--
				}
				f.calls = append(f.calls, apiCall{Method: method, Form: r.Form, Token: token, Limited: limited})
				refusal, retryAfter := f.refused[token], f.retryAfter
				f.mu.Unlock()
				if limited {
					w.Header().Set("Retry-After", retryAfter)
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				if refusal != "" {
					w.Header().Set("Content-Type", "application/json")
					_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": refusal})
					return
				}
				res := answer(r.Form)
				if _, ok := res["ok"]; !ok {
					res["ok"] = true
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(res)
			})
		}
	}
	f.srv = slacktest.NewTestServer(bind)
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

func (c fakeChannel) object() map[string]any {
	return map[string]any{"id": c.ID, "name": c.Name, "is_channel": !c.Private, "is_group": c.Private, "is_private": c.Private}
}

// addChannel adds a channel to the workspace (one created, or the bot invited into).
func (f *fakeSlack) addChannel(c fakeChannel) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.channels = append(f.channels, c)
}

// renameChannel renames a channel of the workspace, as a member does in Slack.
func (f *fakeSlack) renameChannel(id, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, c := range f.channels {
		if c.ID == id {
			f.channels[i].Name = name
		}
	}
}

func (f *fakeSlack) nextTS() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ts++
	return fmt.Sprintf("1700000000.%06d", f.ts)
}

// rateLimit makes the next n calls of method answer 429 with Retry-After: 1.
func (f *fakeSlack) rateLimit(method string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited[method] = n
}

// rateLimitFor makes the next n calls of method answer 429 with Retry-After: seconds.
func (f *fakeSlack) rateLimitFor(method string, n, seconds int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited[method] = n
	f.retryAfter = fmt.Sprint(seconds)
}

// hold makes every call of the methods wait at one gate until the test releases it (at the
// latest when the test ends). The call is recorded once it passes the gate.
func (f *fakeSlack) hold(methods ...string) *gate {
	g := &gate{entered: make(chan string, 64), open: make(chan struct{})}
	f.mu.Lock()
	for _, m := range methods {
		f.gates[m] = g
	}
	f.mu.Unlock()
	f.t.Cleanup(g.release) // before the server stops: it waits for its handlers
	return g
}

// refuse makes every call made with token answer {"ok": false, "error": slackErr}.
func (f *fakeSlack) refuse(token, slackErr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused[token] = slackErr
}

// tokens returns the tokens the calls of method so far were made with.
func (f *fakeSlack) tokens(method string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c.Token)
		}
	}
	return out
}

// answered returns the calls of method so far that Slack did not answer 429.
func (f *fakeSlack) answered(method string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []url.Values
	for _, c := range f.calls {
		if c.Method == method && !c.Limited {
			out = append(out, c.Form)
		}
	}
	return out
}

// seen returns the calls of method so far.
func (f *fakeSlack) seen(method string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []url.Values
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c.Form)
		}
	}
	return out
}
