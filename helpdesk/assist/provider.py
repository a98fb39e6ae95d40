"""A client for OpenAI-compatible chat-completions APIs (OpenAI, Ollama, llama.cpp, vLLM...).

One call: ``complete(messages)`` POSTs ``{base}/chat/completions`` and returns the text of
the first choice. Everything that is not a well-formed, non-empty, reasonably sized answer
raises a ``ProviderError`` subclass, so the caller can say what went wrong and leave the
agent's draft alone. stdlib urllib is enough for one JSON POST; no extra dependency.

The API key is sent in the Authorization header only: it never appears in an exception
message, a log line or a stored row.
"""
import json
import logging
import re
import socket
import time
import urllib.error
import urllib.request

log = logging.getLogger(__name__)

#: The response body is read up to this many bytes; a longer one is refused as garbage
#: (a reply-box suggestion is a few KB; a runaway server must not fill memory).
MAX_RESPONSE_BYTES = 256 * 1024
#: Longest suggestion accepted, in characters.
MAX_CONTENT_CHARS = 20_000
#: Sampling temperature: low, the assist edits text rather than invents it.
TEMPERATURE = 0.2
_THINK = re.compile(r"^\s*<think>.*?</think>", re.S)


class ProviderError(Exception):
    """The provider gave no usable answer. ``code`` is what the inbox translates."""

    code = "provider"


class ProviderTimeout(ProviderError):
    code = "timeout"


class ProviderHTTPError(ProviderError):
    code = "http"

    def __init__(self, status):
        super().__init__(f"provider answered HTTP {status}")
        self.status = status


class ProviderUnreachable(ProviderError):
    code = "unreachable"


class ProviderGarbage(ProviderError):
    """An answer that is not the chat-completions shape, or empty, or too large."""

    code = "garbage"


class Provider:
    def __init__(self, base_url, model, api_key=None, timeout=30.0):
        if not base_url:
            raise ValueError("base_url is required")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self.timeout = float(timeout)

    @classmethod
    def from_config(cls, config):
        return cls(config["ASSIST_BASE_URL"], config["ASSIST_MODEL"], config.get("ASSIST_API_KEY"),
                   config.get("ASSIST_TIMEOUT") or 30.0)

    def __repr__(self):  # the key stays out of reprs (and so out of tracebacks' locals dumps)
        return f"<Provider {self.base_url} model={self.model!r}>"

    @property
    def url(self):
        return f"{self.base_url}/chat/completions"

    def complete(self, messages):
        """The first choice's text for ``messages`` (OpenAI chat format)."""
        body = json.dumps({"model": self.model, "messages": messages, "temperature": TEMPERATURE,
                           "stream": False}).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        deadline = time.monotonic() + self.timeout
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (configured URL)
                raw = _read_capped(resp, deadline)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise ProviderHTTPError(exc.code) from None
        except (TimeoutError, socket.timeout) as exc:
            raise ProviderTimeout("provider timed out") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise ProviderTimeout("provider timed out") from None
            raise ProviderUnreachable(f"provider unreachable: {type(exc.reason).__name__}") from None
        except (ConnectionError, OSError) as exc:
            raise ProviderUnreachable(f"provider unreachable: {type(exc).__name__}") from None
        return parse_completion(raw)


def _read_capped(resp, deadline):
    """Read at most MAX_RESPONSE_BYTES, and no longer than the overall deadline: the socket
    timeout alone restarts on every byte, so a server trickling an answer would never end."""
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise ProviderTimeout("provider timed out")
        chunk = resp.read(16 * 1024)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ProviderGarbage("response too large")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_completion(raw):
    """``choices[0].message.content`` of a chat-completions body, validated strictly."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProviderGarbage("response is not JSON") from None
    if not isinstance(data, dict):
        raise ProviderGarbage("response is not an object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ProviderGarbage("response has no choices")
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str) or not content.strip():
        raise ProviderGarbage("response has no text")
    # Reasoning models served through the same API (Ollama, llama.cpp) may put their
    # scratchpad first; only what follows it is the text.
    content = _THINK.sub("", content).strip()
    if not content:
        raise ProviderGarbage("response has no text")
    if len(content) > MAX_CONTENT_CHARS:
        raise ProviderGarbage("response text too long")
    if "\x00" in content:
        raise ProviderGarbage("response text has NUL bytes")
    return content
