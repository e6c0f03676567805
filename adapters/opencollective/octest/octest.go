// Package octest is a fake of Open Collective's GraphQL API v2 for tests: the operations the
// opencollective adapter uses (expense, createComment, processExpense, createWebhook,
// deleteWebhook), answered in the API's shapes, errors included (a GraphQL "errors" array
// with 200, 401 for a token it does not know, 429 with Retry-After, 5xx), and the webhooks
// it keeps, to which Deliver posts an activity as Open Collective does.
package octest

import (
	"bytes"
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
	"testing"
	"time"
)

// Expense is an expense the fake holds. Amount is in cents.
type Expense struct {
	LegacyID    int
	Collective  string
	Description string
	Amount      int
	Currency    string
	Type        string
	Status      string
	Tags        []string
	Payee       string
	CreatedBy   string
	Deleted     bool
}

// PublicID is the expense's public id, as the API shows it.
func (e Expense) PublicID() string { return fmt.Sprintf("exp-%d-pub", e.LegacyID) }

// Comment is a comment made on an expense.
type Comment struct {
	ID       string
	Expense  int
	HTML     string
	ByToken  string
	Received time.Time
}

// Webhook is a webhook registered.
type Webhook struct {
	ID           string
	Account      string
	ActivityType string
	URL          string
}

// Failure is an answer the fake gives instead of the operation's: Status (with RetryAfter
// seconds, if set) and Body. After makes the fake carry out the operation first and then
// answer the failure, as an outage that loses the answer does.
type Failure struct {
	Status     int
	RetryAfter string
	Body       string
	After      bool
}

// Server is the fake.
type Server struct {
	srv *httptest.Server
	// Tokens are the personal tokens it accepts, each of the collectives it may administer.
	tokens map[string][]string

	mu       sync.Mutex
	expenses map[int]*Expense
	comments []Comment
	webhooks []Webhook
	calls    []string
	fail     map[string][]Failure
	next     int
}

// New starts a fake that accepts token for the collectives named.
func New(t testing.TB, token string, collectives ...string) *Server {
	s := &Server{tokens: map[string][]string{token: collectives}, expenses: map[int]*Expense{}, fail: map[string][]Failure{}, next: 100}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /graphql/v2", s.graphql)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the fake's OPENCOLLECTIVE_API_URL.
func (s *Server) URL() string { return s.srv.URL + "/graphql/v2" }

// AddExpense adds or replaces an expense.
func (s *Server) AddExpense(e Expense) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Currency == "" {
		e.Currency = "USD"
	}
	if e.Type == "" {
		e.Type = "INVOICE"
	}
	if e.Status == "" {
		e.Status = "PENDING"
	}
	s.expenses[e.LegacyID] = &e
}

// SetStatus changes an expense's status, as someone on Open Collective would.
func (s *Server) SetStatus(id int, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expenses[id].Status = status
}

// Expense returns an expense as the fake holds it.
func (s *Server) Expense(id int) Expense {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.expenses[id]
}

// Comments returns the comments made on an expense, in order.
func (s *Server) Comments(expense int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments {
		if c.Expense == expense {
			out = append(out, c)
		}
	}
	return out
}

// Webhooks returns the webhooks registered.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.webhooks)
}

// Calls returns the operations asked so far (their root fields: "processExpense"), those
// answered with an injected failure too.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Count returns how often op was asked.
func (s *Server) Count(op string) int {
	n := 0
	for _, c := range s.Calls() {
		if c == op {
			n++
		}
	}
	return n
}

// FailNext answers the next requests of op with failures, in turn.
func (s *Server) FailNext(op string, failures ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[op] = append(s.fail[op], failures...)
}

// Activity is the body Open Collective posts to a webhook for an expense activity (the
// activity sanitized: its id, type, createdAt, CollectiveId and data with the expense's
// id, description, amount and currency and the collectives).
func (s *Server) Activity(activityID int, typ string, expenseID int, at time.Time) []byte {
	s.mu.Lock()
	e := *s.expenses[expenseID]
	s.mu.Unlock()
	body, _ := json.Marshal(map[string]any{
		"id": activityID, "type": typ, "createdAt": at.UTC().Format(time.RFC3339Nano), "CollectiveId": 42,
		"data": map[string]any{
			"expense":        map[string]any{"id": e.LegacyID, "description": e.Description, "amount": e.Amount, "currency": e.Currency},
			"fromCollective": map[string]any{"slug": e.Payee, "name": e.Payee},
			"collective":     map[string]any{"slug": e.Collective, "name": e.Collective},
		},
	})
	return body
}

// Deliver posts an activity of typ ("collective.expense.created") on expenseID to every
// webhook registered for it, as Open Collective does, and returns the statuses answered.
func (s *Server) Deliver(activityID int, typ string, expenseID int) []int {
	enum := "COLLECTIVE_" + strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(typ, "collective."), ".", "_"))
	s.mu.Lock()
	collective := s.expenses[expenseID].Collective
	var urls []string
	for _, w := range s.webhooks {
		if w.Account == collective && w.ActivityType == enum {
			urls = append(urls, w.URL)
		}
	}
	s.mu.Unlock()
	body := s.Activity(activityID, typ, expenseID, time.Now())
	var out []int
	for _, u := range urls {
		resp, err := http.Post(u, "application/json", bytes.NewReader(body))
		if err != nil {
			out = append(out, 0)
			continue
		}
		_ = resp.Body.Close()
		out = append(out, resp.StatusCode)
	}
	return out
}

var rootField = regexp.MustCompile(`\{\s*([A-Za-z_]\w*)\s*[({]`)

func (s *Server) graphql(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &req); err != nil || req.Query == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []any{map[string]any{"message": "Must provide query string."}}})
		return
	}
	m := rootField.FindStringSubmatch(req.Query)
	op := ""
	if m != nil {
		op = m[1]
	}
	s.mu.Lock()
	s.calls = append(s.calls, op)
	var failure *Failure
	if q := s.fail[op]; len(q) > 0 {
		failure, s.fail[op] = &q[0], q[1:]
	}
	s.mu.Unlock()
	if failure != nil && !failure.After {
		writeFailure(w, *failure)
		return
	}
	token := r.Header.Get("Personal-Token")
	if token == "" {
		token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	collectives, ok := s.tokens[token]
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": 401, "type": "unauthorized", "message": "Invalid personal token"}})
		return
	}
	data, gqlErr := s.perform(op, req.Variables, token, collectives)
	if failure != nil {
		writeFailure(w, *failure)
		return
	}
	if gqlErr != nil {
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{op: nil}, "errors": []any{map[string]any{
			"message": gqlErr.message, "extensions": map[string]any{"code": gqlErr.code}, "path": []string{op}}}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{op: data}})
}

type gqlError struct{ code, message string }

func (s *Server) perform(op string, vars map[string]any, token string, collectives []string) (any, *gqlError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	admin := func(slug string) bool { return slices.Contains(collectives, slug) }
	switch op {
	case "expense":
		e := s.lookup(vars["expense"])
		if e == nil {
			return nil, &gqlError{"NotFound", "Expense not found"}
		}
		return expenseJSON(e), nil
	case "createComment":
		c, _ := vars["comment"].(map[string]any)
		e := s.lookup(c["expense"])
		if e == nil {
			return nil, &gqlError{"NotFound", "Expense not found"}
		}
		s.next++
		id := "comment-" + strconv.Itoa(s.next)
		html, _ := c["html"].(string)
		s.comments = append(s.comments, Comment{ID: id, Expense: e.LegacyID, HTML: html, ByToken: token, Received: time.Now()})
		return map[string]any{"id": id}, nil
	case "processExpense":
		e := s.lookup(vars["expense"])
		if e == nil {
			return nil, &gqlError{"NotFound", "Expense not found"}
		}
		if !admin(e.Collective) {
			return nil, &gqlError{"Forbidden", "You are authenticated but forbidden to perform this action"}
		}
		action, _ := vars["action"].(string)
		if err := process(e, action); err != nil {
			return nil, err
		}
		return expenseJSON(e), nil
	case "createWebhook":
		in, _ := vars["webhook"].(map[string]any)
		acc, _ := in["account"].(map[string]any)
		slug, _ := acc["slug"].(string)
		typ, _ := in["activityType"].(string)
		u, _ := in["webhookUrl"].(string)
		if !admin(slug) {
			return nil, &gqlError{"Forbidden", "You don't have sufficient permissions to create a webhook on this account."}
		}
		s.next++
		hook := Webhook{ID: "webhook-" + strconv.Itoa(s.next), Account: slug, ActivityType: typ, URL: u}
		s.webhooks = append(s.webhooks, hook)
		return map[string]any{"id": hook.ID, "legacyId": s.next, "activityType": typ, "webhookUrl": u}, nil
	case "deleteWebhook":
		in, _ := vars["webhook"].(map[string]any)
		id, _ := in["id"].(string)
		i := slices.IndexFunc(s.webhooks, func(h Webhook) bool { return h.ID == id })
		if i < 0 {
			return nil, &gqlError{"NotFound", "Webhook not found"}
		}
		if !admin(s.webhooks[i].Account) {
			return nil, &gqlError{"Forbidden", "You don't have sufficient permissions to delete this webhook"}
		}
		s.webhooks = slices.Delete(s.webhooks, i, i+1)
		return map[string]any{"id": id}, nil
	}
	return nil, &gqlError{"GRAPHQL_VALIDATION_FAILED", fmt.Sprintf("Cannot query field %q on type \"Mutation\".", op)}
}

// process changes an expense's status as Open Collective's processExpense does: an action
// on an expense already in its outcome changes nothing; one its state does not allow is
// Forbidden.
func process(e *Expense, action string) *gqlError {
	forbidden := &gqlError{"Forbidden", "You are authenticated but forbidden to perform this action"}
	allowed := map[string]struct {
		from []string
		to   string
	}{
		"APPROVE":   {[]string{"PENDING", "INCOMPLETE"}, "APPROVED"},
		"UNAPPROVE": {[]string{"APPROVED", "ERROR"}, "PENDING"},
		"REJECT":    {[]string{"PENDING", "APPROVED", "INCOMPLETE", "UNVERIFIED"}, "REJECTED"},
		"PAY":       {[]string{"APPROVED", "SCHEDULED_FOR_PAYMENT", "ERROR"}, "PAID"},
	}
	tr, ok := allowed[action]
	if !ok {
		return &gqlError{"BAD_USER_INPUT", fmt.Sprintf("Value %q does not exist in \"ExpenseProcessAction\" enum.", action)}
	}
	if e.Status == tr.to {
		return nil
	}
	if !slices.Contains(tr.from, e.Status) {
		return forbidden
	}
	e.Status = tr.to
	return nil
}

func (s *Server) lookup(ref any) *Expense {
	m, _ := ref.(map[string]any)
	var e *Expense
	switch {
	case m["legacyId"] != nil:
		n, _ := m["legacyId"].(float64)
		e = s.expenses[int(n)]
	case m["id"] != nil:
		for _, x := range s.expenses {
			if x.PublicID() == m["id"] {
				e = x
			}
		}
	}
	if e == nil || e.Deleted {
		return nil
	}
	return e
}

func expenseJSON(e *Expense) map[string]any {
	tags := e.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": e.PublicID(), "legacyId": e.LegacyID, "description": e.Description, "amount": e.Amount,
		"currency": e.Currency, "type": e.Type, "status": e.Status, "tags": tags,
		"payee": map[string]any{"slug": e.Payee}, "createdByAccount": map[string]any{"slug": e.CreatedBy},
		"account": map[string]any{"slug": e.Collective},
	}
}

func writeFailure(w http.ResponseWriter, f Failure) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	body := f.Body
	if body == "" {
		body = `{"error":{"code":` + strconv.Itoa(f.Status) + `,"message":"` + http.StatusText(f.Status) + `"}}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(body))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
