"""The inbox page carries the erase dialog (and its strings) for admins only; agents get no
way to export or erase a customer's data (the API refuses them too)."""
import pytest

from tests.api.conftest import login
from tests.factories import make_agent


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_only_admins_get_the_erase_dialog(client, role):
    login(client, make_agent(role=role))
    page = client.get("/inbox/").get_data(as_text=True)
    assert ('id="erase-dialog"' in page) is (role == "admin")
    assert ('id="erase-confirm"' in page) is (role == "admin")
    assert '"privacy_erase"' in page  # the string table is the same for everyone; the script checks the role
