"""Grant codes, refresh tokens and access tokens with Zoho's limits (NOTES §1.3-§1.5)."""

import secrets

from sandbox import store

CODE_LIFETIME_S = 120
ACCESS_TOKEN_LIFETIME_S = 3600
MAX_LIVE_ACCESS_TOKENS = 10
MAX_REFRESH_TOKENS = 20
REFRESH_WINDOW_S = 600
MAX_REFRESHES_PER_WINDOW = 10


def _token():
    # Zoho tokens look like "1000.<hex>.<hex>"; clients must treat them as opaque.
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def create_grant_code(db, *, client_id, redirect_uri, scope, access_type, prompt, user, now):
    code = _token()
    db.execute(
        "INSERT INTO grant_code (code, client_id, redirect_uri, scope, access_type, prompt,"
        " user_email, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (code, client_id, redirect_uri, scope, access_type, prompt, user, now),
    )
    return code


def redeem_grant_code(db, code, client_id, now):
    """Mark a code used and return its row, or None when unknown, used, expired or foreign."""
    with store.transaction(db):
        row = db.execute("SELECT * FROM grant_code WHERE code = ?", (code,)).fetchone()
        if (row is None or row["used"] or row["client_id"] != client_id
                or now - row["created_at"] > CODE_LIFETIME_S):
            return None
        db.execute("UPDATE grant_code SET used = 1 WHERE code = ?", (code,))
    return row


def has_live_refresh_token(db, user, client_id):
    return db.execute(
        "SELECT 1 FROM refresh_token WHERE user_email = ? AND client_id = ? AND revoked = 0",
        (user, client_id),
    ).fetchone() is not None


def create_refresh_token(db, *, client_id, user, scope, now):
    """Mint a refresh token; the 21st live one for this user and client kills the oldest."""
    token = _token()
    with store.transaction(db):
        db.execute(
            "INSERT INTO refresh_token (token, client_id, user_email, scope, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (token, client_id, user, scope, now),
        )
        surplus = db.execute(
            "SELECT token FROM refresh_token WHERE user_email = ? AND client_id = ?"
            " AND revoked = 0 ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?",
            (user, client_id, MAX_REFRESH_TOKENS),
        ).fetchall()
        for row in surplus:
            revoke_refresh_token(db, row["token"])
    return token


def create_access_token(db, *, client_id, user, scope, refresh_token, now):
    """Mint an access token; beyond 10 live ones per refresh token the oldest dies."""
    token = _token()
    with store.transaction(db):
        db.execute(
            "INSERT INTO access_token (token, refresh_token, client_id, user_email, scope,"
            " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (token, refresh_token, client_id, user, scope, now, now + ACCESS_TOKEN_LIFETIME_S),
        )
        if refresh_token:
            db.execute(
                "UPDATE access_token SET revoked = 1 WHERE token IN (SELECT token FROM"
                " access_token WHERE refresh_token = ? AND revoked = 0 AND expires_at > ?"
                " ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)",
                (refresh_token, now, MAX_LIVE_ACCESS_TOKENS),
            )
    return token


def find_refresh_token(db, token, client_id):
    row = db.execute(
        "SELECT * FROM refresh_token WHERE token = ? AND revoked = 0", (token,)
    ).fetchone()
    return row if row is not None and row["client_id"] == client_id else None


def refresh_allowed(db, refresh_token, now):
    """Throttle: at most 10 access-token requests per 10 minutes per refresh token."""
    with store.transaction(db):
        recent = db.execute(
            "SELECT COUNT(*) FROM token_request WHERE refresh_token = ? AND at > ?",
            (refresh_token, now - REFRESH_WINDOW_S),
        ).fetchone()[0]
        if recent >= MAX_REFRESHES_PER_WINDOW:
            return False
        db.execute("INSERT INTO token_request VALUES (?, ?)", (refresh_token, now))
    return True


def find_access_token(db, token, now):
    """The live access token row (not revoked, not expired), or None."""
    return db.execute(
        "SELECT * FROM access_token WHERE token = ? AND revoked = 0 AND expires_at > ?",
        (token, now),
    ).fetchone()


def revoke_refresh_token(db, token):
    db.execute("UPDATE refresh_token SET revoked = 1 WHERE token = ?", (token,))
    db.execute("UPDATE access_token SET revoked = 1 WHERE refresh_token = ?", (token,))


def revoke_any_token(db, token):
    """Revoke a live refresh or access token; False when the token is unknown or dead."""
    with store.transaction(db):
        if db.execute("SELECT 1 FROM refresh_token WHERE token = ? AND revoked = 0",
                      (token,)).fetchone():
            revoke_refresh_token(db, token)
            return True
        cursor = db.execute(
            "UPDATE access_token SET revoked = 1 WHERE token = ? AND revoked = 0", (token,)
        )
        return cursor.rowcount > 0


def revoke_user_tokens(db, user, refresh_token=None):
    """What a user does in Zoho's 'Connected Apps' page: revoke one or all refresh tokens."""
    with store.transaction(db):
        if refresh_token:
            rows = [{"token": refresh_token}]
        else:
            rows = db.execute(
                "SELECT token FROM refresh_token WHERE user_email = ? AND revoked = 0", (user,)
            ).fetchall()
        for row in rows:
            revoke_refresh_token(db, row["token"])
        if not refresh_token:  # online-only access tokens have no refresh token to follow
            db.execute("UPDATE access_token SET revoked = 1 WHERE user_email = ?", (user,))
    return len(rows)
