// Package loomiotest is a fake Loomio for tests: an httptest server answering the calls of
// Loomio's bot API (/api/b2, authenticated by a user's api_key) that the Loomio adapter
// makes, in Loomio's shapes: records side-loaded by type ({"polls": [...], "poll_options":
// [...], "stances": [...], "stance_choices": [...], "users": [...], "outcomes": [...]}),
// validation errors as 422 {"errors": {"field": ["message"]}}, a key it does not know as 403
// {"exception": "CanCan::AccessDenied ..."}, an unknown record as 404 {"exception":
// "ActiveRecord::RecordNotFound ..."}. Members vote and polls close through its methods, and
// each change is posted to the group's webhook as Loomio's markdown webhook does ({"kind",
// "url", "title", "actor_name", "group_name", "poll_type", "text", ...}).
package loomiotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PollTypes are the poll types the bot API creates.
var PollTypes = []string{"proposal", "poll", "count", "score", "ranked_choice", "meeting", "dot_vote"}

// Fault is an answer the fake gives instead of handling a request.
type Fault struct {
	Status     int
	RetryAfter string // the Retry-After header, if any
	Body       string
}

// Fake is a fake Loomio with one group. Use New.
type Fake struct {
	Server    *httptest.Server
	GroupID   int
	GroupName string
	APIKey    string

	mu          sync.Mutex
	calls       []string
	bodies      []map[string]any
	faults      map[string][]Fault // "POST /api/b2/polls" -> answers to give first
	polls       []*poll
	discussions []map[string]any
	users       map[int]string
	webhook     string
	events      []map[string]any
	nextID      int
}

type poll struct {
	ID        int
	Key       string
	Title     string
	Type      string
	Details   string
	Options   []string
	ClosingAt string
	ClosedAt  *time.Time
	Outcome   string
	Stances   []*stance
	Params    map[string]any
}

type stance struct {
	ID      int
	User    int
	Scores  map[string]int
	CastAt  time.Time
	Latest  bool
	Revoked bool
}

// New starts a fake Loomio whose group groupID answers to apiKey.
func New(apiKey string, groupID int) *Fake {
	f := &Fake{APIKey: apiKey, GroupID: groupID, GroupName: "Garden", faults: map[string][]Fault{}, users: map[int]string{}, nextID: 100}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the fake's base URL (LOOMIO_URL).
func (f *Fake) URL() string { return f.Server.URL }

// Close stops the server.
func (f *Fake) Close() { f.Server.Close() }

// SetWebhook makes the fake post its group's events to url (the group's webhook chatbot).
func (f *Fake) SetWebhook(url string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.webhook = url
}

// Fail makes the next requests "METHOD /path" (path without its id: "GET /api/b2/polls/:id")
// answer the faults, in order.
func (f *Fake) Fail(call string, faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[call] = append(f.faults[call], faults...)
}

// Calls are the requests answered so far, each "METHOD /path" with ids as ":id".
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Bodies are the JSON bodies of the requests, in order (nil for a GET).
func (f *Fake) Bodies() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bodies)
}

// PollIDs are the ids of the polls created, in order.
func (f *Fake) PollIDs() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for _, p := range f.polls {
		out = append(out, p.ID)
	}
	return out
}

// Poll returns what a poll was created with: its title, type, options, closing time,
// details and other parameters.
func (f *Fake) Poll(id int) (map[string]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.poll(strconv.Itoa(id))
	if p == nil {
		return nil, false
	}
	out := map[string]any{"title": p.Title, "poll_type": p.Type, "options": slices.Clone(p.Options), "closing_at": p.ClosingAt, "details": p.Details}
	for k, v := range p.Params {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out, true
}

// Vote has member userID (named name) vote on the poll: a score per option (1 for the
// option chosen in a proposal or a simple poll; ranks or points in the others). It replaces
// the member's earlier stance, as Loomio keeps the latest one, and posts stance_created (or
// stance_updated) to the webhook. It fails on a closed poll, as Loomio refuses the vote.
func (f *Fake) Vote(pollID, userID int, name string, scores map[string]int) error {
	f.mu.Lock()
	p := f.poll(strconv.Itoa(pollID))
	if p == nil {
		f.mu.Unlock()
		return fmt.Errorf("no poll %d", pollID)
	}
	if p.ClosedAt != nil {
		f.mu.Unlock()
		return fmt.Errorf("poll %d is closed", pollID)
	}
	for o := range scores {
		if !slices.Contains(p.Options, o) {
			f.mu.Unlock()
			return fmt.Errorf("poll %d has no option %q", pollID, o)
		}
	}
	f.users[userID] = name
	kind := "stance_created"
	for _, s := range p.Stances {
		if s.User == userID && s.Latest {
			s.Latest = false
			kind = "stance_updated"
		}
	}
	f.nextID++
	p.Stances = append(p.Stances, &stance{ID: f.nextID, User: userID, Scores: scores, CastAt: time.Now().UTC(), Latest: true})
	ev := f.event(kind, p, name, fmt.Sprintf("%s/p/%s?stance_id=%d", f.Server.URL, p.Key, f.nextID))
	f.mu.Unlock()
	return f.post(ev)
}

// Choose is Vote with one option chosen.
func (f *Fake) Choose(pollID, userID int, name, option string) error {
	return f.Vote(pollID, userID, name, map[string]int{option: 1})
}

// ClosePoll closes the poll now, as its author closing it early does, with an outcome
// statement (none when empty), and posts poll_closed_by_user (and outcome_created).
func (f *Fake) ClosePoll(pollID int, outcome string) error {
	return f.close(pollID, outcome, "poll_closed_by_user")
}

// Expire closes the poll as its closing time passing does, and posts poll_expired.
func (f *Fake) Expire(pollID int) error { return f.close(pollID, "", "poll_expired") }

func (f *Fake) close(pollID int, outcome, kind string) error {
	f.mu.Lock()
	p := f.poll(strconv.Itoa(pollID))
	if p == nil {
		f.mu.Unlock()
		return fmt.Errorf("no poll %d", pollID)
	}
	now := time.Now().UTC()
	p.ClosedAt = &now
	p.Outcome = outcome
	evs := []map[string]any{f.event(kind, p, "Loomio bot", f.Server.URL+"/p/"+p.Key)}
	if outcome != "" {
		evs = append(evs, f.event("outcome_created", p, "Loomio bot", f.Server.URL+"/p/"+p.Key))
	}
	f.mu.Unlock()
	for _, ev := range evs {
		if err := f.post(ev); err != nil {
			return err
		}
	}
	return nil
}

// event is a markdown webhook payload; f.mu is held.
func (f *Fake) event(kind string, p *poll, actor, url string) map[string]any {
	return map[string]any{
		"text":        fmt.Sprintf("%s: %s [%s](%s)", actor, strings.ReplaceAll(kind, "_", " "), p.Title, url),
		"icon_url":    nil,
		"username":    "Loomio",
		"kind":        kind,
		"url":         url,
		"group_name":  f.GroupName,
		"actor_name":  actor,
		"poll_type":   p.Type,
		"title":       p.Title,
		"attachments": []any{},
	}
}

// post delivers an event to the webhook, if one is set; a refusal is the test's to see.
func (f *Fake) post(ev map[string]any) error {
	f.mu.Lock()
	url := f.webhook
	f.events = append(f.events, ev)
	f.mu.Unlock()
	if url == "" {
		return nil
	}
	body, _ := json.Marshal(ev)
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}

// Events are the webhook payloads of the group's events so far, delivered or not.
func (f *Fake) Events() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out [][]byte
	for _, ev := range f.events {
		b, _ := json.Marshal(ev)
		out = append(out, b)
	}
	return out
}

// poll finds a poll by id or key; f.mu is held.
func (f *Fake) poll(idOrKey string) *poll {
	for _, p := range f.polls {
		if strconv.Itoa(p.ID) == idOrKey || p.Key == idOrKey {
			return p
		}
	}
	return nil
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if r.Method == http.MethodPost {
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			write(w, http.StatusBadRequest, map[string]any{"exception": "ActionDispatch::Http::Parameters::ParseError " + err.Error()})
			return
		}
	}
	name := r.Method + " " + r.URL.Path
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/b2/polls/"); ok && rest != "" {
		name = r.Method + " /api/b2/polls/:id"
	}
	f.mu.Lock()
	f.calls = append(f.calls, name)
	f.bodies = append(f.bodies, body)
	if q := f.faults[name]; len(q) > 0 {
		fault := q[0]
		f.faults[name] = q[1:]
		f.mu.Unlock()
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(fault.Status)
		_, _ = w.Write([]byte(fault.Body))
		return
	}
	defer f.mu.Unlock()
	key := r.URL.Query().Get("api_key")
	if body != nil {
		key, _ = body["api_key"].(string)
	}
	if key != f.APIKey {
		write(w, http.StatusForbidden, map[string]any{"exception": "CanCan::AccessDenied You are not authorized to access this page."})
		return
	}
	switch {
	case name == "POST /api/b2/polls":
		f.createPoll(w, body)
	case name == "GET /api/b2/polls/:id":
		p := f.poll(strings.TrimPrefix(r.URL.Path, "/api/b2/polls/"))
		if p == nil {
			write(w, http.StatusNotFound, map[string]any{"exception": "ActiveRecord::RecordNotFound Couldn't find Poll"})
			return
		}
		write(w, http.StatusOK, f.pollJSON(p))
	case name == "POST /api/b2/discussions":
		f.createDiscussion(w, body)
	default:
		write(w, http.StatusNotFound, map[string]any{"exception": "ActionController::RoutingError No route matches [" + r.Method + "] \"" + r.URL.Path + "\""})
	}
}

func (f *Fake) group(body map[string]any) bool {
	g, ok := body["group_id"].(json.Number)
	return ok && g.String() == strconv.Itoa(f.GroupID)
}

func (f *Fake) createPoll(w http.ResponseWriter, body map[string]any) {
	errs := map[string][]string{}
	title, _ := body["title"].(string)
	if strings.TrimSpace(title) == "" {
		errs["title"] = append(errs["title"], "can't be blank")
	}
	typ, _ := body["poll_type"].(string)
	if !slices.Contains(PollTypes, typ) {
		errs["poll_type"] = append(errs["poll_type"], "is not included in the list")
	}
	var options []string
	if raw, ok := body["options"].([]any); ok {
		for _, o := range raw {
			if s, ok := o.(string); ok && s != "" {
				options = append(options, s)
			}
		}
	}
	if len(options) == 0 {
		if typ == "proposal" {
			options = []string{"agree", "abstain", "disagree"}
		} else if typ == "count" {
			options = []string{"yes", "no"}
		} else {
			errs["poll_options"] = append(errs["poll_options"], "can't be empty")
		}
	}
	closing, _ := body["closing_at"].(string)
	if closing == "" {
		errs["closing_at"] = append(errs["closing_at"], "can't be blank")
	} else if _, err := time.Parse(time.RFC3339Nano, closing); err != nil {
		if _, err := time.Parse("2006-01-02", closing); err != nil {
			errs["closing_at"] = append(errs["closing_at"], "is invalid")
		}
	}
	if _, ok := body["discussion_id"]; !ok && !f.group(body) {
		// The key's user is no member of another group: Loomio refuses the poll as such.
		write(w, http.StatusForbidden, map[string]any{"exception": "CanCan::AccessDenied You are not authorized to access this page."})
		return
	}
	if len(errs) > 0 {
		write(w, http.StatusUnprocessableEntity, map[string]any{"errors": errs})
		return
	}
	f.nextID++
	details, _ := body["details"].(string)
	p := &poll{ID: f.nextID, Key: fmt.Sprintf("pk%04d", f.nextID), Title: title, Type: typ, Details: details,
		Options: options, ClosingAt: closing, Params: map[string]any{}}
	for k, v := range body {
		if k != "api_key" {
			p.Params[k] = v
		}
	}
	f.polls = append(f.polls, p)
	write(w, http.StatusOK, f.pollJSON(p))
}

func (f *Fake) createDiscussion(w http.ResponseWriter, body map[string]any) {
	title, _ := body["title"].(string)
	if strings.TrimSpace(title) == "" {
		write(w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string][]string{"title": {"can't be blank"}}})
		return
	}
	if !f.group(body) {
		write(w, http.StatusForbidden, map[string]any{"exception": "CanCan::AccessDenied You are not authorized to access this page."})
		return
	}
	f.nextID++
	d := map[string]any{"id": f.nextID, "key": fmt.Sprintf("dk%04d", f.nextID), "title": title, "group_id": f.GroupID,
		"description": body["description"], "created_at": time.Now().UTC().Format(time.RFC3339Nano)}
	f.discussions = append(f.discussions, d)
	write(w, http.StatusOK, map[string]any{"discussions": []any{d}})
}

// pollJSON is the poll as Loomio serializes it, its records side-loaded; f.mu is held.
func (f *Fake) pollJSON(p *poll) map[string]any {
	var closedAt any
	if p.ClosedAt != nil {
		closedAt = p.ClosedAt.Format(time.RFC3339Nano)
	}
	optionIDs := map[string]int{}
	var options []any
	var ids []int
	for i, o := range p.Options {
		id := p.ID*1000 + i + 1
		optionIDs[o] = id
		ids = append(ids, id)
		options = append(options, map[string]any{"id": id, "poll_id": p.ID, "name": o, "priority": i})
	}
	var stances, choices, users []any
	seenUser := map[int]bool{}
	cast := 0
	for _, s := range p.Stances {
		var choiceIDs []int
		for _, o := range p.Options {
			score, ok := s.Scores[o]
			if !ok {
				continue
			}
			id := s.ID*1000 + optionIDs[o]%1000
			choiceIDs = append(choiceIDs, id)
			choices = append(choices, map[string]any{"id": id, "stance_id": s.ID, "poll_option_id": optionIDs[o], "score": score})
		}
		if s.Latest {
			cast++
		}
		stances = append(stances, map[string]any{"id": s.ID, "poll_id": p.ID, "participant_id": s.User, "latest": s.Latest,
			"cast_at": s.CastAt.Format(time.RFC3339Nano), "revoked_at": nil, "reason": "", "stance_choice_ids": choiceIDs})
		if !seenUser[s.User] {
			seenUser[s.User] = true
			users = append(users, map[string]any{"id": s.User, "name": f.users[s.User], "username": strings.ToLower(strings.ReplaceAll(f.users[s.User], " ", ""))})
		}
	}
	out := map[string]any{
		"polls": []any{map[string]any{"id": p.ID, "key": p.Key, "group_id": f.GroupID, "poll_type": p.Type, "title": p.Title,
			"details": p.Details, "details_format": "md", "closing_at": p.ClosingAt, "closed_at": closedAt,
			"stances_count": len(p.Stances), "cast_stances_count": cast, "poll_option_names": p.Options,
			"poll_option_ids": ids, "created_at": time.Now().UTC().Format(time.RFC3339Nano)}},
		"poll_options":   options,
		"stances":        nonNil(stances),
		"stance_choices": nonNil(choices),
		"users":          nonNil(users),
		"outcomes":       []any{},
	}
	if p.Outcome != "" {
		out["outcomes"] = []any{map[string]any{"id": p.ID*10 + 1, "poll_id": p.ID, "statement": p.Outcome, "statement_format": "md"}}
	}
	return out
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
