#!/usr/bin/python3
"""test_fleet_broker_pg.py -- test_fleet_broker.py's scenario with the
broker's session directory in PostgreSQL 15 (store = postgresql; issue 16):
the lab starts the server in the foreground as the postgres account on a
Unix socket (fleet_lab.FleetLab.postgresql), `rdms fleet db init` gives it
the schema, and every check of the SQLite run must hold on it too.

Needs root, postgresql-15 and lab.sh's xrdp lab; run under the lab lock.
Output: one PASS/FAIL line per check, and last `N passed, M failed`.
"""
import os
import sys

os.environ["RDMS_FLEET_STORE"] = "postgresql"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_fleet_broker  # noqa: E402

if __name__ == "__main__":
    sys.exit(test_fleet_broker.main())
