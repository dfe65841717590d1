// Every test talks to a fake `fetch` (installed before the app's modules load, since the API
// client keeps the fetch it was created with). Tests answer requests with `respondWith`.

import { cleanup } from "@testing-library/react";
import { afterEach, vi } from "vitest";

type Handler = (request: Request) => Response | Promise<Response>;
let handler: Handler = () => new Response("no handler", { status: 599 });
export const requests: Request[] = [];

globalThis.fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
  const request = input instanceof Request ? input : new Request(input, init);
  requests.push(request.clone());
  return handler(request);
}) as typeof fetch;

export function respondWith(next: Handler): void {
  handler = next;
}

export function json(body: unknown, status = 200, type = "application/json"): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
}

afterEach(() => {
  cleanup();
  requests.length = 0;
});
