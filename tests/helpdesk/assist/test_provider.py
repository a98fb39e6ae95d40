"""The chat-completions client against a real HTTP server on loopback (tests/assist_server.py):
the request it sends, and every way an answer can be unusable, each as its own error type."""
import json
import time

import pytest

from helpdesk.assist.provider import (
    MAX_CONTENT_CHARS,
    Provider,
    ProviderGarbage,
    ProviderHTTPError,
    ProviderTimeout,
    ProviderUnreachable,
    parse_completion,
)
from tests.assist_server import API_KEY, assist_server  # noqa: F401 (fixture)
from tests.conftest import free_port

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "<<<DATA\n{}\nDATA>>>"}]


def make(server, timeout=1.0, key=API_KEY):
    return Provider(server.base_url, "test-model", key, timeout)


def test_posts_openai_format_with_bearer_key(assist_server):  # noqa: F811
    assist_server.answer = "  Hello Dana, your order ships today.\n"
    assert make(assist_server).complete(MESSAGES) == "Hello Dana, your order ships today."
    [seen] = assist_server.requests
    assert seen["body"]["model"] == "test-model"
    assert seen["body"]["messages"] == MESSAGES
    assert 0 <= seen["body"]["temperature"] <= 1
    assert seen["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert seen["headers"]["Content-Type"] == "application/json"


def test_no_key_sends_no_authorization_header(assist_server):  # noqa: F811
    # A local Ollama / llama.cpp server needs no key: none is invented.
    make(assist_server, key=None).complete(MESSAGES)
    assert "Authorization" not in assist_server.requests[0]["headers"]


def test_timeout_is_its_own_error_and_comes_in_time(assist_server):  # noqa: F811
    assist_server.mode = "sleep"
    assist_server.sleep = 3.0
    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        make(assist_server, timeout=0.5).complete(MESSAGES)
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("status", [500, 401, 429])
def test_http_errors(assist_server, status):  # noqa: F811
    assist_server.mode = "error"
    assist_server.status = status
    with pytest.raises(ProviderHTTPError) as info:
        make(assist_server).complete(MESSAGES)
    assert info.value.status == status
    assert API_KEY not in str(info.value)


@pytest.mark.parametrize("body", [
    b"<html>Bad gateway</html>",
    b"\xff\xfe not utf-8",
    b"[]",
    b"{}",
    b'{"choices": []}',
    b'{"choices": ["text"]}',
    b'{"choices": [{"message": {"content": null}}]}',
    b'{"choices": [{"message": {"content": 42}}]}',
    b'{"choices": [{"message": {"content": "   "}}]}',
    b'{"choices": [{"message": {"content": "<think>only thinking</think>"}}]}',
    b'{"choices": [{"text": "completions API, not chat"}]}',
    b'{"error": {"message": "model not found"}}',
])
def test_garbage_answers(assist_server, body):  # noqa: F811
    assist_server.mode = "garbage"
    assist_server.garbage = body
    with pytest.raises(ProviderGarbage):
        make(assist_server).complete(MESSAGES)


def test_oversized_answers_are_garbage(assist_server):  # noqa: F811
    assist_server.answer = "x" * (MAX_CONTENT_CHARS + 1)
    with pytest.raises(ProviderGarbage):
        make(assist_server).complete(MESSAGES)
    assist_server.mode = "garbage"
    assist_server.garbage = json.dumps({"choices": [{"message": {"content": "y" * 400_000}}]}).encode()
    with pytest.raises(ProviderGarbage):
        make(assist_server).complete(MESSAGES)


def test_unreachable_server():
    provider = Provider(f"http://127.0.0.1:{free_port()}/v1", "m", API_KEY, 1.0)
    with pytest.raises(ProviderUnreachable) as info:
        provider.complete(MESSAGES)
    assert API_KEY not in str(info.value) and API_KEY not in repr(provider)


def test_reasoning_scratchpad_is_dropped():
    body = json.dumps({"choices": [{"message": {"content": "<think>plan it</think>\nHi there!"}}]}).encode()
    assert parse_completion(body) == "Hi there!"
