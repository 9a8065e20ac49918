"""A deterministic stand-in for the model: same request text in, same plan out, in every process.

Used when no API key is configured, and as the fallback when the model's reply is unusable. It reads a
few patterns from the request ("send an email to X saying Y", amounts, file paths, #channels) and derives
everything else (confidence, wording) from a sha256 seed of the text, never from `hash()`, which is salted
per process.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

# The demo's tools. Each one is "real but harmless": running it appends a line to the outbox.
TOOLS: dict[str, str] = {
    "send_email": "Send an email",
    "transfer": "Transfer money between accounts",
    "delete_file": "Delete a file",
    "create_ticket": "Open a ticket in the tracker",
    "post_message": "Post a message to a chat channel",
    "send_reply": "Send a reply to a customer",
}

INTERNAL_DOMAIN = "example.com"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_AMOUNT = re.compile(r"(?:[$€£]\s?)?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s*(usd|eur|gbp|dollars|euros)?", re.I)
_PATH = re.compile(r"(?<![\w@])(/[\w.\-/]+|[\w\-]+(?:/[\w.\-]+)*\.[a-z0-9]{1,5})\b", re.I)
_CHANNEL = re.compile(r"#[\w-]+")
_EMAIL_REQUEST = re.compile(
    r"(?:e-?mail|write|message|tell)\s+(?:to\s+)?(?P<to>[\w.+-]+@[\w.-]+\w|[A-Za-z][\w.-]*(?:\s[A-Z][\w-]*)?)"
    r"\s*(?:,\s*)?(?:saying|that|about|:)\s*(?P<body>.+)",
    re.I | re.S,
)
_RISKY_WORDS = (
    "refund",
    "legal",
    "lawsuit",
    "cancel",
    "compensation",
    "chargeback",
    "gdpr",
    "medical",
    "exception",
    "complaint",
    "password",
    "confidential",
    "wire",
    "bank",
)
_ROUTINE_WORDS = (
    "opening hours",
    "hours",
    "shipping",
    "tracking",
    "invoice copy",
    "address",
    "reset link",
    "thank",
    "schedule",
    "agenda",
    "reminder",
)


def seed_of(*parts: str) -> int:
    """A stable 32-bit seed of some text (the same in every process, unlike `hash`)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return int(digest[:8], 16)


def _sentence(text: str) -> str:
    text = " ".join(text.strip().split())
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _address(name_or_address: str) -> str:
    """An email address for a recipient written as an address or a name ("Dana Smith" -> dana.smith@...)."""
    found = _EMAIL.search(name_or_address)
    if found:
        return found.group(0).lower()
    local = ".".join(part.lower() for part in re.findall(r"[A-Za-z0-9]+", name_or_address)) or "team"
    return f"{local}@{INTERNAL_DOMAIN}"


def _subject(body: str) -> str:
    words = re.findall(r"[\w'’-]+", body)[:6]
    subject = " ".join(words) or "A note"
    return subject[:1].upper() + subject[1:]


def _amount(text: str) -> tuple[float, str] | None:
    for match in _AMOUNT.finditer(text):
        whole, cents, unit = match.group(1), match.group(2), (match.group(3) or "").lower()
        prefix = text[max(0, match.start()) : match.start() + 1]
        if not (unit or prefix in "$€£"):
            continue  # a bare number ("2 files") is not money
        value = float(whole.replace(",", "") + (f".{cents}" if cents else ""))
        currency = (
            "EUR" if unit.startswith("eur") or prefix == "€" else "GBP" if prefix == "£" or unit == "gbp" else "USD"
        )
        return value, currency
    return None


def risk_of(action: str, args: dict[str, Any]) -> str:
    """How much harm an action could do: low, medium, high or critical."""
    if action == "transfer":
        amount = float(args.get("amount") or 0)
        return "critical" if amount >= 10_000 else "high" if amount >= 1_000 else "medium"
    if action == "delete_file":
        path = str(args.get("path", ""))
        return "critical" if path.startswith(("/etc", "/var", "/prod")) else "high"
    if action in ("send_email", "send_reply"):
        text = " ".join(str(v) for v in args.values()).lower()
        if any(word in text for word in ("password", "bank", "wire", "confidential")):
            return "high"
        to = str(args.get("to", ""))
        return "medium" if to and not to.endswith("@" + INTERNAL_DOMAIN) else "low"
    return "low"


def describe(action: str, args: dict[str, Any]) -> str:
    """One line a person can read before approving."""
    if action == "send_email":
        return f"Email {args.get('to')}: {args.get('subject')}"
    if action == "transfer":
        amount = float(args.get("amount") or 0)
        return f"Transfer {amount:,.2f} {args.get('currency', 'USD')} to {args.get('to_account')}"
    if action == "delete_file":
        return f"Delete {args.get('path')}"
    if action == "create_ticket":
        return f"Open a {args.get('priority', 'normal')}-priority ticket: {args.get('title')}"
    if action == "post_message":
        return f"Post to {args.get('channel')}: {args.get('text')}"
    if action == "send_reply":
        return f"Reply to the customer: {str(args.get('response', ''))[:60]}"
    return f"{action} {args}"


def plan_email(request: str, feedback: Sequence[str] = ()) -> dict[str, Any]:
    """{"to", "subject", "body", "reasoning", "confidence", "risk"} for "send an email to X saying Y"."""
    match = _EMAIL_REQUEST.search(request)
    if match:
        to, said = _address(match.group("to")), match.group("body")
    else:
        to, said = f"team@{INTERNAL_DOMAIN}", request
    subject = _subject(said)
    if match and re.search(r"\babout\s*$", request[: match.start("body")], re.I):
        said = f"I'm writing about {said}"
    said = _sentence(said)
    notes: list[str] = []
    for text in feedback:
        if address := _EMAIL.search(text):
            to = address.group(0).lower()
            notes.append(f"recipient changed to {to}")
        if replaced := re.search(r"\b(?:say|saying|instead)\b[:,]?\s*(.+)", text, re.I | re.S):
            said = _sentence(replaced.group(1))
            subject = _subject(said)
            notes.append("message reworded")
        elif subject_match := re.search(r"\bsubject\b[:,]?\s*(.+)", text, re.I):
            subject = subject_match.group(1).strip().rstrip(".")
            notes.append("subject changed")
        elif not address:
            said = f"{said} {_sentence(text)}"
            notes.append("feedback added to the message")
    name = to.split("@")[0].split(".")[0].capitalize()
    body = f"Hi {name},\n\n{said}\n\nBest regards,\nThe demo agent"
    args = {"to": to, "subject": subject, "body": body}
    reasoning = f"The request asks to email {to}; the message states: {said}"
    if notes:
        reasoning += f" Revised after review feedback ({'; '.join(notes)})."
    confidence = round(0.55 + (seed_of(request) % 40) / 100, 2)
    return {**args, "reasoning": reasoning, "confidence": confidence, "risk": risk_of("send_email", args)}


def _action_args(clause: str) -> tuple[str, dict[str, Any]]:
    lower = clause.lower()
    if re.search(r"\b(transfer|pay|wire|send)\b.*(\d|[$€£])", lower):
        amount = _amount(clause) or (100.0, "USD")
        to = re.search(r"\bto\s+(?:account\s+)?([A-Za-z0-9][\w-]*)", clause)
        return "transfer", {
            "amount": amount[0],
            "currency": amount[1],
            "from_account": "OPERATING-001",
            "to_account": (to.group(1) if to else "SUPPLIER").upper(),
        }
    if re.search(r"\b(delete|remove|purge|wipe)\b", lower):
        path = _PATH.search(clause)
        return "delete_file", {"path": path.group(1) if path else f"/tmp/demo/{seed_of(clause) % 1000:03d}.tmp"}
    if re.search(r"\b(e-?mail|write to|tell)\b", lower):
        plan = plan_email(clause)
        return "send_email", {k: plan[k] for k in ("to", "subject", "body")}
    if re.search(r"\b(ticket|bug|issue|incident)\b", lower):
        priority = "high" if re.search(r"\b(urgent|outage|down|asap)\b", lower) else "normal"
        title = re.sub(
            r"^\s*(?:open|create|file|raise)\s+an?\s+(?:\w+\s+)?(?:ticket|bug|issue)\b[:\s]*",
            "",
            clause,
            flags=re.I,
        )
        return "create_ticket", {"title": _sentence(title or clause).rstrip("."), "priority": priority}
    channel = _CHANNEL.search(clause)
    return "post_message", {"channel": channel.group(0) if channel else "#general", "text": _sentence(clause)}


def _apply_feedback(action: str, args: dict[str, Any], text: str) -> tuple[dict[str, Any], bool]:
    """Let feedback override the obvious fields (amount, path, recipient, channel)."""
    args = dict(args)
    changed = False
    if action == "transfer" and (amount := _amount(text)):
        args["amount"], args["currency"] = amount
        changed = True
    if action == "transfer" and (to := re.search(r"\bto\s+(?:account\s+)?([A-Za-z0-9][\w-]*)", text)):
        args["to_account"] = to.group(1).upper()
        changed = True
    if action == "delete_file" and (path := _PATH.search(text)):
        args["path"] = path.group(1)
        changed = True
    if action == "send_email" and (address := _EMAIL.search(text)):
        args["to"] = address.group(0).lower()
        changed = True
    if action == "post_message" and (channel := _CHANNEL.search(text)):
        args["channel"] = channel.group(0)
        changed = True
    return args, changed


def plan_action(request: str, feedback: Sequence[str] = ()) -> dict[str, Any]:
    """{"action", "args", "reasoning"}: the one action that fulfils the request."""
    action, args = _action_args(request)
    reasoning = f"'{_sentence(request)}' maps to the {action} tool."
    for text in feedback:
        args, changed = _apply_feedback(action, args, text)
        reasoning += f" Feedback {text!r} " + ("applied." if changed else "noted; nothing in it changes the arguments.")
    return {"action": action, "args": args, "reasoning": reasoning}


def plan_tool_calls(request: str) -> list[dict[str, Any]]:
    """[{"name", "args", "description"}]: one tool call per clause ("X, then Y and Z")."""
    clauses = [c for c in re.split(r",?\s*\b(?:and then|then|and also|also)\b\s*|;\s*|\.\s+", request) if c.strip()]
    calls = []
    for clause in clauses or [request]:
        name, args = _action_args(clause)
        calls.append({"name": name, "args": args, "description": describe(name, args)})
    return calls


def assess(request: str, feedback: Sequence[str] = ()) -> dict[str, Any]:
    """{"response", "confidence", "reasoning"} for a customer request, confidence from keywords and seed."""
    lower = request.lower()
    seed = seed_of(request)
    risky = [w for w in _RISKY_WORDS if w in lower]
    routine = [w for w in _ROUTINE_WORDS if w in lower]
    if risky:
        confidence = 0.35 + (seed % 30) / 100  # 0.35 .. 0.64: policy questions need a person
        why = f"The request touches {', '.join(risky)}, where a wrong answer is costly and policy may apply."
        response = (
            f"Thank you for reaching out about this. I've passed your request ({_sentence(request)}) "
            "to the team that handles it; you'll hear back within two business days."
        )
    elif routine:
        confidence = 0.85 + (seed % 13) / 100  # 0.85 .. 0.97: routine, answered from public information
        why = f"A routine question ({', '.join(routine)}) answered from public information."
        response = f"Happy to help! About your question ({_sentence(request)}): please see the details below."
    else:
        confidence = 0.55 + (seed % 40) / 100  # 0.55 .. 0.94
        why = "A general question; the answer is plausible but not checked against policy."
        response = f"Thanks for your message. Regarding '{_sentence(request)}', here is what I can tell you."
    for text in feedback:
        response += f" {_sentence(text)}"
        why += f" Revised after review feedback: {text!r}."
    return {"response": response, "confidence": round(confidence, 2), "reasoning": why}
