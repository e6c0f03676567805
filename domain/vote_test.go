package domain_test

import (
	"strings"
	"testing"

	"github.com/policykit-go/policykit/domain"
)

func TestParseVote(t *testing.T) {
	tests := []struct {
		in   string
		want domain.Vote
		code domain.Code
	}{
		{"yes", domain.Vote{UserID: "u", Kind: domain.VoteBoolean, Boolean: true}, ""},
		{" No ", domain.Vote{UserID: "u", Kind: domain.VoteBoolean}, ""},
		{"3", domain.Vote{UserID: "u", Kind: domain.VoteNumber, Number: 3}, ""},
		{"consent", domain.Vote{UserID: "u", Kind: domain.VoteChoice, Choice: "consent"}, ""},
		{"-12", domain.Vote{UserID: "u", Kind: domain.VoteNumber, Number: -12}, ""},
		{"  ", domain.Vote{}, domain.CodeInvalid},
		// An integer out of range is no choice either.
		{"99999999999999999999", domain.Vote{}, domain.CodeInvalid},
		{"1000000001", domain.Vote{}, domain.CodeInvalid},
		{strings.Repeat("x", domain.MaxChoiceLen+1), domain.Vote{}, domain.CodeInvalid},
	}
	for _, tc := range tests {
		got, err := domain.ParseVote("u", tc.in)
		if tc.code != "" {
			if domain.ErrorCode(err) != tc.code {
				t.Errorf("%q: err %v, want %s", tc.in, err, tc.code)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}
