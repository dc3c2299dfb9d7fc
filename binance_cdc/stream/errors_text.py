"""One line that says what went wrong, from the errors Spark and py4j hand back."""

from __future__ import annotations

# Lines of a Java or Python trace that are frames, not the error itself.
_FRAME_PREFIXES = ("at ", "File ", "...", "Traceback", "^", "raise ", "return ")


def summary(error: object, limit: int = 300) -> str:
    """The most telling line of ``error``.

    A py4j "Python Proxy" message carries the real exception on its last lines;
    a Java trace (Py4JJavaError: "An error occurred while calling o12.save.")
    names it on the line after, and its root cause on the last "Caused by:".
    """
    text = str(error or "").strip()
    if not text:
        return type(error).__name__ if error is not None else "stopped"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line for line in lines if line.startswith("Caused by:")]
    if causes:
        return causes[-1][len("Caused by:"):].strip()[:limit]
    if "Traceback (most recent call last)" in text:
        for line in reversed(lines):
            if not line.startswith(_FRAME_PREFIXES) and ("Error" in line or "Exception" in line):
                return line[:limit]
    if lines[0].startswith("An error occurred while calling") and len(lines) > 1:
        return lines[1].lstrip(": ")[:limit]
    return lines[0][:limit]
