"""Drive `callqueue serve` in Debian's headless chromium and read what the terminal shows.

textual-serve draws with xterm.js on a canvas, so the page holds no text. An init script catches
each xterm `Terminal` as textual.js builds it, and `screen()` reads its buffer: the characters on
screen, wide (Chinese) ones included, one line per row.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
LOCAL_HOSTS = ("127.0.0.1", "localhost")

# textual.js keeps its terminal in a closure; it assigns it as `this.terminal = new Terminal(...)`,
# which this setter on Object.prototype sees first (test-only; the product page is unchanged).
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    if (value && value.buffer && value.buffer.active) {
      (window.__terminals = window.__terminals || []).push(value);
    }
    Object.defineProperty(this, "terminal", {
      value, writable: true, configurable: true, enumerable: true,
    });
  },
});
window.__screen = () => {
  const term = (window.__terminals || [])[0];
  if (!term) return "";
  const buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
};
"""

# Belt and braces with the request log in the test: chromium itself resolves no other host.
OFFLINE_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def require_chromium() -> str:
    """The chromium to drive; skips without one, except under CI where it must be installed."""
    found = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but Debian's chromium is missing (.ci/run installs it with apt-get)")
    pytest.skip("Debian's chromium is not installed: apt-get install chromium chromium-driver")


def screen(page: Page) -> str:
    """The text the page's terminal shows now."""
    return str(page.evaluate("window.__screen ? window.__screen() : ''"))


def wait_for_text(page: Page, *texts: str, timeout: float = 20.0) -> str:
    """Wait until the terminal shows every one of `texts` at once; return the whole screen.

    The app draws a screen in several writes, so one text on screen says nothing of the rest.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = screen(page)
        if all(text in shown for text in texts):
            return shown
        page.wait_for_timeout(100)
    raise AssertionError(
        f"{texts!r} did not appear within {timeout} s; the screen:\n{screen(page)}"
    )


def press(page: Page, *keys: str) -> None:
    """Type keys into the terminal, as a person at this tab would."""
    page.focus(".xterm-helper-textarea")
    for key in keys:
        page.keyboard.press(key)


def sign_in(page: Page, name: str, pin: str | None = None) -> None:
    """Sign in at this tab as `name`: pick them on the staff list, then give the PIN if asked.

    This is the one place that knows the sign-in steps.
    """
    shown = wait_for_text(page, "请选择工作人员")
    listed = re.findall(r"(\S+)  ·  .*  ·  ", shown)  # "name  ·  section  ·  role" rows
    assert name in listed, f"{name} is not on the staff list: {listed}"
    press(page, "Home", *["ArrowDown"] * listed.index(name), "Enter")
    if pin is not None:
        wait_for_text(page, f"登录：{name}", "忘记 PIN 请找管理员重设")
        page.keyboard.type(pin)
        press(page, "Enter")
