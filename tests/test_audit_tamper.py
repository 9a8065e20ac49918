"""verify() catches every kind of tampering: a flipped byte, a deleted, reordered or inserted line, truncation."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hitl_tui.audit import (
    EVENT_DECISION,
    EVENT_OUTCOME,
    EVENT_REFUSED,
    AuditLog,
    AuditLogCorrupt,
    VerifyReport,
    hash_json,
    verify,
)
from hitl_tui.audit.anchor import Anchor, read_anchor, write_anchor
from hitl_tui.audit.chain import encode_line, seal
from hitl_tui.audit.verify import verify_data
from hitl_tui.cli.audit import verify_command
from hitl_tui.identity import Operator, current_operator

N_RECORDS = 5


def _build(path: Path) -> bytes:
    """A small but varied log (unicode, escaped controls, nested extras, a policy actor) with its anchor."""
    ticks = count()
    start = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
    log = AuditLog(path, clock=lambda: start + timedelta(seconds=next(ticks)), durable=False)
    human = current_operator(environ={"SSH_CONNECTION": "192.0.2.1 40000 10.0.0.1 22"})
    log.append(
        {"event": EVENT_DECISION, "actor": human, "thread_id": "t-1", "decision": "approve",
         "payload_hash": hash_json({"to": "a@example.com"}), "action": "send_email"},
        event_id="decision:1",
    )
    log.append(
        {"event": EVENT_DECISION, "actor": human, "thread_id": "t-2", "decision": "reject",
         "text": "nein, zu riskant \u00e9\u4e2d \x1b[2J", "extra": {"n": [1, 2.5, None, True]}},
        event_id="decision:2",
    )
    log.append({"event": EVENT_REFUSED, "actor": human, "thread_id": "t-2", "text": "already decided"})
    log.append({"event": EVENT_OUTCOME, "actor": Operator.policy("resumer"), "thread_id": "t-1",
                "outcome": "failed", "error": "ValueError: boom", "decision_id": 1})
    log.append({"event": EVENT_DECISION, "actor": Operator.policy("timeout"), "thread_id": "t-3",
                "decision": "reject", "text": "timed out after 3600 s"})
    return path.read_bytes()


@pytest.fixture
def logfile(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "decisions.jsonl"
    return path, _build(path)


def _anchor_path(path: Path) -> Path:
    return Path(str(path) + ".head")


def _check(path: Path, data: bytes) -> VerifyReport:
    path.write_bytes(data)
    return verify(path)


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def test_untouched_log_verifies(logfile: tuple[Path, bytes]) -> None:
    path, _ = logfile
    report = verify(path)
    assert report.ok, report.reason
    assert report.records == N_RECORDS and report.last_seq == N_RECORDS and report.anchor_seq == N_RECORDS
    assert report.notes == ()


@pytest.mark.parametrize("with_anchor", [False, True])
def test_every_single_byte_flip_is_detected(logfile: tuple[Path, bytes], with_anchor: bool) -> None:
    path, data = logfile
    # In memory for speed (thousands of variants); verify(path) runs this same check over the file.
    anchor = read_anchor(_anchor_path(path)) if with_anchor else None  # the chain alone must catch a flip
    assert verify_data(data, anchor).ok
    missed = []
    for pos in range(len(data)):
        for mask in (0x01, 0x20, 0xFF):  # low bit (digits, hex), case bit (escapes, hex), whole byte
            mutated = bytearray(data)
            mutated[pos] ^= mask
            if verify_data(bytes(mutated), anchor).ok:
                missed.append((pos, mask))
    assert missed == [], f"undetected flips at {missed[:10]}"


def test_byte_flips_in_the_file_are_detected(logfile: tuple[Path, bytes]) -> None:
    path, data = logfile
    for pos in range(0, len(data), 7):
        mutated = bytearray(data)
        mutated[pos] ^= 0x04
        assert not _check(path, bytes(mutated)).ok, f"flip at byte {pos} went unnoticed"


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_byte_edits_are_detected(logfile: tuple[Path, bytes], data: st.DataObject) -> None:
    path, original = logfile
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        kind = data.draw(st.sampled_from(["replace", "insert", "delete"]), label="kind")
        pos = data.draw(st.integers(0, len(mutated) - 1), label="pos")
        if kind == "replace":
            mutated[pos] ^= data.draw(st.integers(1, 255), label="xor")  # any other byte value
        elif kind == "insert":
            mutated.insert(pos, data.draw(st.integers(0, 255), label="byte"))
        else:
            del mutated[pos]
    if bytes(mutated) == original:
        return  # e.g. a deleted byte re-inserted where it was
    report = verify_data(bytes(mutated), read_anchor(_anchor_path(path)))
    assert not report.ok
    assert report.reason and report.first_bad_line is not None


@pytest.mark.parametrize("with_anchor", [False, True])
def test_deleting_any_line_is_detected(logfile: tuple[Path, bytes], with_anchor: bool) -> None:
    path, data = logfile
    if not with_anchor:
        _anchor_path(path).unlink()
    lines = _lines(data)
    # Without an anchor the last line can be removed unseen: that is exactly what the anchor is for.
    last = len(lines) if with_anchor else len(lines) - 1
    for i in range(last):
        report = _check(path, b"".join(lines[:i] + lines[i + 1 :]))
        assert not report.ok, f"deleting line {i + 1} went unnoticed"
        assert report.first_bad_line == (i + 1 if i < len(lines) - 1 else len(lines))


def test_deleting_the_first_line_names_it(logfile: tuple[Path, bytes]) -> None:
    path, data = logfile
    report = _check(path, b"".join(_lines(data)[1:]))
    assert report.reason == "line 1: the chain does not start here (seq 2); earlier records were removed"


def test_swapping_any_two_lines_is_detected(logfile: tuple[Path, bytes]) -> None:
    path, data = logfile
    lines = _lines(data)
    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            swapped = list(lines)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            report = _check(path, b"".join(swapped))
            assert not report.ok, f"swapping lines {i + 1} and {j + 1} went unnoticed"
            assert report.first_bad_line == i + 1


def _forge_after(lines: list[bytes], k: int, template_line: bytes) -> bytes:
    """A forged record that chains correctly onto line k (0 = at the start) with its own valid hash."""
    if k == 0:
        prev_hash, seq = "0" * 64, 1
    else:
        prev = json.loads(lines[k - 1])
        prev_hash, seq = prev["hash"], prev["seq"] + 1
    template = json.loads(template_line)
    template.update(seq=seq, decision="approve", thread_id="t-forged", event_id=f"forged-{k}")
    return encode_line(seal(template, prev_hash))


@pytest.mark.parametrize("with_anchor", [False, True])
def test_inserting_a_self_consistent_forged_line_is_detected(
    logfile: tuple[Path, bytes], with_anchor: bool
) -> None:
    path, data = logfile
    if not with_anchor:
        _anchor_path(path).unlink()
    lines = _lines(data)
    positions = range(len(lines) + 1) if with_anchor else range(len(lines))
    for k in positions:
        forged = _forge_after(lines, k, lines[0])
        report = _check(path, b"".join([*lines[:k], forged, *lines[k:]]))
        assert not report.ok, f"a forged line after line {k} went unnoticed"
        if with_anchor and k == len(lines) - 1:
            # The forgery takes the seq the anchor remembers, with another hash.
            assert report.reason == f"line {k + 1}: hash differs from the anchor's for seq {k + 1}"
        elif k < len(lines):
            # The forged line itself verifies; the genuine line after it no longer follows.
            assert report.reason == f"line {k + 2}: sequence number {k + 1} where {k + 2} was expected"
        else:
            assert report.reason == f"the log ends at seq {k + 1}, past the seq {k} its anchor recorded"


def test_replaced_line_with_renumbered_forgery_breaks_the_next_prev_hash(logfile: tuple[Path, bytes]) -> None:
    path, data = logfile
    lines = _lines(data)
    forged = _forge_after(lines, 2, lines[0])  # seq 3, chained onto line 2: a perfect stand-in for line 3
    report = _check(path, b"".join([*lines[:2], forged, *lines[3:]]))
    assert report.reason == "line 4: prev_hash does not match line 3"


def test_forged_tail_with_a_consistent_chain_is_caught_by_the_anchor(logfile: tuple[Path, bytes]) -> None:
    path, data = logfile
    lines = _lines(data)
    for keep in range(len(lines)):
        forged = list(lines[:keep])
        while len(forged) < len(lines):
            forged.append(_forge_after(forged, len(forged), lines[0]))
        report = _check(path, b"".join(forged))
        assert not report.ok, f"a forged tail after line {keep} went unnoticed"
        assert report.reason == f"line {len(lines)}: hash differs from the anchor's for seq {len(lines)}"
        # ...and the same forgery without an anchor would pass: the anchor is what catches it.
        saved = _anchor_path(path).read_bytes()
        _anchor_path(path).unlink()
        assert verify(path).ok
        _anchor_path(path).write_bytes(saved)


def test_truncation_at_every_length_is_detected(logfile: tuple[Path, bytes]) -> None:
    path, data = logfile
    anchor = read_anchor(_anchor_path(path))
    for cut in range(len(data)):
        assert not verify_data(data[:cut], anchor).ok, f"truncating to {cut} bytes went unnoticed"
    assert _check(path, b"").reason == f"the log is empty but its anchor says seq {N_RECORDS}"
    lines = _lines(data)
    report = _check(path, b"".join(lines[:3]))
    assert report.reason == f"the log ends at seq 3 but its anchor says {N_RECORDS}"
    assert report.first_bad_line == 4
    report = _check(path, data[:-10])
    assert report.reason == f"line {N_RECORDS}: file ends in a partial line (cut short or truncated)"


def test_partial_line_is_detected_without_an_anchor(logfile: tuple[Path, bytes]) -> None:
    _, data = logfile
    boundaries = {sum(len(x) for x in _lines(data)[:i]) for i in range(N_RECORDS + 1)}
    for cut in range(1, len(data)):
        report = verify_data(data[:cut])
        if cut in boundaries:
            assert report.ok  # whole lines cut off: only the anchor can tell (see above)
        else:
            assert "partial line" in (report.reason or ""), cut


def test_edit_that_parses_to_the_same_json_is_still_tampering(logfile: tuple[Path, bytes]) -> None:
    path, data = logfile
    assert b"\\u001b" in data
    report = _check(path, data.replace(b"\\u001b", b"\\u001B", 1))
    assert report.reason == "line 2: is not byte for byte the form it was written in (edited)"
    line1 = _lines(data)[0]
    dup_key = line1.replace(b'{"action"', b'{"decision":"reject","action"', 1)  # duplicate key
    assert not _check(path, dup_key + data[len(line1) :]).ok


def test_changed_content_names_the_line(logfile: tuple[Path, bytes]) -> None:
    path, data = logfile
    report = _check(path, data.replace(b'"decision":"reject"', b'"decision":"accept"', 1))
    assert report.ok is False and report.reason == "line 2: hash does not match its content"
    assert report.records == 1


def test_duplicate_event_id_in_a_consistent_chain_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    first = seal({"seq": 1, "event": "x", "event_id": "same"}, "0" * 64)
    second = seal({"seq": 2, "event": "x", "event_id": "same"}, first["hash"])
    path.write_bytes(encode_line(first) + encode_line(second))
    assert verify(path).reason == "line 2: event id 'same' was already used on line 1"


def test_interrupted_appends_leave_states_verify_accepts(logfile: tuple[Path, bytes]) -> None:
    path, data = logfile
    lines = _lines(data)
    rec4, rec5 = json.loads(lines[3]), json.loads(lines[4])
    pending = Anchor(4, rec4["hash"], pending_seq=5, pending_hash=rec5["hash"])
    write_anchor(_anchor_path(path), pending)
    after = _check(path, data)  # killed after writing the record, before the final anchor
    assert after.ok and after.notes == ("an append of seq 5 was interrupted after its record was written",)
    before = _check(path, b"".join(lines[:4]))  # killed before writing the record
    assert before.ok and before.notes == ("an append of seq 5 was interrupted before its record was written",)
    # Without the pending mark the same endings are tampering.
    write_anchor(_anchor_path(path), Anchor(4, rec4["hash"]))
    assert _check(path, data).reason == "the log ends at seq 5, past the seq 4 its anchor recorded"
    write_anchor(_anchor_path(path), Anchor(5, rec5["hash"]))
    assert _check(path, b"".join(lines[:4])).reason == "the log ends at seq 4 but its anchor says 5"


def test_a_batch_cut_short_by_a_crash_verifies(logfile: tuple[Path, bytes]) -> None:
    path, data = logfile
    lines = _lines(data)
    rec2, rec5 = json.loads(lines[1]), json.loads(lines[4])
    write_anchor(_anchor_path(path), Anchor(2, rec2["hash"], pending_seq=5, pending_hash=rec5["hash"]))
    middle = _check(path, b"".join(lines[:3]))
    assert middle.ok and middle.notes == ("an append of seq 3-5 was interrupted after writing up to seq 3",)
    assert _check(path, data).ok and _check(path, b"".join(lines[:2])).ok
    assert _check(path, b"".join(lines[:1])).reason == "the log ends at seq 1 but its anchor says 2"


def test_damaged_anchor_is_reported(logfile: tuple[Path, bytes]) -> None:
    path, _ = logfile
    _anchor_path(path).write_text('{"seq": "five"}')
    report = verify(path)
    assert not report.ok and "anchor" in (report.reason or "")


def test_verify_command_exit_codes_and_output(logfile: tuple[Path, bytes], tmp_path: Path) -> None:
    path, data = logfile
    out = io.StringIO()
    assert verify_command(path, False, out) == 0
    assert out.getvalue().startswith(f"OK: {path}: {N_RECORDS} records, chain intact")

    path.write_bytes(data.replace(b'"decision":"reject"', b'"decision":"accept"', 1))
    out = io.StringIO()
    assert verify_command(path, False, out) == 1
    assert out.getvalue().splitlines()[0] == f"TAMPERED: {path}: line 2: hash does not match its content."

    out = io.StringIO()
    assert verify_command(path, True, out) == 1
    doc = json.loads(out.getvalue())
    assert doc["ok"] is False and doc["first_bad_line"] == 2 and doc["exit_code"] == 1

    out = io.StringIO()
    assert verify_command(tmp_path / "nope.jsonl", False, out) == 2
    assert out.getvalue() == f"The audit log {tmp_path / 'nope.jsonl'} does not exist.\n"

    out = io.StringIO()
    assert verify_command(tmp_path, True, out) == 2  # a directory is not a readable log
    doc = json.loads(out.getvalue())
    assert doc["exit_code"] == 2 and "cannot be read" in doc["error"]

    path.unlink()
    out = io.StringIO()
    assert verify_command(path, False, out) == 2
    assert "rotated or deleted" in out.getvalue()


@pytest.mark.parametrize(
    "line",
    [
        b'{"hash":"' + b"a" * 64 + b'","prev_hash":"' + b"0" * 64 + b'","seq":1,"x":NaN}\n',
        b'{"hash":"' + b"a" * 64 + b'","prev_hash":"' + b"0" * 64 + b'","seq":1,"x":"\\ud800"}\n',
        b'{"hash":"' + b"a" * 64 + b'","prev_hash":"' + b"0" * 64 + b'","seq":true}\n',
        b"[1,2,3]\n",
        b"\n",
        b"\xff\xfe\n",
    ],
)
def test_odd_lines_are_reported_not_raised(tmp_path: Path, line: bytes) -> None:
    path = tmp_path / "a.jsonl"
    report = _check(path, line)
    assert not report.ok and report.first_bad_line == 1 and report.reason and report.reason.startswith("line 1:")
    with pytest.raises(AuditLogCorrupt):
        AuditLog(path).append({"event": "x"})
