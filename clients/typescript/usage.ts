// What a frontend does with the client generated from the merged OpenAPI document. It is
// type-checked, never run: it compiles only while the contract offers everything it uses.
import createClient from "openapi-fetch";
import type { components, paths } from "handover-api";

type Engagement = components["schemas"]["EngagementRead"];
type EngagementPage = components["schemas"]["EngagementPage"];
type Requisition = components["schemas"]["RequisitionRead"];
type Problem = components["schemas"]["Problem"];

export function handover(baseUrl: string, token: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

type Handover = ReturnType<typeof handover>;

/** Every error answer is a problem document; validation problems locate each invalid field. */
export class ProblemError extends Error {
  readonly fields: string[];

  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
    this.fields = (problem.errors ?? []).map((error) => `${error.loc.join(".")}: ${error.msg}`);
  }
}

/** One page of the engagements in the operate phase that the caller may see. */
async function engagementsInOperation(
  api: Handover,
  cursor: string | null,
): Promise<EngagementPage> {
  const { data, error } = await api.GET("/v1/engagements", {
    params: { query: { phase: "operate", limit: 200, ...(cursor === null ? {} : { cursor }) } },
  });
  if (error) throw new ProblemError(error);
  return data;
}

/** All of them, following the cursor to the last page. */
export async function allEngagementsInOperation(api: Handover): Promise<Engagement[]> {
  let page = await engagementsInOperation(api, null);
  const engagements = [...page.items];
  while (page.next_cursor !== null) {
    page = await engagementsInOperation(api, page.next_cursor);
    engagements.push(...page.items);
  }
  return engagements;
}

export async function openRequisition(
  api: Handover,
  engagement: Engagement,
  title: string,
  headcount: number,
): Promise<Requisition> {
  const { data, error, response } = await api.POST("/v1/requisitions", {
    body: { engagement_id: engagement.id, title, headcount },
  });
  if (error) {
    // 503: a service this one asks (here, engagements) did not answer; `Retry-After` says when.
    if (response.status === 503) {
      console.warn(`${error.detail}; retry in ${response.headers.get("Retry-After")} s`);
    }
    throw new ProblemError(error);
  }
  return data;
}

/** A requisition, or null when there is none that the caller may see. */
export async function findRequisition(api: Handover, id: string): Promise<Requisition | null> {
  const { data, error } = await api.GET("/v1/requisitions/{requisition_id}", {
    params: { path: { requisition_id: id } },
  });
  if (error?.status === 404) return null;
  if (error) throw new ProblemError(error);
  return data;
}
