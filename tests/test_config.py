"""Configuration layers: defaults < file < environment < flags; clear errors; no secret leaks."""
from __future__ import annotations

import argparse

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
