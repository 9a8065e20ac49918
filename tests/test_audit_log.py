"""Appending to the audit log: record shape, chaining, idempotency per event id, anchor, rotation, errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hitl_tui.audit import (
    EVENT_CONTINUED,
    EVENT_DECISION,
    EVENT_OUTCOME,
    GENESIS_HASH,
    STANDARD_FIELDS,
    AuditLog,
    AuditLogCorrupt,
    AuditLogUnwritable,
    canonical_bytes,
    hash_json,
    iter_records,
    read_anchor,
    record_hash,
    verify,
)
from hitl_tui.audit.chain import encode_line, seal, seal_line
from hitl_tui.errors import HitlError
from hitl_tui.identity import Operator, current_operator


def _decision(i: int, **extra: object) -> dict[str, object]:
    return {
        "event": EVENT_DECISION,
        "actor": current_operator(environ={}),
        "thread_id": f"thread-{i}",
        "checkpoint_id": f"ckpt-{i}",
        "interrupt_id": f"int-{i}",
        "action": "send_email",
        "payload_hash": hash_json({"i": i}),
        "decision": "approve",
        **extra,
    }


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_first_records_form_a_chain_from_genesis(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "decisions.jsonl"  # parent folders are created on first use
    log = AuditLog(path)
    recs = [log.append(_decision(i), event_id=f"d{i}") for i in range(3)]
    assert [r["seq"] for r in recs] == [1, 2, 3]
    assert recs[0]["prev_hash"] == GENESIS_HASH
    assert recs[1]["prev_hash"] == recs[0]["hash"] and recs[2]["prev_hash"] == recs[1]["hash"]
    on_disk = list(iter_records(path))
    assert on_disk == recs
    for rec, line in zip(recs, _lines(path), strict=True):
        assert record_hash(rec) == rec["hash"]
        assert line == canonical_bytes(rec) + b"\n"  # the line is exactly what was hashed
        assert set(STANDARD_FIELDS) <= set(rec)
    assert verify(path).ok


def test_record_fields(tmp_path: Path) -> None:
    clock = iter([datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)])
    op = current_operator(environ={"SSH_CLIENT": "192.0.2.4 5555 22"})
    log = AuditLog(tmp_path / "a.jsonl", clock=lambda: next(clock))
    rec = log.append(
        _decision(1, actor=op, text="looks fine", args_hash=hash_json({"to": "x"}), reviewer_note="extra ok"),
        event_id="decision:1",
    )
    assert rec["ts"] == "2025-03-04T05:06:07.890000Z"
    assert rec["event_id"] == "decision:1"
    assert rec["actor"] == op.as_record() and rec["actor"]["ssh_client_source"] == "env"
    assert rec["host"] == op.host
    assert rec["text"] == "looks fine" and rec["reviewer_note"] == "extra ok"
    assert rec["outcome"] is None and rec["error"] is None and rec["decision_id"] is None


def test_timestamps_are_utc_with_z(tmp_path: Path) -> None:
    plus2 = timezone(timedelta(hours=2))
    log = AuditLog(tmp_path / "a.jsonl", clock=lambda: datetime(2025, 1, 1, 14, 0, 0, tzinfo=plus2))
    assert log.append({"event": "x"})["ts"] == "2025-01-01T12:00:00.000000Z"
    naive = AuditLog(tmp_path / "b.jsonl", clock=lambda: datetime(2025, 1, 1, 14, 0, 0))  # taken as UTC
    assert naive.append({"event": "x"})["ts"] == "2025-01-01T14:00:00.000000Z"
    real = AuditLog(tmp_path / "c.jsonl")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", real.append({"event": "x"})["ts"])


def test_same_event_id_is_written_once_and_returned_again(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    first = log.append(_decision(1), event_id="decision:1")
    log.append(_decision(2), event_id="decision:2")
    again = log.append(_decision(1, text="a retry with different text"), event_id="decision:1")
    assert again == first
    assert len(_lines(path)) == 2
    # A second AuditLog (as another process would have) sees the same through the file.
    other = AuditLog(path)
    assert other.append(_decision(1), event_id="decision:1") == first
    found = other.find("decision:2")
    assert found is not None and found["seq"] == 2
    assert other.find("decision:3") is None
    assert len(_lines(path)) == 2


def test_event_index_notices_appends_by_others(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    a, b = AuditLog(path), AuditLog(path)
    a.append(_decision(1), event_id="e1")  # a's index now covers the file
    b.append(_decision(2), event_id="e2")  # written behind a's back
    assert a.append(_decision(2), event_id="e2")["seq"] == 2
    assert len(_lines(path)) == 2


def test_event_index_survives_the_file_being_replaced(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    log.append(_decision(1), event_id="e1")
    os.rename(path, tmp_path / "a.jsonl.1")
    rec = log.append(_decision(1), event_id="e1")  # a new file: e1 is not in it
    assert rec["seq"] == 3  # after the rotation marker
    assert [r["event"] for r in iter_records(path)] == [EVENT_CONTINUED, EVENT_DECISION]


def test_generated_event_ids_are_unique(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl")
    ids = {log.append({"event": EVENT_OUTCOME})["event_id"] for _ in range(20)}
    assert len(ids) == 20


def test_anchor_follows_the_last_record(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    for i in range(3):
        rec = log.append(_decision(i))
    anchor = read_anchor(Path(str(path) + ".head"))
    assert anchor is not None
    assert (anchor.seq, anchor.hash, anchor.pending_seq) == (3, rec["hash"], None)
    assert anchor.inode == os.stat(path).st_ino


def test_rotation_by_rename_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path, operator=Operator.policy("rotation"))
    last_old = [log.append(_decision(i)) for i in range(3)][-1]
    os.rename(path, tmp_path / "a.jsonl.1")
    rec = log.append(_decision(9))
    header, new = list(iter_records(path))
    assert header["event"] == EVENT_CONTINUED and "renamed" in header["text"]
    assert header["continues_seq"] == 3 and header["continues_hash"] == last_old["hash"]
    assert header["prev_hash"] == last_old["hash"] and header["seq"] == 4
    assert header["actor"]["user"] == "policy:rotation"
    assert new == rec and rec["seq"] == 5 and rec["prev_hash"] == header["hash"]
    assert verify(path).ok and verify(tmp_path / "a.jsonl.1").ok
    assert any("continues a chain" in n for n in verify(path).notes)


def test_copytruncate_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    for i in range(2):
        log.append(_decision(i))
    os.truncate(path, 0)
    log.append(_decision(5))
    header = next(iter_records(path))
    assert header["event"] == EVENT_CONTINUED and "emptied" in header["text"]
    assert verify(path).ok


def test_refuses_to_chain_onto_a_log_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    for i in range(4):
        log.append(_decision(i))
    data = _lines(path)
    path.write_bytes(b"".join(data[:2]))  # whole trailing lines removed
    with pytest.raises(AuditLogCorrupt, match="ends at seq 2 but its anchor says 4"):
        log.append(_decision(9))
    assert len(_lines(path)) == 2  # nothing written


def test_refuses_partial_last_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    log.append(_decision(1))
    with open(path, "ab") as fh:
        fh.write(b'{"seq":2,"half')
    with pytest.raises(AuditLogCorrupt, match="partial line") as err:
        log.append(_decision(2))
    assert isinstance(err.value, HitlError)
    assert "\n" not in str(err.value)


def test_refuses_corrupt_last_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    log.append(_decision(1))
    log.append(_decision(2))
    lines = _lines(path)
    path.write_bytes(lines[0] + lines[1].replace(b"approve", b"reject!"))
    with pytest.raises(AuditLogCorrupt, match="last line"):
        log.append(_decision(3))


def test_refuses_damaged_anchor(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    log.append(_decision(1))
    Path(str(path) + ".head").write_text("{not json")
    with pytest.raises(AuditLogCorrupt, match="anchor"):
        log.append(_decision(2))


def test_unwritable_location_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AuditLogUnwritable) as err:
        AuditLog(blocker / "decisions.jsonl").append({"event": "x"})  # parent is a file
    assert str(blocker) in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(AuditLogUnwritable, match="Cannot open the audit log"):
        AuditLog(tmp_path / "dir.jsonl").append({"event": "x"})


def test_caller_cannot_set_chain_fields(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl")
    for key in ("seq", "hash", "prev_hash", "ts", "event_id"):
        with pytest.raises(ValueError, match="set by the log"):
            log.append({"event": "x", key: 1})
    with pytest.raises(ValueError, match="event"):
        log.append({"thread_id": "t"})
    with pytest.raises(ValueError, match="plain JSON"):
        log.append({"event": "x", "when": datetime.now()})
    with pytest.raises(ValueError, match="plain JSON"):
        log.append({"event": "x", "score": float("nan")})
    assert not (tmp_path / "a.jsonl").exists() or (tmp_path / "a.jsonl").read_bytes() == b""


def test_undecodable_text_is_stored_as_replacement_characters(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    hostile = b"ok \xff\xfe end".decode("utf-8", "surrogateescape")
    rec = log.append({"event": "x", "text": hostile, "extra": {"k": [hostile]}})
    assert rec["text"] == "ok \ufffd\ufffd end"
    assert next(iter_records(path)) == rec
    assert verify(path).ok


def test_control_characters_stay_escaped_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    log.append({"event": "x", "text": "\x1b]52;c;AAAA\x07 \u202e \x9b2J"})
    raw = path.read_bytes()
    assert b"\x1b" not in raw and b"\x07" not in raw
    assert json.loads(raw)["text"] == "\x1b]52;c;AAAA\x07 \u202e \x9b2J"


def test_disk_full_is_one_clear_error(tmp_path: Path) -> None:
    # /dev/full accepts opens and fails every write with ENOSPC: a real disk-full error.
    if not Path("/dev/full").exists():
        pytest.skip("/dev/full is not available here")
    log = AuditLog(tmp_path / "a.jsonl")
    log.path = Path("/dev/full")  # keep lock and anchor in tmp_path
    with pytest.raises(AuditLogUnwritable, match="Cannot write"):
        log.append({"event": "x"})


def test_audit_and_identity_do_not_import_textual() -> None:
    code = "import sys, hitl_tui.audit, hitl_tui.identity; print('textual' in sys.modules)"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_append_many_writes_a_batch_in_order_with_the_same_rules(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    first = log.append(_decision(0), event_id="d0")
    got = log.append_many(
        [
            (_decision(1), "d1"),
            (_decision(0, text="again"), "d0"),  # already logged: returned, not written
            (_decision(2), None),
            (_decision(1, text="repeat in batch"), "d1"),  # first one in the batch wins
        ]
    )
    assert got[1] == first
    assert got[3] == got[0] and got[0]["thread_id"] == "thread-1" and got[0]["text"] is None
    assert [r["seq"] for r in got] == [2, 1, 3, 2]
    assert _lines(path) == [canonical_bytes(r) + b"\n" for r in (first, got[0], got[2])]
    assert log.append_many([]) == []
    assert log.append_many([(_decision(1), "d1")]) == [got[0]]
    assert len(_lines(path)) == 3
    assert verify(path).ok
    anchor = read_anchor(Path(str(path) + ".head"))
    assert anchor is not None and (anchor.seq, anchor.pending_seq) == (3, None)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(record=st.dictionaries(st.sampled_from([*STANDARD_FIELDS, "a", "hasg", "hasi", "zz", ""]) | st.text(max_size=6),
                              _JSON, max_size=12),
       prev=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))
def test_sealing_in_one_pass_gives_the_same_record_and_bytes_as_sealing_then_encoding(
    record: dict[str, object], prev: str
) -> None:
    """The append path splices the hash into one encoding; it must be byte for byte what verify recomputes."""
    sealed, line = seal_line(record, prev)
    assert sealed == seal(record, prev) and sealed["hash"] == record_hash(sealed)
    assert line == encode_line(sealed)
