"""Fixtures for the jobstate package's tests.

Run through ctest (python_tests), which puts the built package on
PYTHONPATH; by hand:
    PYTHONPATH=<build>/bindings/python/package /usr/bin/python3 -m pytest -q bindings/python/tests
"""

import pytest

import jobstate

ACCOUNT = "acme"
PROJECT = "alpha"


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "db"


@pytest.fixture
def engine(db_path):
    with jobstate.Engine(db_path, durability="no_sync") as e:
        yield e


@pytest.fixture
def make_job(engine):
    """make_job(kind="work", input=None, **kwargs) -> a new pending Job."""

    def make(kind="work", input=None, **kwargs):
        return engine.create(ACCOUNT, PROJECT, kind, input, **kwargs)

    return make


@pytest.fixture
def running_job(engine, make_job):
    job = make_job()
    return engine.start(job)
