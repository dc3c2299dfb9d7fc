"""docker/initdb.sh hands the passwords to psql on stdin; a real psql reads them back intact."""

from __future__ import annotations

import subprocess

import pytest

from binance_cdc.postgres.schema import psql_login
from binance_cdc.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.postgres


def test_initdb_variables_survive_quotes_and_backslashes(settings: Settings) -> None:
    script = (PROJECT_ROOT / "docker" / "initdb.sh").read_text()
    functions = script.split("\nrun postgres postgres", 1)[0]  # definitions only, no psql run
    password = "it's \\ a 'tricky' one"
    env = {"APP_USER": "binance", "APP_PASSWORD": password, "DEBEZIUM_USER": "debezium",
           "DEBEZIUM_PASSWORD": "d", "APP_DATABASE": "binance", "PATH": "/usr/bin:/bin"}
    stdin = subprocess.run(["sh", "-c", functions + "\nvariables\n"], env=env, text=True,
                           capture_output=True, check=True, timeout=30).stdout
    argv, login_env = psql_login(settings.postgres)
    out = subprocess.run([*argv, "-X", "-At", "-v", "ON_ERROR_STOP=1"], env=login_env, text=True,
                         input=stdin + "SELECT :'app_password', :'schema';\n",
                         capture_output=True, check=True, timeout=30).stdout
    assert out == f"{password}|binance\n"
