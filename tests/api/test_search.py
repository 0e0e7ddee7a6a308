"""Lists: filters, keyset pages in both orders, counts per status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tawasul.models import Channel, RequesterCategory

BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def test_keyset_pages_cover_every_request_once_in_order(client, auth, requests):
    ids = [requests.file(created_at=BASE + timedelta(hours=i % 3)).id for i in range(7)]
    seen: list[int] = []
    cursor = None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/requests", query_string=query, headers=auth["agent"]).json
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    stamps = [requests.get(i).created_at for i in seen]
    assert stamps == sorted(stamps, reverse=True)
    oldest = client.get(
        "/requests", query_string={"sort": "created_at", "limit": 200}, headers=auth["agent"]
    ).json["items"]
    assert [item["id"] for item in oldest] == list(reversed(seen))


def test_filters(client, auth, requests):
    a = requests.file(
        callback_number="+966501230001",
        channel=Channel.FAX,
        category=RequesterCategory.COMPANY,
        created_at=BASE,
    )
    b = requests.file(callback_number="+966501239999", created_at=BASE + timedelta(days=2))
    requests.file("jeddah", callback_number="+966501230001")
    client.post(f"/requests/{b.id}/claim", json={"category": "woman"}, headers=auth["agent"])

    def ids(**query):
        answer = client.get("/requests", query_string=query, headers=auth["agent"])
        assert answer.status_code == 200, answer.json
        return {item["id"] for item in answer.json["items"]}

    assert ids() == {a.id, b.id}
    assert ids(status="in_review") == {b.id}
    assert ids(status="received,in_review") == {a.id, b.id}
    assert ids(channel="fax") == {a.id}
    assert ids(category="woman") == {b.id}
    assert ids(reference_number=a.reference_number) == {a.id}
    assert ids(phone_last="0001") == {a.id}
    assert ids(phone_last="999") == {b.id}
    assert ids(created_from="2026-11-02") == {b.id}
    assert ids(created_to="2026-11-01") == {a.id}
    assert ids(branch="riyadh") == {a.id, b.id}
    # A phone search takes the last digits only: a whole number never travels in a URL.
    for bad in ("5", "966501230001", "12ab"):
        answer = client.get("/requests", query_string={"phone_last": bad}, headers=auth["agent"])
        assert answer.status_code == 422
    listed = client.get("/requests", headers=auth["agent"]).json["items"][0]
    assert listed["callback_number"].endswith("001") or listed["callback_number"].endswith("999")
    assert "*" in listed["callback_number"]
    assert client.get("/requests?status=nope", headers=auth["agent"]).status_code == 422
    assert client.get("/requests?cursor=garbage", headers=auth["agent"]).status_code == 422
    assert client.get("/requests?colour=red", headers=auth["agent"]).status_code == 422


def test_counts_per_status(client, auth, requests):
    first = requests.file().id
    requests.file()
    requests.file("jeddah")
    client.post(f"/requests/{first}/cancel", headers=auth["agent"])
    counts = client.get("/requests/counts", headers=auth["agent"]).json["counts"]
    assert counts["received"] == 1 and counts["cancelled"] == 1 and counts["approved"] == 0
    everything = client.get("/requests/counts", headers=auth["admin"]).json["counts"]
    assert everything["received"] == 2
