"""The reader's language: a signed-in user's choice, else the language cookie, else the browser.

The choice is made in the menu (or on the sign-in page) and posted here; a signed-in user's
choice is kept on their account, so it follows them to another device. The cookie carries it
to the sign-in page after signing out.
"""

from flask import Blueprint, has_request_context, request, url_for
from flask_babel import refresh
from flask_login import current_user

from services import accounts, i18n
from views.helpers import see_other_url

bp = Blueprint("language", __name__)

COOKIE = "bookbridge_language"
COOKIE_AGE = 365 * 24 * 3600


def chosen_language() -> str:
    """"en" or "fr": what this request is read in."""
    if current_user and current_user.is_authenticated and current_user.language in i18n.LANGUAGES:
        return current_user.language
    cookie = request.cookies.get(COOKIE, "")
    if cookie in i18n.LANGUAGES:
        return cookie
    return request.accept_languages.best_match(list(i18n.LANGUAGES)) or i18n.default_language()


def select_locale() -> str:
    """Flask-Babel's locale selector; outside a request (jobs, CLI) English."""
    if not has_request_context():
        return i18n.BABEL_LOCALES[i18n.default_language()]
    return i18n.BABEL_LOCALES[chosen_language()]


@bp.app_context_processor
def language_context() -> dict:
    """For every page: its language (the html lang) and the menu's chooser."""
    chosen = ""
    if current_user and current_user.is_authenticated:
        chosen = current_user.language if current_user.language in i18n.LANGUAGES else ""
    else:
        cookie = request.cookies.get(COOKIE, "")
        chosen = cookie if cookie in i18n.LANGUAGES else ""
    return {"current_language": chosen_language(), "language_choice": chosen,
            "languages": i18n.LANGUAGES}


@bp.post("/language")
def choose():
    """Set the language from the menu: "en", "fr", or "" to follow the browser again."""
    language = request.form.get("language", "")
    if language not in i18n.LANGUAGES:
        language = ""
    if current_user.is_authenticated:
        accounts.set_language(current_user._get_current_object(), language)
    refresh()
    response = see_other_url(_back_to())
    if language:
        response.set_cookie(COOKIE, language, max_age=COOKIE_AGE, httponly=True,
                            samesite="Lax", secure=request.is_secure)
    else:
        response.delete_cookie(COOKIE)
    return response


def _back_to() -> str:
    """The page the choice was made on (a same-site path only), else the start page."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("auth.home")
