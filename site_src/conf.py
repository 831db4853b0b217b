"""Sphinx configuration of the course's static site (built by site_src/build.py; `make site`).

Everything a page loads comes from the site itself: the theme's own files, and the widget manager
and require.js, which build.py fetches from the npm registry into build/site-cache/assets/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

project = "eda-notebooks"
author = "the eda-notebooks authors"
copyright = "the eda-notebooks authors, MIT licence"

extensions = ["myst_nb", "sphinx.ext.githubpages"]  # the latter writes .nojekyll
exclude_patterns = ["**/.ipynb_checkpoints"]

# The notebooks are committed executed: show their saved outputs, never run them here.
nb_execution_mode = "off"
# Go blocks are fenced ```go and highlighted by Pygments' Go lexer; code cells are Python.
highlight_language = "python3"
myst_heading_anchors = 3  # the docs link to each other's sections by their heading's slug
myst_enable_extensions = ["colon_fence"]
# The widget manager and its loader, served from _static/widgets/ (no CDN); the CDN attribute
# points at the site too, so a widget of an unknown module fails here instead of going out.
nb_ipywidgets_js = {
    "widgets-setup.js": {},  # where the bundle's fonts are; alt text for a widget's picture
    "widgets/require.js": {},
    "widgets/embed-amd.js": {"data-jupyter-widgets-cdn": "_static/widgets/"},
}
nb_merge_streams = True
# Every collapsed cell in the lessons is a solution (its source and outputs hidden together).
nb_code_prompt_show = "Show the solution"
nb_code_prompt_hide = "Hide the solution"

html_theme = "sphinx_book_theme"
html_title = "Event-driven architecture, hands-on"
html_static_path = ["_static", str(ROOT / "build" / "site-cache" / "assets")]
html_css_files = ["site.css"]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_context = {"default_mode": "light"}  # (an empty mode is a console error of the theme)
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "show_prev_next": True,
    "navigation_with_keys": False,
    "navbar_persistent": [],  # no second search box in a header bar: the sidebar has one
}
