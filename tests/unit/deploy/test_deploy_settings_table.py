"""deploy/SETTINGS.md is the table of every setting, generated from the settings classes: it must be
current, complete (every process, every field) and say what each setting means."""

from __future__ import annotations

from deploy import settings_table


def test_the_committed_table_is_up_to_date():
    committed = settings_table.OUTPUT.read_text(encoding="utf-8")
    assert committed == settings_table.render(), (
        "deploy/SETTINGS.md is stale: run `python -m deploy.settings_table --write` and commit it"
    )


def test_every_process_and_every_setting_is_there_with_a_meaning():
    classes = settings_table.settings_classes()
    names = [name for name, _ in classes]
    assert {"demographics", "journal", "medication", "referrals", "gateway"} <= set(names)
    text = settings_table.render()
    for name, cls in classes:
        prefix = cls.model_config["env_prefix"]
        assert prefix and prefix == f"{name.upper()}_"
        for variable, default, meaning in settings_table.rows(name, cls):
            assert meaning, f"{variable} has no description: add Field(description=...) or a MEANINGS entry"
            assert default
        for field in cls.model_fields:
            assert f"`{prefix}{field.upper()}`" in text


def test_defaults_come_from_the_classes_not_the_environment(monkeypatch):
    monkeypatch.setenv("JOURNAL_DATABASE_URL", "postgresql+psycopg://secret@db/journal")
    monkeypatch.setenv("GATEWAY_READ_TIMEOUT", "99")
    text = settings_table.render()
    assert "secret@db" not in text and "`sqlite:///data/journal.db`" in text
    assert "| `GATEWAY_READ_TIMEOUT` | `10.0` |" in text
