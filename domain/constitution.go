package domain

import (
	"strings"
	"time"
)

// Constitution actions change the community itself: its policies, roles and documents. Each
// of the 21 constitution action types has a payload struct that is at the same time the
// command of the matching Decide function; Action.Fields of a constitution action is the
// payload's JSON object (see NewConstitutionAction and DecodeConstitutionPayload).

// ConstitutionPayload is the typed content of a constitution action.
type ConstitutionPayload interface {
	// ConstitutionActionType is the action type the payload belongs to
	// (ActionAddRole ...), or "" when it cannot tell (a policy payload without Kind).
	ConstitutionActionType() string
}

// AddPolicy adds a policy. Kind comes from the action type when proposed as an action.
// As an action's payload it has no PolicyID: the policy takes the id of the action that adds
// it, which no other action of any community has, so that no one can pick the id of a
// policy they do not own. Only setup code (starter kits, imports by an operator) names ids.
type AddPolicy struct {
	PolicyID    string   `json:"policy_id,omitempty"`
	Kind        Kind     `json:"kind,omitempty"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	ActionTypes []string `json:"action_types"`
	PolicyCode
	Variables []Variable `json:"variables,omitempty"`
	Priority  int        `json:"priority,omitempty"`
}

// ChangePolicy replaces a policy's whole content (its kind stays). Kind, when set, must be
// the policy's kind.
type ChangePolicy struct {
	PolicyID    string   `json:"policy_id"`
	Kind        Kind     `json:"kind,omitempty"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	ActionTypes []string `json:"action_types"`
	PolicyCode
	Variables []Variable `json:"variables,omitempty"`
	Priority  int        `json:"priority,omitempty"`
}

// RemovePolicy deactivates a policy. Kind, when set, must be the policy's kind.
type RemovePolicy struct {
	PolicyID string `json:"policy_id"`
	Kind     Kind   `json:"kind,omitempty"`
}

// RecoverPolicy reactivates a removed policy. Kind, when set, must be the policy's kind.
type RecoverPolicy struct {
	PolicyID string `json:"policy_id"`
	Kind     Kind   `json:"kind,omitempty"`
}

// AddRole defines a role.
type AddRole struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	IsBase      bool         `json:"is_base,omitempty"`
	Permissions []Permission `json:"permissions"`
}

// EditRole replaces a role's description and permissions, and renames it when Name is set
// and differs.
type EditRole struct {
	Role        string       `json:"role"`
	Name        string       `json:"name,omitempty"`
	Description string       `json:"description"`
	Permissions []Permission `json:"permissions"`
}

// DeleteRole deletes a non-base role.
type DeleteRole struct {
	Role string `json:"role"`
}

// AddUserRole gives a role to users.
type AddUserRole struct {
	Role    string   `json:"role"`
	UserIDs []string `json:"user_ids"`
}

// RemoveUserRole takes a role from users.
type RemoveUserRole struct {
	Role    string   `json:"role"`
	UserIDs []string `json:"user_ids"`
}

// AddDocument adds a document. As an action's payload it has no DocumentID: the document
// takes the id of the action that adds it (see AddPolicy).
type AddDocument struct {
	DocumentID string `json:"document_id,omitempty"`
	Name       string `json:"name"`
	Text       string `json:"text"`
}

// ChangeDocument replaces a document's name and text.
type ChangeDocument struct {
	DocumentID string `json:"document_id"`
	Name       string `json:"name"`
	Text       string `json:"text"`
}

// DeleteDocument deactivates a document.
type DeleteDocument struct {
	DocumentID string `json:"document_id"`
}

// RecoverDocument reactivates a deleted document.
type RecoverDocument struct {
	DocumentID string `json:"document_id"`
}

// AddIntegration connects a platform to the community (PolicyKit's "add integration"), or
// updates a connected one: its id and name there, its settings, and its secrets. Secrets
// must be sealed (SealedPrefix) by the entry point that proposes the action, so that the log
// never holds them in the clear; given on an update, a secret replaces the one of that name
// and the others stay.
type AddIntegration struct {
	Platform   string            `json:"platform"`
	ExternalID string            `json:"external_id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Settings   map[string]string `json:"settings,omitempty"`
	Secrets    map[string]string `json:"secrets,omitempty"`
}

// RemoveIntegration disconnects a platform; its users and history stay.
type RemoveIntegration struct {
	Platform string `json:"platform"`
}

// SealedPrefix starts every sealed secret: "sealed:v1:" and the base64 of a nonce and an
// AES-256-GCM ciphertext. The domain only checks the prefix; the sealing is done outside.
const SealedPrefix = "sealed:v1:"

// Bounds of a connection's settings and secrets.
const (
	MaxConnectionEntries    = 32
	MaxConnectionValueBytes = 4096
)

const (
	policyVerbAdd     = "add"
	policyVerbChange  = "change"
	policyVerbRemove  = "remove"
	policyVerbRecover = "recover"
)

// PolicyActionType returns the constitution action type that adds, changes, removes or
// recovers ("add", "change", "remove", "recover") a policy of kind k, e.g.
// PolicyActionType("add", KindTrigger) = "policykitaddtriggerpolicy"; "" when unknown.
func PolicyActionType(verb string, k Kind) string {
	t := "policykit" + verb + string(k) + "policy"
	if _, ok := LookupActionType(t); !ok || !k.Valid() {
		return ""
	}
	return t
}

func (p AddPolicy) ConstitutionActionType() string {
	return PolicyActionType(policyVerbAdd, p.Kind)
}
func (p ChangePolicy) ConstitutionActionType() string {
	return PolicyActionType(policyVerbChange, p.Kind)
}
func (p RemovePolicy) ConstitutionActionType() string {
	return PolicyActionType(policyVerbRemove, p.Kind)
}
func (p RecoverPolicy) ConstitutionActionType() string {
	return PolicyActionType(policyVerbRecover, p.Kind)
}
func (AddRole) ConstitutionActionType() string         { return ActionAddRole }
func (EditRole) ConstitutionActionType() string        { return ActionEditRole }
func (DeleteRole) ConstitutionActionType() string      { return ActionDeleteRole }
func (AddUserRole) ConstitutionActionType() string     { return ActionAddUserRole }
func (RemoveUserRole) ConstitutionActionType() string  { return ActionRemoveUserRole }
func (AddDocument) ConstitutionActionType() string     { return ActionAddCommunityDoc }
func (ChangeDocument) ConstitutionActionType() string  { return ActionChangeCommunityDoc }
func (DeleteDocument) ConstitutionActionType() string  { return ActionDeleteCommunityDoc }
func (RecoverDocument) ConstitutionActionType() string { return ActionRecoverCommunityDoc }
func (AddIntegration) ConstitutionActionType() string  { return ActionAddIntegration }
func (RemoveIntegration) ConstitutionActionType() string {
	return ActionRemoveIntegration
}

// Spec returns the policy content of the payload.
func (p AddPolicy) Spec() PolicySpec {
	return PolicySpec{Kind: p.Kind, Name: p.Name, Description: p.Description, ActionTypes: p.ActionTypes, Code: p.PolicyCode, Variables: p.Variables, Priority: p.Priority}
}

// Spec returns the policy content of the payload, with the given kind.
func (p ChangePolicy) Spec(k Kind) PolicySpec {
	return PolicySpec{Kind: k, Name: p.Name, Description: p.Description, ActionTypes: p.ActionTypes, Code: p.PolicyCode, Variables: p.Variables, Priority: p.Priority}
}

// NewConstitutionAction builds the constitution action that carries payload p.
func NewConstitutionAction(id, communityID, initiatorID string, p ConstitutionPayload, now time.Time) (Action, error) {
	typ := p.ConstitutionActionType()
	if typ == "" {
		return Action{}, Invalid("constitution payload %T has no action type (policy kind missing?)", p)
	}
	fields, err := toMap(p, "constitution payload")
	if err != nil {
		return Action{}, err
	}
	a := Action{
		ID: id, CommunityID: communityID, Kind: KindConstitution, Type: typ, Platform: PlatformConstitution,
		InitiatorID: initiatorID, Fields: fields, ProposedAt: now.UTC(),
	}
	return a, a.Validate()
}

// policyActionKinds maps the 12 policy action types to their verb and policy kind.
var policyActionKinds = func() map[string]struct {
	verb string
	kind Kind
} {
	m := map[string]struct {
		verb string
		kind Kind
	}{}
	for _, k := range Kinds() {
		for _, v := range []string{policyVerbAdd, policyVerbChange, policyVerbRemove, policyVerbRecover} {
			m["policykit"+v+string(k)+"policy"] = struct {
				verb string
				kind Kind
			}{v, k}
		}
	}
	return m
}()

// DecodeConstitutionPayload decodes a constitution action's Fields into its payload struct
// (a value: AddRole, ChangePolicy ...). Unknown keys, a non-constitution action type, or a
// policy kind that contradicts the action type are Invalid.
func DecodeConstitutionPayload(a Action) (ConstitutionPayload, error) {
	info, ok := a.Info()
	if !ok || info.Kind != KindConstitution {
		return nil, Invalid("action %s: %q is not a constitution action type", a.ID, a.Type)
	}
	what := "action " + a.ID + " (" + a.Type + ")"
	if pk, ok := policyActionKinds[a.Type]; ok {
		var (
			p   ConstitutionPayload
			err error
		)
		switch pk.verb {
		case policyVerbAdd:
			var v AddPolicy
			err = decodeStrict(a.Fields, &v, what)
			v.Kind, err = policyKind(v.Kind, pk.kind, err)
			p = v
		case policyVerbChange:
			var v ChangePolicy
			err = decodeStrict(a.Fields, &v, what)
			v.Kind, err = policyKind(v.Kind, pk.kind, err)
			p = v
		case policyVerbRemove:
			var v RemovePolicy
			err = decodeStrict(a.Fields, &v, what)
			v.Kind, err = policyKind(v.Kind, pk.kind, err)
			p = v
		case policyVerbRecover:
			var v RecoverPolicy
			err = decodeStrict(a.Fields, &v, what)
			v.Kind, err = policyKind(v.Kind, pk.kind, err)
			p = v
		}
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	switch a.Type {
	case ActionAddRole:
		return decodePayload[AddRole](a, what)
	case ActionEditRole:
		return decodePayload[EditRole](a, what)
	case ActionDeleteRole:
		return decodePayload[DeleteRole](a, what)
	case ActionAddUserRole:
		return decodePayload[AddUserRole](a, what)
	case ActionRemoveUserRole:
		return decodePayload[RemoveUserRole](a, what)
	case ActionAddCommunityDoc:
		return decodePayload[AddDocument](a, what)
	case ActionChangeCommunityDoc:
		return decodePayload[ChangeDocument](a, what)
	case ActionDeleteCommunityDoc:
		return decodePayload[DeleteDocument](a, what)
	case ActionRecoverCommunityDoc:
		return decodePayload[RecoverDocument](a, what)
	case ActionAddIntegration:
		return decodePayload[AddIntegration](a, what)
	case ActionRemoveIntegration:
		return decodePayload[RemoveIntegration](a, what)
	}
	return nil, Invalid("action %s: no payload for %q", a.ID, a.Type)
}

func decodePayload[T ConstitutionPayload](a Action, what string) (ConstitutionPayload, error) {
	var v T
	if err := decodeStrict(a.Fields, &v, what); err != nil {
		return nil, err
	}
	return v, nil
}

// policyKind checks a payload's kind against the action type's kind.
func policyKind(got, want Kind, err error) (Kind, error) {
	if err != nil {
		return got, err
	}
	if got != "" && got != want {
		return got, Invalid("payload kind %q does not match the action type's kind %q", got, want)
	}
	return want, nil
}

// ExecuteConstitutionAction validates a constitution action against the current state and
// returns the community events that carry it out (their ActionID is the action's id). It is
// what happens when a constitution action passes; ValidateConstitutionAction runs it to
// refuse bad proposals up front. Errors: Invalid (not a constitution action of this
// community, malformed payload, an add payload that names the new id), NotFound and
// Conflict as the matching Decide function.
func (c *Community) ExecuteConstitutionAction(a Action, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	a, err := a.Normalized()
	if err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if a.CommunityID != c.ID {
		return nil, Invalid("action %s belongs to community %s, not %s", a.ID, a.CommunityID, c.ID)
	}
	payload, err := DecodeConstitutionPayload(a)
	if err != nil {
		return nil, err
	}
	h := c.header(now, a.ID)
	switch p := payload.(type) {
	case AddPolicy:
		if p.PolicyID != "" {
			return nil, Invalid("action %s: policy_id is given by the community (the action's id); leave it out", a.ID)
		}
		p.PolicyID = a.ID
		return c.addPolicy(p, h)
	case ChangePolicy:
		return c.changePolicy(p, h)
	case RemovePolicy:
		return c.removePolicy(p, h)
	case RecoverPolicy:
		return c.recoverPolicy(p, h)
	case AddRole:
		return c.addRole(p, h)
	case EditRole:
		return c.editRole(p, h)
	case DeleteRole:
		return c.deleteRole(p, h)
	case AddUserRole:
		return c.addUserRole(p, h)
	case RemoveUserRole:
		return c.removeUserRole(p, h)
	case AddDocument:
		if p.DocumentID != "" {
			return nil, Invalid("action %s: document_id is given by the community (the action's id); leave it out", a.ID)
		}
		p.DocumentID = a.ID
		return c.addDocument(p, h)
	case ChangeDocument:
		return c.changeDocument(p, h)
	case DeleteDocument:
		return c.deleteDocument(p, h)
	case RecoverDocument:
		return c.recoverDocument(p, h)
	case AddIntegration:
		return c.addIntegration(p, h)
	case RemoveIntegration:
		return c.removeIntegration(p, h)
	}
	return nil, Invalid("action %s: %q cannot be executed", a.ID, a.Type)
}

// ValidateConstitutionAction reports whether the action could be executed on c now (see
// ExecuteConstitutionAction), so that bad proposals are refused before any policy runs.
func ValidateConstitutionAction(c *Community, a Action) error {
	_, err := c.ExecuteConstitutionAction(a, a.ProposedAt)
	return err
}

// Public decide functions for the constitution commands: the same rules as executing the
// matching constitution action, without an action (ActionID ""). Used to set a community
// up (starter kits, the first admin) and by tests.

// DecideAddPolicy emits PolicyAdded (version 1). Invalid: empty id, bad content (see
// PolicySpec.Validate). An existing id with the same content changes nothing; with other
// content it is a Conflict.
func (c *Community) DecideAddPolicy(cmd AddPolicy, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.addPolicy(cmd, c.header(now, ""))
}

// DecideChangePolicy emits PolicyChanged with the next version, unless the content is the
// same. Unknown policy: NotFound; kind mismatch or bad content: Invalid.
func (c *Community) DecideChangePolicy(cmd ChangePolicy, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.changePolicy(cmd, c.header(now, ""))
}

// DecideRemovePolicy emits PolicyRemoved for an active policy.
func (c *Community) DecideRemovePolicy(cmd RemovePolicy, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.removePolicy(cmd, c.header(now, ""))
}

// DecideRecoverPolicy emits PolicyRecovered for a removed policy.
func (c *Community) DecideRecoverPolicy(cmd RecoverPolicy, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.recoverPolicy(cmd, c.header(now, ""))
}

// DecideAddRole emits RoleAdded. Empty name or a bad permission: Invalid; a taken name:
// Conflict (the same definition again changes nothing).
func (c *Community) DecideAddRole(cmd AddRole, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.addRole(cmd, c.header(now, ""))
}

// DecideEditRole emits RoleChanged. Unknown role: NotFound; new name taken: Conflict.
func (c *Community) DecideEditRole(cmd EditRole, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.editRole(cmd, c.header(now, ""))
}

// DecideDeleteRole emits RoleDeleted. Unknown role: NotFound; a base role: Invalid.
func (c *Community) DecideDeleteRole(cmd DeleteRole, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.deleteRole(cmd, c.header(now, ""))
}

// DecideAddUserRole emits UserRoleAdded for each listed user not holding the role yet.
// Unknown role or user: NotFound; a base role or no users: Invalid.
func (c *Community) DecideAddUserRole(cmd AddUserRole, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.addUserRole(cmd, c.header(now, ""))
}

// DecideRemoveUserRole emits UserRoleRemoved for each listed user holding the role.
func (c *Community) DecideRemoveUserRole(cmd RemoveUserRole, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.removeUserRole(cmd, c.header(now, ""))
}

// DecideAddDocument emits DocumentAdded. Empty id or name: Invalid; a used id: Conflict.
func (c *Community) DecideAddDocument(cmd AddDocument, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.addDocument(cmd, c.header(now, ""))
}

// DecideChangeDocument emits DocumentChanged when name or text changed.
func (c *Community) DecideChangeDocument(cmd ChangeDocument, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.changeDocument(cmd, c.header(now, ""))
}

// DecideDeleteDocument emits DocumentDeleted for an active document.
func (c *Community) DecideDeleteDocument(cmd DeleteDocument, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.deleteDocument(cmd, c.header(now, ""))
}

// DecideRecoverDocument emits DocumentRecovered for a deleted document.
func (c *Community) DecideRecoverDocument(cmd RecoverDocument, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	return c.recoverDocument(cmd, c.header(now, ""))
}

// --- policies ---

func (c *Community) addPolicy(cmd AddPolicy, h CommunityHeader) ([]Event, error) {
	if cmd.PolicyID == "" {
		return nil, Invalid("policy id is empty")
	}
	spec := cmd.Spec().Normalized()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if old, ok := c.Policies[cmd.PolicyID]; ok {
		if equalSpec(old.PolicySpec, spec) {
			return nil, nil
		}
		return nil, Conflict("policy %s already exists", cmd.PolicyID)
	}
	return []Event{PolicyAdded{CommunityHeader: h, PolicyID: cmd.PolicyID, PolicySpec: spec, Hash: spec.ContentHash(), Version: 1}}, nil
}

func (c *Community) policyOfKind(id string, k Kind) (Policy, error) {
	p, ok := c.Policies[id]
	if !ok {
		return Policy{}, NotFound("policy %q", id)
	}
	if k != "" && p.Kind != k {
		return Policy{}, Invalid("policy %s is a %s policy, not %s", id, p.Kind, k)
	}
	return p, nil
}

func (c *Community) changePolicy(cmd ChangePolicy, h CommunityHeader) ([]Event, error) {
	old, err := c.policyOfKind(cmd.PolicyID, cmd.Kind)
	if err != nil {
		return nil, err
	}
	spec := cmd.Spec(old.Kind).Normalized()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if equalSpec(old.PolicySpec, spec) {
		return nil, nil
	}
	return []Event{PolicyChanged{CommunityHeader: h, PolicyID: cmd.PolicyID, PolicySpec: spec, Hash: spec.ContentHash(), Version: old.Version + 1}}, nil
}

func (c *Community) removePolicy(cmd RemovePolicy, h CommunityHeader) ([]Event, error) {
	p, err := c.policyOfKind(cmd.PolicyID, cmd.Kind)
	if err != nil {
		return nil, err
	}
	if !p.Active {
		return nil, nil
	}
	return []Event{PolicyRemoved{CommunityHeader: h, PolicyID: cmd.PolicyID}}, nil
}

func (c *Community) recoverPolicy(cmd RecoverPolicy, h CommunityHeader) ([]Event, error) {
	p, err := c.policyOfKind(cmd.PolicyID, cmd.Kind)
	if err != nil {
		return nil, err
	}
	if p.Active {
		return nil, nil
	}
	return []Event{PolicyRecovered{CommunityHeader: h, PolicyID: cmd.PolicyID}}, nil
}

// --- roles ---

func validPermissions(ps []Permission) ([]Permission, error) {
	for _, p := range ps {
		if err := p.Validate(); err != nil {
			return nil, err
		}
	}
	return normalizePermissions(ps), nil
}

func (c *Community) addRole(cmd AddRole, h CommunityHeader) ([]Event, error) {
	name := strings.TrimSpace(cmd.Name)
	if err := validName("role", name); err != nil {
		return nil, err
	}
	perms, err := validPermissions(cmd.Permissions)
	if err != nil {
		return nil, err
	}
	if old, ok := c.Roles[name]; ok {
		if old.Description == cmd.Description && old.IsBase == cmd.IsBase && equalPermissions(old.Permissions, perms) {
			return nil, nil
		}
		return nil, Conflict("role %q already exists", name)
	}
	return []Event{RoleAdded{CommunityHeader: h, Name: name, Description: cmd.Description, IsBase: cmd.IsBase, Permissions: perms}}, nil
}

func (c *Community) editRole(cmd EditRole, h CommunityHeader) ([]Event, error) {
	old, ok := c.Roles[cmd.Role]
	if !ok {
		return nil, NotFound("role %q", cmd.Role)
	}
	name := strings.TrimSpace(cmd.Name)
	if name == "" {
		name = old.Name
	}
	if err := validName("role", name); err != nil {
		return nil, err
	}
	if _, taken := c.Roles[name]; taken && name != old.Name {
		return nil, Conflict("role %q already exists", name)
	}
	perms, err := validPermissions(cmd.Permissions)
	if err != nil {
		return nil, err
	}
	if name == old.Name && cmd.Description == old.Description && equalPermissions(perms, old.Permissions) {
		return nil, nil
	}
	return []Event{RoleChanged{CommunityHeader: h, Name: old.Name, NewName: name, Description: cmd.Description, Permissions: perms}}, nil
}

func (c *Community) deleteRole(cmd DeleteRole, h CommunityHeader) ([]Event, error) {
	r, ok := c.Roles[cmd.Role]
	if !ok {
		return nil, NotFound("role %q", cmd.Role)
	}
	if r.IsBase {
		return nil, Invalid("role %q is the base role and cannot be deleted", r.Name)
	}
	return []Event{RoleDeleted{CommunityHeader: h, Name: r.Name}}, nil
}

func (c *Community) userRoleTargets(role string, userIDs []string) (Role, []string, error) {
	r, ok := c.Roles[role]
	if !ok {
		return Role{}, nil, NotFound("role %q", role)
	}
	if r.IsBase {
		return Role{}, nil, Invalid("role %q is a base role: every user holds it", role)
	}
	ids := sortedUnique(userIDs)
	if len(ids) == 0 {
		return Role{}, nil, Invalid("no users given for role %q", role)
	}
	for _, id := range ids {
		if _, ok := c.Users[id]; !ok {
			return Role{}, nil, NotFound("user %q", id)
		}
	}
	return r, ids, nil
}

func (c *Community) addUserRole(cmd AddUserRole, h CommunityHeader) ([]Event, error) {
	r, ids, err := c.userRoleTargets(cmd.Role, cmd.UserIDs)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, id := range ids {
		if !c.Users[id].HasRole(r.Name) {
			out = append(out, UserRoleAdded{CommunityHeader: h, UserID: id, Role: r.Name})
		}
	}
	return out, nil
}

func (c *Community) removeUserRole(cmd RemoveUserRole, h CommunityHeader) ([]Event, error) {
	r, ids, err := c.userRoleTargets(cmd.Role, cmd.UserIDs)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, id := range ids {
		if c.Users[id].HasRole(r.Name) {
			out = append(out, UserRoleRemoved{CommunityHeader: h, UserID: id, Role: r.Name})
		}
	}
	return out, nil
}

// --- documents ---

func (c *Community) addDocument(cmd AddDocument, h CommunityHeader) ([]Event, error) {
	if cmd.DocumentID == "" {
		return nil, Invalid("document id is empty")
	}
	name := strings.TrimSpace(cmd.Name)
	if err := validName("document", name); err != nil {
		return nil, err
	}
	if old, ok := c.Docs[cmd.DocumentID]; ok {
		if old.Name == name && old.Text == cmd.Text {
			return nil, nil
		}
		return nil, Conflict("document %s already exists", cmd.DocumentID)
	}
	return []Event{DocumentAdded{CommunityHeader: h, DocumentID: cmd.DocumentID, Name: name, Text: cmd.Text}}, nil
}

func (c *Community) changeDocument(cmd ChangeDocument, h CommunityHeader) ([]Event, error) {
	old, ok := c.Docs[cmd.DocumentID]
	if !ok {
		return nil, NotFound("document %q", cmd.DocumentID)
	}
	name := strings.TrimSpace(cmd.Name)
	if err := validName("document", name); err != nil {
		return nil, err
	}
	if old.Name == name && old.Text == cmd.Text {
		return nil, nil
	}
	return []Event{DocumentChanged{CommunityHeader: h, DocumentID: cmd.DocumentID, Name: name, Text: cmd.Text}}, nil
}

func (c *Community) deleteDocument(cmd DeleteDocument, h CommunityHeader) ([]Event, error) {
	d, ok := c.Docs[cmd.DocumentID]
	if !ok {
		return nil, NotFound("document %q", cmd.DocumentID)
	}
	if !d.Active {
		return nil, nil
	}
	return []Event{DocumentDeleted{CommunityHeader: h, DocumentID: cmd.DocumentID}}, nil
}

func (c *Community) recoverDocument(cmd RecoverDocument, h CommunityHeader) ([]Event, error) {
	d, ok := c.Docs[cmd.DocumentID]
	if !ok {
		return nil, NotFound("document %q", cmd.DocumentID)
	}
	if d.Active {
		return nil, nil
	}
	return []Event{DocumentRecovered{CommunityHeader: h, DocumentID: cmd.DocumentID}}, nil
}

// --- integrations ---

func (c *Community) addIntegration(cmd AddIntegration, h CommunityHeader) ([]Event, error) {
	if !IsKnownPlatform(cmd.Platform) {
		return nil, Invalid("unknown platform %q", cmd.Platform)
	}
	if cmd.Platform == PlatformConstitution {
		return nil, Invalid("the constitution platform is always connected")
	}
	if err := validConnectionMap("setting", cmd.Settings); err != nil {
		return nil, err
	}
	if err := validConnectionMap("secret", cmd.Secrets); err != nil {
		return nil, err
	}
	for name, v := range cmd.Secrets {
		if !strings.HasPrefix(v, SealedPrefix) {
			return nil, Invalid("secret %q is not sealed: secrets are encrypted by the API or the CLI before they are proposed", name)
		}
	}
	name := strings.TrimSpace(cmd.Name)
	if name == "" {
		name = cmd.Platform
	}
	old, known := c.Platforms[cmd.Platform]
	secrets := cmd.Secrets
	if known && old.ExternalID == cmd.ExternalID && len(old.Secrets) > 0 {
		secrets = copyOf(old.Secrets)
		for k, v := range cmd.Secrets {
			secrets[k] = v
		}
	}
	if len(secrets) == 0 {
		secrets = nil
	}
	settings := cmd.Settings
	if len(settings) == 0 {
		settings = nil
	}
	if known && old.Active && old.ExternalID == cmd.ExternalID && old.Name == name &&
		equalStringMaps(old.Settings, settings) && equalStringMaps(old.Secrets, secrets) {
		return nil, nil
	}
	return []Event{PlatformConnected{CommunityHeader: h, Platform: cmd.Platform, ExternalID: cmd.ExternalID,
		Name: name, Settings: settings, Secrets: secrets}}, nil
}

func (c *Community) removeIntegration(cmd RemoveIntegration, h CommunityHeader) ([]Event, error) {
	if cmd.Platform == PlatformConstitution {
		return nil, Invalid("the constitution platform cannot be disconnected")
	}
	p, ok := c.Platforms[cmd.Platform]
	if !ok || !p.Active {
		return nil, NotFound("connected platform %q", cmd.Platform)
	}
	return []Event{PlatformDisconnected{CommunityHeader: h, Platform: cmd.Platform}}, nil
}

// validConnectionMap checks the names and sizes of a connection's settings or secrets.
func validConnectionMap(what string, m map[string]string) error {
	if len(m) > MaxConnectionEntries {
		return Invalid("more than %d %ss", MaxConnectionEntries, what)
	}
	for k, v := range m {
		if !validKey(k) {
			return Invalid("%s name %q: use 1 to 64 lower-case letters, digits and '_'", what, k)
		}
		if len(v) > MaxConnectionValueBytes {
			return Invalid("%s %q is longer than %d bytes", what, k, MaxConnectionValueBytes)
		}
	}
	return nil
}

func validKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func equalStringMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
