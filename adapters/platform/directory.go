package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// ErrUnknown is returned (wrapped) by a Directory for a community, platform connection or
// member it has not learned.
var ErrUnknown = errors.New("not in the directory")

// Directory is what adapters know of the communities, their platform connections, their
// members and their proposals' outcomes, learned from the events on the bus
// (bus.TopicEvents), so that no adapter reads the engine's tables. It lags behind the event
// log by the bus's delivery. MemoryDirectory and PostgresDirectory pass the same contract
// (directory_test.go); both are safe for concurrent use.
type Directory interface {
	// Learn applies one event. Events of other types are ignored; a delivery of an event
	// older than what a row already reflects (by global position) changes nothing, so that
	// redeliveries in any order are harmless.
	Learn(ctx context.Context, env bus.EventEnvelope) error

	// Community returns the community whose connection to platform has externalID (a Slack
	// team id); ErrUnknown when no active connection has it.
	Community(ctx context.Context, platform, externalID string) (string, error)
	// ExternalID returns the community's id on platform (its Slack team id); ErrUnknown when
	// it is not connected to platform.
	ExternalID(ctx context.Context, communityID, platform string) (string, error)
	// UserID returns the community user that platform's member username is, "" when unknown.
	UserID(ctx context.Context, communityID, platform, username string) (string, error)
	// Connection returns the community's active connection to platform, with its settings
	// and its secrets still sealed (open them with a sealed.Box); ErrUnknown when the
	// community is not connected to platform.
	Connection(ctx context.Context, communityID, platform string) (Connection, error)
	// ProposalStatus returns domain.StatusProposed, StatusPassed or StatusFailed, "" when the
	// proposal is unknown.
	ProposalStatus(ctx context.Context, communityID, proposalID string) (string, error)

	// Checkpoint is the log position (eventstore.Position's text) up to which CatchUp
	// applied the log, "" at first; SetCheckpoint moves it.
	Checkpoint(ctx context.Context) (string, error)
	SetCheckpoint(ctx context.Context, position string) error
}

// Connection is a community's connection to a platform, as the directory learned it.
type Connection struct {
	ExternalID string
	Settings   map[string]string
	// Secrets are sealed (domain.SealedPrefix), under the community, the platform and the
	// secret's name.
	Secrets map[string]string
}

// directoryChange is what an event changes in a directory.
type directoryChange struct {
	kind                            string // "platform", "user", "profile", "proposal"
	community, platform, externalID string
	settings, secrets               map[string]string
	active                          bool
	userID, username                string
	proposalID, status              string
}

// changeOf reads the directory's part of an event; ok false for an event it ignores.
func changeOf(env bus.EventEnvelope) (directoryChange, bool, error) {
	var c directoryChange
	var err error
	switch env.Type {
	case domain.EventPlatformConnected:
		var e domain.PlatformConnected
		err = json.Unmarshal(env.Data, &e)
		c = directoryChange{kind: "platform", community: e.CommunityID, platform: e.Platform, externalID: e.ExternalID,
			settings: e.Settings, secrets: e.Secrets, active: true}
	case domain.EventPlatformDisconnected:
		var e domain.PlatformDisconnected
		err = json.Unmarshal(env.Data, &e)
		c = directoryChange{kind: "platform", community: e.CommunityID, platform: e.Platform}
	case domain.EventUserRegistered:
		var e domain.UserRegistered
		err = json.Unmarshal(env.Data, &e)
		c = directoryChange{kind: "user", community: e.CommunityID, platform: e.Platform, userID: e.UserID, username: e.Username}
	case domain.EventUserProfileUpdated:
		var e domain.UserProfileUpdated
		err = json.Unmarshal(env.Data, &e)
		c = directoryChange{kind: "profile", community: e.CommunityID, userID: e.UserID, username: e.Username}
	case domain.EventProposalOpened, domain.EventProposalPassed, domain.EventProposalFailed:
		var e domain.ProposalHeader
		err = json.Unmarshal(env.Data, &e)
		status := map[string]string{domain.EventProposalOpened: domain.StatusProposed,
			domain.EventProposalPassed: domain.StatusPassed, domain.EventProposalFailed: domain.StatusFailed}[env.Type]
		c = directoryChange{kind: "proposal", community: e.CommunityID, proposalID: e.ProposalID, status: status}
	default:
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("directory: event %s (%s): %w", env.ID, env.Type, err)
	}
	return c, true, nil
}

// RunDirectory keeps d from the events on b (bus.TopicEvents, consumer group group) until
// ctx ends. It subscribes first, then catches up from the log with catchUp when it is not nil
// (events appended while nothing listened: before the first start, or on an in-process bus),
// then applies what the bus delivers; ready, if not nil, is closed once caught up. An event
// it cannot read is logged and skipped: a directory keeps going.
func RunDirectory(ctx context.Context, b *bus.Bus, group string, d Directory, catchUp CatchUpFunc, ready chan<- struct{}) error {
	sub, err := b.NewSubscriber(group)
	if err != nil {
		return err
	}
	msgs, err := sub.Subscribe(ctx, bus.TopicEvents)
	if err != nil {
		return fmt.Errorf("directory: subscribe: %w", err)
	}
	if catchUp != nil {
		if err := CatchUp(ctx, d, catchUp); err != nil {
			return err
		}
	}
	if ready != nil {
		close(ready)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-msgs:
			if !ok {
				return nil
			}
			learn(ctx, d, msg)
		}
	}
}

func learn(ctx context.Context, d Directory, msg *message.Message) {
	var env bus.EventEnvelope
	if err := json.Unmarshal(msg.Payload, &env); err != nil {
		msg.Ack() // never readable
		return
	}
	if err := d.Learn(ctx, env); err != nil {
		msg.Nack()
		return
	}
	msg.Ack()
}

// CatchUpFunc reads the log after position (eventstore.Position's text, "" for the start),
// a batch at a time, in log order; an empty batch means the end.
type CatchUpFunc func(ctx context.Context, after string) ([]bus.EventEnvelope, error)

// CatchUp applies the log after d's checkpoint to d, moving the checkpoint batch by batch.
func CatchUp(ctx context.Context, d Directory, read CatchUpFunc) error {
	pos, err := d.Checkpoint(ctx)
	if err != nil {
		return err
	}
	for {
		batch, err := read(ctx, pos)
		if err != nil {
			return fmt.Errorf("directory: catch up: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		for _, env := range batch {
			if err := d.Learn(ctx, env); err != nil {
				return err
			}
		}
		pos = batch[len(batch)-1].Position
		if err := d.SetCheckpoint(ctx, pos); err != nil {
			return err
		}
	}
}

// WaitFor retries lookup while it answers ErrUnknown, every 50ms until wait has passed or
// ctx ends, for a lookup that may run just ahead of the directory (a workspace's first event
// right after its community was created). It returns lookup's last answer.
func WaitFor[T any](ctx context.Context, wait time.Duration, lookup func(context.Context) (T, error)) (T, error) {
	deadline := time.Now().Add(wait)
	for {
		v, err := lookup(ctx)
		if !errors.Is(err, ErrUnknown) || time.Now().After(deadline) {
			return v, err
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, err
		case <-t.C:
		}
	}
}

var _ Directory = (*MemoryDirectory)(nil)

// MemoryDirectory is a Directory in memory; its zero value is empty.
type MemoryDirectory struct {
	mu         sync.RWMutex
	platforms  map[[2]string]memPlatform // (community, platform)
	users      map[[3]string]memUser     // (community, platform, username)
	userKeys   map[[2]string][3]string   // (community, user id) -> its users key
	proposals  map[[2]string]memStatus   // (community, proposal)
	checkpoint string
}

type memPlatform struct {
	externalID        string
	settings, secrets map[string]string
	active            bool
	pos               int64
}

type memUser struct {
	id  string
	pos int64
}

type memStatus struct {
	status string
	pos    int64
}

func (m *MemoryDirectory) Learn(_ context.Context, env bus.EventEnvelope) error {
	c, ok, err := changeOf(env)
	if err != nil || !ok {
		return err
	}
	pos := env.GlobalPosition
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.platforms == nil {
		m.platforms, m.users, m.userKeys, m.proposals = map[[2]string]memPlatform{}, map[[3]string]memUser{}, map[[2]string][3]string{}, map[[2]string]memStatus{}
	}
	switch c.kind {
	case "platform":
		k := [2]string{c.community, c.platform}
		old, had := m.platforms[k]
		if had && old.pos >= pos {
			return nil
		}
		if !c.active {
			c.externalID, c.settings, c.secrets = old.externalID, old.settings, old.secrets
		}
		m.platforms[k] = memPlatform{externalID: c.externalID, settings: c.settings, secrets: c.secrets, active: c.active, pos: pos}
	case "user", "profile":
		uk := [2]string{c.community, c.userID}
		old, had := m.userKeys[uk]
		if c.kind == "profile" {
			if !had {
				return nil
			}
			c.platform = old[1]
		}
		if had && m.users[old].pos >= pos {
			return nil
		}
		delete(m.users, old)
		k := [3]string{c.community, c.platform, c.username}
		m.users[k] = memUser{id: c.userID, pos: pos}
		m.userKeys[uk] = k
	case "proposal":
		k := [2]string{c.community, c.proposalID}
		if old, had := m.proposals[k]; had && old.pos >= pos {
			return nil
		}
		m.proposals[k] = memStatus{status: c.status, pos: pos}
	}
	return nil
}

func (m *MemoryDirectory) Community(_ context.Context, platform, externalID string) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	best, bestPos := "", int64(-1)
	for k, p := range m.platforms {
		if k[1] == platform && p.active && p.externalID == externalID && p.pos > bestPos {
			best, bestPos = k[0], p.pos
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w: %s %q", ErrUnknown, platform, externalID)
	}
	return best, nil
}

func (m *MemoryDirectory) ExternalID(_ context.Context, communityID, platform string) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.platforms[[2]string{communityID, platform}]
	if !ok || !p.active || p.externalID == "" {
		return "", fmt.Errorf("%w: community %q on %s", ErrUnknown, communityID, platform)
	}
	return p.externalID, nil
}

func (m *MemoryDirectory) Connection(_ context.Context, communityID, platform string) (Connection, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.platforms[[2]string{communityID, platform}]
	if !ok || !p.active {
		return Connection{}, fmt.Errorf("%w: community %q on %s", ErrUnknown, communityID, platform)
	}
	return Connection{ExternalID: p.externalID, Settings: maps.Clone(p.settings), Secrets: maps.Clone(p.secrets)}, nil
}

func (m *MemoryDirectory) UserID(_ context.Context, communityID, platform, username string) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.users[[3]string{communityID, platform, username}].id, nil
}

func (m *MemoryDirectory) ProposalStatus(_ context.Context, communityID, proposalID string) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.proposals[[2]string{communityID, proposalID}].status, nil
}

func (m *MemoryDirectory) Checkpoint(context.Context) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.checkpoint, nil
}

func (m *MemoryDirectory) SetCheckpoint(_ context.Context, position string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checkpoint = position
	return nil
}

var _ Directory = PostgresDirectory{}

// PostgresDirectory is a Directory in the kit's own tables (platform_directory_*), so that a
// restarted adapter knows what it learned. Name keeps the checkpoints of several adapters'
// directories apart; they share the rows, which every one of them writes alike.
type PostgresDirectory struct {
	Pool *pgxpool.Pool
	Name string
}

func (d PostgresDirectory) Learn(ctx context.Context, env bus.EventEnvelope) error {
	c, ok, err := changeOf(env)
	if err != nil || !ok {
		return err
	}
	pos := env.GlobalPosition
	switch c.kind {
	case "platform":
		_, err = d.Pool.Exec(ctx, `INSERT INTO platform_directory_platforms AS t (community_id, platform, external_id, settings, secrets, active, position)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (community_id, platform) DO UPDATE SET
				external_id = CASE WHEN excluded.active THEN excluded.external_id ELSE t.external_id END,
				settings = CASE WHEN excluded.active THEN excluded.settings ELSE t.settings END,
				secrets = CASE WHEN excluded.active THEN excluded.secrets ELSE t.secrets END,
				active = excluded.active, position = excluded.position
			WHERE t.position < excluded.position`, c.community, c.platform, c.externalID, jsonMap(c.settings), jsonMap(c.secrets), c.active, pos)
	case "user":
		_, err = d.Pool.Exec(ctx, `INSERT INTO platform_directory_users AS t (community_id, user_id, platform, username, position)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (community_id, user_id) DO UPDATE SET platform = excluded.platform, username = excluded.username, position = excluded.position
			WHERE t.position < excluded.position`, c.community, c.userID, c.platform, c.username, pos)
	case "profile":
		_, err = d.Pool.Exec(ctx, `UPDATE platform_directory_users SET username = $3, position = $4
			WHERE community_id = $1 AND user_id = $2 AND position < $4`, c.community, c.userID, c.username, pos)
	case "proposal":
		_, err = d.Pool.Exec(ctx, `INSERT INTO platform_directory_proposals AS t (community_id, proposal_id, status, position)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (community_id, proposal_id) DO UPDATE SET status = excluded.status, position = excluded.position
			WHERE t.position < excluded.position`, c.community, c.proposalID, c.status, pos)
	}
	if err != nil {
		return fmt.Errorf("directory: learn %s: %w", env.Type, err)
	}
	return nil
}

func (d PostgresDirectory) Community(ctx context.Context, platform, externalID string) (string, error) {
	var id string
	err := d.Pool.QueryRow(ctx, `SELECT community_id FROM platform_directory_platforms
		WHERE platform = $1 AND external_id = $2 AND active ORDER BY position DESC LIMIT 1`, platform, externalID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%w: %s %q", ErrUnknown, platform, externalID)
	}
	if err != nil {
		return "", fmt.Errorf("directory: community of %s %q: %w", platform, externalID, err)
	}
	return id, nil
}

func (d PostgresDirectory) ExternalID(ctx context.Context, communityID, platform string) (string, error) {
	var id string
	err := d.Pool.QueryRow(ctx, `SELECT external_id FROM platform_directory_platforms
		WHERE community_id = $1 AND platform = $2 AND active`, communityID, platform).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && id == "") {
		return "", fmt.Errorf("%w: community %q on %s", ErrUnknown, communityID, platform)
	}
	if err != nil {
		return "", fmt.Errorf("directory: %s id of community %q: %w", platform, communityID, err)
	}
	return id, nil
}

func (d PostgresDirectory) Connection(ctx context.Context, communityID, platform string) (Connection, error) {
	var c Connection
	err := d.Pool.QueryRow(ctx, `SELECT external_id, settings, secrets FROM platform_directory_platforms
		WHERE community_id = $1 AND platform = $2 AND active`, communityID, platform).Scan(&c.ExternalID, &c.Settings, &c.Secrets)
	if errors.Is(err, pgx.ErrNoRows) {
		return Connection{}, fmt.Errorf("%w: community %q on %s", ErrUnknown, communityID, platform)
	}
	if err != nil {
		return Connection{}, fmt.Errorf("directory: %s connection of community %q: %w", platform, communityID, err)
	}
	return c, nil
}

// jsonMap is m for a jsonb column that is never null.
func jsonMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (d PostgresDirectory) UserID(ctx context.Context, communityID, platform, username string) (string, error) {
	var id string
	err := d.Pool.QueryRow(ctx, `SELECT user_id FROM platform_directory_users
		WHERE community_id = $1 AND platform = $2 AND username = $3 ORDER BY position DESC LIMIT 1`, communityID, platform, username).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("directory: user %s %q: %w", platform, username, err)
	}
	return id, nil
}

func (d PostgresDirectory) ProposalStatus(ctx context.Context, communityID, proposalID string) (string, error) {
	var status string
	err := d.Pool.QueryRow(ctx, `SELECT status FROM platform_directory_proposals WHERE community_id = $1 AND proposal_id = $2`,
		communityID, proposalID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("directory: proposal %s: %w", proposalID, err)
	}
	return status, nil
}

func (d PostgresDirectory) Checkpoint(ctx context.Context) (string, error) {
	var pos string
	err := d.Pool.QueryRow(ctx, `SELECT position FROM platform_directory_checkpoints WHERE name = $1`, d.Name).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("directory: checkpoint: %w", err)
	}
	return pos, nil
}

func (d PostgresDirectory) SetCheckpoint(ctx context.Context, position string) error {
	_, err := d.Pool.Exec(ctx, `INSERT INTO platform_directory_checkpoints (name, position) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET position = excluded.position`, d.Name, position)
	if err != nil {
		return fmt.Errorf("directory: checkpoint: %w", err)
	}
	return nil
}
