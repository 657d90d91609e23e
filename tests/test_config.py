"""Configuration layers: defaults < file < environment < flags; clear errors; no secret leaks."""
from __future__ import annotations

import argparse
import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from conftest import REPO
from monitor.config import ConfigError, Settings, add_common_flags, load_settings, overrides_from_args


def _flags(*argv: str) -> dict:
    parser = argparse.ArgumentParser()
    add_common_flags(parser)
    return overrides_from_args(parser.parse_args(list(argv)))


def test_defaults_are_the_charter():
    s = load_settings(None, {}, {})
    assert s == Settings()
    assert s.cadence_obj.cycle == 3.0 and s.thresholds_obj.max_rings == 2
    assert s.thresholds_obj.callback_window_seconds == 86400
    assert s.directory_path.name == "directory.yaml" and s.directory_path.is_file()


def test_each_layer_overrides_the_one_below(tmp_path):
    cfg = tmp_path / "telmon.toml"
    cfg.write_text('database_url = "sqlite:///file.db"\n[ami]\nhost = "pbx.file"\nport = 5039\n'
                   '[cadence]\non = 2.0\noff = 4.0\n[thresholds]\nmax_wait_seconds = 120\n')
    env = {"TELMON_AMI_HOST": "pbx.env", "TELMON_RING_OFF": "3", "TELMON_TRUNKS": "pstn, carrier2"}
    s = load_settings(str(cfg), env, _flags("--ami-host", "pbx.flag", "--trunk", "sip1"))
    assert s.database_url == "sqlite:///file.db"          # file only
    assert s.ami.port == 5039                             # file beats default
    assert s.ami.host == "pbx.flag"                       # flag beats env beats file
    assert (s.cadence.on, s.cadence.off) == (2.0, 3.0)    # env beats file
    assert s.thresholds.max_wait_seconds == 120.0
    assert s.tracker.trunks == ("sip1",)                  # flag beats env
    assert load_settings(None, env, {}).tracker.trunks == ("pstn", "carrier2")
    assert load_settings(None, {"TELMON_CONFIG": str(cfg)}, {}).ami.host == "pbx.file"


def test_errors_name_their_source(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[ami]\nport = \"five\"\n")
    with pytest.raises(ConfigError, match=r"bad.toml: ami.port must be int"):
        load_settings(str(cfg), {}, {})
    cfg.write_text("[ami]\nhots = \"x\"\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'ami.hots'"):
        load_settings(str(cfg), {}, {})
    cfg.write_text("[amy]\nhost = \"x\"\n")
    with pytest.raises(ConfigError, match=r"unknown section \[amy\]"):
        load_settings(str(cfg), {}, {})
    cfg.write_text("not toml at all = = =\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(str(cfg), {}, {})
    with pytest.raises(ConfigError, match="environment variable TELMON_MAX_RINGS: thresholds.max_rings must be int"):
        load_settings(None, {"TELMON_MAX_RINGS": "two"}, {})
    with pytest.raises(ConfigError, match="flag --ring-on: cadence.on must be float"):
        load_settings(None, {}, _flags("--ring-on", "fast"))
    with pytest.raises(ConfigError, match="cadence"):
        load_settings(None, {}, _flags("--ring-on", "0"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(str(tmp_path / "none.toml"), {}, {})


def test_secret_never_shown():
    s = load_settings(None, {"TELMON_AMI_SECRET": "hunter2"}, {})
    assert s.ami.secret == "hunter2"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.ami)
    with pytest.raises(ConfigError) as info:
        load_settings(None, {}, {"ami.secret": ["hunter2"]})
    assert "hunter2" not in str(info.value)


def test_example_file_is_the_defaults():
    example = REPO / "monitor" / "data" / "telmon.example.toml"
    assert load_settings(str(example), {}, {}) == Settings()


def test_one_key_through_all_four_layers(tmp_path):
    cfg = tmp_path / "telmon.toml"
    cfg.write_text("[thresholds]\nmax_rings = 3\ncallback_window_hours = 48\n")
    env = {"TELMON_MAX_RINGS": "4", "TELMON_CALLBACK_WINDOW_HOURS": "12"}
    assert load_settings(None, {}, {}).thresholds.max_rings == 2
    assert load_settings(str(cfg), {}, {}).thresholds_obj.callback_window_seconds == 48 * 3600
    assert load_settings(str(cfg), env, {}).thresholds.max_rings == 4
    s = load_settings(str(cfg), env, _flags("--max-rings", "5"))
    assert s.thresholds.max_rings == 5 and s.thresholds_obj.callback_window_seconds == 12 * 3600
    assert _flags() == {} and _flags("--ami-port", "5040") == {"ami.port": "5040"}
    assert load_settings(None, {}, _flags("--ami-port", "5040")).ami.port == 5040


def test_the_file_is_typed_but_text_layers_are_parsed(tmp_path):
    cfg = tmp_path / "t.toml"
    for body, words in [('[ami]\nport = "5039"\n', "ami.port must be int, got '5039'"),
                        ('[ami]\nhost = 5\n', "ami.host must be str"),
                        ('[tracker]\ntrunks = "pstn"\n', "tracker.trunks must be a list of names"),
                        ('[thresholds]\nmax_rings = true\n', "thresholds.max_rings must be int"),
                        ('[cadence]\non = "1"\n', "cadence.on must be float")]:
        cfg.write_text(body)
        with pytest.raises(ConfigError, match=f"^{re.escape(str(cfg))}: {words}"):
            load_settings(str(cfg), {}, {})
    cfg.write_text("[cadence]\non = 2\n")                     # a TOML integer is a fine float
    assert load_settings(str(cfg), {"TELMON_AMI_PORT": " 5040 "}, {}).cadence.on == 2.0
    for env, words in [({"TELMON_RING_ON": "nan"}, "TELMON_RING_ON: cadence.on must be float"),
                       ({"TELMON_MAX_RINGS": "2.5"}, "TELMON_MAX_RINGS: thresholds.max_rings must be int"),
                       ({"TELMON_AMI_PORT": "70000"}, "TELMON_AMI_PORT: ami.port must be at most 65535"),
                       ({"TELMON_STALE_CALL_SECONDS": "0"},
                        "TELMON_STALE_CALL_SECONDS: tracker.stale_call_seconds must be at least 60"),
                           ({"TELMON_STALE_CALL_SECONDS": "1e-9"},
                            "TELMON_STALE_CALL_SECONDS: tracker.stale_call_seconds must be at least 60")]:
        with pytest.raises(ConfigError, match=f"^environment variable {words}"):
            load_settings(None, env, {})


def test_bounds_and_unknown_overrides_name_their_source(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text("[thresholds]\nmax_rings = 0\n")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(cfg))}: thresholds.max_rings must be at least 1"):
        load_settings(str(cfg), {}, {})
    cfg.write_text("[ami]\nbackoff_min = 60.0\n")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(cfg))}: ami.backoff_min .* is above ami.backoff_max"):
        load_settings(str(cfg), {}, {})
    with pytest.raises(ConfigError, match="^flag --trunk: tracker.trunks must be a list of names"):
        load_settings(None, {}, {"tracker.trunks": [5]})
    with pytest.raises(ConfigError, match="unknown setting 'ami.hots'"):
        load_settings(None, {}, {"ami.hots": "x"})


def test_secrets_stay_out_of_files_errors_and_repr(tmp_path):
    cfg = tmp_path / "t.toml"
    for body in ("[ami]\nsecret = 274193\n", "[ami]\nsecret = 'hunter2\n", "[ami]\nsecret = hunter2\n"):
        cfg.write_text(body)
        with pytest.raises(ConfigError) as info:
            load_settings(str(cfg), {}, {})
        assert "hunter2" not in str(info.value) and "274193" not in str(info.value)
    s = load_settings(None, {"TELMON_DATABASE_URL": "postgresql+psycopg://u:s3cret@db:5432/x"}, {})
    assert "s3cret" not in repr(s) and "postgresql+psycopg://u:***@db:5432/x" in repr(s)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.database_url = "x"  # type: ignore[misc]


def test_relative_directory_in_a_file_is_relative_to_the_file(tmp_path):
    (tmp_path / "etc").mkdir()
    cfg = tmp_path / "etc" / "telmon.toml"
    cfg.write_text('directory = "dir.yaml"\n')
    assert load_settings(str(cfg), {}, {}).directory_path == tmp_path / "etc" / "dir.yaml"
    assert load_settings(str(cfg), {"TELMON_DIRECTORY": "x.yaml"}, {}).directory_path == Path("x.yaml")


def test_example_file_names_every_key():
    text = (REPO / "monitor" / "data" / "telmon.example.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text.replace("# directory = ", "directory = "))
    keys = {f"{k}.{sk}" if isinstance(v, dict) else k for k, v in data.items()
            for sk in (v if isinstance(v, dict) else [None])}
    expected = {f.name for f in dataclasses.fields(Settings) if not dataclasses.is_dataclass(f.default)}
    for f in dataclasses.fields(Settings):
        if dataclasses.is_dataclass(f.default):
            expected |= {f"{f.name}.{g.name}" for g in dataclasses.fields(f.default)}
    assert keys == expected


def test_a_removed_setting_in_a_file_is_a_warning_not_a_crash(tmp_path, caplog):
    cfg = tmp_path / "old.toml"
    cfg.write_text('[tracker]\noutbound_prefix = "9"\nstale_call_seconds = 600.0\n')
    with caplog.at_level("WARNING", logger="telmon.config"):
        s = load_settings(str(cfg), {}, {})
    assert s.tracker.stale_call_seconds == 600.0                       # the rest of the file still applies
    assert not hasattr(s.tracker, "outbound_prefix")
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "old.toml: tracker.outbound_prefix is no longer a setting and is ignored" in warning.getMessage()
    assert "tracker.trunks" in warning.getMessage()                     # says what decides instead
    with pytest.raises(ConfigError, match="unknown setting 'tracker.outbound_prefx'"):   # a typo stays an error
        load_settings(None, {}, {"tracker.outbound_prefx": "9"})
