"""The platform's admin driven as a browser drives it: an operator signed in, and what
submitting one of its pages' forms posts, read from the page."""

from __future__ import annotations

from html.parser import HTMLParser

from django.test import Client

from tenants.models import User
from tests.support.database import wait_for_replica_catch_up


class _FormFields(HTMLParser):
    """The fields a browser would post from the form with id `form_id`, as the page shows
    them: text, hidden and checked inputs, selected options, text areas."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.fields = form_id, []
        self._in_form = False
        self._select: tuple[str, list[str], list[str]] | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._in_form = attrs.get("id") == self.form_id
        name = attrs.get("name")
        if not self._in_form or (name and "__prefix__" in name):  # an inline's empty form
            return
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind not in ("submit", "button", "image", "reset", "file"):
                self.fields.append((name, attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select = (name, [], [])
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            self._select[1].append(value)
            if "selected" in attrs:
                self._select[2].append(value)
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.append((name, ""))

    def handle_data(self, data):
        if self._textarea is not None:
            name, text = self.fields.pop()
            self.fields.append((name, text + data))

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select is not None:
            name, options, selected = self._select
            self.fields += [(name, v) for v in selected or options[:1]]
            self._select = None


def posted_form(page: str, form_id: str, **changes) -> dict[str, list[str]]:
    """What submitting the page's form posts, with `changes` made first: a field set to
    None, which must be there, is left out (a ticked checkbox unticked), any other is set to
    the value given."""
    reader = _FormFields(form_id)
    reader.feed(page)
    assert reader.fields, f"no form {form_id!r} on the page"
    data: dict[str, list[str]] = {}
    for name, value in reader.fields:
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        if value is None:
            assert name in data, f"the form has no field {name!r} to leave out"
            del data[name]
        else:
            data[name] = [value]
    return data


def operators_admin(tenant) -> Client:
    """A client signed in to the operators' admin (the public host) as a new superuser."""
    operator = User.objects.create_superuser(f"op-{tenant.slug}@example.com", "pw")
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    wait_for_replica_catch_up()
    return client
