"""Run the sandbox: ``python -m sandbox [--host] [--port] [--data-dir] [--public-url]``."""

import argparse
import logging
import os

from werkzeug.serving import WSGIRequestHandler, make_server

from sandbox.app import create_app


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's access log prints query strings (tokens!); the app logs its own line."""

    def log_request(self, code="-", size="-"):
        pass


def _parse_args():
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--data-dir", default=os.environ.get("SANDBOX_DATA_DIR", "instance"))
    parser.add_argument("--public-url", default=None)
    return parser.parse_args()


def main():
    args = _parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    public_url = (args.public_url or os.environ.get("SANDBOX_PUBLIC_URL")
                  or f"http://127.0.0.1:{args.port}")
    app = create_app({
        "DATA_DIR": args.data_dir,
        "PUBLIC_URL": public_url,
        "CLIENT_ID": os.environ.get("SANDBOX_CLIENT_ID", "bookbridge-sandbox"),
        "CLIENT_SECRET": os.environ.get("SANDBOX_CLIENT_SECRET", "sandbox-secret"),
        "REDIRECT_URIS": os.environ.get("SANDBOX_REDIRECT_URIS", ""),
    })
    server = make_server(args.host, args.port, app, threaded=True,
                         request_handler=QuietRequestHandler)
    logging.getLogger("sandbox").info("Zoho sandbox on %s (data in %s)", public_url,
                                      args.data_dir)
    server.serve_forever()


if __name__ == "__main__":
    main()
