// Markdown for notes (and comments) as React elements, never as HTML: text is always a text
// node, so `<script>` in a note is shown as the characters it is and nothing runs, whatever
// the Content-Security-Policy. The subset: paragraphs, `#` headings, `-`/`*` and `1.` lists,
// **bold**, *italic*, `code`, and [links](https://…) to http(s) and mailto addresses only.
import type { ReactNode } from "react";

const INLINE = /(\*\*[^*]+\*\*|\*[^*\s][^*]*\*|`[^`]+`|\[[^\]]+\]\([^)\s]+\))/g;

/** Whether a link target is safe to follow (no `javascript:`, `data:` …). */
export function safeHref(href: string): string | null {
  try {
    const url = new URL(href, "https://invalid.example");
    if (url.origin === "https://invalid.example") return null;
    return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function inline(text: string, key: string): ReactNode[] {
  return text.split(INLINE).map((part, i) => {
    const k = `${key}-${i}`;
    if (part.startsWith("**") && part.endsWith("**") && part.length > 4)
      return <strong key={k}>{part.slice(2, -2)}</strong>;
    if (part.startsWith("`") && part.endsWith("`") && part.length > 2) return <code key={k}>{part.slice(1, -1)}</code>;
    if (part.startsWith("*") && part.endsWith("*") && part.length > 2) return <em key={k}>{part.slice(1, -1)}</em>;
    const link = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(part);
    if (link) {
      const href = safeHref(link[2]);
      return href ? (
        <a key={k} href={href} target="_blank" rel="noopener noreferrer nofollow">
          {link[1]}
        </a>
      ) : (
        link[1]
      );
    }
    return part;
  });
}

/** Renders `source` as a list of block elements. */
export function Markdown({ source }: { source: string }) {
  const blocks: ReactNode[] = [];
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const key = `b${i}`;
    if (!line.trim()) {
      i++;
      continue;
    }
    const heading = /^(#{1,3})\s+(.*)$/.exec(line);
    if (heading) {
      const level = heading[1].length;
      const content = inline(heading[2], key);
      blocks.push(
        level === 1 ? (
          <h3 key={key}>{content}</h3>
        ) : level === 2 ? (
          <h4 key={key}>{content}</h4>
        ) : (
          <h5 key={key}>{content}</h5>
        ),
      );
      i++;
      continue;
    }
    const bullet = /^\s*[-*]\s+/;
    const numbered = /^\s*\d+\.\s+/;
    const pattern = bullet.test(line) ? bullet : numbered.test(line) ? numbered : null;
    if (pattern) {
      const items: ReactNode[] = [];
      while (i < lines.length && pattern.test(lines[i])) {
        items.push(
          <li key={`${key}-${items.length}`}>{inline(lines[i].replace(pattern, ""), `${key}-${items.length}`)}</li>,
        );
        i++;
      }
      blocks.push(pattern === bullet ? <ul key={key}>{items}</ul> : <ol key={key}>{items}</ol>);
      continue;
    }
    const paragraph: string[] = [];
    while (
      i < lines.length &&
      lines[i].trim() &&
      !/^#{1,3}\s/.test(lines[i]) &&
      !bullet.test(lines[i]) &&
      !numbered.test(lines[i])
    ) {
      paragraph.push(lines[i]);
      i++;
    }
    blocks.push(<p key={key}>{inline(paragraph.join(" "), key)}</p>);
  }
  return <div className="markdown">{blocks}</div>;
}
