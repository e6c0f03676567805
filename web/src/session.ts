import { createContext, useContext } from "react";
import type { MeQuery } from "./gql/graphql";

export type Me = MeQuery["me"];
export const SessionContext = createContext<Me | null>(null);

// useMe is the signed-in account; pages under the sign-in gate always have one.
export function useMe(): Me {
  const me = useContext(SessionContext);
  if (!me) throw new Error("useMe outside the sign-in gate");
  return me;
}

// membership is the caller's membership of a community, if any.
export function useMembership(communityId: string) {
  return useMe().memberships.find((m) => m.communityId === communityId);
}

// can says whether the permissions (verb:actiontype) grant verb on an action type of a kind,
// as the engine reads them; the server decides, this only hides buttons that would fail.
export function can(perms: readonly string[] | undefined, verb: string, actionType: string, kind: string): boolean {
  if (!perms) return false;
  return perms.some((p) => {
    const [v, ...rest] = p.split(":");
    const at = rest.join(":");
    if (v !== verb) return false;
    if (at === "*" || at === actionType) return true;
    if (actionType === "policykitaddintegration" || actionType === "policykitremoveintegration") return false;
    return at === kind + ":*";
  });
}
