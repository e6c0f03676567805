package opencollective

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// HookPattern is the adapter's webhook route. It has one more segment than the generic
// hook's (/api/hooks/{platform}/{community}), so the two never match the same request.
const HookPattern = "POST /api/hooks/opencollective/{community}/{secret}"

// maxHookBody bounds a delivery's body.
const maxHookBody = 256 << 10

// Delivery is the body Open Collective posts to a webhook: an activity, sanitized.
type Delivery struct {
	ID           json.Number    `json:"id"`
	Type         string         `json:"type"`
	CreatedAt    string         `json:"createdAt"`
	CollectiveID json.Number    `json:"CollectiveId"`
	Data         map[string]any `json:"data"`
}

// statusesOf are the states an expense may be in when the adapter reads it after an
// activity: those the activity leaves it in, and those that may follow at once. An
// expense in another state contradicts the delivery, which is refused.
var statusesOf = map[string][]string{
	domain.ActionExpenseCreated:    {"PENDING", "UNVERIFIED", "INCOMPLETE", "APPROVED", "DRAFT"},
	domain.ActionExpenseApproved:   {"APPROVED", "SCHEDULED_FOR_PAYMENT", "PROCESSING", "PAID", "ERROR"},
	domain.ActionExpenseRejected:   {"REJECTED"},
	domain.ActionExpenseUnapproved: {"PENDING", "INCOMPLETE"},
	domain.ActionExpensePaid:       {"PAID"},
}

type refusal struct {
	code int
	msg  string
}

func (r refusal) Error() string { return r.msg }

func refuse(code int, format string, args ...any) error {
	return refusal{code: code, msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP is the webhook route: it checks the URL's secret, reads the expense the
// delivery names back from the API, and publishes the trigger action, before it answers
// (Open Collective does not deliver an activity again, so an answer that says it was
// handled must be true). 200 when handled or ignored, 401 for a wrong secret, 4xx for a
// delivery the API contradicts, 503 when it could not be handled for now.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code, msg := http.StatusOK, "ok"
	if err := a.serveHook(r); err != nil {
		var rf refusal
		if errors.As(err, &rf) {
			code, msg = rf.code, rf.msg
			a.log.Warn("opencollective: webhook delivery refused", "community", r.PathValue("community"), "status", code, "reason", msg)
		} else {
			code, msg = http.StatusServiceUnavailable, "try again later"
			a.log.Error("opencollective: webhook delivery not handled", "community", r.PathValue("community"), "err", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": code < 300, "message": msg})
}

func (a *Adapter) serveHook(r *http.Request) error {
	communityID, given := r.PathValue("community"), r.PathValue("secret")
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxHookBody))
	if err != nil {
		return refuse(http.StatusRequestEntityTooLarge, "the body could not be read within %d bytes", maxHookBody)
	}
	ctx := r.Context()
	conn, err := a.connection(ctx, communityID)
	if errors.Is(err, platform.ErrUnknown) {
		// Told apart from a wrong secret only by its status, which a guesser learns anyway.
		return refuse(http.StatusNotFound, "no Open Collective connection")
	}
	if err != nil {
		return err
	}
	want := a.secret(communityID, conn.ExternalID, conn.Secrets)
	if subtle.ConstantTimeCompare([]byte(given), []byte(want)) != 1 {
		return refuse(http.StatusUnauthorized, "not this connection's webhook")
	}
	var d Delivery
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return refuse(http.StatusBadRequest, "the body is not an activity: %v", err)
	}
	act, ok := activityOf(d.Type)
	if !ok {
		return nil // an activity the adapter does not turn into actions
	}
	if at, err := time.Parse(time.RFC3339, d.CreatedAt); err == nil {
		if err := platform.Fresh(at, a.deps.Now(), a.cfg.MaxEventAge); err != nil {
			return refuse(http.StatusBadRequest, "a stale activity: %v", err)
		}
	}
	expense, _ := d.Data["expense"].(map[string]any)
	legacyID := numberOf(expense["id"])
	if legacyID <= 0 {
		return refuse(http.StatusBadRequest, "the activity names no expense (data.expense.id)")
	}
	activityID := d.ID.String()
	if activityID == "" {
		return refuse(http.StatusBadRequest, "the activity has no id")
	}
	// An expense is created, paid and deleted once: those are one action per expense, what
	// ever activity id a delivery claims. Approvals can come and go, so they are one per
	// activity.
	eventKey := act.action + ":" + activityID
	switch act.action {
	case domain.ActionExpenseCreated, domain.ActionExpensePaid, domain.ActionExpenseDeleted:
		eventKey = act.action + ":expense:" + strconv.FormatInt(legacyID, 10)
	}
	if seen, err := a.deps.Seen.Seen(ctx, communityID, eventKey); err != nil {
		return err
	} else if seen {
		return nil
	}
	t, err := a.targetOf(communityID, conn.ExternalID, conn.Secrets)
	if err != nil {
		return refuse(http.StatusUnauthorized, "%v", err)
	}
	cmd, err := a.actionOf(ctx, t, communityID, act, legacyID, activityID, eventKey, expense)
	if err != nil {
		return err
	}
	if err := a.deps.Publisher.Publish(ctx, bus.TopicProposeAction, cmd.Action.ID, bus.CommandProposeAction, cmd); err != nil {
		return err
	}
	_, err = a.deps.Seen.First(ctx, communityID, eventKey)
	return err
}

// actionOf reads the expense back from the API and builds the trigger action from what the
// API says. Only a deleted expense, which the API no longer answers, keeps the delivery's
// description and amount: nothing can be done with a deleted expense's money.
func (a *Adapter) actionOf(ctx context.Context, t target, communityID string, act activity, legacyID int64, activityID, eventKey string, delivered map[string]any) (bus.ProposeAction, error) {
	e, err := a.api.expense(ctx, t.cred, map[string]any{"legacyId": legacyID})
	var ge *GraphQLError
	if errors.As(err, &ge) {
		return bus.ProposeAction{}, refuse(http.StatusUnprocessableEntity, "%v", err)
	}
	if err != nil {
		return bus.ProposeAction{}, err
	}
	if act.action == domain.ActionExpenseDeleted {
		if e != nil {
			return bus.ProposeAction{}, refuse(http.StatusUnprocessableEntity, "expense %d is not deleted", legacyID)
		}
		desc, _ := delivered["description"].(string)
		currency, _ := delivered["currency"].(string)
		e = &Expense{LegacyID: legacyID, Description: desc, Amount: numberOf(delivered["amount"]), Currency: currency,
			Status: "DELETED", Account: &slugged{Slug: t.collective}}
	} else {
		if e == nil {
			return bus.ProposeAction{}, refuse(http.StatusUnprocessableEntity, "Open Collective has no expense %d", legacyID)
		}
		if !slices.Contains(statusesOf[act.action], e.Status) {
			return bus.ProposeAction{}, refuse(http.StatusUnprocessableEntity, "expense %d is %s, which a %s activity does not leave it in", legacyID, e.Status, act.typ)
		}
	}
	if acc := e.Account.slug(); !strings.EqualFold(acc, t.collective) {
		return bus.ProposeAction{}, refuse(http.StatusUnprocessableEntity, "expense %d is not the connected collective's", legacyID)
	}
	tags := make([]any, 0, len(e.Tags))
	for _, tag := range e.Tags {
		tags = append(tags, tag)
	}
	fields := map[string]any{
		"expense_id":        e.LegacyID,
		"description":       e.Description,
		"amount":            e.Amount,
		"formatted_amount":  FormatAmount(e.Amount, e.Currency),
		"currency":          e.Currency,
		"type":              e.Type,
		"status":            e.Status,
		"tags":              tags,
		"url":               fmt.Sprintf("%s/%s/expenses/%d", a.cfg.SiteURL, t.collective, e.LegacyID),
		"expense_user_slug": e.Payee.slug(),
		"data": map[string]any{"id": e.ID, "legacyId": e.LegacyID, "status": e.Status, "collective": t.collective,
			"payee": e.Payee.slug(), "created_by": e.CreatedBy.slug(), "activity_id": activityID},
	}
	id := platform.EventID(domain.PlatformOpenCollective, "event", communityID, eventKey)
	cmd := bus.ProposeAction{Action: domain.Action{
		ID: id, CommunityID: communityID, Kind: domain.KindTrigger, Type: act.action, Platform: domain.PlatformOpenCollective,
		ExternalID: activityID, ProposedAt: a.deps.Now().UTC(), Fields: fields,
	}}
	initiator := e.CreatedBy.slug()
	if initiator == "" {
		initiator = e.Payee.slug()
	}
	if initiator != "" {
		cmd.Initiator = &bus.PlatformUser{Platform: domain.PlatformOpenCollective, Username: initiator}
	}
	if err := cmd.Action.Validate(); err != nil {
		return bus.ProposeAction{}, refuse(http.StatusUnprocessableEntity, "%v", err)
	}
	return cmd, nil
}

// numberOf reads a JSON number (json.Number or float64) as an integer; 0 otherwise.
func numberOf(v any) int64 {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			return 0
		}
		return i
	case float64:
		if n != math.Trunc(n) {
			return 0
		}
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	}
	return 0
}

// currencySymbols are the symbols Open Collective shows amounts with (en-US formatting).
var currencySymbols = map[string]string{
	"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "JPY": "¥", "INR": "₹",
	"MXN": "MX$", "BRL": "R$", "CHF": "CHF ", "SEK": "SEK ",
}

// FormatAmount formats cents of currency as Open Collective shows them: "$1,234.50".
func FormatAmount(cents int64, currency string) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	whole, frac := strconv.FormatInt(cents/100, 10), cents%100
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	num := fmt.Sprintf("%s.%02d", b.String(), frac)
	sign := ""
	if neg {
		sign = "-"
	}
	if sym, ok := currencySymbols[strings.ToUpper(currency)]; ok {
		return sign + sym + num
	}
	if currency == "" {
		return sign + num
	}
	return sign + num + " " + strings.ToUpper(currency)
}
