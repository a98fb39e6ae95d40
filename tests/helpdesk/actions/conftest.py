"""Fixtures the action tests share: two stores, and an admin."""
import pytest

from tests.factories import make_agent, make_store


@pytest.fixture
def shops():
    return make_store("Alpha"), make_store("Beta")


@pytest.fixture
def admin():
    return make_agent(name="Ada Admin", role="admin")
