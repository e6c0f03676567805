package projections

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// batchText renders the statements of a batch as "SQL args" lines.
func batchText(b *pgx.Batch) string {
	var lines []string
	for _, q := range b.QueuedQueries {
		lines = append(lines, fmt.Sprintf("%s %v", q.SQL, q.Arguments))
	}
	return strings.Join(lines, "\n")
}

func TestQueueRounds(t *testing.T) {
	s1 := &Statement{SQL: "S1", Columns: 1}
	s2 := &Statement{SQL: "S2", Columns: 1}
	for _, c := range []struct {
		name  string
		queue func(q Queue)
		want  string
	}{
		{
			name: "rows of different keys share an execution",
			queue: func(q Queue) {
				q.Row(s1, "a", 1)
				q.Row(s1, "b", 2)
				q.Row(s1, "c", 3)
			},
			want: "S1 [[1 2 3]]",
		},
		{
			name: "rows of one key run in order, across statements",
			queue: func(q Queue) {
				q.Row(s1, "a", 1)
				q.Row(s1, "b", 2)
				q.Row(s2, "a", 3)
				q.Row(s1, "a", 4)
				q.Row(s2, "b", 5)
			},
			want: "S1 [[1 2]]\nS2 [[3 5]]\nS1 [[4]]",
		},
		{
			name: "rows without a key go first",
			queue: func(q Queue) {
				q.Row(s1, "a", 1)
				q.Row(s1, "a", 2)
				q.Row(s1, "", 3)
			},
			want: "S1 [[1 3]]\nS1 [[2]]",
		},
		{
			name: "a plain statement is a barrier",
			queue: func(q Queue) {
				q.Row(s1, "a", 1)
				q.Queue("X", 9)
				q.Row(s1, "b", 2)
				q.Row(s1, "a", 3)
			},
			want: "S1 [[1]]\nX [9]\nS1 [[2 3]]",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := &projectorQueue{}
			c.queue(q)
			b := &pgx.Batch{}
			if err := q.writeTo(b); err != nil {
				t.Fatal(err)
			}
			if got := batchText(b); got != c.want {
				t.Errorf("batch:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestQueueRejectsWrongRowWidth(t *testing.T) {
	q := &projectorQueue{}
	q.Row(&Statement{SQL: "S", Columns: 2}, "a", 1)
	if err := q.writeTo(&pgx.Batch{}); err == nil {
		t.Error("a row of 1 value for 2 columns was accepted")
	}
	q = &projectorQueue{}
	q.Copy(&CopyTarget{Table: "t", Columns: []string{"a"}}, 1, 2)
	if err := q.writeTo(&pgx.Batch{}); err == nil {
		t.Error("a copy row of 2 values for 1 column was accepted")
	}
}
