package domain

// registry lists every event type the domain reads and writes, with its current schema
// version. It is the one place to look when adding an event or changing its shape: raise the
// version and add .withUpcaster(oldVersion, fn) on the same line.
var registry = buildRegistry(
	// community stream
	entry[CommunityCreated](EventCommunityCreated, 1),
	entry[CommunityRenamed](EventCommunityRenamed, 1),
	entry[PlatformConnected](EventPlatformConnected, 1),
	entry[PlatformDisconnected](EventPlatformDisconnected, 1),
	entry[UserRegistered](EventUserRegistered, 1),
	entry[UserProfileUpdated](EventUserProfileUpdated, 1),
	entry[IdentityLinked](EventIdentityLinked, 1),
	entry[IdentityUnlinked](EventIdentityUnlinked, 1),
	entry[RoleAdded](EventRoleAdded, 1),
	entry[RoleChanged](EventRoleChanged, 1),
	entry[RoleDeleted](EventRoleDeleted, 1),
	entry[UserRoleAdded](EventUserRoleAdded, 1),
	entry[UserRoleRemoved](EventUserRoleRemoved, 1),
	entry[DocumentAdded](EventDocumentAdded, 1),
	entry[DocumentChanged](EventDocumentChanged, 1),
	entry[DocumentDeleted](EventDocumentDeleted, 1),
	entry[DocumentRecovered](EventDocumentRecovered, 1),
	entry[PolicyAdded](EventPolicyAdded, 1),
	entry[PolicyChanged](EventPolicyChanged, 1),
	entry[PolicyRemoved](EventPolicyRemoved, 1),
	entry[PolicyRecovered](EventPolicyRecovered, 1),

	// action stream
	entry[ActionProposed](EventActionProposed, 1),
	entry[ActionRejected](EventActionRejected, 1),
	entry[ActionGoverned](EventActionGoverned, 1),
	entry[ActionExecuted](EventActionExecuted, 1),
	entry[ActionExecutionFailed](EventActionExecutionFailed, 1),
	entry[ActionReverted](EventActionReverted, 1),
	entry[ActionFilterErrored](EventActionFilterErrored, 1),

	// proposal stream
	entry[ProposalOpened](EventProposalOpened, 1),
	entry[ProposalVariablesInitialized](EventProposalVariablesInitialized, 1),
	entry[ProposalEvaluated](EventProposalEvaluated, 1),
	entry[ProposalDataChanged](EventProposalDataChanged, 1),
	entry[VotePostRecorded](EventVotePostRecorded, 1),
	entry[VoteCast](EventVoteCast, 1),
	entry[VoteClosed](EventVoteClosed, 1),
	entry[GovernanceProcessUpdated](EventGovernanceProcessUpdated, 1),
	entry[ProposalNotified](EventProposalNotified, 1),
	entry[EffectRequested](EventEffectRequested, 1),
	entry[EffectCompleted](EventEffectCompleted, 1),
	entry[EffectFailed](EventEffectFailed, 1),
	entry[AnswerRecorded](EventAnswerRecorded, 1),
	entry[RecheckScheduled](EventRecheckScheduled, 1),
	entry[ProposalPassed](EventProposalPassed, 1),
	entry[ProposalFailed](EventProposalFailed, 1),
)
