ARG PYTHON_IMAGE=python:3.12-slim-bookworm
FROM ${PYTHON_IMAGE}

# Bookbridge: one image for both processes.
#   web (default):  docker run -p 8000:8000 -v bookbridge-data:/data bookbridge
#   worker:         docker run -v bookbridge-data:/data bookbridge huey_consumer jobs.huey -w 2 -k thread
# Only `python3` is assumed from the base image, so any Debian-like Python image works.

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# Tesseract reads scanned receipts (French and English). postgresql-client gives `backup`
# and `restore` pg_dump and pg_restore on PostgreSQL (bookworm's 15, the scale profile's
# server; a client reads servers up to its own major version).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng postgresql-client \
 && rm -rf /var/lib/apt/lists/*

# Runtime dependencies only (requirements-dev.txt is for tests), in a venv: Debian's pip
# refuses to install into the system Python.
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# Unprivileged user; the code stays root-owned and read-only to it, only /data is writable.
RUN groupadd --gid 10001 bookbridge \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/bookbridge \
      --shell /usr/sbin/nologin bookbridge \
 && mkdir -p /data \
 && chown 10001:10001 /data \
 && chmod 0750 /data

WORKDIR /app
COPY . /app
# The French catalogue compiled here: /app is read-only to the app at run time.
RUN chmod 0755 /app/docker/web /app/docker/healthcheck.py \
 && /opt/venv/bin/pybabel compile -d /app/translations

ENV BOOKBRIDGE_DATA_DIR=/data \
    PORT=8000
# The database, the queue and the generated secret keys live here: keep it on a volume.
VOLUME /data
EXPOSE 8000
USER 10001:10001

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python3", "/app/docker/healthcheck.py"]

# Gunicorn on 0.0.0.0:$PORT (see docker/web). Override the command to run the worker.
CMD ["/app/docker/web"]
