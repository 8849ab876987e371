"""Open311 GeoReport v2 clients from PyPI against a running pakn.

civicbot's Open311Client (JSON) submits and reads; georeport reads in JSON
and XML. Every response, in both formats, is checked against the standard
as its spec page (wiki.open311.org/GeoReport_v2 and /Service_Discovery)
writes it: the fields, their types and allowed values, the containers,
the XML declaration, and the errors' list. Prints one JSON line with what
the Rust test goes on to check; exits non-zero on the first violation.

Environment: OPEN311_BASE (http://127.0.0.1:PORT/open311/v2),
OPEN311_API_KEY, OPEN311_PUBLISHED, OPEN311_UNPUBLISHED, OPEN311_SERVICE.
"""

import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

from civicbot.http import HttpError, HttpTransport, RateLimiter
from civicbot.open311 import Open311Client
from civicbot.registry import Endpoint
from georeport import GeoReport

BASE = os.environ["OPEN311_BASE"]
KEY = os.environ["OPEN311_API_KEY"]
PUBLISHED = os.environ["OPEN311_PUBLISHED"]
UNPUBLISHED = os.environ["OPEN311_UNPUBLISHED"]
SERVICE = os.environ["OPEN311_SERVICE"]

# "Timezone information (either Z meaning UTC, or an HH:MM offset from
# UTC) must be included."
W3_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def fail(message):
    print(f"open311 check failed: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


# --- the standard, as its spec page writes it ------------------------------

def is_text(v, nullable=False):
    return isinstance(v, str) or (nullable and v is None)


def check_discovery(d):
    check(isinstance(d, dict), "discovery is an object")
    for f in ["changeset", "contact", "key_service", "endpoints"]:
        check(f in d, f"discovery: 'All fields are required' ({f})")
    for e in d["endpoints"]:
        for f in ["specification", "url", "changeset", "type", "formats"]:
            check(f in e, f"discovery endpoint lacks {f}")
        check(e["type"] in ("production", "test"), "endpoint type is production or test")
        check(set(e["formats"]) >= {"text/xml"}, "XML is a required format")
        check(all(f in ("text/xml", "application/json") for f in e["formats"]), "formats are MIME types")
    check(any(e["specification"] == "http://wiki.open311.org/GeoReport_v2" for e in d["endpoints"]),
          "a GeoReport v2 endpoint is listed")


def check_services(services):
    check(isinstance(services, list) and services, "services is a non-empty list")
    codes = set()
    for s in services:
        for f in ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]:
            check(f in s, f"service lacks {f}")
        check(is_text(s["service_code"]), "service_code is text")
        check(s["service_code"] not in codes, "service_code is unique")
        codes.add(s["service_code"])
        check(isinstance(s["metadata"], bool), "metadata is true or false")
        check(s["type"] in ("realtime", "batch", "blackbox"), "type is realtime, batch or blackbox")
    return codes


DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}


def check_definition(d, code):
    check(isinstance(d, dict), "a service definition is an object")
    check(d.get("service_code") == code, "the definition returns the service_code asked for")
    orders = set()
    for a in d["attributes"]:
        for f in ["variable", "code", "datatype", "required", "datatype_description", "order", "description"]:
            check(f in a, f"attribute lacks {f}")
        check(isinstance(a["variable"], bool) and isinstance(a["required"], bool), "variable/required are booleans")
        check(a["datatype"] in DATATYPES, f"datatype {a['datatype']}")
        check(isinstance(a["order"], int) and a["order"] > 0 and a["order"] not in orders,
              "order: 'Any positive integer not used for other attributes'")
        orders.add(a["order"])
        if a["datatype"] in ("singlevaluelist", "multivaluelist"):
            check(a["values"], f"{a['code']} lists its values")
            for v in a["values"]:
                check(is_text(v.get("key")) and is_text(v.get("name")), "values have key and name")
    return {a["code"]: a for a in d["attributes"]}


REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                  "lat", "long", "media_url"]


def check_requests(reqs):
    check(isinstance(reqs, list), "requests are a list")
    for r in reqs:
        for f in REQUEST_FIELDS:
            check(f in r, f"request lacks {f}")
        check(r["status"] in ("open", "closed"), "status is open or closed")
        check(W3_DATETIME.match(r["requested_datetime"] or ""), "requested_datetime in w3 format with a time zone")
        for f in ("updated_datetime", "expected_datetime"):
            check(r[f] is None or W3_DATETIME.match(r[f]), f"{f} in w3 format")
        check(r["description"] is None or len(r["description"]) <= 4000, "description at most 4,000 characters")
        # The public never sees where a sender lives.
        for f in ("address", "address_id", "zipcode", "lat", "long"):
            check(r[f] is None, f"{f} is never published")


def check_errors(errors, status):
    check(isinstance(errors, list) and errors, "errors are a non-empty list")
    for e in errors:
        check(isinstance(e.get("code"), int) and is_text(e.get("description")), "error has code and description")
    check(errors[0]["code"] == status, "the error's code matches the HTTP status")


# --- raw HTTP, for XML and for the errors ----------------------------------

def raw(method, path, data=None, headers=None):
    url = f"{BASE}/{path}"
    body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if body is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


# The standard's containers: each holds one repeated child.
CONTAINERS = {"services": "service", "attributes": "attribute", "values": "value",
              "service_requests": "request", "errors": "error", "endpoints": "endpoint",
              "formats": "format"}


def xml_to_plain(el):
    """The XML as the Spark convention maps it to JSON, scalars as text."""
    if el.tag in CONTAINERS:
        child = CONTAINERS[el.tag]
        check(all(c.tag == child for c in el), f"<{el.tag}> holds only <{child}>")
        return [xml_to_plain(c) for c in el]
    if len(el):
        return {c.tag: xml_to_plain(c) for c in el}
    return el.text


def json_to_plain(v):
    if isinstance(v, list):
        return [json_to_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: json_to_plain(x) for k, x in v.items()}
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None or v == "":
        return None
    return str(v)


def same_in_xml(path, root, json_value):
    status, ctype, body = raw("GET", f"{path}.xml")
    check(ctype.startswith("text/xml") and "utf-8" in ctype.lower(), f"{path}.xml is text/xml; charset=utf-8")
    check(body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), f"{path}.xml starts with the declaration")
    tree = ET.fromstring(body)
    check(tree.tag == root, f"{path}.xml root is <{root}>, not <{tree.tag}>")
    check(not tree.attrib and "}" not in tree.tag, "no namespace")
    plain = xml_to_plain(tree)
    check(plain == json_to_plain(json_value), f"{path}.xml says what {path}.json says")
    return status


def main():
    out = {}
    transport = HttpTransport(rate_limiter=RateLimiter(min_interval=0))
    endpoint = Endpoint(id="pakn", name="pakn", base_url=BASE, write=True)
    client = Open311Client(endpoint, transport=transport, jurisdiction_id="pakn.example")
    geo = GeoReport(BASE, jurisdiction="pakn.example")
    geo_xml = GeoReport(BASE, output_format="xml")

    # Discovery, services and a definition, in both formats.
    discovery = client.http.get_json(f"{BASE}/discovery.json")
    check_discovery(discovery)
    same_in_xml("discovery", "discovery", discovery)
    services = client.list_services()
    codes = check_services(services)
    check(SERVICE in codes and "khac" in codes, "our fields are services")
    check(geo.get_service_list() == services, "georeport reads the same services")
    check([x["service_code"] for x in geo_xml.get_service_list()] == [x["service_code"] for x in services],
          "georeport reads them in XML")
    same_in_xml("services", "services", services)
    definition = client.get_service_definition(SERVICE)
    attrs = check_definition(definition, SERVICE)
    check(attrs["loai"]["required"] and attrs["loai"]["datatype"] == "singlevaluelist", "the kind is a required list")
    same_in_xml(f"services/{SERVICE}", "service_definition", definition)
    status, _, body = raw("GET", "services/khong_co.json")
    check(status == 404, "an unknown service_code is 404")
    check_errors(json.loads(body), 404)

    # A submission through the client, checked against the live definition.
    prepared = client.create_request(
        SERVICE, dry_run=False, confirm="SEND", api_key=KEY, validate_remote=True,
        address_string="12 Lê Lợi, phường Hải Châu",
        description="Thủ tục cấp giấy phép xây dựng yêu cầu nộp bản sao có chứng thực dù đã có bản điện tử. "
                    "Đề nghị bỏ yêu cầu này để giảm chi phí cho người dân.",
        first_name="Văn An", last_name="Nguyễn", email="an.open311@example.vn", phone="0905123456",
        attributes={"loai": "kien_nghi", "noi_dung": "unfit_for_reality", "cong_khai": "yes"},
        lat=16.0678, lng=108.2208,
    )
    created = prepared.response
    check(isinstance(created, list) and len(created) == 1, "POST answers a list of one")
    c = created[0]
    check("service_request_id" in c and "token" not in c,
          "realtime: service_request_id, and no token ('should not be returned if service_request_id is returned')")
    check(is_text(c.get("service_notice")), "a service_notice")
    check("lookup" not in json.dumps(created).lower(), "the lookup token never goes to the partner")
    out["created"] = c["service_request_id"]
    out["created_response"] = created

    # The same through raw XML, with an attribute as a multivaluelist key.
    status, ctype, body = raw("POST", "requests.xml", {
        "api_key": KEY, "service_code": "khac", "address_string": "Thôn 2, xã Hòa Vang",
        "description": "Quy định về thời hạn cấp bản sao trích lục hộ tịch chưa phù hợp thực tế.",
        "first_name": "Bình", "last_name": "Trần", "phone": "0905000111",
        "attribute[loai][]": "phan_anh",
    })
    check(status == 200 and ctype.startswith("text/xml"), f"XML POST is answered in XML ({status})")
    tree = ET.fromstring(body)
    check(tree.tag == "service_requests" and tree[0].tag == "request", "<service_requests><request>")
    out["created_xml"] = tree[0].findtext("service_request_id")
    check(tree[0].find("token") is None, "no token in XML either")

    # Refusals: the standard's list, in the path's format.
    status, _, body = raw("POST", "requests.json", {"service_code": SERVICE, "description": "x"})
    check(status == 403, f"no api_key is 403 ({status})")
    check_errors(json.loads(body), 403)
    status, _, body = raw("POST", "requests.json", {"api_key": "pakn_ak_sai", "service_code": SERVICE})
    check(status == 403, "a wrong api_key is 403")
    status, _, body = raw("POST", "requests.json", {
        "api_key": KEY, "service_code": SERVICE, "address_string": "x",
        "description": "Ngắn",
    })
    check(status == 400, f"a Decree 20 refusal is 400 ({status})")
    errors = json.loads(body)
    check_errors(errors, 400)
    text = " ".join(e["description"] for e in errors)
    check("attribute[loai]" in text and "first_name/last_name" in text and "description" in text,
          f"each refusal names the standard's parameter: {text}")
    out["refusals"] = [e["description"] for e in errors]
    status, ctype, body = raw("POST", "requests.xml", {"api_key": KEY, "service_code": "khong_co"})
    check(status == 404 and ctype.startswith("text/xml"), "an unknown service_code is 404, in XML")
    tree = ET.fromstring(body)
    check(tree.tag == "errors" and tree[0].tag == "error" and tree[0].findtext("code") == "404", "<errors><error>")
    try:
        client.create_request(SERVICE, dry_run=False, confirm="SEND", api_key="pakn_ak_sai",
                              address_string="x", description="y", attributes={"loai": "phan_anh"})
        fail("the client sees a refused key as an error")
    except HttpError as e:
        check(e.status == 403, "the client reads the 403")

    # Reading: only published items, the same through both clients.
    everything = client.list_requests()
    check_requests(everything)
    ids = [r["service_request_id"] for r in everything]
    check(PUBLISHED in ids, "the published item is listed")
    check(UNPUBLISHED not in ids and out["created"] not in ids, "unpublished items never are")
    same_in_xml("requests", "service_requests", everything)
    one = client.get_request(PUBLISHED)
    check(one == next(r for r in everything if r["service_request_id"] == PUBLISHED), "one is as listed")
    check(one["status"] == "closed" and one["status_notes"], "answered: closed, with the answer's first lines")
    check(geo.get_service_request(PUBLISHED) == one, "georeport reads the same item")
    check(geo_xml.get_service_request(PUBLISHED)["service_request_id"] == PUBLISHED,
          "georeport reads it in XML")
    same_in_xml(f"requests/{PUBLISHED}", "service_requests", [one])
    by_ids = client.list_requests(service_request_ids=[PUBLISHED, UNPUBLISHED, "KHONG-CO"])
    check([r["service_request_id"] for r in by_ids] == [PUBLISHED], "service_request_id lists published ones only")
    check(client.list_requests(service_code=SERVICE, status="closed") == [one], "filters by service and status")
    check(client.list_requests(status="open") == [], "no published item is open")
    check(client.list_requests(service_code="khong_co") == [], "an unknown service matches nothing")
    check(geo.get_service_requests(start_date="2020-01-01T00:00:00Z", end_date="2020-02-01T00:00:00+07:00") == [],
          "a range long ago is empty")
    status, _, body = raw("GET", "requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z")
    check(status == 400, "more than 90 days is refused")
    check_errors(json.loads(body), 400)
    status, _, body = raw("GET", "requests.json?start_date=hom-qua")
    check(status == 400, "a date not in w3 format is refused")
    status, _, body = raw("GET", "requests.json?status=&service_code=")
    check(status == 200 and json.loads(body) == everything, "empty parameters count as not sent")
    for missing in (UNPUBLISHED, "PAKN.48.20000101.0001"):
        status, _, body = raw("GET", f"requests/{missing}.json")
        check(status == 404, f"{missing}: 404")
        check_errors(json.loads(body), 404)
        out.setdefault("not_found", []).append(json.loads(body))
    check(out["not_found"][0] == out["not_found"][1], "an unpublished and an unknown id give the same 404")
    status, _, body = raw("GET", "tokens/123.json")
    check(status == 404, "no token is ever issued")
    check_errors(json.loads(body), 404)
    status, ctype, _ = raw("GET", "services.csv")
    check(status == 404 and ctype.startswith("text/xml"), "an unknown format is 404, in XML")

    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
