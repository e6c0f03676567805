package reddit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeReddit answers the OAuth API calls the adapter makes with Reddit's documented shapes
// (Listings of Things, api_type=json answers), its rate-limit headers included.
type fakeReddit struct {
	srv       *httptest.Server
	mu        sync.Mutex
	calls     []string // "METHOD /path" of answered calls that change something
	posts     []map[string]any
	replies   map[string][]map[string]any // comment fullname -> replies
	next      int
	limitNext int // calls to answer 429
	limited   int
}

func newFakeReddit(t *testing.T) *fakeReddit {
	f := &fakeReddit{replies: map[string][]map[string]any{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeReddit) URL() string { return f.srv.URL + "/" }

func (f *fakeReddit) changes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// addPost puts a post at the top of the subreddit's new listing.
func (f *fakeReddit) addPost(id, author, title string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts = append([]map[string]any{{"kind": "t3", "data": map[string]any{"id": id, "name": "t3_" + id, "author": author, "title": title,
		"selftext": "text of " + id, "subreddit": "garden", "permalink": "/r/garden/comments/" + id + "/", "created_utc": 1.7e9}}}, f.posts...)
}

func (f *fakeReddit) reply(comment, author, body, name string, at float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.replies[comment] {
		if r["data"].(map[string]any)["name"] == name {
			return
		}
	}
	f.replies[comment] = append(f.replies[comment], map[string]any{"kind": "t1", "data": map[string]any{"name": name, "id": strings.TrimPrefix(name, "t1_"),
		"author": author, "body": body, "created_utc": at}})
}

func (f *fakeReddit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if r.URL.Path == "/api/v1/access_token" {
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-2", "token_type": "bearer", "expires_in": 86400, "refresh_token": "rt-1", "scope": "*"})
		return
	}
	if r.Header.Get("Authorization") != "Bearer at-1" && r.Header.Get("Authorization") != "Bearer at-2" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message": "Unauthorized", "error": 401}`))
		return
	}
	if f.limitNext > 0 {
		f.limitNext--
		f.limited++
		w.Header().Set("X-Ratelimit-Used", "100")
		w.Header().Set("X-Ratelimit-Remaining", "0.0")
		w.Header().Set("X-Ratelimit-Reset", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"message": "Too Many Requests", "error": 429}`))
		return
	}
	w.Header().Set("X-Ratelimit-Used", "1")
	w.Header().Set("X-Ratelimit-Remaining", "99.0")
	w.Header().Set("X-Ratelimit-Reset", "300")
	_ = r.ParseForm()
	name := r.Method + " " + r.URL.Path
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/r/garden/new":
		children := f.posts
		if before := r.Form.Get("before"); before != "" {
			children = nil
			for _, p := range f.posts {
				if p["data"].(map[string]any)["name"] == before {
					break
				}
				children = append(children, p)
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Listing", "data": map[string]any{"children": children, "after": nil, "before": nil}})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/comments/"):
		c := "t1_" + r.Form.Get("comment")
		var replies any = ""
		if rs := f.replies[c]; len(rs) > 0 {
			replies = map[string]any{"kind": "Listing", "data": map[string]any{"children": rs}}
		}
		_ = json.NewEncoder(w).Encode([]any{
			map[string]any{"kind": "Listing", "data": map[string]any{"children": []any{map[string]any{"kind": "t3", "data": map[string]any{"name": "t3_x"}}}}},
			map[string]any{"kind": "Listing", "data": map[string]any{"children": []any{map[string]any{"kind": "t1", "data": map[string]any{"name": c, "replies": replies}}}}},
		})
	case r.Method == http.MethodPost && r.URL.Path == "/api/submit":
		f.calls = append(f.calls, name)
		f.next++
		id := fmt.Sprintf("s%d", f.next)
		_ = json.NewEncoder(w).Encode(map[string]any{"json": map[string]any{"errors": []any{}, "data": map[string]any{"id": id, "name": "t3_" + id,
			"url": "https://www.reddit.com/r/garden/comments/" + id + "/"}}})
	case r.Method == http.MethodPost && r.URL.Path == "/api/comment":
		f.calls = append(f.calls, name)
		f.next++
		id := fmt.Sprintf("c%d", f.next)
		_ = json.NewEncoder(w).Encode(map[string]any{"json": map[string]any{"errors": []any{}, "data": map[string]any{"things": []any{
			map[string]any{"kind": "t1", "data": map[string]any{"id": id, "name": "t1_" + id, "link_id": r.Form.Get("thing_id"), "permalink": "/r/garden/comments/x/_/" + id + "/"}}}}}})
	case r.Method == http.MethodPost && (r.URL.Path == "/api/remove" || r.URL.Path == "/api/approve"):
		f.calls = append(f.calls, name+" "+r.Form.Get("id"))
		_, _ = w.Write([]byte(`{}`))
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message": "Not Found", "error": 404}`))
	}
}
