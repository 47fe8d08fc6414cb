"""Log formatting: JSON lines when LOG_FORMAT=json."""
import datetime
import json
import logging


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and a request's fields when it has them."""

    def format(self, record):
        """Return the record as one line of JSON."""
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "request_fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
