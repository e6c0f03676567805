package slack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack/slacktest"
)

// fakeSlack is slacktest's fake Slack server with handlers (bound before slacktest's own)
// that record every Web API call and answer with the documented response shapes.
type fakeSlack struct {
	srv *slacktest.Server

	mu      sync.Mutex
	calls   []apiCall
	ts      int
	limited map[string]int    // method -> how many more calls get 429
	refused map[string]string // token -> the Slack error every call made with it gets
}

type apiCall struct {
	Method string
	Form   url.Values
	Token  string // from the Authorization header or the token form field
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{limited: map[string]int{}, refused: map[string]string{}}
	answers := map[string]func(url.Values) map[string]any{
		"auth.test": func(url.Values) map[string]any {
			return map[string]any{"user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1"}
		},
		"conversations.info": func(v url.Values) map[string]any {
			return map[string]any{"channel": map[string]any{"id": v.Get("channel"), "name": "general"}}
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
				f.calls = append(f.calls, apiCall{Method: method, Form: r.Form, Token: token})
				limited := f.limited[method] > 0
				if limited {
					f.limited[method]--
				}
				refusal := f.refused[token]
				f.mu.Unlock()
				if limited {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				if refusal != "" {
					w.Header().Set("Content-Type", "application/json")
					_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": refusal})
					return
				}
				res := answer(r.Form)
				res["ok"] = true
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
