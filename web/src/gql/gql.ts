/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Me {\n    me {\n      id\n      username\n      memberships { communityId userId isAdmin permissions }\n    }\n  }\n": typeof types.MeDocument,
    "\n  mutation ProposeConstitution($input: ProposeConstitutionActionInput!) {\n    proposeConstitutionAction(input: $input) {\n      action { id type status reason }\n      proposal { id status }\n    }\n  }\n": typeof types.ProposeConstitutionDocument,
    "\n  mutation ProposePlatformAction($input: ProposeActionInput!) {\n    proposeAction(input: $input) {\n      action { id type status reason }\n      proposal { id status }\n    }\n  }\n": typeof types.ProposePlatformActionDocument,
    "\n  query AsOf($id: ID!, $asOf: Time, $position: String) {\n    community(id: $id, asOf: $asOf, asOfPosition: $position) {\n      id name\n      platforms { name active }\n      roles(first: 50) { edges { node { name permissions } } }\n      members(first: 50) { edges { node { id username roles } } }\n      documents(first: 20) { edges { node { id name active } } }\n      policies(first: 50) { edges { node { id name kind version active } } }\n      proposals(first: 20) { edges { node { id actionType status } } }\n    }\n  }\n": typeof types.AsOfDocument,
    "\n  query Timeline($id: ID!, $after: String) {\n    community(id: $id) { id name createdAt events(first: 100, after: $after) { edges { node { position type recordedAt } } pageInfo { hasNextPage endCursor } } }\n  }\n": typeof types.TimelineDocument,
    "\n  query ProposalIds($id: ID!, $after: String) {\n    community(id: $id) { proposals(first: 100, after: $after) { edges { node { id status } } pageInfo { hasNextPage endCursor } } }\n  }\n": typeof types.ProposalIdsDocument,
    "\n  query VerifyOne($id: ID!) { proposal(id: $id) { id verification { ok decisions mismatches } } }\n": typeof types.VerifyOneDocument,
    "\n  query ExportEvents($id: ID!, $after: String) {\n    community(id: $id) { events(first: 100, after: $after) { edges { node { id position stream version type schemaVersion recordedAt causationId correlationId dataJSON } } pageInfo { hasNextPage endCursor } } }\n  }\n": typeof types.ExportEventsDocument,
    "\n  query Communities {\n    communities { id name createdAt platforms { name active } }\n  }\n": typeof types.CommunitiesDocument,
    "\n  query CommunityHome($id: ID!) {\n    community(id: $id) {\n      id\n      name\n      platforms { name displayName active connectedAt }\n      documents(first: 20) { edges { node { id name text active updatedAt } } }\n      policies(first: 30) { edges { node { id kind name description active actionTypes } } pageInfo { hasNextPage } }\n      pending: proposals(first: 20, filter: { status: PROPOSED }) {\n        edges { node { id status actionType policyName proposalTime tally { yes no total } } }\n        pageInfo { hasNextPage }\n      }\n      recent: proposals(first: 20) {\n        edges { node { id status actionType policyName proposalTime decidedAt } }\n        pageInfo { hasNextPage }\n      }\n      members(first: 25) { edges { node { id username readableName platform roles } } pageInfo { hasNextPage } }\n    }\n  }\n": typeof types.CommunityHomeDocument,
    "\n  subscription CommunityEvents($id: ID!) {\n    communityEvents(communityId: $id) { id position type recordedAt }\n  }\n": typeof types.CommunityEventsDocument,
    "\n  query Documents($id: ID!) {\n    community(id: $id) { id name documents(first: 100) { edges { node { id name text active createdAt updatedAt } } } }\n  }\n": typeof types.DocumentsDocument,
    "\n  query Platforms($id: ID!) {\n    community(id: $id) { id name platforms { name externalId displayName active connectedAt settingsJSON secretNames hookURL } }\n    installLinks { platform url }\n  }\n": typeof types.PlatformsDocument,
    "\n  fragment LogEvent on Event { id position stream version type recordedAt dataJSON }\n": typeof types.LogEventFragmentDoc,
    "\n  query Events($id: ID!, $after: String) {\n    community(id: $id) { id name events(first: 100, after: $after) { edges { node { ...LogEvent } } pageInfo { hasNextPage endCursor } } }\n  }\n": typeof types.EventsDocument,
    "\n  query EvaluationLogs($id: ID!, $level: String, $policyId: ID, $proposalId: ID, $after: String) {\n    community(id: $id) {\n      id\n      policies(first: 50) { edges { node { id name } } }\n      evaluationLogs(level: $level, policyId: $policyId, proposalId: $proposalId, first: 50, after: $after) {\n        edges { node { proposalId policyId block level message evaluatedAt } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n": typeof types.EvaluationLogsDocument,
    "\n  subscription LiveEvents($id: ID!) { communityEvents(communityId: $id) { ...LogEvent } }\n": typeof types.LiveEventsDocument,
    "\n  query StarterKits {\n    starterKits { name description roles policies }\n  }\n": typeof types.StarterKitsDocument,
    "\n  mutation CreateCommunity($input: CreateCommunityInput!) {\n    createCommunity(input: $input) { id name }\n  }\n": typeof types.CreateCommunityDocument,
    "\n  query Welcome($id: ID!) {\n    community(id: $id) {\n      id name\n      roles(first: 50) { edges { node { name description permissions isBase } } }\n      policies(first: 50) { edges { node { id kind name description active actionTypes } } }\n    }\n  }\n": typeof types.WelcomeDocument,
    "\n  query PolicyEdit($id: ID!) {\n    policy(id: $id) {\n      id kind name description actionTypes priority active version hash codeJSON variablesJSON\n      versions(first: 50) { edges { node { version change active hash changedAt actionId } } }\n    }\n    exportPolicy(id: $id)\n  }\n": typeof types.PolicyEditDocument,
    "\n  query PolicyEditorData($community: ID!) {\n    actionTypes { type kind platform label governable fields { name type required } }\n    community(id: $community) { id name platforms { name active } members(first: 5) { edges { node { id username } } } }\n  }\n": typeof types.PolicyEditorDataDocument,
    "\n  query PolicyDiff($id: ID!, $from: Int!, $to: Int!) { policy(id: $id) { id diff(fromVersion: $from, toVersion: $to) } }\n": typeof types.PolicyDiffDocument,
    "\n  query ValidatePolicyCode($code: PolicyCodeInput!) { validatePolicyCode(code: $code) { block line column message } }\n": typeof types.ValidatePolicyCodeDocument,
    "\n  mutation DryRun($input: DryRunInput!) {\n    dryRun(input: $input) { ok steps { line kind description at status passed error events logs } }\n  }\n": typeof types.DryRunDocument,
    "\n  mutation ImportPolicy($input: ImportPolicyInput!) { importPolicy(input: $input) { action { id type status reason } proposal { id status } } }\n": typeof types.ImportPolicyDocument,
    "\n  fragment ProposalFields on Proposal {\n    id communityId actionId actionType actionKind initiatorId\n    policyId policyName policyKind policyVersion\n    status reason proposalTime decidedAt voteUrl\n    action { id type kind platform status fieldsJSON reason }\n    votes { userId username kind boolean choice number castAt }\n    tally { yes no total choices { choice count } }\n    effects(first: 50) { edges { node { id platform method purpose status argsJSON resultJSON error requestedAt } } }\n    evaluationLogs(first: 50) { edges { node { block result error logsJSON evaluatedAt } } }\n    trace\n    ballots { kind options }\n    canVote\n  }\n": typeof types.ProposalFieldsFragmentDoc,
    "\n  query ProposalPage($id: ID!) { proposal(id: $id) { ...ProposalFields } }\n": typeof types.ProposalPageDocument,
    "\n  subscription ProposalLive($id: ID!) { proposalUpdated(id: $id) { ...ProposalFields } }\n": typeof types.ProposalLiveDocument,
    "\n  mutation CastVote($input: CastVoteInput!) { castVote(input: $input) { proposal { id status tally { yes no total } } } }\n": typeof types.CastVoteDocument,
    "\n  query VerifyProposal($id: ID!) { proposal(id: $id) { id verification { ok decisions mismatches } } }\n": typeof types.VerifyProposalDocument,
    "\n  query ProposeForm($id: ID!) {\n    community(id: $id) { id name members(first: 100) { edges { node { id username readableName } } } }\n    actionTypes { type kind platform label proposable fields { name type required description } }\n    permissionCatalog { verbs wildcards actionTypes }\n  }\n": typeof types.ProposeFormDocument,
    "\n  query Roles($id: ID!) {\n    community(id: $id) {\n      id name\n      roles(first: 100) { edges { node { name description isBase permissions } } }\n      members(first: 100) { edges { node { id username readableName platform roles } } }\n    }\n    actionTypes { type kind label }\n    permissionCatalog { verbs wildcards actionTypes }\n  }\n": typeof types.RolesDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) { id username }\n  }\n": typeof types.LoginDocument,
    "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) { id }\n  }\n": typeof types.RegisterDocument,
    "\n  mutation Logout { logout }\n": typeof types.LogoutDocument,
};
const documents: Documents = {
    "\n  query Me {\n    me {\n      id\n      username\n      memberships { communityId userId isAdmin permissions }\n    }\n  }\n": types.MeDocument,
    "\n  mutation ProposeConstitution($input: ProposeConstitutionActionInput!) {\n    proposeConstitutionAction(input: $input) {\n      action { id type status reason }\n      proposal { id status }\n    }\n  }\n": types.ProposeConstitutionDocument,
    "\n  mutation ProposePlatformAction($input: ProposeActionInput!) {\n    proposeAction(input: $input) {\n      action { id type status reason }\n      proposal { id status }\n    }\n  }\n": types.ProposePlatformActionDocument,
    "\n  query AsOf($id: ID!, $asOf: Time, $position: String) {\n    community(id: $id, asOf: $asOf, asOfPosition: $position) {\n      id name\n      platforms { name active }\n      roles(first: 50) { edges { node { name permissions } } }\n      members(first: 50) { edges { node { id username roles } } }\n      documents(first: 20) { edges { node { id name active } } }\n      policies(first: 50) { edges { node { id name kind version active } } }\n      proposals(first: 20) { edges { node { id actionType status } } }\n    }\n  }\n": types.AsOfDocument,
    "\n  query Timeline($id: ID!, $after: String) {\n    community(id: $id) { id name createdAt events(first: 100, after: $after) { edges { node { position type recordedAt } } pageInfo { hasNextPage endCursor } } }\n  }\n": types.TimelineDocument,
    "\n  query ProposalIds($id: ID!, $after: String) {\n    community(id: $id) { proposals(first: 100, after: $after) { edges { node { id status } } pageInfo { hasNextPage endCursor } } }\n  }\n": types.ProposalIdsDocument,
    "\n  query VerifyOne($id: ID!) { proposal(id: $id) { id verification { ok decisions mismatches } } }\n": types.VerifyOneDocument,
    "\n  query ExportEvents($id: ID!, $after: String) {\n    community(id: $id) { events(first: 100, after: $after) { edges { node { id position stream version type schemaVersion recordedAt causationId correlationId dataJSON } } pageInfo { hasNextPage endCursor } } }\n  }\n": types.ExportEventsDocument,
    "\n  query Communities {\n    communities { id name createdAt platforms { name active } }\n  }\n": types.CommunitiesDocument,
    "\n  query CommunityHome($id: ID!) {\n    community(id: $id) {\n      id\n      name\n      platforms { name displayName active connectedAt }\n      documents(first: 20) { edges { node { id name text active updatedAt } } }\n      policies(first: 30) { edges { node { id kind name description active actionTypes } } pageInfo { hasNextPage } }\n      pending: proposals(first: 20, filter: { status: PROPOSED }) {\n        edges { node { id status actionType policyName proposalTime tally { yes no total } } }\n        pageInfo { hasNextPage }\n      }\n      recent: proposals(first: 20) {\n        edges { node { id status actionType policyName proposalTime decidedAt } }\n        pageInfo { hasNextPage }\n      }\n      members(first: 25) { edges { node { id username readableName platform roles } } pageInfo { hasNextPage } }\n    }\n  }\n": types.CommunityHomeDocument,
    "\n  subscription CommunityEvents($id: ID!) {\n    communityEvents(communityId: $id) { id position type recordedAt }\n  }\n": types.CommunityEventsDocument,
    "\n  query Documents($id: ID!) {\n    community(id: $id) { id name documents(first: 100) { edges { node { id name text active createdAt updatedAt } } } }\n  }\n": types.DocumentsDocument,
    "\n  query Platforms($id: ID!) {\n    community(id: $id) { id name platforms { name externalId displayName active connectedAt settingsJSON secretNames hookURL } }\n    installLinks { platform url }\n  }\n": types.PlatformsDocument,
    "\n  fragment LogEvent on Event { id position stream version type recordedAt dataJSON }\n": types.LogEventFragmentDoc,
    "\n  query Events($id: ID!, $after: String) {\n    community(id: $id) { id name events(first: 100, after: $after) { edges { node { ...LogEvent } } pageInfo { hasNextPage endCursor } } }\n  }\n": types.EventsDocument,
    "\n  query EvaluationLogs($id: ID!, $level: String, $policyId: ID, $proposalId: ID, $after: String) {\n    community(id: $id) {\n      id\n      policies(first: 50) { edges { node { id name } } }\n      evaluationLogs(level: $level, policyId: $policyId, proposalId: $proposalId, first: 50, after: $after) {\n        edges { node { proposalId policyId block level message evaluatedAt } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n": types.EvaluationLogsDocument,
    "\n  subscription LiveEvents($id: ID!) { communityEvents(communityId: $id) { ...LogEvent } }\n": types.LiveEventsDocument,
    "\n  query StarterKits {\n    starterKits { name description roles policies }\n  }\n": types.StarterKitsDocument,
    "\n  mutation CreateCommunity($input: CreateCommunityInput!) {\n    createCommunity(input: $input) { id name }\n  }\n": types.CreateCommunityDocument,
    "\n  query Welcome($id: ID!) {\n    community(id: $id) {\n      id name\n      roles(first: 50) { edges { node { name description permissions isBase } } }\n      policies(first: 50) { edges { node { id kind name description active actionTypes } } }\n    }\n  }\n": types.WelcomeDocument,
    "\n  query PolicyEdit($id: ID!) {\n    policy(id: $id) {\n      id kind name description actionTypes priority active version hash codeJSON variablesJSON\n      versions(first: 50) { edges { node { version change active hash changedAt actionId } } }\n    }\n    exportPolicy(id: $id)\n  }\n": types.PolicyEditDocument,
    "\n  query PolicyEditorData($community: ID!) {\n    actionTypes { type kind platform label governable fields { name type required } }\n    community(id: $community) { id name platforms { name active } members(first: 5) { edges { node { id username } } } }\n  }\n": types.PolicyEditorDataDocument,
    "\n  query PolicyDiff($id: ID!, $from: Int!, $to: Int!) { policy(id: $id) { id diff(fromVersion: $from, toVersion: $to) } }\n": types.PolicyDiffDocument,
    "\n  query ValidatePolicyCode($code: PolicyCodeInput!) { validatePolicyCode(code: $code) { block line column message } }\n": types.ValidatePolicyCodeDocument,
    "\n  mutation DryRun($input: DryRunInput!) {\n    dryRun(input: $input) { ok steps { line kind description at status passed error events logs } }\n  }\n": types.DryRunDocument,
    "\n  mutation ImportPolicy($input: ImportPolicyInput!) { importPolicy(input: $input) { action { id type status reason } proposal { id status } } }\n": types.ImportPolicyDocument,
    "\n  fragment ProposalFields on Proposal {\n    id communityId actionId actionType actionKind initiatorId\n    policyId policyName policyKind policyVersion\n    status reason proposalTime decidedAt voteUrl\n    action { id type kind platform status fieldsJSON reason }\n    votes { userId username kind boolean choice number castAt }\n    tally { yes no total choices { choice count } }\n    effects(first: 50) { edges { node { id platform method purpose status argsJSON resultJSON error requestedAt } } }\n    evaluationLogs(first: 50) { edges { node { block result error logsJSON evaluatedAt } } }\n    trace\n    ballots { kind options }\n    canVote\n  }\n": types.ProposalFieldsFragmentDoc,
    "\n  query ProposalPage($id: ID!) { proposal(id: $id) { ...ProposalFields } }\n": types.ProposalPageDocument,
    "\n  subscription ProposalLive($id: ID!) { proposalUpdated(id: $id) { ...ProposalFields } }\n": types.ProposalLiveDocument,
    "\n  mutation CastVote($input: CastVoteInput!) { castVote(input: $input) { proposal { id status tally { yes no total } } } }\n": types.CastVoteDocument,
    "\n  query VerifyProposal($id: ID!) { proposal(id: $id) { id verification { ok decisions mismatches } } }\n": types.VerifyProposalDocument,
    "\n  query ProposeForm($id: ID!) {\n    community(id: $id) { id name members(first: 100) { edges { node { id username readableName } } } }\n    actionTypes { type kind platform label proposable fields { name type required description } }\n    permissionCatalog { verbs wildcards actionTypes }\n  }\n": types.ProposeFormDocument,
    "\n  query Roles($id: ID!) {\n    community(id: $id) {\n      id name\n      roles(first: 100) { edges { node { name description isBase permissions } } }\n      members(first: 100) { edges { node { id username readableName platform roles } } }\n    }\n    actionTypes { type kind label }\n    permissionCatalog { verbs wildcards actionTypes }\n  }\n": types.RolesDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) { id username }\n  }\n": types.LoginDocument,
    "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) { id }\n  }\n": types.RegisterDocument,
    "\n  mutation Logout { logout }\n": types.LogoutDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      id\n      username\n      memberships { communityId userId isAdmin permissions }\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      id\n      username\n      memberships { communityId userId isAdmin permissions }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ProposeConstitution($input: ProposeConstitutionActionInput!) {\n    proposeConstitutionAction(input: $input) {\n      action { id type status reason }\n      proposal { id status }\n    }\n  }\n"): (typeof documents)["\n  mutation ProposeConstitution($input: ProposeConstitutionActionInput!) {\n    proposeConstitutionAction(input: $input) {\n      action { id type status reason }\n      proposal { id status }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ProposePlatformAction($input: ProposeActionInput!) {\n    proposeAction(input: $input) {\n      action { id type status reason }\n      proposal { id status }\n    }\n  }\n"): (typeof documents)["\n  mutation ProposePlatformAction($input: ProposeActionInput!) {\n    proposeAction(input: $input) {\n      action { id type status reason }\n      proposal { id status }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AsOf($id: ID!, $asOf: Time, $position: String) {\n    community(id: $id, asOf: $asOf, asOfPosition: $position) {\n      id name\n      platforms { name active }\n      roles(first: 50) { edges { node { name permissions } } }\n      members(first: 50) { edges { node { id username roles } } }\n      documents(first: 20) { edges { node { id name active } } }\n      policies(first: 50) { edges { node { id name kind version active } } }\n      proposals(first: 20) { edges { node { id actionType status } } }\n    }\n  }\n"): (typeof documents)["\n  query AsOf($id: ID!, $asOf: Time, $position: String) {\n    community(id: $id, asOf: $asOf, asOfPosition: $position) {\n      id name\n      platforms { name active }\n      roles(first: 50) { edges { node { name permissions } } }\n      members(first: 50) { edges { node { id username roles } } }\n      documents(first: 20) { edges { node { id name active } } }\n      policies(first: 50) { edges { node { id name kind version active } } }\n      proposals(first: 20) { edges { node { id actionType status } } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Timeline($id: ID!, $after: String) {\n    community(id: $id) { id name createdAt events(first: 100, after: $after) { edges { node { position type recordedAt } } pageInfo { hasNextPage endCursor } } }\n  }\n"): (typeof documents)["\n  query Timeline($id: ID!, $after: String) {\n    community(id: $id) { id name createdAt events(first: 100, after: $after) { edges { node { position type recordedAt } } pageInfo { hasNextPage endCursor } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProposalIds($id: ID!, $after: String) {\n    community(id: $id) { proposals(first: 100, after: $after) { edges { node { id status } } pageInfo { hasNextPage endCursor } } }\n  }\n"): (typeof documents)["\n  query ProposalIds($id: ID!, $after: String) {\n    community(id: $id) { proposals(first: 100, after: $after) { edges { node { id status } } pageInfo { hasNextPage endCursor } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query VerifyOne($id: ID!) { proposal(id: $id) { id verification { ok decisions mismatches } } }\n"): (typeof documents)["\n  query VerifyOne($id: ID!) { proposal(id: $id) { id verification { ok decisions mismatches } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ExportEvents($id: ID!, $after: String) {\n    community(id: $id) { events(first: 100, after: $after) { edges { node { id position stream version type schemaVersion recordedAt causationId correlationId dataJSON } } pageInfo { hasNextPage endCursor } } }\n  }\n"): (typeof documents)["\n  query ExportEvents($id: ID!, $after: String) {\n    community(id: $id) { events(first: 100, after: $after) { edges { node { id position stream version type schemaVersion recordedAt causationId correlationId dataJSON } } pageInfo { hasNextPage endCursor } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Communities {\n    communities { id name createdAt platforms { name active } }\n  }\n"): (typeof documents)["\n  query Communities {\n    communities { id name createdAt platforms { name active } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CommunityHome($id: ID!) {\n    community(id: $id) {\n      id\n      name\n      platforms { name displayName active connectedAt }\n      documents(first: 20) { edges { node { id name text active updatedAt } } }\n      policies(first: 30) { edges { node { id kind name description active actionTypes } } pageInfo { hasNextPage } }\n      pending: proposals(first: 20, filter: { status: PROPOSED }) {\n        edges { node { id status actionType policyName proposalTime tally { yes no total } } }\n        pageInfo { hasNextPage }\n      }\n      recent: proposals(first: 20) {\n        edges { node { id status actionType policyName proposalTime decidedAt } }\n        pageInfo { hasNextPage }\n      }\n      members(first: 25) { edges { node { id username readableName platform roles } } pageInfo { hasNextPage } }\n    }\n  }\n"): (typeof documents)["\n  query CommunityHome($id: ID!) {\n    community(id: $id) {\n      id\n      name\n      platforms { name displayName active connectedAt }\n      documents(first: 20) { edges { node { id name text active updatedAt } } }\n      policies(first: 30) { edges { node { id kind name description active actionTypes } } pageInfo { hasNextPage } }\n      pending: proposals(first: 20, filter: { status: PROPOSED }) {\n        edges { node { id status actionType policyName proposalTime tally { yes no total } } }\n        pageInfo { hasNextPage }\n      }\n      recent: proposals(first: 20) {\n        edges { node { id status actionType policyName proposalTime decidedAt } }\n        pageInfo { hasNextPage }\n      }\n      members(first: 25) { edges { node { id username readableName platform roles } } pageInfo { hasNextPage } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription CommunityEvents($id: ID!) {\n    communityEvents(communityId: $id) { id position type recordedAt }\n  }\n"): (typeof documents)["\n  subscription CommunityEvents($id: ID!) {\n    communityEvents(communityId: $id) { id position type recordedAt }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Documents($id: ID!) {\n    community(id: $id) { id name documents(first: 100) { edges { node { id name text active createdAt updatedAt } } } }\n  }\n"): (typeof documents)["\n  query Documents($id: ID!) {\n    community(id: $id) { id name documents(first: 100) { edges { node { id name text active createdAt updatedAt } } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Platforms($id: ID!) {\n    community(id: $id) { id name platforms { name externalId displayName active connectedAt settingsJSON secretNames hookURL } }\n    installLinks { platform url }\n  }\n"): (typeof documents)["\n  query Platforms($id: ID!) {\n    community(id: $id) { id name platforms { name externalId displayName active connectedAt settingsJSON secretNames hookURL } }\n    installLinks { platform url }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment LogEvent on Event { id position stream version type recordedAt dataJSON }\n"): (typeof documents)["\n  fragment LogEvent on Event { id position stream version type recordedAt dataJSON }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Events($id: ID!, $after: String) {\n    community(id: $id) { id name events(first: 100, after: $after) { edges { node { ...LogEvent } } pageInfo { hasNextPage endCursor } } }\n  }\n"): (typeof documents)["\n  query Events($id: ID!, $after: String) {\n    community(id: $id) { id name events(first: 100, after: $after) { edges { node { ...LogEvent } } pageInfo { hasNextPage endCursor } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query EvaluationLogs($id: ID!, $level: String, $policyId: ID, $proposalId: ID, $after: String) {\n    community(id: $id) {\n      id\n      policies(first: 50) { edges { node { id name } } }\n      evaluationLogs(level: $level, policyId: $policyId, proposalId: $proposalId, first: 50, after: $after) {\n        edges { node { proposalId policyId block level message evaluatedAt } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n"): (typeof documents)["\n  query EvaluationLogs($id: ID!, $level: String, $policyId: ID, $proposalId: ID, $after: String) {\n    community(id: $id) {\n      id\n      policies(first: 50) { edges { node { id name } } }\n      evaluationLogs(level: $level, policyId: $policyId, proposalId: $proposalId, first: 50, after: $after) {\n        edges { node { proposalId policyId block level message evaluatedAt } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LiveEvents($id: ID!) { communityEvents(communityId: $id) { ...LogEvent } }\n"): (typeof documents)["\n  subscription LiveEvents($id: ID!) { communityEvents(communityId: $id) { ...LogEvent } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query StarterKits {\n    starterKits { name description roles policies }\n  }\n"): (typeof documents)["\n  query StarterKits {\n    starterKits { name description roles policies }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateCommunity($input: CreateCommunityInput!) {\n    createCommunity(input: $input) { id name }\n  }\n"): (typeof documents)["\n  mutation CreateCommunity($input: CreateCommunityInput!) {\n    createCommunity(input: $input) { id name }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Welcome($id: ID!) {\n    community(id: $id) {\n      id name\n      roles(first: 50) { edges { node { name description permissions isBase } } }\n      policies(first: 50) { edges { node { id kind name description active actionTypes } } }\n    }\n  }\n"): (typeof documents)["\n  query Welcome($id: ID!) {\n    community(id: $id) {\n      id name\n      roles(first: 50) { edges { node { name description permissions isBase } } }\n      policies(first: 50) { edges { node { id kind name description active actionTypes } } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PolicyEdit($id: ID!) {\n    policy(id: $id) {\n      id kind name description actionTypes priority active version hash codeJSON variablesJSON\n      versions(first: 50) { edges { node { version change active hash changedAt actionId } } }\n    }\n    exportPolicy(id: $id)\n  }\n"): (typeof documents)["\n  query PolicyEdit($id: ID!) {\n    policy(id: $id) {\n      id kind name description actionTypes priority active version hash codeJSON variablesJSON\n      versions(first: 50) { edges { node { version change active hash changedAt actionId } } }\n    }\n    exportPolicy(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PolicyEditorData($community: ID!) {\n    actionTypes { type kind platform label governable fields { name type required } }\n    community(id: $community) { id name platforms { name active } members(first: 5) { edges { node { id username } } } }\n  }\n"): (typeof documents)["\n  query PolicyEditorData($community: ID!) {\n    actionTypes { type kind platform label governable fields { name type required } }\n    community(id: $community) { id name platforms { name active } members(first: 5) { edges { node { id username } } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PolicyDiff($id: ID!, $from: Int!, $to: Int!) { policy(id: $id) { id diff(fromVersion: $from, toVersion: $to) } }\n"): (typeof documents)["\n  query PolicyDiff($id: ID!, $from: Int!, $to: Int!) { policy(id: $id) { id diff(fromVersion: $from, toVersion: $to) } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ValidatePolicyCode($code: PolicyCodeInput!) { validatePolicyCode(code: $code) { block line column message } }\n"): (typeof documents)["\n  query ValidatePolicyCode($code: PolicyCodeInput!) { validatePolicyCode(code: $code) { block line column message } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DryRun($input: DryRunInput!) {\n    dryRun(input: $input) { ok steps { line kind description at status passed error events logs } }\n  }\n"): (typeof documents)["\n  mutation DryRun($input: DryRunInput!) {\n    dryRun(input: $input) { ok steps { line kind description at status passed error events logs } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ImportPolicy($input: ImportPolicyInput!) { importPolicy(input: $input) { action { id type status reason } proposal { id status } } }\n"): (typeof documents)["\n  mutation ImportPolicy($input: ImportPolicyInput!) { importPolicy(input: $input) { action { id type status reason } proposal { id status } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ProposalFields on Proposal {\n    id communityId actionId actionType actionKind initiatorId\n    policyId policyName policyKind policyVersion\n    status reason proposalTime decidedAt voteUrl\n    action { id type kind platform status fieldsJSON reason }\n    votes { userId username kind boolean choice number castAt }\n    tally { yes no total choices { choice count } }\n    effects(first: 50) { edges { node { id platform method purpose status argsJSON resultJSON error requestedAt } } }\n    evaluationLogs(first: 50) { edges { node { block result error logsJSON evaluatedAt } } }\n    trace\n    ballots { kind options }\n    canVote\n  }\n"): (typeof documents)["\n  fragment ProposalFields on Proposal {\n    id communityId actionId actionType actionKind initiatorId\n    policyId policyName policyKind policyVersion\n    status reason proposalTime decidedAt voteUrl\n    action { id type kind platform status fieldsJSON reason }\n    votes { userId username kind boolean choice number castAt }\n    tally { yes no total choices { choice count } }\n    effects(first: 50) { edges { node { id platform method purpose status argsJSON resultJSON error requestedAt } } }\n    evaluationLogs(first: 50) { edges { node { block result error logsJSON evaluatedAt } } }\n    trace\n    ballots { kind options }\n    canVote\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProposalPage($id: ID!) { proposal(id: $id) { ...ProposalFields } }\n"): (typeof documents)["\n  query ProposalPage($id: ID!) { proposal(id: $id) { ...ProposalFields } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ProposalLive($id: ID!) { proposalUpdated(id: $id) { ...ProposalFields } }\n"): (typeof documents)["\n  subscription ProposalLive($id: ID!) { proposalUpdated(id: $id) { ...ProposalFields } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CastVote($input: CastVoteInput!) { castVote(input: $input) { proposal { id status tally { yes no total } } } }\n"): (typeof documents)["\n  mutation CastVote($input: CastVoteInput!) { castVote(input: $input) { proposal { id status tally { yes no total } } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query VerifyProposal($id: ID!) { proposal(id: $id) { id verification { ok decisions mismatches } } }\n"): (typeof documents)["\n  query VerifyProposal($id: ID!) { proposal(id: $id) { id verification { ok decisions mismatches } } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProposeForm($id: ID!) {\n    community(id: $id) { id name members(first: 100) { edges { node { id username readableName } } } }\n    actionTypes { type kind platform label proposable fields { name type required description } }\n    permissionCatalog { verbs wildcards actionTypes }\n  }\n"): (typeof documents)["\n  query ProposeForm($id: ID!) {\n    community(id: $id) { id name members(first: 100) { edges { node { id username readableName } } } }\n    actionTypes { type kind platform label proposable fields { name type required description } }\n    permissionCatalog { verbs wildcards actionTypes }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Roles($id: ID!) {\n    community(id: $id) {\n      id name\n      roles(first: 100) { edges { node { name description isBase permissions } } }\n      members(first: 100) { edges { node { id username readableName platform roles } } }\n    }\n    actionTypes { type kind label }\n    permissionCatalog { verbs wildcards actionTypes }\n  }\n"): (typeof documents)["\n  query Roles($id: ID!) {\n    community(id: $id) {\n      id name\n      roles(first: 100) { edges { node { name description isBase permissions } } }\n      members(first: 100) { edges { node { id username readableName platform roles } } }\n    }\n    actionTypes { type kind label }\n    permissionCatalog { verbs wildcards actionTypes }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) { id username }\n  }\n"): (typeof documents)["\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) { id username }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) { id }\n  }\n"): (typeof documents)["\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) { id }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Logout { logout }\n"): (typeof documents)["\n  mutation Logout { logout }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;