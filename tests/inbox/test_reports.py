"""The inbox's report pages with bad filters: a readable 400, never a 500."""
import pytest

from tests.api.conftest import login
from tests.factories import make_agent


@pytest.mark.parametrize("path", ["/inbox/reports/", "/inbox/reports/archive", "/inbox/reports/ratings",
                                  "/inbox/reports/recurring-questions"])
@pytest.mark.parametrize("param", ["store", "agent", "team"])
def test_an_id_filter_out_of_the_databases_range_is_a_400(client, path, param):
    login(client, make_agent(name="Ada Admin", role="admin"))
    response = client.get(path, query_string={param: str(10**30)})
    # A filter a page does not have is ignored or refused as unknown.
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    response = client.get(path, query_string={"store": str(2**31)})
    assert response.status_code == 400 and "Number out of range." in response.get_data(as_text=True)


@pytest.mark.parametrize("cursor", ["-1", "abc", "eyJ4IjoxfQ"])
def test_an_archive_cursor_that_does_not_decode_is_a_400(client, cursor):
    login(client, make_agent(name="Ada Admin", role="admin"))
    response = client.get("/inbox/reports/archive", query_string={"cursor": cursor})
    assert response.status_code == 400 and "cursor" in response.get_data(as_text=True)


def test_bad_filters_still_name_the_field(client):
    login(client, make_agent(name="Ada Admin", role="admin"))
    response = client.get("/inbox/reports/ratings", query_string={"period": "year"})
    assert response.status_code == 400 and "period" in response.get_data(as_text=True)
