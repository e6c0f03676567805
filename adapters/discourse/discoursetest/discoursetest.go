// Package discoursetest is a fake Discourse site for tests: the parts of Discourse's API the
// adapter uses, answering with Discourse's documented shapes (docs.discourse.org), and a
// webhook sender that signs as Discourse does.
package discoursetest

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Site is a fake Discourse. Requests must carry Api-Key Key with an Api-Username.
type Site struct {
	Srv *httptest.Server
	Key string

	mu     sync.Mutex
	calls  []string
	next   int64
	topics map[int64]*Topic
	posts  map[int64]*Post
	// votes: post id -> option id -> usernames
	votes map[int64]map[string][]string
	fail  map[string][]int // "METHOD /path" -> statuses to answer next (429 with wait_seconds 0)
}

// Topic and Post are what the fake holds.
type Topic struct {
	ID       int64
	Title    string
	Category int64
	Deleted  bool
}

type Post struct {
	ID, TopicID, Number int64
	Raw                 string
	Deleted             bool
	Polls               []map[string]any
}

// New starts a fake site.
func New(key string) *Site {
	s := &Site{Key: key, topics: map[int64]*Topic{}, posts: map[int64]*Post{}, votes: map[int64]map[string][]string{}, fail: map[string][]int{}, next: 100}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /posts.json", s.createPost)
	mux.HandleFunc("GET /posts/{id}", s.getPost)
	mux.HandleFunc("DELETE /posts/{id}", s.setPost(true))
	mux.HandleFunc("PUT /posts/{id}/recover.json", s.setPost(false))
	mux.HandleFunc("GET /t/{id}", s.getTopic)
	mux.HandleFunc("DELETE /t/{id}", s.setTopic(true))
	mux.HandleFunc("PUT /t/{id}/recover.json", s.setTopic(false))
	mux.HandleFunc("GET /polls/voters.json", s.voters)
	mux.HandleFunc("PUT /polls/toggle_status.json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"poll": map[string]any{"status": "closed"}})
	})
	mux.HandleFunc("GET /categories.json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"category_list": map[string]any{"categories": []any{map[string]any{"id": 8, "name": "Governance"}}}})
	})
	s.Srv = httptest.NewServer(s.gate(mux))
	return s
}

// URL is the site's base URL.
func (s *Site) URL() string { return s.Srv.URL }

// Close stops the fake.
func (s *Site) Close() { s.Srv.Close() }

// Calls returns the requests made, as "METHOD /path" (no query), injected failures too.
func (s *Site) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Changes returns the requests that change the site (not GETs).
func (s *Site) Changes() []string {
	var out []string
	for _, c := range s.Calls() {
		if !strings.HasPrefix(c, "GET ") {
			out = append(out, c)
		}
	}
	return out
}

// RateLimitNext answers the next n requests of "METHOD /path" with 429 as Discourse does.
func (s *Site) RateLimitNext(call string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail[call] = append(s.fail[call], http.StatusTooManyRequests)
	}
}

// Topic returns a topic.
func (s *Site) Topic(id int64) (Topic, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[id]
	if !ok {
		return Topic{}, false
	}
	return *t, true
}

// AddTopic makes a topic as a member would, returning its id and its first post's.
func (s *Site) AddTopic(title string, category int64) (topicID, postID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addTopic(title, category)
}

func (s *Site) addTopic(title string, category int64) (int64, int64) {
	s.next++
	t := &Topic{ID: s.next, Title: title, Category: category}
	s.topics[t.ID] = t
	s.next++
	s.posts[s.next] = &Post{ID: s.next, TopicID: t.ID, Number: 1}
	return t.ID, s.next
}

// Vote records member's vote for option on the poll of post (replacing an earlier one).
func (s *Site) Vote(postID int64, member, option string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.votes[postID] == nil {
		s.votes[postID] = map[string][]string{}
	}
	for id, users := range s.votes[postID] {
		s.votes[postID][id] = slices.DeleteFunc(users, func(u string) bool { return u == member })
	}
	id := OptionID(option)
	s.votes[postID][id] = append(s.votes[postID][id], member)
}

// OptionID is the poll plugin's id of an option: a digest of its text.
func OptionID(text string) string {
	b, _ := json.Marshal([]string{text})
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func (s *Site) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := r.Method + " " + r.URL.Path
		s.mu.Lock()
		s.calls = append(s.calls, call)
		var status int
		if q := s.fail[call]; len(q) > 0 {
			status, s.fail[call] = q[0], q[1:]
		}
		s.mu.Unlock()
		if status != 0 {
			writeJSON(w, status, map[string]any{"errors": []string{"You’ve performed this action too many times. Please wait 0 seconds before trying again."},
				"error_type": "rate_limit", "extras": map[string]any{"wait_seconds": 0, "time_left": "0 seconds"}})
			return
		}
		if r.Header.Get("Api-Key") != s.Key || r.Header.Get("Api-Username") == "" {
			writeJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"You are not permitted to view the requested resource. The API username or key is invalid."}, "error_type": "invalid_access"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

var pollRe = regexp.MustCompile(`(?s)\[poll name=(\S+)[^\]]*\]\n(.*?)\[/poll\]`)

func (s *Site) createPost(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title    string          `json:"title"`
		Raw      string          `json:"raw"`
		TopicID  json.RawMessage `json:"topic_id"`
		Category json.RawMessage `json:"category"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Raw == "" {
		writeJSON(w, 422, map[string]any{"errors": []string{"Body is too short"}, "action": "create_post"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var p *Post
	if in.Title != "" {
		cat, _ := strconv.ParseInt(strings.Trim(string(in.Category), `"`), 10, 64)
		_, postID := s.addTopic(in.Title, cat)
		p = s.posts[postID]
	} else {
		topic, _ := strconv.ParseInt(strings.Trim(string(in.TopicID), `"`), 10, 64)
		if t, ok := s.topics[topic]; !ok || t.Deleted {
			writeJSON(w, 422, map[string]any{"errors": []string{"Topic not found"}})
			return
		}
		var n int64
		for _, q := range s.posts {
			if q.TopicID == topic {
				n++
			}
		}
		s.next++
		p = &Post{ID: s.next, TopicID: topic, Number: n + 1}
		s.posts[p.ID] = p
	}
	p.Raw = in.Raw
	for _, m := range pollRe.FindAllStringSubmatch(in.Raw, -1) {
		var opts []any
		for _, line := range strings.Split(m[2], "\n") {
			if o, ok := strings.CutPrefix(strings.TrimSpace(line), "* "); ok {
				opts = append(opts, map[string]any{"id": OptionID(o), "html": o, "votes": 0})
			}
		}
		p.Polls = append(p.Polls, map[string]any{"name": m[1], "type": "regular", "status": "open", "public": true, "results": "always", "options": opts, "voters": 0})
	}
	writeJSON(w, 200, s.postJSON(p))
}

func (s *Site) postJSON(p *Post) map[string]any {
	out := map[string]any{"id": p.ID, "topic_id": p.TopicID, "post_number": p.Number, "raw": p.Raw, "username": "policykit",
		"created_at": time.Now().UTC().Format(time.RFC3339Nano), "post_type": 1}
	if p.Deleted {
		out["deleted_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	}
	if len(p.Polls) > 0 {
		out["polls"] = p.Polls
	}
	return out
}

func idIn(r *http.Request) int64 {
	id, _ := strconv.ParseInt(strings.TrimSuffix(r.PathValue("id"), ".json"), 10, 64)
	return id
}

func (s *Site) getPost(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.posts[idIn(r)]
	if !ok {
		writeJSON(w, 404, map[string]any{"errors": []string{"The requested URL or resource could not be found."}, "error_type": "not_found"})
		return
	}
	writeJSON(w, 200, s.postJSON(p))
}

func (s *Site) setPost(deleted bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		p, ok := s.posts[idIn(r)]
		if !ok {
			writeJSON(w, 404, map[string]any{"errors": []string{"The requested URL or resource could not be found."}, "error_type": "not_found"})
			return
		}
		p.Deleted = deleted
		if deleted {
			w.WriteHeader(http.StatusOK) // Discourse answers a deleted post with an empty body
			return
		}
		writeJSON(w, 200, map[string]any{"post": s.postJSON(p)})
	}
}

func (s *Site) getTopic(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[idIn(r)]
	if !ok {
		writeJSON(w, 404, map[string]any{"errors": []string{"The requested URL or resource could not be found."}, "error_type": "not_found"})
		return
	}
	writeJSON(w, 200, map[string]any{"id": t.ID, "title": t.Title, "category_id": t.Category, "deleted_at": nil})
}

func (s *Site) setTopic(deleted bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		t, ok := s.topics[idIn(r)]
		if !ok {
			writeJSON(w, 404, map[string]any{"errors": []string{"The requested URL or resource could not be found."}, "error_type": "not_found"})
			return
		}
		t.Deleted = deleted
		if deleted {
			w.WriteHeader(http.StatusOK)
			return
		}
		writeJSON(w, 200, map[string]any{"success": "OK"})
	}
}

func (s *Site) voters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	post, _ := strconv.ParseInt(q.Get("post_id"), 10, 64)
	page, _ := strconv.Atoi(q.Get("page"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	if page < 1 {
		page = 1
	}
	if limit < 1 {
		limit = 25
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	for id, users := range s.votes[post] {
		if o := q.Get("option_id"); o != "" && o != id {
			continue
		}
		var list []any
		for i, u := range users {
			if i >= (page-1)*limit && i < page*limit {
				list = append(list, map[string]any{"id": i + 1, "username": u, "name": u, "avatar_template": "/a.png"})
			}
		}
		out[id] = list
	}
	writeJSON(w, 200, map[string]any{"voters": out})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// TopicCreated is the body of a topic_created webhook.
func TopicCreated(id, category int64, title, username string, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{"topic": map[string]any{"id": id, "title": title, "fancy_title": title, "posts_count": 1,
		"created_at": at.UTC().Format("2006-01-02T15:04:05.000Z"), "category_id": category, "archetype": "regular", "user_id": 7,
		"created_by": map[string]any{"id": 7, "username": username, "name": username, "avatar_template": "/a.png"}}})
	return b
}

// PostCreated is the body of a post_created webhook.
func PostCreated(id, topicID, number int64, raw, username string, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{"post": map[string]any{"id": id, "name": username, "username": username, "created_at": at.UTC().Format("2006-01-02T15:04:05.000Z"),
		"cooked": "<p>" + raw + "</p>", "raw": raw, "post_number": number, "post_type": 1, "topic_id": topicID, "topic_title": "t", "category_id": 8}})
	return b
}

// Deliver posts a webhook as Discourse does, signed with secret ("" leaves it unsigned), and
// returns the status answered (0 when nothing listens).
func Deliver(url, secret, event, instance string, deliveryID int, body []byte) int {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	kind, _, _ := strings.Cut(event, "_")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Discourse-Event", event)
	req.Header.Set("X-Discourse-Event-Type", kind)
	req.Header.Set("X-Discourse-Event-Id", strconv.Itoa(deliveryID))
	req.Header.Set("X-Discourse-Instance", instance)
	if secret != "" {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		req.Header.Set("X-Discourse-Event-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// String names a topic for failures.
func (t Topic) String() string {
	return fmt.Sprintf("topic %d %q (deleted %v)", t.ID, t.Title, t.Deleted)
}
