// Package policy is the in-process policy runtime: it compiles and evaluates
// the six code blocks of a PolicyKit policy (filter, initialize, check,
// notify, pass — stored as "success" — and fail), written in PolicyKit's
// Python dialect and run on go.starlark.net, or, for filter and check, as
// one-line expr-lang conditions.
//
// The package is deterministic and performs no I/O. Everything policy code
// can observe comes from Input: the clock (Input.Now), randomness
// (Input.Seed drives the random module), the action, the proposal with its
// votes and DataStore, the community, and the recorded answers of earlier
// platform calls. Given the same Input, Evaluate returns the same Output;
// that is what lets an auditor replay a recorded decision. (The only
// wall-clock reading is the evaluation time limit, which can stop a run but
// never changes what a completed run returns.)
//
// The runtime shares the governance model's types instead of copying them:
// a policy's code is a domain.PolicyCode, its log lines domain.LogLine, its
// data-store changes domain.DataOp, and statuses, languages and vote kinds
// are the domain's constants. So the runtime imports domain (which imports
// nothing of ours), and knows nothing else of governance; domain never
// imports the runtime, and the domain's evaluation loop (domain/evaluation)
// runs it.
//
// # Evaluation
//
// A Runtime compiles each block once per policy version (cache key: the code
// hash and the block name) and evaluates it with:
//
//   - a step budget (thread.SetMaxExecutionSteps) and a time budget, both
//     enforced with thread.Cancel; the context passed to Evaluate is honoured
//     the same way;
//   - no load(), no imports other than datetime, math, random and json
//     (which are predeclared anyway), no recursion, and a maximum block size
//     checked before the block is parsed or hashed;
//   - recover from panics: Evaluate never panics and reports every failure
//     as an *EvalError with a Python-style type and the author's line, e.g.
//     "NameError at line 2 of check: name 'x' is not defined".
//
// An evaluation is atomic: when it fails, Output carries the error and the
// log lines, but no effects and no DataStore changes.
//
// # The Python dialect
//
// Blocks run unchanged from PolicyKit's policy JSON. Each block becomes the
// body of a function (so a top-level return works), f-strings (with format
// specs, !r/!s conversions, nested quotes and the "=" specifier) become
// calls to builtins, "x is None" becomes "x == None", imports become
// no-ops, a ** b becomes pow(a, b), chained comparisons (a < b < c) become
// conjunctions that evaluate b once, set literals become set([...]), and
// s.format(...), s.isnumeric() and s.zfill(n) run by Python's rules, all
// without moving any line. An undefined name is a NameError when its line
// runs, not before. Statements Starlark has no form of (try/except, class,
// with, raise, del, global, assert, decorators, :=) are errors that name the
// construct and its line, and proposal.data cannot be changed in a filter. In scope: action, policy, proposal,
// variables, logger, PASSED, FAILED, PROPOSED, datetime, math, random, json,
// sum, round, pow, isinstance, print (to the log), str and repr (which print dicts and lists
// as Python does: {'a': ['b', None]}) and one object per platform: slack,
// discord, discourse, reddit, github, opencollective, loomio, sourcecred and
// metagov. See the package's tests for the exact behaviour of each object.
//
// proposal.vote_outcome is not PolicyKit's: it is what the platform that
// closed the proposal's vote says the vote decided (Input.Proposal.
// VoteOutcome), as a dict that also allows attribute access, or None. A
// Loomio poll closed with an outcome statement gives {"statement",
// "statement_format", "id", ...}, so that check can read
// proposal.vote_outcome.statement once proposal.is_vote_closed.
//
// # Platform calls, questions and answers
//
// Platform methods never perform I/O. There are two kinds.
//
// Effect methods record an Effect (platform, method, arguments by their
// documented names, position) and return None; the engine turns effects
// into effect requests after the block has completed:
//
//	slack.post_message(text, channel, thread_ts, users, post_type, reply_broadcast)
//	slack.rename_conversation(channel, name)   slack.join_conversation(channel, users)
//	slack.kick_conversation(channel, user)     slack.pin_message(channel, timestamp)
//	slack.schedule_message(text, channel, post_at)   slack.delete_message(channel, ts)
//	discord.post_message(text, channel, message_id)  discord.delete_message(channel, message_id)
//	discord.rename_channel(channel, name)
//	discourse.post_message(text, topic_id)     discourse.make_call(url, values, action, method)
//	discourse.initiate_vote(users, text, topic_id, options)
//	discourse.create_post(raw, topic_id)       discourse.create_topic(title, raw, category)
//	discourse.delete_post(post_id)             discourse.delete_topic(topic_id)
//	reddit.make_post(title, text, subreddit)   reddit.remove_post(post_id)   reddit.approve_post(post_id)
//	github.create_issue(repo_name, title, body)
//	github.comment_on_issue(repo_name, issue_number, body)
//	github.close_issue(repo_name, issue_number)
//	github.add_label(repo_name, issue_number, label)
//	opencollective.post_message(text, expense_id)
//	opencollective.process_expense(action, expense_id)
//	loomio.create_discussion(title, description, group)
//	web.post_message(text, users)              (a notice on the proposal's page)
//
// A discordslashcommand action (the /policykit command) also has action.respond(text): an
// effect, "respond" on discord with the text and the command's interaction token, which the
// adapter turns into the answer Discord shows the member who used the command (the command
// was answered "thinking…" at once, as Discord requires within three seconds; this replaces
// that). It needs discord connected; other actions have no respond.
//
// Answered methods return data from the outside world:
//
//	slack.initiate_vote(text, channel, users, options, post_type)
//	discord.initiate_vote(text, channel, options, users)
//	reddit.initiate_vote(text, subreddit, users)
//	github.initiate_vote(repo_name, text, users)
//	loomio.initiate_vote(title, closing_at, options, details, poll_type, **kwargs)
//	web.initiate_vote(text, users, options)    (the vote on the proposal's page)
//	sourcecred.get_cred(username, id)          sourcecred.get_grain(username, id)
//	metagov.perform_action(name, parameters, **kwargs)
//	metagov.start_process(name, parameters, **kwargs)
//	metagov.get_process()                      metagov.close_process()
//
// An answered call looks up AnswerKey(platform, method, args) — a hex
// SHA-256 of the platform, the method and the canonical JSON of the
// arguments — in Input.Answers. If the answer is there, the call returns it
// (maps become dicts that also allow attribute access: result.status). If
// not, the evaluation stops — this is not an error — and Output.Question
// describes the call; every other Output field is empty, because the run's
// effects and DataStore changes are discarded. The engine then asks the
// platform's adapter (as an effect request), records the adapter's answer
// under Question.Key, and runs the whole block again with the answer in
// Input.Answers; effects are emitted once, by the run that completes. A
// block with several answered calls is run once per question. A replay
// that passes the recorded answers sees the same data and produces the same
// output.
//
// The answer to initiate_vote is {"post_id": ..., "url": ...}; it sets
// proposal.vote_post_id and proposal.vote_url for the rest of the block, and
// Output.VotePostID/VoteURL report them. The answer to metagov.start_process
// becomes proposal.governance_process for the rest of the block, and
// metagov.get_process() returns Input.Proposal.GovernanceProcess, or None
// when the proposal has none. The metagov parameters may be a dict, keyword
// arguments (PolicyKit's form), or both; they are asked as one
// "parameters" dict.
//
// Effect and answered calls share argument rules: positional arguments map
// to the names above in order (a leading proposal argument, as PolicyKit's
// newer signatures take, is skipped); unknown keywords are a TypeError;
// None arguments are omitted; values are converted to JSON: user objects to
// their username, user and vote sets to lists of usernames, datetimes to
// RFC 3339 strings, timedeltas to seconds. When slack or discord calls omit
// the channel and the action happened on that platform, the action's channel
// is used (PolicyKit's infer_channel). Calling any method of a platform
// missing from Community.Platforms is a PlatformError.
//
// Platform objects also read community state: get_users(role_names=None),
// get_roles(), get_username_to_readable_name_dict() and
// get_users_with_permission(permission). A base role is held by every user.
//
// # expr-lang conditions
//
// When the code's FilterLang or CheckLang is "expr" (domain.LangExpr), that block is an
// expr-lang expression over action, proposal, policy, variables, yes, no,
// votes, choice(value), number(value), elapsed, now, duration("72h") and
// PASSED/FAILED/PROPOSED. A filter must be boolean; a check returns a bool
// (true: PASSED, false: PROPOSED) or a status string. Errors carry their
// position: "line 1, column 7: unexpected token EOF". The clock-reading and
// zone-loading builtins now(), date() and timezone() are disabled.
package policy
