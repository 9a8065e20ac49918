"""Styles: every component class of every widget has a rule in console.tcss (a class without one renders as plain
text, which is how `thread-list--due` and `--overdue` went unnoticed), the status column keeps its text whole, and
a critical risk stands out from a high one with 16 colours or fewer, where red and bright red may look alike."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from rich.console import Console
from textual.dom import DOMNode
from ui_fixtures import DemoCopy, loaded, make_app

import hitl_tui.ui
from hitl_tui.ui.widgets.thread_list import columns_for

CSS = (Path(hitl_tui.ui.__file__).parent / "console.tcss").read_text()


def widget_classes() -> list[type[DOMNode]]:
    """Every widget and screen class defined in hitl_tui.ui (modules imported, then classes found by subclassing)."""
    for info in pkgutil.walk_packages(hitl_tui.ui.__path__, "hitl_tui.ui."):
        importlib.import_module(info.name)
    found: list[type[DOMNode]] = []
    todo: list[type[DOMNode]] = [DOMNode]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("hitl_tui.ui.") and sub not in found:
                found.append(sub)
    return found


def test_every_component_class_has_a_css_rule() -> None:
    classes = {cls.__name__: sorted(cls.__dict__.get("COMPONENT_CLASSES", ())) for cls in widget_classes()}
    declared = {name: names for name, names in classes.items() if names}
    assert {"ThreadList", "DetailsPane", "StatusBar", "AuditPane", "EditDialog"} <= declared.keys()
    missing = [f"{widget}: .{name}" for widget, names in declared.items() for name in names
               if not re.search(rf"\.{re.escape(name)}\s*[{{,]", CSS)]
    assert missing == []


def test_the_status_column_widens_to_its_longest_text_and_the_action_gives_way() -> None:
    for width in (66, 80, 120):
        cols = dict((c.key, w) for c, w in columns_for(width, status_width=len("approved by alice@console")))
        assert cols["status"] >= min(len("approved by alice@console"), int(width * 0.3))
        assert sum(cols.values()) + len(cols) - 1 == width
    assert dict((c.key, w) for c, w in columns_for(120, 200))["status"] == 36  # never more than 30% of the width


async def test_critical_stands_out_from_high_in_16_colours(demo: DemoCopy) -> None:
    app = make_app(demo, stable=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        thread_list = app.console_screen.thread_list
        high = thread_list.get_component_rich_style("thread-list--risk-high")
        critical = thread_list.get_component_rich_style("thread-list--risk-critical")
        console = Console(color_system="standard", force_terminal=True, width=40)

        def codes(style) -> str:  # type: ignore[no-untyped-def]
            with console.capture() as capture:
                console.print("critical", style=style, end="")
            return capture.get()

        # Colours downgraded to 16 may coincide; attributes don't: reverse video is SGR 7.
        reverse = re.compile(r"\x1b\[(?:\d+;)*7(?:;\d+)*m")
        assert reverse.search(codes(critical)) and not reverse.search(codes(high))
        assert codes(critical) != codes(high)
        rows = [it for it in thread_list.items if (it.risk or "") == "critical"]
        assert rows, "the demo has a critical item (a transfer over 10,000)"
