/* eslint-disable */
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  Time: { input: string; output: string; }
};

/** A local account: who calls the API. Accounts are identity, not governance. */
export type Account = {
  __typename?: 'Account';
  /** The account's API tokens, revoked ones included, oldest first. */
  apiTokens: ApiTokenConnection;
  createdAt: Scalars['Time']['output'];
  id: Scalars['ID']['output'];
  /** The community users the account acts as, one per community. */
  memberships: Array<Membership>;
  username: Scalars['String']['output'];
};


/** A local account: who calls the API. Accounts are identity, not governance. */
export type AccountApiTokensArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type Action = {
  __typename?: 'Action';
  communityId: Scalars['ID']['output'];
  decidedAt?: Maybe<Scalars['Time']['output']>;
  /** The action's fields as a JSON object; a connection's secrets show by name only ("********"). */
  fieldsJSON: Scalars['String']['output'];
  governingProposal?: Maybe<Proposal>;
  governingProposalId: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  initiatorId: Scalars['String']['output'];
  kind: Scalars['String']['output'];
  platform: Scalars['String']['output'];
  proposedAt: Scalars['Time']['output'];
  reason: Scalars['String']['output'];
  reversible: Scalars['Boolean']['output'];
  /** proposed, governed, executed, rejected, reverted or execution_failed */
  status: Scalars['String']['output'];
  type: Scalars['String']['output'];
};

/** One field of an action type. */
export type ActionField = {
  __typename?: 'ActionField';
  description?: Maybe<Scalars['String']['output']>;
  /** The key in payloadJSON or fieldsJSON. */
  name: Scalars['String']['output'];
  required: Scalars['Boolean']['output'];
  /**
   * text, longtext, boolean, number, list (of strings), permissions (verb:actiontype
   * strings), map (a JSON object of strings), code (a policy block) or userIds (member ids)
   */
  type: Scalars['String']['output'];
};

/** An action type: what its actions carry, and who may do what with them. */
export type ActionType = {
  __typename?: 'ActionType';
  /**
   * Whether only a permission naming the type grants it (kind wildcards such as
   * propose:constitution:* do not).
   */
  explicitPermission: Scalars['Boolean']['output'];
  /** Its fields: a constitution type's payload, a platform type's attributes (as text). */
  fields: Array<ActionField>;
  /** Whether it only takes effect when a policy of its kind passes it. */
  governable: Scalars['Boolean']['output'];
  /** platform, constitution or trigger */
  kind: Scalars['String']['output'];
  /** The human name, e.g. Post message. */
  label: Scalars['String']['output'];
  /** Its platform (constitution for constitution types; empty for a type from any platform). */
  platform: Scalars['String']['output'];
  /**
   * Whether a member may propose it from the dashboard (proposeConstitutionAction for
   * constitution types, proposeAction for governable platform types).
   */
  proposable: Scalars['Boolean']['output'];
  /** The stored name, e.g. slackpostmessage, policykitaddrole. */
  type: Scalars['String']['output'];
};

export type ApiToken = {
  __typename?: 'ApiToken';
  createdAt: Scalars['Time']['output'];
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  revokedAt?: Maybe<Scalars['Time']['output']>;
};

export type ApiTokenConnection = {
  __typename?: 'ApiTokenConnection';
  edges: Array<ApiTokenEdge>;
  pageInfo: PageInfo;
};

export type ApiTokenEdge = {
  __typename?: 'ApiTokenEdge';
  cursor: Scalars['String']['output'];
  node: ApiToken;
};

export type ApplyStarterKitInput = {
  communityId: Scalars['ID']['input'];
  /** Starter kit name, as starterKits lists them. */
  kit: Scalars['String']['input'];
  /**
   * Replaces ${PLATFORM} in the kit's policies. Default: the community's first active platform
   * other than PolicyKit's own web platform, else web.
   */
  platform?: InputMaybe<Scalars['String']['input']>;
};

export type ApplyStarterKitPayload = {
  __typename?: 'ApplyStarterKitPayload';
  /** The constitution actions proposed, in the order proposed, each with its proposal. */
  proposed: Array<ProposeActionPayload>;
  /** What was left out, one line each. */
  skipped: Array<Scalars['String']['output']>;
};

/** What a started vote offers its voters. */
export type Ballot = {
  __typename?: 'Ballot';
  /** boolean (yes or no), choice (one of options) or number */
  kind: Scalars['String']['output'];
  /** A choice vote's choices; none means any choice. */
  options: Array<Scalars['String']['output']>;
};

/** The caller's user in the community votes. */
export type CastVoteInput = {
  communityId: Scalars['ID']['input'];
  proposalId: Scalars['ID']['input'];
  /** yes, no, an integer, or a choice. */
  value: Scalars['String']['input'];
};

export type CastVotePayload = {
  __typename?: 'CastVotePayload';
  proposal: Proposal;
};

export type ChoiceCount = {
  __typename?: 'ChoiceCount';
  choice: Scalars['String']['output'];
  count: Scalars['Int']['output'];
};

/** One problem with policy code. */
export type CodeProblem = {
  __typename?: 'CodeProblem';
  /** The block it is in (filter, initialize, check, notify, success or fail). */
  block: Scalars['String']['output'];
  /** 1-based; 0 when unknown. */
  column: Scalars['Int']['output'];
  /** 1-based, within the block; 0 when unknown. */
  line: Scalars['Int']['output'];
  /** The kind of problem and what is wrong, e.g. SyntaxError: got newline, want ':'. */
  message: Scalars['String']['output'];
};

export type Community = {
  __typename?: 'Community';
  createdAt: Scalars['Time']['output'];
  /** Documents, deleted ones included (active: false), oldest first. */
  documents: DocumentConnection;
  /**
   * The log lines of the community's policy block runs across its proposals, newest first
   * (a run's error as a line of level error after its other lines), of the proposals the
   * caller may view. level keeps the lines of one level (debug, info, warning, error ...),
   * policyId and proposalId those of one policy's or one proposal's runs.
   */
  evaluationLogs: EvaluationLogLineConnection;
  /**
   * The community's events in log order (its community stream and the streams of its actions
   * and proposals). first is at most 100 (more is INVALID); after is the endCursor of the
   * previous page.
   */
  events: EventConnection;
  id: Scalars['ID']['output'];
  /** Members, each with the roles they hold (base roles included), by platform and username. */
  members: MemberConnection;
  name: Scalars['String']['output'];
  platforms: Array<Platform>;
  /**
   * The current version of each policy, removed ones included (active: false), by kind,
   * priority and name.
   */
  policies: PolicyConnection;
  /**
   * The community's proposals, newest first. first is at most 100 (more is INVALID); after
   * is the endCursor of the previous page.
   */
  proposals: ProposalConnection;
  /** Roles, by name. */
  roles: RoleConnection;
};


export type CommunityDocumentsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type CommunityEvaluationLogsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  level?: InputMaybe<Scalars['String']['input']>;
  policyId?: InputMaybe<Scalars['ID']['input']>;
  proposalId?: InputMaybe<Scalars['ID']['input']>;
};


export type CommunityEventsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<EventFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type CommunityMembersArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type CommunityPoliciesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type CommunityProposalsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<ProposalFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type CommunityRolesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type CreateApiTokenPayload = {
  __typename?: 'CreateApiTokenPayload';
  /** The token to send as `Authorization: Bearer <secret>`. Only its hash is stored. */
  secret: Scalars['String']['output'];
  token: ApiToken;
};

export type CreateCommunityInput = {
  /** Starter kit name (default: testing). */
  kit?: InputMaybe<Scalars['String']['input']>;
  name: Scalars['String']['input'];
};

export type Document = {
  __typename?: 'Document';
  active: Scalars['Boolean']['output'];
  createdAt: Scalars['Time']['output'];
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  text: Scalars['String']['output'];
  updatedAt: Scalars['Time']['output'];
};

export type DocumentConnection = {
  __typename?: 'DocumentConnection';
  edges: Array<DocumentEdge>;
  pageInfo: PageInfo;
};

export type DocumentEdge = {
  __typename?: 'DocumentEdge';
  cursor: Scalars['String']['output'];
  node: Document;
};

export type DryRunInput = {
  communityId: Scalars['ID']['input'];
  /** The draft policy. */
  policy: PolicyDraftInput;
  /** The scenario, in the policy test format (YAML). */
  scenario: Scalars['String']['input'];
};

export type DryRunResult = {
  __typename?: 'DryRunResult';
  /** True when every step ran and every expectation held. */
  ok: Scalars['Boolean']['output'];
  /** Each step run, in order; the run stops after the first that fails. */
  steps: Array<DryRunStep>;
};

export type DryRunStep = {
  __typename?: 'DryRunStep';
  /** The virtual time after the step. */
  at: Scalars['Time']['output'];
  description: Scalars['String']['output'];
  /** Why the step failed (or, with want_error, the error it wanted). */
  error?: Maybe<Scalars['String']['output']>;
  /** The events the step appended to the scenario's log, one line each. */
  events: Array<Scalars['String']['output']>;
  /** action, vote, answer, effect_result, close_vote, advance or expect */
  kind: Scalars['String']['output'];
  /** The step's line in the scenario. */
  line: Scalars['Int']['output'];
  /** The block runs' log lines (level: message) and errors (error: ...) among them. */
  logs: Array<Scalars['String']['output']>;
  passed: Scalars['Boolean']['output'];
  /** The status of the last proposed action's proposal after the step; null when it has none. */
  status?: Maybe<ProposalStatus>;
};

export type Effect = {
  __typename?: 'Effect';
  argsJSON: Scalars['String']['output'];
  error: Scalars['String']['output'];
  finishedAt?: Maybe<Scalars['Time']['output']>;
  id: Scalars['ID']['output'];
  method: Scalars['String']['output'];
  platform: Scalars['String']['output'];
  /** policy, execute, revert or query */
  purpose: Scalars['String']['output'];
  requestedAt: Scalars['Time']['output'];
  resultJSON?: Maybe<Scalars['String']['output']>;
  /** requested, completed or failed */
  status: Scalars['String']['output'];
};

export type EffectConnection = {
  __typename?: 'EffectConnection';
  edges: Array<EffectEdge>;
  pageInfo: PageInfo;
};

export type EffectEdge = {
  __typename?: 'EffectEdge';
  cursor: Scalars['String']['output'];
  node: Effect;
};

export type EvaluationLog = {
  __typename?: 'EvaluationLog';
  /** filter, initialize, check, notify, success or fail */
  block: Scalars['String']['output'];
  error: Scalars['String']['output'];
  evaluatedAt: Scalars['Time']['output'];
  logsJSON: Scalars['String']['output'];
  result: Scalars['String']['output'];
};

export type EvaluationLogConnection = {
  __typename?: 'EvaluationLogConnection';
  edges: Array<EvaluationLogEdge>;
  pageInfo: PageInfo;
};

export type EvaluationLogEdge = {
  __typename?: 'EvaluationLogEdge';
  cursor: Scalars['String']['output'];
  node: EvaluationLog;
};

/** One line a policy block logged (or its error) while a proposal was evaluated. */
export type EvaluationLogLine = {
  __typename?: 'EvaluationLogLine';
  /** filter, initialize, check, notify, success or fail */
  block: Scalars['String']['output'];
  evaluatedAt: Scalars['Time']['output'];
  /** debug, info, warning, error ... as the code logged it; error for the run's error */
  level: Scalars['String']['output'];
  message: Scalars['String']['output'];
  policyId: Scalars['ID']['output'];
  proposalId: Scalars['ID']['output'];
};

export type EvaluationLogLineConnection = {
  __typename?: 'EvaluationLogLineConnection';
  edges: Array<EvaluationLogLineEdge>;
  pageInfo: PageInfo;
};

export type EvaluationLogLineEdge = {
  __typename?: 'EvaluationLogLineEdge';
  cursor: Scalars['String']['output'];
  node: EvaluationLogLine;
};

/** An event as the log recorded it. */
export type Event = {
  __typename?: 'Event';
  causationId?: Maybe<Scalars['String']['output']>;
  correlationId?: Maybe<Scalars['String']['output']>;
  /** The event's data as recorded, except that a connection's secrets show by name only ("********"). */
  dataJSON: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  /** The log position, commit:seq. */
  position: Scalars['String']['output'];
  recordedAt: Scalars['Time']['output'];
  schemaVersion: Scalars['Int']['output'];
  stream: Scalars['String']['output'];
  type: Scalars['String']['output'];
  version: Scalars['Int']['output'];
};

export type EventConnection = {
  __typename?: 'EventConnection';
  edges: Array<EventEdge>;
  pageInfo: PageInfo;
};

export type EventEdge = {
  __typename?: 'EventEdge';
  cursor: Scalars['String']['output'];
  node: Event;
};

export type EventFilter = {
  /** Events recorded at or after this time. */
  from?: InputMaybe<Scalars['Time']['input']>;
  /** Only this stream, e.g. community-garden. */
  stream?: InputMaybe<Scalars['String']['input']>;
  /** Events recorded before this time. */
  to?: InputMaybe<Scalars['Time']['input']>;
  /** Only these event types, e.g. community.role_added. */
  types?: InputMaybe<Array<Scalars['String']['input']>>;
};

export type ImportPolicyInput = {
  communityId: Scalars['ID']['input'];
  /** A PolicyKit policy file, as exportPolicy returns. */
  policyJSON: Scalars['String']['input'];
};

/** An install flow of this server. */
export type InstallLink = {
  __typename?: 'InstallLink';
  platform: Scalars['String']['output'];
  url: Scalars['String']['output'];
};

export type Member = {
  __typename?: 'Member';
  avatar: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  isAdmin: Scalars['Boolean']['output'];
  joinedAt: Scalars['Time']['output'];
  platform: Scalars['String']['output'];
  readableName: Scalars['String']['output'];
  /** Role names, base roles included, sorted. */
  roles: Array<Scalars['String']['output']>;
  username: Scalars['String']['output'];
};

export type MemberConnection = {
  __typename?: 'MemberConnection';
  edges: Array<MemberEdge>;
  pageInfo: PageInfo;
};

export type MemberEdge = {
  __typename?: 'MemberEdge';
  cursor: Scalars['String']['output'];
  node: Member;
};

export type Membership = {
  __typename?: 'Membership';
  communityId: Scalars['ID']['output'];
  isAdmin: Scalars['Boolean']['output'];
  /** The user's permissions through their roles (base roles included), as verb:actiontype. */
  permissions: Array<Scalars['String']['output']>;
  userId: Scalars['ID']['output'];
};

export type Mutation = {
  __typename?: 'Mutation';
  /**
   * Proposes a starter kit's roles and policies to an existing community as the constitution
   * actions that add them (policykitaddrole, then policykitadduserrole for the members of each
   * role's user group, then policykitadd<kind>policy), each decided by the community's
   * constitution policies like any other proposal. A role or an active policy of the same name
   * the community already has is left out, as are the members of a role whose addition is
   * still awaiting its decision; skipped says which.
   */
  applyStarterKit: ApplyStarterKitPayload;
  /** Records the caller's vote and checks its proposal again at once; returns the proposal. */
  castVote: CastVotePayload;
  /** Creates an API token for scripts and adapters; its secret is returned this once only. */
  createApiToken: CreateApiTokenPayload;
  /**
   * Creates a community on PolicyKit's web platform with a starter kit (default: testing); the
   * caller becomes its admin member, linked to the caller's account.
   */
  createCommunity: Community;
  /**
   * Runs a scenario (the policy test format of docs/policy-tests.md, with only `steps` or one
   * case) against a draft policy, on a virtual clock and an in-memory log: nothing is recorded
   * in the community's log. The scenario's community is the community as it is now (its
   * platforms, members by id, roles and active policies; a scenario may give its own
   * `community` instead), with the draft added, or in place of the policy draft.policyId
   * names. Blocks run in the policy sandbox with the server's limits. A mutation because it
   * runs code; it needs the view permission in the community. INVALID for a scenario that
   * does not parse or set up (each problem as `scenario:line: message`), over 64 KiB, with more
   * than 200 steps or more than 2000 re-checks of the virtual clock.
   */
  dryRun: DryRunResult;
  /**
   * Proposes a PolicyKit policy file (JSON) as the constitution action that adds it
   * (policykitadd<kind>policy), as proposeConstitutionAction does.
   */
  importPolicy: ProposeActionPayload;
  /**
   * Checks the password and starts a browser session: sets the http-only session cookie
   * policykit_session (SameSite=Lax). A wrong username or password is FORBIDDEN.
   */
  login: Account;
  /** Ends the request's session, if any, and clears the cookie; true when a session ended. */
  logout: Scalars['Boolean']['output'];
  /**
   * Proposes an action as a member (a platform action proposed from PolicyKit, or any action
   * type by name) and evaluates it at once. Returns the action and its governing proposal, if
   * a policy governs it.
   */
  proposeAction: ProposeActionPayload;
  /**
   * Proposes one of the 23 constitution actions (PolicyKit's 21: policykitaddrole,
   * policykitaddcommunitydoc, policykitaddplatformpolicy ...; and connecting and disconnecting a
   * platform: policykitaddintegration, policykitremoveintegration) with its payload, and
   * evaluates it at once. The secrets of a connection are given in the clear and sealed with
   * the server's secret key before the action is recorded (INVALID when the server has none);
   * no field of the API ever returns them, sealed or not.
   */
  proposeConstitutionAction: ProposeActionPayload;
  /**
   * Creates an account (no community access until it is linked to a community user).
   * username: 3 to 64 letters, digits, '.', '_' or '-' (kept lower-case; CONFLICT when taken);
   * password: 8 to 72 bytes.
   */
  register: Account;
  /** Revokes one of the caller's API tokens (NOT_FOUND for any other); revoking twice is fine. */
  revokeApiToken: ApiToken;
};


export type MutationApplyStarterKitArgs = {
  input: ApplyStarterKitInput;
};


export type MutationCastVoteArgs = {
  input: CastVoteInput;
};


export type MutationCreateApiTokenArgs = {
  name: Scalars['String']['input'];
};


export type MutationCreateCommunityArgs = {
  input: CreateCommunityInput;
};


export type MutationDryRunArgs = {
  input: DryRunInput;
};


export type MutationImportPolicyArgs = {
  input: ImportPolicyInput;
};


export type MutationLoginArgs = {
  password: Scalars['String']['input'];
  username: Scalars['String']['input'];
};


export type MutationProposeActionArgs = {
  input: ProposeActionInput;
};


export type MutationProposeConstitutionActionArgs = {
  input: ProposeConstitutionActionInput;
};


export type MutationRegisterArgs = {
  password: Scalars['String']['input'];
  username: Scalars['String']['input'];
};


export type MutationRevokeApiTokenArgs = {
  id: Scalars['ID']['input'];
};

export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
};

/** The parts of a permission, verb:actiontype. */
export type PermissionCatalog = {
  __typename?: 'PermissionCatalog';
  /** Every known action type. */
  actionTypes: Array<Scalars['String']['output']>;
  /** propose, execute, view, vote */
  verbs: Array<Scalars['String']['output']>;
  /** *, platform:*, constitution:*, trigger:* (they do not grant explicit-permission types) */
  wildcards: Array<Scalars['String']['output']>;
};

export type Platform = {
  __typename?: 'Platform';
  /** False once the platform is disconnected (its settings and secret names stay as they were). */
  active: Scalars['Boolean']['output'];
  connectedAt: Scalars['Time']['output'];
  displayName: Scalars['String']['output'];
  externalId: Scalars['String']['output'];
  /**
   * The generic hook events of this platform are posted to
   * (<base URL>/api/hooks/<platform>/<community id>, see docs/hooks.md), which accepts them
   * once the connection has the secret webhook_secret (see secretNames) to sign them with; null
   * for PolicyKit's own platforms (web, constitution), or when the server has no public base URL.
   */
  hookURL?: Maybe<Scalars['String']['output']>;
  name: Scalars['String']['output'];
  /** The names of the connection's secrets, sorted; their values are never returned, not even sealed. */
  secretNames: Array<Scalars['String']['output']>;
  /** The connection's settings that are not secret, as a JSON object of strings. */
  settingsJSON: Scalars['String']['output'];
};

export type Policy = {
  __typename?: 'Policy';
  actionTypes: Array<Scalars['String']['output']>;
  active: Scalars['Boolean']['output'];
  /** The six blocks and their languages, as JSON. */
  codeJSON: Scalars['String']['output'];
  createdAt: Scalars['Time']['output'];
  description: Scalars['String']['output'];
  /** A line diff of the code of two versions: lines start with '  ', '- ' or '+ '. */
  diff: Scalars['String']['output'];
  hash: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  kind: Scalars['String']['output'];
  modifiedAt: Scalars['Time']['output'];
  name: Scalars['String']['output'];
  priority: Scalars['Int']['output'];
  variablesJSON: Scalars['String']['output'];
  version: Scalars['Int']['output'];
  /** Every change of the policy, oldest first (under community(asOf:), those made by then). */
  versions: PolicyVersionConnection;
};


export type PolicyDiffArgs = {
  fromVersion: Scalars['Int']['input'];
  toVersion: Scalars['Int']['input'];
};


export type PolicyVersionsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

/** The six blocks of a policy (each optional) and the languages of filter and check. */
export type PolicyCodeInput = {
  check?: InputMaybe<Scalars['String']['input']>;
  /** starlark (default) or expr */
  checkLang?: InputMaybe<Scalars['String']['input']>;
  fail?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<Scalars['String']['input']>;
  /** starlark (default) or expr */
  filterLang?: InputMaybe<Scalars['String']['input']>;
  initialize?: InputMaybe<Scalars['String']['input']>;
  notify?: InputMaybe<Scalars['String']['input']>;
  success?: InputMaybe<Scalars['String']['input']>;
};

export type PolicyConnection = {
  __typename?: 'PolicyConnection';
  edges: Array<PolicyEdge>;
  pageInfo: PageInfo;
};

/** A policy as the editor holds it, before it is proposed. */
export type PolicyDraftInput = {
  actionTypes?: InputMaybe<Array<Scalars['String']['input']>>;
  code: PolicyCodeInput;
  description?: InputMaybe<Scalars['String']['input']>;
  /** platform, constitution or trigger */
  kind: Scalars['String']['input'];
  name: Scalars['String']['input'];
  /** The policy the draft changes; none for a new policy (its id in the scenario: draft). */
  policyId?: InputMaybe<Scalars['ID']['input']>;
  priority?: InputMaybe<Scalars['Int']['input']>;
  /** The variables as PolicyKit's JSON list ([{name, label, type, default_value, value ...}]). */
  variablesJSON?: InputMaybe<Scalars['String']['input']>;
};

export type PolicyEdge = {
  __typename?: 'PolicyEdge';
  cursor: Scalars['String']['output'];
  node: Policy;
};

export type PolicyVersion = {
  __typename?: 'PolicyVersion';
  /** The constitution action that made the change, if any. */
  actionId: Scalars['String']['output'];
  active: Scalars['Boolean']['output'];
  /** added, changed, removed or recovered */
  change: Scalars['String']['output'];
  changedAt: Scalars['Time']['output'];
  /** The policy's whole content after the change, as JSON. */
  contentJSON: Scalars['String']['output'];
  hash: Scalars['String']['output'];
  version: Scalars['Int']['output'];
};

export type PolicyVersionConnection = {
  __typename?: 'PolicyVersionConnection';
  edges: Array<PolicyVersionEdge>;
  pageInfo: PageInfo;
};

export type PolicyVersionEdge = {
  __typename?: 'PolicyVersionEdge';
  cursor: Scalars['String']['output'];
  node: PolicyVersion;
};

export type Proposal = {
  __typename?: 'Proposal';
  action?: Maybe<Action>;
  actionId: Scalars['ID']['output'];
  actionKind: Scalars['String']['output'];
  actionType: Scalars['String']['output'];
  /**
   * What the votes the proposal started (initiate_vote) offer, in the order they were asked
   * for; none when it started none (then any well-formed vote is taken: yes, no, a choice or a
   * number).
   */
  ballots: Array<Ballot>;
  /**
   * Whether the caller may vote on it now: the vote permission for its action type, the
   * proposal pending and its vote not closed.
   */
  canVote: Scalars['Boolean']['output'];
  communityId: Scalars['ID']['output'];
  decidedAt?: Maybe<Scalars['Time']['output']>;
  /** The effects the proposal's policy asked for, in the order requested. */
  effects: EffectConnection;
  /** The recorded runs of the policy's blocks, oldest first (a pending proposal's check runs at every recheck). */
  evaluationLogs: EvaluationLogConnection;
  id: Scalars['ID']['output'];
  initiatorId: Scalars['String']['output'];
  policyId: Scalars['ID']['output'];
  policyKind: Scalars['String']['output'];
  policyName: Scalars['String']['output'];
  policyVersion: Scalars['Int']['output'];
  proposalTime: Scalars['Time']['output'];
  reason: Scalars['String']['output'];
  status: ProposalStatus;
  tally: Tally;
  /** The decision trace, read from the event log (what `policykit audit explain` prints). */
  trace: Scalars['String']['output'];
  /** Re-runs the proposal's recorded decisions against the log. */
  verification: Verification;
  votePostId: Scalars['String']['output'];
  voteUrl: Scalars['String']['output'];
  /** Each member's current vote (one per member at most, all of them: tally counts them). */
  votes: Array<Vote>;
};


export type ProposalEffectsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type ProposalEvaluationLogsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type ProposalConnection = {
  __typename?: 'ProposalConnection';
  edges: Array<ProposalEdge>;
  pageInfo: PageInfo;
};

export type ProposalEdge = {
  __typename?: 'ProposalEdge';
  cursor: Scalars['String']['output'];
  node: Proposal;
};

export type ProposalFilter = {
  actionType?: InputMaybe<Scalars['String']['input']>;
  /** Proposals opened at or after this time. */
  from?: InputMaybe<Scalars['Time']['input']>;
  initiatorId?: InputMaybe<Scalars['ID']['input']>;
  /** Action kind: platform, constitution or trigger. */
  kind?: InputMaybe<Scalars['String']['input']>;
  policyId?: InputMaybe<Scalars['ID']['input']>;
  status?: InputMaybe<ProposalStatus>;
  /** Proposals opened before this time. */
  to?: InputMaybe<Scalars['Time']['input']>;
};

export type ProposalStatus =
  | 'FAILED'
  | 'PASSED'
  | 'PROPOSED';

/** The caller's user in the community proposes. */
export type ProposeActionInput = {
  actionType: Scalars['String']['input'];
  communityId: Scalars['ID']['input'];
  /** The action's fields as a JSON object. */
  fieldsJSON?: InputMaybe<Scalars['String']['input']>;
  /** Default: the action type's platform. */
  platform?: InputMaybe<Scalars['String']['input']>;
};

export type ProposeActionPayload = {
  __typename?: 'ProposeActionPayload';
  action: Action;
  /** The governing proposal; null when no policy governs the action. */
  proposal?: Maybe<Proposal>;
};

/** The caller's user in the community proposes. */
export type ProposeConstitutionActionInput = {
  communityId: Scalars['ID']['input'];
  /** The payload as a JSON object, e.g. {"name": "Gardener", "permissions": []}. */
  payloadJSON: Scalars['String']['input'];
  /** One of the 23 policykit* constitution action types. */
  type: Scalars['String']['input'];
};

export type Query = {
  __typename?: 'Query';
  /** One action; NOT_FOUND and FORBIDDEN as for proposal. */
  action?: Maybe<Action>;
  /**
   * Every action type the server knows, by kind, platform and type: what a form to propose
   * one is built from (its fields), and what a policy or a permission may name.
   */
  actionTypes: Array<ActionType>;
  /** The communities the caller is a member of and may view, by name. */
  communities: Array<Community>;
  /**
   * One community; NOT_FOUND when there is none with this id or the caller is not a member,
   * FORBIDDEN when the caller may view nothing there.
   */
  community?: Maybe<Community>;
  /** A policy's current version as a PolicyKit policy file (JSON); NOT_FOUND and FORBIDDEN as for community. */
  exportPolicy: Scalars['String']['output'];
  /**
   * The platforms whose install flow this server serves (an app or bot added to a workspace
   * or server creates or connects its community), with the address to send a browser to.
   */
  installLinks: Array<InstallLink>;
  /** The caller's account. */
  me: Account;
  /** What a role's permissions are made of, to build a checklist (see Role.permissions). */
  permissionCatalog: PermissionCatalog;
  /** One policy, its current version; NOT_FOUND and FORBIDDEN as for community. */
  policy?: Maybe<Policy>;
  /**
   * One proposal; NOT_FOUND when there is none with this id or the caller is not a member of its
   * community, FORBIDDEN without the view permission on its action type.
   */
  proposal?: Maybe<Proposal>;
  /** The starter kits createCommunity and applyStarterKit accept, by name. */
  starterKits: Array<StarterKit>;
  /**
   * Compiles the six blocks of policy code the way a proposal to add or change a policy is
   * checked (in the policy sandbox) and returns each problem; none when the code compiles.
   * Each block is at most 64 KiB (more is INVALID). INVALID when the server has no policy
   * sandbox.
   */
  validatePolicyCode: Array<CodeProblem>;
};


export type QueryActionArgs = {
  id: Scalars['ID']['input'];
};


export type QueryCommunityArgs = {
  asOf?: InputMaybe<Scalars['Time']['input']>;
  asOfPosition?: InputMaybe<Scalars['String']['input']>;
  id: Scalars['ID']['input'];
};


export type QueryExportPolicyArgs = {
  id: Scalars['ID']['input'];
};


export type QueryPolicyArgs = {
  id: Scalars['ID']['input'];
};


export type QueryProposalArgs = {
  id: Scalars['ID']['input'];
};


export type QueryValidatePolicyCodeArgs = {
  code: PolicyCodeInput;
};

export type Role = {
  __typename?: 'Role';
  createdAt: Scalars['Time']['output'];
  description: Scalars['String']['output'];
  /** Every member holds a base role. */
  isBase: Scalars['Boolean']['output'];
  name: Scalars['String']['output'];
  /** Permissions as verb:actiontype, e.g. propose:slackpostmessage. */
  permissions: Array<Scalars['String']['output']>;
};

export type RoleConnection = {
  __typename?: 'RoleConnection';
  edges: Array<RoleEdge>;
  pageInfo: PageInfo;
};

export type RoleEdge = {
  __typename?: 'RoleEdge';
  cursor: Scalars['String']['output'];
  node: Role;
};

/** A starter kit: the roles and policies a community can start with. */
export type StarterKit = {
  __typename?: 'StarterKit';
  description: Scalars['String']['output'];
  name: Scalars['String']['output'];
  /** Policy names, platform then constitution then trigger policies. */
  policies: Array<Scalars['String']['output']>;
  /** Role names. */
  roles: Array<Scalars['String']['output']>;
};

/**
 * Live updates over a websocket (the graphql-transport-ws protocol, or the older graphql-ws).
 * The connection_init payload authenticates the connection: {"authorization": "Bearer <token>"};
 * without one, the session cookie of the upgrade request does (browsers send it only to the same
 * origin, and connections from another origin are refused). Without a valid token or session the
 * connection is refused. Authorization is as for queries.
 */
export type Subscription = {
  __typename?: 'Subscription';
  /**
   * The live audit tail: every new event of the community (from the end of the log when the
   * subscription starts) that Community.events would show the caller. NOT_FOUND and FORBIDDEN
   * as for Query.community.
   */
  communityEvents: Event;
  /**
   * The proposal as it is now, then again after each new event of its stream (a vote, its
   * decision ...), read back from the read models once they include the event. NOT_FOUND and
   * FORBIDDEN as for Query.proposal.
   */
  proposalUpdated: Proposal;
};


/**
 * Live updates over a websocket (the graphql-transport-ws protocol, or the older graphql-ws).
 * The connection_init payload authenticates the connection: {"authorization": "Bearer <token>"};
 * without one, the session cookie of the upgrade request does (browsers send it only to the same
 * origin, and connections from another origin are refused). Without a valid token or session the
 * connection is refused. Authorization is as for queries.
 */
export type SubscriptionCommunityEventsArgs = {
  communityId: Scalars['ID']['input'];
};


/**
 * Live updates over a websocket (the graphql-transport-ws protocol, or the older graphql-ws).
 * The connection_init payload authenticates the connection: {"authorization": "Bearer <token>"};
 * without one, the session cookie of the upgrade request does (browsers send it only to the same
 * origin, and connections from another origin are refused). Without a valid token or session the
 * connection is refused. Authorization is as for queries.
 */
export type SubscriptionProposalUpdatedArgs = {
  id: Scalars['ID']['input'];
};

export type Tally = {
  __typename?: 'Tally';
  /** Current choice votes, counted per choice. */
  choices: Array<ChoiceCount>;
  no: Scalars['Int']['output'];
  total: Scalars['Int']['output'];
  yes: Scalars['Int']['output'];
};

/** Re-running a proposal's recorded decisions (what `policykit audit verify` does, for one proposal). */
export type Verification = {
  __typename?: 'Verification';
  /** The recorded decisions that touch the proposal. */
  decisions: Scalars['Int']['output'];
  /** One line per decision that comes out differently now. */
  mismatches: Array<Scalars['String']['output']>;
  ok: Scalars['Boolean']['output'];
};

export type Vote = {
  __typename?: 'Vote';
  boolean?: Maybe<Scalars['Boolean']['output']>;
  castAt: Scalars['Time']['output'];
  choice?: Maybe<Scalars['String']['output']>;
  /** boolean, choice or number */
  kind: Scalars['String']['output'];
  number?: Maybe<Scalars['Int']['output']>;
  userId: Scalars['ID']['output'];
  username: Scalars['String']['output'];
};

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { __typename?: 'Query', me: { __typename?: 'Account', id: string, username: string, memberships: Array<{ __typename?: 'Membership', communityId: string, userId: string, isAdmin: boolean, permissions: Array<string> }> } };

export type ProposeConstitutionMutationVariables = Exact<{
  input: ProposeConstitutionActionInput;
}>;


export type ProposeConstitutionMutation = { __typename?: 'Mutation', proposeConstitutionAction: { __typename?: 'ProposeActionPayload', action: { __typename?: 'Action', id: string, type: string, status: string, reason: string }, proposal?: { __typename?: 'Proposal', id: string, status: ProposalStatus } | null } };

export type ProposePlatformActionMutationVariables = Exact<{
  input: ProposeActionInput;
}>;


export type ProposePlatformActionMutation = { __typename?: 'Mutation', proposeAction: { __typename?: 'ProposeActionPayload', action: { __typename?: 'Action', id: string, type: string, status: string, reason: string }, proposal?: { __typename?: 'Proposal', id: string, status: ProposalStatus } | null } };

export type AsOfQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  asOf?: InputMaybe<Scalars['Time']['input']>;
  position?: InputMaybe<Scalars['String']['input']>;
}>;


export type AsOfQuery = { __typename?: 'Query', community?: { __typename?: 'Community', id: string, name: string, platforms: Array<{ __typename?: 'Platform', name: string, active: boolean }>, roles: { __typename?: 'RoleConnection', edges: Array<{ __typename?: 'RoleEdge', node: { __typename?: 'Role', name: string, permissions: Array<string> } }> }, members: { __typename?: 'MemberConnection', edges: Array<{ __typename?: 'MemberEdge', node: { __typename?: 'Member', id: string, username: string, roles: Array<string> } }> }, documents: { __typename?: 'DocumentConnection', edges: Array<{ __typename?: 'DocumentEdge', node: { __typename?: 'Document', id: string, name: string, active: boolean } }> }, policies: { __typename?: 'PolicyConnection', edges: Array<{ __typename?: 'PolicyEdge', node: { __typename?: 'Policy', id: string, name: string, kind: string, version: number, active: boolean } }> }, proposals: { __typename?: 'ProposalConnection', edges: Array<{ __typename?: 'ProposalEdge', node: { __typename?: 'Proposal', id: string, actionType: string, status: ProposalStatus } }> } } | null };

export type TimelineQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type TimelineQuery = { __typename?: 'Query', community?: { __typename?: 'Community', id: string, name: string, createdAt: string, events: { __typename?: 'EventConnection', edges: Array<{ __typename?: 'EventEdge', node: { __typename?: 'Event', position: string, type: string, recordedAt: string } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } } } | null };

export type ProposalIdsQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type ProposalIdsQuery = { __typename?: 'Query', community?: { __typename?: 'Community', proposals: { __typename?: 'ProposalConnection', edges: Array<{ __typename?: 'ProposalEdge', node: { __typename?: 'Proposal', id: string, status: ProposalStatus } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } } } | null };

export type VerifyOneQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type VerifyOneQuery = { __typename?: 'Query', proposal?: { __typename?: 'Proposal', id: string, verification: { __typename?: 'Verification', ok: boolean, decisions: number, mismatches: Array<string> } } | null };

export type ExportEventsQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type ExportEventsQuery = { __typename?: 'Query', community?: { __typename?: 'Community', events: { __typename?: 'EventConnection', edges: Array<{ __typename?: 'EventEdge', node: { __typename?: 'Event', id: string, position: string, stream: string, version: number, type: string, schemaVersion: number, recordedAt: string, causationId?: string | null, correlationId?: string | null, dataJSON: string } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } } } | null };

export type CommunitiesQueryVariables = Exact<{ [key: string]: never; }>;


export type CommunitiesQuery = { __typename?: 'Query', communities: Array<{ __typename?: 'Community', id: string, name: string, createdAt: string, platforms: Array<{ __typename?: 'Platform', name: string, active: boolean }> }> };

export type CommunityHomeQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type CommunityHomeQuery = { __typename?: 'Query', community?: { __typename?: 'Community', id: string, name: string, platforms: Array<{ __typename?: 'Platform', name: string, displayName: string, active: boolean, connectedAt: string }>, documents: { __typename?: 'DocumentConnection', edges: Array<{ __typename?: 'DocumentEdge', node: { __typename?: 'Document', id: string, name: string, text: string, active: boolean, updatedAt: string } }> }, policies: { __typename?: 'PolicyConnection', edges: Array<{ __typename?: 'PolicyEdge', node: { __typename?: 'Policy', id: string, kind: string, name: string, description: string, active: boolean, actionTypes: Array<string> } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean } }, pending: { __typename?: 'ProposalConnection', edges: Array<{ __typename?: 'ProposalEdge', node: { __typename?: 'Proposal', id: string, status: ProposalStatus, actionType: string, policyName: string, proposalTime: string, tally: { __typename?: 'Tally', yes: number, no: number, total: number } } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean } }, recent: { __typename?: 'ProposalConnection', edges: Array<{ __typename?: 'ProposalEdge', node: { __typename?: 'Proposal', id: string, status: ProposalStatus, actionType: string, policyName: string, proposalTime: string, decidedAt?: string | null } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean } }, members: { __typename?: 'MemberConnection', edges: Array<{ __typename?: 'MemberEdge', node: { __typename?: 'Member', id: string, username: string, readableName: string, platform: string, roles: Array<string> } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean } } } | null };

export type CommunityEventsSubscriptionVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type CommunityEventsSubscription = { __typename?: 'Subscription', communityEvents: { __typename?: 'Event', id: string, position: string, type: string, recordedAt: string } };

export type DocumentsQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type DocumentsQuery = { __typename?: 'Query', community?: { __typename?: 'Community', id: string, name: string, documents: { __typename?: 'DocumentConnection', edges: Array<{ __typename?: 'DocumentEdge', node: { __typename?: 'Document', id: string, name: string, text: string, active: boolean, createdAt: string, updatedAt: string } }> } } | null };

export type PlatformsQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type PlatformsQuery = { __typename?: 'Query', community?: { __typename?: 'Community', id: string, name: string, platforms: Array<{ __typename?: 'Platform', name: string, externalId: string, displayName: string, active: boolean, connectedAt: string, settingsJSON: string, secretNames: Array<string>, hookURL?: string | null }> } | null, installLinks: Array<{ __typename?: 'InstallLink', platform: string, url: string }> };

export type LogEventFragment = { __typename?: 'Event', id: string, position: string, stream: string, version: number, type: string, recordedAt: string, dataJSON: string };

export type EventsQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type EventsQuery = { __typename?: 'Query', community?: { __typename?: 'Community', id: string, name: string, events: { __typename?: 'EventConnection', edges: Array<{ __typename?: 'EventEdge', node: { __typename?: 'Event', id: string, position: string, stream: string, version: number, type: string, recordedAt: string, dataJSON: string } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } } } | null };

export type EvaluationLogsQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  level?: InputMaybe<Scalars['String']['input']>;
  policyId?: InputMaybe<Scalars['ID']['input']>;
  proposalId?: InputMaybe<Scalars['ID']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type EvaluationLogsQuery = { __typename?: 'Query', community?: { __typename?: 'Community', id: string, policies: { __typename?: 'PolicyConnection', edges: Array<{ __typename?: 'PolicyEdge', node: { __typename?: 'Policy', id: string, name: string } }> }, evaluationLogs: { __typename?: 'EvaluationLogLineConnection', edges: Array<{ __typename?: 'EvaluationLogLineEdge', node: { __typename?: 'EvaluationLogLine', proposalId: string, policyId: string, block: string, level: string, message: string, evaluatedAt: string } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } } } | null };

export type LiveEventsSubscriptionVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type LiveEventsSubscription = { __typename?: 'Subscription', communityEvents: { __typename?: 'Event', id: string, position: string, stream: string, version: number, type: string, recordedAt: string, dataJSON: string } };

export type StarterKitsQueryVariables = Exact<{ [key: string]: never; }>;


export type StarterKitsQuery = { __typename?: 'Query', starterKits: Array<{ __typename?: 'StarterKit', name: string, description: string, roles: Array<string>, policies: Array<string> }> };

export type CreateCommunityMutationVariables = Exact<{
  input: CreateCommunityInput;
}>;


export type CreateCommunityMutation = { __typename?: 'Mutation', createCommunity: { __typename?: 'Community', id: string, name: string } };

export type WelcomeQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type WelcomeQuery = { __typename?: 'Query', community?: { __typename?: 'Community', id: string, name: string, roles: { __typename?: 'RoleConnection', edges: Array<{ __typename?: 'RoleEdge', node: { __typename?: 'Role', name: string, description: string, permissions: Array<string>, isBase: boolean } }> }, policies: { __typename?: 'PolicyConnection', edges: Array<{ __typename?: 'PolicyEdge', node: { __typename?: 'Policy', id: string, kind: string, name: string, description: string, active: boolean, actionTypes: Array<string> } }> } } | null };

export type PolicyEditQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type PolicyEditQuery = { __typename?: 'Query', exportPolicy: string, policy?: { __typename?: 'Policy', id: string, kind: string, name: string, description: string, actionTypes: Array<string>, priority: number, active: boolean, version: number, hash: string, codeJSON: string, variablesJSON: string, versions: { __typename?: 'PolicyVersionConnection', edges: Array<{ __typename?: 'PolicyVersionEdge', node: { __typename?: 'PolicyVersion', version: number, change: string, active: boolean, hash: string, changedAt: string, actionId: string } }> } } | null };

export type PolicyEditorDataQueryVariables = Exact<{
  community: Scalars['ID']['input'];
}>;


export type PolicyEditorDataQuery = { __typename?: 'Query', actionTypes: Array<{ __typename?: 'ActionType', type: string, kind: string, platform: string, label: string, governable: boolean, fields: Array<{ __typename?: 'ActionField', name: string, type: string, required: boolean }> }>, community?: { __typename?: 'Community', id: string, name: string, platforms: Array<{ __typename?: 'Platform', name: string, active: boolean }>, members: { __typename?: 'MemberConnection', edges: Array<{ __typename?: 'MemberEdge', node: { __typename?: 'Member', id: string, username: string } }> } } | null };

export type PolicyDiffQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  from: Scalars['Int']['input'];
  to: Scalars['Int']['input'];
}>;


export type PolicyDiffQuery = { __typename?: 'Query', policy?: { __typename?: 'Policy', id: string, diff: string } | null };

export type ValidatePolicyCodeQueryVariables = Exact<{
  code: PolicyCodeInput;
}>;


export type ValidatePolicyCodeQuery = { __typename?: 'Query', validatePolicyCode: Array<{ __typename?: 'CodeProblem', block: string, line: number, column: number, message: string }> };

export type DryRunMutationVariables = Exact<{
  input: DryRunInput;
}>;


export type DryRunMutation = { __typename?: 'Mutation', dryRun: { __typename?: 'DryRunResult', ok: boolean, steps: Array<{ __typename?: 'DryRunStep', line: number, kind: string, description: string, at: string, status?: ProposalStatus | null, passed: boolean, error?: string | null, events: Array<string>, logs: Array<string> }> } };

export type ImportPolicyMutationVariables = Exact<{
  input: ImportPolicyInput;
}>;


export type ImportPolicyMutation = { __typename?: 'Mutation', importPolicy: { __typename?: 'ProposeActionPayload', action: { __typename?: 'Action', id: string, type: string, status: string, reason: string }, proposal?: { __typename?: 'Proposal', id: string, status: ProposalStatus } | null } };

export type ProposalFieldsFragment = { __typename?: 'Proposal', id: string, communityId: string, actionId: string, actionType: string, actionKind: string, initiatorId: string, policyId: string, policyName: string, policyKind: string, policyVersion: number, status: ProposalStatus, reason: string, proposalTime: string, decidedAt?: string | null, voteUrl: string, trace: string, canVote: boolean, action?: { __typename?: 'Action', id: string, type: string, kind: string, platform: string, status: string, fieldsJSON: string, reason: string } | null, votes: Array<{ __typename?: 'Vote', userId: string, username: string, kind: string, boolean?: boolean | null, choice?: string | null, number?: number | null, castAt: string }>, tally: { __typename?: 'Tally', yes: number, no: number, total: number, choices: Array<{ __typename?: 'ChoiceCount', choice: string, count: number }> }, effects: { __typename?: 'EffectConnection', edges: Array<{ __typename?: 'EffectEdge', node: { __typename?: 'Effect', id: string, platform: string, method: string, purpose: string, status: string, argsJSON: string, resultJSON?: string | null, error: string, requestedAt: string } }> }, evaluationLogs: { __typename?: 'EvaluationLogConnection', edges: Array<{ __typename?: 'EvaluationLogEdge', node: { __typename?: 'EvaluationLog', block: string, result: string, error: string, logsJSON: string, evaluatedAt: string } }> }, ballots: Array<{ __typename?: 'Ballot', kind: string, options: Array<string> }> };

export type ProposalPageQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type ProposalPageQuery = { __typename?: 'Query', proposal?: { __typename?: 'Proposal', id: string, communityId: string, actionId: string, actionType: string, actionKind: string, initiatorId: string, policyId: string, policyName: string, policyKind: string, policyVersion: number, status: ProposalStatus, reason: string, proposalTime: string, decidedAt?: string | null, voteUrl: string, trace: string, canVote: boolean, action?: { __typename?: 'Action', id: string, type: string, kind: string, platform: string, status: string, fieldsJSON: string, reason: string } | null, votes: Array<{ __typename?: 'Vote', userId: string, username: string, kind: string, boolean?: boolean | null, choice?: string | null, number?: number | null, castAt: string }>, tally: { __typename?: 'Tally', yes: number, no: number, total: number, choices: Array<{ __typename?: 'ChoiceCount', choice: string, count: number }> }, effects: { __typename?: 'EffectConnection', edges: Array<{ __typename?: 'EffectEdge', node: { __typename?: 'Effect', id: string, platform: string, method: string, purpose: string, status: string, argsJSON: string, resultJSON?: string | null, error: string, requestedAt: string } }> }, evaluationLogs: { __typename?: 'EvaluationLogConnection', edges: Array<{ __typename?: 'EvaluationLogEdge', node: { __typename?: 'EvaluationLog', block: string, result: string, error: string, logsJSON: string, evaluatedAt: string } }> }, ballots: Array<{ __typename?: 'Ballot', kind: string, options: Array<string> }> } | null };

export type ProposalLiveSubscriptionVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type ProposalLiveSubscription = { __typename?: 'Subscription', proposalUpdated: { __typename?: 'Proposal', id: string, communityId: string, actionId: string, actionType: string, actionKind: string, initiatorId: string, policyId: string, policyName: string, policyKind: string, policyVersion: number, status: ProposalStatus, reason: string, proposalTime: string, decidedAt?: string | null, voteUrl: string, trace: string, canVote: boolean, action?: { __typename?: 'Action', id: string, type: string, kind: string, platform: string, status: string, fieldsJSON: string, reason: string } | null, votes: Array<{ __typename?: 'Vote', userId: string, username: string, kind: string, boolean?: boolean | null, choice?: string | null, number?: number | null, castAt: string }>, tally: { __typename?: 'Tally', yes: number, no: number, total: number, choices: Array<{ __typename?: 'ChoiceCount', choice: string, count: number }> }, effects: { __typename?: 'EffectConnection', edges: Array<{ __typename?: 'EffectEdge', node: { __typename?: 'Effect', id: string, platform: string, method: string, purpose: string, status: string, argsJSON: string, resultJSON?: string | null, error: string, requestedAt: string } }> }, evaluationLogs: { __typename?: 'EvaluationLogConnection', edges: Array<{ __typename?: 'EvaluationLogEdge', node: { __typename?: 'EvaluationLog', block: string, result: string, error: string, logsJSON: string, evaluatedAt: string } }> }, ballots: Array<{ __typename?: 'Ballot', kind: string, options: Array<string> }> } };

export type CastVoteMutationVariables = Exact<{
  input: CastVoteInput;
}>;


export type CastVoteMutation = { __typename?: 'Mutation', castVote: { __typename?: 'CastVotePayload', proposal: { __typename?: 'Proposal', id: string, status: ProposalStatus, tally: { __typename?: 'Tally', yes: number, no: number, total: number } } } };

export type VerifyProposalQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type VerifyProposalQuery = { __typename?: 'Query', proposal?: { __typename?: 'Proposal', id: string, verification: { __typename?: 'Verification', ok: boolean, decisions: number, mismatches: Array<string> } } | null };

export type ProposeFormQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type ProposeFormQuery = { __typename?: 'Query', community?: { __typename?: 'Community', id: string, name: string, members: { __typename?: 'MemberConnection', edges: Array<{ __typename?: 'MemberEdge', node: { __typename?: 'Member', id: string, username: string, readableName: string } }> } } | null, actionTypes: Array<{ __typename?: 'ActionType', type: string, kind: string, platform: string, label: string, proposable: boolean, fields: Array<{ __typename?: 'ActionField', name: string, type: string, required: boolean, description?: string | null }> }>, permissionCatalog: { __typename?: 'PermissionCatalog', verbs: Array<string>, wildcards: Array<string>, actionTypes: Array<string> } };

export type RolesQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type RolesQuery = { __typename?: 'Query', community?: { __typename?: 'Community', id: string, name: string, roles: { __typename?: 'RoleConnection', edges: Array<{ __typename?: 'RoleEdge', node: { __typename?: 'Role', name: string, description: string, isBase: boolean, permissions: Array<string> } }> }, members: { __typename?: 'MemberConnection', edges: Array<{ __typename?: 'MemberEdge', node: { __typename?: 'Member', id: string, username: string, readableName: string, platform: string, roles: Array<string> } }> } } | null, actionTypes: Array<{ __typename?: 'ActionType', type: string, kind: string, label: string }>, permissionCatalog: { __typename?: 'PermissionCatalog', verbs: Array<string>, wildcards: Array<string>, actionTypes: Array<string> } };

export type LoginMutationVariables = Exact<{
  username: Scalars['String']['input'];
  password: Scalars['String']['input'];
}>;


export type LoginMutation = { __typename?: 'Mutation', login: { __typename?: 'Account', id: string, username: string } };

export type RegisterMutationVariables = Exact<{
  username: Scalars['String']['input'];
  password: Scalars['String']['input'];
}>;


export type RegisterMutation = { __typename?: 'Mutation', register: { __typename?: 'Account', id: string } };

export type LogoutMutationVariables = Exact<{ [key: string]: never; }>;


export type LogoutMutation = { __typename?: 'Mutation', logout: boolean };

export const LogEventFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"LogEvent"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Event"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"stream"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"recordedAt"}},{"kind":"Field","name":{"kind":"Name","value":"dataJSON"}}]}}]} as unknown as DocumentNode<LogEventFragment, unknown>;
export const ProposalFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ProposalFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Proposal"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"communityId"}},{"kind":"Field","name":{"kind":"Name","value":"actionId"}},{"kind":"Field","name":{"kind":"Name","value":"actionType"}},{"kind":"Field","name":{"kind":"Name","value":"actionKind"}},{"kind":"Field","name":{"kind":"Name","value":"initiatorId"}},{"kind":"Field","name":{"kind":"Name","value":"policyId"}},{"kind":"Field","name":{"kind":"Name","value":"policyName"}},{"kind":"Field","name":{"kind":"Name","value":"policyKind"}},{"kind":"Field","name":{"kind":"Name","value":"policyVersion"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"proposalTime"}},{"kind":"Field","name":{"kind":"Name","value":"decidedAt"}},{"kind":"Field","name":{"kind":"Name","value":"voteUrl"}},{"kind":"Field","name":{"kind":"Name","value":"action"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"platform"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"fieldsJSON"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}},{"kind":"Field","name":{"kind":"Name","value":"votes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"boolean"}},{"kind":"Field","name":{"kind":"Name","value":"choice"}},{"kind":"Field","name":{"kind":"Name","value":"number"}},{"kind":"Field","name":{"kind":"Name","value":"castAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"tally"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"yes"}},{"kind":"Field","name":{"kind":"Name","value":"no"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"choices"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"choice"}},{"kind":"Field","name":{"kind":"Name","value":"count"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"effects"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"platform"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"purpose"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"argsJSON"}},{"kind":"Field","name":{"kind":"Name","value":"resultJSON"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"requestedAt"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"evaluationLogs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"block"}},{"kind":"Field","name":{"kind":"Name","value":"result"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"logsJSON"}},{"kind":"Field","name":{"kind":"Name","value":"evaluatedAt"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"trace"}},{"kind":"Field","name":{"kind":"Name","value":"ballots"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"options"}}]}},{"kind":"Field","name":{"kind":"Name","value":"canVote"}}]}}]} as unknown as DocumentNode<ProposalFieldsFragment, unknown>;
export const MeDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Me"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"me"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"memberships"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"communityId"}},{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"isAdmin"}},{"kind":"Field","name":{"kind":"Name","value":"permissions"}}]}}]}}]}}]} as unknown as DocumentNode<MeQuery, MeQueryVariables>;
export const ProposeConstitutionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ProposeConstitution"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ProposeConstitutionActionInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"proposeConstitutionAction"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}},{"kind":"Field","name":{"kind":"Name","value":"proposal"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]}}]} as unknown as DocumentNode<ProposeConstitutionMutation, ProposeConstitutionMutationVariables>;
export const ProposePlatformActionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ProposePlatformAction"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ProposeActionInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"proposeAction"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}},{"kind":"Field","name":{"kind":"Name","value":"proposal"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]}}]} as unknown as DocumentNode<ProposePlatformActionMutation, ProposePlatformActionMutationVariables>;
export const AsOfDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"AsOf"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Time"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"position"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"asOf"},"value":{"kind":"Variable","name":{"kind":"Name","value":"asOf"}}},{"kind":"Argument","name":{"kind":"Name","value":"asOfPosition"},"value":{"kind":"Variable","name":{"kind":"Name","value":"position"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"platforms"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}},{"kind":"Field","name":{"kind":"Name","value":"roles"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"permissions"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"members"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"roles"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"documents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"20"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"policies"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"proposals"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"20"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"actionType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<AsOfQuery, AsOfQueryVariables>;
export const TimelineDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Timeline"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"events"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"100"}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"recordedAt"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]}}]} as unknown as DocumentNode<TimelineQuery, TimelineQueryVariables>;
export const ProposalIdsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ProposalIds"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"proposals"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"100"}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]}}]} as unknown as DocumentNode<ProposalIdsQuery, ProposalIdsQueryVariables>;
export const VerifyOneDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"VerifyOne"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"proposal"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"verification"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"ok"}},{"kind":"Field","name":{"kind":"Name","value":"decisions"}},{"kind":"Field","name":{"kind":"Name","value":"mismatches"}}]}}]}}]}}]} as unknown as DocumentNode<VerifyOneQuery, VerifyOneQueryVariables>;
export const ExportEventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ExportEvents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"events"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"100"}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"stream"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"schemaVersion"}},{"kind":"Field","name":{"kind":"Name","value":"recordedAt"}},{"kind":"Field","name":{"kind":"Name","value":"causationId"}},{"kind":"Field","name":{"kind":"Name","value":"correlationId"}},{"kind":"Field","name":{"kind":"Name","value":"dataJSON"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]}}]} as unknown as DocumentNode<ExportEventsQuery, ExportEventsQueryVariables>;
export const CommunitiesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Communities"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"communities"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"platforms"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}}]}}]}}]} as unknown as DocumentNode<CommunitiesQuery, CommunitiesQueryVariables>;
export const CommunityHomeDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CommunityHome"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"platforms"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"connectedAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"documents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"20"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"policies"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"30"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"actionTypes"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}}]}}]}},{"kind":"Field","alias":{"kind":"Name","value":"pending"},"name":{"kind":"Name","value":"proposals"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"20"}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"status"},"value":{"kind":"EnumValue","value":"PROPOSED"}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"actionType"}},{"kind":"Field","name":{"kind":"Name","value":"policyName"}},{"kind":"Field","name":{"kind":"Name","value":"proposalTime"}},{"kind":"Field","name":{"kind":"Name","value":"tally"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"yes"}},{"kind":"Field","name":{"kind":"Name","value":"no"}},{"kind":"Field","name":{"kind":"Name","value":"total"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}}]}}]}},{"kind":"Field","alias":{"kind":"Name","value":"recent"},"name":{"kind":"Name","value":"proposals"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"20"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"actionType"}},{"kind":"Field","name":{"kind":"Name","value":"policyName"}},{"kind":"Field","name":{"kind":"Name","value":"proposalTime"}},{"kind":"Field","name":{"kind":"Name","value":"decidedAt"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"members"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"25"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"readableName"}},{"kind":"Field","name":{"kind":"Name","value":"platform"}},{"kind":"Field","name":{"kind":"Name","value":"roles"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}}]}}]}}]}}]}}]} as unknown as DocumentNode<CommunityHomeQuery, CommunityHomeQueryVariables>;
export const CommunityEventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"CommunityEvents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"communityEvents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"communityId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"recordedAt"}}]}}]}}]} as unknown as DocumentNode<CommunityEventsSubscription, CommunityEventsSubscriptionVariables>;
export const DocumentsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Documents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"documents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"100"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<DocumentsQuery, DocumentsQueryVariables>;
export const PlatformsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Platforms"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"platforms"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"externalId"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"connectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"settingsJSON"}},{"kind":"Field","name":{"kind":"Name","value":"secretNames"}},{"kind":"Field","name":{"kind":"Name","value":"hookURL"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"installLinks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"platform"}},{"kind":"Field","name":{"kind":"Name","value":"url"}}]}}]}}]} as unknown as DocumentNode<PlatformsQuery, PlatformsQueryVariables>;
export const EventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Events"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"events"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"100"}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"LogEvent"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"LogEvent"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Event"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"stream"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"recordedAt"}},{"kind":"Field","name":{"kind":"Name","value":"dataJSON"}}]}}]} as unknown as DocumentNode<EventsQuery, EventsQueryVariables>;
export const EvaluationLogsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"EvaluationLogs"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"level"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"policyId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"proposalId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"policies"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"evaluationLogs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"level"},"value":{"kind":"Variable","name":{"kind":"Name","value":"level"}}},{"kind":"Argument","name":{"kind":"Name","value":"policyId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"policyId"}}},{"kind":"Argument","name":{"kind":"Name","value":"proposalId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"proposalId"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"proposalId"}},{"kind":"Field","name":{"kind":"Name","value":"policyId"}},{"kind":"Field","name":{"kind":"Name","value":"block"}},{"kind":"Field","name":{"kind":"Name","value":"level"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"evaluatedAt"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]}}]} as unknown as DocumentNode<EvaluationLogsQuery, EvaluationLogsQueryVariables>;
export const LiveEventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"LiveEvents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"communityEvents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"communityId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"LogEvent"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"LogEvent"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Event"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"stream"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"recordedAt"}},{"kind":"Field","name":{"kind":"Name","value":"dataJSON"}}]}}]} as unknown as DocumentNode<LiveEventsSubscription, LiveEventsSubscriptionVariables>;
export const StarterKitsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"StarterKits"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"starterKits"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"roles"}},{"kind":"Field","name":{"kind":"Name","value":"policies"}}]}}]}}]} as unknown as DocumentNode<StarterKitsQuery, StarterKitsQueryVariables>;
export const CreateCommunityDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateCommunity"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateCommunityInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createCommunity"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<CreateCommunityMutation, CreateCommunityMutationVariables>;
export const WelcomeDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Welcome"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"roles"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"permissions"}},{"kind":"Field","name":{"kind":"Name","value":"isBase"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"policies"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"actionTypes"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<WelcomeQuery, WelcomeQueryVariables>;
export const PolicyEditDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"PolicyEdit"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"policy"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"actionTypes"}},{"kind":"Field","name":{"kind":"Name","value":"priority"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"hash"}},{"kind":"Field","name":{"kind":"Name","value":"codeJSON"}},{"kind":"Field","name":{"kind":"Name","value":"variablesJSON"}},{"kind":"Field","name":{"kind":"Name","value":"versions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"change"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"hash"}},{"kind":"Field","name":{"kind":"Name","value":"changedAt"}},{"kind":"Field","name":{"kind":"Name","value":"actionId"}}]}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"exportPolicy"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}]}]}}]} as unknown as DocumentNode<PolicyEditQuery, PolicyEditQueryVariables>;
export const PolicyEditorDataDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"PolicyEditorData"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"community"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"actionTypes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"platform"}},{"kind":"Field","name":{"kind":"Name","value":"label"}},{"kind":"Field","name":{"kind":"Name","value":"governable"}},{"kind":"Field","name":{"kind":"Name","value":"fields"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"community"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"platforms"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}},{"kind":"Field","name":{"kind":"Name","value":"members"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"5"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<PolicyEditorDataQuery, PolicyEditorDataQueryVariables>;
export const PolicyDiffDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"PolicyDiff"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"from"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"to"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"policy"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"diff"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"fromVersion"},"value":{"kind":"Variable","name":{"kind":"Name","value":"from"}}},{"kind":"Argument","name":{"kind":"Name","value":"toVersion"},"value":{"kind":"Variable","name":{"kind":"Name","value":"to"}}}]}]}}]}}]} as unknown as DocumentNode<PolicyDiffQuery, PolicyDiffQueryVariables>;
export const ValidatePolicyCodeDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ValidatePolicyCode"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"code"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"PolicyCodeInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"validatePolicyCode"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"code"},"value":{"kind":"Variable","name":{"kind":"Name","value":"code"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"block"}},{"kind":"Field","name":{"kind":"Name","value":"line"}},{"kind":"Field","name":{"kind":"Name","value":"column"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<ValidatePolicyCodeQuery, ValidatePolicyCodeQueryVariables>;
export const DryRunDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DryRun"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DryRunInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dryRun"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"ok"}},{"kind":"Field","name":{"kind":"Name","value":"steps"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"line"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"passed"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"logs"}}]}}]}}]}}]} as unknown as DocumentNode<DryRunMutation, DryRunMutationVariables>;
export const ImportPolicyDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ImportPolicy"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ImportPolicyInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"importPolicy"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}},{"kind":"Field","name":{"kind":"Name","value":"proposal"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]}}]} as unknown as DocumentNode<ImportPolicyMutation, ImportPolicyMutationVariables>;
export const ProposalPageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ProposalPage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"proposal"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ProposalFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ProposalFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Proposal"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"communityId"}},{"kind":"Field","name":{"kind":"Name","value":"actionId"}},{"kind":"Field","name":{"kind":"Name","value":"actionType"}},{"kind":"Field","name":{"kind":"Name","value":"actionKind"}},{"kind":"Field","name":{"kind":"Name","value":"initiatorId"}},{"kind":"Field","name":{"kind":"Name","value":"policyId"}},{"kind":"Field","name":{"kind":"Name","value":"policyName"}},{"kind":"Field","name":{"kind":"Name","value":"policyKind"}},{"kind":"Field","name":{"kind":"Name","value":"policyVersion"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"proposalTime"}},{"kind":"Field","name":{"kind":"Name","value":"decidedAt"}},{"kind":"Field","name":{"kind":"Name","value":"voteUrl"}},{"kind":"Field","name":{"kind":"Name","value":"action"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"platform"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"fieldsJSON"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}},{"kind":"Field","name":{"kind":"Name","value":"votes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"boolean"}},{"kind":"Field","name":{"kind":"Name","value":"choice"}},{"kind":"Field","name":{"kind":"Name","value":"number"}},{"kind":"Field","name":{"kind":"Name","value":"castAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"tally"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"yes"}},{"kind":"Field","name":{"kind":"Name","value":"no"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"choices"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"choice"}},{"kind":"Field","name":{"kind":"Name","value":"count"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"effects"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"platform"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"purpose"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"argsJSON"}},{"kind":"Field","name":{"kind":"Name","value":"resultJSON"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"requestedAt"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"evaluationLogs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"block"}},{"kind":"Field","name":{"kind":"Name","value":"result"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"logsJSON"}},{"kind":"Field","name":{"kind":"Name","value":"evaluatedAt"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"trace"}},{"kind":"Field","name":{"kind":"Name","value":"ballots"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"options"}}]}},{"kind":"Field","name":{"kind":"Name","value":"canVote"}}]}}]} as unknown as DocumentNode<ProposalPageQuery, ProposalPageQueryVariables>;
export const ProposalLiveDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"ProposalLive"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"proposalUpdated"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ProposalFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ProposalFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Proposal"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"communityId"}},{"kind":"Field","name":{"kind":"Name","value":"actionId"}},{"kind":"Field","name":{"kind":"Name","value":"actionType"}},{"kind":"Field","name":{"kind":"Name","value":"actionKind"}},{"kind":"Field","name":{"kind":"Name","value":"initiatorId"}},{"kind":"Field","name":{"kind":"Name","value":"policyId"}},{"kind":"Field","name":{"kind":"Name","value":"policyName"}},{"kind":"Field","name":{"kind":"Name","value":"policyKind"}},{"kind":"Field","name":{"kind":"Name","value":"policyVersion"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"proposalTime"}},{"kind":"Field","name":{"kind":"Name","value":"decidedAt"}},{"kind":"Field","name":{"kind":"Name","value":"voteUrl"}},{"kind":"Field","name":{"kind":"Name","value":"action"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"platform"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"fieldsJSON"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}},{"kind":"Field","name":{"kind":"Name","value":"votes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"boolean"}},{"kind":"Field","name":{"kind":"Name","value":"choice"}},{"kind":"Field","name":{"kind":"Name","value":"number"}},{"kind":"Field","name":{"kind":"Name","value":"castAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"tally"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"yes"}},{"kind":"Field","name":{"kind":"Name","value":"no"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"choices"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"choice"}},{"kind":"Field","name":{"kind":"Name","value":"count"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"effects"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"platform"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"purpose"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"argsJSON"}},{"kind":"Field","name":{"kind":"Name","value":"resultJSON"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"requestedAt"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"evaluationLogs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"block"}},{"kind":"Field","name":{"kind":"Name","value":"result"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"logsJSON"}},{"kind":"Field","name":{"kind":"Name","value":"evaluatedAt"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"trace"}},{"kind":"Field","name":{"kind":"Name","value":"ballots"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"options"}}]}},{"kind":"Field","name":{"kind":"Name","value":"canVote"}}]}}]} as unknown as DocumentNode<ProposalLiveSubscription, ProposalLiveSubscriptionVariables>;
export const CastVoteDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CastVote"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CastVoteInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"castVote"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"proposal"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"tally"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"yes"}},{"kind":"Field","name":{"kind":"Name","value":"no"}},{"kind":"Field","name":{"kind":"Name","value":"total"}}]}}]}}]}}]}}]} as unknown as DocumentNode<CastVoteMutation, CastVoteMutationVariables>;
export const VerifyProposalDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"VerifyProposal"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"proposal"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"verification"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"ok"}},{"kind":"Field","name":{"kind":"Name","value":"decisions"}},{"kind":"Field","name":{"kind":"Name","value":"mismatches"}}]}}]}}]}}]} as unknown as DocumentNode<VerifyProposalQuery, VerifyProposalQueryVariables>;
export const ProposeFormDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ProposeForm"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"members"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"100"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"readableName"}}]}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"actionTypes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"platform"}},{"kind":"Field","name":{"kind":"Name","value":"label"}},{"kind":"Field","name":{"kind":"Name","value":"proposable"}},{"kind":"Field","name":{"kind":"Name","value":"fields"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}},{"kind":"Field","name":{"kind":"Name","value":"description"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"permissionCatalog"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"verbs"}},{"kind":"Field","name":{"kind":"Name","value":"wildcards"}},{"kind":"Field","name":{"kind":"Name","value":"actionTypes"}}]}}]}}]} as unknown as DocumentNode<ProposeFormQuery, ProposeFormQueryVariables>;
export const RolesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Roles"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"community"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"roles"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"100"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"isBase"}},{"kind":"Field","name":{"kind":"Name","value":"permissions"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"members"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"100"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"readableName"}},{"kind":"Field","name":{"kind":"Name","value":"platform"}},{"kind":"Field","name":{"kind":"Name","value":"roles"}}]}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"actionTypes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"label"}}]}},{"kind":"Field","name":{"kind":"Name","value":"permissionCatalog"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"verbs"}},{"kind":"Field","name":{"kind":"Name","value":"wildcards"}},{"kind":"Field","name":{"kind":"Name","value":"actionTypes"}}]}}]}}]} as unknown as DocumentNode<RolesQuery, RolesQueryVariables>;
export const LoginDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"Login"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"username"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"password"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"login"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"username"},"value":{"kind":"Variable","name":{"kind":"Name","value":"username"}}},{"kind":"Argument","name":{"kind":"Name","value":"password"},"value":{"kind":"Variable","name":{"kind":"Name","value":"password"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}}]} as unknown as DocumentNode<LoginMutation, LoginMutationVariables>;
export const RegisterDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"Register"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"username"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"password"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"register"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"username"},"value":{"kind":"Variable","name":{"kind":"Name","value":"username"}}},{"kind":"Argument","name":{"kind":"Name","value":"password"},"value":{"kind":"Variable","name":{"kind":"Name","value":"password"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]} as unknown as DocumentNode<RegisterMutation, RegisterMutationVariables>;
export const LogoutDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"Logout"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"logout"}}]}}]} as unknown as DocumentNode<LogoutMutation, LogoutMutationVariables>;