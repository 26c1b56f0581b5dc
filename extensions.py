"""The Flask extension objects, created here unbound and bound by `create_app`.

Views import them from here (not from app.py), so the arrows point one way: app.py
imports the views, and nothing imports app.py but the entry points.
"""

from flask_babel import Babel
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
htmx = HTMX()
login_manager = LoginManager()
