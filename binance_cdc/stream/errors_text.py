"""One line that says what went wrong, from the errors Spark and py4j hand back."""

from __future__ import annotations

# Lines of a Java or Python trace that are frames, not the error itself.
_FRAME_PREFIXES = ("at ", "File ", "...", "Traceback", "^", "raise ", "return ")


def summary(error: object, limit: int = 300) -> str:
    """The most telling line of ``error``: a py4j "Python Proxy" message carries the
    real exception on its last lines, a Java trace on its first."""
    text = str(error or "").strip()
    if not text:
        return type(error).__name__ if error is not None else "stopped"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "Traceback (most recent call last)" in text:
        for line in reversed(lines):
            if not line.startswith(_FRAME_PREFIXES) and ("Error" in line or "Exception" in line):
                return line[:limit]
    return lines[0][:limit]
