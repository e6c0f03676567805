package opencollective

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The operations the adapter sends, as Open Collective's GraphQL API v2 documents them.
const (
	queryExpense = `query Expense($expense: ExpenseReferenceInput!) {
  expense(expense: $expense) {
    id legacyId description amount currency type status tags
    payee { slug } createdByAccount { slug } account { slug }
  }
}`
	mutationCreateComment = `mutation CreateComment($comment: CommentCreateInput!) {
  createComment(comment: $comment) { id }
}`
	mutationProcessExpense = `mutation ProcessExpense($expense: ExpenseReferenceInput!, $action: ExpenseProcessAction!) {
  processExpense(expense: $expense, action: $action) { id legacyId status }
}`
	mutationCreateWebhook = `mutation CreateWebhook($webhook: WebhookCreateInput!) {
  createWebhook(webhook: $webhook) { id legacyId activityType webhookUrl }
}`
	mutationDeleteWebhook = `mutation DeleteWebhook($webhook: WebhookReferenceInput!) {
  deleteWebhook(webhook: $webhook) { id }
}`
)

// Expense is an expense as the API answers it. Amount is in cents of Currency.
type Expense struct {
	ID          string   `json:"id"`
	LegacyID    int64    `json:"legacyId"`
	Description string   `json:"description"`
	Amount      int64    `json:"amount"`
	Currency    string   `json:"currency"`
	Type        string   `json:"type"`
	Status      string   `json:"status"`
	Tags        []string `json:"tags"`
	Payee       *slugged `json:"payee"`
	CreatedBy   *slugged `json:"createdByAccount"`
	Account     *slugged `json:"account"`
}

type slugged struct {
	Slug string `json:"slug"`
}

func (s *slugged) slug() string {
	if s == nil {
		return ""
	}
	return s.Slug
}

// expenseRef is an ExpenseReferenceInput: the legacy (numeric) id the webhooks carry and
// PolicyKit's policies pass, or the public id.
func expenseRef(id string) (map[string]any, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return nil, fmt.Errorf("no expense_id given")
	}
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		if n <= 0 {
			return nil, fmt.Errorf("expense_id %d is not an expense's id", n)
		}
		return map[string]any{"legacyId": n}, nil
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return nil, fmt.Errorf("expense_id %q is neither an expense's number nor its public id", id)
		}
	}
	return map[string]any{"id": id}, nil
}

// expense reads an expense; nil when the API knows none by that reference (deleted).
func (c *client) expense(ctx context.Context, cred credential, ref map[string]any) (*Expense, error) {
	var data struct {
		Expense *Expense `json:"expense"`
	}
	err := c.do(ctx, cred, "expense", queryExpense, map[string]any{"expense": ref}, true, &data)
	if ge, ok := err.(*GraphQLError); ok && ge.Has("NotFound") {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return data.Expense, nil
}

func (c *client) createComment(ctx context.Context, cred credential, ref map[string]any, html string) (string, error) {
	var data struct {
		CreateComment *struct {
			ID string `json:"id"`
		} `json:"createComment"`
	}
	err := c.do(ctx, cred, "createComment", mutationCreateComment,
		map[string]any{"comment": map[string]any{"html": html, "expense": ref}}, false, &data)
	if err != nil {
		return "", err
	}
	if data.CreateComment == nil {
		return "", fmt.Errorf("createComment: the answer has no comment")
	}
	return data.CreateComment.ID, nil
}

func (c *client) processExpense(ctx context.Context, cred credential, ref map[string]any, action string) (*Expense, error) {
	var data struct {
		ProcessExpense *Expense `json:"processExpense"`
	}
	err := c.do(ctx, cred, "processExpense", mutationProcessExpense, map[string]any{"expense": ref, "action": action}, false, &data)
	if err != nil {
		return nil, err
	}
	if data.ProcessExpense == nil {
		return nil, fmt.Errorf("processExpense: the answer has no expense")
	}
	return data.ProcessExpense, nil
}

// createWebhook subscribes webhookURL to the collective's activities of activityType
// (the ActivityType enum: COLLECTIVE_EXPENSE_CREATED ...) and returns the webhook's id.
func (c *client) createWebhook(ctx context.Context, cred credential, collective, activityType, webhookURL string) (string, error) {
	var data struct {
		CreateWebhook *struct {
			ID string `json:"id"`
		} `json:"createWebhook"`
	}
	err := c.do(ctx, cred, "createWebhook", mutationCreateWebhook, map[string]any{"webhook": map[string]any{
		"account": map[string]any{"slug": collective}, "activityType": activityType, "webhookUrl": webhookURL}}, false, &data)
	if err != nil {
		return "", err
	}
	if data.CreateWebhook == nil || data.CreateWebhook.ID == "" {
		return "", fmt.Errorf("createWebhook: the answer has no webhook")
	}
	return data.CreateWebhook.ID, nil
}

// deleteWebhook removes a webhook; one the API no longer knows is gone already.
func (c *client) deleteWebhook(ctx context.Context, cred credential, id string) error {
	err := c.do(ctx, cred, "deleteWebhook", mutationDeleteWebhook, map[string]any{"webhook": map[string]any{"id": id}}, false, &json.RawMessage{})
	if ge, ok := err.(*GraphQLError); ok && ge.Has("NotFound") {
		return nil
	}
	return err
}
