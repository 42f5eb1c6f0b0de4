"""User templates through porch.testing: rendering, escaping, the sandbox, containment, reload."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import quote

import markupsafe
import pytest

from porch.app import App
from porch.app.usertemplates import served_name
from porch.config import Config
from porch.testing import Client, TestResponse


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A ROOT with templates, and a secret beside it (outside ROOT)."""
    (tmp_path / "secret.txt").write_text("TOP-SECRET outside root\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "greet.html.j2").write_text("<p>Hello, {{ name }}!</p>")
    (root / "sub").mkdir()
    (root / "sub" / "part.j2").write_text("[part {{ name }}]")
    return root.resolve()


def client_for(root: Path, **settings: object) -> Client:
    return Client(App(Config(root=root, **settings)))  # type: ignore[arg-type]


def render(root: Path, source: str, target: str = "/t.html", **kwargs: object) -> TestResponse:
    (root / "t.html.j2").write_text(source)
    return client_for(root).get(target, **kwargs)


def test_rendered_with_a_query_parameter(root: Path) -> None:
    response = client_for(root).get("/greet.html?name=Ada")
    assert response.status == 200
    assert response.text == "<p>Hello, Ada!</p>"
    assert response.headers.get("content-type") == "text/html; charset=utf-8"
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert response.headers.get("cache-control") == "no-cache"


def test_missing_parameter_renders_empty(root: Path) -> None:
    assert client_for(root).get("/greet.html").text == "<p>Hello, !</p>"


def test_percent_encoded_and_utf8_parameters(root: Path) -> None:
    assert client_for(root).get("/greet.html?name=Ad%C3%A1+L").text == "<p>Hello, Adá L!</p>"


def test_repeated_parameters(root: Path) -> None:
    source = "{{ k }}|{{ params_all.k | join(',') }}|{{ params_all['k'] | length }}|{{ params.k }}"
    assert render(root, source, "/t.html?k=1&k=2&k=3").text == "1|1,2,3|3|1"


def test_parameters_that_are_not_identifiers(root: Path) -> None:
    source = "{{ params['a-b'] }}|{{ params_all['a-b'] }}"
    assert render(root, source, "/t.html?a-b=x").text == "x|[&#39;x&#39;]"


def test_parameters_cannot_shadow_reserved_names_or_globals(root: Path) -> None:
    source = "{{ request.method }}|{{ range(2) | list }}|{{ params.request }}|{{ params.range }}"
    assert render(root, source, "/t.html?request=evil&range=9").text == "GET|[0, 1]|evil|9"


def test_request_view(root: Path) -> None:
    source = (
        "{{ request.method }} {{ request.path }} {{ request.query_string }} "
        "{{ request.headers['x-thing'] }} {{ request.headers.get('cookie', 'no-cookie') }} "
        "{{ request.headers.get('authorization', 'no-auth') }}"
    )
    response = render(
        root,
        source,
        "/t.html?a=1",
        headers={"X-Thing": "v", "Cookie": "session=s3cret", "Authorization": "Basic eA=="},
    )
    assert response.text == "GET /t.html a=1 v no-cookie no-auth"


def test_request_headers_are_read_only(root: Path) -> None:
    response = render(root, "{% set _ = request.headers.update({'a': 'b'}) %}x")
    assert response.status == 500


XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "javascript:alert(1)//<svg/onload=alert(1)>",
    "&lt;already-escaped&gt;",
]


@pytest.mark.parametrize("payload", XSS)
def test_parameters_are_escaped_in_html(root: Path, payload: str) -> None:
    source = "<p>{{ q }}</p><input value=\"{{ q }}\"><a title='{{ q }}'>{{ params_all.q[0] }}</a>"
    response = render(root, source, "/t.html?q=" + quote(payload))
    assert response.status == 200
    safe = str(markupsafe.escape(payload))
    assert response.text == f"<p>{safe}</p><input value=\"{safe}\"><a title='{safe}'>{safe}</a>"
    for dangerous in ("<script", "<img", "<svg", "' on", '"><img'):
        assert dangerous not in response.text


def test_headers_are_escaped_too(root: Path) -> None:
    response = render(root, "{{ request.headers['x-a'] }}", headers={"X-A": "<b>x</b>"})
    assert response.text == "&lt;b&gt;x&lt;/b&gt;"


@pytest.mark.parametrize(
    ("name", "content_type", "escaped"),
    [
        ("t.html.j2", "text/html; charset=utf-8", True),
        ("t.xml.j2", "text/xml; charset=utf-8", True),
        ("t.svg.j2", "image/svg+xml", True),
        ("t.txt.j2", "text/plain; charset=utf-8", False),
        ("t.json.j2", "application/json", False),
        ("t.j2", "application/octet-stream", True),
    ],
)
def test_type_and_escaping_follow_the_served_name(
    root: Path, name: str, content_type: str, escaped: bool
) -> None:
    (root / name).write_text("{{ q }}")
    response = client_for(root).get("/" + name.removesuffix(".j2") + "?q=%3Cb%3E")
    assert response.status == 200
    assert response.headers.get("content-type").startswith(content_type)  # type: ignore[union-attr]
    assert response.text == ("&lt;b&gt;" if escaped else "<b>")
    assert response.headers.get("x-content-type-options") == "nosniff"


SANDBOX_ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__ }}",
    "{{ joiner.__init__.__globals__['__builtins__'] }}",
    "{{ request.__class__ }}",
    "{{ params.__class__.__init__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ (request|attr('__class__')) }}",
    "{{ '{0.__class__}'.format(1) }}",
    "{{ params_all.k.append('x') }}",
    "{{ request.headers.popitem() }}",
    "{{ range(10**9) | list | length }}",
]


@pytest.mark.parametrize("source", SANDBOX_ESCAPES)
def test_sandbox_escapes_are_errors_not_data(
    root: Path, source: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="porch.app.templates"):
        # the text page: the HTML one has markup ("class=") that the leak check would trip on
        response = render(root, source, "/t.html?k=1", headers={"Accept": "text/plain"})
    assert response.status == 500
    for leak in ("class", "object", "function", "module", "uid=", "{{"):
        assert leak not in response.text
    assert "t.html.j2" in caplog.text


INCLUDES = [
    "{% include '../secret.txt' %}",
    "{% include '/etc/hostname' %}",
    "{% include '" + "../" * 12 + "etc/hostname' %}",
    "{% include 'sub/../../secret.txt' %}",
    "{% include 'sub\\\\..\\\\..\\\\secret.txt' %}",
    "{% extends '../secret.txt' %}",
    "{% import '../secret.txt' as s %}",
    "{% include 'escape-link' %}",
    "{% include '.hidden.j2' %}",
    "{% include '' %}",
]


@pytest.mark.parametrize("source", INCLUDES)
def test_includes_outside_root_are_refused(
    root: Path, source: str, caplog: pytest.LogCaptureFixture
) -> None:
    (root / "escape-link").symlink_to(root.parent / "secret.txt")
    (root / ".hidden.j2").write_text("hidden part")
    with caplog.at_level(logging.ERROR, logger="porch.app.templates"):
        response = render(root, source)
    assert response.status == 500
    assert "TOP-SECRET" not in response.text
    assert "hidden part" not in response.text
    assert "TemplateNotFound" in caplog.text


def test_include_and_extends_inside_root(root: Path) -> None:
    (root / "base.html.j2").write_text("<main>{% block body %}{% endblock %}</main>")
    source = "{% extends 'base.html.j2' %}{% block body %}{% include 'sub/part.j2' %}{% endblock %}"
    assert render(root, source, "/t.html?name=%3Ci%3E").text == "<main>[part &lt;i&gt;]</main>"


def test_include_of_hidden_part_with_hidden_on(root: Path) -> None:
    (root / ".part.j2").write_text("hidden part")
    (root / "t.html.j2").write_text("{% include '.part.j2' %}")
    assert client_for(root, hidden=True).get("/t.html").text == "hidden part"


def test_template_symlinked_outside_root_is_not_rendered(root: Path) -> None:
    (root.parent / "outside.html.j2").write_text("outside {{ 1 + 1 }}")
    (root / "out.html.j2").symlink_to(root.parent / "outside.html.j2")
    response = client_for(root).get("/out.html")
    assert response.status == 404
    assert "outside" not in response.text


def test_hidden_templates_are_not_served_unless_hidden(root: Path) -> None:
    (root / ".private.html.j2").write_text("private")
    assert client_for(root).get("/.private.html").status == 404
    assert client_for(root, hidden=True).get("/.private.html").text == "private"


@pytest.mark.parametrize(
    "target",
    [
        "/greet.html.j2",
        "/greet.html.%6A2",
        "/greet.html.J2",
        "/sub/part.j2",
        "/sub/part.j2/",
        "//greet.html.j2",
        "/missing.j2",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "OPTIONS"])
def test_template_source_is_never_served(root: Path, target: str, method: str) -> None:
    response = client_for(root).request(method, target, body=b"x" if method in "POST PUT" else b"")
    # Reads get 404; writes go on to the upload rules (405 here: uploads are off).
    assert response.status == (
        404 if method in ("GET", "HEAD") else 405 if method != "OPTIONS" else 204
    )
    assert b"{{" not in response.body


def test_template_source_with_hidden_on_still_404(root: Path) -> None:
    assert client_for(root, hidden=True).get("/greet.html.j2").status == 404


def test_edits_are_picked_up_without_restart(root: Path) -> None:
    client = client_for(root)
    assert client.get("/greet.html?name=A").text == "<p>Hello, A!</p>"
    template = root / "greet.html.j2"
    template.write_text("<p>Bye, {{ name }}.</p>")
    assert client.get("/greet.html?name=A").text == "<p>Bye, A.</p>"
    # Same size, different content: the mtime (ns) tells.
    template.write_text("<p>Bye, {{ name }}!</p>")
    stat = template.stat()
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert client.get("/greet.html?name=A").text == "<p>Bye, A!</p>"
    # Atomic replace (what editors do): a new inode.
    replacement = root / "greet.tmp"
    replacement.write_text("<p>New, {{ name }}!</p>")
    replacement.replace(template)
    assert client.get("/greet.html?name=A").text == "<p>New, A!</p>"


def test_included_template_edits_are_picked_up(root: Path) -> None:
    client = client_for(root)
    (root / "t.html.j2").write_text("{% include 'sub/part.j2' %}")
    assert client.get("/t.html?name=x").text == "[part x]"
    (root / "sub" / "part.j2").write_text("(changed part {{ name }})")
    assert client.get("/t.html?name=x").text == "(changed part x)"


def test_deleted_template_is_404(root: Path) -> None:
    client = client_for(root)
    assert client.get("/greet.html").status == 200
    (root / "greet.html.j2").unlink()
    assert client.get("/greet.html").status == 404


def test_syntax_error_is_500_with_place_in_log(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = "line one\nline two {{ name }}\n{% if %}SOURCE-MARKER\n"
    with caplog.at_level(logging.ERROR, logger="porch.app.templates"):
        response = render(root, source, headers={"Accept": "text/html"})
    assert response.status == 500
    assert "SOURCE-MARKER" not in response.text
    assert "t.html.j2" not in response.text
    assert str(root) not in response.text
    assert "t.html.j2 line 3" in caplog.text


def test_syntax_error_in_include_names_the_include(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (root / "sub" / "part.j2").write_text("ok\n{% for %}\n")
    with caplog.at_level(logging.ERROR, logger="porch.app.templates"):
        response = render(root, "{% include 'sub/part.j2' %}")
    assert response.status == 500
    assert "sub/part.j2 line 2" in caplog.text


def test_runtime_error_is_500_with_place_in_log(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = "a\nb\n{{ 1 // 0 }} RUNTIME-MARKER"
    with caplog.at_level(logging.ERROR, logger="porch.app.templates"):
        response = render(root, source)
    assert response.status == 500
    assert "RUNTIME-MARKER" not in response.text
    assert "t.html.j2 line 3" in caplog.text
    assert "ZeroDivisionError" in caplog.text


def test_not_utf8_template_is_500(root: Path) -> None:
    (root / "t.html.j2").write_bytes(b"\xff\xfe{{ x }}")
    assert client_for(root).get("/t.html").status == 500


def test_template_wins_over_file_of_served_name(root: Path) -> None:
    (root / "greet.html").write_text("static greeting")
    assert client_for(root).get("/greet.html?name=T").text == "<p>Hello, T!</p>"


def test_head_on_template(root: Path) -> None:
    response = client_for(root).head("/greet.html?name=A")
    assert response.status == 200
    assert response.headers.get("content-type") == "text/html; charset=utf-8"
    assert response.body == b""


def test_post_to_template_is_not_rendered(root: Path) -> None:
    response = client_for(root).post("/greet.html", body=b"name=A")
    assert response.status == 405


def test_directory_index_template(root: Path) -> None:
    (root / "sub" / "index.html.j2").write_text("index of sub, {{ name }}")
    client = client_for(root)
    assert client.get("/sub/?name=z").text == "index of sub, z"
    assert client.get("/sub").status == 301
    assert client.get("/sub/index.html?name=y").text == "index of sub, y"


def test_index_template_wins_over_index_html(root: Path) -> None:
    (root / "sub" / "index.html").write_text("static index")
    (root / "sub" / "index.html.j2").write_text("template index")
    assert client_for(root).get("/sub/").text == "template index"


def test_files_still_served_beside_templates(root: Path) -> None:
    (root / "plain.txt").write_text("{{ not rendered }}")
    response = client_for(root).get("/plain.txt")
    assert response.text == "{{ not rendered }}"


def test_route_wins_over_template(root: Path) -> None:
    app = App(Config(root=root))
    app.route("/greet.html")(lambda request: "route")
    assert Client(app).get("/greet.html").text == "route"


@pytest.mark.parametrize(
    ("filename", "served"),
    [
        ("greet.html.j2", "greet.html"),
        ("index.html.j2", "index.html"),
        ("x.j2", "x"),
        ("page.html", "page.html"),
        (".j2", ".j2"),
        ("archive.j2.gz", "archive.j2.gz"),
        ("sub.j2dir", "sub.j2dir"),
    ],
)
def test_served_name(filename: str, served: str) -> None:
    assert served_name(filename) == served
