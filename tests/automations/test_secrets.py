"""Secret references resolved from the environment, and their values masked in text."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from bot.automations.secrets import Redactor, SecretMissing, SecretResolver, resolve_secrets
from bot.definitions.templates import mark_authored

ENV = {"API_TOKEN": "tok-9f8e7d6c", "CMS_KEY": 'k3y"with\\quotes', "PIN": "123"}


def test_references_are_resolved_in_nested_values_and_other_values_are_kept():
    value = {
        "headers": {"Authorization": mark_authored("Bearer ${{ secrets.API_TOKEN }}")},
        "argv": ["--token", mark_authored("${{secrets.API_TOKEN}}"), 3, None, True],
        "plain": "no {{ template }} here",
        "number": 1.5,
    }
    resolved, redactor = resolve_secrets(value, ENV)
    assert resolved == {
        "headers": {"Authorization": "Bearer tok-9f8e7d6c"},
        "argv": ["--token", "tok-9f8e7d6c", 3, None, True],
        "plain": "no {{ template }} here",
        "number": 1.5,
    }
    assert value["headers"]["Authorization"] == mark_authored("Bearer ${{ secrets.API_TOKEN }}")  # the input is not changed
    assert redactor.redact("sent tok-9f8e7d6c twice: tok-9f8e7d6c") == "sent *** twice: ***"


def test_a_missing_secret_is_not_retryable_and_named_without_any_value():
    resolver = SecretResolver(ENV)
    with pytest.raises(SecretMissing) as caught:
        resolver.resolve({"a": mark_authored("${{ secrets.API_TOKEN }}"), "b": mark_authored("${{ secrets.CMS_TOKEN }}")})
    assert caught.value.retryable is False
    assert caught.value.name == "CMS_TOKEN"
    assert "`CMS_TOKEN` is not set" in str(caught.value)
    assert "tok-9f8e7d6c" not in str(caught.value)


def test_an_empty_secret_counts_as_missing():
    with pytest.raises(SecretMissing):
        resolve_secrets(mark_authored("${{ secrets.EMPTY }}"), {"EMPTY": ""})


def test_only_the_secrets_used_are_redacted_and_short_ones_never():
    resolver = SecretResolver(ENV)
    resolver.resolve([mark_authored("${{ secrets.PIN }}"), mark_authored("${{ secrets.CMS_KEY }}")])
    assert resolver.used_names == ["CMS_KEY", "PIN"]
    redact = resolver.redactor
    assert redact("code 123, token tok-9f8e7d6c") == "code 123, token tok-9f8e7d6c"
    assert redact('key k3y"with\\quotes') == "key ***"


def test_escaped_and_quoted_forms_of_a_value_are_redacted_too():
    secret = 'k3y"with\\quotes'
    redact = Redactor([secret])
    assert redact(json.dumps({"echo": secret})) == '{"echo": "***"}'
    assert redact("https://x.test/?key=" + quote(secret, safe="")) == "https://x.test/?key=***"


def test_a_value_containing_another_is_masked_whole():
    redact = Redactor(["abcd", "abcdefgh"])
    assert redact("abcdefgh") == "***"
    assert not Redactor([])
    assert Redactor([]).redact("anything") == "anything"
