"""How every service logs: ``--log-format text`` (one readable line) or
``--log-format json`` (one JSON object a line, for a log collector).

Each record carries the id of the request being handled (the contextvar the
request-id middleware sets, ``-`` outside a request). Messages are written by
our own code, which logs identifiers, routes and counts, never personal data;
the JSON form adds nothing but those fields."""

from __future__ import annotations

import argparse
import json
import logging
import os
from datetime import UTC, datetime

from .http import RequestIdFilter

LOG_FORMATS = ("text", "json")
LOG_FORMAT_ENV = "KONBINI_LOG_FORMAT"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", "service"}``,
    plus ``exception`` (the traceback) when there is one."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "service": self.service,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, log_format: str = "text",
                      level: int = logging.INFO) -> None:
    """Send every logger's records to stderr in ``log_format``."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}")
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter(service) if log_format == "json" else logging.Formatter(
        f"%(asctime)s {service} %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def add_log_format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-format", choices=LOG_FORMATS,
                        default=os.environ.get(LOG_FORMAT_ENV, "text"),
                        help="text (default) or json: one JSON object a line with time, "
                             "level, logger, message and request_id")
