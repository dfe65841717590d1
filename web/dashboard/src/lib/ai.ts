// AI insights as the dashboard reads them: a POST that answers server-sent events, read as
// they arrive (`text` pieces, then `done` with the whole answer, or `error` midway). A refusal
// before the stream (AI off, no endpoint, budget spent, endpoint down) is problem+json and
// throws an ApiProblem like any other call.
import { type Schemas, unwrap } from "../api/client";

export type AiAnswer = Schemas["AnswerOut"];

type Streamed = { data?: ReadableStream<Uint8Array> | null; error?: unknown; response: Response };

/** One event of the stream. */
type AiEvent = Schemas["AiEventOut"];

/** The complete events at the start of `buffer`, and what is left of it (an event not yet whole). */
export function parseEvents(buffer: string): { events: AiEvent[]; rest: string } {
  const blocks = buffer.split("\n\n");
  const rest = blocks.pop() ?? "";
  const events: AiEvent[] = [];
  for (const block of blocks) {
    const data = block
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).trimStart())
      .join("\n");
    if (data) events.push(JSON.parse(data) as AiEvent);
  }
  return { events, rest };
}

/** Reads the answer `call` streams, telling `onText` the text so far; resolves with the answer. */
export async function readAnswer(call: Promise<Streamed>, onText: (text: string) => void): Promise<AiAnswer> {
  const body = await unwrap(call);
  if (!body) throw new Error("The answer was empty. Try again.");
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const parsed = parseEvents(buffer + decoder.decode(value, { stream: true }));
    buffer = parsed.rest;
    for (const event of parsed.events) {
      if (event.kind === "text" && event.text) {
        text += event.text;
        onText(text);
      } else if (event.kind === "done" && event.answer) {
        return event.answer;
      } else if (event.kind === "error") {
        throw new Error(event.error ?? "The AI endpoint stopped answering. Try again.");
      }
    }
  }
  throw new Error("The answer was cut off. Try again.");
}

/** `text` cut into plain pieces and citations of facts (`[F3]`), each with its offset in `text`. */
export function citations(text: string): Array<{ text: string; fact?: string; at: number }> {
  const parts: Array<{ text: string; fact?: string; at: number }> = [];
  let last = 0;
  for (const match of text.matchAll(/\[(F\d{1,3})\]/g)) {
    const at = match.index ?? 0;
    if (at > last) parts.push({ text: text.slice(last, at), at: last });
    parts.push({ text: match[1], fact: match[1], at });
    last = at + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), at: last });
  return parts;
}
