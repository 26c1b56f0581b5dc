#!/usr/bin/env python3
"""Docker HEALTHCHECK for the web process: exit 0 when /healthz answers 200."""

import os
import sys
import urllib.request

url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
try:
    with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 — loopback only
        sys.exit(0 if response.status == 200 else 1)
except Exception as error:  # noqa: BLE001 — any failure means unhealthy
    print(f"healthcheck: {url}: {error}", file=sys.stderr)
    sys.exit(1)
