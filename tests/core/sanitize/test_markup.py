"""XML, SOAP and HTML bodies: element text and attribute values by the key rules."""

from __future__ import annotations

import pytest

from amber._model import Redaction
from amber.sanitize import Sanitizer


def run(s: Sanitizer, body: str, ct: str) -> tuple[str, list[Redaction]]:
    out: list[Redaction] = []
    return s.bodies.sanitize(body.encode(), ct, "response.body", out).decode(), out


SOAP = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="http://x/">'
    "<soap:Header><wsse:Security><wsse:Username>svc</wsse:Username>"
    "<wsse:Password>hunter&amp;2</wsse:Password></wsse:Security></soap:Header>"
    "<soap:Body><Creds><AccessKeyId>x</AccessKeyId><SecretAccessKey>abc</SecretAccessKey>"
    "<Region>eu-west-1</Region></Creds></soap:Body></soap:Envelope>"
)


def test_soap_secrets_by_element_name(sanitizer: Sanitizer) -> None:
    new, out = run(sanitizer, SOAP, "text/xml; charset=utf-8")
    masked = "[REDACTED:sensitive-key]"
    fake = new.split("Username>")[1][:-7]
    assert new == (
        SOAP.replace("hunter&amp;2", masked)
        .replace(">x<", f">{masked}<")
        .replace(">abc<", f">{masked}<")
        .replace(">svc<", f">{fake}<")
    )
    assert "svc<" not in new
    assert [r.location for r in out] == [
        "response.body:text.Username",
        "response.body:text.Password",
        "response.body:text.AccessKeyId",
        "response.body:text.SecretAccessKey",
    ]


@pytest.mark.parametrize(
    "tag",
    [
        '<input type="hidden" name="api_key" value="k3y&amp;v">',
        "<meta name='csrf-token' content='Zk3x9Q'>",
        '<input name="csrf_token" type="hidden" value="abcdef">',
        '<Credentials password="p4ss" user="bob">',
    ],
)
def test_html_attributes_by_their_name(sanitizer: Sanitizer, tag: str) -> None:
    new, out = run(sanitizer, f"<html><body>{tag}</body></html>", "text/html")
    assert "[REDACTED:" in new and len(out) == 1
    for secret in ("k3y", "Zk3x9Q", "abcdef", "p4ss"):
        assert secret not in new


def test_ordinary_markup_is_byte_identical(sanitizer: Sanitizer) -> None:
    page = (
        '<!doctype html><html lang="en"><head><meta name="viewport" content="width=device'
        '-width"><title>Shop</title></head><body><input type="text" name="name" '
        'value="Blue Widget"><Name>mug</Name><Version>2.4.1.0</Version>'
        '<a href="/items?page=2" class="next">next</a></body></html>'
    )
    assert run(sanitizer, page, "text/html") == (page, [])
    assert (
        run(
            sanitizer,
            SOAP.replace("Password", "Nonce")
            .replace("SecretAccessKey", "Id")
            .replace("AccessKeyId", "Region"),
            "application/soap+xml",
        )[0].count("[REDACTED")
        == 0
    )


def test_invalid_or_cut_markup_is_still_read(sanitizer: Sanitizer) -> None:
    new, _ = run(sanitizer, "<a><b></a><Password>s3cret</Password><input name=", "text/xml")
    assert "s3cret" not in new and new.endswith("<input name=")


def test_xml_name_value_pairs(sanitizer: Sanitizer) -> None:
    body = (
        "<Parameters><Parameter><Name>DB_PASSWORD</Name>\n  <Value>s3cr&lt;t</Value>"
        "</Parameter><Parameter><Name>REGION</Name><Value>eu-west-1</Value></Parameter>"
        "<Tag><Key>name</Key><Value>mug</Value></Tag></Parameters>"
    )
    new, out = run(sanitizer, body, "application/xml")
    assert new == body.replace("s3cr&lt;t", "[REDACTED:sensitive-key]")
    assert [r.location for r in out] == ["response.body:text.DB_PASSWORD"]


def test_a_version_attribute_is_not_an_address(sanitizer: Sanitizer) -> None:
    page = (
        '<form><input type="hidden" name="version" value="2.4.1.0">'
        '<meta name="build" content="10.0.19045.3693"><p>from 81.2.69.142</p>'
        '<input name="api_key" value="k3y"><input name="peer" value="198.18.0.7"></form>'
    )
    new, out = run(sanitizer, page, "text/html")
    assert 'value="2.4.1.0"' in new and 'content="10.0.19045.3693"' in new
    assert "81.2.69.142" not in new and "198.18.0.7" not in new and "k3y" not in new
    assert len(out) == 3


def test_an_entity_escaped_json_attribute_is_walked_by_its_keys(sanitizer: Sanitizer) -> None:
    # found by the corpus' property test: `st` (a signed-URL parameter) inside JSON inside a
    # hidden input's value was kept, the text rules seeing only `&quot;st&quot;`
    body = (
        '<html><body><form><input type="hidden" name="payload" '
        'value="{&quot;st&quot;: &quot;9e7a435ef4e868e3&quot;}">'
        '<input name="ids" value="[1, 2]"></form></body></html>'
    )
    out, hits = run(sanitizer, body, "text/html")
    assert "9e7a435ef4e868e3" not in out
    assert "&quot;st&quot;: &quot;[REDACTED:signed-url]&quot;" in out
    assert 'value="[1, 2]"' in out  # a JSON value with nothing to replace: byte for byte
    assert [h.rule for h in hits] == ["signed-url"]


TOKEN = "Zx81kLmQ0pRt7YvB2nWc4Hd6"


@pytest.mark.parametrize(
    ("body", "ct", "expected"),
    [
        # an HTML script's JSON holds no character references: written as it was
        (
            '<script type="application/json">{"sessionToken": "%s", "q": "a &amp; b"}</script>',
            "text/html",
            '<script type="application/json">'
            '{"sessionToken": "[REDACTED:sensitive-key]", "q": "a &amp; b"}</script>',
        ),
        # XML text with raw quotes keeps them, and its other references
        (
            '<payload>{"api_key": "%s", "note": "x &amp; y"}</payload>',
            "application/xml",
            '<payload>{"api_key": "[REDACTED:sensitive-key]", "note": "x &amp; y"}</payload>',
        ),
        # escaped quotes stay escaped
        (
            "<payload>{&quot;api_key&quot;: &quot;%s&quot;, &quot;n&quot;: 1}</payload>",
            "application/xml",
            "<payload>{&quot;api_key&quot;: &quot;[REDACTED:sensitive-key]&quot;, "
            "&quot;n&quot;: 1}</payload>",
        ),
        (
            '<input type="hidden" name="state" value="{&quot;token&quot;: &quot;%s&quot;}">',
            "text/html",
            '<input type="hidden" name="state" '
            'value="{&quot;token&quot;: &quot;[REDACTED:sensitive-key]&quot;}">',
        ),
    ],
)
def test_json_in_markup_changes_only_its_replaced_values(
    sanitizer: Sanitizer, body: str, ct: str, expected: str
) -> None:
    out, reds = run(sanitizer, body % TOKEN, ct)
    assert out == expected
    assert [r.rule for r in reds] == ["sensitive-key"]


def test_cdata_leaf_by_its_tag(sanitizer: Sanitizer) -> None:
    body = (
        "<config><password><![CDATA[Qz8x&k2]]Lm<P0]]></password>"
        "<note><![CDATA[keep <me> & ]] this]]></note>"
        f'<payload><![CDATA[{{"token": "{TOKEN}", "q": "a & b"}}]]></payload></config>'
    )
    out, reds = run(sanitizer, body, "application/xml")
    assert out == (
        "<config><password><![CDATA[[REDACTED:sensitive-key]]]></password>"
        "<note><![CDATA[keep <me> & ]] this]]></note>"
        '<payload><![CDATA[{"token": "[REDACTED:sensitive-key]", "q": "a & b"}]]></payload>'
        "</config>"
    )
    assert [r.rule for r in reds] == ["sensitive-key", "sensitive-key"]


def test_table_rows_and_definitions_by_the_name_in_their_first_cell(sanitizer: Sanitizer) -> None:
    """Debug and error pages print settings and the environment as two-column tables."""
    body = (
        '<table class="req"><tr><td>SECRET_KEY</td><td class="code">'
        "<pre>&#x27;django-insecure-q8x!z2kLmP0rT7yVb&#x27;</pre></td></tr>"
        '<tr><td>DEBUG</td><td class="code"><pre>True</pre></td></tr>'
        '<tr><td class="e">DB_PASSWORD</td><td class="v">Pz7qLk2mXr</td></tr>'
        "<tr><th>api_key</th><td>Zx81kLmQ0pRt7YvB2nWc</td></tr>"
        "<tr><td>token</td><td></td></tr></table>"
        "<dl><dt>Password</dt><dd>Hn4!pQ8zLx</dd><dt>User</dt><dd>bob</dd></dl>"
    )
    out, reds = run(sanitizer, body, "text/html")
    assert out == (
        '<table class="req"><tr><td>SECRET_KEY</td><td class="code">'
        "<pre>[REDACTED:sensitive-key]</pre></td></tr>"
        '<tr><td>DEBUG</td><td class="code"><pre>True</pre></td></tr>'
        '<tr><td class="e">DB_PASSWORD</td><td class="v">[REDACTED:sensitive-key]</td></tr>'
        "<tr><th>api_key</th><td>[REDACTED:sensitive-key]</td></tr>"
        "<tr><td>token</td><td></td></tr></table>"
        "<dl><dt>Password</dt><dd>[REDACTED:sensitive-key]</dd><dt>User</dt><dd>bob</dd></dl>"
    )
    assert len(reds) == 4


def test_ordinary_tables_are_byte_identical(sanitizer: Sanitizer) -> None:
    body = (
        "<table><tr><th>Name</th><th>Price</th></tr><tr><td>Mug</td><td>3.50</td></tr>"
        "<tr><td>Tokens used</td><td>1200</td></tr></table>"
    )
    assert run(sanitizer, body, "text/html") == (body, [])


def test_table_cells_judged_with_their_value(sanitizer: Sanitizer) -> None:
    """A name whose verdict depends on the value (a bare `sin`, a `code`), and a version
    under a version-like name, are judged on the cell's text without its printed quotes."""
    body = (
        "<table><tr><td>sin</td><td><pre>&#x27;046 454 286&#x27;</pre></td></tr>"
        "<tr><td>sin</td><td><pre>0.5</pre></td></tr>"
        "<tr><td>version</td><td><pre>&#x27;2.4.1.0&#x27;</pre></td></tr></table>"
    )
    out, reds = run(sanitizer, body, "text/html")
    assert out == body.replace("&#x27;046 454 286&#x27;", "[REDACTED:sensitive-key]")
    assert [r.rule for r in reds] == ["sensitive-key"]


def test_a_pricing_table_s_labels_are_not_settings(sanitizer: Sanitizer) -> None:
    body = (
        "<table><tr><td>API keys</td><td>Unlimited</td></tr>"
        "<tr><td>Access tokens</td><td>5 per user</td></tr>"
        "<tr><td>Password reset</td><td>Yes</td></tr></table>"
    )
    assert run(sanitizer, body, "text/html") == (body, [])


def test_a_table_s_columns_go_by_their_header_cells(sanitizer: Sanitizer) -> None:
    """An admin page's users table: each cell by its column's `<th>` name, as a CSV's by
    its header row (a bare `Name` is a person's beside an `Email` column)."""
    body = (
        "<table><thead><tr><th>Name</th><th>Email</th><th>API token</th><th>Role</th></tr>"
        "</thead><tbody><tr><td>Jane Doe</td><td>jane@corp.test</td>"
        "<td><code>Zx81kLmQ0pRt7YvB2nWc</code></td><td>admin</td></tr>"
        "<tr><td>Bob Roe</td><td>bob@corp.test</td><td>none</td><td>viewer</td></tr>"
        "</tbody></table>"
    )
    out, reds = run(sanitizer, body, "text/html")
    for raw in ("Jane Doe", "jane@corp.test", "Zx81kLmQ0pRt7YvB2nWc", "Bob Roe", "bob@corp.test"):
        assert raw not in out
    assert "<code>[REDACTED:sensitive-key]</code>" in out
    assert "<td>none</td>" in out  # under a label of several words, no secret's shape
    assert "<td>admin</td>" in out and "<td>viewer</td>" in out
    assert out.count("<td>") == body.count("<td>")


@pytest.mark.parametrize(
    "body",
    [
        "<table><tr><th>Name</th><th>Price</th></tr><tr><td>Mug</td><td>3.50</td></tr></table>",
        "<table><tr><th>Plan</th><th>API keys</th></tr><tr><td>Free</td><td>5</td></tr></table>",
        "<table><tr><td>Name</td><td>Mug</td></tr><tr><td>Price</td><td>3</td></tr></table>",
    ],
)
def test_product_and_pricing_tables_are_byte_identical(sanitizer: Sanitizer, body: str) -> None:
    assert run(sanitizer, body, "text/html") == (body, [])


def test_table_columns_hostile_shapes(sanitizer: Sanitizer) -> None:
    """A column judged by each cell's value (a bare `sin`), a row with more cells than
    names, a table nested in a cell (the innermost tables are read by column), and a page
    cut inside its table."""
    body = (
        "<table><tr><th>id</th><th>sin</th><th>note</th></tr>"
        "<tr><td>1</td><td>046 454 286</td><td>x</td><td>Zx81kLmQ0pRt7YvB2nWc</td></tr>"
        "<tr><td>2</td><td>0.5</td><td>y</td></tr></table>"
        "<div><table><tr><td><table><tr><th>api_key</th></tr>"
        "<tr><td>Wq81kLmQ0pRt7YvB2nWd</td></tr></table></td></tr></table></div>"
        "<table><tr><th>User</th><th>Password</th></tr><tr><td>bob</td><td>Hn4!pQ8zLx"
    )
    out, reds = run(sanitizer, body, "text/html")
    assert "046 454 286" not in out and "<td>0.5</td>" in out  # the sine is kept
    assert "Wq81kLmQ0pRt7YvB2nWd" not in out and "Hn4!pQ8zLx" not in out
    assert "<td>Zx81kLmQ0pRt7YvB2nWc</td>" in out  # a cell no column names: value rules only
    assert out.count("<td>") == body.count("<td>") and len(reds) == 3
