// An AI insight: a button that asks for it, the text as it streams in, each `[F3]` citation a
// link to where its figure lives, who wrote it, figures that are not Beacon's in red, and why
// Beacon's statistical summary is shown instead when it is.
import { type ReactNode, useState } from "react";
import { type AiAnswer, citations, readAnswer } from "../lib/ai";
import { Link } from "../lib/router";
import { Button, ErrorNote } from "./ui";

type Streamed = { data?: ReadableStream<Uint8Array> | null; error?: unknown; response: Response };

export function AiInsight({ label, ask, intro }: { label: string; ask: () => Promise<Streamed>; intro?: ReactNode }) {
  const [busy, setBusy] = useState(false);
  const [text, setText] = useState("");
  const [answer, setAnswer] = useState<AiAnswer | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    setAnswer(null);
    setText("");
    try {
      setAnswer(await readAnswer(ask(), setText));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="ai-insight">
      {intro}
      <Button variant="secondary" busy={busy} onClick={() => void run()}>
        {answer ? "Ask again" : label}
      </Button>
      <ErrorNote error={error} />
      {(text || answer) && <AnswerText text={answer?.text ?? text} answer={answer} />}
    </div>
  );
}

function AnswerText({ text, answer }: { text: string; answer: AiAnswer | null }) {
  const facts = new Map((answer?.facts ?? []).map((fact) => [fact.id, fact]));
  return (
    <div className="ai-answer" aria-live="polite">
      <p>
        {citations(text).map((part) => {
          const fact = part.fact ? facts.get(part.fact) : undefined;
          if (!part.fact) return <span key={part.at}>{part.text}</span>;
          const number = part.text.slice(1);
          return fact?.link ? (
            <Link key={part.at} to={fact.link} title={fact.text} className="citation">
              [{number}]
            </Link>
          ) : (
            <span key={part.at} title={fact?.text} className="citation">
              [{number}]
            </span>
          );
        })}
      </p>
      {answer && answer.unverified.length > 0 && (
        <p className="error" role="alert">
          Not found in Beacon's figures, check before relying on them: {answer.unverified.join(", ")}
        </p>
      )}
      {answer && (
        <p className="muted small">
          {answer.label}
          {answer.cached ? " · from the cache" : ""}
          {answer.prompt_tokens + answer.completion_tokens > 0
            ? ` · ${(answer.prompt_tokens + answer.completion_tokens).toLocaleString()} tokens`
            : ""}
          {answer.notice ? ` · ${answer.notice}` : ""}
        </p>
      )}
    </div>
  );
}
