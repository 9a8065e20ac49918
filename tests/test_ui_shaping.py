"""Shaping the list and the layout, with real keys on real demo data: sort (age, risk, deadline, graph in turn,
named in the status line), newest first, hiding decided items, zoom, and scrolling the details from the list.
All of it remappable and offered by the palette."""

from __future__ import annotations

import dataclasses

from test_ui_hazards import decide_elsewhere
from ui_fixtures import DemoCopy, loaded, loaded_on, make_app, rendered_text, select_thread, wait_for

from hitl_tui.config import DEFAULT_KEYS
from hitl_tui.console.list_shape import LEVEL_RANK, RISK_RANK, ListShape
from hitl_tui.model import DecisionKind
from hitl_tui.ui.widgets.details import DetailsPane


def shown(app) -> list:  # type: ignore[no-untyped-def]
    return list(app.console_screen.thread_list.items)


async def test_sort_cycles_and_the_status_line_says_which(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        by_age = shown(app)
        assert [it.thread.checkpoint_id for it in by_age] == sorted(it.thread.checkpoint_id for it in by_age)
        select_thread(app, "email-0002")
        await pilot.press("s")
        assert "sort risk" in rendered_text(app)
        ranks = [RISK_RANK.get((it.risk or "").lower(), 9) for it in shown(app)]
        assert ranks == sorted(ranks) and ranks[0] == RISK_RANK["critical"]
        assert app.console_screen.selected.thread.thread_id == "email-0002"  # the cursor stays on its item
        await pilot.press("s")
        assert "sort deadline" in rendered_text(app)
        now = app.clock()
        levels = [LEVEL_RANK.get(getattr(app.console_screen.escalate(it, now), "level", ""), 9) for it in shown(app)]
        assert levels == sorted(levels)
        await pilot.press("s")
        graphs = [it.thread.graph_id or "" for it in shown(app)]
        assert "sort graph" in rendered_text(app) and graphs == sorted(graphs)
        await pilot.press("s")
        assert shown(app) == by_age and "sort " not in rendered_text(app).splitlines()[0]
        await pilot.press("n")
        assert shown(app) == by_age[::-1] and "newest first" in rendered_text(app)


async def test_hide_decided_items_and_show_them_again(demo: DemoCopy) -> None:
    decide_elsewhere(demo, "email-0001", DecisionKind.REJECT)
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: any(it.record for it in shown(app)), 10, "the decided item")
        everything = len(shown(app))
        await pilot.press("h")
        assert len(shown(app)) == everything - 1 and all(it.record is None for it in shown(app))
        assert "decided hidden" in rendered_text(app)
        await pilot.press("h")
        assert len(shown(app)) == everything


async def test_zoom_cycles_the_layout_and_the_list_keys_keep_working(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        screen, details = app.console_screen, app.console_screen.query_one(DetailsPane)
        rows_before = screen.thread_list.size.height
        await pilot.press("plus")
        assert screen.has_class("-zoom-list") and not details.display
        await pilot.pause()
        assert screen.thread_list.size.height > rows_before + 5
        await pilot.press("plus")
        assert screen.has_class("-zoom-details") and details.display and not screen.query_one("#list-pane").display
        first = screen.selected
        await pilot.press("j")  # the list moves even while only the details show
        assert screen.selected != first and screen.selected.thread.thread_id in rendered_text(app)
        await pilot.press("plus")
        assert not screen.has_class("-zoom-list") and not screen.has_class("-zoom-details")


async def test_ctrl_d_and_ctrl_u_scroll_the_details_from_the_list(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded_on(pilot, "email-0001")
        details = app.console_screen.query_one(DetailsPane)
        await wait_for(pilot, lambda: details.max_scroll_y > 0, 5, "details longer than their pane")
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: details.scroll_y > 0, 5, "the details to scroll")
        assert app.console_screen.thread_list.has_focus
        await pilot.press("ctrl+u", "ctrl+u", "ctrl+u")
        await wait_for(pilot, lambda: details.scroll_y == 0, 5, "the details back at the top")


async def test_new_keys_are_remappable(demo: DemoCopy) -> None:
    keys = dict(DEFAULT_KEYS, sort="o", zoom="z")
    app = make_app(demo, config=dataclasses.replace(demo.config, keys=keys))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("s", "plus")
        assert app.console_screen.shape == ListShape() and not app.console_screen.has_class("-zoom-list")
        await pilot.press("o", "z")
        assert app.console_screen.shape.order == "risk" and app.console_screen.has_class("-zoom-list")


async def test_the_palette_offers_every_action_that_applies(demo: DemoCopy) -> None:
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded_on(pilot, "email-0001")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Approve", "Reject", "Edit", "Feedback", "Mark", "Filter", "Zoom", "Details down", "Details up",
                "Sort", "Newest first", "Hide decided", "Down", "Up", "Help", "Clear filter"} <= titles
        assert "Acknowledge" not in titles  # nothing in doubt here
        sort = next(c for c in app.get_system_commands(app.screen) if c.title == "Sort")
        await sort.callback()
        assert app.console_screen.shape.order == "risk"

