"""Debian's Chromium, as both browser tests launch it (JupyterLab's and the static site's): the
binary, and the flags that keep it from reaching out on its own (updates, sync, QUIC)."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
