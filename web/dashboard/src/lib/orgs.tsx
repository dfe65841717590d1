// The organizations the signed-in user belongs to, with their role in each.
import { createContext, type ReactNode, useContext } from "react";
import { api, type Schemas, unwrap } from "../api/client";
import { type Async, useAsync } from "./useAsync";

type Orgs = Async<Schemas["OrganizationOut"][]>;

const OrgsContext = createContext<Orgs | null>(null);

export function OrgsProvider({ children }: { children: ReactNode }) {
  const orgs = useAsync(
    async () => (await unwrap(api.GET("/api/v1/orgs", { params: { query: { limit: 200 } } }))).items,
    [],
  );
  return <OrgsContext.Provider value={orgs}>{children}</OrgsContext.Provider>;
}

export function useOrgs(): Orgs {
  const orgs = useContext(OrgsContext);
  if (!orgs) throw new Error("useOrgs outside <OrgsProvider>");
  return orgs;
}

/** The organization `id` and the user's role in it, once loaded. */
export function useOrg(id: string): Schemas["OrganizationOut"] | undefined {
  return useOrgs().data?.find((org) => org.id === id);
}
