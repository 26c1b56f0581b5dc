"""Gunicorn settings shared by `make run` and the Docker image (read from the working dir)."""

# One line per request, without the query string or the referrer: OAuth callbacks carry an
# authorisation code there, and secrets never reach the logs.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
