package bus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Effect methods every platform adapter understands. A platform's own methods (Slack's
// rename_conversation, Open Collective's process_expense, ...) are the names its policy
// library calls; their arguments travel in EffectRequest.Args as the policy passed them.
const (
	// MethodPostMessage posts a message: PostMessageArgs, answered PostAnswer.
	MethodPostMessage = "post_message"
	// MethodInitiateVote opens a vote on the request's proposal: InitiateVoteArgs, answered
	// VoteAnswer.
	MethodInitiateVote = "initiate_vote"
	// MethodExecute carries out a passed governable action: GovernArgs, answered with
	// anything (recorded only).
	MethodExecute = "execute"
	// MethodRevert undoes a governable action that did not pass: GovernArgs.
	MethodRevert = "revert"
)

// Effect purposes (EffectRequest.Purpose), as domain.Purpose* records them: they say what
// the engine does with the answer.
const (
	PurposePolicy  = "policy"  // asked by policy code; the answer is recorded only
	PurposeQuery   = "query"   // policy code waits for the answer (VoteAnswer, QueryAnswer)
	PurposeExecute = "execute" // MethodExecute of a passed action
	PurposeRevert  = "revert"  // MethodRevert of an action that did not pass
)

// PostMessageArgs are the arguments of MethodPostMessage.
type PostMessageArgs struct {
	Text    string `json:"text"`
	Channel string `json:"channel,omitempty"`
	// PostType is "channel" (the default), "ephemeral" (to each of Users in Channel), "im"
	// (to each of Users) or "mpim" (to all of Users in one group message).
	PostType       string  `json:"post_type,omitempty"`
	Users          Strings `json:"users,omitempty"`
	ThreadTS       string  `json:"thread_ts,omitempty"`
	ReplyBroadcast bool    `json:"reply_broadcast,omitempty"`
}

// PostAnswer is what a MethodPostMessage answers: where the message went.
type PostAnswer struct {
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
}

// InitiateVoteArgs are the arguments of MethodInitiateVote: a yes/no vote, or a choice among
// Options; Users, when given, are the only members whose votes count.
type InitiateVoteArgs struct {
	Text     string  `json:"text,omitempty"`
	Channel  string  `json:"channel,omitempty"`
	PostType string  `json:"post_type,omitempty"`
	Users    Strings `json:"users,omitempty"`
	Options  Strings `json:"options,omitempty"`
}

// VoteAnswer is what MethodInitiateVote answers: the engine records PostID and URL as the
// proposal's vote_post_id and vote_url.
type VoteAnswer struct {
	PostID  string `json:"post_id"`
	URL     string `json:"url"`
	Channel string `json:"channel,omitempty"`
}

// GovernArgs are the arguments of MethodExecute and MethodRevert: the governed action.
type GovernArgs struct {
	ActionID   string         `json:"action_id"`
	ActionType string         `json:"action_type"`
	Fields     map[string]any `json:"fields,omitempty"`
	ExternalID string         `json:"external_id,omitempty"`
}

// QueryAnswer is the answer of a query that returns a value (PurposeQuery, a method other
// than MethodInitiateVote).
type QueryAnswer struct {
	Value any `json:"value"`
}

// DecodeArgs decodes req.Args into T (one of the *Args types, or a platform's own struct),
// numbers kept exact. A number or a boolean given for a string field is taken as its text,
// as Python's str() would: policy code may pass text=5.
func DecodeArgs[T any](req EffectRequest) (T, error) {
	var out T
	args := req.Args
	if t := reflect.TypeFor[T](); t.Kind() == reflect.Struct {
		args = make(map[string]any, len(req.Args))
		for k, v := range req.Args {
			args[k] = v
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Type.Kind() != reflect.String || name == "" {
				continue
			}
			switch v := args[name].(type) {
			case json.Number:
				args[name] = v.String()
			case float64:
				args[name] = strconv.FormatFloat(v, 'f', -1, 64)
			case int:
				args[name] = strconv.Itoa(v)
			case int64:
				args[name] = strconv.FormatInt(v, 10)
			case bool:
				args[name] = strconv.FormatBool(v)
			}
		}
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return out, fmt.Errorf("%s args: %w", req.Method, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return out, fmt.Errorf("%s args: %w", req.Method, err)
	}
	return out, nil
}

// Answer turns a typed answer (VoteAnswer, PostAnswer, ...) into the map a
// RecordEffectResult carries.
func Answer(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("answer %T is not an object: %w", v, err)
	}
	return out, nil
}

// Strings is a list of strings that also decodes from one string (a policy passing a
// single user) and from numbers (vote options), as policies write them.
type Strings []string

func (s *Strings) UnmarshalJSON(b []byte) error {
	var one any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&one); err != nil {
		return err
	}
	*s = nil
	switch v := one.(type) {
	case nil:
	case string:
		if v != "" {
			*s = Strings{v}
		}
	case json.Number:
		*s = Strings{v.String()}
	case []any:
		for _, x := range v {
			switch x := x.(type) {
			case string:
				if x != "" {
					*s = append(*s, x)
				}
			case json.Number:
				*s = append(*s, x.String())
			case bool:
				*s = append(*s, strconv.FormatBool(x))
			default:
				return fmt.Errorf("a list of strings holds %T", x)
			}
		}
	default:
		return fmt.Errorf("want a string or a list of strings, not %T", v)
	}
	return nil
}
