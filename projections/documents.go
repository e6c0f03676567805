package projections

import "github.com/policykit-go/policykit/domain"

// documentsProjector keeps community documents, keyed by community and document id; a
// deleted document stays with active = false until it is recovered.
type documentsProjector struct{}

func (documentsProjector) Name() string { return "documents" }

func (documentsProjector) Tables() []string { return []string{"documents"} }

func (documentsProjector) Project(q Queue, ev Envelope) error {
	switch e := ev.Event.(type) {
	case domain.DocumentAdded:
		q.Queue(`INSERT INTO documents (id, community_id, name, text, active, created_at, updated_at) VALUES ($1, $2, $3, $4, true, $5, $5)
			ON CONFLICT (community_id, id) DO UPDATE SET name = EXCLUDED.name, text = EXCLUDED.text,
				active = true, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at`,
			e.DocumentID, e.CommunityID, e.Name, e.Text, e.At)
	case domain.DocumentChanged:
		q.Queue(`UPDATE documents SET name = $2, text = $3, updated_at = $4 WHERE community_id = $5 AND id = $1`,
			e.DocumentID, e.Name, e.Text, e.At, e.CommunityID)
	case domain.DocumentDeleted:
		q.Queue(`UPDATE documents SET active = false, updated_at = $2 WHERE community_id = $3 AND id = $1`, e.DocumentID, e.At, e.CommunityID)
	case domain.DocumentRecovered:
		q.Queue(`UPDATE documents SET active = true, updated_at = $2 WHERE community_id = $3 AND id = $1`, e.DocumentID, e.At, e.CommunityID)
	}
	return nil
}
