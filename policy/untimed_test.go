package policy

import (
	"context"
	"testing"

	"github.com/policykit-go/policykit/domain"
)

// Output.Untimed: what a block read decides whether it can come out differently without an
// event on its proposal.
func TestUntimedTellsWhetherABlockReadTheClockOrTheCommunity(t *testing.T) {
	r := mustRuntime(t, Options{})
	alice := user("alice")
	alice.Roles = []string{"mod"}
	for _, tt := range []struct {
		name, src string
		lang      string
		untimed   bool
	}{
		{"votes only", "if proposal.get_yes_votes().count() >= 2:\n  return PASSED", "", true},
		{"data and variables", "proposal.data.get('x')\nif variables.get('n', 1) > 5:\n  return FAILED", "", true},
		{"vote values", "if [v.boolean_value for v in proposal.get_all_boolean_votes()] == [True]:\n  return PASSED", "", true},
		{"proposal elapsed", "if proposal.get_time_elapsed() > datetime.timedelta(days=1):\n  return FAILED", "", false},
		{"vote elapsed", "for v in proposal.get_yes_votes():\n  v.get_time_elapsed()", "", false},
		{"datetime now", "x = datetime.datetime.now()", "", false},
		{"datetime utcnow", "x = datetime.datetime.utcnow()", "", false},
		{"date today", "x = datetime.date.today()", "", false},
		{"python import", "import datetime\nx = datetime.datetime.now()", "", false},
		{"a voter's roles", "for v in proposal.get_yes_votes():\n  v.user.has_role('mod')", "", false},
		{"a voter's name", "for v in proposal.get_yes_votes():\n  x = v.user.username", "", false},
		{"votes of some users", "proposal.get_yes_votes(users=['alice']).count()", "", false},
		{"the initiator", "x = action.initiator", "", false},
		{"community users", "slack.get_users()", "", false},
		{"a platform call", "slack.post_message(text='hi', channel='C1')", "", false},
		{"expr votes", "yes >= 2", domain.LangExpr, true},
		{"expr action field", "action.channel == 'C1' && yes >= 1", domain.LangExpr, true},
		{"expr elapsed", "elapsed > duration('72h')", domain.LangExpr, false},
		{"expr now", "now.Year() > 2000", domain.LangExpr, false},
		{"expr initiator", "action.initiator.username == 'alice'", domain.LangExpr, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := checkInput(tt.src)
			in.Code.CheckLang = tt.lang
			in.Action.Initiator = &alice
			in.Action.Fields = map[string]any{"channel": "C1"}
			in.Proposal.Votes = []VoteInfo{yes(alice)}
			out := r.Evaluate(context.Background(), in)
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			if out.Untimed != tt.untimed {
				t.Fatalf("Untimed = %v, want %v", out.Untimed, tt.untimed)
			}
		})
	}
}
