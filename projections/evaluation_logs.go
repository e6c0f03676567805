package projections

import "github.com/policykit-go/policykit/domain"

// evaluationLogsProjector keeps one row per recorded run of a policy block
// (ProposalEvaluated): the block, its result, the error that stopped it and its log lines.
type evaluationLogsProjector struct{}

func (evaluationLogsProjector) Name() string { return "evaluation_logs" }

func (evaluationLogsProjector) Tables() []string { return []string{"evaluation_logs"} }

// evaluationLogs receives the rows, by COPY: they are unique by proposal and stream version
// and nothing else in the projector touches them.
var evaluationLogs = &CopyTarget{Table: "evaluation_logs", Columns: []string{
	"proposal_id", "stream_version", "event_id", "community_id", "block", "result", "error", "logs", "evaluated_at",
}}

func (evaluationLogsProjector) Project(q Queue, ev Envelope) error {
	e, ok := ev.Event.(domain.ProposalEvaluated)
	if !ok {
		return nil
	}
	logs := []byte("[]")
	if len(e.Logs) > 0 {
		var err error
		if logs, err = jsonArg(e.Logs, "[]"); err != nil {
			return err
		}
	}
	q.Copy(evaluationLogs, e.ProposalID, ev.Version, eventID(ev), e.CommunityID, e.Block, e.Result, e.Error, logs, e.At)
	return nil
}
