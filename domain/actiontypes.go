package domain

import "sort"

// ActionTypeInfo describes one action type.
type ActionTypeInfo struct {
	// Type is the stored name, PolicyKit's lower-case class name ("slackpostmessage").
	Type     string
	Kind     Kind
	Platform string
	// Label is the human name used by Action.Describe ("Post message", "Add role").
	Label string
	// Governable: the action only takes effect when the policy of its kind passes it
	// (platform actions that can be reverted and re-executed; every constitution action).
	// Trigger-only types are not governable.
	Governable bool
	// Subject lists the Fields keys Describe shows after the label, first present wins.
	Subject []string
	// Fields documents the attributes policies can read on actions of this type.
	Fields []string
	// Explicit: only a permission that names the type grants it; the kind wildcards
	// ("propose:constitution:*") do not. PolicyKit keeps connecting platforms to the holders
	// of its own permissions (the Integration Admin role), apart from the permission sets.
	Explicit bool
}

// AnyPlatform is the Platform of an action type that arrives from any platform (a webhook
// trigger); its actions name their platform themselves.
const AnyPlatform = ""

// CanBeGovernedBy reports whether a policy of kind k may list this action type: platform
// and constitution policies list governable types of their own kind; trigger policies may
// list any type.
func (i ActionTypeInfo) CanBeGovernedBy(k Kind) bool {
	if k == KindTrigger {
		return true
	}
	return i.Governable && i.Kind == k
}

// Platform action types (governable: they can be reverted and re-executed, and also
// trigger trigger policies).
const (
	ActionSlackPostMessage        = "slackpostmessage"
	ActionSlackRenameConversation = "slackrenameconversation"
	ActionSlackJoinConversation   = "slackjoinconversation"
	ActionSlackPinMessage         = "slackpinmessage"
	ActionSlackScheduleMessage    = "slackschedulemessage"
	ActionSlackKickConversation   = "slackkickconversation"
	ActionDiscourseCreateTopic    = "discoursecreatetopic"
	ActionDiscourseCreatePost     = "discoursecreatepost"
	ActionRedditMakePost          = "redditmakepost"
	// Discord: a message posted, a channel renamed or created (reverted when a policy holds
	// them); deleting a message or a channel and kicking a member are proposed from the
	// dashboard and only executed.
	ActionDiscordPostMessage   = "discordpostmessage"
	ActionDiscordRenameChannel = "discordrenamechannel"
	ActionDiscordCreateChannel = "discordcreatechannel"
	ActionDiscordDeleteMessage = "discorddeletemessage"
	ActionDiscordDeleteChannel = "discorddeletechannel"
	ActionDiscordKickMember    = "discordkickmember"
	// GitHub: an issue opened (reverted by closing it with a comment, executed by reopening
	// it) and a label added to an issue or pull request (reverted by removing it); merging a
	// pull request is proposed from the dashboard and only executed.
	ActionGithubIssueOpened        = "githubissueopened"
	ActionGithubIssueLabeled       = "githubissuelabeled"
	ActionGithubPullRequestLabeled = "githubpullrequestlabeled"
	ActionGithubMergePullRequest   = "githubmergepullrequest"
)

// Trigger-only action types: platform events that can trigger trigger policies.
const (
	ActionSlackReactionAdded  = "slackreactionadded"
	ActionSlackPinRemoved     = "slackpinremoved"
	ActionSlackChannelCreated = "slackchannelcreated"
	ActionDiscordSlashCommand = "discordslashcommand"
	ActionExpenseCreated      = "expensecreated"
	ActionExpenseApproved     = "expenseapproved"
	ActionExpenseRejected     = "expenserejected"
	ActionExpenseDeleted      = "expensedeleted"
	ActionExpenseUnapproved   = "expenseunapproved"
	ActionExpensePaid         = "expensepaid"
	// GitHub events that cannot be undone (a merge) or need not be (a comment, a push to a
	// protected branch).
	ActionGithubIssueClosed       = "githubissueclosed"
	ActionGithubIssueComment      = "githubissuecomment"
	ActionGithubPullRequestOpened = "githubpullrequestopened"
	ActionGithubPullRequestClosed = "githubpullrequestclosed"
	ActionGithubPullRequestMerged = "githubpullrequestmerged"
	ActionGithubPush              = "githubpush"
	// ActionWebhookTrigger is PolicyKit's WebhookTriggerAction: an event received on the
	// generic hook (/api/hooks/{platform}/{community}) from a platform or a Metagov plugin,
	// with its "event_type" ("opencollective.expense_created") and its "data".
	ActionWebhookTrigger = "webhooktriggeraction"
)

// Constitution action types (PolicyKit's names), proposed on the constitution platform.
const (
	ActionAddPlatformPolicy         = "policykitaddplatformpolicy"
	ActionChangePlatformPolicy      = "policykitchangeplatformpolicy"
	ActionRemovePlatformPolicy      = "policykitremoveplatformpolicy"
	ActionRecoverPlatformPolicy     = "policykitrecoverplatformpolicy"
	ActionAddConstitutionPolicy     = "policykitaddconstitutionpolicy"
	ActionChangeConstitutionPolicy  = "policykitchangeconstitutionpolicy"
	ActionRemoveConstitutionPolicy  = "policykitremoveconstitutionpolicy"
	ActionRecoverConstitutionPolicy = "policykitrecoverconstitutionpolicy"
	ActionAddTriggerPolicy          = "policykitaddtriggerpolicy"
	ActionChangeTriggerPolicy       = "policykitchangetriggerpolicy"
	ActionRemoveTriggerPolicy       = "policykitremovetriggerpolicy"
	ActionRecoverTriggerPolicy      = "policykitrecovertriggerpolicy"
	ActionAddRole                   = "policykitaddrole"
	ActionEditRole                  = "policykiteditrole"
	ActionDeleteRole                = "policykitdeleterole"
	ActionAddUserRole               = "policykitadduserrole"
	ActionRemoveUserRole            = "policykitremoveuserrole"
	ActionAddCommunityDoc           = "policykitaddcommunitydoc"
	ActionChangeCommunityDoc        = "policykitchangecommunitydoc"
	ActionDeleteCommunityDoc        = "policykitdeletecommunitydoc"
	ActionRecoverCommunityDoc       = "policykitrecovercommunitydoc"
	ActionAddIntegration            = "policykitaddintegration"
	ActionRemoveIntegration         = "policykitremoveintegration"
)

func governable(typ, platform, label string, subject []string, fields ...string) ActionTypeInfo {
	return ActionTypeInfo{Type: typ, Kind: KindPlatform, Platform: platform, Label: label, Governable: true, Subject: subject, Fields: fields}
}

func trigger(typ, platform, label string, subject []string, fields ...string) ActionTypeInfo {
	return ActionTypeInfo{Type: typ, Kind: KindTrigger, Platform: platform, Label: label, Subject: subject, Fields: fields}
}

func constitution(typ, label string, subject []string, fields ...string) ActionTypeInfo {
	return ActionTypeInfo{Type: typ, Kind: KindConstitution, Platform: PlatformConstitution, Label: label, Governable: true, Subject: subject, Fields: fields}
}

var (
	subjText     = []string{"text"}
	subjName     = []string{"name", "policy_id", "document_id", "role"}
	subjTitle    = []string{"title", "text", "raw"}
	subjDesc     = []string{"description", "expense_id"}
	subjValue    = []string{"value"}
	subjEvent    = []string{"event_type"}
	subjChan     = []string{"channel"}
	subjRole     = []string{"role", "name"}
	subjIssue    = []string{"title", "url"}
	subjPlatform = []string{"platform"}

	policyFields  = []string{"policy_id", "kind", "name", "description", "action_types", "filter", "initialize", "check", "notify", "success", "fail", "filter_lang", "check_lang", "variables", "priority"}
	ghIssueFields = []string{"repo", "repo_full_name", "issue_number", "title", "body", "url", "user"}
	ghPullFields  = []string{"repo", "repo_full_name", "pull_number", "issue_number", "title", "body", "url", "user", "head", "base"}
	expenseField  = []string{"expense_id", "description", "amount", "formatted_amount", "currency", "type", "status", "url", "tags", "expense_user_slug", "data"}
)

var actionTypes = buildActionTypes(
	// Slack
	governable(ActionSlackPostMessage, PlatformSlack, "Post message", subjText, "text", "channel", "timestamp", "thread_ts"),
	governable(ActionSlackRenameConversation, PlatformSlack, "Rename conversation", subjName, "name", "previous_name", "channel"),
	governable(ActionSlackJoinConversation, PlatformSlack, "Join conversation", subjChan, "channel", "users"),
	governable(ActionSlackPinMessage, PlatformSlack, "Pin message", subjChan, "channel", "timestamp"),
	governable(ActionSlackScheduleMessage, PlatformSlack, "Schedule message", subjText, "text", "channel", "post_at"),
	governable(ActionSlackKickConversation, PlatformSlack, "Kick user from conversation", []string{"user", "channel"}, "user", "channel"),
	// Discourse
	governable(ActionDiscourseCreateTopic, PlatformDiscourse, "Create topic", subjTitle, "title", "raw", "category", "topic_id"),
	governable(ActionDiscourseCreatePost, PlatformDiscourse, "Create post", []string{"raw"}, "raw", "topic_id", "post_id"),
	// Reddit
	governable(ActionRedditMakePost, PlatformReddit, "Make post", subjTitle, "title", "text", "subreddit", "name", "author", "url"),
	// Discord
	trigger(ActionSlackReactionAdded, PlatformSlack, "Reaction added", []string{"reaction"}, "reaction", "channel", "timestamp", "user", "item_user"),
	trigger(ActionSlackPinRemoved, PlatformSlack, "Pin removed", subjChan, "channel", "timestamp", "user"),
	trigger(ActionSlackChannelCreated, PlatformSlack, "Channel created", []string{"name"}, "channel", "name", "creator"),

	trigger(ActionDiscordSlashCommand, PlatformDiscord, "Slash command", subjValue, "value", "channel", "guild", "interaction_id", "interaction_token"),
	governable(ActionDiscordPostMessage, PlatformDiscord, "Post message", subjText, "text", "channel", "message_id", "user"),
	governable(ActionDiscordRenameChannel, PlatformDiscord, "Rename channel", subjName, "name", "previous_name", "channel"),
	governable(ActionDiscordCreateChannel, PlatformDiscord, "Create channel", subjName, "name", "channel", "type"),
	governable(ActionDiscordDeleteMessage, PlatformDiscord, "Delete message", subjChan, "channel", "message_id"),
	governable(ActionDiscordDeleteChannel, PlatformDiscord, "Delete channel", subjChan, "channel"),
	governable(ActionDiscordKickMember, PlatformDiscord, "Kick member", []string{"user"}, "user"),
	// Open Collective
	trigger(ActionExpenseCreated, PlatformOpenCollective, "Expense created", subjDesc, expenseField...),
	trigger(ActionExpenseApproved, PlatformOpenCollective, "Expense approved", subjDesc, expenseField...),
	trigger(ActionExpenseRejected, PlatformOpenCollective, "Expense rejected", subjDesc, expenseField...),
	trigger(ActionExpenseDeleted, PlatformOpenCollective, "Expense deleted", subjDesc, expenseField...),
	trigger(ActionExpenseUnapproved, PlatformOpenCollective, "Expense unapproved", subjDesc, expenseField...),
	trigger(ActionExpensePaid, PlatformOpenCollective, "Expense paid", subjDesc, expenseField...),
	// GitHub
	governable(ActionGithubIssueOpened, PlatformGithub, "Issue opened", subjIssue, ghIssueFields...),
	governable(ActionGithubIssueLabeled, PlatformGithub, "Issue labeled", []string{"label", "title"}, append(ghIssueFields, "label")...),
	governable(ActionGithubPullRequestLabeled, PlatformGithub, "Pull request labeled", []string{"label", "title"}, append(ghPullFields, "label")...),
	governable(ActionGithubMergePullRequest, PlatformGithub, "Merge pull request", []string{"pull_number"}, "repo", "pull_number", "commit_title", "merge_method"),
	trigger(ActionGithubIssueClosed, PlatformGithub, "Issue closed", subjIssue, append(ghIssueFields, "state_reason")...),
	trigger(ActionGithubIssueComment, PlatformGithub, "Issue comment", []string{"body"}, "repo", "repo_full_name", "issue_number", "comment_id", "body", "url", "user", "title", "is_pull_request"),
	trigger(ActionGithubPullRequestOpened, PlatformGithub, "Pull request opened", subjIssue, ghPullFields...),
	trigger(ActionGithubPullRequestClosed, PlatformGithub, "Pull request closed", subjIssue, ghPullFields...),
	trigger(ActionGithubPullRequestMerged, PlatformGithub, "Pull request merged", subjIssue, append(ghPullFields, "merge_commit_sha")...),
	trigger(ActionGithubPush, PlatformGithub, "Push to protected branch", []string{"branch"}, "repo", "repo_full_name", "ref", "branch", "before", "after", "commits", "url", "pusher", "user", "forced"),
	// Every event received on the generic hook ("Webhook Trigger Action"), from any platform.
	trigger(ActionWebhookTrigger, AnyPlatform, "Webhook trigger", subjEvent, "event_type", "data"),

	// Constitution
	constitution(ActionAddPlatformPolicy, "Add platform policy", subjName, policyFields...),
	constitution(ActionChangePlatformPolicy, "Change platform policy", subjName, policyFields...),
	constitution(ActionRemovePlatformPolicy, "Remove platform policy", subjName, "policy_id"),
	constitution(ActionRecoverPlatformPolicy, "Recover platform policy", subjName, "policy_id"),
	constitution(ActionAddConstitutionPolicy, "Add constitution policy", subjName, policyFields...),
	constitution(ActionChangeConstitutionPolicy, "Change constitution policy", subjName, policyFields...),
	constitution(ActionRemoveConstitutionPolicy, "Remove constitution policy", subjName, "policy_id"),
	constitution(ActionRecoverConstitutionPolicy, "Recover constitution policy", subjName, "policy_id"),
	constitution(ActionAddTriggerPolicy, "Add trigger policy", subjName, policyFields...),
	constitution(ActionChangeTriggerPolicy, "Change trigger policy", subjName, policyFields...),
	constitution(ActionRemoveTriggerPolicy, "Remove trigger policy", subjName, "policy_id"),
	constitution(ActionRecoverTriggerPolicy, "Recover trigger policy", subjName, "policy_id"),
	constitution(ActionAddRole, "Add role", subjName, "name", "description", "is_base", "permissions"),
	constitution(ActionEditRole, "Edit role", subjRole, "role", "name", "description", "permissions"),
	constitution(ActionDeleteRole, "Delete role", subjRole, "role"),
	constitution(ActionAddUserRole, "Add user role", subjRole, "role", "user_ids"),
	constitution(ActionRemoveUserRole, "Remove user role", subjRole, "role", "user_ids"),
	constitution(ActionAddCommunityDoc, "Add document", subjName, "document_id", "name", "text"),
	constitution(ActionChangeCommunityDoc, "Change document", subjName, "document_id", "name", "text"),
	constitution(ActionDeleteCommunityDoc, "Delete document", subjName, "document_id"),
	constitution(ActionRecoverCommunityDoc, "Recover document", subjName, "document_id"),
	explicit(constitution(ActionAddIntegration, "Connect platform", subjPlatform, "platform", "external_id", "name", "settings", "secrets")),
	explicit(constitution(ActionRemoveIntegration, "Disconnect platform", subjPlatform, "platform")),
)

func explicit(i ActionTypeInfo) ActionTypeInfo {
	i.Explicit = true
	return i
}

func buildActionTypes(infos ...ActionTypeInfo) map[string]ActionTypeInfo {
	m := make(map[string]ActionTypeInfo, len(infos))
	for _, i := range infos {
		if _, dup := m[i.Type]; dup {
			panic("domain: action type listed twice: " + i.Type)
		}
		m[i.Type] = i
	}
	return m
}

// LookupActionType returns the description of a known action type.
func LookupActionType(t string) (ActionTypeInfo, bool) {
	i, ok := actionTypes[t]
	return i, ok
}

// ActionTypes lists every known action type, sorted by kind, platform and type.
func ActionTypes() []ActionTypeInfo {
	out := make([]ActionTypeInfo, 0, len(actionTypes))
	for _, i := range actionTypes {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		if x.Platform != y.Platform {
			return x.Platform < y.Platform
		}
		return x.Type < y.Type
	})
	return out
}

// ActionTypesOf lists the known action types of one kind, sorted by type.
func ActionTypesOf(k Kind) []string {
	var out []string
	for _, i := range actionTypes {
		if i.Kind == k {
			out = append(out, i.Type)
		}
	}
	sort.Strings(out)
	return out
}
