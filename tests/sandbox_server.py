"""Serve the Zoho sandbox over real HTTP in a background thread, for any test suite."""

import pathlib
import threading
from dataclasses import dataclass, field

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from sandbox import create_app

CLIENT_ID = "bookbridge-sandbox"
CLIENT_SECRET = "sandbox-secret"
FULL_SCOPE = "ZohoBooks.fullaccess.all"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        pass  # the sandbox logs its own line without query strings (tokens)


@dataclass
class SandboxServer:
    """A running sandbox: ``url``, credentials, ``data_dir``; ``stop()`` shuts it down."""

    url: str
    data_dir: pathlib.Path
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    _server: object = field(default=None, repr=False)
    _thread: threading.Thread = field(default=None, repr=False)

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def admin(self, method, path, **json):
        """Call the /sandbox/ control plane, e.g. ``admin("POST", "/sandbox/clock",
        advance_seconds=3600)``; returns the decoded JSON."""
        response = requests.request(method, self.url + path, json=json or None, timeout=30)
        response.raise_for_status()
        return response.json()

    def org_ids(self):
        """The demo user's organisation ids, in seed order (French org first)."""
        orgs = self.admin("GET", "/sandbox/orgs")["organizations"]
        return [org["organization_id"] for org in orgs if org["user"] == "demo@bookbridge.test"]

    def qonto_credentials(self):
        """(login, secret_key) of the sandbox's Qonto organisation, as of now."""
        info = self.admin("GET", "/sandbox/qonto")
        return info["login"], info["secret_key"]

    def qonto_headers(self):
        """The Qonto API-key header: ``Authorization: {login}:{secret_key}``."""
        login, secret = self.qonto_credentials()
        return {"Authorization": f"{login}:{secret}"}

    def self_client_tokens(self, scope=FULL_SCOPE, access_type="offline"):
        """Mint tokens without a browser (Zoho's Self Client), returning the token JSON."""
        code = requests.post(self.url + "/oauth/v2/self-client", timeout=30, data={
            "client_id": self.client_id, "client_secret": self.client_secret,
            "scope": scope, "access_type": access_type}).json()["code"]
        return requests.post(self.url + "/oauth/v2/token", timeout=30, data={
            "grant_type": "authorization_code", "client_id": self.client_id,
            "client_secret": self.client_secret, "code": code}).json()


def start_sandbox(data_dir: pathlib.Path, redirect_uris=None) -> SandboxServer:
    """Start a sandbox on 127.0.0.1 with a free port; PUBLIC_URL is its real URL."""
    data_dir = pathlib.Path(data_dir)
    config = {"DATA_DIR": str(data_dir), "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET,
              "REDIRECT_URIS": list(redirect_uris or []), "PUBLIC_URL": "http://127.0.0.1:0"}
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = url  # the port is only known once the socket is bound
    thread = threading.Thread(target=server.serve_forever, name="zoho-sandbox", daemon=True)
    thread.start()
    return SandboxServer(url=url, data_dir=data_dir, _server=server, _thread=thread)
