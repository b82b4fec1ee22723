import pytest

from reportgen.errors import ReportgenError
from reportgen.settings import Settings, load_schema, source_date_epoch


def test_every_schema_key_has_description_and_default():
    schema = load_schema()
    for key, spec in schema["properties"].items():
        assert spec.get("description"), key
        assert "default" in spec, key


def test_defaults_and_types():
    s = Settings.from_mapping({})
    assert str(s.data) == "data" and str(s.output) == "output"
    assert s.pdf_variant == "pdf/ua-1" and s.languages == () and s.templates is None
    assert s.state_dir.name == ".reportgen"


@pytest.mark.parametrize("values, fragment", [
    ({"pdf_variant": "pdf/x-4"}, "pdf_variant"),
    ({"languages": ["de"]}, "languages"),
    ({"shards": 0}, "shards"),
    ({"public_url": "ftp://x/"}, "public_url"),
    ({"unknown_key": 1}, "unknown_key"),
])
def test_bad_values_are_clear_errors(values, fragment):
    with pytest.raises(ReportgenError, match=fragment):
        Settings.from_mapping(values)


def test_source_date_epoch_from_data(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert source_date_epoch("2014-03") == 1393632000
    assert source_date_epoch("2014-03", "2014-03-15") == 1393632000 + 14 * 86400
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "42")
    assert source_date_epoch("2014-03") == 42
