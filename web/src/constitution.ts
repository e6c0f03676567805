// The constitution action types the API's proposeConstitutionAction takes, each with a
// payload to start from (the fields of its domain payload).
const policyTemplate = {
  name: "",
  description: "",
  action_types: [],
  filter: "",
  initialize: "",
  check: "",
  notify: "",
  success: "",
  fail: "",
};

export const constitutionTypes: Record<string, object> = {
  policykitaddcommunitydoc: { name: "", text: "" },
  policykitchangecommunitydoc: { document_id: "", name: "", text: "" },
  policykitdeletecommunitydoc: { document_id: "" },
  policykitrecovercommunitydoc: { document_id: "" },
  policykitaddrole: { name: "", description: "", permissions: [] },
  policykiteditrole: { role: "", description: "", permissions: [] },
  policykitdeleterole: { role: "" },
  policykitadduserrole: { role: "", user_ids: [] },
  policykitremoveuserrole: { role: "", user_ids: [] },
  policykitaddplatformpolicy: policyTemplate,
  policykitaddconstitutionpolicy: policyTemplate,
  policykitaddtriggerpolicy: policyTemplate,
  policykitchangeplatformpolicy: { policy_id: "", ...policyTemplate },
  policykitchangeconstitutionpolicy: { policy_id: "", ...policyTemplate },
  policykitchangetriggerpolicy: { policy_id: "", ...policyTemplate },
  policykitremoveplatformpolicy: { policy_id: "" },
  policykitremoveconstitutionpolicy: { policy_id: "" },
  policykitremovetriggerpolicy: { policy_id: "" },
  policykitrecoverplatformpolicy: { policy_id: "" },
  policykitrecoverconstitutionpolicy: { policy_id: "" },
  policykitrecovertriggerpolicy: { policy_id: "" },
  policykitaddintegration: { platform: "", external_id: "", name: "", settings: {}, secrets: {} },
  policykitremoveintegration: { platform: "" },
};

export const verbs = ["view", "propose", "execute", "vote"];
export const permissionScopes = ["*", "platform:*", "constitution:*", "trigger:*", ...Object.keys(constitutionTypes)];
