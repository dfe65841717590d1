// A comment box that completes `@mentions`: typing `@` and a few letters lists the matching
// members of the organization (current members only, from the server), and choosing one
// writes `@<address> ` in place. Arrow keys move through the list, Enter or Tab picks, Escape
// closes it; a mention notifies the member once the comment is saved.
import { type KeyboardEvent, useEffect, useId, useRef, useState } from "react";
import { api, type Schemas, unwrap } from "../api/client";

type Member = Schemas["MentionableOut"];

/** The `@word` being typed just before the caret, if any. */
export function typedMention(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const match = /(^|[\s([{>*_"'])@([^\s@]*@?[^\s@]*)$/.exec(before);
  if (!match) return null;
  const query = match[2] ?? "";
  return { start: caret - query.length - 1, query };
}

export function MentionBox({
  orgId,
  value,
  onChange,
  label,
  placeholder,
}: {
  orgId: string;
  value: string;
  onChange: (value: string) => void;
  label: string;
  placeholder?: string;
}) {
  const box = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  const [typed, setTyped] = useState<{ start: number; query: string } | null>(null);
  const [members, setMembers] = useState<Member[]>([]);
  const [active, setActive] = useState(0);

  useEffect(() => {
    // The previous word's members are never offered for this one, even for a moment.
    setMembers([]);
    if (!typed) return;
    let current = true;
    const timer = window.setTimeout(() => {
      unwrap(
        api.GET("/api/v1/orgs/{org_id}/mentionable", {
          params: { path: { org_id: orgId }, query: { q: typed.query } },
        }),
      )
        .then((found) => {
          if (current) {
            setMembers(found);
            setActive(0);
          }
        })
        .catch(() => current && setMembers([]));
    }, 120);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [orgId, typed]);

  const pick = (member: Member) => {
    if (!typed) return;
    const end = typed.start + 1 + typed.query.length;
    const next = `${value.slice(0, typed.start)}@${member.email} ${value.slice(end)}`;
    onChange(next);
    setTyped(null);
    const caret = typed.start + member.email.length + 2;
    window.requestAnimationFrame(() => box.current?.setSelectionRange(caret, caret));
  };

  const open = typed !== null && members.length > 0;
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (!open) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : members.length - 1;
      setActive((index) => (index + step) % members.length);
    } else if (event.key === "Enter" || event.key === "Tab") {
      const member = members[active];
      if (member) {
        event.preventDefault();
        pick(member);
      }
    } else if (event.key === "Escape") {
      event.preventDefault();
      setTyped(null);
    }
  };

  return (
    <div className="mention-box">
      <label>
        <span className="visually-hidden">{label}</span>
        <textarea
          ref={box}
          placeholder={placeholder}
          value={value}
          maxLength={10000}
          required
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls={listId}
          aria-activedescendant={open ? `${listId}-${active}` : undefined}
          onKeyDown={onKeyDown}
          onBlur={() => window.setTimeout(() => setTyped(null), 150)}
          onChange={(event) => {
            onChange(event.target.value);
            setTyped(typedMention(event.target.value, event.target.selectionStart ?? event.target.value.length));
          }}
        />
      </label>
      <div id={listId} role="listbox" className="mention-list" aria-label="Members to mention" hidden={!open}>
        {open &&
          members.map((member, index) => (
            <div
              key={member.user_id}
              tabIndex={-1}
              id={`${listId}-${index}`}
              role="option"
              aria-selected={index === active}
              onMouseDown={(event) => {
                event.preventDefault();
                pick(member);
              }}
            >
              @{member.email}
            </div>
          ))}
      </div>
    </div>
  );
}
