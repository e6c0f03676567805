package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v66/github"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// ServeHTTP is the App's webhook endpoint. A delivery must carry X-Hub-Signature-256, the
// HMAC-SHA256 of its body with the webhook secret, and be of an event less than
// Section.MaxAge old (GitHub signs no time, so the event's own time is taken: a replay of
// an old delivery is refused): otherwise 401, and nothing is published. A delivery already
// handled (X-GitHub-Delivery) is acknowledged and skipped; the others are acknowledged with
// 202 and handled after (503 when every worker is busy: GitHub's redelivery tries again).
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.sec.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if err := platform.VerifyHMAC([]byte(a.sec.WebhookSecret), body, r.Header.Get("X-Hub-Signature-256"), "sha256="); err != nil {
		a.log.Warn("github delivery refused", "err", err)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	kind, delivery := r.Header.Get("X-GitHub-Event"), r.Header.Get("X-GitHub-Delivery")
	if kind == "" || delivery == "" {
		http.Error(w, "X-GitHub-Event and X-GitHub-Delivery are required", http.StatusBadRequest)
		return
	}
	ev, err := gh.ParseWebHook(kind, body)
	if err != nil {
		// An event of a kind the App is not subscribed to for PolicyKit (ping among them).
		w.WriteHeader(http.StatusOK)
		return
	}
	if at, ok := eventTime(ev); ok {
		if err := platform.Fresh(at, a.deps.Now(), a.sec.MaxAge); err != nil {
			a.log.Warn("github delivery refused", "delivery", delivery, "err", err)
			http.Error(w, "stale event", http.StatusUnauthorized)
			return
		}
	}
	if seen, err := a.deps.Seen.Seen(r.Context(), "deliveries", delivery); err != nil {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	} else if seen {
		w.WriteHeader(http.StatusOK)
		return
	}
	err = a.workers.Go(func(ctx context.Context) {
		if err := a.handle(ctx, delivery, ev); err != nil {
			a.log.Warn("github delivery not handled", "delivery", delivery, "event", kind, "err", err)
			return
		}
		if _, err := a.deps.Seen.First(ctx, "deliveries", delivery); err != nil {
			a.log.Warn("github delivery not recorded", "delivery", delivery, "err", err)
		}
	})
	if err != nil {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// eventTime is when the event happened as its payload says, for the events that become
// actions.
func eventTime(ev any) (time.Time, bool) {
	var ts *gh.Timestamp
	switch e := ev.(type) {
	case *gh.IssuesEvent:
		ts = e.GetIssue().UpdatedAt
	case *gh.PullRequestEvent:
		ts = e.GetPullRequest().UpdatedAt
	case *gh.IssueCommentEvent:
		ts = e.GetComment().UpdatedAt
	case *gh.PushEvent:
		ts = e.GetRepo().PushedAt
	}
	if ts == nil || ts.IsZero() {
		return time.Time{}, false
	}
	return ts.Time, true
}

// event is a GitHub event as an action.
type event struct {
	typ        string
	owner      string
	sender     string
	governable bool
	fields     map[string]any
}

// handle records what the event says of installations and proposes its action, if it has
// one.
func (a *Adapter) handle(ctx context.Context, delivery string, raw any) error {
	if in, ok := raw.(*gh.InstallationEvent); ok {
		owner, id := in.GetInstallation().GetAccount().GetLogin(), in.GetInstallation().GetID()
		switch in.GetAction() {
		case "created":
			return a.state.SaveInstallation(ctx, InstallationRecord{Owner: owner, InstallationID: id, Installer: in.GetSender().GetLogin()})
		case "deleted":
			return a.uninstalled(ctx, owner, id, in.GetSender().GetLogin())
		}
		return nil
	}
	ev, inst, ok := a.eventOf(raw)
	if !ok {
		return nil
	}
	if inst != 0 && ev.owner != "" {
		if err := a.state.SaveInstallation(ctx, InstallationRecord{Owner: ev.owner, InstallationID: inst}); err != nil {
			return err
		}
	}
	if a.ownChange(raw) {
		return nil // the App's own execute or revert: governed already
	}
	if ev.typ == domain.ActionGithubPush {
		protected, err := a.protected(ctx, inst, ev.owner, str(ev.fields, "repo"), str(ev.fields, "branch"))
		if err != nil {
			return err
		}
		if !protected {
			return nil
		}
	}
	communityID, err := a.community(ctx, ev.owner)
	if err != nil {
		return err
	}
	id := platform.EventID(domain.PlatformGithub, "event", ev.owner, delivery)
	cmd := bus.ProposeAction{Action: domain.Action{
		ID: id, CommunityID: communityID, Kind: domain.KindTrigger, Type: ev.typ, Platform: domain.PlatformGithub,
		Fields: ev.fields, ExternalID: delivery, ProposedAt: a.deps.Now().UTC(),
	}}
	if ev.governable {
		cmd.Action.Kind, cmd.Action.Reversible = domain.KindPlatform, true
	}
	if ev.sender != "" {
		cmd.Initiator = &bus.PlatformUser{Platform: domain.PlatformGithub, Username: ev.sender}
	}
	return a.publish.Publish(ctx, bus.TopicProposeAction, id, bus.CommandProposeAction, cmd)
}

// ownChange reports an event the App caused: its sender is the App's bot (any bot when the
// App's slug is not set).
func (a *Adapter) ownChange(raw any) bool {
	s, ok := raw.(interface{ GetSender() *gh.User })
	if !ok || s.GetSender().GetType() != "Bot" {
		return false
	}
	return a.sec.AppSlug == "" || s.GetSender().GetLogin() == a.sec.AppSlug+"[bot]"
}

// eventOf maps a webhook event to its action: issues and pull requests opened, closed and
// labeled, comments created, and pushes (to a protected branch: checked by handle).
func (a *Adapter) eventOf(raw any) (event, int64, bool) {
	switch e := raw.(type) {
	case *gh.IssuesEvent:
		is := e.GetIssue()
		f := map[string]any{"repo": e.GetRepo().GetName(), "repo_full_name": e.GetRepo().GetFullName(), "issue_number": is.GetNumber(),
			"title": is.GetTitle(), "body": is.GetBody(), "url": is.GetHTMLURL(), "user": e.GetSender().GetLogin()}
		ev := event{owner: e.GetRepo().GetOwner().GetLogin(), sender: e.GetSender().GetLogin(), fields: f}
		switch e.GetAction() {
		case "opened":
			ev.typ, ev.governable = domain.ActionGithubIssueOpened, true
		case "closed":
			ev.typ = domain.ActionGithubIssueClosed
			f["state_reason"] = is.GetStateReason()
		case "labeled":
			ev.typ, ev.governable = domain.ActionGithubIssueLabeled, true
			f["label"] = e.GetLabel().GetName()
		default:
			return event{}, 0, false
		}
		return ev, e.GetInstallation().GetID(), true
	case *gh.PullRequestEvent:
		pr := e.GetPullRequest()
		f := map[string]any{"repo": e.GetRepo().GetName(), "repo_full_name": e.GetRepo().GetFullName(), "pull_number": pr.GetNumber(),
			"issue_number": pr.GetNumber(), "title": pr.GetTitle(), "body": pr.GetBody(), "url": pr.GetHTMLURL(),
			"user": e.GetSender().GetLogin(), "head": pr.GetHead().GetRef(), "base": pr.GetBase().GetRef()}
		ev := event{owner: e.GetRepo().GetOwner().GetLogin(), sender: e.GetSender().GetLogin(), fields: f}
		switch e.GetAction() {
		case "opened":
			ev.typ = domain.ActionGithubPullRequestOpened
		case "closed":
			ev.typ = domain.ActionGithubPullRequestClosed
			if pr.GetMerged() {
				ev.typ = domain.ActionGithubPullRequestMerged
				f["merge_commit_sha"] = pr.GetMergeCommitSHA()
			}
		case "labeled":
			ev.typ, ev.governable = domain.ActionGithubPullRequestLabeled, true
			f["label"] = e.GetLabel().GetName()
		default:
			return event{}, 0, false
		}
		return ev, e.GetInstallation().GetID(), true
	case *gh.IssueCommentEvent:
		if e.GetAction() != "created" {
			return event{}, 0, false
		}
		c := e.GetComment()
		f := map[string]any{"repo": e.GetRepo().GetName(), "repo_full_name": e.GetRepo().GetFullName(), "issue_number": e.GetIssue().GetNumber(),
			"comment_id": strconv.FormatInt(c.GetID(), 10), "body": c.GetBody(), "url": c.GetHTMLURL(), "user": e.GetSender().GetLogin(),
			"title": e.GetIssue().GetTitle(), "is_pull_request": e.GetIssue().IsPullRequest()}
		return event{typ: domain.ActionGithubIssueComment, owner: e.GetRepo().GetOwner().GetLogin(), sender: e.GetSender().GetLogin(), fields: f},
			e.GetInstallation().GetID(), true
	case *gh.PushEvent:
		branch, ok := strings.CutPrefix(e.GetRef(), "refs/heads/")
		if !ok || e.GetDeleted() {
			return event{}, 0, false
		}
		f := map[string]any{"repo": e.GetRepo().GetName(), "repo_full_name": e.GetRepo().GetFullName(), "ref": e.GetRef(), "branch": branch,
			"before": e.GetBefore(), "after": e.GetAfter(), "commits": len(e.Commits), "url": e.GetCompare(),
			"pusher": e.GetPusher().GetName(), "user": e.GetSender().GetLogin(), "forced": e.GetForced()}
		owner := e.GetRepo().GetOwner().GetLogin()
		if owner == "" {
			owner = e.GetRepo().GetOwner().GetName()
		}
		return event{typ: domain.ActionGithubPush, owner: owner, sender: e.GetSender().GetLogin(), fields: f}, e.GetInstallation().GetID(), true
	}
	return event{}, 0, false
}

// protected reports whether branch of owner/repo is protected (GET
// /repos/{owner}/{repo}/branches/{branch}, its "protected").
func (a *Adapter) protected(ctx context.Context, installation int64, owner, repo, branch string) (bool, error) {
	if installation == 0 {
		return false, fmt.Errorf("github: a push to %s/%s without its installation", owner, repo)
	}
	c, err := a.client(installation)
	if err != nil {
		return false, err
	}
	var b *gh.Branch
	err = a.retry(ctx, func() (resp *gh.Response, err error) {
		b, resp, err = c.Repositories.GetBranch(ctx, owner, repo, branch, 1)
		return resp, err
	})
	if err != nil {
		return false, fmt.Errorf("github: branch %s of %s/%s: %w", branch, owner, repo, err)
	}
	return b.GetProtected(), nil
}

// uninstalled forgets an installation deleted on GitHub: its tokens, its record, and the vote
// issues of its account, which can no longer be read. It proposes nothing: the community's
// connection is the community's to remove (policykitremoveintegration, governed by its
// constitution policies), and a connection naming the deleted installation acts no more
// (connection answers ErrNotConnected) until the App is installed again.
func (a *Adapter) uninstalled(ctx context.Context, owner string, id int64, sender string) error {
	if id == 0 {
		return nil
	}
	if err := a.state.DeleteInstallation(ctx, owner, id); err != nil {
		return err
	}
	a.mu.Lock()
	delete(a.clients, id)
	a.mu.Unlock()
	a.log.Warn("github: the App was uninstalled; its installation is no longer used", "account", owner, "installation", id, "by", sender)
	return nil
}
