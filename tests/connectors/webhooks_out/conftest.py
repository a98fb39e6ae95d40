"""A store and a real loopback server receiving its outgoing webhooks."""
import pytest

from tests.connectors.commerce import FakeApi
from tests.factories import make_store


@pytest.fixture
def receiver():
    with FakeApi() as server:
        yield server


@pytest.fixture
def store():
    return make_store("Linen & Co")
