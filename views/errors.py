"""Error pages: what happened and what to do, never a stack trace."""

from flask import render_template
from flask_babel import lazy_gettext as _l

from extensions import htmx

TITLES = {400: _l("Not understood"), 404: _l("Page not found")}


def render_error(code: int, title: str, text: str):
    if htmx:
        # Swapped into the page's message area (see base.html's htmx config).
        return render_template("errors/_alert.html", title=title, text=text), code
    return render_template("errors/error.html", code=code, title=title, text=text), code
